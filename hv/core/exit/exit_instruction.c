/* Instructions that always exit: those the partition does not have raise #UD (VMX and SVM
 * instructions, GETSEC, MONITOR and MWAIT, as CPUID does not offer them) or #GP (RDPMC:
 * no counters), and cache flushes do nothing (the caches are the host's). */
#include "hv/core/exit/exit.h"

void exit_instruction(const struct exit_env *env, const struct exit_info *e, struct exit_effects *fx)
{
    (void)env;
    switch (e->instruction.which) {
    case INSTR_VIRTUALIZATION:
    case INSTR_GETSEC:
    case INSTR_MONITOR:
    case INSTR_MWAIT:
        fx->count = EXIT_EXCEPTION;
        exit_raise(fx, VECTOR_UD, false, 0);
        return;
    case INSTR_RDPMC:
        fx->count = EXIT_EXCEPTION;
        exit_raise(fx, VECTOR_GP, true, 0);
        return;
    case INSTR_INVD:
    case INSTR_WBINVD:
        fx->count = EXIT_OTHER;
        fx->complete = true;
        return;
    case INSTR_COUNT:
        break;
    }
    fx->count = EXIT_OTHER;
    fx->verdict = VERDICT_UNHANDLED;
}
