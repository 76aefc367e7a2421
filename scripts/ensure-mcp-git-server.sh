#!/usr/bin/env bash
# Makes sure the reference MCP git server (PyPI `mcp-server-git`, by the MCP project) is unpacked for the sandbox's
# Python (Debian bookworm: CPython 3.11) at .keel/mcp-git-server/site, for the in-sandbox MCP tests: they copy it into
# the workspace (localDir) and run `python3 -m mcp_server_git` there with PYTHONPATH set. The sandbox image has no pip
# and no network, so the wheels (every dependency pinned below, no resolution) are fetched here and unpacked on the
# host. Idempotent: an unpacked site for this list is kept. Prints the site's path.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "ensure-mcp-git-server: $*" >&2; }

PINS="annotated_types==0.8.0 anyio==4.16.0 attrs==26.1.0 cffi==2.1.1 click==8.5.1 cryptography==50.0.2 gitdb==4.0.12
gitpython==3.2.1 h11==0.16.0 httpcore2==2.16.2 httpx2==2.16.2 idna==3.20 jsonschema==4.26.0
jsonschema_specifications==2025.9.1 mcp==2.3.0 mcp_server_git==2026.10.19 mcp_types==2.3.0 opentelemetry_api==1.45.2
pycparser==3.12 pydantic==2.14.4 pydantic_core==2.50.5 pyjwt==2.15.1 python_multipart==0.0.34 referencing==0.37.0
rpds_py==2026.9.1 smmap==5.0.3 sse_starlette==3.7.0 starlette==1.10.0 truststore==0.10.5 typing_extensions==4.16.0
typing_inspection==0.4.5 uvicorn==0.54.0"
HASH=$(printf '%s' "$PINS" | sha256sum | cut -c1-12)
DIR="$PWD/.keel/mcp-git-server"
SITE="$DIR/site-$HASH"

if [ ! -f "$SITE/.complete" ]; then
  command -v python3 >/dev/null || { log "python3 is needed to fetch and unpack the wheels"; exit 1; }
  python3 -m pip --version >/dev/null 2>&1 || { log "pip is needed (python3 -m pip) to fetch the wheels"; exit 1; }
  rm -rf "$DIR/wheels" "$SITE.tmp"
  mkdir -p "$DIR/wheels" "$SITE.tmp"
  arch=$(uname -m)
  log "fetching $(echo $PINS | wc -w) wheels for CPython 3.11 ($arch)"
  # shellcheck disable=SC2086
  python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 --implementation cp --abi cp311 \
    --platform "manylinux2014_$arch" --platform "manylinux_2_17_$arch" --platform "manylinux_2_28_$arch" \
    -d "$DIR/wheels" $PINS >&2
  for w in "$DIR"/wheels/*.whl; do python3 -m zipfile -e "$w" "$SITE.tmp"; done
  touch "$SITE.tmp/.complete"
  mv "$SITE.tmp" "$SITE"
  rm -rf "$DIR/wheels"
fi
echo "$SITE"
