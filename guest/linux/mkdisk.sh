#!/bin/sh
# mkdisk.sh OUT.raw [MiB]: the ext4 disk of the Linux disk scenario, made on the host.
# /host holds files with known contents and their SHA256SUMS (the guest checks them);
# the guest writes /guest (checkdisk.sh checks that afterwards).  Deterministic: fixed
# UUID, hash seed and timestamps, so the same inputs give the same image.
set -eu
out=$1 mib=${2:-32}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/host"
i=0
while [ $i -lt 4 ]; do
    yes "atoll host file $i" | head -c $((4096 * (i * 37 + 1))) > "$stage/host/file$i"
    i=$((i + 1))
done
head -c 1048576 /dev/zero | tr '\0' 'z' > "$stage/host/big"
(cd "$stage/host" && sha256sum file* big > SHA256SUMS)
find "$stage" -exec touch -h -d @1700000000 {} +
rm -f "$out"
E2FSPROGS_FAKE_TIME=1700000000 mke2fs -q -t ext4 -F -L atoll \
    -U 6d0b6a3c-7d1e-4d6a-9c41-61746f6c6c21 -E root_owner=0:0,hash_seed=61746f6c-6c00-4000-8000-000000000000 \
    -d "$stage" "$out" "${mib}M"
