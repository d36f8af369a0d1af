#include "hv/snapshot/snap_pipeline.h"

void snap_scan_init(struct snap_scan *s, const uint8_t *ram, uint64_t bytes)
{
    s->ram = ram;
    s->blocks = bytes / SNAP_BLOCK_SIZE;
    s->next = 0;
}

bool snap_scan_take(struct snap_scan *s, uint64_t *index)
{
    uint64_t i = __atomic_fetch_add(&s->next, 1, __ATOMIC_RELAXED);
    if (i >= s->blocks)
        return false;
    *index = i;
    return true;
}

void snap_worker_run(struct snap_worker *w, struct snap_scan *scan, const struct snap_sink *sink)
{
    uint64_t i;
    while (!w->failed && snap_scan_take(scan, &i)) {
        enum snap_level level = snap_policy_next(&w->policy, sink->queued(sink->ctx),
                                                 sink->capacity);
        struct snap_encoded e;
        snap_encode(w->codec_state, level, scan->ram + i * SNAP_BLOCK_SIZE, w->out, &e);
        w->blocks++;
        w->raw_bytes += e.raw_len;
        w->encoded_bytes += e.len;
        w->zero_pages += (unsigned)__builtin_popcount(e.zero_mask);
        if (e.raw_len)
            w->at_level[e.level]++;
        else
            w->zero_blocks++;
        if (!sink->put(sink->ctx, i, &e, w->out))
            w->failed = true;
    }
}
