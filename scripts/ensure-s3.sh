#!/usr/bin/env bash
# The S3-compatible server the storage tests start (SeaweedFS `weed mini`), built once from its Go module at a
# pinned version into .keel/bin/weed-<version>. Prints the binary's path. Idempotent: an existing binary is reused.
set -euo pipefail
cd "$(dirname "$0")/.."
WEED_VERSION=v0.0.0-20261109003541-7506e5f91cd6
exec bash scripts/build-go-binary.sh github.com/seaweedfs/seaweedfs "$WEED_VERSION" ./weed weed
