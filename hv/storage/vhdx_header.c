/* The two headers (choice by sequence number, the update procedure, write GUIDs) and the
 * region table. */
#include "hv/storage/vhdx_internal.h"

#include <string.h>

static const uint64_t header_off[2] = { VHDX_HEADER1_OFF, VHDX_HEADER2_OFF };

void vhdx_encode_header(const struct vhdx_header *h, uint8_t *buf)
{
    memset(buf, 0, VHDX_HEADER_SIZE);
    put_le32(buf + VHDX_H_SIG, VHDX_SIG_HEAD);
    put_le64(buf + VHDX_H_SEQ, h->seq);
    memcpy(buf + VHDX_H_FILE_GUID, h->file_write.b, 16);
    memcpy(buf + VHDX_H_DATA_GUID, h->data_write.b, 16);
    memcpy(buf + VHDX_H_LOG_GUID, h->log_guid.b, 16);
    put_le16(buf + VHDX_H_LOG_VER, h->log_version);
    put_le16(buf + VHDX_H_VERSION, h->version);
    put_le32(buf + VHDX_H_LOG_LEN, h->log_len);
    put_le64(buf + VHDX_H_LOG_OFF, h->log_off);
    put_le32(buf + VHDX_H_CSUM, vhdx_checksum(buf, VHDX_HEADER_SIZE, VHDX_H_CSUM));
}

static bool decode_header(const uint8_t *buf, struct vhdx_header *h)
{
    if (le32(buf + VHDX_H_SIG) != VHDX_SIG_HEAD ||
        le32(buf + VHDX_H_CSUM) != vhdx_checksum(buf, VHDX_HEADER_SIZE, VHDX_H_CSUM))
        return false;
    h->seq = le64(buf + VHDX_H_SEQ);
    memcpy(h->file_write.b, buf + VHDX_H_FILE_GUID, 16);
    memcpy(h->data_write.b, buf + VHDX_H_DATA_GUID, 16);
    memcpy(h->log_guid.b, buf + VHDX_H_LOG_GUID, 16);
    h->log_version = le16(buf + VHDX_H_LOG_VER);
    h->version = le16(buf + VHDX_H_VERSION);
    h->log_len = le32(buf + VHDX_H_LOG_LEN);
    h->log_off = le64(buf + VHDX_H_LOG_OFF);
    return true;
}

static int check_header_fields(struct vhdx *d, struct vhdx_err *err)
{
    const struct vhdx_header *h = &d->hdr;
    if (h->version != 1)
        return vhdx_fail(err, VHDX_E_UNSUPPORTED, "%s: header version %u (only 1 is known)",
                         d->name, h->version);
    if (h->log_version != 0)
        return vhdx_fail(err, VHDX_E_UNSUPPORTED, "%s: log version %u (only 0 is known)",
                         d->name, h->log_version);
    if (h->log_len == 0 || h->log_len % VHDX_MIB || h->log_off < VHDX_MIB ||
        h->log_off % VHDX_MIB || h->log_off > d->io.size(d->io.ctx) ||
        h->log_len > d->io.size(d->io.ctx) - h->log_off)
        return vhdx_fail(err, VHDX_E_CORRUPT,
                         "%s: log at %llu length %u is misaligned or outside the file", d->name,
                         (unsigned long long)h->log_off, h->log_len);
    return VHDX_OK;
}

int vhdx_read_headers(struct vhdx *d, struct vhdx_err *err)
{
    uint8_t buf[VHDX_HEADER_SIZE];
    struct vhdx_header h[2];
    bool ok[2];
    if (vhdx_pread(d, VHDX_FILE_ID_OFF, buf, 8, err))
        return err->code;
    if (le64(buf) != VHDX_SIG_FILE)
        return vhdx_fail(err, VHDX_E_CORRUPT, "%s: not a VHDX file (no 'vhdxfile' signature)",
                         d->name);
    for (int i = 0; i < 2; i++) {
        if (vhdx_pread(d, header_off[i], buf, sizeof(buf), err))
            return err->code;
        ok[i] = decode_header(buf, &h[i]);
    }
    if (!ok[0] && !ok[1])
        return vhdx_fail(err, VHDX_E_CORRUPT, "%s: neither header has a valid checksum",
                         d->name);
    if (ok[0] && ok[1] && h[0].seq == h[1].seq && memcmp(&h[0], &h[1], sizeof(h[0])) != 0)
        return vhdx_fail(err, VHDX_E_CORRUPT,
                         "%s: both headers have sequence number %llu but differ", d->name,
                         (unsigned long long)h[0].seq);
    d->cur_header = (!ok[0] || (ok[1] && h[1].seq > h[0].seq)) ? 1 : 0;
    d->hdr = h[d->cur_header];
    return check_header_fields(d, err);
}

/* Writes the non-current header with the next sequence number and makes it current. */
static int write_next_header(struct vhdx *d, struct vhdx_err *err)
{
    uint8_t buf[VHDX_HEADER_SIZE];
    int next = 1 - d->cur_header;
    d->hdr.seq++;
    vhdx_encode_header(&d->hdr, buf);
    if (vhdx_pwrite(d, header_off[next], buf, sizeof(buf), err) || vhdx_sync(d, err))
        return err->code;
    d->cur_header = next;
    return VHDX_OK;
}

/* The specification's update procedure, done twice so both copies carry the new state. */
int vhdx_update_header(struct vhdx *d, struct vhdx_err *err)
{
    if (d->read_only)
        return vhdx_fail(err, VHDX_E_READ_ONLY, "%s: opened read-only", d->name);
    int rc = write_next_header(d, err);
    return rc ? rc : write_next_header(d, err);
}

/*
 * Before the first change of a session: a new FileWriteGuid (any change of the file) and
 * a new LogGuid; before the first change of what a reader of the virtual disk sees: a new
 * DataWriteGuid.
 */
int vhdx_begin_change(struct vhdx *d, bool visible, struct vhdx_err *err)
{
    if (d->read_only)
        return vhdx_fail(err, VHDX_E_READ_ONLY, "%s: opened read-only", d->name);
    if (d->broken)
        return vhdx_fail(err, VHDX_E_IO, "%s: an earlier metadata update failed; reopen it",
                         d->name);
    bool need = !d->file_guid_new || (visible && !d->data_guid_new);
    if (!need)
        return VHDX_OK;
    if (!d->file_guid_new) {
        d->env.random_guid(d->env.ctx, &d->hdr.file_write);
        d->env.random_guid(d->env.ctx, &d->hdr.log_guid);
        d->log_head = 0;
        if (d->log_seq == 0)
            d->log_seq = 1;
    }
    if (visible && !d->data_guid_new)
        d->env.random_guid(d->env.ctx, &d->hdr.data_write);
    int rc = vhdx_update_header(d, err);
    if (rc)
        return rc;
    d->file_guid_new = true;
    d->data_guid_new |= visible;
    return VHDX_OK;
}

static int parse_region_table(struct vhdx *d, const uint8_t *buf, struct vhdx_err *err)
{
    if (le32(buf) != VHDX_SIG_REGI ||
        le32(buf + 4) != vhdx_checksum(buf, VHDX_REGION_SIZE, 4))
        return vhdx_fail(err, VHDX_E_CORRUPT, "%s: region table has a bad signature or checksum",
                         d->name);
    uint32_t n = le32(buf + 8);
    if (n > VHDX_REGION_MAX)
        return vhdx_fail(err, VHDX_E_CORRUPT, "%s: region table claims %u entries", d->name, n);
    bool have_bat = false, have_meta = false;
    for (uint32_t i = 0; i < n; i++) {
        const uint8_t *e = buf + 16 + 32 * i;
        struct guid g;
        memcpy(g.b, e, 16);
        uint64_t off = le64(e + 16);
        uint32_t len = le32(e + 24);
        bool required = le32(e + 28) & 1;
        bool bat = guid_eq(&g, &vhdx_guid_bat_region);
        bool meta = guid_eq(&g, &vhdx_guid_metadata_region);
        if ((bat && have_bat) || (meta && have_meta))
            return vhdx_fail(err, VHDX_E_CORRUPT, "%s: region table lists the %s region twice",
                             d->name, bat ? "BAT" : "metadata");
        if (bat) {
            d->bat_off = off, d->bat_len = len, have_bat = true;
        } else if (meta) {
            d->meta_off = off, d->meta_len = len, have_meta = true;
        } else if (required) {
            char s[GUID_STR_LEN + 1];
            guid_format(&g, s);
            return vhdx_fail(err, VHDX_E_UNSUPPORTED, "%s: unknown required region %s", d->name,
                             s);
        }
    }
    if (!have_bat || !have_meta)
        return vhdx_fail(err, VHDX_E_CORRUPT, "%s: region table lacks the %s region", d->name,
                         have_bat ? "metadata" : "BAT");
    return VHDX_OK;
}

static int check_region(struct vhdx *d, const char *what, uint64_t off, uint32_t len,
                        struct vhdx_err *err)
{
    uint64_t size = vhdx_file_size(d);
    if (off < VHDX_MIB || off % VHDX_MIB || len == 0 || len % VHDX_MIB || off > size ||
        len > size - off)
        return vhdx_fail(err, VHDX_E_CORRUPT,
                         "%s: %s region at %llu length %u is misaligned or outside the file",
                         d->name, what, (unsigned long long)off, len);
    if (vhdx_ranges_overlap(off, len, d->hdr.log_off, d->hdr.log_len))
        return vhdx_fail(err, VHDX_E_CORRUPT, "%s: %s region overlaps the log", d->name, what);
    return VHDX_OK;
}

int vhdx_read_regions(struct vhdx *d, struct vhdx_err *err)
{
    uint8_t *buf = vhdx_alloc(&d->env, VHDX_REGION_SIZE);
    if (!buf)
        return vhdx_fail(err, VHDX_E_NOMEM, "%s: out of memory", d->name);
    int rc = vhdx_pread(d, VHDX_REGION1_OFF, buf, VHDX_REGION_SIZE, err);
    if (!rc && parse_region_table(d, buf, err) != VHDX_OK) {
        /* The first copy is damaged: the second one is authoritative then. */
        rc = vhdx_pread(d, VHDX_REGION2_OFF, buf, VHDX_REGION_SIZE, err);
        if (!rc)
            rc = parse_region_table(d, buf, err);
    }
    vhdx_free(&d->env, buf);
    if (!rc)
        rc = check_region(d, "BAT", d->bat_off, d->bat_len, err);
    if (!rc)
        rc = check_region(d, "metadata", d->meta_off, d->meta_len, err);
    if (!rc && vhdx_ranges_overlap(d->bat_off, d->bat_len, d->meta_off, d->meta_len))
        rc = vhdx_fail(err, VHDX_E_CORRUPT, "%s: BAT and metadata regions overlap", d->name);
    return rc;
}
