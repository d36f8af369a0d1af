/* A stand-in for the hypervisor's live disk operations (net/control/ctl_disk.h), for the
 * host control tests: a job on partition "linux" advances one MiB of four each time it is
 * looked at, then is done; any other partition is refused. */
#ifndef ATOLL_TESTS_NET_FAKE_DISK_H
#define ATOLL_TESTS_NET_FAKE_DISK_H
#include "net/control/ctl_disk.h"

extern const struct ctl_disk_ops fake_disk_ops;

#endif
