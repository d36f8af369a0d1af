/* mmio_emulate on hostile instruction bytes, registers and modes: whatever the guest placed
 * at RIP, the emulator decodes at most one instruction, touches memory only through its ops,
 * runs at most MMIO_REP_BUDGET iterations, reports a length within the x86 limit, and says
 * why when it refuses. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv/core/exit/mmio.h"

struct input {
    const uint8_t *code;
    size_t code_len;
    unsigned accesses;
};

static size_t fetch(void *ctx, uint64_t linear, uint8_t *buf, size_t len)
{
    struct input *in = ctx;
    size_t n = len < in->code_len ? len : in->code_len;
    memcpy(buf, in->code, n);
    return n;
}

static enum mmio_access_result access(void *ctx, uint64_t addr, unsigned size, bool write,
                                      uint64_t *value)
{
    struct input *in = ctx;
    if (size != 1 && size != 2 && size != 4 && size != 8)
        abort();
    in->accesses++;
    if ((addr >> 12) % 7 == 3)
        return MMIO_ACCESS_UNMAPPED;
    if (!write)
        *value = addr * 0x9e3779b97f4a7c15ull;
    return MMIO_ACCESS_OK;
}

static enum mmio_access_result probe(void *ctx, uint64_t addr, unsigned size, bool write)
{
    (void)ctx; (void)write;
    if (size == 0 || size > 8 || (addr & 0xfff) + size > 4096)
        abort();                        /* one page a call, never empty */
    return (addr >> 12) % 7 == 3 ? MMIO_ACCESS_UNMAPPED : MMIO_ACCESS_OK;
}

static void io(void *ctx, uint16_t port, unsigned size, bool write, uint32_t *value)
{
    struct input *in = ctx;
    if (size != 1 && size != 2 && size != 4)
        abort();
    in->accesses++;
    if (!write)
        *value = port;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct mmio_cpu c;
    size_t head = sizeof(c.gpr) + 2;
    if (size < head)
        return 0;
    memset(&c, 0, sizeof(c));
    memcpy(c.gpr, data, sizeof(c.gpr));
    c.mode = (enum mmio_cpu_mode)(data[sizeof(c.gpr)] % 6);
    c.rflags = ((uint64_t)data[sizeof(c.gpr) + 1] << 8) & 0x0d00;     /* TF, DF, OF */
    c.rip = 0x1000;
    struct input in = { .code = data + head, .code_len = size - head };
    const struct mmio_ops ops = { .ctx = &in, .fetch = fetch, .linear = access, .phys = access, .io = io,
                                  .probe = probe };
    struct mmio_exit e = { .string_io = data[sizeof(c.gpr) + 1] & 1, .gpa = c.gpr[0] };
    struct mmio_outcome out;
    enum mmio_result r = mmio_emulate(&c, &ops, &e, &out);
    if (out.length > 15 || in.accesses > 2 * MMIO_REP_BUDGET + 2)
        abort();
    if (r == MMIO_DONE && out.length == 0)
        abort();
    if (r == MMIO_UNSUPPORTED && !out.refused)
        abort();                        /* the partition's end always says why */
    return 0;
}
