#!/usr/bin/env bash
# Jaeger (v2, the OTel-collector-based `cmd/jaeger`) for the tracing tests: built once from its Go module into
# .keel/bin/jaeger-v1.76.0 (about 3-4 minutes cold on 2 cores; seconds with warm Go caches). Prints the binary's path.
set -euo pipefail
cd "$(dirname "$0")/.."
exec bash scripts/build-go-binary.sh github.com/jaegertracing/jaeger v1.76.0 ./cmd/jaeger jaeger \
  "-X github.com/jaegertracing/jaeger/internal/version.latestVersion=v1.76.0"
