/* Microsoft-style GUIDs as stored on disk: Data1/2/3 little-endian, Data4 as bytes. Portable. */
#ifndef ATOLL_HV_LIB_GUID_H
#define ATOLL_HV_LIB_GUID_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct guid {
    uint8_t b[16]; /* exactly the 16 on-disk bytes */
};

#define GUID_STR_LEN 38 /* "{xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx}" without the NUL */

/* Builds the on-disk form of the textual GUID data1-data2-data3-data4. */
struct guid guid_make(uint32_t d1, uint16_t d2, uint16_t d3, const uint8_t d4[8]);
bool guid_eq(const struct guid *a, const struct guid *b);
bool guid_is_zero(const struct guid *g);
/* Writes "{...}" in lower case plus a NUL: out must hold GUID_STR_LEN + 1 bytes. */
void guid_format(const struct guid *g, char *out);
/* Parses the 36-character form, with or without braces, either case. Exact length. */
bool guid_parse(const char *s, size_t len, struct guid *out);

#endif
