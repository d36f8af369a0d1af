#include "hv/core/migrate_chan.h"

#include <string.h>
#include "hv/arch/x86/tsc.h"
#include "hv/lib/format.h"
#include "hv/mm/kmem.h"

bool mig_chan_open(struct mig_chan *c, const struct migrate_transport *t, void *s,
                   size_t tx_payload, size_t rx_payload)
{
    memset(c, 0, sizeof(*c));
    c->t = t;
    c->s = s;
    c->tx_pages = (MIG_HEADER_SIZE + tx_payload + 4095) / 4096;
    c->rx_pages = (MIG_HEADER_SIZE + rx_payload + 4095) / 4096;
    c->tx = kmem_alloc_pages(c->tx_pages);
    c->rx = kmem_alloc_pages(c->rx_pages);
    c->tx_cap = c->tx_pages * 4096;
    c->rx_cap = MIG_HEADER_SIZE + rx_payload;
    c->last_progress_ns = time_ns();
    if (!c->tx || !c->rx) {
        c->s = NULL;
        mig_chan_close(c);
        return false;
    }
    return true;
}

void mig_chan_close(struct mig_chan *c)
{
    if (c->s && c->t)
        c->t->close(c->s);
    c->s = NULL;
    if (c->tx)
        kmem_free_pages(c->tx, c->tx_pages);
    if (c->rx)
        kmem_free_pages(c->rx, c->rx_pages);
    c->tx = c->rx = NULL;
}

void mig_chan_queue(struct mig_chan *c, uint16_t type, uint32_t len)
{
    mig_header_encode(c->tx, type, c->tx + MIG_HEADER_SIZE, len);
    c->tx_len = MIG_HEADER_SIZE + len;
    c->tx_off = 0;
}

static void failed(struct mig_chan *c, long rc, char *err, size_t err_size)
{
    char why[96] = "";
    if (c->t->why)
        c->t->why(c->s, why, sizeof(why));
    fmt_snprintf(err, err_size, "the link %s%s%s", rc == -1 ? "was closed" : "failed",
                 why[0] ? ": " : "", why);
}

int mig_chan_send(struct mig_chan *c, char *err, size_t err_size)
{
    while (c->tx_off < c->tx_len) {
        long w = c->t->write(c->s, c->tx + c->tx_off, c->tx_len - c->tx_off);
        if (w < 0) {
            failed(c, w, err, err_size);
            return -1;
        }
        if (w == 0)
            break;
        c->tx_off += (size_t)w;
        c->wire_bytes += (uint64_t)w;
        c->last_progress_ns = time_ns();
    }
    int f = c->t->flush(c->s);
    if (f < 0) {
        failed(c, f, err, err_size);
        return -1;
    }
    return c->tx_off >= c->tx_len ? 1 : 0;
}

int mig_chan_recv(struct mig_chan *c, struct mig_header *h, const uint8_t **payload,
                  char *err, size_t err_size)
{
    for (;;) {
        size_t want = MIG_HEADER_SIZE;
        if (c->rx_len >= MIG_HEADER_SIZE) {
            if (mig_header_decode(c->rx, h, err, err_size))
                return -1;
            if (MIG_HEADER_SIZE + (size_t)h->length > c->rx_cap) {
                fmt_snprintf(err, err_size, "a message of %u bytes (at most %lu here)",
                             h->length, (unsigned long)(c->rx_cap - MIG_HEADER_SIZE));
                return -1;
            }
            want = MIG_HEADER_SIZE + h->length;
            if (c->rx_len == want) {
                if (!mig_payload_ok(h, c->rx + MIG_HEADER_SIZE)) {
                    fmt_snprintf(err, err_size, "a message of type %u fails its CRC-32C",
                                 h->type);
                    return -1;
                }
                *payload = c->rx + MIG_HEADER_SIZE;
                return 1;
            }
        }
        long r = c->t->read(c->s, c->rx + c->rx_len, want - c->rx_len);
        if (r < 0) {
            failed(c, r, err, err_size);
            return -1;
        }
        if (r == 0)
            return 0;
        c->rx_len += (size_t)r;
        c->last_progress_ns = time_ns();
    }
}

void mig_chan_consume(struct mig_chan *c)
{
    c->rx_len = 0;
}

bool mig_chan_stalled(const struct mig_chan *c)
{
    return time_ns() - c->last_progress_ns > MIGRATE_IDLE_NS;
}
