/*
 * The target half of a live migration (hv/core/migrate.h): takes one source at a time.
 * HELLO creates the partition from the source's manifest section (not started); PAGES
 * fill its RAM; STATE restores its vCPUs and devices and runs it; DONE tells the source.
 * Anything wrong before that (a malformed message, the link gone) ends the new partition:
 * the target keeps nothing.
 */
#include "hv/core/migrate.h"

#include <string.h>
#include "hv/arch/x86/console.h"
#include "hv/arch/x86/tsc.h"
#include "hv/core/checkpoint.h"
#include "hv/core/migrate_chan.h"
#include "hv/core/partition_create.h"
#include "hv/core/partition_disks.h"
#include "hv/core/run.h"
#include "hv/lib/format.h"
#include "hv/lib/peer_slots.h"
#include "hv/mm/kmem.h"
#include "hv/snapshot/snap_codec.h"

enum stage { T_IDLE, T_HELLO, T_PAGES, T_ACK };

static struct target {
    enum stage stage;
    struct mig_chan ch;
    char peer[24], name[PARTITION_NAME_LEN];
    struct partition *q;
    void *codec;
    size_t codec_pages;
    uint8_t *pages;                     /* MIG_BATCH_PAGES decoded pages */
    uint64_t ram_pages, received, batches;
    uint32_t rounds;
    bool resumed;
    char refusal[160];                  /* sent to the source; the link closes after it */
    uint32_t addr;                      /* the peer's IPv4 address, and since when it has */
    uint64_t turn_ms;                   /* waited for its HELLO (hv/lib/peer_slots.h) */
} tgt;

static void release(void)
{
    mig_chan_close(&tgt.ch);
    if (tgt.codec)
        kmem_free_pages(tgt.codec, tgt.codec_pages);
    if (tgt.pages)
        kmem_free_pages(tgt.pages, MIG_BATCH_PAGES);
    tgt.codec = NULL;
    tgt.pages = NULL;
    tgt.q = NULL;
    tgt.stage = T_IDLE;
}

static void refuse(const char *why)
{
    if (tgt.q && !tgt.resumed)
        partition_kill(tgt.q, "its migration from %s failed: %s", tgt.peer, why);
    kprintf("migrate: incoming %s%sfrom %s: refused: %s; nothing kept\n", tgt.name,
            tgt.name[0] ? " " : "", tgt.peer, why);
    release();
}

/* A READY or DONE reply; the state machine goes on once it is sent. */
static void reply(uint16_t type, uint32_t status, uint32_t crc, const char *text)
{
    struct mig_reply r = { .status = status, .ram_crc = crc };
    strlcpy(r.text, text, sizeof(r.text));
    size_t len = mig_reply_encode(&r, mig_chan_payload(&tgt.ch), tgt.ch.tx_cap - MIG_HEADER_SIZE);
    mig_chan_queue(&tgt.ch, type, (uint32_t)len);
}

bool migrate_target_accept(void *stream, const char *peer)
{
    /* One migration in at a time.  A connection that has sent nothing yet (its TLS handshake
     * unfinished, or a peer that says nothing) may make way for the newcomer rather than hold
     * the one slot for MIGRATE_IDLE_NS: its own address's newcomer replaces it at once,
     * another address's once its turn is over (hv/lib/peer_slots.h), so that neither a
     * silent peer nor one opening connection after connection keeps another source out. */
    if (!migrate_transport)
        return false;
    uint32_t addr = peer_slots_ipv4(peer);
    bool waiting = tgt.stage == T_HELLO && tgt.ch.rx_len == 0;
    struct peer_slot held = { tgt.stage != T_IDLE, !waiting, tgt.addr, 0, tgt.turn_ms };
    struct peer_slots_choice choice = peer_slots_choose(&held, 1, addr, time_ns() / 1000000,
                                                        PEER_SLOTS_TURN_MS);
    if (choice.verdict == PEER_SLOT_REFUSE)
        return false;
    if (choice.verdict == PEER_SLOT_EVICT)
        refuse("another connection came before this one's HELLO");
    memset(&tgt, 0, sizeof(tgt));
    strlcpy(tgt.peer, peer, sizeof(tgt.peer));
    tgt.addr = addr;
    tgt.turn_ms = choice.turn_ms;
    tgt.codec_pages = (snap_codec_state_size() + 4095) / 4096;
    tgt.codec = kmem_alloc_pages(tgt.codec_pages);
    tgt.pages = kmem_alloc_pages(MIG_BATCH_PAGES);
    if (!tgt.codec || !tgt.pages ||
        !mig_chan_open(&tgt.ch, migrate_transport, stream, 512, MIG_MAX_PAYLOAD)) {
        tgt.ch.s = NULL;
        release();
        return false;
    }
    tgt.stage = T_HELLO;
    return true;
}

static bool on_hello(const uint8_t *pl, uint32_t len, char *err, size_t err_size)
{
    struct mig_hello h;
    if (mig_hello_decode(pl, len, &h, err, err_size))
        return false;
    strlcpy(tgt.name, h.name, sizeof(tgt.name));
    struct partition *old = partition_find(h.name);
    if (old && !old->finished) {
        fmt_snprintf(err, err_size, "a partition %s exists here", h.name);
        return false;
    }
    struct partition *q = partition_create_from_section(h.manifest, h.manifest_len, h.name,
                                                        err, err_size);
    if (!q)
        return false;
    tgt.q = q;
    if (q->mem.size != h.ram_bytes || q->vcpu_count != h.vcpus) {
        fmt_snprintf(err, err_size, "its manifest section makes %lu bytes of RAM and %u vCPUs, "
                     "the source has %lu and %u", q->mem.size, q->vcpu_count,
                     (unsigned long)h.ram_bytes, h.vcpus);
        return false;
    }
    if (old)
        partition_replace(old, q);
    tgt.ram_pages = h.ram_bytes / MIG_PAGE_SIZE;
    kprintf("migrate: incoming %s from %s: %lu MiB, %u vCPU%s: accepted\n", tgt.name, tgt.peer,
            (unsigned long)(h.ram_bytes >> 20), h.vcpus, h.vcpus == 1 ? "" : "s");
    reply(MIG_MSG_READY, MIG_OK, 0, "accepted");
    tgt.stage = T_PAGES;
    return true;
}

static bool on_pages(const uint8_t *pl, uint32_t len, char *err, size_t err_size)
{
    struct mig_batch b;
    if (mig_batch_decode(tgt.codec, pl, len, tgt.ram_pages, &b, tgt.pages, err, err_size))
        return false;
    for (uint32_t i = 0; i < b.count; i++)
        if (!guest_mem_write(&tgt.q->mem, (uint64_t)b.pfn[i] * MIG_PAGE_SIZE,
                             tgt.pages + i * MIG_PAGE_SIZE, MIG_PAGE_SIZE)) {
            fmt_snprintf(err, err_size, "page %u lies outside its RAM", b.pfn[i]);
            return false;
        }
    tgt.received += b.count;
    tgt.batches++;
    return true;
}

static bool on_state(const uint8_t *pl, uint32_t len, char *err, size_t err_size)
{
    struct mig_state st;
    if (mig_state_decode(pl, len, &st, err, err_size))
        return false;
    uint32_t crc = 0;
    if (!checkpoint_restore_stream(tgt.q, st.stream, st.stream_len, st.guest_tsc0, &crc, err,
                                   err_size))
        return false;
    tgt.resumed = true;
    unsigned again = partition_disks_reissue_pending(tgt.q);
    kprintf("migrate: incoming %s from %s: restored after %u rounds, %lu pages, RAM crc32c "
            "0x%08x (%s the source's), resumed\n", tgt.name, tgt.peer, tgt.rounds,
            tgt.received, crc, crc == st.ram_crc ? "equal to" : "DIFFERENT from");
    kprintf("migrate: incoming %s from %s: %u disk request%s cancelled on the source, "
            "started again here\n", tgt.name, tgt.peer, again, again == 1 ? "" : "s");
    reply(MIG_MSG_DONE, MIG_OK, crc, "resumed");
    tgt.stage = T_ACK;
    return true;
}

/* One step: 1 go on, 0 wait, -1 failed (err). */
static int step(char *err, size_t err_size)
{
    int s = mig_chan_send(&tgt.ch, err, err_size);
    if (s <= 0)
        return s;
    if (tgt.stage == T_ACK) {           /* the acknowledgement or refusal is out: done */
        if (tgt.resumed)
            release();
        else
            refuse(tgt.refusal);
        return 0;
    }
    struct mig_header h;
    const uint8_t *pl;
    int got = mig_chan_recv(&tgt.ch, &h, &pl, err, err_size);
    if (got <= 0)
        return got;
    bool ok;
    uint32_t round, pages;
    if (tgt.stage == T_HELLO && h.type == MIG_MSG_HELLO) {
        ok = true;
        if (!on_hello(pl, h.length, err, err_size)) {   /* refused: say so, then close */
            strlcpy(tgt.refusal, err, sizeof(tgt.refusal));
            reply(MIG_MSG_READY, MIG_REFUSED, 0, err);
            tgt.stage = T_ACK;
        }
    } else if (tgt.stage == T_PAGES && h.type == MIG_MSG_PAGES) {
        ok = on_pages(pl, h.length, err, err_size);
    } else if (tgt.stage == T_PAGES && h.type == MIG_MSG_ROUND) {
        ok = !mig_round_decode(pl, h.length, &round, &pages);
        tgt.rounds = round + 1;
        if (!ok)
            fmt_snprintf(err, err_size, "a malformed ROUND message");
    } else if (tgt.stage == T_PAGES && h.type == MIG_MSG_STATE) {
        ok = on_state(pl, h.length, err, err_size);
    } else {
        fmt_snprintf(err, err_size, "message type %u out of turn", h.type);
        ok = false;
    }
    mig_chan_consume(&tgt.ch);
    return ok ? 1 : -1;
}

bool migrate_target_poll(void)
{
    if (tgt.stage == T_IDLE)
        return false;
    char err[200];
    int r;
    unsigned n = 0;
    do {
        r = step(err, sizeof(err));
    } while (r > 0 && ++n < 64);
    if (r < 0 || (tgt.stage != T_IDLE && mig_chan_stalled(&tgt.ch))) {
        /* Resumed but the acknowledgement did not all go out: the source cannot have it and
         * goes on with its own copy, so this one ends (refuse kills it) rather than run
         * twice. */
        if (tgt.stage == T_ACK && tgt.resumed) {
            char why[240];
            fmt_snprintf(why, sizeof(why), "its acknowledgement was not delivered (%s)",
                         r < 0 ? err : "the link has moved nothing for 60 s");
            tgt.resumed = false;
            refuse(why);
            return false;
        }
        refuse(r < 0 ? err : "the link has moved nothing for 60 s");
        return false;
    }
    return tgt.stage != T_IDLE;
}
