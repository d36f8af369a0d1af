#include "hv/lib/guid.h"
#include "hv/lib/hex.h"

#include <string.h>

struct guid guid_make(uint32_t d1, uint16_t d2, uint16_t d3, const uint8_t d4[8])
{
    struct guid g;
    for (int i = 0; i < 4; i++)
        g.b[i] = (uint8_t)(d1 >> (8 * i));
    g.b[4] = (uint8_t)d2;
    g.b[5] = (uint8_t)(d2 >> 8);
    g.b[6] = (uint8_t)d3;
    g.b[7] = (uint8_t)(d3 >> 8);
    memcpy(&g.b[8], d4, 8);
    return g;
}

bool guid_eq(const struct guid *a, const struct guid *b)
{
    return memcmp(a->b, b->b, 16) == 0;
}

bool guid_is_zero(const struct guid *g)
{
    static const struct guid zero;
    return guid_eq(g, &zero);
}

/* Byte order of the text form: data1, data2, data3 are little-endian on disk. */
static const uint8_t text_order[16] = { 3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15 };

static bool dash_after(int i)
{
    return i == 3 || i == 5 || i == 7 || i == 9;
}

void guid_format(const struct guid *g, char *out)
{
    static const char hex[] = "0123456789abcdef";
    char *p = out;
    *p++ = '{';
    for (int i = 0; i < 16; i++) {
        uint8_t v = g->b[text_order[i]];
        *p++ = hex[v >> 4];
        *p++ = hex[v & 15];
        if (dash_after(i))
            *p++ = '-';
    }
    *p++ = '}';
    *p = 0;
}

bool guid_parse(const char *s, size_t len, struct guid *out)
{
    if (len == GUID_STR_LEN) {
        if (s[0] != '{' || s[GUID_STR_LEN - 1] != '}')
            return false;
        s++;
        len -= 2;
    }
    if (len != GUID_STR_LEN - 2)
        return false;
    for (int i = 0; i < 16; i++) {
        int hi = hex_digit_value(s[0]), lo = hex_digit_value(s[1]);
        if (hi < 0 || lo < 0)
            return false;
        out->b[text_order[i]] = (uint8_t)(hi << 4 | lo);
        s += 2;
        if (dash_after(i) && *s++ != '-')
            return false;
    }
    return true;
}
