/*
 * One migration connection as framed messages (hv/migrate/mig_proto.h) over a
 * non-blocking transport: one message queued for sending at a time, one received at a
 * time.  Used by both halves of a migration (hv/core/migrate_source.c, migrate_target.c).
 */
#ifndef ATOLL_HV_CORE_MIGRATE_CHAN_H
#define ATOLL_HV_CORE_MIGRATE_CHAN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hv/core/migrate.h"
#include "hv/migrate/mig_proto.h"

struct mig_chan {
    const struct migrate_transport *t;
    void *s;
    uint8_t *tx;                    /* header + payload */
    size_t tx_cap, tx_len, tx_off;
    uint8_t *rx;
    size_t rx_cap, rx_len;
    size_t tx_pages, rx_pages;
    uint64_t wire_bytes;            /* sent, headers included */
    uint64_t last_progress_ns;
};

/* Buffers for messages of up to tx_payload and rx_payload bytes.  False: out of memory. */
bool mig_chan_open(struct mig_chan *c, const struct migrate_transport *t, void *s,
                   size_t tx_payload, size_t rx_payload);
/* Closes the stream (when open) and gives the buffers back. */
void mig_chan_close(struct mig_chan *c);
/* Where the next message's payload goes (tx_cap - header bytes). */
static inline uint8_t *mig_chan_payload(struct mig_chan *c) { return c->tx + MIG_HEADER_SIZE; }
/* The payload written at mig_chan_payload is a message of `type`: queue it. */
void mig_chan_queue(struct mig_chan *c, uint16_t type, uint32_t len);
/* 1: nothing queued is left unsent, 0 pending, -1 failed (err). */
int mig_chan_send(struct mig_chan *c, char *err, size_t err_size);
/* 1: a whole, checked message (*h, *payload) until mig_chan_consume; 0 pending; -1 the
 * stream ended or the message is malformed (err). */
int mig_chan_recv(struct mig_chan *c, struct mig_header *h, const uint8_t **payload,
                  char *err, size_t err_size);
void mig_chan_consume(struct mig_chan *c);
/* No byte has moved for MIGRATE_IDLE_NS. */
bool mig_chan_stalled(const struct mig_chan *c);

#endif
