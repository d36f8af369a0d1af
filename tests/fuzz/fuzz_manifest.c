/* libFuzzer target: the manifest parser and its checks against modules and memory. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv/core/config/manifest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_message(const char *err, size_t size)
{
    if (strnlen(err, size) == size || strncmp(err, "atoll.cfg:", 10) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct manifest m;
    static const struct boot_module mods[] = {
        { 0x200000, 1, "vmlinuz" }, { 0x300000, 1, "hello.bin" }, { 0x400000, 1, "a" },
    };
    char err[MANIFEST_ERR_LEN];
    /* An exact-size copy, not NUL-terminated, so ASan sees any read past the text. */
    char *text = malloc(size ? size : 1);
    memcpy(text, data, size);
    if (manifest_parse(&m, text, size, "atoll.cfg", err, sizeof(err)) != 0) {
        check_message(err, sizeof(err));
    } else {
        if (m.partition_count > MANIFEST_MAX_PARTITIONS || m.rule_count > MANIFEST_MAX_RULES)
            abort();
        for (uint32_t i = 0; i < m.partition_count; i++)
            if (m.partitions[i].disk_count > MANIFEST_MAX_DISKS ||
                m.partitions[i].vcpus < 1 || m.partitions[i].vcpus > MANIFEST_MAX_VCPUS)
                abort();
        if (manifest_check_modules(&m, mods, 3, "atoll.cfg", err, sizeof(err)))
            check_message(err, sizeof(err));
        if (manifest_check_memory(&m, 512ull << 20, "atoll.cfg", err, sizeof(err)))
            check_message(err, sizeof(err));
    }
    free(text);
    return 0;
}
