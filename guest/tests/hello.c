/* The smallest guest: it boots, prints what it learned about its partition, and passes
 * (or, with `fail` on its command line, fails on purpose: the test verdict's own test). */
#include "guest/lib/guest.h"

DEFINE_TEST("hello");

void test_main(void)
{
    printf("hello: Hello from an Atoll test guest (%s entry)\n",
           boot.multiboot ? "multiboot" : "flat");
    printf("hello: ram %lu KiB in %u ranges, %u cpu(s), fw_cfg %s, cmdline \"%s\"\n",
           (unsigned long)(boot.ram_size >> 10), boot.nranges, boot.cpus,
           boot.fwcfg ? "yes" : "no", boot.cmdline);
    printf("hello: running under %s\n", atoll_present() ? "Atoll" : "no Atoll hypervisor");
    report(read_cr4() & CR4_PAE && rdmsr(MSR_EFER) & EFER_LMA, "long mode");
    report(boot.ram_size >= 1 << 20, "RAM size known (%lu KiB)", (unsigned long)(boot.ram_size >> 10));
    if (cmdline_has("fail"))
        report(false, "failing on purpose (fail on the command line)");
}
