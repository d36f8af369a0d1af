/* The partition's device bus: port and MMIO range tables, dispatch, unclaimed counters. */
#include "hv/vdev/vdev.h"
#include "hv/vdev/vdev_util.h"
#include "hv/lib/format.h"

#include <string.h>

void vdev_bus_init(struct vdev_bus *bus)
{
    memset(bus, 0, sizeof(*bus));
}

static bool ranges_overlap(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
    return a < b + blen && b < a + alen;
}

bool vdev_bus_add_ports(struct vdev_bus *bus, const struct vdev_port_range *r)
{
    if (r->count == 0 || (uint32_t)r->base + r->count > 0x10000u)
        return false;
    if (bus->port_count >= VDEV_MAX_PORT_RANGES)
        return false;
    for (unsigned i = 0; i < bus->port_count; i++) {
        const struct vdev_port_range *o = &bus->ports[i];
        if (ranges_overlap(r->base, r->count, o->base, o->count))
            return false;
    }
    bus->ports[bus->port_count++] = *r;
    return true;
}

bool vdev_bus_add_mmio(struct vdev_bus *bus, const struct vdev_mmio_range *r)
{
    if (r->size == 0 || r->base + r->size < r->base)
        return false;
    if (bus->mmio_count >= VDEV_MAX_MMIO_RANGES)
        return false;
    for (unsigned i = 0; i < bus->mmio_count; i++) {
        const struct vdev_mmio_range *o = &bus->mmio[i];
        if (ranges_overlap(r->base, r->size, o->base, o->size))
            return false;
    }
    bus->mmio[bus->mmio_count++] = *r;
    return true;
}

static const struct vdev_port_range *find_port(const struct vdev_bus *bus, uint16_t port)
{
    for (unsigned i = 0; i < bus->port_count; i++) {
        const struct vdev_port_range *r = &bus->ports[i];
        if (port >= r->base && port - r->base < r->count)
            return r;
    }
    return NULL;
}

static bool port_dispatch(const struct vdev_port_range *r, uint16_t port, unsigned size,
                          bool write, uint32_t *value)
{
    if (!r)
        return false;
    if (write)
        return r->write && r->write(r->dev, port, size, *value);
    return r->read && r->read(r->dev, port, size, value);
}

void vdev_bus_io(struct vdev_bus *bus, uint16_t port, unsigned size, bool write, uint32_t *value)
{
    bool valid = size == 1 || size == 2 || size == 4;
    uint32_t mask = valid ? (uint32_t)vdev_size_mask(size) : 0xffffffffu;
    if (write)
        *value &= mask;
    bool ok = valid && port_dispatch(find_port(bus, port), port, size, write, value);
    if (!ok) {
        if (write)
            bus->stats.unclaimed_port_writes++;
        else
            bus->stats.unclaimed_port_reads++;
        if (!write)
            *value = mask;
    }
    if (!write)
        *value &= mask;
}

static const struct vdev_mmio_range *find_mmio(const struct vdev_bus *bus, uint64_t gpa)
{
    for (unsigned i = 0; i < bus->mmio_count; i++) {
        const struct vdev_mmio_range *r = &bus->mmio[i];
        if (gpa >= r->base && gpa - r->base < r->size)
            return r;
    }
    return NULL;
}

static bool mmio_dispatch(const struct vdev_mmio_range *r, uint64_t gpa, unsigned size,
                          bool write, uint64_t *value)
{
    uint64_t off = gpa - r->base;
    if (size > r->size - off)
        return false;
    if (write)
        return r->write && r->write(r->dev, off, size, *value);
    return r->read && r->read(r->dev, off, size, value);
}

bool vdev_bus_mmio(struct vdev_bus *bus, uint64_t gpa, unsigned size, bool write, uint64_t *value)
{
    const struct vdev_mmio_range *r = find_mmio(bus, gpa);
    if (!r)
        return false;
    bool valid = size == 1 || size == 2 || size == 4 || size == 8;
    uint64_t mask = valid ? vdev_size_mask(size) : ~0ull;
    if (write)
        *value &= mask;
    if (!valid || !mmio_dispatch(r, gpa, size, write, value)) {
        if (write) {
            bus->stats.unclaimed_mmio_writes++;
        } else {
            bus->stats.unclaimed_mmio_reads++;
            *value = mask;
        }
    }
    if (!write)
        *value &= mask;
    return true;
}

#define UNASSIGNED_NEAR_PAGES 16

enum vdev_unassigned_report vdev_bus_unassigned(struct vdev_bus *bus, uint64_t gpa, bool write)
{
    if (write)
        bus->stats.unclaimed_mmio_writes++;
    else
        bus->stats.unclaimed_mmio_reads++;
    uint64_t page = gpa >> 12;
    for (unsigned i = 0; i < bus->unassigned_count; i++) {
        struct vdev_unassigned_range *r = &bus->unassigned[i];
        if (page + UNASSIGNED_NEAR_PAGES >= r->first && page <= r->last + UNASSIGNED_NEAR_PAGES) {
            r->first = page < r->first ? page : r->first;
            r->last = page > r->last ? page : r->last;
            return VDEV_UNASSIGNED_QUIET;
        }
    }
    if (bus->unassigned_count == VDEV_MAX_UNASSIGNED_RANGES)
        return VDEV_UNASSIGNED_QUIET;
    bus->unassigned[bus->unassigned_count++] = (struct vdev_unassigned_range){ page, page };
    return bus->unassigned_count == VDEV_MAX_UNASSIGNED_RANGES ? VDEV_UNASSIGNED_LAST_REPORT
                                                               : VDEV_UNASSIGNED_REPORT;
}

/* ---- reset, save and restore --------------------------------------------------------- */

bool vdev_bus_add_state(struct vdev_bus *bus, const struct vdev_state_ops *ops)
{
    if (bus->state_count >= VDEV_MAX_STATE_OPS || !ops->save || !ops->restore)
        return false;
    for (unsigned i = 0; i < bus->state_count; i++) {
        const struct vdev_state_ops *o = &bus->state_ops[i];
        if (o->kind.id != ops->kind.id)
            continue;
        if (!o->per_instance || !ops->per_instance || o->instance == ops->instance)
            return false;
        if (o->kind.min_version != ops->kind.min_version ||
            o->kind.max_version != ops->kind.max_version)
            return false;
    }
    bus->state_ops[bus->state_count++] = *ops;
    return true;
}

void vdev_bus_reset_state(struct vdev_bus *bus)
{
    for (unsigned i = 0; i < bus->state_count; i++)
        if (bus->state_ops[i].reset)
            bus->state_ops[i].reset(bus->state_ops[i].dev);
}

static bool id_seen_before(const struct vdev_bus *bus, unsigned i)
{
    for (unsigned j = 0; j < i; j++)
        if (bus->state_ops[j].kind.id == bus->state_ops[i].kind.id)
            return true;
    return false;
}

/* The per_instance registration of id with the smallest instance above `after` (any
 * instance when first); NULL when none is left. */
static const struct vdev_state_ops *next_instance(const struct vdev_bus *bus, uint32_t id,
                                                  bool first, uint16_t after)
{
    const struct vdev_state_ops *best = NULL;
    for (unsigned i = 0; i < bus->state_count; i++) {
        const struct vdev_state_ops *o = &bus->state_ops[i];
        if (o->kind.id != id || (!first && o->instance <= after))
            continue;
        if (!best || o->instance < best->instance)
            best = o;
    }
    return best;
}

static bool save_failed(struct state_writer *w, const struct vdev_state_ops *o)
{
    if (!w->failed) {
        w->failed = true;
        fmt_snprintf(w->err, sizeof(w->err), "state: device '%s' could not be saved", o->name);
    }
    return false;
}

bool vdev_bus_save_state(struct vdev_bus *bus, struct state_writer *w)
{
    for (unsigned i = 0; i < bus->state_count; i++) {
        const struct vdev_state_ops *o = &bus->state_ops[i];
        if (id_seen_before(bus, i))
            continue;
        if (!o->per_instance) {
            if (!o->save(o->dev, w) || w->failed)
                return save_failed(w, o);
            continue;
        }
        for (const struct vdev_state_ops *n = next_instance(bus, o->kind.id, true, 0); n;
             n = next_instance(bus, o->kind.id, false, n->instance))
            if (!n->save(n->dev, w) || w->failed)
                return save_failed(w, n);
    }
    return !w->failed;
}

unsigned vdev_bus_state_kinds(const struct vdev_bus *bus, struct state_kind *out, unsigned max)
{
    unsigned n = 0;
    for (unsigned i = 0; i < bus->state_count && n < max; i++)
        if (!id_seen_before(bus, i))
            out[n++] = bus->state_ops[i].kind;
    return n;
}

int vdev_bus_restore_section(struct vdev_bus *bus, const struct state_section *s, char *err,
                             size_t err_size)
{
    bool id_known = false;
    for (unsigned i = 0; i < bus->state_count; i++) {
        struct vdev_state_ops *o = &bus->state_ops[i];
        if (o->kind.id != s->id)
            continue;
        id_known = true;
        if (o->per_instance && o->instance != s->instance)
            continue;
        if (s->version < o->kind.min_version || s->version > o->kind.max_version) {
            fmt_snprintf(err, err_size, "state: '%s' version %u not understood (this build "
                         "reads %u-%u)", o->name, s->version, o->kind.min_version,
                         o->kind.max_version);
            return -1;
        }
        return o->restore(o->dev, s, err, err_size) == 0 ? 0 : -1;
    }
    if (!id_known)
        return 1;
    char name[5];
    state_id_name(s->id, name);
    fmt_snprintf(err, err_size, "state: section '%s' instance %u: no such device here", name,
                 s->instance);
    return -1;
}
