/* Why the proxy refused a client's command, submission or shader. */
#ifndef ATOLL_GUEST_VSP_VSP_ERR_H
#define ATOLL_GUEST_VSP_VSP_ERR_H
#include <stdint.h>

enum vsp_err {
    VSP_OK = 0,
    VSP_E_TRUNCATED,        /* the command runs past the end of its buffer */
    VSP_E_BAD_OP,           /* unknown opcode */
    VSP_E_BAD_SIZE,         /* a size that is not the command's (or not a multiple of 4) */
    VSP_E_RESERVED,         /* a reserved field is not zero */
    VSP_E_BAD_ID,           /* surface, shader, overlay or client id out of range */
    VSP_E_IN_USE,           /* creating an id that exists */
    VSP_E_NO_SURFACE,       /* naming a surface that does not exist */
    VSP_E_BAD_FORMAT,       /* unknown format, or one the command cannot use */
    VSP_E_BAD_DIMS,         /* width, height or stride out of range */
    VSP_E_OUT_OF_RAM,       /* a surface's pixels are not all inside the client's RAM */
    VSP_E_OUT_OF_BOUNDS,    /* a rectangle not inside its surface */
    VSP_E_BAD_SCALE,        /* an overlay scaled beyond 1/16..16 */
    VSP_E_NO_SHADER,        /* a draw names a shader not uploaded */
    VSP_E_SHADER_REFUSED,   /* the verifier refused the shader (see the detail) */
    VSP_E_TEXTURE,          /* a draw leaves a texture its shader samples unbound */
    VSP_E_QUEUE_FULL,       /* the client's queue has no room: submit again later */
    VSP_E_COUNT
};

/* A refusal as the client learns it. */
struct vsp_client_error {
    enum vsp_err err;
    uint32_t offset;        /* of the refused command in its buffer */
    uint16_t op;            /* its opcode */
    int32_t shader_insn;    /* VSP_E_SHADER_REFUSED: the refused instruction, else -1 */
    int shader_why;         /* VSP_E_SHADER_REFUSED: enum vsp_verify_err */
    uint64_t refusals;      /* all refusals of this client so far */
};

/* A short phrase for the code ("unknown opcode"). */
const char *vsp_err_name(enum vsp_err e);

#endif
