/*
 * The graphics proxy of the video service partition: one context per client partition,
 * each executing its command buffers (guest/vsp/vgpu_cmd.h) on the engine within the
 * slices its time bank grants, and a compositor that builds the frame from every client's
 * presented window and overlays, recomposing only damaged tiles.  Portable and
 * freestanding: no allocation (the caller owns struct vsp, about 1 MiB), no hardware.  The
 * platform maps each client's RAM (struct vsp_client_ram), moves command buffers in
 * (vsp_submit), runs the scheduler (vsp_run, vsp_period), feeds damage from write tracking
 * (vsp_damage_gpa) and composes into the framebuffer (vsp_compose).  Not thread-safe: one
 * CPU drives it.
 */
#ifndef ATOLL_GUEST_VSP_VSP_H
#define ATOLL_GUEST_VSP_VSP_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest/vsp/vgpu_cmd.h"
#include "guest/vsp/vsp_compose.h"
#include "guest/vsp/vsp_context.h"
#include "guest/vsp/vsp_err.h"
#include "guest/vsp/vsp_timebank.h"

#define VSP_MAX_CLIENTS VSP_TIMEBANK_MAX
#define VSP_QUEUE_BUFFERS 64u          /* submitted buffers a client may have queued */
#define VSP_QUEUE_BYTES 65536u          /* submitted, not yet executed bytes per client */

struct vsp_config {
    uint32_t screen_w, screen_h;        /* at most VSP_MAX_SCREEN_W x VSP_MAX_SCREEN_H */
    uint32_t background;                /* 0x00RRGGBB where no window or overlay is */
    int64_t period_units;               /* engine work the banks share per period */
    int64_t slice_units;                /* the most one client runs before another may */
};

struct vsp_client {
    bool present;
    struct vsp_context ctx;             /* surfaces, shaders, overlays, fences, error */
    uint8_t queue[VSP_QUEUE_BYTES];     /* copies of submitted buffers, back to back */
    uint32_t tail;                      /* bytes of queue in use */
    struct { uint32_t start, end; } buffer[VSP_QUEUE_BUFFERS];     /* buffer[0] runs */
    uint32_t buffers;
    uint32_t offset;                    /* executed up to here in buffer[0] */
    uint64_t cuts;                      /* slices the budget ended inside a command */
};

struct vsp {
    struct vsp_config cfg;
    struct vsp_client client[VSP_MAX_CLIENTS];
    struct vsp_timebank bank;
    struct vsp_compositor comp;
    uint64_t units_run;                 /* engine work done, all clients */
    uint64_t units_idle;                /* vsp_run's units left over: nobody could run */
};

/* False when the configuration is out of range. */
bool vsp_init(struct vsp *v, const struct vsp_config *cfg);
/* A new client context with its bank weight (1..VSP_MAX_WEIGHT) and RAM: its id, or -1. */
int vsp_client_add(struct vsp *v, uint32_t weight, const struct vsp_client_ram *ram);
/* How many of the client's slices the budget ended inside a command. */
uint64_t vsp_client_cuts(const struct vsp *v, int client);
/* The client leaves: its windows and overlays go (their screen area is damaged), its bank
 * and queue are dropped. */
void vsp_client_remove(struct vsp *v, int client);
/* Copies one command buffer into the client's queue.  VSP_OK, or VSP_E_QUEUE_FULL (try
 * again after the engine ran), VSP_E_BAD_ID, VSP_E_BAD_SIZE (len 0, not a multiple of 4,
 * above VSP_QUEUE_BYTES).  The buffer is checked command by command as it runs. */
enum vsp_err vsp_submit(struct vsp *v, int client, const void *buf, size_t len);
/* Runs the engine for up to `units` of work, client by client in slices granted by the
 * time bank; returns the units used.  When every client with work has an empty bank it
 * stops early: the caller waits for the period's end (vsp_period). */
int64_t vsp_run(struct vsp *v, int64_t units);
/* The period ended: every bank is refilled by its weight (debt carries over). */
void vsp_period(struct vsp *v);
/* Whether the client has submitted work not yet executed. */
bool vsp_client_busy(const struct vsp *v, int client);
/* The last fence value the client's commands reached (0 before any). */
uint64_t vsp_fence_completed(const struct vsp *v, int client);
/* The client's last refused command (err VSP_OK when none): code, offset of the command
 * in its buffer, shader verifier detail.  Refusals end that buffer only. */
const struct vsp_client_error *vsp_client_last_error(const struct vsp *v, int client);

/* Write tracking saw the client write [gpa, gpa + len): the screen area showing those
 * bytes (a presented window or an overlay's source) is damaged. */
void vsp_damage_gpa(struct vsp *v, int client, uint64_t gpa, uint64_t len);
/* Damages a screen rectangle (clipped to the screen). */
void vsp_damage_screen(struct vsp *v, const struct vsp_screen_rect *r);
/* Recomposes every damaged tile (the damage list adds to what is already noted) into fb
 * and clears the damage.  Returns the tiles recomposed; stats add up over calls. */
uint32_t vsp_compose(struct vsp *v, const struct vsp_fb *fb,
                     const struct vsp_screen_rect *damage, size_t n);

#endif
