/* QEMU's fw_cfg interface at 0x510 (selector) / 0x511 (data), as Atoll emulates it. */
#ifndef ATOLL_GUEST_FWCFG_H
#define ATOLL_GUEST_FWCFG_H

#include <stddef.h>
#include <stdint.h>

#define FWCFG_SIGNATURE 0x00
#define FWCFG_RAM_SIZE  0x03
#define FWCFG_NB_CPUS   0x05

void fwcfg_read(uint16_t key, void *buf, size_t len);
/* Little-endian integers; all-ones when no fw_cfg device answers. */
uint64_t fwcfg_read_u64(uint16_t key);
uint16_t fwcfg_read_u16(uint16_t key);

#endif
