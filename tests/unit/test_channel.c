/* Unit tests: hv/core/channel.c on the host, with the page tables, flushes, write tracking
 * and interrupt fabric it drives replaced by recorders.  What it must get right in what
 * order: a grant's pages leave the peer's page tables, and the peer is flushed, before the
 * owner's end returns (after which its memory is freed), even when the peer is ending too. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hv/core/channel.h"
#include "hv/core/hypercall_abi.h"
#include "hv/core/partition_writes.h"
#include "hv/core/virt.h"
#include "hv/vdev/platform_devices.h"

#define PARTS 3
#define RAM   (16ull << 20)
#define WIN   0x100000000ull
#define VEC   0x41

struct partition *partitions[PARTS];
unsigned partition_count;
static struct partition parts[PARTS];

/* ---- recorders for what channel.c drives ------------------------------------------- */

struct fake_ept { uint64_t gpa[64], hpa[64]; unsigned n; unsigned flushes; };
static struct fake_ept ept[PARTS + 1];
static unsigned rings[PARTS + 1], last_vector[PARTS + 1], notes[PARTS + 1];

static unsigned id_of(const struct partition *p) { return (unsigned)(p - parts) + 1; }

uint64_t guest_mem_hpa(const struct guest_mem *m, uint64_t gpa)
{
    if (gpa >= m->size)
        return 0;
    for (unsigned i = 0; i < PARTS; i++)
        if (&parts[i].mem == m)
            return ((uint64_t)(i + 1) << 32) + gpa;
    return 0;
}

bool guest_mem_contains(const struct guest_mem *m, uint64_t gpa, uint64_t len)
{
    return gpa < m->size && len <= m->size - gpa;
}

bool virt_map_foreign(struct partition *p, uint64_t gpa, uint64_t hpa, bool writable,
                      enum virt_memtype type)
{
    struct fake_ept *e = &ept[id_of(p)];
    assert_true(writable);
    assert_int_equal(type, VIRT_MEMTYPE_WB);            /* another partition's RAM */
    assert_true(e->n < 64);
    e->gpa[e->n] = gpa;
    e->hpa[e->n++] = hpa;
    return true;
}

void virt_unmap_foreign(struct partition *p, uint64_t gpa)
{
    struct fake_ept *e = &ept[id_of(p)];
    for (unsigned i = 0; i < e->n; i++)
        if (e->gpa[i] == gpa) {
            e->gpa[i] = e->gpa[--e->n];
            e->hpa[i] = e->hpa[e->n];
            return;
        }
}

void virt_flush_partition(struct partition *p)
{
    ept[id_of(p)].flushes++;
}

void partition_writes_note(struct partition *p, uint64_t gpa, uint64_t len)
{
    (void)gpa, (void)len;
    notes[id_of(p)]++;
}

static void msi_send(void *ctx, uint64_t addr, uint32_t data)
{
    (void)addr;
    unsigned id = (unsigned)(uintptr_t)ctx;
    rings[id]++;
    last_vector[id] = data;
}

static struct vdev_platform plat[PARTS + 1];

const struct vdev_platform *platform_devices_platform(const struct platform_devices *pd)
{
    return &plat[(uintptr_t)pd];
}

/* Frames of owner o still mapped in p's page tables. */
static unsigned frames_of(unsigned o, unsigned p)
{
    unsigned n = 0;
    for (unsigned i = 0; i < ept[p].n; i++)
        n += ept[p].hpa[i] >> 32 == o;
    return n;
}

static int setup(void **state)
{
    (void)state;
    memset(ept, 0, sizeof(ept));
    memset(rings, 0, sizeof(rings));
    memset(notes, 0, sizeof(notes));
    partition_count = PARTS;
    for (unsigned i = 0; i < PARTS; i++) {
        struct partition *p = &parts[i];
        memset(p, 0, sizeof(*p));
        p->id = i + 1;
        p->state = PART_RUNNING;
        p->mem.size = RAM;
        p->devices = (struct platform_devices *)(uintptr_t)(i + 1);
        plat[i + 1] = (struct vdev_platform){ .ctx = (void *)(uintptr_t)(i + 1), .msi_send = msi_send };
        partitions[i] = p;
    }
    return 0;
}

/* Every test leaves the table empty for the next (it lives in channel.c). */
static int teardown(void **state)
{
    (void)state;
    for (unsigned i = 0; i < PARTS; i++)
        channel_partition_gone(&parts[i]);
    return 0;
}

static struct partition *P(unsigned id) { return &parts[id - 1]; }

/* ---- tests ---------------------------------------------------------------------------- */

static void owner_end_unmaps_from_a_running_peer(void **state)
{
    (void)state;
    int64_t h = channel_grant(P(1), 0x10000, 3, 2, VEC);
    assert_true(h > 0);
    assert_int_equal(channel_map(P(2), (uint64_t)h, WIN, VEC + 1), 0);
    assert_int_equal(frames_of(1, 2), 3);
    unsigned flushes = ept[2].flushes;
    P(1)->state = PART_DEAD;
    channel_partition_gone(P(1));
    assert_int_equal(frames_of(1, 2), 0);
    assert_true(ept[2].flushes > flushes);
    assert_int_equal(notes[1], 1);
}

/* The peer's end has begun (its state says so) but its vCPUs may still be in guest mode:
 * the owner's frames must still leave its page tables, flushed, before the owner's memory
 * is freed. */
static void owner_end_unmaps_from_a_dying_peer(void **state)
{
    (void)state;
    int64_t h = channel_grant(P(1), 0x10000, 2, 2, VEC);
    assert_true(h > 0);
    assert_int_equal(channel_map(P(2), (uint64_t)h, WIN, VEC + 1), 0);
    P(2)->state = PART_DEAD;
    P(1)->state = PART_DEAD;
    unsigned flushes = ept[2].flushes;
    channel_partition_gone(P(1));
    assert_int_equal(frames_of(1, 2), 0);
    assert_true(ept[2].flushes > flushes);
}

static void peer_end_keeps_the_owner_whole(void **state)
{
    (void)state;
    int64_t h = channel_grant(P(1), 0x10000, 1, 2, VEC);
    assert_int_equal(channel_map(P(2), (uint64_t)h, WIN, VEC + 1), 0);
    P(2)->state = PART_DEAD;
    channel_partition_gone(P(2));
    assert_int_equal(channel_notify(P(1), (uint64_t)h), -HC_ENOENT);
    assert_int_equal(channel_revoke(P(1), (uint64_t)h), 0);        /* still the owner's */
    assert_int_equal(channel_revoke(P(1), (uint64_t)h), -HC_ENOENT);
    assert_int_equal(channel_grant(P(1), 0x10000, 1, 2, VEC), -HC_ENOENT);   /* ended */
}

static void revoke_unmaps_and_flushes(void **state)
{
    (void)state;
    int64_t h = channel_grant(P(1), 0x10000, 4, 3, VEC);
    assert_int_equal(channel_map(P(3), (uint64_t)h, WIN + 0x10000, VEC + 1), 0);
    assert_int_equal(channel_revoke(P(3), (uint64_t)h), -HC_ENOENT);
    assert_int_equal(frames_of(1, 3), 4);
    unsigned flushes = ept[3].flushes;
    assert_int_equal(channel_revoke(P(1), (uint64_t)h), 0);
    assert_int_equal(frames_of(1, 3), 0);
    assert_true(ept[3].flushes > flushes);
}

static void doorbells_ring_only_running_partitions(void **state)
{
    (void)state;
    int64_t h = channel_grant(P(1), 0x10000, 1, 2, VEC);
    assert_int_equal(channel_notify(P(1), (uint64_t)h), -HC_ENOENT);     /* not mapped yet */
    assert_int_equal(channel_map(P(2), (uint64_t)h, WIN, VEC + 1), 0);
    assert_int_equal(channel_notify(P(1), (uint64_t)h), 0);
    assert_int_equal(rings[2], 1);
    assert_int_equal(last_vector[2], VEC + 1);
    assert_int_equal(channel_notify(P(2), (uint64_t)h), 0);
    assert_int_equal(rings[1], 1);
    assert_int_equal(last_vector[1], VEC);
    assert_int_equal(channel_notify(P(3), (uint64_t)h), -HC_ENOENT);
    P(2)->state = PART_DEAD;                /* ending: its devices are about to go */
    channel_notify(P(1), (uint64_t)h);
    assert_int_equal(rings[2], 1);
}

static void one_partition_cannot_use_up_the_grants(void **state)
{
    (void)state;
    int64_t r;
    unsigned n = 0;
    while ((r = channel_grant(P(1), 0x10000, 1, 2, VEC)) > 0 && n < 1000)
        n++;
    assert_int_equal(r, -HC_ENOSPC);
    assert_true(n >= 1 && n <= 64 / PARTS);
    assert_true(channel_grant(P(2), 0x10000, 1, 1, VEC) > 0);
    assert_true(channel_grant(P(3), 0x10000, 1, 1, VEC) > 0);
}

static void a_wrapping_map_is_refused(void **state)
{
    (void)state;
    int64_t h = channel_grant(P(1), 0x10000, 2, 2, VEC);
    assert_int_equal(channel_map(P(2), (uint64_t)h, 0xfffffffffffff000ull, VEC + 1), -HC_EINVAL);
    assert_int_equal(ept[2].n, 0);          /* nothing landed anywhere, not at 0 either */
    assert_int_equal(channel_map(P(2), (uint64_t)h, 0xffffffffffffe000ull, VEC + 1), -HC_EINVAL);
    assert_int_equal(ept[2].n, 0);
    assert_int_equal(channel_map(P(2), (uint64_t)h, WIN, VEC + 1), 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(owner_end_unmaps_from_a_running_peer), T(owner_end_unmaps_from_a_dying_peer),
        T(peer_end_keeps_the_owner_whole), T(revoke_unmaps_and_flushes),
        T(doorbells_ring_only_running_partitions), T(one_partition_cannot_use_up_the_grants),
        T(a_wrapping_map_is_refused),
    };
    return cmocka_run_group_tests_name("channel", tests, NULL, NULL);
}
