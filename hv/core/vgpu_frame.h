/*
 * The display's frame lock (docs/vgpu.md, "Frames you can look at"): the video service
 * composes between HC_DISPLAY_FRAME(BEGIN) and HC_DISPLAY_FRAME(END); a capture holds the
 * display between two frames, so what it reads is a completed frame, and while it holds
 * it the service's BEGIN is refused (-HC_EBUSY: the service composes on its next round;
 * its damaged tiles wait).  Portable: one word changed by compare-and-swap, no waiting
 * here (the caller decides how long a capture waits for a compose to end).
 */
#ifndef ATOLL_HV_CORE_VGPU_FRAME_H
#define ATOLL_HV_CORE_VGPU_FRAME_H
#include <stdbool.h>
#include <stdint.h>

enum vgpu_frame_state { VGPU_FRAME_IDLE = 0, VGPU_FRAME_COMPOSING, VGPU_FRAME_HELD };

struct vgpu_frame {
    uint32_t state;                 /* enum vgpu_frame_state */
    uint64_t frames;                /* composes ended */
    uint64_t refused;               /* BEGINs refused while held */
};

/* The service starts a compose: 0; -HC_EBUSY while a capture holds the display;
 * -HC_EINVAL when it is composing already. */
int64_t vgpu_frame_begin(struct vgpu_frame *f);
/* Its compose ended: 0; -HC_EINVAL when it was not composing. */
int64_t vgpu_frame_end(struct vgpu_frame *f);
/* A capture: idle becomes held (true); false while the service composes (or another
 * capture holds it). */
bool vgpu_frame_hold(struct vgpu_frame *f);
void vgpu_frame_release(struct vgpu_frame *f);
/* The service ended (perhaps in the middle of a compose): no compose is in progress. */
void vgpu_frame_reset(struct vgpu_frame *f);

#endif
