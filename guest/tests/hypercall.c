/*
 * The hypercall ABI (hv/core/hypercall_abi.h): version, console write, vCPU id, partition
 * info, time, and the errors: an unknown number returns -HC_ENOSYS, a guest address outside
 * the partition returns -HC_EFAULT; none of them faults.  Without Atoll it checks only that
 * VMCALL raises #UD and reports SKIP.
 */
#include "guest/lib/guest.h"

DEFINE_TEST("hypercall");

#define HC_UNKNOWN 0x7fff

static const char message[] = "hypercall: console write through HC_CONSOLE_WRITE\n";

static void check_without_atoll(void)
{
    int fault;
    hypercall_safe(HC_VERSION, 0, 0, 0, 0, &fault);
    printf("hypercall: no Atoll underneath; VMCALL raised vector %d\n", fault);
    report_skip("hypercall ABI (not under Atoll)");
}

static void check_calls(void)
{
    int64_t v = hypercall(HC_VERSION, 0, 0, 0, 0);
    report(v == HC_ABI_VERSION, "HC_VERSION returns %ld", v);
    int64_t n = hypercall(HC_CONSOLE_WRITE, (uintptr_t)message, sizeof(message) - 1, 0, 0);
    report(n == (int64_t)sizeof(message) - 1, "HC_CONSOLE_WRITE returns %ld", n);
    int64_t id = hypercall(HC_VCPU_ID, 0, 0, 0, 0);
    report(id == 0, "HC_VCPU_ID on the BSP returns %ld", id);
    int64_t info = hypercall(HC_PARTITION_INFO, 0, 0, 0, 0);
    report(info >= 0 && (uint64_t)info >> 32 == boot.cpus,
           "HC_PARTITION_INFO: %lu vCPUs (fw_cfg says %u), partition id %lu",
           (uint64_t)info >> 32, boot.cpus, (uint64_t)info & 0xffffffff);
    int64_t t1 = hypercall(HC_TIME_NS, 0, 0, 0, 0);
    udelay(1000);
    int64_t t2 = hypercall(HC_TIME_NS, 0, 0, 0, 0);
    report(t1 >= 0 && t2 > t1, "HC_TIME_NS advances (%ld -> %ld ns)", t1, t2);
}

static void check_errors(void)
{
    int64_t r = hypercall(HC_UNKNOWN, 1, 2, 3, 4);
    report(r == -HC_ENOSYS, "unknown number %#x returns %ld (-HC_ENOSYS)", HC_UNKNOWN, r);
    r = hypercall(~0ull, 0, 0, 0, 0);
    report(r == -HC_ENOSYS, "number ~0 returns %ld (-HC_ENOSYS)", r);
    uint64_t end = boot_ram_end();
    r = hypercall(HC_CONSOLE_WRITE, end + 0x1000, 16, 0, 0);
    report(r == -HC_EFAULT, "console write from beyond RAM (%#lx) returns %ld (-HC_EFAULT)",
           end + 0x1000, r);
    r = hypercall(HC_CONSOLE_WRITE, end - 8, 64, 0, 0);
    report(r == -HC_EFAULT, "console write straddling the end of RAM returns %ld (-HC_EFAULT)", r);
    r = hypercall(HC_CONSOLE_WRITE, ~0ull - 7, 16, 0, 0);
    report(r == -HC_EFAULT, "console write at a wrapping address returns %ld (-HC_EFAULT)", r);
    r = hypercall(HC_CONSOLE_WRITE, (uintptr_t)message, 1ull << 40, 0, 0);
    report(r < 0, "console write of 2^40 bytes returns %ld (an error)", r);
}

void test_main(void)
{
    if (!atoll_present()) {
        check_without_atoll();
        return;
    }
    check_calls();
    check_errors();
}
