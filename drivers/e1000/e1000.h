/*
 * Intel 8254x (e1000) Ethernet, polled: the 82540EM that QEMU and Bochs emulate (8086:100E)
 * and its close relatives (100F, 10D3).  Frames are copied into and out of fixed ring
 * buffers; nothing here allocates after e1000_probe.
 */
#ifndef ATOLL_DRIVERS_E1000_E1000_H
#define ATOLL_DRIVERS_E1000_E1000_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "drivers/pci/pci.h"
#include "drivers/e1000/e1000_regs.h"

#define E1000_RX_RING   64
#define E1000_TX_RING   64
#define E1000_BUF_SIZE  2048
#define E1000_FRAME_MAX 1514   /* without the CRC, which the NIC adds and strips */

struct e1000_stats {
    uint64_t rx_frames, rx_bytes, rx_dropped;
    uint64_t tx_frames, tx_bytes, tx_ring_full;
};

struct e1000 {
    struct pci_device pci;
    volatile uint8_t *regs;
    volatile struct e1000_rx_desc *rx;
    volatile struct e1000_tx_desc *tx;
    uint8_t *rx_buf;                   /* E1000_RX_RING * E1000_BUF_SIZE */
    uint8_t *tx_buf;
    unsigned rx_next;                  /* next descriptor the NIC fills */
    unsigned tx_tail;                  /* next descriptor we fill */
    uint8_t mac[6];
    struct e1000_stats stats;
};

/* Finds the first supported NIC and starts it.  0, or -1 with one line in err. */
int e1000_probe(struct e1000 *nic, char *err, size_t err_size);
bool e1000_link_up(const struct e1000 *nic);
/* Transmit in two steps: the buffer of the next free descriptor (E1000_BUF_SIZE bytes;
 * NULL when the ring is full), then e1000_tx_send to hand len bytes of it to the NIC. */
void *e1000_tx_buffer(struct e1000 *nic);
void e1000_tx_send(struct e1000 *nic, size_t len);
/* The next received frame: its bytes stay valid until e1000_rx_release.  NULL when none. */
const void *e1000_rx_peek(struct e1000 *nic, size_t *len);
void e1000_rx_release(struct e1000 *nic);

#endif
