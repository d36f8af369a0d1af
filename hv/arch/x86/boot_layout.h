/* Constants shared by the boot assembly and C. */
#ifndef ATOLL_HV_ARCH_X86_BOOT_LAYOUT_H
#define ATOLL_HV_ARCH_X86_BOOT_LAYOUT_H

#define KERNEL_PHYS         0x1000000
#define KERNEL_VIRT_OFFSET  0xffffffff80000000
#define DIRECT_MAP_BASE     0xffff800000000000

#define BOOT_KIND_EFI  1    /* = BOOT_LOADER_EFI */
#define BOOT_KIND_MB2  2    /* = BOOT_LOADER_MULTIBOOT2 */

#define BOOT_CS64  0x08
#define BOOT_DS    0x10

#define GDT_KERNEL_CS 0x08
#define GDT_KERNEL_DS 0x10
#define GDT_TSS       0x18

#define BOOT_STACK_SIZE 0x4000
#define CPU_STACK_SIZE  0x8000
#define IST_STACK_SIZE  0x2000

#endif
