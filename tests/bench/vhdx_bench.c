/*
 * VHDX benchmark: 4 KiB scattered reads/writes and 64 KiB sequential reads/writes through
 * our module on a host file, and `qemu-img bench` doing the same (queue depth 1, writeback
 * cache, the same offsets) on a VHDX and a qcow2 image on the same filesystem, in the same
 * run.  Scattered = offset advances by a large odd stride modulo the disk size, which is
 * the pattern qemu-img bench offers.  Prints "name | ours | anchor | ratio" rows in IOPS.
 *   vhdx-bench TOOL WORKDIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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

static double run_qemu(const char *img, const char *fmt, const struct workload *w)
{
    char cmd[1024], line[256];
    snprintf(cmd, sizeof(cmd), "qemu-img bench -f %s -t writeback -d 1 -c %u -s %u -S %llu %s "
             "'%s' 2>&1", fmt, w->count, w->size, w->step, w->write ? "-w" : "", img);
    FILE *p = popen(cmd, "r");
    double secs = 0;
    while (p && fgets(line, sizeof(line), p))
        sscanf(line, "Run completed in %lf seconds", &secs);
    if (p)
        pclose(p);
    if (secs <= 0) {
        fprintf(stderr, "vhdx-bench: '%s' gave no time\n", cmd);
        return 0;
    }
    return w->count / secs;
}

static int sh(const char *fmt, const char *a, const char *b, const char *c)
{
    char cmd[2048];
    snprintf(cmd, sizeof(cmd), fmt, a, b, c);
    int rc = system(cmd);
    if (rc)
        fprintf(stderr, "vhdx-bench: failed: %s\n", cmd);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc != 3) {
        fprintf(stderr, "usage: vhdx-bench VHDX_TOOL WORKDIR\n");
        return 2;
    }
    char raw[512], ours[512], qv[512], qq[512];
    snprintf(raw, sizeof(raw), "%s/src.raw", argv[2]);
    snprintf(ours, sizeof(ours), "%s/ours.vhdx", argv[2]);
    snprintf(qv, sizeof(qv), "%s/qemu.vhdx", argv[2]);
    snprintf(qq, sizeof(qq), "%s/qemu.qcow2", argv[2]);
    /* Fully allocated images of the same data: no allocation is timed. */
    if (sh("mkdir -p '%s' && head -c 256M /dev/urandom > '%s'%s", argv[2], raw, "") ||
        sh("'%s' convert --block-size 32M '%s' '%s' >/dev/null", argv[1], raw, ours) ||
        sh("qemu-img convert -O vhdx -o block_size=32M '%s' '%s'%s", raw, qv, "") ||
        sh("qemu-img convert -O qcow2 '%s' '%s'%s", raw, qq, ""))
        return 1;
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
    sh("rm -f '%s' '%s' '%s'", raw, ours, qv);
    sh("rm -f '%s'%s%s", qq, "", "");
    return rc;
}
