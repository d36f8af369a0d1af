/* IN and OUT reach the partition's devices; a string form (INS, OUTS) is emulated. */
#include "hv/core/exit/exit.h"

void exit_io(const struct exit_env *env, const struct exit_info *e, struct exit_effects *fx)
{
    fx->count = EXIT_IO;
    unsigned size = e->io.size;
    if (e->io.string) {
        fx->verdict = VERDICT_EMULATE;
        return;
    }
    if (size != 1 && size != 2 && size != 4) {
        fx->verdict = VERDICT_UNHANDLED;
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
