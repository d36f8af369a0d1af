/* Arbitrary exit records (a guest chooses every register and most of the qualification)
 * into exit_decide, over a fake partition whose answers come from the input too, and
 * arbitrary controller states into event_next.  ASan/UBSan watch; every outcome must be
 * one the backend can carry out. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv/core/exit/exit.h"
#include "hv/core/exit/exit_event.h"

static const uint8_t *in;
static size_t left;

static uint64_t take(unsigned bytes)
{
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes && left; i++, left--)
        v |= (uint64_t)*in++ << (8 * i);
    return v;
}

static void cpuid(void *ctx, uint32_t leaf, uint32_t subleaf, struct cpuid_result *out)
{
    (void)ctx; (void)leaf; (void)subleaf;
    *out = (struct cpuid_result){ (uint32_t)take(4), (uint32_t)take(4), (uint32_t)take(4),
                                  (uint32_t)take(4) };
}

static bool msr_read(void *ctx, uint32_t msr, uint64_t *value)
{
    (void)ctx; (void)msr;
    *value = take(8);
    return take(1) & 1;
}

static bool msr_write(void *ctx, uint32_t msr, uint64_t value)
{
    (void)ctx; (void)msr; (void)value;
    return take(1) & 1;
}

static void io(void *ctx, uint16_t port, unsigned size, bool write, uint32_t *value)
{
    (void)ctx; (void)port;
    if (size != 1 && size != 2 && size != 4)
        abort();                                /* the devices see only real sizes */
    if (!write)
        *value = (uint32_t)take(4);
}

static void set_tpr(void *ctx, uint64_t cr8) { (void)ctx; if (cr8 > 15) abort(); }
static uint64_t get_tpr(void *ctx) { (void)ctx; return take(1) & 15; }
static bool flag(void *ctx) { (void)ctx; return take(1) & 1; }
static bool gpa_flag(void *ctx, uint64_t gpa) { (void)ctx; (void)gpa; return take(1) & 1; }

static int64_t hypercall(void *ctx, uint64_t nr, const uint64_t arg[HYPERCALL_ARGS])
{
    (void)ctx; (void)nr; (void)arg;
    return (int64_t)take(8);
}

static const struct exit_env env = {
    .cpuid = cpuid, .msr_read = msr_read, .msr_write = msr_write, .io = io,
    .set_tpr = set_tpr, .get_tpr = get_tpr, .interrupt_pending = flag, .nmi_pending = flag,
    .in_ram = gpa_flag, .write_fault = gpa_flag, .hypercall = hypercall,
};

static void check_effects(const struct exit_info *e, const struct exit_effects *fx)
{
    if (fx->verdict > VERDICT_UNHANDLED || fx->count >= EXIT_KIND_COUNT)
        abort();
    if (fx->exception.valid && (fx->complete || fx->exception.vector >= 32))
        abort();
    if (fx->verdict == VERDICT_STOP && !fx->kill_line[0])
        abort();
    if (fx->verdict == VERDICT_HALT && e->kind != EXIT_IS_HLT)
        abort();
    if ((fx->verdict == VERDICT_EMULATE || fx->verdict == VERDICT_UNHANDLED) &&
        (fx->complete || fx->exception.valid || fx->gpr_written || fx->ctl_written || fx->xcr0_written))
        abort();                                /* the backend applies nothing then */
    if (fx->ctl_written & ~(GUEST_CTL_CR0 | GUEST_CTL_CR4 | GUEST_CTL_EFER))
        abort();
    if ((fx->ctl_written & GUEST_CTL_CR0) && ((fx->ctl.cr0 >> 32) ||
        ((fx->ctl.cr0 & CR0_PG) && !(fx->ctl.cr0 & CR0_PE))))
        abort();
    if ((fx->ctl_written & GUEST_CTL_EFER) && e->kind == EXIT_IS_MSR_WRITE &&
        (fx->ctl.efer & ~(EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE)))
        abort();                                /* WRMSR sets only SCE, LME, NXE */
    if ((fx->ctl_written & GUEST_CTL_EFER) && e->kind == EXIT_IS_CR &&
        ((fx->ctl.efer ^ e->cr.now.efer) & ~EFER_LMA))
        abort();                                /* a CR write moves only EFER.LMA */
    if ((fx->ctl.efer & EFER_LMA) && fx->ctl_written &&
        (!(fx->ctl.efer & EFER_LME) || !(fx->ctl.cr4 & CR4_PAE)) && e->kind == EXIT_IS_CR &&
        (e->cr.now.efer & EFER_LMA) == 0)
        abort();                                /* long mode entered without LME or PAE */
    if (fx->xcr0_written && !(fx->xcr0 & 1))
        abort();                                /* x87 stays set */
    /* VM entry takes an error code only in protected mode, only for #DF, #TS, #NP, #SS,
     * #GP, #PF and #AC (SDM Vol. 3, "Checks on VM-Entry Control Fields"). */
    if (fx->exception.valid && fx->exception.has_error &&
        (e->real_mode || !((1u << fx->exception.vector) & 0x27d00u)))
        abort();
    if (fx->verdict == VERDICT_EMULATE && fx->emulate.string_io &&
        (e->kind != EXIT_IS_IO || (fx->emulate.io_size != 1 && fx->emulate.io_size != 2 &&
                                   fx->emulate.io_size != 4)))
        abort();
}

static void one_exit(void)
{
    struct exit_info e;
    memset(&e, 0, sizeof(e));
    e.kind = (enum exit_info_kind)(take(1) % (EXIT_IS_KIND_COUNT + 1));
    e.vcpu = (unsigned)take(1);
    e.rip = take(8);
    e.instr_len = (uint32_t)take(1);
    e.raw = take(8);
    e.event_queued = take(1) & 1;
    e.real_mode = take(1) & 1;
    uint8_t bits = (uint8_t)take(1);
    switch (e.kind) {
    case EXIT_IS_CPUID: e.cpuid.leaf = (uint32_t)take(4); e.cpuid.subleaf = (uint32_t)take(4); break;
    case EXIT_IS_MSR_READ:
    case EXIT_IS_MSR_WRITE:
        e.msr.index = (bits & 1) ? 0xc0000080u : (uint32_t)take(4);
        e.msr.value = take(8);
        e.msr.efer = take(8);
        e.msr.cr0 = take(8);
        break;
    case EXIT_IS_CR:
        e.cr.number = bits & 15;
        e.cr.access = (enum cr_access)((bits >> 4) & 3);
        e.cr.gpr = (unsigned)take(1);
        e.cr.value = take(8);
        e.cr.now = (struct guest_ctl){ take(8), take(8), take(8) };
        e.cr.cr4_offered = take(8);
        e.cr.cs_long = bits & 0x40;
        e.cr.cr3 = (bits & 0x80) ? take(2) : 0;
        break;
    case EXIT_IS_XSETBV:
        e.xsetbv.xcr = (uint32_t)take(4);
        e.xsetbv.value = take(8);
        e.xsetbv.cpl = bits & 3;
        e.xsetbv.osxsave = bits & 4;
        e.xsetbv.offered = take(8);
        break;
    case EXIT_IS_HLT: e.hlt.irqs_enabled = bits & 1; e.hlt.single_step = bits & 2; break;
    case EXIT_IS_IO:
        e.io.port = (uint16_t)take(2);
        e.io.size = (uint8_t)take(1);
        e.io.in = bits & 1;
        e.io.string = bits & 2;
        e.io.rep = bits & 4;
        e.io.addr_size = (uint8_t)take(1);
        e.io.rax = take(8);
        e.io.rcx = take(8);
        break;
    case EXIT_IS_TABLES_BROKEN:
    case EXIT_IS_MMIO:
        e.mmio.gpa = take(8);
        e.mmio.write = bits & 1;
        e.mmio.fetch = bits & 2;
        e.mmio.table = bits & 4;
        break;
    case EXIT_IS_VMCALL:
        e.vmcall.nr = take(8);
        for (unsigned i = 0; i < HYPERCALL_ARGS; i++)
            e.vmcall.arg[i] = take(8);
        break;
    case EXIT_IS_EXCEPTION:
        e.exception.vector = (uint8_t)take(1);
        e.exception.has_error = bits & 1;
        e.exception.error = (uint32_t)take(4);
        break;
    case EXIT_IS_INSTRUCTION:
        e.instruction.which = (enum exit_instruction)(take(1) % (INSTR_COUNT + 1));
        break;
    case EXIT_IS_SHUTDOWN:
    case EXIT_IS_INIT:
    case EXIT_IS_SIPI:
    case EXIT_IS_KIND_COUNT: break;
    }
    struct exit_effects fx;
    exit_decide(&env, &e, &fx);
    check_effects(&e, &fx);
}

static unsigned nmis, acked_left;
static int vector;

static void nmi_unblocked(void *ctx) { (void)ctx; }
static bool nmi_pending(void *ctx) { (void)ctx; return nmis > 0; }
static bool take_nmi(void *ctx) { (void)ctx; if (!nmis || (take(1) & 1)) return false; nmis--; return true; }
static int pending_vector(void *ctx) { (void)ctx; return vector; }

static void ack(void *ctx, uint8_t v)
{
    (void)ctx;
    if (vector < 0 || v != vector || !acked_left)
        abort();                                /* only what pending_vector returned, once */
    acked_left--;
    vector = (take(1) & 1) ? (int)(take(1) & 0xff) : -1;
}

static void one_event(void)
{
    uint8_t bits = (uint8_t)take(1);
    nmis = bits & 3;
    vector = (bits & 4) ? (int)(take(1) & 0xff) : -1;
    acked_left = 1;
    struct event_windows w = { bits & 8, bits & 16, bits & 32 };
    const struct event_source s = { .nmi_unblocked = nmi_unblocked, .nmi_pending = nmi_pending,
                                    .take_nmi = take_nmi, .pending_vector = pending_vector,
                                    .ack = ack };
    int before = vector;
    struct pending_event ev;
    bool any = event_next(&s, &w, &ev);
    if (any != (ev.kind != PENDING_NONE))
        abort();
    if (ev.kind == PENDING_NMI && (!w.nmi_open || ev.vector != 2))
        abort();
    if (ev.kind == PENDING_EXTINT && (!w.irq_open || ev.vector != before || acked_left))
        abort();
    if (ev.kind != PENDING_EXTINT && !acked_left)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    in = data;
    left = size;
    while (left) {
        if (take(1) & 1)
            one_event();
        else
            one_exit();
    }
    return 0;
}
