/*
 * Who gets a listener's slot when a new connection comes and every slot is taken: the one
 * fairness choice of the control server, the offload link and the two migration targets,
 * so that one peer address cannot keep the others out.  Portable; the caller describes its
 * slots as an array of struct peer_slot (rebuilt at each accept, it is a few entries) and
 * does what the choice says.
 *
 * A slot is waiting while its peer has not yet shown who it is (TLS handshake unfinished,
 * nothing sent); waiting slots count against their peer's address.  Sessions past that
 * (authenticated) are never chosen.  For a newcomer from address X, with u(A) the waiting
 * slots of address A and V the other address with the most of them (ties: the one waiting
 * longest):
 *   - a free slot: it is the newcomer's;
 *   - X holds more than half the slots while V waits too: refused at once;
 *   - V holds more than X would with the newcomer (u(V) > u(X) + 1): V's oldest makes way;
 *   - V holds as many (u(V) == u(X) + 1): V's oldest makes way only once V's turn is over,
 *     PEER_SLOTS_TURN_MS (the caller's turn_ms) since V began to wait, so that a flood from
 *     X cannot take V's slot before V has had time to finish its handshake;
 *   - otherwise X's own oldest waiting slot makes way (its turn goes on), or, X holding
 *     none, the newcomer is refused.
 * With one slot (the migration targets) this gives turns: a silent or flooding peer keeps
 * the slot at most turn_ms against another address, whose handshake then keeps it for
 * turn_ms however many connections the first address opens meanwhile.  Addresses are
 * what one address can do; many addresses share the slots as the rules above say.
 */
#ifndef ATOLL_HV_LIB_PEER_SLOTS_H
#define ATOLL_HV_LIB_PEER_SLOTS_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A TLS handshake and the first message, on a loaded emulator, with room to spare. */
#define PEER_SLOTS_TURN_MS 5000u

struct peer_slot {
    bool used;
    bool authenticated;     /* past its handshake: never chosen */
    uint32_t addr;          /* the peer's IPv4 address (any byte order, the same for all) */
    uint64_t order;         /* when it was taken, in the caller's count: smaller is older */
    uint64_t turn_ms;       /* since when its address has waited (peer_slots_choose's turn) */
};

enum peer_slots_verdict {
    PEER_SLOT_FREE,         /* take .slot, it is free */
    PEER_SLOT_EVICT,        /* close .slot's connection, then take it */
    PEER_SLOT_REFUSE,       /* close the newcomer */
};

struct peer_slots_choice {
    enum peer_slots_verdict verdict;
    int slot;               /* -1 with PEER_SLOT_REFUSE */
    uint64_t turn_ms;       /* the newcomer's turn_ms: now, or its address's when it
                               replaces one of its own */
};

struct peer_slots_choice peer_slots_choose(const struct peer_slot *slots, size_t n,
                                           uint32_t addr, uint64_t now_ms, uint64_t turn_ms);

/* "A.B.C.D" as a number (A in the top byte); 0 when the text is not that. */
uint32_t peer_slots_ipv4(const char *text);

#endif
