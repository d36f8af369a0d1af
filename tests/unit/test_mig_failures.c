/* Both halves of a live migration (hv/core/migrate_source.c, migrate_target.c, migrate_chan.c)
 * driven together over a fake link (tests/unit/test_mig_host.h): a migration that completes,
 * and every failure before the target's acknowledgement (link cut in a pre-copy round and
 * during stop-and-copy, a TLS error, a refusal for a name clash or for want of memory, a
 * corrupted byte, a failed restore, a link gone silent, the acknowledgement itself lost)
 * leaving the source running as before and the target with nothing; a hostile stream sent
 * to a target. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "hv/core/migrate.h"
#include "hv/core/partition_writes.h"
#include "hv/migrate/mig_proto.h"
#include "tests/unit/test_mig_host.h"

#define RAM_PAGES   512u            /* 2 MiB */
#define GROUP_PAGES 4u
#define LINK_STEP   (48u * 1024u)   /* bytes the link takes per step: about 11 pages */
#define GUEST_STEP  12u             /* pages the guest writes per step, unthrottled */

static struct fake_part *source(void) { return &fh.part[FAKE_SOURCE]; }
static struct fake_part *target(void) { return &fh.part[FAKE_TARGET]; }

static uint64_t seq_page = 64;
static uint32_t guest_value = 1;
static uint32_t guest_credit;

/* The guest: a hot page and a sequential writer over pages 64..511, slowed by the throttle. */
static void guest_step(void)
{
    fake_guest_write(5, guest_value++);
    guest_credit += GUEST_STEP * (1000u - fh.throttle);
    for (; guest_credit >= 1000; guest_credit -= 1000) {
        fake_guest_write(seq_page, guest_value++);
        seq_page = seq_page + 1 < RAM_PAGES ? seq_page + 1 : 64;
    }
}

static bool stalled;

/* Until neither half is active (true) or max steps (false); hook sees each step first. */
static bool run(void (*hook)(void), unsigned max)
{
    for (unsigned i = 0; i < max; i++) {
        guest_step();
        if (hook)
            hook();
        fl.chunk = stalled ? 0 : LINK_STEP;
        fh.now_ns += stalled ? 1000000000ull : 1000000ull;
        if (!migrate_poll())
            return true;
    }
    return false;
}

static void start(void)
{
    char msg[200];
    assert_true(migrate_start(&source()->p, "10.0.3.2", msg, sizeof(msg)));
    assert_string_equal(msg, "migrate: records: to 10.0.3.2: started");
    assert_true(fake_accept());
}

static int setup(void **state)
{
    fake_host_reset(RAM_PAGES, GROUP_PAGES);
    migrate_set_transport(&fake_transport);
    seq_page = 64;
    guest_credit = 0;
    stalled = false;
    return 0;
}

static void assert_idle_and_freed(void)
{
    struct migrate_progress pr;
    migrate_get_progress(&pr);
    assert_false(pr.active);
    assert_false(migrate_poll());
    assert_int_equal(fake_kmem_live(), 0);
    assert_true(fl.closed[0] && fl.closed[1]);
}

/* The source goes on as if nothing had happened. */
static void assert_source_as_before(const char *why)
{
    struct fake_part *s = source();
    assert_int_equal(s->p.state, PART_RUNNING);
    assert_int_equal(s->stops, 0);
    assert_int_equal(s->kills, 0);
    assert_int_equal(s->pauses, s->resumes);
    assert_false(s->paused);
    assert_false(s->held);                      /* periodic write-tracking passes go on */
    /* every region's faults open the tracking's own groups again */
    for (unsigned r = 0; r < 16; r++)
        assert_true(s->region_pages[r] == 0 || s->region_pages[r] == s->group_pages);
    /* the passes are unclaimed: a live snapshot (or another migration) can claim them */
    char err[120];
    assert_true(partition_writes_claim(&s->p, "a live snapshot", err, sizeof(err)));
    partition_writes_unclaim(&s->p, "a live snapshot");
    assert_int_equal(fh.throttle, 0);
    assert_null(fh.throttled);
    char line[300];
    snprintf(line, sizeof(line), "migrate: records: to 10.0.3.2: refused: %s", why);
    if (!fake_log_has(line) || !fake_log_has("; still running here"))
        fail_msg("no line \"%s...; still running here\" in:\n%s", line, fh.log);
    /* the guest keeps running there */
    uint32_t v = guest_value;
    guest_step();
    assert_memory_equal(s->ram + 5 * 4096, &v, sizeof(v));
}

/* The target ends what it created and says so. */
static void assert_target_kept_nothing(const char *why)
{
    struct fake_part *t = target();
    if (t->ram) {                               /* created: ended */
        assert_int_equal(t->p.state, PART_DEAD);
        assert_int_equal(t->kills, 1);
    }
    char line[300];
    snprintf(line, sizeof(line), "from 10.0.3.1: refused: %s", why);
    if (!fake_log_has(line) || !fake_log_has("; nothing kept\n"))
        fail_msg("no line \"...%s...; nothing kept\" in:\n%s", line, fh.log);
}

static void migrates_and_stops_the_source_only_after_done(void **state)
{
    source()->disk_inflight = 3;
    start();
    assert_true(run(NULL, 20000));
    struct fake_part *s = source(), *t = target();
    assert_int_equal(t->p.state, PART_RUNNING);
    assert_int_equal(t->kills, 0);
    assert_true(fh.stream_checked);
    assert_memory_equal(t->ram, s->ram, RAM_PAGES * 4096);
    assert_int_equal(s->stops, 1);
    assert_int_equal(s->p.state, PART_DEAD);
    assert_int_equal(s->pauses, 1);
    assert_int_equal(s->resumes, 0);
    assert_true(fake_log_has("(equal); stopped here\n"));
    assert_true(fake_log_has("(equal to the source's), resumed\n"));
    /* disk requests in flight: cancelled at stop-and-copy, started again on the target */
    assert_true(fake_log_has("stop-and-copy: 3 disk requests in flight cancelled here, for "
                             "the target to start again\n"));
    assert_true(fake_log_has("migrate: incoming records from 10.0.3.1: 3 disk requests "
                             "cancelled on the source, started again here\n"));
    assert_int_equal(t->disk_to_reissue, 3);
    assert_int_equal(s->disk_reissued, 0);
    if (getenv("MIG_LOG"))
        fputs(fh.log, stderr);
    assert_true(fake_log_has("round 1: sent "));
    assert_true(fake_log_has("converged after round "));
    /* round 0's learning pass fits the groups; the measurements after the acknowledgement */
    assert_true(fake_log_has("round 0: learning pass after "));
    assert_true(fake_log_has(" pages written, group sizes fitted by region 1:"));
    assert_true(fake_log_has("downtime: "));
    assert_true(fake_log_has(" of them not halted (emulated instructions under Bochs); "
                             "stop-and-copy "));
    assert_true(fake_log_has("after round 0: "));
    assert_true(fake_log_has("codecs chosen: raw "));
    assert_true(s->throttle_seen_max > 0);      /* the guest outran the link at first */
    assert_int_equal(fh.throttle, 0);
    assert_idle_and_freed();
}

static void cut_in_round_1(void)
{
    struct migrate_progress pr;
    migrate_get_progress(&pr);
    if (pr.active && pr.round == 1 && pr.pages_sent > RAM_PAGES + 20)
        fl.failed = true;
}

static void link_cut_in_round_1_leaves_the_source_running(void **state)
{
    start();
    assert_true(run(cut_in_round_1, 20000));
    assert_int_equal(source()->pauses, 0);
    assert_source_as_before("the link was closed");
    assert_target_kept_nothing("the link was closed");
    assert_idle_and_freed();
}


static void link_cut_in_stop_and_copy_resumes_the_source(void **state)
{
    source()->disk_inflight = 2;
    fh.cut_at_pause = true;                     /* stop-and-copy may take one step only */
    start();
    assert_true(run(NULL, 20000));
    assert_int_equal(source()->pauses, 1);
    assert_int_equal(source()->resumes, 1);
    /* the disk requests it cancelled start again here, once each */
    assert_int_equal(source()->disk_reissued, 2);
    assert_int_equal(source()->disk_cancelled, 0);
    assert_true(fake_log_has("; still running here (its 2 cancelled disk requests start "
                             "again)\n"));
    assert_source_as_before("the link was closed");
    assert_target_kept_nothing("the link was closed");
    assert_idle_and_freed();
}

static void tls_error_in_round_0(void)
{
    if (fl.moved[0] > 200000) {
        fl.failed = true;
        fl.fail_code = -2;
    }
}

static void tls_error_leaves_the_source_running(void **state)
{
    start();
    assert_true(run(tls_error_in_round_0, 20000));
    assert_source_as_before("the link failed: TLS alert bad_record_mac");
    assert_target_kept_nothing("the link failed: TLS alert bad_record_mac");
    assert_idle_and_freed();
}

static void unpinned_key_is_refused_in_one_line(void **state)
{
    fl.refuse_connect = true;
    char msg[200];
    assert_false(migrate_start(&source()->p, "10.0.3.2", msg, sizeof(msg)));
    assert_string_equal(msg, "migrate: records: to 10.0.3.2: refused: TLS handshake failed: "
                             "the server's key is not pinned here; still running here");
    assert_int_equal(source()->pauses, 0);
    assert_false(source()->held);
    assert_int_equal(fake_kmem_live(), 0);
    /* and a later migration to a host that pins it goes through */
    fl.refuse_connect = false;
    start();
    assert_true(run(NULL, 20000));
    assert_int_equal(target()->p.state, PART_RUNNING);
    assert_int_equal(source()->stops, 1);
}

/* A live snapshot holds the write tracking's passes: refused in one line, its claim and
 * the tracking's region sizes untouched; once it lets go, the migration goes through. */
static void tracking_held_by_a_snapshot_is_refused(void **state)
{
    char msg[200];
    struct fake_part *s = source();
    s->held = true;
    assert_false(migrate_start(&s->p, "10.0.3.2", msg, sizeof(msg)));
    assert_string_equal(msg, "migrate: records: to 10.0.3.2: refused: its written pages are "
                             "collected by another; still running here");
    assert_true(s->held);
    for (unsigned r = 0; r < 16; r++)
        assert_int_equal(s->region_pages[r], 0);
    assert_int_equal(s->pauses, 0);
    assert_int_equal(fake_kmem_live(), 0);
    s->held = false;
    start();
    assert_true(run(NULL, 20000));
    assert_int_equal(target()->p.state, PART_RUNNING);
    assert_int_equal(s->stops, 1);
}

static void name_clash_is_refused_and_the_source_goes_on(void **state)
{
    fh.clash = true;
    start();
    assert_true(run(NULL, 20000));
    assert_null(target()->ram);                 /* nothing created */
    assert_int_equal(fh.part[FAKE_CLASH].p.state, PART_RUNNING);   /* untouched */
    assert_int_equal(fh.part[FAKE_CLASH].kills, 0);
    assert_source_as_before("the target says: a partition records exists here");
    assert_target_kept_nothing("a partition records exists here");
    assert_idle_and_freed();
}

static void target_out_of_memory_is_refused_and_the_source_goes_on(void **state)
{
    fh.create_fails = "out of memory: 2 MiB of RAM for records, 1 MiB free";
    start();
    assert_true(run(NULL, 20000));
    assert_null(target()->ram);
    assert_source_as_before("the target says: out of memory: 2 MiB of RAM for records");
    assert_target_kept_nothing("out of memory");
    assert_idle_and_freed();
    /* the retry, once the target has the memory, goes through */
    fh.create_fails = NULL;
    fh.log[0] = '\0';
    fh.log_len = 0;
    start();
    assert_true(run(NULL, 20000));
    assert_int_equal(target()->p.state, PART_RUNNING);
    assert_memory_equal(target()->ram, source()->ram, RAM_PAGES * 4096);
    assert_int_equal(source()->stops, 1);
}

static void corrupted_byte_is_refused_by_the_target(void **state)
{
    fl.corrupt_at[0] = 100000;                  /* in a round-0 batch */
    start();
    assert_true(run(NULL, 20000));
    assert_source_as_before("the link was closed");
    assert_target_kept_nothing("a message of type 3 fails its CRC-32C");
    assert_idle_and_freed();
}

static void failed_restore_ends_the_target_copy(void **state)
{
    fh.restore_fails = true;
    start();
    assert_true(run(NULL, 20000));
    assert_true(fh.stream_checked);             /* the state arrived whole */
    assert_int_equal(source()->resumes, 1);
    assert_source_as_before("the link was closed");
    assert_target_kept_nothing("device 2 (virtio-blk): its state is malformed");
    assert_idle_and_freed();
}

static void failed_capture_resumes_the_source(void **state)
{
    fh.save_fails = true;
    start();
    assert_true(run(NULL, 20000));
    assert_int_equal(source()->resumes, 1);
    assert_source_as_before("a device could not be captured");
    assert_target_kept_nothing("the link was closed");
    assert_idle_and_freed();
}

static void stall_in_round_1(void)
{
    struct migrate_progress pr;
    migrate_get_progress(&pr);
    if (pr.active && pr.round == 1)
        stalled = true;
}

static void silent_link_fails_both_ends_after_60_s(void **state)
{
    start();
    uint64_t t0 = fh.now_ns;
    assert_true(run(stall_in_round_1, 20000));
    assert_true(fh.now_ns - t0 > 60000000000ull);
    assert_source_as_before("the link has moved nothing for 60 s");
    assert_target_kept_nothing("the link was closed");     /* the source gave up first */
    assert_idle_and_freed();
}

/* The target's acknowledgement is cut after its first bytes: the source cannot have it
 * and resumes, so the target must end the copy it resumed: never both running. */
static void lose_the_acknowledgement(void)
{
    struct migrate_progress pr;
    migrate_get_progress(&pr);
    if (pr.active && pr.round == 1 && fl.fail_after[1] < 0)
        fl.fail_after[1] = (int64_t)fl.moved[1] + 10;   /* READY is out; DONE will be cut */
}

static void lost_acknowledgement_leaves_one_copy_running(void **state)
{
    start();
    assert_true(run(lose_the_acknowledgement, 20000));
    assert_int_equal(source()->resumes, 1);
    assert_source_as_before("the link was closed");
    assert_int_equal(target()->p.state, PART_DEAD);
    assert_int_equal(target()->kills, 1);
    assert_true(fake_log_has("refused: its acknowledgement was not delivered"));
    assert_idle_and_freed();
}

static void the_partition_ending_meanwhile_ends_the_migration(void **state)
{
    start();
    assert_false(run(NULL, 30));                /* under way */
    source()->p.state = PART_DEAD;              /* the guest exits */
    assert_true(run(NULL, 20000));
    assert_true(fake_log_has("refused: the partition ended during the migration; it has "
                             "ended here meanwhile"));
    assert_target_kept_nothing("the link was closed");
    assert_idle_and_freed();
}

/* ---- a hostile source ---------------------------------------------------------------- */
static void put(uint16_t type, const void *payload, uint32_t len)
{
    uint8_t h[MIG_HEADER_SIZE];
    mig_header_encode(h, type, payload, len);
    memcpy(fl.buf[0] + fl.tail[0], h, sizeof(h));
    memcpy(fl.buf[0] + fl.tail[0] + sizeof(h), payload, len);
    fl.tail[0] += sizeof(h) + len;
}

static void hostile_open(void)
{
    fl.buf[0] = malloc(fl.cap);
    fl.buf[1] = malloc(fl.cap);
    assert_true(fake_accept());
    static char manifest[] = "[partition records]\nmemory = 2M\n";
    struct mig_hello h = { .version = MIG_VERSION, .ram_bytes = RAM_PAGES * 4096, .vcpus = 1,
                           .name = "records", .manifest = manifest,
                           .manifest_len = sizeof(manifest) - 1 };
    uint8_t pl[256];
    put(MIG_MSG_HELLO, pl, (uint32_t)mig_hello_encode(&h, pl, sizeof(pl)));
}

static void hostile_run(void)
{
    fl.chunk = LINK_STEP;
    for (unsigned i = 0; i < 100 && migrate_poll(); i++)
        fl.chunk = LINK_STEP;
    assert_false(migrate_poll());
    assert_int_equal(fake_kmem_live(), 0);
}

static void hostile_page_number_is_refused(void **state)
{
    hostile_open();
    static uint8_t pages[MIG_BATCH_PAGES * 4096], out[MIG_BATCH_MAX];
    void *codec = malloc(1 << 20);
    uint32_t pfn[2] = { 3, RAM_PAGES };         /* the second lies past its RAM */
    struct mig_batch b;
    memset(pages, 0x11, sizeof(pages));
    put(MIG_MSG_PAGES, out, (uint32_t)mig_batch_encode(codec, 0, pfn, 2, pages, out, &b));
    free(codec);
    hostile_run();
    assert_target_kept_nothing("");
    assert_int_equal(target()->p.state, PART_DEAD);
    assert_int_equal(target()->kills, 1);
}

static void hostile_truncated_stream_is_refused(void **state)
{
    hostile_open();
    uint8_t junk[40] = { 0 };
    put(MIG_MSG_ROUND, junk, 8);
    fl.tail[0] -= 4;                            /* half of it, then the link closes */
    fl.closed[0] = true;
    hostile_run();
    assert_target_kept_nothing("the link was closed");
    assert_int_equal(target()->p.state, PART_DEAD);
}

static void hostile_state_before_hello_is_refused(void **state)
{
    fl.buf[0] = malloc(fl.cap);
    fl.buf[1] = malloc(fl.cap);
    assert_true(fake_accept());
    uint8_t pl[8] = { 0 };
    put(MIG_MSG_STATE, pl, sizeof(pl));
    hostile_run();
    assert_null(target()->ram);
    assert_target_kept_nothing("message type 5 out of turn");
}

/* A connection that sends nothing (a handshake never finished) holds the one incoming slot
 * only until another comes; one that has begun its HELLO keeps it. */
static void silent_connection_makes_way_for_the_next(void **state)
{
    fl.buf[0] = malloc(fl.cap);
    fl.buf[1] = malloc(fl.cap);
    assert_true(fake_accept());
    migrate_poll();                             /* it says nothing */
    assert_true(fake_accept());                 /* the silent one makes way */
    assert_true(fl.closed[1]);
    assert_target_kept_nothing("another connection came before this one's HELLO");
    fl.closed[1] = false;
    uint8_t pl[8] = { 0 };
    put(MIG_MSG_ROUND, pl, sizeof(pl));
    fl.tail[0] -= 4;                            /* half a message: it has begun */
    fl.chunk = LINK_STEP;
    migrate_poll();
    assert_false(fake_accept());
    assert_false(fl.closed[1]);
    fl.closed[0] = true;
    hostile_run();
}

static unsigned strangers_refused;

/* Until the target has restored the partition (then its slot is free again). */
static void stranger_connects(void)
{
    if (target()->p.state != PART_RUNNING && !fake_accept_stranger("10.0.3.9"))
        strangers_refused++;
}

/* Another address opens connection after connection and never says anything while the
 * source's own connection is in its handshake: none of them takes the slot, and the
 * migration goes through with the flood running all along. */
static void flood_from_another_address_keeps_the_source_in(void **state)
{
    start();                                    /* accepted; its HELLO not yet read */
    strangers_refused = 0;
    for (int i = 0; i < 100; i++)
        stranger_connects();
    assert_false(fl.closed[1]);
    assert_true(run(stranger_connects, 20000));
    assert_int_equal(fl.strangers_taken, 0);
    assert_true(strangers_refused > 100);
    assert_int_equal(target()->p.state, PART_RUNNING);
    assert_int_equal(source()->p.state, PART_DEAD);
    assert_true(fake_log_has("(equal to the source's), resumed\n"));
    assert_int_equal(fake_kmem_live(), 0);
}

/* The flood came first: the source gets the slot once the stranger's turn is over (counted
 * from its first connection, however many it opened since), then keeps it. */
static void flood_before_the_source_makes_way_after_its_turn(void **state)
{
    fl.buf[0] = malloc(fl.cap);
    fl.buf[1] = malloc(fl.cap);
    for (int i = 0; i < 50; i++) {
        assert_true(fake_accept_stranger("10.0.3.9"));   /* replaces its own */
        fh.now_ns += 10000000ull;
    }
    assert_false(fake_accept());                /* its turn goes on */
    fh.now_ns += 5000000000ull;
    free(fl.buf[0]);
    free(fl.buf[1]);
    fl.buf[0] = fl.buf[1] = NULL;
    strangers_refused = 0;
    start();
    assert_int_equal(fl.strangers_closed, 50);
    assert_true(run(stranger_connects, 20000));
    assert_int_equal(fl.strangers_taken, 50);
    assert_int_equal(target()->p.state, PART_RUNNING);
    assert_int_equal(source()->p.state, PART_DEAD);
    assert_int_equal(fake_kmem_live(), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(migrates_and_stops_the_source_only_after_done, setup),
        cmocka_unit_test_setup(link_cut_in_round_1_leaves_the_source_running, setup),
        cmocka_unit_test_setup(link_cut_in_stop_and_copy_resumes_the_source, setup),
        cmocka_unit_test_setup(tls_error_leaves_the_source_running, setup),
        cmocka_unit_test_setup(unpinned_key_is_refused_in_one_line, setup),
        cmocka_unit_test_setup(tracking_held_by_a_snapshot_is_refused, setup),
        cmocka_unit_test_setup(name_clash_is_refused_and_the_source_goes_on, setup),
        cmocka_unit_test_setup(target_out_of_memory_is_refused_and_the_source_goes_on, setup),
        cmocka_unit_test_setup(corrupted_byte_is_refused_by_the_target, setup),
        cmocka_unit_test_setup(failed_restore_ends_the_target_copy, setup),
        cmocka_unit_test_setup(failed_capture_resumes_the_source, setup),
        cmocka_unit_test_setup(silent_link_fails_both_ends_after_60_s, setup),
        cmocka_unit_test_setup(lost_acknowledgement_leaves_one_copy_running, setup),
        cmocka_unit_test_setup(the_partition_ending_meanwhile_ends_the_migration, setup),
        cmocka_unit_test_setup(hostile_page_number_is_refused, setup),
        cmocka_unit_test_setup(hostile_truncated_stream_is_refused, setup),
        cmocka_unit_test_setup(hostile_state_before_hello_is_refused, setup),
        cmocka_unit_test_setup(flood_from_another_address_keeps_the_source_in, setup),
        cmocka_unit_test_setup(flood_before_the_source_makes_way_after_its_turn, setup),
        cmocka_unit_test_setup(silent_connection_makes_way_for_the_next, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
