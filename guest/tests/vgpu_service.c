/*
 * The video service partition's test guest (manifest vgpu.cfg, with vgpu_client as the
 * clients): owns the display, maps each client's command ring and surfaces, runs their
 * command buffers on the portable proxy (guest/vsp) with the time bank, feeds it damage
 * from the clients' write tracking, composes frames into the framebuffer, and reports:
 * the display, each client's share of engine time while all were busy against its
 * weight's, the tiles recomposed against those offered, and, from the framebuffer itself,
 * that each client's window and the stripe it wrote with plain stores reached the screen.
 * A client that finished stays on the screen until every client has: the last frame,
 * composed once all are done and captured on `every client finished`, holds them all.
 */
#include "guest/lib/cpu_lanes.h"
#include "guest/lib/guest.h"
#include "guest/lib/vgpu_service.h"
#include "guest/tests/vgpu_test.h"
#include "guest/vsp/vsp.h"
#include "hv/lib/format.h"

DEFINE_TEST("vgpu_service");

#define PERIOD_UNITS 400000
#define SLICE_UNITS  40000
#define RUN_UNITS    (PERIOD_UNITS / 4)
#define MAX_CLIENTS  6
/* A tile row of a 640-pixel screen (64 rows) is shared; a 64x64 tile is not. */
#define LANE_MIN_PIXELS (16u * 1024)

static struct vsp vsp;
static struct vgpu_service_client sc[MAX_CLIENTS];
static struct vsp_client_ram ram[MAX_CLIENTS];
static int eid[MAX_CLIENTS];
static bool done[MAX_CLIENTS];
static bool dropped[MAX_CLIENTS];               /* its ring broke the contract */
static unsigned left;                           /* clients not done */
static uint32_t pending[MAX_CLIENTS];           /* a record vsp_submit had no room for */
static uint64_t busy_used[MAX_CLIENTS];        /* over the periods in which all were busy */
static uint64_t period_used[MAX_CLIENTS];
static unsigned busy_periods;
static uint64_t damaged_pages;
static volatile unsigned doorbells;

static void on_doorbell(struct irq_frame *f)
{
    doorbells++;
    lapic_eoi();
}

static uint8_t *map_ram(void *ctx, uint64_t gpa, uint64_t len)
{
    return vgpu_service_ram(ctx, gpa, len);
}

static void damage(void *ctx, uint64_t gpa, uint64_t len)
{
    vsp_damage_gpa(&vsp, *(int *)ctx, gpa, len);
}

static uint32_t fb_pixel(const struct vgpu_display *d, int32_t x, int32_t y)
{
    return *(volatile uint32_t *)(uintptr_t)(d->gpa + (uint64_t)y * d->pitch + (uint64_t)x * 4) &
           0xffffff;
}

/* Hands the client's records to the proxy until its queue is full or the ring empty. */
static void feed(unsigned i)
{
    for (;;) {
        if (pending[i]) {
            if (vsp_submit(&vsp, eid[i], sc[i].record, pending[i]) == VSP_E_QUEUE_FULL)
                return;
            pending[i] = 0;
        }
        uint32_t kind, bytes;
        const uint8_t *payload;
        char why[128];
        enum vgpu_next n = vgpu_service_next(&sc[i], &kind, &payload, &bytes, why, sizeof(why));
        if (n == VGPU_NEXT_NONE)
            return;
        if (n == VGPU_NEXT_BROKEN) {
            printf("client %s: its ring is broken (%s): its context is dropped\n",
                   sc[i].info.name, why);
            if (vsp_client_cuts(&vsp, eid[i]))
                printf("client %s: the budget had cut its work at the end of %lu slices; "
                       "%lu buffers of it were left queued\n", sc[i].info.name,
                       vsp_client_cuts(&vsp, eid[i]), (uint64_t)vsp.client[eid[i]].buffers);
            vsp_client_remove(&vsp, eid[i]);
            dropped[i] = done[i] = true;
            left--;
            return;
        }
        enum vsp_err e = vsp_submit(&vsp, eid[i], payload, bytes);
        if (e == VSP_E_QUEUE_FULL)
            pending[i] = bytes;
        else if (e != VSP_OK)
            printf("client %s: a buffer of %u bytes refused: %s\n", sc[i].info.name, bytes,
                   vsp_err_name(e));
    }
}

static void tell(unsigned i)
{
    const struct vsp_client_error *e = vsp_client_last_error(&vsp, eid[i]);
    char text[96] = "";
    if (e->err == VSP_E_SHADER_REFUSED)
        fmt_snprintf(text, sizeof(text), "%s: instruction %d: %s", vsp_err_name(e->err), e->shader_insn,
                 vsp_verify_err_name(e->shader_why));
    else if (e->err)
        fmt_snprintf(text, sizeof(text), "%s", vsp_err_name(e->err));
    vgpu_service_tell(&sc[i], vsp_fence_completed(&vsp, eid[i]), (uint32_t)e->refusals, e->err,
                      e->offset, text);
}

static bool finished(unsigned i)
{
    return sc[i].ring->closed && __atomic_load_n(&sc[i].ring->head, __ATOMIC_ACQUIRE) == sc[i].tail &&
           !pending[i] && !vsp_client_busy(&vsp, eid[i]);
}

void test_main(void)
{
    if (!atoll_present()) {
        report_skip("vgpu service (not under Atoll)");
        return;
    }
    irq_set_handler(VGPU_SERVICE_RING_VECTOR, on_doorbell);
    sti();
    static struct vgpu_display d;
    int64_t r = vgpu_service_display(&d);
    if (!report(r == 0 && d.gpa == VGPU_DISPLAY_GPA && d.width && d.height,
                "display %ux%u, pitch %u, format %u, mapped at %#lx (%ld)", d.width, d.height,
                d.pitch, d.format, d.gpa, r))
        return;
    struct vsp_fb fb = { (uint8_t *)(uintptr_t)d.gpa, d.width, d.height, d.pitch };
    struct vsp_config cfg = { .screen_w = d.width, .screen_h = d.height, .background = 0x202020,
                              .period_units = PERIOD_UNITS, .slice_units = SLICE_UNITS };
    if (!report(vsp_init(&vsp, &cfg), "proxy set up for the screen"))
        return;
    /* The engine draws on every vCPU of the partition, a band of rows each. */
    static struct vsp_lanes lanes = { .run = cpu_lanes_run, .min_pixels = LANE_MIN_PIXELS };
    lanes.count = cpu_lanes_start(boot.cpus);
    if (lanes.count > 1)
        vsp_cpu_engine_set_lanes(&lanes);
    printf("the engine draws on %u of the partition's %u vCPUs\n", lanes.count, boot.cpus);

    /* Every client connects its ring first. */
    static struct vgpu_client_info info[MAX_CLIENTS];
    int64_t n = 0;
    bool all = false;
    uint64_t end = rdtsc() + 60000 * (tsc_hz() / 1000);
    while (!all && rdtsc() < end) {
        n = vgpu_service_clients(info, MAX_CLIENTS);
        all = n > 0 && n <= MAX_CLIENTS;
        for (int64_t i = 0; all && i < n; i++)
            all = info[i].ring != 0;
        if (!all)
            udelay(2000);
    }
    if (!report(all, "%ld clients connected their command rings", n))
        return;
    unsigned count = (unsigned)n;
    uint32_t weight_sum = 0;
    for (unsigned i = 0; i < count; i++) {
        sc[i].info = info[i];
        weight_sum += info[i].weight;
        r = vgpu_service_connect(&sc[i], i);
        ram[i] = (struct vsp_client_ram){ .ctx = &sc[i], .map = map_ram };
        eid[i] = r == 0 ? vsp_client_add(&vsp, info[i].weight, &ram[i]) : -1;
        report(r == 0 && eid[i] >= 0, "client %s (partition %u, weight %u): ring %u mapped",
               info[i].name, info[i].id, info[i].weight, info[i].ring);
    }

    int64_t in_period = 0;
    bool saturated = true;                      /* every client busy all this period */
    left = count;
    uint64_t frames = 0;
    end = rdtsc() + 600000 * (tsc_hz() / 1000);
    while (left && rdtsc() < end) {
        uint64_t before[MAX_CLIENTS];
        for (unsigned i = 0; i < count; i++) {
            if (!done[i])
                feed(i);
            saturated &= dropped[i] || (!done[i] && vsp_client_busy(&vsp, eid[i]));
            before[i] = vsp.bank.bank[eid[i]].used;
        }
        int64_t used = vsp_run(&vsp, RUN_UNITS);
        for (unsigned i = 0; i < count; i++) {
            saturated &= dropped[i] || vsp_client_busy(&vsp, eid[i]);
            if (!dropped[i])
                period_used[i] += vsp.bank.bank[eid[i]].used - before[i];
        }
        in_period += used;
        if (used < RUN_UNITS || in_period >= PERIOD_UNITS) {
            vsp_period(&vsp);
            for (unsigned i = 0; i < count; i++) {
                if (saturated)
                    busy_used[i] += period_used[i];
                period_used[i] = 0;
            }
            busy_periods += saturated;
            in_period = 0;
            saturated = true;
        }
        for (unsigned i = 0; i < count; i++) {
            int64_t pages = done[i] ? 0 : vgpu_service_damage(&sc[i], damage, &eid[i]);
            if (pages > 0)
                damaged_pages += (uint64_t)pages;
        }
        if (vgpu_service_frame_begin() == 0) {    /* else a capture reads: next round */
            if (vsp_compose(&vsp, &fb, NULL, 0))
                frames++;
            vgpu_service_frame_end();
        }
        for (unsigned i = 0; i < count; i++) {
            if (done[i])
                continue;
            tell(i);
            if (!finished(i))
                continue;
            int32_t x = vgpu_test_x(sc[i].info.id);
            uint32_t body = fb_pixel(&d, x + 4, VGPU_TEST_Y + 4);
            uint32_t stripe = fb_pixel(&d, x + 80, VGPU_TEST_Y + VGPU_TEST_STRIPE_Y + 2);
            report(body == vgpu_test_colour(sc[i].info.id),
                   "client %s: its window is on the screen (pixel %#x)", sc[i].info.name, body);
            report(stripe == (VGPU_TEST_MARKER & 0xffffff),
                   "client %s: the stripe it wrote with plain stores reached the screen through "
                   "write-tracking damage (pixel %#x)", sc[i].info.name, stripe);
            done[i] = true;
            left--;
        }
        if (!left)
            break;
    }
    /* The last compose ran after the last client's last damage: the frame is complete and
     * nothing draws on it any more. */
    report(!left, "every client finished (%lu frames composed, %u doorbells)", frames, doorbells);
    for (unsigned i = 0; i < count; i++) {
        if (dropped[i])
            continue;
        if (vsp_client_cuts(&vsp, eid[i]))
            printf("client %s: the budget cut its work at the end of %lu slices\n", info[i].name,
                   vsp_client_cuts(&vsp, eid[i]));
        vsp_client_remove(&vsp, eid[i]);
        vgpu_service_finish(&sc[i]);
    }
    uint64_t busy_sum = 0;
    unsigned kept = 0;
    for (unsigned i = 0; i < count; i++) {
        if (dropped[i]) {
            weight_sum -= info[i].weight;
            printf("client %s: its context was dropped; the others went on\n", info[i].name);
        } else {
            busy_sum += busy_used[i];
            kept++;
        }
    }
    report(kept >= 2, "%u clients kept to the contract", kept);
    for (unsigned i = 0; i < count && busy_sum; i++) {
        if (dropped[i])
            continue;
        uint64_t share = busy_used[i] * 1000 / busy_sum, want = info[i].weight * 1000ull / weight_sum;
        uint64_t off = share > want ? share - want : want - share;
        report(off * 20 <= want, "client %s: %lu.%lu%% of the engine while all were busy, its weight's "
               "share %lu.%lu%% (%u periods)", info[i].name, share / 10, share % 10, want / 10,
               want % 10, busy_periods);
    }
    report(busy_sum > 0, "%lu engine units ran for the clients that kept to the contract while "
           "every client had work", busy_sum);
    const struct vsp_compose_stats *st = &vsp.comp.stats;
    report(st->tiles_recomposed > 0 && st->tiles_recomposed < st->tiles_offered,
           "tiles recomposed: %lu of %lu offered in %lu composes (damage from %lu written pages)",
           st->tiles_recomposed, st->tiles_offered, st->composes, damaged_pages);
    if (lanes.count > 1)
        report(cpu_lanes_jobs() > 0, "the engine shared %lu operations among its %u vCPUs",
               cpu_lanes_jobs(), lanes.count);
}
