/*
 * The MC146818 CMOS RTC at 0x70 (index; bit 7 masks NMIs) / 0x71 (data).  Time comes
 * from plat->wall_clock_s when present, else from a fixed epoch advanced by now_ns; a
 * guest that sets the clock shifts it by an offset.  Status A reports the 32.768 kHz
 * divider and UIP during the last 244 us of each second; status B starts in BCD, 24-hour
 * mode and honours DM and 24/12; status D reports valid RAM.  No RTC interrupts (IRQ 8)
 * are generated; status C reads 0.  Bytes 0x0e-0x7f are plain CMOS RAM.
 */
#ifndef ATOLL_HV_VDEV_CMOS_RTC_H
#define ATOLL_HV_VDEV_CMOS_RTC_H

#include "hv/state/state_stream.h"
#include "hv/vdev/vdev.h"

#define VRTC_FIXED_EPOCH 1704067200ull   /* 2024-01-01 00:00:00 UTC */

struct vrtc {
    const struct vdev_platform *plat;
    uint8_t index;
    bool nmi_masked;
    uint8_t ram[128];          /* status, alarm and NVRAM bytes; time bytes computed */
    int64_t offset_s;          /* guest-set time minus platform time */
};

void vrtc_init(struct vrtc *r, const struct vdev_platform *plat);
bool vrtc_register(struct vrtc *r, struct vdev_bus *bus);
/* Seconds since 1970 as the guest's clock reads them now. */
uint64_t vrtc_time(const struct vrtc *r);
bool vrtc_nmi_masked(const struct vrtc *r);

/* Save and restore (section 'CMOS', hv/state): index, NMI mask, the RAM bytes and the
 * guest's clock offset from platform time.  Restore refuses state no RTC can be in. */
struct state_kind vrtc_state_kind(void);
bool vrtc_save(const struct vrtc *r, struct state_writer *w, uint16_t instance);
int vrtc_restore(struct vrtc *r, const struct state_section *s, char *err, size_t err_size);
/* The same, registered on bus; reset is power-on (NVRAM cleared). */
bool vrtc_register_state(struct vrtc *r, struct vdev_bus *bus);

#endif
