/* Random guest RAM (its page tables), CR0/CR3/CR4/EFER, CPU limits and a linear address
 * into guest_walk and guest_read_linear; ASan/UBSan watch, and what the walk answers is
 * checked against what the CPU could answer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv/core/guest_walk.h"
#include "tests/unit/guest_mem_flat.h"

#define RAM_SIZE (64u << 10)
#define HEADER   26

static uint8_t ram[RAM_SIZE];

static uint64_t take(const uint8_t **p, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; i++)
        v |= (uint64_t)(*p)[i] << (8 * i);
    *p += bytes;
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < HEADER)
        return 0;
    const uint8_t *p = data;
    unsigned mode = (unsigned)take(&p, 1);
    struct guest_paging pg = {
        .cr0 = (mode & 1) ? 1ull << 31 : 0,
        .cr4 = ((mode & 2) ? 1ull << 4 : 0) | ((mode & 4) ? 1ull << 5 : 0) |
               ((mode & 8) ? 1ull << 12 : 0),
        .efer = ((mode & 16) ? 1ull << 10 : 0) | ((mode & 32) ? 1ull << 11 : 0),
    };
    pg.cr3 = take(&p, 4) & (RAM_SIZE * 2 - 1);          /* mostly inside RAM */
    if (mode & 64)
        pg.cr3 |= take(&p, 4) << 32;
    else
        p += 4;
    struct guest_walk_cpu cpu = { .maxphyaddr = 32 + (unsigned)take(&p, 1) % 21,
                                  .pages_1g = mode & 128 };
    uint64_t linear = take(&p, 8);
    size_t len = (size_t)take(&p, 2) % 8200;
    p += HEADER - (size_t)(p - data);
    memset(ram, 0, sizeof(ram));
    size_t body = size - HEADER;
    for (size_t off = 0; body && off < RAM_SIZE; off += body)   /* the input, repeated */
        memcpy(ram + off, p, body < RAM_SIZE - off ? body : RAM_SIZE - off);

    struct guest_mem mem;
    guest_mem_flat_init(&mem, ram, RAM_SIZE);
    uint64_t gpa = 0;
    enum guest_walk_result r = guest_walk(&mem, &pg, &cpu, linear, &gpa);
    if (r == GUEST_WALK_OK && (pg.cr0 >> 31)) {
        if ((pg.cr4 & (1ull << 5)) && gpa >> cpu.maxphyaddr)
            abort();                    /* beyond the physical address width */
        if (!(pg.cr4 & (1ull << 5)) && gpa >> 40)
            abort();                    /* 32-bit paging reaches 40 bits at most */
    }
    bool long_mode = (pg.cr0 >> 31) && (pg.cr4 & (1ull << 5)) && (pg.efer & (1ull << 10));
    unsigned width = (pg.cr4 & (1ull << 12)) ? 57 : 48;
    bool canonical = (uint64_t)((int64_t)(linear << (64 - width)) >> (64 - width)) == linear;
    if (long_mode && !canonical && r != GUEST_WALK_NON_CANONICAL)
        abort();
    /* With access rights: the same walk, refused only for rights; the fault's error code
     * says what the access was and P exactly when an entry was there. */
    struct guest_access a = { .write = mode & 1, .user = (linear >> 5) & 1,
                              .fetch = (linear >> 6) & 1 };
    uint64_t gpa2 = 0;
    enum guest_walk_result r2 = guest_walk_access(&mem, &pg, &cpu, linear, &a, &gpa2);
    if (r2 != r && !(r == GUEST_WALK_OK && r2 == GUEST_WALK_PROTECTION))
        abort();
    if (r2 == GUEST_WALK_OK && gpa2 != gpa)
        abort();
    struct guest_fault f;
    if (guest_walk_fault(r2, &pg, &a, &f) != (r2 != GUEST_WALK_OK))
        abort();
    if (r2 != GUEST_WALK_OK && r2 != GUEST_WALK_NON_CANONICAL &&
        (f.vector != 14 || ((f.error >> 1) & 1) != a.write || ((f.error >> 2) & 1) != a.user ||
         (f.error & 1) != (r2 != GUEST_WALK_NOT_PRESENT) || (f.error & ~0x1fu) ||
         (((f.error >> 4) & 1) && !a.fetch)))
        abort();
    static uint8_t buf[8200];
    guest_read_linear(&mem, &pg, linear, buf, len);
    return 0;
}
