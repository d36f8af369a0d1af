/* An in-memory vhdx_io for tests and fuzzing, with a crash point: after `writes_left`
 * write/resize calls, later ones are silently lost (power cut). */
#ifndef ATOLL_TESTS_UNIT_TEST_VHDX_MEM_IO_H
#define ATOLL_TESTS_UNIT_TEST_VHDX_MEM_IO_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hv/storage/vhdx.h"

struct mem_disk {
    uint8_t *data;
    uint64_t size;
    uint64_t cap;
    long writes_left; /* < 0: no crash point */
    unsigned writes, flushes;
    bool fail_io;     /* every call fails */
};

void mem_disk_init(struct mem_disk *m);
void mem_disk_free(struct mem_disk *m);
void mem_disk_copy(struct mem_disk *dst, const struct mem_disk *src);
struct vhdx_io mem_disk_io(struct mem_disk *m);
/* malloc-backed env; random_guid is a counter so runs are reproducible. */
extern const struct vhdx_env mem_env;
/* An env whose parent lookup finds the registered disks by name. */
void mem_env_register_parent(const char *name, struct mem_disk *m);
void mem_env_clear_parents(void);

#endif
