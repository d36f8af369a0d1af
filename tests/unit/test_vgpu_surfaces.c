/* Unit tests: the virtual GPU's surface bookkeeping, argument checks and damage bitmaps
 * (hv/core/vgpu_surfaces.c), without page tables. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hv/core/hypercall_abi.h"
#include "hv/core/vgpu_surfaces.h"

#define RAM  (16ull << 20)
#define PAGE VGPU_PAGE_SIZE
#define WIN  VGPU_SURFACE_WINDOW

static struct vgpu_surfaces *t;

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

static int64_t check(uint64_t nr, uint64_t a0, uint64_t a1, uint64_t a2)
{
    uint64_t a[4] = { a0, a1, a2, 0 };
    return vgpu_check_args(nr, a, RAM);
}

static void args_are_checked(void **state)
{
    (void)state;
    assert_int_equal(check(HC_DISPLAY_INFO, 0x1000, 0, 0), 0);
    assert_int_equal(check(HC_DISPLAY_INFO, RAM - 8, 0, 0), -HC_EFAULT);
    assert_int_equal(check(HC_VGPU_SERVICE, 0, 0, 0), 0);
    assert_int_equal(check(HC_VGPU_CLIENTS, 0x1000, VGPU_MAX_CLIENTS, 0), 0);
    assert_int_equal(check(HC_VGPU_CLIENTS, 0x1000, VGPU_MAX_CLIENTS + 1, 0), -HC_EINVAL);
    assert_int_equal(check(HC_VGPU_CLIENTS, RAM - 8, 1, 0), -HC_EFAULT);
    assert_int_equal(check(HC_VGPU_SURFACE_SHARE, 0x10000, 4, 0), 0);
    assert_int_equal(check(HC_VGPU_SURFACE_SHARE, 0x10001, 4, 0), -HC_EINVAL);
    assert_int_equal(check(HC_VGPU_SURFACE_SHARE, 0x10000, 0, 0), -HC_EINVAL);
    assert_int_equal(check(HC_VGPU_SURFACE_SHARE, 0x10000, VGPU_SURFACE_MAX_PAGES + 1, 0), -HC_EINVAL);
    assert_int_equal(check(HC_VGPU_SURFACE_SHARE, RAM - PAGE, 2, 0), -HC_EFAULT);
    assert_int_equal(check(HC_VGPU_SURFACE_SHARE, 0xfffffffffffff000ull, 2, 0), -HC_EFAULT);
    assert_int_equal(check(HC_VGPU_SURFACE_UNSHARE, 0, 0, 0), -HC_ENOENT);
    assert_int_equal(check(HC_VGPU_SURFACE_UNSHARE, VGPU_SURFACES_PER_CLIENT + 1, 0, 0), -HC_ENOENT);
    assert_int_equal(check(HC_VGPU_SURFACE_MAP, 1, 1, WIN), 0);
    assert_int_equal(check(HC_VGPU_SURFACE_MAP, 0, 1, WIN), -HC_ENOENT);
    assert_int_equal(check(HC_VGPU_SURFACE_MAP, VGPU_MAX_CLIENTS + 1, 1, WIN), -HC_ENOENT);
    assert_int_equal(check(HC_VGPU_SURFACE_MAP, 1, 1, WIN - PAGE), -HC_EINVAL);
    assert_int_equal(check(HC_VGPU_SURFACE_MAP, 1, 1, VGPU_DISPLAY_GPA), -HC_EINVAL);
    assert_int_equal(check(HC_VGPU_SURFACE_MAP, 1, 1, WIN + 8), -HC_EINVAL);
    assert_int_equal(check(HC_VGPU_DAMAGE, 1, 1, 0x1000), 0);
    assert_int_equal(check(HC_VGPU_DAMAGE, 1, 1, RAM), -HC_EFAULT);
    assert_int_equal(check(HC_VGPU_DAMAGE, 1, 0, 0), -HC_ENOENT);
    assert_int_equal(check(HC_VGPU_CONNECT, 1, 0, 0), 0);
    assert_int_equal(check(HC_VGPU_CONNECT, 0, 0, 0), -HC_ENOENT);
    assert_int_equal(check(0x2f, 0, 0, 0), -HC_ENOSYS);
}

static void share_unshare_and_overlap(void **state)
{
    (void)state;
    int64_t h = vgpu_surfaces_share(t, 1, RAM, 0x100000, 4);
    assert_int_equal(h, 1);
    assert_int_equal(vgpu_surfaces_share(t, 1, RAM, 0x103000, 1), -HC_EINVAL);
    assert_int_equal(vgpu_surfaces_share(t, 1, RAM, 0x104000, 1), 2);
    assert_int_equal(vgpu_surfaces_share(t, 2, RAM, 0x100000, 4), 1);   /* its own RAM */
    assert_int_equal(vgpu_surfaces_share(t, 0, RAM, 0x100000, 4), -HC_ENOENT);
    assert_int_equal(vgpu_surfaces_share(t, VGPU_MAX_CLIENTS + 1, RAM, 0x100000, 4), -HC_ENOENT);
    assert_non_null(vgpu_surfaces_get(t, 1, 1));
    assert_null(vgpu_surfaces_get(t, 1, 3));
    struct vgpu_surface was;
    assert_int_equal(vgpu_surfaces_unshare(t, 1, 1, &was), 0);
    assert_int_equal(was.gpa, 0x100000);
    assert_int_equal(vgpu_surfaces_unshare(t, 1, 1, &was), -HC_ENOENT);
    assert_null(vgpu_surfaces_get(t, 1, 1));
    for (unsigned i = 0; i < VGPU_SURFACES_PER_CLIENT - 1; i++)
        assert_true(vgpu_surfaces_share(t, 3, RAM, 0x200000 + i * PAGE, 1) > 0);
    assert_int_equal(vgpu_surfaces_share(t, 3, RAM, 0x300000, 1), VGPU_SURFACES_PER_CLIENT);
    assert_int_equal(vgpu_surfaces_share(t, 3, RAM, 0x301000, 1), -HC_ENOSPC);
    unsigned n = 0;
    while (vgpu_surfaces_take_client(t, 3, &was))
        n++;
    assert_int_equal(n, VGPU_SURFACES_PER_CLIENT);
    assert_int_equal(vgpu_surfaces_share(t, 3, RAM, 0x301000, 1), 1);
}

static void mappings_stay_in_the_window_and_apart(void **state)
{
    (void)state;
    assert_int_equal(vgpu_surfaces_share(t, 1, RAM, 0x100000, 4), 1);
    assert_int_equal(vgpu_surfaces_share(t, 2, RAM, 0x100000, 4), 1);
    struct vgpu_surface *s;
    assert_int_equal(vgpu_surfaces_check_map(t, 1, 2, WIN, &s), -HC_ENOENT);
    assert_int_equal(vgpu_surfaces_check_map(t, 1, 1, VGPU_SURFACE_WINDOW_END - 2 * PAGE, &s),
                     -HC_EINVAL);
    assert_int_equal(vgpu_surfaces_check_map(t, 1, 1, WIN, &s), 0);
    s->mapped = true;
    s->vsp_gpa = WIN;
    assert_int_equal(vgpu_surfaces_check_map(t, 1, 1, WIN + 8 * PAGE, &s), -HC_EINVAL);
    assert_int_equal(vgpu_surfaces_check_map(t, 2, 1, WIN + 3 * PAGE, &s), -HC_EINVAL);
    assert_int_equal(vgpu_surfaces_check_map(t, 2, 1, WIN + 4 * PAGE, &s), 0);
    vgpu_surfaces_forget_mappings(t);
    assert_int_equal(vgpu_surfaces_check_map(t, 2, 1, WIN, &s), 0);
}

static void damage_first_all_then_written_pages(void **state)
{
    (void)state;
    /* 64 pages of RAM tracked page by page; the surface is pages 8..19. */
    uint64_t written[1] = { 0 };
    struct vgpu_surface s = { .used = true, .gpa = 8 * PAGE, .pages = 12 };
    uint8_t out[2];
    assert_int_equal(vgpu_damage_take(&s, written, 12, out), 12);
    assert_int_equal(out[0], 0xff);
    assert_int_equal(out[1], 0x0f);
    written[0] = (1ull << 9) | (1ull << 19) | (1ull << 20) | (1ull << 3);
    assert_int_equal(vgpu_damage_take(&s, written, 12, out), 2);
    assert_int_equal(out[0], 0x02);
    assert_int_equal(out[1], 0x08);
    assert_int_equal(written[0], (1ull << 20) | (1ull << 3));   /* other memory's stays */
    assert_int_equal(vgpu_damage_take(&s, written, 12, out), 0);
    assert_int_equal(out[0] | out[1], 0);
}

static void damage_with_groups_larger_than_a_page(void **state)
{
    (void)state;
    /* Groups of 4 pages; the surface is pages 6..13: groups 1 (shared), 2, 3 (shared). */
    uint64_t written[1] = { 0 };
    struct vgpu_surface s = { .used = true, .seen = true, .gpa = 6 * PAGE, .pages = 8 };
    uint8_t out[1];
    written[0] = (1ull << 1) | (1ull << 3);
    assert_int_equal(vgpu_damage_take(&s, written, 14, out), 4);
    assert_int_equal(out[0], 0xc3);         /* pages 6, 7 (group 1) and 12, 13 (group 3) */
    assert_int_equal(written[0], (1ull << 1) | (1ull << 3));    /* shared groups stay */
    written[0] = 1ull << 2;
    assert_int_equal(vgpu_damage_take(&s, written, 14, out), 4);
    assert_int_equal(out[0], 0x3c);
    assert_int_equal(written[0], 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(args_are_checked),
        cmocka_unit_test_setup_teardown(share_unshare_and_overlap, setup, teardown),
        cmocka_unit_test_setup_teardown(mappings_stay_in_the_window_and_apart, setup, teardown),
        cmocka_unit_test(damage_first_all_then_written_pages),
        cmocka_unit_test(damage_with_groups_larger_than_a_page),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
