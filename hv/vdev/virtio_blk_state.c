/* virtio-blk reset, save and restore: the transport's section 'VPCI' and the disk's 'VBLK'. */
#include "hv/lib/format.h"
#include "hv/state/state_desc.h"
#include "hv/vdev/virtio_blk.h"
#include "hv/vdev/virtio_blk_state.h"

#include <string.h>

/*
 * Only what a quiescent device holds: the checkpoint drains requests first, so nothing is
 * at the backend and nothing is between two pieces.  The disk's geometry is carried to be
 * compared (a state is only good for the same disk), the serial to be kept.  Version 2:
 * the heads of requests a live migration cancelled in flight (virtio_blk_cancel), which
 * the restored device starts again.
 */
static const struct state_field vblk_fields[] = {
    STATE_U64(struct virtio_blk, capacity, 1),
    STATE_U32(struct virtio_blk, sector_size, 1),
    STATE_BYTES(struct virtio_blk, serial, 1),
    STATE_U16(struct virtio_blk, reissue_count, 2),
    STATE_BYTES(struct virtio_blk, reissue, 2),
};

static const struct state_desc vblk_desc =
    STATE_DESC("virtio-blk", STATE_ID('V', 'B', 'L', 'K'), 2, 1, vblk_fields);

static bool vblk_state_save(void *dev, struct state_writer *w)
{
    struct virtio_blk *b = dev;
    unsigned inflight = virtio_blk_inflight(b);
    if (inflight) {
        w->failed = true;
        fmt_snprintf(w->err, sizeof(w->err), "state: 'virtio-blk' instance %u: %u request%s "
                     "in flight (drain the disk first)", b->vp.state_instance, inflight,
                     inflight == 1 ? "" : "s");
        return false;
    }
    return state_save(w, &vblk_desc, b->vp.state_instance, b);
}

static int vblk_state_restore(void *dev, const struct state_section *s, char *err, size_t n)
{
    struct virtio_blk *b = dev;
    struct virtio_blk *t = b;
    uint64_t capacity = b->capacity;
    uint32_t sector_size = b->sector_size;
    char serial[VIRTIO_BLK_ID_BYTES];
    memcpy(serial, b->serial, sizeof(serial));
    uint16_t reissue_count = b->reissue_count;
    uint16_t reissue[VIRTQ_MAX_SIZE];
    memcpy(reissue, b->reissue, sizeof(reissue));
    b->reissue_count = 0;               /* a version 1 state has none */
    /* Loaded in place (the device is too large for a scratch copy on a kernel stack) and
     * put back on refusal: only these three fields are written. */
    int rc = state_load(s, &vblk_desc, t, err, n);
    if (rc == 0 && (b->capacity != capacity || b->sector_size != sector_size)) {
        fmt_snprintf(err, n, "state: 'virtio-blk' instance %u: disk of %llu bytes in %u-byte "
                     "sectors, the state is of %llu bytes in %u-byte sectors", s->instance,
                     (unsigned long long)capacity, sector_size,
                     (unsigned long long)b->capacity, b->sector_size);
        rc = -1;
    }
    if (rc == 0 && b->reissue_count > VIRTQ_MAX_SIZE) {
        fmt_snprintf(err, n, "state: 'virtio-blk' instance %u: %u requests to start again, at "
                     "most %u", s->instance, b->reissue_count, VIRTQ_MAX_SIZE);
        rc = -1;
    }
    if (rc) {
        b->capacity = capacity;
        b->sector_size = sector_size;
        memcpy(b->serial, serial, sizeof(serial));
        b->reissue_count = reissue_count;
        memcpy(b->reissue, reissue, sizeof(reissue));
        return -1;
    }
    /* Requests cancelled in flight and those the driver queued but the device had not
     * taken yet are started at the first poll, as after a notify (a head the ring does
     * not hold then puts the device in NEEDS_RESET, as a broken ring does). */
    const struct vdev_platform *p = b->vp.plat;
    if (b->poll_timer != VIRTIO_BLK_NO_TIMER && p->timer_arm && virtio_pci_driver_ok(&b->vp)) {
        uint64_t now = p->now_ns ? p->now_ns(p->ctx) : 0;
        p->timer_arm(p->ctx, b->poll_timer, now ? now : 1);
    }
    return 0;
}

bool virtio_blk_register_state(struct virtio_blk *b, struct vdev_bus *bus, uint16_t instance)
{
    if (!virtio_pci_register_state(&b->vp, bus, instance))
        return false;
    struct vdev_state_ops ops = {
        .name = "virtio-blk", .kind = state_desc_kind(&vblk_desc), .dev = b,
        .save = vblk_state_save, .restore = vblk_state_restore,
        .per_instance = true, .instance = instance,
    };
    return vdev_bus_add_state(bus, &ops);
}
