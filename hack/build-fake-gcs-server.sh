#!/usr/bin/env bash
# Builds fake-gcs-server (the Google Cloud Storage emulator of the integration suite and
# the local demo) at a pinned version from the Go module proxy into a per-user cache
# outside the repository and prints the binary's path; later calls print it at once.
# Used by test/harness (StartFakeGCS) unless $FAKE_GCS_SERVER names a binary.
#
#   hack/build-fake-gcs-server.sh  -> ~/.cache/lc2-backup/tools/fake-gcs-server-<version>/fake-gcs-server
#
# The version is the one go.mod requires (the provider's tests run the same emulator
# in-process): bump both together.
set -euo pipefail
FAKE_GCS_SERVER_VERSION=v1.56.1
dir="${XDG_CACHE_HOME:-$HOME/.cache}/lc2-backup/tools/fake-gcs-server-$FAKE_GCS_SERVER_VERSION"
bin="$dir/fake-gcs-server"

if [[ -x "$bin" ]]; then
  echo "$bin"
  exit 0
fi
mkdir -p "$dir"
# Test packages run in parallel and each may be the first to want the binary: one builds,
# the others wait for it and find it built.
exec 9>"$dir/.build.lock"
flock 9
if [[ -x "$bin" ]]; then
  echo "$bin"
  exit 0
fi
echo "build-fake-gcs-server: building fake-gcs-server $FAKE_GCS_SERVER_VERSION into $dir" >&2
# Into a directory of its own first, so a build that fails or is killed never leaves a
# half-written binary at the path the fast path trusts.
tmp="$(mktemp -d "$dir/.build.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
GOBIN="$tmp" GOFLAGS=-mod=mod go install -trimpath "github.com/fsouza/fake-gcs-server@$FAKE_GCS_SERVER_VERSION" >&2
mv "$tmp/fake-gcs-server" "$bin"
echo "$bin"
