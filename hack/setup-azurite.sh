#!/usr/bin/env bash
# Installs the pinned Azurite (Azure Storage emulator, from npm) into a project-local
# node_modules with `npm ci` from hack/azurite/package-lock.json, and prints the path of
# its azurite-blob. A second run with an unchanged lock file returns at once.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
dir="${AZURITE_DIR:-$root/.cache/azurite}"
lock="$root/hack/azurite/package-lock.json"
bin="$dir/node_modules/.bin/azurite-blob"
stamp="$dir/.package-lock.sha256"
want="$(sha256sum "$lock" | cut -d' ' -f1)"
if [[ -x "$bin" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "$bin"
  exit 0
fi
# One install at a time into the directory (parallel test runs wait for the first).
mkdir -p "$dir"
exec 9>"$dir.lock"
flock 9
if [[ -x "$bin" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  echo "$bin"
  exit 0
fi
command -v npm >/dev/null || { echo "setup-azurite: npm not found (Node.js 20 or newer is needed)" >&2; exit 1; }
echo "setup-azurite: installing pinned azurite into $dir" >&2
cp "$root/hack/azurite/package.json" "$lock" "$dir/"
# Azurite 3.37 declares node >=22 but runs on Node 20: the engine warning is expected.
(cd "$dir" && npm ci --no-audit --no-fund --loglevel=error) >&2
echo "$want" > "$stamp"
echo "$bin"
