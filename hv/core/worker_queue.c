/* Priorities, round robin between owners within one, FIFO within an owner. */
#include "hv/core/worker_queue.h"

#include <string.h>

void work_queue_init(struct work_queue *q, unsigned capacity)
{
    memset(q, 0, sizeof(*q));
    q->capacity = capacity;
}

int work_queue_push(struct work_queue *q, struct work_item *w)
{
    if (!w->fn || (unsigned)w->prio >= WORK_PRIOS)
        return WORK_EINVAL;
    if (w->state != WORK_IDLE)
        return WORK_EBUSY;
    if (q->count >= q->capacity)
        return WORK_EFULL;
    w->next = NULL;
    w->state = WORK_QUEUED;
    if (q->tail[w->prio])
        q->tail[w->prio]->next = w;
    else
        q->head[w->prio] = w;
    q->tail[w->prio] = w;
    q->count++;
    return WORK_OK;
}

static void unlink_item(struct work_queue *q, struct work_item *prev, struct work_item *w)
{
    enum work_prio p = w->prio;
    if (prev)
        prev->next = w->next;
    else
        q->head[p] = w->next;
    if (q->tail[p] == w)
        q->tail[p] = prev;
    w->next = NULL;
    q->count--;
}

/* The owner whose turn it is at priority p: the lowest owner above the last one served,
 * or, past the highest, the lowest of all. */
static uint32_t next_owner(const struct work_queue *q, enum work_prio p)
{
    bool above = false, any = false;
    uint32_t best_above = 0, lowest = 0;
    for (const struct work_item *w = q->head[p]; w; w = w->next) {
        if (!any || w->owner < lowest)
            lowest = w->owner;
        any = true;
        if (q->served[p] && w->owner > q->last_owner[p] && (!above || w->owner < best_above)) {
            best_above = w->owner;
            above = true;
        }
    }
    return above ? best_above : lowest;
}

struct work_item *work_queue_pop(struct work_queue *q)
{
    for (unsigned p = 0; p < WORK_PRIOS; p++) {
        if (!q->head[p])
            continue;
        uint32_t owner = next_owner(q, (enum work_prio)p);
        struct work_item *prev = NULL, *w = q->head[p];
        while (w->owner != owner) {
            prev = w;
            w = w->next;
        }
        unlink_item(q, prev, w);
        q->last_owner[p] = owner;
        q->served[p] = true;
        w->state = WORK_RUNNING;
        return w;
    }
    return NULL;
}

bool work_queue_cancel(struct work_queue *q, struct work_item *w)
{
    if (w->state != WORK_QUEUED || (unsigned)w->prio >= WORK_PRIOS)
        return false;
    struct work_item *prev = NULL;
    for (struct work_item *i = q->head[w->prio]; i; prev = i, i = i->next) {
        if (i == w) {
            unlink_item(q, prev, w);
            w->state = WORK_IDLE;
            return true;
        }
    }
    return false;
}

void work_queue_done(struct work_queue *q, struct work_item *w)
{
    (void)q;
    if (w->state == WORK_RUNNING)
        w->state = WORK_IDLE;
}

const char *work_queue_error(int rc)
{
    switch (rc) {
    case WORK_OK:     return "queued";
    case WORK_EFULL:  return "worker queue full";
    case WORK_EBUSY:  return "work item already queued or running";
    case WORK_EINVAL: return "work item without a function or with a priority out of range";
    default:          return "unknown worker queue error";
    }
}
