# What the disk scenarios (disk.sh, disk-checkpoint.sh) do first, sourced by them: load
# the kernel's own virtio and ext4 modules, wait for /dev/vda, mount it (made on the host
# by guest/linux/mkdisk.sh) on /mnt, check the files the host put there, and make the
# folder /mnt/guest for the files the scenario writes.
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
