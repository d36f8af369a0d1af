/* Host glue for the VHDX module: a vhdx_io on a POSIX file, an env with malloc, random
 * GUIDs from /dev/urandom and parents found beside the child. */
#ifndef ATOLL_TOOLS_VHDX_FILE_H
#define ATOLL_TOOLS_VHDX_FILE_H
#include <stdbool.h>

#include "hv/storage/vhdx.h"

extern const struct vhdx_env vhdx_host_env;

/* Opens (or, with create, creates and truncates) path as a vhdx_io. 0 or -errno. */
int vhdx_file_open(const char *path, bool writable, bool create, struct vhdx_io *io);
void vhdx_file_close(struct vhdx_io *io);

/* Opens an image file and the VHDX on it; on failure prints nothing, fills err. */
int vhdx_host_open(const char *path, unsigned flags, struct vhdx **d, struct vhdx_io *io,
                   struct vhdx_err *err);
/* Counts one write-like event; dies there when VHDX_CUT_AFTER says so (power-cut trials). */
void vhdx_file_cut_point(void);
int vhdx_host_close(struct vhdx *d, struct vhdx_io *io, struct vhdx_err *err);

#endif
