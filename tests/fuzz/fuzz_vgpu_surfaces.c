/* Hypercall arguments from a hostile guest against the virtual GPU's surface table: any
 * sequence of share, unshare, map and damage keeps the table consistent (no two mapped
 * surfaces overlap, every mapping stays in the window, no bitmap write past its end). */
#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "hv/core/hypercall_abi.h"
#include "hv/core/vgpu_surfaces.h"

#define RAM (64ull << 20)

static uint64_t take64(const uint8_t **d, size_t *n)
{
    uint64_t v = 0;
    size_t k = *n < 8 ? *n : 8;
    memcpy(&v, *d, k);
    *d += k, *n -= k;
    return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct vgpu_surfaces t;
    static uint64_t written[RAM / VGPU_PAGE_SIZE / 64];
    memset(&t, 0, sizeof(t));
    memset(written, 0, sizeof(written));
    while (size >= 2) {
        uint8_t op = data[0], client = data[1];
        data += 2, size -= 2;
        uint64_t a[4] = { take64(&data, &size), take64(&data, &size), take64(&data, &size), 0 };
        /* Mostly plausible values, so that the deeper checks run. */
        if (op & 0x80) {
            a[0] &= (RAM - 1) & ~0xfffull;
            a[1] = (a[1] & 0x7ff) + 1;
            a[2] = VGPU_SURFACE_WINDOW + (a[2] & 0xffff000ull);
        }
        switch (op & 7) {
        case 0: {
            int64_t r = vgpu_surfaces_share(&t, client, RAM, a[0], a[1]);
            assert(r > 0 || r == -HC_EINVAL || r == -HC_EFAULT || r == -HC_ENOSPC ||
                   r == -HC_ENOENT);
            break;
        }
        case 1: {
            struct vgpu_surface was;
            vgpu_surfaces_unshare(&t, client, a[1] & 63, &was);
            break;
        }
        case 2: {
            struct vgpu_surface *s;
            if (vgpu_surfaces_check_map(&t, client, a[1] & 63, a[2], &s) == 0) {
                assert(a[2] >= VGPU_SURFACE_WINDOW &&
                       a[2] + s->pages * VGPU_PAGE_SIZE <= VGPU_SURFACE_WINDOW_END);
                s->mapped = true;
                s->vsp_gpa = a[2];
            }
            break;
        }
        case 3: {
            struct vgpu_surface *s = vgpu_surfaces_get(&t, client, a[1] & 63);
            if (s) {
                uint8_t out[VGPU_SURFACE_MAX_PAGES / 8];
                uint32_t n = vgpu_damage_take(s, written, 12 + (op >> 4 & 3), out);
                assert(n <= s->pages);
            }
            written[a[0] % (sizeof(written) / 8)] |= a[2];
            break;
        }
        case 4: {
            struct vgpu_surface s;
            while (vgpu_surfaces_take_client(&t, client, &s))
                ;
            break;
        }
        case 5:
            vgpu_surfaces_forget_mappings(&t);
            break;
        default: {
            uint64_t args[4] = { a[0], a[1], a[2], 0 };
            vgpu_check_args(HC_DISPLAY_INFO + (op >> 3 & 7), args, RAM);
            break;
        }
        }
    }
    return 0;
}
