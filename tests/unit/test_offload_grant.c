/* Offload grants (hv/offload/grant.c) with real ECDSA P-256 keys (BearSSL): the accepted
 * grant and each refusal of issue 15's cross-provider step: forged, untrusted initiator,
 * expired, replayed, naming another host, presented to the wrong provider. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>


#include "hv/offload/grant.h"
#include "net/tls/tls_grant.h"

static struct tls_identity initiator, stranger, a, b, c;

static int det_entropy(void *ctx, void *buf, size_t len)
{
    uint8_t *p = buf, *seed = ctx;
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(*seed * 31 + i * 7 + 1);
    (*seed)++;
    return 0;
}


static bool trusts_initiator(void *ctx, const uint8_t fp[GRANT_FP_LEN])
{
    (void)ctx;
    return !memcmp(fp, initiator.fingerprint, GRANT_FP_LEN);
}

static int make_keys(void **state)
{
    (void)state;
    uint8_t seed = 1;
    struct tls_identity *ids[] = { &initiator, &stranger, &a, &b, &c };
    for (int i = 0; i < 5; i++)
        if (tls_identity_generate(ids[i], det_entropy, &seed) != 0)
            return -1;
    return 0;
}

static struct grant_checker checker_a(void)
{
    struct grant_checker k;
    memset(&k, 0, sizeof k);
    memcpy(k.self, a.fingerprint, GRANT_FP_LEN);
    k.crypto = &tls_grant_verifier;
    k.trusted = trusts_initiator;
    return k;
}

/* A grant from `by` (claiming key `claimed`) for source `src`, destination b, nonce n. */
static void make_grant(uint8_t out[GRANT_SIZE], struct tls_identity *by, const uint8_t *claimed,
                       const uint8_t *src, uint8_t n, uint64_t expiry)
{
    struct grant g;
    memset(&g, 0, sizeof g);
    memcpy(g.initiator, claimed, GRANT_KEY_LEN);
    memcpy(g.source, src, GRANT_FP_LEN);
    memcpy(g.destination, b.fingerprint, GRANT_FP_LEN);
    g.nonce[0] = n;
    g.expiry_ms = expiry;
    memcpy(g.token, "ATOLLTOK", 8);
    g.token[100] = 0x5a;
    struct grant_crypto signer = tls_grant_signer(by);
    assert_int_equal(grant_encode(&g, &signer, out), GRANT_OK);
}

static void accepted_test(void **state)
{
    (void)state;
    struct grant_checker k = checker_a();
    uint8_t buf[GRANT_SIZE];
    struct grant g;
    make_grant(buf, &initiator, initiator.public, a.fingerprint, 1, 5000);
    assert_int_equal(grant_check(&k, buf, sizeof buf, b.fingerprint, 4999, &g), GRANT_OK);
    assert_memory_equal(g.destination, b.fingerprint, GRANT_FP_LEN);
    assert_int_equal(g.expiry_ms, 5000);
    assert_int_equal(g.token[100], 0x5a);
}

static void forged_test(void **state)
{
    (void)state;
    struct grant_checker k = checker_a();
    uint8_t buf[GRANT_SIZE];
    struct grant g;
    /* the token inside changed after signing */
    make_grant(buf, &initiator, initiator.public, a.fingerprint, 1, 5000);
    buf[172 + 200] ^= 1;
    assert_int_equal(grant_check(&k, buf, sizeof buf, b.fingerprint, 0, &g), GRANT_E_SIGNATURE);
    /* the expiry pushed out */
    make_grant(buf, &initiator, initiator.public, a.fingerprint, 1, 5000);
    buf[170] = 0xff;
    assert_int_equal(grant_check(&k, buf, sizeof buf, b.fingerprint, 0, &g), GRANT_E_SIGNATURE);
    /* a stranger signs, claiming the initiator's key */
    make_grant(buf, &stranger, initiator.public, a.fingerprint, 1, 5000);
    assert_int_equal(grant_check(&k, buf, sizeof buf, b.fingerprint, 0, &g), GRANT_E_SIGNATURE);
    assert_string_equal(grant_status_text(GRANT_E_SIGNATURE),
                        "grant signature does not verify (forged or damaged)");
}

static void untrusted_initiator_test(void **state)
{
    (void)state;
    struct grant_checker k = checker_a();
    uint8_t buf[GRANT_SIZE];
    struct grant g;
    make_grant(buf, &stranger, stranger.public, a.fingerprint, 1, 5000);
    assert_int_equal(grant_check(&k, buf, sizeof buf, b.fingerprint, 0, &g), GRANT_E_UNTRUSTED);
}

static void expired_test(void **state)
{
    (void)state;
    struct grant_checker k = checker_a();
    uint8_t buf[GRANT_SIZE];
    struct grant g;
    make_grant(buf, &initiator, initiator.public, a.fingerprint, 1, 5000);
    assert_int_equal(grant_check(&k, buf, sizeof buf, b.fingerprint, 5000, &g), GRANT_E_EXPIRED);
}

static void replayed_test(void **state)
{
    (void)state;
    struct grant_checker k = checker_a();
    uint8_t buf[GRANT_SIZE], other[GRANT_SIZE];
    struct grant g;
    make_grant(buf, &initiator, initiator.public, a.fingerprint, 1, 5000);
    assert_int_equal(grant_check(&k, buf, sizeof buf, b.fingerprint, 10, &g), GRANT_OK);
    assert_int_equal(grant_check(&k, buf, sizeof buf, b.fingerprint, 20, &g), GRANT_E_REPLAYED);
    /* another nonce is another grant */
    make_grant(other, &initiator, initiator.public, a.fingerprint, 2, 5000);
    assert_int_equal(grant_check(&k, other, sizeof other, b.fingerprint, 20, &g), GRANT_OK);
    /* a refused grant is not remembered: the same bytes from the right host pass later */
    make_grant(other, &initiator, initiator.public, a.fingerprint, 3, 5000);
    assert_int_equal(grant_check(&k, other, sizeof other, c.fingerprint, 20, &g), GRANT_E_DESTINATION);
    assert_int_equal(grant_check(&k, other, sizeof other, b.fingerprint, 20, &g), GRANT_OK);
}

static void another_host_test(void **state)
{
    (void)state;
    struct grant_checker k = checker_a();
    uint8_t buf[GRANT_SIZE];
    struct grant g;
    make_grant(buf, &initiator, initiator.public, a.fingerprint, 1, 5000);
    assert_int_equal(grant_check(&k, buf, sizeof buf, c.fingerprint, 0, &g), GRANT_E_DESTINATION);
    assert_string_equal(grant_status_text(GRANT_E_DESTINATION),
                        "grant names another host than the one presenting it");
}

static void wrong_provider_test(void **state)
{
    (void)state;
    struct grant_checker k = checker_a();
    uint8_t buf[GRANT_SIZE];
    struct grant g;
    /* a grant (and its token) for provider C, presented to A */
    make_grant(buf, &initiator, initiator.public, c.fingerprint, 1, 5000);
    assert_int_equal(grant_check(&k, buf, sizeof buf, b.fingerprint, 0, &g), GRANT_E_SOURCE);
}

static void format_test(void **state)
{
    (void)state;
    struct grant_checker k = checker_a();
    uint8_t buf[GRANT_SIZE + 1] = { 0 };
    struct grant g;
    make_grant(buf, &initiator, initiator.public, a.fingerprint, 1, 5000);
    assert_int_equal(grant_check(&k, buf, GRANT_SIZE - 1, b.fingerprint, 0, &g), GRANT_E_FORMAT);
    assert_int_equal(grant_check(&k, buf, GRANT_SIZE + 1, b.fingerprint, 0, &g), GRANT_E_FORMAT);
    buf[760] = 1;
    assert_int_equal(grant_check(&k, buf, GRANT_SIZE, b.fingerprint, 0, &g), GRANT_E_FORMAT);
    buf[760] = 0;
    buf[9] = 2;
    assert_int_equal(grant_check(&k, buf, GRANT_SIZE, b.fingerprint, 0, &g), GRANT_E_FORMAT);
}

static void replay_memory_full_test(void **state)
{
    (void)state;
    struct grant_checker k = checker_a();
    uint8_t buf[GRANT_SIZE];
    struct grant g;
    for (uint32_t i = 0; i < GRANT_REPLAY_MAX; i++) {
        make_grant(buf, &initiator, initiator.public, a.fingerprint, (uint8_t)(10 + i), 100);
        assert_int_equal(grant_check(&k, buf, sizeof buf, b.fingerprint, 0, &g), GRANT_OK);
    }
    make_grant(buf, &initiator, initiator.public, a.fingerprint, 200, 1000);
    assert_int_equal(grant_check(&k, buf, sizeof buf, b.fingerprint, 0, &g), GRANT_E_BUSY);
    /* once those expire, there is room */
    assert_int_equal(grant_check(&k, buf, sizeof buf, b.fingerprint, 100, &g), GRANT_OK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(accepted_test),
        cmocka_unit_test(forged_test),
        cmocka_unit_test(untrusted_initiator_test),
        cmocka_unit_test(expired_test),
        cmocka_unit_test(replayed_test),
        cmocka_unit_test(another_host_test),
        cmocka_unit_test(wrong_provider_test),
        cmocka_unit_test(format_test),
        cmocka_unit_test(replay_memory_full_test),
    };
    return cmocka_run_group_tests(tests, make_keys, NULL);
}
