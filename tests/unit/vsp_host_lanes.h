/* The VSP engine's lanes on a host: threads that wait for a job (spinning a little, then
 * sleeping) and run their lane of it; what the tests and the bench give the engine. */
#ifndef ATOLL_TESTS_VSP_HOST_LANES_H
#define ATOLL_TESTS_VSP_HOST_LANES_H
#include "guest/vsp/vsp_engine.h"

struct vsp_host_lanes;

/* count lanes (2 .. 16): count - 1 threads beside the caller's; NULL if they cannot start. */
struct vsp_host_lanes *vsp_host_lanes_start(unsigned count);
const struct vsp_lanes *vsp_host_lanes(struct vsp_host_lanes *h);
/* How many times run was called (the operations that were split). */
unsigned long vsp_host_lanes_runs(const struct vsp_host_lanes *h);
void vsp_host_lanes_stop(struct vsp_host_lanes *h);

#endif
