/* A stand-in hypervisor behind the control server. */
#include "tests/net/fake_hv.h"
#include <string.h>
#include "hv/lib/format.h"

static void copy_str(char *dst, const char *src, size_t cap)
{
    size_t n = strnlen(src, cap - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static void add_part(struct fake_hv *hv, const char *name, uint8_t state, uint32_t vcpus,
                     uint64_t mib)
{
    struct ctl_partition_info *p = &hv->parts[hv->count++];
    copy_str(p->name, name, sizeof p->name);
    p->state = state;
    p->vcpus = vcpus;
    p->memory = mib << 20;
}

static void log_line(struct fake_hv *hv, const char *what, const char *name)
{
    char line[96];
    int n = fmt_snprintf(line, sizeof line, "[%8llu] %s %s\n", (unsigned long long)hv->now_ms,
                         what, name);
    if (n <= 0 || (size_t)n >= sizeof line)
        return;
    if (hv->log_len + (size_t)n > sizeof hv->log)
        hv->log_len = 0;   /* wrap: a test double keeps only the newest lines */
    memcpy(hv->log + hv->log_len, line, (size_t)n);
    hv->log_len += (size_t)n;
}

void fake_hv_init(struct fake_hv *hv)
{
    memset(hv, 0, sizeof *hv);
    add_part(hv, "linux", CTL_PART_RUNNING, 2, 512);
    add_part(hv, "test-guest", CTL_PART_STOPPED, 1, 64);
    add_part(hv, "vsp", CTL_PART_RUNNING, 1, 256);
    hv->next_op = 1;
    log_line(hv, "boot", "atoll-fake");
}

static uint16_t fake_status(void *ctx, struct ctl_hv_status *out)
{
    struct fake_hv *hv = ctx;
    copy_str(out->version, "0.1.0-fake", sizeof out->version);
    copy_str(out->hostname, "fakehost", sizeof out->hostname);
    out->uptime_ms = hv->now_ms;
    out->mem_total = 1ull << 30;
    out->mem_free = (1ull << 30) - (832ull << 20);
    out->partitions = (uint32_t)hv->count;
    out->vmx = false;
    return CTL_OK;
}

static bool fake_partition_at(void *ctx, size_t index, struct ctl_partition_info *out)
{
    struct fake_hv *hv = ctx;
    if (index >= hv->count)
        return false;
    *out = hv->parts[index];
    return true;
}

static struct ctl_partition_info *find(struct fake_hv *hv, const char *name)
{
    for (size_t i = 0; i < hv->count; i++)
        if (strcmp(hv->parts[i].name, name) == 0)
            return &hv->parts[i];
    return NULL;
}

static uint32_t new_op(struct fake_hv *hv)
{
    if (!hv->op_duration_ms)
        return 0;
    uint32_t id = hv->next_op++;
    hv->ops[id % FAKE_HV_OPS].start_ms = hv->now_ms;
    hv->ops[id % FAKE_HV_OPS].used = 1;
    hv->ops[id % FAKE_HV_OPS].snapshot = 0;
    hv->ops[id % FAKE_HV_OPS].fails = 0;
    return id;
}

static uint16_t change(struct fake_hv *hv, const char *name, uint8_t from, uint8_t to,
                       const char *what, uint32_t *op)
{
    struct ctl_partition_info *p = find(hv, name);
    if (!p)
        return CTL_ERR_NOT_FOUND;
    if (p->state != from)
        return CTL_ERR_BAD_STATE;
    p->state = to;
    log_line(hv, what, name);
    *op = new_op(hv);
    return CTL_OK;
}

static uint16_t fake_start(void *ctx, const char *name, uint32_t *op)
{
    return change(ctx, name, CTL_PART_STOPPED, CTL_PART_RUNNING, "start", op);
}

static uint16_t fake_stop(void *ctx, const char *name, uint32_t *op)
{
    return change(ctx, name, CTL_PART_RUNNING, CTL_PART_STOPPED, "stop", op);
}

static size_t fake_log_tail(void *ctx, char *buf, size_t max)
{
    struct fake_hv *hv = ctx;
    size_t n = hv->log_len < max ? hv->log_len : max;
    memcpy(buf, hv->log + hv->log_len - n, n);
    return n;
}

static uint16_t fake_op_progress(void *ctx, uint32_t op, struct ctl_op_progress *out)
{
    struct fake_hv *hv = ctx;
    if (op == 0 || op >= hv->next_op || !hv->ops[op % FAKE_HV_OPS].used)
        return CTL_ERR_NOT_FOUND;
    uint64_t elapsed = hv->now_ms - hv->ops[op % FAKE_HV_OPS].start_ms;
    out->total = 1000;
    out->done = elapsed >= hv->op_duration_ms ? 1000 : elapsed * 1000 / hv->op_duration_ms;
    out->state = out->done == out->total ? CTL_OP_DONE : CTL_OP_RUNNING;
    if (hv->ops[op % FAKE_HV_OPS].snapshot) {
        uint64_t bytes = hv->ops[op % FAKE_HV_OPS].bytes;
        out->total = bytes;
        out->done = out->done == 1000 ? bytes : bytes / 1000 * out->done;
        out->rate = 400u << 20;
        out->passes = hv->ops[op % FAKE_HV_OPS].live ? 2 : 0;
        fmt_snprintf(out->levels, sizeof out->levels, "store %u, lz4 %u",
                     (unsigned)(out->done >> 24), (unsigned)(out->done >> 20));
        if (out->state == CTL_OP_DONE && hv->ops[op % FAKE_HV_OPS].fails) {
            out->state = CTL_OP_FAILED;
            out->result = CTL_ERR_BUSY;
            fmt_snprintf(out->text, sizeof out->text, "snapshot: linux: full.snp: refused: "
                         "the pool is full; resumed");
        } else if (out->state == CTL_OP_DONE) {
            out->result = CTL_OK;
            fmt_snprintf(out->text, sizeof out->text, "%s", hv->ops[op % FAKE_HV_OPS].line);
        }
    }
    return CTL_OK;
}

/* Only the replies: a running partition goes round, others are refused. */
static uint16_t fake_checkpoint(void *ctx, const char *name, char *msg, size_t msg_size)
{
    struct fake_hv *hv = ctx;
    struct ctl_partition_info *p = find(hv, name);
    if (!p)
        return CTL_ERR_NOT_FOUND;
    if (p->state != CTL_PART_RUNNING) {
        fmt_snprintf(msg, msg_size, "checkpoint: %s: not running", name);
        return CTL_ERR_BAD_STATE;
    }
    log_line(hv, "checkpoint", name);
    fmt_snprintf(msg, msg_size, "%s: paused at guest time 1.000000 s, RAM %u MiB crc32c 0x1234abcd, "
             "%u vCPUs, 9 devices, stream 40000 bytes; restored, RAM crc32c 0x1234abcd "
             "(equal), resumed", name, (unsigned)(p->memory >> 20), (unsigned)p->vcpus);
    return CTL_OK;
}

/* Only the replies: a running partition is written to any file, and "timer.snp" restores. */
static uint16_t fake_snapshot(void *ctx, const char *name, const char *file, bool stop,
                              bool live, uint32_t *op, char *msg, size_t msg_size)
{
    struct fake_hv *hv = ctx;
    struct ctl_partition_info *p = find(hv, name);
    if (!p)
        return CTL_ERR_NOT_FOUND;
    if (p->state != CTL_PART_RUNNING) {
        fmt_snprintf(msg, msg_size, "snapshot: %s: %s: not running", name, file);
        return CTL_ERR_BAD_STATE;
    }
    log_line(hv, "snapshot", name);
    char line[320];
    fmt_snprintf(line, sizeof line, "snapshot: %s: %s: RAM %u MiB crc32c 0x1234abcd, zero pages "
                 "90%%, written 1000000 bytes (0.1%% of RAM), levels {lz4 10}, %s%s", name, file,
                 (unsigned)(p->memory >> 20), live ? "live: 2 passes re-saved 64 pages, paused "
                 "16 pages 2000000 TSC ticks (1 ms)" : "paused 12 ms", stop ? ", stopped" : "");
    if (stop)
        p->state = CTL_PART_STOPPED;
    /* With operations that take time (hostd --op-ms): begun, the line once it is done. */
    *op = new_op(hv);
    if (!*op) {
        fmt_snprintf(msg, msg_size, "%s", line);
        return CTL_OK;
    }
    hv->ops[*op % FAKE_HV_OPS].snapshot = 1;
    hv->ops[*op % FAKE_HV_OPS].live = live;
    hv->ops[*op % FAKE_HV_OPS].fails = !strcmp(file, "full.snp");
    hv->ops[*op % FAKE_HV_OPS].bytes = p->memory;
    fmt_snprintf(hv->ops[*op % FAKE_HV_OPS].line, sizeof hv->ops[0].line, "%s", line);
    fmt_snprintf(msg, msg_size, "snapshot: %s: %s: %s, writing %u MiB of RAM", name, file,
                 live ? "live" : "paused", (unsigned)(p->memory >> 20));
    return CTL_OK;
}

static uint16_t fake_restore(void *ctx, const char *file, const char *as_name, char *msg,
                             size_t msg_size)
{
    (void)ctx;
    if (strcmp(file, "timer.snp"))
        return CTL_ERR_NOT_FOUND;
    if (!strcmp(as_name, "vsp")) {
        fmt_snprintf(msg, msg_size, "restore: %s: refused: partition vsp exists and has not "
                     "ended; nothing restored", file);
        return CTL_ERR_BUSY;
    }
    fmt_snprintf(msg, msg_size, "restore: %s: %s: RAM crc32c 0x1234abcd (equal to the "
                 "snapshot's)", as_name[0] ? as_name : "timer", file);
    return CTL_OK;
}

/* The host's display: 640x480; "full.png" finds the pool full. */
static uint16_t fake_capture(void *ctx, const char *file, char *msg, size_t msg_size)
{
    (void)ctx;
    if (!strcmp(file, "full.png")) {
        fmt_snprintf(msg, msg_size, "atoll: capture: %s failed: writing to the pool failed", file);
        return CTL_ERR_INTERNAL;
    }
    fmt_snprintf(msg, msg_size, "atoll: capture: %s: 640x480 PNG, 923065 bytes", file);
    return CTL_OK;
}

static uint16_t fake_migrate(void *ctx, const char *name, const char *host, char *msg,
                             size_t msg_size)
{
    struct fake_hv *hv = ctx;
    struct ctl_partition_info *p = find(hv, name);
    if (!p)
        return CTL_ERR_NOT_FOUND;
    if (p->state != CTL_PART_RUNNING || hv->mig.active) {
        fmt_snprintf(msg, msg_size, "migrate: %s: to %s: refused: %s", name, host,
                     hv->mig.active ? "a migration is under way" : "it is not running");
        return CTL_ERR_BUSY;
    }
    memset(&hv->mig, 0, sizeof hv->mig);
    hv->mig.active = true;
    hv->mig.refused = !strcmp(host, "10.9.9.9");
    hv->mig.start_ms = hv->now_ms;
    copy_str(hv->mig.name, name, sizeof hv->mig.name);
    copy_str(hv->mig.host, host, sizeof hv->mig.host);
    fmt_snprintf(msg, msg_size, "migrate: %s: to %s: started", name, host);
    copy_str(hv->mig.last, msg, sizeof hv->mig.last);
    log_line(hv, "migrate", name);
    return CTL_OK;
}

static uint16_t fake_migrate_status(void *ctx, struct ctl_migrate_status *out)
{
    struct fake_hv *hv = ctx;
    uint64_t total = hv->op_duration_ms ? hv->op_duration_ms : 1;
    uint64_t elapsed = hv->now_ms - hv->mig.start_ms;
    if (hv->mig.active && elapsed >= total) {
        hv->mig.active = false;
        struct ctl_partition_info *p = find(hv, hv->mig.name);
        if (hv->mig.refused) {
            fmt_snprintf(hv->mig.last, sizeof hv->mig.last, "migrate: %s: to %s: refused: the "
                         "peer sent TLS alert 42 (it does not pin this host's key?); still "
                         "running here", hv->mig.name, hv->mig.host);
        } else {
            fmt_snprintf(hv->mig.last, sizeof hv->mig.last, "migrate: %s: to %s: done: the "
                         "target resumed it, RAM crc32c 0x1234abcd (equal); stopped here",
                         hv->mig.name, hv->mig.host);
            if (p)
                p->state = CTL_PART_STOPPED;
        }
    }
    out->active = hv->mig.active;
    fmt_snprintf(out->stage, sizeof out->stage, "%s", !out->active ? "idle"
                 : elapsed * 4 < total * 3 ? "pre-copy" : "stop-and-copy");
    out->ram_pages = 131072;
    out->round = out->active ? (uint32_t)(elapsed * 4 / total) : 0;
    out->pages_sent = out->active ? out->ram_pages * elapsed / total : 0;
    out->pages_left = out->active ? out->ram_pages - out->pages_sent : 0;
    out->dirty_pages = out->active ? 1000 >> out->round : 0;
    out->wire_bytes = out->pages_sent * 1024;
    out->link_bps = 12500000;
    copy_str(out->last, hv->mig.last, sizeof out->last);
    return CTL_OK;
}

static uint16_t fake_restore_lazy(void *ctx, const char *file, const char *as_name, char *msg,
                                  size_t msg_size)
{
    (void)ctx;
    if (strcmp(file, "timer.snp"))
        return CTL_ERR_NOT_FOUND;
    fmt_snprintf(msg, msg_size, "restore: %s: %s: lazy: running, RAM loading (512 blocks)",
                 as_name[0] ? as_name : "timer", file);
    return CTL_OK;
}

const struct ctl_hv_ops fake_hv_ops = {
    .status = fake_status,
    .partition_at = fake_partition_at,
    .start = fake_start,
    .stop = fake_stop,
    .log_tail = fake_log_tail,
    .op_progress = fake_op_progress,
    .checkpoint = fake_checkpoint,
    .snapshot = fake_snapshot,
    .restore = fake_restore,
    .restore_lazy = fake_restore_lazy,
    .capture = fake_capture,
    .migrate = fake_migrate,
    .migrate_status = fake_migrate_status,
};
