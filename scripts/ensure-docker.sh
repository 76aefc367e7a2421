#!/usr/bin/env bash
# Makes sure a Docker engine answers before sandboxes are needed. On a Debian machine where we are root it installs
# docker.io and starts dockerd itself (logging to .keel/dockerd.log); anywhere else it says what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
log() { echo "ensure-docker: $*"; }

# docker-compose, for the test that checks docker-compose.yml (`docker-compose config`; no registry to start it here).
if ! command -v docker-compose >/dev/null 2>&1 && ! docker compose version >/dev/null 2>&1 \
   && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  log "installing docker-compose with apt-get"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-compose >/dev/null
fi

if docker info >/dev/null 2>&1; then
  exit 0
fi

if [ "$(id -u)" != 0 ] || [ ! -f /etc/debian_version ]; then
  if ! command -v docker >/dev/null; then
    log "Docker is not installed; install Docker Engine (https://docs.docker.com/engine/install/) and start it" >&2
  else
    log "the Docker engine does not answer ('docker info' fails); start it (e.g. 'sudo systemctl start docker') or set DOCKER_HOST" >&2
  fi
  exit 1
fi

if ! command -v dockerd >/dev/null; then
  log "installing docker.io with apt-get"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi

mkdir -p .keel
if ! pgrep -x dockerd >/dev/null; then
  log "starting dockerd (log: .keel/dockerd.log)"
  nohup dockerd >.keel/dockerd.log 2>&1 &
fi

for _ in $(seq 1 30); do
  if docker info >/dev/null 2>&1; then
    log "docker is up"
    exit 0
  fi
  sleep 1
done
log "dockerd did not answer within 30 s; see .keel/dockerd.log" >&2
exit 1
