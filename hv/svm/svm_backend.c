/* The AMD SVM backend as hv/core/virt.c reaches it. */
#include "hv/core/virt_backend.h"
#include "hv/svm/svm.h"

const struct virt_backend virt_backend_svm = {
    .cpu_probe = svm_cpu_probe, .report = svm_report, .cpu_enable = svm_cpu_enable,
    .partition_init = svm_partition_init, .partition_destroy = svm_partition_destroy,
    .vcpu_init = svm_vcpu_init, .vcpu_destroy = svm_vcpu_destroy, .vcpu_sipi = svm_vcpu_sipi,
    .vcpu_run = svm_vcpu_run, .get_paging = svm_get_paging, .map_foreign = svm_map_foreign,
    .unmap_foreign = svm_unmap_foreign, .set_ram_writable = svm_set_ram_writable,
    .set_ram_present = svm_set_ram_present, 
    .vcpu_save = svm_vcpu_save, .vcpu_restore = svm_vcpu_restore, .vcpu_scrub = svm_vcpu_scrub,
    .vcpu_kick = svm_vcpu_kick,
};
