#!/usr/bin/env bash
# Builds kube-apiserver, etcd and kubectl from the Go module proxy into a per-user
# cache keyed by version (the layout setup-envtest uses), because no download site
# for release binaries is reachable here. Prints the asset directory on stdout.
# A cache hit returns at once; only a new machine pays the ~6 minute build.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-1.37.2}"
ETCD_VERSION="${ETCD_VERSION:-3.6.16}"
STAGING_VERSION="v0.${K8S_VERSION#1.}"
ARCH="$(go env GOOS)-$(go env GOARCH)"
CACHE_ROOT="${XDG_DATA_HOME:-$HOME/.local/share}/kubebuilder-envtest/k8s"
ASSETS="${CACHE_ROOT}/${K8S_VERSION}-${ARCH}"

if [[ -x "$ASSETS/kube-apiserver" && -x "$ASSETS/etcd" && -x "$ASSETS/kubectl" && -f "$ASSETS/.etcd-${ETCD_VERSION}" ]]; then
  echo "$ASSETS"
  exit 0
fi

log() { echo "build-envtest-assets: $*" >&2; }
# One build at a time per user: parallel test runs (several worktrees, a helper and CI)
# wait for the first build instead of each compiling kube-apiserver on the same cores.
mkdir -p "$CACHE_ROOT"
exec 9>"$CACHE_ROOT/.build.lock"
flock 9
if [[ -x "$ASSETS/kube-apiserver" && -x "$ASSETS/etcd" && -x "$ASSETS/kubectl" && -f "$ASSETS/.etcd-${ETCD_VERSION}" ]]; then
  echo "$ASSETS"
  exit 0
fi
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$ASSETS"

# kube-apiserver and kubectl: k8s.io/kubernetes is not meant to be required as a module,
# so every staging module it replaces with ./staging/... is pinned to the published version.
log "building kube-apiserver and kubectl v${K8S_VERSION} (first time only, several minutes)"
mkdir -p "$work/k8s/cmd/kube-apiserver" "$work/k8s/cmd/kubectl"
cd "$work/k8s"
cat > go.mod <<MOD
module envtestassets

go 1.26.0

require k8s.io/kubernetes v${K8S_VERSION}
MOD
go mod download "k8s.io/kubernetes@v${K8S_VERSION}" >&2
kmod="$(go mod download -json "k8s.io/kubernetes@v${K8S_VERSION}" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')"
grep -E '^\s*k8s\.io/[a-z0-9-]+ => \./staging/' "$kmod" | awk -v v="$STAGING_VERSION" '{print "replace " $1 " => " $1 " " v}' >> go.mod
cat > cmd/kube-apiserver/main.go <<'GO'
package main

import (
	"os"

	"k8s.io/component-base/cli"
	"k8s.io/kubernetes/cmd/kube-apiserver/app"
)

func main() { os.Exit(cli.Run(app.NewAPIServerCommand())) }
GO
cat > cmd/kubectl/main.go <<'GO'
package main

import (
	"k8s.io/component-base/cli"
	"k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/util"
)

func main() {
	command := cmd.NewDefaultKubectlCommand()
	if err := cli.RunNoErrOutput(command); err != nil {
		util.CheckErr(err)
	}
}
GO
GOFLAGS=-mod=mod go mod tidy >&2
minor="${K8S_VERSION#1.}"; minor="${minor%%.*}"
ldflags="-s -w -X k8s.io/component-base/version.gitVersion=v${K8S_VERSION} -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=${minor} -X k8s.io/component-base/version.gitTreeState=clean"
CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$ASSETS/kube-apiserver" ./cmd/kube-apiserver >&2
CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$ASSETS/kubectl" ./cmd/kubectl >&2

log "building etcd v${ETCD_VERSION}"
mkdir -p "$work/etcd"
cd "$work/etcd"
cat > go.mod <<MOD
module envtestetcd

go 1.26.0

require go.etcd.io/etcd/server/v3 v${ETCD_VERSION}
MOD
cat > main.go <<'GO'
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
GO
GOFLAGS=-mod=mod go mod tidy >&2
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w" -o "$ASSETS/etcd" . >&2
touch "$ASSETS/.etcd-${ETCD_VERSION}"
log "assets ready in $ASSETS"
echo "$ASSETS"
