/* atoll check hardware: whether Atoll will run on this machine, read from Linux.
 * The rule is the hypervisor's own (hv/vmx/vmx_caps.c, vmx_caps_usable): VT-x not locked off
 * in the firmware, EPT with write-back memory, unrestricted guest, VPID, virtual NMIs with
 * NMI-window exiting. The preemption timer is used when present. Paths are read below
 * --root (default /) so that the tests can stage a machine. */
#include <dirent.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include "tools/check/check.h"

#define MSR_FEATURE_CONTROL  0x3a
#define MSR_VMX_BASIC        0x480
#define MSR_VMX_PINBASED     0x481
#define MSR_VMX_PROCBASED    0x482
#define MSR_VMX_PROCBASED2   0x48b
#define MSR_VMX_EPT_VPID_CAP 0x48c
#define MSR_VMX_TRUE_PINBASED  0x48d
#define MSR_VMX_TRUE_PROCBASED 0x48e

static const char *root = "";
static unsigned blockers, unknowns;

static void path_of(char *out, size_t cap, const char *p) { snprintf(out, cap, "%s%s", root, p); }

static bool exists(const char *p)
{
    char path[4096];
    path_of(path, sizeof(path), p);
    return access(path, F_OK) == 0;
}

static void row(const char *what, const char *verdict, const char *detail)
{
    printf("%-22s %-4s %s\n", what, verdict, detail);
}

static void need(const char *what, bool ok, const char *yes, const char *no)
{
    row(what, ok ? "yes" : "NO", ok ? yes : no);
    if (!ok)
        blockers++;
}

struct cpuinfo {
    char vendor[32], model[128];
    bool vmx, svm, hypervisor;
    unsigned cpus;
};

static bool has_flag(const char *flags, const char *flag)
{
    size_t n = strlen(flag);
    for (const char *p = flags; (p = strstr(p, flag)) != NULL; p += n)
        if ((p == flags || p[-1] == ' ' || p[-1] == '\t') && (p[n] == ' ' || p[n] == '\n' || !p[n]))
            return true;
    return false;
}

static bool read_cpuinfo(struct cpuinfo *ci)
{
    char path[4096], line[8192];
    path_of(path, sizeof(path), "/proc/cpuinfo");
    FILE *f = fopen(path, "r");
    if (!f)
        return false;
    memset(ci, 0, sizeof(*ci));
    while (fgets(line, sizeof(line), f)) {
        char *v = strchr(line, ':');
        if (!v)
            continue;
        v += v[1] == ' ' ? 2 : 1;
        v[strcspn(v, "\n")] = '\0';
        if (!strncmp(line, "processor", 9))
            ci->cpus++;
        else if (!strncmp(line, "vendor_id", 9) && !ci->vendor[0])
            snprintf(ci->vendor, sizeof(ci->vendor), "%s", v);
        else if (!strncmp(line, "model name", 10) && !ci->model[0])
            snprintf(ci->model, sizeof(ci->model), "%s", v);
        else if (!strncmp(line, "flags", 5) && ci->cpus <= 1) {
            ci->vmx = has_flag(v, "vmx");
            ci->svm = has_flag(v, "svm");
            ci->hypervisor = has_flag(v, "hypervisor");
        }
    }
    fclose(f);
    return true;
}

static int msr_fd = -1;
static bool msr_staged;   /* a regular file standing in for the device (tests): MSR n at 8n */

static bool rdmsr(uint32_t msr, uint64_t *v)
{
    off_t at = msr_staged ? (off_t)msr * 8 : (off_t)msr;
    return msr_fd >= 0 && pread(msr_fd, v, sizeof(*v), at) == (ssize_t)sizeof(*v);
}

static bool allowed1(uint64_t ctl, unsigned bit) { return (ctl >> 32) & (1ull << bit); }

static void check_vmx_msrs(void)
{
    uint64_t fc, basic, pin, proc, proc2 = 0, cap = 0;
    if (!rdmsr(MSR_FEATURE_CONTROL, &fc) || !rdmsr(MSR_VMX_BASIC, &basic)) {
        row("VT-x details", "?", "the VMX capability MSRs cannot be read: load the msr module "
            "(modprobe msr) and run as root; EPT, VPID and unrestricted guest are unknown");
        unknowns++;
        return;
    }
    bool locked_off = (fc & 1) && !(fc & 4);
    need("VT-x enabled", !locked_off, "not locked off in IA32_FEATURE_CONTROL",
         "locked off by the firmware (IA32_FEATURE_CONTROL): enable VT-x in its settings");
    bool true_ctls = basic & (1ull << 55);
    if (!rdmsr(true_ctls ? MSR_VMX_TRUE_PINBASED : MSR_VMX_PINBASED, &pin) ||
        !rdmsr(true_ctls ? MSR_VMX_TRUE_PROCBASED : MSR_VMX_PROCBASED, &proc)) {
        row("VT-x controls", "?", "the control MSRs cannot be read");
        unknowns++;
        return;
    }
    bool secondary = allowed1(proc, 31) && rdmsr(MSR_VMX_PROCBASED2, &proc2);
    bool ept = secondary && allowed1(proc2, 1), vpid = secondary && allowed1(proc2, 5);
    if (ept || vpid)
        rdmsr(MSR_VMX_EPT_VPID_CAP, &cap);
    need("EPT", ept && (cap & (1ull << 14)), "with write-back paging structures",
         ept ? "present, but not with write-back memory" : "absent: Atoll maps guests only through EPT");
    need("unrestricted guest", secondary && allowed1(proc2, 7), "guests start in real mode",
         "absent: guests could not start in real mode");
    need("VPID", vpid, "TLB entries tagged per vCPU", "absent");
    need("virtual NMIs", allowed1(pin, 5) && allowed1(proc, 22), "with NMI-window exiting",
         "absent (or no NMI-window exiting)");
    bool preempt = allowed1(pin, 6);
    row("preemption timer", preempt ? "yes" : "no",
        preempt ? "time slices end by the VMX preemption timer"
                : "absent: optional, time slices end by the LAPIC timer");
    row("EPT large pages", (cap & (1ull << 16)) ? "yes" : "no",
        (cap & (1ull << 17)) ? "2 MiB and 1 GiB" : (cap & (1ull << 16)) ? "2 MiB" : "4 KiB pages only (slower)");
}

static unsigned count_entries(const char *p)
{
    char path[4096];
    path_of(path, sizeof(path), p);
    DIR *d = opendir(path);
    unsigned n = 0;
    if (!d)
        return 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void check_iommu(void)
{
    if (count_entries("/sys/class/iommu"))
        row("IOMMU", "yes", "enabled in Linux (/sys/class/iommu); Atoll does not use it yet");
    else if (exists("/sys/firmware/acpi/tables/DMAR"))
        row("IOMMU", "off", "VT-d is described (ACPI DMAR) but Linux has not enabled it; "
            "Atoll does not use it yet");
    else
        row("IOMMU", "no", "no VT-d (no ACPI DMAR table); not needed by Atoll today");
}

static void check_secure_boot(void)
{
    if (!exists("/sys/firmware/efi")) {
        row("UEFI", "no", "booted by legacy BIOS: use the GRUB image (make iso), or switch the "
            "firmware to UEFI for the ESP image (make esp)");
        return;
    }
    row("UEFI", "yes", "the ESP image (make esp) boots here");
    char path[4096];
    path_of(path, sizeof(path),
            "/sys/firmware/efi/efivars/SecureBoot-8be4df61-93ca-11d2-aa0d-e0d7c5d8c6c8");
    unsigned char v[5] = { 0 };
    int fd = open(path, O_RDONLY);
    bool on = fd >= 0 && read(fd, v, sizeof(v)) == (ssize_t)sizeof(v) && v[4] == 1;
    if (fd >= 0)
        close(fd);
    need("Secure Boot off", !on, fd >= 0 ? "disabled" : "not reported (off)",
         "enabled: Atoll's loader is not signed; disable Secure Boot in the firmware settings "
         "or enrol your own key and sign BOOTX64.EFI");
}

int check_hardware(int argc, char **argv)
{
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--root") && i + 1 < argc) {
            root = argv[++i];
        } else {
            fprintf(stderr, "atoll check hardware: unknown argument '%s'\nTry 'atoll --help'.\n",
                    argv[i]);
            return CHECK_USAGE;
        }
    }
    struct cpuinfo ci;
    if (!read_cpuinfo(&ci)) {
        fprintf(stderr, "atoll check hardware: cannot read %s/proc/cpuinfo (is this Linux?)\n", root);
        return CHECK_FAILED;
    }
    printf("cpu                    %s (%s), %u logical CPUs%s\n", ci.model, ci.vendor, ci.cpus,
           ci.hypervisor ? ", inside a virtual machine" : "");
    if (strcmp(ci.vendor, "GenuineIntel") != 0) {
        need("Intel VT-x", false, "",
             ci.svm ? "this is not an Intel CPU (it offers AMD-V/SVM, which Atoll has no backend for)"
                    : "this is not an Intel CPU, and Atoll runs on Intel VT-x only");
    } else if (!ci.vmx) {
        need("Intel VT-x", false, "", ci.hypervisor
             ? "not offered to this virtual machine: enable nested virtualization on its host"
             : "not offered: enable VT-x (Intel Virtualization Technology) in the firmware settings");
    } else {
        row("Intel VT-x", "yes", "offered (vmx in /proc/cpuinfo)");
        char path[4096];
        path_of(path, sizeof(path), "/dev/cpu/0/msr");
        msr_fd = open(path, O_RDONLY);
        struct stat st;
        msr_staged = msr_fd >= 0 && fstat(msr_fd, &st) == 0 && S_ISREG(st.st_mode);
        check_vmx_msrs();
        if (msr_fd >= 0)
            close(msr_fd);
    }
    check_iommu();
    check_secure_boot();
    if (blockers) {
        printf("verdict: Atoll will NOT run on this machine (%u problem%s above, marked NO)\n",
               blockers, blockers == 1 ? "" : "s");
        return CHECK_FAILED;
    }
    if (unknowns) {
        printf("verdict: cannot tell whether Atoll will run here: VT-x is offered, but its "
               "features could not be read (marked ?)\n");
        return CHECK_FAILED;
    }
    printf("verdict: Atoll will run on this machine\n");
    return CHECK_OK;
}
