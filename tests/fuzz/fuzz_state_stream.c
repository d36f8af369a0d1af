/* libFuzzer: hostile state streams for the reader, the field-table loader and the PIT and
 * RTC restores.  An input that starts with the magic is a stream; a stream the reader
 * accepts is written again section by section and must read back the same.  Any other
 * input is a list of sections (kind, instance, version, flags, length, payload) that the
 * writer seals, so that hostile payloads get past the CRCs to the restores. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv/state/state_desc.h"
#include "hv/vdev/cmos_rtc.h"
#include "hv/vdev/pit8254.h"
#include "tests/unit/test_vdev_fake.h"

#define RAMD STATE_ID('R', 'A', 'M', 'D')

static uint8_t copy[1 << 16];

static void restore(const struct state_section *s)
{
    static struct fake_platform f;
    static struct vpit pit;
    static struct vrtc rtc;
    char err[STATE_ERR_LEN];
    fake_platform_init(&f);
    vpit_init(&pit, &f.plat, 0, 0);
    vrtc_init(&rtc, &f.plat);
    if (s->id == vpit_state_kind().id && vpit_restore(&pit, s, err, sizeof(err)) == 0) {
        for (unsigned ch = 0; ch < 3; ch++)
            (void)vpit_count(&pit, ch);
        f.now_ns = 1ull << 40;
        vpit_tick(&pit);
        uint32_t v;
        vpit_port_read(&pit, 0x40, 4, &v);
        vpit_port_read(&pit, 0x61, 1, &v);
    }
    if (s->id == vrtc_state_kind().id && vrtc_restore(&rtc, s, err, sizeof(err)) == 0)
        (void)vrtc_time(&rtc);
}

/* Writes the accepted sections again; the result must read back section for section. */
static void rewrite_and_compare(const uint8_t *data, size_t size, const struct state_kind *k,
                                size_t nk)
{
    struct state_reader r, r2;
    struct state_section s, s2;
    struct state_writer w;
    state_writer_init(&w, copy, sizeof(copy));
    state_reader_open(&r, data, size, k, nk);
    while (state_reader_next(&r, &s) == 1) {
        state_begin(&w, s.id, s.instance, s.version, s.flags);
        state_put_bytes(&w, s.payload, s.len);
        state_end(&w);
    }
    size_t len = state_writer_finish(&w);
    if (!len)
        return;   /* larger than the copy buffer */
    if (state_reader_open(&r2, copy, len, k, nk) != 0)
        abort();
    state_reader_open(&r, data, size, k, nk);
    while (state_reader_next(&r, &s) == 1) {
        if (state_reader_next(&r2, &s2) != 1 || s.id != s2.id || s.instance != s2.instance ||
            s.version != s2.version || s.len != s2.len || memcmp(s.payload, s2.payload, s.len))
            abort();
    }
    if (state_reader_next(&r2, &s2) != 0)
        abort();
}

static uint8_t sealed[1 << 16];

/* Seals the sections an input lists into a stream. */
static size_t seal(const uint8_t *data, size_t size, const struct state_kind *k, size_t nk)
{
    struct state_writer w;
    state_writer_init(&w, sealed, sizeof(sealed));
    while (size >= 5) {
        uint32_t id = k[data[0] % nk].id;
        uint8_t instance = data[1], version = data[2], flags = data[3] & 1, len = data[4];
        data += 5;
        size -= 5;
        if (len > size)
            len = (uint8_t)size;
        state_begin(&w, data[-5] >= 0xf0 ? id ^ 0x20 : id, instance, version, flags);
        state_put_bytes(&w, data, len);
        state_end(&w);
        data += len;
        size -= len;
    }
    return state_writer_finish(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const struct state_kind kinds[] = {
        vpit_state_kind(), vrtc_state_kind(),
        { .id = RAMD, .min_version = 1, .max_version = 3, .repeats = true },
    };
    struct state_reader r;
    struct state_section s;
    if (size < 4 || memcmp(data, STATE_MAGIC, 4) != 0) {
        size = seal(data, size, kinds, 3);
        data = sealed;
    }
    if (state_reader_open(&r, data, size, kinds, 3) != 0)
        return 0;
    while (state_reader_next(&r, &s) == 1) {
        if (s.payload < data || s.payload + s.len > data + size)
            abort();
        struct state_cursor c;
        state_cursor_init(&c, &s);
        while (!c.short_read)
            (void)state_get_u16(&c);
        restore(&s);
    }
    rewrite_and_compare(data, size, kinds, 3);
    return 0;
}
