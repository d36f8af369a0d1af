#include "tests/unit/snap_codec_state.h"

#include <stdlib.h>
#include "hv/snapshot/snap_codec.h"

void *codec_state;

int codec_state_setup(void **s)
{
    (void)s;
    codec_state = aligned_alloc(64, (snap_codec_state_size() + 63) / 64 * 64);
    return codec_state ? 0 : -1;
}

int codec_state_teardown(void **s)
{
    (void)s;
    free(codec_state);
    codec_state = NULL;
    return 0;
}
