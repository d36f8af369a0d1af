/* Unit tests: control message header and TLV codec. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "net/control/ctl_codec.h"

static void header_round_trip(void **state)
{
    uint8_t b[CTL_HEADER_SIZE];
    struct ctl_header h;
    ctl_header_encode(b, CTL_MSG_LIST, 0xdeadbeef, 77);
    assert_memory_equal(b, "ATCL\0\1\0\2", 8);
    ctl_header_decode(b, &h);
    assert_int_equal(h.magic, CTL_MAGIC);
    assert_int_equal(h.version, CTL_VERSION);
    assert_int_equal(h.type, CTL_MSG_LIST);
    assert_int_equal(h.request_id, 0xdeadbeef);
    assert_int_equal(h.length, 77);
    assert_int_equal(ctl_header_check(&h, CTL_MAX_REQUEST_PAYLOAD), CTL_OK);
}

static void header_rejects(void **state)
{
    uint8_t b[CTL_HEADER_SIZE];
    struct ctl_header h;
    ctl_header_encode(b, CTL_MSG_STATUS, 1, CTL_MAX_REQUEST_PAYLOAD + 1);
    ctl_header_decode(b, &h);
    assert_int_equal(ctl_header_check(&h, CTL_MAX_REQUEST_PAYLOAD), CTL_ERR_TOO_LARGE);
    ctl_header_encode(b, CTL_MSG_STATUS, 1, 0);
    b[5] = 2;
    ctl_header_decode(b, &h);
    assert_int_equal(ctl_header_check(&h, CTL_MAX_REQUEST_PAYLOAD), CTL_ERR_VERSION);
    b[0] = 'X';
    ctl_header_decode(b, &h);
    assert_int_equal(ctl_header_check(&h, CTL_MAX_REQUEST_PAYLOAD), CTL_ERR_MALFORMED);
}

static void tlv_round_trip(void **state)
{
    uint8_t buf[128];
    struct ctl_tlv_writer w;
    ctl_tlv_writer_init(&w, buf, sizeof buf);
    assert_true(ctl_put_u8(&w, 1, 0xab));
    assert_true(ctl_put_u16(&w, 2, 0x1234));
    assert_true(ctl_put_u32(&w, 3, 0x89abcdef));
    assert_true(ctl_put_u64(&w, 4, 0x0102030405060708ull));
    assert_true(ctl_put_str(&w, 5, "alpha"));
    size_t mark = ctl_put_open(&w, 6);
    assert_true(ctl_put_str(&w, CTL_TAG_NAME, "inner"));
    assert_true(ctl_put_close(&w, mark));
    assert_false(w.overflow);
    assert_true(ctl_tlv_valid(buf, w.len));

    struct ctl_tlv t;
    uint8_t v8; uint16_t v16; uint32_t v32; uint64_t v64; char s[16];
    assert_true(ctl_tlv_find(buf, w.len, 1, &t) && ctl_tlv_u8(&t, &v8) && v8 == 0xab);
    assert_true(ctl_tlv_find(buf, w.len, 2, &t) && ctl_tlv_u16(&t, &v16) && v16 == 0x1234);
    assert_true(ctl_tlv_find(buf, w.len, 3, &t) && ctl_tlv_u32(&t, &v32) && v32 == 0x89abcdef);
    assert_true(ctl_tlv_find(buf, w.len, 4, &t) && ctl_tlv_u64(&t, &v64));
    assert_true(v64 == 0x0102030405060708ull);
    assert_false(ctl_tlv_u32(&t, &v32));   /* wrong width */
    assert_true(ctl_tlv_find(buf, w.len, 5, &t) && ctl_tlv_text(&t, s, sizeof s));
    assert_string_equal(s, "alpha");
    assert_true(ctl_tlv_find(buf, w.len, 6, &t));
    struct ctl_tlv in;
    assert_true(ctl_tlv_find(t.value, t.len, CTL_TAG_NAME, &in));
    char name[CTL_NAME_MAX + 1];
    assert_true(ctl_tlv_name(&in, name));
    assert_string_equal(name, "inner");
    assert_false(ctl_tlv_find(buf, w.len, 99, &t));
}

static void tlv_malformed(void **state)
{
    const uint8_t past_end[] = { 0, 1, 0, 5, 'a', 'b' };
    const uint8_t short_head[] = { 0, 1, 0 };
    const uint8_t ok_then_junk[] = { 0, 1, 0, 1, 'x', 0 };
    assert_false(ctl_tlv_valid(past_end, sizeof past_end));
    assert_false(ctl_tlv_valid(short_head, sizeof short_head));
    assert_false(ctl_tlv_valid(ok_then_junk, sizeof ok_then_junk));
    assert_true(ctl_tlv_valid(NULL, 0));
}

static void writer_overflow_sticks(void **state)
{
    uint8_t buf[10];
    struct ctl_tlv_writer w;
    ctl_tlv_writer_init(&w, buf, sizeof buf);
    assert_true(ctl_put_u16(&w, 1, 7));     /* 6 bytes */
    assert_false(ctl_put_u32(&w, 2, 7));    /* 8 more: no */
    assert_true(w.overflow);
    assert_false(ctl_put_u8(&w, 3, 1));     /* would fit, but overflow sticks */
    assert_int_equal(w.len, 6);
}

static void text_and_names(void **state)
{
    char out[8];
    struct ctl_tlv t = { 1, 3, (const uint8_t *)"a\0b" };
    assert_false(ctl_tlv_text(&t, out, sizeof out));
    t = (struct ctl_tlv){ 1, 8, (const uint8_t *)"12345678" };
    assert_false(ctl_tlv_text(&t, out, sizeof out));   /* no room for NUL */
    assert_true(ctl_name_valid("vm-1_b", 6));
    assert_false(ctl_name_valid("Vm", 2));      /* the manifest's rule: [a-z0-9_-] */
    assert_false(ctl_name_valid("a.b", 3));
    assert_false(ctl_name_valid("", 0));
    assert_false(ctl_name_valid("a b", 3));
    assert_false(ctl_name_valid("a/b", 3));
    assert_false(ctl_name_valid("0123456789012345678901234567890123", 32));
}

static void message_build(void **state)
{
    uint8_t out[64];
    const uint8_t payload[] = { 0, 3, 0, 1, 'x' };
    size_t n = ctl_message_build(out, sizeof out, CTL_MSG_START, 9, payload, sizeof payload);
    assert_int_equal(n, CTL_HEADER_SIZE + sizeof payload);
    assert_int_equal(ctl_message_build(out, 20, CTL_MSG_START, 9, payload, sizeof payload), 0);
    assert_string_equal(ctl_status_name(CTL_ERR_VERSION), "protocol version mismatch");
    assert_string_equal(ctl_partition_state_name(CTL_PART_RUNNING), "running");
    assert_string_equal(ctl_partition_state_name(200), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(header_round_trip), cmocka_unit_test(header_rejects),
        cmocka_unit_test(tlv_round_trip),    cmocka_unit_test(tlv_malformed),
        cmocka_unit_test(writer_overflow_sticks), cmocka_unit_test(text_and_names),
        cmocka_unit_test(message_build),
    };
    return cmocka_run_group_tests_name("ctl_codec", tests, NULL, NULL);
}
