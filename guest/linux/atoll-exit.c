/* atoll-exit CODE: ends the partition (or QEMU) through the isa-debug-exit port 0xf4.
 * Linked statically into the initramfs; busybox has no port I/O applet. */
#include <stdio.h>
#include <stdlib.h>
#include <sys/io.h>

#define DEBUG_EXIT_PORT 0xf4

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: atoll-exit CODE\n");
        return 2;
    }
    char *end;
    unsigned long code = strtoul(argv[1], &end, 0);
    if (*end || code > 0x3fffffff) {
        fprintf(stderr, "atoll-exit: bad code '%s'\n", argv[1]);
        return 2;
    }
    if (ioperm(DEBUG_EXIT_PORT, 4, 1) != 0) {
        perror("atoll-exit: ioperm");
        return 1;
    }
    outl((unsigned)code, DEBUG_EXIT_PORT);
    fprintf(stderr, "atoll-exit: the debug-exit port did not end the machine\n");
    return 1;
}
