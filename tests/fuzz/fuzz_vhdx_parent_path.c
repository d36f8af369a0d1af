/* libFuzzer target: a differencing disk's parent locator path (from the image, untrusted)
 * and the child's pool path made into a pool path: the result is NUL-terminated within
 * its buffer, holds no '\\', no empty, "." or ".." segment and no leading '/'. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv/storage/vhdx_parent_path.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2 || size > 600)
        return 0;
    size_t cut = data[0] % (size - 1);
    bool relative = data[1] & 1;
    size_t out_size = 1 + data[1] % 200;
    char *child = malloc(cut + 1), *loc = malloc(size - cut - 2 + 1);
    char *out = malloc(out_size);
    memcpy(child, data + 2, cut), child[cut] = '\0';
    memcpy(loc, data + 2 + cut, size - cut - 2), loc[size - cut - 2] = '\0';
    if (vhdx_parent_pool_path(child, loc, relative, out, out_size)) {
        size_t n = strnlen(out, out_size);
        if (n == out_size || n == 0 || strchr(out, '\\') || out[0] == '/' ||
            out[n - 1] == '/' || strstr(out, "//"))
            abort();
        for (char *seg = out; seg; seg = strchr(seg, '/') ? strchr(seg, '/') + 1 : NULL) {
            size_t len = strcspn(seg, "/");
            if ((len == 1 && seg[0] == '.') || (len == 2 && seg[0] == '.' && seg[1] == '.'))
                abort();
        }
    }
    free(child), free(loc), free(out);
    return 0;
}
