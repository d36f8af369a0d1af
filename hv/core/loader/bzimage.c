#include "hv/core/loader/bzimage.h"
#include "hv/core/loader/loader_common.h"
#include "hv/lib/le.h"

#define BZ_MIN_FILE  0x400u        /* the boot sector and one setup sector hold the header */
#define KINFO_FIXED  16u           /* header, size, size_total, setup_type_max */

static int protocol_checks(const uint8_t *img, const char *name, struct bzimage *bz,
                           char *err, size_t err_size)
{
    bz->version = le16(img + BZ_VERSION);
    if (bz->version < BZ_PROTOCOL_MIN)
        return loader_fail(err, err_size,
                           "%s: boot protocol %u.%02u is too old: Atoll needs 2.12 or later "
                           "(Linux 3.8+), whose xloadflags announce the 64-bit entry point",
                           name, bz->version >> 8, bz->version & 0xffu);
    if (!(img[BZ_LOADFLAGS] & BZ_LOADED_HIGH))
        return loader_fail(err, err_size,
                           "%s: a zImage (loadflags without LOADED_HIGH): only bzImages are supported",
                           name);
    bz->xloadflags = le16(img + BZ_XLOADFLAGS);
    if (!(bz->xloadflags & BZ_XLF_KERNEL_64))
        return loader_fail(err, err_size,
                           "%s: xloadflags %#x lack XLF_KERNEL_64: no 64-bit entry point "
                           "(a 32-bit kernel?), and Atoll enters Linux only through it",
                           name, bz->xloadflags);
    /* The jump at 0x200 skips the header: its offset gives the header's length. */
    unsigned end = BZ_HEADER + (unsigned)(int8_t)img[BZ_JUMP + 1];
    unsigned need = bz->version >= BZ_PROTOCOL_KINFO ? BZ_KERNEL_INFO + 4 : BZ_KERNEL_INFO;
    if (img[BZ_JUMP] != 0xeb || end < need || end > BZ_HEADER_MAX_END)
        return loader_fail(err, err_size,
                           "%s: setup header ends at %#x (the jump at 0x200), not between %#x "
                           "(protocol %u.%02u's fields) and %#x",
                           name, end, need, bz->version >> 8, bz->version & 0xffu,
                           BZ_HEADER_MAX_END);
    bz->header_end = end;
    return 0;
}

static int layout_checks(const uint8_t *img, size_t len, const char *name, struct bzimage *bz,
                         char *err, size_t err_size)
{
    unsigned sects = img[BZ_SETUP_SECTS] ? img[BZ_SETUP_SECTS] : 4;   /* 0 means 4 */
    bz->setup_len = ((uint64_t)sects + 1) * 512;
    if (bz->setup_len >= len)
        return loader_fail(err, err_size,
                           "%s: setup_sects %u puts the setup code (%llu bytes) past the end of "
                           "the %llu-byte file", name, sects,
                           (unsigned long long)bz->setup_len, (unsigned long long)len);
    bz->kernel_len = (uint64_t)le32(img + BZ_SYSSIZE) * 16;
    if (bz->kernel_len == 0 || !range_in(bz->setup_len, bz->kernel_len, len))
        return loader_fail(err, err_size,
                           "%s: syssize says %llu bytes of protected-mode code, the file holds "
                           "%llu after the setup", name, (unsigned long long)bz->kernel_len,
                           (unsigned long long)(len - bz->setup_len));
    uint32_t payload = le32(img + BZ_PAYLOAD_OFFSET), payload_len = le32(img + BZ_PAYLOAD_LENGTH);
    if (payload_len && !range_in(payload, payload_len, bz->kernel_len))
        return loader_fail(err, err_size,
                           "%s: payload_offset %#x + payload_length %#x lie outside the %llu "
                           "bytes of protected-mode code", name, payload, payload_len,
                           (unsigned long long)bz->kernel_len);
    return 0;
}

static int placement_checks(const uint8_t *img, const char *name, struct bzimage *bz,
                            char *err, size_t err_size)
{
    bz->relocatable = img[BZ_RELOCATABLE] != 0;
    bz->kernel_alignment = le32(img + BZ_KERNEL_ALIGNMENT);
    bz->pref_address = le64(img + BZ_PREF_ADDRESS);
    bz->init_size = le32(img + BZ_INIT_SIZE);
    bz->initrd_addr_max = le32(img + BZ_INITRD_ADDR_MAX);
    bz->cmdline_size = le32(img + BZ_CMDLINE_SIZE);
    uint32_t a = bz->kernel_alignment;
    unsigned min = img[BZ_MIN_ALIGNMENT];
    if (bz->relocatable && (a < 0x1000 || a > 0x40000000u || (a & (a - 1))))
        return loader_fail(err, err_size,
                           "%s: relocatable kernel with kernel_alignment %#x, not a power of two "
                           "from 4 KiB to 1 GiB", name, a);
    if (bz->relocatable && min && (min > 30 || (1u << min) > a))
        return loader_fail(err, err_size,
                           "%s: min_alignment 2^%u is more than kernel_alignment %#x",
                           name, min, a);
    if (bz->init_size == 0)
        return loader_fail(err, err_size,
                           "%s: init_size is 0: the kernel does not say how much memory it needs "
                           "to start", name);
    return 0;
}

/* kernel_info (2.15+): "LToP", its size and total size inside the protected-mode code. */
static int kernel_info_checks(const uint8_t *img, const char *name, struct bzimage *bz,
                              char *err, size_t err_size)
{
    bz->setup_type_max = 0;
    uint32_t off = bz->version >= BZ_PROTOCOL_KINFO ? le32(img + BZ_KERNEL_INFO) : 0;
    if (!off)
        return 0;
    if (!range_in(off, KINFO_FIXED, bz->kernel_len))
        return loader_fail(err, err_size,
                           "%s: kernel_info_offset %#x lies outside the protected-mode code",
                           name, off);
    const uint8_t *ki = img + bz->setup_len + off;
    uint32_t size = le32(ki + 4), total = le32(ki + 8);
    if (le32(ki) != BZ_KINFO_MAGIC || size < KINFO_FIXED || size > total ||
        !range_in(off, total, bz->kernel_len))
        return loader_fail(err, err_size,
                           "%s: kernel_info at %#x is not an LToP block of at least %u bytes "
                           "inside the protected-mode code", name, off, KINFO_FIXED);
    bz->setup_type_max = le32(ki + 12);
    return 0;
}

int bzimage_parse(const uint8_t *img, size_t len, const char *name, struct bzimage *bz,
                  char *err, size_t err_size)
{
    if (len < BZ_MIN_FILE)
        return loader_fail(err, err_size, "%s: %llu bytes, too short for a bzImage setup header",
                           name, (unsigned long long)len);
    if (le16(img + BZ_BOOT_FLAG) != 0xaa55)
        return loader_fail(err, err_size, "%s: bzImage without the 0xAA55 boot flag", name);
    if (le32(img + BZ_HEADER) != 0x53726448u)
        return loader_fail(err, err_size,
                           "%s: no \"HdrS\" setup header: a kernel older than boot protocol 2.00",
                           name);
    if (protocol_checks(img, name, bz, err, err_size) != 0 ||
        layout_checks(img, len, name, bz, err, err_size) != 0 ||
        placement_checks(img, name, bz, err, err_size) != 0 ||
        kernel_info_checks(img, name, bz, err, err_size) != 0)
        return -1;
    return 0;
}
