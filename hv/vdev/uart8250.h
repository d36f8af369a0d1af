/*
 * An emulated 8250/16550A UART (the PC's COM1 at 0x3f8, IRQ 4).
 *
 * Output goes to the platform console as each byte is written; transmission is
 * instant, so THRE/TEMT are always set and a THR-empty interrupt follows every write.
 * FIFOs are reported as 16550A so Linux moves 16 bytes per interrupt.  Input comes from
 * the hypervisor through vuart_input() (or from THR itself in loopback mode).
 */
#ifndef ATOLL_HV_VDEV_UART8250_H
#define ATOLL_HV_VDEV_UART8250_H

#include "hv/vdev/vdev.h"

#define VUART_COM1_BASE 0x3f8
#define VUART_COM1_IRQ  4
#define VUART_RX_QUEUE  256

struct vuart {
    const struct vdev_platform *plat;
    uint16_t base;
    unsigned irq;
    uint8_t ier, lcr, mcr, lsr_err, msr, scr, fcr;
    uint16_t divisor;
    bool thr_pending;     /* THR-empty interrupt waiting for IIR read or THR write */
    bool irq_level;       /* what we last drove onto the line */
    uint8_t rx[VUART_RX_QUEUE];
    unsigned rx_head, rx_count;
    uint64_t tx_bytes, rx_overruns;
};

void vuart_init(struct vuart *u, const struct vdev_platform *plat, uint16_t base,
                   unsigned irq);
/* Registers ports base..base+7. */
bool vuart_register(struct vuart *u, struct vdev_bus *bus);
/* Reset, save and restore on bus (section 'UART': registers, divisor, receive queue). */
bool vuart_register_state(struct vuart *u, struct vdev_bus *bus);
/* Queues input bytes for the guest; returns how many fit. */
size_t vuart_input(struct vuart *u, const void *buf, size_t len);
/* Current divisor latch (baud = 115200 / divisor). */
uint16_t vuart_divisor(const struct vuart *u);

bool vuart_port_read(void *dev, uint16_t port, unsigned size, uint32_t *value);
bool vuart_port_write(void *dev, uint16_t port, unsigned size, uint32_t value);

#endif
