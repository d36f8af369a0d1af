/*
 * One CPU engine operation split into bands of rows, one band a lane (vsp_lanes in
 * vsp_engine.h), each band run by the engine's one-CPU operation `one`.  Each returns false
 * without doing anything when the operation is not split: no lanes, too small to be worth
 * it, already begun (pos not at its start), a budget short of its worst cost (a cut must
 * fall where the one-CPU engine's would), or a source sharing memory with the destination
 * (the bands' order would show).  Otherwise it completes the operation: pos at its end,
 * *budget less the units the bands used, the same units as one CPU.
 */
#ifndef ATOLL_GUEST_VSP_VSP_ENGINE_LANES_H
#define ATOLL_GUEST_VSP_VSP_ENGINE_LANES_H
#include "guest/vsp/vsp_engine.h"

#define VSP_LANES_MAX 16
/* Fewer pixels than this are not split unless the lanes say otherwise (min_pixels): handing
 * a band to another CPU costs an interrupt. */
#define VSP_LANES_MIN_PIXELS (64u * 1024)

bool vsp_lanes_fill(const struct vsp_engine_ops *one, const struct vsp_surface *dst,
                    const struct vgpu_rect *r, uint32_t argb, struct vsp_pos *pos,
                    int64_t *budget);
bool vsp_lanes_blit(const struct vsp_engine_ops *one, const struct vsp_surface *dst,
                    uint32_t dx, uint32_t dy, const struct vsp_surface *src,
                    const struct vgpu_rect *sr, struct vsp_pos *pos, int64_t *budget);
bool vsp_lanes_draw(const struct vsp_engine_ops *one, const struct vsp_draw *d,
                    struct vsp_pos *pos, int64_t *budget);

#endif
