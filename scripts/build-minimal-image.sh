#!/usr/bin/env bash
# Builds keel-sandbox-minimal:latest offline: a root filesystem holding nothing but a static busybox with a
# handful of applets (a shell and basic file tools: no python, no bash, no tar), imported with `docker import`.
# The sandbox tests run the tools in it to prove the in-sandbox agent needs nothing from the image.
# Needs busybox-static (installed with apt-get as root when missing). Idempotent: rebuilt only when this changes.
set -euo pipefail
cd "$(dirname "$0")/.."
NAME=keel-sandbox-minimal
APPLETS="sh ls cat id sleep mkdir rm wc kill head echo"
BB=/bin/busybox
[ -x "$BB" ] || BB=/usr/bin/busybox
if ! { [ -x "$BB" ] && file -L "$BB" 2>/dev/null | grep -q 'statically linked'; }; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq busybox-static >/dev/null
    BB=/bin/busybox
  else
    echo "build-minimal-image: needs a static busybox (apt-get install busybox-static)" >&2; exit 1
  fi
fi
HASH=$( (cat scripts/build-minimal-image.sh; sha256sum "$BB") | sha256sum | cut -c1-16)
if docker image inspect "$NAME:$HASH" >/dev/null 2>&1; then
  docker tag "$NAME:$HASH" "$NAME:latest"; echo "$NAME:latest"; exit 0
fi
ROOT=$(mktemp -d)
trap 'rm -rf "$ROOT"' EXIT
mkdir -p "$ROOT"/{bin,etc,tmp,workspace,home/keel}
cp "$BB" "$ROOT/bin/busybox"
for a in $APPLETS; do ln -s busybox "$ROOT/bin/$a"; done
printf 'root:x:0:0:root:/root:/bin/sh\nkeel:x:1000:1000:keel:/home/keel:/bin/sh\n' > "$ROOT/etc/passwd"
printf 'root:x:0:\nkeel:x:1000:\n' > "$ROOT/etc/group"
chmod 1777 "$ROOT/tmp"
chown 1000:1000 "$ROOT/workspace" "$ROOT/home/keel" 2>/dev/null || true
tar --numeric-owner -C "$ROOT" -c . | docker import \
  --change 'USER 1000:1000' --change 'WORKDIR /workspace' --change 'ENV PATH=/bin' --change 'CMD ["sh"]' \
  - "$NAME:$HASH" >/dev/null
docker tag "$NAME:$HASH" "$NAME:latest"
echo "$NAME:latest"
