/* Unit tests: the channel grant/map/notify/revoke state machine and its argument checks
 * (hv/core/channel_grants.c), without page tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hv/core/channel_grants.h"
#include "hv/core/hypercall_abi.h"

#define RAM   (16ull << 20)
#define VEC   0x41
#define WIN   CHANNEL_WINDOW_BASE
#define PAGE  CHANNEL_PAGE_SIZE

static struct channel_grants *t;

static int setup(void **state)
{
    (void)state;
    t = calloc(1, sizeof(*t));
    return t ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(t);
    return 0;
}

static int64_t grant(unsigned owner, uint64_t gpa, uint64_t pages, uint64_t peer)
{
    return channel_grants_add(t, owner, RAM, gpa, pages, peer, true, VEC);
}

static int64_t map(unsigned peer, uint64_t handle, uint64_t gpa)
{
    struct channel_grant *g = NULL;
    int64_t r = channel_grants_check_map(t, peer, handle, gpa, VEC + 1, &g);
    if (r == 0) {
        assert_non_null(g);
        channel_grants_mapped(g, gpa, VEC + 1);
    }
    return r;
}

static void handles_name_the_owner_and_slot(void **state)
{
    (void)state;
    assert_int_equal(grant(1, 0x1000, 1, 2), 1);
    assert_int_equal(grant(1, 0x2000, 1, 2), 2);
    assert_int_equal(grant(2, 0x1000, 1, 1), CHANNEL_GRANTS_PER_PARTITION + 1);
    assert_int_equal(grant(16, 0, 1, 1), 15 * CHANNEL_GRANTS_PER_PARTITION + 1);
    assert_int_equal(channel_grants_count(t, 1), 2);
    assert_int_equal(channel_grants_count(t, 2), 1);
}

static void grant_arguments_are_checked(void **state)
{
    (void)state;
    assert_int_equal(grant(1, 0x1001, 1, 2), -HC_EINVAL);
    assert_int_equal(grant(1, 0x1000, 0, 2), -HC_EINVAL);
    assert_int_equal(grant(1, 0x1000, CHANNEL_MAX_PAGES + 1, 2), -HC_EINVAL);
    assert_int_equal(grant(1, 0x1000, 1ull << 52, 2), -HC_EINVAL);
    assert_int_equal(grant(1, 0x1000, CHANNEL_MAX_PAGES, 2), 1);
    uint64_t bad_vectors[] = { 0, 2, 31, 256, (1ull << 32) | VEC, ~0ull };
    for (unsigned i = 0; i < sizeof(bad_vectors) / sizeof(bad_vectors[0]); i++)
        assert_int_equal(channel_grants_add(t, 1, RAM, 0x1000, 1, 2, true, bad_vectors[i]),
                         -HC_EINVAL);
    assert_int_equal(channel_grants_add(t, 1, RAM, 0x1000, 1, 2, true, 32), 2);
    assert_int_equal(channel_grants_add(t, 1, RAM, 0x1000, 1, 2, true, 255), 3);
    /* RAM is [0, 16 MiB): every range must lie inside, whatever the sums would wrap to. */
    assert_int_equal(grant(1, RAM, 1, 2), -HC_EFAULT);
    assert_int_equal(grant(1, RAM - PAGE, 2, 2), -HC_EFAULT);
    assert_int_equal(grant(1, RAM - PAGE, 1, 2), 4);
    assert_int_equal(grant(1, 0xfffffffffffff000ull, 2, 2), -HC_EFAULT);
    assert_int_equal(grant(1, 0xffffffffffff0000ull, CHANNEL_MAX_PAGES, 2), -HC_EFAULT);
    assert_int_equal(grant(1, 1ull << 63, 1, 2), -HC_EFAULT);
    assert_int_equal(channel_grants_add(t, 1, 0, 0, 1, 2, true, VEC), -HC_EFAULT);
    /* The peer: alive, not the owner, and an id that fits. */
    assert_int_equal(channel_grants_add(t, 1, RAM, 0x1000, 1, 2, false, VEC), -HC_ENOENT);
    assert_int_equal(grant(1, 0x1000, 1, 1), -HC_ENOENT);
    assert_int_equal(grant(1, 0x1000, 1, (1ull << 32) | 2), -HC_ENOENT);
    assert_int_equal(channel_grants_count(t, 1), 4);
}

static void each_partition_has_its_own_share(void **state)
{
    (void)state;
    for (unsigned i = 0; i < CHANNEL_GRANTS_PER_PARTITION; i++)
        assert_int_equal(grant(1, 0x1000, 1, 2), i + 1);
    assert_int_equal(grant(1, 0x1000, 1, 2), -HC_ENOSPC);
    assert_int_equal(grant(1, 0x1000, 1, 3), -HC_ENOSPC);
    /* Others are untouched by partition 1's greed. */
    for (unsigned p = 2; p <= CHANNEL_PARTITIONS; p++)
        assert_true(grant(p, 0x1000, 1, 1) > 0);
    /* A revoked grant frees one place, and only in its owner's share. */
    struct channel_grant was;
    assert_int_equal(channel_grants_revoke(t, 1, 7, &was), 0);
    assert_int_equal(grant(1, 0x5000, 1, 2), 7);
    assert_int_equal(grant(1, 0x1000, 1, 2), -HC_ENOSPC);
    /* Ids without a share. */
    assert_int_equal(grant(0, 0x1000, 1, 2), -HC_ENOSPC);
    assert_int_equal(grant(CHANNEL_PARTITIONS + 1, 0x1000, 1, 2), -HC_ENOSPC);
    assert_int_equal(channel_grants_count(t, CHANNEL_PARTITIONS + 1), 0);
}

static void map_arguments_are_checked(void **state)
{
    (void)state;
    int64_t two = grant(1, 0x10000, 2, 2);
    assert_int_equal(two, 1);
    /* Only the peer, only real handles. */
    assert_int_equal(map(3, 1, WIN), -HC_ENOENT);
    assert_int_equal(map(1, 1, WIN), -HC_ENOENT);
    uint64_t bad_handles[] = { 0, 2, CHANNEL_GRANTS_PER_PARTITION + 1, CHANNEL_HANDLE_MAX,
                               CHANNEL_HANDLE_MAX + 1, 1ull << 32 | 1, ~0ull };
    for (unsigned i = 0; i < sizeof(bad_handles) / sizeof(bad_handles[0]); i++)
        assert_int_equal(map(2, bad_handles[i], WIN), -HC_ENOENT);
    /* The whole mapping inside the window, with no sum that wraps. */
    assert_int_equal(map(2, 1, 0xfffffffffffff000ull), -HC_EINVAL);   /* end wraps to 4 KiB */
    assert_int_equal(map(2, 1, 0xffffffffffffe000ull), -HC_EINVAL);   /* end wraps to 0 */
    assert_int_equal(map(2, 1, 0), -HC_EINVAL);
    assert_int_equal(map(2, 1, 0x1000), -HC_EINVAL);
    assert_int_equal(map(2, 1, WIN - PAGE), -HC_EINVAL);
    assert_int_equal(map(2, 1, CHANNEL_WINDOW_END - PAGE), -HC_EINVAL);
    assert_int_equal(map(2, 1, CHANNEL_WINDOW_END), -HC_EINVAL);
    assert_int_equal(map(2, 1, WIN + 8), -HC_EINVAL);
    struct channel_grant *g;
    assert_int_equal(channel_grants_check_map(t, 2, 1, WIN, 31, &g), -HC_EINVAL);
    assert_int_equal(channel_grants_check_map(t, 2, 1, WIN, 256, &g), -HC_EINVAL);
    assert_int_equal(channel_grants_check_map(t, 2, 1, WIN, (1ull << 32) | VEC, &g), -HC_EINVAL);
    /* A refused map leaves the grant unmapped; the last two pages of the window are fine. */
    assert_int_equal(map(2, 1, CHANNEL_WINDOW_END - 2 * PAGE), 0);
    assert_int_equal(map(2, 1, WIN), -HC_EPERM);
}

static void maps_do_not_overlap(void **state)
{
    (void)state;
    assert_int_equal(grant(1, 0x10000, 4, 2), 1);
    assert_int_equal(grant(1, 0x20000, 2, 2), 2);
    assert_int_equal(grant(3, 0x20000, 1, 2), 2 * CHANNEL_GRANTS_PER_PARTITION + 1);
    assert_int_equal(map(2, 1, WIN + 4 * PAGE), 0);             /* [4, 8) */
    assert_int_equal(map(2, 2, WIN + 7 * PAGE), -HC_EINVAL);    /* [7, 9) */
    assert_int_equal(map(2, 2, WIN + 3 * PAGE), -HC_EINVAL);    /* [3, 5) */
    assert_int_equal(map(2, 33, WIN + 5 * PAGE), -HC_EINVAL);   /* inside */
    assert_int_equal(map(2, 2, WIN + 2 * PAGE), 0);             /* [2, 4): touches, no overlap */
    assert_int_equal(map(2, 33, WIN + 8 * PAGE), 0);
    /* Another peer's window is its own. */
    assert_int_equal(grant(1, 0x30000, 1, 4), 3);
    assert_int_equal(map(4, 3, WIN + 4 * PAGE), 0);
}

static void notify_rings_the_other_side_once_mapped(void **state)
{
    (void)state;
    unsigned to = 0;
    uint8_t vec = 0;
    assert_int_equal(grant(1, 0x1000, 1, 2), 1);
    assert_int_equal(channel_grants_other_side(t, 1, 1, &to, &vec), -HC_ENOENT);
    assert_int_equal(channel_grants_other_side(t, 2, 1, &to, &vec), -HC_ENOENT);
    assert_int_equal(map(2, 1, WIN), 0);
    assert_int_equal(channel_grants_other_side(t, 1, 1, &to, &vec), 0);
    assert_int_equal(to, 2);
    assert_int_equal(vec, VEC + 1);
    assert_int_equal(channel_grants_other_side(t, 2, 1, &to, &vec), 0);
    assert_int_equal(to, 1);
    assert_int_equal(vec, VEC);
    assert_int_equal(channel_grants_other_side(t, 3, 1, &to, &vec), -HC_ENOENT);
    assert_int_equal(channel_grants_other_side(t, 1, 0, &to, &vec), -HC_ENOENT);
    assert_int_equal(channel_grants_other_side(t, 1, ~0ull, &to, &vec), -HC_ENOENT);
}

static void revoke_hands_back_what_to_unmap(void **state)
{
    (void)state;
    struct channel_grant was;
    assert_int_equal(grant(1, 0x3000, 3, 2), 1);
    assert_int_equal(grant(1, 0x9000, 1, 2), 2);
    assert_int_equal(map(2, 1, WIN + PAGE), 0);
    assert_int_equal(channel_grants_revoke(t, 2, 1, &was), -HC_ENOENT);    /* only the owner */
    assert_int_equal(channel_grants_revoke(t, 3, 1, &was), -HC_ENOENT);
    assert_int_equal(channel_grants_revoke(t, 1, 0, &was), -HC_ENOENT);
    assert_int_equal(channel_grants_revoke(t, 1, 1, &was), 0);
    assert_true(was.mapped);
    assert_int_equal(was.peer, 2);
    assert_int_equal(was.peer_gpa, WIN + PAGE);
    assert_int_equal(was.pages, 3);
    assert_int_equal(was.owner_gpa, 0x3000);
    assert_int_equal(channel_grants_revoke(t, 1, 1, &was), -HC_ENOENT);    /* once */
    unsigned to;
    uint8_t vec;
    assert_int_equal(channel_grants_other_side(t, 2, 1, &to, &vec), -HC_ENOENT);
    assert_int_equal(map(2, 1, WIN), -HC_ENOENT);
    /* Its window range is free again. */
    assert_int_equal(map(2, 2, WIN + PAGE), 0);
    assert_int_equal(channel_grants_revoke(t, 1, 2, &was), 0);
    assert_true(was.mapped);
    assert_int_equal(grant(1, 0x9000, 1, 2), 1);
    assert_int_equal(channel_grants_revoke(t, 1, 1, &was), 0);
    assert_false(was.mapped);
}

/* The owner's end hands back every mapped grant of its for unmapping, whatever its peer's
 * state (the table does not know it: the caller must unmap from a dying peer too); the
 * grants it was given stay their owners', unmapped, until they revoke them; grants
 * between others stay as they are. */
static void partition_end_takes_its_grants(void **state)
{
    (void)state;
    assert_int_equal(grant(1, 0x1000, 1, 2), 1);       /* 1 -> 2, mapped */
    assert_int_equal(grant(1, 0x2000, 2, 3), 2);       /* 1 -> 3, mapped */
    assert_int_equal(grant(1, 0x3000, 1, 2), 3);       /* 1 -> 2, not mapped */
    assert_int_equal(grant(2, 0x1000, 1, 1), 17);      /* 2 -> 1, mapped by 1 */
    assert_int_equal(grant(2, 0x2000, 1, 3), 18);      /* 2 -> 3, between others */
    assert_int_equal(map(2, 1, WIN), 0);
    assert_int_equal(map(3, 2, WIN), 0);
    assert_int_equal(map(1, 17, WIN), 0);
    assert_int_equal(map(3, 18, WIN + 4 * PAGE), 0);
    struct channel_grant g;
    unsigned owned_mapped = 0, owned_unmapped = 0, given = 0;
    while (channel_grants_take_partition(t, 1, &g)) {
        if (g.owner == 1 && g.mapped) {
            owned_mapped++;
            assert_int_equal(g.peer_gpa, WIN);
            assert_true(g.peer == 2 || g.peer == 3);
        } else if (g.owner == 1) {
            owned_unmapped++;
        } else {
            assert_int_equal(g.peer, 1);
            assert_int_equal(g.owner, 2);
            assert_true(g.mapped);
            given++;
        }
    }
    assert_int_equal(owned_mapped, 2);
    assert_int_equal(owned_unmapped, 1);
    assert_int_equal(given, 1);
    assert_int_equal(channel_grants_count(t, 1), 0);
    assert_int_equal(channel_grants_count(t, 2), 2);        /* 17 is still 2's to revoke */
    unsigned to;
    uint8_t vec;
    assert_int_equal(channel_grants_other_side(t, 2, 1, &to, &vec), -HC_ENOENT);
    assert_int_equal(channel_grants_other_side(t, 1, 17, &to, &vec), -HC_ENOENT);
    assert_int_equal(channel_grants_other_side(t, 3, 18, &to, &vec), 0);
    assert_false(channel_grants_take_partition(t, 1, &g));
    struct channel_grant was;
    assert_int_equal(channel_grants_revoke(t, 2, 17, &was), 0);
    assert_false(was.mapped);                               /* nothing left to unmap */
    assert_int_equal(channel_grants_count(t, 2), 1);
    /* The window ranges the ended owner's grants held are free for others. */
    assert_int_equal(grant(4, 0x1000, 1, 3), 3 * CHANNEL_GRANTS_PER_PARTITION + 1);
    assert_int_equal(map(3, 49, WIN), 0);
}

static void check_helpers_match_the_table(void **state)
{
    (void)state;
    assert_int_equal(channel_check_grant_args(0, 1, VEC, RAM), 0);
    assert_int_equal(channel_check_grant_args(RAM - PAGE, 1, VEC, RAM), 0);
    assert_int_equal(channel_check_grant_args(RAM - PAGE, 2, VEC, RAM), -HC_EFAULT);
    assert_int_equal(channel_check_grant_args(~0ull & ~0xfffull, 1, VEC, RAM), -HC_EFAULT);
    assert_int_equal(channel_check_map_args(WIN, VEC), 0);
    assert_int_equal(channel_check_map_args(CHANNEL_WINDOW_END - PAGE, VEC), 0);
    assert_int_equal(channel_check_map_args(CHANNEL_WINDOW_END, VEC), -HC_EINVAL);
    assert_int_equal(channel_check_map_args(0xfffffffffffff000ull, VEC), -HC_EINVAL);
    assert_int_equal(channel_check_map_args(WIN, 0), -HC_EINVAL);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(handles_name_the_owner_and_slot), T(grant_arguments_are_checked),
        T(each_partition_has_its_own_share), T(map_arguments_are_checked),
        T(maps_do_not_overlap), T(notify_rings_the_other_side_once_mapped),
        T(revoke_hands_back_what_to_unmap), T(partition_end_takes_its_grants),
        T(check_helpers_match_the_table),
    };
    return cmocka_run_group_tests_name("channel_grants", tests, NULL, NULL);
}
