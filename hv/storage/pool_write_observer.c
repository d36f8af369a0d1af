/* The registry of pool write observers (hv/storage/pool_write_observer.h). */
#include "hv/storage/pool_write_observer.h"

#include <stddef.h>

struct observer {
    pool_write_observer_fn fn;  /* NULL: free; stored last (release), read first (acquire) */
    void *ctx;
};

static struct observer observers[POOL_WRITE_OBSERVERS_MAX];

int pool_write_observer_add(pool_write_observer_fn fn, void *ctx)
{
    for (unsigned i = 0; i < POOL_WRITE_OBSERVERS_MAX; i++) {
        if (__atomic_load_n(&observers[i].fn, __ATOMIC_ACQUIRE))
            continue;
        observers[i].ctx = ctx;
        __atomic_store_n(&observers[i].fn, fn, __ATOMIC_RELEASE);
        return 0;
    }
    return -1;
}

void pool_write_observer_remove(pool_write_observer_fn fn, void *ctx)
{
    for (unsigned i = 0; i < POOL_WRITE_OBSERVERS_MAX; i++)
        if (observers[i].fn == fn && observers[i].ctx == ctx)
            __atomic_store_n(&observers[i].fn, NULL, __ATOMIC_RELEASE);
}

void pool_write_note(enum pool_write_what what, const char *path, uint64_t off, uint64_t len)
{
    if (!path || !*path || !len)
        return;
    for (unsigned i = 0; i < POOL_WRITE_OBSERVERS_MAX; i++) {
        pool_write_observer_fn fn = __atomic_load_n(&observers[i].fn, __ATOMIC_ACQUIRE);
        if (fn)
            fn(observers[i].ctx, what, path, off, len);
    }
}
