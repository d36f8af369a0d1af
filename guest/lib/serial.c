#include "guest/lib/serial.h"

#include "guest/lib/x86.h"

#define REG_DATA 0
#define REG_IER  1
#define REG_FCR  2
#define REG_LCR  3
#define REG_MCR  4
#define REG_LSR  5
#define LCR_DLAB 0x80
#define LSR_THRE 0x20
/* An absent or stuck UART must not hang the guest. */
#define MAX_POLLS 100000

void serial_init(void)
{
    outb(SERIAL_PORT + REG_IER, 0x00);
    outb(SERIAL_PORT + REG_LCR, LCR_DLAB);
    outb(SERIAL_PORT + REG_DATA, 0x01); /* divisor 1: 115200 baud */
    outb(SERIAL_PORT + REG_IER, 0x00);
    outb(SERIAL_PORT + REG_LCR, 0x03);  /* 8N1 */
    outb(SERIAL_PORT + REG_FCR, 0x07);  /* FIFO on, cleared */
    outb(SERIAL_PORT + REG_MCR, 0x03);  /* DTR, RTS */
}

static void serial_putc(char c)
{
    for (int i = 0; i < MAX_POLLS && !(inb(SERIAL_PORT + REG_LSR) & LSR_THRE); i++)
        pause();
    outb(SERIAL_PORT + REG_DATA, (uint8_t)c);
}

void serial_write(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        serial_putc(s[i]);
}
