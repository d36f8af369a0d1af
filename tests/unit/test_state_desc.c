/* state_desc: one field list saves and loads; older versions, bad lengths and bools refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hv/state/state_desc.h"

struct elem { uint16_t a; bool on; };
struct dev {
    uint8_t u8;
    uint16_t u16;
    uint32_t u32;
    int64_t s64;
    bool flag;
    uint8_t bytes[5];
    struct elem elems[3];
    uint64_t added_v2;
    void *not_saved;
};

static const struct state_field elem_fields[] = {
    STATE_U16(struct elem, a, 1), STATE_BOOL(struct elem, on, 1),
};
static const struct state_field dev_fields[] = {
    STATE_U8(struct dev, u8, 1),     STATE_U16(struct dev, u16, 1),
    STATE_U32(struct dev, u32, 1),   STATE_U64(struct dev, s64, 1),
    STATE_BOOL(struct dev, flag, 1), STATE_BYTES(struct dev, bytes, 1),
    STATE_STRUCTS(struct dev, elems, struct elem, elem_fields, 1),
    STATE_U64(struct dev, added_v2, 2),
};
#define DEV0 STATE_ID('D', 'E', 'V', '0')
static const struct state_desc dev_v2 = STATE_DESC("dev", DEV0, 2, 1, dev_fields);
static const struct state_desc dev_v1 = STATE_DESC("dev", DEV0, 1, 1, dev_fields);
static const struct state_desc dev_v3_only = STATE_DESC("dev", DEV0, 3, 3, dev_fields);

static uint8_t buf[1024];

static const struct dev sample = {
    .u8 = 0xa5, .u16 = 0xbeef, .u32 = 0xdeadbeef, .s64 = -5, .flag = true,
    .bytes = { 1, 2, 3, 4, 5 }, .elems = { { 1, true }, { 2, false }, { 0xffff, true } },
    .added_v2 = 0x1122334455667788ull,
};

/* Saves obj under desc d and opens the stream for a reader of `reads`. */
static void save_and_open(const struct state_desc *d, const struct dev *obj,
                          const struct state_desc *reads, struct state_section *s)
{
    struct state_writer w;
    state_writer_init(&w, buf, sizeof(buf));
    assert_true(state_save(&w, d, 4, obj));
    size_t len = state_writer_finish(&w);
    assert_true(len > 0);
    struct state_kind k = state_desc_kind(reads);
    struct state_reader r;
    assert_int_equal(state_reader_open(&r, buf, len, &k, 1), 0);
    assert_int_equal(state_reader_next(&r, s), 1);
}

static void test_round_trip(void **state)
{
    struct state_section s;
    save_and_open(&dev_v2, &sample, &dev_v2, &s);
    assert_int_equal(s.instance, 4);
    assert_int_equal(s.len, 1 + 2 + 4 + 8 + 1 + 5 + 3 * 3 + 8);
    assert_int_equal(state_desc_bytes(&dev_v2, 2), s.len);
    struct dev out;
    memset(&out, 0, sizeof(out));
    out.not_saved = &out;
    char err[STATE_ERR_LEN];
    assert_int_equal(state_load(&s, &dev_v2, &out, err, sizeof(err)), 0);
    assert_int_equal(out.u8, sample.u8);
    assert_int_equal(out.u16, sample.u16);
    assert_int_equal(out.u32, sample.u32);
    assert_true(out.s64 == -5);
    assert_true(out.flag);
    assert_memory_equal(out.bytes, sample.bytes, 5);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(out.elems[i].a, sample.elems[i].a);
        assert_int_equal(out.elems[i].on, sample.elems[i].on);
    }
    assert_int_equal(out.added_v2, sample.added_v2);
    assert_ptr_equal(out.not_saved, &out);
}

static void test_older_version_leaves_new_fields(void **state)
{
    struct state_section s;
    save_and_open(&dev_v1, &sample, &dev_v2, &s);
    assert_int_equal(s.version, 1);
    assert_int_equal(s.len, state_desc_bytes(&dev_v2, 1));
    struct dev out = { .added_v2 = 42 };
    char err[STATE_ERR_LEN];
    assert_int_equal(state_load(&s, &dev_v2, &out, err, sizeof(err)), 0);
    assert_int_equal(out.u32, sample.u32);
    assert_int_equal(out.added_v2, 42);
}

static void test_version_outside_description_refused(void **state)
{
    struct state_section s;
    save_and_open(&dev_v1, &sample, &dev_v2, &s);
    struct dev out;
    char err[STATE_ERR_LEN];
    assert_int_equal(state_load(&s, &dev_v3_only, &out, err, sizeof(err)), -1);
    assert_string_equal(err, "state: section 'DEV0' version 1 is not 'dev' versions 3-3");
}

static void test_wrong_length_refused(void **state)
{
    struct state_section s;
    save_and_open(&dev_v2, &sample, &dev_v2, &s);
    s.len -= 1;
    struct dev out;
    char err[STATE_ERR_LEN];
    assert_int_equal(state_load(&s, &dev_v2, &out, err, sizeof(err)), -1);
    assert_string_equal(err, "state: 'dev' version 2: payload of 37 bytes, its fields take 38");
}

static void test_bad_bool_refused(void **state)
{
    struct state_section s;
    save_and_open(&dev_v2, &sample, &dev_v2, &s);
    uint8_t copy[64];
    memcpy(copy, s.payload, s.len);
    copy[1 + 2 + 4 + 8 + 1 + 5 + 2] = 2;             /* elems[0].on */
    s.payload = copy;
    struct dev out;
    char err[STATE_ERR_LEN];
    assert_int_equal(state_load(&s, &dev_v2, &out, err, sizeof(err)), -1);
    assert_string_equal(err, "state: 'dev' instance 4: field on is not a bool (0 or 1)");
}

static void test_save_reports_full_writer(void **state)
{
    struct state_writer w;
    state_writer_init(&w, buf, 40);
    assert_false(state_save(&w, &dev_v2, 0, &sample));
    assert_non_null(strstr(w.err, "out of room in section 'DEV0'"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_older_version_leaves_new_fields),
        cmocka_unit_test(test_version_outside_description_refused),
        cmocka_unit_test(test_wrong_length_refused),
        cmocka_unit_test(test_bad_bool_refused),
        cmocka_unit_test(test_save_reports_full_writer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
