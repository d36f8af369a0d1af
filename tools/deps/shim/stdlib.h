/* Minimal <stdlib.h> for the freestanding third-party builds (tools/deps/third_party.mk):
 * declarations only; the kernel provides what a library actually calls. */
#ifndef ATOLL_DEPS_SHIM_STDLIB_H
#define ATOLL_DEPS_SHIM_STDLIB_H
#include <stddef.h>

int atoi(const char *s);                /* lwIP's netif_find */

/* GCC's mm_malloc.h (reached from <x86intrin.h> in BearSSL's x86ni files) names these in
 * inline functions nobody calls; declared so that they are not implicit. */
void *malloc(size_t size);
void free(void *p);

#endif
