# Helpers for booting Atoll hosts under QEMU TCG in the kernel network tests (sourced).
#   make_iso NAME MANIFEST CMDLINE         -> $work/NAME.iso (modules looked up in $work)
#   boot NAME CPU NETDEV MAC               -> QEMU in the background; console $work/NAME.console
#   wait_line NAME REGEX SECONDS           -> 0 once a console line matches
#   stop_all                               -> kills every QEMU these helpers started
#   stall_begin/stall_end, flood_begin/flood_end: silent connections held, or opened one
#   after another; second_source: an address other than loopback to connect from
# NET_PCAP=DIR in the environment makes each host's QEMU write every frame to DIR/NAME.pcap.
# NET_PIN=1 runs host a's QEMU on core 0 and host b's on core 1 (with two cores or more):
# unpinned, the scheduler moving four busy threads over two cores makes one transfer's
# rate vary twofold; pinned, by a few percent.
qemu_pids=()

make_iso() {
    "$root/tools/image/mkiso.sh" -o "$work/$1.iso" -k "$kernel" -m "$2" -c "$3" -d "$work" \
        >"$work/$1.image.log" 2>&1
}

pin_prefix() {
    [ -n "${NET_PIN:-}" ] && [ "$(nproc)" -ge 2 ] || return 0
    case $1 in a) echo "taskset -c 0" ;; b) echo "taskset -c 1" ;; esac
}

boot() {
    local name=$1 cpu=$2 netdev=$3 mac=$4
    : >"$work/$name.console"
    $(pin_prefix "$name") timeout -s KILL 300 qemu-system-x86_64 -machine q35 -accel tcg -cpu "$cpu" -smp 1 -m 256 \
        -display none -serial "file:$work/$name.console" -monitor none -no-reboot \
        -cdrom "$work/$name.iso" -boot d -netdev "$netdev" -device "e1000,netdev=n0,mac=$mac" \
        ${NET_PCAP:+-object "filter-dump,id=d0,netdev=n0,file=$NET_PCAP/$name.pcap"} \
        >"$work/$name.qemu.log" 2>&1 &
    qemu_pids+=($!)
}

wait_line() {
    local i
    for ((i = 0; i < $3 * 10; i++)); do
        tr -d '\r' <"$work/$1.console" | grep -qE "$2" && return 0
        sleep 0.1
    done
    return 1
}

# Each pid is a `timeout` whose child is the emulator: killing timeout alone with SIGKILL
# would orphan QEMU, so the children go first.
# Bash reports a killed job on the stderr it has when it reaps it, hence the group.
stop_all() {
    local p
    {
        for p in "${qemu_pids[@]}"; do
            pkill -KILL -P "$p"
            kill -KILL "$p"
            wait "$p"
        done
    } 2>/dev/null
    qemu_pids=()
}

# Opens N TCP connections to 127.0.0.1:PORT that never send a byte, held (by a process
# stop_all ends) until stall_end; returns once they are open.
stall_begin() {   # PORT N
    rm -f stalled
    python3 -c 'import socket, sys, time
held = [socket.create_connection(("127.0.0.1", int(sys.argv[1]))) for _ in range(int(sys.argv[2]))]
open("stalled", "w").close()
time.sleep(60)' "$1" "$2" & staller_pid=$!
    qemu_pids+=("$staller_pid")
    for _ in $(seq 50); do [ -e stalled ] && return 0; sleep 0.2; done
    return 1
}
stall_end() { kill "$staller_pid" 2>/dev/null; wait "$staller_pid" 2>/dev/null; }

# Opens connection after connection to HOST:PORT (one every 10 ms, each silent, the oldest
# closed past 8 open) until flood_end or 60 s; returns once 20 have been opened.
flood_begin() {   # HOST PORT
    rm -f flooding
    python3 -c 'import socket, sys, time
held, n, end = [], 0, time.time() + 60
while time.time() < end:
    try:
        held.append(socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2))
    except OSError:
        pass
    n += 1
    if n == 20:
        open("flooding", "w").close()
    if len(held) > 8:
        held.pop(0).close()
    time.sleep(0.01)' "$1" "$2" & flooder_pid=$!
    qemu_pids+=("$flooder_pid")
    for _ in $(seq 50); do [ -e flooding ] && return 0; sleep 0.2; done
    return 1
}
flood_end() { kill "$flooder_pid" 2>/dev/null; wait "$flooder_pid" 2>/dev/null; }

# This machine's own non-loopback IPv4 address, empty when it has none.  QEMU's user network
# shows a forwarded connection from loopback as coming from 10.0.2.2, but one from this
# address as coming from it: a second source address for the guest, at no cost.
second_source() {
    python3 -c 'import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
try:
    s.connect(("203.0.113.1", 9)); a = s.getsockname()[0]
except OSError:
    a = ""
print("" if a.startswith("127.") or a == "0.0.0.0" else a)'
}

free_port() {   # [udp]
    python3 -c 'import socket,sys; s=socket.socket(type=socket.SOCK_DGRAM if sys.argv[1:] else socket.SOCK_STREAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' "$@"
}
free_port_on() {   # ADDRESS
    python3 -c 'import socket,sys; s=socket.socket(); s.bind((sys.argv[1],0)); print(s.getsockname()[1])' "$1"
}

# Two hosts on a socket netdev: B (10.0.3.2) serves control and the bench sinks, A
# (10.0.3.1) runs its peer checks against B (net/kernel/peer_probe.h), plus A_EXTRA on its
# command line.  Keys host-a.pem/host-b.pem are made in $work.  Returns 0 once A has
# printed its last line (within SECONDS), 1 when B never listened, 2 when A never finished.
two_hosts() {   # CTL A_EXTRA SECONDS
    local ctl=$1 extra=$2 secs=$3 afp bfp aport bport
    afp=$("$ctl" keygen host-a.pem) && bfp=$("$ctl" keygen host-b.pem) || return 1
    printf '[hypervisor]\nnet = static\nip = 10.0.3.2\nnetmask = 255.255.255.0\ncontrol-clients = %s\nidentity-key = host-b.pem\n' "$afp" >b.cfg
    printf '[hypervisor]\nnet = static\nip = 10.0.3.1\nnetmask = 255.255.255.0\ncontrol-clients = %s\nidentity-key = host-a.pem\n' "$bfp" >a.cfg
    make_iso b b.cfg "net.sink" && make_iso a a.cfg "net.peer=10.0.3.2 net.peer-key=$bfp $extra" || return 1
    aport=$(free_port udp) && bport=$(free_port udp) || return 1
    boot b max "socket,id=n0,udp=127.0.0.1:$aport,localaddr=127.0.0.1:$bport" 52:54:00:00:03:02
    wait_line b "^control: listening on port 7400, key fingerprint $bfp" 90 || return 1
    boot a max "socket,id=n0,udp=127.0.0.1:$bport,localaddr=127.0.0.1:$aport" 52:54:00:00:03:01
    wait_line a '^net: peer checks done' "$secs" || return 2
}
