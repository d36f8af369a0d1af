#include "hv/core/hypercall.h"

#include "hv/arch/x86/tsc.h"
#include "hv/core/channel.h"
#include "hv/core/hypercall_abi.h"
#include "hv/core/hypercall_args.h"
#include "hv/core/partition.h"
#include "hv/core/vgpu.h"

#define CONSOLE_WRITE_MAX 4096

static int64_t console_write_hc(struct vcpu *v, uint64_t gpa, uint64_t len)
{
    struct partition *p = v->part;
    if (len > CONSOLE_WRITE_MAX)
        return -HC_EINVAL;
    if (!guest_mem_contains(&p->mem, gpa, len))
        return -HC_EFAULT;
    char buf[256];
    for (uint64_t done = 0; done < len; ) {
        uint64_t n = len - done < sizeof(buf) ? len - done : sizeof(buf);
        guest_mem_read(&p->mem, gpa + done, buf, n);
        uint64_t f = spin_lock_irqsave(&p->lock);
        p->platform.console_write(p, buf, n);
        spin_unlock_irqrestore(&p->lock, f);
        done += n;
    }
    return (int64_t)len;
}

int64_t hypercall_dispatch(struct vcpu *v, uint64_t nr, const uint64_t arg[4])
{
    uint64_t a0 = arg[0], a1 = arg[1];
    int64_t result = hypercall_check_args(nr, arg, v->part->mem.size);
    if (result < 0)
        return result;
    switch (nr) {
    case HC_VERSION:
        result = HC_ABI_VERSION;
        break;
    case HC_CONSOLE_WRITE:
        result = console_write_hc(v, a0, a1);
        break;
    case HC_PARTITION_INFO:
        result = (int64_t)(((uint64_t)v->part->vcpu_count << 32) | v->part->id);
        break;
    case HC_VCPU_ID:
        result = v->index;
        break;
    case HC_EXIT:
        partition_exit(v->part, (int)a0);
        result = 0;
        break;
    case HC_CHANNEL_GRANT:
        result = channel_grant(v->part, a0, a1, arg[2], arg[3]);
        break;
    case HC_CHANNEL_MAP:
        result = channel_map(v->part, a0, a1, arg[2]);
        break;
    case HC_CHANNEL_NOTIFY:
        result = channel_notify(v->part, a0);
        break;
    case HC_CHANNEL_REVOKE:
        result = channel_revoke(v->part, a0);
        break;
    case HC_TIME_NS:
        result = (int64_t)(time_ns() - v->part->start_ns);
        break;
    case HC_DISPLAY_INFO ... HC_DISPLAY_FRAME:
        result = vgpu_hypercall(v->part, nr, arg);
        break;
    default:
        result = -HC_ENOSYS;
        break;
    }
    return result;
}
