#include "hv/svm/svm_caps.h"

#include <stddef.h>

#ifdef ATOLL_KERNEL
#include "hv/arch/x86/cpu.h"
#endif

#define MSR_VM_CR           0xc0010114u
#define VM_CR_SVMDIS        (1ull << 4)
#define CPUID_SVM           (1u << 2)
#define CPUID_LM            (1u << 29)
#define CPUID_NX            (1u << 20)
#define SVM_FEATURE_NPT     (1u << 0)
#define SVM_FEATURE_NRIPS   (1u << 3)
#define SVM_FEATURE_FLUSH_BY_ASID (1u << 6)

#ifdef ATOLL_KERNEL
void svm_caps_read(struct svm_caps *c)
{
    *c = (struct svm_caps){ 0 };
    if (cpuid(0x80000000u, 0).eax < 0x8000000au)
        return;
    struct cpuid_regs ext = cpuid(0x80000001u, 0);
    c->svm = ext.ecx & CPUID_SVM;
    c->long_mode = ext.edx & CPUID_LM;
    c->nx = ext.edx & CPUID_NX;
    if (!c->svm)
        return;
    c->disabled = rdmsr(MSR_VM_CR) & VM_CR_SVMDIS;
    struct cpuid_regs f = cpuid(0x8000000au, 0);
    c->npt = f.edx & SVM_FEATURE_NPT;
    c->nrips = f.edx & SVM_FEATURE_NRIPS;
    c->flush_by_asid = f.edx & SVM_FEATURE_FLUSH_BY_ASID;
    c->asids = f.ebx;
}
#endif

const char *svm_caps_missing(const struct svm_caps *c)
{
    if (!c->svm)
        return "SVM";
    if (c->disabled)
        return "SVM enabled by the firmware (VM_CR.SVMDIS is set)";
    if (!c->npt)
        return "nested paging (NPT)";
    if (c->asids < 2)
        return "a guest ASID";
    if (!c->long_mode)
        return "long mode";
    return NULL;
}
