/*
 * A pair of cascaded 8259A interrupt controllers (master 0x20/0x21, slave 0xa0/0xa1
 * on the master's IRQ 2) with the ELCR edge/level registers at 0x4d0/0x4d1.
 * All lines are masked after reset; ICW1 clears the mask as on the real part.
 * The INTR output goes to the LAPIC's LINT0 (ExtINT): vpic_output() says whether it
 * is raised, vpic_peek() which vector an INTA would return, vpic_ack() performs
 * that INTA.
 */
#ifndef ATOLL_HV_VDEV_PIC8259_H
#define ATOLL_HV_VDEV_PIC8259_H

#include "hv/vdev/vdev.h"

struct vpic_chip {
    uint8_t irr, isr, imr;
    uint8_t last_level;      /* input line levels, for edge detection */
    uint8_t elcr, elcr_mask;
    uint8_t vector_base;
    uint8_t priority_add;    /* lowest-priority line is (priority_add - 1) */
    uint8_t init_state;      /* 0 ready, 1 expects ICW2, 2 ICW3, 3 ICW4 */
    bool init4, single_mode, auto_eoi, rotate_on_auto_eoi;
    bool special_mask, special_fully_nested, poll, read_isr;
};

struct vpic {
    struct vpic_chip chip[2];   /* 0 master, 1 slave */
    bool output;
    /* Called when the INTR output rises (may be NULL). */
    void (*intr_changed)(void *ctx, bool level);
    void *ctx;
    uint64_t spurious;
};

void vpic_init(struct vpic *p, void (*intr_changed)(void *ctx, bool level), void *ctx);
/* Registers 0x20-0x21, 0xa0-0xa1 and 0x4d0-0x4d1. */
bool vpic_register(struct vpic *p, struct vdev_bus *bus);
/* Reset, save and restore of both chips on bus (section 'PIC8'). */
bool vpic_register_state(struct vpic *p, struct vdev_bus *bus);
/* Drive ISA line irq (0-15). */
void vpic_set_irq(struct vpic *p, unsigned irq, bool level);
bool vpic_output(const struct vpic *p);
/* The vector an INTA would return now, or -1 when the output is low. */
int vpic_peek(const struct vpic *p);
/* INTA: acknowledge and return the vector (spurious IRQ 7/15 vector when none). */
uint8_t vpic_ack(struct vpic *p);

bool vpic_port_read(void *dev, uint16_t port, unsigned size, uint32_t *value);
bool vpic_port_write(void *dev, uint16_t port, unsigned size, uint32_t value);

#endif
