#include "drivers/uart/uart8250.h"
#include "hv/arch/x86/cpu.h"

enum { THR = 0, RBR = 0, DLL = 0, IER = 1, DLM = 1, FCR = 2, LCR = 3, MCR = 4, LSR = 5 };
#define LSR_DATA_READY 0x01
#define LSR_THR_EMPTY  0x20
#define LSR_TX_IDLE    0x40

void serial8250_init(uint16_t base, uint32_t baud)
{
    uint16_t divisor = (uint16_t)(115200 / (baud ? baud : 115200));
    outb(base + IER, 0x00);
    outb(base + LCR, 0x80);
    outb(base + DLL, divisor & 0xff);
    outb(base + DLM, divisor >> 8);
    outb(base + LCR, 0x03);         /* 8N1 */
    outb(base + FCR, 0x07);         /* FIFO on, cleared */
    outb(base + MCR, 0x03);         /* DTR, RTS */
}

static void put_byte(uint16_t base, char c)
{
    for (unsigned spins = 0; spins < 1000000; spins++)
        if (inb(base + LSR) & LSR_THR_EMPTY)
            break;
    outb(base + THR, (uint8_t)c);
}

void serial8250_write(uint16_t base, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '\n')
            put_byte(base, '\r');
        put_byte(base, s[i]);
    }
}

bool serial8250_tx_empty(uint16_t base)
{
    return inb(base + LSR) & LSR_THR_EMPTY;
}

bool serial8250_tx_idle(uint16_t base)
{
    return inb(base + LSR) & LSR_TX_IDLE;
}

unsigned serial8250_tx_fifo_depth(uint16_t base)
{
    return (inb(base + FCR) & 0xc0) == 0xc0 ? 16 : 1;     /* IIR: a 16550A's FIFOs on */
}

void serial8250_put_raw(uint16_t base, char c)
{
    outb(base + THR, (uint8_t)c);
}

int serial8250_read(uint16_t base)
{
    if (!(inb(base + LSR) & LSR_DATA_READY))
        return -1;
    return inb(base + RBR);
}
