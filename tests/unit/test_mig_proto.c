/* The migration protocol: headers, HELLO/READY/DONE/ROUND/STATE and page batches round-trip;
 * hostile headers and batches (bad magic, type, lengths, CRC, page numbers beyond RAM,
 * truncated or corrupt data) are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "tests/unit/snap_codec_state.h"
#include "hv/migrate/mig_proto.h"
#include "hv/snapshot/snap_policy.h"

static uint8_t src[MIG_BATCH_PAGES * MIG_PAGE_SIZE], dst[MIG_BATCH_PAGES * MIG_PAGE_SIZE];
static uint8_t out[MIG_BATCH_MAX];
static char err[200];

static void fill(uint8_t *p, size_t n, unsigned seed, bool text)
{
    uint64_t s = seed * 2654435761u + 1;
    for (size_t i = 0; i < n; i++) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        p[i] = text ? (uint8_t)("atoll migrates pages "[(i + seed) % 21]) : (uint8_t)(s >> 56);
    }
}

static void header_test(void **state)
{
    uint8_t h[MIG_HEADER_SIZE], payload[5] = "abcd";
    struct mig_header d;
    mig_header_encode(h, MIG_MSG_ROUND, payload, 4);
    assert_int_equal(mig_header_decode(h, &d, err, sizeof(err)), 0);
    assert_int_equal(d.type, MIG_MSG_ROUND);
    assert_int_equal(d.length, 4);
    assert_true(mig_payload_ok(&d, payload));
    payload[2] ^= 1;
    assert_false(mig_payload_ok(&d, payload));          /* bad CRC */
    uint8_t bad[MIG_HEADER_SIZE];
    memcpy(bad, h, sizeof(h));
    bad[0] ^= 0xff;
    assert_int_equal(mig_header_decode(bad, &d, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "magic"));
    memcpy(bad, h, sizeof(h));
    bad[4] = 99;
    assert_int_equal(mig_header_decode(bad, &d, err, sizeof(err)), -1);
    memcpy(bad, h, sizeof(h));
    bad[4] = 0;
    assert_int_equal(mig_header_decode(bad, &d, err, sizeof(err)), -1);
    memcpy(bad, h, sizeof(h));
    bad[6] = 1;                                          /* reserved bits */
    assert_int_equal(mig_header_decode(bad, &d, err, sizeof(err)), -1);
    mig_header_encode(bad, MIG_MSG_STATE, payload, 0);
    bad[8] = 1; bad[10] = 0x10;                          /* 1 MiB + 1 */
    assert_int_equal(mig_header_decode(bad, &d, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "bytes"));
}

static void hello_test(void **state)
{
    static const char manifest[] = "[partition timer]\nmemory = 32M\n";
    struct mig_hello h = { .version = MIG_VERSION, .ram_bytes = 32u << 20, .vcpus = 1,
                           .name = "timer", .manifest = manifest,
                           .manifest_len = sizeof(manifest) - 1 };
    uint8_t buf[256];
    size_t n = mig_hello_encode(&h, buf, sizeof(buf));
    assert_int_equal(n, MIG_HELLO_FIXED + sizeof(manifest) - 1);
    assert_int_equal(mig_hello_encode(&h, buf, 20), 0);
    struct mig_hello d;
    assert_int_equal(mig_hello_decode(buf, (uint32_t)n, &d, err, sizeof(err)), 0);
    assert_string_equal(d.name, "timer");
    assert_int_equal(d.ram_bytes, 32u << 20);
    assert_int_equal(d.vcpus, 1);
    assert_memory_equal(d.manifest, manifest, d.manifest_len);
    assert_int_equal(mig_hello_decode(buf, 10, &d, err, sizeof(err)), -1);
    uint8_t bad[256];
    memcpy(bad, buf, n);
    bad[4] = 1;                                          /* RAM not a page multiple */
    assert_int_equal(mig_hello_decode(bad, (uint32_t)n, &d, err, sizeof(err)), -1);
    memcpy(bad, buf, n);
    bad[16] = 'T';                                       /* not a partition name */
    assert_int_equal(mig_hello_decode(bad, (uint32_t)n, &d, err, sizeof(err)), -1);
    memcpy(bad, buf, n);
    memset(bad + 16, 'a', MIG_NAME_LEN);                 /* not terminated */
    assert_int_equal(mig_hello_decode(bad, (uint32_t)n, &d, err, sizeof(err)), -1);
    memcpy(bad, buf, n);
    bad[0] = 2;                                          /* version */
    assert_int_equal(mig_hello_decode(bad, (uint32_t)n, &d, err, sizeof(err)), -1);
    assert_int_equal(mig_hello_decode(buf, MIG_HELLO_FIXED, &d, err, sizeof(err)), -1);
}

static void reply_round_state_test(void **state)
{
    struct mig_reply r = { .status = MIG_REFUSED, .ram_crc = 0x1234, .text = "no room" }, d;
    uint8_t buf[256];
    size_t n = mig_reply_encode(&r, buf, sizeof(buf));
    assert_int_equal(mig_reply_decode(buf, (uint32_t)n, &d, err, sizeof(err)), 0);
    assert_int_equal(d.status, MIG_REFUSED);
    assert_int_equal(d.ram_crc, 0x1234);
    assert_string_equal(d.text, "no room");
    buf[0] = 7;
    assert_int_equal(mig_reply_decode(buf, (uint32_t)n, &d, err, sizeof(err)), -1);
    assert_int_equal(mig_reply_decode(buf, 4, &d, err, sizeof(err)), -1);
    uint32_t round, pages;
    n = mig_round_encode(3, 77, buf, sizeof(buf));
    assert_int_equal(mig_round_decode(buf, (uint32_t)n, &round, &pages), 0);
    assert_int_equal(round, 3);
    assert_int_equal(pages, 77);
    assert_int_equal(mig_round_decode(buf, 7, &round, &pages), -1);
    static const uint8_t stream[] = "CKPT....";
    struct mig_state s = { .guest_tsc0 = 0x1122334455667788ull, .ram_crc = 0xabcd,
                           .stream = stream, .stream_len = sizeof(stream) }, sd;
    n = mig_state_encode(&s, buf, sizeof(buf));
    assert_int_equal(mig_state_decode(buf, (uint32_t)n, &sd, err, sizeof(err)), 0);
    assert_int_equal(sd.guest_tsc0, s.guest_tsc0);
    assert_int_equal(sd.ram_crc, 0xabcd);
    assert_memory_equal(sd.stream, stream, sizeof(stream));
    assert_int_equal(mig_state_decode(buf, MIG_STATE_FIXED, &sd, err, sizeof(err)), -1);
}

/* count pages, some zero, at every codec level: decoded pages equal what was sent. */
static void batch_round_trip(unsigned level, uint32_t count, bool text)
{
    uint32_t pfn[MIG_BATCH_PAGES] = { 0 };
    memset(src, 0, sizeof(src));
    for (uint32_t i = 0; i < count; i++) {
        pfn[i] = 1000 + i * 3;
        if (i % 3 != 1)
            fill(src + i * MIG_PAGE_SIZE, MIG_PAGE_SIZE, i + count, text);
    }
    uint8_t keep[sizeof(src)];
    memcpy(keep, src, sizeof(src));
    struct mig_batch b, d;
    size_t n = mig_batch_encode(codec_state, level, pfn, count, src, out, &b);
    assert_true(n <= MIG_BATCH_MAX);
    assert_int_equal(b.count, count);
    for (uint32_t i = 0; i < count; i++)
        assert_int_equal(!!(b.zero_mask & (1u << i)), i % 3 == 1);
    assert_int_equal(mig_batch_decode(codec_state, out, (uint32_t)n, 1u << 20, &d, dst, err,
                                      sizeof(err)), 0);
    assert_int_equal(d.count, count);
    assert_memory_equal(d.pfn, pfn, count * 4);
    assert_memory_equal(dst, keep, count * MIG_PAGE_SIZE);
    if (text && level != SNAP_STORE)
        assert_true(b.data_len < b.raw_len);            /* text compresses */
    if (!text)
        assert_int_equal(b.level, SNAP_STORE);          /* random data is stored */
}

static void batch_test(void **state)
{
    for (unsigned level = SNAP_STORE; level < SNAP_LEVELS; level++)
        for (uint32_t count = 1; count <= MIG_BATCH_PAGES; count += 5) {
            batch_round_trip(level, count, true);
            batch_round_trip(level, count, false);
        }
    batch_round_trip(SNAP_LZ4, MIG_BATCH_PAGES, true);
}

static void batch_hostile_test(void **state)
{
    uint32_t pfn[MIG_BATCH_PAGES];
    for (uint32_t i = 0; i < MIG_BATCH_PAGES; i++) {
        pfn[i] = i;
        fill(src + i * MIG_PAGE_SIZE, MIG_PAGE_SIZE, i, true);
    }
    struct mig_batch b;
    size_t n = mig_batch_encode(codec_state, SNAP_LZ4, pfn, 4, src, out, &b);
    uint8_t bad[MIG_BATCH_MAX];
    /* a page beyond RAM */
    assert_int_equal(mig_batch_decode(codec_state, out, (uint32_t)n, 3, &b, dst, err,
                                      sizeof(err)), -1);
    assert_non_null(strstr(err, "outside RAM"));
    /* truncated */
    assert_int_equal(mig_batch_decode(codec_state, out, (uint32_t)n - 1, 64, &b, dst, err,
                                      sizeof(err)), -1);
    assert_int_equal(mig_batch_decode(codec_state, out, 10, 64, &b, dst, err, sizeof(err)), -1);
    /* count 0 and 17 */
    memcpy(bad, out, n);
    bad[0] = 0;
    assert_int_equal(mig_batch_decode(codec_state, bad, (uint32_t)n, 64, &b, dst, err,
                                      sizeof(err)), -1);
    bad[0] = 17;
    assert_int_equal(mig_batch_decode(codec_state, bad, (uint32_t)n, 64, &b, dst, err,
                                      sizeof(err)), -1);
    /* a zero bit past the count */
    memcpy(bad, out, n);
    bad[2] |= 0x10;
    assert_int_equal(mig_batch_decode(codec_state, bad, (uint32_t)n, 64, &b, dst, err,
                                      sizeof(err)), -1);
    /* an unknown level */
    memcpy(bad, out, n);
    bad[4] = SNAP_LEVELS;
    assert_int_equal(mig_batch_decode(codec_state, bad, (uint32_t)n, 64, &b, dst, err,
                                      sizeof(err)), -1);
    /* corrupt compressed data */
    memcpy(bad, out, n);
    bad[n - 3] ^= 0x5a;
    bad[MIG_BATCH_HEADER + 16] ^= 0xff;
    int rc = mig_batch_decode(codec_state, bad, (uint32_t)n, 64, &b, dst, err, sizeof(err));
    if (rc == 0)        /* LZ4 may still decode to 4 pages: then not to the same ones */
        assert_memory_not_equal(dst, src, 4 * MIG_PAGE_SIZE);
    /* a raw length that disagrees with the zero mask */
    memcpy(bad, out, n);
    bad[9] ^= 0x10;
    assert_int_equal(mig_batch_decode(codec_state, bad, (uint32_t)n, 64, &b, dst, err,
                                      sizeof(err)), -1);
}

static void host_test(void **state)
{
    uint32_t ip;
    uint16_t port;
    assert_true(mig_parse_host("10.0.3.2", &ip, &port));
    assert_int_equal(ip, 0x0a000302);
    assert_int_equal(port, MIG_DEFAULT_PORT);
    assert_true(mig_parse_host("192.168.1.255:9000", &ip, &port));
    assert_int_equal(ip, 0xc0a801ff);
    assert_int_equal(port, 9000);
    static const char *const bad[] = { "", "10.0.3", "10.0.3.2.1", "10.0.3.256", "host-b",
                                       "10.0.3.2:", "10.0.3.2:0", "10.0.3.2:65536",
                                       "10..3.2", "1000.0.3.2", "10.0.3.2 ", "10.0.3.2:80x" };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(mig_parse_host(bad[i], &ip, &port));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(header_test),
        cmocka_unit_test(hello_test),
        cmocka_unit_test(reply_round_state_test),
        cmocka_unit_test(batch_test),
        cmocka_unit_test(batch_hostile_test),
        cmocka_unit_test(host_test),
    };
    return cmocka_run_group_tests(tests, codec_state_setup, codec_state_teardown);
}
