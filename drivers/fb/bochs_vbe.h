/*
 * The Bochs/QEMU VBE display (Bochs DISPI): the VGA adapter Bochs and QEMU (`-vga std`)
 * emulate, PCI 1234:1111 with its linear framebuffer at BAR0, programmed through the
 * index/data ports 0x1ce/0x1cf.  Under GRUB nothing sets a graphics mode for the
 * hypervisor; this driver does, so that both boot paths have a framebuffer to give the
 * video service partition.  Without the PCI function (Bochs's ISA VGA) the DISPI ports
 * still answer and the framebuffer is at the fixed VBE_DISPI_LFB_PHYSICAL_ADDRESS; they
 * are probed only when no other PCI display controller is there.
 */
#ifndef ATOLL_DRIVERS_FB_BOCHS_VBE_H
#define ATOLL_DRIVERS_FB_BOCHS_VBE_H
#include <stdbool.h>
#include <stdint.h>
#include "boot/bootinfo.h"

#define BOCHS_VBE_VENDOR 0x1234
#define BOCHS_VBE_DEVICE 0x1111

struct bochs_vbe_found {
    bool pci;                   /* the PCI function was found (else the ISA adapter) */
    uint8_t bus, dev, fn;
    uint16_t version;           /* DISPI ID, 0xb0c0..0xb0c5 */
    uint64_t vram_bytes;        /* the framebuffer's size: BAR0's, or 64 KiB units */
};

/* Sets a width x height, 32 bpp linear mode (clipped to what the adapter can show) and
 * fills out (format BGRX).  False with one line in why when there is no such adapter or
 * it cannot show the mode. */
bool bochs_vbe_setup(uint32_t width, uint32_t height, struct boot_framebuffer *out,
                     struct bochs_vbe_found *found, char *why, unsigned why_size);

#endif
