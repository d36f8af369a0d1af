#!/bin/sh
# mkinitramfs.sh OUT.gz EXIT_HELPER KVER: Atoll's Linux test initramfs (newc cpio, gzip):
# busybox-static, /init, the scenarios, the debug-exit helper and the kernel's own
# virtio/ext4 modules from /lib/modules/KVER.
set -eu
out=$1 helper=$2 kver=$3
here=$(dirname "$0")
busybox=/bin/busybox
modroot=/lib/modules/$kver/kernel
modules="drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_modern_dev
 drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci drivers/block/virtio_blk
 lib/crc16 fs/mbcache fs/jbd2/jbd2 crypto/crc32c_generic fs/ext4/ext4"

file "$busybox" | grep -q "statically linked" || {
    echo "mkinitramfs: $busybox is not static: install busybox-static" >&2; exit 1; }
[ -d "$modroot" ] || { echo "mkinitramfs: no $modroot: install linux-image-amd64" >&2; exit 1; }

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/bin" "$stage/dev" "$stage/proc" "$stage/sys" "$stage/mnt" \
         "$stage/lib/modules" "$stage/scenarios"
cp "$busybox" "$stage/bin/busybox"
ln -s busybox "$stage/bin/sh"
cp "$helper" "$stage/bin/atoll-exit"
cp "$here/init" "$stage/init"
cp "$here"/scenarios/*.sh "$stage/scenarios/"
for m in $modules; do
    [ -f "$modroot/$m.ko" ] || { echo "mkinitramfs: missing module $modroot/$m.ko" >&2; exit 1; }
    cp "$modroot/$m.ko" "$stage/lib/modules/"
done
chmod 755 "$stage/init" "$stage/bin/atoll-exit"
(cd "$stage" && find . | LC_ALL=C sort | cpio -o -H newc -R 0:0 --quiet) | gzip -9n > "$out.tmp"
mv "$out.tmp" "$out"
