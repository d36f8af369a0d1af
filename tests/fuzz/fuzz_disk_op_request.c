/* libFuzzer target: the words of a live disk operation request (the control protocol's
 * CTL_MSG_DISK text, the [script] verb's arguments): parsed, and every accepted request
 * holds NUL-terminated fields within their bounds and a known verb and format. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv/storage/disk_op_request.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 1024)
        return 0;
    char *words = malloc(size + 1);     /* exact size: ASan sees a read past the end */
    memcpy(words, data, size);
    words[size] = '\0';
    struct disk_op_request r;
    char err[160];
    if (disk_op_parse(words, &r, err, sizeof(err)) == 0) {
        if (strnlen(r.partition, sizeof(r.partition)) == sizeof(r.partition) ||
            strnlen(r.disk, sizeof(r.disk)) == sizeof(r.disk) ||
            strnlen(r.dst, sizeof(r.dst)) == sizeof(r.dst) || r.verb >= DISK_VERBS ||
            strnlen(r.host, sizeof(r.host)) == sizeof(r.host) ||
            (r.verb == DISK_VERB_MIGRATE && (!r.host[0] || !r.dst[0])) ||
            r.format > DISK_FORMAT_RAW || !r.disk[0])
            abort();
    } else if (!memchr(err, 0, sizeof(err))) {
        abort();
    }
    free(words);
    return 0;
}
