/*
 * A guest that never gives its CPU back: interrupts off, `jmp .` forever, no exit of its
 * own.  Only the hypervisor's time slice takes the CPU from it; a scenario puts it beside
 * the timer guest on one CPU and stops it by script when the timer guest is done.  It
 * prints no result line (it never ends by itself).
 */
#include "guest/lib/guest.h"

DEFINE_TEST("spin");

void test_main(void)
{
    printf("spin: spinning with interrupts off\n");
    __asm__ volatile("cli; 1: jmp 1b" ::: "memory");
}
