# Helpers for booting Atoll hosts under Bochs, joined by bxhub, in the network tests (sourced;
# needs $root, $work and $kernel; $b_kernel and $b_guest for host B's partition, see two_hosts).
#   make_iso NAME MANIFEST CMDLINE [KERNEL] -> $work/NAME.iso (modules looked up in $work)
#   start_hub                         -> bxhub on 2 ports from a free UDP base ($hub_base)
#   boot NAME HUBPORT MAC             -> Bochs in the background on bxhub port HUBPORT (0, 1);
#                                        console $work/NAME.console, log $work/NAME.bochs.log;
#                                        $work/NAME.disk.img, when there, as its ATA disk;
#                                        $work/NAME.cpus, when there, its CPU count (else 1);
#                                        $work/NAME.megs, its RAM in MiB (else 256)
#   wait_line NAME REGEX SECONDS      -> 0 once a console line matches; 1 at the deadline or
#                                        as soon as that host's Bochs has ended
#   stop_all                          -> kills every Bochs, bxhub and screen reader these
#                                        helpers started
# Every process runs under `timeout -s KILL`, so none outlives its bound, and with a
# parent-death signal (setpriv --pdeathsig, on the timeout and on the process under it), so
# none outlives this shell either, even killed with SIGKILL (no trap runs then).  Bochs keeps its clock no faster than the host's (sync=slowdown): the real hypervisor
# halts when idle, and with sync=none a halted Bochs skips ahead, so the control server's
# timeouts ran out before the other host's packets arrived.
emu_pids=()
# The prefix that ends a process with its parent (see above).
orphan_kill=(setpriv --pdeathsig KILL)
declare -gA host_pid
hub_base=

make_iso() {
    "$root/tools/image/mkiso.sh" -o "$work/$1.iso" -k "${4:-$kernel}" -m "$2" -c "$3" -d "$work" \
        >"$work/$1.image.log" 2>&1
}

# bxhub takes UDP ports BASE .. BASE+3 for two ports (two per Bochs session).
free_udp_base() {
    python3 - <<'EOF'
import random, socket
for _ in range(200):
    base = random.randrange(41000, 59000, 4)
    socks = []
    try:
        for p in range(base, base + 4):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            socks.append(s)
            s.bind(("127.0.0.1", p))
        print(base)
        break
    except OSError:
        pass
    finally:
        for s in socks:
            s.close()
EOF
}

start_hub() {   # SECONDS
    hub_base=$(free_udp_base) || return 1
    [ -n "$hub_base" ] || return 1
    "${orphan_kill[@]}" timeout -s KILL "$1" "${orphan_kill[@]}" bxhub -ports=2 -base="$hub_base" \
        >"$work/bxhub.log" 2>&1 </dev/null &
    emu_pids+=($!)
}

write_bochsrc() {   # NAME HUBPORT MAC
    cat >"$work/$1.bochsrc" <<EOF
display_library: term
megs: $(cat "$work/$1.megs" 2>/dev/null || echo 256)
cpu: model=corei7_skylake_x, count=$(cat "$work/$1.cpus" 2>/dev/null || echo 1), ips=50000000, reset_on_triple_fault=0, ignore_bad_msrs=1
romimage: file=/usr/share/bochs/BIOS-bochs-latest, options=fastboot
vgaromimage: file=/usr/share/vgabios/vgabios.bin
ata0-master: type=cdrom, path=$work/$1.iso, status=inserted
boot: cdrom
e1000: enabled=1, mac=$3, ethmod=socket, ethdev=$((hub_base + 2 * $2))
com1: enabled=1, mode=file, dev=$work/$1.console
log: $work/$1.bochs.log
panic: action=fatal
error: action=report
info: action=report
debug: action=ignore
clock: sync=slowdown, time0=local
port_e9_hack: enabled=1
speaker: enabled=0
sound: waveoutdrv=dummy, waveindrv=dummy, midioutdrv=dummy
magic_break: enabled=1
EOF
    # A pool disk for this host when the test made one ($work/NAME.disk.img).
    [ -f "$work/$1.disk.img" ] && echo "ata0-slave: type=disk, path=$work/$1.disk.img, mode=flat" \
        >>"$work/$1.bochsrc"
    printf 'continue\nquit\n' >"$work/bochs.rc"
}

boot() {   # NAME HUBPORT MAC [SECONDS]
    local name=$1
    write_bochsrc "$name" "$2" "$3"
    : >"$work/$name.console"
    rm -f "$work"/*.lock
    (cd "$work" && TERM=xterm exec "${orphan_kill[@]}" timeout -s KILL "${4:-240}" \
        "${orphan_kill[@]}" bochs-bin -q -f "$name.bochsrc" -rc bochs.rc </dev/null \
        >"$work/$name.bochs.out" 2>&1) &
    emu_pids+=($!)
    host_pid[$name]=$!
    drain_screen "$work/$name.bochs.out" "${4:-240}"
}

# Bochs's term display, given no tty, opens a pty of its own for the screen and says which
# in its output; nothing reads it, so once the pty's buffer is full Bochs blocks in its next
# write and the whole host stops (after some minutes of console lines: the migration test's
# target stopped so, mid-run).  A reader drains it until Bochs closes it, as
# tests/system/run does (drain_bochs_screen).
drain_screen() {   # BOCHS_OUT SECONDS
    "${orphan_kill[@]}" timeout -s KILL "$2" "${orphan_kill[@]}" python3 - "$1" <<'EOF' \
        >/dev/null 2>&1 &
import os, re, sys, time
m = None
for _ in range(1500):
    try:
        with open(sys.argv[1], "rb") as f:
            m = re.search(rb'Bochs connected to screen "(/dev/pts/\d+)"', f.read())
    except OSError:
        pass
    if m:
        break
    time.sleep(0.2)
if m:
    try:
        fd = os.open(m.group(1).decode(), os.O_RDONLY | os.O_NOCTTY)
        while os.read(fd, 65536):
            pass
    except OSError:
        pass
EOF
    emu_pids+=($!)
}

running() {   # PID: a child of this shell that has not yet exited (a zombie has)
    [ -e "/proc/$1" ] && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]
}

wait_line() {
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        tr -d '\r' <"$work/$1.console" | grep -qE "$2" && return 0
        running "${host_pid[$1]}" || { echo "  ($1: Bochs ended, see $1.bochs.out)"; return 1; }
        sleep 0.1
    done
    return 1
}

# Each pid is a `timeout` (after exec) whose child is the emulator or hub: killing timeout
# alone with SIGKILL would orphan that child, so the child goes first and timeout, which
# exits once its child has, is given a moment to reap it before it is killed too.
stop_all() {
    local p i
    for p in "${emu_pids[@]}"; do
        pkill -KILL -P "$p" 2>/dev/null
        for ((i = 0; i < 20; i++)); do
            running "$p" || break
            sleep 0.1
        done
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    emu_pids=()
    host_pid=()
    rm -f "$work"/*.lock
} 2>/dev/null   # (bash's "Killed" notices for the timeouts, which re-raise their child's signal)

# Two hosts on bxhub with static addresses: B (10.0.3.2) serves control, A (10.0.3.1) runs
# its peer checks against B (net/kernel/peer_probe.h).  Keys host-a.pem/host-b.pem are made
# in $work.  With $b_kernel and $b_guest set, B boots $b_kernel (the real hypervisor) with a
# partition `idle` (autostart = no, image $b_guest) and A also starts and stops it through B's
# control server (net.peer-start=idle).  Returns 0 once A has printed its last line (within
# SECONDS), 1 when B never listened, 2 when A never finished.
two_hosts() {   # CTL SECONDS
    local ctl=$1 secs=$2 afp bfp a_opts=
    afp=$("$ctl" keygen host-a.pem) && bfp=$("$ctl" keygen host-b.pem) || return 1
    printf '[hypervisor]\nnet = static\nip = 10.0.3.2\nnetmask = 255.255.255.0\ncontrol-clients = %s\nidentity-key = host-b.pem\n' "$afp" >b.cfg
    printf '[hypervisor]\nnet = static\nip = 10.0.3.1\nnetmask = 255.255.255.0\ncontrol-clients = %s\nidentity-key = host-a.pem\n' "$bfp" >a.cfg
    if [ -n "${b_kernel:-}" ]; then
        cp "$b_guest" "$work/" || return 1
        printf '\n[partition idle]\nmemory = 16M\nimage = %s\nboot = multiboot\ncmdline = passes=1000000\nautostart = no\n' \
            "$(basename "$b_guest")" >>b.cfg
        a_opts=" net.peer-start=idle"
    fi
    make_iso b b.cfg "net.sink" "${b_kernel:-}" && make_iso a a.cfg "net.peer=10.0.3.2 net.peer-key=$bfp$a_opts" || return 1
    start_hub $((secs + 120)) || return 1
    boot b 0 52:54:00:00:03:02 $((secs + 120))
    wait_line b "^control: listening on port 7400, key fingerprint $bfp" 90 || return 1
    boot a 1 52:54:00:00:03:01 $((secs + 30))
    wait_line a '^net: peer checks done' "$secs" || return 2
}
