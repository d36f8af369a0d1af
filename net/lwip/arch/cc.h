/* lwIP's compiler and platform port for the freestanding hypervisor (lwIP's arch/cc.h).
 * The port hooks declared here are implemented by the network service (net/lwip/). */
#ifndef ATOLL_NET_LWIP_ARCH_CC_H
#define ATOLL_NET_LWIP_ARCH_CC_H
#include <stdint.h>
#include <limits.h>

/* No libc: lwIP must not reach for inttypes.h, ctype.h or unistd.h. */
#define LWIP_NO_INTTYPES_H 1
#define LWIP_NO_CTYPE_H    1
#define LWIP_NO_UNISTD_H   1

/* Format strings for lwIP's own types, as hv/lib/format.c understands them. */
#define X8_F  "02x"
#define U16_F "hu"
#define S16_F "hd"
#define X16_F "hx"
#define U32_F "u"
#define S32_F "d"
#define X32_F "x"
#define SZT_F "zu"

typedef long ssize_t;
#define SSIZE_MAX LONG_MAX

#define BYTE_ORDER LITTLE_ENDIAN
#define lwip_htons(x) ((u16_t)__builtin_bswap16((u16_t)(x)))
#define lwip_htonl(x) ((u32_t)__builtin_bswap32((u32_t)(x)))

/* Port hooks. */
void lwip_port_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void lwip_port_assert(const char *msg, const char *file, int line) __attribute__((noreturn));
uint32_t lwip_port_rand(void);

#define LWIP_PLATFORM_DIAG(x)      do { lwip_port_diag x; } while (0)
#define LWIP_PLATFORM_ASSERT(x)    lwip_port_assert((x), __FILE__, __LINE__)
#define LWIP_RAND()                lwip_port_rand()

#endif
