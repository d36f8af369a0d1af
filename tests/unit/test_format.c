#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "hv/lib/format.h"

/* Formats with both fmt_snprintf and the host's snprintf and compares text and length. */
#define SAME(...)                                                                 \
    do {                                                                          \
        char ours_[256], libc_[256];                                              \
        int n_ours_ = fmt_snprintf(ours_, sizeof(ours_), __VA_ARGS__);           \
        int n_libc_ = snprintf(libc_, sizeof(libc_), __VA_ARGS__);               \
        assert_string_equal(ours_, libc_);                                        \
        assert_int_equal(n_ours_, n_libc_);                                       \
    } while (0)

#define IS(expect, ...)                                                           \
    do {                                                                          \
        char out_[256];                                                           \
        int n_ = fmt_snprintf(out_, sizeof(out_), __VA_ARGS__);                  \
        assert_string_equal(out_, expect);                                        \
        assert_int_equal(n_, (int)strlen(expect));                                \
    } while (0)

static void integers_test(void **state)
{
    SAME("%d %i %u", 0, -1, 4000000000u);
    SAME("%d", INT32_MIN);
    SAME("%d", INT32_MAX);
    SAME("%x %X %o", 0xdeadbeefu, 0xdeadbeefu, 0777u);
    SAME("%lld", (long long)INT64_MIN);
    SAME("%lld", (long long)INT64_MAX);
    SAME("%llu", (unsigned long long)UINT64_MAX);
    SAME("%llx", (unsigned long long)UINT64_MAX);
    SAME("%ld %lu %lx", (long)INT64_MIN, (unsigned long)UINT64_MAX, 0x123456789abcul);
    SAME("%jd %ju", (intmax_t)INT64_MIN, (uintmax_t)UINT64_MAX);
    SAME("%zu %zx %zd", (size_t)SIZE_MAX, (size_t)0x1234, (ssize_t)-5);
    SAME("%td", (ptrdiff_t)-77);
}

static void length_truncation_test(void **state)
{
    SAME("%hhd %hhu %hhx", 300, 300, 0x1ff);
    SAME("%hhd", -129);
    SAME("%hd %hu %hx", 70000, 70000, 0x12345);
    SAME("%hd", -32769);
}

static void width_precision_flags_test(void **state)
{
    SAME("[%5d] [%-5d] [%05d] [%+d] [% d] [%+5d] [%-+5d]", 42, 42, 42, 42, 42, 42, 42);
    SAME("[%05d] [%+05d] [% 05d]", -42, 42, 42);
    SAME("[%.3d] [%8.3d] [%-8.3d] [%08.3d]", 7, 7, -7, 7);
    SAME("[%.0d] [%5.0d] [%.0x] [%#.0x] [%.0u]", 0, 0, 0u, 0u, 0u);
    SAME("[%#x] [%#X] [%#o] [%#x] [%#o] [%#10x] [%#010x] [%-#10x]", 255u, 255u, 8u, 0u, 0u, 255u,
         255u, 255u);
    SAME("[%#.5o] [%#.3x] [%#.0o] [%#.1o] [%#.2o]", 8u, 1u, 0u, 0u, 8u);
    SAME("[%*d] [%-*d] [%*d]", 6, 1, 6, 1, -6, 1);
    SAME("[%.*d] [%.*d]", 4, 3, -1, 3);
    SAME("[%+u] [% u] [%+x]", 5u, 5u, 5u);
    SAME("[%+.0d] [% .0d]", 0, 0);
    SAME("[%-05d] [%#05x] [%+05d] [% +d] [%0-6d]", 3, 3u, -3, 3, 3);
    SAME("[%0*d] [%-*s]", 5, -12, 4, "ab");
}

static void strings_chars_test(void **state)
{
    SAME("[%s] [%10s] [%-10s] [%.2s] [%10.2s] [%-*.*s]", "hello", "hello", "hello", "hello",
         "hello", 8, 3, "hello");
    SAME("[%c] [%3c] [%-3c]", 'x', 'y', 'z');
    SAME("[%s]", "");
    IS("100% [%]", "100%% [%5%]");
    const char *null = NULL;
    IS("[(null)]", "[%s]", null);
    IS("[    (null)]", "[%10s]", null);
    IS("[(nu]", "[%.3s]", null);
    /* precision bounds the read: no NUL needed past it */
    char unterminated[2] = { 'a', 'b' };
    IS("[ab]", "[%.2s]", unterminated);
    IS("[a]", "[%.1s]", unterminated);
}

static void pointers_and_unknown_test(void **state)
{
    SAME("%p", (void *)0x1234);
    SAME("%20p", (void *)0xffff800000001000ull);
    SAME("%-20p|", (void *)0xabc);
    IS("0", "%p", (void *)0);                     /* glibc prints (nil) */
    IS("[%q]", "[%q]");                           /* unknown conversion copied */
    IS("[%5q]", "[%5q]");
    IS("trailing %", "trailing %");
}

static void snprintf_truncation_test(void **state)
{
    char buf[8];
    memset(buf, 'X', sizeof(buf));
    assert_int_equal(fmt_snprintf(buf, sizeof(buf), "%s", "0123456789"), 10);
    assert_string_equal(buf, "0123456");
    memset(buf, 'X', sizeof(buf));
    assert_int_equal(fmt_snprintf(buf, 1, "%d", 12345), 5);
    assert_int_equal(buf[0], 0);
    assert_int_equal(buf[1], 'X');
    memset(buf, 'X', sizeof(buf));
    assert_int_equal(fmt_snprintf(buf, 0, "%d", 12345), 5);
    assert_int_equal(buf[0], 'X');
    assert_int_equal(fmt_snprintf(NULL, 0, "%s=%d", "abc", 7), 5);
    assert_int_equal(fmt_snprintf(buf, sizeof(buf), "%s", "1234567"), 7);
    assert_string_equal(buf, "1234567");
    assert_int_equal(fmt_snprintf(buf, sizeof(buf), "%5d%5d", 1, 2), 10);
    assert_string_equal(buf, "    1  ");
}

struct collect {
    char text[64];
    size_t used;
    int calls;
};

static void collect_sink(void *ctx, const char *s, size_t n)
{
    struct collect *c = ctx;
    assert_true(c->used + n < sizeof(c->text));
    memcpy(c->text + c->used, s, n);
    c->used += n;
    c->calls++;
}

static void sink_test(void **state)
{
    struct collect c = { .used = 0 };
    int n = fmt_print(collect_sink, &c, "cpu%u: %s%40s", 3u, "ok", "");
    assert_int_equal(n, 48);
    assert_int_equal(c.used, 48);
    c.text[c.used] = 0;
    assert_memory_equal(c.text, "cpu3: ok    ", 12);
    assert_true(c.calls >= 4);
}

static void width_limits_test(void **state)
{
    char buf[16];
    /* absurd widths and precisions are bounded and still counted */
    int n = fmt_snprintf(buf, sizeof(buf), "%99999d", 1);
    assert_int_equal(n, 99999);
    assert_string_equal(buf, "               ");
    n = fmt_snprintf(buf, sizeof(buf), "%.99999d", 1);
    assert_int_equal(n, 99999);
    assert_string_equal(buf, "000000000000000");
}

/* fmt_fail: the line into msg, the status returned; no msg, no write. */
static void fail_test(void **state)
{
    (void)state;
    char msg[16];
    assert_int_equal(fmt_fail(msg, sizeof(msg), -7, "disk %s is gone", "d0"), -7);
    assert_string_equal(msg, "disk d0 is gone");
    assert_int_equal(fmt_fail(msg, 4, 3, "%d", 123456), 3);
    assert_string_equal(msg, "123");
    assert_int_equal(fmt_fail(NULL, 0, 5, "unused %d", 1), 5);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(integers_test),
        cmocka_unit_test(length_truncation_test),
        cmocka_unit_test(width_precision_flags_test),
        cmocka_unit_test(strings_chars_test),
        cmocka_unit_test(pointers_and_unknown_test),
        cmocka_unit_test(snprintf_truncation_test),
        cmocka_unit_test(sink_test),
        cmocka_unit_test(width_limits_test),
        cmocka_unit_test(fail_test),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
