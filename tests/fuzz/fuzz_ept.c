/* Random sequences of EPT operations (permission changes, foreign maps and unmaps, with
 * the frame budget running out at random) on a partition's RAM; after each step RAM must
 * still translate to its own frames, nothing may map above 48 bits, and when the EPT is
 * destroyed every table page must be back. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv/mm/kmem.h"
#include "hv/vmx/ept.h"

#define MIB      (1ull << 20)
#define RAM_SIZE (5 * MIB)

static struct guest_chunk chunks[3];
static uint64_t split_pages[512], tail_pages[512];
static struct guest_mem mem = { .size = RAM_SIZE, .chunk_count = 3, .chunks = chunks };

static uint64_t take(const uint8_t **p, const uint8_t *end, unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes && *p < end; i++, (*p)++)
        v |= (uint64_t)**p << (8 * i);
    return v;
}

/* Addresses near the interesting places: RAM, its 2 MiB edges, a window, the 48-bit top. */
static uint64_t pick_gpa(const uint8_t **p, const uint8_t *end)
{
    static const uint64_t bases[] = { 0, 2 * MIB, 4 * MIB, RAM_SIZE, 0x7000000000ull,
                                      (1ull << 48) - 0x10000, 1ull << 48, ~0ull - 0xffff };
    uint64_t base = bases[take(p, end, 1) % 8];
    return base + (take(p, end, 2) << 4) - 0x80000;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data, *end = data + size;
    fake_kmem_reset();
    chunks[0] = (struct guest_chunk){ .hpa = 0x40000000ull };
    chunks[1] = (struct guest_chunk){ .pages = split_pages };
    chunks[2] = (struct guest_chunk){ .pages = tail_pages };
    for (unsigned i = 0; i < 512; i++) {
        split_pages[i] = 0x50000000ull + (uint64_t)i * 0x2000;
        tail_pages[i] = i < 256 ? 0x60000000ull + (uint64_t)i * 4096 : 0;
    }
    struct ept e;
    fake_kmem_set_budget((long)(take(&p, end, 1) % 24) - 1);
    if (!ept_build(&e, &mem, take(&p, end, 1) & 1)) {
        if (fake_kmem_in_use())
            abort();
        return 0;
    }
    for (unsigned step = 0; step < 64 && p < end; step++) {
        unsigned op = (unsigned)take(&p, end, 1);
        uint64_t gpa = pick_gpa(&p, end);
        if ((op & 0xf0) == 0xf0)
            fake_kmem_set_budget((long)(op & 7) - 1);
        switch (op % 3) {
        case 0:
            ept_set_permissions(&e, gpa, take(&p, end, 3), op & 7);
            break;
        case 1:
            ept_map_page(&e, gpa & ~0xfffull, 0x9000000000ull + (gpa & 0xfffff000ull), op & 7,
                         op & 8);
            break;
        default:
            ept_unmap_page(&e, gpa & ~0xfffull);
            break;
        }
        for (uint64_t a = 0; a < RAM_SIZE; a += 4096 * 37)
            if (ept_translate(&e, a) != guest_mem_hpa(&mem, a))
                abort();
        if (ept_translate(&e, gpa | (1ull << 48)) != ~0ull)
            abort();
    }
    ept_destroy(&e);
    if (fake_kmem_in_use())
        abort();
    return 0;
}
