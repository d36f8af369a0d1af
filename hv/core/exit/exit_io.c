/* IN and OUT reach the partition's devices; a string form (INS, OUTS) is emulated, and a
 * REP one whose count is zero under its address size completes without an access. */
#include "hv/core/exit/exit.h"

static bool io_size_valid(unsigned size) { return size == 1 || size == 2 || size == 4; }

static void string_io(const struct exit_info *e, struct exit_effects *fx)
{
    uint8_t as = e->io.addr_size;
    if (as != 0 && as != 2 && as != 4 && as != 8) {
        fx->verdict = VERDICT_UNHANDLED;
        return;
    }
    if (e->io.rep && as) {
        uint64_t mask = as == 8 ? ~0ull : (1ull << (as * 8)) - 1;
        if (!(e->io.rcx & mask)) {
            fx->complete = true;
            return;
        }
    }
    fx->verdict = VERDICT_EMULATE;
    fx->emulate = (struct mmio_exit){ .string_io = true, .io_in = e->io.in, .io_size = e->io.size };
}

void exit_io(const struct exit_env *env, const struct exit_info *e, struct exit_effects *fx)
{
    fx->count = EXIT_IO;
    unsigned size = e->io.size;
    if (!io_size_valid(size)) {
        fx->verdict = VERDICT_UNHANDLED;
        return;
    }
    if (e->io.string) {
        string_io(e, fx);
        return;
    }
    uint32_t value = e->io.in ? 0 : (uint32_t)e->io.rax;
    env->io(env->ctx, e->io.port, size, !e->io.in, &value);
    if (e->io.in) {
        /* IN EAX zero-extends into RAX; IN AL and AX keep the rest. */
        uint64_t mask = size == 4 ? 0xffffffffull : (1ull << (size * 8)) - 1;
        exit_set_gpr(fx, RAX, size == 4 ? value : (e->io.rax & ~mask) | (value & mask));
    }
    fx->complete = true;
}
