/*
 * A Multiboot image linked and loaded at 0x8000 (guest/lib/guest_low.ld), as test kernels
 * written for other loaders often are: it starts, its code and data really are below
 * 1 MiB, and the Multiboot memory map the loader gave it reports the RAM it runs in.
 */
#include "guest/lib/guest.h"

DEFINE_TEST("low_image");

extern char __image_start[], __image_end[];
static volatile uint32_t data_word = 0x12345678;

void test_main(void)
{
    uintptr_t start = (uintptr_t)__image_start, end = (uintptr_t)__image_end;
    report(start == 0x8000 && end < 0x9fc00, "image at %#lx-%#lx, below 640 KiB", start, end);
    report((uintptr_t)&test_main < 0x100000 && (uintptr_t)&data_word < 0x100000,
           "code (%p) and data (%p) run from below 1 MiB", (void *)&test_main, (void *)&data_word);
    report(data_word == 0x12345678, "initialised data was loaded");
    data_word = 0xcafe;
    report(data_word == 0xcafe, "and is writable");
    bool in_ram = false;
    for (unsigned i = 0; i < boot.nranges; i++)
        in_ram |= boot.ranges[i].start <= start && end <= boot.ranges[i].end;
    report(boot.multiboot && in_ram, "entered by a Multiboot loader whose memory map holds the image");
}
