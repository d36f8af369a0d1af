/*
 * A vGPU client (run with vgpu_service; manifest vgpu.cfg): may not have the framebuffer
 * (HC_DISPLAY_INFO refused, its guest-physical address reads all-ones), connects its
 * command ring, shares a window surface of its RAM, fills and presents it, has a bad
 * command refused to it alone, saturates the engine with fills (the shares are the
 * service's to report), then writes a stripe into the surface with its own stores and
 * only fences: the service must learn of it from write tracking.  With the command-line
 * word `hostile` it tries what a client may not (service-only calls, surfaces outside its
 * RAM, another client's ring), then writes a record no client writes: the service drops
 * its context alone.  With `overlays` (vgpu-three.cfg) a client also writes three source
 * surfaces (YUY2, a keyed XRGB, a blended XRGB) with its own stores and shows them as four
 * overlays over its window; with `endless` the hostile client also sends commands the
 * proxy refuses (an unknown opcode, a surface outside its RAM, a shader the verifier
 * refuses) and endless work (a shader at the cost limit drawn again and again), which
 * the time bank's budget cuts at each slice, before it breaks its ring.
 */
#include "guest/lib/guest.h"
#include "guest/lib/vgpu_client.h"
#include "guest/lib/vgpu_cmdbuf.h"
#include "guest/tests/vgpu_test.h"
#include "guest/tests/vgpu_test_scene.h"
#include "guest/vsp/vsp_err.h"
#include "guest/vsp/vsp_shader.h"

DEFINE_TEST("vgpu_client");

#define BUSY_BUFFERS_PER_WEIGHT 24      /* buffers of fills, times the weight */
#define BUSY_WITH_OVERLAYS 12           /* the same, with overlays (four clients: slower) */

static uint8_t ring[VGPU_RING_PAGES * 4096] __attribute__((aligned(4096)));
static uint32_t pixels[VGPU_TEST_W * VGPU_TEST_H] __attribute__((aligned(4096)));
static uint8_t sources[VGPU_SCENE_SRC_BYTES] __attribute__((aligned(4096)));
static uint8_t cmds[4096];
static struct vgpu_client c;

static void submit(const struct vgpu_cmdbuf *b);

/* Sends one buffer and a fence after it; whether the service refused something in it
 * (the ring's error count grew), its reason in the ring. */
static bool refused(struct vgpu_cmdbuf *b, uint64_t fence)
{
    uint32_t before = c.ring->errors;
    vgpu_cmd_fence(b, fence);
    submit(b);
    struct vgpu_cmdbuf f;
    static uint8_t fbuf[64];
    vgpu_cmdbuf_init(&f, fbuf, sizeof(fbuf));
    vgpu_cmd_fence(&f, fence);
    submit(&f);
    return vgpu_client_wait_fence(&c, fence, 60000) &&
           __atomic_load_n(&c.ring->errors, __ATOMIC_ACQUIRE) == before + 1;
}

/* What the proxy refuses to this client alone, then endless work. */
static void hostile_commands(void)
{
    struct vgpu_cmdbuf b;
    vgpu_cmdbuf_init(&b, cmds, sizeof(cmds));
    vgpu_cmd_surface_create(&b, 0, VGPU_FMT_XRGB8888, VGPU_TEST_W, VGPU_TEST_H, VGPU_TEST_W * 4,
                            (uintptr_t)pixels);
    vgpu_cmd_fence(&b, 1);
    submit(&b);
    report(vgpu_client_wait_fence(&c, 1, 60000) && c.ring->errors == 0, "its surface was created");

    static const uint32_t junk[3] = { 1, 2, 3 };
    vgpu_cmdbuf_init(&b, cmds, sizeof(cmds));
    vgpu_cmd_raw(&b, 77, junk, sizeof(junk));
    bool r = refused(&b, 2);
    report(r && c.ring->error == VSP_E_BAD_OP, "a command of opcode 77 was refused: \"%s\" at offset %u",
           c.ring->error_text, c.ring->error_offset);

    vgpu_cmdbuf_init(&b, cmds, sizeof(cmds));
    vgpu_cmd_surface_create(&b, 1, VGPU_FMT_XRGB8888, VGPU_TEST_W, VGPU_TEST_H, VGPU_TEST_W * 4,
                            boot.ram_size + 0x100000);
    r = refused(&b, 3);
    report(r && c.ring->error == VSP_E_OUT_OF_RAM, "a surface pointing outside its RAM was refused: \"%s\"",
           c.ring->error_text);

    static const struct vgpu_insn no_endl[] = {
        { VSP_OP_LOOP, 0, 0, 0, 4 }, { VSP_OP_ADD, 2, 2, 3, 0 }, { VSP_OP_END, 0, 0, 0, 0 },
    };
    vgpu_cmdbuf_init(&b, cmds, sizeof(cmds));
    vgpu_cmd_shader_upload(&b, 0, no_endl, 3);
    r = refused(&b, 4);
    report(r && c.ring->error == VSP_E_SHADER_REFUSED, "a shader with a loop that never closes was "
           "refused: \"%s\"", c.ring->error_text);

    /* The costliest shader the verifier takes: 256 x 15 instructions a pixel. */
    static struct vgpu_insn costly[18];
    costly[0] = (struct vgpu_insn){ VSP_OP_LOOP, 0, 0, 0, 256 };
    for (unsigned i = 1; i <= 14; i++)
        costly[i] = (struct vgpu_insn){ VSP_OP_ADD, 2, 2, 0, 0 };
    costly[15] = (struct vgpu_insn){ VSP_OP_ENDL, 0, 0, 0, 0 };
    costly[16] = (struct vgpu_insn){ VSP_OP_END, 0, 0, 0, 0 };
    vgpu_cmdbuf_init(&b, cmds, sizeof(cmds));
    vgpu_cmd_shader_upload(&b, 1, costly, 17);
    vgpu_cmd_fence(&b, 5);
    submit(&b);
    report(vgpu_client_wait_fence(&c, 5, 60000) && c.ring->errors == 3,
           "a shader at the cost limit was taken");
    for (unsigned k = 0; k < 4; k++) {
        vgpu_cmdbuf_init(&b, cmds, sizeof(cmds));
        vgpu_cmd_draw(&b, 0, 1, 0, 0, VGPU_TEST_W, VGPU_TEST_H);
        vgpu_cmd_fence(&b, 6 + k);
        submit(&b);
    }
    uint64_t end = rdtsc() + 3000 * (tsc_hz() / 1000);
    while (rdtsc() < end)
        pause();
    report(vgpu_client_fence_done(&c) < 7, "endless work (4 draws of %u pixels at 3842 instructions "
           "each) is still being cut after 3 s: fence %lu of 9 reached",
           VGPU_TEST_W * VGPU_TEST_H, vgpu_client_fence_done(&c));
}

static void hostile(void)
{
    static uint8_t bitmap[256];
    static struct vgpu_client_info info[4];
    uint64_t ram = boot.ram_size;
    int64_t r = hypercall(HC_VGPU_SURFACE_SHARE, ram, 4, 0, 0);
    report(r == -HC_EFAULT, "a surface outside its RAM is refused (%ld)", r);
    r = hypercall(HC_VGPU_SURFACE_SHARE, (uintptr_t)pixels + 8, 4, 0, 0);
    report(r == -HC_EINVAL, "an unaligned surface is refused (%ld)", r);
    r = hypercall(HC_VGPU_SURFACE_SHARE, (uintptr_t)pixels, VGPU_SURFACE_MAX_PAGES + 1, 0, 0);
    report(r == -HC_EINVAL, "a surface above the size limit is refused (%ld)", r);
    r = hypercall(HC_VGPU_CONNECT, 17, 0, 0, 0);
    report(r == -HC_EINVAL, "another client's ring (channel 17) cannot be passed off as its own (%ld)", r);
    r = hypercall(HC_VGPU_CLIENTS, (uintptr_t)info, 4, 0, 0);
    report(r == -HC_EPERM, "the service's client list is refused to a client (%ld)", r);
    r = hypercall(HC_VGPU_SURFACE_MAP, 2, 1, VGPU_SURFACE_WINDOW, 0);
    report(r == -HC_EPERM, "mapping another client's surface is refused (%ld)", r);
    r = hypercall(HC_VGPU_DAMAGE, 2, 1, (uintptr_t)bitmap, 0);
    report(r == -HC_EPERM, "another client's damage is refused (%ld)", r);
    r = hypercall(HC_DISPLAY_FRAME, 1, 0, 0, 0);
    report(r == -HC_EPERM, "a client cannot hold the display's frame lock (%ld)", r);
    if (cmdline_has("endless"))
        hostile_commands();
    /* A record of a kind no client writes, then wait for the service to have read it. */
    struct vgpu_record junk = { 99, 8 };
    uint32_t at = (uint32_t)(c.head % c.ring->data_bytes);
    memcpy(c.data + at, &junk, sizeof(junk));
    c.head += sizeof(junk) + 8;
    __atomic_store_n(&c.ring->head, c.head, __ATOMIC_RELEASE);
    hypercall(HC_CHANNEL_NOTIFY, (uint64_t)c.ring_handle, 0, 0, 0);
    uint64_t end = rdtsc() + 60000 * (tsc_hz() / 1000);
    while (__atomic_load_n(&c.ring->tail, __ATOMIC_ACQUIRE) != c.head && rdtsc() < end)
        pause();
    report(c.ring->tail == c.head, "the service read the junk record");
}

static void submit(const struct vgpu_cmdbuf *b)
{
    int64_t r;
    while ((r = vgpu_client_submit(&c, b->buf, b->len)) == -HC_ENOSPC)
        pause();
    if (r)
        report_fatal("submit: %ld", r);
}

void test_main(void)
{
    if (!atoll_present()) {
        report_skip("vgpu (not under Atoll)");
        return;
    }
    uint32_t id = (uint32_t)hypercall(HC_PARTITION_INFO, 0, 0, 0, 0);
    static struct vgpu_display d;
    int64_t r = hypercall(HC_DISPLAY_INFO, (uintptr_t)&d, 0, 0, 0);
    report(r == -HC_EPERM, "HC_DISPLAY_INFO refused to a client (%ld)", r);
    vgpu_windows_map();
    uint32_t v = *(volatile uint32_t *)(uintptr_t)VGPU_DISPLAY_GPA;
    report(v == 0xffffffffu, "the framebuffer's address reads all-ones here (%#x): not mapped", v);

    r = vgpu_client_open(&c, ring, VGPU_TEST_CLIENT_VEC);
    if (!report(r == 0, "connected to the video service (partition %u), weight %u (%ld)",
                c.service_id, c.weight, r))
        return;
    int64_t h = vgpu_client_share(&c, pixels, sizeof(pixels));
    report(h > 0, "window surface shared (handle %ld, %u pages)", h,
           (unsigned)((sizeof(pixels) + 4095) / 4096));
    r = hypercall(HC_VGPU_SURFACE_SHARE, (uintptr_t)pixels + 4096, 1, 0, 0);
    report(r == -HC_EINVAL, "a surface overlapping its first is refused (%ld)", r);
    if (cmdline_has("hostile")) {
        hostile();
        return;
    }

    uint32_t colour = vgpu_test_colour(id);
    struct vgpu_cmdbuf b;
    vgpu_cmdbuf_init(&b, cmds, sizeof(cmds));
    vgpu_scene_first(&b, id, (uintptr_t)pixels, 1);
    submit(&b);
    report(vgpu_client_wait_fence(&c, 1, 60000), "first frame presented (fence 1)");
    report((pixels[5 * VGPU_TEST_W + 5] & 0xffffff) == colour,
           "the engine drew into the surface in this partition's RAM (%#x)", pixels[5 * VGPU_TEST_W + 5]);
    uint64_t fence = 2;
    if (cmdline_has("overlays")) {
        vgpu_scene_sources(sources, id);
        h = vgpu_client_share(&c, sources, sizeof(sources));
        vgpu_cmdbuf_init(&b, cmds, sizeof(cmds));
        vgpu_scene_overlays(&b, id, (uintptr_t)sources, ++fence);
        submit(&b);
        report(h > 0 && vgpu_client_wait_fence(&c, fence, 60000) && c.ring->errors == 0,
               "4 overlays of 3 source surfaces in its RAM (YUY2 at 1:1 and 2x, XRGB keyed, "
               "XRGB at alpha 128) shown over its window (fence %lu)", fence);
    }

    /* A command the service refuses: this client's buffer only. */
    vgpu_cmdbuf_init(&b, cmds, sizeof(cmds));
    vgpu_cmd_fill(&b, 9, 0, 0, 8, 8, 0xffffffffu);
    vgpu_cmd_fence(&b, ++fence);
    submit(&b);
    vgpu_cmdbuf_init(&b, cmds, sizeof(cmds));
    vgpu_cmd_fence(&b, fence);
    submit(&b);
    report(vgpu_client_wait_fence(&c, fence, 60000) && c.ring->errors >= 1,
           "a fill of a surface that does not exist was refused to this client: \"%s\" at offset %u",
           c.ring->error_text, c.ring->error_offset);

    /* Saturate: fills into a scratch part of the window, weight times as many buffers. */
    unsigned busy = (cmdline_has("overlays") ? BUSY_WITH_OVERLAYS : BUSY_BUFFERS_PER_WEIGHT) * c.weight;
    for (unsigned i = 0; i < busy; i++) {
        vgpu_cmdbuf_init(&b, cmds, sizeof(cmds));
        vgpu_scene_busy(&b, id, ++fence);
        submit(&b);
    }
    report(vgpu_client_wait_fence(&c, fence, 300000), "%u buffers of fills ran (fence %lu)", busy, fence);

    /* Its own stores into the surface, and no command saying so. */
    vgpu_scene_stripe(pixels);
    vgpu_cmdbuf_init(&b, cmds, sizeof(cmds));
    vgpu_cmd_fence(&b, ++fence);
    submit(&b);
    report(vgpu_client_wait_fence(&c, fence, 60000), "stripe written with plain stores, fence %lu done",
           fence);
    report(vgpu_client_close(&c, 300000), "ring closed; the service handled everything in it");
}
