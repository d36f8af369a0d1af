/* The capability probe and its report behind hv/core/virt.h: what each CPU's SVM offers,
 * one line per CPU, and one line naming what the first unusable CPU lacks. */
#include "hv/arch/x86/console.h"
#include "hv/arch/x86/percpu.h"
#include "hv/svm/svm.h"

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
