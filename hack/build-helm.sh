#!/usr/bin/env bash
# Builds the helm binary from the Go module proxy into a per-user cache keyed by
# version, like hack/build-envtest-assets.sh, because no download site for release
# binaries is reachable here. Helm is not a dependency of the project's go.mod: a
# throwaway module requires exactly HELM_VERSION. Prints the binary's path on stdout.
# A cache hit returns at once; only a new machine pays the build (about 3 minutes on 2 cores).
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v4.3.1}"
CACHE_ROOT="${XDG_DATA_HOME:-$HOME/.local/share}/lc2-backup-controller/helm"
DIR="${CACHE_ROOT}/${HELM_VERSION}-$(go env GOOS)-$(go env GOARCH)"
HELM="${DIR}/helm"

if [[ -x "$HELM" ]]; then
  echo "$HELM"
  exit 0
fi

log() { echo "build-helm: $*" >&2; }
# One build at a time per user (parallel test runs wait for the first; see build-envtest-assets.sh).
mkdir -p "$CACHE_ROOT"
exec 9>"$CACHE_ROOT/.build.lock"
flock 9
if [[ -x "$HELM" ]]; then
  echo "$HELM"
  exit 0
fi
major="${HELM_VERSION%%.*}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
log "building helm ${HELM_VERSION} (first time only, a few minutes)"
cd "$work"
cat > go.mod <<MOD
module helmbuild

go 1.26.0

require helm.sh/helm/${major} ${HELM_VERSION}
MOD
cat > tools.go <<GO
//go:build tools

package tools

import _ "helm.sh/helm/${major}/cmd/helm"
GO
GOFLAGS=-mod=mod go mod tidy >&2
mkdir -p "$DIR"
# Build next to the target and rename, so an interrupted build never leaves a
# half-written binary that the cache check above would take for a finished one.
CGO_ENABLED=0 GOFLAGS=-mod=mod go build -trimpath \
  -ldflags "-s -w -X helm.sh/helm/${major}/internal/version.version=${HELM_VERSION} -X helm.sh/helm/${major}/internal/version.gitTreeState=clean" \
  -o "$HELM.tmp" "helm.sh/helm/${major}/cmd/helm" >&2
mv "$HELM.tmp" "$HELM"
log "helm ready: $("$HELM" version --short 2>/dev/null || true)"
echo "$HELM"
