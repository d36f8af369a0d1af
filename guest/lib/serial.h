/* The 8250 UART at 0x3f8: the guest's console. */
#ifndef ATOLL_GUEST_SERIAL_H
#define ATOLL_GUEST_SERIAL_H

#include <stddef.h>

#define SERIAL_PORT 0x3f8

void serial_init(void);
void serial_write(const char *s, size_t n);

#endif
