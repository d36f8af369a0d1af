/* vhdx: create, inspect, check, fork, convert and merge VHDX images (the host side of
 * hv/storage/vhdx). */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tools/vhdx/vhdx_file.h"
#include "tools/vhdx/vhdx_jobs.h"

struct command {
    const char *name;
    const char *usage;
    const char *help;
    int (*run)(int argc, char **argv);
};

static const struct command *current;

static int usage_error(const char *fmt, const char *arg)
{
    fprintf(stderr, "vhdx %s: ", current->name);
    fprintf(stderr, fmt, arg);
    fprintf(stderr, "\nusage: vhdx %s %s\n", current->name, current->usage);
    return 2;
}

static int fail(const struct vhdx_err *err)
{
    fprintf(stderr, "vhdx %s: %s\n", current->name, err->msg);
    return 1;
}

/* "10G", "512", "4M", "64K" */
static int parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || s[0] == '-')
        return -1;
    int shift = 0;
    switch (*end) {
    case 0: break;
    case 'k': case 'K': shift = 10; end++; break;
    case 'm': case 'M': shift = 20; end++; break;
    case 'g': case 'G': shift = 30; end++; break;
    case 't': case 'T': shift = 40; end++; break;
    default: return -1;
    }
    if (*end == 'i' && end[-1] != 0)
        end++;
    if (*end == 'B')
        end++;
    if (*end || (shift && v > (UINT64_MAX >> shift)))
        return -1;
    *out = (uint64_t)v << shift;
    return 0;
}

static int parse_u32(const char *s, uint32_t *out)
{
    uint64_t v;
    if (parse_size(s, &v) || v > UINT32_MAX)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

/* Options common to create/child/convert. */
struct geom_opts {
    struct vhdx_create_params p;
    const char *to; /* convert: "vhdx" or "raw" */
    bool json, progress, read_only, repair, force;
    const char *in, *out;
    uint64_t len;
    int fill;
};

static int parse_opts(int argc, char **argv, struct geom_opts *o, char **pos, int max_pos,
                      int *npos)
{
    *npos = 0;
    o->fill = -1;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int bad = 0;
        if (!strcmp(a, "--json")) o->json = true;
        else if (!strcmp(a, "--progress")) o->progress = true;
        else if (!strcmp(a, "--read-only")) o->read_only = true;
        else if (!strcmp(a, "--repair")) o->repair = true;
        else if (!strcmp(a, "--force")) o->force = true;
        else if (a[0] == '-' && a[1] == '-' && !v)
            return usage_error("option %s needs a value", a);
        else if (!strcmp(a, "--block-size")) bad = parse_u32(v, &o->p.block_size), i++;
        else if (!strcmp(a, "--sector-size")) bad = parse_u32(v, &o->p.logical_sector_size), i++;
        else if (!strcmp(a, "--physical-sector-size"))
            bad = parse_u32(v, &o->p.physical_sector_size), i++;
        else if (!strcmp(a, "--log-size")) bad = parse_u32(v, &o->p.log_size), i++;
        else if (!strcmp(a, "--to")) o->to = v, i++;
        else if (!strcmp(a, "--in")) o->in = v, i++;
        else if (!strcmp(a, "--out")) o->out = v, i++;
        else if (!strcmp(a, "--length")) bad = parse_size(v, &o->len), i++;
        else if (!strcmp(a, "--fill")) {
            uint64_t f;
            bad = parse_size(v, &f) || f > 255;
            o->fill = (int)f, i++;
        } else if (a[0] == '-' && a[1])
            return usage_error("unknown option %s", a);
        else if (*npos == max_pos)
            return usage_error("unexpected argument '%s'", a);
        else
            pos[(*npos)++] = argv[i];
        if (bad)
            return usage_error("bad value for %s", a);
    }
    return 0;
}

#define OPTS(min, max)                                                                    \
    struct geom_opts o = { 0 };                                                           \
    char *pos[4] = { 0 };                                                                 \
    int npos, rc_ = parse_opts(argc, argv, &o, pos, max, &npos);                          \
    if (rc_)                                                                              \
        return rc_;                                                                       \
    if (npos < (min))                                                                     \
        return usage_error("missing arguments%s", "")

/* Creates path; an existing file is replaced only with force (a parent or a disk in use
 * is lost otherwise). */
static int create_file(const char *path, const struct vhdx_create_params *p, bool force,
                       struct vhdx_err *err)
{
    struct vhdx_io io;
    if (!force && access(path, F_OK) == 0) {
        snprintf(err->msg, sizeof(err->msg), "%s exists (use --force to replace it)", path);
        return VHDX_E_IO;
    }
    int rc = vhdx_file_open(path, true, true, &io);
    if (rc < 0) {
        snprintf(err->msg, sizeof(err->msg), "%s: %s", path, strerror(-rc));
        return VHDX_E_IO;
    }
    rc = vhdx_create(&vhdx_host_env, &io, p, err);
    vhdx_file_close(&io);
    if (rc)
        unlink(path);
    return rc;
}

static int cmd_create(int argc, char **argv)
{
    OPTS(2, 2);
    struct vhdx_err err;
    if (parse_size(pos[1], &o.p.disk_size))
        return usage_error("bad size '%s'", pos[1]);
    if (create_file(pos[0], &o.p, o.force, &err))
        return fail(&err);
    printf("created %s: %s bytes, dynamic\n", pos[0], pos[1]);
    return 0;
}

static void print_guid(const char *key, const struct guid *g, bool json, bool last)
{
    char s[GUID_STR_LEN + 1];
    guid_format(g, s);
    if (json)
        printf("  \"%s\": \"%s\"%s\n", key, s, last ? "" : ",");
    else
        printf("%-22s %s\n", key, s);
}

static void print_num(const char *key, uint64_t v, bool json)
{
    if (json)
        printf("  \"%s\": %" PRIu64 ",\n", key, v);
    else
        printf("%-22s %" PRIu64 "\n", key, v);
}

static void print_str(const char *key, const char *v, bool json)
{
    if (json) {
        printf("  \"%s\": \"", key);
        for (; *v; v++)
            printf(*v == '"' || *v == '\\' ? "\\%c" : "%c", *v);
        printf("\",\n");
    } else {
        printf("%-22s %s\n", key, v);
    }
}

static void print_info(const struct vhdx_info *i, bool json)
{
    if (json)
        printf("{\n");
    print_str("type", i->has_parent ? "differencing" : "dynamic", json);
    print_num("virtual_size", i->disk_size, json);
    print_num("file_size", i->file_size, json);
    print_num("block_size", i->block_size, json);
    print_num("logical_sector_size", i->logical_sector_size, json);
    print_num("physical_sector_size", i->physical_sector_size, json);
    print_num("payload_blocks", i->payload_blocks, json);
    print_num("blocks_present", i->blocks_present, json);
    print_num("blocks_zero", i->blocks_zero, json);
    print_num("bitmap_blocks_present", i->bitmap_blocks_present, json);
    print_num("header_sequence", i->header_sequence, json);
    print_num("log_offset", i->log_offset, json);
    print_num("log_length", i->log_length, json);
    print_num("log_entries_replayed", i->log_entries_replayed, json);
    if (i->has_parent) {
        print_guid("parent_linkage", &i->parent_linkage, json, false);
        print_str("parent_relative_path", i->parent_relative_path, json);
        print_str("parent_absolute_path", i->parent_absolute_path, json);
        if (i->parent_volume_path[0])
            print_str("parent_volume_path", i->parent_volume_path, json);
    }
    print_guid("virtual_disk_id", &i->virtual_disk_id, json, false);
    print_guid("file_write_guid", &i->file_write_guid, json, false);
    print_guid("log_guid", &i->log_guid, json, false);
    print_guid("data_write_guid", &i->data_write_guid, json, true);
    if (json)
        printf("}\n");
}

static int cmd_info(int argc, char **argv)
{
    OPTS(1, 1);
    struct vhdx *d;
    struct vhdx_io io;
    struct vhdx_err err;
    if (vhdx_host_open(pos[0], VHDX_OPEN_READ_ONLY | VHDX_OPEN_NO_PARENT, &d, &io, &err))
        return fail(&err);
    struct vhdx_info info;
    vhdx_get_info(d, &info);
    print_info(&info, o.json);
    vhdx_host_close(d, &io, &err);
    return 0;
}

/* vhdx check's exit statuses: 0, 1 and 2 as qemu-img check's (clean, check not completed,
 * damage found); 4 when every damaged structure was repaired (qemu-img check -r says 0). */
enum { CHECK_CLEAN = 0, CHECK_INCOMPLETE = 1, CHECK_DAMAGED = 2, CHECK_REPAIRED = 4 };
#define CHECK_LINES_MAX 50

struct check_lines {
    unsigned shown, hidden;
};

static void check_note(void *ctx, bool repaired, const char *line)
{
    struct check_lines *l = ctx;
    if (l->shown == CHECK_LINES_MAX) {
        l->hidden++;
        return;
    }
    l->shown++;
    printf("%s: %s\n", repaired ? "repaired" : "damaged", line);
}

static int cmd_check(int argc, char **argv)
{
    OPTS(1, 1);
    struct vhdx *d;
    struct vhdx_io io;
    struct vhdx_err err;
    if (o.repair && o.read_only)
        return usage_error("--repair writes the file%s; it cannot go with --read-only", "");
    unsigned flags = o.read_only ? VHDX_OPEN_READ_ONLY : 0;
    if (vhdx_host_open(pos[0], flags, &d, &io, &err)) {
        fprintf(stderr, "vhdx check: %s\n", err.msg);
        return err.code == VHDX_E_IO || err.code == VHDX_E_NOMEM ? CHECK_INCOMPLETE : CHECK_DAMAGED;
    }
    struct vhdx_check_report r;
    struct vhdx_info info;
    struct check_lines lines = { 0, 0 };
    struct vhdx_check_opts opts = { o.repair, check_note, &lines };
    vhdx_get_info(d, &info);
    int rc = vhdx_check_ex(d, &opts, &r, &err);
    if (!rc && vhdx_host_close(d, &io, &err))
        rc = 1;
    if (rc) {
        fprintf(stderr, "vhdx check: %s\n", err.msg);
        return CHECK_INCOMPLETE;
    }
    if (lines.hidden)
        printf("... and %u more\n", lines.hidden);
    printf("%s: log %s, %u blocks checked, %" PRIu64 " bytes unused, %u errors", pos[0],
           !info.log_entries_replayed ? "clean" : o.read_only ? "replayed in memory only" : "replayed",
           r.blocks_checked, r.leaked_bytes, r.errors);
    if (r.repaired)
        printf(", %u repaired", r.repaired);
    printf("\n");
    if (info.log_entries_replayed)
        printf("log entries replayed: %u\n", info.log_entries_replayed);
    return r.errors ? CHECK_DAMAGED : r.repaired ? CHECK_REPAIRED : CHECK_CLEAN;
}

static int cmd_child(int argc, char **argv)
{
    OPTS(2, 2);
    struct vhdx *parent;
    struct vhdx_io pio;
    struct vhdx_err err;
    if (vhdx_host_open(pos[0], VHDX_OPEN_READ_ONLY, &parent, &pio, &err))
        return fail(&err);
    /* The locator path is relative to the child's folder. */
    char rel[512], absbuf[4096];
    const char *slash = strrchr(pos[1], '/');
    bool same_dir = !slash && !strchr(pos[0], '/');
    if (!realpath(pos[0], absbuf))
        snprintf(absbuf, sizeof(absbuf), "%s", pos[0]);
    snprintf(rel, sizeof(rel), "%s", same_dir ? pos[0] : "");
    if (!same_dir) {
        const char *pslash = strrchr(pos[0], '/');
        size_t cd = slash ? (size_t)(slash - pos[1]) : 0, pd = pslash ? (size_t)(pslash - pos[0]) : 0;
        if (cd == pd && !strncmp(pos[0], pos[1], cd))
            snprintf(rel, sizeof(rel), "%s", pslash + 1);
    }
    o.p.parent = parent;
    o.p.parent_relative_path = rel;
    o.p.parent_absolute_path = absbuf;
    int rc = create_file(pos[1], &o.p, o.force, &err);
    vhdx_host_close(parent, &pio, NULL);
    if (rc)
        return fail(&err);
    printf("created %s: differencing disk of %s\n", pos[1], pos[0]);
    return 0;
}

static int read_range(struct vhdx *d, uint64_t off, uint8_t *buf, size_t len, uint32_t lss,
                      struct vhdx_err *err)
{
    uint64_t start = off / lss * lss, end = (off + len + lss - 1) / lss * lss;
    uint8_t *tmp = malloc(end - start);
    int rc = vhdx_read(d, start, tmp, end - start, err);
    if (!rc)
        memcpy(buf, tmp + (off - start), len);
    free(tmp);
    return rc;
}

static int cmd_read(int argc, char **argv)
{
    OPTS(3, 3);
    uint64_t off, len;
    if (parse_size(pos[1], &off) || parse_size(pos[2], &len) || len > (1ull << 30))
        return usage_error("bad offset or length (at most 1 GiB) '%s'", pos[1]);
    struct vhdx *d;
    struct vhdx_io io;
    struct vhdx_err err;
    if (vhdx_host_open(pos[0], VHDX_OPEN_READ_ONLY, &d, &io, &err))
        return fail(&err);
    struct vhdx_info info;
    vhdx_get_info(d, &info);
    uint8_t *buf = malloc(len ? len : 1);
    int rc = off + len > info.disk_size
                 ? (snprintf(err.msg, sizeof(err.msg), "range ends past the disk"), 1)
                 : read_range(d, off, buf, len, info.logical_sector_size, &err);
    vhdx_host_close(d, &io, NULL);
    FILE *f = o.out ? fopen(o.out, "wb") : stdout;
    if (!rc && (!f || fwrite(buf, 1, len, f) != len))
        rc = (snprintf(err.msg, sizeof(err.msg), "cannot write the output"), 1);
    if (f && f != stdout)
        fclose(f);
    free(buf);
    return rc ? fail(&err) : 0;
}

static uint8_t *load_input(struct geom_opts *o, uint64_t *len)
{
    if (o->fill >= 0) {
        uint8_t *b = malloc(o->len ? o->len : 1);
        memset(b, o->fill, o->len);
        *len = o->len;
        return b;
    }
    FILE *f = fopen(o->in, "rb");
    if (!f)
        return NULL;
    uint8_t *b = NULL;
    size_t n = 0, cap = 0;
    for (;;) {
        if (n == cap)
            b = realloc(b, cap = cap ? 2 * cap : 65536);
        size_t k = fread(b + n, 1, cap - n, f);
        if (!k)
            break;
        n += k;
    }
    fclose(f);
    *len = o->len && o->len < n ? o->len : n;
    return b;
}

static int write_range(struct vhdx *d, uint64_t off, const uint8_t *buf, uint64_t len,
                       uint32_t lss, struct vhdx_err *err)
{
    uint64_t start = off / lss * lss, end = (off + len + lss - 1) / lss * lss;
    uint8_t *tmp = malloc(end - start);
    int rc = VHDX_OK;
    if (start != off || end != off + len) /* read-modify-write of the edge sectors */
        rc = vhdx_read(d, start, tmp, end - start, err);
    memcpy(tmp + (off - start), buf, len);
    if (!rc)
        rc = vhdx_write(d, start, tmp, end - start, err);
    free(tmp);
    return rc;
}

static int cmd_write(int argc, char **argv)
{
    OPTS(2, 2);
    uint64_t off, len;
    if (parse_size(pos[1], &off))
        return usage_error("bad offset '%s'", pos[1]);
    if (!o.in && o.fill < 0)
        return usage_error("give --in FILE or --fill BYTE --length N%s", "");
    uint8_t *buf = load_input(&o, &len);
    if (!buf)
        return usage_error("cannot read '%s'", o.in);
    struct vhdx *d;
    struct vhdx_io io;
    struct vhdx_err err;
    if (vhdx_host_open(pos[0], 0, &d, &io, &err)) {
        free(buf);
        return fail(&err);
    }
    struct vhdx_info info;
    vhdx_get_info(d, &info);
    int rc = off + len > info.disk_size
                 ? (snprintf(err.msg, sizeof(err.msg), "range ends past the disk"), 1)
                 : write_range(d, off, buf, len, info.logical_sector_size, &err);
    free(buf);
    if (vhdx_host_close(d, &io, rc ? NULL : &err) && !rc)
        rc = 1;
    return rc ? fail(&err) : 0;
}

static int cmd_trim(int argc, char **argv)
{
    OPTS(3, 3);
    uint64_t off, len;
    if (parse_size(pos[1], &off) || parse_size(pos[2], &len))
        return usage_error("bad offset or length '%s'", pos[1]);
    struct vhdx *d;
    struct vhdx_io io;
    struct vhdx_err err;
    if (vhdx_host_open(pos[0], 0, &d, &io, &err))
        return fail(&err);
    int rc = vhdx_trim(d, off, len, &err);
    if (vhdx_host_close(d, &io, rc ? NULL : &err) && !rc)
        rc = 1;
    return rc ? fail(&err) : 0;
}

static int cmd_help(int argc, char **argv);

static const struct command commands[] = {
    { "create", "FILE SIZE [--block-size N] [--sector-size 512|4096] "
                "[--physical-sector-size 512|4096] [--log-size N] [--force]",
      "Create an empty dynamic VHDX of SIZE bytes (suffixes K M G T). An existing FILE is "
      "replaced only with --force.", cmd_create },
    { "info", "FILE [--json]",
      "Print geometry, block counts and the header GUIDs (without opening the parent).",
      cmd_info },
    { "check", "FILE [--read-only | --repair]",
      "Open the image and its chain (replaying the log), then check every structure: both "
      "headers, both region tables, the metadata table, every BAT entry, overlaps, the log. "
      "A damaged copy of a header or region table is damage too (the redundancy is lost); "
      "--repair rewrites it from the good copy. One line per problem, then a summary.\n"
      "Exit status (as qemu-img check): 0 clean, 1 the check could not be completed, 2 damage "
      "found (or left), 4 every damaged structure was repaired.", cmd_check },
    { "child", "PARENT CHILD [--block-size N] [--force]",
      "Create CHILD, a differencing disk whose parent_linkage is PARENT's DataWriteGuid. An "
      "existing CHILD is replaced only with --force.",
      cmd_child },
    { "copy", "SRC DST [--format vhdx|fixed|raw] [--block-size N] [--base FILE] [--resume] "
              "[--budget N] [--json] [--bar|--no-bar]",
      "Copy a disk's content into a new image DST (dynamic VHDX unless --format), written "
      "as DST.tmp and renamed into place once durable: a cut leaves the old DST or the new "
      "one. --base FILE: DST becomes a differencing disk of FILE (a copy of the parent "
      "already at the destination) and units FILE already holds (SHA-256 index) are not "
      "written. --resume: continue a DST.tmp a cut run left. A progress bar goes to stderr "
      "(on a terminal or with --bar); --json prints the result (bytes read, written, zero, "
      "already at the destination). Exit status: 0 done, 1 failed, 2 usage, 3 interrupted.",
      vhdx_cmd_copy },
    { "convert", "IN OUT [--to vhdx|fixed|raw] [--block-size N] [--sector-size N] [--resume] "
                 "[--json] [--bar]",
      "Convert between raw, dynamic VHDX and fixed VHDX (default: raw for a VHDX input, "
      "dynamic VHDX for a raw one), written as OUT.tmp and renamed into place. Options and "
      "exit statuses as copy.", vhdx_cmd_convert },
    { "compact", "FILE [--out FILE2] [--resume] [--json] [--bar]",
      "Rewrite FILE without unused or all-zero payload blocks (trimmed blocks included); a "
      "differencing disk stays one, on the same parent. The new image replaces FILE by a "
      "rename once durable (or goes to FILE2).", vhdx_cmd_compact },
    { "defrag", "FILE [--out FILE2] [--resume] [--json] [--bar]",
      "Rewrite FILE with its payload blocks in BAT order (allocated blocks stay allocated); "
      "replaced by a rename once durable.", vhdx_cmd_defrag },
    { "merge", "CHILD [--progress] [--json] [--bar]",
      "Copy every sector CHILD holds into its parent, in place and crash-safe: CHILD's "
      "locator gains parent_linkage2, the parent's DataWriteGuid changes (siblings become "
      "stale), then the data moves. A cut leaves the chain whole; merging again finishes. "
      "--progress prints 'MERGED n/N' as each block is durable.", vhdx_cmd_merge },
    { "read", "FILE OFFSET LENGTH [--out FILE]",
      "Write LENGTH bytes of the virtual disk from OFFSET to stdout or FILE.", cmd_read },
    { "write", "FILE OFFSET (--in FILE [--length N] | --fill BYTE --length N)",
      "Write bytes into the virtual disk at OFFSET (any alignment).", cmd_write },
    { "trim", "FILE OFFSET LENGTH",
      "Discard a sector-aligned range: it reads as zeros afterwards.", cmd_trim },
    { "help", "[COMMAND]", "Show the commands, or one command's usage.", cmd_help },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct command *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (!strcmp(commands[i].name, name))
            return &commands[i];
    return NULL;
}

static void command_help(const struct command *c)
{
    printf("usage: vhdx %s %s\n\n%s\n", c->name, c->usage, c->help);
}

static int cmd_help(int argc, char **argv)
{
    if (argc > 0 && find_command(argv[0])) {
        command_help(find_command(argv[0]));
        return 0;
    }
    printf("usage: vhdx COMMAND [ARGS]   (vhdx COMMAND --help for details)\n\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        printf("  %-8s %s\n", commands[i].name, commands[i].help);
    return argc > 0 ? 2 : 0;
}

int main(int argc, char **argv)
{
    if (argc == 2 && !strcmp(argv[1], "--version")) {
        printf("vhdx (Atoll) %s\n", ATOLL_VERSION);
        return 0;
    }
    if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))
        return cmd_help(0, NULL), argc < 2 ? 2 : 0;
    current = find_command(argv[1]);
    if (!current) {
        fprintf(stderr, "vhdx: unknown command '%s' (try 'vhdx help')\n", argv[1]);
        return 2;
    }
    for (int i = 2; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            command_help(current);
            return 0;
        }
    return current->run(argc - 2, argv + 2);
}
