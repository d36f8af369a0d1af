/* Dotted-quad IPv4 addresses in text, "A.B.C.D" and "A.B.C.D[:PORT]". */
#ifndef ATOLL_HV_LIB_IPV4_H
#define ATOLL_HV_LIB_IPV4_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The address at the start of s (four decimal octets of 1 to 3 digits, 0-255, dots
 * between) in *ip, the first octet highest; returns the text after it, or NULL. */
static inline const char *ipv4_parse(const char *s, uint32_t *ip)
{
    uint32_t v = 0;
    for (int part = 0; part < 4; part++) {
        uint32_t n = 0;
        int digits = 0;
        for (; *s >= '0' && *s <= '9' && digits < 4; s++, digits++)
            n = n * 10 + (uint32_t)(*s - '0');
        if (!digits || digits > 3 || n > 255 || (part < 3 && *s++ != '.'))
            return NULL;
        v = v << 8 | n;
    }
    *ip = v;
    return s;
}

/* "A.B.C.D" or "A.B.C.D:PORT" and nothing after; PORT 1-65535, default_port without one. */
static inline bool ipv4_parse_host(const char *s, uint16_t default_port, uint32_t *ip,
                                   uint16_t *port)
{
    uint32_t v;
    s = ipv4_parse(s, &v);
    if (!s)
        return false;
    uint32_t p = default_port;
    if (*s == ':') {
        p = 0;
        int digits = 0;
        for (s++; *s >= '0' && *s <= '9' && digits < 6; s++, digits++)
            p = p * 10 + (uint32_t)(*s - '0');
        if (!digits || !p || p > 65535)
            return false;
    }
    if (*s)
        return false;
    *ip = v;
    *port = (uint16_t)p;
    return true;
}

#endif
