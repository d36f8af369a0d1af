#include "tests/unit/guest_mem_flat.h"

#include <string.h>

static uint8_t *flat_ram;

void guest_mem_flat_init(struct guest_mem *m, void *ram, uint64_t size)
{
    memset(m, 0, sizeof(*m));
    m->size = size;
    flat_ram = ram;
}

bool guest_mem_contains(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
    return gpa < m->size && len <= m->size - gpa;
}

bool guest_mem_read(const struct guest_mem *m, uint64_t gpa, void *buf, size_t len)
{
    if (!guest_mem_contains(m, gpa, len))
        return false;
    memcpy(buf, flat_ram + gpa, len);
    return true;
}

bool guest_mem_write(const struct guest_mem *m, uint64_t gpa, const void *buf, size_t len)
{
    if (!guest_mem_contains(m, gpa, len))
        return false;
    memcpy(flat_ram + gpa, buf, len);
    return true;
}
