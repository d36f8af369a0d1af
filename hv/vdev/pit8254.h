/*
 * An 8254 programmable interval timer (ports 0x40-0x43) and port 0x61's channel-2 gate
 * and output bits, as Linux uses them to calibrate the TSC.  Channels run at 1.193182
 * MHz of platform time (now_ns); modes 0-5 count (2 and 3 are periodic), with lobyte /
 * hibyte / word access, counter latch and read-back.  Channel 0 pulses IRQ 0 at each
 * terminal count through irq_set, woken by timer_arm(timer_id).  BCD counting is
 * accepted but counts in binary.
 */
#ifndef ATOLL_HV_VDEV_PIT8254_H
#define ATOLL_HV_VDEV_PIT8254_H

#include "hv/state/state_stream.h"
#include "hv/vdev/vdev.h"

#define VPIT_HZ 1193182u
#define VPIT_MIN_PERIOD_NS 50000ull   /* IRQ 0 at most every 50 us */

struct vpit_channel {
    uint32_t count;            /* reload value, 1..0x10000 */
    uint64_t load_ns;          /* when counting (re)started */
    uint64_t paused_ticks;     /* ticks counted when the gate stopped a mode 0/4 count */
    uint16_t latched_count;
    uint8_t count_latched;     /* access mode of the latched count still to read, 0 none */
    bool status_latched;
    uint8_t status;
    uint8_t rw_mode, read_state, write_state, write_latch;
    uint8_t mode_bits;         /* as programmed (0-7) */
    uint8_t mode;              /* effective (6, 7 alias 2, 3) */
    bool bcd, gate, armed, null_count;
};

struct vpit {
    const struct vdev_platform *plat;
    struct vpit_channel ch[3];
    uint8_t port61;            /* bit 0 gate 2, bit 1 speaker data */
    unsigned timer_id, irq;
    uint64_t irq_next_ns;      /* next IRQ 0 pulse, 0 none */
    uint64_t irq_pulses;
};

void vpit_init(struct vpit *p, const struct vdev_platform *plat, unsigned timer_id,
                  unsigned irq);
/* Registers 0x40-0x43 and 0x61. */
bool vpit_register(struct vpit *p, struct vdev_bus *bus);
/* Raises IRQ 0 if its time has come and re-arms the timer. */
void vpit_tick(struct vpit *p);
/* Channel state seen by the guest now. */
uint16_t vpit_count(struct vpit *p, unsigned ch);
bool vpit_out(struct vpit *p, unsigned ch);

/* Save and restore (section 'PITC', hv/state).  Times are in the partition's guest time
 * (now_ns), which a checkpoint carries across.  Restore refuses, with one line in err,
 * state no 8254 can be in, and re-arms the saved IRQ 0 deadline; the device keeps its
 * platform, timer id and IRQ. */
struct state_kind vpit_state_kind(void);
bool vpit_save(const struct vpit *p, struct state_writer *w, uint16_t instance);
int vpit_restore(struct vpit *p, const struct state_section *s, char *err, size_t err_size);
/* The same, registered on bus; reset is power-on with the IRQ 0 timer cancelled. */
bool vpit_register_state(struct vpit *p, struct vdev_bus *bus);

bool vpit_port_read(void *dev, uint16_t port, unsigned size, uint32_t *value);
bool vpit_port_write(void *dev, uint16_t port, unsigned size, uint32_t value);

#endif
