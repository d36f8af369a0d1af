#include "hv/snapshot/snap_passes.h"

enum snap_pass_next snap_passes_next(uint32_t passes_done, uint64_t dirty, uint64_t last_pass)
{
    if (!dirty)
        return SNAP_PASS_PAUSE;
    if (!passes_done)
        return SNAP_PASS_AGAIN;
    if (passes_done >= SNAP_PASSES_MAX || dirty <= SNAP_PASSES_SMALL || dirty >= last_pass)
        return SNAP_PASS_PAUSE;
    return SNAP_PASS_AGAIN;
}
