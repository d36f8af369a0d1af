#include "guest/lib/channel_window.h"

#include <stdint.h>
#include "guest/lib/x86.h"

static uint64_t window_pd[512] __attribute__((aligned(4096)));

void channel_window_map(void)
{
    uint64_t *pml4 = (uint64_t *)(read_cr3() & ~0xfffull);
    uint64_t *pdpt = (uint64_t *)(pml4[0] & 0x000ffffffffff000ull);
    for (unsigned i = 0; i < 512; i++)
        window_pd[i] = (CHANNEL_WINDOW_GPA + ((uint64_t)i << 21)) | 0x83;
    pdpt[4] = (uintptr_t)window_pd | 3;
    write_cr3(read_cr3());
}
