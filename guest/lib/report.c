#include "guest/lib/report.h"

#include <stdarg.h>

#include "guest/lib/console.h"
#include "guest/lib/hypercall.h"
#include "guest/lib/x86.h"
#include "hv/lib/format.h"

static unsigned passed, failed, skipped;
static int finishing;

static void report_line(const char *tag, const char *fmt, va_list ap)
{
    char msg[400];
    fmt_vsnprintf(msg, sizeof(msg), fmt, ap);
    printf("%s: %s\n", tag, msg);
}

bool report(bool ok, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report_line(ok ? "PASS" : "FAIL", fmt, ap);
    va_end(ap);
    __atomic_fetch_add(ok ? &passed : &failed, 1, __ATOMIC_RELAXED);
    return ok;
}

void report_skip(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report_line("SKIP", fmt, ap);
    va_end(ap);
    __atomic_fetch_add(&skipped, 1, __ATOMIC_RELAXED);
}

_Noreturn void report_fatal(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    report_line("FAIL", fmt, ap);
    va_end(ap);
    __atomic_fetch_add(&failed, 1, __ATOMIC_RELAXED);
    test_finish();
}

_Noreturn void guest_exit(unsigned value)
{
    outl(DEBUG_EXIT_PORT, value);
    if (atoll_present())
        hypercall(HC_EXIT, value, 0, 0, 0);
    for (;;) {
        cli();
        __asm__ volatile("hlt");
    }
}

unsigned test_print_result(void)
{
    unsigned code = failed ? EXIT_FAIL : (passed == 0 && skipped) ? EXIT_SKIP : EXIT_PASS;
    static const char *const words[] = { "PASS", "FAIL", "SKIP" };
    printf("SUMMARY: %u passed, %u failed, %u skipped\n", passed, failed, skipped);
    printf("TEST RESULT: %s %s\n", words[code], guest_test_name);
    return code;
}

_Noreturn void test_finish(void)
{
    if (__atomic_exchange_n(&finishing, 1, __ATOMIC_ACQ_REL))
        for (;;) {
            cli();
            __asm__ volatile("hlt");
        }
    guest_exit(test_print_result());
}
