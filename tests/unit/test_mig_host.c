/* The fake host of tests/unit/test_mig_host.h. */
#include "tests/unit/test_mig_host.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "hv/arch/x86/console.h"
#include "hv/arch/x86/tsc.h"
#include "hv/core/checkpoint.h"
#include "hv/core/partition_console.h"
#include "hv/core/partition_create.h"
#include "hv/core/partition_disks.h"
#include "hv/core/partition_pause.h"
#include "hv/core/partition_writes.h"
#include "hv/core/run.h"
#include "hv/core/sched.h"
#include "hv/core/write_track.h"
#include "hv/lib/crc32c.h"
#include "hv/lib/format.h"
#include "hv/mm/kmem.h"

struct fake_host fh;
struct fake_link fl;
static size_t kmem_live;

#define STREAM_LEN 3000u

size_t strlcpy(char *dst, const char *src, size_t size)
{
    size_t n = strlen(src);
    if (size) {
        size_t c = n < size - 1 ? n : size - 1;
        memcpy(dst, src, c);
        dst[c] = '\0';
    }
    return n;
}

/* ---- clock, console, memory ---------------------------------------------------------- */
uint64_t time_ns(void)
{
    return fh.now_ns += 1000;
}

uint64_t tsc_hz(void)
{
    return 1000000000ull;               /* one tick a nanosecond */
}

uint64_t lapic_halted_tsc(void)
{
    return fh.now_ns / 4;               /* a quarter of the time halted */
}

int kprintf(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof(line), fmt, ap);
    va_end(ap);
    if (getenv("MIG_TEST_VERBOSE"))
        fputs(line, stderr);
    size_t len = strlen(line);
    if (fh.log_len + len < sizeof(fh.log)) {
        memcpy(fh.log + fh.log_len, line, len + 1);
        fh.log_len += len;
    }
    return n;
}

bool fake_log_has(const char *needle)
{
    return strstr(fh.log, needle) != NULL;
}

void *kmem_alloc_pages(size_t count)
{
    void *p = aligned_alloc(4096, count * 4096);
    if (p) {
        memset(p, 0xa5, count * 4096);      /* never assume zeroed pages */
        kmem_live += count;
    }
    return p;
}

void kmem_free_pages(void *va, size_t count)
{
    free(va);
    kmem_live -= count;
}

size_t fake_kmem_live(void)
{
    return kmem_live;
}

static struct fake_part *fake_of_mem(const struct guest_mem *m)
{
    for (int i = 0; i < FAKE_PARTS; i++)
        if (&fh.part[i].p.mem == m)
            return &fh.part[i];
    abort();
}

static struct fake_part *fake_of(const struct partition *p)
{
    for (int i = 0; i < FAKE_PARTS; i++)
        if (&fh.part[i].p == p)
            return &fh.part[i];
    abort();
}

void *guest_mem_ptr(const struct guest_mem *m, uint64_t gpa)
{
    struct fake_part *f = fake_of_mem(m);
    return gpa < m->size ? f->ram + gpa : NULL;
}

bool guest_mem_write(const struct guest_mem *m, uint64_t gpa, const void *buf, size_t len)
{
    struct fake_part *f = fake_of_mem(m);
    if (gpa >= m->size || len > m->size - gpa)
        return false;
    memcpy(f->ram + gpa, buf, len);
    return true;
}

/* ---- partitions ------------------------------------------------------------------------ */
static void part_init(struct fake_part *f, const char *name, uint64_t ram_pages)
{
    free(f->ram);
    memset(f, 0, sizeof(*f));
    strlcpy(f->p.name, name, sizeof(f->p.name));
    f->p.mem.size = ram_pages * 4096;
    f->p.vcpu_count = 1;
    f->p.vcpus[0] = &f->vcpu;
    f->vcpu.part = &f->p;
    f->ram = calloc(ram_pages, 4096);
}

void fake_host_reset(uint64_t ram_pages, uint32_t group_pages)
{
    for (int i = 0; i < FAKE_PARTS; i++)
        free(fh.part[i].ram);
    memset(&fh, 0, sizeof(fh));
    part_init(&fh.part[FAKE_SOURCE], "records", ram_pages);
    fh.part[FAKE_SOURCE].p.state = PART_RUNNING;
    fh.part[FAKE_SOURCE].vcpu.msrs.tsc_offset = 12345;
    if (group_pages) {                              /* armed by its manifest */
        fh.part[FAKE_SOURCE].group_pages = group_pages;
        fh.part[FAKE_SOURCE].armed = true;
        fh.part[FAKE_SOURCE].p.writes = (struct partition_writes *)&fh.part[FAKE_SOURCE];
    }
    part_init(&fh.part[FAKE_CLASH], "records", 1);
    fh.part[FAKE_CLASH].p.state = PART_RUNNING;
    uint64_t x = 0x9e3779b97f4a7c15ull;             /* some zero pages, the rest noise */
    for (uint64_t i = 0; i < ram_pages; i++)
        for (size_t w = 0; i % 3 && w < 4096 / 8; w++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            memcpy(fh.part[FAKE_SOURCE].ram + i * 4096 + w * 8, &x, 8);
        }
    fh.now_ns = 1000000000ull;
    free(fl.buf[0]);
    free(fl.buf[1]);
    memset(&fl, 0, sizeof(fl));
    fl.cap = 32u << 20;
    fl.chunk = 64 * 1024;
    fl.fail_after[0] = fl.fail_after[1] = -1;
    fl.corrupt_at[0] = fl.corrupt_at[1] = -1;
    fl.fail_code = -1;
}

void fake_guest_write(uint64_t pfn, uint32_t value)
{
    struct fake_part *f = &fh.part[FAKE_SOURCE];
    if (f->paused || f->p.state != PART_RUNNING)
        return;
    memcpy(f->ram + pfn * 4096, &value, sizeof(value));
    if (!f->armed)
        return;
    uint64_t g = pfn / f->group_pages;
    if (f->dirty[g / 64] >> (g % 64) & 1)
        return;                                     /* open: no fault */
    f->faults++;
    uint32_t open = f->region_pages[pfn / 512] > f->group_pages ? f->region_pages[pfn / 512]
                                                                : f->group_pages;
    uint64_t first = pfn / open * open;
    for (uint64_t q = first; q < first + open && q < f->p.mem.size / 4096; q += f->group_pages)
        f->dirty[q / f->group_pages / 64] |= 1ull << (q / f->group_pages % 64);
}

bool partition_pause(struct partition *p, struct partition_pause *at, char *err,
                     size_t err_size)
{
    struct fake_part *f = fake_of(p);
    if (p->state != PART_RUNNING) {
        fmt_snprintf(err, err_size, "it is not running");
        return false;
    }
    p->state = PART_PAUSED;
    f->paused = true;
    f->pauses++;
    if (fh.cut_at_pause && f == &fh.part[FAKE_SOURCE])
        fl.fail_after[0] = (int64_t)fl.moved[0] + 4096;     /* amid the last pages */
    at->guest_ns = 777;
    at->host_tsc = 1000000;
    return true;
}

/* Disk requests in flight: cancel moves them to a list, resume starts them again. */
unsigned partition_disks_cancel(struct partition *p)
{
    struct fake_part *f = fake_of(p);
    f->disk_cancelled += f->disk_inflight;
    f->disk_inflight = 0;
    return f->disk_cancelled;
}

void partition_disks_resume(struct partition *p)
{
    struct fake_part *f = fake_of(p);
    f->disk_reissued += f->disk_cancelled;
    f->disk_inflight += f->disk_cancelled;
    f->disk_cancelled = 0;
}

unsigned partition_disks_reissue_pending(struct partition *p)
{
    return fake_of(p)->disk_to_reissue;
}

void partition_resume(struct partition *p, const struct partition_pause *at)
{
    struct fake_part *f = fake_of(p);
    partition_disks_resume(p);
    if (p->state == PART_PAUSED)
        p->state = PART_RUNNING;
    f->paused = false;
    f->resumes++;
}

bool partition_writes_arm(struct partition *p, uint32_t group_pages, char *err, size_t err_size)
{
    struct fake_part *f = fake_of(p);
    f->armed = true;
    f->group_pages = group_pages;
    p->writes = (struct partition_writes *)f;
    return true;
}

uint64_t partition_writes_pass(struct partition *p, uint64_t *out)
{
    struct fake_part *f = fake_of(p);
    size_t words = write_track_words(p->mem.size, f->group_pages);
    uint64_t n = 0;
    for (size_t i = 0; i < words; i++) {
        if (out)
            out[i] = f->dirty[i];
        n += (uint64_t)__builtin_popcountll(f->dirty[i]);
        f->dirty[i] = 0;
    }
    return n;
}

bool partition_writes_written(struct partition *p, uint64_t gpa)
{
    struct fake_part *f = fake_of(p);
    if (!f->armed || gpa >= p->mem.size)
        return false;
    uint64_t g = gpa / 4096 / f->group_pages;
    return f->dirty[g / 64] >> (g % 64) & 1;
}

bool partition_writes_set_region_pages(struct partition *p, uint64_t region, uint32_t pages)
{
    struct fake_part *f = fake_of(p);
    if (!f->armed || region >= 16 || region * 512 * 4096 >= p->mem.size ||
        pages < f->group_pages || (pages & (pages - 1)) || pages > 512)
        return false;
    f->region_pages[region] = pages;
    return true;
}

bool partition_writes_claim(struct partition *p, const char *who, char *err, size_t err_size)
{
    (void)who;
    if (fake_of(p)->held) {
        snprintf(err, err_size, "its written pages are collected by another");
        return false;
    }
    fake_of(p)->held = true;
    return true;
}

void partition_writes_unclaim(struct partition *p, const char *who)
{
    (void)who;
    fake_of(p)->held = false;
}

void partition_writes_stats(struct partition *p, struct write_track *out)
{
    struct fake_part *f = fake_of(p);
    memset(out, 0, sizeof(*out));
    out->ram_size = p->mem.size;
    out->group_shift = 12u + (unsigned)__builtin_ctz(f->group_pages);
    out->faults = f->faults;
}

void sched_throttle(const struct partition *p, uint32_t permille)
{
    fh.throttled = p;
    fh.throttle = p ? permille : 0;
    if (p && permille > fake_of(p)->throttle_seen_max)
        fake_of(p)->throttle_seen_max = permille;
}

void partition_console_flush(struct partition *p, bool partial) {}

size_t manifest_section_text(unsigned index, char *out, size_t size)
{
    return (size_t)fmt_snprintf(out, size, "[partition records]\nmemory = %luK\nvcpus = 1\n",
                                (unsigned long)(fh.part[FAKE_SOURCE].p.mem.size >> 10));
}

struct partition *partition_create_from_section(const char *text, size_t len, const char *name,
                                                char *why, size_t why_size)
{
    if (fh.create_fails) {
        fmt_snprintf(why, why_size, "%s", fh.create_fails);
        return NULL;
    }
    struct fake_part *f = &fh.part[FAKE_TARGET];
    part_init(f, name, fh.part[FAKE_SOURCE].p.mem.size / 4096);
    f->p.state = PART_CREATED;
    return &f->p;
}

struct partition *partition_find(const char *name)
{
    return fh.clash && !strcmp(name, "records") ? &fh.part[FAKE_CLASH].p : NULL;
}

void partition_replace(struct partition *old, struct partition *fresh)
{
    abort();                        /* no finished partition of that name in these tests */
}

static void end(struct partition *p, bool killed, const char *fmt, va_list ap)
{
    struct fake_part *f = fake_of(p);
    char why[256];
    vsnprintf(why, sizeof(why), fmt, ap);
    kprintf("atoll: partition %s %s: %s\n", p->name, killed ? "killed" : "stopped", why);
    p->state = PART_DEAD;
    p->finished = true;
    f->kills += killed;
    f->stops += !killed;
}

void partition_kill(struct partition *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    end(p, true, fmt, ap);
    va_end(ap);
}

void partition_stop(struct partition *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    end(p, false, fmt, ap);
    va_end(ap);
}

/* ---- the state stream --------------------------------------------------------------------- */
bool checkpoint_save_stream(struct partition *p, const struct partition_pause *at,
                            uint32_t ram_crc, struct checkpoint_saved *out, char *err,
                            size_t err_size)
{
    if (fh.save_fails) {
        fmt_snprintf(err, err_size, "a device could not be captured");
        return false;
    }
    out->pages = 1;
    out->stream = kmem_alloc_pages(1);
    out->len = STREAM_LEN;
    for (size_t i = 0; i < out->len; i++)
        out->stream[i] = (uint8_t)(i * 7 + 1);
    memcpy(out->stream, &ram_crc, sizeof(ram_crc));
    memcpy(out->stream + 4, &fake_of(p)->disk_cancelled, 4);   /* the devices' lists */
    return true;
}

void checkpoint_saved_free(struct checkpoint_saved *s)
{
    kmem_free_pages(s->stream, s->pages);
    s->stream = NULL;
}

bool checkpoint_restore_stream(struct partition *q, const void *stream, size_t len,
                               uint64_t guest_tsc0, uint32_t *ram_crc, char *err,
                               size_t err_size)
{
    const uint8_t *s = stream;
    fh.stream_checked = len == STREAM_LEN;
    for (size_t i = 8; i < len && fh.stream_checked; i++)
        fh.stream_checked = s[i] == (uint8_t)(i * 7 + 1);
    if (fh.restore_fails) {
        fmt_snprintf(err, err_size, "device 2 (virtio-blk): its state is malformed");
        return false;
    }
    uint32_t crc = 0;
    for (uint64_t gpa = 0; gpa < q->mem.size; gpa += 4096)
        crc = crc32c(crc, guest_mem_ptr(&q->mem, gpa), 4096);
    *ram_crc = crc;
    memcpy(&fake_of(q)->disk_to_reissue, s + 4, 4);
    q->state = PART_RUNNING;
    return true;
}

/* ---- the transport -------------------------------------------------------------------------- */
static int end_ids[3] = { 0, 1, 2 };     /* the source's end, the target's, a stranger's */
#define STRANGER 2

static void *fake_connect(uint32_t ip, uint16_t port, char *err, size_t err_size)
{
    if (fl.refuse_connect) {
        fmt_snprintf(err, err_size, "TLS handshake failed: the server's key is not pinned here");
        return NULL;
    }
    for (int i = 0; i < 2; i++) {
        fl.closed[i] = false;
        fl.moved[i] = 0;
        free(fl.buf[i]);
        fl.buf[i] = malloc(fl.cap);
        fl.head[i] = fl.tail[i] = 0;
    }
    return &end_ids[0];
}

bool fake_accept(void)
{
    return migrate_target_accept(&end_ids[1], "10.0.3.1");
}

bool fake_accept_stranger(const char *peer)
{
    bool taken = migrate_target_accept(&end_ids[STRANGER], peer);
    fl.strangers_taken += taken;
    return taken;
}

static long fake_read(void *s, void *buf, size_t len)
{
    int side = *(int *)s, from = 1 - side;
    if (side == STRANGER)
        return 0;                               /* it never says anything */
    if (fl.failed)
        return fl.fail_code;
    size_t avail = fl.tail[from] - fl.head[from];
    if (!avail)
        return fl.closed[from] ? -1 : 0;
    size_t n = len < avail ? len : avail;
    memcpy(buf, fl.buf[from] + fl.head[from], n);
    fl.head[from] += n;
    return (long)n;
}

static long fake_write(void *s, const void *buf, size_t len)
{
    int side = *(int *)s;
    if (side == STRANGER)
        return (long)len;
    if (fl.failed || fl.closed[1 - side])
        return fl.failed ? fl.fail_code : -1;
    size_t n = len < fl.chunk ? len : fl.chunk;
    fl.chunk -= n;
    if (!n)
        return 0;
    if (fl.cap - fl.tail[side] < n)
        n = fl.cap - fl.tail[side];
    if (fl.fail_after[side] >= 0 && fl.moved[side] + n >= (uint64_t)fl.fail_after[side]) {
        n = (size_t)((uint64_t)fl.fail_after[side] - fl.moved[side]);
        fl.failed = true;
        if (!n)
            return fl.fail_code;
    }
    memcpy(fl.buf[side] + fl.tail[side], buf, n);
    if (fl.corrupt_at[side] >= 0 && (uint64_t)fl.corrupt_at[side] >= fl.moved[side] &&
        (uint64_t)fl.corrupt_at[side] < fl.moved[side] + n)
        fl.buf[side][fl.tail[side] + (size_t)((uint64_t)fl.corrupt_at[side] - fl.moved[side])] ^= 0x40;
    fl.tail[side] += n;
    fl.moved[side] += n;
    return (long)n;
}

static int fake_flush(void *s)
{
    return fl.failed ? (int)fl.fail_code : 1;
}

static void fake_why(void *s, char *out, size_t size)
{
    fmt_snprintf(out, size, "%s", fl.fail_code == -2 ? "TLS alert bad_record_mac" : "");
}

static void fake_close(void *s)
{
    if (*(int *)s == STRANGER)
        fl.strangers_closed++;
    else
        fl.closed[*(int *)s] = true;
}

const struct migrate_transport fake_transport = {
    .connect = fake_connect, .read = fake_read, .write = fake_write, .flush = fake_flush,
    .why = fake_why, .close = fake_close,
};
