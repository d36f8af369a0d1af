#include "guest/vsp/vsp.h"

#include <string.h>

static void damage_screen(void *arg, const struct vsp_screen_rect *r)
{
    struct vsp *v = arg;
    vsp_compose_damage(&v->comp, r);
}

bool vsp_init(struct vsp *v, const struct vsp_config *cfg)
{
    memset(v, 0, sizeof(*v));
    v->cfg = *cfg;
    return vsp_timebank_init(&v->bank, cfg->period_units, cfg->slice_units) &&
           vsp_compose_init(&v->comp, cfg->screen_w, cfg->screen_h, cfg->background,
                            &vsp_cpu_engine);
}

static struct vsp_client *client_of(struct vsp *v, int id)
{
    if (id < 0 || (unsigned)id >= VSP_MAX_CLIENTS || !v->client[id].present)
        return NULL;
    return &v->client[id];
}

int vsp_client_add(struct vsp *v, uint32_t weight, const struct vsp_client_ram *ram)
{
    for (unsigned i = 0; i < VSP_MAX_CLIENTS; i++) {
        struct vsp_client *c = &v->client[i];
        if (c->present)
            continue;
        if (!ram->map || !vsp_timebank_add(&v->bank, i, weight))
            return -1;
        c->present = true;
        vsp_context_init(&c->ctx, ram, damage_screen, v);
        c->tail = c->buffers = c->offset = 0;
        c->cuts = 0;
        return (int)i;
    }
    return -1;
}

void vsp_client_remove(struct vsp *v, int id)
{
    struct vsp_client *c = client_of(v, id);
    if (!c)
        return;
    vsp_context_damage_all(&c->ctx);
    vsp_timebank_remove(&v->bank, (uint32_t)id);
    c->present = false;
}

enum vsp_err vsp_submit(struct vsp *v, int id, const void *buf, size_t len)
{
    struct vsp_client *c = client_of(v, id);
    if (!c)
        return VSP_E_BAD_ID;
    if (len == 0 || len % 4 || len > VSP_QUEUE_BYTES)
        return VSP_E_BAD_SIZE;
    if (c->buffers == VSP_QUEUE_BUFFERS)
        return VSP_E_QUEUE_FULL;
    if (c->tail + len > VSP_QUEUE_BYTES && c->buffers) {      /* move what is left to the front */
        uint32_t shift = c->buffer[0].start;
        memmove(c->queue, c->queue + shift, c->tail - shift);
        for (uint32_t i = 0; i < c->buffers; i++) {
            c->buffer[i].start -= shift;
            c->buffer[i].end -= shift;
        }
        c->tail -= shift;
    }
    if (c->tail + len > VSP_QUEUE_BYTES)
        return VSP_E_QUEUE_FULL;
    memcpy(c->queue + c->tail, buf, len);
    c->buffer[c->buffers].start = c->tail;
    c->buffer[c->buffers].end = c->tail + (uint32_t)len;
    c->buffers++;
    c->tail += (uint32_t)len;
    return VSP_OK;
}

static void pop_buffer(struct vsp_client *c)
{
    memmove(&c->buffer[0], &c->buffer[1], (c->buffers - 1) * sizeof(c->buffer[0]));
    c->buffers--;
    c->offset = 0;
    if (c->buffers == 0)
        c->tail = 0;
}

/* Runs the client's queue while the budget lasts. */
static void run_client(struct vsp_client *c, int64_t *budget)
{
    while (c->buffers && *budget > 0) {
        size_t off = c->offset;
        enum vsp_exec r = vsp_context_exec(&c->ctx, &vsp_cpu_engine, c->queue + c->buffer[0].start,
                                           c->buffer[0].end - c->buffer[0].start, &off, budget);
        c->offset = (uint32_t)off;
        if (r == VSP_EXEC_CUT) {
            c->cuts += c->ctx.in_command;
            return;
        }
        if (r == VSP_EXEC_REFUSED)
            *budget -= VSP_COST_COMMAND;
        pop_buffer(c);
    }
}

int64_t vsp_run(struct vsp *v, int64_t units)
{
    int64_t used = 0;
    if (units <= 0)
        return 0;
    while (used < units) {
        uint32_t ready = 0;
        for (unsigned i = 0; i < VSP_MAX_CLIENTS; i++)
            if (v->client[i].present && v->client[i].buffers)
                ready |= 1u << i;
        int id = ready ? vsp_timebank_pick(&v->bank, ready) : -1;
        if (id < 0)
            break;
        int64_t slice = vsp_timebank_slice(&v->bank, (uint32_t)id);
        if (slice > units - used)
            slice = units - used;
        int64_t budget = slice;
        run_client(&v->client[id], &budget);
        vsp_timebank_charge(&v->bank, (uint32_t)id, slice - budget);
        used += slice - budget;
    }
    v->units_run += (uint64_t)used;
    v->units_idle += (uint64_t)(units - used);
    return used;
}

void vsp_period(struct vsp *v)
{
    vsp_timebank_refill(&v->bank);
}

bool vsp_client_busy(const struct vsp *v, int id)
{
    return client_of((struct vsp *)v, id) && v->client[id].buffers;
}

uint64_t vsp_client_cuts(const struct vsp *v, int id)
{
    const struct vsp_client *c = client_of((struct vsp *)v, id);
    return c ? c->cuts : 0;
}

uint64_t vsp_fence_completed(const struct vsp *v, int id)
{
    const struct vsp_client *c = client_of((struct vsp *)v, id);
    return c ? c->ctx.fence : 0;
}

const struct vsp_client_error *vsp_client_last_error(const struct vsp *v, int id)
{
    const struct vsp_client *c = client_of((struct vsp *)v, id);
    return c ? &c->ctx.error : NULL;
}

void vsp_damage_gpa(struct vsp *v, int id, uint64_t gpa, uint64_t len)
{
    struct vsp_client *c = client_of(v, id);
    if (c)
        vsp_context_damage_gpa(&c->ctx, gpa, len);
}

void vsp_damage_screen(struct vsp *v, const struct vsp_screen_rect *r)
{
    vsp_compose_damage(&v->comp, r);
}

uint32_t vsp_compose(struct vsp *v, const struct vsp_fb *fb,
                     const struct vsp_screen_rect *damage, size_t n)
{
    struct vsp_layer layers[VSP_MAX_CLIENTS * (1 + VGPU_MAX_OVERLAYS)];
    size_t count = 0;
    for (size_t i = 0; i < n; i++)
        vsp_compose_damage(&v->comp, &damage[i]);
    for (unsigned i = 0; i < VSP_MAX_CLIENTS; i++)
        if (v->client[i].present)
            count += vsp_context_layers(&v->client[i].ctx, (uint8_t)i, layers + count);
    return vsp_compose_tiles(&v->comp, fb, layers, count);
}
