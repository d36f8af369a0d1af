/*
 * devfuzz: structured, seeded register fuzzing of every device the partition is given.
 * Each iteration picks a device and makes one access (or a short sequence) to its ports,
 * MMIO page or MSRs: valid-looking values and junk, of every width (1, 2, 4, 8 bytes),
 * misaligned and straddling register and page boundaries, through plain MOV, MOVZX/MOVSX,
 * read-modify-write instructions (OR, AND, ADD, XOR, XCHG, INC, NOT, NEG, CMP, TEST; ADC,
 * SBB, BT*, XADD, CMPXCHG, SETcc, shifts and rotates, MOVBE or MOVNTI) and string
 * instructions (MOVS, STOS, LODS, INS, OUTS):
 *
 *   lapic    xAPIC page: every offset, ICR with every delivery mode and shorthand to APIC
 *            IDs inside and outside the partition, LVT junk, timer divide / count 1
 *   x2apic   MSRs 0x800-0x8ff (#GP in xAPIC mode), IA32_APIC_BASE (mode changes, a moved
 *            page), IA32_TSC_DEADLINE; and (`x2=N` % of these iterations) the x2APIC rules
 *            of hv/vdev/apic.md checked: reserved MSRs (0x800-0x8ff holes, 0x900-0xbff),
 *            read-only and write-only registers, reserved bits (#GP, nothing changed),
 *            the ICR, EOI/ESR/SELF IPI values, the LDR; and every legal and illegal
 *            IA32_APIC_BASE transition with the timer armed and interrupts requested,
 *            with short IF=1 windows between them (a broken rule FAILs)
 *   ioapic   IOREGSEL junk, redirection entries junk, the EOI register
 *   hpet     comparators of 0, 1 and junk, periodic, 32-bit, level, legacy replacement
 *   pic pit rtc   every command byte, ICW sequences, read-back, every CMOS index
 *   pm uart fwcfg reset   ACPI PM1 and timer, the UART (never its THR outside loopback),
 *            fw_cfg selectors and data, ports 0x92 and 0xcf9 (never their reset bits)
 *   pci      0xcf8/0xcfc: junk addresses, every width at 0xcfc-0xcff, BAR sizing, BARs
 *            moved onto the LAPIC, IOAPIC, HPET, RAM and each other, command toggles,
 *            capability walks with writes (the virtio PCI-config-access window too)
 *   virtio   common config (queue_select out of range, sizes 0 / not a power of two /
 *            huge, ring addresses outside RAM and on MMIO, enable before and after
 *            DRIVER_OK, status in every order, resets mid-I/O, feature junk), notify on
 *            every queue index, ISR and device config, MSI-X table and PBA, rings of junk
 *            descriptors
 *
 * First the storm phase (IF=1): LAPIC periodic and one-shot count 1, HPET period 1 tick
 * level-triggered through the IOAPIC, PIT count 1, all at once, while the partition beside
 * runs on the same CPU (its scenario says it must not starve).  Each source is masked
 * after STORM_MAX interrupts: an exit under Bochs or QEMU's icount takes longer than the
 * devices' 50 us floor, so the handler alone would run.  Then the fuzz, with IF=0 (only
 * NMIs arrive: counted, and a flood of them quenched); every fuzz access is an
 * exception-table instruction (guest/lib/safe.h), so a fault is counted by device and
 * vector (#GP from an MSR is expected; any other fault FAILs).  Values that would end or
 * wedge this partition by its own hand are steered: no reset or S5 bit, no INIT or
 * start-up message that can reach this vCPU (ICR, IOAPIC and MSI-X), virtio rings and
 * buffers only in the top half of RAM, outside RAM or on MMIO (device DMA cannot reach
 * the image).  Last, the checks that the devices are still usable: LAPIC reset and timer
 * interrupts (xAPIC, then x2APIC when offered), PIT and HPET through the IOAPIC, the
 * RTC's clock (it sends no interrupts: cmos_rtc.h), fw_cfg's signature, and (with a disk)
 * the virtio-blk device from reset: a sector written and read back.
 *
 * Knobs: `seed=N` (1), `iterations=N` (4000), `storm-ms=N` (20 per source), `x2=N` (30),
 * `favour=MASK` (bit d: the device dev_names[d] is picked 8 times as often; 7: the APICs),
 * `trace` (print each access; the UART is then left out, its loopback would hide them),
 * `hctrace` (each access through HC_CONSOLE_WRITE: the same draws as without it).
 * Needs 32 MiB (the top 16 are the DMA scratch).
 */
#include "guest/tests/virtio_drv.h"

DEFINE_TEST("devfuzz");

#define LAPIC_DEFAULT   0xfee00000ul
#define IOAPIC_BASE     0xfec00000ul
#define HPET_BASE       0xfed00000ul
#define APIC_BASE_EN    (1ull << 11)
#define APIC_BASE_EXTD  (1ull << 10)
#define APIC_BASE_BSP   (1ull << 8)
#define SELF_ID_FREE    0x40u       /* APIC IDs from here on are in no partition */

/* The DMA scratch: descriptor tables, avail rings, used rings, buffers (to RAM's end). */
#define SCR_DESC   0x1000000ul
#define SCR_AVAIL  0x1200000ul
#define SCR_USED   0x1300000ul
#define SCR_BUF    0x1400000ul
#define SCR_END    0x2000000ul
#define OUTSIDE    (1ull << 40)

enum dev {
    D_LAPIC, D_X2APIC, D_IOAPIC, D_HPET, D_PIC, D_PIT, D_RTC, D_PM, D_UART, D_FWCFG,
    D_RESET, D_PCI, D_VIRTIO, D_COUNT
};
static const char *const dev_names[D_COUNT] = {
    "lapic", "x2apic", "ioapic", "hpet", "pic", "pit", "rtc", "pm", "uart", "fwcfg",
    "reset", "pci", "virtio",
};
/* Draw weights: the stateful devices get most of the accesses. */
static unsigned dev_weight[D_COUNT] = { 14, 8, 10, 10, 5, 5, 5, 3, 3, 3, 2, 12, 20 };

static struct rng rng;
static enum dev cur;
static uint64_t accesses[D_COUNT], faults[D_COUNT][32];
static uint64_t gp_msr;             /* #GP on MSR accesses: expected */
static volatile uint64_t nmis, irqs[256];
static bool trace, have_disk;
static struct vd vd;
static unsigned vslot;              /* the virtio function's slot (0: none) */
static uint64_t ram_end;

static uint64_t rnd(uint64_t n) { return n ? rng_next(&rng) % n : 0; }
static bool chance(unsigned pct) { return rnd(100) < pct; }

static uint64_t junk64(void)
{
    static const uint64_t special[] = {
        0, 1, 2, 0xff, 0x100, 0xffff, 0x10000, 0x7fffffff, 0x80000000ull, 0xffffffffull,
        0x100000000ull, ~0ull, 0x8000000000000000ull, 0xfee00000ull, 0xfec00000ull,
    };
    switch (rnd(4)) {
    case 0: return special[rnd(sizeof(special) / sizeof(special[0]))];
    case 1: return rnd(256);
    case 2: return (uint32_t)rng_next(&rng);
    default: return rng_next(&rng);
    }
}

static unsigned pick_size(void)
{
    static const unsigned sizes[] = { 1, 2, 4, 4, 8 };
    return sizes[rnd(5)];
}

static void tr(const char *what, uint64_t a, unsigned size, uint64_t v);

static void note(int vec)
{
    if (vec != NO_FAULT && vec >= 0 && vec < 32) {
        faults[cur][vec]++;
        tr("fault", (unsigned)vec, 0, read_cr2());
    }
}

/* ---- accesses that may fault, each counted ------------------------------------------- */

#define FV register uint64_t fv __asm__("r11") = (uint64_t)NO_FAULT

static uint64_t mmio_mov_read(uintptr_t a, unsigned size, bool sx)
{
    FV;
    uint64_t v = 0;
    if (size == 1 && sx)
        __asm__ volatile(SAFE_INSN("movsbq (%2), %0") : "+r"(v), "+r"(fv) : "r"(a) : "memory");
    else if (size == 1)
        __asm__ volatile(SAFE_INSN("movzbl (%2), %k0") : "+r"(v), "+r"(fv) : "r"(a) : "memory");
    else if (size == 2 && sx)
        __asm__ volatile(SAFE_INSN("movswq (%2), %0") : "+r"(v), "+r"(fv) : "r"(a) : "memory");
    else if (size == 2)
        __asm__ volatile(SAFE_INSN("movzwl (%2), %k0") : "+r"(v), "+r"(fv) : "r"(a) : "memory");
    else if (size == 4 && sx)
        __asm__ volatile(SAFE_INSN("movslq (%2), %0") : "+r"(v), "+r"(fv) : "r"(a) : "memory");
    else if (size == 4)
        __asm__ volatile(SAFE_INSN("movl (%2), %k0") : "+r"(v), "+r"(fv) : "r"(a) : "memory");
    else
        __asm__ volatile(SAFE_INSN("movq (%2), %0") : "+r"(v), "+r"(fv) : "r"(a) : "memory");
    note((int)fv);
    return v;
}

static void mmio_mov_write(uintptr_t a, unsigned size, uint64_t v)
{
    FV;
    if (size == 1)
        __asm__ volatile(SAFE_INSN("movb %b1, (%2)") : "+r"(fv) : "r"(v), "r"(a) : "memory");
    else if (size == 2)
        __asm__ volatile(SAFE_INSN("movw %w1, (%2)") : "+r"(fv) : "r"(v), "r"(a) : "memory");
    else if (size == 4)
        __asm__ volatile(SAFE_INSN("movl %k1, (%2)") : "+r"(fv) : "r"(v), "r"(a) : "memory");
    else
        __asm__ volatile(SAFE_INSN("movq %1, (%2)") : "+r"(fv) : "r"(v), "r"(a) : "memory");
    note((int)fv);
}

#define RMW(insn, sfx, reg)                                                                   \
    __asm__ volatile(SAFE_INSN(insn sfx " %" reg "1, (%2)") : "+r"(fv), "+r"(v) : "r"(a) : "memory", "cc")
#define RMW1(insn, sfx)                                                                       \
    __asm__ volatile(SAFE_INSN(insn sfx " (%1)") : "+r"(fv) : "r"(a) : "memory", "cc")

static bool has_movbe;

/* The other forms on 1 or 4 bytes at a: ADC, SBB, BT* (a register offset kept inside the
 * operand, so that only a's register is touched), XADD, CMPXCHG, SETcc, the shifts and
 * rotates by 1, CL and imm8, MOVBE (where CPUID offers it) and MOVNTI. */
static void mmio_rmw_more(uintptr_t a, uint64_t v, bool b)
{
    FV;
    uint64_t acc = v >> 7, off = v & 31;
    switch (rnd(10)) {
    case 0: if (b) RMW("adc", "b", "b"); else RMW("adc", "l", "k"); break;
    case 1: if (b) RMW("sbb", "b", "b"); else RMW("sbb", "l", "k"); break;
    case 2:
        switch (rnd(4)) {
        case 0: __asm__ volatile(SAFE_INSN("btl $5, (%1)") : "+r"(fv) : "r"(a) : "memory", "cc"); break;
        case 1: __asm__ volatile(SAFE_INSN("lock btsl $31, (%1)") : "+r"(fv) : "r"(a) : "memory", "cc"); break;
        case 2: __asm__ volatile(SAFE_INSN("btrl $0, (%1)") : "+r"(fv) : "r"(a) : "memory", "cc"); break;
        default: __asm__ volatile(SAFE_INSN("btcl $39, (%1)") : "+r"(fv) : "r"(a) : "memory", "cc"); break;
        }
        break;
    case 3:
        switch (rnd(4)) {
        case 0: __asm__ volatile(SAFE_INSN("btl %k1, (%2)") : "+r"(fv) : "r"(off), "r"(a) : "memory", "cc"); break;
        case 1: __asm__ volatile(SAFE_INSN("btsl %k1, (%2)") : "+r"(fv) : "r"(off), "r"(a) : "memory", "cc"); break;
        case 2: __asm__ volatile(SAFE_INSN("lock btrl %k1, (%2)") : "+r"(fv) : "r"(off), "r"(a) : "memory", "cc"); break;
        default: __asm__ volatile(SAFE_INSN("btcl %k1, (%2)") : "+r"(fv) : "r"(off), "r"(a) : "memory", "cc"); break;
        }
        break;
    case 4: if (b) RMW("lock xadd", "b", "b"); else RMW("xadd", "l", "k"); break;
    case 5:
        if (b)
            __asm__ volatile(SAFE_INSN("lock cmpxchgb %b2, (%3)") : "+r"(fv), "+a"(acc) : "r"(v), "r"(a) : "memory", "cc");
        else
            __asm__ volatile(SAFE_INSN("cmpxchgl %k2, (%3)") : "+r"(fv), "+a"(acc) : "r"(v), "r"(a) : "memory", "cc");
        break;
    case 6:
        if (v & 1)
            __asm__ volatile("cmpl $0, %k1\n" SAFE_INSN("setg (%2)") : "+r"(fv) : "r"(v), "r"(a) : "memory", "cc");
        else
            __asm__ volatile("stc\n" SAFE_INSN("setc (%1)") : "+r"(fv) : "r"(a) : "memory", "cc");
        break;
    case 7:
        switch (rnd(7)) {
        case 0: __asm__ volatile(SAFE_INSN("roll %%cl, (%1)") : "+r"(fv) : "r"(a), "c"(v) : "memory", "cc"); break;
        case 1: __asm__ volatile(SAFE_INSN("rorb %%cl, (%1)") : "+r"(fv) : "r"(a), "c"(v) : "memory", "cc"); break;
        case 2: __asm__ volatile(SAFE_INSN("rcll %%cl, (%1)") : "+r"(fv) : "r"(a), "c"(v) : "memory", "cc"); break;
        case 3: __asm__ volatile(SAFE_INSN("rcrb %%cl, (%1)") : "+r"(fv) : "r"(a), "c"(v) : "memory", "cc"); break;
        case 4: __asm__ volatile(SAFE_INSN("shll %%cl, (%1)") : "+r"(fv) : "r"(a), "c"(v) : "memory", "cc"); break;
        case 5: __asm__ volatile(SAFE_INSN("shrb %%cl, (%1)") : "+r"(fv) : "r"(a), "c"(v) : "memory", "cc"); break;
        default: __asm__ volatile(SAFE_INSN("sarl %%cl, (%1)") : "+r"(fv) : "r"(a), "c"(v) : "memory", "cc"); break;
        }
        break;
    case 8:
        switch (rnd(4)) {
        case 0: RMW1("shll", ""); break;
        case 1: __asm__ volatile(SAFE_INSN("rcrl $3, (%1)") : "+r"(fv) : "r"(a) : "memory", "cc"); break;
        case 2: __asm__ volatile(SAFE_INSN("sarb $9, (%1)") : "+r"(fv) : "r"(a) : "memory", "cc"); break;
        default: __asm__ volatile(SAFE_INSN("roll $33, (%1)") : "+r"(fv) : "r"(a) : "memory", "cc"); break;
        }
        break;
    default:
        if (has_movbe && b)
            __asm__ volatile(SAFE_INSN("movbel (%2), %k1") : "+r"(fv), "+r"(v) : "r"(a) : "memory");
        else if (has_movbe)
            __asm__ volatile(SAFE_INSN("movbel %k1, (%2)") : "+r"(fv) : "r"(v), "r"(a) : "memory");
        else
            __asm__ volatile(SAFE_INSN("movnti %k1, (%2)") : "+r"(fv) : "r"(v), "r"(a) : "memory");
        break;
    }
    note((int)fv);
}

/* A read-modify-write (or compare) of 1 or 4 bytes at a. */
static void mmio_rmw(uintptr_t a, uint64_t v)
{
    FV;
    bool b = chance(40);
    if (chance(50)) {
        mmio_rmw_more(a, v, b);
        return;
    }
    switch (rnd(10)) {
    case 0: if (b) RMW("or", "b", "b"); else RMW("or", "l", "k"); break;
    case 1: if (b) RMW("and", "b", "b"); else RMW("and", "l", "k"); break;
    case 2: if (b) RMW("add", "b", "b"); else RMW("add", "l", "k"); break;
    case 3: if (b) RMW("xor", "b", "b"); else RMW("xor", "l", "k"); break;
    case 4: if (b) RMW("xchg", "b", "b"); else RMW("xchg", "l", "k"); break;
    case 5: if (b) RMW("cmp", "b", "b"); else RMW("cmp", "l", "k"); break;
    case 6: if (b) RMW("test", "b", "b"); else RMW("test", "l", "k"); break;
    case 7: if (b) RMW1("inc", "b"); else RMW1("incl", ""); break;
    case 8: if (b) RMW1("not", "b"); else RMW1("notl", ""); break;
    default: if (b) RMW1("neg", "b"); else RMW1("negl", ""); break;
    }
    note((int)fv);
}

static uint8_t strbuf[64] __attribute__((aligned(16)));

/* MOVS to or from a (n elements of size), STOS to a, or LODS from a. */
static void mmio_string(uintptr_t a, unsigned size, unsigned n, unsigned kind)
{
    FV;
    uint64_t src = (uintptr_t)strbuf, dst = a, cnt = n, val = rng_next(&rng);
    if (kind == 1) {
        src = a;
        dst = (uintptr_t)strbuf;
    }
    if (kind <= 1) {
        if (size == 1)
            __asm__ volatile(SAFE_INSN("rep movsb") : "+r"(fv), "+S"(src), "+D"(dst), "+c"(cnt) : : "memory");
        else if (size == 2)
            __asm__ volatile(SAFE_INSN("rep movsw") : "+r"(fv), "+S"(src), "+D"(dst), "+c"(cnt) : : "memory");
        else if (size == 4)
            __asm__ volatile(SAFE_INSN("rep movsl") : "+r"(fv), "+S"(src), "+D"(dst), "+c"(cnt) : : "memory");
        else
            __asm__ volatile(SAFE_INSN("rep movsq") : "+r"(fv), "+S"(src), "+D"(dst), "+c"(cnt) : : "memory");
    } else if (kind == 2) {
        if (size == 1)
            __asm__ volatile(SAFE_INSN("rep stosb") : "+r"(fv), "+D"(dst), "+c"(cnt) : "a"(val) : "memory");
        else if (size == 4)
            __asm__ volatile(SAFE_INSN("rep stosl") : "+r"(fv), "+D"(dst), "+c"(cnt) : "a"(val) : "memory");
        else
            __asm__ volatile(SAFE_INSN("rep stosq") : "+r"(fv), "+D"(dst), "+c"(cnt) : "a"(val) : "memory");
    } else {
        src = a;
        if (size == 1)
            __asm__ volatile(SAFE_INSN("lodsb") : "+r"(fv), "+S"(src), "+a"(val) : : "memory");
        else if (size == 2)
            __asm__ volatile(SAFE_INSN("lodsw") : "+r"(fv), "+S"(src), "+a"(val) : : "memory");
        else
            __asm__ volatile(SAFE_INSN("lodsl") : "+r"(fv), "+S"(src), "+a"(val) : : "memory");
    }
    note((int)fv);
}

static bool hctrace;

static char *put_str(char *o, const char *x)
{
    while (*x)
        *o++ = *x++;
    return o;
}

static char *put_hex(char *o, uint64_t v)
{
    int d = 60;
    while (d > 0 && !((v >> d) & 0xf))
        d -= 4;
    for (; d >= 0; d -= 4)
        *o++ = "0123456789abcdef"[(v >> d) & 0xf];
    return o;
}

/* `hctrace`: the trace through HC_CONSOLE_WRITE, which the UART's state cannot hide. */
static void tr_hc(const char *what, uint64_t a, unsigned size, uint64_t v)
{
    char line[96], *o = line;
    o = put_str(o, "devfuzz: ");
    o = put_str(o, dev_names[cur]);
    *o++ = ' ';
    o = put_str(o, what);
    *o++ = ' ';
    o = put_hex(o, a);
    *o++ = '/';
    o = put_hex(o, size);
    *o++ = ' ';
    o = put_hex(o, v);
    *o++ = '\n';
    hypercall(HC_CONSOLE_WRITE, (uintptr_t)line, (uint64_t)(o - line), 0, 0);
}

static void tr(const char *what, uint64_t a, unsigned size, uint64_t v)
{
    if (hctrace)
        tr_hc(what, a, size, v);
    if (trace)
        printf("devfuzz: %s %s %#lx/%u %#lx\n", dev_names[cur], what, a, size, v);
}

static uint64_t rd(uintptr_t a, unsigned size)
{
    accesses[cur]++;
    uint64_t v = mmio_mov_read(a, size, chance(20));
    tr("rd", a, size, v);
    return v;
}

static void wr(uintptr_t a, unsigned size, uint64_t v)
{
    accesses[cur]++;
    tr("wr", a, size, v);
    mmio_mov_write(a, size, v);
}

/* Any access at a with any instruction: for registers where junk is harmless. */
static void any_access(uintptr_t a, unsigned size)
{
    unsigned how = (unsigned)rnd(10);
    if (how < 4) {
        rd(a, size);
    } else if (how < 7) {
        wr(a, size, junk64());
    } else if (how < 9) {
        accesses[cur]++;
        tr("rmw", a, 4, 0);
        mmio_rmw(a, junk64());
    } else {
        unsigned kind = (unsigned)rnd(4), n = 1 + (unsigned)rnd(3);
        accesses[cur] += n;
        tr("str", a, size, kind);
        mmio_string(a, size, n, kind);
    }
}

static uint64_t msr_read(uint32_t msr)
{
    uint64_t v = 0;
    accesses[cur]++;
    int f = rdmsr_safe(msr, &v);
    if (f == VEC_GP)
        gp_msr++;
    else
        note(f);
    tr("rdmsr", msr, 8, v);
    return v;
}

static int msr_write(uint32_t msr, uint64_t v)
{
    accesses[cur]++;
    tr("wrmsr", msr, 8, v);
    int f = wrmsr_safe(msr, v);
    if (f == VEC_GP)
        gp_msr++;
    else
        note(f);
    return f;
}

static uint32_t port_in(uint16_t port, unsigned size)
{
    accesses[cur]++;
    uint32_t v = size == 1 ? inb(port) : size == 2 ? inw(port) : inl(port);
    tr("in", port, size, v);
    return v;
}

static void port_out(uint16_t port, unsigned size, uint32_t v)
{
    accesses[cur]++;
    tr("out", port, size, v);
    if (size == 1)
        outb(port, (uint8_t)v);
    else if (size == 2)
        outw(port, (uint16_t)v);
    else
        outl(port, v);
}

/* REP INSB/OUTSB of a few bytes: the string I/O path. */
static void port_string(uint16_t port, bool in, unsigned n)
{
    FV;
    uint64_t p = (uintptr_t)strbuf, cnt = n;
    accesses[cur] += n;
    tr(in ? "ins" : "outs", port, n, 0);
    if (in)
        __asm__ volatile(SAFE_INSN("rep insb") : "+r"(fv), "+D"(p), "+c"(cnt) : "d"(port) : "memory");
    else
        __asm__ volatile(SAFE_INSN("rep outsb") : "+r"(fv), "+S"(p), "+c"(cnt) : "d"(port) : "memory");
    note((int)fv);
}

static unsigned port_size(void)
{
    static const unsigned s[] = { 1, 1, 2, 4 };
    return s[rnd(4)];
}

/* ---- the LAPIC ----------------------------------------------------------------------- */

static uint64_t apic_base_msr(void)
{
    return rdmsr(MSR_APIC_BASE);
}

static bool x2apic_on(void)
{
    return (apic_base_msr() & (APIC_BASE_EN | APIC_BASE_EXTD)) == (APIC_BASE_EN | APIC_BASE_EXTD);
}

/* An APIC ID that no vCPU of any partition has. */
static uint32_t free_id(void)
{
    return SELF_ID_FREE + (uint32_t)rnd(0x3f);
}

static uint32_t pick_dest(void)
{
    static const uint32_t d[] = { 0, 1, 2, 3, 0xff, 0x0f, 0x40 };
    return chance(70) ? d[rnd(7)] : (uint32_t)rnd(256);
}

/* An ICR value; INIT and start-up are sent only where no vCPU of this partition is. */
static void icr_make(uint32_t *lo, uint32_t *dest)
{
    uint32_t mode = (uint32_t)rnd(8), sh = (uint32_t)rnd(4);
    uint32_t v = (uint32_t)rnd(256) | mode << 8 | (uint32_t)rnd(2) << 11 | (uint32_t)rnd(2) << 14 |
                 (uint32_t)rnd(2) << 15 | sh << 18;
    if (chance(10))
        v |= (uint32_t)rng_next(&rng) & 0xfff33000u;        /* reserved and read-only bits */
    *dest = pick_dest();
    if (mode == 5 || mode == 6) {
        v &= ~(3u << 18 | 1u << 11);
        if (chance(50))
            v |= 3u << 18;                                  /* all excluding self: nobody */
        else
            *dest = free_id();
    }
    *lo = v;
}

static void icr_send(void)
{
    uint32_t lo, dest;
    icr_make(&lo, &dest);
    if (x2apic_on()) {
        cur = D_X2APIC;
        msr_write(0x830, (uint64_t)dest << 32 | lo);
        cur = D_LAPIC;
        return;
    }
    uint64_t b = apic_base_msr();
    uintptr_t base = b & APIC_BASE_EN && !(b >> 32) ? (uintptr_t)(b & 0xfffff000ul) : LAPIC_DEFAULT;
    wr(base + 0x310, 4, dest << 24);
    wr(base + 0x300, 4, lo);
}

static const uint16_t lapic_regs[] = {
    0x020, 0x030, 0x080, 0x090, 0x0a0, 0x0b0, 0x0c0, 0x0d0, 0x0e0, 0x0f0, 0x100, 0x170, 0x180,
    0x200, 0x280, 0x2f0, 0x310, 0x320, 0x330, 0x340, 0x350, 0x360, 0x370, 0x380, 0x390,
    0x3e0, 0x3f0,
};

static uint32_t lvt_junk(void)
{
    uint32_t v = (uint32_t)rnd(256) | (uint32_t)rnd(8) << 8 | (uint32_t)rnd(2) << 13 |
                 (uint32_t)rnd(2) << 15 | (uint32_t)rnd(2) << 16 | (uint32_t)rnd(4) << 17;
    return chance(10) ? (uint32_t)rng_next(&rng) : v;
}

static void op_lapic(void)
{
    if (chance(12)) {
        icr_send();
        return;
    }
    uint64_t b = apic_base_msr();
    uintptr_t base = b & APIC_BASE_EN ? (uintptr_t)(b & 0xfffff000ul) : LAPIC_DEFAULT;
    if (b >> 32)
        base = LAPIC_DEFAULT;            /* a page above 4 GiB: not in our page tables */
    if (chance(15)) {                    /* the timer: divide, LVT, count 1 and friends */
        static const uint32_t counts[] = { 0, 1, 1, 2, 100, 0xffffffffu };
        unsigned r = (unsigned)rnd(3);
        if (r == 0)
            wr(base + 0x3e0, 4, (uint32_t)rnd(16));
        else if (r == 1)
            wr(base + 0x320, 4, lvt_junk());
        else
            wr(base + 0x380, 4, counts[rnd(6)]);
        return;
    }
    if (chance(10)) {                    /* any LVT */
        wr(base + 0x320 + 0x10 * rnd(6), 4, lvt_junk());
        return;
    }
    uint64_t off;
    unsigned r = (unsigned)rnd(10);
    if (r < 6)
        off = lapic_regs[rnd(sizeof(lapic_regs) / 2)] + (chance(15) ? rnd(16) : 0);
    else if (r < 9)
        off = rnd(0x1000);
    else
        off = 0xff8 + rnd(8);            /* across the page's end */
    unsigned size = pick_size();
    /* Whatever reaches the ICR's first bytes sends: only icr_send writes there (a
     * string instruction covers up to 24 bytes). */
    if (off <= 0x303 && off + 32 > 0x300) {
        rd(base + off, size);
        return;
    }
    any_access(base + off, size);
}

static void pic_init(void);

/* ---- the x2APIC MSR space by its rules (SDM 10.12, Table 10-6; hv/vdev/apic.md) ------- */

static unsigned x2_pct;             /* `x2=N`: share of x2apic iterations spent here */
/* Interrupts an IF=1 window may still take: then TPR 0xf0 shuts it (a periodic timer of
 * count 1 fires every 50 us, less than an emulated handler takes: nothing else would run). */
static volatile unsigned window_left;
static uint64_t windows_shut;
static uint64_t x2_bad;             /* accesses whose #GP or value broke a rule */

static void x2_rule(bool ok, const char *what, uint32_t msr, uint64_t v)
{
    if (ok || !atoll_present())
        return;
    if (x2_bad++ < 8)
        printf("devfuzz: x2APIC rule broken: %s: MSR %#x value %#lx\n", what, msr, v);
}

static int x2_rd(uint32_t msr, uint64_t *v)
{
    *v = 0;
    accesses[cur]++;
    int f = rdmsr_safe(msr, v);
    tr("rdmsr", msr, 8, *v);
    if (f == VEC_GP)
        gp_msr++;
    else
        note(f);
    return f;
}

/* Reserved: the holes of 0x800-0x83f, 0x840-0x8ff, and 0x900-0xbff (not the LAPIC's). */
static uint32_t x2_reserved_msr(void)
{
    static const uint16_t r[] = { 0x800, 0x801, 0x804, 0x805, 0x806, 0x807, 0x809, 0x80c,
                                  0x80e, 0x82f, 0x831, 0x83a, 0x83b, 0x83c, 0x83d };
    switch (rnd(3)) {
    case 0: return r[rnd(sizeof(r) / sizeof(r[0]))];
    case 1: return 0x840 + (uint32_t)rnd(0xc0);
    default: return 0x900 + (uint32_t)rnd(0x300);
    }
}

static uint32_t x2_readonly_msr(void)
{
    static const uint16_t r[] = { 0x802, 0x803, 0x80a, 0x80d, 0x839 };
    return chance(40) ? 0x810 + (uint32_t)rnd(0x18) : r[rnd(5)];
}

/* Bits a WRMSR may set: TPR, SVR, the LVT entries (read-only delivery status and remote
 * IRR included: ignored, not reserved), divide configuration. */
static uint32_t x2_settable(uint32_t msr)
{
    switch (msr) {
    case 0x808: return 0xff;
    case 0x80f: return 0x3ff;
    case 0x832: return 0x000710ff;
    case 0x833: case 0x834: return 0x000117ff;
    case 0x835: case 0x836: return 0x0001f7ff;
    case 0x837: return 0x000110ff;
    default: return 0xb;                     /* 0x83e */
    }
}

/* A value for the ICR that can reach nobody but this vCPU: fixed, to self, vector >= 32. */
static uint64_t x2_icr_self(void)
{
    return (uint64_t)rnd(256) << 32 | 1u << 18 | (uint32_t)rnd(2) << 14 | (32 + rnd(224));
}

static void x2_rules(void)
{
    bool x2 = x2apic_on();
    uint64_t v, back = 0;
    uint32_t msr;
    int f;
    switch (rnd(9)) {
    case 0:                                  /* reserved: #GP both ways, in every mode */
        msr = x2_reserved_msr();
        f = x2_rd(msr, &v);
        x2_rule(f == VEC_GP, "reserved MSR read", msr, v);
        v = junk64();
        x2_rule(msr_write(msr, v) == VEC_GP, "reserved MSR written", msr, v);
        return;
    case 1:                                  /* read-only: WRMSR #GPs */
        msr = x2_readonly_msr();
        v = chance(30) ? 0 : junk64();
        x2_rule(msr_write(msr, v) == VEC_GP, "read-only register written", msr, v);
        return;
    case 2:                                  /* write-only: RDMSR #GPs */
        msr = chance(50) ? 0x80b : 0x83f;
        f = x2_rd(msr, &v);
        x2_rule(f == VEC_GP, "write-only register read", msr, v);
        return;
    default:
        break;
    }
    if (!x2) {                               /* every x2APIC register #GPs outside the mode */
        msr = 0x800 + (uint32_t)rnd(0x40);
        v = junk64();
        if (chance(50)) {
            f = x2_rd(msr, &v);
            x2_rule(f == VEC_GP, "x2APIC register read outside x2APIC mode", msr, v);
        } else if (msr == 0x830 && ((v & 0x700) == 0x500 || (v & 0x700) == 0x600))
            return;                          /* the ICR: only what could not INIT us */
        else
            x2_rule(msr_write(msr, v) == VEC_GP,
                    "x2APIC register written outside x2APIC mode", msr, v);
        return;
    }
    static const uint16_t rw[] = { 0x808, 0x80f, 0x832, 0x833, 0x834, 0x835, 0x836, 0x837,
                                   0x83e };
    switch (rnd(6)) {
    case 0:                                  /* settable bits only: taken */
    case 1: {
        msr = rw[rnd(sizeof(rw) / 2)];
        v = rng_next(&rng) & x2_settable(msr);
        if (msr == 0x80f && chance(80))
            v |= 0x100;                      /* mostly software-enabled */
        x2_rule(msr_write(msr, v) == NO_FAULT, "valid write refused", msr, v);
        if (msr == 0x808 || msr == 0x83e) {
            f = x2_rd(msr, &back);
            x2_rule(f == NO_FAULT && back == v, "read back differs", msr, back);
        }
        return;
    }
    case 2: {                                /* one reserved bit: #GP, nothing changes */
        msr = rw[rnd(sizeof(rw) / 2)];
        uint64_t reserved = ~(uint64_t)x2_settable(msr), bit;
        do
            bit = 1ull << rnd(64);
        while (!(reserved & bit));
        uint64_t before = 0;
        (void)x2_rd(msr, &before);
        v = (rng_next(&rng) & x2_settable(msr)) | bit;
        x2_rule(msr_write(msr, v) == VEC_GP, "reserved bit taken", msr, v);
        f = x2_rd(msr, &back);
        x2_rule(f == NO_FAULT && back == before, "refused write changed it", msr, back);
        return;
    }
    case 3: {                                /* the ICR: reserved bits #GP, else read back */
        v = x2_icr_self();
        bool bad = chance(50);
        if (bad)
            v |= 1ull << (12 + rnd(2)) | (chance(50) ? 1ull << (16 + rnd(2)) : 0) |
                 (chance(50) ? 1ull << (20 + rnd(12)) : 0);
        f = msr_write(0x830, v);
        x2_rule(bad ? f == VEC_GP : f == NO_FAULT, bad ? "ICR reserved bit taken" :
                "ICR write refused", 0x830, v);
        if (!bad) {
            f = x2_rd(0x830, &back);
            x2_rule(f == NO_FAULT && back == v, "ICR read back differs", 0x830, back);
        }
        return;
    }
    case 4:                                  /* EOI and ESR take only 0; SELF IPI 8 bits */
        msr = chance(50) ? 0x80b : 0x828;
        v = chance(50) ? 0 : junk64();
        f = msr_write(msr, v);
        x2_rule(v ? f == VEC_GP : f == NO_FAULT, "EOI/ESR write", msr, v);
        if (msr == 0x828 && !v) {
            f = x2_rd(0x828, &back);
            x2_rule(f == NO_FAULT && !(back >> 8), "ESR reserved bits", msr, back);
        }
        return;
    default: {
        v = chance(70) ? rnd(256) : junk64();
        f = msr_write(0x83f, v);
        x2_rule(v >> 8 ? f == VEC_GP : f == NO_FAULT, "SELF IPI write", 0x83f, v);
        uint64_t id = 0, ldr = 0;
        (void)x2_rd(0x802, &id);
        (void)x2_rd(0x80d, &ldr);
        x2_rule(ldr == ((id >> 4) << 16 | 1ull << (id & 15)), "LDR not derived from the ID",
                0x80d, ldr);
        return;
    }
    }
}

/* The LAPIC's MMIO address in xAPIC mode, if in our page tables. */
static uintptr_t xapic_page(void)
{
    uint64_t b = apic_base_msr();
    return b >> 32 ? 0 : (uintptr_t)(b & 0xfffff000ul);
}

/* Arms the timer and leaves interrupts requested (self IPIs, an error), in either mode. */
static void x2_arm(void)
{
    bool x2 = x2apic_on();
    uintptr_t page = x2 ? 0 : xapic_page();
    if (!(apic_base_msr() & APIC_BASE_EN) || (!x2 && !page))
        return;
    uint32_t vec = 32 + (uint32_t)rnd(224), mode = (uint32_t)rnd(3);
    uint32_t svr = 0x100 | (uint32_t)rnd(256), lvt = vec | mode << 17 | (chance(20) ? 1u << 16 : 0);
    uint32_t err = (32 + (uint32_t)rnd(224)) | (chance(20) ? 1u << 16 : 0);
    uint32_t count = chance(50) ? 1 + (uint32_t)rnd(4) : (uint32_t)rnd(100000);
    if (x2) {
        msr_write(0x80f, svr);
        msr_write(0x83e, rnd(16) & 0xb);
        msr_write(0x832, lvt);
        msr_write(0x837, err);
        msr_write(0x838, count);
    } else {
        wr(page + 0xf0, 4, svr);
        wr(page + 0x3e0, 4, (uint32_t)rnd(16) & 0xb);
        wr(page + 0x320, 4, lvt);
        wr(page + 0x370, 4, err);
        wr(page + 0x380, 4, count);
    }
    if (mode == 2)
        msr_write(MSR_TSC_DEADLINE, chance(30) ? 1 : rdtsc() + rnd(20000));
    for (unsigned n = (unsigned)rnd(4); n; n--) {   /* requests: vectors, and an illegal one */
        uint32_t sv = chance(20) ? (uint32_t)rnd(16) : 32 + (uint32_t)rnd(224);
        if (x2)
            msr_write(0x83f, sv);
        else
            wr(page + 0x300, 4, 1u << 18 | sv);     /* fixed, to self */
    }
}

/* After a switch to disabled and back to xAPIC: every register but the ID reset. */
static void x2_check_reset(void)
{
    uintptr_t page = xapic_page();
    if (page != LAPIC_DEFAULT || (apic_base_msr() & (APIC_BASE_EN | APIC_BASE_EXTD)) != APIC_BASE_EN)
        return;
    uint32_t svr = (uint32_t)rd(page + 0xf0, 4), lvt = (uint32_t)rd(page + 0x320, 4);
    uint32_t irr = 0;
    for (unsigned i = 0; i < 8; i++)
        irr |= (uint32_t)rd(page + 0x200 + 0x10 * i, 4);
    uint32_t count = (uint32_t)rd(page + 0x390, 4);
    uint64_t dl = msr_read(MSR_TSC_DEADLINE);
    x2_rule(svr == 0xff && lvt == 1u << 16 && !irr && !count && !dl,
            "disabled then enabled: registers not reset", MSR_APIC_BASE,
            (uint64_t)svr << 32 | lvt);
}

/* Every legal and illegal IA32_APIC_BASE transition (10.12.5) with the timer armed and
 * interrupts requested; a short IF=1 window between them (TPR 0x10, so that no vector
 * below 32 the fuzz left in the IOAPIC or MSI-X can arrive; the PIC masked). */
static void x2_transitions(void)
{
    uint64_t b = apic_base_msr(), keep = b & APIC_BASE_BSP;
    uint64_t base = chance(80) ? LAPIC_DEFAULT : b & 0xfffff000ul;
    static unsigned maxphy;
    if (!maxphy) {
        maxphy = cpuid(0x80000000u, 0).eax >= 0x80000008u ? cpuid(0x80000008u, 0).eax & 0xff : 36;
        if (maxphy < 36 || maxphy > 52)
            maxphy = 36;
    }
    bool window = chance(30);
    if (window)
        pic_init();
    for (unsigned n = 2 + (unsigned)rnd(5); n; n--) {
        x2_arm();
        b = apic_base_msr();
        bool en = b & APIC_BASE_EN, x2 = en && (b & APIC_BASE_EXTD);
        uint64_t v;
        bool legal;
        switch (rnd(8)) {
        case 0: v = base | APIC_BASE_EN | APIC_BASE_EXTD | keep; legal = en; break;
        case 1: v = base | keep; legal = true; break;                 /* disable */
        case 2: v = base | APIC_BASE_EN | keep; legal = !x2; break;
        case 3: v = base | APIC_BASE_EXTD | keep; legal = false; break;
        case 4: v = b | 1ull << rnd(8); legal = false; break;         /* bits 7:0 */
        case 5: v = b | 1ull << 9; legal = false; break;
        case 6: v = b | 1ull << (maxphy + rnd(64 - maxphy)); legal = false; break;
        default: v = b ^ APIC_BASE_EXTD; legal = en && !x2; break;
        }
        if (chance(30))
            msr_write(MSR_TSC_DEADLINE, chance(50) ? 1 : rdtsc() + rnd(5000));
        int f = msr_write(MSR_APIC_BASE, v);
        x2_rule(legal ? f == NO_FAULT : f == VEC_GP, legal ? "legal APIC_BASE write refused" :
                "illegal APIC_BASE write taken", MSR_APIC_BASE, v);
        if (f == NO_FAULT && en && !(v & APIC_BASE_EN)) {
            f = x2_rd(0x802, &v);
            x2_rule(f == VEC_GP, "x2APIC ID read while disabled", 0x802, v);
            if (chance(50)) {
                msr_write(MSR_APIC_BASE, base | APIC_BASE_EN | keep);
                x2_check_reset();
            }
        }
        if (window && (apic_base_msr() & APIC_BASE_EN)) {
            if (x2apic_on())
                msr_write(0x808, 0x10);
            else if (xapic_page() == LAPIC_DEFAULT)      /* not a page moved onto RAM */
                wr(LAPIC_DEFAULT + 0x80, 4, 0x10);
            else
                continue;
            uint64_t end = rdtsc() + 2000 + rnd(20000);
            window_left = 32;
            sti();
            while (rdtsc() < end)
                __asm__ volatile("pause");
            cli();
            window_left = 0;
        }
    }
}

static void op_x2apic(void)
{
    if (x2_pct && chance(x2_pct)) {
        if (chance(85))
            x2_rules();
        else
            x2_transitions();
        return;
    }
    unsigned r = (unsigned)rnd(100);
    if (r < 10) {                        /* IA32_APIC_BASE: modes, a moved page, reserved bits */
        uint64_t cur_v = apic_base_msr(), keep = cur_v & APIC_BASE_BSP, v;
        switch (rnd(7)) {
        case 0: v = cur_v | APIC_BASE_EXTD | APIC_BASE_EN; break;
        case 1: v = keep; break;                                        /* disable */
        case 2: v = LAPIC_DEFAULT | APIC_BASE_EN | keep; break;
        case 3: v = 0xd0000000ul | APIC_BASE_EN | keep; break;        /* unassigned space */
        case 4: v = (SCR_BUF + 0x100000) | APIC_BASE_EN | keep; break; /* onto RAM */
        case 5: v = cur_v | (1ull << (9 + rnd(2))); break;             /* reserved bit 9 */
        default: v = cur_v ^ (1ull << rnd(64)); break;
        }
        msr_write(MSR_APIC_BASE, v);
        return;
    }
    if (r < 18) {
        uint64_t v = chance(50) ? rdtsc() + rnd(20000) : junk64();
        if (chance(30))
            msr_read(MSR_TSC_DEADLINE);
        else
            msr_write(MSR_TSC_DEADLINE, v);
        return;
    }
    uint32_t reg = chance(70) ? lapic_regs[rnd(sizeof(lapic_regs) / 2)] >> 4 : (uint32_t)rnd(256);
    uint32_t msr = 0x800 + reg;
    if (chance(45)) {
        msr_read(msr);
        return;
    }
    if (msr == 0x830) {
        cur = D_LAPIC;
        icr_send();
        cur = D_X2APIC;
        return;
    }
    uint64_t v = reg == 0x32 || reg == 0x35 || reg == 0x36 ? lvt_junk() : junk64();
    if (reg == 0x38 && chance(50))
        v = rnd(3);
    msr_write(msr, v);
}

/* ---- the IOAPIC ---------------------------------------------------------------------- */

static uint32_t ioapic_read(uint32_t reg)
{
    wr(IOAPIC_BASE, 4, reg);
    return (uint32_t)rd(IOAPIC_BASE + 0x10, 4);
}

static bool rte_startup(uint32_t lo)
{
    uint32_t mode = (lo >> 8) & 7;
    return mode == 5 || mode == 6;
}

/* A redirection entry half; INIT and start-up only to an APIC ID nobody has, physical. */
static void rte_write(unsigned pin, bool high, uint32_t v)
{
    uint32_t lo_reg = 0x10 + 2 * pin;
    if (high) {
        uint32_t lo = ioapic_read(lo_reg);
        if (rte_startup(lo) && ((v >> 24) < SELF_ID_FREE || (v >> 24) == 0xff || (lo & 0x800)))
            v = (v & 0x00ffffffu) | free_id() << 24;
    } else if (rte_startup(v)) {
        v &= ~0x800u;
        wr(IOAPIC_BASE, 4, lo_reg + 1);
        wr(IOAPIC_BASE + 0x10, 4, free_id() << 24);
    }
    wr(IOAPIC_BASE, 4, lo_reg + high);
    wr(IOAPIC_BASE + 0x10, 4, v);
}

static void op_ioapic(void)
{
    unsigned r = (unsigned)rnd(100);
    if (r < 40) {
        unsigned pin = (unsigned)rnd(24);
        bool high = chance(40);
        uint32_t v = high ? (uint32_t)pick_dest() << 24 | (chance(10) ? (uint32_t)rnd(1u << 24) : 0)
                          : (uint32_t)rnd(256) | (uint32_t)rnd(8) << 8 | (uint32_t)rnd(16) << 11 |
                            (uint32_t)rnd(2) << 15 | (uint32_t)rnd(2) << 16;
        if (chance(10))
            v = (uint32_t)rng_next(&rng);
        rte_write(pin, high, v);
        return;
    }
    if (r < 55) {                        /* IOREGSEL junk, then a window read */
        wr(IOAPIC_BASE, pick_size(), junk64());
        rd(IOAPIC_BASE + 0x10 + rnd(4), pick_size());
        return;
    }
    if (r < 65) {
        wr(IOAPIC_BASE + 0x40, pick_size(), rnd(256));
        return;
    }
    if (r < 70) {
        wr(IOAPIC_BASE, 4, rnd(3));
        wr(IOAPIC_BASE + 0x10, 4, (uint32_t)rng_next(&rng));
        return;
    }
    uint64_t off = chance(80) ? rnd(0x50) : rnd(0x1000);
    unsigned size = pick_size();
    if (off < 0x14) {                    /* the window: an RTE junk write could send INIT */
        if (off == 0)
            wr(IOAPIC_BASE, size, junk64());
        else
            rd(IOAPIC_BASE + off, size);
        return;
    }
    any_access(IOAPIC_BASE + off, size);
}

/* ---- the HPET ------------------------------------------------------------------------ */

static void op_hpet(void)
{
    unsigned r = (unsigned)rnd(100);
    if (r < 15) {
        wr(HPET_BASE + 0x10, chance(70) ? 4 : 8, rnd(4) | (chance(5) ? junk64() : 0));
        return;
    }
    if (r < 45) {
        unsigned t = (unsigned)rnd(4);        /* timer 3 is not there */
        static const unsigned routes[] = { 0, 2, 8, 11, 20, 21, 22, 23, 31 };
        uint64_t conf = (uint64_t)rnd(2) << 1 | (uint64_t)rnd(2) << 2 | (uint64_t)rnd(2) << 3 |
                        (uint64_t)rnd(2) << 6 | (uint64_t)rnd(2) << 8 | (uint64_t)routes[rnd(9)] << 9;
        if (chance(10))
            conf = junk64();
        wr(HPET_BASE + 0x100 + 0x20 * t, chance(70) ? 4 : 8, conf);
        return;
    }
    if (r < 75) {
        unsigned t = (unsigned)rnd(4);
        static const uint64_t cmps[] = { 0, 1, 1, 2, 10, 1000 };
        uint64_t v = chance(60) ? cmps[rnd(6)] : junk64();
        if (chance(30))
            v += rd(HPET_BASE + 0xf0, 8);
        wr(HPET_BASE + 0x108 + 0x20 * t + (chance(10) ? 4 : 0), chance(50) ? 4 : 8, v);
        return;
    }
    if (r < 82) {
        wr(HPET_BASE + 0x20, pick_size(), junk64());
        return;
    }
    if (r < 87) {
        wr(HPET_BASE + 0xf0 + (chance(20) ? 4 : 0), chance(50) ? 4 : 8, junk64());
        return;
    }
    any_access(HPET_BASE + (chance(85) ? rnd(0x180) : rnd(0x1000)), pick_size());
}

/* ---- the legacy ports ----------------------------------------------------------------- */

static void op_pic(void)
{
    static const uint16_t ports[] = { 0x20, 0x21, 0xa0, 0xa1, 0x4d0, 0x4d1 };
    uint16_t port = ports[rnd(6)];
    unsigned r = (unsigned)rnd(100);
    if (r < 15) {                        /* an ICW sequence with junk words */
        uint16_t cmd = chance(50) ? 0x20 : 0xa0;
        port_out(cmd, 1, 0x10 | (uint32_t)rnd(16));
        for (unsigned i = 0, n = (unsigned)rnd(4); i < n; i++)
            port_out((uint16_t)(cmd + 1), 1, (uint32_t)rnd(256));
    } else if (r < 40) {                 /* OCW2 and OCW3: every command byte */
        port_out(chance(50) ? 0x20 : 0xa0, 1, (uint32_t)rnd(256) & ~0x10u);
    } else if (r < 65) {
        port_in(port, port_size());
    } else if (r < 90) {
        port_out(port, port_size(), (uint32_t)junk64());
    } else {
        port_string(port, chance(50), 1 + (unsigned)rnd(4));
    }
}

static void op_pit(void)
{
    unsigned r = (unsigned)rnd(100);
    if (r < 30) {
        port_out(0x43, 1, (uint32_t)rnd(256));           /* every command, read-back too */
    } else if (r < 55) {
        static const uint32_t counts[] = { 0, 1, 2, 3, 0xffff };
        uint16_t ch = (uint16_t)(0x40 + rnd(3));
        uint32_t c = chance(60) ? counts[rnd(5)] : (uint32_t)rnd(0x10000);
        port_out(ch, 1, c & 0xff);
        if (chance(70))
            port_out(ch, 1, c >> 8);
    } else if (r < 75) {
        port_in((uint16_t)(0x40 + rnd(4)), port_size());
    } else if (r < 85) {
        if (chance(50))
            port_in(0x61, 1);
        else
            port_out(0x61, port_size(), (uint32_t)rnd(256));
    } else if (r < 95) {
        port_out((uint16_t)(0x40 + rnd(4)), port_size(), (uint32_t)junk64());
    } else {
        port_string((uint16_t)(0x40 + rnd(4)), chance(50), 1 + (unsigned)rnd(4));
    }
}

static void op_rtc(void)
{
    unsigned r = (unsigned)rnd(100);
    uint32_t idx = chance(60) ? (uint32_t)rnd(14) : (uint32_t)rnd(256);   /* bit 7: NMI mask */
    if (r < 40) {
        port_out(0x70, 1, idx);
        port_in(0x71, 1);
    } else if (r < 80) {
        static const uint8_t a[] = { 0x20, 0x23, 0x26, 0x2f, 0x70, 0x01 };
        uint32_t v = idx == 0x0a ? a[rnd(6)] : idx == 0x0b ? (uint32_t)rnd(256) : (uint32_t)rnd(256);
        port_out(0x70, 1, idx);
        port_out(0x71, 1, v);
    } else if (r < 90) {
        port_out(0x70, 2, idx | (uint32_t)rnd(256) << 8);            /* index and data at once */
    } else {
        uint16_t p = (uint16_t)(0x70 + rnd(2));
        if (chance(50))
            port_in(p, port_size());
        else
            port_string(p, chance(50), 1 + (unsigned)rnd(3));
    }
}

/* PM1_STS 0x600, PM1_EN 0x602, PM1_CNT 0x604 (never SLP_EN), PM_TMR 0x608. */
static void op_pm(void)
{
    uint16_t port = (uint16_t)(0x600 + rnd(16));
    unsigned size = port_size();
    if (chance(50) || (port <= 0x605 && port + size > 0x604 && port != 0x604)) {
        port_in(port, size);
        return;
    }
    uint32_t v = (uint32_t)junk64();
    if (port == 0x604)
        v &= ~(1u << 13);
    port_out(port, size, v);
}

/* Registers 1-7; the THR only in loopback (MCR bit 4), never onto the console. */
static void op_uart(void)
{
    uint16_t port = (uint16_t)(0x3f8 + rnd(8));
    unsigned r = (unsigned)rnd(100);
    if (r < 50) {
        port_in(port, 1);
        return;
    }
    uint32_t v = (uint32_t)rnd(256);
    if (port == 0x3fc)
        v |= 0x10;                         /* stay in loopback while fuzzing */
    if (port == 0x3f8 && !(inb(0x3fb) & 0x80) && !(inb(0x3fc) & 0x10))
        return;
    if (port == 0x3fb && !(v & 0x80) && !(inb(0x3fc) & 0x10))
        port_out(0x3fc, 1, 0x10);
    port_out(port, 1, v);
}

static void op_fwcfg(void)
{
    unsigned r = (unsigned)rnd(100);
    if (r < 35) {
        static const uint16_t keys[] = { 0, 1, 3, 5, 0x19, 0x8000, 0x4000, 0xffff, 0x20 };
        port_out(0x510, 2, chance(70) ? keys[rnd(9)] : (uint32_t)rnd(0x10000));
    } else if (r < 75) {
        port_in(0x511, port_size());
    } else if (r < 85) {
        port_string(0x511, true, 1 + (unsigned)rnd(8));
    } else {
        uint16_t p = (uint16_t)(0x510 + rnd(12));           /* the DMA ports QEMU has too */
        if (chance(50))
            port_in(p, port_size());
        else
            port_out(p, port_size(), (uint32_t)junk64());
    }
}

static void op_reset(void)
{
    if (chance(50)) {
        port_in(chance(50) ? 0x92 : 0xcf9, 1);
        return;
    }
    if (chance(50))
        port_out(0x92, 1, (uint32_t)rnd(256) & ~1u);
    else
        port_out(0xcf9, 1, (uint32_t)rnd(256) & ~4u);
}

/* ---- PCI configuration space ----------------------------------------------------------- */

static uint32_t cfg_rd(unsigned slot, unsigned off, unsigned size)
{
    port_out(0xcf8, 4, 0x80000000u | slot << 11 | (off & 0xfc));
    return port_in((uint16_t)(0xcfc + (off & (4 - size))), size);
}

static void cfg_wr(unsigned slot, unsigned off, unsigned size, uint32_t v)
{
    port_out(0xcf8, 4, 0x80000000u | slot << 11 | (off & 0xfc));
    port_out((uint16_t)(0xcfc + (off & (4 - size))), size, v);
}

static unsigned pick_slot(void)
{
    if (vslot && chance(60))
        return vslot;
    return chance(50) ? 0 : (unsigned)rnd(32);
}

static uint32_t bar_target(void)
{
    static const uint32_t at[] = {
        LAPIC_DEFAULT, IOAPIC_BASE, HPET_BASE, 0x100000, SCR_BUF, 0xe0000000u, 0xe0001000u,
        0xe0004000u, 0xe0008000u, 0xefffc000u, 0, 0xfffff000u, 0xf0000000u,
    };
    return chance(80) ? at[rnd(sizeof(at) / 4)] : (uint32_t)rng_next(&rng) & ~0xfffu;
}

/* The virtio PCI-config-access capability: a window onto a BAR (never the MSI-X table). */
static void pcicfg_window(unsigned slot, unsigned cap)
{
    unsigned bar = chance(70) ? 4 : (unsigned)rnd(8);
    uint32_t off = chance(70) ? (uint32_t)rnd(0x4000) : (uint32_t)rng_next(&rng);
    uint32_t len = chance(70) ? 1u << rnd(3) : (uint32_t)rnd(9);
    bool write = chance(50);
    if (bar == 1 && off < 0x800)
        write = false;                   /* the MSI-X table */
    if (bar == 4 && off + 8 > 0x20 && off < 0x38)
        write = false;                   /* ring addresses: only ring_addr() places them */
    cfg_wr(slot, cap + 4, 1, bar);
    cfg_wr(slot, cap + 8, 4, off);
    cfg_wr(slot, cap + 12, 4, len);
    if (write)
        cfg_wr(slot, cap + 16, port_size(), (uint32_t)junk64());
    else
        cfg_rd(slot, cap + 16, port_size());
}

static void op_pci(void)
{
    unsigned r = (unsigned)rnd(100);
    unsigned slot = pick_slot();
    if (r < 20) {                        /* junk address, any width at 0xcfc-0xcff */
        uint32_t a = (uint32_t)rnd(2) << 31 | (uint32_t)(chance(80) ? 0 : rnd(256)) << 16 |
                     slot << 11 | (uint32_t)(chance(80) ? 0 : rnd(8)) << 8 | (uint32_t)rnd(256);
        if (chance(10))
            a = (uint32_t)rng_next(&rng);
        port_out(0xcf8, chance(85) ? 4 : 1 + (unsigned)rnd(2), a);
        uint16_t p = (uint16_t)(0xcfa + rnd(6));
        unsigned size = port_size();
        if (chance(50))
            port_in(p, size);
        else
            port_out(p, size, (uint32_t)junk64());
        return;
    }
    if (r < 40) {                        /* BARs: sizing, moving onto everything */
        unsigned n = (unsigned)rnd(6), off = 0x10 + 4 * n;
        if (chance(30)) {
            uint32_t old = cfg_rd(slot, off, 4);
            cfg_wr(slot, off, 4, 0xffffffffu);
            cfg_rd(slot, off, 4);
            if (chance(70))
                cfg_wr(slot, off, 4, old);
        } else {
            cfg_wr(slot, off, 4, bar_target() | (uint32_t)rnd(16));
            if (chance(30) && n < 5)
                cfg_wr(slot, off + 4, 4, chance(70) ? 0 : (uint32_t)rnd(0x100));
        }
        return;
    }
    if (r < 55) {                        /* command register toggles */
        uint32_t v = (uint32_t)rnd(8) | (uint32_t)rnd(2) << 10;
        cfg_wr(slot, 0x04, chance(80) ? 2 : 4, chance(10) ? (uint32_t)junk64() : v);
        return;
    }
    if (r < 80) {                        /* walk the capabilities, write into one */
        unsigned off = cfg_rd(slot, 0x34, 1) & 0xfc, steps = (unsigned)rnd(8);
        for (unsigned guard = 0; off && guard < steps && guard < 48; guard++)
            off = cfg_rd(slot, off + 1, 1) & 0xfc;
        if (!off)
            return;
        unsigned id = cfg_rd(slot, off, 1);
        if (id == 0x09 && cfg_rd(slot, off + 3, 1) == 5) {
            pcicfg_window(slot, off);
            return;
        }
        unsigned at = off + (unsigned)rnd(20), size = port_size();
        if (id == 0x11 && at < off + 4) {
            uint16_t ctl = (uint16_t)rnd(4) << 14;          /* MSI-X enable, function mask */
            cfg_wr(slot, off + 2, 2, ctl | (uint16_t)rnd(0x800));
        } else if (chance(60)) {
            cfg_wr(slot, at, size, (uint32_t)junk64());
        } else {
            cfg_rd(slot, at, size);
        }
        return;
    }
    unsigned off = (unsigned)rnd(256), size = port_size();
    if (chance(40))
        cfg_rd(slot, off, size);
    else
        cfg_wr(slot, off, size, (uint32_t)junk64());
}

/* ---- virtio-pci -------------------------------------------------------------------------- */

/* A descriptor that points only into the buffers, at an indirect table in the descriptor
 * area, or outside RAM: whatever the device makes of it, it cannot write to the image. */
static void put_desc(volatile struct vd_desc *d)
{
    uint16_t flags = (uint16_t)rnd(8) & ~VD_DESC_INDIRECT;
    uint64_t addr;
    uint32_t len = chance(60) ? (uint32_t)rnd(4097) : (uint32_t)junk64();
    switch (rnd(10)) {
    case 0:
        addr = SCR_DESC + 16 * rnd(64);
        flags |= VD_DESC_INDIRECT;
        len = 16 * (uint32_t)rnd(8);
        break;
    case 1: addr = OUTSIDE + rnd(0x100000); break;
    case 2: addr = ram_end - rnd(64); break;
    case 3: addr = chance(50) ? LAPIC_DEFAULT : HPET_BASE; break;
    default: addr = SCR_BUF + rnd(SCR_END - SCR_BUF - 0x10000); break;
    }
    d->addr = addr;
    d->len = len;
    d->flags = flags;
    d->next = chance(80) ? (uint16_t)rnd(16) : (uint16_t)rng_next(&rng);
}

static void scratch_init(void)
{
    for (uintptr_t a = SCR_DESC; a < SCR_AVAIL; a += 16)
        put_desc((volatile struct vd_desc *)a);
    for (uintptr_t a = SCR_AVAIL; a < SCR_END; a += 8)
        *(volatile uint64_t *)a = chance(50) ? rng_next(&rng) & 0x000f000f000f000full : rng_next(&rng);
}

struct vregions {
    uintptr_t regs, msix;
    bool writes_ok;                  /* BAR 1 and BAR 4 apart: a register write lands where meant */
    bool readable;                   /* below 4 GiB: in our page tables */
};

static void vregions(struct vregions *r)
{
    uint64_t b1 = cfg_rd(vslot, 0x14, 4) & ~0xfull;
    uint64_t b4 = (cfg_rd(vslot, 0x20, 4) & ~0xfull) | (uint64_t)cfg_rd(vslot, 0x24, 4) << 32;
    r->msix = (uintptr_t)b1;
    r->regs = (uintptr_t)b4;
    /* Both inside the PCI window (elsewhere they decode nothing, and the address may be
     * the LAPIC's or the IOAPIC's), and apart. */
    bool in1 = b1 >= 0xe0000000ull && b1 <= 0xf0000000ull - 0x1000;
    bool in4 = b4 >= 0xe0000000ull && b4 <= 0xf0000000ull - 0x4000;
    r->writes_ok = in1 && in4 && (b1 + 0x1000 <= b4 || b4 + 0x4000 <= b1);
    r->readable = b4 <= 0x100000000ull - 0x4000 && b1 <= 0x100000000ull - 0x1000;
}

static uint64_t ring_addr(uintptr_t area, uint64_t span, uintptr_t regs)
{
    switch (rnd(10)) {
    case 0: return OUTSIDE + rnd(4096);
    case 1: return ram_end - 2;
    case 2: return regs;                               /* the device's own registers */
    case 3: return LAPIC_DEFAULT;
    case 4: return area + rnd(16) * 2;                 /* misaligned */
    case 5: return ~0ull - 4;
    default: return area + (rnd(span / 4096) << 12);
    }
}

static void common_write(uintptr_t c, unsigned off, unsigned size, uint64_t v)
{
    if (size == 8) {
        wr(c + off, 4, (uint32_t)v);
        wr(c + off + 4, 4, v >> 32);
    } else {
        wr(c + off, size, v);
    }
}

static void op_virtio(void)
{
    if (!vslot)
        return;
    struct vregions vr;
    vregions(&vr);
    uintptr_t c = vr.regs;
    unsigned r = (unsigned)rnd(100);
    if (!vr.writes_ok) {                           /* overlapped or elsewhere: only reads */
        if (vr.readable) {                         /* up to 8 bytes short of each end */
            rd(vr.regs + rnd(0x4000 - 8), pick_size());
            rd(vr.msix + rnd(0x1000 - 8), pick_size());
        }
        return;
    }
    if (r < 8) {                                   /* status in any order, 0 = reset */
        static const uint8_t st[] = { 0, 1, 3, 0xb, 0xf, 0x80, 0x40, 0x4, 0x7, 0x8 };
        wr(c + 0x14, 1, chance(85) ? st[rnd(10)] : rnd(256));
    } else if (r < 16) {                           /* features */
        common_write(c, chance(50) ? 0x00 : 0x08, 4, chance(60) ? rnd(3) : junk64());
        if (chance(50))
            rd(c + 0x04, 4);
        else
            common_write(c, 0x0c, 4, junk64());
    } else if (r < 26) {
        static const uint16_t sel[] = { 0, 0, 1, 2, 0xffff, 0x8000 };
        wr(c + 0x16, 2, chance(80) ? sel[rnd(6)] : rnd(0x10000));
    } else if (r < 36) {
        static const uint16_t sz[] = { 0, 1, 3, 16, 256, 0x8000, 0xffff, 24 };
        wr(c + 0x18, 2, sz[rnd(8)]);
    } else if (r < 48) {                           /* ring addresses */
        unsigned which = (unsigned)rnd(3);
        uint64_t a = which == 0 ? ring_addr(SCR_DESC, 0x10000, c)
                   : which == 1 ? ring_addr(SCR_AVAIL, 0x80000, c) : ring_addr(SCR_USED, 0x80000, c);
        common_write(c, 0x20 + 8 * which, 8, a);     /* both halves: a half could aim at RAM */
    } else if (r < 55) {
        wr(c + 0x1c, 2, chance(80) ? rnd(2) : rnd(0x10000));
    } else if (r < 60) {
        wr(c + (chance(50) ? 0x10 : 0x1a), 2, chance(50) ? rnd(20) : 0xffff);
    } else if (r < 70) {                           /* notify on every queue index */
        uint64_t q = chance(70) ? rnd(4) : rnd(0x400);
        uint64_t at = c + 0x3000 + 4 * q;
        if (at + 4 > c + 0x4000)
            at = c + 0x3000 + rnd(0x1000);
        wr(at, chance(70) ? 2 : pick_size(), chance(50) ? rnd(4) : junk64());
        if (chance(40)) {                          /* new junk in the rings it may read */
            put_desc((volatile struct vd_desc *)(SCR_DESC + 16 * rnd(0x1000)));
            *(volatile uint16_t *)(SCR_AVAIL + 2 * rnd(0x1000)) = (uint16_t)rnd(0x20);
        }
    } else if (r < 75) {
        rd(c + 0x1000 + (chance(80) ? 0 : rnd(0x1000)), pick_size());   /* ISR */
    } else if (r < 80) {
        any_access(c + 0x2000 + rnd(0x40), pick_size());                  /* device config */
    } else if (r < 88) {                           /* MSI-X table and PBA */
        unsigned e = (unsigned)rnd(18), f = (unsigned)rnd(4);
        uintptr_t a = vr.msix + 16 * e + 4 * f;
        if (chance(40)) {
            rd(a, pick_size());
        } else if (chance(15)) {
            any_access(vr.msix + 0x800 + rnd(0x800), pick_size());   /* PBA: read-only */
        } else {
            uint32_t v = f == 0 ? 0xfee00000u | pick_dest() << 12 | (uint32_t)rnd(16)
                       : f == 1 ? (chance(80) ? 0 : (uint32_t)junk64())
                       : f == 2 ? (uint32_t)rnd(256) | (uint32_t)rnd(8) << 8 | (uint32_t)rnd(2) << 15
                       : (uint32_t)rnd(2);
            if (f == 2 && rte_startup(v))
                v &= ~0x700u;               /* INIT or start-up could reach this vCPU */
            wr(a, 4, v);
        }
    } else {
        uint64_t off = chance(80) ? rnd(0x40) : rnd(0x1000);
        if ((off + 24 > 0x20 && off < 0x38) || chance(30))
            rd(c + off, pick_size());                /* ring addresses: see ring_addr() */
        else
            any_access(c + off, pick_size());
    }
}

static void (*const ops[D_COUNT])(void) = {
    op_lapic, op_x2apic, op_ioapic, op_hpet, op_pic, op_pit, op_rtc, op_pm, op_uart,
    op_fwcfg, op_reset, op_pci, op_virtio,
};

static enum dev pick_dev(void)
{
    unsigned total = 0;
    for (unsigned i = 0; i < D_COUNT; i++)
        total += dev_weight[i];
    unsigned x = (unsigned)rnd(total);
    for (unsigned i = 0; i < D_COUNT; i++) {
        if (x < dev_weight[i])     /* with `trace` the UART's loopback would hide the trace */
            return trace && i == D_UART ? D_PIC : (enum dev)i;
        x -= dev_weight[i];
    }
    return D_LAPIC;
}

/* ---- interrupts ------------------------------------------------------------------------ */

static void lapic_eoi_any(void)
{
    uint64_t b = apic_base_msr();
    if (!(b & APIC_BASE_EN))
        return;
    if (b & APIC_BASE_EXTD)
        wrmsr(0x80b, 0);
    else
        mmio_write32((uintptr_t)(b & 0xfffff000ul) + 0xb0, 0);
}

static volatile uint64_t nmis_in_a_row, nmi_quenches;

/* NMIs that come faster than the emulated machine takes one (an IOAPIC pin in NMI mode
 * on a fast timer) leave no time for anything else: after 64 with no fuzz iteration
 * between, every source that can send one is masked, and the fuzz goes on. */
static void on_nmi(struct irq_frame *f)
{
    (void)f;
    nmis++;
    if (++nmis_in_a_row < 64)
        return;
    nmis_in_a_row = 0;
    nmi_quenches++;
    for (unsigned pin = 0; pin < 24; pin++) {
        mmio_write32(IOAPIC_BASE, 0x10 + 2 * pin);
        mmio_write32(IOAPIC_BASE + 0x10, 1u << 16);
    }
    *(volatile uint64_t *)(HPET_BASE + 0x10) = 0;
}

static volatile bool rtc_ack, oneshot_rearm;
static volatile uint64_t storm_left;        /* interrupts a storm may still deliver */

static void hpet_w(unsigned off, uint64_t v) { *(volatile uint64_t *)(HPET_BASE + off) = v; }
static void ioapic_rte(unsigned pin, uint32_t lo, uint32_t hi);

/* A storm's sources, masked once it has delivered its share: where one interrupt costs
 * the emulated machine more time than the period (an exit under Bochs or QEMU's icount
 * takes longer than 50 us), nothing but the handler would run again, on any CPU. */
static void storm_mask(void)
{
    lapic_write(APIC_LVT_TIMER, LVT_MASKED);
    oneshot_rearm = false;
    hpet_w(0x10, 0);
    hpet_w(0x20, 7);
    ioapic_rte(2, 1u << 16, 0);
    ioapic_rte(8, 1u << 16, 0);
    ioapic_rte(20, 1u << 16, 0);
}

static void window_shut(void)
{
    windows_shut++;
    uint64_t b = apic_base_msr();
    if ((b & (APIC_BASE_EN | APIC_BASE_EXTD)) == (APIC_BASE_EN | APIC_BASE_EXTD))
        wrmsr(0x808, 0xf0);
    else if ((b & APIC_BASE_EN) && (b & ~0xfffull) == LAPIC_DEFAULT)
        mmio_write32(LAPIC_DEFAULT + 0x80, 0xf0);
}

static void on_irq(struct irq_frame *f)
{
    uint64_t n = ++irqs[f->vector & 0xff];
    if (storm_left && --storm_left == 0)
        storm_mask();
    if (window_left && --window_left == 0)
        window_shut();
    if (rtc_ack) {
        outb(0x70, 0x0c);
        (void)inb(0x71);
    }
    /* The level-triggered HPET storm: 32 deliveries with the line held, then the status
     * bit cleared (else no instruction outside this handler ever runs: on any CPU). */
    if (f->vector == 0x52 && n % 32 == 0)
        *(volatile uint64_t *)(HPET_BASE + 0x20) = 4;
    if (f->vector != 0xff)
        lapic_eoi_any();
}

/* ---- back to a known state ------------------------------------------------------------- */

static void pic_init(void)
{
    static const uint8_t seq[2][4] = { { 0x11, 0x20, 0x04, 0x01 }, { 0x11, 0x28, 0x02, 0x01 } };
    for (int c = 0; c < 2; c++) {
        uint16_t p = c ? 0xa0 : 0x20;
        for (int i = 0; i < 4; i++)
            outb(i ? (uint16_t)(p + 1) : p, seq[c][i]);
        outb((uint16_t)(p + 1), 0xff);
    }
    outb(0x4d0, 0);
    outb(0x4d1, 0);
}

static void ioapic_rte(unsigned pin, uint32_t lo, uint32_t hi)
{
    mmio_write32(IOAPIC_BASE, 0x10 + 2 * pin + 1);
    mmio_write32(IOAPIC_BASE + 0x10, hi);
    mmio_write32(IOAPIC_BASE, 0x10 + 2 * pin);
    mmio_write32(IOAPIC_BASE + 0x10, lo);
}

static uint64_t hpet_r(unsigned off) { return *(volatile uint64_t *)(HPET_BASE + off); }

/* Everything quiet, every source masked, the LAPIC reset through IA32_APIC_BASE. */
static void quiesce(void)
{
    cli();
    rtc_ack = oneshot_rearm = false;
    uint64_t b = apic_base_msr();
    wrmsr(MSR_APIC_BASE, b & APIC_BASE_BSP);                 /* disabled: every register reset */
    wrmsr(MSR_APIC_BASE, LAPIC_DEFAULT | APIC_BASE_EN | (b & APIC_BASE_BSP));
    lapic_enable(LAPIC_XAPIC);
    irq_set_handler(0xff, on_irq);
    pic_init();
    for (unsigned pin = 0; pin < 24; pin++)
        ioapic_rte(pin, 1u << 16, 0);
    hpet_w(0x10, 0);
    for (unsigned t = 0; t < 3; t++)
        hpet_w(0x100 + 0x20 * t, 0);
    hpet_w(0x20, 7);
    outb(0x43, 0x30);                                        /* channel 0, mode 0: one shot */
    outb(0x40, 0xff);
    outb(0x40, 0xff);
    outb(0x61, 0);
    outb(0x70, 0x0b);
    outb(0x71, 0x02);                                        /* 24-hour, no interrupts */
    outb(0x70, 0x0c);
    (void)inb(0x71);
    outb(0x70, 0x0a);
    outb(0x71, 0x26);
    outb(0x70, 0x00);
    if (vslot)
        cfg_wr(vslot, 0x04, 2, 0x0400);                      /* no decoding, no DMA, no INTx */
    serial_init();
}

static uint64_t irq_total(void)
{
    uint64_t n = 0;
    for (unsigned v = 32; v < 256; v++)
        n += irqs[v];
    return n;
}

/* Interrupts on for ms milliseconds (TSC), returning how many vectors came. */
static uint64_t run_open(uint64_t ms, unsigned vector)
{
    uint64_t before = irqs[vector], end = rdtsc() + ms * (tsc_hz() / 1000);
    if (trace)
        printf("devfuzz: open %lu ms for vector %#x\n", ms, vector);
    sti();
    while (rdtsc() < end) {
        if (oneshot_rearm && lapic_read(APIC_TIMER_CUR) == 0)
            lapic_write(APIC_TIMER_INIT, 1);  /* count 1 again as soon as it fired */
        pause();
    }
    cli();
    return irqs[vector] - before;
}

/* Interrupts on until `want` vectors came or max_ms passed (the partition may share its
 * CPU: a check counts interrupts, never how soon they come); returns how many came. */
static uint64_t run_until(unsigned vector, uint64_t want, uint64_t max_ms)
{
    uint64_t before = irqs[vector], end = rdtsc() + max_ms * (tsc_hz() / 1000);
    sti();
    while (irqs[vector] - before < want && rdtsc() < end)
        pause();
    cli();
    return irqs[vector] - before;
}

/* ---- the storm phase ------------------------------------------------------------------- */

static void hpet_periodic_level(void)
{
    ioapic_rte(20, 0x52 | 1u << 15, lapic_id() << 24);
    hpet_w(0x140, 1ull << 1 | 1ull << 2 | 1ull << 3 | 1ull << 6 | 20ull << 9);
    hpet_w(0x148, hpet_r(0xf0) + 1000);                      /* first in 10 us */
    hpet_w(0x148, 1);                                        /* then period: 1 tick */
    hpet_w(0x10, 1);
}

static void pit_count1(void)
{
    ioapic_rte(2, 0x53, lapic_id() << 24);
    outb(0x43, 0x34);                                        /* rate generator, count 1 */
    outb(0x40, 1);
    outb(0x40, 0);
}

#define STORM_MAX 400

static void storm_report(const char *what, uint64_t ms, uint64_t n)
{
    report(n > 0, "storm: %s: %lu interrupts in %lu ms (masked after %u)", what, n, ms,
           STORM_MAX);
    storm_left = STORM_MAX;
}

static void storms(uint64_t ms)
{
    quiesce();
    storm_left = STORM_MAX;
    lapic_write(APIC_TIMER_DIV, 0xb);
    lapic_write(APIC_LVT_TIMER, 0x50 | LVT_TIMER_PERIODIC);
    lapic_write(APIC_TIMER_INIT, 1);
    storm_report("LAPIC periodic, count 1", ms, run_open(ms, 0x50));
    lapic_write(APIC_LVT_TIMER, LVT_MASKED);

    oneshot_rearm = true;
    lapic_write(APIC_LVT_TIMER, 0x51);
    lapic_write(APIC_TIMER_INIT, 1);
    storm_report("LAPIC one-shot, count 1 re-armed at once", ms, run_open(ms, 0x51));
    oneshot_rearm = false;
    lapic_write(APIC_LVT_TIMER, LVT_MASKED);

    hpet_periodic_level();
    storm_report("HPET periodic, period 1 tick, level-triggered", ms, run_open(ms, 0x52));
    quiesce();

    pit_count1();
    storm_report("PIT count 1", ms, run_open(ms, 0x53));
    quiesce();


    lapic_write(APIC_LVT_TIMER, 0x50 | LVT_TIMER_PERIODIC);    /* and all at once */
    lapic_write(APIC_TIMER_INIT, 1);
    hpet_periodic_level();
    pit_count1();
    uint64_t before = irq_total();
    run_open(ms, 0x50);
    storm_report("all of them at once", ms, irq_total() - before);
    storm_left = 0;
    quiesce();
}

/* ---- the checks after ------------------------------------------------------------------- */

static bool lapic_timer_works(const char *mode)
{
    lapic_write(APIC_TIMER_DIV, 0xb);
    lapic_write(APIC_LVT_TIMER, 0x40);
    lapic_write(APIC_TIMER_INIT, 100000);
    uint64_t one = run_until(0x40, 1, 1000);
    one += run_open(20, 0x40);                               /* and no second one */
    lapic_write(APIC_LVT_TIMER, 0x40 | LVT_TIMER_PERIODIC);
    lapic_write(APIC_TIMER_INIT, 5000000);                   /* 5 ms: slower than an exit */
    uint64_t per = run_until(0x40, 3, 2000);
    lapic_write(APIC_LVT_TIMER, LVT_MASKED);
    return report(one == 1 && per >= 3, "%s LAPIC timer after the fuzz: one-shot %lu "
                  "interrupt(s) (1 wanted), periodic %lu (3 or more wanted)", mode, one, per);
}

static void checks(void)
{
    quiesce();
    lapic_timer_works("xAPIC");
    if (lapic_has_x2apic()) {
        lapic_enable(LAPIC_X2APIC);
        lapic_timer_works("x2APIC");
        quiesce();
    }

    ioapic_rte(2, 0x41, lapic_id() << 24);                   /* PIT at 200 Hz, IOAPIC pin 2 */
    outb(0x43, 0x34);
    outb(0x40, (uint8_t)5966);
    outb(0x40, (uint8_t)(5966 >> 8));
    uint64_t pit = run_until(0x41, 3, 2000);
    outb(0x43, 0x30);
    ioapic_rte(2, 1u << 16, 0);
    report(pit >= 3, "PIT through IOAPIC pin 2 after the fuzz: %lu interrupts (3 wanted)", pit);

    ioapic_rte(20, 0x42, lapic_id() << 24);                  /* HPET timer 0, one shot, GSI 20 */
    hpet_w(0x100, 1ull << 2 | 20ull << 9);
    hpet_w(0x108, hpet_r(0xf0) + 100000);                    /* 1 ms */
    hpet_w(0x10, 1);
    uint64_t hpet = run_until(0x42, 1, 1000);
    hpet += run_open(5, 0x42);                               /* and no second one */
    hpet_w(0x10, 0);
    hpet_w(0x100, 0);
    ioapic_rte(20, 1u << 16, 0);
    report(hpet == 1, "HPET one-shot through IOAPIC pin 20 after the fuzz: %lu interrupt(s)", hpet);

    outb(0x70, 0x0b);                                        /* the RTC (no interrupts: */
    outb(0x71, 0x82);                                        /* cmos_rtc.h): set 30 s */
    outb(0x70, 0x00);
    outb(0x71, 0x30);
    outb(0x70, 0x0b);
    outb(0x71, 0x02);
    outb(0x70, 0x0d);
    uint8_t d = inb(0x71);
    outb(0x70, 0x0b);
    uint8_t b = inb(0x71);
    outb(0x70, 0x00);
    uint8_t sec = inb(0x71);
    bool bcd = !(b & 4);
    report(d == 0x80 && bcd && sec >= 0x30 && sec < 0x40 && (sec & 0xf) < 10,
           "RTC after the fuzz: valid RAM, seconds set to 0x30 read back as %#x (status B %#x)",
           sec, b);

    char sig[4];
    fwcfg_read(FWCFG_SIGNATURE, sig, 4);
    report(memcmp(sig, "QEMU", 4) == 0, "fw_cfg signature after the fuzz: %.4s", sig);

    if (!have_disk) {
        report_skip("virtio-blk from reset: this partition has no disk");
        return;
    }
    uint64_t bars[6];
    vd_place_bars(&vd, bars);
    if (!report(vd_caps(&vd, bars), "virtio-blk capabilities found again"))
        return;
    vd_msix_enable(&vd, false);
    if (!report(vd_init(&vd, 0, false), "virtio-blk re-initialised from reset (status %#x)",
                vd_status(&vd)))
        return;
    static uint8_t out[512] __attribute__((aligned(512))), in[512] __attribute__((aligned(512)));
    for (unsigned i = 0; i < sizeof(out); i++)
        out[i] = (uint8_t)(rng.state >> (i % 56)) ^ (uint8_t)i;
    uint8_t w = vd_rw(&vd, VD_T_OUT, 7, out, sizeof(out), false);
    memset(in, 0, sizeof(in));
    uint8_t r = vd_rw(&vd, VD_T_IN, 7, in, sizeof(in), false);
    report(w == 0 && r == 0 && memcmp(in, out, sizeof(in)) == 0,
           "virtio-blk after the fuzz: sector 7 written and read back equal (status %u, %u)", w, r);
}

/* ---- the run ---------------------------------------------------------------------------- */

static bool other_faults(void)
{
    bool any = false;
    for (unsigned d = 0; d < D_COUNT; d++)
        for (unsigned v = 0; v < 32; v++)
            if (faults[d][v]) {
                printf("devfuzz: %s: %lu x %s\n", dev_names[d], faults[d][v], exception_name(v));
                any = true;
            }
    return any;
}

void test_main(void)
{
    uint64_t seed = cmdline_u64("seed", 1), iterations = cmdline_u64("iterations", 4000);
    uint64_t storm_ms = cmdline_u64("storm-ms", 20);
    trace = cmdline_has("trace");
    hctrace = cmdline_has("hctrace") && atoll_present();
    x2_pct = (unsigned)cmdline_u64("x2", 30);
    uint64_t favour = cmdline_u64("favour", 0);  /* bit d: device d (dev_names) weighs 8 times */
    for (unsigned d = 0; d < D_COUNT; d++)
        if (favour >> d & 1)
            dev_weight[d] *= 8;
    rng.state = seed ? seed : 1;
    printf("devfuzz: seed=%lu iterations=%lu\n", seed, iterations);
    ram_end = boot_ram_end();
    if (!report(ram_end >= SCR_END, "RAM to %#lx: the DMA scratch fits", ram_end))
        test_finish();
    (void)tsc_hz();                       /* measured against the PIT before the fuzz */
    lapic_enable(LAPIC_XAPIC);
    has_movbe = cpuid(1, 0).ecx & (1u << 22);
    irq_set_handler(VEC_NMI, on_nmi);
    for (unsigned v = 32; v < 256; v++)
        irq_set_handler((uint8_t)v, on_irq);

    if (vd_find(&vd)) {
        vslot = vd.slot;
        have_disk = true;
        uint64_t bars[6];
        vd_place_bars(&vd, bars);
        report(vd_caps(&vd, bars) && vd_init(&vd, 0, false),
               "virtio-blk at 00:%02x.0 set up before the fuzz", vslot);
    }
    scratch_init();
    storms(storm_ms);                     /* first: while the partition beside still runs */

    cli();
    for (uint64_t i = 0; i < iterations; i++) {
        cur = pick_dev();
        ops[cur]();
        nmis_in_a_row = 0;
    }
    quiesce();
    printf("devfuzz: seed=%lu done: %lu iterations, accesses:", seed, iterations);
    uint64_t total = 0;
    for (unsigned d = 0; d < D_COUNT; d++) {
        printf(" %s=%lu", dev_names[d], accesses[d]);
        if (d == D_PIT)
            printf("\ndevfuzz: seed=%lu accesses:", seed);
        total += accesses[d];
    }
    printf("\ndevfuzz: seed=%lu total %lu accesses, #GP on MSRs %lu, NMIs %lu (%lu storms "
           "quenched)\n", seed, total, gp_msr, nmis, nmi_quenches);
    report(!other_faults(), "no fault on a device access but #GP on MSRs");
    report(!x2_bad, "x2APIC MSR rules kept: %lu accesses broke one (%lu IF=1 windows shut)",
           x2_bad, windows_shut);
    checks();
    report(true, "%lu iterations of seed %lu, the devices usable after", iterations, seed);
    test_finish();
}
