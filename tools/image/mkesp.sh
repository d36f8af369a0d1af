#!/usr/bin/env bash
# mkesp.sh: a FAT32 EFI System Partition image (inside an MBR disk image) that boots
# atoll.elf through BOOTX64.EFI (boot/efi), built with mtools and mkfs.fat: no root, no mounts.
#
#   tools/image/mkesp.sh -o OUT.img -k atoll.elf -m MANIFEST [-e BOOTX64.EFI] [-c CMDLINE]
#                        [-d DIR]... [FILE-OR-DIR]...
#   tools/image/mkesp.sh OUT.img FILE-OR-DIR...
#
# /EFI/BOOT/BOOTX64.EFI is the loader (-e, or a file of that name, default
# build/boot/efi/BOOTX64.EFI). At the root: atoll.elf (-k), atoll.cfg (-m: the manifest,
# whatever its own name), atoll.cmdline (the one line -c gives; none when empty) and every
# other FILE given, or every file inside a DIR given, under its own name. Each file the
# manifest names by `image`, `initrd` or `identity-key` (hv/core/config/manifest.md) and that is
# not given is looked up in the -d directories in order, then build/guest/tests/,
# build/guest/linux/ and the manifest's own directory; a file found nowhere is left out with
# a warning, so that the loader's own error line can be tested.
set -euo pipefail

die() { echo "mkesp: error: $*" >&2; exit 1; }
warn() { echo "mkesp: warning: $*" >&2; }
usage() {   # [STATUS]: the help on stdout with 0; otherwise one line and a hint on stderr
    if [ "${1:-2}" = 0 ]; then sed -n '2,17s/^# \{0,1\}//p' "$0"; exit 0; fi
    echo "$(basename "$0"): ${usage_error:-missing or bad arguments}; -h for help" >&2
    exit 2
}

if [ "${1:-}" = --version ]; then
    echo "mkesp.sh (Atoll) $(sed -n 's/^ATOLL_VERSION := //p' "$(dirname "$0")/../build/config.mk")"
    exit 0
fi
out= kernel= manifest= loader= cmdline= dirs=()
while getopts "o:k:m:e:c:d:h" opt; do
    case $opt in
        o) out=$OPTARG ;;
        k) kernel=$OPTARG ;;
        m) manifest=$OPTARG ;;
        e) loader=$OPTARG ;;
        c) cmdline=$OPTARG ;;
        d) dirs+=("$OPTARG") ;;
        h) usage 0 ;;
        *) usage ;;
    esac
done
shift $((OPTIND - 1))
if [ -z "$out" ]; then
    [ $# -ge 1 ] || usage
    out=$1
    shift
fi

for tool in mformat mcopy mmd mkfs.fat; do
    command -v $tool >/dev/null || die "$tool not found (apt-get install mtools dosfstools)"
done
case $cmdline in *$'\n'*) die "the command line may not hold a newline" ;; esac

declare -A root=()      # name on the ESP root -> host file
declare -A folded=()    # lower-case name -> name (FAT names ignore case)

add_root() { # NAME SRC
    local name=$1 src=$2 key=${1,,}
    [[ $name =~ ^[A-Za-z0-9._-]{1,63}$ ]] || die "'$name' is not a valid file name for the ESP"
    [ -f "$src" ] || die "'$src' not found"
    if [ -n "${folded[$key]:-}" ] && [ "${folded[$key]}" != "$name" ]; then
        die "'$name' and '${folded[$key]}' are the same name on FAT"
    fi
    folded[$key]=$name
    root[$name]=$src
}

add_given() { # FILE-OR-DIR
    local f
    if [ -d "$1" ]; then
        for f in "$1"/*; do
            if [ -f "$f" ] && [ "$(realpath "$f")" != "$(realpath -m "$out")" ]; then
                add_given "$f"
            fi
        done
    elif [ "$(basename "$1")" = BOOTX64.EFI ]; then
        loader=${loader:-$1}
    else
        add_root "$(basename "$1")" "$1"
    fi
}

for given in "$@"; do
    [ -e "$given" ] || die "'$given' not found"
    add_given "$given"
done
[ -n "$kernel" ] && add_root atoll.elf "$kernel"
[ -n "$manifest" ] && add_root atoll.cfg "$manifest"
loader=${loader:-build/boot/efi/BOOTX64.EFI}
[ -f "$loader" ] || die "loader '$loader' not found (make build/boot/efi/BOOTX64.EFI)"
[ -n "${root[atoll.elf]:-}" ] || die "no atoll.elf given (-k)"
[ -n "${root[atoll.cfg]:-}" ] || die "no manifest given (-m)"
manifest=${root[atoll.cfg]}

stage=$(mktemp -d "${TMPDIR:-/tmp}/atoll-esp.XXXXXX")
trap 'rm -rf "$stage" "$out.tmp"' EXIT
if [ -n "$cmdline" ]; then
    printf '%s\n' "$cmdline" >"$stage/atoll.cmdline"
    add_root atoll.cmdline "$stage/atoll.cmdline"
fi

# Names the manifest asks for: `image|initrd|identity-key = NAME`, comments removed.
manifest_modules() {
    sed -e 's/#.*//' "$1" | tr -d '\r' |
        sed -n -E 's/^[[:space:]]*(image|initrd|identity-key)[[:space:]]*=[[:space:]]*([^[:space:]]*)[[:space:]]*$/\2/p' |
        awk '!seen[$0]++'
}

dirs+=(build/guest/tests build/guest/linux "$(dirname "$manifest")")
while IFS= read -r name; do
    if ! [[ $name =~ ^[A-Za-z0-9._-]{1,63}$ ]]; then
        warn "'$name' is not a valid module name; left out"
        continue
    fi
    [ -n "${root[$name]:-}" ] && continue
    found=
    for d in "${dirs[@]}"; do
        [ -f "$d/$name" ] && { found=$d/$name; break; }
    done
    if [ -n "$found" ]; then
        add_root "$name" "$found"
    else
        warn "module '$name' not found in ${dirs[*]}; left out"
    fi
done < <(manifest_modules "$manifest")

# Size: the files plus room for FAT32 (at least 65525 clusters) and slack, in MiB.
bytes=$(stat -L -c %s "$loader" "${root[@]}" | awk '{s += $1} END {print s}')
part_mib=$(( (bytes * 105 / 100 >> 20) + 16 ))
[ $part_mib -ge 63 ] || part_mib=63
sectors_per_cluster=1
[ $part_mib -lt 256 ] || sectors_per_cluster=8
part_start=2048                                  # sectors: the partition starts at 1 MiB
part_sectors=$((part_mib * 2048))
disk_sectors=$((part_start + part_sectors))

mkdir -p "$(dirname "$out")"
rm -f "$out.tmp"
truncate -s $((disk_sectors * 512)) "$out.tmp"

le32() { printf "\\\\x%02x\\\\x%02x\\\\x%02x\\\\x%02x" $(($1 & 255)) $(($1 >> 8 & 255)) \
    $(($1 >> 16 & 255)) $(($1 >> 24 & 255)); }
# MBR: one bootable-flag-free partition of type 0xEF (EFI System), LBA only (CHS maxed).
entry="\\x00\\xfe\\xff\\xff\\xef\\xfe\\xff\\xff$(le32 $part_start)$(le32 $part_sectors)"
printf "$entry" | dd of="$out.tmp" bs=1 seek=446 conv=notrunc status=none
printf '\x41\x54\x4f\x4c' | dd of="$out.tmp" bs=1 seek=440 conv=notrunc status=none
printf '\x55\xaa' | dd of="$out.tmp" bs=1 seek=510 conv=notrunc status=none

mkfs.fat -F 32 -s $sectors_per_cluster -n ATOLL-ESP -i 41544f4c --offset $part_start \
    -h $part_start "$out.tmp" $((part_sectors / 2)) >/dev/null ||
    die "mkfs.fat failed"

export MTOOLS_SKIP_CHECK=1 MTOOLS_NO_VFAT=0
fat="$out.tmp@@$((part_start * 512))"
mmd -i "$fat" ::/EFI ::/EFI/BOOT
mcopy -i "$fat" -o "$loader" ::/EFI/BOOT/BOOTX64.EFI
for name in "${!root[@]}"; do
    mcopy -i "$fat" -o "${root[$name]}" "::/$name"
done
mv "$out.tmp" "$out"
echo "mkesp: $out: $part_mib MiB FAT32 ESP with EFI/BOOT/BOOTX64.EFI and" \
    "$(printf '%s\n' "${!root[@]}" | sort | tr '\n' ' ')"
