#!/usr/bin/env bash
# Benchmarks Incremental document-library backups (internal/repository) against Full
# backups and against rclone sync --copy-dest, night after night, on a local S3 server
# (versitygw, posix backend) behind a proxy that adds a fixed delay to every request
# and counts them: per night and method the objects copied, the requests and the wall
# time; then the expiry and sweep of the oldest Incremental backups, a check that no
# kept object was lost, byte-for-byte restores of the newest and the oldest kept
# backup, the storage of each method and the goals of issue 16 as PASS/FAIL lines.
#
#   hack/bench-incremental.sh [flags of test/bench/incremental]
#       e.g. -objects 2000 -nights 5 (a quick run), -latency 50, -seed 7, -no-rclone
#   hack/bench-incremental.sh --build-only     just build versitygw and rclone
#
# Defaults: 20,000 objects (mean 24 KiB), 30 nights, 20 ms per request, keep 7.
# BENCH_TMPDIR picks where the server keeps its data (default /dev/shm, else $TMPDIR).
#
# versitygw and rclone are built once from the Go module proxy into per-user caches,
# by hack/build-versitygw.sh (as for bench-copy) and hack/build-rclone.sh.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
versitygw="$("$root/hack/build-versitygw.sh")"
rclone="$("$root/hack/build-rclone.sh")"
if [[ "${1:-}" == "--build-only" ]]; then
  echo "versitygw: $versitygw"
  echo "rclone:    $rclone"
  exit 0
fi

exec "$root/hack/bench-run.sh" incremental -versitygw "$versitygw" -rclone "$rclone" "$@"
