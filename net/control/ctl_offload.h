/* The offload control commands (CTL_MSG_OFFLOAD_READ .. CTL_MSG_OFFLOAD_STORE): decode the
 * request, call the hypervisor's offload ops, encode.  Portable; registered by
 * ctl_commands_register with the same ops and context. */
#ifndef ATOLL_NET_CONTROL_CTL_OFFLOAD_H
#define ATOLL_NET_CONTROL_CTL_OFFLOAD_H
#include "net/control/ctl_commands.h"

int ctl_offload_register(struct ctl_server *srv, struct ctl_commands *cmds);

#endif
