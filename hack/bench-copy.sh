#!/usr/bin/env bash
# Benchmarks the document-library copy (internal/provider/aws) against s5cmd on a local
# S3 server (versitygw, posix backend) behind a proxy that adds a fixed delay to every
# request (0, 20, 50 and 100 ms by default) and, in a last scenario, answers SlowDown
# above a set write rate; prints objects/s, MiB/s, peak RSS and client CPU of both per
# scenario, with the ratio.
#
#   hack/bench-copy.sh [flags of test/bench/copy]     e.g. -objects 5000 -rounds 5
#   hack/bench-copy.sh -latencies ''                  the throttling scenario alone
#   hack/bench-copy.sh --build-only                   just build the peer tools
#
# Environment: BENCH_OBJECTS, BENCH_OBJECT_SIZE, BENCH_LARGE, BENCH_LARGE_SIZE,
# BENCH_ROUNDS override the defaults (10,000 objects of 16 KiB, 3 of 64 MiB, 3 rounds);
# BENCH_LATENCIES the delays in ms (default 0,20,50,100); BENCH_THROTTLE the writes/s
# above which the throttling scenario answers SlowDown (default 500; 0: no such
# scenario) and BENCH_THROTTLE_LATENCY its delay in ms (default 20);
# BENCH_TMPDIR picks where the server keeps its data (default /dev/shm, else $TMPDIR).
#
# s5cmd and versitygw (hack/build-versitygw.sh) are built once, from the Go module proxy
# at pinned versions, into a per-user cache outside the repository, so later runs start
# at once.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
S5CMD_VERSION=v2.3.0
cache="${XDG_CACHE_HOME:-$HOME/.cache}/lc2-backup/tools"

log() { echo "bench-copy: $*" >&2; }

# build_s5cmd: `go install github.com/peak/s5cmd/v2@v2.3.0` is refused here, so build
# it from a throwaway module that requires exactly that version and whose main is
# s5cmd's own main.go (command.Main with a signal-aware context).
build_s5cmd() {
  local dir="$cache/s5cmd-$S5CMD_VERSION"
  if [[ -x "$dir/s5cmd" ]]; then echo "$dir/s5cmd"; return; fi
  log "building s5cmd $S5CMD_VERSION into $dir"
  local tmp; tmp="$(mktemp -d)"
  cat >"$tmp/go.mod" <<EOF
module lc2-backup/s5cmd-build

go 1.26

require github.com/peak/s5cmd/v2 $S5CMD_VERSION
EOF
  cat >"$tmp/main.go" <<'EOF'
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/peak/s5cmd/v2/command"
)

func main() {
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if err := command.Main(ctx, os.Args); err != nil {
		os.Exit(1)
	}
}
EOF
  mkdir -p "$dir"
  (cd "$tmp" && GOFLAGS=-mod=mod go mod tidy >&2 && go build -trimpath -o "$dir/s5cmd.tmp" . >&2)
  mv "$dir/s5cmd.tmp" "$dir/s5cmd"
  rm -rf "$tmp"
  echo "$dir/s5cmd"
}

s5cmd="$(build_s5cmd)"
versitygw="$("$root/hack/build-versitygw.sh")"
if [[ "${1:-}" == "--build-only" ]]; then
  echo "s5cmd:     $s5cmd"
  echo "versitygw: $versitygw"
  exit 0
fi

exec "$root/hack/bench-run.sh" copy \
  -versitygw "$versitygw" -s5cmd "$s5cmd" \
  -objects "${BENCH_OBJECTS:-10000}" -object-size "${BENCH_OBJECT_SIZE:-16384}" \
  -large "${BENCH_LARGE:-3}" -large-size "${BENCH_LARGE_SIZE:-67108864}" \
  -rounds "${BENCH_ROUNDS:-3}" -latencies "${BENCH_LATENCIES:-0,20,50,100}" \
  -throttle "${BENCH_THROTTLE:-500}" -throttle-latency "${BENCH_THROTTLE_LATENCY:-20}" "$@"
