/*
 * GPT reader.  Every field is checked before use: header size and CRC, its own LBA, the
 * entry array's place, count, entry size and CRC, and each partition's range against the
 * usable area.  A damaged primary falls back to the backup header at the last LBA.
 */
#include "hv/storage/gpt.h"
#include "hv/lib/le.h"

#include <string.h>
#include "hv/lib/format.h"

#define GPT_SIG "EFI PART"
#define GPT_MAX_SECTOR 4096
#define GPT_MAX_ENTRIES 1024

const struct guid gpt_type_basic_data = { { 0xa2, 0xa0, 0xd0, 0xeb, 0xe5, 0xb9, 0x33, 0x44,
                                            0x87, 0xc0, 0x68, 0xb6, 0xb7, 0x26, 0x99, 0xc7 } };

struct gpt_header {
    uint64_t my_lba, alt_lba, first_usable, last_usable;
    uint64_t entries_lba;
    uint32_t entry_count, entry_size, entries_crc;
};

uint32_t gpt_crc32(uint32_t crc, const void *data, size_t len)
{
    const uint8_t *p = data;
    crc = ~crc;
    while (len--) {
        crc ^= *p++;
        for (int k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xedb88320u & -(crc & 1));
    }
    return ~crc;
}

static void set_err(char *err, size_t size, const char *msg)
{
    if (err && size)
        fmt_snprintf(err, size, "gpt: %s", msg);
}

/* Reads and checks the header at lba; a one-line reason in *why when it is not valid. */
static int read_header(const struct block_io *io, uint64_t lba, uint8_t *sec,
                       struct gpt_header *h, const char **why)
{
    uint32_t ss = io->sector_size;
    if (io->read(io->ctx, lba, 1, sec))
        return GPT_E_IO;
    uint32_t hsize = le32(sec + 12);
    if (memcmp(sec, GPT_SIG, 8) || hsize < 92 || hsize > ss) {
        *why = "no GPT signature";
        return GPT_E_NONE;
    }
    uint32_t crc = le32(sec + 16);
    memset(sec + 16, 0, 4);
    if (gpt_crc32(0, sec, hsize) != crc) {
        *why = "header CRC mismatch";
        return GPT_E_NONE;
    }
    h->my_lba = le64(sec + 24);
    h->alt_lba = le64(sec + 32);
    h->first_usable = le64(sec + 40);
    h->last_usable = le64(sec + 48);
    h->entries_lba = le64(sec + 72);
    h->entry_count = le32(sec + 80);
    h->entry_size = le32(sec + 84);
    h->entries_crc = le32(sec + 88);
    uint64_t array_bytes = (uint64_t)h->entry_count * h->entry_size;
    uint64_t array_sectors = (array_bytes + ss - 1) / ss;
    if (h->my_lba != lba || h->entry_size < 128 || h->entry_size > ss ||
        ss % h->entry_size || h->entry_count > GPT_MAX_ENTRIES ||
        h->first_usable > h->last_usable || h->last_usable >= io->sectors ||
        h->entries_lba < 2 || h->entries_lba >= io->sectors ||
        array_sectors > io->sectors - h->entries_lba) {
        *why = "header fields out of range";
        return GPT_E_NONE;
    }
    return GPT_OK;
}

static void entry_name(const uint8_t *e, char *out)
{
    unsigned i;
    for (i = 0; i < GPT_NAME_MAX; i++) {
        uint16_t c = e[56 + 2 * i] | e[57 + 2 * i] << 8;
        if (!c)
            break;
        out[i] = (c >= 0x20 && c < 0x7f) ? (char)c : '?';
    }
    out[i] = 0;
}

/* Decodes entry e; false when it is unused or its range is impossible. */
static bool decode_entry(const struct gpt_header *h, const uint8_t *e, unsigned index,
                         struct gpt_part *p)
{
    memcpy(p->type.b, e, 16);
    if (guid_is_zero(&p->type))
        return false;
    memcpy(p->unique.b, e + 16, 16);
    p->first_lba = le64(e + 32);
    p->last_lba = le64(e + 40);
    p->attributes = le64(e + 48);
    p->index = index;
    entry_name(e, p->name);
    return p->first_lba <= p->last_lba && p->first_lba >= h->first_usable &&
           p->last_lba <= h->last_usable;
}

/* Checks the entry array's CRC, then visits the entries. */
static int walk_entries(const struct block_io *io, const struct gpt_header *h, uint8_t *sec,
                        gpt_visit_fn visit, void *ctx, bool *stopped)
{
    uint32_t ss = io->sector_size, per = ss / h->entry_size;
    uint32_t sectors = (h->entry_count + per - 1) / per;
    for (int pass = 0; pass < 2; pass++) {
        uint32_t crc = 0, left = h->entry_count;
        for (uint32_t s = 0; s < sectors; s++) {
            if (io->read(io->ctx, h->entries_lba + s, 1, sec))
                return GPT_E_IO;
            uint32_t n = left < per ? left : per;
            if (pass == 0)
                crc = gpt_crc32(crc, sec, (size_t)n * h->entry_size);
            for (uint32_t k = 0; pass == 1 && k < n; k++) {
                struct gpt_part p;
                if (decode_entry(h, sec + k * h->entry_size, s * per + k, &p) && visit(&p, ctx)) {
                    *stopped = true;
                    return GPT_OK;
                }
            }
            left -= n;
        }
        if (pass == 0 && crc != h->entries_crc)
            return GPT_E_NONE;
    }
    return GPT_OK;
}

int gpt_scan(const struct block_io *io, gpt_visit_fn visit, void *ctx, char *err,
             size_t err_size)
{
    uint8_t sec[GPT_MAX_SECTOR];
    struct gpt_header h;
    const char *why = "no GPT signature";
    bool stopped = false;
    if (io->sector_size < 512 || io->sector_size > GPT_MAX_SECTOR || io->sectors < 3) {
        set_err(err, err_size, "disk too small or odd sector size");
        return GPT_E_INVALID;
    }
    uint64_t where[2] = { 1, io->sectors - 1 };
    for (int i = 0; i < 2; i++) {
        int rc = read_header(io, where[i], sec, &h, &why);
        if (rc == GPT_OK) {
            rc = walk_entries(io, &h, sec, visit, ctx, &stopped);
            if (rc == GPT_E_NONE)
                why = "partition entry array CRC mismatch";
        }
        if (rc == GPT_E_IO) {
            set_err(err, err_size, "read error");
            return rc;
        }
        if (rc == GPT_OK)
            return GPT_OK;
    }
    set_err(err, err_size, why);
    return GPT_E_NONE;
}

struct find_ctx {
    const char *name;
    const struct guid *type;
    struct gpt_part *out;
    bool found;
};

static bool find_visit(const struct gpt_part *p, void *vctx)
{
    struct find_ctx *f = vctx;
    if ((f->name && strcmp(p->name, f->name)) || (f->type && !guid_eq(&p->type, f->type)))
        return false;
    *f->out = *p;
    f->found = true;
    return true;
}

int gpt_find(const struct block_io *io, const char *name, const struct guid *type,
             struct gpt_part *out, char *err, size_t err_size)
{
    struct find_ctx f = { name, type, out, false };
    int rc = gpt_scan(io, find_visit, &f, err, err_size);
    if (rc)
        return rc;
    if (!f.found) {
        if (err && err_size)
            fmt_snprintf(err, err_size, "gpt: no partition named '%s'", name ? name : "");
        return GPT_E_NOT_FOUND;
    }
    return GPT_OK;
}
