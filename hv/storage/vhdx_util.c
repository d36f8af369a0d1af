/* Errors, memory, checked storage access and the format's GUID constants. */
#include "hv/storage/vhdx_internal.h"

#include <string.h>

#include "hv/lib/crc32c.h"
#include "hv/lib/format.h"

#define G(d1, d2, d3, ...) { .b = { (uint8_t)(d1), (uint8_t)((d1) >> 8), (uint8_t)((d1) >> 16), \
    (uint8_t)((d1) >> 24), (uint8_t)(d2), (uint8_t)((d2) >> 8), (uint8_t)(d3),                \
    (uint8_t)((d3) >> 8), __VA_ARGS__ } }

const struct guid vhdx_guid_bat_region =
    G(0x2DC27766u, 0xF623u, 0x4200u, 0x9D, 0x64, 0x11, 0x5E, 0x9B, 0xFD, 0x4A, 0x08);
const struct guid vhdx_guid_metadata_region =
    G(0x8B7CA206u, 0x4790u, 0x4B9Au, 0xB8, 0xFE, 0x57, 0x5F, 0x05, 0x0F, 0x88, 0x6E);
const struct guid vhdx_guid_file_parameters =
    G(0xCAA16737u, 0xFA36u, 0x4D43u, 0xB3, 0xB6, 0x33, 0xF0, 0xAA, 0x44, 0xE7, 0x6B);
const struct guid vhdx_guid_disk_size =
    G(0x2FA54224u, 0xCD1Bu, 0x4876u, 0xB2, 0x11, 0x5D, 0xBE, 0xD8, 0x3B, 0xF4, 0xB8);
const struct guid vhdx_guid_disk_id =
    G(0xBECA12ABu, 0xB2E6u, 0x4523u, 0x93, 0xEF, 0xC3, 0x09, 0xE0, 0x00, 0xC7, 0x46);
const struct guid vhdx_guid_logical_sector =
    G(0x8141BF1Du, 0xA96Fu, 0x4709u, 0xBA, 0x47, 0xF2, 0x33, 0xA8, 0xFA, 0xAB, 0x5F);
const struct guid vhdx_guid_physical_sector =
    G(0xCDA348C7u, 0x445Du, 0x4471u, 0x9C, 0xC9, 0xE9, 0x88, 0x52, 0x51, 0xC5, 0x56);
const struct guid vhdx_guid_parent_locator =
    G(0xA8D35F2Du, 0xB30Bu, 0x454Du, 0xAB, 0xF7, 0xD3, 0xD8, 0x48, 0x34, 0xAB, 0x0C);
const struct guid vhdx_guid_locator_type_vhdx =
    G(0xB04AEFB7u, 0xD19Eu, 0x4A81u, 0xB7, 0x89, 0x25, 0xB8, 0xE9, 0x44, 0x59, 0x13);

int vhdx_fail(struct vhdx_err *err, int code, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        fmt_vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

void *vhdx_alloc(const struct vhdx_env *env, size_t size)
{
    return env->alloc(env->ctx, size ? size : 1);
}

void vhdx_free(const struct vhdx_env *env, void *p)
{
    if (p)
        env->free(env->ctx, p);
}

uint64_t vhdx_file_size(const struct vhdx *d)
{
    uint64_t size = d->io.size(d->io.ctx);
    return d->overlay_size > size ? d->overlay_size : size;
}

int vhdx_pread(struct vhdx *d, uint64_t off, void *buf, size_t len, struct vhdx_err *err)
{
    size_t real = len;
    if (d->overlay_size) {
        /* Past the real end, up to the replayed LastFileOffset, the file reads as zeros. */
        uint64_t size = d->io.size(d->io.ctx);
        if (off + len > size && off + len <= d->overlay_size) {
            real = off >= size ? 0 : (size_t)(size - off);
            memset((uint8_t *)buf + real, 0, len - real);
        }
    }
    if (real && d->io.read(d->io.ctx, off, buf, real) < 0)
        return vhdx_fail(err, VHDX_E_IO, "%s: read of %zu bytes at offset %llu failed", d->name,
                         len, (unsigned long long)off);
    if (d->overlay_n)
        vhdx_log_overlay_apply(d, off, buf, len);
    return VHDX_OK;
}

int vhdx_pwrite(struct vhdx *d, uint64_t off, const void *buf, size_t len, struct vhdx_err *err)
{
    if (d->io.write(d->io.ctx, off, buf, len) < 0)
        return vhdx_fail(err, VHDX_E_IO, "%s: write of %zu bytes at offset %llu failed", d->name,
                         len, (unsigned long long)off);
    return VHDX_OK;
}

int vhdx_sync(struct vhdx *d, struct vhdx_err *err)
{
    if (d->io.flush(d->io.ctx) < 0)
        return vhdx_fail(err, VHDX_E_IO, "%s: flush failed", d->name);
    d->apply_pending = false;
    return VHDX_OK;
}

/* CRC-32C of buf with its 4-byte checksum field taken as zero. */
uint32_t vhdx_checksum(const uint8_t *buf, size_t len, size_t csum_off)
{
    static const uint8_t zero[4];
    uint32_t c = crc32c(0, buf, csum_off);
    c = crc32c(c, zero, 4);
    return crc32c(c, buf + csum_off + 4, len - csum_off - 4);
}

bool vhdx_ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

const char *vhdx_status_name(int code)
{
    switch (code) {
    case VHDX_OK: return "ok";
    case VHDX_E_IO: return "I/O error";
    case VHDX_E_CORRUPT: return "corrupt image";
    case VHDX_E_NOMEM: return "out of memory";
    case VHDX_E_INVALID: return "invalid argument";
    case VHDX_E_STALE_PARENT: return "stale parent";
    case VHDX_E_READ_ONLY: return "read-only";
    case VHDX_E_UNSUPPORTED: return "unsupported";
    case VHDX_E_NO_PARENT: return "parent not found";
    default: return "unknown error";
    }
}
