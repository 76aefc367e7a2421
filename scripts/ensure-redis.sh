#!/usr/bin/env bash
# Makes sure Debian's redis-server is installed: the broker for live token deltas (tests start their own on a free
# loopback port; `keel dev` starts one when KEEL_REDIS_URL is unset). Nothing is started here.
set -euo pipefail
log() { echo "ensure-redis: $*"; }

if command -v redis-server >/dev/null 2>&1; then
  exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  log "redis-server is missing: install the redis-server package (token streaming and its tests need it)" >&2
  exit 1
fi
log "installing redis-server (apt-get)"
apt-get update -qq >/dev/null
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null
# The package must not leave a system-wide server holding 6379: Keel starts its own on free ports.
command -v redis-server >/dev/null
