#!/usr/bin/env bash
# Runs the AWS emulator (moto server, S3 and RDS) on its own, outside the tests.
#   hack/moto.sh start [PORT]   start in the background (default port 4566), pid and log under tmp/moto
#   hack/moto.sh stop           stop it
#   hack/moto.sh status         say whether it answers
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
state="${MOTO_STATE_DIR:-$root/tmp/moto}"
port_file="$state/port"
case "${1:-}" in
  start)
    port="${2:-4566}"
    mkdir -p "$state"
    if [[ -f "$state/pid" ]] && kill -0 "$(cat "$state/pid")" 2>/dev/null; then
      echo "moto already running on port $(cat "$port_file")"; exit 0
    fi
    server="$("$root/hack/setup-moto.sh")"
    setsid "$server" -H 127.0.0.1 -p "$port" >"$state/moto.log" 2>&1 &
    echo $! >"$state/pid"; echo "$port" >"$port_file"
    for _ in $(seq 1 100); do
      if curl -fsS --max-time 5 -o /dev/null "http://127.0.0.1:$port/moto-api/" 2>/dev/null; then
        echo "moto listening on http://127.0.0.1:$port"; exit 0
      fi
      sleep 0.2
    done
    echo "moto did not start; see $state/moto.log" >&2; exit 1 ;;
  stop)
    if [[ -f "$state/pid" ]]; then kill "$(cat "$state/pid")" 2>/dev/null || true; rm -f "$state/pid"; fi
    echo "moto stopped" ;;
  status)
    if [[ -f "$port_file" ]] && curl -fsS --max-time 5 -o /dev/null "http://127.0.0.1:$(cat "$port_file")/moto-api/" 2>/dev/null; then
      echo "moto: running on http://127.0.0.1:$(cat "$port_file")"
    else
      echo "moto: not running"; exit 1
    fi ;;
  *) echo "usage: $0 start [PORT] | stop | status" >&2; exit 2 ;;
esac
