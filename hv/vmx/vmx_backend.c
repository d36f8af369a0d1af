/* The VT-x backend as hv/core/virt.c reaches it. */
#include "hv/core/virt_backend.h"
#include "hv/vmx/vmx.h"

const struct virt_backend virt_backend_vtx = {
    .cpu_probe = vtx_cpu_probe, .report = vtx_report, .cpu_enable = vtx_cpu_enable,
    .partition_init = vtx_partition_init, .partition_destroy = vtx_partition_destroy,
    .vcpu_init = vtx_vcpu_init, .vcpu_destroy = vtx_vcpu_destroy, .vcpu_sipi = vtx_vcpu_sipi,
    .vcpu_run = vtx_vcpu_run, .get_paging = vtx_get_paging, .map_foreign = vtx_map_foreign,
    .unmap_foreign = vtx_unmap_foreign, .set_ram_writable = vtx_set_ram_writable,
    .set_ram_present = vtx_set_ram_present, 
    .vcpu_save = vtx_vcpu_save, .vcpu_restore = vtx_vcpu_restore, .vcpu_scrub = vtx_vcpu_scrub,
    .vcpu_kick = vtx_vcpu_kick,
};
