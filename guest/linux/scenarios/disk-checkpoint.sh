# disk.sh with a checkpoint in the middle (bochs-grub-checkpoint-linux-disk): the same files
# as disk.sh, which checkdisk.sh checks on the host, but after the fourth it says so (the
# manifest's [script] checkpoints the partition on that line) and writes back what it has
# while it goes on writing; at the end every file is read back from the disk.
. /scenarios/disk-mount.sh
i=0
while [ $i -lt 8 ]; do
    yes "atoll guest file $i" | head -c $((65536 * (i + 1))) > /mnt/guest/file$i
    if [ $i = 3 ]; then
        echo "disk: half of the files written, writing them back"
        sync &
    fi
    i=$((i + 1))
done
wait
(cd /mnt/guest && sha256sum file* > SHA256SUMS && cat SHA256SUMS)
sync
echo 3 > /proc/sys/vm/drop_caches
(cd /mnt/guest && sha256sum -c SHA256SUMS) | sed 's/^/read back: /'
umount /mnt
echo "disk: files written and synced"
