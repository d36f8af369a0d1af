/*
 * Parallel ATA on the legacy PIIX ports (0x1f0/0x3f6 and 0x170/0x376), as Bochs and QEMU's
 * i440fx emulate: IDENTIFY, LBA28/LBA48, bus-master DMA where the controller and drive
 * offer it and PIO otherwise, interrupts masked (nIEN) and completion found by polling
 * from block_poll.  ATAPI devices are skipped.
 */
#ifndef ATOLL_DRIVERS_ATA_ATA_H
#define ATOLL_DRIVERS_ATA_ATA_H
#include "hv/storage/block.h"

/* Probes both legacy channels and registers each ATA disk (ata0..ata3); returns the count.
 * allow_dma false keeps every disk on PIO (the kernel command line's `ata-pio`). */
unsigned ata_probe(bool allow_dma);

#endif
