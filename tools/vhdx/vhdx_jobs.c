/*
 * vhdx copy | convert | compact | defrag | merge: the disk jobs of hv/storage/disk_job.c on
 * host files.  A new image is written as TARGET.tmp, flushed, then renamed over TARGET (and
 * the folder flushed): a cut before the rename leaves the old TARGET (or none), after it
 * the new one; --resume reuses a TARGET.tmp a cut run left.  A merge works in place and is
 * resumed by merging again.  Exit status: 0 done, 1 failed (the message says why), 2 usage,
 * 3 interrupted (SIGINT/SIGTERM: the job is cancelled, TARGET.tmp removed).
 */
#include "tools/vhdx/vhdx_jobs.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <libgen.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "hv/storage/disk_job.h"
#include "tools/vhdx/vhdx_file.h"

enum { EXIT_DONE = 0, EXIT_FAILED = 1, EXIT_USAGE = 2, EXIT_INTERRUPTED = 3 };

struct job_opts {
    const char *cmd;
    const char *pos[2];
    int npos;
    const char *format, *base, *out;
    uint32_t block_size, sector_size;
    uint64_t budget;
    bool json, bar, progress_lines, resume;
};

static volatile sig_atomic_t interrupted;

static void on_signal(int sig)
{
    (void)sig;
    interrupted = 1;
}

static int usage(const struct job_opts *o, const char *fmt, const char *arg)
{
    fprintf(stderr, "vhdx %s: ", o->cmd);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\n(vhdx %s --help for the usage)\n", o->cmd);
    return EXIT_USAGE;
}

static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || s[0] == '-')
        return -1;
    int shift = 0;
    switch (*end) {
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    default: break;
    }
    if (*end || (v << shift) >> shift != v)
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

static int parse_job_opts(const char *cmd, int argc, char **argv, int want_pos,
                          struct job_opts *o)
{
    memset(o, 0, sizeof(*o));
    o->cmd = cmd;
    o->budget = 64u << 20;
    o->bar = isatty(2);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        uint64_t n;
        if (!strcmp(a, "--json")) o->json = true;
        else if (!strcmp(a, "--bar")) o->bar = true;
        else if (!strcmp(a, "--no-bar")) o->bar = false;
        else if (!strcmp(a, "--progress")) o->progress_lines = true;
        else if (!strcmp(a, "--resume")) o->resume = true;
        else if (a[0] == '-' && a[1] == '-' && !v) return usage(o, "option %s needs a value", a);
        else if (!strcmp(a, "--format") || !strcmp(a, "--to")) o->format = v, i++;
        else if (!strcmp(a, "--base")) o->base = v, i++;
        else if (!strcmp(a, "--out")) o->out = v, i++;
        else if (!strcmp(a, "--block-size")) {
            if (parse_size(v, &n) || n > UINT32_MAX)
                return usage(o, "bad block size '%s'", v);
            o->block_size = (uint32_t)n, i++;
        } else if (!strcmp(a, "--sector-size")) {
            if (parse_size(v, &n) || (n != 512 && n != 4096))
                return usage(o, "sector size '%s': 512 or 4096", v);
            o->sector_size = (uint32_t)n, i++;
        } else if (!strcmp(a, "--budget")) {
            if (parse_size(v, &n) || n == 0)
                return usage(o, "bad budget '%s'", v);
            o->budget = n, i++;
        } else if (a[0] == '-' && a[1]) return usage(o, "unknown option %s", a);
        else if (o->npos == want_pos) return usage(o, "unexpected argument '%s'", a);
        else o->pos[o->npos++] = a;
    }
    if (o->npos < want_pos)
        return usage(o, "missing arguments%s", "");
    return 0;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* "[#####.....]  45%  123/456 MiB  80.1 MiB/s  ETA 4s" on stderr, redrawn in place. */
static void draw_bar(const struct disk_job_progress *p, double t0, bool final)
{
    double secs = now() - t0, mib = (double)p->done / (1 << 20);
    double total = (double)p->total / (1 << 20), rate = secs > 0 ? mib / secs : 0;
    int pct = p->total ? (int)(100.0 * (double)p->done / (double)p->total) : 100;
    char bar[31];
    for (int i = 0; i < 30; i++)
        bar[i] = i < pct * 30 / 100 ? '#' : '.';
    bar[30] = 0;
    fprintf(stderr, "\r[%s] %3d%%  %.0f/%.0f MiB  %.1f MiB/s", bar, pct, mib, total, rate);
    if (!final && rate > 0)
        fprintf(stderr, "  ETA %.0fs ", (total - mib) / rate);
    else
        fprintf(stderr, "  %.1fs    %s", secs, final ? "\n" : "");
}

static void print_json(const struct job_opts *o, const char *src, const char *dst,
                       const struct disk_job_progress *p, double secs, const char *status,
                       const char *msg)
{
    printf("{\"op\": \"%s\", \"source\": \"%s\", \"target\": \"%s\", \"status\": \"%s\", "
           "\"virtual_bytes\": %" PRIu64 ", \"bytes_read\": %" PRIu64 ", "
           "\"bytes_written\": %" PRIu64 ", \"bytes_zero\": %" PRIu64 ", "
           "\"bytes_dedup\": %" PRIu64 ", \"passes\": %u, \"seconds\": %.3f",
           o->cmd, src, dst ? dst : "", status, p->done, p->bytes_read, p->bytes_written,
           p->bytes_zero, p->bytes_dedup, p->passes, secs);
    if (msg) {
        printf(", \"error\": \"");
        for (; *msg; msg++)
            printf(*msg == '"' || *msg == '\\' ? "\\%c" : "%c", *msg);
        printf("\"");
    }
    printf("}\n");
}

/* Runs j to the end; 0, or a negative vhdx_status (err filled), or 1 when interrupted. */
static int drive(struct disk_job *j, const struct job_opts *o, uint32_t block_size,
                 struct vhdx_err *err)
{
    double t0 = now();
    uint64_t lines = 0;
    struct disk_job_progress p;
    for (;;) {
        if (interrupted) {
            disk_job_cancel(j);
            return 1;
        }
        int st = disk_job_step(j, o->budget, err);
        if (st < 0)
            return st;
        disk_job_get_progress(j, &p);
        if (o->bar)
            draw_bar(&p, t0, false);
        if (o->progress_lines) /* each block durable in the target */
            for (; lines < p.done / block_size && lines < p.total / block_size; lines++)
                printf("%s %" PRIu64 "/%" PRIu64 "\n",
                       !strcmp(o->cmd, "merge") ? "MERGED" : "COPIED", lines + 1,
                       (p.total + block_size - 1) / block_size);
        fflush(stdout);
        if (st == DISK_JOB_READY)
            break;
    }
    int st = disk_job_finish(j, err);
    disk_job_get_progress(j, &p);
    if (o->bar)
        draw_bar(&p, t0, true);
    return st < 0 ? st : 0;
}

static int fsync_dir_of(const char *path)
{
    char buf[PATH_MAX];
    snprintf(buf, sizeof(buf), "%s", path);
    int fd = open(dirname(buf), O_RDONLY | O_DIRECTORY);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

static bool is_vhdx(const char *path)
{
    char sig[8] = { 0 };
    int fd = open(path, O_RDONLY);
    bool yes = fd >= 0 && read(fd, sig, 8) == 8 && !memcmp(sig, "vhdxfile", 8);
    if (fd >= 0)
        close(fd);
    return yes;
}

static int open_source(const char *path, struct vhdx **d, struct vhdx_io *io,
                       struct vhdx_err *err)
{
    int rc = vhdx_host_open(path, VHDX_OPEN_READ_ONLY, d, io, err);
    if (rc == VHDX_E_READ_ONLY) /* a log to replay first: an invisible change */
        rc = vhdx_host_open(path, 0, d, io, err);
    return rc;
}

/* The locator path of base as seen from target's folder: its name when they share one. */
static void base_paths(const char *base, const char *target, char *rel, size_t rel_size,
                       char *abs, size_t abs_size)
{
    char b[PATH_MAX], t[PATH_MAX];
    snprintf(b, sizeof(b), "%s", base);
    snprintf(t, sizeof(t), "%s", target);
    char bd[PATH_MAX], td[PATH_MAX];
    if (!realpath(dirname(b), bd) || !realpath(dirname(t), td))
        bd[0] = td[0] = 0;
    snprintf(b, sizeof(b), "%s", base);
    snprintf(rel, rel_size, "%s", bd[0] && !strcmp(bd, td) ? basename(b) : "");
    if (!realpath(base, abs))
        snprintf(abs, abs_size, "%s", base);
}

struct copy_ctx {
    struct vhdx *src, *base;
    struct vhdx_io src_io, base_io, dst_io;
    struct dedup_index *dedup;
    bool src_open, base_open, dst_open;
};

static void release(struct copy_ctx *c)
{
    if (c->src_open)
        vhdx_host_close(c->src, &c->src_io, NULL);
    else if (c->src_io.ctx)
        vhdx_file_close(&c->src_io);
    if (c->base_open)
        vhdx_host_close(c->base, &c->base_io, NULL);
    if (c->dst_open)
        vhdx_file_close(&c->dst_io);
    dedup_destroy(c->dedup);
    memset(c, 0, sizeof(*c));
}

static int fail_msg(const struct job_opts *o, const char *src, const char *dst,
                    const struct vhdx_err *err)
{
    if (o->json) {
        struct disk_job_progress p = { 0 };
        print_json(o, src, dst, &p, 0, "failed", err->msg);
    }
    fprintf(stderr, "vhdx %s: %s\n", o->cmd, err->msg);
    return EXIT_FAILED;
}

/* copy, convert, compact, defrag: SRC into a new image switched in as TARGET. */
static int copy_like(const struct job_opts *o, enum disk_job_op op, const char *src,
                     const char *target, enum disk_job_format fmt)
{
    struct copy_ctx c = { 0 };
    struct vhdx_err err = { 0 };
    struct disk_job_params p = { .op = op, .format = fmt, .block_size = o->block_size };
    char tmp[PATH_MAX], rel[PATH_MAX], abs[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s.tmp", target);
    if (is_vhdx(src)) {
        if (open_source(src, &c.src, &c.src_io, &err))
            return fail_msg(o, src, target, &err);
        c.src_open = true;
        p.src = c.src;
    } else if (op == DISK_JOB_COPY || op == DISK_JOB_CONVERT) {
        int rc = vhdx_file_open(src, false, false, &c.src_io);
        if (rc < 0) {
            snprintf(err.msg, sizeof(err.msg), "%s: %s", src, strerror(-rc));
            return fail_msg(o, src, target, &err);
        }
        p.src_raw = &c.src_io;
        p.src_raw_size = c.src_io.size(c.src_io.ctx);
        p.env = &vhdx_host_env;
        p.raw_sector_size = o->sector_size;
    } else {
        snprintf(err.msg, sizeof(err.msg), "%s is not a VHDX file", src);
        return fail_msg(o, src, target, &err);
    }
    if (o->base) {
        if (open_source(o->base, &c.base, &c.base_io, &err)) {
            release(&c);
            return fail_msg(o, src, target, &err);
        }
        c.base_open = true;
        struct vhdx_info bi;
        vhdx_get_info(c.base, &bi);
        uint8_t *buf = malloc(DEDUP_UNIT);
        c.dedup = dedup_create(&vhdx_host_env, (uint32_t)(bi.disk_size / DEDUP_UNIT + 1),
                               vhdx_sha256, NULL);
        int rc = !buf || !c.dedup ? (snprintf(err.msg, sizeof(err.msg), "out of memory"), 1)
                                  : dedup_index_disk(c.dedup, 1, c.base, buf, &err);
        free(buf);
        if (rc) {
            release(&c);
            return fail_msg(o, src, target, &err);
        }
        base_paths(o->base, target, rel, sizeof(rel), abs, sizeof(abs));
        p.base = c.base, p.base_rel = rel, p.base_abs = abs;
        p.dedup = c.dedup, p.base_obj = 1;
    }
    p.resume = o->resume && access(tmp, F_OK) == 0;
    int rc = vhdx_file_open(tmp, true, !p.resume, &c.dst_io);
    if (rc < 0) {
        snprintf(err.msg, sizeof(err.msg), "%.500s: %s", tmp, strerror(-rc));
        release(&c);
        return fail_msg(o, src, target, &err);
    }
    c.dst_open = true;
    p.dst = &c.dst_io;
    p.dst_name = tmp;
    struct disk_job *j;
    double t0 = now();
    rc = disk_job_start(&p, &j, &err);
    if (rc && p.resume && rc != VHDX_E_NOMEM) {
        /* The cut came before the new image was whole enough to reopen: start afresh. */
        vhdx_file_close(&c.dst_io);
        p.resume = false;
        rc = vhdx_file_open(tmp, true, true, &c.dst_io);
        rc = rc < 0 ? VHDX_E_IO : disk_job_start(&p, &j, &err);
    }
    if (rc) {
        release(&c);
        unlink(tmp);
        return fail_msg(o, src, target, &err);
    }
    struct vhdx_info si = { .block_size = 1u << 20 };
    if (c.src)
        vhdx_get_info(c.src, &si);
    rc = drive(j, o, si.block_size, &err);
    struct disk_job_progress pr;
    disk_job_get_progress(j, &pr);
    disk_job_free(j);
    release(&c);
    if (rc == 1) {
        unlink(tmp);
        fprintf(stderr, "vhdx %s: interrupted; %s left as it was\n", o->cmd, target);
        return EXIT_INTERRUPTED;
    }
    if (rc < 0)
        return fail_msg(o, src, target, &err); /* tmp kept: --resume continues it */
    vhdx_file_cut_point();
    if (rename(tmp, target) < 0 || fsync_dir_of(target) < 0) {
        snprintf(err.msg, sizeof(err.msg), "cannot switch %.300s to %.300s: %s", tmp, target,
                 strerror(errno));
        return fail_msg(o, src, target, &err);
    }
    vhdx_file_cut_point();
    if (o->json)
        print_json(o, src, target, &pr, now() - t0, "done", NULL);
    else
        printf("%s %s -> %s: %.1f MiB read, %.1f MiB written, %.1f MiB zero, %.1f MiB already "
               "at the destination\n", o->cmd, src, target, pr.bytes_read / 1048576.0,
               pr.bytes_written / 1048576.0, pr.bytes_zero / 1048576.0,
               pr.bytes_dedup / 1048576.0);
    return EXIT_DONE;
}

static int parse_format(const struct job_opts *o, const char *src, enum disk_job_format *f)
{
    const char *s = o->format ? o->format : (is_vhdx(src) ? "raw" : "vhdx");
    if (!strcmp(s, "vhdx") || !strcmp(s, "dynamic")) *f = DISK_FORMAT_VHDX;
    else if (!strcmp(s, "fixed")) *f = DISK_FORMAT_VHDX_FIXED;
    else if (!strcmp(s, "raw")) *f = DISK_FORMAT_RAW;
    else return usage(o, "format must be vhdx, fixed or raw, not '%s'", s);
    return 0;
}

static void install_signals(void)
{
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
}

int vhdx_cmd_copy(int argc, char **argv)
{
    struct job_opts o;
    enum disk_job_format f = DISK_FORMAT_VHDX;
    int rc = parse_job_opts("copy", argc, argv, 2, &o);
    if (!rc && o.format)
        rc = parse_format(&o, o.pos[0], &f);
    if (rc)
        return rc;
    install_signals();
    return copy_like(&o, DISK_JOB_COPY, o.pos[0], o.pos[1], f);
}

int vhdx_cmd_convert(int argc, char **argv)
{
    struct job_opts o;
    enum disk_job_format f;
    int rc = parse_job_opts("convert", argc, argv, 2, &o);
    if (!rc)
        rc = parse_format(&o, o.pos[0], &f);
    if (rc)
        return rc;
    install_signals();
    return copy_like(&o, DISK_JOB_CONVERT, o.pos[0], o.pos[1], f);
}

static int in_place(const char *cmd, enum disk_job_op op, int argc, char **argv)
{
    struct job_opts o;
    int rc = parse_job_opts(cmd, argc, argv, 1, &o);
    if (rc)
        return rc;
    if (o.base || o.format)
        return usage(&o, "--base and --format do not apply%s", "");
    install_signals();
    return copy_like(&o, op, o.pos[0], o.out ? o.out : o.pos[0], DISK_FORMAT_VHDX);
}

int vhdx_cmd_compact(int argc, char **argv)
{
    return in_place("compact", DISK_JOB_COMPACT, argc, argv);
}

int vhdx_cmd_defrag(int argc, char **argv)
{
    return in_place("defrag", DISK_JOB_DEFRAG, argc, argv);
}

int vhdx_cmd_merge(int argc, char **argv)
{
    struct job_opts o;
    int rc = parse_job_opts("merge", argc, argv, 1, &o);
    if (rc)
        return rc;
    struct vhdx *d;
    struct vhdx_io io;
    struct vhdx_err err = { 0 };
    if (vhdx_host_open(o.pos[0], VHDX_OPEN_PARENT_RW, &d, &io, &err))
        return fail_msg(&o, o.pos[0], NULL, &err);
    struct vhdx_info info;
    vhdx_get_info(d, &info);
    if (!info.has_parent) {
        vhdx_host_close(d, &io, NULL);
        snprintf(err.msg, sizeof(err.msg), "%s is not a differencing disk", o.pos[0]);
        return fail_msg(&o, o.pos[0], NULL, &err);
    }
    bool resumed = vhdx_merge_in_progress(d);
    if (o.progress_lines) /* MERGED lines count blocks: one step per block */
        o.budget = info.block_size;
    install_signals();
    struct disk_job_params p = { .op = DISK_JOB_MERGE, .src = d };
    struct disk_job *j;
    double t0 = now();
    rc = disk_job_start(&p, &j, &err);
    if (!rc)
        rc = drive(j, &o, info.block_size, &err);
    struct disk_job_progress pr = { 0 };
    if (j)
        disk_job_get_progress(j, &pr);
    disk_job_free(j);
    if (rc == 1) {
        vhdx_host_close(d, &io, NULL);
        fprintf(stderr, "vhdx merge: interrupted; the chain is whole, merge again to finish\n");
        return EXIT_INTERRUPTED;
    }
    if (rc < 0) {
        vhdx_host_close(d, &io, NULL);
        return fail_msg(&o, o.pos[0], info.parent_name, &err);
    }
    if (vhdx_host_close(d, &io, &err))
        return fail_msg(&o, o.pos[0], info.parent_name, &err);
    if (o.json)
        print_json(&o, o.pos[0], info.parent_name, &pr, now() - t0, "done", NULL);
    else
        printf("merged %s into %s%s; %s may be deleted (it reads as its parent now)\n",
               o.pos[0], info.parent_name, resumed ? " (resumed)" : "", o.pos[0]);
    return EXIT_DONE;
}
