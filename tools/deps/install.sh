#!/usr/bin/env bash
# install.sh [--packages] [--sources DIR]
#
# --packages     install the Debian packages of tools/deps/packages.txt that are missing
#                (apt-get; when not root, print the exact command and exit 1) and check
#                the installed versions that tools/deps/versions.mk pins
# --sources DIR  fetch the upstream sources of versions.mk's THIRD_PARTY_SOURCES with
#                `apt-get source --download-only` into DIR/dl and unpack each orig tarball
#                into DIR/NAME-VERSION (adding a deb-src entry for the suite when needed)
#
# No option means both, into build/third_party/src.  Idempotent; when everything is in
# place it only runs dpkg-query and tests a few files.
# ATOLL_ALLOW_VERSION_DRIFT=1 turns a pinned-version mismatch into a warning.
set -euo pipefail

deps_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
versions_mk=$deps_dir/versions.mk
packages_txt=$deps_dir/packages.txt
src_list=/etc/apt/sources.list.d/atoll-src.sources

# Another apt-get (or a second make in this tree) may hold the dpkg lock: wait for it.
apt_wait=(-o DPkg::Lock::Timeout=300)

say()  { echo "atoll deps: $*"; }
die()  { echo "atoll deps: error: $*" >&2; exit 1; }

declare -A pin=()
load_versions() {
    local line
    local assignment='^([A-Z_][A-Z0-9_]*)[[:space:]]*:=[[:space:]]*([^#$]*[^#$[:space:]])[[:space:]]*(#.*)?$'
    while IFS= read -r line; do
        [[ $line =~ $assignment ]] || continue
        pin[${BASH_REMATCH[1]}]=${BASH_REMATCH[2]}
    done < "$versions_mk"
}

pinned() {
    [ -n "${pin[$1]:-}" ] || die "tools/deps/versions.mk does not define $1"
    echo "${pin[$1]}"
}

is_root() { [ "$(id -u)" -eq 0 ]; }

# "1:7.2+dfsg-7+deb12u18" -> "7.2": no epoch, no Debian revision, no +dfsg/~ suffix.
upstream_of() {
    local v=${1#*:}
    [[ $v == *-* ]] && v=${v%-*}
    v=${v%%+*}; v=${v%%~*}
    echo "$v"
}

# True when upstream version $1 is pin $2 or continues it after a dot (14.0 for 14).
matches_pin() { [ "$1" = "$2" ] || [[ $1 == "$2".* ]]; }

version_problem() {
    if [ "${ATOLL_ALLOW_VERSION_DRIFT:-0}" = 1 ]; then
        say "warning: $*"
    else
        die "$* (set ATOLL_ALLOW_VERSION_DRIFT=1 to build anyway)"
    fi
}

# ---- Debian packages ---------------------------------------------------------------------
declare -a packages=()
declare -A package_pin=()
load_packages() {
    local name var rest
    while read -r name var rest; do
        [[ -z $name || $name == \#* ]] && continue
        packages+=("$name")
        if [[ -n ${var:-} && $var != \#* ]]; then package_pin[$name]=$var; fi
    done < "$packages_txt"
}

declare -A installed=()
declare -a missing=()
query_packages() {
    local name state version
    installed=(); missing=()
    while IFS=$'\t' read -r name state version; do
        if [ "$state" = installed ]; then installed[$name]=$version; fi
    done < <(dpkg-query -W -f='${Package}\t${db:Status-Status}\t${Version}\n' \
             "${packages[@]}" 2>/dev/null || true)
    for name in "${packages[@]}"; do
        [ -n "${installed[$name]:-}" ] || missing+=("$name")
    done
}

install_packages() {
    query_packages
    if [ ${#missing[@]} -gt 0 ]; then
        if ! is_root; then
            say "missing Debian packages: ${missing[*]}"
            say "as root, run: apt-get update && apt-get install -y --no-install-recommends ${missing[*]}"
            exit 1
        fi
        say "installing ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq "${apt_wait[@]}" || die "apt-get update failed"
        apt-get install -y -qq --no-install-recommends "${apt_wait[@]}" "${missing[@]}" \
            || die "apt-get could not install: ${missing[*]}"
        query_packages
        [ ${#missing[@]} -eq 0 ] || die "still missing after apt-get: ${missing[*]}"
    fi

    for name in "${!package_pin[@]}"; do
        local want have
        want=$(pinned "${package_pin[$name]}")
        have=$(upstream_of "${installed[$name]}")
        matches_pin "$have" "$want" || version_problem \
            "package $name is $have but tools/deps/versions.mk pins ${package_pin[$name]} := $want"
    done
}

# ---- upstream sources --------------------------------------------------------------------
# The deb/deb-src URI and keyring of the suite's own entry, from deb822 or one-line sources.
suite_mirror() {
    local suite=$1 f
    for f in /etc/apt/sources.list.d/*.sources; do
        [ -e "$f" ] || continue
        awk -v suite="$suite" '
            function flush() {
                if (types ~ /(^| )deb( |$)/ && (" " suites " ") ~ (" " suite " ") && uri != "")
                    { print uri "\t" key; found = 1; exit }
                types = suites = uri = key = ""
            }
            /^[ \t]*$/ { flush(); next }
            /^Types:/     { sub(/^Types:[ \t]*/, "");     types = $0 }
            /^Suites:/    { sub(/^Suites:[ \t]*/, "");    suites = $0 }
            /^URIs:/      { sub(/^URIs:[ \t]*/, "");      split($0, u, " "); uri = u[1] }
            /^Signed-By:/ { sub(/^Signed-By:[ \t]*/, ""); key = $0 }
            END { if (!found) flush() }' "$f"
    done | head -1 | grep . && return 0
    awk -v suite="$suite" '$1 == "deb" {
            i = 2; if ($2 ~ /^\[/) while ($i !~ /\]$/) i++; if ($2 ~ /^\[/) i++
            if ($(i + 1) == suite) { print $i "\t"; exit } }' \
        /etc/apt/sources.list 2>/dev/null | grep . && return 0
    printf 'http://deb.debian.org/debian\t/usr/share/keyrings/debian-archive-keyring.gpg\n'
}

have_source_index() {
    [ -n "$(apt-cache showsrc --only-source "$1" 2>/dev/null | sed -n 's/^Version: //p')" ]
}

ensure_deb_src() {
    local suite first
    suite=$(pinned DEBIAN_SUITE)
    first=$(awk '{print $1; exit}' <<<"${pin[THIRD_PARTY_SOURCES]}")
    have_source_index "$first" && return 0

    local uri key
    IFS=$'\t' read -r uri key < <(suite_mirror "$suite")
    local entry="Types: deb-src
URIs: $uri
Suites: $suite
Components: main${key:+
Signed-By: $key}"
    if ! is_root; then
        say "no deb-src entry for $suite: apt-get source cannot fetch the third-party sources"
        say "as root, write $src_list with:"
        sed 's/^/    /' <<<"$entry"
        say "then run: apt-get update"
        exit 1
    fi
    say "adding $src_list ($uri $suite)"
    printf '%s\n' "$entry" > "$src_list"
    apt-get update -qq "${apt_wait[@]}" -o Dir::Etc::sourcelist="$src_list" -o Dir::Etc::sourceparts=- \
        -o APT::Get::List-Cleanup=0 || die "apt-get update of $src_list failed"
    have_source_index "$first" || die "the mirror $uri offers no source package $first"
}

# The full Debian version of source package $1 whose upstream version is $2.
source_version_for() {
    local name=$1 want=$2 v offered=""
    for v in $(apt-cache showsrc --only-source "$name" | sed -n 's/^Version: //p'); do
        if [ "$(upstream_of "$v")" = "$want" ]; then echo "$v"; return 0; fi
        offered+=" $(upstream_of "$v")"
    done
    die "source package $name: Debian offers upstream${offered:- nothing} but tools/deps/versions.mk pins ${name^^}_VERSION := $want"
}

unpack_source() {
    local dir=$1 name=$2 want=$3 dest=$1/$2-$3
    [ -e "$dest/.atoll-unpacked" ] && return 0
    ensure_deb_src
    local version
    version=$(source_version_for "$name" "$want")
    mkdir -p "$dir/dl"
    say "fetching $name $version"
    local -a as_root=()
    is_root && as_root=(-o APT::Sandbox::User=root)
    (cd "$dir/dl" && apt-get source -qq --download-only "${as_root[@]}" "$name=$version") \
        || die "apt-get source $name=$version failed"

    local orig
    orig=$(ls "$dir/dl/${name}_$(sed 's/-[^-]*$//' <<<"${version#*:}").orig.tar."* 2>/dev/null | head -1)
    [ -n "$orig" ] || die "source package $name: no orig tarball for $version in $dir/dl"
    local got
    got=$(upstream_of "$(basename "$orig" | sed -E 's/^[^_]+_(.*)\.orig\.tar\..*$/\1/')")
    [ "$got" = "$want" ] || die "source package $name: $orig is upstream $got, not the pinned $want"

    local tmp=$dest.tmp.$$
    rm -rf "$tmp" && mkdir -p "$tmp"
    tar -xf "$orig" -C "$tmp" --strip-components=1 || die "cannot unpack $orig"
    echo "$(basename "$orig")" > "$tmp/.atoll-unpacked"
    rm -rf "$dest" && mv "$tmp" "$dest"
    say "unpacked $name $want into $dest"
}

fetch_sources() {
    local dir=$1 name want
    mkdir -p "$dir"
    exec 9>"$dir/.lock"
    flock 9                     # two makes in one tree must not fetch into one folder
    for name in ${pin[THIRD_PARTY_SOURCES]}; do
        want=$(pinned "${name^^}_VERSION")
        unpack_source "$dir" "$name" "$want"
    done
}

# ---- main --------------------------------------------------------------------------------
main() {
    local do_packages=0 src_dir=""
    [ $# -eq 0 ] && set -- --packages --sources "$deps_dir/../../build/third_party/src"
    while [ $# -gt 0 ]; do
        case $1 in
            --packages) do_packages=1; shift ;;
            --sources)  [ $# -ge 2 ] || die "--sources needs a folder"; src_dir=$2; shift 2 ;;
            *) die "unknown option $1 (usage: install.sh [--packages] [--sources DIR])" ;;
        esac
    done
    load_versions
    if [ $do_packages = 1 ]; then load_packages; install_packages; fi
    if [ -n "$src_dir" ]; then fetch_sources "$src_dir"; fi
}

main "$@"
