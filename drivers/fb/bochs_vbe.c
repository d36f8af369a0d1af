#include "drivers/fb/bochs_vbe.h"

#include "drivers/pci/pci.h"
#include "hv/arch/x86/cpu.h"
#include "hv/lib/format.h"

#define DISPI_INDEX 0x1ce
#define DISPI_DATA  0x1cf

enum dispi_index {
    DISPI_ID = 0, DISPI_XRES = 1, DISPI_YRES = 2, DISPI_BPP = 3, DISPI_ENABLE = 4,
    DISPI_BANK = 5, DISPI_VIRT_WIDTH = 6, DISPI_VIRT_HEIGHT = 7, DISPI_X_OFFSET = 8,
    DISPI_Y_OFFSET = 9, DISPI_VIDEO_MEMORY_64K = 10,
};

#define DISPI_ID0           0xb0c0
#define DISPI_ID5           0xb0c5
#define DISPI_ENABLED       0x01
#define DISPI_GETCAPS       0x02
#define DISPI_LFB_ENABLED   0x40
#define DISPI_ISA_LFB       0xe0000000ull  /* VBE_DISPI_LFB_PHYSICAL_ADDRESS */

static void dispi_write(enum dispi_index i, uint16_t v)
{
    outw(DISPI_INDEX, (uint16_t)i);
    outw(DISPI_DATA, v);
}

static uint16_t dispi_read(enum dispi_index i)
{
    outw(DISPI_INDEX, (uint16_t)i);
    return inw(DISPI_DATA);
}

struct scan { struct pci_device dev; bool found; bool other_display; };

#define PCI_CLASS_DISPLAY 0x03

static bool is_bochs_vga(const struct pci_device *d, void *ctx)
{
    struct scan *s = ctx;
    if (d->vendor != BOCHS_VBE_VENDOR || d->device != BOCHS_VBE_DEVICE) {
        s->other_display |= d->class_code == PCI_CLASS_DISPLAY;
        return false;
    }
    s->dev = *d;
    s->found = true;
    return true;
}

bool bochs_vbe_setup(uint32_t width, uint32_t height, struct boot_framebuffer *out,
                     struct bochs_vbe_found *found, char *why, unsigned why_size)
{
    struct scan s = { .found = false };
    pci_scan(is_bochs_vga, &s);
    *found = (struct bochs_vbe_found){ .pci = s.found, .bus = s.dev.bus, .dev = s.dev.dev,
                                       .fn = s.dev.fn };
    /* Ports 0x1ce/0x1cf are another adapter's on real machines (ATI's extended VGA
     * registers): probed only where no other display controller is on the bus. */
    if (!s.found && s.other_display) {
        fmt_snprintf(why, why_size, "no Bochs VBE adapter (another display controller is on "
                     "the PCI bus; its framebuffer needs UEFI GOP or a GRUB graphics mode)");
        return false;
    }
    /* Ask for the newest interface; the adapter answers with the one it has. */
    dispi_write(DISPI_ID, DISPI_ID5);
    uint16_t id = dispi_read(DISPI_ID);
    if (id < DISPI_ID0 || id > DISPI_ID5) {
        fmt_snprintf(why, why_size, "no Bochs VBE adapter (DISPI ID %#x%s)", id,
                     s.found ? ", though PCI 1234:1111 is there" : "");
        return false;
    }
    found->version = id;
    uint64_t base = DISPI_ISA_LFB, size = 0;
    if (s.found) {
        struct pci_bar bar;
        if (!pci_bar_read(&s.dev, 0, &bar) || bar.io || !bar.size || !bar.base ||
            bar.base + bar.size > (1ull << 32)) {
            fmt_snprintf(why, why_size, "PCI %02x:%02x.%x: BAR0 is not a framebuffer below 4 GiB",
                         s.dev.bus, s.dev.dev, s.dev.fn);
            return false;
        }
        pci_enable(&s.dev, PCI_CMD_MEMORY);
        base = bar.base;
        size = bar.size;
    }
    if (id >= 0xb0c2) {             /* video memory size register: 0xb0c2 and later */
        uint64_t vram = (uint64_t)dispi_read(DISPI_VIDEO_MEMORY_64K) << 16;
        if (vram && (!size || vram < size))
            size = vram;
    }
    if (!size)
        size = 4ull << 20;          /* the smallest any Bochs or QEMU adapter has */
    found->vram_bytes = size;

    dispi_write(DISPI_ENABLE, DISPI_GETCAPS);
    uint32_t max_w = dispi_read(DISPI_XRES), max_h = dispi_read(DISPI_YRES);
    dispi_write(DISPI_ENABLE, 0);
    if (max_w && width > max_w)
        width = max_w;
    if (max_h && height > max_h)
        height = max_h;
    width &= ~7u;
    if (!width || !height || (uint64_t)width * height * 4 > size) {
        fmt_snprintf(why, why_size, "a %ux%u 32 bpp mode does not fit in %lu KiB of video memory",
                     width, height, size >> 10);
        return false;
    }
    dispi_write(DISPI_XRES, (uint16_t)width);
    dispi_write(DISPI_YRES, (uint16_t)height);
    dispi_write(DISPI_BPP, 32);
    dispi_write(DISPI_BANK, 0);
    dispi_write(DISPI_ENABLE, DISPI_ENABLED | DISPI_LFB_ENABLED);
    dispi_write(DISPI_X_OFFSET, 0);
    dispi_write(DISPI_Y_OFFSET, 0);
    uint32_t got_w = dispi_read(DISPI_XRES), got_h = dispi_read(DISPI_YRES);
    uint32_t bpp = dispi_read(DISPI_BPP), virt_w = dispi_read(DISPI_VIRT_WIDTH);
    if (got_w != width || got_h != height || bpp != 32 || virt_w < width) {
        dispi_write(DISPI_ENABLE, 0);
        fmt_snprintf(why, why_size, "the adapter refused %ux%u at 32 bpp (it shows %ux%u at %u bpp)",
                     width, height, got_w, got_h, bpp);
        return false;
    }
    *out = (struct boot_framebuffer){
        .base = base, .width = width, .height = height, .pitch = virt_w * 4, .bpp = 32,
        .format = BOOT_FB_BGRX,
    };
    return true;
}
