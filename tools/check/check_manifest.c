/* atoll check MANIFEST: the hypervisor's own manifest parser and image loaders, run on the
 * host against the files an image builder (mkiso.sh, mkesp.sh) would put beside it. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include "hv/core/loader/loader.h"
#include "hv/core/config/manifest.h"
#include "hv/core/config/script.h"
#include "tools/check/check.h"

#define MAX_DIRS 16

struct ctx {
    const char *file;
    const char *dirs[MAX_DIRS + 4];
    int ndirs;
    unsigned problems;
};

static void problem(struct ctx *c, uint32_t line, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void problem(struct ctx *c, uint32_t line, const char *key, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    printf("%s:%u: %s: ", c->file, line, key);
    vprintf(fmt, ap);
    printf("\n");
    va_end(ap);
    c->problems++;
}

/* Reads a whole file (at most max bytes) into a malloc'd buffer; NULL with errno set. */
static uint8_t *read_file(const char *path, size_t max, size_t *len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    struct stat st;
    if (fstat(fileno(f), &st) != 0 || (uint64_t)st.st_size > max) {
        fclose(f);
        errno = EFBIG;
        return NULL;
    }
    uint8_t *buf = malloc((size_t)st.st_size + 1);
    *len = buf ? fread(buf, 1, (size_t)st.st_size, f) : 0;
    fclose(f);
    return buf;
}

static bool find(const struct ctx *c, const char *name, char *path, size_t cap)
{
    for (int i = 0; i < c->ndirs; i++) {
        snprintf(path, cap, "%s/%s", c->dirs[i], name);
        struct stat st;
        if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
            return true;
    }
    return false;
}

static void dirs_text(const struct ctx *c, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (int i = 0; i < c->ndirs && n < cap; i++)
        n += (size_t)snprintf(out + n, cap - n, "%s%s", i ? ", " : "", c->dirs[i]);
}

/* A guest's RAM as the loaders see it: every write is bounds-checked, nothing is kept. */
static bool fits(void *ctx, uint64_t gpa, size_t len)
{
    uint64_t ram = *(const uint64_t *)ctx;
    return gpa <= ram && len <= ram - gpa;
}
static bool ram_write(void *ctx, uint64_t gpa, const void *buf, size_t len) { return fits(ctx, gpa, len); }
static bool ram_zero(void *ctx, uint64_t gpa, size_t len) { return fits(ctx, gpa, len); }

static const char *boot_name(enum manifest_boot b)
{
    switch (b) {
    case BOOT_FLAT: return "flat";
    case BOOT_MULTIBOOT: return "multiboot";
    case BOOT_ELF64: return "elf64";
    case BOOT_LINUX: return "linux";
    default: return "none";
    }
}

/* Runs the partition's loader over its image (and initrd) as the hypervisor will. */
static void check_loadable(struct ctx *c, const struct manifest_partition *p, const char *image,
                           const char *initrd)
{
    size_t ilen = 0, rlen = 0;
    uint8_t *img = read_file(image, SIZE_MAX, &ilen), *rd = NULL;
    if (!img) {
        problem(c, p->image_line, "image", "cannot read %s: %s", image, strerror(errno));
        return;
    }
    if (initrd && !(rd = read_file(initrd, SIZE_MAX, &rlen))) {
        problem(c, p->initrd_line, "initrd", "cannot read %s: %s", initrd, strerror(errno));
        free(img);
        return;
    }
    uint64_t ram = p->memory;
    struct guest_image_target t = { .ctx = &ram, .write = ram_write, .zero = ram_zero,
                                    .ram_bytes = ram, .vcpus = p->vcpus,
                                    .pci_host = p->disk_count > 0 };
    struct loader_input in = { img, ilen, p->image, rd, rlen, p->cmdline };
    struct vcpu_start st;
    char err[256] = "";
    int rc = -1;
    switch (p->boot) {
    case BOOT_FLAT: rc = load_flat(&t, &in, &st, err, sizeof(err)); break;
    case BOOT_MULTIBOOT: rc = load_multiboot(&t, &in, &st, err, sizeof(err)); break;
    case BOOT_ELF64: rc = load_elf64(&t, &in, &st, err, sizeof(err)); break;
    case BOOT_LINUX: rc = load_linux(&t, &in, &st, err, sizeof(err)); break;
    default: snprintf(err, sizeof(err), "no boot method"); break;
    }
    if (rc != 0)
        problem(c, p->image_line, "image", "%s cannot be loaded with boot = %s into %" PRIu64
                " MiB: %s", image, boot_name(p->boot), p->memory >> 20, err);
    free(img);
    free(rd);
}

/* Every file the manifest names, found (and listed as the boot modules the hypervisor will
 * see), or reported with the folders searched. */
static size_t check_files(struct ctx *c, const struct manifest *m, struct boot_module *mods)
{
    char path[4096], where[1024], rdpath[4096];
    size_t n = 0;
    dirs_text(c, where, sizeof(where));
    for (uint32_t i = 0; i < m->partition_count; i++) {
        const struct manifest_partition *p = &m->partitions[i];
        bool have_image = find(c, p->image, path, sizeof(path));
        if (!have_image)
            problem(c, p->image_line, "image", "'%s' is in none of: %s", p->image, where);
        else
            snprintf(mods[n++].name, BOOTINFO_NAME_LEN, "%s", p->image);
        bool have_initrd = p->initrd[0] && find(c, p->initrd, rdpath, sizeof(rdpath));
        if (p->initrd[0] && !have_initrd)
            problem(c, p->initrd_line, "initrd", "'%s' is in none of: %s", p->initrd, where);
        else if (have_initrd)
            snprintf(mods[n++].name, BOOTINFO_NAME_LEN, "%s", p->initrd);
        if (have_image && (!p->initrd[0] || have_initrd))
            check_loadable(c, p, path, have_initrd ? rdpath : NULL);
    }
    if (m->hv.identity_key[0]) {
        if (!find(c, m->hv.identity_key, path, sizeof(path)))
            problem(c, m->hv.identity_key_line, "identity-key", "'%s' is in none of: %s",
                    m->hv.identity_key, where);
        else
            snprintf(mods[n++].name, BOOTINFO_NAME_LEN, "%s", m->hv.identity_key);
    }
    return n;
}

static int parse_args(struct ctx *c, int argc, char **argv, uint64_t *free_mib)
{
    static char manifest_dir[4096];
    const char *defaults[] = { "build/guest/tests", "build/guest/linux" };
    c->file = NULL;
    c->ndirs = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if ((!strcmp(a, "-d") || !strcmp(a, "--free")) && i + 1 >= argc) {
            fprintf(stderr, "atoll check: %s needs a value\nTry 'atoll --help'.\n", a);
            return CHECK_USAGE;
        }
        if (!strcmp(a, "-d")) {
            if (c->ndirs == MAX_DIRS) {
                fprintf(stderr, "atoll check: at most %d -d folders\n", MAX_DIRS);
                return CHECK_USAGE;
            }
            c->dirs[c->ndirs++] = argv[++i];
        } else if (!strcmp(a, "--free")) {
            char *end;
            *free_mib = strtoull(argv[++i], &end, 10);
            if (*end || !*free_mib) {
                fprintf(stderr, "atoll check: --free: MiB, not '%s'\n", argv[i]);
                return CHECK_USAGE;
            }
        } else if (a[0] == '-') {
            fprintf(stderr, "atoll check: unknown option '%s'\nTry 'atoll --help'.\n", a);
            return CHECK_USAGE;
        } else if (c->file) {
            fprintf(stderr, "atoll check: one manifest at a time ('%s' and '%s')\n", c->file, a);
            return CHECK_USAGE;
        } else {
            c->file = a;
        }
    }
    for (size_t i = 0; i < 2; i++)
        c->dirs[c->ndirs++] = defaults[i];
    snprintf(manifest_dir, sizeof(manifest_dir), "%s", c->file);
    char *slash = strrchr(manifest_dir, '/');
    if (slash)
        *slash = '\0';
    else
        strcpy(manifest_dir, ".");
    c->dirs[c->ndirs++] = manifest_dir;
    return CHECK_OK;
}

int check_manifest(int argc, char **argv)
{
    static struct manifest m;
    static struct script s;
    static struct boot_module mods[BOOTINFO_MAX_MODS];
    struct ctx c = { 0 };
    uint64_t free_mib = 0;
    int rc = parse_args(&c, argc, argv, &free_mib);
    if (rc != CHECK_OK)
        return rc;
    size_t len;
    char *text = (char *)read_file(c.file, MANIFEST_MAX_BYTES, &len);
    if (!text) {
        printf("%s: cannot read it: %s\n", c.file,
               errno == EFBIG ? "more than 64 KiB" : strerror(errno));
        return CHECK_FAILED;
    }
    char err[MANIFEST_ERR_LEN + 64];
    rc = manifest_parse(&m, text, len, c.file, err, sizeof(err));
    free(text);
    if (rc != 0 || script_init(&s, &m, c.file, err, sizeof(err)) != 0) {
        printf("%s\n", err);
        return CHECK_FAILED;
    }
    size_t nmods = check_files(&c, &m, mods);
    if (c.problems == 0 &&
        manifest_check_modules(&m, mods, nmods, c.file, err, sizeof(err)) != 0) {
        printf("%s\n", err);
        c.problems++;
    }
    uint64_t need = 0;
    for (uint32_t i = 0; i < m.partition_count; i++)
        need += m.partitions[i].memory;
    if (free_mib && manifest_check_memory(&m, free_mib << 20, c.file, err, sizeof(err)) != 0) {
        printf("%s\n", err);
        c.problems++;
    }
    if (c.problems) {
        printf("%s: %u problem%s\n", c.file, c.problems, c.problems == 1 ? "" : "s");
        return CHECK_FAILED;
    }
    printf("%s: ok: %u partition%s, %" PRIu64 " MiB of partition memory", c.file,
           m.partition_count, m.partition_count == 1 ? "" : "s", need >> 20);
    if (free_mib)
        printf(" (%" PRIu64 " MiB free)", free_mib);
    printf("\n");
    for (uint32_t i = 0; i < m.partition_count; i++) {
        const struct manifest_partition *p = &m.partitions[i];
        printf("  %-16s %s %s, %" PRIu64 " MiB, %u vcpu%s%s\n", p->name, boot_name(p->boot),
               p->image, p->memory >> 20, p->vcpus, p->vcpus == 1 ? "" : "s",
               p->autostart ? "" : ", started on request");
    }
    return CHECK_OK;
}
