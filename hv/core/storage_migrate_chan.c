#include "hv/core/storage_migrate_chan.h"

#include <string.h>
#include "hv/arch/x86/tsc.h"
#include "hv/lib/format.h"
#include "hv/mm/kmem.h"
#include "hv/storage/storage_mig_resume.h"

bool smig_chan_open(struct smig_chan *c, const struct migrate_transport *t, void *s,
                    size_t rx_payload)
{
    memset(c, 0, sizeof(*c));
    c->t = t;
    c->rx_pages = (SMIG_HEADER_SIZE + rx_payload + 4095) / 4096;
    c->rx = kmem_alloc_pages(c->rx_pages);
    c->rx_cap = SMIG_HEADER_SIZE + rx_payload;
    c->last_progress_ns = time_ns();
    c->last_rx_ns = c->last_tx_ns = c->last_data_tx_ns = c->last_progress_ns;
    c->ka_off = SMIG_HEADER_SIZE;
    smig_chan_set_idle(c, 0);
    if (!c->rx)
        return false;
    c->s = s;
    return true;
}

void smig_chan_set_idle(struct smig_chan *c, uint32_t idle_s)
{
    if (!idle_s || idle_s > SMIG_IDLE_MAX_S)
        idle_s = SMIG_IDLE_DEFAULT_S;
    c->idle_ns = (uint64_t)idle_s * 1000000000ull;
    c->keepalive_ns = (uint64_t)smig_keepalive_period_s(idle_s) * 1000000000ull;
}

void smig_chan_close(struct smig_chan *c)
{
    if (c->s && c->t)
        c->t->close(c->s);
    c->s = NULL;
    if (c->rx)
        kmem_free_pages(c->rx, c->rx_pages);
    c->rx = NULL;
}

static void failed(struct smig_chan *c, long rc, char *err, size_t err_size)
{
    c->link_down = true;
    char why[96] = "";
    if (c->t->why)
        c->t->why(c->s, why, sizeof(why));
    fmt_snprintf(err, err_size, "the link %s%s%s", rc == -1 ? "was closed" : "failed",
                 why[0] ? ": " : "", why);
}

/* The KEEPALIVE half out goes on: 1 out (or none), 0 pending, -1 failed. */
static int keepalive_rest(struct smig_chan *c, char *err, size_t err_size)
{
    while (c->ka_off < SMIG_HEADER_SIZE) {
        long w = c->t->write(c->s, c->ka + c->ka_off, SMIG_HEADER_SIZE - c->ka_off);
        if (w < 0) {
            failed(c, w, err, err_size);
            return -1;
        }
        if (w == 0)
            return 0;
        c->ka_off += (size_t)w;
        c->wire_bytes += (uint64_t)w;
        c->last_tx_ns = time_ns();
    }
    return 1;
}

int smig_chan_send(struct smig_chan *c, const uint8_t *buf, size_t len, size_t *off, char *err,
                   size_t err_size)
{
    int k = keepalive_rest(c, err, err_size);
    if (k <= 0)
        return k;
    while (*off < len) {
        long w = c->t->write(c->s, buf + *off, len - *off);
        if (w < 0) {
            failed(c, w, err, err_size);
            return -1;
        }
        if (w == 0)
            break;
        *off += (size_t)w;
        c->wire_bytes += (uint64_t)w;
        c->last_progress_ns = time_ns();
        c->last_tx_ns = c->last_data_tx_ns = c->last_progress_ns;
    }
    c->tx_mid = *off && *off < len;
    int f = c->t->flush(c->s);
    if (f < 0) {
        failed(c, f, err, err_size);
        return -1;
    }
    return *off >= len ? 1 : 0;
}

int smig_chan_flush(struct smig_chan *c, char *err, size_t err_size)
{
    if (!c->tx_mid && c->ka_off >= SMIG_HEADER_SIZE && c->keepalive_ns &&
        time_ns() - c->last_tx_ns > c->keepalive_ns) {
        smig_header_encode(c->ka, SMIG_MSG_KEEPALIVE, "", 0);
        c->ka_off = 0;
        c->keepalives_sent++;
    }
    if (keepalive_rest(c, err, err_size) < 0)
        return -1;
    int f = c->t->flush(c->s);
    if (f < 0) {
        failed(c, f, err, err_size);
        return -1;
    }
    return f ? 1 : 0;
}

int smig_chan_recv(struct smig_chan *c, struct smig_header *h, const uint8_t **payload,
                   char *err, size_t err_size)
{
    for (;;) {
        size_t want = SMIG_HEADER_SIZE;
        if (c->rx_len >= SMIG_HEADER_SIZE) {
            if (smig_header_decode(c->rx, h, err, err_size))
                return -1;
            if (SMIG_HEADER_SIZE + (size_t)h->length > c->rx_cap) {
                fmt_snprintf(err, err_size, "a message of %u bytes (at most %lu here)",
                             h->length, (unsigned long)(c->rx_cap - SMIG_HEADER_SIZE));
                return -1;
            }
            want = SMIG_HEADER_SIZE + h->length;
            if (c->rx_len == want) {
                if (!smig_payload_ok(h, c->rx + SMIG_HEADER_SIZE)) {
                    fmt_snprintf(err, err_size, "a message of type %u fails its CRC-32C",
                                 h->type);
                    return -1;
                }
                if (h->type == SMIG_MSG_KEEPALIVE) {
                    if (smig_keepalive_decode(h->length, err, err_size))
                        return -1;
                    c->keepalives_received++;
                    c->rx_len = 0;
                    c->last_progress_ns = c->progress_before_rx;   /* liveness, not progress */
                    continue;
                }
                *payload = c->rx + SMIG_HEADER_SIZE;
                return 1;
            }
        }
        long r = c->t->read(c->s, c->rx + c->rx_len, want - c->rx_len);
        if (r < 0) {
            failed(c, r, err, err_size);
            return -1;
        }
        if (r == 0) {
            /* The peer's TCP window opening for our data is a sign of life too: a busy peer
             * (a long write, a slow clock) may send its KEEPALIVE late; a dead one takes
             * at most a window's worth. */
            uint64_t heard = c->last_rx_ns > c->last_data_tx_ns ? c->last_rx_ns
                                                                : c->last_data_tx_ns;
            if (c->idle_ns && time_ns() - heard > c->idle_ns) {
                c->link_down = true;
                fmt_snprintf(err, err_size, "nothing came from the peer for %lu s (its host or "
                             "the link is gone)", (unsigned long)(c->idle_ns / 1000000000ull));
                return -1;
            }
            return 0;
        }
        if (!c->rx_len)
            c->progress_before_rx = c->last_progress_ns;
        c->rx_len += (size_t)r;
        c->last_progress_ns = time_ns();
        c->last_rx_ns = c->last_progress_ns;
    }
}

void smig_chan_consume(struct smig_chan *c)
{
    c->rx_len = 0;
}

void smig_chan_drain(struct smig_chan *c)
{
    uint8_t scratch[256];
    for (int i = 0; c->s && i < 64; i++)
        if (c->t->read(c->s, scratch, sizeof(scratch)) <= 0)
            break;
}

bool smig_chan_stalled(const struct smig_chan *c)
{
    return time_ns() - c->last_progress_ns > MIGRATE_IDLE_NS;
}
