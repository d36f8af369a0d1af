/*
 * Test results.  Each check prints one line, `PASS: ...`, `FAIL: ...` or `SKIP: ...`; the
 * test ends with exactly one line `TEST RESULT: PASS|FAIL|SKIP <name>` and leaves through
 * the debug-exit port 0xf4 with 0 (PASS), 1 (FAIL) or 2 (SKIP); Atoll and QEMU then exit
 * with status (value << 1) | 1.  FAIL if any check failed; SKIP if every check skipped.
 */
#ifndef ATOLL_GUEST_REPORT_H
#define ATOLL_GUEST_REPORT_H

#include <stdbool.h>

#define DEBUG_EXIT_PORT 0xf4
#define EXIT_PASS 0
#define EXIT_FAIL 1
#define EXIT_SKIP 2

/* Every test defines its name with DEFINE_TEST("name") and a test_main(). */
#define DEFINE_TEST(name) const char guest_test_name[] = name
extern const char guest_test_name[];
void test_main(void);

/* Returns ok, so that a test can stop on a failed precondition. */
bool report(bool ok, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void report_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* A failure that ends the test at once (from any CPU). */
_Noreturn void report_fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints the result line and exits.  Prints only once, even if two CPUs get here. */
_Noreturn void test_finish(void);
/* Prints the summary and result lines only; returns the exit value.  For a test that ends
 * some other way (hostile's triple fault). */
unsigned test_print_result(void);
/* Leaves the partition with this debug-exit value; for tests that decide themselves. */
_Noreturn void guest_exit(unsigned value);

#endif
