/* The machine's own 8250/16550 serial port: the hypervisor console. */
#ifndef ATOLL_DRIVERS_UART_UART8250_H
#define ATOLL_DRIVERS_UART_UART8250_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void serial8250_init(uint16_t base, uint32_t baud);
void serial8250_write(uint16_t base, const char *s, size_t n);
/* Without waiting: whether the transmitter's holding register (and FIFO) is empty,
 * whether the last byte has left the wire too, how many bytes it takes at once when
 * empty, and one byte written as it is. */
bool serial8250_tx_empty(uint16_t base);
bool serial8250_tx_idle(uint16_t base);
unsigned serial8250_tx_fifo_depth(uint16_t base);
void serial8250_put_raw(uint16_t base, char c);
/* Returns -1 when no byte is waiting. */
int serial8250_read(uint16_t base);

#endif
