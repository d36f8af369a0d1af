# virtio-blk + ext4: load the kernel's own modules, mount /dev/vda (made on the host by
# guest/linux/mkdisk.sh), check the files the host put there, write new ones with known
# contents, sync and unmount.  The host then checks them with debugfs (checkdisk.sh).
. /scenarios/disk-mount.sh
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
