/* The order events are taken in at an entry (exit_event.h). */
#include "hv/core/exit/exit_event.h"

bool event_next(const struct event_source *s, const struct event_windows *w,
                struct pending_event *out)
{
    *out = (struct pending_event){ .kind = PENDING_NONE };
    if (w->nmi_unblocked)
        s->nmi_unblocked(s->ctx);
    bool nmi = s->nmi_pending(s->ctx);
    if (nmi && w->nmi_open && s->take_nmi(s->ctx)) {
        out->kind = PENDING_NMI;
        out->vector = 2;
        out->nmi_window = s->nmi_pending(s->ctx);       /* one latched behind it */
        out->irq_window = s->pending_vector(s->ctx) >= 0;
        return true;
    }
    out->nmi_window = nmi;
    int vector = s->pending_vector(s->ctx);
    if (vector < 0)
        return false;
    if (!w->irq_open) {
        out->irq_window = true;
        return false;
    }
    s->ack(s->ctx, (uint8_t)vector);
    out->kind = PENDING_EXTINT;
    out->vector = (uint8_t)vector;
    out->irq_window = s->pending_vector(s->ctx) >= 0;
    return true;
}
