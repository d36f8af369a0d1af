/* The display's frame lock (hv/core/vgpu_frame.c): a capture holds the display only
 * between two composes, and no compose starts while it holds it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hv/core/hypercall_abi.h"
#include "hv/core/vgpu_frame.h"

static void compose_and_capture_exclude_each_other(void **state)
{
    (void)state;
    struct vgpu_frame f = { 0 };
    assert_int_equal(vgpu_frame_begin(&f), 0);
    assert_false(vgpu_frame_hold(&f));                  /* mid-compose: no capture */
    assert_int_equal(vgpu_frame_begin(&f), -HC_EINVAL); /* not twice */
    assert_int_equal(vgpu_frame_end(&f), 0);
    assert_int_equal(f.frames, 1);
    assert_true(vgpu_frame_hold(&f));                   /* between frames */
    assert_false(vgpu_frame_hold(&f));                  /* one capture at a time */
    assert_int_equal(vgpu_frame_begin(&f), -HC_EBUSY);  /* the service waits a round */
    assert_int_equal(f.refused, 1);
    assert_int_equal(vgpu_frame_end(&f), -HC_EINVAL);   /* an end without a begin */
    vgpu_frame_release(&f);
    assert_int_equal(vgpu_frame_begin(&f), 0);
    vgpu_frame_release(&f);                             /* a release does not end a compose */
    assert_false(vgpu_frame_hold(&f));
    assert_int_equal(vgpu_frame_end(&f), 0);
    assert_int_equal(f.frames, 2);
}

static void a_service_that_ends_mid_compose_frees_the_display(void **state)
{
    (void)state;
    struct vgpu_frame f = { 0 };
    assert_int_equal(vgpu_frame_begin(&f), 0);
    vgpu_frame_reset(&f);
    assert_true(vgpu_frame_hold(&f));
    vgpu_frame_reset(&f);                               /* a held display stays held */
    assert_false(vgpu_frame_hold(&f));
    vgpu_frame_release(&f);
    assert_int_equal(f.state, VGPU_FRAME_IDLE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(compose_and_capture_exclude_each_other),
        cmocka_unit_test(a_service_that_ends_mid_compose_frees_the_display),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
