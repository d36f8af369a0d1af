#include "guest/lib/fwcfg.h"

#include "guest/lib/x86.h"

#define FWCFG_PORT_SEL  0x510
#define FWCFG_PORT_DATA 0x511

void fwcfg_read(uint16_t key, void *buf, size_t len)
{
    uint8_t *p = buf;
    outw(FWCFG_PORT_SEL, key);
    for (size_t i = 0; i < len; i++)
        p[i] = inb(FWCFG_PORT_DATA);
}

uint64_t fwcfg_read_u64(uint16_t key)
{
    uint8_t b[8];
    uint64_t v = 0;
    fwcfg_read(key, b, sizeof(b));
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | b[i];
    return v;
}

uint16_t fwcfg_read_u16(uint16_t key)
{
    uint8_t b[2];
    fwcfg_read(key, b, sizeof(b));
    return (uint16_t)(b[0] | (b[1] << 8));
}
