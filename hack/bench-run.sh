#!/usr/bin/env bash
# Builds the benchmark test/bench/<name> and runs it with -workdir set to a fresh
# directory and the other arguments, then removes the directory: the common part of
# hack/bench-copy.sh and hack/bench-incremental.sh, which build the tools it runs.
#
#   hack/bench-run.sh <name> [flags of test/bench/<name>]
#
# The directory holds the S3 server's data, on tmpfs when there is one: on a VM disk
# the server's file writes, not the tools measured, would set the pace. BENCH_TMPDIR
# overrides it (for example BENCH_TMPDIR=/tmp to include a real disk).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
name="$1"
shift

default_tmp="${TMPDIR:-/tmp}"
if [[ -d /dev/shm && -w /dev/shm ]]; then default_tmp=/dev/shm; fi
work="$(mktemp -d "${BENCH_TMPDIR:-$default_tmp}/bench-$name.XXXXXX")"
bench_pid=""
cleanup() {
  # The bench stops versitygw itself; this catches an interrupted run.
  if [[ -n "$bench_pid" ]] && kill -0 "$bench_pid" 2>/dev/null; then
    kill -TERM "$bench_pid" 2>/dev/null || true
    wait "$bench_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

echo "bench-$name: building the benchmark" >&2
(cd "$root" && go build -o "$work/bench-$name" "./test/bench/$name")

"$work/bench-$name" -workdir "$work" "$@" &
bench_pid=$!
wait "$bench_pid"
