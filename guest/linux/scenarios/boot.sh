# The kernel booted to userspace: check what the partition gives it.  atoll.cpus=N on
# the command line: exactly N CPUs must be online.
cpus=$(grep -c ^processor /proc/cpuinfo)
echo "linux: $(uname -sr), $cpus cpu(s), $(grep MemTotal /proc/meminfo | tr -s ' ')"
for word in $(cat /proc/cmdline); do
    case "$word" in
    atoll.cpus=*) want="${word#atoll.cpus=}"
        [ "$cpus" = "$want" ] || { echo "linux: $cpus cpu(s) online, expected $want"; exit 1; } ;;
    esac
done
[ -c /dev/ttyS0 ]
[ "$(echo atoll | sha256sum | cut -c1-8)" = cde02915 ]
