/* The parent locator's UTF-16LE strings as UTF-8, and back. */
#include "hv/storage/vhdx_internal.h"

static int put_utf8(char *out, size_t size, size_t *n, uint32_t c)
{
    uint8_t b[4];
    size_t len;
    if (c < 0x80)
        b[0] = (uint8_t)c, len = 1;
    else if (c < 0x800)
        b[0] = (uint8_t)(0xc0 | c >> 6), b[1] = (uint8_t)(0x80 | (c & 0x3f)), len = 2;
    else if (c < 0x10000)
        b[0] = (uint8_t)(0xe0 | c >> 12), b[1] = (uint8_t)(0x80 | ((c >> 6) & 0x3f)),
        b[2] = (uint8_t)(0x80 | (c & 0x3f)), len = 3;
    else
        b[0] = (uint8_t)(0xf0 | c >> 18), b[1] = (uint8_t)(0x80 | ((c >> 12) & 0x3f)),
        b[2] = (uint8_t)(0x80 | ((c >> 6) & 0x3f)), b[3] = (uint8_t)(0x80 | (c & 0x3f)), len = 4;
    if (*n + len >= size)
        return VHDX_UTF_TOO_LONG;
    for (size_t i = 0; i < len; i++)
        out[(*n)++] = (char)b[i];
    return 0;
}

int vhdx_utf16_to_utf8(const uint8_t *p, uint32_t bytes, char *out, size_t size)
{
    size_t n = 0;
    if (bytes % 2)
        return VHDX_UTF_INVALID;
    while (bytes >= 2 && le16(p + bytes - 2) == 0)
        bytes -= 2;                     /* a terminating NUL some writers add */
    for (uint32_t i = 0; i < bytes; i += 2) {
        uint32_t c = le16(p + i);
        /* Control characters (C0, DEL, C1) name no file and would reach a terminal. */
        if (c < 0x20 || (c >= 0x7f && c < 0xa0) || (c >= 0xdc00 && c < 0xe000))
            return VHDX_UTF_INVALID;
        if (c >= 0xd800 && c < 0xdc00) {
            uint32_t lo = i + 3 < bytes ? le16(p + i + 2) : 0;
            if (lo < 0xdc00 || lo >= 0xe000)
                return VHDX_UTF_INVALID;
            c = 0x10000 + ((c - 0xd800) << 10) + (lo - 0xdc00);
            i += 2;
        }
        int rc = put_utf8(out, size, &n, c);
        if (rc)
            return rc;
    }
    out[n] = '\0';
    return (int)n;
}

/* The code point at s (advancing it), or -1 where s is not UTF-8 (overlong forms too). */
static int32_t next_utf8(const char **s)
{
    const uint8_t *p = (const uint8_t *)*s;
    uint32_t c = p[0], len = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 :
                             (c & 0xf8) == 0xf0 ? 4 : 0;
    static const uint32_t min[5] = { 0, 0, 0x80, 0x800, 0x10000 };
    if (!len)
        return -1;
    c &= len == 1 ? 0x7f : 0x3f >> (len - 1);
    for (uint32_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return -1;
        c = c << 6 | (p[i] & 0x3f);
    }
    if (c < min[len] || c > 0x10ffff || (c >= 0xd800 && c < 0xe000))
        return -1;
    *s += len;
    return (int32_t)c;
}

bool vhdx_utf8_valid(const char *s)
{
    while (*s)
        if (next_utf8(&s) < 0)
            return false;
    return true;
}

uint32_t vhdx_utf8_to_utf16(uint8_t *p, const char *s)
{
    uint32_t n = 0;
    while (*s) {
        int32_t c = next_utf8(&s);
        if (c < 0) {
            c = 0xfffd;                 /* callers check first: never reached from create */
            s++;
        }
        if (c >= 0x10000) {
            put_le16(p + n, (uint16_t)(0xd800 + ((c - 0x10000) >> 10)));
            put_le16(p + n + 2, (uint16_t)(0xdc00 + ((c - 0x10000) & 0x3ff)));
            n += 4;
        } else {
            put_le16(p + n, (uint16_t)c);
            n += 2;
        }
    }
    return n;
}

bool vhdx_utf16_is(const uint8_t *p, uint32_t bytes, const char *ascii)
{
    uint32_t n = 0;
    for (; ascii[n]; n++)
        if (2 * n + 2 > bytes || le16(p + 2 * n) != (uint8_t)ascii[n])
            return false;
    return bytes == 2 * n;
}
