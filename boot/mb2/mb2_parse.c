#include "boot/mb2/mb2_parse.h"
#include "hv/lib/le.h"

#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

#include "hv/lib/format.h"

#define MB2_MMAP_ENTRY_MIN 24
#define MB2_FB_COMMON_SIZE 30   /* up to and including framebuffer_type */
#define MB2_FB_RGB_SIZE    38   /* plus the six colour field bytes */
#define RSDP_V1_SIZE       20
#define RSDP_V2_SIZE       36

struct parser {
    const uint8_t *base;
    size_t total;
    uint64_t phys;
    struct boot_info *out;
    char *err;
    size_t err_size;
    bool seen_cmdline, seen_mmap, seen_fb, seen_acpi_new;
};

struct tag {
    size_t off;      /* offset of the tag header in the block */
    uint32_t type;
    uint32_t size;   /* header included */
};

__attribute__((format(printf, 3, 4)))
static int fail_at(struct parser *ps, const struct tag *t, const char *fmt, ...)
{
    char detail[160];
    va_list ap;
    va_start(ap, fmt);
    fmt_vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    if (t)
        fmt_snprintf(ps->err, ps->err_size, "multiboot2: tag type %u at offset %zu: %s",
                     t->type, t->off, detail);
    else
        fmt_snprintf(ps->err, ps->err_size, "multiboot2: %s", detail);
    return -1;
}

/* The NUL-terminated string at payload offset `at` of the tag; NULL if it has no NUL. */
static const char *tag_string(const struct parser *ps, const struct tag *t, size_t at, size_t *len)
{
    if (at >= t->size)
        return NULL;
    const char *s = (const char *)ps->base + t->off + at;
    const char *nul = memchr(s, 0, t->size - at);
    if (!nul)
        return NULL;
    *len = (size_t)(nul - s);
    return s;
}

static int parse_cmdline(struct parser *ps, const struct tag *t)
{
    size_t len;
    const char *s = tag_string(ps, t, 8, &len);
    if (ps->seen_cmdline)
        return fail_at(ps, t, "second command-line tag");
    if (!s)
        return fail_at(ps, t, "command line is not NUL-terminated inside its tag");
    if (len >= BOOTINFO_CMDLINE)
        return fail_at(ps, t, "command line is %zu bytes, more than %d", len,
                       BOOTINFO_CMDLINE - 1);
    memcpy(ps->out->cmdline, s, len + 1);
    ps->seen_cmdline = true;
    return 0;
}

static int check_module_clash(struct parser *ps, const struct tag *t, const struct boot_module *m)
{
    for (uint32_t i = 0; i < ps->out->module_count; i++) {
        const struct boot_module *o = &ps->out->modules[i];
        if (strcmp(o->name, m->name) == 0)
            return fail_at(ps, t, "module '%s' appears twice", m->name);
        bool overlap = m->base < o->base + o->length && o->base < m->base + m->length;
        if (m->length && o->length && overlap)
            return fail_at(ps, t, "module '%s' overlaps module '%s'", m->name, o->name);
    }
    return 0;
}

static int parse_module(struct parser *ps, const struct tag *t)
{
    size_t len;
    if (t->size < 17)
        return fail_at(ps, t, "module tag size %u is below 17", t->size);
    uint32_t start = le32(ps->base + t->off + 8), end = le32(ps->base + t->off + 12);
    const char *name = tag_string(ps, t, 16, &len);
    if (!name)
        return fail_at(ps, t, "module name is not NUL-terminated inside its tag");
    if (len == 0)
        return fail_at(ps, t, "module has no name (give module2 the file name as its argument)");
    if (len >= BOOTINFO_NAME_LEN)
        return fail_at(ps, t, "module name is %zu bytes, more than %d", len, BOOTINFO_NAME_LEN - 1);
    if (end < start)
        return fail_at(ps, t, "module ends (%#x) before it starts (%#x)", end, start);
    if (ps->out->module_count >= BOOTINFO_MAX_MODS)
        return fail_at(ps, t, "more than %d modules", BOOTINFO_MAX_MODS);
    struct boot_module m = { .base = start, .length = end - start };
    memcpy(m.name, name, len + 1);
    if (check_module_clash(ps, t, &m))
        return -1;
    ps->out->modules[ps->out->module_count++] = m;
    return 0;
}

static uint32_t mem_type(uint32_t mb2_type)
{
    switch (mb2_type) {
    case 1: return BOOT_MEM_USABLE;
    case 3: return BOOT_MEM_ACPI_RECLAIM;
    case 4: return BOOT_MEM_ACPI_NVS;
    case 5: return BOOT_MEM_BAD;
    default: return BOOT_MEM_RESERVED;
    }
}

static int parse_mmap(struct parser *ps, const struct tag *t)
{
    if (ps->seen_mmap)
        return fail_at(ps, t, "second memory-map tag");
    if (t->size < 16)
        return fail_at(ps, t, "memory-map tag size %u is below 16", t->size);
    uint32_t esize = le32(ps->base + t->off + 8);
    if (esize < MB2_MMAP_ENTRY_MIN || esize % 8)
        return fail_at(ps, t, "memory-map entry size %u (must be a multiple of 8, at least 24)",
                       esize);
    if ((t->size - 16) % esize)
        return fail_at(ps, t, "memory-map tag size %u is not 16 plus whole entries of %u",
                       t->size, esize);
    size_t count = (t->size - 16) / esize;
    if (count > BOOTINFO_MAX_MEM)
        return fail_at(ps, t, "memory map has %zu entries, more than %d", count, BOOTINFO_MAX_MEM);
    for (size_t i = 0; i < count; i++) {
        const uint8_t *e = ps->base + t->off + 16 + i * esize;
        ps->out->mem[i] = (struct boot_mem_range){
            .base = le64(e), .length = le64(e + 8), .type = mem_type(le32(e + 16)),
        };
    }
    ps->out->mem_count = (uint32_t)count;
    ps->seen_mmap = true;
    return 0;
}

static uint32_t fb_format(const uint8_t *color, uint32_t bpp)
{
    /* color: red position, red size, green position, green size, blue position, blue size */
    if (bpp != 32 || color[1] != 8 || color[3] != 8 || color[5] != 8 || color[2] != 8)
        return BOOT_FB_NONE;
    if (color[0] == 16 && color[4] == 0)
        return BOOT_FB_BGRX;
    if (color[0] == 0 && color[4] == 16)
        return BOOT_FB_RGBX;
    return BOOT_FB_NONE;
}

static int parse_framebuffer(struct parser *ps, const struct tag *t)
{
    const uint8_t *p = ps->base + t->off;
    if (ps->seen_fb)
        return fail_at(ps, t, "second framebuffer tag");
    if (t->size < MB2_FB_COMMON_SIZE)
        return fail_at(ps, t, "framebuffer tag size %u is below %d", t->size, MB2_FB_COMMON_SIZE);
    ps->seen_fb = true;
    if (p[29] != 1)
        return 0;   /* indexed colour or EGA text: no pixel framebuffer to use */
    if (t->size < MB2_FB_RGB_SIZE)
        return fail_at(ps, t, "RGB framebuffer tag size %u is below %d", t->size, MB2_FB_RGB_SIZE);
    struct boot_framebuffer fb = {
        .base = le64(p + 8), .pitch = le32(p + 16), .width = le32(p + 20),
        .height = le32(p + 24), .bpp = p[28], .format = fb_format(p + 32, p[28]),
    };
    if (fb.format == BOOT_FB_NONE)
        return 0;
    if (fb.width == 0 || fb.height == 0 || fb.pitch / 4 < fb.width)
        return fail_at(ps, t, "framebuffer pitch %u does not hold a line of width %u",
                       fb.pitch, fb.width);
    if ((uint64_t)fb.pitch * fb.height > UINT64_MAX - fb.base)
        return fail_at(ps, t, "framebuffer at %#llx wraps the address space",
                       (unsigned long long)fb.base);
    ps->out->fb = fb;
    return 0;
}

static int parse_acpi(struct parser *ps, const struct tag *t, bool is_new)
{
    uint32_t need = 8 + (is_new ? RSDP_V2_SIZE : RSDP_V1_SIZE);
    if (t->size < need)
        return fail_at(ps, t, "ACPI RSDP tag size %u is below %u", t->size, need);
    if (memcmp(ps->base + t->off + 8, "RSD PTR ", 8) != 0)
        return fail_at(ps, t, "ACPI RSDP copy has no 'RSD PTR ' signature");
    if (is_new || !ps->seen_acpi_new)
        ps->out->rsdp = ps->phys + t->off + 8;
    ps->seen_acpi_new |= is_new;
    return 0;
}

static int parse_tag(struct parser *ps, const struct tag *t)
{
    switch (t->type) {
    case MB2_TAG_CMDLINE: return parse_cmdline(ps, t);
    case MB2_TAG_MODULE: return parse_module(ps, t);
    case MB2_TAG_MMAP: return parse_mmap(ps, t);
    case MB2_TAG_FRAMEBUFFER: return parse_framebuffer(ps, t);
    case MB2_TAG_ACPI_OLD: return parse_acpi(ps, t, false);
    case MB2_TAG_ACPI_NEW: return parse_acpi(ps, t, true);
    default: return 0;   /* tags we do not use */
    }
}

static int parse_tags(struct parser *ps)
{
    size_t off = 8;
    while (off + 8 <= ps->total) {
        struct tag t = { off, le32(ps->base + off), le32(ps->base + off + 4) };
        if (t.size < 8)
            return fail_at(ps, &t, "tag size %u is below 8", t.size);
        if (t.size > ps->total - off)
            return fail_at(ps, &t, "tag size %u runs past total_size %zu", t.size, ps->total);
        if (t.type == MB2_TAG_END)
            return t.size == 8 ? 0 : fail_at(ps, &t, "end tag size %u is not 8", t.size);
        if (parse_tag(ps, &t))
            return -1;
        off += ((size_t)t.size + 7) & ~(size_t)7;
    }
    return fail_at(ps, NULL, "tag list has no end tag within total_size %zu", ps->total);
}

int mb2_parse(const void *mbi, size_t avail, uint64_t mbi_phys, struct boot_info *out,
              char *err, size_t err_size)
{
    struct parser ps = { .base = mbi, .phys = mbi_phys, .out = out, .err = err,
                         .err_size = err_size };
    memset(out, 0, sizeof(*out));
    out->magic = BOOTINFO_MAGIC;
    out->version = BOOTINFO_VERSION;
    out->loader = BOOT_LOADER_MULTIBOOT2;
    if (!mbi || (((uintptr_t)mbi | mbi_phys) & 7))
        return fail_at(&ps, NULL, "information block at %#llx is not 8-byte aligned",
                       (unsigned long long)mbi_phys);
    if (avail < 16)
        return fail_at(&ps, NULL, "information block of %zu bytes is too small", avail);
    ps.total = le32(ps.base);
    if (ps.total < 16)
        return fail_at(&ps, NULL, "total_size %zu is below 16", ps.total);
    if (ps.total > avail)
        return fail_at(&ps, NULL, "total_size %zu is more than the %zu bytes available",
                       ps.total, avail);
    if (parse_tags(&ps))
        return -1;
    if (!ps.seen_mmap)
        return fail_at(&ps, NULL, "no memory-map tag (type 6)");
    return 0;
}
