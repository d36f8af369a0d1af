/*
 * One storage-migration connection as framed messages (hv/storage/storage_mig_proto.h)
 * over a non-blocking transport (struct migrate_transport, the pinned TLS link): sends from
 * a buffer the caller keeps until it is out, receives one whole, checked message at a time.
 */
#ifndef ATOLL_HV_CORE_STORAGE_MIGRATE_CHAN_H
#define ATOLL_HV_CORE_STORAGE_MIGRATE_CHAN_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "hv/core/migrate.h"
#include "hv/storage/storage_mig_proto.h"

struct smig_chan {
    const struct migrate_transport *t;
    void *s;
    uint8_t *rx;                    /* header + payload */
    size_t rx_cap, rx_len, rx_pages;
    uint64_t wire_bytes;            /* sent */
    uint64_t last_progress_ns;
    /* liveness (storage_mig_resume.h): KEEPALIVE when nothing was sent for keepalive_ns; the
     * peer is gone when nothing came for idle_ns */
    uint64_t last_rx_ns, last_tx_ns, idle_ns, keepalive_ns;
    uint64_t last_data_tx_ns;       /* a caller's bytes taken by the link (not KEEPALIVE's) */
    uint8_t ka[SMIG_HEADER_SIZE];
    size_t ka_off;                  /* SMIG_HEADER_SIZE: no KEEPALIVE half out */
    bool tx_mid;                    /* a caller's message is half out: nothing may come between */
    bool link_down;                 /* the failure was the link's or the peer's silence, not a
                                     * message's (a resume may follow) */
    uint64_t keepalives_sent, keepalives_received;
    uint64_t progress_before_rx;    /* last_progress_ns before the message being received */
};

/* Receives messages of up to rx_payload bytes.  False: out of memory (s is not closed). */
bool smig_chan_open(struct smig_chan *c, const struct migrate_transport *t, void *s,
                    size_t rx_payload);
/* The idle timeout (seconds, 1..SMIG_IDLE_MAX_S; 0: SMIG_IDLE_DEFAULT_S) and the keepalive
 * period that goes with it. */
void smig_chan_set_idle(struct smig_chan *c, uint32_t idle_s);
/* Closes the stream (when open) and gives the buffer back. */
void smig_chan_close(struct smig_chan *c);
/* Sends buf[*off, len): 1 all out, 0 pending, -1 failed (err). */
int smig_chan_send(struct smig_chan *c, const uint8_t *buf, size_t len, size_t *off, char *err,
                   size_t err_size);
/* Pushes what TLS still buffers: 1 all out, 0 pending, -1 failed (err).  Every poll calls
 * it: a message whose last record is still buffered when nothing else follows would
 * otherwise never leave.  It also sends KEEPALIVE when nothing went out for a period and
 * no message is half out. */
int smig_chan_flush(struct smig_chan *c, char *err, size_t err_size);
/* 1: a whole, checked message (*h, *payload) until smig_chan_consume; 0 pending; -1 the
 * stream ended, nothing came for the idle timeout (link_down set for both) or the message
 * is malformed (err).  KEEPALIVE is taken here, never returned. */
int smig_chan_recv(struct smig_chan *c, struct smig_header *h, const uint8_t **payload,
                   char *err, size_t err_size);
void smig_chan_consume(struct smig_chan *c);
/* Reads and drops what has come (a KEEPALIVE after our last message) so that closing the
 * stream ends it cleanly, not with a reset that may take our last message with it. */
void smig_chan_drain(struct smig_chan *c);
/* No byte has moved for MIGRATE_IDLE_NS. */
bool smig_chan_stalled(const struct smig_chan *c);

#endif
