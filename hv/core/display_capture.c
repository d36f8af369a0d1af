#include "hv/core/display_capture.h"

#include "hv/arch/x86/console.h"
#include "hv/core/display.h"
#include "hv/core/snapshot_pool.h"
#include "hv/core/vgpu.h"
#include "hv/lib/format.h"
#include "hv/lib/png_write.h"
#include "hv/mm/kmem.h"

#define CAPTURE_WAIT_NS 500000000ull  /* for the service's compose in progress to end */

struct pool_sink {
    struct snap_io io;
    uint64_t off;
};

static int to_pool(void *ctx, const void *buf, size_t len)
{
    struct pool_sink *s = ctx;
    int rc = s->io.write(s->io.ctx, s->off, buf, len);
    s->off += len;
    return rc ? 1 : 0;
}

static bool say(bool ok, char *msg, size_t msg_size, const char *path, const char *what)
{
    fmt_snprintf(msg, msg_size, "atoll: capture: %s%s%s", path, ok ? ": " : " failed: ", what);
    kprintf("%s\n", msg);
    return ok;
}

bool display_capture(const char *path, char *msg, size_t msg_size)
{
    static struct snapshot_pool_file pf;       /* one capture at a time: the script's CPU */
    char why[200];
    struct boot_framebuffer fb = display_framebuffer();
    if (fb.format == BOOT_FB_NONE)
        return say(false, msg, msg_size, path, "there is no framebuffer");
    if (!snapshot_path_valid(path))
        return say(false, msg, msg_size, path, "not a name the pool takes");
    struct pool_sink sink = { .off = 0 };
    if (!snapshot_pool_create(&pf, path, &sink.io, why, sizeof(why)))
        return say(false, msg, msg_size, path, why);
    struct png_image img = { phys_to_virt(fb.base), fb.width, fb.height, fb.pitch,
                             fb.format == BOOT_FB_RGBX ? PNG_RGBX : PNG_BGRX };
    if (!vgpu_display_hold(CAPTURE_WAIT_NS)) {
        snapshot_pool_abort(&pf);
        return say(false, msg, msg_size, path, "the video service was composing a frame for "
                   "longer than 500 ms");
    }
    int rc = png_write(&img, to_pool, &sink);
    vgpu_display_release();
    if (rc) {
        snapshot_pool_abort(&pf);
        fmt_snprintf(why, sizeof(why), "%s", rc < 0 ? "the framebuffer's geometry is not one a "
                     "PNG takes" : "writing to the pool failed");
        return say(false, msg, msg_size, path, why);
    }
    if (!snapshot_pool_commit(&pf, why, sizeof(why)))
        return say(false, msg, msg_size, path, why);
    fmt_snprintf(why, sizeof(why), "%ux%u PNG, %lu bytes", fb.width, fb.height, sink.off);
    return say(true, msg, msg_size, path, why);
}
