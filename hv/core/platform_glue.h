/*
 * The partition side of the device models: what the VT-x layer calls on an exit (port
 * I/O, interrupts to inject, device timers) and the callbacks devices get
 * (struct vdev_platform).  Every call into the devices holds the partition's lock.
 */
#ifndef ATOLL_HV_CORE_PLATFORM_GLUE_H
#define ATOLL_HV_CORE_PLATFORM_GLUE_H
#include <stdbool.h>
#include <stdint.h>
#include "hv/core/exit/exit_event.h"
#include "hv/core/partition.h"
#include "hv/core/partition_console.h"

bool partition_devices_init(struct partition *p);
void partition_devices_destroy(struct partition *p);

void partition_io(struct vcpu *v, uint16_t port, unsigned size, bool write, uint32_t *value);
bool partition_mmio(struct vcpu *v, uint64_t gpa, unsigned size, bool write, uint64_t *value);
/* 0 when handled, 1 to raise #GP, 2 when the devices do not own this MSR. */
int partition_msr(struct vcpu *v, uint32_t msr, bool write, uint64_t *value);

/* Highest-priority interrupt vector waiting for v, or -1. */
int partition_pending_vector(struct vcpu *v);
/* An NMI waits for v (its LAPIC got one). */
bool partition_nmi_pending(struct vcpu *v);
/* The event v takes at its next entry and the windows to watch (exit_event.h): one look at
 * its interrupt controllers under the partition's lock; an NMI or vector it returns is
 * taken from its controller. */
bool vcpu_next_event(struct vcpu *v, const struct event_windows *w, struct pending_event *out);
/* The external interrupt v was injected last was not delivered (an exit cut its delivery
 * short) and v now waits, for longer than an exit, before it can be: it goes back to its
 * LAPIC, pending, so that it is taken (and a periodic tick counted late) when v is
 * entered again.  False when it was not the LAPIC's (the caller injects it again). */
bool vcpu_untake_interrupt(struct vcpu *v, uint8_t vector);
/* IA32_APIC_BASE.EN of the vCPU's local APIC (CPUID.1:EDX.APIC follows it). */
bool partition_apic_enabled(struct vcpu *v);
void partition_set_tpr(struct vcpu *v, uint64_t cr8);
uint64_t partition_get_tpr(struct vcpu *v);

/* Runs device timers that are due; the earliest deadline still armed (0: none). */
void partition_run_timers(struct partition *p, uint64_t now_ns);
uint64_t partition_next_deadline(struct partition *p);

/* A write hit a page that dirty tracking made read-only: true when handled. */
bool partition_write_fault(struct vcpu *v, uint64_t gpa);

#endif
