/*
 * TEMPORARY, until the parts land (vcpucap, asyncdisk): weak stand-ins that make
 * a checkpoint refuse its capture (the partition resumes unharmed), so pause, resume and
 * the verb can run before then.  Each is replaced by the real one when it links.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hv/core/checkpoint_pending.h"
#include "hv/core/partition.h"
#include "hv/core/virt.h"

__attribute__((weak)) bool virt_vcpu_save(struct vcpu *v, struct vcpu_state *s)
{
    return false;
}

__attribute__((weak)) bool virt_vcpu_restore(struct vcpu *v, const struct vcpu_state *s,
                                             char *err, unsigned err_size)
{
    return false;
}

__attribute__((weak)) void partition_disks_quiesce(struct partition *p) { }
__attribute__((weak)) void partition_disks_resume(struct partition *p) { }
