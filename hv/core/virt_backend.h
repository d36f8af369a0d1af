/*
 * The hardware virtualisation backends behind hv/core/virt.h, one table each: hv/vmx
 * (Intel VT-x) and hv/svm (AMD SVM).  hv/core/virt.c picks one at boot from what the boot
 * CPU offers and forwards every virt_* call to it; nothing else names a backend.
 */
#ifndef ATOLL_HV_CORE_VIRT_BACKEND_H
#define ATOLL_HV_CORE_VIRT_BACKEND_H
#include "hv/core/virt.h"

struct virt_backend {
    bool (*cpu_probe)(unsigned cpu);
    bool (*report)(unsigned count);
    bool (*cpu_enable)(void);
    bool (*partition_init)(struct partition *p);
    void (*partition_destroy)(struct partition *p);
    bool (*vcpu_init)(struct vcpu *v, const struct vcpu_start *start);
    void (*vcpu_destroy)(struct vcpu *v);
    void (*vcpu_sipi)(struct vcpu *v, uint8_t vector);
    enum run_result (*vcpu_run)(struct vcpu *v, uint64_t slice_ns);
    void (*get_paging)(struct vcpu *v, struct guest_paging *pg);
    bool (*map_foreign)(struct partition *p, uint64_t gpa, uint64_t hpa, bool writable,
                        enum virt_memtype type);
    void (*unmap_foreign)(struct partition *p, uint64_t gpa);
    bool (*set_ram_writable)(struct partition *p, uint64_t gpa, uint64_t len, bool writable);
    bool (*set_ram_present)(struct partition *p, uint64_t gpa, uint64_t len, bool present);
    bool (*vcpu_save)(struct vcpu *v, struct vcpu_state *s);
    bool (*vcpu_restore)(struct vcpu *v, const struct vcpu_state *s, char *err, unsigned err_size);
    bool (*vcpu_scrub)(struct vcpu *v);
    void (*vcpu_kick)(struct vcpu *v);
};

extern const struct virt_backend virt_backend_vtx;     /* hv/vmx */
extern const struct virt_backend virt_backend_svm;     /* hv/svm */

#endif
