/* Guest bytes (what a guest leaves at RIP after an SVM intercept) into svm_insn_decode and
 * svm_cr_decode in every mode; ASan/UBSan watch, and what they answer is checked against
 * what an instruction can be. */
#include <stdint.h>
#include <stdlib.h>

#include "hv/svm/svm_insn.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    enum mmio_cpu_mode mode = (enum mmio_cpu_mode)(data[0] % (MMIO_MODE_LONG64 + 1));
    enum svm_insn want = (enum svm_insn)(data[1] % (SVM_INSN_COUNT + 1));
    const uint8_t *b = data + 2;
    unsigned got = size - 2 > 20 ? 20 : (unsigned)(size - 2);
    unsigned length = 0;
    enum svm_decoded r = svm_insn_decode(mode, b, got, want, &length);
    if (r == SVM_DECODED && (!length || length > SVM_INSN_MAX || length > got))
        abort();
    if (r == SVM_DECODE_SHORT && got >= SVM_INSN_MAX)
        abort();
    struct svm_cr_insn d;
    r = svm_cr_decode(mode, b, got, &d);
    if (r == SVM_DECODED) {
        if (!d.memory && (!d.length || d.length > SVM_INSN_MAX || d.length > got))
            abort();
        if (d.cr > 15 || d.gpr > 15)
            abort();
        for (unsigned cr = 0; cr < 16; cr++)
            if (svm_cr_agrees(&d, cr, true) && svm_cr_agrees(&d, cr, false))
                abort();
        struct svm_mem_operand m;
        if (d.memory && d.form == SVM_CR_LMSW && svm_lmsw_operand(mode, b, got, &m)) {
            if (!m.length || m.length > SVM_INSN_MAX || m.length > got || m.base > SVM_BASE_RIP ||
                m.index > 15 || (unsigned)m.seg > MMIO_SEG_GS)
                abort();
            uint64_t gpr[16] = { 0 }, seg[6] = { 0 };
            uint64_t linear = svm_mem_linear(&m, mode, gpr, ~0ull, seg);
            if (mode != MMIO_MODE_LONG64 && linear >> 32)
                abort();
        }
    }
    if (r == SVM_DECODE_SHORT && got >= SVM_INSN_MAX)
        abort();
    return 0;
}
