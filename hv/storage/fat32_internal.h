/* FAT32 internals shared by the pool's files: FAT table, clusters, directory slots. */
#ifndef ATOLL_HV_STORAGE_FAT32_INTERNAL_H
#define ATOLL_HV_STORAGE_FAT32_INTERNAL_H
#include "hv/storage/fat32.h"

#define FAT_EOC      0x0ffffff8u   /* at or above: end of chain */
#define FAT_EOC_MARK 0x0fffffffu
#define FAT_BAD      0x0ffffff7u
#define FAT_MASK     0x0fffffffu

#define ATTR_READ_ONLY 0x01
#define ATTR_HIDDEN    0x02
#define ATTR_SYSTEM    0x04
#define ATTR_VOLUME    0x08
#define ATTR_DIR       0x10
#define ATTR_ARCHIVE   0x20
#define ATTR_LFN       0x0f
#define DIRENT_SIZE    32
#define SLOT_FREE      0xe5

static inline uint16_t fat_le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static inline uint32_t fat_le32(const uint8_t *p)
{
    return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}
static inline void fat_put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static inline void fat_put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); p[2] = (uint8_t)(v >> 16); p[3] = (uint8_t)(v >> 24);
}

int fat_fail(struct fat_vol *v, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Sector I/O with error messages. */
int fat_read_sectors(struct fat_vol *v, uint64_t lba, uint32_t n, void *buf);
int fat_write_sectors(struct fat_vol *v, uint64_t lba, uint32_t n, const void *buf);
uint64_t fat_cluster_sector(const struct fat_vol *v, uint32_t c);
bool fat_cluster_valid(const struct fat_vol *v, uint32_t c);

/* FAT entries through the one-sector cache. */
int fat_get(struct fat_vol *v, uint32_t c, uint32_t *val);
int fat_set(struct fat_vol *v, uint32_t c, uint32_t val);
/* Writes the cached FAT sector to every FAT copy: an ordering point. */
int fat_commit(struct fat_vol *v);
/* fat_commit, then a device flush: nothing after it is written before what came before. */
int fat_barrier(struct fat_vol *v);

/* Next cluster of a chain; *next >= FAT_EOC at its end.  A bad link is FAT_E_CORRUPT. */
int fat_next(struct fat_vol *v, uint32_t c, uint32_t *next);
/* n fresh clusters linked to each other and ended, zeroed if asked; committed, not linked. */
int fat_alloc_chain(struct fat_vol *v, uint32_t n, bool zero, uint32_t *first, uint32_t *last);
/* Frees the chain starting at c (after whatever pointed to it is gone from disk). */
int fat_free_chain(struct fat_vol *v, uint32_t c);
/* The cluster at index idx of the chain starting at first. */
int fat_chain_at(struct fat_vol *v, uint32_t first, uint32_t idx, uint32_t *out);
int fat_zero_cluster(struct fat_vol *v, uint32_t c);

/* A directory slot: where its 32 bytes live. */
struct fat_slot {
    uint64_t sector;
    uint32_t off;
};

/* A directory entry found by name. */
struct fat_found {
    struct fat_slot first, shortent; /* first slot of the run (LFN) and the short entry */
    uint32_t first_index, slots;     /* slot index of the run in the directory, its length */
    uint8_t ent[DIRENT_SIZE];        /* the short entry */
};

/* Loads the directory sector for slot index of dir (first cluster); FAT_E_NOT_FOUND past the end. */
int fat_dir_slot(struct fat_vol *v, uint32_t dir, uint32_t index, struct fat_slot *slot);
uint8_t *fat_dir_load(struct fat_vol *v, const struct fat_slot *slot);
int fat_dir_store(struct fat_vol *v, const struct fat_slot *slot);

int fat_dir_lookup(struct fat_vol *v, uint32_t dir, const char *name, size_t len,
                   struct fat_found *out);
/* Adds an entry for name with the given attributes, cluster and size. */
int fat_dir_add(struct fat_vol *v, uint32_t dir, const char *name, size_t len, uint8_t attr,
                uint32_t cluster, uint32_t size, struct fat_slot *shortent);
/* Marks the entry's slots free. */
int fat_dir_remove(struct fat_vol *v, uint32_t dir, const struct fat_found *f);
/* Calls fn(name, short entry) for each live entry; stops when fn returns true. */
typedef bool (*fat_dir_visit_fn)(void *ctx, const char *name, const uint8_t *ent);
int fat_dir_walk(struct fat_vol *v, uint32_t dir, fat_dir_visit_fn fn, void *ctx);

uint32_t fat_ent_cluster(const uint8_t *ent);
void fat_ent_set_cluster(uint8_t *ent, uint32_t c);
uint32_t fat_now(const struct fat_vol *v);

/* Resolves all but the last component of path: its directory and the last name. */
int fat_resolve_parent(struct fat_vol *v, const char *path, uint32_t *dir, const char **name,
                       size_t *len);
/* Resolves path fully; root gives is_root. */
int fat_resolve(struct fat_vol *v, const char *path, struct fat_found *f, bool *is_root);

#endif
