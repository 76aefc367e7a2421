#!/usr/bin/env bash
# Builds a Go program from its module at a pinned version into .keel/bin/<name>-<version>, once.
# `go install pkg@version` refuses modules whose go.mod has replace directives (SeaweedFS, Jaeger), so the module
# is downloaded and built inside its module-cache copy. Go's module and build caches live outside the clone, so a
# second clone on the same machine rebuilds in seconds.
# usage: build-go-binary.sh <module> <version> <package-dir> <name> [extra ldflags]
set -euo pipefail
cd "$(dirname "$0")/.."
module=$1 version=$2 pkg=$3 name=$4 ldflags=${5:-}
out="$PWD/.keel/bin/$name-$version"
if [ -x "$out" ]; then echo "$out"; exit 0; fi
command -v go >/dev/null || { echo "build-go-binary: go is not installed (needed to build $name)" >&2; exit 1; }
mkdir -p .keel/bin
export GOTOOLCHAIN=local GOFLAGS=-mod=mod
echo "build-go-binary: building $name $version from $module (a few minutes the first time)" >&2
go mod download "$module@$version" >&2
src="$(go env GOMODCACHE)/$module@$version"
(cd "$src" && CGO_ENABLED=0 go build -trimpath -ldflags="-s -w $ldflags" -o "$out.tmp" "$pkg") >&2
mv "$out.tmp" "$out"
echo "$out"
