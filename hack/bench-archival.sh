#!/usr/bin/env bash
# Archival lag benchmark (make bench-archival): 1,000 backups finish, steadily at
# 100/s and then all at once, against a throwaway PostgreSQL with fsync on
# (or TEST_DATABASE_URL); prints p50/p90/p99/max seconds from completion to the
# committed backup-history row. BENCH_WORKERS overrides the archiver's worker count.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
exec go test -run '^$' -bench 'BenchmarkArchivalLag' -benchtime 1x -count "${BENCH_COUNT:-1}" ./test/bench/archival "$@"
