/* libFuzzer: hostile disks for the GPT reader (input = the first and last sectors). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv/storage/gpt.h"
#include "tests/unit/test_block_mem.h"

static bool visit(const struct gpt_part *p, void *ctx)
{
    (*(unsigned *)ctx)++;
    return p->name[0] == 'Z';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t disk[256 * 512];
    struct mem_disk m;
    struct block_io io;
    struct gpt_part p;
    char err[128];
    unsigned n = 0;
    if (size > sizeof(disk))
        size = sizeof(disk);
    memset(disk, 0, sizeof(disk));
    memcpy(disk, data, size);
    mem_disk_init(&m, disk, sizeof(disk), 512, &io);
    gpt_scan(&io, visit, &n, err, sizeof(err));
    gpt_find(&io, "atoll-pool", &gpt_type_basic_data, &p, err, sizeof(err));
    return 0;
}
