/* Minimal <stdlib.h> for the freestanding third-party builds (tools/deps/third_party.mk):
 * declarations only; the kernel provides what a library actually calls. */
#ifndef ATOLL_DEPS_SHIM_STDLIB_H
#define ATOLL_DEPS_SHIM_STDLIB_H
#include <stddef.h>

int atoi(const char *s);

#endif
