/* The time bank alone (refill by weight, cap, debt, waiting, leaving) and through the
 * proxy: saturating clients of weights 1:2:4 get shares within 5% of their weights', and a
 * client with endless work (an expensive shader over a large surface) is cut at each slice
 * while a light client keeps completing its fences. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "guest/vsp/vsp.h"
#include "tests/unit/vsp_cmdbuf.h"

static struct vsp_timebank tb;

static void refill_follows_weights_and_caps(void **state)
{
    (void)state;
    assert_false(vsp_timebank_init(&tb, 0, 1));
    assert_false(vsp_timebank_init(&tb, 100, 200));     /* slice above the period */
    assert_true(vsp_timebank_init(&tb, 7000, 500));
    assert_false(vsp_timebank_add(&tb, 0, 0));
    assert_false(vsp_timebank_add(&tb, 0, VSP_MAX_WEIGHT + 1));
    assert_false(vsp_timebank_add(&tb, VSP_TIMEBANK_MAX, 1));
    assert_true(vsp_timebank_add(&tb, 0, 1));
    assert_true(vsp_timebank_add(&tb, 3, 2));
    assert_true(vsp_timebank_add(&tb, 5, 4));
    vsp_timebank_refill(&tb);
    assert_int_equal(tb.bank[0].balance, 1000);        /* capped at one period's refill */
    assert_int_equal(tb.bank[3].balance, 2000);
    assert_int_equal(tb.bank[5].balance, 4000);
    assert_int_equal(vsp_timebank_weight_ppm(&tb, 5), 571428);
    assert_int_equal(vsp_timebank_slice(&tb, 5), 500);
    /* round robin among the ready */
    uint32_t ready = 1u << 0 | 1u << 5;
    assert_int_equal(vsp_timebank_pick(&tb, ready), 0);
    assert_int_equal(vsp_timebank_pick(&tb, ready), 5);
    assert_int_equal(vsp_timebank_pick(&tb, ready), 0);
    assert_int_equal(vsp_timebank_pick(&tb, 0), -1);
}

static void debt_carries_over_and_an_empty_bank_waits(void **state)
{
    (void)state;
    assert_true(vsp_timebank_init(&tb, 3000, 500));
    assert_true(vsp_timebank_add(&tb, 1, 1));
    assert_true(vsp_timebank_add(&tb, 2, 2));
    assert_int_equal(tb.bank[1].balance, 1000);         /* joining lowers the others' caps */
    assert_int_equal(tb.bank[2].balance, 2000);
    /* client 1 overran its slice by far (one huge pixel): 2500 in debt */
    assert_int_equal(vsp_timebank_pick(&tb, 1u << 1), 1);
    assert_int_equal(vsp_timebank_slice(&tb, 1), 500);
    vsp_timebank_charge(&tb, 1, 3500);
    assert_int_equal(tb.bank[1].balance, -2500);
    assert_int_equal(vsp_timebank_pick(&tb, 1u << 1), -1);     /* waits, engine idle or not */
    assert_int_equal(tb.bank[1].waits, 1);
    vsp_timebank_refill(&tb);
    assert_int_equal(tb.bank[1].balance, -1500);                /* the debt is paid first */
    assert_int_equal(vsp_timebank_pick(&tb, 1u << 1 | 1u << 2), 2);
    vsp_timebank_refill(&tb);
    vsp_timebank_refill(&tb);
    assert_int_equal(tb.bank[1].balance, 500);
    assert_int_equal(vsp_timebank_slice(&tb, 1), 500);
    vsp_timebank_charge(&tb, 1, 300);
    assert_int_equal(vsp_timebank_slice(&tb, 1), 200);          /* never more than the balance */
    /* a client leaves: the others share the period among themselves */
    vsp_timebank_remove(&tb, 2);
    assert_int_equal(vsp_timebank_weight_ppm(&tb, 1), 1000000);
    assert_int_equal(vsp_timebank_weight_ppm(&tb, 2), 0);
    vsp_timebank_refill(&tb);
    assert_int_equal(tb.bank[1].balance, 3000);
    assert_int_equal(vsp_timebank_share_ppm(&tb, 1), 1000000);  /* the leaver's use is gone */
}

#define RAM (1u << 22)
static uint8_t ram[3][RAM];
static struct vsp v;
static struct cmdbuf cb;

static uint8_t *map(void *ctx, uint64_t gpa, uint64_t len)
{
    return gpa <= RAM && len <= RAM - gpa ? (uint8_t *)ctx + gpa : NULL;
}

static int add(unsigned i, uint32_t weight)
{
    struct vsp_client_ram r = { ram[i], map };
    return vsp_client_add(&v, weight, &r);
}

/* Keeps a client saturated: fills of 64 x 64 until its queue holds a few buffers. */
static void keep_busy(int c)
{
    while (v.client[c].buffers < 4) {
        cb_reset(&cb);
        for (int i = 0; i < 16; i++)
            cb_fill(&cb, 0, 0, 0, 64, 64, (uint32_t)i);
        assert_int_equal(vsp_submit(&v, c, cb.b, cb.n), VSP_OK);
    }
}

static void saturating_clients_share_by_weight(void **state)
{
    (void)state;
    struct vsp_config cfg = { 64, 64, 0, 1000000, 20000 };
    assert_true(vsp_init(&v, &cfg));
    int id[3];
    for (unsigned i = 0; i < 3; i++) {
        id[i] = add(i, 1u << i);
        cb_reset(&cb);
        cb_surface(&cb, 0, VGPU_FMT_XRGB8888, 64, 64, 256, 0);
        assert_int_equal(vsp_submit(&v, id[i], cb.b, cb.n), VSP_OK);
    }
    for (int period = 0; period < 30; period++) {
        int64_t left = cfg.period_units;
        while (left > 0) {
            for (unsigned i = 0; i < 3; i++)
                keep_busy(id[i]);
            int64_t used = vsp_run(&v, left < 50000 ? left : 50000);
            if (used == 0)
                break;                              /* every bank empty: wait */
            left -= used;
        }
        vsp_period(&v);
    }
    for (unsigned i = 0; i < 3; i++) {
        double share = vsp_timebank_share_ppm(&v.bank, (uint32_t)id[i]) / 1e6;
        double want = vsp_timebank_weight_ppm(&v.bank, (uint32_t)id[i]) / 1e6;
        print_message("client %u weight %u: share %.4f, weight's share %.4f\n", i, 1u << i,
                      share, want);
        assert_true(share > want * 0.95 && share < want * 1.05);
    }
}

static void endless_work_is_cut_at_its_slice(void **state)
{
    (void)state;
    struct vsp_config cfg = { 64, 64, 0, 400000, 10000 };
    assert_true(vsp_init(&v, &cfg));
    int hog = add(0, 1), light = add(1, 1);
    /* the hog: the most expensive shader the verifier takes, over 1024 x 1024, again and again */
    struct vgpu_insn p[] = { { VSP_OP_LOOP, 0, 0, 0, 64 }, { VSP_OP_LOOP, 0, 0, 0, 30 },
                             { VSP_OP_ADDI, 1, 1, 0, 1 }, { VSP_OP_ENDL, 0, 0, 0, 0 },
                             { VSP_OP_ENDL, 0, 0, 0, 0 }, { VSP_OP_END, 0, 0, 0, 0 } };
    cb_reset(&cb);
    cb_surface(&cb, 0, VGPU_FMT_XRGB8888, 1024, 1024, 4096, 0);
    cb_shader(&cb, 0, p, 6);
    for (int i = 0; i < 8; i++)
        cb_draw(&cb, 0, 0, 0, 0, 1024, 1024, NULL, NULL, 0);
    cb_fence(&cb, 1);
    assert_int_equal(vsp_submit(&v, hog, cb.b, cb.n), VSP_OK);
    cb_reset(&cb);
    cb_surface(&cb, 0, VGPU_FMT_XRGB8888, 16, 16, 64, 0);
    assert_int_equal(vsp_submit(&v, light, cb.b, cb.n), VSP_OK);
    uint64_t fence = 0;
    int64_t worst_debt = 0;
    for (int period = 0; period < 20; period++) {
        /* the light client asks for a little each period and gets it within the period */
        cb_reset(&cb);
        cb_fill(&cb, 0, 0, 0, 16, 16, (uint32_t)period);
        cb_fence(&cb, ++fence);
        assert_int_equal(vsp_submit(&v, light, cb.b, cb.n), VSP_OK);
        int64_t left = cfg.period_units;
        while (left > 0) {
            int64_t used = vsp_run(&v, left);
            if (used == 0)
                break;
            left -= used;
            if (v.bank.bank[hog].balance < worst_debt)
                worst_debt = v.bank.bank[hog].balance;
        }
        assert_int_equal(vsp_fence_completed(&v, light), fence);
        vsp_period(&v);
    }
    assert_int_equal(vsp_client_last_error(&v, hog)->err, VSP_OK);
    assert_true(vsp_client_busy(&v, hog));              /* still at it */
    assert_int_equal(vsp_fence_completed(&v, hog), 0);
    /* cut at every slice: each overran by at most one pixel of its shader */
    assert_true(worst_debt >= -(int64_t)(VSP_SHADER_MAX_COST + 1 + VSP_COST_COMMAND));
    print_message("endless client: %lu slices, %lu units, worst debt %ld\n",
                  (unsigned long)v.bank.bank[hog].slices, (unsigned long)v.bank.bank[hog].used,
                  (long)worst_debt);
    /* it never got more than its weight's half of each period, although the engine had
     * time left over: the light client asked for little */
    assert_true(v.bank.bank[hog].used <= 21 * (uint64_t)cfg.period_units / 2);
    assert_true(v.bank.bank[hog].slices >= 20 * (uint64_t)(cfg.period_units / 2 / (cfg.slice_units + 4096)));
    assert_true(v.units_idle > 0);                      /* it waited with an empty bank */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(refill_follows_weights_and_caps),
        cmocka_unit_test(debt_carries_over_and_an_empty_bank_waits),
        cmocka_unit_test(saturating_clients_share_by_weight),
        cmocka_unit_test(endless_work_is_cut_at_its_slice),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
