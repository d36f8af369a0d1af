/*
 * A frame you can look at: the display's framebuffer, as the video-service partition last
 * composed it, written to the storage pool as PNG (hv/lib/png_write.h) under FILE.part and
 * renamed to FILE once it is complete (snapshot_pool.h).  The hypervisor reads the
 * framebuffer itself rather than asking the service for a frame: it owns the display, the
 * pixels are what the screen shows, and a service that misbehaves cannot hand it others.
 * The capture is of a completed frame: it holds the display between two of the service's
 * composes (HC_DISPLAY_FRAME, hv/core/vgpu_frame.h), waiting up to 500 ms for one in
 * progress to end, and the service starts none while the PNG is written.  A service
 * that does not bracket its composes gets no such guarantee.
 */
#ifndef ATOLL_HV_CORE_DISPLAY_CAPTURE_H
#define ATOLL_HV_CORE_DISPLAY_CAPTURE_H
#include <stdbool.h>
#include <stddef.h>

/* Writes the PNG; one line either way ("atoll: capture: ..."), also into msg. */
bool display_capture(const char *path, char *msg, size_t msg_size);

#endif
