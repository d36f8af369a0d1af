#include "tests/unit/vsp_host_lanes.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>

#define SPINS 20000     /* pauses before a worker sleeps (~1 ms) */

struct worker {
    struct vsp_host_lanes *h;
    unsigned lane;
    pthread_t thread;
};

struct vsp_host_lanes {
    struct vsp_lanes lanes;
    struct worker w[16];
    pthread_mutex_t lock;
    pthread_cond_t wake;
    _Atomic unsigned long generation;
    _Atomic unsigned finished;
    _Atomic bool stop;
    void (*job)(void *, unsigned);
    void *arg;
    unsigned long runs;
};

static unsigned long next_job(struct vsp_host_lanes *h, unsigned long seen)
{
    for (unsigned i = 0; i < SPINS; i++) {
        unsigned long g = atomic_load_explicit(&h->generation, memory_order_acquire);
        if (g != seen)
            return g;
        __builtin_ia32_pause();
    }
    pthread_mutex_lock(&h->lock);
    unsigned long g;
    while ((g = atomic_load_explicit(&h->generation, memory_order_acquire)) == seen)
        pthread_cond_wait(&h->wake, &h->lock);
    pthread_mutex_unlock(&h->lock);
    return g;
}

static void *worker_main(void *p)
{
    struct worker *w = p;
    struct vsp_host_lanes *h = w->h;
    unsigned long seen = 0;
    for (;;) {
        seen = next_job(h, seen);
        if (atomic_load(&h->stop))
            return NULL;
        h->job(h->arg, w->lane);
        atomic_fetch_add_explicit(&h->finished, 1, memory_order_release);
    }
}

static void run(void *ctx, void (*job)(void *, unsigned), void *arg)
{
    struct vsp_host_lanes *h = ctx;
    h->runs++;
    h->job = job;
    h->arg = arg;
    atomic_store_explicit(&h->finished, 0, memory_order_relaxed);
    pthread_mutex_lock(&h->lock);
    atomic_fetch_add_explicit(&h->generation, 1, memory_order_release);
    pthread_cond_broadcast(&h->wake);
    pthread_mutex_unlock(&h->lock);
    job(arg, 0);
    /* the others may wait for a CPU this thread holds: spin a little, then give it up */
    for (unsigned i = 0; atomic_load_explicit(&h->finished, memory_order_acquire) != h->lanes.count - 1; i++)
        if (i < SPINS)
            __builtin_ia32_pause();
        else
            sched_yield();
}

struct vsp_host_lanes *vsp_host_lanes_start(unsigned count)
{
    if (count < 2 || count > 16)
        return NULL;
    struct vsp_host_lanes *h = calloc(1, sizeof(*h));
    if (!h)
        return NULL;
    h->lanes = (struct vsp_lanes){ .count = count, .run = run, .ctx = h };
    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->wake, NULL);
    for (unsigned i = 1; i < count; i++) {
        h->w[i] = (struct worker){ .h = h, .lane = i };
        if (pthread_create(&h->w[i].thread, NULL, worker_main, &h->w[i])) {
            h->lanes.count = i;
            vsp_host_lanes_stop(h);
            return NULL;
        }
    }
    return h;
}

const struct vsp_lanes *vsp_host_lanes(struct vsp_host_lanes *h)
{
    return &h->lanes;
}

unsigned long vsp_host_lanes_runs(const struct vsp_host_lanes *h)
{
    return h->runs;
}

void vsp_host_lanes_stop(struct vsp_host_lanes *h)
{
    if (!h)
        return;
    atomic_store(&h->stop, true);
    pthread_mutex_lock(&h->lock);
    atomic_fetch_add(&h->generation, 1);
    pthread_cond_broadcast(&h->wake);
    pthread_mutex_unlock(&h->lock);
    for (unsigned i = 1; i < h->lanes.count; i++)
        pthread_join(h->w[i].thread, NULL);
    pthread_mutex_destroy(&h->lock);
    pthread_cond_destroy(&h->wake);
    free(h);
}
