#include "hv/core/end_verdict.h"

#include "hv/lib/format.h"

static const char *kind_name(enum end_kind k)
{
    switch (k) {
    case END_KIND_EXIT: return "exit";
    case END_KIND_KILLED: return "killed";
    case END_KIND_STOPPED: return "stopped";
    default: return "no end";
    }
}

static void describe(char *out, size_t size, const struct end_record *e)
{
    if (e->kind == END_KIND_EXIT)
        fmt_snprintf(out, size, "exit %d", e->status);
    else if (e->reason && (e->kind == END_KIND_KILLED || e->kind == END_KIND_STOPPED))
        fmt_snprintf(out, size, "%s: %s", kind_name(e->kind), e->reason);
    else
        fmt_snprintf(out, size, "%s", kind_name(e->kind));
}

bool end_verdict(const char *name, const struct end_record *want, const struct end_record *got,
                 char *why, size_t why_size)
{
    if (got->kind == want->kind && (want->kind != END_KIND_EXIT || got->status == want->status))
        return true;
    char w[32], g[200];
    struct end_record bare_want = { want->kind, want->status, NULL };
    describe(w, sizeof(w), &bare_want);
    describe(g, sizeof(g), got);
    fmt_snprintf(why, why_size, "%s: expected %s, got %s", name, w, g);
    return false;
}
