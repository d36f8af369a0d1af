/*
 * The queue behind worker tasks (hv/core/worker.h): items of work with a priority and an
 * owner, taken in this order:
 *   - a higher priority first, always (URGENT before NORMAL before BACKGROUND);
 *   - within one priority, owners take turns (round robin in owner-number order), so one
 *     owner that queues a thousand items does not hold back another's one;
 *   - one owner's items at one priority run in the order they were queued.
 * The queue is bounded: a push beyond its capacity is refused with WORK_EFULL.  A queued
 * item can be cancelled and then never runs; a running one cannot.  Items belong to the
 * caller (no allocation); an item is pushed again only once it is idle.
 * Portable and unlocked: the caller serialises (worker.c holds a spinlock).
 */
#ifndef ATOLL_HV_CORE_WORKER_QUEUE_H
#define ATOLL_HV_CORE_WORKER_QUEUE_H
#include <stdbool.h>
#include <stdint.h>

enum work_prio { WORK_URGENT, WORK_HIGH, WORK_NORMAL, WORK_BACKGROUND, WORK_PRIOS };
enum work_state { WORK_IDLE, WORK_QUEUED, WORK_RUNNING };

struct work_item;
typedef void (*work_fn)(struct work_item *w);

struct work_item {
    work_fn fn;
    void *arg;
    enum work_prio prio;
    uint32_t owner;             /* who queued it (a partition, a service): the fairness key */
    /* Kept by the queue. */
    enum work_state state;
    struct work_item *next;
};

enum { WORK_OK = 0, WORK_EFULL = -1, WORK_EBUSY = -2, WORK_EINVAL = -3 };

struct work_queue {
    struct work_item *head[WORK_PRIOS], *tail[WORK_PRIOS];
    uint32_t last_owner[WORK_PRIOS];    /* the owner served last at each priority */
    bool served[WORK_PRIOS];
    unsigned count, capacity;
};

void work_queue_init(struct work_queue *q, unsigned capacity);
/* Queues w: WORK_OK, WORK_EFULL (capacity items queued), WORK_EBUSY (w is queued or
 * running), WORK_EINVAL (no fn, or a priority out of range). */
int work_queue_push(struct work_queue *q, struct work_item *w);
/* The next item to run (now WORK_RUNNING), or NULL. */
struct work_item *work_queue_pop(struct work_queue *q);
/* Takes w out if it is still queued (it will not run): true; false if it is not queued. */
bool work_queue_cancel(struct work_queue *q, struct work_item *w);
/* The caller finished running w: it is idle again and may be pushed anew. */
void work_queue_done(struct work_queue *q, struct work_item *w);
/* What a push's result means, e.g. "worker queue full", for the caller's message. */
const char *work_queue_error(int rc);

#endif
