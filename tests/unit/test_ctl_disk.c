/* The live disk operation control commands (net/control/ctl_disk.c) on a fake hypervisor:
 * the request's words reach it, its line and job id come back, jobs are listed with their
 * progress, bad requests are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "net/control/ctl_codec.h"
#include "net/control/ctl_disk.h"

static char last_words[300];

static uint16_t fake_request(void *ctx, const char *words, uint32_t *id, char *msg,
                             size_t msg_size)
{
    (void)ctx;
    snprintf(last_words, sizeof last_words, "%s", words);
    if (strstr(words, "nosuch")) {
        snprintf(msg, msg_size, "disk: nosuch io.vhdx copy: refused: no running partition");
        return CTL_ERR_BUSY;
    }
    *id = strstr(words, "pause") ? 0 : 7;
    snprintf(msg, msg_size, "disk: %s #7: started", words);
    return CTL_OK;
}

static bool fake_job_at(void *ctx, uint32_t id, size_t index, struct ctl_disk_job *out)
{
    (void)ctx;
    static const uint32_t ids[] = { 9, 7 };
    size_t n = 0;
    for (size_t i = 0; i < 2; i++) {
        if (id && ids[i] != id)
            continue;
        if (n++ != index)
            continue;
        out->id = ids[i];
        snprintf(out->text, sizeof out->text, "live io.vhdx copy c%u.vhdx", ids[i]);
        snprintf(out->state, sizeof out->state, ids[i] == 9 ? "running" : "done");
        out->done = ids[i] == 9 ? 3 << 20 : 9 << 20;
        out->total = ids[i] == 9 ? 8 << 20 : 9 << 20;
        out->eta_ms = ids[i] == 9 ? UINT64_MAX : 0;
        out->recopied = 1;
        return true;
    }
    return false;
}

static const struct ctl_disk_ops fake_ops = { fake_request, fake_job_at };

static struct ctl_server srv;
static struct ctl_disk_commands cmds;
static uint8_t reply[4096];

static uint16_t call(uint16_t type, const uint8_t *p, size_t n, size_t *len, const char **msg)
{
    for (size_t i = 0; i < srv.handler_count; i++)
        if (srv.handlers[i].type == type) {
            struct ctl_request req = { type, 1, p, (uint32_t)n, NULL };
            struct ctl_tlv_writer w;
            ctl_tlv_writer_init(&w, reply, sizeof reply);
            *msg = NULL;
            uint16_t st = srv.handlers[i].fn(srv.handlers[i].ctx, &req, &w, msg);
            *len = w.len;
            return st;
        }
    fail_msg("type %#x not registered", type);
    return 0;
}

static int setup(void **state)
{
    (void)state;
    struct ctl_server_config cfg = { 0 };
    ctl_server_init(&srv, &cfg);
    assert_int_equal(ctl_disk_register(&srv, &cmds, &fake_ops, NULL), 0);
    return 0;
}

static void test_request(void **state)
{
    (void)state;
    uint8_t p[300];
    struct ctl_tlv_writer w;
    struct ctl_tlv t;
    size_t len;
    const char *msg;
    char text[200];
    uint32_t id;
    ctl_tlv_writer_init(&w, p, sizeof p);
    ctl_put_str(&w, CTL_TAG_TEXT, "live io.vhdx copy copy.vhdx mbps=8");
    assert_int_equal(call(CTL_MSG_DISK, p, w.len, &len, &msg), CTL_OK);
    assert_string_equal(last_words, "live io.vhdx copy copy.vhdx mbps=8");
    assert_true(ctl_tlv_find(reply, len, CTL_TAG_TEXT, &t) && ctl_tlv_text(&t, text, sizeof text));
    assert_string_equal(text, "disk: live io.vhdx copy copy.vhdx mbps=8 #7: started");
    assert_true(ctl_tlv_find(reply, len, CTL_TAG_OP_ID, &t) && ctl_tlv_u32(&t, &id));
    assert_int_equal(id, 7);
    /* No job (pause): no OP_ID. */
    ctl_tlv_writer_init(&w, p, sizeof p);
    ctl_put_str(&w, CTL_TAG_TEXT, "live io.vhdx pause");
    assert_int_equal(call(CTL_MSG_DISK, p, w.len, &len, &msg), CTL_OK);
    assert_false(ctl_tlv_find(reply, len, CTL_TAG_OP_ID, &t));
    /* A refusal carries the hypervisor's line. */
    ctl_tlv_writer_init(&w, p, sizeof p);
    ctl_put_str(&w, CTL_TAG_TEXT, "nosuch io.vhdx copy x.vhdx");
    assert_int_equal(call(CTL_MSG_DISK, p, w.len, &len, &msg), CTL_ERR_BUSY);
    assert_non_null(msg);
    assert_non_null(strstr(msg, "refused"));
    /* No TEXT, an empty one, or one too long: bad argument, the hypervisor not asked. */
    last_words[0] = '\0';
    assert_int_equal(call(CTL_MSG_DISK, p, 0, &len, &msg), CTL_ERR_BAD_ARGUMENT);
    ctl_tlv_writer_init(&w, p, sizeof p);
    ctl_put_str(&w, CTL_TAG_TEXT, "");
    assert_int_equal(call(CTL_MSG_DISK, p, w.len, &len, &msg), CTL_ERR_BAD_ARGUMENT);
    char longer[280];
    memset(longer, 'a', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    ctl_tlv_writer_init(&w, p, sizeof p);
    ctl_put_str(&w, CTL_TAG_TEXT, longer);
    assert_int_equal(call(CTL_MSG_DISK, p, w.len, &len, &msg), CTL_ERR_BAD_ARGUMENT);
    assert_string_equal(last_words, "");
}

static void test_jobs(void **state)
{
    (void)state;
    uint8_t p[16] = { 0 };
    struct ctl_tlv_writer w;
    struct ctl_tlv t, f;
    struct ctl_tlv_reader rd;
    size_t len;
    const char *msg;
    assert_int_equal(call(CTL_MSG_DISK_JOBS, p, 0, &len, &msg), CTL_OK);
    ctl_tlv_reader_init(&rd, reply, len);
    int n = 0;
    while (ctl_tlv_next(&rd, &t) > 0) {
        assert_int_equal(t.tag, CTL_TAG_DISK_JOB);
        uint32_t id;
        char state_text[16];
        assert_true(ctl_tlv_find(t.value, t.len, CTL_TAG_OP_ID, &f) && ctl_tlv_u32(&f, &id));
        assert_int_equal(id, n == 0 ? 9 : 7);
        assert_true(ctl_tlv_find(t.value, t.len, CTL_TAG_JOB_STATE, &f) &&
                    ctl_tlv_text(&f, state_text, sizeof state_text));
        assert_string_equal(state_text, n == 0 ? "running" : "done");
        /* ETA only when known */
        assert_int_equal(ctl_tlv_find(t.value, t.len, CTL_TAG_ETA_MS, &f), n == 1);
        assert_true(ctl_tlv_find(t.value, t.len, CTL_TAG_RECOPIED, &f));
        n++;
    }
    assert_int_equal(n, 2);
    ctl_tlv_writer_init(&w, p, sizeof p);
    ctl_put_u32(&w, CTL_TAG_OP_ID, 7);
    assert_int_equal(call(CTL_MSG_DISK_JOBS, p, w.len, &len, &msg), CTL_OK);
    ctl_tlv_reader_init(&rd, reply, len);
    assert_int_equal(ctl_tlv_next(&rd, &t), 1);
    assert_int_equal(ctl_tlv_next(&rd, &t), 0);
    ctl_tlv_writer_init(&w, p, sizeof p);
    ctl_put_u32(&w, CTL_TAG_OP_ID, 5);
    assert_int_equal(call(CTL_MSG_DISK_JOBS, p, w.len, &len, &msg), CTL_ERR_NOT_FOUND);
    ctl_tlv_writer_init(&w, p, sizeof p);
    ctl_put_u8(&w, CTL_TAG_OP_ID, 5);
    assert_int_equal(call(CTL_MSG_DISK_JOBS, p, w.len, &len, &msg), CTL_ERR_BAD_ARGUMENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_request, setup),
        cmocka_unit_test_setup(test_jobs, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
