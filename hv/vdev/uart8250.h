/*
 * An emulated 8250/16550A UART (the PC's COM1 at 0x3f8, IRQ 4).
 *
 * Output goes to the platform console as each byte is written; transmission is
 * instant, so THRE/TEMT are always set and a THR-empty interrupt follows every write.
 * FIFOs are reported as 16550A so Linux moves 16 bytes per interrupt.  Input comes from
 * the hypervisor through uart8250_input() (or from THR itself in loopback mode).
 */
#ifndef ATOLL_HV_VDEV_UART8250_H
#define ATOLL_HV_VDEV_UART8250_H

#include "hv/vdev/vdev.h"

#define UART8250_COM1_BASE 0x3f8
#define UART8250_COM1_IRQ  4
#define UART8250_RX_QUEUE  256

struct uart8250 {
    const struct vdev_platform *plat;
    uint16_t base;
    unsigned irq;
    uint8_t ier, lcr, mcr, lsr_err, msr, scr, fcr;
    uint16_t divisor;
    bool thr_pending;     /* THR-empty interrupt waiting for IIR read or THR write */
    bool irq_level;       /* what we last drove onto the line */
    uint8_t rx[UART8250_RX_QUEUE];
    unsigned rx_head, rx_count;
    uint64_t tx_bytes, rx_overruns;
};

void uart8250_init(struct uart8250 *u, const struct vdev_platform *plat, uint16_t base,
                   unsigned irq);
/* Registers ports base..base+7. */
bool uart8250_register(struct uart8250 *u, struct vdev_bus *bus);
/* Queues input bytes for the guest; returns how many fit. */
size_t uart8250_input(struct uart8250 *u, const void *buf, size_t len);
/* Current divisor latch (baud = 115200 / divisor). */
uint16_t uart8250_divisor(const struct uart8250 *u);

bool uart8250_port_read(void *dev, uint16_t port, unsigned size, uint32_t *value);
bool uart8250_port_write(void *dev, uint16_t port, unsigned size, uint32_t value);

#endif
