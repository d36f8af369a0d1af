/* A parent locator's path as a pool path (see vhdx_parent_path.h). */
#include "hv/storage/vhdx_parent_path.h"

#include <string.h>

/* Appends one segment of `len` bytes to out (length *n): "." stays, ".." climbs. */
static bool add_segment(char *out, size_t size, size_t *n, const char *seg, size_t len)
{
    if (!len || (len == 1 && seg[0] == '.'))
        return true;
    if (len == 2 && seg[0] == '.' && seg[1] == '.') {
        if (!*n)
            return false;                   /* above the pool's root */
        while (*n && out[*n - 1] != '/')
            (*n)--;
        if (*n)
            (*n)--;                         /* the slash before the dropped segment */
        out[*n] = '\0';
        return true;
    }
    size_t need = *n + (*n ? 1 : 0) + len;
    if (need >= size)
        return false;
    if (*n)
        out[(*n)++] = '/';
    memcpy(out + *n, seg, len);
    *n += len;
    out[*n] = '\0';
    return true;
}

static bool add_path(char *out, size_t size, size_t *n, const char *p, size_t len)
{
    size_t i = 0;
    while (i < len) {
        size_t j = i;
        while (j < len && p[j] != '\\' && p[j] != '/')
            j++;
        if (!add_segment(out, size, n, p + i, j - i))
            return false;
        i = j + 1;
    }
    return true;
}

bool vhdx_parent_pool_path(const char *child, const char *locator, bool relative, char *out,
                           size_t size)
{
    if (!size)
        return false;
    out[0] = '\0';
    size_t n = 0, len = strlen(locator);
    if (!len)
        return false;
    if (relative) {
        const char *slash = strrchr(child, '/');
        if (slash && !add_path(out, size, &n, child, (size_t)(slash - child)))
            return false;
    } else if (len >= 2 && locator[1] == ':') {
        locator += 2;                       /* the drive: the pool is one volume */
        len -= 2;
    }
    if (!add_path(out, size, &n, locator, len))
        return false;
    return n > 0;
}
