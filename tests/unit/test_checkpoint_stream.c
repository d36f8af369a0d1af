/* A checkpoint's stream: its header comes back whole; a stream whose header or vCPU
 * sections do not add up is refused before anything could be restored. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hv/core/checkpoint_stream.h"
#include "hv/core/vcpu_state_desc.h"

#define DEV STATE_ID('D', 'E', 'V', '0')

static uint8_t stream[256 * 1024];
static char err[STATE_ERR_LEN];
static struct vcpu_state vcpu;
static const struct state_kind dev_kind = { DEV, 1, 1, false };

static struct checkpoint_header header(void)
{
    struct checkpoint_header h;
    memset(&h, 0, sizeof(h));
    strcpy(h.name, "timer");
    h.vcpu_count = 2;
    h.ram_bytes = 32ull << 20;
    h.guest_ns = 1234567890123ull;
    h.ram_crc32c = 0xdeadbeef;
    h.device_count = 1;
    return h;
}

static void valid_vcpu(void)
{
    memset(&vcpu, 0, sizeof(vcpu));
    vcpu.rflags = 2;
    vcpu.xcr0 = 1;
}

/* header, vCPU instances in order[0..n), then a device section (after when dev_last). */
static size_t build(const struct checkpoint_header *h, const unsigned *order, unsigned n,
                    bool dev_last)
{
    struct state_writer w;
    state_writer_init(&w, stream, sizeof(stream));
    if (h)
        assert_true(checkpoint_header_save(&w, h));
    if (!dev_last) {
        state_begin(&w, DEV, 0, 1, 0);
        state_put_u32(&w, 7);
        state_end(&w);
    }
    valid_vcpu();
    for (unsigned i = 0; i < n; i++)
        assert_true(vcpu_state_save(&w, order[i], &vcpu));
    if (dev_last) {
        state_begin(&w, DEV, 0, 1, 0);
        state_put_u32(&w, 7);
        state_end(&w);
    }
    size_t len = state_writer_finish(&w);
    assert_true(len > 0);
    return len;
}

static int open_it(size_t len, struct checkpoint_header *out)
{
    struct checkpoint_reader r;
    return checkpoint_stream_open(&r, stream, len, &dev_kind, 1, out, err, sizeof(err));
}

static void header_round_trip(void **state)
{
    (void)state;
    struct checkpoint_header h = header(), out;
    static const unsigned order[] = { 0, 1 };
    size_t len = build(&h, order, 2, true);
    struct checkpoint_reader r;
    assert_int_equal(checkpoint_stream_open(&r, stream, len, &dev_kind, 1, &out, err,
                                            sizeof(err)), 0);
    assert_memory_equal(&h, &out, sizeof(h));
    struct state_section s;     /* the reader goes on after the header */
    assert_int_equal(state_reader_next(&r.r, &s), 1);
    assert_int_equal(s.id, vcpu_state_desc.id);
    assert_int_equal(s.instance, 0);
}

static void header_must_come_first(void **state)
{
    (void)state;
    struct checkpoint_header out;
    static const unsigned order[] = { 0, 1 };
    assert_int_equal(open_it(build(NULL, order, 2, true), &out), -1);
    assert_string_equal(err, "checkpoint: the stream does not begin with its header");
}

static void impossible_headers_are_refused(void **state)
{
    (void)state;
    static const unsigned order[] = { 0, 1 };
    struct checkpoint_header out;
    struct checkpoint_header h = header();
    h.name[0] = 'A';
    assert_int_equal(open_it(build(&h, order, 2, true), &out), -1);
    assert_string_equal(err, "checkpoint: impossible partition name in the header");
    h = header();
    memset(h.name, 'a', sizeof(h.name));        /* no NUL */
    assert_int_equal(open_it(build(&h, order, 2, true), &out), -1);
    h = header();
    h.name[10] = 'x';                            /* bytes after the NUL */
    assert_int_equal(open_it(build(&h, order, 2, true), &out), -1);
    h = header();
    h.vcpu_count = 0;
    assert_int_equal(open_it(build(&h, order, 0, true), &out), -1);
    assert_string_equal(err, "checkpoint: impossible vCPU count in the header");
    h = header();
    h.vcpu_count = 65;
    assert_int_equal(open_it(build(&h, order, 2, true), &out), -1);
    h = header();
    h.ram_bytes = 4095;
    assert_int_equal(open_it(build(&h, order, 2, true), &out), -1);
    assert_string_equal(err, "checkpoint: impossible RAM size in the header");
    h = header();
    h.ram_bytes = 4ull << 30;
    assert_int_equal(open_it(build(&h, order, 2, true), &out), -1);
    h = header();
    h.device_count = 1000;
    assert_int_equal(open_it(build(&h, order, 2, true), &out), -1);
    assert_string_equal(err, "checkpoint: impossible device count in the header");
}

static void vcpu_sections_must_add_up(void **state)
{
    (void)state;
    struct checkpoint_header h = header(), out;
    static const unsigned one[] = { 0 }, three[] = { 0, 1, 2 }, from1[] = { 1 };
    assert_int_equal(open_it(build(&h, one, 1, true), &out), -1);
    assert_string_equal(err, "checkpoint: 1 'VCPU' sections for 2 vCPUs");
    assert_int_equal(open_it(build(&h, three, 3, true), &out), -1);
    assert_string_equal(err, "checkpoint: 'VCPU' instance 2 out of place (2 of 2 vCPUs read)");
    h.vcpu_count = 1;
    assert_int_equal(open_it(build(&h, from1, 1, true), &out), -1);
    assert_string_equal(err, "checkpoint: 'VCPU' instance 1 out of place (0 of 1 vCPUs read)");
    static const unsigned two[] = { 0, 1 };
    h.vcpu_count = 2;
    assert_int_equal(open_it(build(&h, two, 2, false), &out), -1);   /* a device before them */
    assert_string_equal(err, "checkpoint: 'VCPU' instance 0 out of place (0 of 2 vCPUs read)");
}

static void a_damaged_stream_is_refused(void **state)
{
    (void)state;
    struct checkpoint_header h = header(), out;
    static const unsigned order[] = { 0, 1 };
    size_t len = build(&h, order, 2, true);
    stream[30] ^= 1;
    assert_int_equal(open_it(len, &out), -1);
    assert_non_null(strstr(err, "CRC-32C mismatch"));
}

static void device_kinds_cannot_take_our_ids(void **state)
{
    (void)state;
    struct checkpoint_header out;
    struct checkpoint_reader r;
    struct state_kind bad = { CHECKPOINT_ID, 1, 1, false };
    static const unsigned order[] = { 0, 1 };
    struct checkpoint_header h = header();
    size_t len = build(&h, order, 2, true);
    assert_int_equal(checkpoint_stream_open(&r, stream, len, &bad, 1, &out, err, sizeof(err)), -1);
    assert_int_equal(checkpoint_stream_open(&r, stream, len, &dev_kind, 40, &out, err,
                                            sizeof(err)), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(header_round_trip),
        cmocka_unit_test(header_must_come_first),
        cmocka_unit_test(impossible_headers_are_refused),
        cmocka_unit_test(vcpu_sections_must_add_up),
        cmocka_unit_test(a_damaged_stream_is_refused),
        cmocka_unit_test(device_kinds_cannot_take_our_ids),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
