/*
 * The FAT32 pool: a FAT32 volume on a struct block_io window (a GPT partition or a whole
 * disk), with files, directories and long file names.  Portable and single-threaded.
 *
 * Crash ordering: clusters are marked allocated (end of chain) before anything points to
 * them, data is written before the directory entry that exposes it, and directory entries
 * are removed or shortened before their clusters are freed.  A power cut therefore leaves
 * at worst lost clusters (or a chain longer than its size), never a cluster in two chains.
 * Volumes it writes pass `fsck.fat -n`; mtools reads its files.
 */
#ifndef ATOLL_HV_STORAGE_FAT32_H
#define ATOLL_HV_STORAGE_FAT32_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv/storage/block.h"

#define FAT_NAME_MAX 255
#define FAT_SECTOR_MIN 512
#define FAT_SECTOR_MAX 4096

enum fat_status {
    FAT_OK = 0,
    FAT_E_IO = -1,
    FAT_E_CORRUPT = -2,    /* the volume breaks the format */
    FAT_E_NOT_FOUND = -3,
    FAT_E_EXISTS = -4,
    FAT_E_NOSPC = -5,
    FAT_E_INVALID = -6,    /* bad argument or name */
    FAT_E_NOT_DIR = -7,
    FAT_E_IS_DIR = -8,
    FAT_E_NOT_EMPTY = -9,
    FAT_E_TOO_BIG = -10,   /* beyond FAT32's 4 GiB - 1 file size */
    FAT_E_NOT_FAT32 = -11, /* no FAT32 boot sector here */
};

struct fat_vol {
    struct block_io io;
    uint32_t sector;               /* bytes per sector: the disk's, 512 to 4096 */
    uint32_t sec_per_clus, clus_bytes;
    uint32_t reserved, fat_count, fat_sectors;
    uint32_t root_cluster, fsinfo_sector;
    uint64_t data_start;           /* sector of cluster 2 */
    uint32_t clusters;             /* data clusters: valid numbers are 2 .. clusters + 1 */
    uint32_t free_count, next_free;
    bool walk_valid;               /* fat_chain_at's cursor: cluster walk_index of the */
    uint32_t walk_first, walk_index, walk_cluster;  /* chain at walk_first is walk_cluster */
    bool fsinfo_dirty;
    uint8_t fat_buf[FAT_SECTOR_MAX];   /* one cached FAT sector, written to every FAT copy */
    uint32_t fat_buf_index;        /* sector within the FAT; UINT32_MAX when empty */
    bool fat_dirty;
    uint8_t dir_buf[FAT_SECTOR_MAX];   /* one directory sector */
    uint64_t dir_buf_sector;       /* UINT64_MAX when empty */
    uint8_t tmp[FAT_SECTOR_MAX];       /* partial-sector file I/O and one-off sectors */
    uint32_t (*clock)(void);       /* FAT date << 16 | time; NULL: 2025-01-01 00:00 */
    char err[160];                 /* why the last call failed */
};

struct fat_file {
    struct fat_vol *v;
    uint32_t first_cluster;
    uint32_t size;
    bool is_dir, dirty;
    uint64_t dirent_sector;        /* where the short entry lives (0: the root directory) */
    uint32_t dirent_off;
    uint32_t pos_index, pos_cluster; /* last cluster reached: index in chain, number */
};

struct fat_stat {
    uint32_t size;
    bool is_dir;
    uint32_t first_cluster;
    uint16_t mdate, mtime;
};

enum fat_open_flags {
    FAT_O_CREATE = 1u << 0,  /* create when missing */
    FAT_O_EXCL = 1u << 1,    /* with CREATE: fail when it exists */
    FAT_O_TRUNC = 1u << 2,
};

/* Mounts the volume on io (sectors of 512 to 4096 bytes, as the volume says too);
 * v->err says why not. */
int fat_mount(struct fat_vol *v, const struct block_io *io);
/* Writes back the FAT cache and the FSInfo free count, then flushes the disk. */
int fat_sync(struct fat_vol *v);
uint64_t fat_total_bytes(const struct fat_vol *v);
uint64_t fat_free_bytes(const struct fat_vol *v);

/* Paths are '/'-separated from the root; names compare case-insensitively. */
int fat_open(struct fat_vol *v, const char *path, unsigned flags, struct fat_file *f);
/* Two paths that name one file: equal but for ASCII case and a leading '/'. */
bool fat_same_path(const char *a, const char *b);
/* Returns bytes read (short at end of file) or a negative status. */
long fat_read(struct fat_file *f, uint64_t off, void *buf, size_t len);
/* Returns bytes written or a negative status; writing past the end extends (gap reads 0). */
long fat_write(struct fat_file *f, uint64_t off, const void *buf, size_t len);
/* For a writer that writes a file's bytes itself, as whole sectors of its own requests
 * (the snapshot writer, through the block layer's SNAPSHOT class): makes [off, off + len)
 * part of the file as fat_write would (the chain grown, the size set, a gap before off
 * zeroed) without writing those bytes, and gives the volume sector where off lies and how
 * many sectors from there lie one after another on the disk (the rest of the range from
 * that, rounded up to a sector; a later call places the rest).  off: a multiple of the
 * sector size.  The bytes read as whatever the sectors hold until the writer writes them. */
int fat_place(struct fat_file *f, uint64_t off, size_t len, uint64_t *lba, uint32_t *sectors);
/* Extends (new bytes read as zero) or shortens the file. */
int fat_truncate(struct fat_file *f, uint64_t size);
/* A run of volume sectors (relative to the volume's block_io window). */
struct fat_extent {
    uint64_t lba;
    uint32_t sectors;
};
/*
 * Where [off, off + len) of f lies on the volume: at most max runs (adjacent clusters
 * merged) into out, their number into *count.  Allocates and writes nothing, so the runs
 * stay valid until the file shrinks or goes.  FAT_E_INVALID when the range is not whole
 * volume sectors inside the file's size, or needs more than max runs.
 */
int fat_map(struct fat_file *f, uint64_t off, uint64_t len, struct fat_extent *out,
            unsigned max, unsigned *count);
/* Writes the directory entry (size, first cluster, time) and syncs the volume. */
int fat_flush(struct fat_file *f);
int fat_close(struct fat_file *f);

int fat_stat(struct fat_vol *v, const char *path, struct fat_stat *st);
int fat_mkdir(struct fat_vol *v, const char *path);
/* Removes a file or an empty directory. */
int fat_unlink(struct fat_vol *v, const char *path);
/* Moves or renames; the target must not exist and the source must not be open. */
int fat_rename(struct fat_vol *v, const char *from, const char *to);

/*
 * A crash-safe move for a caller that can recover: fat_link gives a file (not open for
 * writing) a second name on the same cluster chain, fat_forget drops a name without
 * freeing its chain.  Between the two, and after a cut between them, two names share one
 * chain (a cross-link fsck.fat would cut): the caller must forget one before anything
 * writes either, as its recovery does (hv/storage/pool_clone.c).  fat_rename's order is the
 * reverse (a cut loses the name, never crosses chains).
 */
int fat_link(struct fat_vol *v, const char *from, const char *to);
int fat_forget(struct fat_vol *v, const char *path);

typedef bool (*fat_list_fn)(void *ctx, const char *name, const struct fat_stat *st);
/* Calls fn for each entry of the directory (not . and ..); stops when fn returns true. */
int fat_list(struct fat_vol *v, const char *path, fat_list_fn fn, void *ctx);

const char *fat_status_name(int status);

#endif
