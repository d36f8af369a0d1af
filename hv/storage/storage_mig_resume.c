/* Keepalive, the migration's identity, HELD and the target's record (storage_mig_resume.h). */
#include "hv/storage/storage_mig_resume.h"

#include <string.h>
#include "hv/lib/crc32c.h"
#include "hv/lib/format.h"
#include "hv/lib/le.h"

#define RECORD_MAGIC 0x52535441u   /* "ATSR" */




static int fail(char *err, size_t err_size, const char *what)
{
    fmt_snprintf(err, err_size, "%s", what);
    return -1;
}

uint32_t smig_keepalive_period_s(uint32_t idle_s)
{
    return idle_s >= 12 ? idle_s / 6 : 1;
}

int smig_keepalive_decode(uint32_t len, char *err, size_t err_size)
{
    return len ? fail(err, err_size, "a KEEPALIVE with a payload") : 0;
}

size_t smig_resume_id_encode(const struct smig_resume_id *id, uint8_t *out, size_t cap)
{
    if (cap < SMIG_RESUME_ID_SIZE)
        return 0;
    memcpy(out, id->session.b, 16);
    memcpy(out + 16, id->data_write.b, 16);
    put_le32(out + 32, id->flags);
    put_le32(out + 36, id->idle_s);
    put_le32(out + 40, id->attempt);
    put_le32(out + 44, 0);
    return SMIG_RESUME_ID_SIZE;
}

int smig_resume_id_decode(const uint8_t *in, uint32_t len, struct smig_resume_id *id, char *err,
                          size_t err_size)
{
    memset(id, 0, sizeof(*id));
    if (len != SMIG_RESUME_ID_SIZE)
        return fail(err, err_size, "a RESUME identity of the wrong size");
    memcpy(id->session.b, in, 16);
    memcpy(id->data_write.b, in + 16, 16);
    id->flags = le32(in + 32);
    id->idle_s = le32(in + 36);
    id->attempt = le32(in + 40);
    if (id->flags & ~SMIG_RESUME_RETRY || le32(in + 44))
        return fail(err, err_size, "a RESUME identity with unknown flags");
    if (!id->idle_s || id->idle_s > SMIG_IDLE_MAX_S)
        return fail(err, err_size, "a RESUME identity with an idle timeout outside 1..3600 s");
    if (guid_is_zero(&id->session))
        return fail(err, err_size, "a RESUME identity without a session");
    return 0;
}

size_t smig_held_encode(uint32_t first, uint32_t count, uint32_t units, const uint32_t *crc,
                        uint8_t *out, size_t cap)
{
    if (!count || count > SMIG_HELD_MAX || cap < SMIG_HELD_SIZE(count))
        return 0;
    put_le32(out, first);
    put_le32(out + 4, count);
    put_le32(out + 8, units);
    put_le32(out + 12, 0);
    for (uint32_t i = 0; i < count; i++)
        put_le32(out + SMIG_HELD_HEAD + 4 * i, crc[i]);
    return SMIG_HELD_SIZE(count);
}

int smig_held_decode(const uint8_t *in, uint32_t len, uint32_t units, uint32_t next,
                     uint32_t *count, const uint8_t **crcs, char *err, size_t err_size)
{
    *count = 0;
    *crcs = NULL;
    if (len < SMIG_HELD_HEAD)
        return fail(err, err_size, "a HELD too short");
    uint32_t first = le32(in), n = le32(in + 4);
    if (le32(in + 8) != units)
        return fail(err, err_size, "a HELD for another number of units");
    if (le32(in + 12))
        return fail(err, err_size, "a HELD with reserved bits set");
    if (first != next)
        return fail(err, err_size, "a HELD out of order");
    if (!n || n > SMIG_HELD_MAX || n > units || first > units - n)
        return fail(err, err_size, "a HELD past the last unit");
    if (len != SMIG_HELD_SIZE(n))
        return fail(err, err_size, "a HELD of the wrong size");
    *count = n;
    *crcs = in + SMIG_HELD_HEAD;
    return 0;
}

uint32_t smig_held_crc(const uint8_t *crcs, uint32_t i)
{
    return le32(crcs + 4 * (size_t)i);
}

uint32_t smig_zero_crc(uint32_t len)
{
    static const uint8_t zero[4096];
    uint32_t crc = 0;
    for (uint32_t at = 0; at < len; at += sizeof(zero))
        crc = crc32c(crc, zero, len - at < sizeof(zero) ? len - at : sizeof(zero));
    return crc;
}

uint32_t smig_unit_len(uint64_t disk_size, uint32_t u)
{
    uint64_t off = (uint64_t)u * SMIG_UNIT;
    if (off >= disk_size)
        return 0;
    return disk_size - off < SMIG_UNIT ? (uint32_t)(disk_size - off) : SMIG_UNIT;
}

uint32_t smig_resume_plan(uint32_t units, uint32_t passed, const uint32_t *known,
                          const uint32_t *theirs, uint8_t *resend)
{
    uint32_t n = 0;
    memset(resend, 0, ((size_t)units + 7) / 8);
    for (uint32_t u = 0; u < passed && u < units; u++)
        if (theirs[u] != known[u]) {
            resend[u >> 3] |= (uint8_t)(1u << (u & 7));
            n++;
        }
    return n;
}

size_t smig_record_encode(const struct smig_record *r, uint8_t *out, size_t cap)
{
    if (cap < SMIG_RECORD_SIZE)
        return 0;
    memset(out, 0, SMIG_RECORD_SIZE);
    put_le32(out, RECORD_MAGIC);
    put_le32(out + 4, 1);
    memcpy(out + 8, r->session.b, 16);
    memcpy(out + 24, r->data_write.b, 16);
    put_le64(out + 40, r->disk_size);
    put_le32(out + 48, r->sector_size);
    put_le32(out + 52, r->block_size);
    memcpy(out + 56, r->name, strnlen(r->name, SMIG_NAME_LEN - 1));
    put_le32(out + 56 + SMIG_NAME_LEN, crc32c(0, out, 56 + SMIG_NAME_LEN));
    return SMIG_RECORD_SIZE;
}

int smig_record_decode(const uint8_t *in, size_t len, struct smig_record *r, char *err,
                       size_t err_size)
{
    memset(r, 0, sizeof(*r));
    if (len != SMIG_RECORD_SIZE)
        return fail(err, err_size, "its record has the wrong size");
    if (le32(in) != RECORD_MAGIC || le32(in + 4) != 1)
        return fail(err, err_size, "its record is not one");
    if (le32(in + 56 + SMIG_NAME_LEN) != crc32c(0, in, 56 + SMIG_NAME_LEN))
        return fail(err, err_size, "its record fails its CRC-32C");
    memcpy(r->session.b, in + 8, 16);
    memcpy(r->data_write.b, in + 24, 16);
    r->disk_size = le64(in + 40);
    r->sector_size = le32(in + 48);
    r->block_size = le32(in + 52);
    if (!memchr(in + 56, 0, SMIG_NAME_LEN))
        return fail(err, err_size, "its record has an unterminated name");
    memcpy(r->name, in + 56, SMIG_NAME_LEN);
    return 0;
}

bool smig_record_matches(const struct smig_record *r, const struct smig_hello *h,
                         const struct smig_resume_id *id, char *why, size_t why_size)
{
    const char *w = NULL;
    if (!(id->flags & SMIG_RESUME_RETRY))
        w = "a new migration, not a reconnect";
    else if (!guid_eq(&r->session, &id->session))
        w = "another migration's session";
    else if (!guid_eq(&r->data_write, &id->data_write))
        w = "the source disk's DataWriteGuid differs";
    else if (strcmp(r->name, h->name))
        w = "another name";
    else if (r->disk_size != h->disk_size || r->sector_size != h->sector_size ||
             r->block_size != h->block_size)
        w = "another disk size or geometry";
    if (w)
        fmt_snprintf(why, why_size, "%s", w);
    return !w;
}
