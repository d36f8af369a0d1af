/*
 * Bus-master IDE DMA (the PIIX's, as Bochs and QEMU emulate it, and the SFF-8038i
 * interface of other IDE controllers): per channel, a PRD table over a 64 KiB bounce
 * buffer below 4 GiB.  The ATA driver copies between its requests and the buffer, issues
 * the DMA command between ata_bmdma_prepare and ata_bmdma_start, and polls.
 */
#ifndef ATOLL_DRIVERS_ATA_ATA_BMDMA_H
#define ATOLL_DRIVERS_ATA_ATA_BMDMA_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ATA_BMDMA_BYTES (64u * 1024)

struct ata_bmdma {
    uint16_t port;              /* this channel's bus-master registers; 0: no DMA */
    uint32_t *prd;              /* physical region descriptors */
    uint8_t *buf;               /* ATA_BMDMA_BYTES, page-aligned */
};

/* Finds the PCI IDE controller driving the legacy channels and sets up DMA for each:
 * channels[0] primary, channels[1] secondary.  Returns how many can do DMA (0: PIO only). */
unsigned ata_bmdma_probe(struct ata_bmdma channels[2]);
/* Before the ATA command: bytes (<= ATA_BMDMA_BYTES) to or from the buffer. */
void ata_bmdma_prepare(struct ata_bmdma *b, size_t bytes, bool to_memory);
/* After the ATA command. */
void ata_bmdma_start(struct ata_bmdma *b);
/* 1: the controller finished, 0: still moving, -1: it reported an error. */
int ata_bmdma_state(const struct ata_bmdma *b);
void ata_bmdma_stop(struct ata_bmdma *b);

#endif
