/* The offload link's wire format (hv/offload/offload_wire.c): round trips and every
 * refusal of a request and of a frame header. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hv/offload/offload.h"
#include "hv/offload/offload_wire.h"

static void request_round_trip(void **state)
{
    (void)state;
    struct offload_wire_request r = { .token_offset = 4096, .length = 1u << 30, .granule = 512 }, d;
    uint8_t buf[OFFLOAD_WIRE_REQUEST_SIZE];
    for (size_t i = 0; i < GRANT_SIZE; i++)
        r.grant[i] = (uint8_t)i;
    offload_wire_request_encode(&r, buf);
    assert_memory_equal(buf, "ATOLLOFR", 8);
    assert_true(offload_wire_request_decode(buf, sizeof buf, &d));
    assert_memory_equal(d.grant, r.grant, GRANT_SIZE);
    assert_int_equal(d.token_offset, 4096);
    assert_int_equal(d.length, 1u << 30);
    assert_int_equal(d.granule, 512);
    /* refusals: length, magic, granule (0, not a power of two, over 4096), reserved */
    assert_false(offload_wire_request_decode(buf, sizeof buf - 1, &d));
    buf[0] ^= 1;
    assert_false(offload_wire_request_decode(buf, sizeof buf, &d));
    buf[0] ^= 1;
    static const uint32_t bad[] = { 0, 3, 8192 };
    for (int i = 0; i < 3; i++) {
        r.granule = bad[i];
        offload_wire_request_encode(&r, buf);
        assert_false(offload_wire_request_decode(buf, sizeof buf, &d));
    }
    r.granule = 1;
    offload_wire_request_encode(&r, buf);
    buf[OFFLOAD_WIRE_REQUEST_SIZE - 1] = 1;
    assert_false(offload_wire_request_decode(buf, sizeof buf, &d));
}

static void frames(void **state)
{
    (void)state;
    uint8_t h[OFFLOAD_WIRE_HEADER];
    struct offload_wire_frame f;
    offload_wire_data_header(h, 1000);
    assert_true(offload_wire_frame_decode(h, 0, 1000, &f));
    assert_int_equal(f.type, OFFLOAD_WIRE_DATA);
    assert_int_equal(f.length, 1000);
    assert_false(offload_wire_frame_decode(h, 1, 1000, &f));     /* past what was asked */
    offload_wire_data_header(h, 0);
    assert_false(offload_wire_frame_decode(h, 0, 1000, &f));     /* empty */
    offload_wire_data_header(h, OFFLOAD_CHUNK + 1);
    assert_false(offload_wire_frame_decode(h, 0, UINT64_MAX, &f)); /* over a piece */
    offload_wire_end_header(h, OFFLOAD_E_REVOKED, 40, 123);
    assert_true(offload_wire_frame_decode(h, 0, 10, &f));
    assert_int_equal(f.type, OFFLOAD_WIRE_END);
    assert_int_equal(f.status, OFFLOAD_E_REVOKED);
    assert_int_equal(f.length, 40);
    assert_int_equal(f.sent, 123);
    offload_wire_end_header(h, OFFLOAD_OK, 1000, 0);              /* text cut */
    assert_true(offload_wire_frame_decode(h, 0, 10, &f));
    assert_int_equal(f.length, OFFLOAD_WIRE_TEXT_MAX);
    h[3] = 0xff;                                                  /* text too long */
    assert_false(offload_wire_frame_decode(h, 0, 10, &f));
    offload_wire_end_header(h, -100, 0, 0);                        /* no such status */
    assert_false(offload_wire_frame_decode(h, 0, 10, &f));
    h[0] = 'X';
    assert_false(offload_wire_frame_decode(h, 0, 10, &f));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(request_round_trip),
        cmocka_unit_test(frames),
    };
    return cmocka_run_group_tests_name("offload_wire", tests, NULL, NULL);
}
