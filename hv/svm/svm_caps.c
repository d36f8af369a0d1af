/* The capability probe and its report: one line per CPU, one line naming what the first
 * unusable CPU lacks. */
#include "hv/arch/x86/console.h"
#include "hv/arch/x86/cpu.h"
#include "hv/arch/x86/percpu.h"
#include "hv/svm/svm.h"

#define MSR_VM_CR           0xc0010114u
#define VM_CR_SVMDIS        (1ull << 4)
#define CPUID_SVM           (1u << 2)
#define CPUID_LM            (1u << 29)
#define CPUID_NX            (1u << 20)
#define SVM_FEATURE_NPT     (1u << 0)
#define SVM_FEATURE_NRIPS   (1u << 3)
#define SVM_FEATURE_FLUSH_BY_ASID (1u << 6)

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

static struct svm_caps caps[MAX_CPUS];

bool svm_cpu_probe(unsigned cpu)
{
    svm_caps_read(&caps[cpu]);
    return svm_caps_missing(&caps[cpu]) == NULL;
}

static const char *yes_no(bool b) { return b ? "yes" : "no"; }

bool svm_report(unsigned count)
{
    const char *missing = NULL;
    unsigned first = 0;
    for (unsigned i = 0; i < count; i++)
        if (!missing && (missing = svm_caps_missing(&caps[i])))
            first = i;
    for (unsigned i = 0; i < count; i++)
        kprintf("cpu%u: svm npt=%s nrips=%s asid=%u\n", i, yes_no(caps[i].npt),
                yes_no(caps[i].nrips), caps[i].asids);
    if (missing && first)
        kprintf("atoll: SVM here lacks %s (from cpu%u on); partitions disabled\n", missing, first);
    else if (missing)
        kprintf("atoll: SVM here lacks %s; partitions disabled\n", missing);
    return missing == NULL;
}
