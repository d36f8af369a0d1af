/* The 64-bit descriptor-table structures the guests build: IDT gates, the TSS, its GDT
 * descriptor and the LGDT/LIDT operand (SDM Vol. 3, 6.14.1, 7.7, 8.2.3). */
#ifndef ATOLL_GUEST_DESCRIPTORS_H
#define ATOLL_GUEST_DESCRIPTORS_H

#include <stddef.h>
#include <stdint.h>

struct __attribute__((packed)) table_ptr {
    uint16_t limit;
    uint64_t base;
};

struct idt_gate {
    uint16_t offset_low, selector;
    uint8_t ist, type_attr;
    uint16_t offset_mid;
    uint32_t offset_high, reserved;
} __attribute__((packed));

struct __attribute__((packed)) tss64 {
    uint32_t reserved0;
    uint64_t rsp[3];
    uint64_t reserved1;
    uint64_t ist[7];
    uint64_t reserved2;
    uint16_t reserved3, iomap_base;
};

/* A present ring-0 64-bit interrupt gate to handler through code selector sel, on IST
 * stack ist (0: none). */
static inline struct idt_gate idt_interrupt_gate(uint64_t handler, uint16_t sel, uint8_t ist)
{
    return (struct idt_gate){
        .offset_low = (uint16_t)handler,
        .selector = sel,
        .ist = ist,
        .type_attr = 0x8e,
        .offset_mid = (uint16_t)(handler >> 16),
        .offset_high = (uint32_t)(handler >> 32),
    };
}

/* The two GDT entries of an available 64-bit TSS of size bytes at tss. */
static inline void gdt_tss_descriptor(uint64_t entry[2], const void *tss, size_t size)
{
    uint64_t base = (uint64_t)(uintptr_t)tss, limit = size - 1;
    entry[0] = (limit & 0xffff) | (base & 0xffffff) << 16 | 0x89ull << 40 |
               ((limit >> 16) & 0xf) << 48 | ((base >> 24) & 0xff) << 56;
    entry[1] = base >> 32;
}

#endif
