#include "hv/core/config/script.h"

#include <string.h>

#include "hv/lib/format.h"

static const char *const action_names[] = { [SCRIPT_START] = "start", [SCRIPT_STOP] = "stop",
                                             [SCRIPT_CHECKPOINT] = "checkpoint" };

int script_init(struct script *s, const struct manifest *m, const char *file, char *err,
                size_t err_size)
{
    memset(s, 0, sizeof(*s));
    s->rules = m->rules;
    s->count = m->rule_count;
    for (uint32_t i = 0; i < m->rule_count; i++) {
        const struct manifest_rule *r = &m->rules[i];
        int a = -1;
        for (int k = 0; k < (int)(sizeof(action_names) / sizeof(action_names[0])); k++)
            if (!strcmp(r->action, action_names[k]))
                a = k;
        if (a < 0) {
            fmt_snprintf(err, err_size, "%s:%u: script: '%s' is not available in this build "
                     "(start, stop and checkpoint are)", file, r->line, r->action);
            return -1;
        }
        const char *target = r->args[0] ? r->args : a != SCRIPT_START ? r->partition : NULL;
        if (!target) {
            fmt_snprintf(err, err_size, "%s:%u: script: start needs the name of the partition "
                     "to start", file, r->line);
            return -1;
        }
        if (!manifest_find_partition(m, target)) {
            fmt_snprintf(err, err_size, "%s:%u: script: %s: no partition is named '%s'", file,
                     r->line, r->action, target);
            return -1;
        }
        s->actions[i] = (enum script_action)a;
        memcpy(s->targets[i], target, strlen(target) + 1);
    }
    return 0;
}

static bool contains(const char *hay, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    if (k == 0 || k > n)
        return false;
    for (size_t i = 0; i + k <= n; i++)
        if (!memcmp(hay + i, needle, k))
            return true;
    return false;
}

unsigned script_feed(struct script *s, const char *partition, const char *text, size_t len,
                     uint32_t *ran, unsigned max)
{
    unsigned n = 0;
    while (s->next < s->count && n < max) {
        const struct manifest_rule *r = &s->rules[s->next];
        if (strcmp(r->partition, partition) || !contains(text, len, r->text))
            break;
        ran[n++] = s->next++;
    }
    return n;
}
