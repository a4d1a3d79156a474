#!/usr/bin/env bash
# Starts the object store of PROVIDER (gcp, azure or local) on its emulator, seeded
# (test/storeenv: fake-gcs-server behind its label proxy, Azurite, or versitygw), and
# writes the manager's settings for it to tmp/local/store.env. make local-up
# PROVIDER=... and make demo PROVIDER=... run it; make local-down stops it.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
state="$root/tmp/local"
cd "$root"
provider="${1:?usage: hack/store-env.sh gcp|azure|local}"
case "$provider" in gcp | azure | local) ;; *) echo "store-env: the store must be gcp, azure or local, got $provider" >&2; exit 2 ;; esac
mkdir -p "$state" bin
go build -o bin/storeenv ./test/storeenv
if [[ -f "$state/store.pid" ]]; then
  pid="$(cat "$state/store.pid")"
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid"
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
  fi
  rm -f "$state/store.pid"
fi
rm -f "$state/store.ready" "$state/store.env"
setsid bin/storeenv -provider "$provider" -dir "$state" >"$state/store.log" 2>&1 </dev/null &
echo $! >"$state/store.pid"
# The first start builds fake-gcs-server, versitygw or installs Azurite: minutes.
for _ in $(seq 1 1200); do
  [[ -f "$state/store.ready" ]] && break
  if ! kill -0 "$(cat "$state/store.pid")" 2>/dev/null; then
    cat "$state/store.log" >&2
    echo "store-env: the $provider emulator exited at start" >&2
    exit 1
  fi
  sleep 0.5
done
[[ -f "$state/store.ready" ]] || { echo "store-env: the $provider emulator is not ready after 600s (log $state/store.log)" >&2; exit 1; }
cat "$state/store.log"
echo "store-env: $provider ready; the manager's settings: . $state/store.env"
