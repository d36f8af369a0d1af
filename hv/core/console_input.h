/* Keys typed on the hypervisor's serial console go to the first running partition's
 * UART, so a guest shell can be used from the console. */
#ifndef ATOLL_HV_CORE_CONSOLE_INPUT_H
#define ATOLL_HV_CORE_CONSOLE_INPUT_H

/* Called from the boot CPU's scheduler loop; cheap when nothing was typed. */
void console_input_poll(void);

#endif
