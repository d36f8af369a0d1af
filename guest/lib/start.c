/* The C entry: entry32.S calls guest_start() in long mode on the boot stack. */
#include "guest/lib/bootinfo.h"
#include "guest/lib/console.h"
#include "guest/lib/exceptions.h"
#include "guest/lib/report.h"
#include "guest/lib/serial.h"
#include "guest/lib/x86.h"

#define PIC1_DATA 0x21
#define PIC2_DATA 0xa1

extern uint32_t boot_magic, boot_info_addr;

void pic_mask_all(void);
void pic_mask_all(void)
{
    outb(PIC1_DATA, 0xff);
    outb(PIC2_DATA, 0xff);
}

void guest_start(void);
void guest_start(void)
{
    serial_init();
    idt_init();
    pic_mask_all();
    bootinfo_init(boot_magic, boot_info_addr);
    test_main();
    test_finish();
}
