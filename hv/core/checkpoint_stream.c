#include "hv/core/checkpoint_stream.h"

#include <string.h>
#include "hv/core/vcpu_state_desc.h"
#include "hv/lib/format.h"
#include "hv/state/state_desc.h"

static const struct state_field header_fields[] = {
    STATE_BYTES(struct checkpoint_header, name, 1),
    STATE_U32(struct checkpoint_header, vcpu_count, 1),
    STATE_U64(struct checkpoint_header, ram_bytes, 1),
    STATE_U64(struct checkpoint_header, guest_ns, 1),
    STATE_U32(struct checkpoint_header, ram_crc32c, 1),
    STATE_U32(struct checkpoint_header, device_count, 1),
    STATE_BYTES(struct checkpoint_header, timer_deadline, 1),
};

static const struct state_desc header_desc =
    STATE_DESC("checkpoint", CHECKPOINT_ID, 1, 1, header_fields);

bool checkpoint_header_save(struct state_writer *w, const struct checkpoint_header *h)
{
    return state_save(w, &header_desc, 0, h);
}

static bool name_valid(const char *n)
{
    size_t len = strnlen(n, CHECKPOINT_NAME_LEN);
    if (len == 0 || len == CHECKPOINT_NAME_LEN)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!((n[i] >= 'a' && n[i] <= 'z') || (n[i] >= '0' && n[i] <= '9') || n[i] == '_' ||
              n[i] == '-'))
            return false;
    for (size_t i = len; i < CHECKPOINT_NAME_LEN; i++)
        if (n[i])
            return false;
    return true;
}

static const char *header_implausible(const struct checkpoint_header *h)
{
    if (!name_valid(h->name))
        return "partition name";
    if (h->vcpu_count == 0 || h->vcpu_count > CHECKPOINT_MAX_VCPUS)
        return "vCPU count";
    if (h->ram_bytes == 0 || h->ram_bytes % 4096 || h->ram_bytes > CHECKPOINT_MAX_RAM)
        return "RAM size";
    if (h->device_count > CHECKPOINT_MAX_DEVICE_KINDS)
        return "device count";
    return NULL;
}

/* Every 'VCPU' section is an instance below the count, in order, before the devices. */
static int check_vcpu_sections(struct state_reader r, const struct checkpoint_header *h,
                               char *err, size_t err_size)
{
    struct state_section s;
    unsigned seen = 0;
    bool devices = false;
    while (state_reader_next(&r, &s) == 1) {
        if (s.id == CHECKPOINT_ID) {
            fmt_snprintf(err, err_size, "checkpoint: a second header section");
            return -1;
        }
        if (s.id != vcpu_state_desc.id) {
            devices = true;
            continue;
        }
        if (devices || s.instance != seen || seen >= h->vcpu_count) {
            fmt_snprintf(err, err_size, "checkpoint: 'VCPU' instance %u out of place "
                         "(%u of %u vCPUs read)", s.instance, seen, h->vcpu_count);
            return -1;
        }
        seen++;
    }
    if (seen != h->vcpu_count) {
        fmt_snprintf(err, err_size, "checkpoint: %u 'VCPU' sections for %u vCPUs", seen,
                     h->vcpu_count);
        return -1;
    }
    return 0;
}

int checkpoint_stream_open(struct checkpoint_reader *cr, const void *buf, size_t len,
                           const struct state_kind *device_kinds, size_t device_kind_count,
                           struct checkpoint_header *h, char *err, size_t err_size)
{
    static const size_t own = 2;
    struct state_kind *kinds = cr->kinds;
    struct state_reader *r = &cr->r;
    if (device_kind_count > CHECKPOINT_MAX_DEVICE_KINDS) {
        fmt_snprintf(err, err_size, "checkpoint: %zu device kinds (at most %u)",
                     device_kind_count, CHECKPOINT_MAX_DEVICE_KINDS);
        return -1;
    }
    kinds[0] = state_desc_kind(&header_desc);
    kinds[1] = state_desc_kind(&vcpu_state_desc);
    for (size_t i = 0; i < device_kind_count; i++) {
        if (device_kinds[i].id == CHECKPOINT_ID || device_kinds[i].id == vcpu_state_desc.id) {
            fmt_snprintf(err, err_size, "checkpoint: a device claims a checkpoint section id");
            return -1;
        }
        kinds[own + i] = device_kinds[i];
    }
    if (state_reader_open(r, buf, len, kinds, own + device_kind_count) != 0) {
        fmt_snprintf(err, err_size, "%s", r->err);
        return -1;
    }
    struct state_section s;
    if (state_reader_next(r, &s) != 1 || s.id != CHECKPOINT_ID) {
        fmt_snprintf(err, err_size, "checkpoint: the stream does not begin with its header");
        return -1;
    }
    struct checkpoint_header scratch;
    memset(&scratch, 0, sizeof(scratch));
    if (state_load(&s, &header_desc, &scratch, err, err_size) != 0)
        return -1;
    const char *bad = header_implausible(&scratch);
    if (bad) {
        fmt_snprintf(err, err_size, "checkpoint: impossible %s in the header", bad);
        return -1;
    }
    if (check_vcpu_sections(*r, &scratch, err, err_size) != 0)
        return -1;
    *h = scratch;
    return 0;
}
