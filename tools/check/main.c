/* atoll: host-side companion of the hypervisor; today `atoll check MANIFEST` and
 * `atoll check hardware`. */
#include <stdio.h>
#include <string.h>
#include "tools/check/check.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: atoll check MANIFEST [-d DIR]... [--free MiB]\n"
            "       atoll check hardware [--root DIR]\n"
            "       atoll --version\n\n"
            "check MANIFEST   the manifest as the hypervisor reads it (errors name the file and\n"
            "                 line), the images it names (found in the -d folders, then\n"
            "                 build/guest/tests, build/guest/linux and the manifest's folder, and\n"
            "                 loadable by their boot method) and the memory its partitions need\n"
            "                 (against --free: the 'M MiB free' the hypervisor prints at boot)\n"
            "check hardware   on the Linux machine that will boot Atoll: VT-x, EPT, unrestricted\n"
            "                 guest, VPID, virtual NMIs, the preemption timer (from /proc/cpuinfo\n"
            "                 and the VMX capability MSRs: modprobe msr, run as root), the IOMMU\n"
            "                 and Secure Boot; says whether Atoll will run there\n\n"
            "exit status: 0 all good (Atoll will run), 1 a problem found (it will not), 2 usage\n");
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "--version")) {
        printf("atoll (Atoll) %s\n", ATOLL_VERSION);
        return CHECK_OK;
    }
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        usage(stdout);
        return CHECK_OK;
    }
    if (argc < 3 || strcmp(argv[1], "check") != 0) {
        if (argc >= 2 && strcmp(argv[1], "check") != 0)
            fprintf(stderr, "atoll: unknown command '%s'\n", argv[1]);
        else
            fprintf(stderr, "atoll: check what? a manifest file, or 'hardware'\n");
        fprintf(stderr, "Try 'atoll --help'.\n");
        return CHECK_USAGE;
    }
    if (!strcmp(argv[2], "hardware"))
        return check_hardware(argc - 3, argv + 3);
    return check_manifest(argc - 2, argv + 2);
}
