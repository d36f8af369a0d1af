/*
 * A guest that never gives its CPU back: interrupts off, `jmp .` forever, no exit of its
 * own.  Only the hypervisor's time slice takes the CPU from it; a scenario puts it beside
 * the timer guest on one CPU and stops it by script when the timer guest is done.  It
 * prints no result line (it never ends by itself).  With `hlt` on its command line it halts
 * with interrupts on instead: an idle partition that holds its disks.
 */
#include "guest/lib/guest.h"

DEFINE_TEST("spin");

void test_main(void)
{
    if (cmdline_has("hlt")) {   /* idle instead: a partition that only holds its disks */
        printf("spin: halting with interrupts on\n");
        for (;;)
            __asm__ volatile("sti; hlt" ::: "memory");
    }
    printf("spin: spinning with interrupts off\n");
    __asm__ volatile("cli; 1: jmp 1b" ::: "memory");
}
