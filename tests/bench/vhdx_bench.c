/*
 * VHDX benchmark: 4 KiB scattered reads/writes and 64 KiB sequential reads/writes through
 * our module on a host file, and `qemu-img bench` doing the same (queue depth 1, writeback
 * cache, the same offsets) on a VHDX and a qcow2 image on the same filesystem, in the same
 * run.  Scattered = offset advances by a large odd stride modulo the disk size, which is
 * the pattern qemu-img bench offers.  Prints "name | ours | anchor | ratio" rows in IOPS.
 *   vhdx-bench TOOL WORKDIR
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "tests/bench/bench_cli.h"
#include "tests/bench/bench_dir.h"
#include "tools/vhdx/vhdx_file.h"

#define DISK   (256ull << 20)
#define STRIDE (7919ull * 4096)

struct workload {
    const char *name;
    unsigned size, count;
    unsigned long long step;
    bool write;
};

static const struct workload loads[] = {
    { "4K scattered read", 4096, 40000, STRIDE, false },
    { "4K scattered write", 4096, 40000, STRIDE, true },
    { "64K sequential read", 65536, 4096, 65536, false },
    { "64K sequential write", 65536, 4096, 65536, true },
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double run_ours(const char *img, const struct workload *w)
{
    struct vhdx *d;
    struct vhdx_io io;
    struct vhdx_err err;
    if (vhdx_host_open(img, 0, &d, &io, &err)) {
        fprintf(stderr, "vhdx-bench: %s\n", err.msg);
        exit(1);
    }
    uint8_t *buf = malloc(w->size);
    memset(buf, 0xa5, w->size);
    unsigned long long off = 0;
    double t0 = now();
    for (unsigned i = 0; i < w->count; i++) {
        int rc = w->write ? vhdx_write(d, off, buf, w->size, &err)
                          : vhdx_read(d, off, buf, w->size, &err);
        if (rc) {
            fprintf(stderr, "vhdx-bench: %s\n", err.msg);
            exit(1);
        }
        off = (off + w->step) % DISK;
    }
    double t = now() - t0;
    vhdx_host_close(d, &io, NULL);
    free(buf);
    return w->count / t;
}

/* Runs ARGV[0] (looked up in PATH, no shell) to its end: its exit status, or -1 with the
 * reason printed.  Its stdout goes to OUT when OUT >= 0, its stderr too when ERR_TOO. */
static int run(const char *const argv[], int out, bool err_too)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    if (out >= 0)
        posix_spawn_file_actions_adddup2(&fa, out, STDOUT_FILENO);
    if (out >= 0 && err_too)
        posix_spawn_file_actions_adddup2(&fa, out, STDERR_FILENO);
    pid_t pid;
    int st = -1, rc = posix_spawnp(&pid, argv[0], &fa, NULL, (char *const *)argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    if (!rc && waitpid(pid, &st, 0) < 0)
        rc = errno;
    int status = rc || !WIFEXITED(st) ? -1 : WEXITSTATUS(st);
    if (status) {
        fprintf(stderr, "vhdx-bench: failed (%s):", rc ? strerror(rc) : "exit status");
        for (int i = 0; argv[i]; i++)
            fprintf(stderr, " %s", argv[i]);
        fprintf(stderr, "\n");
    }
    return status;
}

static double run_qemu(const char *img, const char *fmt, const struct workload *w)
{
    char count[16], size[16], step[24], line[256];
    snprintf(count, sizeof(count), "%u", w->count);
    snprintf(size, sizeof(size), "%u", w->size);
    snprintf(step, sizeof(step), "%llu", w->step);
    const char *argv[18] = { "qemu-img", "bench", "-f", fmt, "-t", "writeback", "-d", "1",
                             "-c", count, "-s", size, "-S", step };
    int n = 14;
    if (w->write)
        argv[n++] = "-w";
    argv[n++] = img;
    FILE *log = tmpfile();
    double secs = 0;
    if (log && run(argv, fileno(log), true) == 0) {
        rewind(log);
        while (fgets(line, sizeof(line), log))
            sscanf(line, "Run completed in %lf seconds", &secs);
    }
    if (log)
        fclose(log);
    if (secs <= 0) {
        fprintf(stderr, "vhdx-bench: qemu-img bench on %s gave no time\n", img);
        return 0;
    }
    return w->count / secs;
}

/* PATH made of BYTES of /dev/urandom. */
static int random_file(const char *path, unsigned long long bytes)
{
    static char buf[1 << 20];
    FILE *in = fopen("/dev/urandom", "rb"), *out = fopen(path, "wb");
    int rc = in && out ? 0 : -1;
    for (unsigned long long done = 0; !rc && done < bytes; done += sizeof(buf))
        rc = fread(buf, 1, sizeof(buf), in) == sizeof(buf) &&
                     fwrite(buf, 1, sizeof(buf), out) == sizeof(buf) ? 0 : -1;
    if (in)
        fclose(in);
    if (out && fclose(out))
        rc = -1;
    if (rc)
        fprintf(stderr, "vhdx-bench: %s: %s\n", path, strerror(errno));
    return rc;
}

static const char usage[] =
    "usage: vhdx-bench VHDX_TOOL WORKDIR\n"
    "\n"
    "Our VHDX module (tools/vhdx/vhdx_file.c on a host file) against `qemu-img bench` on a\n"
    "VHDX and on a qcow2 image, queue depth 1, writeback cache, the same offsets: 4 KiB\n"
    "scattered reads and writes, 64 KiB sequential reads and writes, over 256 MiB of random\n"
    "data, every image fully allocated (ours converted by VHDX_TOOL, build/tools/vhdx;\n"
    "qemu-img's by qemu-img convert), all in WORKDIR (made where missing; the four image\n"
    "files are removed at the end).  Rows in IOPS (ours, anchor, ratio; higher is better).\n"
    "Needs qemu-img.\n"
    "\n"
    "  --help     this text\n"
    "  --version  the version\n";

int main(int argc, char **argv)
{
    const char *args[2];
    int nargs = 0;
    for (int i = 1; i < argc; i++) {
        if (!bench_cli_option("vhdx-bench", usage, argv[i]) && nargs < 2)
            args[nargs++] = argv[i];
        else
            bench_cli_usage_error("vhdx-bench", usage, "VHDX_TOOL and WORKDIR only");
    }
    if (nargs != 2)
        bench_cli_usage_error("vhdx-bench", usage, NULL);
    const char *tool = args[0], *dir = args[1];
    char raw[512], ours[512], qv[512], qq[512];
    snprintf(raw, sizeof(raw), "%s/src.raw", dir);
    snprintf(ours, sizeof(ours), "%s/ours.vhdx", dir);
    snprintf(qv, sizeof(qv), "%s/qemu.vhdx", dir);
    snprintf(qq, sizeof(qq), "%s/qemu.qcow2", dir);
    if (bench_dir_make(dir)) {
        fprintf(stderr, "vhdx-bench: %s: %s\n", dir, strerror(errno));
        return 1;
    }
    /* Fully allocated images of the same data: no allocation is timed. */
    const char *convert_ours[] = { tool, "convert", "--block-size", "32M", raw, ours, NULL };
    const char *convert_vhdx[] = { "qemu-img", "convert", "-O", "vhdx", "-o", "block_size=32M",
                                   raw, qv, NULL };
    const char *convert_qcow2[] = { "qemu-img", "convert", "-O", "qcow2", raw, qq, NULL };
    int null = open("/dev/null", O_WRONLY);
    if (random_file(raw, DISK) || run(convert_ours, null, false) || run(convert_vhdx, -1, false) ||
        run(convert_qcow2, -1, false))
        return 1;
    close(null);
    int rc = 0;
    for (size_t i = 0; i < sizeof(loads) / sizeof(loads[0]); i++) {
        const struct workload *w = &loads[i];
        double o = run_ours(ours, w), v = run_qemu(qv, "vhdx", w), q = run_qemu(qq, "qcow2", w);
        char name[96];
        snprintf(name, sizeof(name), "vhdx %s IOPS vs qemu vhdx", w->name);
        printf("%-44s %16.0f %16.0f %8.2f\n", name, o, v, v > 0 ? o / v : 0);
        snprintf(name, sizeof(name), "vhdx %s IOPS vs qemu qcow2", w->name);
        printf("%-44s %16.0f %16.0f %8.2f\n", name, o, q, q > 0 ? o / q : 0);
        rc |= v <= 0 || q <= 0;
    }
    unlink(raw), unlink(ours), unlink(qv), unlink(qq);
    return rc;
}
