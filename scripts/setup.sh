#!/usr/bin/env bash
# The set-up of `npm test` and `npm run bench` on a fresh machine: the demo's (scripts/setup-demo.sh: Node
# dependencies, the `temporal` CLI, the in-sandbox agent, Docker, the sandbox image), then what only tests use:
# bubblewrap, nginx, the minimal image, gVisor, the microVM, Jaeger, Chromium, Redis, SeaweedFS, the MCP git server,
# Temporal's time-skipping test server.
# Idempotent; each step says what it does; what cannot be had is one clear line and a non-zero exit.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup-demo.sh
say() { echo "keel setup: $*"; }

# bubblewrap, for the UnixLocal sandbox (machines without Docker) and its tests.
if ! command -v bwrap >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing bubblewrap (apt-get)"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null
  else
    say "bubblewrap is missing: install the bubblewrap package to use the UnixLocal sandbox"
  fi
fi

# nginx, the TLS-terminating gRPC proxy of the TLS/mTLS connection tests.
bash scripts/ensure-nginx.sh

# The other sandbox tiers' images (skipped with KEEL_SKIP_DOCKER=1 for machines without Docker).
if [ "${KEEL_SKIP_DOCKER:-0}" != 1 ]; then
  bash scripts/build-minimal-image.sh >/dev/null
  bash scripts/ensure-gvisor.sh || say "gVisor (runtime runsc) is unavailable: its sandbox tests will fail"
  bash scripts/build-microvm.sh >/dev/null # microVM tier: kernel, initramfs, root filesystem of the sandbox image
fi
# 5. Test servers: Jaeger (tracing tests, built from its Go module) and Chromium (the Web UI test).
bash scripts/ensure-jaeger.sh >/dev/null && bash scripts/ensure-chromium.sh >/dev/null
# 5. Redis (Debian redis-server), the broker for live token deltas; tests and `keel dev` start their own.
bash scripts/ensure-redis.sh || say "no redis-server: runs stream at item granularity only"
# 5. The S3-compatible server of the storage tests (SeaweedFS, built from its pinned Go module once).
bash scripts/ensure-s3.sh >/dev/null
# 5. The reference MCP git server (PyPI wheels for the sandbox's Python), run inside sandboxes by the in-sandbox MCP tests.
bash scripts/ensure-mcp-git-server.sh >/dev/null || say "could not fetch mcp-server-git: the in-sandbox MCP tests will fail"
# Temporal's time-skipping test server (Java, from Maven Central, cached by version) for the timer-bound tests.
bash scripts/ensure-test-server.sh >/dev/null || say "could not fetch Temporal's test server: timeouts.test.ts will fail"
say "ready"
