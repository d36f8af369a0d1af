/* The machine's own 8250/16550 serial port: the hypervisor console. */
#ifndef ATOLL_DRIVERS_UART_UART8250_H
#define ATOLL_DRIVERS_UART_UART8250_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

void serial8250_init(uint16_t base, uint32_t baud);
void serial8250_write(uint16_t base, const char *s, size_t n);
/* Returns -1 when no byte is waiting. */
int serial8250_read(uint16_t base);

#endif
