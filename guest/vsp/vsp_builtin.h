/*
 * The VSP's own pixel shaders: overlays are drawn by them (sampling nearest or bilinear,
 * YUV to RGB by BT.601 or BT.709, source or destination colour key, global alpha and
 * premultiplied OVER), built from the same instruction set clients use and passed through
 * the same verifier.  A client's DRAW may name one as VGPU_BUILTIN_SHADER | bits.
 */
#ifndef ATOLL_GUEST_VSP_VSP_BUILTIN_H
#define ATOLL_GUEST_VSP_VSP_BUILTIN_H
#include <stdbool.h>
#include <stdint.h>

#include "guest/vsp/vsp_shader.h"

#define VSP_BUILTIN_BILINEAR 0x01u  /* else nearest */
#define VSP_BUILTIN_YUV 0x02u       /* texture 0 is YUV: convert by the matrix in U2..U5 */
#define VSP_BUILTIN_KEY_SRC 0x04u   /* discard where the source is the key (U7 R G B) */
#define VSP_BUILTIN_KEY_DST 0x08u   /* discard where the destination is not the key */
#define VSP_BUILTIN_BLEND 0x10u     /* source times U7.a / 255, then OVER the destination */
#define VSP_BUILTIN_BITS 0x1fu

/* Builds and verifies the built-in shader for bits; false for bits it does not know. */
bool vsp_builtin_shader(uint32_t bits, struct vsp_shader *out);

/* The uniforms of the built-in shaders: scale from a src_w x src_h window to dst_w x
 * dst_h pixels (at most 16 times either way), the YUV matrix, key 0x00RRGGBB, alpha. */
void vsp_builtin_uniforms(int32_t u[8][4], uint32_t src_w, uint32_t src_h, uint32_t dst_w,
                          uint32_t dst_h, bool bilinear, bool bt709, uint32_t key, uint8_t alpha);

#endif
