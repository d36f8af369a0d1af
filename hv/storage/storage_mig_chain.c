/* A differencing chain's parents in a storage migration (storage_mig_chain.h). */
#include "hv/storage/storage_mig_chain.h"

#include <string.h>

#include "hv/lib/format.h"
#include "hv/lib/le.h"


static int fail(char *err, size_t err_size, const char *what)
{
    fmt_snprintf(err, err_size, "%s", what);
    return -1;
}

/* name + ".tmp" names the same pool file as path. */
static bool is_tmp_of(const char *path, const char *name,
                      bool (*same_path)(const char *, const char *))
{
    char tmp[SMIG_NAME_LEN + 8];
    fmt_snprintf(tmp, sizeof(tmp), "%s.tmp", name);
    return same_path(path, tmp);
}

int smig_parents_decide(const struct smig_hello *h, const struct smig_parent_probe *found,
                        bool (*same_path)(const char *a, const char *b),
                        struct smig_parents *out, char *err, size_t err_size)
{
    memset(out, 0, sizeof(*out));
    if (h->parents > SMIG_MAX_PARENTS)
        return fail(err, err_size, "more parents than a HELLO may list");
    out->count = h->parents;
    for (uint32_t i = 0; i < h->parents; i++) {
        const char *p = h->parent[i].name;
        if (same_path(p, h->name) || is_tmp_of(p, h->name, same_path)) {
            fmt_snprintf(err, err_size, "parent %s is the disk's own name", p);
            return -1;
        }
        for (uint32_t k = 0; k < i; k++)
            if (same_path(p, h->parent[k].name)) {
                fmt_snprintf(err, err_size, "parent %s is listed twice", p);
                return -1;
            }
    }
    bool held = false;
    for (uint32_t i = 0; i < h->parents; i++) {
        if (held) {
            out->answer[i] = SMIG_PARENT_BELOW;
            continue;
        }
        switch (found[i].found) {
        case SMIG_FOUND_SAME:
            out->answer[i] = SMIG_PARENT_HELD;
            held = true;
            break;
        case SMIG_FOUND_OTHER: {
            /* The leading 8 hex digits of each: the line fits a reply's text. */
            char here[GUID_STR_LEN + 1], there[GUID_STR_LEN + 1];
            guid_format(&found[i].here, here);
            guid_format(&h->parent[i].data_write, there);
            fmt_snprintf(err, err_size, "parent %s differs here (DataWriteGuid %.8s.., source "
                         "%.8s..): not overwritten", h->parent[i].name, here + 1, there + 1);
            return -1;
        }
        default:
            out->answer[i] = SMIG_PARENT_NEEDED;
            break;
        }
    }
    return 0;
}

int smig_parents_held(const struct smig_parents *p)
{
    for (uint32_t i = 0; i < p->count && i < SMIG_MAX_PARENTS; i++)
        if (p->answer[i] == SMIG_PARENT_HELD)
            return (int)i;
    return -1;
}

bool smig_parents_needed(const struct smig_parents *p, uint32_t i)
{
    return i < p->count && i < SMIG_MAX_PARENTS && p->answer[i] == SMIG_PARENT_NEEDED;
}

size_t smig_parents_encode(const struct smig_parents *p, uint8_t *out, size_t cap)
{
    uint32_t n = p->count > SMIG_MAX_PARENTS ? SMIG_MAX_PARENTS : p->count;
    if (cap < 8 + n)
        return 0;
    put_le32(out, n);
    put_le32(out + 4, 0);
    memcpy(out + 8, p->answer, n);
    return 8 + n;
}

int smig_parents_decode(const uint8_t *in, uint32_t len, uint32_t hello_parents,
                        struct smig_parents *p, char *err, size_t err_size)
{
    memset(p, 0, sizeof(*p));
    if (len < 8)
        return fail(err, err_size, "a PARENTS message too short");
    uint32_t n = le32(in);
    if (le32(in + 4) || n != hello_parents || n > SMIG_MAX_PARENTS || len != 8 + n)
        return fail(err, err_size, "a PARENTS message that does not answer the HELLO's parents");
    p->count = n;
    /* needed..., then at most one held, then only below */
    enum { NEED, BELOW } at = NEED;
    for (uint32_t i = 0; i < n; i++) {
        uint8_t a = in[8 + i];
        bool ok = at == NEED ? a == SMIG_PARENT_NEEDED || a == SMIG_PARENT_HELD
                             : a == SMIG_PARENT_BELOW;
        if (!ok)
            return fail(err, err_size, "a PARENTS message with answers out of order");
        if (a == SMIG_PARENT_HELD)
            at = BELOW;
        p->answer[i] = a;
    }
    return 0;
}

uint32_t smig_pfile_head_encode(uint8_t out[SMIG_PFILE_HEADER], uint64_t offset, uint32_t index,
                                uint32_t flags, uint32_t length)
{
    put_le64(out, offset);
    put_le32(out + 8, index);
    put_le32(out + 12, flags);
    return SMIG_PFILE_HEADER + length;
}

int smig_pfile_decode(const uint8_t *in, uint32_t len, struct smig_pfile *f, char *err,
                      size_t err_size)
{
    memset(f, 0, sizeof(*f));
    if (len <= SMIG_PFILE_HEADER || len - SMIG_PFILE_HEADER > SMIG_PFILE_CHUNK)
        return fail(err, err_size, "a PFILE message of a bad length");
    f->offset = le64(in);
    f->index = le32(in + 8);
    f->flags = le32(in + 12);
    f->length = len - SMIG_PFILE_HEADER;
    f->bytes = in + SMIG_PFILE_HEADER;
    if (f->flags & ~SMIG_PFILE_LAST)
        return fail(err, err_size, "a PFILE message with unknown flags");
    if (f->index >= SMIG_MAX_PARENTS)
        return fail(err, err_size, "a PFILE message for no parent");
    if (f->offset > SMIG_MAX_DISK * 2)
        return fail(err, err_size, "a PFILE offset beyond any parent file");
    return 0;
}

uint64_t smig_parent_file_max(uint64_t disk_size)
{
    return disk_size + disk_size / 8 + 64ull * 1024 * 1024;
}

int smig_parents_next_to_send(const struct smig_parents *p, int below)
{
    for (int i = below - 1; i >= 0; i--)
        if (smig_parents_needed(p, (uint32_t)i))
            return i;
    return -1;
}

void smig_pfile_rx_init(struct smig_pfile_rx *rx, const struct smig_parents *answers,
                        uint64_t disk_size)
{
    memset(rx, 0, sizeof(*rx));
    rx->answers = *answers;
    rx->disk_size = disk_size;
    rx->next = smig_parents_next_to_send(answers, SMIG_MAX_PARENTS);
}

bool smig_pfile_rx_done(const struct smig_pfile_rx *rx)
{
    return rx->next < 0;
}

int smig_pfile_rx_take(struct smig_pfile_rx *rx, const struct smig_pfile *f, char *err,
                       size_t err_size)
{
    if (rx->next < 0)
        return fail(err, err_size, "a PFILE after every parent needed has come");
    if (f->index != (uint32_t)rx->next) {
        fmt_snprintf(err, err_size, "a PFILE for parent %u while parent %d is due", f->index,
                     rx->next);
        return -1;
    }
    if (f->offset != rx->received)
        return fail(err, err_size, "a PFILE out of order");
    uint64_t max = smig_parent_file_max(rx->disk_size);
    if (f->length > max || rx->received > max - f->length)
        return fail(err, err_size, "a parent file larger than its disk could need");
    rx->received += f->length;
    if (!(f->flags & SMIG_PFILE_LAST))
        return 1;
    return 2;
}

void smig_pfile_rx_next(struct smig_pfile_rx *rx)
{
    if (rx->next >= 0)
        rx->next = smig_parents_next_to_send(&rx->answers, rx->next);
    rx->received = 0;
}
