/*
 * Helper of the crash-consistency test (tests/storage/run-vhdx-host).
 *   write IMAGE SEED          writes 64 KiB slots in a seeded order, printing "ACK n" once
 *                             each write has returned; killed at a random moment
 *   verify IMAGE SEED ACKS    reopens (replaying the log): acknowledged slots hold their
 *                             pattern, untouched slots the template's, the one slot in
 *                             flight may hold either
 *   template IMAGE            writes the template's slots into a fresh image
 * Slot i of a 64 MiB disk covers [i * 64 KiB, (i + 1) * 64 KiB).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/vhdx/vhdx_file.h"

#define SLOT   (64u * 1024u)
#define SLOTS  1024u

static void pattern(uint8_t *buf, unsigned seed, unsigned slot)
{
    uint32_t x = seed * 2654435761u ^ slot * 40503u ^ 0x9e3779b9u;
    for (unsigned i = 0; i < SLOT; i += 4) {
        x ^= x << 13, x ^= x >> 17, x ^= x << 5;
        memcpy(buf + i, &x, 4);
    }
    memcpy(buf, &slot, sizeof(slot)); /* slot number first: misplaced data is visible */
}

/* The template holds slots 0, 2, 4 ... of the first half; the rest reads as zeros. */
static bool in_template(unsigned slot)
{
    return slot < SLOTS / 2 && slot % 2 == 0;
}

static void order(unsigned seed, unsigned *slots)
{
    for (unsigned i = 0; i < SLOTS; i++)
        slots[i] = i;
    srand(seed);
    for (unsigned i = SLOTS - 1; i > 0; i--) {
        unsigned j = (unsigned)rand() % (i + 1), t = slots[i];
        slots[i] = slots[j], slots[j] = t;
    }
}

static int die(const char *what, const struct vhdx_err *err)
{
    fprintf(stderr, "crashwriter %s: %s\n", what, err->msg);
    return 1;
}

static int do_write(const char *img, unsigned seed, bool template_only)
{
    struct vhdx *d;
    struct vhdx_io io;
    struct vhdx_err err;
    if (vhdx_host_open(img, 0, &d, &io, &err))
        return die("open", &err);
    static unsigned slots[SLOTS];
    static uint8_t buf[SLOT];
    order(seed, slots);
    for (unsigned i = 0; i < SLOTS; i++) {
        unsigned s = template_only ? i : slots[i];
        if (template_only && !in_template(s))
            continue;
        pattern(buf, template_only ? 0 : seed, s);
        if (vhdx_write(d, (uint64_t)s * SLOT, buf, SLOT, &err))
            return die("write", &err);
        if (!template_only) {
            printf("ACK %u\n", i);
            fflush(stdout);
        }
    }
    return vhdx_host_close(d, &io, &err) ? die("close", &err) : 0;
}

static int do_verify(const char *img, unsigned seed, long acked)
{
    struct vhdx *d;
    struct vhdx_io io;
    struct vhdx_err err;
    if (vhdx_host_open(img, 0, &d, &io, &err))
        return die("reopen", &err);
    static unsigned slots[SLOTS], rank[SLOTS];
    static uint8_t got[SLOT], want[SLOT], old[SLOT];
    order(seed, slots);
    for (unsigned i = 0; i < SLOTS; i++)
        rank[slots[i]] = i;
    int bad = 0;
    for (unsigned s = 0; s < SLOTS && !bad; s++) {
        if (vhdx_read(d, (uint64_t)s * SLOT, got, SLOT, &err))
            return die("read", &err);
        pattern(want, seed, s);
        if (in_template(s))
            pattern(old, 0, s);
        else
            memset(old, 0, SLOT);
        long r = (long)rank[s];
        if (r <= acked)
            bad = memcmp(got, want, SLOT) != 0;
        else if (r == acked + 1) /* in flight: each sector old or new */
            for (unsigned k = 0; k < SLOT && !bad; k += 512)
                bad = memcmp(got + k, want + k, 512) && memcmp(got + k, old + k, 512);
        else
            bad = memcmp(got, old, SLOT) != 0;
        if (bad)
            fprintf(stderr, "crashwriter verify: slot %u (written %ld, acked up to %ld) has "
                    "wrong data\n", s, r, acked);
    }
    struct vhdx_info info;
    vhdx_get_info(d, &info);
    printf("replayed %u\n", info.log_entries_replayed);
    vhdx_host_close(d, &io, NULL);
    return bad;
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "template"))
        return do_write(argv[2], 0, true);
    if (argc == 4 && !strcmp(argv[1], "write"))
        return do_write(argv[2], (unsigned)strtoul(argv[3], NULL, 0), false);
    if (argc == 5 && !strcmp(argv[1], "verify"))
        return do_verify(argv[2], (unsigned)strtoul(argv[3], NULL, 0), strtol(argv[4], NULL, 0));
    fprintf(stderr, "usage: vhdx-crashwriter template IMG | write IMG SEED | "
            "verify IMG SEED LAST_ACK\n");
    return 2;
}
