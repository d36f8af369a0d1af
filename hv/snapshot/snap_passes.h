/*
 * When a live snapshot stops re-saving and pauses (hv/snapshot/SNAPSHOT.md, "Live").  After
 * the full copy of RAM, each harvest of the write tracking gives the blocks written since the
 * last one; they are re-saved in a pass while the guest runs, until the next pass would be
 * short enough to do paused, the pass limit is reached, or the passes stop shrinking (the
 * guest writes as fast as they save).  Portable.
 */
#ifndef ATOLL_HV_SNAPSHOT_SNAP_PASSES_H
#define ATOLL_HV_SNAPSHOT_SNAP_PASSES_H
#include <stdbool.h>
#include <stdint.h>

#define SNAP_PASSES_MAX        8u       /* re-save passes while the guest runs */
#define SNAP_PASSES_SMALL      16u      /* blocks (1 MiB): few enough to save paused */

enum snap_pass_next { SNAP_PASS_AGAIN, SNAP_PASS_PAUSE };

/* passes_done: re-save passes run so far (0 after the full copy); dirty: blocks written
 * since the last harvest; last_pass: blocks the pass just run saved (the full copy's count
 * after it).  The first re-save pass always runs when anything was written: the full copy
 * is long, and what it leaves behind is the most a pass can win. */
enum snap_pass_next snap_passes_next(uint32_t passes_done, uint64_t dirty, uint64_t last_pass);

#endif
