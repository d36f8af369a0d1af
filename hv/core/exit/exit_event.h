/*
 * Which event a vCPU takes at its next entry, vendor-neutral.  An NMI goes before an
 * external interrupt; each is taken only when the guest can take it now, otherwise the
 * backend is asked to exit as soon as it can (an interrupt or NMI window).  An event the
 * backend already queued for the entry (re-queued or raised by an exit) goes first: it
 * passes windows that are both closed, and only the window requests come back.
 *
 * event_next is portable and host-tested over struct event_source; vcpu_next_event
 * (platform_glue.c) runs it over the vCPU's interrupt controllers under the partition's
 * lock, taken once.
 */
#ifndef ATOLL_HV_CORE_EXIT_EVENT_H
#define ATOLL_HV_CORE_EXIT_EVENT_H
#include <stdbool.h>
#include <stdint.h>

struct event_windows {
    bool irq_open;          /* RFLAGS.IF and no STI or MOV SS blocking */
    bool nmi_open;          /* no STI, MOV SS or NMI blocking */
    bool nmi_unblocked;     /* NMI blocking is clear: the guest has left its NMI handler */
};

enum pending_event_kind { PENDING_NONE, PENDING_NMI, PENDING_EXTINT };

struct pending_event {
    enum pending_event_kind kind;
    uint8_t vector;         /* PENDING_EXTINT, acknowledged at its controller */
    bool irq_window;        /* exit when an interrupt can be taken: one still waits */
    bool nmi_window;        /* exit when an NMI can be taken: one still waits */
};

/* The vCPU's interrupt controllers (its LAPIC and, for the BSP, the PIC). */
struct event_source {
    void *ctx;
    void (*nmi_unblocked)(void *ctx);
    bool (*nmi_pending)(void *ctx);
    bool (*take_nmi)(void *ctx);            /* consumes the NMI; false if none was there */
    int (*pending_vector)(void *ctx);       /* the highest-priority vector, or -1 */
    void (*ack)(void *ctx, uint8_t vector); /* the vector pending_vector just returned */
};

/* True when out holds an event to inject now; the window requests are set either way. */
bool event_next(const struct event_source *s, const struct event_windows *w,
                struct pending_event *out);

#endif
