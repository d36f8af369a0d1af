/* What the vGPU test guests agree on (vgpu_service, vgpu_client; manifest vgpu.cfg). */
#ifndef ATOLL_GUEST_TESTS_VGPU_TEST_H
#define ATOLL_GUEST_TESTS_VGPU_TEST_H
#include <stdint.h>

#define VGPU_TEST_W        160          /* each client's window */
#define VGPU_TEST_H        120
#define VGPU_TEST_Y        40
#define VGPU_TEST_CLIENT_VEC 0x52       /* the service's doorbell on a client */
#define VGPU_TEST_MARKER   0x00ff00ffu  /* a stripe the client writes with its own stores */
#define VGPU_TEST_STRIPE_Y 100          /* its row in the window, 8 rows high */

/* Partition ids follow the manifest: the service is 1, clients 2, 3, ... */
static inline int32_t vgpu_test_x(uint32_t id) { return 20 + 200 * (int32_t)(id - 2); }
static inline uint32_t vgpu_test_colour(uint32_t id)
{
    static const uint32_t colours[] = { 0x00d04040, 0x0040c040, 0x004060e0, 0x00e0c020 };
    return colours[id % 4];
}

#endif
