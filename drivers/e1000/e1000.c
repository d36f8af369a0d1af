#include "drivers/e1000/e1000.h"

#include <string.h>

#include "hv/arch/x86/tsc.h"
#include "hv/lib/format.h"
#include "hv/mm/kmem.h"

#define RESET_WAIT_US   10000
#define EEPROM_WAIT_US  10000

static const uint16_t supported[] = { 0x100e, 0x100f, 0x10d3 };

/* Descriptor writes must reach memory before the tail register tells the NIC about them,
 * and a descriptor's DD bit must be seen before the rest of it is read. */
static inline void dma_wmb(void) { __asm__ volatile("sfence" ::: "memory"); }
static inline void dma_rmb(void) { __asm__ volatile("lfence" ::: "memory"); }

static uint32_t reg_read(const struct e1000 *nic, uint32_t off)
{
    return *(volatile const uint32_t *)(nic->regs + off);
}

static void reg_write(struct e1000 *nic, uint32_t off, uint32_t v)
{
    *(volatile uint32_t *)(nic->regs + off) = v;
}

static bool is_supported(const struct pci_device *d, void *ctx)
{
    if (d->vendor != 0x8086)
        return false;
    for (size_t i = 0; i < sizeof(supported) / sizeof(supported[0]); i++)
        if (d->device == supported[i]) {
            *(struct pci_device *)ctx = *d;
            return true;
        }
    return false;
}

static bool wait_bits(const struct e1000 *nic, uint32_t off, uint32_t mask, uint32_t want,
                      uint64_t us)
{
    uint64_t end = time_ns() + us * 1000;
    while ((reg_read(nic, off) & mask) != want)
        if (time_ns() > end)
            return false;
    return true;
}

static bool eeprom_word(struct e1000 *nic, uint8_t addr, uint16_t *out)
{
    reg_write(nic, E1000_EERD, E1000_EERD_START | (uint32_t)addr << 8);
    if (!wait_bits(nic, E1000_EERD, E1000_EERD_DONE, E1000_EERD_DONE, EEPROM_WAIT_US))
        return false;
    *out = (uint16_t)(reg_read(nic, E1000_EERD) >> 16);
    return true;
}

/* The MAC from the EEPROM (words 0-2); where that is not readable, what the NIC already
 * holds in receive address 0.  Written back to receive address 0 either way. */
static void load_mac(struct e1000 *nic)
{
    uint16_t w[3];
    if (eeprom_word(nic, 0, &w[0]) && eeprom_word(nic, 1, &w[1]) && eeprom_word(nic, 2, &w[2])) {
        for (int i = 0; i < 3; i++) {
            nic->mac[2 * i] = (uint8_t)w[i];
            nic->mac[2 * i + 1] = (uint8_t)(w[i] >> 8);
        }
    } else {
        uint32_t lo = reg_read(nic, E1000_RAL0), hi = reg_read(nic, E1000_RAH0);
        for (int i = 0; i < 4; i++)
            nic->mac[i] = (uint8_t)(lo >> (8 * i));
        nic->mac[4] = (uint8_t)hi;
        nic->mac[5] = (uint8_t)(hi >> 8);
    }
    reg_write(nic, E1000_RAL0, (uint32_t)nic->mac[0] | (uint32_t)nic->mac[1] << 8 |
                               (uint32_t)nic->mac[2] << 16 | (uint32_t)nic->mac[3] << 24);
    reg_write(nic, E1000_RAH0, (uint32_t)nic->mac[4] | (uint32_t)nic->mac[5] << 8 | E1000_RAH_AV);
}

static bool alloc_rings(struct e1000 *nic)
{
    nic->rx = kmem_alloc_pages(1);      /* 64 descriptors of 16 bytes each fit a page */
    nic->tx = kmem_alloc_pages(1);
    nic->rx_buf = kmem_alloc_pages(E1000_RX_RING * E1000_BUF_SIZE / 4096);
    nic->tx_buf = kmem_alloc_pages(E1000_TX_RING * E1000_BUF_SIZE / 4096);
    return nic->rx && nic->tx && nic->rx_buf && nic->tx_buf;
}

static void free_rings(struct e1000 *nic)
{
    if (nic->rx) kmem_free_pages((void *)nic->rx, 1);
    if (nic->tx) kmem_free_pages((void *)nic->tx, 1);
    if (nic->rx_buf) kmem_free_pages(nic->rx_buf, E1000_RX_RING * E1000_BUF_SIZE / 4096);
    if (nic->tx_buf) kmem_free_pages(nic->tx_buf, E1000_TX_RING * E1000_BUF_SIZE / 4096);
}

static void setup_rx(struct e1000 *nic)
{
    for (unsigned i = 0; i < E1000_RX_RING; i++) {
        nic->rx[i].addr = virt_to_phys(nic->rx_buf + i * E1000_BUF_SIZE);
        nic->rx[i].status = 0;
    }
    uint64_t ring = virt_to_phys((const void *)nic->rx);
    reg_write(nic, E1000_RDBAL, (uint32_t)ring);
    reg_write(nic, E1000_RDBAH, (uint32_t)(ring >> 32));
    reg_write(nic, E1000_RDLEN, E1000_RX_RING * sizeof(struct e1000_rx_desc));
    reg_write(nic, E1000_RDH, 0);
    dma_wmb();
    reg_write(nic, E1000_RDT, E1000_RX_RING - 1);
    nic->rx_next = 0;
    reg_write(nic, E1000_RCTL, E1000_RCTL_EN | E1000_RCTL_BAM | E1000_RCTL_SECRC);
}

static void setup_tx(struct e1000 *nic)
{
    for (unsigned i = 0; i < E1000_TX_RING; i++) {
        nic->tx[i].addr = virt_to_phys(nic->tx_buf + i * E1000_BUF_SIZE);
        nic->tx[i].cmd = 0;
        nic->tx[i].status = E1000_TXD_DD;    /* free */
    }
    uint64_t ring = virt_to_phys((const void *)nic->tx);
    reg_write(nic, E1000_TDBAL, (uint32_t)ring);
    reg_write(nic, E1000_TDBAH, (uint32_t)(ring >> 32));
    reg_write(nic, E1000_TDLEN, E1000_TX_RING * sizeof(struct e1000_tx_desc));
    reg_write(nic, E1000_TDH, 0);
    reg_write(nic, E1000_TDT, 0);
    nic->tx_tail = 0;
    reg_write(nic, E1000_TIPG, E1000_TIPG_DEFAULT);
    reg_write(nic, E1000_TCTL, E1000_TCTL_EN | E1000_TCTL_PSP | E1000_TCTL_CT(0x0f) |
                               E1000_TCTL_COLD(0x40));
}

static int fail(char *err, size_t n, const char *msg, const struct pci_device *d)
{
    fmt_snprintf(err, n, "e1000 at PCI %02x:%02x.%x: %s", d->bus, d->dev, d->fn, msg);
    return -1;
}

static int map_registers(struct e1000 *nic, char *err, size_t n)
{
    struct pci_bar bar;
    if (!pci_bar_read(&nic->pci, 0, &bar) || bar.io)
        return fail(err, n, "BAR0 is not a memory BAR", &nic->pci);
    nic->regs = pci_bar_map(&bar);
    if (!nic->regs || bar.size < 0x20000)
        return fail(err, n, "BAR0 is unassigned, too small or above 4 GiB", &nic->pci);
    pci_enable(&nic->pci, PCI_CMD_MEMORY | PCI_CMD_BUS_MASTER);
    return 0;
}

static void reset_and_link(struct e1000 *nic)
{
    reg_write(nic, E1000_IMC, 0xffffffffu);
    reg_write(nic, E1000_CTRL, reg_read(nic, E1000_CTRL) | E1000_CTRL_RST);
    udelay(1000);
    wait_bits(nic, E1000_CTRL, E1000_CTRL_RST, 0, RESET_WAIT_US);
    reg_write(nic, E1000_IMC, 0xffffffffu);      /* polled: no interrupts */
    (void)reg_read(nic, E1000_ICR);
    uint32_t ctrl = reg_read(nic, E1000_CTRL);
    ctrl &= ~(E1000_CTRL_LRST | E1000_CTRL_PHY_RST | E1000_CTRL_ILOS | E1000_CTRL_VME);
    reg_write(nic, E1000_CTRL, ctrl | E1000_CTRL_SLU | E1000_CTRL_ASDE);
    for (unsigned i = 0; i < 128; i++)
        reg_write(nic, E1000_MTA + 4 * i, 0);
}

int e1000_probe(struct e1000 *nic, char *err, size_t err_size)
{
    memset(nic, 0, sizeof(*nic));
    if (!pci_scan(is_supported, &nic->pci)) {
        fmt_snprintf(err, err_size, "no e1000 NIC (8086:100e/100f/10d3) on the PCI bus");
        return -1;
    }
    if (map_registers(nic, err, err_size) < 0)
        return -1;
    if (!alloc_rings(nic)) {
        free_rings(nic);
        return fail(err, err_size, "out of memory for the descriptor rings", &nic->pci);
    }
    reset_and_link(nic);
    load_mac(nic);
    setup_rx(nic);
    setup_tx(nic);
    return 0;
}

bool e1000_link_up(const struct e1000 *nic)
{
    return reg_read(nic, E1000_STATUS) & E1000_STATUS_LU;
}

/* Returns the descriptor at rx_next to the NIC (it becomes the new tail) and moves on. */
static void rx_give_back(struct e1000 *nic)
{
    volatile struct e1000_rx_desc *d = &nic->rx[nic->rx_next];
    d->status = 0;
    dma_wmb();
    reg_write(nic, E1000_RDT, nic->rx_next);
    nic->rx_next = (nic->rx_next + 1) % E1000_RX_RING;
}

const void *e1000_rx_peek(struct e1000 *nic, size_t *len)
{
    for (;;) {
        volatile struct e1000_rx_desc *d = &nic->rx[nic->rx_next];
        if (!(d->status & E1000_RXD_DD))
            return NULL;
        dma_rmb();
        size_t n = d->length;
        if ((d->status & E1000_RXD_EOP) && !d->errors && n > 0 && n <= E1000_BUF_SIZE) {
            *len = n;
            return nic->rx_buf + nic->rx_next * E1000_BUF_SIZE;
        }
        nic->stats.rx_dropped++;     /* errored, or part of a frame too long for a buffer */
        rx_give_back(nic);
    }
}

void e1000_rx_release(struct e1000 *nic)
{
    nic->stats.rx_frames++;
    nic->stats.rx_bytes += nic->rx[nic->rx_next].length;
    rx_give_back(nic);
}

void *e1000_tx_buffer(struct e1000 *nic)
{
    if (!(nic->tx[nic->tx_tail].status & E1000_TXD_DD)) {
        nic->stats.tx_ring_full++;
        return NULL;
    }
    return nic->tx_buf + nic->tx_tail * E1000_BUF_SIZE;
}

void e1000_tx_send(struct e1000 *nic, size_t len)
{
    volatile struct e1000_tx_desc *d = &nic->tx[nic->tx_tail];
    d->length = (uint16_t)(len < E1000_FRAME_MAX ? len : E1000_FRAME_MAX);
    d->cso = 0;
    d->css = 0;
    d->special = 0;
    d->status = 0;
    d->cmd = E1000_TXD_EOP | E1000_TXD_IFCS | E1000_TXD_RS;
    dma_wmb();
    nic->tx_tail = (nic->tx_tail + 1) % E1000_TX_RING;
    reg_write(nic, E1000_TDT, nic->tx_tail);
    nic->stats.tx_frames++;
    nic->stats.tx_bytes += len;
}
