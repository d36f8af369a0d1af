#include "hv/core/hypercall_args.h"

#include <stdbool.h>
#include "hv/core/channel_grants.h"
#include "hv/core/hypercall_abi.h"
#include "hv/core/vgpu_surfaces.h"

/* [gpa, gpa + len) inside [0, ram_size), with no sum that can wrap. */
static bool in_ram(uint64_t gpa, uint64_t len, uint64_t ram_size)
{
    return gpa < ram_size && len <= ram_size - gpa;
}

int64_t hypercall_check_args(uint64_t nr, const uint64_t arg[4], uint64_t ram_size)
{
    switch (nr) {
    case HC_VERSION:
    case HC_PARTITION_INFO:
    case HC_VCPU_ID:
    case HC_TIME_NS:
    case HC_EXIT:               /* any status: the guest's own business */
        return 0;
    case HC_CONSOLE_WRITE:      /* (gpa, len) */
        if (arg[1] > HC_CONSOLE_WRITE_MAX)
            return -HC_EINVAL;
        return in_ram(arg[0], arg[1], ram_size) ? 0 : -HC_EFAULT;
    case HC_CHANNEL_GRANT:      /* (gpa, pages, peer id, vector); the peer is looked up later */
        return channel_check_grant_args(arg[0], arg[1], arg[3], ram_size);
    case HC_CHANNEL_MAP:        /* (handle, gpa, vector); the grant's size is checked later */
        if (arg[0] == 0 || arg[0] > CHANNEL_HANDLE_MAX)
            return -HC_ENOENT;
        return channel_check_map_args(arg[1], arg[2]);
    case HC_CHANNEL_NOTIFY:     /* (handle) */
    case HC_CHANNEL_REVOKE:
        return arg[0] == 0 || arg[0] > CHANNEL_HANDLE_MAX ? -HC_ENOENT : 0;
    case HC_DISPLAY_INFO ... HC_DISPLAY_FRAME:
        return vgpu_check_args(nr, arg, ram_size);
    default:
        return -HC_ENOSYS;
    }
}
