#include "hv/core/vcpu_state_desc.h"

#include <string.h>
#include "hv/core/vcpu_state_check.h"
#include "hv/lib/format.h"

static const struct state_field segment_fields[] = {
    STATE_U16(struct vcpu_segment, selector, 1), STATE_U32(struct vcpu_segment, limit, 1),
    STATE_U32(struct vcpu_segment, attributes, 1), STATE_U64(struct vcpu_segment, base, 1),
};

static const struct state_field event_fields[] = {
    STATE_BOOL(struct vcpu_event, valid, 1), STATE_U8(struct vcpu_event, vector, 1),
    STATE_U8(struct vcpu_event, type, 1), STATE_BOOL(struct vcpu_event, has_error, 1),
    STATE_U32(struct vcpu_event, error, 1), STATE_U32(struct vcpu_event, instr_len, 1),
};

static const struct state_field vcpu_fields[] = {
    STATE_BYTES(struct vcpu_state, gpr, 1),
    STATE_U64(struct vcpu_state, rip, 1), STATE_U64(struct vcpu_state, rflags, 1),
    STATE_STRUCTS(struct vcpu_state, seg, struct vcpu_segment, segment_fields, 1),
    STATE_U64(struct vcpu_state, gdtr_base, 1), STATE_U64(struct vcpu_state, idtr_base, 1),
    STATE_U32(struct vcpu_state, gdtr_limit, 1), STATE_U32(struct vcpu_state, idtr_limit, 1),
    STATE_U64(struct vcpu_state, cr0, 1), STATE_U64(struct vcpu_state, cr2, 1),
    STATE_U64(struct vcpu_state, cr3, 1), STATE_U64(struct vcpu_state, cr4, 1),
    STATE_BYTES(struct vcpu_state, dr, 1), STATE_U64(struct vcpu_state, dr6, 1),
    STATE_U64(struct vcpu_state, dr7, 1),
    STATE_U64(struct vcpu_state, efer, 1), STATE_U64(struct vcpu_state, pat, 1),
    STATE_U64(struct vcpu_state, debugctl, 1),
    STATE_U64(struct vcpu_state, sysenter_cs, 1), STATE_U64(struct vcpu_state, sysenter_esp, 1),
    STATE_U64(struct vcpu_state, sysenter_eip, 1),
    STATE_U64(struct vcpu_state, star, 1), STATE_U64(struct vcpu_state, lstar, 1),
    STATE_U64(struct vcpu_state, cstar, 1), STATE_U64(struct vcpu_state, fmask, 1),
    STATE_U64(struct vcpu_state, kernel_gs_base, 1), STATE_U64(struct vcpu_state, tsc_aux, 1),
    STATE_U64(struct vcpu_state, tsc_offset, 1),
    STATE_U64(struct vcpu_state, xcr0, 1), STATE_U32(struct vcpu_state, xsave_size, 1),
    STATE_BYTES(struct vcpu_state, xsave, 1),
    STATE_STRUCTS(struct vcpu_state, event, struct vcpu_event, event_fields, 1),
    STATE_U32(struct vcpu_state, interruptibility, 1),
    STATE_U64(struct vcpu_state, pending_debug, 1),
    STATE_U32(struct vcpu_state, run_state, 1),
    STATE_BOOL(struct vcpu_state, halted_irqs_off, 1),
    STATE_BOOL(struct vcpu_state, sipi_pending, 1), STATE_U8(struct vcpu_state, sipi_vector, 1),
    STATE_U64(struct vcpu_state, misc_enable, 2), STATE_U64(struct vcpu_state, spec_ctrl, 2),
    STATE_U64(struct vcpu_state, mtrr_def_type, 2), STATE_BYTES(struct vcpu_state, mtrr_fixed, 2),
    STATE_U64(struct vcpu_state, tsc_adjust, 2), STATE_BYTES(struct vcpu_state, pdpte, 2),
};

/* Version 1 also carried IA32_TSC_DEADLINE, which is the local APIC's; no build wrote
 * it (there was no backend yet), so version 2 is the oldest one loaded. */
const struct state_desc vcpu_state_desc =
    STATE_DESC("vcpu", STATE_ID('V', 'C', 'P', 'U'), 2, 2, vcpu_fields);

bool vcpu_state_save(struct state_writer *w, unsigned index, const struct vcpu_state *s)
{
    return index <= 0xffff && state_save(w, &vcpu_state_desc, (uint16_t)index, s);
}

int vcpu_state_load(const struct state_section *sec, struct vcpu_state *out, char *err,
                    size_t err_size)
{
    memset(out, 0, sizeof(*out));
    if (state_load(sec, &vcpu_state_desc, out, err, err_size))
        return -1;
    const char *bad = vcpu_state_impossible(out);
    if (bad) {
        fmt_snprintf(err, err_size, "state: vcpu %u: impossible %s", sec->instance, bad);
        return -1;
    }
    return 0;
}
