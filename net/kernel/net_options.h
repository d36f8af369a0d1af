/*
 * Network test options on the hypervisor command line (words the kernel's own
 * boot_config ignores):
 *   net.peer=A.B.C.D       after start-up, ping this peer and open a TLS session to its
 *                          control port (net.peer-key pins its key)
 *   net.peer-key=HEX       the peer's key fingerprint (64 hex digits)
 *   net.peer-start=NAME    then drive the peer's partition NAME through the control
 *                          protocol: list, start, list, stop, list (each step checked)
 *   net.bench=MIB          then send MIB MiB to the peer over plain TCP and over TLS
 *   net.sink               serve the bench sinks (plain TCP 7401, TLS 7402)
 */
#ifndef ATOLL_NET_KERNEL_NET_OPTIONS_H
#define ATOLL_NET_KERNEL_NET_OPTIONS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NET_SINK_PLAIN_PORT 7401
#define NET_SINK_TLS_PORT   7402

struct net_options {
    bool peer;
    uint32_t peer_ip;          /* host byte order */
    bool peer_key_set;
    uint8_t peer_key[32];
    char peer_start[32];       /* partition to start and stop on the peer; "" for none */
    uint32_t bench_mib;        /* 0: no bench */
    bool sink;
};

/* Parses what it knows; the first bad value is described in err (empty when none). */
void net_options_parse(struct net_options *o, const char *cmdline, char *err, size_t cap);

#endif
