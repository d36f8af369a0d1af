#include "guest/lib/exceptions.h"

#include "guest/lib/console.h"
#include "guest/lib/descriptors.h"
#include "guest/lib/layout.h"
#include "guest/lib/report.h"
#include "guest/lib/safe.h"
#include "guest/lib/x86.h"

struct exc_fixup {
    uint64_t insn, resume;
};

extern const char isr_stubs_start[];
extern const struct exc_fixup __ex_table_start[], __ex_table_end[];

static struct idt_gate idt[256] __attribute__((aligned(16)));
static irq_handler_fn irq_handlers[256];

static const char *const names[32] = {
    "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM", "#DF", "CSO", "#TS", "#NP",
    "#SS", "#GP", "#PF", "15",  "#MF", "#AC", "#MC", "#XM", "#VE", "#CP",
};

const char *exception_name(unsigned vector)
{
    if (vector < 32 && names[vector])
        return names[vector];
    return "interrupt";
}

void idt_init(void)
{
    for (unsigned v = 0; v < 256; v++) {
        uint64_t a = (uint64_t)(uintptr_t)(isr_stubs_start + 16 * v);
        idt[v] = idt_interrupt_gate(a, SEL_CODE64, 0);
    }
    idt_load();
}

void idt_load(void)
{
    struct table_ptr p = { sizeof(idt) - 1, (uint64_t)(uintptr_t)idt };
    __asm__ volatile("lidt %0" : : "m"(p));
}

void irq_set_handler(uint8_t vector, irq_handler_fn fn)
{
    irq_handlers[vector] = fn;
}

_Noreturn void triple_fault(void)
{
    struct table_ptr empty = { 0, 0 };
    __asm__ volatile("lidt %0; ud2" : : "m"(empty));
    __builtin_unreachable();
}

static const struct exc_fixup *fixup_find(uint64_t rip)
{
    for (const struct exc_fixup *f = __ex_table_start; f < __ex_table_end; f++)
        if (f->insn == rip)
            return f;
    return 0;
}

static _Noreturn void unexpected(struct irq_frame *f)
{
    uint64_t cr2 = f->vector == VEC_PF ? read_cr2() : 0;
    report_fatal("unexpected %s (vector %lu) at rip=%#lx error=%#lx cr2=%#lx rsp=%#lx",
                 exception_name((unsigned)f->vector), f->vector, f->rip, f->error, cr2, f->rsp);
}

void isr_dispatch(struct irq_frame *f);
void isr_dispatch(struct irq_frame *f)
{
    if (f->vector < 32 && irq_handlers[f->vector]) {
        irq_handlers[f->vector](f);
        return;
    }
    if (f->vector < 32) {
        const struct exc_fixup *fx = fixup_find(f->rip);
        if (!fx)
            unexpected(f);
        f->r11 = f->vector;
        f->rip = fx->resume;
        return;
    }
    if (irq_handlers[f->vector])
        irq_handlers[f->vector](f);
    else
        unexpected(f);
}
