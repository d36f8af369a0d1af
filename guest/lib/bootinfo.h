/*
 * What the guest learns about its partition at boot: RAM ranges (Multiboot memory map, else
 * mem_lower/mem_upper, else fw_cfg's RAM size), RAM size and CPU count (fw_cfg), and the
 * command line (Multiboot; a flat image has none).  Without fw_cfg (bare Bochs), `cpus=N` on
 * the command line gives the CPU count.
 */
#ifndef ATOLL_GUEST_BOOTINFO_H
#define ATOLL_GUEST_BOOTINFO_H

#include <stdbool.h>
#include <stdint.h>

#define BOOT_MAX_RAM_RANGES 16
#define BOOT_CMDLINE_MAX    256

struct ram_range {
    uint64_t start, end; /* [start, end) */
};

struct boot_facts {
    bool multiboot;                 /* entered by a Multiboot loader (else: flat image) */
    bool fwcfg;                     /* fw_cfg answered */
    uint64_t ram_size;              /* bytes; fw_cfg key 0x03, else top of the RAM ranges */
    unsigned cpus;                  /* fw_cfg key 0x05, else cmdline cpus=N, else 1 */
    unsigned nranges;
    struct ram_range ranges[BOOT_MAX_RAM_RANGES];
    char cmdline[BOOT_CMDLINE_MAX];
};

extern struct boot_facts boot;

void bootinfo_init(uint32_t magic, uint32_t info_addr);

/* The end of the highest RAM range (or ram_size, whichever is larger). */
uint64_t boot_ram_end(void);

/* Command-line words: `flag` and `key=value`. */
bool cmdline_has(const char *word);
uint64_t cmdline_u64(const char *key, uint64_t fallback);

/* Where the image ends (its .bss included), for tests that use free RAM. */
uintptr_t image_end(void);

#endif
