#!/usr/bin/env bash
# Builds versitygw (the local S3 server of the benchmarks) at a pinned version from the
# Go module proxy into a per-user cache outside the repository and prints the binary's
# path; later calls print it at once. Used by hack/bench-copy.sh and
# hack/bench-incremental.sh.
#
#   hack/build-versitygw.sh        -> ~/.cache/lc2-backup/tools/versitygw-<version>/versitygw
set -euo pipefail
VERSITYGW_VERSION=v1.8.0
dir="${XDG_CACHE_HOME:-$HOME/.cache}/lc2-backup/tools/versitygw-$VERSITYGW_VERSION"

if [[ -x "$dir/versitygw" ]]; then
  echo "$dir/versitygw"
  exit 0
fi
echo "build-versitygw: building versitygw $VERSITYGW_VERSION into $dir" >&2
mkdir -p "$dir"
GOBIN="$dir" GOFLAGS=-mod=mod go install -trimpath "github.com/versity/versitygw/cmd/versitygw@$VERSITYGW_VERSION" >&2
echo "$dir/versitygw"
