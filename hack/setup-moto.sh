#!/usr/bin/env bash
# Creates the project-local virtualenv with the pinned moto server (from PyPI) and
# prints the path of its moto_server. A second run with unchanged pins returns at once.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
venv="${MOTO_VENV:-$root/.venv/moto}"
req="$root/hack/requirements-moto.txt"
stamp="$venv/.requirements.sha256"
want="$(sha256sum "$req" | cut -d' ' -f1)"
if [[ -x "$venv/bin/moto_server" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "$venv/bin/moto_server"
  exit 0
fi
# One install at a time into a venv (parallel test runs wait for the first).
mkdir -p "$(dirname "$venv")"
exec 9>"$venv.lock"
flock 9
if [[ -x "$venv/bin/moto_server" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "$venv/bin/moto_server"
  exit 0
fi
echo "setup-moto: installing pinned moto into $venv" >&2
python3 -m venv "$venv" >&2
"$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req" >&2
echo "$want" > "$stamp"
echo "$venv/bin/moto_server"
