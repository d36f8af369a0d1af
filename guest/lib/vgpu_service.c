#include "guest/lib/vgpu_service.h"

#include <stdarg.h>
#include <string.h>
#include "guest/lib/channel_window.h"
#include "guest/lib/hypercall.h"
#include "guest/lib/x86.h"
#include "hv/lib/format.h"

#define PAGE 4096u
#define RING_DATA ((VGPU_RING_PAGES - 1) * PAGE)
/* Surfaces are placed one after another in the window, never reused: 4 GiB is plenty. */
static uint64_t window_next = VGPU_SURFACE_WINDOW;

int64_t vgpu_service_display(struct vgpu_display *d)
{
    static struct vgpu_display buf;
    int64_t r = hypercall(HC_DISPLAY_INFO, (uintptr_t)&buf, 0, 0, 0);
    if (r < 0)
        return r;
    *d = buf;
    vgpu_windows_map();
    return 0;
}

int64_t vgpu_service_clients(struct vgpu_client_info *out, unsigned max)
{
    static struct vgpu_client_info buf[VGPU_MAX_CLIENTS];
    if (max > VGPU_MAX_CLIENTS)
        max = VGPU_MAX_CLIENTS;
    int64_t n = hypercall(HC_VGPU_CLIENTS, (uintptr_t)buf, max, 0, 0);
    if (n > 0)
        memcpy(out, buf, (n < max ? (unsigned)n : max) * sizeof(*out));
    return n;
}

int64_t vgpu_service_connect(struct vgpu_service_client *sc, unsigned index)
{
    static bool window_mapped;
    if (!window_mapped) {
        channel_window_map();
        window_mapped = true;
    }
    uint64_t gpa = CHANNEL_WINDOW_GPA + (uint64_t)index * VGPU_RING_PAGES * PAGE;
    int64_t r = hypercall(HC_CHANNEL_MAP, sc->info.ring, gpa, VGPU_SERVICE_RING_VECTOR, 0);
    if (r < 0)
        return r;
    sc->ring = (struct vgpu_ring *)(uintptr_t)gpa;
    sc->data = (const uint8_t *)(uintptr_t)(gpa + PAGE);
    sc->tail = 0;
    sc->connected = true;
    return 0;
}

static enum vgpu_next broken(struct vgpu_service_client *sc, char *why, unsigned why_size,
                             const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static enum vgpu_next broken(struct vgpu_service_client *sc, char *why, unsigned why_size,
                             const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fmt_vsnprintf(why, why_size, fmt, ap);
    va_end(ap);
    sc->broken = true;
    return VGPU_NEXT_BROKEN;
}

static int64_t map_surface(struct vgpu_service_client *sc, const struct vgpu_rec_surface *s)
{
    if (sc->surfaces == VGPU_SURFACES_PER_CLIENT || s->pages == 0 ||
        s->pages > VGPU_SURFACE_MAX_PAGES)
        return -HC_ENOSPC;
    uint64_t gpa = window_next;
    if (gpa + (uint64_t)s->pages * PAGE > VGPU_SURFACE_WINDOW_END)
        return -HC_ENOSPC;
    int64_t r = hypercall(HC_VGPU_SURFACE_MAP, sc->info.id, s->handle, gpa, 0);
    if (r < 0)
        return r;
    window_next += (uint64_t)s->pages * PAGE;
    sc->surface[sc->surfaces++] = (struct vgpu_service_surface){
        .handle = s->handle, .pages = s->pages, .gpa = s->gpa, .at = (uint8_t *)(uintptr_t)gpa,
    };
    return 0;
}

enum vgpu_next vgpu_service_next(struct vgpu_service_client *sc, uint32_t *kind,
                                 const uint8_t **payload, uint32_t *bytes, char *why,
                                 unsigned why_size)
{
    for (;;) {
        if (!sc->connected || sc->broken)
            return VGPU_NEXT_NONE;
        if (sc->ring->magic != VGPU_RING_MAGIC || sc->ring->version != VGPU_RING_VERSION ||
            sc->ring->data_bytes != RING_DATA)
            return broken(sc, why, why_size, "ring header magic %#x or size %u is not the contract's",
                          sc->ring->magic, sc->ring->data_bytes);
        uint64_t head = __atomic_load_n(&sc->ring->head, __ATOMIC_ACQUIRE);
        if (head == sc->tail)
            return VGPU_NEXT_NONE;
        uint64_t avail = head - sc->tail;
        uint32_t at = (uint32_t)(sc->tail % RING_DATA);
        if (avail > RING_DATA || (head & 7))
            return broken(sc, why, why_size, "ring head %lu is not within the area past tail %lu",
                          head, sc->tail);
        struct vgpu_record rec;
        memcpy(&rec, sc->data + at, sizeof(rec));      /* once: the client may change it */
        uint64_t size = sizeof(rec) + (((uint64_t)rec.bytes + 7) & ~7ull);
        if (rec.kind == VGPU_REC_PAD)
            size = RING_DATA - at;
        if (size > avail || at + size > RING_DATA)
            return broken(sc, why, why_size, "a record of %lu bytes at offset %u runs past "
                          "what the client wrote", size, at);
        if (rec.kind != VGPU_REC_PAD)
            memcpy(sc->record, sc->data + at + sizeof(rec), rec.bytes);
        sc->tail += size;
        __atomic_store_n(&sc->ring->tail, sc->tail, __ATOMIC_RELEASE);
        switch (rec.kind) {
        case VGPU_REC_PAD:
            continue;
        case VGPU_REC_SURFACE: {
            struct vgpu_rec_surface s;
            if (rec.bytes != sizeof(s))
                return broken(sc, why, why_size, "a surface record of %u bytes", rec.bytes);
            memcpy(&s, sc->record, sizeof(s));
            int64_t r = map_surface(sc, &s);
            if (r < 0)
                return broken(sc, why, why_size, "surface %u could not be mapped (%ld)", s.handle, r);
            continue;
        }
        case VGPU_REC_COMMANDS:
            if (rec.bytes == 0 || rec.bytes % 4)
                return broken(sc, why, why_size, "a command buffer of %u bytes", rec.bytes);
            *kind = rec.kind;
            *payload = sc->record;
            *bytes = rec.bytes;
            return VGPU_NEXT_RECORD;
        default:
            return broken(sc, why, why_size, "a record of unknown kind %u", rec.kind);
        }
    }
}

uint8_t *vgpu_service_ram(const struct vgpu_service_client *sc, uint64_t gpa, uint64_t len)
{
    for (unsigned i = 0; i < sc->surfaces; i++) {
        const struct vgpu_service_surface *s = &sc->surface[i];
        uint64_t size = (uint64_t)s->pages * PAGE;
        if (gpa >= s->gpa && gpa - s->gpa <= size && len <= size - (gpa - s->gpa))
            return s->at + (gpa - s->gpa);
    }
    return NULL;
}

int64_t vgpu_service_damage(struct vgpu_service_client *sc,
                            void (*fn)(void *ctx, uint64_t gpa, uint64_t len), void *ctx)
{
    static uint8_t bitmap[VGPU_SURFACE_MAX_PAGES / 8];
    int64_t total = 0;
    for (unsigned i = 0; i < sc->surfaces; i++) {
        const struct vgpu_service_surface *s = &sc->surface[i];
        int64_t n = hypercall(HC_VGPU_DAMAGE, sc->info.id, s->handle, (uintptr_t)bitmap, 0);
        if (n < 0)
            return n;
        total += n;
        for (uint32_t p = 0; n && p < s->pages;) {
            if (!(bitmap[p / 8] & (1u << (p % 8)))) {
                p++;
                continue;
            }
            uint32_t first = p;
            while (p < s->pages && (bitmap[p / 8] & (1u << (p % 8))))
                p++;
            fn(ctx, s->gpa + (uint64_t)first * PAGE, (uint64_t)(p - first) * PAGE);
        }
    }
    return total;
}

int64_t vgpu_service_frame_begin(void)
{
    return hypercall(HC_DISPLAY_FRAME, 1, 0, 0, 0);
}

void vgpu_service_frame_end(void)
{
    hypercall(HC_DISPLAY_FRAME, 2, 0, 0, 0);
}

void vgpu_service_tell(struct vgpu_service_client *sc, uint64_t fence_done, uint32_t errors,
                       uint32_t error, uint32_t error_offset, const char *text)
{
    if (!sc->connected)
        return;
    struct vgpu_ring *r = sc->ring;
    if (r->fence_done == fence_done && r->errors == errors)
        return;
    if (r->errors != errors) {
        r->error = error;
        r->error_offset = error_offset;
        strlcpy(r->error_text, text ? text : "", sizeof(r->error_text));
        __atomic_store_n(&r->errors, errors, __ATOMIC_RELEASE);
    }
    __atomic_store_n(&r->fence_done, fence_done, __ATOMIC_RELEASE);
    hypercall(HC_CHANNEL_NOTIFY, sc->info.ring, 0, 0, 0);
}

void vgpu_service_finish(struct vgpu_service_client *sc)
{
    if (!sc->connected)
        return;
    __atomic_store_n(&sc->ring->finished, 1, __ATOMIC_RELEASE);
    hypercall(HC_CHANNEL_NOTIFY, sc->info.ring, 0, 0, 0);
}
