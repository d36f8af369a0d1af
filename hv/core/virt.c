/*
 * hv/core/virt.h, forwarded to the backend this machine has: AMD SVM where the boot CPU
 * offers SVM and not VMX, VT-x otherwise (whose report also names a machine with
 * neither).  Chosen once, at the first probe, before any other virt_* call.
 */
#include "hv/arch/x86/cpu.h"
#include "hv/core/vcpu_state_roundtrip.h"
#include "hv/core/virt_backend.h"

#define CPUID_1_ECX_VMX        (1u << 5)
#define CPUID_80000001_ECX_SVM (1u << 2)

static const struct virt_backend *backend = &virt_backend_vtx;

static const struct virt_backend *choose(void)
{
    bool vmx = cpuid(1, 0).ecx & CPUID_1_ECX_VMX;
    bool svm = cpuid(0x80000000u, 0).eax >= 0x80000001u &&
               (cpuid(0x80000001u, 0).ecx & CPUID_80000001_ECX_SVM);
    return svm && !vmx ? &virt_backend_svm : &virt_backend_vtx;
}

bool virt_cpu_probe(unsigned cpu)
{
    if (cpu == 0)
        backend = choose();
    return backend->cpu_probe(cpu);
}

bool virt_report(unsigned count) { return backend->report(count); }
bool virt_cpu_enable(void) { return backend->cpu_enable(); }
bool virt_partition_init(struct partition *p) { return backend->partition_init(p); }
void virt_partition_destroy(struct partition *p) { backend->partition_destroy(p); }
bool virt_vcpu_init(struct vcpu *v, const struct vcpu_start *start) { return backend->vcpu_init(v, start); }
void virt_vcpu_destroy(struct vcpu *v)
{
    backend->vcpu_destroy(v);
    vcpu_state_roundtrip_end(v);
}
void virt_vcpu_sipi(struct vcpu *v, uint8_t vector) { backend->vcpu_sipi(v, vector); }
enum run_result virt_vcpu_run(struct vcpu *v, uint64_t slice_ns) { return backend->vcpu_run(v, slice_ns); }
void virt_get_paging(struct vcpu *v, struct guest_paging *pg) { backend->get_paging(v, pg); }

bool virt_map_foreign(struct partition *p, uint64_t gpa, uint64_t hpa, bool writable,
                      enum virt_memtype type)
{
    return backend->map_foreign(p, gpa, hpa, writable, type);
}

void virt_unmap_foreign(struct partition *p, uint64_t gpa) { backend->unmap_foreign(p, gpa); }

bool virt_set_ram_writable(struct partition *p, uint64_t gpa, uint64_t len, bool writable)
{
    return backend->set_ram_writable(p, gpa, len, writable);
}

bool virt_set_ram_present(struct partition *p, uint64_t gpa, uint64_t len, bool present)
{
    return backend->set_ram_present(p, gpa, len, present);
}

bool virt_vcpu_save(struct vcpu *v, struct vcpu_state *s) { return backend->vcpu_save(v, s); }

bool virt_vcpu_restore(struct vcpu *v, const struct vcpu_state *s, char *err, unsigned err_size)
{
    return backend->vcpu_restore(v, s, err, err_size);
}

bool virt_vcpu_scrub(struct vcpu *v) { return backend->vcpu_scrub(v); }
void virt_vcpu_kick(struct vcpu *v) { backend->vcpu_kick(v); }
