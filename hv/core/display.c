#include "hv/core/display.h"

#include <string.h>
#include "drivers/fb/bochs_vbe.h"
#include "drivers/fb/fb_console.h"
#include "hv/arch/x86/console.h"
#include "hv/arch/x86/spinlock.h"
#include "hv/core/hypercall_abi.h"
#include "hv/core/partition_writes.h"
#include "hv/core/vgpu_abi.h"
#include "hv/core/virt.h"
#include "hv/lib/format.h"

/* What a VBE mode costs an emulator to fill: small enough for Bochs, big enough to show
 * three clients side by side. */
#define VBE_WIDTH  640
#define VBE_HEIGHT 480

static spinlock_t lock = SPINLOCK_INIT;
static struct boot_framebuffer fb;
static struct partition *owner;
static uint64_t refused_ids;        /* partitions told no once (bit id - 1) */

static uint64_t mapped_bytes(void)
{
    return ((uint64_t)fb.pitch * fb.height + VGPU_PAGE_SIZE - 1) & ~(VGPU_PAGE_SIZE - 1);
}

void display_init(const struct boot_framebuffer *boot_fb)
{
    if (boot_fb && boot_fb->format != BOOT_FB_NONE && boot_fb->bpp == 32 && boot_fb->base &&
        boot_fb->width && boot_fb->pitch >= boot_fb->width * 4)
        fb = *boot_fb;
}

void display_prepare(const char *service)
{
    if (fb.format != BOOT_FB_NONE) {
        kprintf("atoll: display: the loader's %ux%u framebuffer at %#lx is for partition %s\n",
                fb.width, fb.height, fb.base, service);
        return;
    }
    struct bochs_vbe_found found;
    char why[160];
    if (!bochs_vbe_setup(VBE_WIDTH, VBE_HEIGHT, &fb, &found, why, sizeof(why))) {
        fb.format = BOOT_FB_NONE;
        kprintf("atoll: display: no framebuffer for partition %s: %s\n", service, why);
        return;
    }
    if (found.pci)
        kprintf("atoll: display: Bochs VBE %#x (PCI %02x:%02x.%x, %lu KiB) set to %ux%u, 32 bpp, "
                "framebuffer at %#lx, for partition %s\n", found.version, found.bus, found.dev,
                found.fn, found.vram_bytes >> 10, fb.width, fb.height, fb.base, service);
    else
        kprintf("atoll: display: Bochs VBE %#x (ISA, %lu KiB) set to %ux%u, 32 bpp, framebuffer "
                "at %#lx, for partition %s\n", found.version, found.vram_bytes >> 10, fb.width,
                fb.height, fb.base, service);
}

struct boot_framebuffer display_framebuffer(void)
{
    return fb;
}

struct partition *display_owner(void)
{
    return __atomic_load_n(&owner, __ATOMIC_ACQUIRE);
}

bool display_claim(struct partition *p, char *err, size_t err_size)
{
    uint64_t f = spin_lock_irqsave(&lock);
    if (owner && owner != p) {
        fmt_snprintf(err, err_size, "partition %s: refused: the display belongs to partition "
                     "%s (one video-service partition at a time)", p->name, owner->name);
        spin_unlock_irqrestore(&lock, f);
        return false;
    }
    owner = p;
    spin_unlock_irqrestore(&lock, f);
    if (fb.format == BOOT_FB_NONE) {
        kprintf("atoll: display: partition %s owns the display, which has no framebuffer\n",
                p->name);
        return true;
    }
    uint64_t bytes = mapped_bytes();
    for (uint64_t off = 0; off < bytes; off += VGPU_PAGE_SIZE)
        if (!virt_map_foreign(p, VGPU_DISPLAY_GPA + off, fb.base + off, true,
                              VIRT_MEMTYPE_WC)) {
            for (uint64_t k = 0; k < off; k += VGPU_PAGE_SIZE)
                virt_unmap_foreign(p, VGPU_DISPLAY_GPA + k);
            __atomic_store_n(&owner, NULL, __ATOMIC_RELEASE);
            fmt_snprintf(err, err_size, "partition %s: cannot map the framebuffer", p->name);
            return false;
        }
    bool was_drawing = fb_console_step_aside(true);
    kprintf("atoll: display: the %ux%u framebuffer belongs to partition %s (%lu KiB at guest-physical "
            "%#llx); the hypervisor's console %s\n", fb.width, fb.height, p->name, bytes >> 10,
            VGPU_DISPLAY_GPA, was_drawing ? "steps aside to the serial port" : "stays on the serial port");
    return true;
}

void display_release(struct partition *p)
{
    uint64_t f = spin_lock_irqsave(&lock);
    bool was = owner == p;
    if (was)
        owner = NULL;
    spin_unlock_irqrestore(&lock, f);
    if (was && fb_console_step_aside(false))
        kprintf("atoll: display: partition %s ended; the console has the framebuffer again\n",
                p->name);
}

int64_t display_info_hc(struct partition *p, uint64_t gpa)
{
    if (display_owner() != p) {
        uint64_t bit = p->id >= 1 && p->id <= 64 ? 1ull << (p->id - 1) : 0;
        if (!(__atomic_fetch_or(&refused_ids, bit, __ATOMIC_ACQ_REL) & bit)) {
            struct partition *o = display_owner();
            kprintf("atoll: display: partition %s may not map the framebuffer: refused (%s)\n",
                    p->name, o ? "it belongs to the video-service partition" : "no video-service partition");
        }
        return -HC_EPERM;
    }
    if (fb.format == BOOT_FB_NONE)
        return -HC_ENOENT;
    struct vgpu_display d = {
        .gpa = VGPU_DISPLAY_GPA, .bytes = mapped_bytes(), .width = fb.width,
        .height = fb.height, .pitch = fb.pitch,
        .format = fb.format == BOOT_FB_RGBX ? VGPU_FORMAT_RGBX : VGPU_FORMAT_BGRX,
    };
    if (!guest_mem_write(&p->mem, gpa, &d, sizeof(d)))
        return -HC_EFAULT;
    partition_writes_note(p, gpa, sizeof(d));
    return 0;
}
