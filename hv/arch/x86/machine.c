#include "hv/arch/x86/machine.h"

#include "hv/arch/x86/cpu.h"
#include "hv/arch/x86/console.h"

static bool test_exit;
static volatile int finishing;

void machine_set_test_exit(bool on) { test_exit = on; }
bool machine_test_exit(void) { return test_exit; }

/* QEMU: isa-debug-exit at 0xf4 exits with (v << 1) | 1.  Bochs: the magic breakpoint
 * (xchg bx,bx with the -rc file "continue/quit") exits 0; "Shutdown" on 0x8900 exits 1. */
static __attribute__((noreturn)) void emulator_exit(bool pass)
{
    outl(0xf4, pass ? 0 : 1);
    if (pass) {
        __asm__ volatile("xchgw %bx, %bx");
    } else {
        const char *s = "Shutdown";
        while (*s)
            outb(0x8900, (uint8_t)*s++);
    }
    cpu_park();
}

void machine_finish(bool pass, const char *reason)
{
    if (__atomic_exchange_n(&finishing, 1, __ATOMIC_ACQ_REL))
        cpu_park();
    if (!test_exit) {
        kprintf_panic("atoll: %s%s%s; halted\n", pass ? "done" : "stopped",
                      reason ? ": " : "", reason ? reason : "");
        cpu_park();
    }
    if (pass)
        kprintf_panic("ATOLL RESULT: PASS\n");
    else
        kprintf_panic("ATOLL RESULT: FAIL %s\n", reason ? reason : "");
    emulator_exit(pass);
}

void machine_fatal(const char *reason)
{
    machine_finish(false, reason);
}
