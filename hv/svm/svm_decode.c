/* The instruction at the guest's CS:RIP: its bytes, and its length where the CPU does not
 * report the next RIP (no NRIPS, as under QEMU's TCG), decoded with Zydis in the mode the
 * guest runs in. */
#include <Zydis/Zydis.h>
#include "hv/core/exit/mmio.h"
#include "hv/core/guest_walk.h"
#include "hv/core/partition.h"
#include "hv/svm/svm.h"

#define RFLAGS_VM (1ull << 17)
#define EFER_LMA (1ull << 10)
#define ATTRIB_L (1u << 9)
#define ATTRIB_D (1u << 10)

static enum mmio_cpu_mode mode_of(const struct vmcb_save *s)
{
    return mmio_cpu_mode_of(s->cr0 & 1, s->efer & EFER_LMA, s->rflags & RFLAGS_VM,
                            s->cs.attrib & ATTRIB_L, s->cs.attrib & ATTRIB_D);
}

unsigned svm_fetch_instruction(struct vcpu *v, uint8_t *buf, unsigned len)
{
    const struct vmcb_save *s = &svm_of(v)->vmcb->save;
    struct guest_paging pg;
    svm_get_paging(v, &pg);
    /* Outside 64-bit mode linear addresses wrap at 4 GiB, the instruction's second page too. */
    uint64_t mask = mode_of(s) == MMIO_MODE_LONG64 ? ~0ull : 0xffffffffull;
    uint64_t linear = (s->cs.base + s->rip) & mask;
    /* An instruction may end right before a page that is not mapped. */
    unsigned first = (unsigned)(4096 - (linear & 4095));
    if (first >= len)
        return guest_read_linear(&v->part->mem, &pg, linear, buf, len) ? len : 0;
    if (!guest_read_linear(&v->part->mem, &pg, linear, buf, first))
        return 0;
    return guest_read_linear(&v->part->mem, &pg, (linear + first) & mask, buf + first,
                             len - first) ? len : first;
}

unsigned svm_instruction_length(struct vcpu *v)
{
    struct svm_vcpu *x = svm_of(v);
    if (svm_this_cpu()->caps.nrips && x->vmcb->ctl.next_rip) {
        uint64_t len = x->vmcb->ctl.next_rip - x->vmcb->save.rip;
        if (len && len <= 15)
            return (unsigned)len;
    }
    static const ZydisMachineMode modes[] = {
        [MMIO_MODE_REAL16] = ZYDIS_MACHINE_MODE_REAL_16,
        [MMIO_MODE_PROT16] = ZYDIS_MACHINE_MODE_LEGACY_16,
        [MMIO_MODE_PROT32] = ZYDIS_MACHINE_MODE_LEGACY_32,
        [MMIO_MODE_COMPAT16] = ZYDIS_MACHINE_MODE_LONG_COMPAT_16,
        [MMIO_MODE_COMPAT32] = ZYDIS_MACHINE_MODE_LONG_COMPAT_32,
        [MMIO_MODE_LONG64] = ZYDIS_MACHINE_MODE_LONG_64,
    };
    static const ZydisStackWidth widths[] = {
        [MMIO_MODE_REAL16] = ZYDIS_STACK_WIDTH_16, [MMIO_MODE_PROT16] = ZYDIS_STACK_WIDTH_16,
        [MMIO_MODE_PROT32] = ZYDIS_STACK_WIDTH_32, [MMIO_MODE_COMPAT16] = ZYDIS_STACK_WIDTH_16,
        [MMIO_MODE_COMPAT32] = ZYDIS_STACK_WIDTH_32, [MMIO_MODE_LONG64] = ZYDIS_STACK_WIDTH_64,
    };
    enum mmio_cpu_mode mode = mode_of(&x->vmcb->save);
    uint8_t bytes[ZYDIS_MAX_INSTRUCTION_LENGTH];
    unsigned got = svm_fetch_instruction(v, bytes, sizeof(bytes));
    /* The instructions that exit most, without prefixes: no decoder needed. */
    if (got >= 1 && bytes[0] == 0xf4)                               /* HLT */
        return 1;
    if (got >= 2 && bytes[0] == 0x0f && (bytes[1] == 0xa2 || bytes[1] == 0x30 ||
                                         bytes[1] == 0x32))         /* CPUID, WRMSR, RDMSR */
        return 2;
    if (got >= 3 && bytes[0] == 0x0f && bytes[1] == 0x01 &&
        (bytes[2] == 0xd9 || bytes[2] == 0xd1 || bytes[2] == 0xc1)) /* VMMCALL, XSETBV, VMCALL */
        return 3;
    ZydisDecoder dec;
    ZydisDecodedInstruction d;
    if (!got || !ZYAN_SUCCESS(ZydisDecoderInit(&dec, modes[mode], widths[mode])) ||
        !ZYAN_SUCCESS(ZydisDecoderDecodeInstruction(&dec, NULL, bytes, got, &d)))
        return 0;
    return d.length;
}
