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
        struct snap_queue_view q = {
            .queued = sink->queued(sink->ctx),
            .capacity = sink->capacity,
            .drained = sink->drained ? sink->drained(sink->ctx) : 0,
            .now_ns = sink->now_ns ? sink->now_ns(sink->ctx) : 0,
            .workers = sink->workers,
            .remaining = (scan->blocks - i) * SNAP_BLOCK_SIZE,
            .cpu_ns = sink->cpu_ns ? sink->cpu_ns(sink->ctx) : 0,
        };
        enum snap_level level = snap_policy_pick(&w->policy, &q);
        struct snap_encoded e;
        snap_encode(w->codec_state, level, scan->ram + i * SNAP_BLOCK_SIZE, w->out, &e);
        uint64_t ns = sink->cpu_ns ? sink->cpu_ns(sink->ctx) - q.cpu_ns
                    : q.now_ns ? sink->now_ns(sink->ctx) - q.now_ns : 0;
        snap_policy_learn(&w->policy, level, e.raw_len, e.len, ns);
        w->blocks++;
        w->raw_bytes += e.raw_len;
        w->encoded_bytes += e.len;
        w->zero_pages += (unsigned)__builtin_popcount(e.zero_mask);
        if (e.raw_len) {
            w->at_level[e.level]++;
            w->tried[level]++;
            w->ns_at[level] += ns;
        } else {
            w->zero_blocks++;
        }
        w->last_tried = level;
        w->last_ns = ns;
        if (!sink->put(sink->ctx, i, &e, w->out))
            w->failed = true;
    }
}
