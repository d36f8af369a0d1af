/* worker_queue: priority order, owners taking turns within a priority, FIFO per owner,
 * cancellation, a bounded queue and items that may not be queued twice. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hv/core/worker_queue.h"

static void nothing(struct work_item *w) { (void)w; }

static struct work_item items[64];

static struct work_item *item(unsigned i, enum work_prio prio, uint32_t owner)
{
    items[i] = (struct work_item){ .fn = nothing, .prio = prio, .owner = owner };
    items[i].arg = &items[i];
    return &items[i];
}

/* Pops everything, returning the item indices in the order they came out. */
static unsigned drain(struct work_queue *q, unsigned *order)
{
    unsigned n = 0;
    struct work_item *w;
    while ((w = work_queue_pop(q))) {
        assert_int_equal(w->state, WORK_RUNNING);
        order[n++] = (unsigned)(w - items);
        work_queue_done(q, w);
        assert_int_equal(w->state, WORK_IDLE);
    }
    assert_int_equal(q->count, 0);
    return n;
}

static void test_priority_order(void **state)
{
    struct work_queue q;
    work_queue_init(&q, 16);
    assert_int_equal(work_queue_push(&q, item(0, WORK_BACKGROUND, 1)), WORK_OK);
    assert_int_equal(work_queue_push(&q, item(1, WORK_NORMAL, 1)), WORK_OK);
    assert_int_equal(work_queue_push(&q, item(2, WORK_URGENT, 1)), WORK_OK);
    assert_int_equal(work_queue_push(&q, item(3, WORK_HIGH, 1)), WORK_OK);
    assert_int_equal(work_queue_push(&q, item(4, WORK_URGENT, 1)), WORK_OK);
    unsigned order[16];
    assert_int_equal(drain(&q, order), 5);
    const unsigned want[] = { 2, 4, 3, 1, 0 };
    assert_memory_equal(order, want, sizeof(want));
    assert_null(work_queue_pop(&q));
}

static void test_owners_take_turns_within_a_priority(void **state)
{
    struct work_queue q;
    work_queue_init(&q, 32);
    /* Owner 7 floods first; owners 3 and 9 queue one or two each afterwards. */
    for (unsigned i = 0; i < 6; i++)
        assert_int_equal(work_queue_push(&q, item(i, WORK_NORMAL, 7)), WORK_OK);
    assert_int_equal(work_queue_push(&q, item(6, WORK_NORMAL, 9)), WORK_OK);
    assert_int_equal(work_queue_push(&q, item(7, WORK_NORMAL, 3)), WORK_OK);
    assert_int_equal(work_queue_push(&q, item(8, WORK_NORMAL, 9)), WORK_OK);
    unsigned order[32];
    assert_int_equal(drain(&q, order), 9);
    /* Turns go 3, 7, 9, 3(none left) ... and each owner's items stay in their order. */
    const unsigned want[] = { 7, 0, 6, 1, 8, 2, 3, 4, 5 };
    assert_memory_equal(order, want, sizeof(want));
}

static void test_turns_continue_across_pops(void **state)
{
    struct work_queue q;
    work_queue_init(&q, 8);
    assert_int_equal(work_queue_push(&q, item(0, WORK_HIGH, 1)), WORK_OK);
    assert_int_equal(work_queue_push(&q, item(1, WORK_HIGH, 1)), WORK_OK);
    struct work_item *w = work_queue_pop(&q);
    assert_ptr_equal(w, &items[0]);
    work_queue_done(&q, w);
    /* Owner 2 arrives after owner 1 was served: it goes before owner 1's second item. */
    assert_int_equal(work_queue_push(&q, item(2, WORK_HIGH, 2)), WORK_OK);
    assert_ptr_equal(work_queue_pop(&q), &items[2]);
    assert_ptr_equal(work_queue_pop(&q), &items[1]);
}

static void test_cancel_queued_items(void **state)
{
    struct work_queue q;
    work_queue_init(&q, 8);
    for (unsigned i = 0; i < 4; i++)
        assert_int_equal(work_queue_push(&q, item(i, WORK_NORMAL, 1)), WORK_OK);
    assert_true(work_queue_cancel(&q, &items[0]));    /* head */
    assert_true(work_queue_cancel(&q, &items[3]));    /* tail */
    assert_false(work_queue_cancel(&q, &items[3]));   /* not queued any more */
    assert_int_equal(items[3].state, WORK_IDLE);
    assert_int_equal(q.count, 2);
    /* The tail moved back: a new push lands after item 2. */
    assert_int_equal(work_queue_push(&q, item(4, WORK_NORMAL, 1)), WORK_OK);
    struct work_item *running = work_queue_pop(&q);
    assert_ptr_equal(running, &items[1]);
    assert_false(work_queue_cancel(&q, running));     /* running: too late */
    assert_int_equal(running->state, WORK_RUNNING);
    work_queue_done(&q, running);
    unsigned order[8];
    assert_int_equal(drain(&q, order), 2);
    assert_int_equal(order[0], 2);
    assert_int_equal(order[1], 4);
    /* A cancelled item may be queued again. */
    assert_int_equal(work_queue_push(&q, &items[0]), WORK_OK);
    assert_ptr_equal(work_queue_pop(&q), &items[0]);
}

static void test_cancel_only_the_middle(void **state)
{
    struct work_queue q;
    work_queue_init(&q, 8);
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(work_queue_push(&q, item(i, WORK_URGENT, 1)), WORK_OK);
    assert_true(work_queue_cancel(&q, &items[1]));
    unsigned order[8];
    assert_int_equal(drain(&q, order), 2);
    assert_int_equal(order[0], 0);
    assert_int_equal(order[1], 2);
}

static void test_bounded(void **state)
{
    struct work_queue q;
    work_queue_init(&q, 3);
    for (unsigned i = 0; i < 3; i++)
        assert_int_equal(work_queue_push(&q, item(i, (enum work_prio)i, 1)), WORK_OK);
    assert_int_equal(work_queue_push(&q, item(3, WORK_URGENT, 1)), WORK_EFULL);
    assert_int_equal(items[3].state, WORK_IDLE);
    assert_string_equal(work_queue_error(WORK_EFULL), "worker queue full");
    struct work_item *w = work_queue_pop(&q);
    /* Room again once one is taken, even while it runs. */
    assert_int_equal(work_queue_push(&q, &items[3]), WORK_OK);
    work_queue_done(&q, w);
    assert_true(work_queue_cancel(&q, &items[2]));
    assert_int_equal(work_queue_push(&q, item(4, WORK_NORMAL, 1)), WORK_OK);
    assert_int_equal(q.count, 3);
}

static void test_refused_items(void **state)
{
    struct work_queue q;
    work_queue_init(&q, 8);
    struct work_item *w = item(0, WORK_NORMAL, 1);
    assert_int_equal(work_queue_push(&q, w), WORK_OK);
    assert_int_equal(work_queue_push(&q, w), WORK_EBUSY);            /* already queued */
    struct work_item *r = work_queue_pop(&q);
    assert_int_equal(work_queue_push(&q, r), WORK_EBUSY);            /* running */
    work_queue_done(&q, r);
    assert_int_equal(work_queue_push(&q, r), WORK_OK);
    struct work_item *bad = item(1, WORK_PRIOS, 1);
    assert_int_equal(work_queue_push(&q, bad), WORK_EINVAL);
    bad = item(2, WORK_NORMAL, 1);
    bad->fn = NULL;
    assert_int_equal(work_queue_push(&q, bad), WORK_EINVAL);
    assert_false(work_queue_cancel(&q, item(3, WORK_NORMAL, 1)));    /* never queued */
    assert_int_equal(q.count, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_priority_order),
        cmocka_unit_test(test_owners_take_turns_within_a_priority),
        cmocka_unit_test(test_turns_continue_across_pops),
        cmocka_unit_test(test_cancel_queued_items),
        cmocka_unit_test(test_cancel_only_the_middle),
        cmocka_unit_test(test_bounded),
        cmocka_unit_test(test_refused_items),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
