/* lwIP configuration for the hypervisor's network service: NO_SYS (no threads; the
 * service polls the NIC and calls sys_check_timeouts()), IPv4 with ARP, ICMP, DHCP, UDP
 * and TCP.  The network engineer tunes the sizes; everything not set keeps lwIP's default
 * (lwip/opt.h). */
#ifndef ATOLL_NET_LWIP_LWIPOPTS_H
#define ATOLL_NET_LWIP_LWIPOPTS_H

/* Threading: none.  lwIP is only entered from the network service on one CPU. */
#define NO_SYS                  1
#define SYS_LIGHTWEIGHT_PROT    0
#define LWIP_NETCONN            0
#define LWIP_SOCKET             0
#define LWIP_TIMERS             1

/* Memory: lwIP's own heap and pools, in its static arrays. */
#define MEM_LIBC_MALLOC         0
#define MEMP_MEM_MALLOC         0
#define MEM_ALIGNMENT           8
#define MEM_SIZE                (256 * 1024)
#define MEMP_NUM_PBUF           64
#define MEMP_NUM_TCP_PCB        16
#define MEMP_NUM_TCP_PCB_LISTEN 6
#define MEMP_NUM_TCP_SEG        128
#define PBUF_POOL_SIZE          128

/* Protocols: the sources third_party.mk builds (no IPv6, DNS, IGMP, AutoIP). */
#define LWIP_IPV4               1
#define LWIP_IPV6               0
#define LWIP_ARP                1
#define LWIP_ETHERNET           1
#define LWIP_ICMP               1
#define LWIP_RAW                1
#define LWIP_UDP                1
#define LWIP_TCP                1
#define LWIP_DHCP               1
#define LWIP_DNS                0
#define LWIP_IGMP               0
#define LWIP_AUTOIP             0
#define IP_REASSEMBLY           1
#define IP_FRAG                 1

/* TCP: window and send buffer sized for bulk transfer (migration, offload copy). */
#define TCP_MSS                 1460
#define TCP_WND                 (16 * TCP_MSS)
#define TCP_SND_BUF             (16 * TCP_MSS)
#define TCP_SND_QUEUELEN        (4 * TCP_SND_BUF / TCP_MSS)
#define LWIP_TCP_KEEPALIVE      1

/* Interface callbacks the service uses to learn when DHCP brings the link up. */
#define LWIP_NETIF_STATUS_CALLBACK 1
#define LWIP_NETIF_LINK_CALLBACK   1

/* Debug output stays off (LWIP_DEBUG undefined). */
#define LWIP_STATS              1   /* counters only (bench: retransmissions, drops) */
#define LWIP_STATS_LARGE        1   /* 32-bit counters: a bench run sends over 65535 segments */
#define LWIP_STATS_DISPLAY      0
#define MIB2_STATS              1   /* for the retransmission count */

#endif
