#!/usr/bin/env bash
# Builds the sandbox image keel-sandbox:<hash> and tags it keel-sandbox:latest. Idempotent: the hash covers the
# package list, the Dockerfile and this script, so an unchanged setup only re-tags. Uses `docker build` when the
# base image can be had; otherwise (no registry reachable) builds the same rootfs with debootstrap from the Debian
# mirror and `docker import`s it. Runs pick the image from KEEL_SANDBOX_IMAGE; this script always builds the default.
set -euo pipefail
cd "$(dirname "$0")/.."

NAME=keel-sandbox
BASE=debian:bookworm-slim
MIRROR=${KEEL_DEBIAN_MIRROR:-http://deb.debian.org/debian}
HASH=$(cat sandbox/packages.txt sandbox/Dockerfile scripts/build-sandbox-image.sh | sha256sum | cut -c1-16)
TAG="$NAME:$HASH"
log() { echo "build-sandbox-image: $*"; }

if docker image inspect "$TAG" >/dev/null 2>&1; then
  log "$TAG already built; tagging $NAME:latest"
  docker tag "$TAG" "$NAME:latest"
  exit 0
fi

if docker image inspect "$BASE" >/dev/null 2>&1 || timeout 120 docker pull -q "$BASE" >/dev/null 2>&1; then
  log "building $TAG from sandbox/Dockerfile"
  docker build -q -t "$TAG" sandbox >/dev/null
else
  log "cannot pull $BASE (no registry?); building $TAG offline with debootstrap"
  if [ "$(id -u)" = 0 ] && ! command -v debootstrap >/dev/null && command -v apt-get >/dev/null; then
    log "installing debootstrap with apt-get"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  fi
  if [ "$(id -u)" != 0 ] || ! command -v debootstrap >/dev/null; then
    echo "build-sandbox-image: the offline build needs root and debootstrap (apt-get install debootstrap)" >&2
    exit 1
  fi
  WORK=$(mktemp -d /var/tmp/keel-rootfs.XXXXXX)
  trap 'rm -rf "$WORK"' EXIT
  ROOTFS="$WORK/rootfs"
  packages=$(paste -sd, sandbox/packages.txt)
  log "debootstrap --variant=minbase bookworm ($packages) from $MIRROR (takes a few minutes)"
  debootstrap --variant=minbase --include="$packages" bookworm "$ROOTFS" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 || {
    tail -20 "$WORK/debootstrap.log" >&2
    exit 1
  }
  log "adding user keel (1000:1000) and /workspace"
  chroot "$ROOTFS" groupadd -g 1000 keel
  chroot "$ROOTFS" useradd -m -u 1000 -g 1000 -s /bin/bash keel
  mkdir -p "$ROOTFS/workspace"
  chown 1000:1000 "$ROOTFS/workspace"
  rm -rf "$ROOTFS"/var/cache/apt/archives/*.deb "$ROOTFS"/var/lib/apt/lists/* "$ROOTFS"/tmp/*
  log "importing rootfs as $TAG"
  tar -C "$ROOTFS" -c . | docker import \
    --change 'USER 1000:1000' --change 'WORKDIR /workspace' --change 'CMD ["sleep","infinity"]' \
    - "$TAG" >/dev/null
fi

log "tagging $TAG as $NAME:latest"
docker tag "$TAG" "$NAME:latest"
