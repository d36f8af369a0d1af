/* A stand-in hypervisor behind the control server: three partitions, a log, timed ops.
 * Used by the host control daemon, the unit tests and the fuzz target. */
#ifndef ATOLL_TESTS_NET_FAKE_HV_H
#define ATOLL_TESTS_NET_FAKE_HV_H
#include <stdbool.h>
#include <stdint.h>
#include "net/control/ctl_hv_ops.h"

#define FAKE_HV_PARTS 4
#define FAKE_HV_OPS   16

struct fake_hv {
    struct ctl_partition_info parts[FAKE_HV_PARTS];
    size_t count;
    uint64_t now_ms;             /* the caller advances it */
    uint64_t op_duration_ms;     /* 0: start/stop finish at once */
    struct {
        uint64_t start_ms; uint8_t used;
        uint8_t snapshot, live;     /* a snapshot's: progress in RAM bytes, then its line */
        uint8_t fails;              /* it ends refused (file "full.snp": the pool is full) */
        uint64_t bytes;
        char line[320];
    } ops[FAKE_HV_OPS];
    uint32_t next_op;
    char log[2048];
    size_t log_len;
    /* a migration: three rounds over op_duration_ms (or at once), then done; to host
     * 10.9.9.9 it is refused */
    struct { bool active, refused; uint64_t start_ms; char name[CTL_NAME_MAX + 1];
             char host[24]; char last[160]; } mig;
};

void fake_hv_init(struct fake_hv *hv);
extern const struct ctl_hv_ops fake_hv_ops;

#endif
