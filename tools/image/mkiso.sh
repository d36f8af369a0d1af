#!/usr/bin/env bash
# mkiso.sh: a GRUB (BIOS) rescue ISO that boots atoll.elf by Multiboot2 with a manifest.
#
#   tools/image/mkiso.sh -o OUT.iso -k atoll.elf -m MANIFEST [-c CMDLINE] [-d DIR]...
#
# The ISO holds /boot/atoll.elf, the manifest under its own name (so that the hypervisor's
# errors name it: `bad1.cfg:3: ...`; `manifest=NAME` is added to the command line unless it
# is atoll.cfg, the default, or CMDLINE names one) and every file the manifest
# names by an `image`, `initrd` or `identity-key` key (hv/core/config/manifest.md), each loaded by
# one `module2 /boot/FILE FILE` line. Files are looked up in the -d directories in the order
# given, then build/guest/tests/, build/guest/linux/ and the manifest's own directory.
# A file found nowhere is left out with a warning, so that the hypervisor's own check of the
# manifest against its modules reports it (that is a test case, not a build error).
set -euo pipefail

usage() {   # [STATUS]: the help on stdout with 0; otherwise one line and a hint on stderr
    if [ "${1:-2}" = 0 ]; then sed -n '2,13s/^# \{0,1\}//p' "$0"; exit 0; fi
    echo "$(basename "$0"): ${usage_error:-missing or bad arguments}; -h for help" >&2
    exit 2
}

if [ "${1:-}" = --version ]; then
    echo "mkiso.sh (Atoll) $(sed -n 's/^ATOLL_VERSION := //p' "$(dirname "$0")/../build/config.mk")"
    exit 0
fi
out= kernel= manifest= cmdline= dirs=()
while getopts "o:k:m:c:d:h" opt; do
    case $opt in
        o) out=$OPTARG ;;
        k) kernel=$OPTARG ;;
        m) manifest=$OPTARG ;;
        c) cmdline=$OPTARG ;;
        d) dirs+=("$OPTARG") ;;
        h) usage 0 ;;
        *) usage ;;
    esac
done
[ -n "$out" ] && [ -n "$kernel" ] && [ -n "$manifest" ] || usage
[ -f "$kernel" ] || { echo "mkiso: error: kernel '$kernel' not found" >&2; exit 1; }
[ -f "$manifest" ] || { echo "mkiso: error: manifest '$manifest' not found" >&2; exit 1; }
[ -d /usr/lib/grub/i386-pc ] || { echo "mkiso: error: /usr/lib/grub/i386-pc missing (apt-get install grub-pc-bin)" >&2; exit 1; }
case $cmdline in *$'\n'*|*\"*) echo "mkiso: error: command line may not hold newlines or quotes" >&2; exit 1 ;; esac
dirs+=(build/guest/tests build/guest/linux "$(dirname "$manifest")")

# Module names the manifest asks for: `image|initrd|identity-key = NAME`, comments removed.
manifest_modules() {
    sed -e 's/#.*//' "$1" | tr -d '\r' |
        sed -n -E 's/^[[:space:]]*(image|initrd|identity-key)[[:space:]]*=[[:space:]]*([^[:space:]]*)[[:space:]]*$/\2/p' |
        awk '!seen[$0]++'
}

find_module() {
    local d
    for d in "${dirs[@]}"; do
        [ -f "$d/$1" ] && { echo "$d/$1"; return 0; }
    done
    return 1
}

stage=$(mktemp -d "${TMPDIR:-/tmp}/atoll-iso.XXXXXX")
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/boot/grub"
cp "$kernel" "$stage/boot/atoll.elf"
# The manifest keeps its own name where that is a valid module name.
mname=$(basename "$manifest")
[[ $mname =~ ^[A-Za-z0-9._-]{1,63}$ ]] || mname=atoll.cfg
case " $cmdline " in
    *" manifest="*) mname=atoll.cfg ;;
    *) [ "$mname" = atoll.cfg ] || cmdline="manifest=$mname${cmdline:+ $cmdline}" ;;
esac
cp "$manifest" "$stage/boot/$mname"

cfg=$stage/boot/grub/grub.cfg
{
    echo "set timeout=0"
    echo "set default=0"
    echo "serial --unit=0 --speed=115200"
    echo "terminal_input serial console"
    echo "terminal_output serial console"
    echo "menuentry \"Atoll\" {"
    echo "    multiboot2 /boot/atoll.elf $cmdline"
    echo "    module2 /boot/$mname $mname"
} >"$cfg"

while IFS= read -r name; do
    if ! [[ $name =~ ^[A-Za-z0-9._-]{1,63}$ ]]; then
        echo "mkiso: warning: '$name' is not a valid module name; left out" >&2
        continue
    fi
    if src=$(find_module "$name"); then
        cp "$src" "$stage/boot/$name"
        echo "    module2 /boot/$name $name" >>"$cfg"
    else
        echo "mkiso: warning: module '$name' not found in ${dirs[*]}; left out" >&2
    fi
done < <(manifest_modules "$manifest")

{
    echo "    boot"
    echo "}"
} >>"$cfg"

mkdir -p "$(dirname "$out")"
# xorriso, under grub-mkrescue, has been seen to die of SIGSEGV now and then on a loaded
# machine with the same input that works the next time: one more try before failing.
tries=0
until log=$(grub-mkrescue -d /usr/lib/grub/i386-pc -o "$out.tmp" "$stage" 2>&1); do
    rm -f "$out.tmp"
    tries=$((tries + 1))
    if [ "$tries" -ge 2 ] || ! printf '%s\n' "$log" | grep -q 'SIG[A-Z]*'; then
        echo "$log" >&2
        echo "mkiso: error: grub-mkrescue failed" >&2
        exit 1
    fi
    echo "mkiso: grub-mkrescue's xorriso died of a signal; trying once more" >&2
done
mv "$out.tmp" "$out"
