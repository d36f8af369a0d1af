#include "boot/efi/manifest_scan.h"

struct span {
    const char *p;
    size_t n;
};

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\v' || c == '\f';
}

static struct span trim(struct span s)
{
    while (s.n > 0 && is_space(s.p[0])) {
        s.p++;
        s.n--;
    }
    while (s.n > 0 && is_space(s.p[s.n - 1]))
        s.n--;
    return s;
}

static bool span_is(struct span s, const char *word)
{
    size_t i = 0;
    for (; i < s.n; i++)
        if (word[i] != s.p[i])
            return false;
    return word[i] == '\0';
}

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
}

bool manifest_name_valid(const char *name, size_t len)
{
    if (len == 0 || len >= BOOTINFO_NAME_LEN)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!name_char(name[i]))
            return false;
    return true;
}

static bool is_file_key(struct span key)
{
    return span_is(key, "image") || span_is(key, "initrd") || span_is(key, "identity-key");
}

static bool already_listed(const struct manifest_files *out, struct span name)
{
    if (span_is(name, MANIFEST_FILE_NAME))
        return true;
    for (unsigned i = 0; i < out->count; i++)
        if (span_is(name, out->names[i]))
            return true;
    return false;
}

static int add_name(struct manifest_files *out, struct span name)
{
    if (already_listed(out, name))
        return 0;
    if (out->count == MANIFEST_SCAN_MAX_FILES)
        return -1;
    char *dst = out->names[out->count++];
    for (size_t i = 0; i < name.n; i++)
        dst[i] = name.p[i];
    dst[name.n] = '\0';
    return 0;
}

static int scan_line(struct span line, struct manifest_files *out)
{
    for (size_t i = 0; i < line.n; i++) {
        if (line.p[i] == '#') {
            line.n = i;
            break;
        }
    }
    size_t eq = 0;
    while (eq < line.n && line.p[eq] != '=')
        eq++;
    if (eq == line.n)
        return 0;
    struct span key = trim((struct span){line.p, eq});
    struct span value = trim((struct span){line.p + eq + 1, line.n - eq - 1});
    if (!is_file_key(key) || !manifest_name_valid(value.p, value.n))
        return 0;
    return add_name(out, value);
}

int manifest_scan_files(const char *text, size_t len, struct manifest_files *out)
{
    out->count = 0;
    size_t start = 0;
    while (start < len) {
        size_t end = start;
        while (end < len && text[end] != '\n')
            end++;
        if (scan_line((struct span){text + start, end - start}, out) != 0)
            return -1;
        start = end + 1;
    }
    return 0;
}
