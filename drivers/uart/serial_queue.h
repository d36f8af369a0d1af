/*
 * The hypervisor console's serial output, queued (64 KiB, "\n" sent as "\r\n") and handed
 * to the UART's FIFO as it empties, by every writer and by the service poll: a console
 * sink (hv/arch/x86/console.h) that makes a CPU wait at 115200 baud only when its queue
 * is full.  Until the first poll, and after a drain, writes are synchronous: early boot
 * lines and the machine's last lines are on the wire before the next instruction.
 */
#ifndef ATOLL_DRIVERS_UART_SERIAL_QUEUE_H
#define ATOLL_DRIVERS_UART_SERIAL_QUEUE_H
#include <stdint.h>
#include "hv/arch/x86/console.h"

/* Sets up the port (115200 8N1); the sink then writes to it. */
void serial_queue_init(uint16_t port);
extern const struct console_sink_ops serial_queue_sink;

#endif
