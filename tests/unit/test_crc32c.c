/* CRC-32C and GUID text helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hv/lib/crc32c.h"
#include "hv/lib/guid.h"

static void test_crc32c_vectors(void **state)
{
    uint8_t zeros[32] = { 0 }, ones[32], inc[32];
    memset(ones, 0xff, sizeof(ones));
    for (int i = 0; i < 32; i++)
        inc[i] = (uint8_t)i;
    assert_int_equal(crc32c(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(crc32c(0, zeros, 32), 0x8A9136AAu); /* RFC 3720 B.4 */
    assert_int_equal(crc32c(0, ones, 32), 0x62A8AB43u);
    assert_int_equal(crc32c(0, inc, 32), 0x46DD794Eu);
    assert_int_equal(crc32c(0, NULL, 0), 0);
}

static void test_crc32c_chaining(void **state)
{
    uint8_t buf[1000];
    for (int i = 0; i < 1000; i++)
        buf[i] = (uint8_t)(i * 7 + 3);
    uint32_t whole = crc32c(0, buf, sizeof(buf));
    for (size_t cut = 0; cut <= sizeof(buf); cut += 37)
        assert_int_equal(crc32c(crc32c(0, buf, cut), buf + cut, sizeof(buf) - cut), whole);
}

/* Whichever path crc32c takes on this CPU agrees with the tables at every length and
 * alignment (the instruction's 8-byte steps and its byte tail). */
static void test_crc32c_paths_agree(void **state)
{
    uint8_t buf[300];
    uint32_t x = 12345;
    for (size_t i = 0; i < sizeof(buf); i++) {
        x = x * 1103515245u + 12345u;
        buf[i] = (uint8_t)(x >> 16);
    }
    for (size_t off = 0; off < 9; off++)
        for (size_t len = 0; len + off <= sizeof(buf); len += 7)
            assert_int_equal(crc32c(0x5a5a5a5au, buf + off, len),
                             crc32c_sw(0x5a5a5a5au, buf + off, len));
    assert_int_equal(crc32c_sw(0, "123456789", 9), 0xE3069283u);
}

static void test_guid_roundtrip(void **state)
{
    const char *text = "{2DC27766-F623-4200-9D64-115E9BFD4A08}";
    struct guid g;
    assert_true(guid_parse(text, strlen(text), &g));
    /* Data1 is little-endian on disk. */
    assert_int_equal(g.b[0], 0x66);
    assert_int_equal(g.b[3], 0x2D);
    assert_int_equal(g.b[8], 0x9D);
    char out[GUID_STR_LEN + 1];
    guid_format(&g, out);
    assert_string_equal(out, "{2dc27766-f623-4200-9d64-115e9bfd4a08}");
    struct guid h;
    assert_true(guid_parse(out + 1, GUID_STR_LEN - 2, &h));
    assert_true(guid_eq(&g, &h));
    uint8_t d4[8] = { 0x9D, 0x64, 0x11, 0x5E, 0x9B, 0xFD, 0x4A, 0x08 };
    struct guid m = guid_make(0x2DC27766u, 0xF623u, 0x4200u, d4);
    assert_true(guid_eq(&g, &m));
}

static void test_guid_rejects(void **state)
{
    struct guid g;
    assert_false(guid_parse("{2DC27766-F623-4200-9D64-115E9BFD4A0}", 37, &g));
    assert_false(guid_parse("{2DC27766-F623-4200-9D64-115E9BFD4A0X}", 38, &g));
    assert_false(guid_parse("(2DC27766-F623-4200-9D64-115E9BFD4A08)", 38, &g));
    assert_false(guid_parse("2DC27766+F623-4200-9D64-115E9BFD4A08", 36, &g));
    struct guid z = { 0 };
    assert_true(guid_is_zero(&z));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_crc32c_vectors),
        cmocka_unit_test(test_crc32c_chaining),
        cmocka_unit_test(test_crc32c_paths_agree),
        cmocka_unit_test(test_guid_roundtrip),
        cmocka_unit_test(test_guid_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
