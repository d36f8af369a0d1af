/* One field list, walked to save and to load. */
#include "hv/state/state_desc.h"

#include "hv/lib/format.h"

#include <string.h>

struct walk {
    bool saving;
    uint16_t version;                   /* of the section being written or read */
    struct state_writer *w;
    struct state_cursor *c;
    const char *bad_field;              /* loading: the first field with a bad value */
};

static void save_uint(struct walk *k, const uint8_t *p, size_t size)
{
    uint8_t v8; uint16_t v16; uint32_t v32; uint64_t v64;
    switch (size) {
    case 1: memcpy(&v8, p, 1); state_put_u8(k->w, v8); break;
    case 2: memcpy(&v16, p, 2); state_put_u16(k->w, v16); break;
    case 4: memcpy(&v32, p, 4); state_put_u32(k->w, v32); break;
    default: memcpy(&v64, p, 8); state_put_u64(k->w, v64); break;
    }
}

static void load_uint(struct walk *k, uint8_t *p, size_t size)
{
    uint8_t v8; uint16_t v16; uint32_t v32; uint64_t v64;
    switch (size) {
    case 1: v8 = state_get_u8(k->c); memcpy(p, &v8, 1); break;
    case 2: v16 = state_get_u16(k->c); memcpy(p, &v16, 2); break;
    case 4: v32 = state_get_u32(k->c); memcpy(p, &v32, 4); break;
    default: v64 = state_get_u64(k->c); memcpy(p, &v64, 8); break;
    }
}

static void walk_fields(struct walk *k, const struct state_field *f, size_t n, uint8_t *obj);

static void walk_field(struct walk *k, const struct state_field *f, uint8_t *p)
{
    switch (f->kind) {
    case STATE_FIELD_UINT:
        if (k->saving)
            save_uint(k, p, f->size);
        else
            load_uint(k, p, f->size);
        break;
    case STATE_FIELD_BOOL:
        if (k->saving) {
            state_put_u8(k->w, *(const bool *)p ? 1 : 0);
        } else {
            uint8_t b = state_get_u8(k->c);
            if (b > 1 && !k->bad_field)
                k->bad_field = f->name;
            *(bool *)p = b == 1;
        }
        break;
    case STATE_FIELD_BYTES:
        if (k->saving)
            state_put_bytes(k->w, p, f->size);
        else
            state_get_bytes(k->c, p, f->size);
        break;
    case STATE_FIELD_STRUCTS:
        for (size_t i = 0; i < f->count; i++)
            walk_fields(k, f->sub, f->sub_count, p + i * f->stride);
        break;
    }
}

static void walk_fields(struct walk *k, const struct state_field *f, size_t n, uint8_t *obj)
{
    for (size_t i = 0; i < n; i++)
        if (f[i].since <= k->version)
            walk_field(k, &f[i], obj + f[i].offset);
}

static size_t fields_bytes(const struct state_field *f, size_t n, uint16_t v)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        if (f[i].since > v)
            continue;
        if (f[i].kind == STATE_FIELD_STRUCTS)
            total += f[i].count * fields_bytes(f[i].sub, f[i].sub_count, v);
        else
            total += f[i].kind == STATE_FIELD_BOOL ? 1 : f[i].size;
    }
    return total;
}

size_t state_desc_bytes(const struct state_desc *d, uint16_t v)
{
    return fields_bytes(d->fields, d->field_count, v);
}

struct state_kind state_desc_kind(const struct state_desc *d)
{
    return (struct state_kind){ .id = d->id, .min_version = d->min_version,
                                .max_version = d->version };
}

bool state_save(struct state_writer *w, const struct state_desc *d, uint16_t instance,
                const void *obj)
{
    struct walk k = { .saving = true, .version = d->version, .w = w };
    if (!state_begin(w, d->id, instance, d->version, 0))
        return false;
    walk_fields(&k, d->fields, d->field_count, (uint8_t *)(uintptr_t)obj);
    return state_end(w);
}

int state_load(const struct state_section *s, const struct state_desc *d, void *obj,
               char *err, size_t err_size)
{
    if (s->id != d->id || s->version < d->min_version || s->version > d->version) {
        char name[5];
        state_id_name(s->id, name);
        fmt_snprintf(err, err_size, "state: section '%s' version %u is not '%s' versions "
                     "%u-%u", name, s->version, d->name, d->min_version, d->version);
        return -1;
    }
    size_t want = state_desc_bytes(d, s->version);
    if (s->len != want) {
        fmt_snprintf(err, err_size, "state: '%s' version %u: payload of %u bytes, its fields "
                     "take %zu", d->name, s->version, s->len, want);
        return -1;
    }
    struct state_cursor c;
    state_cursor_init(&c, s);
    struct walk k = { .saving = false, .version = s->version, .c = &c };
    walk_fields(&k, d->fields, d->field_count, obj);
    if (k.bad_field) {
        fmt_snprintf(err, err_size, "state: '%s' instance %u: field %s is not a bool (0 or 1)",
                     d->name, s->instance, k.bad_field);
        return -1;
    }
    return 0;
}
