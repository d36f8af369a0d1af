#include "hv/core/vcpu_state_roundtrip.h"
#include "hv/arch/x86/console.h"
#include "hv/core/partition.h"
#include "hv/core/vcpu_state.h"
#include "hv/core/vcpu_state_check.h"
#include "hv/core/vcpu_state_desc.h"
#include "hv/core/virt.h"
#include "hv/lib/format.h"
#include "hv/mm/kmem.h"
#include "hv/state/state_stream.h"

struct vcpu_roundtrip {
    struct vcpu_state saved, loaded, again;
    uint8_t stream[sizeof(struct vcpu_state) + 1024];
};

#define ROUNDTRIP_PAGES ((sizeof(struct vcpu_roundtrip) + 4095) / 4096)

bool vcpu_state_roundtrip_due(struct vcpu *v)
{
    unsigned every = v->part->vcpu_state_roundtrip;
    if (!every || ++v->exits_since_roundtrip < every)
        return false;
    v->exits_since_roundtrip = 0;
    return true;
}

static const char *roundtrip(struct vcpu *v, struct vcpu_roundtrip *r, char *err, size_t err_size)
{
    if (!virt_vcpu_save(v, &r->saved))
        return "save failed";
    struct state_writer w;
    state_writer_init(&w, r->stream, sizeof(r->stream));
    if (!vcpu_state_save(&w, v->index, &r->saved) || !state_writer_finish(&w))
        return "the VCPU section did not fit";
    if (!virt_vcpu_scrub(v))
        return "scrubbing failed";
    struct state_kind kind = state_desc_kind(&vcpu_state_desc);
    struct state_reader rd;
    struct state_section sec;
    if (state_reader_open(&rd, r->stream, w.pos, &kind, 1) != 0 ||
        state_reader_next(&rd, &sec) != 1 ||
        vcpu_state_load(&sec, &r->loaded, err, err_size) != 0 ||
        !virt_vcpu_restore(v, &r->loaded, err, (unsigned)err_size))
        return err[0] ? err : "the VCPU section did not read back";
    if (!virt_vcpu_save(v, &r->again))
        return "save after restore failed";
    const char *field = vcpu_state_first_difference(&r->saved, &r->again);
    if (field) {
        fmt_snprintf(err, err_size, "%s differs after the round trip", field);
        return err;
    }
    return NULL;
}

bool vcpu_state_roundtrip(struct vcpu *v)
{
    if (v->part->state == PART_DEAD)
        return false;
    if (!v->roundtrip)
        v->roundtrip = kmem_alloc_pages(ROUNDTRIP_PAGES);
    if (!v->roundtrip) {
        partition_kill(v->part, "vcpu%u: no memory for the vCPU state round trip", v->index);
        return false;
    }
    char err[STATE_ERR_LEN] = "";
    const char *bad = roundtrip(v, v->roundtrip, err, sizeof(err));
    if (bad) {
        partition_kill(v->part, "vcpu%u: vCPU state round trip %lu: %s", v->index,
                       v->roundtrips + 1, bad);
        return false;
    }
    v->roundtrips++;
    return v->part->state != PART_DEAD;
}

void vcpu_state_roundtrip_end(struct vcpu *v)
{
    if (v->roundtrips)
        kprintf("atoll: %s vcpu%u: %lu vCPU state round trips (saved, streamed, scrubbed, "
                "restored, read back the same)\n", v->part->name, v->index, v->roundtrips);
    if (v->roundtrip)
        kmem_free_pages(v->roundtrip, ROUNDTRIP_PAGES);
    v->roundtrip = NULL;
    v->roundtrips = 0;
}
