#!/usr/bin/env bash
# Dump benchmark (make bench-dump): builds lc2-dump and test/bench/dump, then runs it
# on a generated PostgreSQL database of BENCH_DUMP_GIB GiB (default 2; a quarter of
# it first, for the peak RSS at two sizes): our dump into moto against pg_dump -Fc
# to a tmpfs file, and our restore from the bucket against pg_restore of that file.
# Needs /usr/bin/time (GNU time) and moto (MOTO_SERVER, or hack/setup-moto.sh).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
default_tmp="${TMPDIR:-/tmp}"
if [[ -d /dev/shm && -w /dev/shm ]]; then default_tmp=/dev/shm; fi
work="$(mktemp -d "${BENCH_TMPDIR:-$default_tmp}/bench-dump.XXXXXX")"
trap 'rm -rf "$work"' EXIT
export MOTO_SERVER="${MOTO_SERVER:-$("$root/hack/setup-moto.sh")}"
echo "bench-dump: building lc2-dump and the benchmark" >&2
(cd "$root" && go build -o "$work/lc2-dump" ./cmd/lc2-dump && go build -o "$work/bench-dump" ./test/bench/dump)
# BENCH_DUMP_S3=versitygw stores the dumps in versitygw (built once from the module
# proxy, hack/build-versitygw.sh) instead of moto: a Go S3 server, to tell the
# uploader's cost from the Python emulator's.
store=()
if [[ "${BENCH_DUMP_S3:-moto}" == versitygw ]]; then
  store=(-versitygw "$("$root/hack/build-versitygw.sh")")
fi
"$work/bench-dump" -lc2-dump "$work/lc2-dump" -workdir "$work" -gib "${BENCH_DUMP_GIB:-2}" "${store[@]}" "$@"
