/* The around mode's HANDOVER payload (see storage_mig_handover.h). */
#include "hv/storage/storage_mig_handover.h"

#include <string.h>
#include "hv/lib/format.h"
#include "hv/lib/le.h"



size_t smig_handover_size(uint32_t units)
{
    return SMIG_HANDOVER_HEAD + ((size_t)units + 7) / 8;
}

size_t smig_handover_encode(uint32_t units, const uint8_t *bitmap, uint8_t *out, size_t cap)
{
    size_t n = smig_handover_size(units);
    if (cap < n)
        return 0;
    put_le32(out, units);
    put_le32(out + 4, 0);
    memcpy(out + SMIG_HANDOVER_HEAD, bitmap, n - SMIG_HANDOVER_HEAD);
    if (units % 8)
        out[n - 1] &= (uint8_t)((1u << (units % 8)) - 1);
    return n;
}

int smig_handover_decode(const uint8_t *in, uint32_t len, uint32_t units,
                         const uint8_t **bitmap, char *err, size_t err_size)
{
    *bitmap = NULL;
    const char *why = NULL;
    if (len < SMIG_HANDOVER_HEAD)
        why = "a HANDOVER too short";
    else if (le32(in) != units)
        why = "a HANDOVER for another number of units";
    else if (le32(in + 4))
        why = "a HANDOVER with reserved bits set";
    else if (len != smig_handover_size(units))
        why = "a HANDOVER of the wrong size";
    else if (units % 8 && (in[len - 1] >> (units % 8)))
        why = "a HANDOVER with bits past the last unit";
    if (why) {
        fmt_snprintf(err, err_size, "%s", why);
        return -1;
    }
    *bitmap = in + SMIG_HANDOVER_HEAD;
    return 0;
}
