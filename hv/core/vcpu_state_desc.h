/*
 * struct vcpu_state (hv/core/vcpu_state.h) in the state stream: section 'VCPU', one
 * instance per vCPU, and the checks a loaded state must pass before a backend may put it
 * into a vCPU (a hostile or damaged stream must not reach VM entry).  Portable.
 */
#ifndef ATOLL_HV_CORE_VCPU_STATE_DESC_H
#define ATOLL_HV_CORE_VCPU_STATE_DESC_H
#include <stddef.h>
#include "hv/core/vcpu_state.h"
#include "hv/state/state_desc.h"

extern const struct state_desc vcpu_state_desc;

bool vcpu_state_save(struct state_writer *w, unsigned index, const struct vcpu_state *s);
/* Loads and checks; 0, or -1 with one line in err (and *out not to be used). */
int vcpu_state_load(const struct state_section *sec, struct vcpu_state *out, char *err,
                    size_t err_size);

#endif
