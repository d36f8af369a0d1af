#include "hv/core/guest_mem.h"

#include <string.h>
#include "hv/mm/kmem.h"

#define PAGES_PER_CHUNK (GUEST_CHUNK_SIZE / GUEST_PAGE_SIZE)

static bool alloc_split_chunk(struct guest_chunk *c, size_t pages)
{
    c->pages = kmalloc(PAGES_PER_CHUNK * sizeof(uint64_t));
    if (!c->pages)
        return false;
    for (size_t i = 0; i < pages; i++) {
        void *va = kmem_alloc_pages(1);
        if (!va)
            return false;
        c->pages[i] = virt_to_phys(va);
    }
    return true;
}

bool guest_mem_alloc(struct guest_mem *m, uint64_t size)
{
    memset(m, 0, sizeof(*m));
    m->size = size;
    m->chunk_count = (size + GUEST_CHUNK_SIZE - 1) / GUEST_CHUNK_SIZE;
    m->chunks = kmalloc(m->chunk_count * sizeof(struct guest_chunk));
    if (!m->chunks)
        return false;
    for (size_t i = 0; i < m->chunk_count; i++) {
        uint64_t left = size - i * GUEST_CHUNK_SIZE;
        struct guest_chunk *c = &m->chunks[i];
        if (left >= GUEST_CHUNK_SIZE) {
            void *va = kmem_alloc_pages_aligned(PAGES_PER_CHUNK, PAGES_PER_CHUNK, 0);
            if (va) {
                c->hpa = virt_to_phys(va);
                continue;
            }
        }
        size_t pages = left >= GUEST_CHUNK_SIZE ? PAGES_PER_CHUNK : left / GUEST_PAGE_SIZE;
        if (!alloc_split_chunk(c, pages)) {
            guest_mem_free(m);
            return false;
        }
    }
    return true;
}

/* The RAM goes to kmem's scrub queue dirty: a worker item scrubs it (hv/core/mem_scrub.h). */
void guest_mem_free(struct guest_mem *m)
{
    for (size_t i = 0; m->chunks && i < m->chunk_count; i++) {
        struct guest_chunk *c = &m->chunks[i];
        if (c->hpa) {
            kmem_free_pages_unscrubbed(phys_to_virt(c->hpa), PAGES_PER_CHUNK);
        } else if (c->pages) {
            for (size_t p = 0; p < PAGES_PER_CHUNK; p++)
                if (c->pages[p])
                    kmem_free_pages_unscrubbed(phys_to_virt(c->pages[p]), 1);
            kfree(c->pages);
        }
    }
    kfree(m->chunks);
    memset(m, 0, sizeof(*m));
}

static void need(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
    struct guest_mem_lazy *lazy = m->lazy;
    if (lazy && gpa < m->size)
        m->need(lazy, gpa, len < m->size - gpa ? len : m->size - gpa);
}

static uint64_t hpa_of(const struct guest_mem *m, uint64_t gpa)
{
    if (gpa >= m->size)
        return 0;
    const struct guest_chunk *c = &m->chunks[gpa / GUEST_CHUNK_SIZE];
    uint64_t off = gpa % GUEST_CHUNK_SIZE;
    if (c->hpa)
        return c->hpa + (off & ~(GUEST_PAGE_SIZE - 1));
    return c->pages ? c->pages[off / GUEST_PAGE_SIZE] : 0;
}

static void *ptr_of(const struct guest_mem *m, uint64_t gpa)
{
    uint64_t hpa = hpa_of(m, gpa);
    return hpa ? (uint8_t *)phys_to_virt(hpa) + (gpa & (GUEST_PAGE_SIZE - 1)) : NULL;
}

/* Whoever asks for a frame may read or write it, or hand it to another partition: the
 * page must be there. */
uint64_t guest_mem_hpa(const struct guest_mem *m, uint64_t gpa)
{
    need(m, gpa & ~(GUEST_PAGE_SIZE - 1), GUEST_PAGE_SIZE);
    return hpa_of(m, gpa);
}

void *guest_mem_ptr(const struct guest_mem *m, uint64_t gpa)
{
    need(m, gpa & ~(GUEST_PAGE_SIZE - 1), GUEST_PAGE_SIZE);
    return ptr_of(m, gpa);
}

bool guest_mem_contains(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
    return gpa < m->size && len <= m->size - gpa;
}

bool guest_mem_read(const struct guest_mem *m, uint64_t gpa, void *buf, size_t len)
{
    if (!guest_mem_contains(m, gpa, len))
        return false;
    need(m, gpa, len);
    uint8_t *out = buf;
    while (len) {
        size_t n = GUEST_PAGE_SIZE - (gpa & (GUEST_PAGE_SIZE - 1));
        if (n > len)
            n = len;
        memcpy(out, ptr_of(m, gpa), n);
        out += n, gpa += n, len -= n;
    }
    return true;
}

bool guest_mem_fill(const struct guest_mem *m, uint64_t gpa, const void *buf, size_t len)
{
    if (!guest_mem_contains(m, gpa, len))
        return false;
    const uint8_t *in = buf;
    while (len) {
        size_t n = GUEST_PAGE_SIZE - (gpa & (GUEST_PAGE_SIZE - 1));
        if (n > len)
            n = len;
        if (in)
            memcpy(ptr_of(m, gpa), in, n), in += n;
        else
            memset(ptr_of(m, gpa), 0, n);
        gpa += n, len -= n;
    }
    return true;
}

bool guest_mem_write(const struct guest_mem *m, uint64_t gpa, const void *buf, size_t len)
{
    if (!guest_mem_contains(m, gpa, len))
        return false;
    need(m, gpa, len);      /* a partial write must not be overwritten by the load after */
    return guest_mem_fill(m, gpa, buf, len);
}
