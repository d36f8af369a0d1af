#include "hv/core/config/boot_config.h"

#include <string.h>
#include "hv/lib/cmdline.h"
#include "hv/lib/format.h"

/* Words other layers read themselves (the storage pool; net/kernel/net_options.h for net.*). */
static const char *const other_words[] = { "storage-selftest", "ata-pio" };

static bool known_elsewhere(const struct cmdline_word *w)
{
    if (w->key_len > 4 && !memcmp(w->key, "net.", 4))
        return true;
    for (size_t i = 0; i < sizeof(other_words) / sizeof(other_words[0]); i++)
        if (!w->value && cmdline_key_is(w, other_words[i]))
            return true;
    return false;
}

void boot_config_from_cmdline(struct boot_config *cfg, const char *cmdline, char *warn,
                              size_t warn_size)
{
    memset(cfg, 0, sizeof(*cfg));
    warn[0] = 0;
    memcpy(cfg->manifest, "atoll.cfg", sizeof("atoll.cfg"));
    struct cmdline_word w;
    while (cmdline_next(&cmdline, &w)) {
        bool ok = true;
        if (!w.value && cmdline_key_is(&w, "test-exit"))
            cfg->test_exit = true;
        else if (!w.value && cmdline_key_is(&w, "nosmp"))
            cfg->no_smp = true;
        else if (!w.value && cmdline_key_is(&w, "worker-selftest"))
            cfg->worker_selftest = true;
        else if (w.value && cmdline_key_is(&w, "manifest") && w.value_len &&
                 w.value_len < sizeof(cfg->manifest)) {
            memcpy(cfg->manifest, w.value, w.value_len);
            cfg->manifest[w.value_len] = 0;
        } else
            ok = known_elsewhere(&w);
        if (!ok && !warn[0])
            fmt_snprintf(warn, warn_size, "command line: '%.*s' is not a word Atoll knows "
                         "(see README: the hypervisor's command line); ignored",
                         (int)(w.key_len + (w.value ? w.value_len + 1 : 0)), w.key);
    }
}
