#include "guest/vsp/vsp_err.h"

static const char *const names[VSP_E_COUNT] = {
    [VSP_OK] = "ok",
    [VSP_E_TRUNCATED] = "command runs past the end of the buffer",
    [VSP_E_BAD_OP] = "unknown opcode",
    [VSP_E_BAD_SIZE] = "wrong command size",
    [VSP_E_RESERVED] = "reserved field not zero",
    [VSP_E_BAD_ID] = "id out of range",
    [VSP_E_IN_USE] = "id already in use",
    [VSP_E_NO_SURFACE] = "no such surface",
    [VSP_E_BAD_FORMAT] = "format not usable here",
    [VSP_E_BAD_DIMS] = "width, height or stride out of range",
    [VSP_E_OUT_OF_RAM] = "surface not inside the client's RAM",
    [VSP_E_OUT_OF_BOUNDS] = "rectangle not inside its surface",
    [VSP_E_BAD_SCALE] = "overlay scale beyond 1/16..16",
    [VSP_E_NO_SHADER] = "no such shader",
    [VSP_E_SHADER_REFUSED] = "shader refused by the verifier",
    [VSP_E_TEXTURE] = "a texture the shader samples is not bound",
    [VSP_E_QUEUE_FULL] = "queue full",
};

const char *vsp_err_name(enum vsp_err e)
{
    if ((unsigned)e >= VSP_E_COUNT)
        return "unknown error";
    return names[e];
}
