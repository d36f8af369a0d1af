/*
 * GUID partition tables: the primary header and entry array (the backup when the primary
 * is damaged), both CRC-checked; partitions found by type GUID and by name.  Portable; the
 * disk is hostile input.
 */
#ifndef ATOLL_HV_STORAGE_GPT_H
#define ATOLL_HV_STORAGE_GPT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv/lib/guid.h"
#include "hv/storage/block.h"

#define GPT_NAME_MAX 36 /* UTF-16 code units in an entry name */

struct gpt_part {
    unsigned index;             /* entry number, from 0 */
    struct guid type, unique;
    uint64_t first_lba, last_lba; /* inclusive */
    uint64_t attributes;
    char name[GPT_NAME_MAX + 1]; /* ASCII; other characters become '?' */
};

enum gpt_status {
    GPT_OK = 0,
    GPT_E_IO = -1,
    GPT_E_NONE = -2,        /* no valid GPT on the disk */
    GPT_E_NOT_FOUND = -3,   /* valid table, no matching partition */
    GPT_E_INVALID = -4,
};

/* Microsoft basic data (what sfdisk and gdisk give a FAT partition). */
extern const struct guid gpt_type_basic_data;

/* Visits each used entry; stops when visit returns true.  err gets one line on failure. */
typedef bool (*gpt_visit_fn)(const struct gpt_part *p, void *ctx);
int gpt_scan(const struct block_io *io, gpt_visit_fn visit, void *ctx, char *err,
             size_t err_size);

/* The first partition with this name (case-sensitive) and, if type is non-NULL, type. */
int gpt_find(const struct block_io *io, const char *name, const struct guid *type,
             struct gpt_part *out, char *err, size_t err_size);

/* CRC-32 (IEEE 802.3, as GPT uses), exposed for the tests. */
uint32_t gpt_crc32(uint32_t crc, const void *data, size_t len);

#endif
