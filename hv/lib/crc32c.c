#include "hv/lib/crc32c.h"

#include <stdbool.h>
#include <string.h>

#define CRC32C_POLY 0x82F63B78u

/* Slicing-by-8 tables, built on first use (idempotent, so a race only repeats work). */
static uint32_t table[8][256];
static volatile bool table_ready;

static void build_table(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ ((c & 1) ? CRC32C_POLY : 0);
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
    table_ready = true;
}

static uint32_t load_le32(const uint8_t *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint32_t crc32c_sw(uint32_t crc, const void *data, size_t len)
{
    const uint8_t *p = data;
    if (!table_ready)
        build_table();
    crc = ~crc;
    while (len >= 8) {
        uint32_t lo = load_le32(p) ^ crc, hi = load_le32(p + 4);
        crc = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^ table[5][(lo >> 16) & 0xff] ^
              table[4][lo >> 24] ^ table[3][hi & 0xff] ^ table[2][(hi >> 8) & 0xff] ^
              table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
        p += 8;
        len -= 8;
    }
    while (len--)
        crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
    return ~crc;
}

#if defined(__x86_64__)
/* SSE4.2's CRC32 instruction computes this very CRC, eight bytes an instruction: under an
 * emulator, where every instruction costs alike, that is about thirty times fewer than the
 * tables take.  It works on general registers, so no SSE state is touched. */
static int insn_state;      /* 0: not asked yet, 1: the CPU has it, -1: it does not */

static bool have_crc32_insn(void)
{
    if (!insn_state) {
        uint32_t eax = 1, ebx, ecx = 0, edx;
        __asm__ volatile("cpuid" : "+a"(eax), "=b"(ebx), "+c"(ecx), "=d"(edx));
        insn_state = (ecx & (1u << 20)) ? 1 : -1;
    }
    return insn_state > 0;
}

static uint32_t crc32c_insn(uint32_t crc, const uint8_t *p, size_t len)
{
    uint64_t c = ~crc;
    for (; len >= 8; p += 8, len -= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        __asm__("crc32q %1, %0" : "+r"(c) : "rm"(v));
    }
    uint32_t c32 = (uint32_t)c;
    for (; len; p++, len--)
        __asm__("crc32b %1, %0" : "+r"(c32) : "rm"(*p));
    return ~c32;
}

uint32_t crc32c(uint32_t crc, const void *data, size_t len)
{
    return have_crc32_insn() ? crc32c_insn(crc, data, len) : crc32c_sw(crc, data, len);
}
#else
uint32_t crc32c(uint32_t crc, const void *data, size_t len)
{
    return crc32c_sw(crc, data, len);
}
#endif
