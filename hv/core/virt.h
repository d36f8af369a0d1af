/*
 * The one interface between the vendor-neutral core and a hardware virtualisation backend
 * (hv/vmx for Intel VT-x, hv/svm for AMD SVM; hv/core/virt_backend.h).
 */
#ifndef ATOLL_HV_CORE_VIRT_H
#define ATOLL_HV_CORE_VIRT_H
#include <stdbool.h>
#include <stdint.h>

struct partition;
struct vcpu;

/* Initial processor state a loader asks for. */
enum vcpu_start_mode {
    START_REAL_MODE,        /* CS:IP = f000:fff0 style reset or cs/ip given */
    START_PROTECTED_32,     /* flat 32-bit, paging off (Multiboot v1) */
    START_LONG_64,          /* 64-bit with the loader's page tables at cr3 */
};

struct vcpu_start {
    enum vcpu_start_mode mode;
    uint64_t rip, rsp, cr3;
    uint16_t cs_selector;   /* real mode: CS selector (base = selector << 4) */
    uint64_t gdt_base;      /* protected/long: the loader's GDT in guest memory */
    uint16_t gdt_limit;
    uint16_t code_sel, data_sel;    /* protected/long: CS and DS/ES/SS/FS/GS; 0: 0x08, 0x10 */
    uint64_t rax, rbx, rsi, rdi;
};

/* Per physical CPU, once, on that CPU: reads what its virtualisation extension offers;
 * true when partitions can run on it. */
bool virt_cpu_probe(unsigned cpu);
/* After every CPU probed: one line per CPU with what it offers, or one line for a machine
 * without the extension, and one line naming what is missing; true when partitions can run. */
bool virt_report(unsigned count);
/* Per physical CPU: enable the extension (VMXON).  Returns false with a line logged. */
bool virt_cpu_enable(void);
bool virt_partition_init(struct partition *p);
void virt_partition_destroy(struct partition *p);
bool virt_vcpu_init(struct vcpu *v, const struct vcpu_start *start);
void virt_vcpu_destroy(struct vcpu *v);
/* Puts an AP into the state SIPI with this vector gives. */
void virt_vcpu_sipi(struct vcpu *v, uint8_t vector);

/* Why virt_vcpu_run returned to the scheduler. */
enum run_result {
    RUN_YIELD,              /* time slice over or a kick: pick again */
    RUN_HALTED,             /* guest executed HLT with nothing pending */
    RUN_STOPPED,            /* partition ended */
};
/* Runs the vCPU on this CPU, handling exits, for up to slice_ns. */
enum run_result virt_vcpu_run(struct vcpu *v, uint64_t slice_ns);

/* The guest's paging and code-segment state, for walking its page tables. */
struct guest_paging {
    uint64_t cr0, cr3, cr4, efer;
    uint64_t cs_base;
    bool cs_long;           /* 64-bit code segment */
    bool cs_32;             /* 32-bit default operand size (D bit) */
    uint8_t cpl;            /* 3: the guest's accesses are user-mode ones */
};
void virt_get_paging(struct vcpu *v, struct guest_paging *pg);

/* How a foreign page is cached: as RAM, or write-combining (a framebuffer: on hardware a
 * device's memory, which write-back would leave in the caches and read speculatively). */
enum virt_memtype { VIRT_MEMTYPE_WB, VIRT_MEMTYPE_WC };
/* Channel pages and the display: another partition's frame, or a device's, mapped into p
 * at gpa (outside its RAM). */
bool virt_map_foreign(struct partition *p, uint64_t gpa, uint64_t hpa, bool writable,
                      enum virt_memtype type);
void virt_unmap_foreign(struct partition *p, uint64_t gpa);
/* Write permission of p's RAM in [gpa, gpa+len) (whole 4 KiB pages), for write tracking:
 * a store to a page made read-only exits to partition_write_fault.  Taking permission
 * away needs virt_flush_partition before it is certain; giving it back does not. */
bool virt_set_ram_writable(struct partition *p, uint64_t gpa, uint64_t len, bool writable);
/* Presence of p's RAM in [gpa, gpa+len) (whole 4 KiB pages), for a lazy restore: an
 * access to a page made absent exits as an EPT violation whose entry has no permissions
 * (snapshot_lazy_fault).  Making pages absent needs virt_flush_partition once p has run. */
bool virt_set_ram_present(struct partition *p, uint64_t gpa, uint64_t len, bool present);
/* Every vCPU of p drops its cached guest-physical translations before it runs again;
 * returns once none can still use a stale one, or with p ended (killed) when a vCPU never
 * came out of guest mode to do so. */
void virt_flush_partition(struct partition *p);      /* vendor-neutral: virt_flush.c */

/* State capture (hv/core/vcpu_state.h).  Save reads everything a guest can observe of v
 * (registers, the allowed MSRs, XSAVE area, TSC offset, the event in flight,
 * interruptibility, NMI blocking, activity state); only while v is paused, that is on no
 * CPU and not runnable until resumed; false for a stopped vCPU.  Restore loads s into a
 * vCPU created by virt_vcpu_init and not yet run; it refuses (false, one line in err) a
 * state the hardware cannot enter or that the partition was not offered (the rules of
 * hv/core/vcpu_state_check.h: CR0/CR4/EFER consistency, CR4 and XCR0 bits, XSAVE image
 * and size, segments, the pending event, MSR values the partition's CPUID view refuses).
 * Both may be called on any CPU with interrupts on, but not from a vCPU's exit handling
 * (a hypercall): the CPU that last ran v is asked (an IPI) to put its guest context and
 * VMCS aside, and the caller's CPU briefly makes v's VMCS its current one.  Neither
 * touches the devices: the LAPIC carries the TSC deadline and pending interrupts and
 * NMIs.  A state saved on one host and restored at another time keeps tsc_offset as it
 * was: moving the guest's TSC on is the caller's decision. */
struct vcpu_state;
bool virt_vcpu_save(struct vcpu *v, struct vcpu_state *s);
bool virt_vcpu_restore(struct vcpu *v, const struct vcpu_state *s, char *err, unsigned err_size);
/* For the debug round trip (vcpu_state_roundtrip.h) only: overwrites everything restore
 * must write with values that fail loudly if it does not (a refused entry, a faulting
 * XRSTOR, a guest that sees garbage); v paused as for save.  False: it could not. */
bool virt_vcpu_scrub(struct vcpu *v);

/* Interrupts for a vCPU are pending (from a device or IPI): make sure it notices. */
void virt_vcpu_kick(struct vcpu *v);

#endif
