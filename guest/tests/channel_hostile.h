/* What the hostile channel guests agree on (tests/system/manifests/channel-hostile.cfg). */
#ifndef ATOLL_GUEST_TESTS_CHANNEL_HOSTILE_H
#define ATOLL_GUEST_TESTS_CHANNEL_HOSTILE_H

#include "guest/lib/channel_window.h"
#include <stdint.h>

#define HOG_ID              1           /* partition ids follow the manifest's order */
#define PEER_ID             2
/* Partitions 3 (dying) and 4 (toucher) map the hog's grant whose handle is their id. */

#define HOG_SHARED_HANDLE   1           /* the hog's first grants: handles 1, 2, 3, ... */
#define HOG_SHARED_PAGES    4           /* to the peer */
#define HOG_WRAP_HANDLE     2           /* 2 pages to the peer, for the wrapping maps */
#define HOG_WRAP_MARKER     "a page of the hog, granted for a wrapping map"

#define HOG_VEC             0x41
#define PEER_VEC            0x42
#define TOUCHER_VEC         0x43
#define WINDOW_GPA          CHANNEL_WINDOW_GPA
#define WINDOW_END_GPA      0x200000000ull  /* CHANNEL_WINDOW_END */

struct hog_page {
    volatile unsigned state;            /* 1: the hog's share of grants is exhausted */
    volatile unsigned granted;          /* grants it got before the refusal */
    volatile int64_t refused;           /* what the refusal returned */
    volatile uint64_t beat;             /* the hog keeps counting here until it is stopped */
};

#endif
