/* Freestanding implementations of the <string.h> subset. */
#include <stdint.h>
#include <string.h>

/*
 * The bulk moves 8 bytes an iteration (REP MOVSQ/STOSQ), the ends a byte at a time:
 * emulators run a REP string instruction one iteration at a time (QEMU's TCG takes 256 MiB
 * of REP STOSB, a partition's RAM scrubbed once it is freed, in tens of seconds), and on
 * hardware the two are as fast.
 */
void *memcpy(void *restrict dst, const void *restrict src, size_t n)
{
    void *ret = dst;
    if (n >= 64) {
        size_t head = (-(uintptr_t)dst) & 7, words = (n - head) / 8;
        n -= head + words * 8;
        __asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(head) : : "memory");
        __asm__ volatile("rep movsq" : "+D"(dst), "+S"(src), "+c"(words) : : "memory");
    }
    __asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(n) : : "memory");
    return ret;
}

void *memmove(void *dst, const void *src, size_t n)
{
    unsigned char *d = dst;
    const unsigned char *s = src;
    if (d == s || n == 0)
        return dst;
    if (d < s || d >= s + n)
        return memcpy(dst, src, n);
    while (n--)
        d[n] = s[n];
    return dst;
}

void *memset(void *dst, int c, size_t n)
{
    void *ret = dst;
    if (n >= 64) {
        uint64_t fill = 0x0101010101010101ull * (uint8_t)c;
        size_t head = (-(uintptr_t)dst) & 7, words = (n - head) / 8;
        n -= head + words * 8;
        __asm__ volatile("rep stosb" : "+D"(dst), "+c"(head) : "a"(fill) : "memory");
        __asm__ volatile("rep stosq" : "+D"(dst), "+c"(words) : "a"(fill) : "memory");
    }
    __asm__ volatile("rep stosb" : "+D"(dst), "+c"(n) : "a"(c) : "memory");
    return ret;
}

int memcmp(const void *a, const void *b, size_t n)
{
    const unsigned char *x = a, *y = b;
    for (size_t i = 0; i < n; i++)
        if (x[i] != y[i])
            return x[i] - y[i];
    return 0;
}

void *memchr(const void *s, int c, size_t n)
{
    const unsigned char *p = s;
    for (size_t i = 0; i < n; i++)
        if (p[i] == (unsigned char)c)
            return (void *)(p + i);
    return NULL;
}

size_t strlen(const char *s)
{
    size_t n = 0;
    while (s[n])
        n++;
    return n;
}

size_t strnlen(const char *s, size_t max)
{
    size_t n = 0;
    while (n < max && s[n])
        n++;
    return n;
}

int strcmp(const char *a, const char *b)
{
    while (*a && *a == *b)
        a++, b++;
    return (unsigned char)*a - (unsigned char)*b;
}

int strncmp(const char *a, const char *b, size_t n)
{
    for (; n; n--, a++, b++) {
        if (*a != *b)
            return (unsigned char)*a - (unsigned char)*b;
        if (!*a)
            break;
    }
    return 0;
}

char *strchr(const char *s, int c)
{
    for (;; s++) {
        if (*s == (char)c)
            return (char *)s;
        if (!*s)
            return NULL;
    }
}

char *strrchr(const char *s, int c)
{
    const char *last = NULL;
    for (;; s++) {
        if (*s == (char)c)
            last = s;
        if (!*s)
            return (char *)last;
    }
}

char *strstr(const char *haystack, const char *needle)
{
    size_t n = strlen(needle);
    for (; *haystack; haystack++)
        if (!strncmp(haystack, needle, n))
            return (char *)haystack;
    return n ? NULL : (char *)haystack;
}

size_t strlcpy(char *dst, const char *src, size_t size)
{
    size_t len = strlen(src);
    if (size) {
        size_t n = len < size - 1 ? len : size - 1;
        memcpy(dst, src, n);
        dst[n] = 0;
    }
    return len;
}
