#include "hv/core/config/manifest.h"

#include <stdarg.h>
#include <string.h>

#include "hv/lib/format.h"
#include "hv/lib/hex.h"

enum section { SEC_NONE, SEC_HYPERVISOR, SEC_PARTITION, SEC_SCRIPT };

#define MAX_KEYS 24

struct parser {
    struct manifest *m;
    const char *file;
    char *err;
    size_t err_size;
    uint32_t line;
    enum section section;
    uint32_t section_line;
    struct manifest_partition *part;
    uint32_t hv_line, script_line;
    uint32_t key_line[MAX_KEYS];        /* where each key of the current section was set */
    uint32_t role_line[MANIFEST_MAX_PARTITIONS], vgpu_line[MANIFEST_MAX_PARTITIONS];
    uint32_t vgpu_weight_line[MANIFEST_MAX_PARTITIONS];
};

/* A slice of the manifest text. */
struct str {
    const char *p;
    size_t n;
};

__attribute__((format(printf, 4, 5)))
static int fail_line(struct parser *ps, uint32_t line, const char *key, const char *fmt, ...)
{
    char msg[MANIFEST_ERR_LEN];
    va_list ap;
    va_start(ap, fmt);
    fmt_vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    fmt_snprintf(ps->err, ps->err_size, "%s:%u: %s: %s", ps->file, line, key, msg);
    return -1;
}

#define fail(ps, key, ...) fail_line((ps), (ps)->line, (key), __VA_ARGS__)

/* ---- small text helpers ------------------------------------------------------------- */

static bool is_space(char c)
{
    return c == ' ' || c == '\t';
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static struct str trim(struct str s)
{
    while (s.n && is_space(s.p[0]))
        s.p++, s.n--;
    while (s.n && is_space(s.p[s.n - 1]))
        s.n--;
    return s;
}

static bool eq(struct str s, const char *lit)
{
    return strlen(lit) == s.n && memcmp(s.p, lit, s.n) == 0;
}

/* Copies s into dst[size] as a C string; false if it does not fit. */
static bool copy_str(char *dst, size_t size, struct str s)
{
    if (s.n >= size)
        return false;
    memcpy(dst, s.p, s.n);
    dst[s.n] = 0;
    return true;
}

static bool all_chars(struct str s, bool (*ok)(char))
{
    for (size_t i = 0; i < s.n; i++)
        if (!ok(s.p[i]))
            return false;
    return true;
}

static bool name_char(char c)
{
    return (c >= 'a' && c <= 'z') || is_digit(c) || c == '_' || c == '-';
}

static bool file_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '.' ||
           c == '_' || c == '-';
}

static bool key_char(char c)
{
    return (c >= 'a' && c <= 'z') || is_digit(c) || c == '-';
}

static bool path_char(char c)
{
    return c > ' ' && c < 0x7f;
}

static bool hex_char(char c)
{
    return hex_digit_value(c) >= 0;
}

/* Decimal digits only, value <= max. */
static bool parse_uint(struct str s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (s.n == 0)
        return false;
    for (size_t i = 0; i < s.n; i++) {
        if (!is_digit(s.p[i]))
            return false;
        uint64_t d = (uint64_t)(s.p[i] - '0');
        if (v > (max - d) / 10)
            return false;
        v = v * 10 + d;
    }
    *out = v;
    return true;
}

/* Splits s at the first c: *head before it, *rest after; false if there is no c. */
static bool split(struct str s, char c, struct str *head, struct str *rest)
{
    const char *at = memchr(s.p, c, s.n);
    if (!at) {
        *head = s;
        *rest = (struct str){ s.p + s.n, 0 };
        return false;
    }
    *head = (struct str){ s.p, (size_t)(at - s.p) };
    *rest = (struct str){ at + 1, s.n - (size_t)(at - s.p) - 1 };
    return true;
}

/* ---- values ------------------------------------------------------------------------- */

static int value_enum(struct parser *ps, const char *key, struct str v, const char *const *names,
                      size_t count, int *out)
{
    for (size_t i = 0; i < count; i++)
        if (eq(v, names[i])) {
            *out = (int)i;
            return 0;
        }
    char list[96] = "";
    size_t used = 0;
    for (size_t i = 0; i < count; i++)
        used += (size_t)fmt_snprintf(list + used, sizeof(list) - used, "%s%s", i ? ", " : "",
                                     names[i]);
    return fail(ps, key, "'%.*s' is not one of: %s", (int)v.n, v.p, list);
}

static int value_bool(struct parser *ps, const char *key, struct str v, bool *out)
{
    static const char *const names[] = { "no", "yes" };
    int i = 0;
    if (value_enum(ps, key, v, names, 2, &i))
        return -1;
    *out = i == 1;
    return 0;
}

static int value_file(struct parser *ps, const char *key, struct str v, char *out)
{
    if (v.n == 0 || v.n >= MANIFEST_FILE_LEN || !all_chars(v, file_char))
        return fail(ps, key, "'%.*s' is not a file name (1 to 63 of A-Z a-z 0-9 . _ -)",
                    (int)v.n, v.p);
    copy_str(out, MANIFEST_FILE_LEN, v);
    return 0;
}

static int value_size(struct parser *ps, const char *key, struct str v, uint64_t *out)
{
    uint64_t n, shift;
    char unit = v.n ? v.p[v.n - 1] : 0;
    shift = unit == 'K' ? 10 : unit == 'M' ? 20 : unit == 'G' ? 30 : 0;
    if (!shift || !parse_uint((struct str){ v.p, v.n - 1 }, UINT64_MAX >> shift, &n))
        return fail(ps, key, "'%.*s' is not a size (a number followed by K, M or G)", (int)v.n,
                    v.p);
    *out = n << shift;
    return 0;
}

static int value_dotted_quad(struct parser *ps, const char *key, struct str v, uint32_t *out)
{
    struct str part, rest = v;
    uint32_t ip = 0;
    for (int i = 0; i < 4; i++) {
        uint64_t octet;
        bool more = split(rest, '.', &part, &rest);
        if (more != (i < 3) || part.n > 3 || !parse_uint(part, 255, &octet))
            return fail(ps, key, "'%.*s' is not a dotted quad like 10.0.2.15", (int)v.n, v.p);
        ip = ip << 8 | (uint32_t)octet;
    }
    *out = ip;
    return 0;
}

/* ---- [hypervisor] ------------------------------------------------------------------- */

static int hv_exit_when_done(struct parser *ps, const char *key, struct str v)
{
    return value_bool(ps, key, v, &ps->m->hv.exit_when_done);
}

static int hv_log_level(struct parser *ps, const char *key, struct str v)
{
    static const char *const names[] = { "error", "warn", "info", "debug" };
    int i = 0;
    if (value_enum(ps, key, v, names, 4, &i))
        return -1;
    ps->m->hv.log_level = (enum manifest_log_level)i;
    return 0;
}

static int hv_net(struct parser *ps, const char *key, struct str v)
{
    static const char *const names[] = { "none", "dhcp", "static" };
    int i = 0;
    if (value_enum(ps, key, v, names, 3, &i))
        return -1;
    ps->m->hv.net = (enum manifest_net_mode)i;
    return 0;
}

static int hv_ip(struct parser *ps, const char *key, struct str v)
{
    return value_dotted_quad(ps, key, v, &ps->m->hv.ip);
}

static int hv_netmask(struct parser *ps, const char *key, struct str v)
{
    return value_dotted_quad(ps, key, v, &ps->m->hv.netmask);
}

static int hv_gateway(struct parser *ps, const char *key, struct str v)
{
    return value_dotted_quad(ps, key, v, &ps->m->hv.gateway);
}

static int hv_control_port(struct parser *ps, const char *key, struct str v)
{
    uint64_t port;
    if (!parse_uint(v, 65535, &port) || port == 0)
        return fail(ps, key, "'%.*s' is not a port from 1 to 65535", (int)v.n, v.p);
    ps->m->hv.control_port = (uint16_t)port;
    return 0;
}

static int add_client(struct parser *ps, const char *key, struct str fp)
{
    struct manifest_hypervisor *hv = &ps->m->hv;
    if (fp.n != 64 || !all_chars(fp, hex_char))
        return fail(ps, key, "'%.*s' is not a SHA-256 fingerprint (64 hex digits)", (int)fp.n,
                    fp.p);
    if (hv->client_count == MANIFEST_MAX_CLIENTS)
        return fail(ps, key, "more than %d clients", MANIFEST_MAX_CLIENTS);
    for (size_t i = 0; i < 32; i++) {
        uint8_t byte = 0;
        for (size_t k = 0; k < 2; k++) {
            char c = fp.p[2 * i + k];
            byte = (uint8_t)(byte << 4 | (is_digit(c) ? c - '0' : (c | 0x20) - 'a' + 10));
        }
        hv->clients[hv->client_count][i] = byte;
    }
    hv->client_count++;
    return 0;
}

static int hv_control_clients(struct parser *ps, const char *key, struct str v)
{
    struct str item, rest = v;
    if (v.n == 0)
        return 0;
    for (bool more = true; more;) {
        more = split(rest, ',', &item, &rest);
        if (add_client(ps, key, trim(item)))
            return -1;
    }
    return 0;
}

static int hv_identity_key(struct parser *ps, const char *key, struct str v)
{
    ps->m->hv.identity_key_line = ps->line;
    return value_file(ps, key, v, ps->m->hv.identity_key);
}

/* ---- [partition NAME] --------------------------------------------------------------- */

static int part_memory(struct parser *ps, const char *key, struct str v)
{
    uint64_t size = 0;
    if (value_size(ps, key, v, &size))
        return -1;
    if (size % 4096)
        return fail(ps, key, "%.*s is not a multiple of 4K", (int)v.n, v.p);
    if (size < MANIFEST_MIN_MEMORY || size > MANIFEST_MAX_MEMORY)
        return fail(ps, key, "%.*s is outside 1M to 64G", (int)v.n, v.p);
    ps->part->memory = size;
    ps->part->memory_line = ps->line;
    return 0;
}

static int part_vcpus(struct parser *ps, const char *key, struct str v)
{
    uint64_t n;
    if (!parse_uint(v, MANIFEST_MAX_VCPUS, &n) || n == 0)
        return fail(ps, key, "'%.*s' is not a number from 1 to %d", (int)v.n, v.p,
                    MANIFEST_MAX_VCPUS);
    ps->part->vcpus = (uint32_t)n;
    return 0;
}

static int cpu_number(struct parser *ps, const char *key, struct str s, uint64_t *out)
{
    if (!parse_uint(s, UINT32_MAX, out))
        return fail(ps, key, "'%.*s' is not a cpu number", (int)s.n, s.p);
    if (*out >= MANIFEST_MAX_CPUS)
        return fail(ps, key, "cpu %.*s is not below %d", (int)s.n, s.p, MANIFEST_MAX_CPUS);
    return 0;
}

static int cpu_item(struct parser *ps, const char *key, struct str item, uint64_t *bits)
{
    struct str lo_s, hi_s;
    uint64_t lo = 0, hi = 0;
    item = trim(item);
    bool range = split(item, '-', &lo_s, &hi_s);
    if (item.n == 0 || (range && (lo_s.n == 0 || hi_s.n == 0)))
        return fail(ps, key, "'%.*s' is not a cpu or a range like 2-3", (int)item.n, item.p);
    if (cpu_number(ps, key, lo_s, &lo) || (range && cpu_number(ps, key, hi_s, &hi)))
        return -1;
    if (!range)
        hi = lo;
    if (hi < lo)
        return fail(ps, key, "range %.*s runs backwards", (int)item.n, item.p);
    for (uint64_t c = lo; c <= hi; c++)
        bits[c / 64] |= 1ull << (c % 64);
    return 0;
}

static int part_cpus(struct parser *ps, const char *key, struct str v)
{
    struct str item, rest = v;
    memset(ps->part->cpus, 0, sizeof(ps->part->cpus));
    ps->part->cpus_any = eq(v, "any");
    if (ps->part->cpus_any)
        return 0;
    for (bool more = true; more;) {
        more = split(rest, ',', &item, &rest);
        if (cpu_item(ps, key, item, ps->part->cpus))
            return -1;
    }
    return 0;
}

static int part_image(struct parser *ps, const char *key, struct str v)
{
    ps->part->image_line = ps->line;
    return value_file(ps, key, v, ps->part->image);
}

static int part_boot(struct parser *ps, const char *key, struct str v)
{
    static const char *const names[] = { "flat", "multiboot", "elf64", "linux" };
    int i = 0;
    if (value_enum(ps, key, v, names, 4, &i))
        return -1;
    ps->part->boot = (enum manifest_boot)(BOOT_FLAT + i);
    return 0;
}

static int part_initrd(struct parser *ps, const char *key, struct str v)
{
    ps->part->initrd_line = ps->line;
    return value_file(ps, key, v, ps->part->initrd);
}

static int part_cmdline(struct parser *ps, const char *key, struct str v)
{
    if (!copy_str(ps->part->cmdline, MANIFEST_CMDLINE_LEN, v))
        return fail(ps, key, "%zu bytes, more than %d", v.n, MANIFEST_CMDLINE_LEN - 1);
    return 0;
}

static int part_console(struct parser *ps, const char *key, struct str v)
{
    static const char *const names[] = { "serial", "none" };
    int i = 0;
    if (value_enum(ps, key, v, names, 2, &i))
        return -1;
    ps->part->console = (enum manifest_console)i;
    return 0;
}

static int part_disk(struct parser *ps, const char *key, struct str v)
{
    static const char prefix[] = "virtio-blk:";
    struct manifest_partition *p = ps->part;
    struct str path = { v.p + sizeof(prefix) - 1, v.n - (sizeof(prefix) - 1) };
    if (v.n < sizeof(prefix) || memcmp(v.p, prefix, sizeof(prefix) - 1) != 0 ||
        !all_chars(path, path_char))
        return fail(ps, key, "'%.*s' is not virtio-blk:POOLPATH", (int)v.n, v.p);
    if (path.n >= MANIFEST_PATH_LEN)
        return fail(ps, key, "pool path is %zu bytes, more than %d", path.n,
                    MANIFEST_PATH_LEN - 1);
    if (p->disk_count == MANIFEST_MAX_DISKS)
        return fail(ps, key, "more than %d disks", MANIFEST_MAX_DISKS);
    copy_str(p->disks[p->disk_count++], MANIFEST_PATH_LEN, path);
    return 0;
}

/* `iops` and `mbps` limit the disk whose `disk` line is the last one above them. */
static int disk_limit(struct parser *ps, const char *key, struct str v, uint64_t max,
                      const char *unit, uint32_t *limits)
{
    struct manifest_partition *p = ps->part;
    uint64_t n;
    if (p->disk_count == 0)
        return fail(ps, key, "no disk line above it (it limits the disk declared just before)");
    if (limits[p->disk_count - 1])
        return fail(ps, key, "set twice for disk virtio-blk:%s", p->disks[p->disk_count - 1]);
    if (!parse_uint(v, max, &n) || n == 0)
        return fail(ps, key, "'%.*s' is not a whole number from 1 to %lu (%s; leave the key out for no limit)",
                    (int)v.n, v.p, (unsigned long)max, unit);
    limits[p->disk_count - 1] = (uint32_t)n;
    return 0;
}

static int part_iops(struct parser *ps, const char *key, struct str v)
{
    return disk_limit(ps, key, v, MANIFEST_MAX_IOPS, "operations per second",
                      ps->part->disk_iops);
}

static int part_mbps(struct parser *ps, const char *key, struct str v)
{
    return disk_limit(ps, key, v, MANIFEST_MAX_MBPS, "MiB per second", ps->part->disk_mbps);
}

static int part_net(struct parser *ps, const char *key, struct str v)
{
    static const char *const names[] = { "none" };
    int i = 0;
    return value_enum(ps, key, v, names, 1, &i);
}

static int part_role(struct parser *ps, const char *key, struct str v)
{
    static const char *const names[] = { "guest", "video-service" };
    int i = 0;
    if (value_enum(ps, key, v, names, 2, &i))
        return -1;
    ps->part->role = (enum manifest_role)i;
    ps->role_line[ps->m->partition_count - 1] = ps->line;
    return 0;
}

static int part_vgpu(struct parser *ps, const char *key, struct str v)
{
    ps->vgpu_line[ps->m->partition_count - 1] = ps->line;
    return value_bool(ps, key, v, &ps->part->vgpu);
}

static int part_vgpu_weight(struct parser *ps, const char *key, struct str v)
{
    uint64_t n;
    if (!parse_uint(v, MANIFEST_MAX_VGPU_WEIGHT, &n) || n == 0)
        return fail(ps, key, "'%.*s' is not a number from 1 to %d", (int)v.n, v.p,
                    MANIFEST_MAX_VGPU_WEIGHT);
    ps->vgpu_weight_line[ps->m->partition_count - 1] = ps->line;
    ps->part->vgpu_weight = (uint32_t)n;
    return 0;
}

static int part_track_writes(struct parser *ps, const char *key, struct str v)
{
    uint64_t n;
    if (!parse_uint(v, MANIFEST_MAX_TRACK_PAGES, &n) || n == 0 || (n & (n - 1)))
        return fail(ps, key, "'%.*s' is not a power of two from 1 to %d (pages per group)",
                    (int)v.n, v.p, MANIFEST_MAX_TRACK_PAGES);
    ps->part->track_writes = (uint32_t)n;
    return 0;
}

/* `no`, `yes` (every exit) or N: every Nth VM exit. */
static int part_vcpu_state_roundtrip(struct parser *ps, const char *key, struct str v)
{
    uint64_t n;
    if (eq(v, "no") || eq(v, "yes"))
        n = eq(v, "yes");
    else if (!parse_uint(v, MANIFEST_MAX_ROUNDTRIP_EVERY, &n) || n == 0)
        return fail(ps, key, "'%.*s' is not yes, no or a number of exits from 1 to %d",
                    (int)v.n, v.p, MANIFEST_MAX_ROUNDTRIP_EVERY);
    ps->part->vcpu_state_roundtrip = (uint32_t)n;
    return 0;
}

/* `exit`, `exit N`, `killed` or `stopped`. */
static int part_expect(struct parser *ps, const char *key, struct str v)
{
    static const char exit_word[] = "exit";
    struct manifest_partition *p = ps->part;
    uint64_t n = 1;
    if (eq(v, "killed") || eq(v, "stopped")) {
        p->expect_end = eq(v, "killed") ? END_KILLED : END_STOPPED;
        return 0;
    }
    if (v.n >= sizeof(exit_word) - 1 && !memcmp(v.p, exit_word, sizeof(exit_word) - 1)) {
        struct str rest = { v.p + sizeof(exit_word) - 1, v.n - (sizeof(exit_word) - 1) };
        while (rest.n && (rest.p[0] == ' ' || rest.p[0] == '\t')) {
            rest.p++;
            rest.n--;
        }
        bool spaced = rest.p != v.p + sizeof(exit_word) - 1;
        if (rest.n == 0 || (spaced && parse_uint(rest, MANIFEST_MAX_EXIT_STATUS, &n))) {
            p->expect_end = END_EXIT;
            p->expect_status = (uint32_t)n;
            return 0;
        }
    }
    return fail(ps, key, "'%.*s' is not one of: exit, exit STATUS (0-%d), killed, stopped",
                (int)v.n, v.p, MANIFEST_MAX_EXIT_STATUS);
}

static int part_on_reset(struct parser *ps, const char *key, struct str v)
{
    if (eq(v, "end")) {
        ps->part->on_reset = ON_RESET_END;
        return 0;
    }
    if (eq(v, "restart")) {
        ps->part->on_reset = ON_RESET_RESTART;
        return 0;
    }
    return fail(ps, key, "'%.*s' is not one of: end, restart", (int)v.n, v.p);
}

static int part_autostart(struct parser *ps, const char *key, struct str v)
{
    return value_bool(ps, key, v, &ps->part->autostart);
}

static int part_debug_exit(struct parser *ps, const char *key, struct str v)
{
    return value_bool(ps, key, v, &ps->part->debug_exit);
}

static int part_unassigned(struct parser *ps, const char *key, struct str v)
{
    static const char *const names[] = { "ignore", "kill" };
    int i = 0;
    if (value_enum(ps, key, v, names, 2, &i))
        return -1;
    ps->part->unassigned = (enum manifest_unassigned)i;
    return 0;
}

/* ---- keys --------------------------------------------------------------------------- */

static int hv_service_cpus(struct parser *ps, const char *key, struct str v)
{
    struct str item, rest = v;
    memset(ps->m->hv.service_cpus, 0, sizeof(ps->m->hv.service_cpus));
    for (bool more = v.n > 0; more;) {
        more = split(rest, ',', &item, &rest);
        if (cpu_item(ps, key, item, ps->m->hv.service_cpus))
            return -1;
    }
    return 0;
}

struct key_def {
    const char *name;
    int (*set)(struct parser *ps, const char *key, struct str value);
    bool repeats;
};

static const struct key_def hypervisor_keys[] = {
    { "exit-when-done", hv_exit_when_done, false }, { "log-level", hv_log_level, false },
    { "net", hv_net, false },                       { "ip", hv_ip, false },
    { "netmask", hv_netmask, false },               { "gateway", hv_gateway, false },
    { "control-port", hv_control_port, false },     { "identity-key", hv_identity_key, false },
    { "control-clients", hv_control_clients, false },
    { "service-cpus", hv_service_cpus, false },
};

static const struct key_def partition_keys[] = {
    { "memory", part_memory, false }, { "vcpus", part_vcpus, false },
    { "cpus", part_cpus, false },     { "image", part_image, false },
    { "boot", part_boot, false },     { "initrd", part_initrd, false },
    { "cmdline", part_cmdline, false }, { "console", part_console, false },
    { "disk", part_disk, true },      { "iops", part_iops, true },
    { "mbps", part_mbps, true },      { "net", part_net, false },
    { "role", part_role, false },     { "vgpu", part_vgpu, false },
    { "vgpu-weight", part_vgpu_weight, false },
    { "autostart", part_autostart, false }, { "track-writes", part_track_writes, false },
    { "expect", part_expect, false },
    { "unassigned", part_unassigned, false },
    { "on-reset", part_on_reset, false },
    { "debug-exit", part_debug_exit, false },
    { "vcpu-state-roundtrip", part_vcpu_state_roundtrip, false },
};

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

_Static_assert(COUNT(hypervisor_keys) <= MAX_KEYS && COUNT(partition_keys) <= MAX_KEYS,
               "key_line[] too small");

/* Levenshtein distance between two keys (both shorter than 32 bytes). */
static unsigned edit_distance(const char *a, const char *b)
{
    unsigned row[32];
    size_t n = strlen(b);
    for (size_t j = 0; j <= n; j++)
        row[j] = (unsigned)j;
    for (size_t i = 1; a[i - 1]; i++) {
        unsigned diag = row[0];
        row[0] = (unsigned)i;
        for (size_t j = 1; j <= n; j++) {
            unsigned up = row[j], best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[n];
}

/* The known key an unknown one most likely meant, or NULL: one it begins (3 bytes or more),
 * else the nearest by edits (one for keys of up to 4 bytes, two for longer ones). */
static const char *near_key(const struct key_def *defs, size_t count, const char *key)
{
    size_t len = strlen(key);
    const char *best = NULL;
    unsigned best_d = len <= 4 ? 2 : 3;
    for (size_t i = 0; i < count; i++) {
        if (len >= 3 && strncmp(defs[i].name, key, len) == 0)
            return defs[i].name;
        unsigned d = edit_distance(key, defs[i].name);
        if (d < best_d)
            best_d = d, best = defs[i].name;
    }
    return best;
}

static int key_value_line(struct parser *ps, struct str line)
{
    struct str key_s, value;
    bool has_eq = split(line, '=', &key_s, &value);
    key_s = trim(key_s);
    value = trim(value);
    char key[32];
    if (!has_eq || key_s.n == 0 || !all_chars(key_s, key_char) ||
        !copy_str(key, sizeof(key), key_s))
        return fail(ps, "syntax", "expected 'key = value' (keys are a-z 0-9 -)");
    if (value.n >= 2 && value.p[0] == '"' && value.p[value.n - 1] == '"')
        value = (struct str){ value.p + 1, value.n - 2 };
    if (ps->section == SEC_NONE)
        return fail(ps, key, "key outside a section");
    bool is_hv = ps->section == SEC_HYPERVISOR;
    const struct key_def *defs = is_hv ? hypervisor_keys : partition_keys;
    size_t count = is_hv ? COUNT(hypervisor_keys) : COUNT(partition_keys);
    for (size_t i = 0; i < count; i++) {
        if (strcmp(defs[i].name, key) != 0)
            continue;
        if (ps->key_line[i] && !defs[i].repeats)
            return fail(ps, key, "set twice (first at line %u)", ps->key_line[i]);
        ps->key_line[i] = ps->line;
        return defs[i].set(ps, key, value);
    }
    const char *near = near_key(defs, count, key);
    return fail(ps, key, "unknown key in [%s]%s%s%s", is_hv ? "hypervisor" : "partition",
                near ? " (did you mean '" : "", near ? near : "", near ? "'?)" : "");
}

static uint32_t key_seen(const struct parser *ps, const struct key_def *defs, size_t count,
                         const char *name)
{
    for (size_t i = 0; i < count; i++)
        if (strcmp(defs[i].name, name) == 0)
            return ps->key_line[i];
    return 0;
}

/* ---- sections ----------------------------------------------------------------------- */

static int finish_hypervisor(struct parser *ps)
{
    static const char *const addr_keys[] = { "ip", "netmask", "gateway" };
    for (size_t i = 0; i < COUNT(addr_keys); i++) {
        uint32_t at = key_seen(ps, hypervisor_keys, COUNT(hypervisor_keys), addr_keys[i]);
        if (at && ps->m->hv.net != NET_MODE_STATIC)
            return fail_line(ps, at, addr_keys[i], "only with net = static");
        if (!at && i < 2 && ps->m->hv.net == NET_MODE_STATIC)
            return fail_line(ps, ps->section_line, addr_keys[i],
                             "required with net = static");
    }
    return 0;
}

static int finish_partition(struct parser *ps)
{
    static const char *const required[] = { "memory", "image", "boot" };
    const struct manifest_partition *p = ps->part;
    for (size_t i = 0; i < COUNT(required); i++)
        if (!key_seen(ps, partition_keys, COUNT(partition_keys), required[i]))
            return fail_line(ps, ps->section_line, required[i], "required in [partition %s]",
                             p->name);
    if (p->initrd[0] && p->boot != BOOT_LINUX)
        return fail_line(ps, p->initrd_line, "initrd", "only with boot = linux");
    return 0;
}

static int finish_section(struct parser *ps)
{
    int rc = 0;
    if (ps->section == SEC_HYPERVISOR)
        rc = finish_hypervisor(ps);
    else if (ps->section == SEC_PARTITION)
        rc = finish_partition(ps);
    memset(ps->key_line, 0, sizeof(ps->key_line));
    ps->section = SEC_NONE;
    return rc;
}

static int open_once(struct parser *ps, const char *kind, uint32_t *first, struct str name)
{
    if (name.n)
        return fail(ps, kind, "[%s] takes no name", kind);
    if (*first)
        return fail(ps, kind, "a second [%s] section (first at line %u)", kind, *first);
    *first = ps->line;
    return 0;
}

static void partition_defaults(struct manifest_partition *p, uint32_t line)
{
    memset(p, 0, sizeof(*p));
    p->line = line;
    p->vcpus = 1;
    p->cpus_any = true;
    p->autostart = true;
    p->debug_exit = true;
    p->vgpu_weight = 1;
    p->expect_end = END_EXIT;
    p->expect_status = 1;
}

static int open_partition(struct parser *ps, struct str name)
{
    struct manifest *m = ps->m;
    if (name.n == 0 || name.n >= MANIFEST_NAME_LEN || !all_chars(name, name_char))
        return fail(ps, "partition", "name '%.*s' is not 1 to 31 of a-z 0-9 _ -", (int)name.n,
                    name.p);
    for (uint32_t i = 0; i < m->partition_count; i++)
        if (eq(name, m->partitions[i].name))
            return fail(ps, "partition", "'%.*s' defined twice (first at line %u)", (int)name.n,
                        name.p, m->partitions[i].line);
    if (m->partition_count == MANIFEST_MAX_PARTITIONS)
        return fail(ps, "partition", "more than %d partitions", MANIFEST_MAX_PARTITIONS);
    ps->part = &m->partitions[m->partition_count++];
    partition_defaults(ps->part, ps->line);
    copy_str(ps->part->name, MANIFEST_NAME_LEN, name);
    return 0;
}

static int section_line(struct parser *ps, struct str line)
{
    struct str kind, name;
    if (finish_section(ps))
        return -1;
    if (line.n < 2 || line.p[line.n - 1] != ']')
        return fail(ps, "section", "expected [kind] or [kind NAME]");
    struct str inner = trim((struct str){ line.p + 1, line.n - 2 });
    const char *sp = inner.p;
    while (sp < inner.p + inner.n && !is_space(*sp))
        sp++;
    kind = (struct str){ inner.p, (size_t)(sp - inner.p) };
    name = trim((struct str){ sp, inner.n - kind.n });
    ps->section_line = ps->line;
    if (eq(kind, "hypervisor")) {
        ps->section = SEC_HYPERVISOR;
        return open_once(ps, "hypervisor", &ps->hv_line, name);
    }
    if (eq(kind, "script")) {
        ps->section = SEC_SCRIPT;
        return open_once(ps, "script", &ps->script_line, name);
    }
    if (eq(kind, "partition")) {
        ps->section = SEC_PARTITION;
        return open_partition(ps, name);
    }
    return fail(ps, "section", "unknown section [%.*s] (expected hypervisor, partition or script)",
                (int)kind.n, kind.p);
}

/* ---- [script] ----------------------------------------------------------------------- */

/* Takes the next space-separated word off *s. */
static struct str next_word(struct str *s)
{
    *s = trim(*s);
    size_t n = 0;
    while (n < s->n && !is_space(s->p[n]))
        n++;
    struct str w = { s->p, n };
    *s = (struct str){ s->p + n, s->n - n };
    return w;
}

static int rule_syntax(struct parser *ps)
{
    return fail(ps, "script", "expected: on PARTITION prints \"TEXT\" => ACTION [ARGS]");
}

static int script_line(struct parser *ps, struct str line)
{
    static const char *const actions[] = { "snapshot", "restore", "migrate", "stop", "start",
                                           "compare", "checkpoint", "disk", "capture" };
    struct manifest *m = ps->m;
    struct str rest = line, text;
    if (m->rule_count == MANIFEST_MAX_RULES)
        return fail(ps, "script", "more than %d rules", MANIFEST_MAX_RULES);
    struct manifest_rule *r = &m->rules[m->rule_count];
    memset(r, 0, sizeof(*r));
    r->line = ps->line;
    if (!eq(next_word(&rest), "on"))
        return rule_syntax(ps);
    struct str name = next_word(&rest);
    if (name.n == 0 || !copy_str(r->partition, MANIFEST_NAME_LEN, name) ||
        !all_chars(name, name_char))
        return fail(ps, "script", "'%.*s' is not a partition name", (int)name.n, name.p);
    if (!eq(next_word(&rest), "prints"))
        return rule_syntax(ps);
    rest = trim(rest);
    if (rest.n == 0 || rest.p[0] != '"')
        return rule_syntax(ps);
    if (!split((struct str){ rest.p + 1, rest.n - 1 }, '"', &text, &rest))
        return rule_syntax(ps);
    if (text.n == 0 || !copy_str(r->text, MANIFEST_TEXT_LEN, text))
        return fail(ps, "script", "text must be 1 to %d bytes", MANIFEST_TEXT_LEN - 1);
    if (!eq(next_word(&rest), "=>"))
        return rule_syntax(ps);
    struct str action = next_word(&rest);
    int i = 0;
    if (value_enum(ps, "script", action, actions, COUNT(actions), &i))
        return -1;
    copy_str(r->action, sizeof(r->action), action);
    if (!copy_str(r->args, MANIFEST_TEXT_LEN, trim(rest)))
        return fail(ps, "script", "arguments are more than %d bytes", MANIFEST_TEXT_LEN - 1);
    m->rule_count++;
    return 0;
}

/* ---- lines -------------------------------------------------------------------------- */

/* Cuts a comment ('#' outside quotes) off the line; false if a quote is left open. */
static bool strip_comment(struct str *line)
{
    bool quoted = false;
    for (size_t i = 0; i < line->n; i++) {
        if (line->p[i] == '"')
            quoted = !quoted;
        else if (line->p[i] == '#' && !quoted) {
            line->n = i;
            break;
        }
    }
    return !quoted;
}

static int check_bytes(struct parser *ps, struct str line)
{
    for (size_t i = 0; i < line.n; i++) {
        unsigned char c = (unsigned char)line.p[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return fail(ps, "file", "control character 0x%02x", c);
    }
    return 0;
}

static int one_line(struct parser *ps, struct str line)
{
    if (line.n && line.p[line.n - 1] == '\r')
        line.n--;
    if (check_bytes(ps, line))
        return -1;
    if (!strip_comment(&line))
        return fail(ps, ps->section == SEC_SCRIPT ? "script" : "syntax", "unterminated quote");
    line = trim(line);
    if (line.n == 0)
        return 0;
    if (line.p[0] == '[')
        return section_line(ps, line);
    if (ps->section == SEC_SCRIPT)
        return script_line(ps, line);
    return key_value_line(ps, line);
}

/* ---- whole-manifest checks ---------------------------------------------------------- */

static int check_roles(struct parser *ps)
{
    const struct manifest *m = ps->m;
    int vsp = -1;
    for (uint32_t i = 0; i < m->partition_count; i++) {
        if (m->partitions[i].role != ROLE_VIDEO_SERVICE)
            continue;
        if (vsp >= 0)
            return fail_line(ps, ps->role_line[i], "role",
                             "a second video-service partition (the first is '%s')",
                             m->partitions[vsp].name);
        vsp = (int)i;
    }
    for (uint32_t i = 0; i < m->partition_count; i++) {
        if (ps->vgpu_weight_line[i] && !m->partitions[i].vgpu)
            return fail_line(ps, ps->vgpu_weight_line[i], "vgpu-weight",
                             "only a vGPU client (vgpu = yes) has a weight");
        if (!m->partitions[i].vgpu)
            continue;
        if (vsp < 0)
            return fail_line(ps, ps->vgpu_line[i], "vgpu",
                             "no partition has role = video-service");
        if ((uint32_t)vsp == i)
            return fail_line(ps, ps->vgpu_line[i], "vgpu",
                             "the video-service partition cannot be a vGPU client");
    }
    return 0;
}

/* An earlier rule restores a snapshot as this partition ("restore FILE as NAME ..."). */
static bool restored_before(const struct manifest *m, uint32_t before, const char *name)
{
    for (uint32_t i = 0; i < before; i++) {
        struct str rest = { m->rules[i].args, strlen(m->rules[i].args) };
        if (strcmp(m->rules[i].action, "restore") || !next_word(&rest).n ||
            !eq(next_word(&rest), "as"))
            continue;
        struct str as = next_word(&rest);
        if (as.n && as.n == strlen(name) && !memcmp(as.p, name, as.n))
            return true;
    }
    return false;
}

static int check_rules(struct parser *ps)
{
    for (uint32_t i = 0; i < ps->m->rule_count; i++)
        if (!manifest_find_partition(ps->m, ps->m->rules[i].partition) &&
            !restored_before(ps->m, i, ps->m->rules[i].partition))
            return fail_line(ps, ps->m->rules[i].line, "script", "no partition '%s'",
                             ps->m->rules[i].partition);
    return 0;
}

static void manifest_defaults(struct manifest *m)
{
    memset(m, 0, sizeof(*m));
    m->hv.log_level = LOG_LEVEL_INFO;
    m->hv.net = NET_MODE_NONE;
    m->hv.control_port = 7400;
}

int manifest_parse(struct manifest *m, const char *text, size_t len, const char *file,
                   char *err, size_t err_size)
{
    struct parser ps = { .m = m, .file = file, .err = err, .err_size = err_size, .line = 1 };
    manifest_defaults(m);
    if (len > MANIFEST_MAX_BYTES)
        return fail(&ps, "file", "%zu bytes, more than %d", len, MANIFEST_MAX_BYTES);
    struct str rest = { text, len }, line;
    while (rest.n) {
        split(rest, '\n', &line, &rest);
        if (one_line(&ps, line))
            return -1;
        ps.line++;
    }
    if (finish_section(&ps) || check_roles(&ps) || check_rules(&ps))
        return -1;
    return 0;
}

/* ---- checks against the platform ---------------------------------------------------- */

const struct manifest_partition *manifest_find_partition(const struct manifest *m,
                                                         const char *name)
{
    for (uint32_t i = 0; i < m->partition_count; i++)
        if (strcmp(m->partitions[i].name, name) == 0)
            return &m->partitions[i];
    return NULL;
}

static bool module_loaded(const struct boot_module *mods, size_t count, const char *name)
{
    for (size_t i = 0; i < count; i++)
        if (strncmp(mods[i].name, name, BOOTINFO_NAME_LEN) == 0)
            return true;
    return false;
}

static int need_module(const struct boot_module *mods, size_t count, const char *name,
                       uint32_t line, const char *key, const char *file, char *err,
                       size_t err_size)
{
    if (!name[0] || module_loaded(mods, count, name))
        return 0;
    fmt_snprintf(err, err_size, "%s:%u: %s: module '%s' was not loaded", file, line, key, name);
    return -1;
}

int manifest_check_modules(const struct manifest *m, const struct boot_module *mods,
                           size_t mod_count, const char *file, char *err, size_t err_size)
{
    if (need_module(mods, mod_count, m->hv.identity_key, m->hv.identity_key_line,
                    "identity-key", file, err, err_size))
        return -1;
    for (uint32_t i = 0; i < m->partition_count; i++) {
        const struct manifest_partition *p = &m->partitions[i];
        if (need_module(mods, mod_count, p->image, p->image_line, "image", file, err, err_size) ||
            need_module(mods, mod_count, p->initrd, p->initrd_line, "initrd", file, err, err_size))
            return -1;
    }
    return 0;
}

int manifest_check_memory(const struct manifest *m, uint64_t free_bytes, const char *file,
                          char *err, size_t err_size)
{
    uint64_t total = 0;
    uint32_t first_over = 0;
    for (uint32_t i = 0; i < m->partition_count; i++) {
        total += m->partitions[i].memory;
        if (total > free_bytes && !first_over)
            first_over = m->partitions[i].memory_line;
    }
    if (!first_over)
        return 0;
    fmt_snprintf(err, err_size, "%s:%u: memory: partitions need %llu MiB, only %llu MiB free",
                 file, first_over, (unsigned long long)((total + (1 << 20) - 1) >> 20),
                 (unsigned long long)(free_bytes >> 20));
    return -1;
}
