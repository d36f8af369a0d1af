/* Harness self-test kernel (NOT Atoll): what a front end hands the common part. */
#ifndef ATOLL_TESTS_SYSTEM_SELFTEST_H
#define ATOLL_TESTS_SYSTEM_SELFTEST_H

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

struct selftest_module {
    const char *name;
    const char *start, *end;
};

struct selftest_boot {
    const char *cmdline;
    const uint8_t *rsdp;           /* ACPI RSDP, NULL if unknown */
    uint32_t free_mib;
    int module_count;
    struct selftest_module modules[32];
};

void selftest_console_init(void);
void selftest_fail(const char *reason);
void selftest_note(const char *text, uint64_t value);
void selftest_run(const struct selftest_boot *b);

#endif
