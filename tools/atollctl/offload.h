/* `atollctl offload read|write|copy`: token-based copies inside one host (hv/offload/TOKEN.md). */
#ifndef ATOLL_TOOLS_ATOLLCTL_OFFLOAD_H
#define ATOLL_TOOLS_ATOLLCTL_OFFLOAD_H
#include <stdbool.h>
#include "tools/atollctl/client.h"

#define OFFLOAD_SYNOPSIS "offload read|write|copy|grant|pull|fetch|store ..."
#define OFFLOAD_HELP \
    "offload read SRC TOKENFILE      a token for SRC, saved to TOKENFILE (mode 0600)\n" \
    "offload write TOKENFILE DST [TOKENOFF[+LEN]]   the token's data into DST\n" \
    "offload copy SRC DST            both: the data never passes through atollctl\n" \
    "SRC: [disk:]PATH[@OFFSET[+LENGTH]], DST: [disk:]PATH[@OFFSET]: a pool file, or with\n" \
    "disk: the contents of a VHDX in the pool; sizes take K, M, G.  The token may cover less\n" \
    "than asked (end of file, whole sectors): read says how much.  write and copy show a\n" \
    "progress bar, and exit 1 when fewer bytes were written than the token covers.\n" \
    "Between two hosts that never exchanged keys (both pin this client's key):\n" \
    "offload grant TOKENFILE DEST_KEY GRANTFILE [LIFETIME_MS]   (--host: the source A, which\n" \
    "                                issued the token) signs a grant naming A's key, DEST_KEY\n" \
    "                                (host B's fingerprint), the token, an expiry (default 60 s)\n" \
    "offload pull GRANTFILE A.B.C.D[:PORT] DST [TOKENOFF[+LEN]]   (--host: B) B connects to A's\n" \
    "                                offload link (A's control port + 4), shows the grant and\n" \
    "                                writes the data into DST; the data never passes through\n" \
    "                                atollctl (it prints the bytes it moved: control messages)\n" \
    "The other way, through atollctl itself (plain reads and writes, 12 KiB and 3.5 KiB a\n" \
    "request; what the offload commands avoid, e.g. to compare with them):\n" \
    "offload fetch SRC LOCALFILE     SRC's bytes into a file here\n" \
    "offload store LOCALFILE DST     a file here into DST (a disk: 512-byte sectors)\n" \
    "                                both print the bytes through atollctl (--json too)"

/* pos[0] is read, write or copy; npos counts it. */
int offload_command(int npos, const char *const *pos, bool json, struct client *c);

#endif
