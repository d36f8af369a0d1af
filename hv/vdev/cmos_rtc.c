/* CMOS RTC: calendar registers from platform time, status registers, NVRAM. */
#include "hv/vdev/cmos_rtc.h"
#include "hv/lib/format.h"
#include "hv/state/state_desc.h"
#include "hv/vdev/vdev_util.h"

#include <string.h>

enum {
    R_SEC = 0, R_MIN = 2, R_HOUR = 4, R_WDAY = 6, R_MDAY = 7, R_MONTH = 8, R_YEAR = 9,
    R_A = 0x0a, R_B = 0x0b, R_C = 0x0c, R_D = 0x0d, R_CENTURY = 0x32,
};

#define B_SET   0x80
#define B_BIN   0x04
#define B_24H   0x02

struct civil { unsigned year, month, mday, wday, hour, min, sec; };

void vrtc_init(struct vrtc *r, const struct vdev_platform *plat)
{
    memset(r, 0, sizeof(*r));
    r->plat = plat;
    r->ram[R_A] = 0x26;
    r->ram[R_B] = B_24H;
    r->ram[R_D] = 0x80;
}

static uint64_t platform_time(const struct vrtc *r)
{
    if (r->plat->wall_clock_s)
        return r->plat->wall_clock_s(r->plat->ctx);
    uint64_t ns = r->plat->now_ns ? r->plat->now_ns(r->plat->ctx) : 0;
    return VRTC_FIXED_EPOCH + ns / VDEV_NS_PER_S;
}

uint64_t vrtc_time(const struct vrtc *r)
{
    /* offset_s comes from a restored state stream too: the sum must not overflow. */
    int64_t t;
    if (__builtin_add_overflow((int64_t)(platform_time(r) & 0x7fffffffffffull), r->offset_s, &t))
        return r->offset_s < 0 ? 0 : 0x7fffffffffffffffull;
    return t < 0 ? 0 : (uint64_t)t;
}

bool vrtc_nmi_masked(const struct vrtc *r)
{
    return r->nmi_masked;
}

/* Howard Hinnant's days-from-civil and its inverse (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static struct civil civil_from_time(uint64_t t)
{
    struct civil c;
    int64_t z = (int64_t)(t / 86400) + 719468;
    uint64_t s = t % 86400;
    c.hour = (unsigned)(s / 3600);
    c.min = (unsigned)(s / 60 % 60);
    c.sec = (unsigned)(s % 60);
    c.wday = (unsigned)((t / 86400 + 4) % 7) + 1;   /* 1970-01-01 was a Thursday; 1 = Sunday */
    int64_t era = z / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    c.mday = doy - (153 * mp + 2) / 5 + 1;
    c.month = mp < 10 ? mp + 3 : mp - 9;
    c.year = (unsigned)((int64_t)yoe + era * 400 + (c.month <= 2));
    return c;
}

static uint64_t time_from_civil(const struct civil *c)
{
    int64_t days = days_from_civil(c->year, c->month, c->mday);
    int64_t t = days * 86400 + c->hour * 3600 + c->min * 60 + c->sec;
    return t < 0 ? 0 : (uint64_t)t;
}

static uint8_t to_bcd(unsigned v)
{
    return (uint8_t)(((v / 10) % 10) << 4 | (v % 10));
}

static unsigned from_bcd(uint8_t v)
{
    return (v >> 4) * 10u + (v & 0xf);
}

static uint8_t encode(const struct vrtc *r, unsigned v)
{
    return r->ram[R_B] & B_BIN ? (uint8_t)v : to_bcd(v);
}

static unsigned decode(const struct vrtc *r, uint8_t v)
{
    return r->ram[R_B] & B_BIN ? v : from_bcd(v);
}

static uint8_t encode_hour(const struct vrtc *r, unsigned h)
{
    if (r->ram[R_B] & B_24H)
        return encode(r, h);
    unsigned h12 = h % 12 ? h % 12 : 12;
    return (uint8_t)(encode(r, h12) | (h >= 12 ? 0x80 : 0));
}

static unsigned decode_hour(const struct vrtc *r, uint8_t v)
{
    if (r->ram[R_B] & B_24H)
        return decode(r, v);
    unsigned h = decode(r, v & 0x7f) % 12;
    return (v & 0x80) ? h + 12 : h;
}

static bool update_in_progress(const struct vrtc *r)
{
    if (r->ram[R_B] & B_SET || !r->plat->now_ns)
        return false;
    return r->plat->now_ns(r->plat->ctx) % VDEV_NS_PER_S >= VDEV_NS_PER_S - 244000;
}

static uint8_t read_time_reg(const struct vrtc *r, uint8_t idx)
{
    struct civil c = civil_from_time(vrtc_time(r));
    switch (idx) {
    case R_SEC:     return encode(r, c.sec);
    case R_MIN:     return encode(r, c.min);
    case R_HOUR:    return encode_hour(r, c.hour);
    case R_WDAY:    return encode(r, c.wday);
    case R_MDAY:    return encode(r, c.mday);
    case R_MONTH:   return encode(r, c.month);
    case R_YEAR:    return encode(r, c.year % 100);
    default:        return encode(r, c.year / 100);   /* R_CENTURY */
    }
}

static bool is_time_reg(uint8_t idx)
{
    return idx == R_SEC || idx == R_MIN || idx == R_HOUR || idx == R_WDAY ||
           idx == R_MDAY || idx == R_MONTH || idx == R_YEAR || idx == R_CENTURY;
}

/* The guest sets one calendar field: move the clock offset so it reads back. */
static void write_time_reg(struct vrtc *r, uint8_t idx, uint8_t v)
{
    struct civil c = civil_from_time(vrtc_time(r));
    unsigned d = decode(r, v);
    switch (idx) {
    case R_SEC:   c.sec = d % 60; break;
    case R_MIN:   c.min = d % 60; break;
    case R_HOUR:  c.hour = decode_hour(r, v) % 24; break;
    case R_WDAY:  return;   /* derived from the date */
    case R_MDAY:  c.mday = d >= 1 && d <= 31 ? d : 1; break;
    case R_MONTH: c.month = d >= 1 && d <= 12 ? d : 1; break;
    case R_YEAR:  c.year = c.year / 100 * 100 + d % 100; break;
    default:      c.year = (d % 100) * 100 + c.year % 100; break;
    }
    if (c.year < 1970)
        c.year = 1970;
    int64_t want = (int64_t)time_from_civil(&c);
    r->offset_s += want - (int64_t)vrtc_time(r);
}

static uint8_t read_data(struct vrtc *r)
{
    uint8_t idx = r->index;
    if (is_time_reg(idx))
        return read_time_reg(r, idx);
    if (idx == R_A)
        return (uint8_t)((r->ram[R_A] & 0x7f) | (update_in_progress(r) ? 0x80 : 0));
    if (idx == R_C)
        return 0;
    return r->ram[idx];
}

static void write_data(struct vrtc *r, uint8_t v)
{
    uint8_t idx = r->index;
    if (is_time_reg(idx))
        write_time_reg(r, idx, v);
    else if (idx == R_A)
        r->ram[R_A] = v & 0x7f;
    else if (idx == R_B)
        r->ram[R_B] = v;
    else if (idx != R_C && idx != R_D)
        r->ram[idx] = v;
}

static bool rtc_read(void *dev, uint16_t port, unsigned size, uint32_t *value)
{
    struct vrtc *r = dev;
    if (size != 1)
        return false;
    *value = port == 0x71 ? read_data(r) : 0xff;   /* the index port is write-only */
    return true;
}

static bool rtc_write(void *dev, uint16_t port, unsigned size, uint32_t value)
{
    struct vrtc *r = dev;
    if (size != 1)
        return false;
    if (port == 0x70) {
        r->index = value & 0x7f;
        r->nmi_masked = (value & 0x80) != 0;
    } else {
        write_data(r, (uint8_t)value);
    }
    return true;
}

bool vrtc_register(struct vrtc *r, struct vdev_bus *bus)
{
    struct vdev_port_range p = {
        .base = 0x70, .count = 2, .read = rtc_read, .write = rtc_write, .dev = r,
    };
    return vdev_bus_add_ports(bus, &p);
}

/* ---- save and restore --------------------------------------------------------------- */

static const struct state_field vrtc_fields[] = {
    STATE_U8(struct vrtc, index, 1),
    STATE_BOOL(struct vrtc, nmi_masked, 1),
    STATE_BYTES(struct vrtc, ram, 1),
    STATE_U64(struct vrtc, offset_s, 1),
};

static const struct state_desc vrtc_desc =
    STATE_DESC("cmos", STATE_ID('C', 'M', 'O', 'S'), 1, 1, vrtc_fields);

struct state_kind vrtc_state_kind(void)
{
    return state_desc_kind(&vrtc_desc);
}

bool vrtc_save(const struct vrtc *r, struct state_writer *w, uint16_t instance)
{
    return state_save(w, &vrtc_desc, instance, r);
}

int vrtc_restore(struct vrtc *r, const struct state_section *s, char *err, size_t err_size)
{
    struct vrtc t = *r;
    if (state_load(s, &vrtc_desc, &t, err, err_size))
        return -1;
    if (t.index > 0x7f || t.ram[R_A] & 0x80) {
        fmt_snprintf(err, err_size, "state: 'cmos' instance %u: index 0x%x or status A 0x%x "
                     "out of range", s->instance, t.index, t.ram[R_A]);
        return -1;
    }
    *r = t;
    return 0;
}

static void vrtc_state_reset(void *dev)
{
    struct vrtc *r = dev;
    vrtc_init(r, r->plat);
}

static bool vrtc_state_save(void *dev, struct state_writer *w)
{
    return vrtc_save(dev, w, 0);
}

static int vrtc_state_restore(void *dev, const struct state_section *s, char *err, size_t n)
{
    return vrtc_restore(dev, s, err, n);
}

bool vrtc_register_state(struct vrtc *r, struct vdev_bus *bus)
{
    struct vdev_state_ops ops = {
        .name = "cmos", .kind = vrtc_state_kind(), .dev = r,
        .reset = vrtc_state_reset, .save = vrtc_state_save, .restore = vrtc_state_restore,
    };
    return vdev_bus_add_state(bus, &ops);
}
