#include "drivers/acpi/acpi_tables.h"
#include "hv/lib/le.h"

#include <stdarg.h>
#include <string.h>

#include "hv/lib/format.h"

#define RSDP_V1_LEN  20
#define RSDP_V2_LEN  36
#define SDT_HDR_LEN  36
#define MADT_MIN_LEN 44
#define FADT_MIN_LEN 116   /* ACPI 1.0 */
#define HPET_MIN_LEN 56

struct acpi_parser {
    acpi_map_fn map;
    void *ctx;
    struct acpi_info *out;
    char *err;
    size_t err_size;
};

/* A validated table: its bytes and length. */
struct table {
    const uint8_t *p;
    uint32_t len;
    uint64_t phys;
};

__attribute__((format(printf, 2, 3)))
static int fail(struct acpi_parser *ap, const char *fmt, ...)
{
    char msg[160];
    va_list va;
    va_start(va, fmt);
    fmt_vsnprintf(msg, sizeof(msg), fmt, va);
    va_end(va);
    fmt_snprintf(ap->err, ap->err_size, "acpi: %s", msg);
    return -1;
}

static uint8_t sum(const uint8_t *p, size_t n)
{
    uint8_t s = 0;
    while (n--)
        s = (uint8_t)(s + *p++);
    return s;
}

static struct acpi_gas read_gas(const uint8_t *p)
{
    return (struct acpi_gas){ .space = p[0], .bit_width = p[1], .bit_offset = p[2],
                              .access_size = p[3], .address = le64(p + 4) };
}

static unsigned long long ull(uint64_t v)
{
    return (unsigned long long)v;
}

/* Maps a whole SDT at phys, checks length bounds and checksum, and the signature if given. */
static int map_table(struct acpi_parser *ap, uint64_t phys, const char *want, struct table *t)
{
    const uint8_t *hdr = phys ? ap->map(ap->ctx, phys, SDT_HDR_LEN) : NULL;
    if (!hdr)
        return fail(ap, "table at %#llx is not in readable memory", ull(phys));
    char sig[5] = { (char)hdr[0], (char)hdr[1], (char)hdr[2], (char)hdr[3], 0 };
    for (int i = 0; i < 4; i++)
        if (sig[i] < 0x20 || sig[i] > 0x7e)
            sig[i] = '?';
    if (want && memcmp(hdr, want, 4) != 0)
        return fail(ap, "table at %#llx is '%s', expected '%s'", ull(phys), sig, want);
    uint32_t len = le32(hdr + 4);
    if (len < SDT_HDR_LEN || len > ACPI_MAX_TABLE_LEN)
        return fail(ap, "%s at %#llx: length %u is out of range", sig, ull(phys), len);
    const uint8_t *p = ap->map(ap->ctx, phys, len);
    if (!p)
        return fail(ap, "%s at %#llx: its %u bytes are not in readable memory", sig, ull(phys),
                    len);
    if (sum(p, len) != 0)
        return fail(ap, "%s at %#llx: checksum is wrong", sig, ull(phys));
    *t = (struct table){ p, len, phys };
    return 0;
}

/* ---- MADT --------------------------------------------------------------------------- */

static bool cpu_known(const struct acpi_info *info, uint32_t apic_id)
{
    for (uint32_t i = 0; i < info->cpu_count; i++)
        if (info->cpus[i].apic_id == apic_id)
            return true;
    return false;
}

static void add_cpu(struct acpi_info *info, uint32_t apic_id, uint32_t uid, uint32_t flags,
                    bool x2apic)
{
    if (cpu_known(info, apic_id))
        return;     /* firmware may list a CPU as both xAPIC and x2APIC */
    if (info->cpu_count == ACPI_MAX_CPUS) {
        info->cpus_dropped++;
        return;
    }
    info->cpus[info->cpu_count++] = (struct acpi_cpu){
        .apic_id = apic_id, .acpi_uid = uid, .enabled = flags & 1,
        .online_capable = (flags >> 1) & 1, .x2apic = x2apic,
    };
}

static int madt_ioapic(struct acpi_parser *ap, const uint8_t *e)
{
    struct acpi_info *info = ap->out;
    if (info->ioapic_count == ACPI_MAX_IOAPICS)
        return fail(ap, "MADT: more than %d IOAPICs", ACPI_MAX_IOAPICS);
    info->ioapics[info->ioapic_count++] = (struct acpi_ioapic){
        .id = e[2], .address = le32(e + 4), .gsi_base = le32(e + 8),
    };
    return 0;
}

static int madt_override(struct acpi_parser *ap, const uint8_t *e)
{
    struct acpi_info *info = ap->out;
    if (info->override_count == ACPI_MAX_OVERRIDES)
        return fail(ap, "MADT: more than %d interrupt source overrides", ACPI_MAX_OVERRIDES);
    info->overrides[info->override_count++] = (struct acpi_override){
        .bus = e[2], .source = e[3], .gsi = le32(e + 4), .flags = le16(e + 8),
    };
    return 0;
}

static uint8_t madt_entry_min(uint8_t type)
{
    switch (type) {
    case 0: return 8;    /* processor local APIC */
    case 1: return 12;   /* IOAPIC */
    case 2: return 10;   /* interrupt source override */
    case 5: return 12;   /* local APIC address override */
    case 9: return 16;   /* processor local x2APIC */
    default: return 2;
    }
}

static int madt_entry(struct acpi_parser *ap, const uint8_t *e)
{
    switch (e[0]) {
    case 0:
        if (e[3] != 0xff)   /* 0xff: the CPU is described by an x2APIC entry */
            add_cpu(ap->out, e[3], e[2], le32(e + 4), false);
        return 0;
    case 1: return madt_ioapic(ap, e);
    case 2: return madt_override(ap, e);
    case 5: ap->out->lapic_address = le64(e + 4); return 0;
    case 9: add_cpu(ap->out, le32(e + 4), le32(e + 12), le32(e + 8), true); return 0;
    default: return 0;
    }
}

static int parse_madt(struct acpi_parser *ap, const struct table *t)
{
    if (t->len < MADT_MIN_LEN)
        return fail(ap, "MADT: length %u is below %d", t->len, MADT_MIN_LEN);
    ap->out->have_madt = true;
    ap->out->lapic_address = le32(t->p + 36);
    ap->out->madt_flags = le32(t->p + 40);
    for (uint32_t off = MADT_MIN_LEN; off < t->len;) {
        if (t->len - off < 2)
            return fail(ap, "MADT: entry at offset %u is cut off", off);
        const uint8_t *e = t->p + off;
        if (e[1] < madt_entry_min(e[0]) || e[1] > t->len - off)
            return fail(ap, "MADT: entry type %u at offset %u has bad length %u", e[0], off, e[1]);
        if (madt_entry(ap, e))
            return -1;
        off += e[1];
    }
    return 0;
}

/* ---- FADT --------------------------------------------------------------------------- */

/* The extended (X_) register if the table is long enough and it is set, else the legacy
 * 32-bit I/O port block of the given byte length. */
static struct acpi_gas fadt_register(const struct table *t, uint32_t x_off, uint32_t legacy_off,
                                     uint8_t legacy_len)
{
    if (t->len >= x_off + 12) {
        struct acpi_gas g = read_gas(t->p + x_off);
        if (g.address)
            return g;
    }
    uint32_t port = le32(t->p + legacy_off);
    if (!port)
        return (struct acpi_gas){ 0 };
    return (struct acpi_gas){ .space = ACPI_SPACE_IO, .bit_width = (uint8_t)(legacy_len * 8),
                              .address = port };
}

static int parse_fadt(struct acpi_parser *ap, const struct table *t)
{
    struct acpi_fadt *f = &ap->out->fadt;
    const uint8_t *p = t->p;
    if (t->len < FADT_MIN_LEN)
        return fail(ap, "FADT: length %u is below %d", t->len, FADT_MIN_LEN);
    ap->out->have_fadt = true;
    f->facs = le32(p + 36);
    f->dsdt = le32(p + 40);
    f->sci_irq = le16(p + 46);
    f->smi_cmd = le32(p + 48);
    f->acpi_enable = p[52];
    f->acpi_disable = p[53];
    f->pm1a_control = fadt_register(t, 172, 64, p[89]);
    f->pm1b_control = fadt_register(t, 184, 68, p[89]);
    f->pm_timer = fadt_register(t, 208, 76, p[91]);
    f->century = p[108];
    f->boot_arch = le16(p + 109);
    f->flags = le32(p + 112);
    f->pm_timer_32bit = f->flags & ACPI_FADT_PM_TIMER_32BIT;
    if (t->len >= 129 && (f->flags & ACPI_FADT_RESET_REG_SUP)) {
        f->reset_supported = true;
        f->reset_reg = read_gas(p + 116);
        f->reset_value = p[128];
    }
    if (t->len >= 140 && le64(p + 132))
        f->facs = le64(p + 132);
    if (t->len >= 148 && le64(p + 140))
        f->dsdt = le64(p + 140);
    return 0;
}

/* ---- HPET --------------------------------------------------------------------------- */

static int parse_hpet(struct acpi_parser *ap, const struct table *t)
{
    if (t->len < HPET_MIN_LEN)
        return fail(ap, "HPET: length %u is below %d", t->len, HPET_MIN_LEN);
    struct acpi_gas base = read_gas(t->p + 40);
    if (base.space != ACPI_SPACE_MEMORY || base.address == 0)
        return fail(ap, "HPET: base address %#llx in space %u is not a memory address",
                    ull(base.address), base.space);
    ap->out->have_hpet = true;
    ap->out->hpet_block_id = le32(t->p + 36);
    ap->out->hpet_address = base.address;
    ap->out->hpet_number = t->p[52];
    ap->out->hpet_min_tick = le16(t->p + 53);
    return 0;
}

/* ---- root tables -------------------------------------------------------------------- */

static int visit(struct acpi_parser *ap, uint64_t phys)
{
    struct table t = { 0 };
    const uint8_t *hdr = phys ? ap->map(ap->ctx, phys, SDT_HDR_LEN) : NULL;
    if (!hdr)
        return fail(ap, "root table entry %#llx is not in readable memory", ull(phys));
    if (memcmp(hdr, "APIC", 4) == 0 && !ap->out->have_madt)
        return map_table(ap, phys, "APIC", &t) || parse_madt(ap, &t);
    if (memcmp(hdr, "FACP", 4) == 0 && !ap->out->have_fadt)
        return map_table(ap, phys, "FACP", &t) || parse_fadt(ap, &t);
    if (memcmp(hdr, "HPET", 4) == 0 && !ap->out->have_hpet)
        return map_table(ap, phys, "HPET", &t) || parse_hpet(ap, &t);
    return 0;   /* tables we do not use, and second copies, are not read further */
}

static int walk_root(struct acpi_parser *ap, uint64_t phys, bool xsdt)
{
    struct table root = { 0 };
    const char *sig = xsdt ? "XSDT" : "RSDT";
    uint32_t entry = xsdt ? 8 : 4;
    if (map_table(ap, phys, sig, &root))
        return -1;
    uint32_t body = root.len - SDT_HDR_LEN;
    if (body % entry)
        return fail(ap, "%s: length %u is not a header plus whole entries", sig, root.len);
    if (body / entry > ACPI_MAX_ROOT_ENTRIES)
        return fail(ap, "%s: %u entries, more than %d", sig, body / entry, ACPI_MAX_ROOT_ENTRIES);
    for (uint32_t off = SDT_HDR_LEN; off < root.len; off += entry) {
        uint64_t child = xsdt ? le64(root.p + off) : le32(root.p + off);
        if (visit(ap, child))
            return -1;
    }
    return 0;
}

static int parse_rsdp(struct acpi_parser *ap, uint64_t phys, uint64_t *root, bool *xsdt)
{
    const uint8_t *p = phys ? ap->map(ap->ctx, phys, RSDP_V1_LEN) : NULL;
    if (!p)
        return fail(ap, "RSDP at %#llx is not in readable memory", ull(phys));
    if (memcmp(p, "RSD PTR ", 8) != 0)
        return fail(ap, "RSDP at %#llx has no 'RSD PTR ' signature", ull(phys));
    if (sum(p, RSDP_V1_LEN) != 0)
        return fail(ap, "RSDP at %#llx: checksum is wrong", ull(phys));
    memcpy(ap->out->oem_id, p + 9, 6);
    ap->out->revision = p[15];
    *root = le32(p + 16);
    *xsdt = false;
    if (p[15] < 2)
        return 0;
    p = ap->map(ap->ctx, phys, RSDP_V2_LEN);
    uint32_t len = p ? le32(p + 20) : 0;
    if (len < RSDP_V2_LEN || len > 4096 || !(p = ap->map(ap->ctx, phys, len)))
        return fail(ap, "RSDP at %#llx: extended length %u is bad or unreadable", ull(phys), len);
    if (sum(p, len) != 0)
        return fail(ap, "RSDP at %#llx: extended checksum is wrong", ull(phys));
    if (le64(p + 24)) {
        *root = le64(p + 24);
        *xsdt = true;
    }
    return 0;
}

int acpi_parse(uint64_t rsdp_phys, acpi_map_fn map, void *ctx, struct acpi_info *out,
               char *err, size_t err_size)
{
    struct acpi_parser ap = { map, ctx, out, err, err_size };
    uint64_t root = 0;
    bool xsdt = false;
    memset(out, 0, sizeof(*out));
    if (parse_rsdp(&ap, rsdp_phys, &root, &xsdt) || walk_root(&ap, root, xsdt))
        return -1;
    out->via_xsdt = xsdt;
    if (!out->have_madt)
        return fail(&ap, "no MADT (APIC) table");
    return 0;
}
