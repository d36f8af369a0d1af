#include "hv/lib/cmdline.h"

#include <string.h>

static bool blank(char c) { return c == ' ' || c == '\t'; }

bool cmdline_next(const char **cursor, struct cmdline_word *w)
{
    const char *p = *cursor;
    if (!p)
        return false;
    while (blank(*p))
        p++;
    if (!*p) {
        *cursor = p;
        return false;
    }
    const char *start = p;
    while (*p && !blank(*p))
        p++;
    const char *eq = memchr(start, '=', (size_t)(p - start));
    w->key = start;
    w->key_len = (size_t)((eq ? eq : p) - start);
    w->value = eq ? eq + 1 : NULL;
    w->value_len = eq ? (size_t)(p - eq - 1) : 0;
    *cursor = p;
    return true;
}

bool cmdline_key_is(const struct cmdline_word *w, const char *key)
{
    return strlen(key) == w->key_len && !memcmp(w->key, key, w->key_len);
}

bool cmdline_has(const char *cmdline, const char *word)
{
    struct cmdline_word w;
    while (cmdline_next(&cmdline, &w))
        if (!w.value && cmdline_key_is(&w, word))
            return true;
    return false;
}
