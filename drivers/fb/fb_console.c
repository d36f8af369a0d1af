#include "drivers/fb/fb_console.h"

#include <string.h>
#include "drivers/fb/psf_font.h"
#include "hv/mm/kmem.h"

/* The font Debian's console-setup-linux ships, linked in by drivers/fb/fb.mk. */
extern const uint8_t _binary_console_font_psf_start[], _binary_console_font_psf_end[];

#define FG 0x00c0c0c0u
#define BG 0x00000000u

static struct {
    bool active;
    volatile bool aside;            /* a partition owns the framebuffer */
    uint8_t *base;
    uint32_t pitch, width, height;
    unsigned cols, rows, x, y;
    struct psf_font font;
} con;

bool fb_console_init(const struct boot_framebuffer *fb)
{
    if (!fb || fb->format == BOOT_FB_NONE || fb->bpp != 32 || !fb->base || !fb->width ||
        fb->pitch < fb->width * 4)
        return false;
    if (!psf_parse(_binary_console_font_psf_start,
                   (size_t)(_binary_console_font_psf_end - _binary_console_font_psf_start), &con.font))
        return false;
    con.base = phys_to_virt(fb->base);
    con.pitch = fb->pitch;
    con.width = fb->width;
    con.height = fb->height;
    con.cols = fb->width / con.font.width;
    con.rows = fb->height / con.font.height;
    if (!con.cols || !con.rows)
        return false;
    for (uint32_t y = 0; y < con.height; y++)
        memset(con.base + (size_t)y * con.pitch, 0, (size_t)con.width * 4);
    con.active = true;
    return true;
}

static void draw(unsigned col, unsigned row, uint8_t c)
{
    const uint8_t *g = psf_glyph(&con.font, c);
    for (uint32_t gy = 0; gy < con.font.height; gy++) {
        uint32_t *px = (uint32_t *)(con.base + (size_t)(row * con.font.height + gy) * con.pitch) +
                       col * con.font.width;
        const uint8_t *bits = g + gy * con.font.bytes_per_row;
        for (uint32_t gx = 0; gx < con.font.width; gx++)
            px[gx] = (bits[gx / 8] & (0x80 >> (gx % 8))) ? FG : BG;
    }
}

static void scroll(void)
{
    size_t line = (size_t)con.font.height * con.pitch;
    memmove(con.base, con.base + line, line * (con.rows - 1));
    for (uint32_t y = 0; y < con.font.height; y++)
        memset(con.base + line * (con.rows - 1) + (size_t)y * con.pitch, 0, (size_t)con.width * 4);
}

static void newline(void)
{
    con.x = 0;
    if (++con.y == con.rows) {
        scroll();
        con.y = con.rows - 1;
    }
}

void fb_console_write(const char *s, size_t n)
{
    if (!con.active || con.aside)
        return;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = (uint8_t)s[i];
        if (c == '\n') {
            newline();
        } else if (c == '\r') {
            con.x = 0;
        } else if (c >= 0x20) {
            if (con.x == con.cols)
                newline();
            draw(con.x++, con.y, c);
        }
    }
}

bool fb_console_step_aside(bool aside)
{
    if (!con.active)
        return false;
    if (!aside) {
        for (uint32_t y = 0; y < con.height; y++)
            memset(con.base + (size_t)y * con.pitch, 0, (size_t)con.width * 4);
        con.x = con.y = 0;
    }
    __atomic_store_n(&con.aside, aside, __ATOMIC_SEQ_CST);
    return true;
}

void fb_console_size(unsigned *cols, unsigned *rows)
{
    *cols = con.active ? con.cols : 0;
    *rows = con.active ? con.rows : 0;
}
