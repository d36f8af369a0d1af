/*
 * Width-checked VMCS access.  Every write reports its own failure (field, VM-instruction
 * error, caller) and returns false, so setup code chains `ok &= vmcs_write32(...)`.
 */
#ifndef ATOLL_HV_VMX_VMCS_H
#define ATOLL_HV_VMX_VMCS_H
#include <stdbool.h>
#include <stdint.h>
#include "hv/vmx/vmcs_fields.h"

bool vmcs_write_raw(unsigned long field, uint64_t value, const char *caller);
uint64_t vmcs_read_raw(unsigned long field);

static inline bool vmcs_write16_at(enum vmcs16 f, uint16_t v, const char *c) { return vmcs_write_raw(f, v, c); }
static inline bool vmcs_write32_at(enum vmcs32 f, uint32_t v, const char *c) { return vmcs_write_raw(f, v, c); }
static inline bool vmcs_write64_at(enum vmcs64 f, uint64_t v, const char *c) { return vmcs_write_raw(f, v, c); }
static inline bool vmcs_writen_at(enum vmcsn f, uint64_t v, const char *c) { return vmcs_write_raw(f, v, c); }
#define vmcs_write16(f, v) vmcs_write16_at((f), (v), __func__)
#define vmcs_write32(f, v) vmcs_write32_at((f), (v), __func__)
#define vmcs_write64(f, v) vmcs_write64_at((f), (v), __func__)
#define vmcs_writen(f, v)  vmcs_writen_at((f), (v), __func__)

static inline uint16_t vmcs_read16(enum vmcs16 f) { return (uint16_t)vmcs_read_raw(f); }
static inline uint32_t vmcs_read32(enum vmcs32 f) { return (uint32_t)vmcs_read_raw(f); }
static inline uint64_t vmcs_read64(enum vmcs64 f) { return vmcs_read_raw(f); }
static inline uint64_t vmcs_readn(enum vmcsn f) { return vmcs_read_raw(f); }

/* VMCLEAR / VMPTRLD by physical address; false (and a log line) on failure. */
bool vmcs_clear(uint64_t phys);
bool vmcs_load(uint64_t phys);

#endif
