#!/usr/bin/env bash
# Builds what a microVM sandbox boots, for one sandbox image, once (idempotent, cached under .keel/microvm/):
#   kernel-<kver>/vmlinux      Debian's cloud kernel (apt-get download, no install), unpacked to its PVH ELF
#   kernel-<kver>/initrd.img   busybox-static + the virtio modules + scripts/microvm-init.sh as /init
#   rootfs/<key>.ext4          the image's `docker export` plus the Keel agent, read-only base for qcow2 overlays
#   images/<image>.json        what MicroVMSandboxClient reads: paths, kernel version, image id, agent hash
# The rootfs key is kernel version + image id + agent hash, so a new image or agent builds a new base.
# usage: build-microvm.sh [image]     (default KEEL_SANDBOX_IMAGE or keel-sandbox:latest); prints the manifest path
set -euo pipefail
cd "$(dirname "$0")/.."
image=${1:-${KEEL_SANDBOX_IMAGE:-keel-sandbox:latest}}
out="$PWD/.keel/microvm"
say() { echo "build-microvm: $*" >&2; }
die() { say "$*"; exit 1; }
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"; docker rm -f "keel-mvm-export-$$" >/dev/null 2>&1 || true' EXIT

# 1. Host packages: QEMU (system + img), busybox-static, lz4, cpio, e2fsprogs.
missing=()
command -v qemu-system-x86_64 >/dev/null || missing+=(qemu-system-x86)
command -v qemu-img >/dev/null || missing+=(qemu-utils)
command -v lz4 >/dev/null || missing+=(lz4)
command -v cpio >/dev/null || missing+=(cpio)
command -v mkfs.ext4 >/dev/null || missing+=(e2fsprogs)
dpkg -s busybox-static >/dev/null 2>&1 || missing+=(busybox-static)
if [ ${#missing[@]} -gt 0 ]; then
  [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null || die "missing packages: ${missing[*]} (install them as root)"
  say "installing ${missing[*]} (apt-get)"
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2. Kernel: the version the cloud meta-package points at, unless KEEL_MICROVM_KERNEL names one.
kpkg=${KEEL_MICROVM_KERNEL:-$(apt-cache depends linux-image-cloud-amd64 2>/dev/null | sed -n 's/.*Depends: \(linux-image-[0-9].*\)$/\1/p' | head -n1)}
[ -n "$kpkg" ] || die "cannot resolve linux-image-cloud-amd64 (run apt-get update)"
kver=${kpkg#linux-image-}
kdir="$out/kernel-$kver"
if [ ! -f "$kdir/vmlinux" ]; then
  say "preparing kernel $kver"
  tmp="$scratch/kernel"; mkdir "$tmp"
  (cd "$tmp" && apt-get download -q "$kpkg" >/dev/null 2>&1) || die "apt-get download $kpkg failed"
  dpkg -x "$tmp"/linux-image-*.deb "$tmp/pkg"
  # The bzImage's payload is LZ4; the ELF inside is PVH-capable, so QEMU boots it without real mode or decompression.
  python3 - "$tmp/pkg/boot/vmlinuz-$kver" "$tmp/payload.lz4" <<'PY'
import sys
data = open(sys.argv[1], 'rb').read()
at = data.find(b'\x02\x21\x4c\x18')
if at < 0: sys.exit('no LZ4 payload in ' + sys.argv[1])
open(sys.argv[2], 'wb').write(data[at:])
PY
  mkdir -p "$kdir/modules"
  lz4 -dcq "$tmp/payload.lz4" > "$tmp/vmlinux" 2>/dev/null || true # trailing bytes after the frame are fine
  [ "$(head -c4 "$tmp/vmlinux" | od -An -tx1 | tr -d ' ')" = 7f454c46 ] || die "unpacked kernel is not an ELF"
  mods="$tmp/pkg/lib/modules/$kver/kernel"
  for m in drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_mmio drivers/block/virtio_blk \
           drivers/char/virtio_console; do
    cp "$mods/$m.ko" "$kdir/modules/" || die "module $m missing from $kpkg"
  done
  chmod 0644 "$tmp/vmlinux" && mv "$tmp/vmlinux" "$kdir/vmlinux"
fi
# The initramfs: busybox-static, the modules, /init; rebuilt when this script or the init script changes.
if [ ! -f "$kdir/initrd.img" ] || [ "$kdir/initrd.img" -ot scripts/microvm-init.sh ] || [ "$kdir/initrd.img" -ot "$0" ]; then
  ird="$scratch/initramfs"
  mkdir -p "$ird"/{bin,dev,proc,sys,newroot,lib/modules}
  mknod -m 0600 "$ird/dev/console" c 5 1
  cp /bin/busybox "$ird/bin/" && cp "$kdir"/modules/*.ko "$ird/lib/modules/"
  install -m 0755 scripts/microvm-init.sh "$ird/init"
  (cd "$ird" && find . | cpio -o -H newc --quiet | gzip -1) > "$kdir/initrd.img.tmp"
  chmod 0644 "$kdir/initrd.img.tmp" && mv "$kdir/initrd.img.tmp" "$kdir/initrd.img"
fi

# 3. The agent (static Go binary) and the image.
agent=${KEEL_AGENT_BIN:-$(bash scripts/build-agent.sh | tail -n1)}
[ -x "$agent" ] || die "scripts/build-agent.sh did not produce an agent binary"
agent_sha=$(sha256sum "$agent" | cut -c1-64)
image_id=$(docker image inspect --format '{{.Id}}' "$image" 2>/dev/null) || die "image $image not found (scripts/build-sandbox-image.sh)"
key="$kver-${image_id#sha256:}"; key="${key:0:60}-${agent_sha:0:12}"
rootfs="$out/rootfs/$key.ext4"

# 4. Root filesystem: docker export + the agent, as a read-only ext4 base.
if [ ! -f "$rootfs" ]; then
  [ "$(id -u)" = 0 ] || die "building the root filesystem needs root (file ownership must survive docker export)"
  say "building the root filesystem of $image ($key)"
  tmp="$scratch/rootfs"; mkdir "$tmp"
  docker create --name "keel-mvm-export-$$" "$image" true >/dev/null
  mkdir "$tmp/root"
  docker export "keel-mvm-export-$$" | tar -C "$tmp/root" -x --numeric-owner
  docker rm "keel-mvm-export-$$" >/dev/null
  mkdir -p "$tmp/root"/{proc,sys,dev,run,tmp,workspace,home/keel,.keel}
  install -m 0755 -o 0 -g 0 "$agent" "$tmp/root/.keel/keel-agent"
  chmod 0755 "$tmp/root/.keel"
  mb=$(( $(du -sm "$tmp/root" | cut -f1) * 5 / 4 + 64 ))
  mkdir -p "$out/rootfs"
  mkfs.ext4 -q -F -L keelroot -O ^has_journal -E root_owner=0:0 -d "$tmp/root" "$rootfs.tmp" "${mb}M" >&2
  chmod 0444 "$rootfs.tmp"
  mv "$rootfs.tmp" "$rootfs"
fi

# 5. The manifest MicroVMSandboxClient reads (one per image reference).
mkdir -p "$out/images"
manifest="$out/images/$(printf '%s' "$image" | tr -c 'A-Za-z0-9._-' '_').json"
cat > "$manifest.tmp" <<JSON
{"image":"$image","imageId":"$image_id","kernelVersion":"$kver","agentSha256":"$agent_sha",
 "kernel":"$kdir/vmlinux","initrd":"$kdir/initrd.img","rootfs":"$rootfs"}
JSON
mv "$manifest.tmp" "$manifest"
# Bases no manifest names any more (an older image or agent) go; running VMs keep theirs open.
for f in "$out"/rootfs/*.ext4; do
  grep -qF "\"$f\"" "$out"/images/*.json || rm -f "$f"
done
chmod 0755 "$out" "$out/images" "$out/rootfs" "$kdir"
echo "$manifest"
