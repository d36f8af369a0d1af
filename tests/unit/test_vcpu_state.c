/* A vCPU's state through the state stream: every field comes back, impossible states are
 * refused before a backend could load them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hv/core/vcpu_state_desc.h"
#include "tests/unit/vcpu_state_sample.h"

static struct vcpu_state in, out;
static uint8_t stream[64 * 1024];
static char err[STATE_ERR_LEN];

static void sample(struct vcpu_state *s) { vcpu_state_sample(s); }

static int save_and_load(const struct vcpu_state *s, struct vcpu_state *o)
{
    struct state_writer w;
    state_writer_init(&w, stream, sizeof(stream));
    assert_true(vcpu_state_save(&w, 3, s));
    assert_true(state_writer_finish(&w));
    struct state_kind kind = state_desc_kind(&vcpu_state_desc);
    struct state_reader r;
    assert_int_equal(state_reader_open(&r, stream, w.pos, &kind, 1), 0);
    struct state_section sec;
    assert_int_equal(state_reader_next(&r, &sec), 1);
    assert_int_equal(sec.instance, 3);
    return vcpu_state_load(&sec, o, err, sizeof(err));
}

static void round_trip_test(void **state)
{
    (void)state;
    sample(&in);
    assert_int_equal(save_and_load(&in, &out), 0);
    assert_memory_equal(&in.gpr, &out.gpr, sizeof(in.gpr));
    assert_memory_equal(&in.seg, &out.seg, sizeof(in.seg));
    assert_memory_equal(&in.xsave, &out.xsave, sizeof(in.xsave));
    assert_int_equal(out.rip, in.rip);
    assert_int_equal(out.tsc_offset, in.tsc_offset);
    assert_int_equal(out.event.vector, 14);
    assert_true(out.event.has_error);
    assert_int_equal(out.run_state, VCPU_RS_HALTED);
    assert_true(out.halted_irqs_off);
    assert_int_equal(out.sipi_vector, 0x9a);
    assert_int_equal(out.mtrr_fixed[1], 0x0505050505050505ull);
    assert_int_equal(out.tsc_adjust, 77);
    assert_memory_equal(&in, &out, sizeof(in));
}

/* Version 1 (with IA32_TSC_DEADLINE, never written by a build) is not loaded. */
static void version_1_refused_test(void **state)
{
    (void)state;
    struct state_writer w;
    state_writer_init(&w, stream, sizeof(stream));
    assert_true(state_begin(&w, vcpu_state_desc.id, 0, 1, 0));
    assert_true(state_end(&w));
    assert_true(state_writer_finish(&w));
    struct state_kind kind = state_desc_kind(&vcpu_state_desc);
    struct state_reader r;
    struct state_section sec;
    bool refused = state_reader_open(&r, stream, w.pos, &kind, 1) != 0 ||
                   state_reader_next(&r, &sec) != 1 ||
                   vcpu_state_load(&sec, &out, err, sizeof(err)) == -1;
    assert_true(refused);
}

static void refused(void (*spoil)(struct vcpu_state *), const char *why)
{
    sample(&in);
    spoil(&in);
    assert_int_equal(save_and_load(&in, &out), -1);
    assert_non_null(strstr(err, why));
}

static void bad_rip(struct vcpu_state *s) { s->rip = 0x0000800000000000ull; }
static void bad_xsave(struct vcpu_state *s) { s->xsave_size = VCPU_STATE_XSAVE_MAX + 1; }
static void bad_xcr0(struct vcpu_state *s) { s->xcr0 = 0; }
static void bad_event(struct vcpu_state *s) { s->event.type = 1; }
static void bad_run(struct vcpu_state *s) { s->run_state = (enum vcpu_run_state)7; }
static void bad_seg(struct vcpu_state *s) { s->seg[VSEG_SS].attributes = 1u << 20; }
static void bad_rflags(struct vcpu_state *s) { s->rflags = 0; }
static void bad_cr4(struct vcpu_state *s) { s->cr4 = 1ull << 40; }
static void bad_ss(struct vcpu_state *s) { s->seg[VSEG_SS].attributes = 0xc09b; }

static void refusals_test(void **state)
{
    (void)state;
    refused(bad_rip, "RIP");
    refused(bad_xsave, "XSAVE");
    refused(bad_xcr0, "XCR0");
    refused(bad_event, "pending event");
    refused(bad_run, "run state");
    refused(bad_seg, "segment");
    refused(bad_ss, "SS");
    refused(bad_rflags, "RFLAGS");
    refused(bad_cr4, "CR4");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip_test),
        cmocka_unit_test(refusals_test),
        cmocka_unit_test(version_1_refused_test),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
