#!/usr/bin/env bash
# Builds the in-sandbox agent (agent/, Go stdlib only, static) into .keel/bin/keel-agent-<hash>, where <hash> covers
# the agent's sources (go.mod and every non-test .go file), so an unchanged agent is not rebuilt. Prints the path.
# `--out PATH` also places a copy at PATH (for packaging: the worker finds it through KEEL_AGENT_BIN).
# src/sandbox/agent-binary.ts computes the same hash to find the binary; keep the two in step.
set -euo pipefail
cd "$(dirname "$0")/.."
out_copy=""
if [ "${1:-}" = "--out" ]; then out_copy=${2:?--out needs a path}; fi

agent_hash() {
  (cd agent && for f in $(ls go.mod *.go | grep -v '_test\.go$' | LC_ALL=C sort); do
    printf '%s\0' "$f"; cat "$f"; printf '\0'
  done) | sha256sum | cut -c1-16
}
bin="$PWD/.keel/bin/keel-agent-$(agent_hash)"
if [ ! -x "$bin" ]; then
  command -v go >/dev/null || { echo "build-agent: go is not installed (needed to build the sandbox agent)" >&2; exit 1; }
  mkdir -p .keel/bin
  echo "build-agent: building $bin" >&2
  (cd agent && GOTOOLCHAIN=local CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags="-s -w" -o "$bin.tmp" .) >&2
  mv "$bin.tmp" "$bin"
fi
if [ -n "$out_copy" ]; then
  mkdir -p "$(dirname "$out_copy")"
  cp "$bin" "$out_copy.tmp" && mv "$out_copy.tmp" "$out_copy"
fi
echo "$bin"
