/* lwIP's platform hooks (arch/cc.h) in the hypervisor: time, diagnostics, randomness. */
#include <stdarg.h>

#include "hv/arch/x86/exception.h"
#include "hv/arch/x86/tsc.h"
#include "hv/arch/x86/console.h"
#include "lwip/sys.h"
#include "net/kernel/hw_entropy.h"

u32_t sys_now(void)
{
    return (u32_t)(time_ns() / 1000000);
}

void lwip_port_diag(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    kvprintf(fmt, ap);
    va_end(ap);
}

void lwip_port_assert(const char *msg, const char *file, int line)
{
    panic("lwip: assertion failed at %s:%d: %s", file, line, msg);
}

uint32_t lwip_port_rand(void)
{
    return hw_random_u32();
}

/* lwIP's netif_find() parses interface numbers with atoi; there is no libc here. */
int atoi(const char *s);
int atoi(const char *s)
{
    int v = 0;
    while (*s >= '0' && *s <= '9')
        v = v * 10 + (*s++ - '0');
    return v;
}
