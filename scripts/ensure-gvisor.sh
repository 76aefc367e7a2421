#!/usr/bin/env bash
# Makes gVisor available to Docker as the runtime `runsc` (for `sandbox: { runtime: 'runsc' }`): installs Debian's
# runsc package when missing (as root, with apt-get), registers it in /etc/docker/daemon.json with
# `--network=none` (its 2022 build cannot start a sandbox with networking on current kernels), and makes dockerd
# reload its configuration (SIGHUP). Idempotent: a second run changes nothing.
set -euo pipefail
say() { echo "ensure-gvisor: $*"; }
CONF=/etc/docker/daemon.json

if ! command -v runsc >/dev/null 2>&1; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    say "installing runsc (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq runsc >/dev/null 2>&1 || {
      apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq runsc >/dev/null
    }
  else
    say "runsc is missing: install Debian's runsc package (as root: apt-get install runsc)"; exit 1
  fi
fi
RUNSC=$(command -v runsc)

if docker info --format '{{json .Runtimes}}' 2>/dev/null | grep -q '"runsc"'; then
  say "docker already has the runsc runtime"; exit 0
fi
if [ "$(id -u)" != 0 ]; then
  say "docker has no runsc runtime and registering one needs root (edit $CONF, then SIGHUP dockerd)"; exit 1
fi

mkdir -p "$(dirname "$CONF")"
# Merged with Node (Keel's own runtime), keeping every other setting of the file.
RUNSC="$RUNSC" CONF="$CONF" node -e '
  const fs = require("fs");
  const file = process.env.CONF;
  const conf = fs.existsSync(file) && fs.readFileSync(file, "utf8").trim() ? JSON.parse(fs.readFileSync(file, "utf8")) : {};
  conf.runtimes = { ...(conf.runtimes ?? {}), runsc: { path: process.env.RUNSC, runtimeArgs: ["--network=none"] } };
  fs.writeFileSync(file + ".tmp", JSON.stringify(conf, null, 2) + "\n");
  fs.renameSync(file + ".tmp", file);
'
pid=$(pidof dockerd || true)
if [ -z "$pid" ]; then say "dockerd is not running; it will load runsc from $CONF when it starts"; exit 0; fi
say "registered runsc in $CONF; reloading dockerd (SIGHUP)"
kill -HUP $pid
for _ in $(seq 1 50); do
  if docker info --format '{{json .Runtimes}}' 2>/dev/null | grep -q '"runsc"'; then say "docker has the runsc runtime"; exit 0; fi
  sleep 0.2
done
say "dockerd did not pick up the runsc runtime (see its log)"; exit 1
