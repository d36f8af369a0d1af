#!/bin/sh
# checkdisk.sh IMAGE: after the Linux disk scenario, checks on the host what the guest
# wrote.  IMAGE is raw, or VHDX (then `qemu-img check` first and a raw copy is made with
# `qemu-img convert`).  The filesystem must pass `e2fsck -fn`; every /guest/fileN read
# back with debugfs must have the contents the guest's disk.sh was told to write, and the
# guest's own SHA256SUMS must agree.  Prints one line per check and a summary.
set -u
img=$1
pass=0 fail=0
check() {   # check NAME COMMAND...
    name=$1; shift
    if "$@" >/dev/null 2>&1; then echo "PASS $name"; pass=$((pass + 1))
    else echo "FAIL $name"; fail=$((fail + 1)); fi
}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
raw=$(realpath "$img")
case $img in
*.vhdx)
    check "qemu-img check" qemu-img check -f vhdx "$img"
    raw=$tmp/disk.raw
    check "qemu-img convert" qemu-img convert -f vhdx -O raw "$img" "$raw" ;;
esac
check "e2fsck -fn" e2fsck -fn "$raw"
i=0
while [ $i -lt 8 ]; do
    yes "atoll guest file $i" | head -c $((65536 * (i + 1))) | sha256sum | cut -d' ' -f1 > "$tmp/want"
    debugfs -R "cat /guest/file$i" "$raw" 2>/dev/null | sha256sum | cut -d' ' -f1 > "$tmp/got"
    check "guest file$i contents" cmp -s "$tmp/want" "$tmp/got"
    i=$((i + 1))
done
debugfs -R "cat /guest/SHA256SUMS" "$raw" 2>/dev/null > "$tmp/sums"
check "guest SHA256SUMS present" test -s "$tmp/sums"
(cd "$tmp" && i=0 && while [ $i -lt 8 ]; do
    debugfs -R "cat /guest/file$i" "$raw" 2>/dev/null > "file$i"; i=$((i + 1)); done)
check "guest SHA256SUMS agree" sh -c "cd '$tmp' && sha256sum -c --quiet sums"
echo "checkdisk: $pass passed, $fail failed"
[ $fail = 0 ]
