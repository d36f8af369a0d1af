/* What the VHDX unit tests (test_vhdx, test_disk_job) share: in-memory disks (children
 * too) created and opened, any error failing the test; a fill pattern; a check that must
 * find nothing.  Include after <cmocka.h>. */
#ifndef ATOLL_TESTS_UNIT_TEST_VHDX_DISK_H
#define ATOLL_TESTS_UNIT_TEST_VHDX_DISK_H
#include <stddef.h>
#include <stdint.h>

#include "hv/storage/vhdx.h"
#include "tests/unit/test_vhdx_mem_io.h"

/* A new disk in m made with p; what names it in the failure. */
static inline void create_disk(struct mem_disk *m, const struct vhdx_create_params *p,
                               const char *what)
{
    mem_disk_init(m);
    struct vhdx_io io = mem_disk_io(m);
    struct vhdx_err err;
    if (vhdx_create(&mem_env, &io, p, &err))
        fail_msg("%s: %s", what, err.msg);
}

/* A new dynamic disk in m; lss 0 takes the default logical sector size. */
static inline void make_disk(struct mem_disk *m, uint64_t size, uint32_t block, uint32_t lss)
{
    struct vhdx_create_params p = { .disk_size = size, .block_size = block,
                                    .logical_sector_size = lss };
    create_disk(m, &p, "create");
}

static inline struct vhdx *open_disk(struct mem_disk *m, const char *name, unsigned flags)
{
    struct vhdx_io io = mem_disk_io(m);
    struct vhdx *d;
    struct vhdx_err err;
    if (vhdx_open(&mem_env, &io, name, flags, &d, &err))
        fail_msg("open %s: %s", name, err.msg);
    return d;
}

/* A new child of the disk in parent (opened as pname) in child, with the given block size;
 * the parent registered under pname for the child's opens. */
static inline void make_child(struct mem_disk *parent, const char *pname, struct mem_disk *child,
                              uint32_t block)
{
    struct vhdx *p = open_disk(parent, pname, VHDX_OPEN_READ_ONLY);
    struct vhdx_create_params cp = { .parent = p, .block_size = block,
                                     .parent_relative_path = pname };
    create_disk(child, &cp, "child");
    vhdx_close(p, NULL);
    mem_env_register_parent(pname, parent);
}

/* A pattern that changes with the seed and along the buffer. */
static inline void fill(uint8_t *buf, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        buf[i] = (uint8_t)((i * 131 + seed * 7 + (i >> 9)) ^ seed);
}

static inline void check_clean(struct vhdx *d)
{
    struct vhdx_check_report r;
    assert_int_equal(vhdx_check(d, &r, NULL), VHDX_OK);
    if (r.errors)
        fail_msg("check: %s", r.first_error);
}

#endif
