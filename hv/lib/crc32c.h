/* CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as used by VHDX and iSCSI. Portable. */
#ifndef ATOLL_HV_LIB_CRC32C_H
#define ATOLL_HV_LIB_CRC32C_H
#include <stddef.h>
#include <stdint.h>

/* Continues a running CRC: start with crc = 0; crc32c(0, "123456789", 9) == 0xE3069283. */
uint32_t crc32c(uint32_t crc, const void *data, size_t len);
/* The same from tables alone (what crc32c uses on a CPU without SSE4.2's CRC32). */
uint32_t crc32c_sw(uint32_t crc, const void *data, size_t len);

#endif
