/* Offload tokens (hv/offload/token.c): round trip and every refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <bearssl.h>

#include "hv/offload/token.h"

struct key { uint8_t k[32]; };

static void hmac(void *ctx, const void *data, size_t len, uint8_t out[TOKEN_MAC_LEN])
{
    const struct key *key = ctx;
    br_hmac_key_context kc;
    br_hmac_context hc;
    br_hmac_key_init(&kc, &br_sha256_vtable, key->k, sizeof(key->k));
    br_hmac_init(&hc, &kc, 0);
    br_hmac_update(&hc, data, len);
    br_hmac_out(&hc, out);
}

static struct key host_key = { { 1, 2, 3, 4, 5 } };
static struct key other_key = { { 9, 9, 9 } };
static const uint8_t issuer[TOKEN_ISSUER_LEN] = { 0xaa, 0xbb, 0xcc };

static struct token sample(void)
{
    struct token t;
    memset(&t, 0, sizeof(t));
    memcpy(t.issuer, issuer, sizeof(issuer));
    for (int i = 0; i < 16; i++)
        t.id[i] = (uint8_t)(0x40 + i);
    t.expiry_ms = 1000;
    t.count = 2;
    t.range[0] = (struct token_range){ TOKEN_RANGE_DISK, 7, 4096, 1 << 20, 3, { { 0x11, 0x22 } } };
    t.range[1] = (struct token_range){ TOKEN_RANGE_FILE, 2, 0, 512, 0, { { 0 } } };
    t.total = (1 << 20) + 512;
    return t;
}

static void encode_sample(uint8_t buf[TOKEN_SIZE])
{
    struct token t = sample();
    assert_int_equal(token_encode(&t, hmac, &host_key, buf), TOKEN_OK);
}

static int decode(const uint8_t *buf, size_t len, uint64_t now, struct token *out)
{
    return token_decode(buf, len, issuer, hmac, &host_key, now, out);
}

static void remac(uint8_t buf[TOKEN_SIZE])
{
    hmac(&host_key, buf, TOKEN_MAC_OFFSET, buf + TOKEN_MAC_OFFSET);
}

static void put64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (56 - 8 * i));
}

static void round_trip_test(void **state)
{
    (void)state;
    uint8_t buf[TOKEN_SIZE];
    encode_sample(buf);
    assert_memory_equal(buf, "ATOLLTOK", 8);
    struct token want = sample(), got;
    assert_int_equal(decode(buf, sizeof(buf), 999, &got), TOKEN_OK);
    assert_memory_equal(got.issuer, want.issuer, TOKEN_ISSUER_LEN);
    assert_memory_equal(got.id, want.id, TOKEN_ID_LEN);
    assert_int_equal(got.expiry_ms, 1000);
    assert_int_equal(got.total, want.total);
    assert_int_equal(got.count, 2);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(got.range[i].kind, want.range[i].kind);
        assert_int_equal(got.range[i].object, want.range[i].object);
        assert_int_equal(got.range[i].offset, want.range[i].offset);
        assert_int_equal(got.range[i].length, want.range[i].length);
        assert_int_equal(got.range[i].generation, want.range[i].generation);
        assert_true(guid_eq(&got.range[i].data_write_guid, &want.range[i].data_write_guid));
    }
}

static void full_table_round_trip_test(void **state)
{
    (void)state;
    struct token t = sample(), got;
    t.count = TOKEN_RANGES_MAX;
    t.total = 0;
    for (uint32_t i = 0; i < TOKEN_RANGES_MAX; i++) {
        t.range[i] = (struct token_range){ TOKEN_RANGE_DISK, i, UINT64_MAX - 100 - i, 100, i, { { 0 } } };
        t.total += 100;
    }
    uint8_t buf[TOKEN_SIZE];
    assert_int_equal(token_encode(&t, hmac, &host_key, buf), TOKEN_OK);
    assert_int_equal(decode(buf, sizeof(buf), 0, &got), TOKEN_OK);
    assert_int_equal(got.range[7].offset, UINT64_MAX - 107);
}

static void truncated_test(void **state)
{
    (void)state;
    uint8_t buf[TOKEN_SIZE + 1];
    struct token got;
    encode_sample(buf);
    buf[TOKEN_SIZE] = 0;
    assert_int_equal(decode(buf, TOKEN_SIZE - 1, 0, &got), TOKEN_E_TRUNCATED);
    assert_int_equal(decode(buf, 0, 0, &got), TOKEN_E_TRUNCATED);
    assert_int_equal(decode(buf, TOKEN_SIZE + 1, 0, &got), TOKEN_E_TRUNCATED);
}

static void bad_magic_test(void **state)
{
    (void)state;
    uint8_t buf[TOKEN_SIZE];
    struct token got;
    encode_sample(buf);
    buf[0] = 'X';
    remac(buf);
    assert_int_equal(decode(buf, sizeof(buf), 0, &got), TOKEN_E_MAGIC);
}

static void bad_version_test(void **state)
{
    (void)state;
    uint8_t buf[TOKEN_SIZE];
    struct token got;
    encode_sample(buf);
    buf[9] = 2;
    remac(buf);
    assert_int_equal(decode(buf, sizeof(buf), 0, &got), TOKEN_E_VERSION);
    assert_string_equal(token_status_text(TOKEN_E_VERSION), "token version not supported");
}

static void other_issuer_test(void **state)
{
    (void)state;
    uint8_t buf[TOKEN_SIZE];
    struct token got;
    encode_sample(buf);
    const uint8_t someone_else[TOKEN_ISSUER_LEN] = { 0xaa, 0xbb, 0xcd };
    assert_int_equal(token_decode(buf, sizeof(buf), someone_else, hmac, &host_key, 0, &got),
                     TOKEN_E_ISSUER);
}

static void bad_mac_test(void **state)
{
    (void)state;
    uint8_t buf[TOKEN_SIZE];
    struct token got;
    /* a body byte changed (the length of range 0 doubled) */
    encode_sample(buf);
    buf[80 + 16 + 5] ^= 0x20;
    assert_int_equal(decode(buf, sizeof(buf), 0, &got), TOKEN_E_MAC);
    /* the MAC itself damaged */
    encode_sample(buf);
    buf[TOKEN_SIZE - 1] ^= 1;
    assert_int_equal(decode(buf, sizeof(buf), 0, &got), TOKEN_E_MAC);
    /* made with another host's secret */
    struct token t = sample();
    assert_int_equal(token_encode(&t, hmac, &other_key, buf), TOKEN_OK);
    assert_int_equal(decode(buf, sizeof(buf), 0, &got), TOKEN_E_MAC);
}

static void expired_test(void **state)
{
    (void)state;
    uint8_t buf[TOKEN_SIZE];
    struct token got;
    encode_sample(buf);
    assert_int_equal(decode(buf, sizeof(buf), 1000, &got), TOKEN_E_EXPIRED);
    assert_int_equal(decode(buf, sizeof(buf), UINT64_MAX, &got), TOKEN_E_EXPIRED);
}

static void ranges_refused_test(void **state)
{
    (void)state;
    uint8_t buf[TOKEN_SIZE];
    struct token got;
    /* offset + length overflows */
    encode_sample(buf);
    put64(buf + 80 + 8, UINT64_MAX - 10);
    remac(buf);
    assert_int_equal(decode(buf, sizeof(buf), 0, &got), TOKEN_E_RANGES);
    /* the total does not match the ranges */
    encode_sample(buf);
    put64(buf + 72, 1);
    remac(buf);
    assert_int_equal(decode(buf, sizeof(buf), 0, &got), TOKEN_E_RANGES);
    /* zero ranges, and more than the table holds */
    encode_sample(buf);
    buf[11] = 0;
    remac(buf);
    assert_int_equal(decode(buf, sizeof(buf), 0, &got), TOKEN_E_RANGES);
    buf[11] = TOKEN_RANGES_MAX + 1;
    remac(buf);
    assert_int_equal(decode(buf, sizeof(buf), 0, &got), TOKEN_E_RANGES);
    /* an unused slot that is not zero */
    encode_sample(buf);
    buf[80 + 2 * 48 + 20] = 1;
    remac(buf);
    assert_int_equal(decode(buf, sizeof(buf), 0, &got), TOKEN_E_RANGES);
    /* an unknown kind; an empty range; reserved bytes set */
    encode_sample(buf);
    buf[80] = 3;
    remac(buf);
    assert_int_equal(decode(buf, sizeof(buf), 0, &got), TOKEN_E_RANGES);
    encode_sample(buf);
    put64(buf + 80 + 48 + 16, 0);
    put64(buf + 72, 1 << 20);
    remac(buf);
    assert_int_equal(decode(buf, sizeof(buf), 0, &got), TOKEN_E_RANGES);
    encode_sample(buf);
    buf[470] = 1;
    remac(buf);
    assert_int_equal(decode(buf, sizeof(buf), 0, &got), TOKEN_E_RANGES);
    /* ranges whose lengths sum past 2^64 */
    struct token t = sample();
    t.range[0].length = UINT64_MAX - 8192;
    t.range[0].offset = 0;
    t.range[1].length = 8193;
    t.total = 0;
    assert_int_equal(token_encode(&t, hmac, &host_key, buf), TOKEN_E_INVALID);
}

static void encode_refuses_bad_token_test(void **state)
{
    (void)state;
    uint8_t buf[TOKEN_SIZE];
    struct token t = sample();
    t.count = 0;
    assert_int_equal(token_encode(&t, hmac, &host_key, buf), TOKEN_E_INVALID);
    t = sample();
    t.total++;
    assert_int_equal(token_encode(&t, hmac, &host_key, buf), TOKEN_E_INVALID);
    t = sample();
    t.range[1].offset = UINT64_MAX;
    assert_int_equal(token_encode(&t, hmac, &host_key, buf), TOKEN_E_INVALID);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(round_trip_test),
        cmocka_unit_test(full_table_round_trip_test),
        cmocka_unit_test(truncated_test),
        cmocka_unit_test(bad_magic_test),
        cmocka_unit_test(bad_version_test),
        cmocka_unit_test(other_issuer_test),
        cmocka_unit_test(bad_mac_test),
        cmocka_unit_test(expired_test),
        cmocka_unit_test(ranges_refused_test),
        cmocka_unit_test(encode_refuses_bad_token_test),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
