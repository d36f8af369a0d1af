/* A differencing chain's parents in a storage migration (hv/storage/storage_mig_chain.c):
 * the target's decision, PARENTS and PFILE both ways, hostile fields refused, the order
 * the target takes parent files in. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <strings.h>
#include <cmocka.h>

#include "hv/storage/storage_mig_chain.h"

static bool same(const char *a, const char *b)
{
    a += *a == '/';
    b += *b == '/';
    return strcasecmp(a, b) == 0;
}

static struct smig_hello chain(unsigned parents)
{
    struct smig_hello h = { .version = SMIG_VERSION, .disk_size = 64u << 20, .sector_size = 512,
                            .block_size = 1u << 20, .name = "child.vhdx", .parents = parents };
    static const char *names[] = { "mid.vhdx", "base.vhdx", "os/root.vhdx", "r0.vhdx" };
    for (unsigned i = 0; i < parents; i++) {
        strcpy(h.parent[i].name, names[i]);
        memset(h.parent[i].data_write.b, 0x10 + i, 16);
    }
    return h;
}

static void test_decide(void **state)
{
    (void)state;
    char err[160];
    struct smig_parents p;
    struct smig_hello h = chain(3);
    struct smig_parent_probe f[3] = { { .found = SMIG_FOUND_NONE }, { .found = SMIG_FOUND_SAME },
                                      { .found = SMIG_FOUND_OTHER } };
    /* the nearest held one ends the chain to send: what is below it is the target's own */
    assert_int_equal(smig_parents_decide(&h, f, same, &p, err, sizeof(err)), 0);
    assert_int_equal(p.count, 3);
    assert_int_equal(p.answer[0], SMIG_PARENT_NEEDED);
    assert_int_equal(p.answer[1], SMIG_PARENT_HELD);
    assert_int_equal(p.answer[2], SMIG_PARENT_BELOW);
    assert_int_equal(smig_parents_held(&p), 1);
    assert_true(smig_parents_needed(&p, 0));
    assert_false(smig_parents_needed(&p, 1));
    assert_false(smig_parents_needed(&p, 2));
    assert_int_equal(smig_parents_next_to_send(&p, SMIG_MAX_PARENTS), 0);
    assert_int_equal(smig_parents_next_to_send(&p, 0), -1);

    /* none held: the whole chain, farthest first */
    f[1].found = SMIG_FOUND_NONE;
    f[2].found = SMIG_FOUND_NONE;
    assert_int_equal(smig_parents_decide(&h, f, same, &p, err, sizeof(err)), 0);
    assert_int_equal(smig_parents_held(&p), -1);
    assert_int_equal(smig_parents_next_to_send(&p, SMIG_MAX_PARENTS), 2);
    assert_int_equal(smig_parents_next_to_send(&p, 2), 1);
    assert_int_equal(smig_parents_next_to_send(&p, 1), 0);
    assert_int_equal(smig_parents_next_to_send(&p, 0), -1);

    /* the immediate parent held: nothing is sent but the child's layer */
    f[0].found = SMIG_FOUND_SAME;
    assert_int_equal(smig_parents_decide(&h, f, same, &p, err, sizeof(err)), 0);
    assert_int_equal(smig_parents_held(&p), 0);
    assert_int_equal(smig_parents_next_to_send(&p, SMIG_MAX_PARENTS), -1);

    /* a needed parent whose name holds another disk here: refused, both GUIDs named */
    f[0].found = SMIG_FOUND_OTHER;
    memset(f[0].here.b, 0xab, 16);
    assert_int_equal(smig_parents_decide(&h, f, same, &p, err, sizeof(err)), -1);
    assert_string_equal(err, "parent mid.vhdx differs here (DataWriteGuid abababab.., source "
                             "10101010..): not overwritten");
    assert_true(strlen(err) < SMIG_TEXT_LEN);

    /* hostile names: the disk itself, its .tmp, a parent twice (case aside) */
    f[0].found = SMIG_FOUND_NONE;
    strcpy(h.parent[1].name, "/CHILD.vhdx");
    assert_int_equal(smig_parents_decide(&h, f, same, &p, err, sizeof(err)), -1);
    assert_string_equal(err, "parent /CHILD.vhdx is the disk's own name");
    strcpy(h.parent[1].name, "child.vhdx.tmp");
    assert_int_equal(smig_parents_decide(&h, f, same, &p, err, sizeof(err)), -1);
    strcpy(h.parent[1].name, "MID.VHDX");
    assert_int_equal(smig_parents_decide(&h, f, same, &p, err, sizeof(err)), -1);
    assert_string_equal(err, "parent MID.VHDX is listed twice");
}

static void test_parents_message(void **state)
{
    (void)state;
    char err[160];
    uint8_t buf[64];
    struct smig_parents p = { .count = 3, .answer = { SMIG_PARENT_NEEDED, SMIG_PARENT_HELD,
                                                      SMIG_PARENT_BELOW } }, q;
    size_t n = smig_parents_encode(&p, buf, sizeof(buf));
    assert_int_equal(n, 11);
    assert_int_equal(smig_parents_decode(buf, (uint32_t)n, 3, &q, err, sizeof(err)), 0);
    assert_memory_equal(&p, &q, sizeof(p));
    assert_int_equal(smig_parents_encode(&p, buf, 10), 0);
    /* another count than the HELLO's, a bad length, reserved bits */
    assert_int_equal(smig_parents_decode(buf, (uint32_t)n, 2, &q, err, sizeof(err)), -1);
    assert_int_equal(smig_parents_decode(buf, (uint32_t)n - 1, 3, &q, err, sizeof(err)), -1);
    assert_int_equal(smig_parents_decode(buf, 7, 3, &q, err, sizeof(err)), -1);
    buf[5] = 1;
    assert_int_equal(smig_parents_decode(buf, (uint32_t)n, 3, &q, err, sizeof(err)), -1);
    buf[5] = 0;
    /* answers out of order: needed under a held one, two held, below with none held, junk */
    static const uint8_t bad[][3] = { { 2, 1, 3 }, { 2, 2, 3 }, { 1, 3, 3 }, { 1, 1, 0 },
                                      { 1, 1, 9 }, { 3, 3, 3 } };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memcpy(buf + 8, bad[i], 3);
        assert_int_equal(smig_parents_decode(buf, (uint32_t)n, 3, &q, err, sizeof(err)), -1);
        assert_string_equal(err, "a PARENTS message with answers out of order");
    }
    static const uint8_t good[][3] = { { 1, 1, 1 }, { 1, 1, 2 }, { 2, 3, 3 } };
    for (unsigned i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        memcpy(buf + 8, good[i], 3);
        assert_int_equal(smig_parents_decode(buf, (uint32_t)n, 3, &q, err, sizeof(err)), 0);
    }
}

static void test_pfile(void **state)
{
    (void)state;
    char err[160];
    static uint8_t buf[SMIG_MAX_PAYLOAD + 8];
    struct smig_pfile f;
    uint32_t len = smig_pfile_head_encode(buf, 4096, 1, SMIG_PFILE_LAST, 100);
    assert_int_equal(len, 116);
    memset(buf + 16, 7, 100);
    assert_int_equal(smig_pfile_decode(buf, len, &f, err, sizeof(err)), 0);
    assert_int_equal(f.offset, 4096);
    assert_int_equal(f.index, 1);
    assert_int_equal(f.flags, SMIG_PFILE_LAST);
    assert_int_equal(f.length, 100);
    assert_ptr_equal(f.bytes, buf + 16);
    /* no bytes, too many, unknown flags, no such parent */
    assert_int_equal(smig_pfile_decode(buf, 16, &f, err, sizeof(err)), -1);
    assert_int_equal(smig_pfile_decode(buf, SMIG_MAX_PAYLOAD, &f, err, sizeof(err)), 0);
    assert_int_equal(smig_pfile_decode(buf, SMIG_MAX_PAYLOAD + 1, &f, err, sizeof(err)), -1);
    smig_pfile_head_encode(buf, 0, 1, 2, 100);
    assert_int_equal(smig_pfile_decode(buf, len, &f, err, sizeof(err)), -1);
    smig_pfile_head_encode(buf, 0, SMIG_MAX_PARENTS, 0, 100);
    assert_int_equal(smig_pfile_decode(buf, len, &f, err, sizeof(err)), -1);
}

static void test_pfile_order(void **state)
{
    (void)state;
    char err[160];
    struct smig_parents p = { .count = 3, .answer = { SMIG_PARENT_NEEDED, SMIG_PARENT_NEEDED,
                                                      SMIG_PARENT_HELD } };
    struct smig_pfile_rx rx;
    smig_pfile_rx_init(&rx, &p, 64u << 20);
    assert_false(smig_pfile_rx_done(&rx));
    struct smig_pfile f = { .offset = 0, .index = 0, .length = 1000 };
    /* parent 1 (the farther) comes first */
    assert_int_equal(smig_pfile_rx_take(&rx, &f, err, sizeof(err)), -1);
    assert_string_equal(err, "a PFILE for parent 0 while parent 1 is due");
    f.index = 1;
    assert_int_equal(smig_pfile_rx_take(&rx, &f, err, sizeof(err)), 1);
    f.offset = 999;                                   /* a gap or an overlap */
    assert_int_equal(smig_pfile_rx_take(&rx, &f, err, sizeof(err)), -1);
    f.offset = 1000;
    f.flags = SMIG_PFILE_LAST;
    assert_int_equal(smig_pfile_rx_take(&rx, &f, err, sizeof(err)), 2);
    assert_int_equal(rx.received, 2000);
    smig_pfile_rx_next(&rx);
    assert_int_equal(rx.next, 0);
    f = (struct smig_pfile){ .offset = 0, .index = 0, .length = 10, .flags = SMIG_PFILE_LAST };
    assert_int_equal(smig_pfile_rx_take(&rx, &f, err, sizeof(err)), 2);
    smig_pfile_rx_next(&rx);
    assert_true(smig_pfile_rx_done(&rx));
    assert_int_equal(smig_pfile_rx_take(&rx, &f, err, sizeof(err)), -1);

    /* a file longer than its disk could need */
    smig_pfile_rx_init(&rx, &p, 1u << 20);
    uint64_t max = smig_parent_file_max(1u << 20);
    f = (struct smig_pfile){ .offset = 0, .index = 1, .length = SMIG_PFILE_CHUNK };
    int rc = 1;
    while (rc == 1 && f.offset < 2 * max) {
        rc = smig_pfile_rx_take(&rx, &f, err, sizeof(err));
        f.offset += f.length;
    }
    assert_int_equal(rc, -1);
    assert_string_equal(err, "a parent file larger than its disk could need");
    assert_true(rx.received <= max);

    /* nothing needed: done from the start */
    p.answer[0] = SMIG_PARENT_HELD;
    p.answer[1] = p.answer[2] = SMIG_PARENT_BELOW;
    smig_pfile_rx_init(&rx, &p, 64u << 20);
    assert_true(smig_pfile_rx_done(&rx));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decide), cmocka_unit_test(test_parents_message),
        cmocka_unit_test(test_pfile), cmocka_unit_test(test_pfile_order),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
