/* The vhdx tool's disk-job commands (copy, convert, compact, defrag, merge), driving
 * hv/storage/disk_job in steps with a progress bar, --json and truthful exit statuses. */
#ifndef ATOLL_TOOLS_VHDX_JOBS_H
#define ATOLL_TOOLS_VHDX_JOBS_H
#include <stddef.h>
#include <stdint.h>

int vhdx_cmd_copy(int argc, char **argv);
int vhdx_cmd_convert(int argc, char **argv);
int vhdx_cmd_compact(int argc, char **argv);
int vhdx_cmd_defrag(int argc, char **argv);
int vhdx_cmd_merge(int argc, char **argv);
void vhdx_sha256(void *ctx, const void *data, size_t len, uint8_t out[32]);

#endif
