#include "guest/lib/vgpu_client.h"

#include <string.h>
#include "guest/lib/hypercall.h"
#include "guest/lib/tsc.h"
#include "guest/lib/x86.h"

#define PAGE 4096u

int64_t vgpu_client_open(struct vgpu_client *c, void *ring, uint8_t vector)
{
    memset(c, 0, sizeof(*c));
    int64_t r = hypercall(HC_VGPU_SERVICE, 0, 0, 0, 0);
    if (r < 0)
        return r;
    c->service_id = (uint32_t)r;
    c->weight = (uint32_t)((uint64_t)r >> 32);
    c->ring = ring;
    c->data = (uint8_t *)ring + PAGE;
    memset(ring, 0, VGPU_RING_PAGES * PAGE);
    c->ring->magic = VGPU_RING_MAGIC;
    c->ring->version = VGPU_RING_VERSION;
    c->ring->data_bytes = (VGPU_RING_PAGES - 1) * PAGE;
    c->ring_handle = hypercall(HC_CHANNEL_GRANT, (uintptr_t)ring, VGPU_RING_PAGES, c->service_id,
                               vector);
    if (c->ring_handle < 0)
        return c->ring_handle;
    return hypercall(HC_VGPU_CONNECT, (uint64_t)c->ring_handle, 0, 0, 0);
}

static uint32_t room(const struct vgpu_client *c)
{
    return c->ring->data_bytes - (uint32_t)(c->head - c->ring->tail);
}

/* One record (header + payload) at head, padding to the area's end first if needed. */
static int64_t put(struct vgpu_client *c, uint32_t kind, const void *payload, uint32_t bytes)
{
    uint32_t size = (uint32_t)sizeof(struct vgpu_record) + ((bytes + 7) & ~7u);
    uint32_t area = c->ring->data_bytes;
    if (size > area)
        return -HC_EINVAL;
    uint32_t at = (uint32_t)(c->head % area);
    uint32_t pad = area - at < size ? area - at : 0;
    if (room(c) < pad + size)
        return -HC_ENOSPC;
    if (pad) {
        struct vgpu_record r = { VGPU_REC_PAD, pad - (uint32_t)sizeof(r) };
        memcpy(c->data + at, &r, sizeof(r));
        c->head += pad;
        at = 0;
    }
    struct vgpu_record r = { kind, bytes };
    memcpy(c->data + at, &r, sizeof(r));
    memcpy(c->data + at + sizeof(r), payload, bytes);
    c->head += size;
    __atomic_store_n(&c->ring->head, c->head, __ATOMIC_RELEASE);
    hypercall(HC_CHANNEL_NOTIFY, (uint64_t)c->ring_handle, 0, 0, 0);
    return 0;
}

int64_t vgpu_client_share(struct vgpu_client *c, const void *pixels, uint64_t bytes)
{
    uint64_t pages = (bytes + PAGE - 1) / PAGE;
    int64_t h = hypercall(HC_VGPU_SURFACE_SHARE, (uintptr_t)pixels, pages, 0, 0);
    if (h < 0)
        return h;
    struct vgpu_rec_surface s = { (uint32_t)h, (uint32_t)pages, (uintptr_t)pixels };
    int64_t r;
    while ((r = put(c, VGPU_REC_SURFACE, &s, sizeof(s))) == -HC_ENOSPC)
        pause();
    return r < 0 ? r : h;
}

int64_t vgpu_client_submit(struct vgpu_client *c, const void *cmds, uint32_t bytes)
{
    if (bytes == 0 || bytes % 4)
        return -HC_EINVAL;
    return put(c, VGPU_REC_COMMANDS, cmds, bytes);
}

uint64_t vgpu_client_fence_done(const struct vgpu_client *c)
{
    return __atomic_load_n(&c->ring->fence_done, __ATOMIC_ACQUIRE);
}

bool vgpu_client_wait_fence(const struct vgpu_client *c, uint64_t value, uint64_t ms)
{
    uint64_t end = rdtsc() + ms * (tsc_hz() / 1000);
    while (vgpu_client_fence_done(c) < value && rdtsc() < end)
        pause();
    return vgpu_client_fence_done(c) >= value;
}

bool vgpu_client_close(struct vgpu_client *c, uint64_t ms)
{
    __atomic_store_n(&c->ring->closed, 1, __ATOMIC_RELEASE);
    hypercall(HC_CHANNEL_NOTIFY, (uint64_t)c->ring_handle, 0, 0, 0);
    uint64_t end = rdtsc() + ms * (tsc_hz() / 1000);
    while (!__atomic_load_n(&c->ring->finished, __ATOMIC_ACQUIRE) && rdtsc() < end)
        pause();
    return __atomic_load_n(&c->ring->finished, __ATOMIC_ACQUIRE);
}

static uint64_t surface_pd[512] __attribute__((aligned(4096)));
static uint64_t display_pd[512] __attribute__((aligned(4096)));

void vgpu_windows_map(void)
{
    uint64_t *pml4 = (uint64_t *)(read_cr3() & ~0xfffull);
    uint64_t *pdpt = (uint64_t *)(pml4[0] & 0x000ffffffffff000ull);
    for (unsigned i = 0; i < 512; i++) {
        surface_pd[i] = (VGPU_SURFACE_WINDOW + ((uint64_t)i << 21)) | 0x83;
        display_pd[i] = (VGPU_DISPLAY_GPA + ((uint64_t)i << 21)) | 0x83;
    }
    pdpt[VGPU_SURFACE_WINDOW >> 30] = (uintptr_t)surface_pd | 3;
    pdpt[VGPU_DISPLAY_GPA >> 30] = (uintptr_t)display_pd | 3;
    write_cr3(read_cr3());
}
