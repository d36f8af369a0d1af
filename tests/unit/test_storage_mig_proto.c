/* The storage-migration protocol (hv/storage/storage_mig_proto.c): framing, every message
 * both ways, the checks a hostile peer meets, and the identity seed's parent decision. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hv/storage/storage_mig_handover.h"
#include "hv/storage/storage_mig_proto.h"

static char err[160];
static uint8_t buf[SMIG_HELLO_SIZE + 64];

static struct smig_hello hello(void)
{
    struct smig_hello h = { .version = SMIG_VERSION, .flags = SMIG_HELLO_VERIFY,
                            .disk_size = 4u << 20, .sector_size = 512, .block_size = 1u << 20,
                            .name = "io.vhdx", .parents = 2 };
    strcpy(h.parent[0].name, "base/child.vhdx");
    memset(h.parent[0].data_write.b, 0xa1, 16);
    strcpy(h.parent[1].name, "base/root.vhdx");
    memset(h.parent[1].data_write.b, 0xb2, 16);
    return h;
}

static void test_header(void **state)
{
    (void)state;
    uint8_t hdr[SMIG_HEADER_SIZE];
    struct smig_header h;
    smig_header_encode(hdr, SMIG_MSG_DATA, "abc", 3);
    assert_int_equal(smig_header_decode(hdr, &h, err, sizeof(err)), 0);
    assert_int_equal(h.type, SMIG_MSG_DATA);
    assert_int_equal(h.length, 3);
    assert_true(smig_payload_ok(&h, "abc"));
    assert_false(smig_payload_ok(&h, "abd"));
    hdr[0] ^= 1;
    assert_int_equal(smig_header_decode(hdr, &h, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "not a storage-migration stream"));
    smig_header_encode(hdr, 0x7fff, "", 0);
    assert_int_equal(smig_header_decode(hdr, &h, err, sizeof(err)), -1);
    smig_header_encode(hdr, 0, "", 0);
    assert_int_equal(smig_header_decode(hdr, &h, err, sizeof(err)), -1);
    smig_header_encode(hdr, SMIG_MSG_DATA, "", 0);
    hdr[8] = 0xff, hdr[9] = 0xff, hdr[10] = 0xff;      /* 16 MiB: too long */
    assert_int_equal(smig_header_decode(hdr, &h, err, sizeof(err)), -1);
    smig_header_encode(hdr, SMIG_MSG_DATA, "", 0);
    hdr[6] = 1;                                         /* reserved */
    assert_int_equal(smig_header_decode(hdr, &h, err, sizeof(err)), -1);
}

static void test_hello(void **state)
{
    (void)state;
    struct smig_hello h = hello(), g;
    size_t n = smig_hello_encode(&h, buf, sizeof(buf));
    assert_int_equal(n, 32 + SMIG_NAME_LEN + 2 * (16 + SMIG_NAME_LEN));
    assert_int_equal(smig_hello_decode(buf, (uint32_t)n, &g, err, sizeof(err)), 0);
    assert_int_equal(memcmp(&g, &h, sizeof(g)), 0);
    assert_int_equal(smig_hello_encode(&h, buf, n - 1), 0);
    /* a length that does not match the parent count */
    assert_int_equal(smig_hello_decode(buf, (uint32_t)n - 1, &g, err, sizeof(err)), -1);
    /* bad fields, one at a time */
    struct smig_hello bad[6];
    for (unsigned i = 0; i < 6; i++)
        bad[i] = hello();
    bad[0].version = 2;
    bad[1].sector_size = 1024;
    bad[2].disk_size = 4097;
    bad[3].block_size = 3u << 20;
    strcpy(bad[4].name, "../etc");
    strcpy(bad[5].parent[1].name, "dir/");
    for (unsigned i = 0; i < 6; i++) {
        n = smig_hello_encode(&bad[i], buf, sizeof(buf));
        assert_int_equal(smig_hello_decode(buf, (uint32_t)n, &g, err, sizeof(err)), -1);
    }
    /* the after mode's flag goes through; an unknown one does not */
    h = hello();
    h.flags = SMIG_HELLO_AFTER;
    n = smig_hello_encode(&h, buf, sizeof(buf));
    assert_int_equal(smig_hello_decode(buf, (uint32_t)n, &g, err, sizeof(err)), 0);
    assert_int_equal(g.flags, SMIG_HELLO_AFTER);
    h.flags = SMIG_HELLO_AROUND;
    n = smig_hello_encode(&h, buf, sizeof(buf));
    assert_int_equal(smig_hello_decode(buf, (uint32_t)n, &g, err, sizeof(err)), 0);
    assert_int_equal(g.flags, SMIG_HELLO_AROUND);
    h.flags = SMIG_HELLO_AROUND | SMIG_HELLO_AFTER;
    n = smig_hello_encode(&h, buf, sizeof(buf));
    assert_int_equal(smig_hello_decode(buf, (uint32_t)n, &g, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "both after and around"));
    h.flags = 8;
    n = smig_hello_encode(&h, buf, sizeof(buf));
    assert_int_equal(smig_hello_decode(buf, (uint32_t)n, &g, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "unknown flags"));
    /* an unterminated name */
    h = hello();
    n = smig_hello_encode(&h, buf, sizeof(buf));
    memset(buf + 32, 'a', SMIG_NAME_LEN);
    assert_int_equal(smig_hello_decode(buf, (uint32_t)n, &g, err, sizeof(err)), -1);
}

static void test_reply_commit_abort(void **state)
{
    (void)state;
    struct smig_reply r = { .status = SMIG_OK, .crc = 0x12345678, .parent_held = 1,
                            .bytes = 7u << 20, .text = "accepted" }, q;
    size_t n = smig_reply_encode(&r, buf, sizeof(buf));
    assert_int_equal(n, SMIG_REPLY_SIZE);
    assert_int_equal(smig_reply_decode(buf, (uint32_t)n, &q, err, sizeof(err)), 0);
    assert_int_equal(q.crc, r.crc);
    assert_int_equal(q.parent_held, 1);
    assert_int_equal(q.bytes, r.bytes);
    assert_string_equal(q.text, "accepted");
    buf[24] = '\n';                                     /* text is sanitised */
    assert_int_equal(smig_reply_decode(buf, (uint32_t)n, &q, err, sizeof(err)), 0);
    assert_int_equal(q.text[0], '?');
    buf[0] = 9;
    assert_int_equal(smig_reply_decode(buf, (uint32_t)n, &q, err, sizeof(err)), -1);
    assert_int_equal(smig_reply_decode(buf, (uint32_t)n - 1, &q, err, sizeof(err)), -1);

    struct smig_commit c = { .flags = SMIG_COMMIT_CRC, .crc = 0xdeadbeef, .bytes = 99 }, d;
    n = smig_commit_encode(&c, buf, sizeof(buf));
    assert_int_equal(smig_commit_decode(buf, (uint32_t)n, &d, err, sizeof(err)), 0);
    assert_int_equal(d.crc, c.crc);
    assert_int_equal(d.bytes, 99);
    buf[0] = 4;
    assert_int_equal(smig_commit_decode(buf, (uint32_t)n, &d, err, sizeof(err)), -1);

    char why[16];
    n = smig_abort_encode("link cut\n", buf, sizeof(buf));
    smig_abort_decode(buf, (uint32_t)n, why, sizeof(why));
    assert_string_equal(why, "link cut?");
}

static void test_data(void **state)
{
    (void)state;
    static uint8_t msg[SMIG_MAX_PAYLOAD];
    struct smig_data d;
    uint32_t len = smig_data_head_encode(msg, 1u << 20, 4096, 0);
    assert_int_equal(len, SMIG_DATA_HEADER + 4096);
    memset(msg + SMIG_DATA_HEADER, 0x5a, 4096);
    assert_int_equal(smig_data_decode(msg, len, 4u << 20, 512, &d, err, sizeof(err)), 0);
    assert_int_equal(d.offset, 1u << 20);
    assert_ptr_equal(d.bytes, msg + SMIG_DATA_HEADER);
    /* the range must lie inside the disk, on its sectors, and match the length */
    assert_int_equal(smig_data_decode(msg, len - 1, 4u << 20, 512, &d, err, sizeof(err)), -1);
    assert_int_equal(smig_data_decode(msg, len, (1u << 20) + 2048, 512, &d, err, sizeof(err)), -1);
    assert_int_equal(smig_data_decode(msg, len, 4u << 20, 4096, &d, err, sizeof(err)), 0);
    len = smig_data_head_encode(msg, 100, 512, 0);
    assert_int_equal(smig_data_decode(msg, len, 4u << 20, 512, &d, err, sizeof(err)), -1);
    len = smig_data_head_encode(msg, UINT64_MAX - 511, 512, 0);
    assert_int_equal(smig_data_decode(msg, len, 4u << 20, 512, &d, err, sizeof(err)), -1);
    len = smig_data_head_encode(msg, 0, SMIG_UNIT * 2, SMIG_DATA_ZERO);
    assert_int_equal(smig_data_decode(msg, len, 4u << 20, 512, &d, err, sizeof(err)), -1);
    len = smig_data_head_encode(msg, 0, SMIG_UNIT, SMIG_DATA_ZERO);
    assert_int_equal(len, SMIG_DATA_HEADER);
    assert_int_equal(smig_data_decode(msg, len, 4u << 20, 512, &d, err, sizeof(err)), 0);
    assert_null(d.bytes);
    len = smig_data_head_encode(msg, 0, 512, 4);
    assert_int_equal(smig_data_decode(msg, len, 4u << 20, 512, &d, err, sizeof(err)), -1);
    len = smig_data_head_encode(msg, 0, 512, SMIG_DATA_FETCHED);
    assert_int_equal(smig_data_decode(msg, len, 4u << 20, 512, &d, err, sizeof(err)), 0);
    assert_int_equal(d.flags, SMIG_DATA_FETCHED);
}

static void test_read(void **state)
{
    (void)state;
    uint8_t msg[32];
    struct smig_read r = { .offset = 3u << 20, .length = SMIG_UNIT }, got;
    assert_int_equal(smig_read_encode(&r, msg, 15), 0);
    size_t len = smig_read_encode(&r, msg, sizeof(msg));
    assert_int_equal(len, 16);
    assert_int_equal(smig_read_decode(msg, 16, 4u << 20, 512, &got, err, sizeof(err)), 0);
    assert_int_equal(got.offset, 3u << 20);
    assert_int_equal(got.length, SMIG_UNIT);
    /* hostile: past the end, off the sectors, too long, reserved bits, the wrong size */
    assert_int_equal(smig_read_decode(msg, 16, (3u << 20) + 512, 512, &got, err, sizeof(err)), -1);
    assert_int_equal(smig_read_decode(msg, 15, 4u << 20, 512, &got, err, sizeof(err)), -1);
    r = (struct smig_read){ .offset = 100, .length = 512 };
    smig_read_encode(&r, msg, sizeof(msg));
    assert_int_equal(smig_read_decode(msg, 16, 4u << 20, 512, &got, err, sizeof(err)), -1);
    r = (struct smig_read){ .offset = 0, .length = SMIG_UNIT + 512 };
    smig_read_encode(&r, msg, sizeof(msg));
    assert_int_equal(smig_read_decode(msg, 16, 4u << 20, 512, &got, err, sizeof(err)), -1);
    r = (struct smig_read){ .offset = UINT64_MAX - 511, .length = 512 };
    smig_read_encode(&r, msg, sizeof(msg));
    assert_int_equal(smig_read_decode(msg, 16, 4u << 20, 512, &got, err, sizeof(err)), -1);
    r = (struct smig_read){ .offset = 0, .length = 0 };
    smig_read_encode(&r, msg, sizeof(msg));
    assert_int_equal(smig_read_decode(msg, 16, 4u << 20, 512, &got, err, sizeof(err)), -1);
    r = (struct smig_read){ .offset = 0, .length = 512 };
    smig_read_encode(&r, msg, sizeof(msg));
    msg[12] = 1;
    assert_int_equal(smig_read_decode(msg, 16, 4u << 20, 512, &got, err, sizeof(err)), -1);
}

/* The target's pool in the identity-seed test: paths and their DataWriteGuids. */
static const struct { const char *name; uint8_t fill; } pool[] = {
    { "base/root.vhdx", 0xb2 }, { "base/child.vhdx", 0xcc },
};

static bool pool_holds(void *ctx, const char *name, const struct guid *g)
{
    (void)ctx;
    for (unsigned i = 0; i < sizeof(pool) / sizeof(pool[0]); i++) {
        struct guid have;
        memset(have.b, pool[i].fill, 16);
        if (!strcmp(pool[i].name, name))
            return guid_eq(&have, g);
    }
    return false;
}

static void test_parent_held(void **state)
{
    (void)state;
    struct smig_hello h = hello();
    /* the nearest parent is on the target with another DataWriteGuid: it is sent; the
     * grandparent is held with the same one: not sent */
    assert_int_equal(smig_parent_held(&h, pool_holds, NULL), 1);
    memset(h.parent[0].data_write.b, 0xcc, 16);     /* now the same: nothing below is sent */
    assert_int_equal(smig_parent_held(&h, pool_holds, NULL), 0);
    memset(h.parent[0].data_write.b, 0x01, 16);
    memset(h.parent[1].data_write.b, 0x02, 16);     /* neither: the whole chain is sent */
    assert_int_equal(smig_parent_held(&h, pool_holds, NULL), -1);
    h.parents = 0;
    assert_int_equal(smig_parent_held(&h, pool_holds, NULL), -1);
}

static void test_parse_host(void **state)
{
    (void)state;
    uint32_t ip;
    uint16_t port;
    assert_true(smig_parse_host("10.0.3.2", 7405, &ip, &port));
    assert_int_equal(ip, 0x0a000302);
    assert_int_equal(port, 7405);
    assert_true(smig_parse_host("1.2.3.4:9", 7405, &ip, &port));
    assert_int_equal(port, 9);
    const char *bad[] = { "", "1.2.3", "1.2.3.4.5", "256.1.1.1", "1.2.3.4:", "1.2.3.4:0",
                          "1.2.3.4:65536", "1.2.3.4:1x", "a.b.c.d", "1.2.3.0004" };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(smig_parse_host(bad[i], 7405, &ip, &port));
}

/* The around mode's HANDOVER: the unit count, the size, reserved and spare bits checked. */
static void test_handover(void **state)
{
    (void)state;
    uint8_t bm[2] = { 0xa5, 0x03 }, out[64];
    char e[120];
    const uint8_t *got;
    assert_int_equal(smig_handover_size(10), SMIG_HANDOVER_HEAD + 2);
    assert_int_equal(smig_handover_encode(10, bm, out, 9), 0);
    size_t n = smig_handover_encode(10, bm, out, sizeof(out));
    assert_int_equal(n, SMIG_HANDOVER_HEAD + 2);
    assert_int_equal(smig_handover_decode(out, (uint32_t)n, 10, &got, e, sizeof(e)), 0);
    assert_int_equal(got[0], 0xa5);
    assert_int_equal(smig_handover_bit(got, 0), 1);
    assert_int_equal(smig_handover_bit(got, 1), 0);
    assert_int_equal(smig_handover_bit(got, 9), 1);
    /* bits past the last unit are cleared by the encoder, refused by the decoder */
    bm[1] = 0xff;
    n = smig_handover_encode(10, bm, out, sizeof(out));
    assert_int_equal(out[n - 1], 0x03);
    out[n - 1] = 0x07;
    assert_int_equal(smig_handover_decode(out, (uint32_t)n, 10, &got, e, sizeof(e)), -1);
    assert_non_null(strstr(e, "past the last unit"));
    assert_null(got);
    out[n - 1] = 0x03;
    assert_int_equal(smig_handover_decode(out, (uint32_t)n, 11, &got, e, sizeof(e)), -1);
    assert_non_null(strstr(e, "another number of units"));
    assert_int_equal(smig_handover_decode(out, (uint32_t)n - 1, 10, &got, e, sizeof(e)), -1);
    assert_int_equal(smig_handover_decode(out, 4, 10, &got, e, sizeof(e)), -1);
    out[5] = 1;
    assert_int_equal(smig_handover_decode(out, (uint32_t)n, 10, &got, e, sizeof(e)), -1);
    assert_non_null(strstr(e, "reserved"));
    /* a whole number of bytes: no spare bits */
    n = smig_handover_encode(16, bm, out, sizeof(out));
    assert_int_equal(smig_handover_decode(out, (uint32_t)n, 16, &got, e, sizeof(e)), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_header), cmocka_unit_test(test_hello),
        cmocka_unit_test(test_handover),
        cmocka_unit_test(test_reply_commit_abort), cmocka_unit_test(test_data),
        cmocka_unit_test(test_read),
        cmocka_unit_test(test_parent_held), cmocka_unit_test(test_parse_host),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
