/*
 * Emulated instructions of a vCPU, vendor-neutral: the backend loads the vCPU's registers
 * and mode into struct mmio_cpu, calls vcpu_emulate on an MMIO or string I/O exit, stores
 * the registers back and, on MMIO_DONE, completes the instruction (RIP, blocking, TF).
 * What the instruction's accesses reach: the partition's RAM (through the guest's page
 * tables for string operands), its devices, or nothing, where the manifest's `unassigned`
 * policy applies (all-ones and dropped writes, counted and reported once per range; or
 * the partition's end).
 */
#ifndef ATOLL_HV_CORE_EMULATE_H
#define ATOLL_HV_CORE_EMULATE_H
#include "hv/core/exit/mmio.h"
#include "hv/core/vcpu.h"
#include "hv/core/virt.h"

/* MMIO_DONE, MMIO_AGAIN, MMIO_UNMAPPED (the backend raises out->vector with out->error, a
 * #PF at out->linear or a #GP: the guest's page tables refuse an operand or the
 * instruction's own bytes, as the CPU would); anything else has ended the partition, with
 * one line. */
enum mmio_result vcpu_emulate(struct vcpu *v, struct mmio_cpu *c, const struct guest_paging *pg,
                              const struct mmio_exit *e, struct mmio_outcome *out);

#endif
