/* Fixed addresses and selectors shared by the runtime's assembly and C. */
#ifndef ATOLL_GUEST_LAYOUT_H
#define ATOLL_GUEST_LAYOUT_H

#define GUEST_LOAD_ADDR   0x100000     /* images are linked and loaded at 1 MiB */
#define GUEST_FLAT_ENTRY  0x10000c     /* 32-bit entry for the flat path: after the MB header */
#define TRAMPOLINE_ADDR   0x8000       /* AP real-mode trampoline, SIPI vector 0x08 */

#define SEL_CODE64 0x08
#define SEL_DATA   0x10
#define SEL_CODE32 0x18

#define BOOT_STACK_SIZE 16384
#define AP_STACK_SIZE   8192
#define MAX_CPUS        8

#define MULTIBOOT_HEADER_MAGIC 0x1badb002
#define MULTIBOOT_BOOT_MAGIC   0x2badb002

#endif
