/* The built-in control commands: status, list, start, stop, log, op-status, checkpoint,
 * snapshot, restore. */
#ifndef ATOLL_NET_CONTROL_CTL_COMMANDS_H
#define ATOLL_NET_CONTROL_CTL_COMMANDS_H
#include "net/control/ctl_hv_ops.h"
#include "net/control/ctl_server.h"


#define CTL_LOG_DEFAULT_BYTES 4096u
#define CTL_LOG_MAX_BYTES     (CTL_MAX_REPLY_PAYLOAD - 64u)

struct ctl_commands {
    const struct ctl_hv_ops *ops;
    void *hv;
    const struct ctl_server *srv;   /* for connection counters in status */
    char log_buf[CTL_LOG_MAX_BYTES];
    char msg_buf[96];
    char checkpoint_msg[320];       /* and snapshot's, restore's */
};

/* Registers every built-in handler on srv; cmds must outlive the server.  0 or -1. */
int ctl_commands_register(struct ctl_server *srv, struct ctl_commands *cmds,
                          const struct ctl_hv_ops *ops, void *hv);


#endif
