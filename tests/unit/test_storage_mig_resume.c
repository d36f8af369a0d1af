/* Liveness and resume on a storage-migration link (hv/storage/storage_mig_resume.c):
 * KEEPALIVE, the migration's identity, HELD, the source's decision of what to send again
 * and the target's record, each refusal path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hv/lib/crc32c.h"
#include "hv/storage/storage_mig_resume.h"

static char err[160];

static void test_keepalive(void **state)
{
    (void)state;
    uint8_t hdr[SMIG_HEADER_SIZE];
    struct smig_header h;
    smig_header_encode(hdr, SMIG_MSG_KEEPALIVE, "", 0);
    assert_int_equal(smig_header_decode(hdr, &h, err, sizeof(err)), 0);
    assert_int_equal(h.type, SMIG_MSG_KEEPALIVE);
    assert_true(smig_payload_ok(&h, ""));
    assert_int_equal(smig_keepalive_decode(0, err, sizeof(err)), 0);
    assert_int_equal(smig_keepalive_decode(1, err, sizeof(err)), -1);
    assert_string_equal(err, "a KEEPALIVE with a payload");
    smig_header_encode(hdr, SMIG_MSG_RESUME, "", 0);
    assert_int_equal(smig_header_decode(hdr, &h, err, sizeof(err)), 0);
    smig_header_encode(hdr, 14, "", 0);     /* past both: still unknown here */
    assert_int_equal(smig_header_decode(hdr, &h, err, sizeof(err)), -1);
    assert_int_equal(smig_keepalive_period_s(SMIG_IDLE_DEFAULT_S), SMIG_KEEPALIVE_S);
    assert_int_equal(smig_keepalive_period_s(1), 1);
    assert_int_equal(smig_keepalive_period_s(3), 1);
    assert_int_equal(smig_keepalive_period_s(8), 1);
    assert_int_equal(smig_keepalive_period_s(600), 100);
}

static struct smig_resume_id ident(void)
{
    struct smig_resume_id id = { .flags = SMIG_RESUME_RETRY, .idle_s = 30, .attempt = 2 };
    memset(id.session.b, 0x5a, 16);
    memset(id.data_write.b, 0xc3, 16);
    return id;
}

static void test_identity(void **state)
{
    (void)state;
    uint8_t b[SMIG_RESUME_ID_SIZE + 4];
    struct smig_resume_id id = ident(), got;
    assert_int_equal(smig_resume_id_encode(&id, b, SMIG_RESUME_ID_SIZE - 1), 0);
    assert_int_equal(smig_resume_id_encode(&id, b, sizeof(b)), SMIG_RESUME_ID_SIZE);
    assert_int_equal(smig_resume_id_decode(b, SMIG_RESUME_ID_SIZE, &got, err, sizeof(err)), 0);
    assert_memory_equal(&got, &id, sizeof(id));
    assert_int_equal(smig_resume_id_decode(b, SMIG_RESUME_ID_SIZE + 1, &got, err, sizeof(err)), -1);
    assert_string_equal(err, "a RESUME identity of the wrong size");
    b[32] |= 2;     /* an unknown flag */
    assert_int_equal(smig_resume_id_decode(b, SMIG_RESUME_ID_SIZE, &got, err, sizeof(err)), -1);
    assert_string_equal(err, "a RESUME identity with unknown flags");
    b[32] &= 1;
    b[45] = 1;      /* reserved */
    assert_int_equal(smig_resume_id_decode(b, SMIG_RESUME_ID_SIZE, &got, err, sizeof(err)), -1);
    b[45] = 0;
    id.idle_s = 0;
    smig_resume_id_encode(&id, b, sizeof(b));
    assert_int_equal(smig_resume_id_decode(b, SMIG_RESUME_ID_SIZE, &got, err, sizeof(err)), -1);
    assert_string_equal(err, "a RESUME identity with an idle timeout outside 1..3600 s");
    id.idle_s = SMIG_IDLE_MAX_S + 1;
    smig_resume_id_encode(&id, b, sizeof(b));
    assert_int_equal(smig_resume_id_decode(b, SMIG_RESUME_ID_SIZE, &got, err, sizeof(err)), -1);
    id.idle_s = SMIG_IDLE_MAX_S;
    memset(id.session.b, 0, 16);
    smig_resume_id_encode(&id, b, sizeof(b));
    assert_int_equal(smig_resume_id_decode(b, SMIG_RESUME_ID_SIZE, &got, err, sizeof(err)), -1);
    assert_string_equal(err, "a RESUME identity without a session");
}

static void test_held(void **state)
{
    (void)state;
    static uint8_t b[SMIG_HELD_SIZE(SMIG_HELD_MAX) + 8];
    uint32_t crc[SMIG_HELD_MAX], count;
    const uint8_t *crcs;
    for (uint32_t i = 0; i < SMIG_HELD_MAX; i++)
        crc[i] = 0x01020304u * (i + 1);
    assert_int_equal(smig_held_encode(0, 0, 10, crc, b, sizeof(b)), 0);
    assert_int_equal(smig_held_encode(0, SMIG_HELD_MAX + 1, 1000, crc, b, sizeof(b)), 0);
    assert_int_equal(smig_held_encode(0, 3, 10, crc, b, SMIG_HELD_SIZE(3) - 1), 0);
    size_t n = smig_held_encode(4, 3, 7, crc, b, sizeof(b));
    assert_int_equal(n, SMIG_HELD_SIZE(3));
    assert_int_equal(smig_held_decode(b, (uint32_t)n, 7, 4, &count, &crcs, err, sizeof(err)), 0);
    assert_int_equal(count, 3);
    assert_ptr_equal(crcs, b + SMIG_HELD_HEAD);
    for (uint32_t i = 0; i < 3; i++)
        assert_int_equal(smig_held_crc(crcs, i), crc[i]);
    /* every refusal */
    assert_int_equal(smig_held_decode(b, SMIG_HELD_HEAD - 1, 7, 4, &count, &crcs, err, sizeof(err)), -1);
    assert_string_equal(err, "a HELD too short");
    assert_null(crcs);
    assert_int_equal(smig_held_decode(b, (uint32_t)n, 8, 4, &count, &crcs, err, sizeof(err)), -1);
    assert_string_equal(err, "a HELD for another number of units");
    assert_int_equal(smig_held_decode(b, (uint32_t)n, 7, 3, &count, &crcs, err, sizeof(err)), -1);
    assert_string_equal(err, "a HELD out of order");
    assert_int_equal(smig_held_decode(b, (uint32_t)n - 4, 7, 4, &count, &crcs, err, sizeof(err)), -1);
    assert_string_equal(err, "a HELD of the wrong size");
    n = smig_held_encode(5, 3, 7, crc, b, sizeof(b));     /* units 5..7 of 0..6 */
    assert_int_equal(smig_held_decode(b, (uint32_t)n, 7, 5, &count, &crcs, err, sizeof(err)), -1);
    assert_string_equal(err, "a HELD past the last unit");
    n = smig_held_encode(0xffffffffu, 2, 7, crc, b, sizeof(b));   /* first + count wraps */
    assert_int_equal(smig_held_decode(b, (uint32_t)n, 7, 0xffffffffu, &count, &crcs, err, sizeof(err)), -1);
    assert_string_equal(err, "a HELD past the last unit");
    n = smig_held_encode(0, 2, 1, crc, b, sizeof(b));     /* more than the disk has */
    assert_int_equal(smig_held_decode(b, (uint32_t)n, 1, 0, &count, &crcs, err, sizeof(err)), -1);
    n = smig_held_encode(0, 2, 7, crc, b, sizeof(b));
    b[4] = 0;       /* a count of 0 */
    b[5] = 0;
    assert_int_equal(smig_held_decode(b, SMIG_HELD_HEAD, 7, 0, &count, &crcs, err, sizeof(err)), -1);
    n = smig_held_encode(0, 2, 7, crc, b, sizeof(b));
    b[12] = 1;
    assert_int_equal(smig_held_decode(b, (uint32_t)n, 7, 0, &count, &crcs, err, sizeof(err)), -1);
    assert_string_equal(err, "a HELD with reserved bits set");
    n = smig_held_encode(0, SMIG_HELD_MAX, 10000, crc, b, sizeof(b));
    b[4] = (uint8_t)(SMIG_HELD_MAX + 1);      /* 257 claimed */
    b[5] = 1;
    assert_int_equal(smig_held_decode(b, (uint32_t)n + 4, 10000, 0, &count, &crcs, err, sizeof(err)), -1);
}

static void test_zero_and_units(void **state)
{
    (void)state;
    static uint8_t z[SMIG_UNIT];
    assert_int_equal(smig_zero_crc(SMIG_UNIT), crc32c(0, z, SMIG_UNIT));
    assert_int_equal(smig_zero_crc(512), crc32c(0, z, 512));
    assert_int_equal(smig_zero_crc(5000), crc32c(0, z, 5000));
    assert_int_equal(smig_unit_len(3 * SMIG_UNIT + 4096, 0), SMIG_UNIT);
    assert_int_equal(smig_unit_len(3 * SMIG_UNIT + 4096, 3), 4096);
    assert_int_equal(smig_unit_len(3 * SMIG_UNIT + 4096, 4), 0);
}

static void test_plan(void **state)
{
    (void)state;
    /* 12 units; the copy has passed 9.  Units 1 and 4 differ there (4: sent, the target
     * never got it; 1: the target's copy older than the last one sent); 10 differs but is
     * not passed: the first pass sends it anyway. */
    uint32_t known[12], theirs[12];
    uint8_t resend[2] = { 0xff, 0xff };
    for (uint32_t u = 0; u < 12; u++)
        known[u] = theirs[u] = 100 + u;
    theirs[1] = 7;
    theirs[4] = 8;
    theirs[10] = 9;
    assert_int_equal(smig_resume_plan(12, 9, known, theirs, resend), 2);
    assert_int_equal(resend[0], 0x12);
    assert_int_equal(resend[1], 0);
    assert_int_equal(smig_resume_plan(12, 12, known, theirs, resend), 3);
    assert_int_equal(resend[1], 0x04);
    assert_int_equal(smig_resume_plan(12, 0, known, theirs, resend), 0);
    assert_int_equal(smig_resume_plan(12, 99, known, theirs, resend), 3);   /* capped */
}

static struct smig_hello hello(void)
{
    struct smig_hello h = { .version = SMIG_VERSION, .disk_size = 16u << 20,
                            .sector_size = 512, .block_size = 1u << 20, .name = "io.vhdx" };
    return h;
}

static void test_record(void **state)
{
    (void)state;
    struct smig_resume_id id = ident();
    struct smig_hello h = hello();
    struct smig_record r = { .session = id.session, .data_write = id.data_write,
                             .disk_size = h.disk_size, .sector_size = 512,
                             .block_size = 1u << 20, .name = "io.vhdx" }, got;
    uint8_t b[SMIG_RECORD_SIZE];
    char why[80];
    assert_int_equal(smig_record_encode(&r, b, sizeof(b) - 1), 0);
    assert_int_equal(smig_record_encode(&r, b, sizeof(b)), SMIG_RECORD_SIZE);
    assert_int_equal(smig_record_decode(b, sizeof(b), &got, err, sizeof(err)), 0);
    assert_memory_equal(&got, &r, sizeof(r));
    assert_true(smig_record_matches(&got, &h, &id, why, sizeof(why)));
    /* every reason not to resume */
    id.flags = 0;
    assert_false(smig_record_matches(&got, &h, &id, why, sizeof(why)));
    assert_string_equal(why, "a new migration, not a reconnect");
    id = ident();
    id.session.b[3] ^= 1;
    assert_false(smig_record_matches(&got, &h, &id, why, sizeof(why)));
    assert_string_equal(why, "another migration's session");
    id = ident();
    id.data_write.b[0] ^= 1;
    assert_false(smig_record_matches(&got, &h, &id, why, sizeof(why)));
    assert_string_equal(why, "the source disk's DataWriteGuid differs");
    id = ident();
    strcpy(h.name, "other.vhdx");
    assert_false(smig_record_matches(&got, &h, &id, why, sizeof(why)));
    assert_string_equal(why, "another name");
    h = hello();
    h.disk_size += 512;
    assert_false(smig_record_matches(&got, &h, &id, why, sizeof(why)));
    assert_string_equal(why, "another disk size or geometry");
    h = hello();
    h.block_size = 2u << 20;
    assert_false(smig_record_matches(&got, &h, &id, why, sizeof(why)));
    h = hello();
    h.sector_size = 4096;
    assert_false(smig_record_matches(&got, &h, &id, why, sizeof(why)));
    /* damaged records */
    assert_int_equal(smig_record_decode(b, sizeof(b) - 1, &got, err, sizeof(err)), -1);
    assert_string_equal(err, "its record has the wrong size");
    b[60] ^= 1;
    assert_int_equal(smig_record_decode(b, sizeof(b), &got, err, sizeof(err)), -1);
    assert_string_equal(err, "its record fails its CRC-32C");
    b[60] ^= 1;
    b[4] = 2;
    assert_int_equal(smig_record_decode(b, sizeof(b), &got, err, sizeof(err)), -1);
    assert_string_equal(err, "its record is not one");
    smig_record_encode(&r, b, sizeof(b));
    memset(b + 56, 'a', SMIG_NAME_LEN);     /* no NUL, CRC made right */
    uint32_t c = crc32c(0, b, 56 + SMIG_NAME_LEN);
    for (int i = 0; i < 4; i++)
        b[56 + SMIG_NAME_LEN + i] = (uint8_t)(c >> (8 * i));
    assert_int_equal(smig_record_decode(b, sizeof(b), &got, err, sizeof(err)), -1);
    assert_string_equal(err, "its record has an unterminated name");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_keepalive), cmocka_unit_test(test_identity),
        cmocka_unit_test(test_held), cmocka_unit_test(test_zero_and_units),
        cmocka_unit_test(test_plan), cmocka_unit_test(test_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
