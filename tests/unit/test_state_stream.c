/* state_stream: writer and reader round trip, and every refusal of a hostile stream. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "hv/lib/crc32c.h"
#include "hv/lib/le.h"
#include "hv/state/state_stream.h"

#define LAPC STATE_ID('L', 'A', 'P', 'C')
#define CPUR STATE_ID('C', 'P', 'U', 'R')
#define RAMD STATE_ID('R', 'A', 'M', 'D')
#define XTRA STATE_ID('X', 'T', 'R', 'A')

static const struct state_kind kinds[] = {
    { .id = LAPC, .min_version = 1, .max_version = 2 },
    { .id = CPUR, .min_version = 1, .max_version = 1 },
    { .id = RAMD, .min_version = 1, .max_version = 1, .repeats = true },
};
#define KIND_COUNT (sizeof(kinds) / sizeof(kinds[0]))

static uint8_t buf[4096];

/* A stream of the sections given as (id, instance, version, flags) quadruples, each with
 * a payload of 8 bytes, its instance repeated. */
static size_t make_stream(size_t n, const uint32_t (*secs)[4])
{
    struct state_writer w;
    state_writer_init(&w, buf, sizeof(buf));
    for (size_t i = 0; i < n; i++) {
        assert_true(state_begin(&w, secs[i][0], (uint16_t)secs[i][1], (uint16_t)secs[i][2],
                                (uint16_t)secs[i][3]));
        state_put_u64(&w, 0x0101010101010101ull * secs[i][1]);
        assert_true(state_end(&w));
    }
    size_t len = state_writer_finish(&w);
    assert_true(len > 0);
    return len;
}

/* Recomputes every section CRC and the stream CRC after a test edited a header. */
static void reseal(uint8_t *b, size_t len)
{
    size_t pos = STATE_HEADER_BYTES;
    while (pos + STATE_SECTION_HEADER_BYTES <= len) {
        uint8_t *h = b + pos;
        uint32_t n = le32(h + 12);
        if (n > len - pos - STATE_SECTION_HEADER_BYTES)
            return;
        if (le32(h) == STATE_ID_END && n == 4) {
            uint32_t c = crc32c(0, b, pos);
            memcpy(h + 20, &c, 4);
        }
        uint32_t crc = crc32c(crc32c(0, h, 16), h + 20, n);
        memcpy(h + 16, &crc, 4);
        pos += STATE_SECTION_HEADER_BYTES + n;
    }
}

static void expect_refused(size_t len, const char *want)
{
    struct state_reader r;
    assert_int_equal(state_reader_open(&r, buf, len, kinds, KIND_COUNT), -1);
    if (!strstr(r.err, want))
        fail_msg("got \"%s\", want \"%s\"", r.err, want);
}

static void test_round_trip(void **state)
{
    struct state_writer w;
    state_writer_init(&w, buf, sizeof(buf));
    assert_true(state_begin(&w, CPUR, 0, 1, 0));
    state_put_u8(&w, 0x12);
    state_put_u16(&w, 0x3456);
    state_put_u32(&w, 0x789abcde);
    state_put_u64(&w, 0x0123456789abcdefull);
    state_put_bytes(&w, "xyz", 3);
    assert_true(state_end(&w));
    assert_true(state_begin(&w, LAPC, 0, 2, 0));
    state_put_u32(&w, 7);
    assert_true(state_end(&w));
    assert_true(state_begin(&w, LAPC, 2, 1, 0));
    assert_true(state_end(&w));                      /* an empty payload is fine */
    size_t len = state_writer_finish(&w);
    assert_int_equal(len, 8 + 20 + 18 + 20 + 4 + 20 + 20 + 4);
    assert_memory_equal(buf, "ATSS\1\0\0\0", 8);

    struct state_reader r;
    assert_int_equal(state_reader_open(&r, buf, len, kinds, KIND_COUNT), 0);
    struct state_section s;
    assert_int_equal(state_reader_next(&r, &s), 1);
    assert_int_equal(s.id, CPUR);
    assert_int_equal(s.len, 18);
    struct state_cursor c;
    state_cursor_init(&c, &s);
    assert_int_equal(state_get_u8(&c), 0x12);
    assert_int_equal(state_get_u16(&c), 0x3456);
    assert_int_equal(state_get_u32(&c), 0x789abcde);
    assert_int_equal(state_get_u64(&c), 0x0123456789abcdefull);
    char xyz[3];
    state_get_bytes(&c, xyz, 3);
    assert_memory_equal(xyz, "xyz", 3);
    assert_true(state_cursor_done(&c));

    assert_int_equal(state_reader_next(&r, &s), 1);
    assert_int_equal(s.id, LAPC);
    assert_int_equal(s.instance, 0);
    assert_int_equal(s.version, 2);
    assert_int_equal(s.len, 4);
    assert_int_equal(state_reader_next(&r, &s), 1);
    assert_int_equal(s.instance, 2);
    assert_int_equal(s.len, 0);
    assert_int_equal(state_reader_next(&r, &s), 0);
    assert_int_equal(state_reader_next(&r, &s), 0);
}

/* The smallest stream, byte for byte as STREAM.md shows it. */
static void test_empty_stream_bytes(void **state)
{
    static const uint8_t want[32] = {
        0x41, 0x54, 0x53, 0x53, 0x01, 0x00, 0x00, 0x00,
        0x45, 0x4e, 0x44, 0x2e, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x04, 0x00, 0x00, 0x00, 0x7e, 0xca, 0x7d, 0x1a, 0xac, 0x8d, 0xa9, 0x4b,
    };
    assert_int_equal(make_stream(0, NULL), sizeof(want));
    assert_memory_equal(buf, want, sizeof(want));
    assert_int_equal(crc32c(0, buf, 8), 0x4ba98dacu);
}

static void test_cursor_short_read(void **state)
{
    static const uint32_t secs[][4] = { { CPUR, 0, 1, 0 } };
    size_t len = make_stream(1, secs);
    struct state_reader r;
    struct state_section s;
    assert_int_equal(state_reader_open(&r, buf, len, kinds, KIND_COUNT), 0);
    assert_int_equal(state_reader_next(&r, &s), 1);
    struct state_cursor c;
    state_cursor_init(&c, &s);
    state_get_u32(&c);
    assert_false(state_cursor_done(&c));            /* 4 bytes left unread */
    assert_int_equal(state_get_u64(&c), 0);          /* past the end: zeros */
    assert_true(c.short_read);
    assert_false(state_cursor_done(&c));
}

static void test_writer_out_of_room(void **state)
{
    struct state_writer w;
    for (size_t cap = 0; cap < 8 + 20 + 8 + 24; cap++) {
        state_writer_init(&w, buf, cap);
        state_begin(&w, CPUR, 0, 1, 0);
        state_put_u64(&w, 1);
        state_end(&w);
        assert_int_equal(state_writer_finish(&w), 0);
        assert_non_null(strstr(w.err, "out of room"));
    }
    state_writer_init(&w, buf, 8 + 20 + 8 + 24);
    state_begin(&w, CPUR, 0, 1, 0);
    state_put_u64(&w, 1);
    state_end(&w);
    assert_int_equal(state_writer_finish(&w), 8 + 20 + 8 + 24);
}

static void test_writer_misuse(void **state)
{
    struct state_writer w;
    state_writer_init(&w, buf, sizeof(buf));
    state_put_u8(&w, 1);
    assert_int_equal(state_writer_finish(&w), 0);
    assert_non_null(strstr(w.err, "outside a section"));

    state_writer_init(&w, buf, sizeof(buf));
    assert_true(state_begin(&w, CPUR, 0, 1, 0));
    assert_false(state_begin(&w, LAPC, 0, 1, 0));
    assert_non_null(strstr(w.err, "a section begun inside another"));

    state_writer_init(&w, buf, sizeof(buf));
    assert_true(state_begin(&w, CPUR, 0, 1, 0));
    assert_int_equal(state_writer_finish(&w), 0);
    assert_non_null(strstr(w.err, "left open"));

    state_writer_init(&w, buf, sizeof(buf));
    assert_false(state_end(&w));
    assert_false(state_begin(&w, CPUR, 0, 1, 0));    /* failure is sticky */

    state_writer_init(&w, buf, sizeof(buf));
    assert_false(state_begin(&w, STATE_ID_END, 0, 1, 0));
    state_writer_init(&w, buf, sizeof(buf));
    assert_false(state_begin(&w, CPUR, 0, 1, 0x8000));
    assert_non_null(strstr(w.err, "unknown section flags"));
}

static void test_stream_header_refused(void **state)
{
    size_t len = make_stream(0, NULL);
    expect_refused(7, "state: truncated: 7 bytes, a stream header needs 8");
    buf[0] = 'X';
    expect_refused(len, "state: not a state stream");
    buf[0] = 'A';
    buf[4] = 2;
    expect_refused(len, "state: format version 2 not understood (this build reads 1)");
    buf[4] = 1;
    buf[6] = 4;
    expect_refused(len, "state: stream flags 0x4 not understood");
}

static void test_every_truncation_refused(void **state)
{
    static const uint32_t secs[][4] = { { CPUR, 0, 1, 0 }, { LAPC, 1, 1, 0 } };
    size_t len = make_stream(2, secs);
    struct state_reader r;
    assert_int_equal(state_reader_open(&r, buf, len, kinds, KIND_COUNT), 0);
    for (size_t n = 0; n < len; n++)
        assert_int_equal(state_reader_open(&r, buf, n, kinds, KIND_COUNT), -1);
    expect_refused(8, "state: truncated: a section header at offset 8 needs 20 bytes, 0 left "
                      "(no end section)");
    expect_refused(8 + 28, "no end section");
    expect_refused(len - 1, "claims 4 bytes, only 3 left");
}

static void test_length_beyond_stream_refused(void **state)
{
    static const uint32_t secs[][4] = { { CPUR, 0, 1, 0 } };
    size_t len = make_stream(1, secs);
    uint32_t huge = 0xfffffff0u;
    memcpy(buf + 8 + 12, &huge, 4);
    expect_refused(len, "state: section 'CPUR' instance 0 at offset 8 claims 4294967280 bytes, "
                        "only 32 left");
}

static void test_crc_mismatch_refused(void **state)
{
    static const uint32_t secs[][4] = { { CPUR, 0, 1, 0 }, { LAPC, 1, 1, 0 } };
    size_t len = make_stream(2, secs);
    buf[8 + 20 + 3] ^= 0x40;                          /* a payload byte of CPUR */
    expect_refused(len, "state: section 'CPUR' instance 0 at offset 8: CRC-32C mismatch");
    reseal(buf, len);                                 /* section right, stream CRC stale */
    uint32_t stale;
    memcpy(&stale, buf + len - 4, 4);
    buf[len - 4] ^= 1;                                /* the end's payload, its CRC resealed */
    uint32_t crc = crc32c(crc32c(0, buf + len - 24, 16), buf + len - 4, 4);
    memcpy(buf + len - 8, &crc, 4);
    expect_refused(len, "state: stream CRC-32C mismatch");
    buf[len - 4] ^= 1;
    reseal(buf, len);
    struct state_reader r;
    assert_int_equal(state_reader_open(&r, buf, len, kinds, KIND_COUNT), 0);
}

static void test_stream_crc_covers_every_section(void **state)
{
    static const uint32_t secs[][4] = { { CPUR, 0, 1, 0 }, { LAPC, 1, 1, 0 } };
    size_t len = make_stream(2, secs);
    buf[8 + 28 + 20 + 2] ^= 0x10;                     /* LAPC's payload */
    uint8_t *h = buf + 8 + 28;                        /* reseal LAPC only */
    uint32_t crc = crc32c(crc32c(0, h, 16), h + 20, 8);
    memcpy(h + 16, &crc, 4);
    expect_refused(len, "state: stream CRC-32C mismatch");
}

static void test_unknown_version_refused(void **state)
{
    static const uint32_t secs[][4] = { { LAPC, 0, 3, 0 } };
    size_t len = make_stream(1, secs);
    expect_refused(len, "state: section 'LAPC' version 3 not understood (this build reads 1-2)");
    static const uint32_t old[][4] = { { CPUR, 0, 0, 0 } };
    len = make_stream(1, old);
    expect_refused(len, "state: section 'CPUR' version 0 not understood (this build reads 1-1)");
}

static void test_unknown_section_refused_unless_skippable(void **state)
{
    static const uint32_t secs[][4] = { { CPUR, 0, 1, 0 }, { XTRA, 5, 9, 0 } };
    size_t len = make_stream(2, secs);
    expect_refused(len, "state: section 'XTRA' instance 5 not understood by this build "
                        "(and not skippable)");

    static const uint32_t skip[][4] = {
        { XTRA, 5, 9, STATE_SEC_SKIPPABLE }, { CPUR, 0, 1, 0 }, { XTRA, 5, 9, STATE_SEC_SKIPPABLE },
    };
    len = make_stream(3, skip);
    struct state_reader r;
    struct state_section s;
    assert_int_equal(state_reader_open(&r, buf, len, kinds, KIND_COUNT), 0);
    assert_int_equal(state_reader_next(&r, &s), 1);
    assert_int_equal(s.id, CPUR);
    assert_int_equal(state_reader_next(&r, &s), 0);

    /* A known section stays checked even when its writer flags it skippable. */
    static const uint32_t known[][4] = { { LAPC, 0, 3, STATE_SEC_SKIPPABLE } };
    len = make_stream(1, known);
    expect_refused(len, "version 3 not understood");
}

static void test_duplicates_refused(void **state)
{
    static const uint32_t twice[][4] = { { LAPC, 1, 1, 0 }, { CPUR, 0, 1, 0 }, { LAPC, 1, 2, 0 } };
    size_t len = make_stream(3, twice);
    expect_refused(len, "state: section 'LAPC' instance 1 appears twice");

    static const uint32_t backwards[][4] = { { LAPC, 2, 1, 0 }, { LAPC, 1, 1, 0 } };
    len = make_stream(2, backwards);
    expect_refused(len, "state: section 'LAPC' instance 1 after instance 2");

    static const uint32_t repeats[][4] = { { RAMD, 0, 1, 0 }, { RAMD, 0, 1, 0 }, { RAMD, 3, 1, 0 } };
    len = make_stream(3, repeats);
    struct state_reader r;
    assert_int_equal(state_reader_open(&r, buf, len, kinds, KIND_COUNT), 0);

    static const uint32_t rep_back[][4] = { { RAMD, 3, 1, 0 }, { RAMD, 0, 1, 0 } };
    len = make_stream(2, rep_back);
    expect_refused(len, "state: section 'RAMD' instance 0 after instance 3");
}

static void test_header_fields_refused(void **state)
{
    static const uint32_t secs[][4] = { { CPUR, 0, 1, 0 } };
    size_t len = make_stream(1, secs);
    buf[8 + 10] = 1;                                  /* reserved */
    reseal(buf, len);
    expect_refused(len, "state: section 'CPUR' instance 0: reserved field is 1, not 0");

    len = make_stream(1, secs);
    buf[8 + 8] = 0x02;                                /* a flag nobody defined */
    reseal(buf, len);
    expect_refused(len, "state: section 'CPUR' instance 0: flags 0x2 not understood");
}

static void test_end_section_checked(void **state)
{
    static const uint32_t secs[][4] = { { CPUR, 0, 1, 0 } };
    size_t len = make_stream(1, secs);
    memcpy(buf + len, "junk", 4);
    expect_refused(len + 4, "state: 4 bytes after the end section");

    buf[len - 24 + 6] = 2;                            /* the end section's version */
    reseal(buf, len);
    expect_refused(len, "state: end section at offset 36 malformed (version 2");

    len = make_stream(1, secs);
    buf[len - 24 + 4] = 1;                            /* the end section's instance */
    reseal(buf, len);
    expect_refused(len, "malformed");
}

static void test_non_printable_ids_named_safely(void **state)
{
    static const uint32_t secs[][4] = { { 0x27000a01u, 0, 1, 0 } };
    size_t len = make_stream(1, secs);
    expect_refused(len, "state: section '?" "?" "?" "?' instance 0 not understood");
}

static void test_too_many_kinds_refused(void **state)
{
    static struct state_kind many[STATE_MAX_KINDS + 1];
    size_t len = make_stream(0, NULL);
    struct state_reader r;
    assert_int_equal(state_reader_open(&r, buf, len, many, STATE_MAX_KINDS + 1), -1);
    assert_int_equal(state_reader_open(&r, buf, len, many, STATE_MAX_KINDS), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_empty_stream_bytes),
        cmocka_unit_test(test_cursor_short_read),
        cmocka_unit_test(test_writer_out_of_room),
        cmocka_unit_test(test_writer_misuse),
        cmocka_unit_test(test_stream_header_refused),
        cmocka_unit_test(test_every_truncation_refused),
        cmocka_unit_test(test_length_beyond_stream_refused),
        cmocka_unit_test(test_crc_mismatch_refused),
        cmocka_unit_test(test_stream_crc_covers_every_section),
        cmocka_unit_test(test_unknown_version_refused),
        cmocka_unit_test(test_unknown_section_refused_unless_skippable),
        cmocka_unit_test(test_duplicates_refused),
        cmocka_unit_test(test_header_fields_refused),
        cmocka_unit_test(test_end_section_checked),
        cmocka_unit_test(test_non_printable_ids_named_safely),
        cmocka_unit_test(test_too_many_kinds_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
