#!/usr/bin/env bash
# Headless Chromium for the Web UI screenshot test (driven by playwright-core): the Debian package, installed once.
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then command -v chromium; exit 0; fi
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "keel setup: installing chromium (apt-get)" >&2
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  command -v chromium
else
  echo "keel setup: chromium is missing: install the chromium package (needed by the Web UI test)" >&2
  exit 1
fi
