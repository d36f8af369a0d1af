/*
 * The hypervisor's command line (GRUB's multiboot2 line, or atoll.cmdline): words
 * separated by blanks, each `KEY` or `KEY=VALUE`.  The one tokenizer every layer reads its
 * own words with (hv/core/config/boot_config.c, the storage pool, net/kernel/net_options.c).
 * Portable.
 */
#ifndef ATOLL_HV_LIB_CMDLINE_H
#define ATOLL_HV_LIB_CMDLINE_H
#include <stdbool.h>
#include <stddef.h>

struct cmdline_word {
    const char *key, *value;    /* value: NULL for a bare KEY; "" for `KEY=` */
    size_t key_len, value_len;
};

/* The word at *cursor, advancing it; false at the end (or when *cursor is NULL). */
bool cmdline_next(const char **cursor, struct cmdline_word *w);
/* w's key is exactly key. */
bool cmdline_key_is(const struct cmdline_word *w, const char *key);
/* The line holds the bare word `word` (not `word=...`). */
bool cmdline_has(const char *cmdline, const char *word);

#endif
