#include "hv/core/boot_config.h"

#include <string.h>

static bool word_is(const char *w, size_t n, const char *name)
{
    return strlen(name) == n && !strncmp(w, name, n);
}

void boot_config_from_cmdline(struct boot_config *cfg, const char *cmdline)
{
    memset(cfg, 0, sizeof(*cfg));
    strlcpy(cfg->manifest, "atoll.cfg", sizeof(cfg->manifest));
    const char *p = cmdline;
    while (p && *p) {
        while (*p == ' ' || *p == '\t')
            p++;
        const char *w = p;
        while (*p && *p != ' ' && *p != '\t')
            p++;
        size_t n = (size_t)(p - w);
        if (word_is(w, n, "test-exit"))
            cfg->test_exit = true;
        else if (word_is(w, n, "nosmp"))
            cfg->no_smp = true;
        else if (word_is(w, n, "worker-selftest"))
            cfg->worker_selftest = true;
        else if (n > 9 && !strncmp(w, "manifest=", 9) && n - 9 < sizeof(cfg->manifest)) {
            memcpy(cfg->manifest, w + 9, n - 9);
            cfg->manifest[n - 9] = 0;
        }
    }
}
