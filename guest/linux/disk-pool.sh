#!/bin/sh
# disk-pool.sh make|check WORK [POOL_MIB]: the host side of the Linux disk scenario.
#   make  WORK: WORK/linux.raw (mkdisk.sh) -> WORK/linux.vhdx (tools/vhdx convert) ->
#               copied as /linux.vhdx into a fresh pool disk WORK/pool.img
#               (tests/storage/pool-mkimage, POOL_MIB MiB, 96 by default), for
#               `disk = virtio-blk:/linux.vhdx`
#   check WORK: copies /linux.vhdx back out of the pool and runs checkdisk.sh on it
#               (qemu-img check, convert to raw, e2fsck -fn, debugfs contents)
set -eu
cmd=$1 work=$2 pool_mib=${3:-96}
root=$(cd "$(dirname "$0")/../.." && pwd)
vhdx=$root/build/tools/vhdx
case $cmd in
make)
    "$root/guest/linux/mkdisk.sh" "$work/linux.raw" 32
    rm -f "$work/linux.vhdx"
    "$vhdx" convert "$work/linux.raw" "$work/linux.vhdx" --to vhdx
    offset=$("$root/tests/storage/pool-mkimage" "$work/pool.img" "$pool_mib")
    mcopy -i "$work/pool.img@@$offset" "$work/linux.vhdx" ::/linux.vhdx
    echo "$offset" > "$work/pool.offset" ;;
check)
    offset=$(cat "$work/pool.offset")
    rm -f "$work/linux-after.vhdx"
    mcopy -i "$work/pool.img@@$offset" ::/linux.vhdx "$work/linux-after.vhdx"
    "$root/guest/linux/checkdisk.sh" "$work/linux-after.vhdx" ;;
*)
    echo "usage: disk-pool.sh make|check WORK [POOL_MIB]" >&2; exit 2 ;;
esac
