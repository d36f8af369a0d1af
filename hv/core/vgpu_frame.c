#include "hv/core/vgpu_frame.h"

#include "hv/core/hypercall_abi.h"

static bool move(struct vgpu_frame *f, uint32_t from, uint32_t to)
{
    return __atomic_compare_exchange_n(&f->state, &from, to, false, __ATOMIC_ACQ_REL,
                                       __ATOMIC_ACQUIRE);
}

int64_t vgpu_frame_begin(struct vgpu_frame *f)
{
    if (move(f, VGPU_FRAME_IDLE, VGPU_FRAME_COMPOSING))
        return 0;
    if (__atomic_load_n(&f->state, __ATOMIC_ACQUIRE) == VGPU_FRAME_HELD) {
        __atomic_add_fetch(&f->refused, 1, __ATOMIC_RELAXED);
        return -HC_EBUSY;
    }
    return -HC_EINVAL;
}

int64_t vgpu_frame_end(struct vgpu_frame *f)
{
    if (!move(f, VGPU_FRAME_COMPOSING, VGPU_FRAME_IDLE))
        return -HC_EINVAL;
    __atomic_add_fetch(&f->frames, 1, __ATOMIC_RELAXED);
    return 0;
}

bool vgpu_frame_hold(struct vgpu_frame *f)
{
    return move(f, VGPU_FRAME_IDLE, VGPU_FRAME_HELD);
}

void vgpu_frame_release(struct vgpu_frame *f)
{
    move(f, VGPU_FRAME_HELD, VGPU_FRAME_IDLE);
}

void vgpu_frame_reset(struct vgpu_frame *f)
{
    move(f, VGPU_FRAME_COMPOSING, VGPU_FRAME_IDLE);
}
