#!/usr/bin/env bash
# Builds the kubectl lc2 plugin for krew: one archive per platform in dist/
# (linux, darwin, windows x amd64, arm64; each a tar.gz holding the binary and nothing
# else: krew unpacks tar.gz on Windows too) and dist/plugins/lc2.yaml, the krew manifest rendered from
# plugins/lc2.yaml.tmpl with the version, each archive's URI and its sha256.
#
#   hack/krew-package.sh VERSION                     e.g. v0.1.0 (make krew-package VERSION=v0.1.0)
#   hack/krew-package.sh --manifest-only VERSION DIR  render DIR/plugins/lc2.yaml from the archives already in DIR
#
# KREW_URI_BASE is where the archives are published (default: the GitHub release of
# VERSION). Archives are reproducible for one Go version: -trimpath, no VCS stamp,
# entries with mtime 0 and owner 0, gzip without a name or time.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
platforms=(linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64 windows/arm64)

manifest_only=false
if [[ "${1:-}" == "--manifest-only" ]]; then manifest_only=true; shift; fi
version="${1:?usage: hack/krew-package.sh [--manifest-only] VERSION [DIR]}"
dist="${2:-$root/dist}"
if [[ ! "$version" =~ ^v[0-9]+\.[0-9]+\.[0-9]+(-[0-9A-Za-z.-]+)?$ ]]; then
  echo "krew-package: VERSION $version is not a semantic version with a v prefix (krew requires one, e.g. v0.1.0)" >&2
  exit 2
fi
uri_base="${KREW_URI_BASE:-https://github.com/liferay/lc2-backup-controller/releases/download/$version}"

archive_name() { # os arch
  echo "kubectl-lc2_${version}_$1_$2.tar.gz"
}

mkdir -p "$dist/plugins"
if ! $manifest_only; then
  for p in "${platforms[@]}"; do
    os="${p%/*}" arch="${p#*/}"
    bin=kubectl-lc2
    [[ "$os" == windows ]] && bin=kubectl-lc2.exe
    stage="$(mktemp -d)"
    echo "krew-package: building $os/$arch" >&2
    (cd "$root" && CGO_ENABLED=0 GOOS="$os" GOARCH="$arch" go build -trimpath -buildvcs=false -ldflags "-s -w" -o "$stage/$bin" ./cmd/kubectl-lc2)
    touch -d @0 "$stage/$bin"
    out="$dist/$(archive_name "$os" "$arch")"
    rm -f "$out"
    tar -C "$stage" --sort=name --mtime=@0 --owner=0 --group=0 --numeric-owner -cf - "$bin" | gzip -n -9 >"$out"
    rm -rf "$stage"
  done
fi

entries=""
for p in "${platforms[@]}"; do
  os="${p%/*}" arch="${p#*/}"
  bin=kubectl-lc2
  [[ "$os" == windows ]] && bin=kubectl-lc2.exe
  name="$(archive_name "$os" "$arch")"
  [[ -f "$dist/$name" ]] || { echo "krew-package: $dist/$name is missing" >&2; exit 1; }
  sum="$(sha256sum "$dist/$name" | cut -d' ' -f1)"
  entries+="  - selector:
      matchLabels:
        os: $os
        arch: $arch
    uri: $uri_base/$name
    sha256: $sum
    bin: $bin
"
done
manifest="$(<"$root/plugins/lc2.yaml.tmpl")"
manifest="${manifest//'${VERSION}'/$version}"
manifest="${manifest//'${PLATFORMS}'/${entries%$'\n'}}"
printf '%s\n' "$manifest" >"$dist/plugins/lc2.yaml"
echo "krew-package: wrote $dist/plugins/lc2.yaml" >&2
