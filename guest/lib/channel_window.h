/* The channel window a peer maps granted pages into: [4 GiB, 5 GiB) of guest-physical. */
#ifndef ATOLL_GUEST_CHANNEL_WINDOW_H
#define ATOLL_GUEST_CHANNEL_WINDOW_H

#define CHANNEL_WINDOW_GPA 0x100000000ull   /* hv/core/channel_grants.h CHANNEL_WINDOW_BASE */

/* Maps the window identity with 2 MiB pages in the boot page tables, so that a mapped
 * grant can be touched at its guest-physical address. */
void channel_window_map(void);

#endif
