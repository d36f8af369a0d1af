/* hv/lib/peer_slots: a listener's slots shared fairly between peer addresses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "hv/lib/peer_slots.h"

#define TURN PEER_SLOTS_TURN_MS
#define MAX_SLOTS 4

/* A listener as the callers keep one: slots, an order count, a clock. */
struct listener {
    struct peer_slot slot[MAX_SLOTS];
    size_t n;
    uint64_t order, now;
    unsigned evicted, refused;
};

static const uint32_t A = 0x0a000301, B = 0x0a000302, C = 0x0a000303, D = 0x0a000304;

static void listener_init(struct listener *l, size_t n)
{
    *l = (struct listener){ .n = n, .now = 1000 };
}

/* A newcomer from addr: its slot, or -1 when refused. */
static int arrive(struct listener *l, uint32_t addr)
{
    struct peer_slots_choice c = peer_slots_choose(l->slot, l->n, addr, l->now, TURN);
    if (c.verdict == PEER_SLOT_REFUSE) {
        assert_int_equal(c.slot, -1);
        l->refused++;
        return -1;
    }
    assert_true(c.slot >= 0 && (size_t)c.slot < l->n);
    if (c.verdict == PEER_SLOT_EVICT) {
        assert_true(l->slot[c.slot].used);
        assert_false(l->slot[c.slot].authenticated);
        l->evicted++;
    } else {
        assert_false(l->slot[c.slot].used);
    }
    l->slot[c.slot] = (struct peer_slot){ true, false, addr, ++l->order, c.turn_ms };
    return c.slot;
}

/* The connection in slot i is still the one that took it at `order`. */
static bool holds(const struct listener *l, int i, uint64_t order)
{
    return i >= 0 && l->slot[i].used && l->slot[i].order == order;
}

static unsigned count(const struct listener *l, uint32_t addr)
{
    unsigned k = 0;
    for (size_t i = 0; i < l->n; i++)
        k += l->slot[i].used && l->slot[i].addr == addr;
    return k;
}

/* One honest handshake from B, then A opens connection after connection: B's survives any
 * number of them, with 1, 2 or 4 slots, as long as B's turn lasts (with 2 or 4, forever). */
static void flood_after_honest_keeps_the_honest_handshake(void **state)
{
    (void)state;
    for (size_t n = 1; n <= MAX_SLOTS; n *= 2) {
        struct listener l;
        listener_init(&l, n);
        int b = arrive(&l, B);
        uint64_t b_order = l.order;
        for (int k = 0; k < 1000; k++) {
            arrive(&l, A);
            l.now += (TURN - 1) / 1000;
            assert_true(holds(&l, b, b_order));
        }
        assert_int_equal(count(&l, A), n - 1);         /* the rest: A's, none of B's */
        if (n > 1) {
            l.now += 100 * TURN;
            for (int k = 0; k < 1000; k++)
                arrive(&l, A);
            assert_true(holds(&l, b, b_order));
        }
        l.slot[b].authenticated = true;                 /* B's handshake is done */
        l.now += 100 * TURN;
        for (int k = 0; k < 1000; k++)
            arrive(&l, A);
        assert_true(holds(&l, b, b_order));
    }
}

/* A floods first: B gets a slot at once with 2 or 4 slots, with one once A's turn (from
 * A's first connection, not its latest) is over; B then keeps it through the flood. */
static void honest_after_flood_gets_in_and_keeps_its_slot(void **state)
{
    (void)state;
    for (size_t n = 1; n <= MAX_SLOTS; n *= 2) {
        struct listener l;
        listener_init(&l, n);
        for (int k = 0; k < 500; k++) {
            assert_true(arrive(&l, A) >= 0);            /* alone, A replaces its own */
            l.now += 1;
        }
        assert_int_equal(count(&l, A), n);
        int b = arrive(&l, B);
        if (n == 1) {
            assert_int_equal(b, -1);                    /* A's turn goes on */
            l.now = 1000 + TURN;
            b = arrive(&l, B);
        }
        assert_true(b >= 0);
        uint64_t b_order = l.order;
        for (int k = 0; k < 1000; k++) {
            arrive(&l, A);
            assert_true(holds(&l, b, b_order));
        }
    }
}

/* Each of two honest addresses keeps its handshake against a flood from a third. */
static void two_honest_addresses_against_a_flood(void **state)
{
    (void)state;
    struct listener l;
    listener_init(&l, 4);
    int b = arrive(&l, B), c = arrive(&l, C);
    uint64_t b_order = l.slot[b].order, c_order = l.slot[c].order;
    for (int k = 0; k < 1000; k++) {
        arrive(&l, A);
        assert_true(holds(&l, b, b_order) && holds(&l, c, c_order));
    }
    assert_int_equal(count(&l, A), 2);
}

/* Full with two sessions and two honest handshakes: a fourth address waits until the turn
 * of the one waiting longest is over, then that one makes way; neither before. */
static void two_honest_addresses_share_fairly(void **state)
{
    (void)state;
    struct listener l;
    listener_init(&l, 4);
    int s1 = arrive(&l, A), s2 = arrive(&l, A);
    l.slot[s1].authenticated = l.slot[s2].authenticated = true;
    int b = arrive(&l, B);
    l.now += 10;
    int c = arrive(&l, C);
    uint64_t c_order = l.order;
    assert_int_equal(arrive(&l, D), -1);
    assert_int_equal(l.evicted, 0);
    l.now = 1000 + TURN;                                /* B's turn is over, not C's */
    assert_int_equal(arrive(&l, D), b);
    assert_true(holds(&l, c, c_order));
    assert_int_equal(arrive(&l, B), -1);                /* C's turn and D's go on */
}

static void all_slots_authenticated_refuse_everyone(void **state)
{
    (void)state;
    struct listener l;
    listener_init(&l, 4);
    for (int i = 0; i < 4; i++)
        l.slot[arrive(&l, i < 2 ? A : B)].authenticated = true;
    l.now += 1000 * TURN;
    assert_int_equal(arrive(&l, A), -1);
    assert_int_equal(arrive(&l, B), -1);
    assert_int_equal(arrive(&l, C), -1);
    assert_int_equal(l.evicted, 0);
}

/* An address with more than half the slots is refused at once while another waits: no
 * slot of its own is churned, no one else's taken. */
static void more_than_half_is_refused_at_once(void **state)
{
    (void)state;
    struct listener l;
    listener_init(&l, 4);
    arrive(&l, A), arrive(&l, A), arrive(&l, B), arrive(&l, A);
    unsigned evicted = l.evicted;
    assert_int_equal(arrive(&l, A), -1);
    assert_int_equal(l.evicted, evicted);
    /* with the other address gone (its session authenticated), A replaces its own oldest */
    for (int i = 0; i < 4; i++)
        if (l.slot[i].addr == B)
            l.slot[i].authenticated = true;
    assert_true(arrive(&l, A) >= 0);
    assert_int_equal(l.evicted, evicted + 1);
}

/* The same address twice is one peer (its newcomer replaces its own oldest, keeping its
 * turn); two different addresses are two. */
static void ipv4_addresses_equal_and_different(void **state)
{
    (void)state;
    assert_int_equal(peer_slots_ipv4("10.0.3.1"), 0x0a000301);
    assert_int_equal(peer_slots_ipv4("10.0.3.01"), peer_slots_ipv4("10.0.3.1"));
    assert_int_equal(peer_slots_ipv4("255.255.255.255"), 0xffffffffu);
    assert_true(peer_slots_ipv4("10.0.3.1") != peer_slots_ipv4("10.0.3.2"));
    assert_true(peer_slots_ipv4("10.0.3.1") != peer_slots_ipv4("1.3.0.10"));
    const char *bad[] = { "", "10.0.3", "10.0.3.1.", "10.0.3.256", "10.0.3.1:7400", "a.b.c.d",
                          "10..3.1", "10.0.3.00001" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(peer_slots_ipv4(bad[i]), 0);

    struct listener l;
    listener_init(&l, 1);
    uint32_t x = peer_slots_ipv4("10.0.3.9"), same = peer_slots_ipv4("10.0.3.9"),
             other = peer_slots_ipv4("10.0.3.1");
    assert_int_equal(arrive(&l, x), 0);
    uint64_t turn = l.slot[0].turn_ms;
    l.now += TURN - 1;
    assert_int_equal(arrive(&l, same), 0);              /* equal: replaces its own */
    assert_int_equal(l.slot[0].turn_ms, turn);          /* and its turn goes on */
    assert_int_equal(arrive(&l, other), -1);            /* different: waits for the turn */
    l.now += 1;
    assert_int_equal(arrive(&l, other), 0);
    assert_int_equal(l.slot[0].addr, other);
    assert_int_equal(l.slot[0].turn_ms, l.now);
}

/* A single silent peer never keeps another out for longer than its turn, whatever the
 * number of slots (the stalled-handshake guarantee the listeners had before). */
static void silent_peer_makes_way(void **state)
{
    (void)state;
    for (size_t n = 1; n <= MAX_SLOTS; n *= 2) {
        struct listener l;
        listener_init(&l, n);
        for (size_t i = 0; i < n; i++)
            arrive(&l, A);
        l.now += TURN;
        assert_true(arrive(&l, B) >= 0);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(flood_after_honest_keeps_the_honest_handshake),
        cmocka_unit_test(honest_after_flood_gets_in_and_keeps_its_slot),
        cmocka_unit_test(two_honest_addresses_against_a_flood),
        cmocka_unit_test(two_honest_addresses_share_fairly),
        cmocka_unit_test(all_slots_authenticated_refuse_everyone),
        cmocka_unit_test(more_than_half_is_refused_at_once),
        cmocka_unit_test(ipv4_addresses_equal_and_different),
        cmocka_unit_test(silent_peer_makes_way),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
