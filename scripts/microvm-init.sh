#!/bin/busybox sh
# /init of the microVM initramfs (built by scripts/build-microvm.sh): loads the virtio modules the Debian kernel
# keeps as modules, mounts the sandbox's root disk read-only, hands the per-VM config (appended to the initramfs by the host)
# to the root on a root-only tmpfs, and switches to the Keel agent as PID 1 (`keel-agent vm-init`).
B=/bin/busybox
$B mount -t devtmpfs devtmpfs /dev
$B mount -t proc proc /proc
for m in virtio_ring virtio virtio_mmio virtio_blk virtio_console; do
  $B insmod /lib/modules/$m.ko || echo "keel-init: insmod $m failed"
done
i=0
while [ ! -b /dev/vda ] && [ $i -lt 1000 ]; do $B usleep 10000; i=$((i+1)); done
if ! $B mount -t ext4 -o ro,nosuid,nodev /dev/vda /newroot; then
  echo "keel-init: cannot mount the root disk"; $B poweroff -f
fi
$B mount -t tmpfs -o mode=0755,nosuid,nodev,size=8m tmpfs /newroot/run
$B mkdir -p -m 0700 /newroot/run/keel
[ -f /keel-vm.json ] && $B cp /keel-vm.json /newroot/run/keel/vm.json && $B chmod 0600 /newroot/run/keel/vm.json
$B umount /proc
$B umount /dev
exec $B switch_root /newroot /.keel/keel-agent vm-init
