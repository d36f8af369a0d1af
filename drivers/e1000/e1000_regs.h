/* Registers and descriptors of the Intel 8254x (e1000) family, from the 8254x Software
 * Developer's Manual; only what the driver uses. */
#ifndef ATOLL_DRIVERS_E1000_E1000_REGS_H
#define ATOLL_DRIVERS_E1000_E1000_REGS_H
#include <stdint.h>

#define E1000_CTRL    0x0000
#define E1000_STATUS  0x0008
#define E1000_EERD    0x0014
#define E1000_ICR     0x00c0
#define E1000_IMS     0x00d0
#define E1000_IMC     0x00d8
#define E1000_RCTL    0x0100
#define E1000_TCTL    0x0400
#define E1000_TIPG    0x0410
#define E1000_RDBAL   0x2800
#define E1000_RDBAH   0x2804
#define E1000_RDLEN   0x2808
#define E1000_RDH     0x2810
#define E1000_RDT     0x2818
#define E1000_TDBAL   0x3800
#define E1000_TDBAH   0x3804
#define E1000_TDLEN   0x3808
#define E1000_TDH     0x3810
#define E1000_TDT     0x3818
#define E1000_MTA     0x5200   /* 128 entries */
#define E1000_RAL0    0x5400
#define E1000_RAH0    0x5404

#define E1000_CTRL_ASDE    (1u << 5)
#define E1000_CTRL_SLU     (1u << 6)
#define E1000_CTRL_ILOS    (1u << 7)
#define E1000_CTRL_RST     (1u << 26)
#define E1000_CTRL_VME     (1u << 30)
#define E1000_CTRL_PHY_RST (1u << 31)
#define E1000_CTRL_LRST    (1u << 3)

#define E1000_STATUS_LU    (1u << 1)

#define E1000_EERD_START   (1u << 0)
#define E1000_EERD_DONE    (1u << 4)

#define E1000_RCTL_EN      (1u << 1)
#define E1000_RCTL_BAM     (1u << 15)
#define E1000_RCTL_SECRC   (1u << 26)   /* strip the Ethernet CRC; BSIZE 00 = 2048 bytes */

#define E1000_TCTL_EN      (1u << 1)
#define E1000_TCTL_PSP     (1u << 3)
#define E1000_TCTL_CT(n)   ((uint32_t)(n) << 4)
#define E1000_TCTL_COLD(n) ((uint32_t)(n) << 12)
#define E1000_TIPG_DEFAULT (10u | 8u << 10 | 6u << 20)

#define E1000_RAH_AV       (1u << 31)

/* Legacy descriptors (16 bytes each). */
struct e1000_rx_desc {
    uint64_t addr;
    uint16_t length;
    uint16_t checksum;
    uint8_t status;
    uint8_t errors;
    uint16_t special;
} __attribute__((packed));

struct e1000_tx_desc {
    uint64_t addr;
    uint16_t length;
    uint8_t cso;
    uint8_t cmd;
    uint8_t status;
    uint8_t css;
    uint16_t special;
} __attribute__((packed));

#define E1000_RXD_DD   (1u << 0)
#define E1000_RXD_EOP  (1u << 1)
#define E1000_TXD_EOP  (1u << 0)
#define E1000_TXD_IFCS (1u << 1)
#define E1000_TXD_RS   (1u << 3)
#define E1000_TXD_DD   (1u << 0)

#endif
