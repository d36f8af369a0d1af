#include "hv/arch/x86/exception.h"

#include <stdarg.h>
#include "hv/arch/x86/cpu.h"
#include "hv/arch/x86/percpu.h"
#include "hv/arch/x86/console.h"
#include "hv/arch/x86/machine.h"
#include "hv/lib/format.h"

static const char *const exception_names[32] = {
    "#DE divide error", "#DB debug", "NMI", "#BP breakpoint", "#OF overflow",
    "#BR bound range", "#UD invalid opcode", "#NM device not available",
    "#DF double fault", "coprocessor overrun", "#TS invalid TSS", "#NP segment not present",
    "#SS stack fault", "#GP general protection", "#PF page fault", "reserved 15",
    "#MF x87 error", "#AC alignment check", "#MC machine check", "#XM SIMD error",
    "#VE virtualization", "#CP control protection", "reserved 22", "reserved 23",
    "reserved 24", "reserved 25", "reserved 26", "reserved 27", "#HV injection",
    "#VC VMM communication", "#SX security", "reserved 31",
};

static unsigned current_cpu_index(void)
{
    uint64_t gs = rdmsr(MSR_GS_BASE);
    return gs ? ((struct percpu *)gs)->index : 0;
}

static bool plausible_kernel_address(uint64_t a)
{
    return a >= KERNEL_VIRT_OFFSET && (a & 7) == 0;
}

static void backtrace_from(uint64_t rbp)
{
    kprintf_panic("backtrace:");
    for (int depth = 0; depth < 16 && plausible_kernel_address(rbp); depth++) {
        const uint64_t *frame = (const uint64_t *)rbp;
        kprintf_panic(" %#lx", frame[1]);
        if (frame[0] <= rbp)
            break;
        rbp = frame[0];
    }
    kprintf_panic("\n");
}

struct extable_entry { uint64_t insn, resume; };
extern const struct extable_entry __ex_table_start[], __ex_table_end[];

bool exception_fixup(struct trap_frame *f)
{
    /* NMI, #DF and #MC say nothing about the instruction they interrupted. */
    if (f->vector == 2 || f->vector == 8 || f->vector == 18 || (f->cs & 3))
        return false;
    for (const struct extable_entry *e = __ex_table_start; e < __ex_table_end; e++)
        if (e->insn == f->rip) {
            f->rip = e->resume;
            f->r11 = f->vector;
            return true;
        }
    return false;
}

void exception_fatal(struct trap_frame *f)
{
    unsigned cpu = current_cpu_index();
    kprintf_panic("\natoll: cpu%u: hypervisor exception %lu (%s) error=%#lx\n", cpu,
                  f->vector, f->vector < 32 ? exception_names[f->vector] : "irq", f->error);
    kprintf_panic("  rip=%016lx cs=%04lx rflags=%016lx rsp=%016lx ss=%04lx\n",
                  f->rip, f->cs, f->rflags, f->rsp, f->ss);
    kprintf_panic("  rax=%016lx rbx=%016lx rcx=%016lx rdx=%016lx\n", f->rax, f->rbx, f->rcx, f->rdx);
    kprintf_panic("  rsi=%016lx rdi=%016lx rbp=%016lx r8 =%016lx\n", f->rsi, f->rdi, f->rbp, f->r8);
    kprintf_panic("  r9 =%016lx r10=%016lx r11=%016lx r12=%016lx\n", f->r9, f->r10, f->r11, f->r12);
    kprintf_panic("  r13=%016lx r14=%016lx r15=%016lx\n", f->r13, f->r14, f->r15);
    kprintf_panic("  cr0=%016lx cr2=%016lx cr3=%016lx cr4=%016lx\n",
                  read_cr0(), read_cr2(), read_cr3(), read_cr4());
    kprintf_panic("  ");
    backtrace_from(f->rbp);
    machine_fatal("exception");
}

void exception_unexpected_irq(struct trap_frame *f)
{
    kprintf("atoll: cpu%u: unexpected interrupt vector %lu ignored\n",
            current_cpu_index(), f->vector);
}

void panic(const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    fmt_vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    kprintf_panic("\natoll: cpu%u: panic: %s\n  ", current_cpu_index(), buf);
    backtrace_from((uint64_t)__builtin_frame_address(0));
    machine_fatal("panic");
}
