/*
 * One client's proxy context: its surfaces (in its own RAM), shaders, overlays, window,
 * fence and last refusal, and the execution of its command buffers on the engine.  Every
 * command is checked against the context before it runs; a refused command ends its
 * buffer, is reported to the client, and touches nothing (the context stays usable).
 */
#ifndef ATOLL_GUEST_VSP_VSP_CONTEXT_H
#define ATOLL_GUEST_VSP_VSP_CONTEXT_H
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "guest/vsp/vgpu_cmd.h"
#include "guest/vsp/vsp_compose.h"
#include "guest/vsp/vsp_engine.h"
#include "guest/vsp/vsp_err.h"
#include "guest/vsp/vsp_shader.h"
#include "guest/vsp/vsp_surface.h"

#define VSP_COST_COMMAND 64     /* engine units every command costs, drawing or not */

/* A client's RAM as the VSP maps it: a pointer valid for [gpa, gpa + len), or NULL when
 * that range is not all inside the client's RAM. */
struct vsp_client_ram {
    void *ctx;
    uint8_t *(*map)(void *ctx, uint64_t gpa, uint64_t len);
};

struct vsp_window {
    bool live;
    uint16_t surface;
    int16_t z;
    int32_t x, y;
    struct vsp_shader *shader;          /* ARGB windows blend (built-in); XRGB: NULL */
};

struct vsp_overlay {
    bool live;
    uint16_t surface;
    uint8_t flags, alpha, key_mode;
    int16_t z;
    uint32_t key;
    struct vgpu_rect src;
    struct vsp_screen_rect dst;
    int32_t uniform[8][4];
    struct vsp_shader shader;           /* built for this overlay's options */
};

struct vsp_context {
    struct vsp_client_ram ram;
    void (*damage)(void *arg, const struct vsp_screen_rect *r);    /* screen area changed */
    void *damage_arg;
    struct vsp_surface surface[VGPU_MAX_SURFACES];
    struct vsp_shader shader[VGPU_MAX_SHADERS];
    struct vsp_overlay overlay[VGPU_MAX_OVERLAYS];
    struct vsp_window window;
    struct vsp_shader window_blend;     /* the window shader for ARGB surfaces */
    int32_t window_uniform[8][4];
    struct vsp_shader scratch;          /* a built-in shader a DRAW names */
    uint64_t fence;
    struct vsp_client_error error;
    /* where execution stands in the current buffer */
    bool in_command;                    /* a command was cut: resume at pos */
    struct vsp_pos pos;
    uint64_t commands;                  /* commands completed */
};

void vsp_context_init(struct vsp_context *c, const struct vsp_client_ram *ram,
                      void (*damage)(void *arg, const struct vsp_screen_rect *r), void *arg);
/* Damages every screen area the context shows (windows, overlays): before it leaves. */
void vsp_context_damage_all(struct vsp_context *c);

enum vsp_exec {
    VSP_EXEC_DONE,          /* the buffer ran to its end */
    VSP_EXEC_REFUSED,       /* a command was refused: the rest of the buffer is dropped */
    VSP_EXEC_CUT,           /* the budget ran out: call again with *off as it is */
};

/* Runs buf[*off..len) on the engine while *budget is positive, subtracting the units it
 * used and advancing *off past completed commands. */
enum vsp_exec vsp_context_exec(struct vsp_context *c, const struct vsp_engine_ops *eng,
                               const uint8_t *buf, size_t len, size_t *off, int64_t *budget);

/* The client wrote [gpa, gpa + len): damages the screen where visible surfaces show it. */
void vsp_context_damage_gpa(struct vsp_context *c, uint64_t gpa, uint64_t len);

/* Appends the context's layers (window first, then overlays) to out; returns how many. */
size_t vsp_context_layers(const struct vsp_context *c, uint8_t client, struct vsp_layer *out);

#endif
