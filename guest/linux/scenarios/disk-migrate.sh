# Numbered files with fsync while the host migrates the partition live to another host, its
# disk following in storage migration's "after" mode (tests/net/run-svm-migrate-debian-test).
# The guest cannot tell it has moved, so the test tells it on the console:
#   1. a writer in the background writes /mnt/guest/fN (N = 1, 2, ...; contents from N
#      alone) one after the other as fast as it can, each by dd conv=fsync and its folder
#      synced, keeping every file's SHA-256 in RAM (/tmp, migrated with it); beside it a
#      streamer rewrites /mnt/stream (512 KiB, generation G's contents) with fsync, again and
#      again, and a reader reads the host's 1 MiB /mnt/host/big past the page cache
#      (O_DIRECT) and checks it, again and again, so that the guest has disk requests in
#      flight most of the time, the pre-copy and its stop-and-copy included;
#   2. when the word "migrated" comes, both finish what they write and stop, the guest
#      drops its caches and reads every file back from the disk (on the target, units still
#      on the source are fetched from there) against the sums it kept;
#   3. both go on (at least 10 more files) until the word "end" comes (the test types it
#      once the target holds the whole disk and has switched the partition to it);
#   4. the guest reads everything back again, unmounts, and prints its verdict.
# The host then checks the target's disk with qemu-img check, e2fsck -fn and debugfs.
. /scenarios/disk-mount.sh
mkdir -p /tmp
: >/tmp/SHA256SUMS
content() { yes "atoll migrate file $1" | head -c $((4096 * ($1 % 8 + 1))); }
stream_content() { yes "atoll migrate stream generation $1" | head -c 524288; }
write_file() {
    content "$1" | dd of="/mnt/guest/f$1" bs=65536 conv=fsync 2>/dev/null
    sync /mnt/guest
    echo "$(content "$1" | sha256sum | cut -d' ' -f1)  f$1" >>/tmp/SHA256SUMS
    echo "disk-migrate: file $1 written"
}
verify() {   # WHEN: every file so far read from the disk against the sums kept in RAM
    sync
    echo 3 >/proc/sys/vm/drop_caches
    n=$(wc -l </tmp/SHA256SUMS)
    (cd /mnt/guest && sha256sum -c /tmp/SHA256SUMS) >/tmp/check 2>&1 || true
    good=$(grep -c ': OK$' /tmp/check || true)
    grep -v ': OK$' /tmp/check | sed 's/^/disk-migrate: /'
    echo "disk-migrate: $1: $good of $n files intact"
    g=$(cat /tmp/stream.gen)
    if (cd /mnt && sha256sum -c /tmp/STREAM) >/dev/null 2>&1; then
        echo "disk-migrate: $1: the stream holds generation $g"
    else
        echo "disk-migrate: $1: the stream does not hold generation $g"
        return 1
    fi
    [ "$good" = "$n" ] && [ "$(ls /mnt/guest | wc -l)" = "$n" ]
}
writer() {   # FROM MIN: files FROM+1, FROM+2, ... to MIN at least, then until /tmp/stop;
             # the last number in /tmp/last
    n=$1
    while { [ $n -lt $2 ] || [ ! -e /tmp/stop ]; } && [ $n -lt 1500 ]; do
        n=$((n + 1))
        write_file $n
    done
    echo $n >/tmp/last
}
streamer() {   # rewrites /mnt/stream until /tmp/stop; its generation and sum in RAM
    g=$(cat /tmp/stream.gen)
    while [ ! -e /tmp/stop ]; do
        g=$((g + 1))
        stream_content $g | dd of=/mnt/stream bs=65536 conv=fsync 2>/dev/null
        echo "$(stream_content $g | sha256sum | cut -d' ' -f1)  stream" >/tmp/STREAM
        echo $g >/tmp/stream.gen
    done
}
reader() {   # reads /mnt/host/big with O_DIRECT until /tmp/stop; the reads in /tmp/reads
    want=$(grep ' big$' /mnt/host/SHA256SUMS | cut -d' ' -f1)
    r=$(cat /tmp/reads)
    while [ ! -e /tmp/stop ]; do
        got=$(dd if=/mnt/host/big iflag=direct bs=1048576 2>/dev/null | sha256sum | cut -d' ' -f1)
        r=$((r + 1))
        echo $r >/tmp/reads
        [ "$got" = "$want" ] || { echo "disk-migrate: read $r of /host/big (O_DIRECT) gave other bytes"; return 1; }
    done
}
background() {   # FROM MIN: the writer, the streamer and the reader, until /tmp/stop
    writer "$@" &
    w=$!
    streamer &
    s=$!
    reader &
    d=$!
}
until_word() {   # WORD: reads console lines until one is WORD
    while read -r word; do
        [ "$word" = "$1" ] && return 0
    done
    echo "disk-migrate: the console ended before the word $1"
    return 1
}

echo "disk-migrate: writing numbered files, each with fsync, until told it runs on the target"
stream_content 0 | dd of=/mnt/stream bs=65536 conv=fsync 2>/dev/null
echo "$(stream_content 0 | sha256sum | cut -d' ' -f1)  stream" >/tmp/STREAM
echo 0 >/tmp/stream.gen
echo 0 >/tmp/reads
background 0 0
until_word migrated
touch /tmp/stop
wait $w
wait $s
wait $d
rm /tmp/stop
before=$(cat /tmp/last)
echo "disk-migrate: told it runs on the target after file $before"
verify "on the target"
background $before $((before + 10))
until_word end
touch /tmp/stop
wait $w
wait $s
wait $d
i=$(cat /tmp/last)
echo "disk-migrate: told to end after file $i"
verify "at the end"
umount /mnt
echo "disk-migrate: verdict: $i files, $before before the word and $((i - before)) after, stream generation $(cat /tmp/stream.gen), $(cat /tmp/reads) direct reads, all intact; unmounted"
