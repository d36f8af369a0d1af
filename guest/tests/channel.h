/* What the two channel test guests agree on. */
#ifndef ATOLL_GUEST_TESTS_CHANNEL_H
#define ATOLL_GUEST_TESTS_CHANNEL_H

#include "guest/lib/channel_window.h"

#define CHANNEL_OWNER_ID    1           /* partition ids follow the manifest's order */
#define CHANNEL_PEER_ID     2
#define CHANNEL_HANDLE      1           /* the first grant of the machine */
#define CHANNEL_OWNER_VEC   0x41
#define CHANNEL_PEER_VEC    0x42
#define CHANNEL_PEER_GPA    CHANNEL_WINDOW_GPA
#define CHANNEL_REQUEST     "request from the owner"
#define CHANNEL_REPLY       "reply from the peer"

struct channel_page {
    volatile unsigned state;            /* 1: request written, 2: reply written */
    char request[64];
    char reply[64];
};

#endif
