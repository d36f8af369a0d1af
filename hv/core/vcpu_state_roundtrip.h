/*
 * The debug round trip (manifest `vcpu-state-roundtrip = N`): every Nth VM exit a vCPU's
 * state is saved, written as a VCPU section, the backend's copy of it overwritten with
 * poison, read back, restored and saved again, and the two saves compared.  A field that
 * does not survive ends the partition naming the field.  Vendor-neutral: a backend calls
 * these between two exits, with v put aside (its extended state in memory).
 */
#ifndef ATOLL_HV_CORE_VCPU_STATE_ROUNDTRIP_H
#define ATOLL_HV_CORE_VCPU_STATE_ROUNDTRIP_H
#include <stdbool.h>

struct vcpu;

/* Counts one exit; true when this one is the Nth since the last round trip. */
bool vcpu_state_roundtrip_due(struct vcpu *v);
/* One round trip; false: v's partition has ended, saying why. */
bool vcpu_state_roundtrip(struct vcpu *v);
/* At vCPU teardown: one line with how many round trips passed, and the buffers freed. */
void vcpu_state_roundtrip_end(struct vcpu *v);

#endif
