/*
 * Declarative state descriptions, after QEMU's VMStateDescription: a device lists the
 * fields of its state once, as {name, offset, size} entries with the version that added
 * each, and state_save() / state_load() read that one list two ways, so save and load
 * cannot drift apart.
 *
 * A description has a section id, the version this build writes and the oldest version it
 * still loads.  Loading an older version leaves the fields added since then as they were:
 * the caller resets the device first.  A payload must be exactly as long as the fields of
 * its version; a bool that is neither 0 nor 1 is refused.  What the fields must satisfy
 * beyond their type (a count in range, a mode that exists) the device checks after loading,
 * into a scratch copy, before it takes the state.  Portable.
 *
 *     static const struct state_field dev_fields[] = {
 *         STATE_U32(struct dev, count, 1), STATE_BOOL(struct dev, armed, 1),
 *         STATE_U64(struct dev, deadline_ns, 2),        // added in version 2
 *     };
 *     static const struct state_desc dev_desc =
 *         STATE_DESC("dev", STATE_ID('D','E','V','0'), 2, 1, dev_fields);
 */
#ifndef ATOLL_HV_STATE_STATE_DESC_H
#define ATOLL_HV_STATE_STATE_DESC_H
#include <stddef.h>

#include "hv/state/state_stream.h"

enum state_field_kind {
    STATE_FIELD_UINT,       /* unsigned or two's-complement integer of 1, 2, 4 or 8 bytes */
    STATE_FIELD_BOOL,       /* a bool, one byte, 0 or 1 */
    STATE_FIELD_BYTES,      /* size raw bytes */
    STATE_FIELD_STRUCTS,    /* count structs of stride bytes, each described by sub */
};

struct state_field {
    const char *name;
    size_t offset, size;
    enum state_field_kind kind;
    uint16_t since;                     /* the description version that added the field */
    const struct state_field *sub;      /* STATE_FIELD_STRUCTS: the element's fields */
    size_t sub_count, count, stride;
};

struct state_desc {
    const char *name;
    uint32_t id;
    uint16_t version, min_version;
    const struct state_field *fields;
    size_t field_count;
};

#define STATE_MEMBER_SIZE(type, m) sizeof(((type *)0)->m)
#define STATE_FIELD_(type, m, kind_, since_) \
    { .name = #m, .offset = offsetof(type, m), .size = STATE_MEMBER_SIZE(type, m), \
      .kind = (kind_), .since = (since_) }
#define STATE_UINT(type, m, since) STATE_FIELD_(type, m, STATE_FIELD_UINT, since)
#define STATE_U8(type, m, since)   STATE_UINT(type, m, since)
#define STATE_U16(type, m, since)  STATE_UINT(type, m, since)
#define STATE_U32(type, m, since)  STATE_UINT(type, m, since)
#define STATE_U64(type, m, since)  STATE_UINT(type, m, since)
#define STATE_BOOL(type, m, since) STATE_FIELD_(type, m, STATE_FIELD_BOOL, since)
#define STATE_BYTES(type, m, since) STATE_FIELD_(type, m, STATE_FIELD_BYTES, since)
/* An array member of structs, each element described by the field list elem_fields. */
#define STATE_STRUCTS(type, m, elem_type, elem_fields, since_) \
    { .name = #m, .offset = offsetof(type, m), .size = STATE_MEMBER_SIZE(type, m), \
      .kind = STATE_FIELD_STRUCTS, .since = (since_), .sub = (elem_fields), \
      .sub_count = sizeof(elem_fields) / sizeof((elem_fields)[0]), \
      .count = STATE_MEMBER_SIZE(type, m) / sizeof(elem_type), .stride = sizeof(elem_type) }

#define STATE_DESC(name_, id_, version_, min_version_, fields_) \
    { .name = (name_), .id = (id_), \
      .version = (version_), .min_version = (min_version_), .fields = (fields_), \
      .field_count = sizeof(fields_) / sizeof((fields_)[0]) }

/* The reader's entry for this description (versions min_version..version). */
struct state_kind state_desc_kind(const struct state_desc *d);

/* Writes obj as one section (d->version) with this instance number.  False when the
 * writer failed (w->err says why). */
bool state_save(struct state_writer *w, const struct state_desc *d, uint16_t instance,
                const void *obj);

/* Fills obj from s (any version min_version..version of d).  0, or -1 with one line in
 * err, "state: 'pit' version 1: ...", and obj partly written: load into a scratch copy. */
int state_load(const struct state_section *s, const struct state_desc *d, void *obj,
               char *err, size_t err_size);

/* Payload bytes of d's fields at version v. */
size_t state_desc_bytes(const struct state_desc *d, uint16_t v);

#endif
