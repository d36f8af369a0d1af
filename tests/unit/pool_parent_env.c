#include "tests/unit/pool_parent_env.h"
#include <stdlib.h>
#include "hv/storage/fat32.h"
#include "hv/storage/pool_vhdx_io.h"
#include "hv/storage/vhdx_parent_path.h"

int pool_parent_open(void *ctx, const char *child, const char *rel, const char *abs,
                     bool writable, struct vhdx_io *io, char *name, size_t name_size)
{
    (void)writable;
    const struct pool_parents *pp = ctx;
    struct fat_file *f = malloc(sizeof(*f));
    for (int r = 1; f && r >= 0; r--)
        if (vhdx_parent_pool_path(child, r ? rel : abs, r, name, name_size) &&
            fat_open(pp->volume(), name, 0, f) == FAT_OK) {
            pool_vhdx_io(f, io);
            return 0;
        }
    free(f);
    return -1;
}

void pool_parent_close(void *ctx, struct vhdx_io *io)
{
    (void)ctx;
    if (io->ctx) {
        fat_close(io->ctx);
        free(io->ctx);
        io->ctx = NULL;
    }
}
