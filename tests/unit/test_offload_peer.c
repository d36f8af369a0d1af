/* Two providers that never met (hv/offload/offload.c offload_serve, offload_receive_*):
 * provider A issues a token, the initiator signs a grant naming A and B, B presents it to
 * A, and A's data lands in B's pool without passing through the initiator (here the two
 * are joined in memory; the TLS session is not built).  Every refusal of issue 15's list. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <bearssl.h>

#include "hv/offload/offload_pool.h"
#include "net/tls/tls_grant.h"
#include "tests/unit/test_block_mem.h"

#define MIB (1024u * 1024u)

static uint8_t *pristine;
static uint64_t img_bytes;
static struct tls_identity initiator, stranger, id_a, id_b, id_c;

static void *env_alloc(void *ctx, size_t size) { (void)ctx; return calloc(1, size); }
static void env_free(void *ctx, void *p) { (void)ctx; free(p); }
static void env_guid(void *ctx, struct guid *out)
{
    static uint32_t n;
    (void)ctx;
    memset(out, 0, sizeof(*out));
    n++;
    memcpy(out->b, &n, sizeof(n));
}
static const struct vhdx_env env = { .alloc = env_alloc, .free = env_free, .random_guid = env_guid };

struct host {
    uint8_t *data;
    struct mem_disk m;
    struct block_io io;
    struct fat_vol v;
    struct offload_pool pool;
    uint8_t secret[32];
    uint64_t now;
    uint32_t ids;
    struct offload_provider p;
    struct grant_checker k;
};

static struct host *ha, *hb;

static void hmac(void *ctx, const void *data, size_t len, uint8_t out[TOKEN_MAC_LEN])
{
    struct host *h = ctx;
    br_hmac_key_context kc;
    br_hmac_context hc;
    br_hmac_key_init(&kc, &br_sha256_vtable, h->secret, sizeof(h->secret));
    br_hmac_init(&hc, &kc, 0);
    br_hmac_update(&hc, data, len);
    br_hmac_out(&hc, out);
}
static void rnd(void *ctx, void *buf, size_t len)
{
    struct host *h = ctx;
    memset(buf, 0, len);
    h->ids++;
    memcpy(buf, &h->ids, 4);
    ((uint8_t *)buf)[len - 1] = h->secret[0];
}
static uint64_t now_ms(void *ctx) { return ((struct host *)ctx)->now; }

static bool trusts_initiator(void *ctx, const uint8_t fp[GRANT_FP_LEN])
{
    (void)ctx;
    return !memcmp(fp, initiator.fingerprint, GRANT_FP_LEN);
}

static int det_entropy(void *ctx, void *buf, size_t len)
{
    uint8_t *p = buf, *seed = ctx;
    for (size_t i = 0; i < len; i++)
        p[i] = (uint8_t)(*seed * 29 + i * 5 + 3);
    (*seed)++;
    return 0;
}

static struct host *host_up(const struct tls_identity *id, uint8_t secret)
{
    struct host *h = calloc(1, sizeof(*h));
    h->data = malloc(img_bytes);
    memcpy(h->data, pristine, img_bytes);
    mem_disk_init(&h->m, h->data, img_bytes, 512, &h->io);
    assert_int_equal(fat_mount(&h->v, &h->io), FAT_OK);
    h->pool = (struct offload_pool){ &h->v, &env, false };
    h->secret[0] = secret;
    h->now = 1000;
    struct offload_platform pf = { .sec_ctx = h, .mac = hmac, .random = rnd, .now_ms = now_ms };
    offload_pool_platform(&h->pool, &pf);
    offload_init(&h->p, &pf, id->fingerprint);
    memcpy(h->k.self, id->fingerprint, GRANT_FP_LEN);
    h->k.crypto = &tls_grant_verifier;
    h->k.trusted = trusts_initiator;
    return h;
}

static void host_down(struct host *h)
{
    free(h->data);
    free(h);
}

static int group_setup(void **state)
{
    (void)state;
    pristine = mem_disk_mkfs_fat(512, 8, "POOL", 64, &img_bytes);
    uint8_t seed = 1;
    struct tls_identity *ids[] = { &initiator, &stranger, &id_a, &id_b, &id_c };
    for (int i = 0; i < 5; i++)
        if (tls_identity_generate(ids[i], det_entropy, &seed) != 0)
            return -1;
    return pristine ? 0 : -1;
}

static int group_teardown(void **state)
{
    (void)state;
    free(pristine);
    return 0;
}

static int setup(void **state)
{
    (void)state;
    ha = host_up(&id_a, 0x11);
    hb = host_up(&id_b, 0x22);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    host_down(ha);
    host_down(hb);
    return 0;
}

static uint8_t pat(uint64_t i) { return (uint8_t)(i * 13 + (i >> 11)); }

static void put_file(struct host *h, const char *name, size_t size)
{
    struct fat_file ff;
    uint8_t *b = malloc(size);
    for (size_t i = 0; i < size; i++)
        b[i] = pat(i);
    assert_int_equal(fat_open(&h->v, name, FAT_O_CREATE | FAT_O_TRUNC, &ff), FAT_OK);
    assert_int_equal(fat_write(&ff, 0, b, size), (long)size);
    fat_close(&ff);
    free(b);
}

/* A's token for all of name. */
static void token_from(struct host *h, const char *name, uint8_t tok[TOKEN_SIZE])
{
    struct offload_src s = { TOKEN_RANGE_FILE, name, 0, UINT64_MAX };
    uint64_t covered;
    char msg[160];
    assert_int_equal(offload_read(&h->p, &s, 1, 0, tok, &covered, msg, sizeof msg), OFFLOAD_OK);
}

/* The initiator's grant: signed by `by` claiming key `claimed`, for source src, dest dst. */
static void grant_for(uint8_t out[GRANT_SIZE], const uint8_t tok[TOKEN_SIZE],
                      struct tls_identity *by, const struct tls_identity *src,
                      const struct tls_identity *dst, uint8_t nonce, uint64_t expiry)
{
    struct grant g;
    memset(&g, 0, sizeof g);
    memcpy(g.initiator, by->public, GRANT_KEY_LEN);
    memcpy(g.source, src->fingerprint, GRANT_FP_LEN);
    memcpy(g.destination, dst->fingerprint, GRANT_FP_LEN);
    g.nonce[0] = nonce;
    g.expiry_ms = expiry;
    memcpy(g.token, tok, TOKEN_SIZE);
    struct grant_crypto signer = tls_grant_signer(by);
    assert_int_equal(grant_encode(&g, &signer, out), GRANT_OK);
}

/* B presents grant to A (as `peer`) and receives into its file dst. */
static int pull(const uint8_t *grant, const struct tls_identity *peer, const char *dst,
                uint64_t *sent, char *msg, size_t msg_size)
{
    struct offload_receiver r;
    struct offload_io sink;
    assert_int_equal(offload_receive_open(&r, &hb->p, TOKEN_RANGE_FILE, dst, 0, &sink, msg,
                                          msg_size), OFFLOAD_OK);
    int rc = offload_serve(&ha->p, &ha->k, grant, GRANT_SIZE, peer->fingerprint, 0, UINT64_MAX,
                           &sink, sent, msg, msg_size);
    assert_int_equal(offload_receive_close(&r), OFFLOAD_OK);
    assert_int_equal(r.received, *sent);
    return rc;
}

static void a_to_b_test(void **state)
{
    (void)state;
    uint8_t tok[TOKEN_SIZE], grant[GRANT_SIZE];
    uint64_t sent;
    char msg[200];
    put_file(ha, "big.bin", 3 * MIB + 7);
    token_from(ha, "big.bin", tok);
    grant_for(grant, tok, &initiator, &id_a, &id_b, 1, ha->now + 1000);
    assert_int_equal(pull(grant, &id_b, "copy.bin", &sent, msg, sizeof msg), OFFLOAD_OK);
    assert_int_equal(sent, 3 * MIB + 7);
    struct fat_file ff;
    assert_int_equal(fat_open(&hb->v, "copy.bin", 0, &ff), FAT_OK);
    assert_int_equal(ff.size, 3 * MIB + 7);
    uint8_t *b = malloc(ff.size);
    assert_int_equal(fat_read(&ff, 0, b, ff.size), (long)ff.size);
    for (size_t i = 0; i < ff.size; i++)
        if (b[i] != pat(i))
            fail_msg("byte %zu differs", i);
    free(b);
    fat_close(&ff);
    /* B's provider issued nothing: the data came from A */
    assert_int_equal(hb->p.stats.issued, 0);
    assert_int_equal(ha->p.stats.bytes_copied, 3 * MIB + 7);
}

static void refusals_test(void **state)
{
    (void)state;
    uint8_t tok[TOKEN_SIZE], grant[GRANT_SIZE];
    uint64_t sent;
    char msg[200];
    put_file(ha, "s.bin", 4096);
    token_from(ha, "s.bin", tok);
    /* forged: the token inside changed after signing */
    grant_for(grant, tok, &initiator, &id_a, &id_b, 1, ha->now + 1000);
    grant[172 + 300] ^= 1;
    assert_int_equal(pull(grant, &id_b, "x.bin", &sent, msg, sizeof msg), OFFLOAD_E_GRANT);
    assert_string_equal(msg, "grant signature does not verify (forged or damaged)");
    /* signed by someone A does not trust */
    grant_for(grant, tok, &stranger, &id_a, &id_b, 1, ha->now + 1000);
    assert_int_equal(pull(grant, &id_b, "x.bin", &sent, msg, sizeof msg), OFFLOAD_E_GRANT);
    assert_string_equal(msg, "grant signed by an initiator this host does not trust");
    /* expired */
    grant_for(grant, tok, &initiator, &id_a, &id_b, 2, ha->now);
    assert_int_equal(pull(grant, &id_b, "x.bin", &sent, msg, sizeof msg), OFFLOAD_E_GRANT);
    assert_string_equal(msg, "grant expired");
    /* naming another host: C presents B's grant */
    grant_for(grant, tok, &initiator, &id_a, &id_b, 3, ha->now + 1000);
    assert_int_equal(pull(grant, &id_c, "x.bin", &sent, msg, sizeof msg), OFFLOAD_E_GRANT);
    assert_string_equal(msg, "grant names another host than the one presenting it");
    /* replayed: accepted once, refused the second time */
    assert_int_equal(pull(grant, &id_b, "x.bin", &sent, msg, sizeof msg), OFFLOAD_OK);
    assert_int_equal(pull(grant, &id_b, "x.bin", &sent, msg, sizeof msg), OFFLOAD_E_GRANT);
    assert_string_equal(msg, "grant replayed");
    /* a grant for provider C presented to A */
    grant_for(grant, tok, &initiator, &id_c, &id_b, 4, ha->now + 1000);
    assert_int_equal(pull(grant, &id_b, "x.bin", &sent, msg, sizeof msg), OFFLOAD_E_GRANT);
    assert_string_equal(msg, "grant is for another source provider");
    /* a token issued by B, in a grant for A: presented to the wrong provider */
    uint8_t btok[TOKEN_SIZE];
    put_file(hb, "b.bin", 100);
    token_from(hb, "b.bin", btok);
    grant_for(grant, btok, &initiator, &id_a, &id_b, 5, ha->now + 1000);
    assert_int_equal(pull(grant, &id_b, "x.bin", &sent, msg, sizeof msg), OFFLOAD_E_TOKEN);
    assert_string_equal(msg, "token issued by another provider");
    /* the token expired (the grant did not) */
    ha->now += OFFLOAD_LIFETIME_MAX;
    grant_for(grant, tok, &initiator, &id_a, &id_b, 6, ha->now + 1000);
    assert_int_equal(pull(grant, &id_b, "x.bin", &sent, msg, sizeof msg), OFFLOAD_E_TOKEN);
    assert_string_equal(msg, "token expired");
}

static void source_written_test(void **state)
{
    (void)state;
    uint8_t tok[TOKEN_SIZE], grant[GRANT_SIZE];
    uint64_t sent;
    char msg[200];
    put_file(ha, "w.bin", 8192);
    token_from(ha, "w.bin", tok);
    offload_note_write(&ha->p, TOKEN_RANGE_FILE, "w.bin", 10, 1);
    grant_for(grant, tok, &initiator, &id_a, &id_b, 1, ha->now + 1000);
    assert_int_equal(pull(grant, &id_b, "x.bin", &sent, msg, sizeof msg), OFFLOAD_E_REVOKED);
    assert_int_equal(sent, 0);
}

/* In steps, as the offload link serves (begin once, then a range per piece): the grant is
 * remembered at begin; a write to the source between two pieces stops the next one, so B
 * holds only whole pieces of the data as at issue. */
static void stepwise_test(void **state)
{
    (void)state;
    uint8_t tok[TOKEN_SIZE], grant[GRANT_SIZE];
    uint64_t sent, total = 0;
    char msg[200];
    struct token t;
    put_file(ha, "p.bin", 3 * MIB);
    token_from(ha, "p.bin", tok);
    grant_for(grant, tok, &initiator, &id_a, &id_b, 9, ha->now + 1000);
    assert_int_equal(offload_serve_begin(&ha->p, &ha->k, grant, GRANT_SIZE, id_b.fingerprint,
                                         &t, msg, sizeof msg), OFFLOAD_OK);
    assert_int_equal(t.total, 3 * MIB);
    assert_int_equal(offload_serve_begin(&ha->p, &ha->k, grant, GRANT_SIZE, id_b.fingerprint,
                                         &t, msg, sizeof msg), OFFLOAD_E_GRANT);
    assert_string_equal(msg, "grant replayed");
    struct offload_receiver r;
    struct offload_io sink;
    assert_int_equal(offload_receive_open(&r, &hb->p, TOKEN_RANGE_FILE, "q.bin", 0, &sink, msg,
                                          sizeof msg), OFFLOAD_OK);
    for (int i = 0; i < 2; i++) {
        /* each piece lands at its place: the sink's position is from 0 per range call */
        struct offload_receiver *rr = sink.h;
        uint64_t base = rr->off;
        rr->off = base + total;
        assert_int_equal(offload_serve_range(&ha->p, &t, total, MIB, &sink, &sent, msg,
                                             sizeof msg), OFFLOAD_OK);
        rr->off = base;
        assert_int_equal(sent, MIB);
        total += sent;
    }
    offload_note_write(&ha->p, TOKEN_RANGE_FILE, "p.bin", 3 * MIB - 1, 1);
    assert_int_equal(offload_serve_range(&ha->p, &t, total, MIB, &sink, &sent, msg, sizeof msg),
                     OFFLOAD_E_REVOKED);
    assert_int_equal(sent, 0);
    assert_int_equal(offload_receive_close(&r), OFFLOAD_OK);
    struct fat_file ff;
    assert_int_equal(fat_open(&hb->v, "q.bin", 0, &ff), FAT_OK);
    assert_int_equal(ff.size, 2 * MIB);
    uint8_t *b = malloc(ff.size);
    assert_int_equal(fat_read(&ff, 0, b, ff.size), (long)ff.size);
    for (size_t i = 0; i < ff.size; i++)
        if (b[i] != pat(i))
            fail_msg("byte %zu differs", i);
    free(b);
    fat_close(&ff);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(a_to_b_test),
        T(refusals_test),
        T(source_written_test),
        T(stepwise_test),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
