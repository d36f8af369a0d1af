/*
 * The virtual GPU's command buffer format: the guest contract between a video client
 * partition and the video service partition (VSP).  A buffer is a sequence of commands,
 * each starting with struct vgpu_cmd_hdr; every field is little-endian; a command's size
 * counts its header, is a multiple of 4 and is at least 4.  The structs below are the
 * layout (natural alignment, explicit padding); the VSP never casts them over client
 * bytes, it reads each field by offset (guest/vsp/vsp_cmd_parse.c).  Reserved fields must
 * be zero.  guest/vsp/VGPU.md describes each command and every refusal.
 */
#ifndef ATOLL_GUEST_VSP_VGPU_CMD_H
#define ATOLL_GUEST_VSP_VGPU_CMD_H
#include <stdint.h>

enum vgpu_op {
    VGPU_OP_SURFACE_CREATE = 1,
    VGPU_OP_SURFACE_DESTROY = 2,
    VGPU_OP_FILL = 3,
    VGPU_OP_BLIT = 4,
    VGPU_OP_DRAW = 5,
    VGPU_OP_PRESENT = 6,
    VGPU_OP_FENCE = 7,
    VGPU_OP_OVERLAY_SET = 8,
    VGPU_OP_OVERLAY_DESTROY = 9,
    VGPU_OP_SHADER_UPLOAD = 10,
};

enum vgpu_format {
    VGPU_FMT_XRGB8888 = 1,      /* 32 bpp, bytes B G R X; alpha reads as 255 */
    VGPU_FMT_ARGB8888 = 2,      /* 32 bpp, bytes B G R A, premultiplied alpha */
    VGPU_FMT_NV12 = 3,          /* Y plane (stride x height), then interleaved U V plane
                                   (stride x height/2); width and height even */
    VGPU_FMT_YUY2 = 4,          /* 16 bpp, Y0 U Y1 V per two pixels; width even */
};

/* Limits of one client context. */
#define VGPU_MAX_SURFACES 32u
#define VGPU_MAX_SHADERS 16u
#define VGPU_MAX_OVERLAYS 8u
#define VGPU_MAX_DIM 4096u          /* surface width and height */
#define VGPU_MAX_UNIFORMS 8u        /* 4-lane uniforms of a draw */
#define VGPU_TEXTURES 4u
#define VGPU_NO_SURFACE 0xffffu     /* an unused texture slot; PRESENT: withdraw the window */
#define VGPU_BUILTIN_SHADER 0x8000u /* DRAW shader ids from here name the VSP's own shaders */

struct vgpu_cmd_hdr {
    uint16_t op;
    uint16_t size;                  /* bytes, header included */
};

struct vgpu_rect {
    uint32_t x, y, w, h;            /* inside a surface */
};

struct vgpu_cmd_surface_create {    /* 32 bytes */
    struct vgpu_cmd_hdr hdr;
    uint16_t surface, format;
    uint32_t width, height, stride; /* stride: bytes per row (the Y plane's for NV12) */
    uint32_t reserved;
    uint64_t gpa;                   /* guest-physical address of the pixels, in the client's RAM */
};

struct vgpu_cmd_surface_destroy {   /* 8 bytes */
    struct vgpu_cmd_hdr hdr;
    uint16_t surface, reserved;
};

struct vgpu_cmd_fill {              /* 28 bytes */
    struct vgpu_cmd_hdr hdr;
    uint16_t surface, reserved;
    struct vgpu_rect rect;
    uint32_t argb;                  /* 0xAARRGGBB, premultiplied for ARGB8888 */
};

struct vgpu_cmd_blit {              /* 32 bytes */
    struct vgpu_cmd_hdr hdr;
    uint16_t dst, src;
    uint32_t dst_x, dst_y;
    struct vgpu_rect src_rect;
};

struct vgpu_cmd_draw {              /* 32 bytes + 16 per uniform */
    struct vgpu_cmd_hdr hdr;
    uint16_t dst, shader;
    struct vgpu_rect rect;
    uint16_t texture[VGPU_TEXTURES];
    /* followed by up to VGPU_MAX_UNIFORMS uniforms of int32_t[4] (the size says how many) */
};

struct vgpu_cmd_present {           /* 32 bytes */
    struct vgpu_cmd_hdr hdr;
    uint16_t surface;               /* VGPU_NO_SURFACE: withdraw the client's window */
    int16_t z;
    int32_t x, y;                   /* the window's place on the screen */
    struct vgpu_rect damage;        /* what changed in the surface; w == 0: all of it */
};

struct vgpu_cmd_fence {             /* 16 bytes */
    struct vgpu_cmd_hdr hdr;
    uint32_t reserved;
    uint64_t value;                 /* completed once every earlier command has run */
};

enum vgpu_key_mode { VGPU_KEY_NONE = 0, VGPU_KEY_SOURCE = 1, VGPU_KEY_DEST = 2 };
#define VGPU_OVERLAY_BILINEAR 0x01u /* else nearest */
#define VGPU_OVERLAY_BT709 0x02u    /* else BT.601 (YUV sources) */

struct vgpu_cmd_overlay_set {       /* 52 bytes: creates or updates overlay `overlay` */
    struct vgpu_cmd_hdr hdr;
    uint8_t overlay, flags;
    int16_t z;
    uint16_t surface;
    uint8_t alpha;                  /* 255 opaque */
    uint8_t key_mode;               /* enum vgpu_key_mode */
    struct vgpu_rect src;           /* inside the surface */
    int32_t dst_x, dst_y;           /* on the screen; dst_w/dst_h against src.w/h is the scale */
    uint32_t dst_w, dst_h;
    uint32_t key;                   /* 0x00RRGGBB */
    uint32_t reserved;
};

struct vgpu_cmd_overlay_destroy {   /* 8 bytes */
    struct vgpu_cmd_hdr hdr;
    uint8_t overlay, reserved[3];
};

struct vgpu_cmd_shader_upload {     /* 8 bytes + 8 per instruction */
    struct vgpu_cmd_hdr hdr;
    uint16_t shader, count;
    /* followed by count instructions (struct vgpu_insn, guest/vsp/vsp_shader.h) */
};

#endif
