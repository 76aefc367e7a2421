#!/usr/bin/env bash
# nginx, for the TLS/mTLS connection tests: it fronts the Temporal dev server (which has no TLS options) as a
# TLS-terminating gRPC proxy (grpc_pass, ssl_verify_client). Debian's package, installed when missing and root.
set -euo pipefail
command -v nginx >/dev/null 2>&1 && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "keel setup: installing nginx (apt-get), for the TLS connection tests"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends nginx openssl >/dev/null
  # The package starts nothing without systemd; make sure no default server holds port 80 either way.
  pkill -x nginx 2>/dev/null || true
else
  echo "keel setup: nginx is missing (needed by the TLS connection tests): install the nginx package" >&2
  exit 1
fi
