/* The event each entry injects (exit_event.h): NMI before interrupt, each only through an
 * open window, windows requested for what still waits, and the controllers told exactly
 * what was taken. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hv/core/exit/exit_event.h"

/* A LAPIC/PIC pair reduced to what the order depends on. */
static struct {
    unsigned nmis;              /* waiting NMIs (one in service, one latched at most) */
    bool refuse_nmi;            /* take_nmi finds none (taken by a racing look) */
    int vectors[4];             /* waiting vectors, highest priority first; -1 ends */
    unsigned unblocked, taken, acked;
    int acked_vector;
} c;

static void nmi_unblocked(void *ctx) { (void)ctx; c.unblocked++; }
static bool nmi_pending(void *ctx) { (void)ctx; return c.nmis > 0; }

static bool take_nmi(void *ctx)
{
    (void)ctx;
    if (c.refuse_nmi || !c.nmis)
        return false;
    c.nmis--;
    c.taken++;
    return true;
}

static int pending_vector(void *ctx) { (void)ctx; return c.vectors[0]; }

static void ack(void *ctx, uint8_t vector)
{
    (void)ctx;
    c.acked++;
    c.acked_vector = vector;
    memmove(c.vectors, c.vectors + 1, sizeof(c.vectors) - sizeof(c.vectors[0]));
    c.vectors[3] = -1;
}

static const struct event_source src = {
    .nmi_unblocked = nmi_unblocked, .nmi_pending = nmi_pending, .take_nmi = take_nmi,
    .pending_vector = pending_vector, .ack = ack,
};

static const struct event_windows open_all = { true, true, true };
static const struct event_windows closed = { false, false, false };

static int reset(void **state)
{
    (void)state;
    memset(&c, 0, sizeof(c));
    for (unsigned i = 0; i < 4; i++)
        c.vectors[i] = -1;
    c.acked_vector = -1;
    return 0;
}

static void nothing_waits_nothing_injected_no_windows(void **state)
{
    (void)state;
    struct pending_event ev;
    assert_false(event_next(&src, &open_all, &ev));
    assert_int_equal(ev.kind, PENDING_NONE);
    assert_false(ev.irq_window);
    assert_false(ev.nmi_window);
    assert_int_equal(c.acked, 0);
}

static void nmi_goes_before_an_interrupt(void **state)
{
    (void)state;
    struct pending_event ev;
    c.nmis = 1;
    c.vectors[0] = 0x30;
    assert_true(event_next(&src, &open_all, &ev));
    assert_int_equal(ev.kind, PENDING_NMI);
    assert_int_equal(ev.vector, 2);
    assert_int_equal(c.taken, 1);
    assert_int_equal(c.acked, 0);                   /* the vector stays in its controller */
    assert_true(ev.irq_window);                      /* ... and is taken at the next chance */
    assert_false(ev.nmi_window);
    assert_true(event_next(&src, &open_all, &ev));
    assert_int_equal(ev.kind, PENDING_EXTINT);
    assert_int_equal(ev.vector, 0x30);
}

static void a_latched_nmi_asks_for_the_nmi_window(void **state)
{
    (void)state;
    struct pending_event ev;
    c.nmis = 2;
    assert_true(event_next(&src, &open_all, &ev));
    assert_int_equal(ev.kind, PENDING_NMI);
    assert_true(ev.nmi_window);
    assert_false(ev.irq_window);
}

static void blocked_nmi_waits_but_an_interrupt_may_go(void **state)
{
    (void)state;
    struct pending_event ev;
    c.nmis = 1;
    c.vectors[0] = 0x41;
    struct event_windows in_nmi_handler = { .irq_open = true, .nmi_open = false };
    assert_true(event_next(&src, &in_nmi_handler, &ev));
    assert_int_equal(ev.kind, PENDING_EXTINT);
    assert_int_equal(ev.vector, 0x41);
    assert_int_equal(c.taken, 0);
    assert_true(ev.nmi_window);
    assert_int_equal(c.unblocked, 0);
}

static void the_interrupt_is_acknowledged_once_and_the_next_one_asks_for_a_window(void **state)
{
    (void)state;
    struct pending_event ev;
    c.vectors[0] = 0x20;
    c.vectors[1] = 0x21;
    assert_true(event_next(&src, &open_all, &ev));
    assert_int_equal(ev.kind, PENDING_EXTINT);
    assert_int_equal(ev.vector, 0x20);
    assert_int_equal(c.acked, 1);
    assert_int_equal(c.acked_vector, 0x20);
    assert_true(ev.irq_window);
    assert_false(ev.nmi_window);
}

static void interrupts_off_asks_for_the_interrupt_window(void **state)
{
    (void)state;
    struct pending_event ev;
    c.vectors[0] = 0x20;
    struct event_windows if_clear = { .irq_open = false, .nmi_open = true, .nmi_unblocked = true };
    assert_false(event_next(&src, &if_clear, &ev));
    assert_int_equal(ev.kind, PENDING_NONE);
    assert_true(ev.irq_window);
    assert_int_equal(c.acked, 0);
}

static void a_queued_event_gets_only_window_requests(void **state)
{
    (void)state;
    struct pending_event ev;
    c.nmis = 1;
    c.vectors[0] = 0x50;
    assert_false(event_next(&src, &closed, &ev));
    assert_int_equal(ev.kind, PENDING_NONE);
    assert_true(ev.irq_window);
    assert_true(ev.nmi_window);
    assert_int_equal(c.taken + c.acked + c.unblocked, 0);
}

static void nmi_unblocking_is_reported_when_seen(void **state)
{
    (void)state;
    struct pending_event ev;
    event_next(&src, &open_all, &ev);
    assert_int_equal(c.unblocked, 1);
    struct event_windows blocked = { .irq_open = true, .nmi_open = false, .nmi_unblocked = false };
    event_next(&src, &blocked, &ev);
    assert_int_equal(c.unblocked, 1);
}

static void an_nmi_gone_meanwhile_still_asks_for_the_window(void **state)
{
    (void)state;
    struct pending_event ev;
    c.nmis = 1;
    c.refuse_nmi = true;
    assert_false(event_next(&src, &open_all, &ev));
    assert_int_equal(ev.kind, PENDING_NONE);
    assert_true(ev.nmi_window);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(nothing_waits_nothing_injected_no_windows, reset),
        cmocka_unit_test_setup(nmi_goes_before_an_interrupt, reset),
        cmocka_unit_test_setup(a_latched_nmi_asks_for_the_nmi_window, reset),
        cmocka_unit_test_setup(blocked_nmi_waits_but_an_interrupt_may_go, reset),
        cmocka_unit_test_setup(the_interrupt_is_acknowledged_once_and_the_next_one_asks_for_a_window, reset),
        cmocka_unit_test_setup(interrupts_off_asks_for_the_interrupt_window, reset),
        cmocka_unit_test_setup(a_queued_event_gets_only_window_requests, reset),
        cmocka_unit_test_setup(nmi_unblocking_is_reported_when_seen, reset),
        cmocka_unit_test_setup(an_nmi_gone_meanwhile_still_asks_for_the_window, reset),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
