/*
 * The display: the framebuffer the loader passed (UEFI GOP, or one GRUB set up) or, under
 * GRUB without one, the Bochs/QEMU VBE adapter's (drivers/fb/bochs_vbe.h), set up when the
 * manifest names a video-service partition.  It belongs to that partition alone: mapped
 * into its guest-physical space at VGPU_DISPLAY_GPA, never into another's, and while it
 * owns it the hypervisor's framebuffer console steps aside (the whole screen; the console
 * goes on on the serial port and comes back to the screen when the partition ends).
 */
#ifndef ATOLL_HV_CORE_DISPLAY_H
#define ATOLL_HV_CORE_DISPLAY_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "boot/bootinfo.h"
#include "hv/core/partition.h"

/* At boot: the loader's framebuffer (format BOOT_FB_NONE when it passed none). */
void display_init(const struct boot_framebuffer *fb);
/* The manifest names service as its video-service partition: without the loader's
 * framebuffer, sets up the VBE adapter's.  One line either way. */
void display_prepare(const char *service);
/* At the creation of the video-service partition: maps the framebuffer into p.  False
 * with one line in err when another partition owns the display. */
bool display_claim(struct partition *p, char *err, size_t err_size);
/* The framebuffer (format BOOT_FB_NONE when there is none). */
struct boot_framebuffer display_framebuffer(void);
/* The owner, or NULL. */
struct partition *display_owner(void);
/* p is ending (before its page tables go): when it owns the display, it is free again. */
void display_release(struct partition *p);
/* HC_DISPLAY_INFO: struct vgpu_display at gpa for the owner; -HC_EPERM (and one line,
 * once per partition) for any other, -HC_ENOENT when there is no framebuffer. */
int64_t display_info_hc(struct partition *p, uint64_t gpa);

#endif
