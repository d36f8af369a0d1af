# virtio-blk + ext4: load the kernel's own modules, mount /dev/vda (made on the host by
# guest/linux/mkdisk.sh), check the files the host put there, write new ones with known
# contents, sync and unmount.  The host then checks them with debugfs (checkdisk.sh).
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci \
         virtio_blk crc16 mbcache jbd2 crc32c_generic ext4; do
    insmod "/lib/modules/$m.ko"
done
for i in 1 2 3 4 5 6 7 8 9 10; do
    [ -b /dev/vda ] && break
    sleep 1
done
[ -b /dev/vda ] || { echo "disk: no /dev/vda"; exit 1; }
mkdir -p /mnt
mount -t ext4 /dev/vda /mnt
(cd /mnt/host && sha256sum -c SHA256SUMS)
mkdir -p /mnt/guest
i=0
while [ $i -lt 8 ]; do
    # Deterministic contents the host can recompute: block i repeated.
    yes "atoll guest file $i" | head -c $((65536 * (i + 1))) > /mnt/guest/file$i
    i=$((i + 1))
done
(cd /mnt/guest && sha256sum file* > SHA256SUMS && cat SHA256SUMS)
sync
umount /mnt
echo "disk: files written and synced"
