/* libFuzzer target: a manifest's [script] fed arbitrary console output.  The input is a
 * manifest, a NUL byte, then console text that partitions a and b print in turns, split
 * at newlines (what a guest prints is the untrusted part). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv/core/config/script.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct manifest m;
    static struct script s;
    char err[MANIFEST_ERR_LEN];
    const uint8_t *nul = memchr(data, 0, size);
    size_t mlen = nul ? (size_t)(nul - data) : size;
    if (manifest_parse(&m, (const char *)data, mlen, "atoll.cfg", err, sizeof(err)) != 0 ||
        script_init(&s, &m, "atoll.cfg", err, sizeof(err)) != 0)
        return 0;
    size_t off = nul ? mlen + 1 : size;
    uint32_t ran[MANIFEST_MAX_RULES];
    unsigned total = 0;
    for (unsigned turn = 0; off < size; turn++) {
        const uint8_t *nl = memchr(data + off, '\n', size - off);
        size_t len = nl ? (size_t)(nl - (data + off)) : size - off;
        /* An exact-size copy, so ASan sees any read past the line. */
        char *line = malloc(len ? len : 1);
        memcpy(line, data + off, len);
        unsigned n = script_feed(&s, turn & 1 ? "b" : "a", line, len, ran, MANIFEST_MAX_RULES);
        free(line);
        for (unsigned i = 0; i < n; i++)
            if (ran[i] != total + i || ran[i] >= s.count)
                abort();
        total += n;
        off += len + (nl ? 1 : 0);
    }
    if (total > s.count || s.next != total)
        abort();
    return 0;
}
