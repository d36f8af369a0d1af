/* A text console drawn on a linear 32-bit framebuffer (UEFI GOP, or one GRUB set up). */
#ifndef ATOLL_DRIVERS_FB_FB_CONSOLE_H
#define ATOLL_DRIVERS_FB_FB_CONSOLE_H
#include <stdbool.h>
#include <stddef.h>
#include "boot/bootinfo.h"

/* False when there is no usable framebuffer or font; the console then stays serial-only. */
bool fb_console_init(const struct boot_framebuffer *fb);
void fb_console_write(const char *s, size_t n);
/* aside: the framebuffer belongs to a partition now (the video service); nothing more is
 * drawn until it comes back, which clears the screen and starts again at the top.
 * Returns whether the console was drawing on it. */
bool fb_console_step_aside(bool aside);
/* Columns and rows, 0 when not active. */
void fb_console_size(unsigned *cols, unsigned *rows);

#endif
