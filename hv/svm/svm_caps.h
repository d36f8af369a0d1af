/* What this CPU's SVM offers, read once per CPU from CPUID 0x8000000A and VM_CR. */
#ifndef ATOLL_HV_SVM_SVM_CAPS_H
#define ATOLL_HV_SVM_SVM_CAPS_H
#include <stdbool.h>
#include <stdint.h>

struct svm_caps {
    bool svm;                   /* CPUID.80000001H:ECX.SVM */
    bool disabled;              /* VM_CR.SVMDIS: the firmware turned it off */
    bool npt;                   /* nested paging */
    bool nrips;                 /* the VMCB reports the next RIP on instruction exits */
    bool flush_by_asid;
    bool long_mode, nx;
    uint32_t asids;             /* how many ASIDs (0 is the host's) */
};

void svm_caps_read(struct svm_caps *c);
/* The first thing a partition needs that this CPU lacks, in words for "SVM here lacks
 * ...", or NULL: SVM not disabled by the firmware, nested paging, at least one guest
 * ASID, long mode.  Portable: host-tested on the capability values. */
const char *svm_caps_missing(const struct svm_caps *c);

#endif
