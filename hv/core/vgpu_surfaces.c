#include "hv/core/vgpu_surfaces.h"

#include <string.h>
#include "hv/core/hypercall_abi.h"

static bool in_ram(uint64_t gpa, uint64_t len, uint64_t ram_size)
{
    return gpa < ram_size && len <= ram_size - gpa;
}

static bool aligned(uint64_t gpa) { return (gpa & (VGPU_PAGE_SIZE - 1)) == 0; }

static bool valid_client(uint64_t id) { return id >= 1 && id <= VGPU_MAX_CLIENTS; }
static bool valid_handle(uint64_t h) { return h >= 1 && h <= VGPU_SURFACES_PER_CLIENT; }

int64_t vgpu_check_args(uint64_t nr, const uint64_t arg[4], uint64_t ram_size)
{
    switch (nr) {
    case HC_DISPLAY_INFO:           /* (gpa) */
        return in_ram(arg[0], sizeof(struct vgpu_display), ram_size) ? 0 : -HC_EFAULT;
    case HC_VGPU_SERVICE:
        return 0;
    case HC_DISPLAY_FRAME:          /* (1 begin, 2 end) */
        return arg[0] == 1 || arg[0] == 2 ? 0 : -HC_EINVAL;
    case HC_VGPU_CONNECT:           /* (channel handle): checked against the channels */
        return arg[0] == 0 || arg[0] > UINT32_MAX ? -HC_ENOENT : 0;
    case HC_VGPU_CLIENTS:           /* (gpa, max) */
        if (arg[1] > VGPU_MAX_CLIENTS)
            return -HC_EINVAL;
        return in_ram(arg[0], arg[1] * sizeof(struct vgpu_client_info), ram_size) ? 0 : -HC_EFAULT;
    case HC_VGPU_SURFACE_SHARE:     /* (gpa, pages) */
        if (!aligned(arg[0]) || arg[1] == 0 || arg[1] > VGPU_SURFACE_MAX_PAGES)
            return -HC_EINVAL;
        return in_ram(arg[0], arg[1] * VGPU_PAGE_SIZE, ram_size) ? 0 : -HC_EFAULT;
    case HC_VGPU_SURFACE_UNSHARE:   /* (handle) */
        return valid_handle(arg[0]) ? 0 : -HC_ENOENT;
    case HC_VGPU_SURFACE_MAP:       /* (client id, handle, gpa in the window) */
        if (!valid_client(arg[0]) || !valid_handle(arg[1]))
            return -HC_ENOENT;
        return aligned(arg[2]) && arg[2] >= VGPU_SURFACE_WINDOW &&
               arg[2] < VGPU_SURFACE_WINDOW_END ? 0 : -HC_EINVAL;
    case HC_VGPU_DAMAGE:            /* (client id, handle, gpa); the length needs the surface */
        if (!valid_client(arg[0]) || !valid_handle(arg[1]))
            return -HC_ENOENT;
        return arg[2] < ram_size ? 0 : -HC_EFAULT;
    default:
        return -HC_ENOSYS;
    }
}

static struct vgpu_surface *row(struct vgpu_surfaces *t, unsigned client)
{
    return valid_client(client) ? t->s[client - 1] : NULL;
}

static bool overlap(uint64_t a, uint64_t a_len, uint64_t b, uint64_t b_len)
{
    return a < b + b_len && b < a + a_len;
}

int64_t vgpu_surfaces_share(struct vgpu_surfaces *t, unsigned client, uint64_t ram_size,
                            uint64_t gpa, uint64_t pages)
{
    struct vgpu_surface *r = row(t, client);
    uint64_t args[4] = { gpa, pages, 0, 0 };
    int64_t bad = vgpu_check_args(HC_VGPU_SURFACE_SHARE, args, ram_size);
    if (bad)
        return bad;
    if (!r)
        return -HC_ENOENT;
    int free_slot = -1;
    for (unsigned i = 0; i < VGPU_SURFACES_PER_CLIENT; i++) {
        if (!r[i].used) {
            if (free_slot < 0)
                free_slot = (int)i;
        } else if (overlap(gpa, pages * VGPU_PAGE_SIZE, r[i].gpa, r[i].pages * VGPU_PAGE_SIZE)) {
            return -HC_EINVAL;
        }
    }
    if (free_slot < 0)
        return -HC_ENOSPC;
    r[free_slot] = (struct vgpu_surface){ .used = true, .gpa = gpa, .pages = (uint32_t)pages };
    return free_slot + 1;
}

struct vgpu_surface *vgpu_surfaces_get(struct vgpu_surfaces *t, unsigned client, uint64_t handle)
{
    struct vgpu_surface *r = row(t, client);
    if (!r || !valid_handle(handle) || !r[handle - 1].used)
        return NULL;
    return &r[handle - 1];
}

int64_t vgpu_surfaces_unshare(struct vgpu_surfaces *t, unsigned client, uint64_t handle,
                              struct vgpu_surface *was)
{
    struct vgpu_surface *s = vgpu_surfaces_get(t, client, handle);
    if (!s)
        return -HC_ENOENT;
    *was = *s;
    memset(s, 0, sizeof(*s));
    return 0;
}

int64_t vgpu_surfaces_check_map(struct vgpu_surfaces *t, unsigned client, uint64_t handle,
                                uint64_t gpa, struct vgpu_surface **out)
{
    struct vgpu_surface *s = vgpu_surfaces_get(t, client, handle);
    if (!s)
        return -HC_ENOENT;
    uint64_t len = s->pages * VGPU_PAGE_SIZE;
    if (s->mapped || !aligned(gpa) || gpa < VGPU_SURFACE_WINDOW ||
        gpa > VGPU_SURFACE_WINDOW_END || len > VGPU_SURFACE_WINDOW_END - gpa)
        return -HC_EINVAL;
    for (unsigned c = 0; c < VGPU_MAX_CLIENTS; c++)
        for (unsigned i = 0; i < VGPU_SURFACES_PER_CLIENT; i++) {
            const struct vgpu_surface *o = &t->s[c][i];
            if (o->used && o->mapped && overlap(gpa, len, o->vsp_gpa, o->pages * VGPU_PAGE_SIZE))
                return -HC_EINVAL;
        }
    *out = s;
    return 0;
}

bool vgpu_surfaces_take_client(struct vgpu_surfaces *t, unsigned client, struct vgpu_surface *out)
{
    struct vgpu_surface *r = row(t, client);
    for (unsigned i = 0; r && i < VGPU_SURFACES_PER_CLIENT; i++)
        if (r[i].used) {
            *out = r[i];
            memset(&r[i], 0, sizeof(r[i]));
            return true;
        }
    return false;
}

void vgpu_surfaces_forget_mappings(struct vgpu_surfaces *t)
{
    for (unsigned c = 0; c < VGPU_MAX_CLIENTS; c++)
        for (unsigned i = 0; i < VGPU_SURFACES_PER_CLIENT; i++) {
            t->s[c][i].mapped = false;
            t->s[c][i].seen = false;
        }
}

static bool bit(const uint64_t *w, uint64_t i) { return (w[i / 64] >> (i % 64)) & 1; }

uint32_t vgpu_damage_take(struct vgpu_surface *s, uint64_t *written, unsigned group_shift,
                          uint8_t *out)
{
    memset(out, 0, (s->pages + 7) / 8);
    uint32_t count = 0;
    for (uint32_t i = 0; i < s->pages; i++) {
        uint64_t group = (s->gpa + i * VGPU_PAGE_SIZE) >> group_shift;
        if (!s->seen || bit(written, group)) {
            out[i / 8] |= (uint8_t)(1u << (i % 8));
            count++;
        }
    }
    uint64_t end = s->gpa + s->pages * VGPU_PAGE_SIZE, gsize = 1ull << group_shift;
    for (uint64_t g = (s->gpa + gsize - 1) >> group_shift; ((g + 1) << group_shift) <= end; g++)
        written[g / 64] &= ~(1ull << (g % 64));
    s->seen = true;
    return count;
}
