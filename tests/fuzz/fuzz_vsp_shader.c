/* Hostile pixel shaders: the verifier must refuse or accept every program, and an
 * accepted one must run on a few pixels (over textures of every format, with coordinates
 * anywhere) within the cost the verifier computed, touching nothing outside its textures. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guest/vsp/vsp_shader.h"

static struct vsp_shader sh;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t *pix[4];
    static struct vsp_surface s[4] = {
        { true, VGPU_FMT_XRGB8888, 3, 2, 12, 0, 24, NULL },
        { true, VGPU_FMT_ARGB8888, 1, 1, 4, 0, 4, NULL },
        { true, VGPU_FMT_YUY2, 2, 2, 4, 0, 8, NULL },
        { true, VGPU_FMT_NV12, 2, 2, 2, 0, 6, NULL },
    };
    if (!pix[0])
        for (unsigned i = 0; i < 4; i++) {
            pix[i] = malloc(s[i].bytes);       /* exact sizes: ASan sees overreads */
            memset(pix[i], 0x77, s[i].bytes);
            s[i].pix = pix[i];
        }
    if (size < 8)
        return 0;
    int32_t bad;
    uint32_t count = (uint32_t)(size / 8);
    if (vsp_shader_verify(data, count, &sh, &bad) != VSP_V_OK) {
        if (sh.live || bad >= (int32_t)count)
            abort();
        return 0;
    }
    struct vsp_shader_env env;
    memset(&env, 0, sizeof(env));
    for (unsigned t = 0; t < 4; t++)
        env.tex[t] = (struct vsp_texture){ &s[t], 0, 0, s[t].w, s[t].h };
    for (unsigned i = 0; i < 8; i++)
        for (unsigned l = 0; l < 4; l++)
            env.uniform[i][l] = (int32_t)(0x9e3779b9u * (i * 4 + l + 1));
    const int32_t at[4][2] = { { 0, 0 }, { -5, 7 }, { INT32_MAX, INT32_MIN }, { 1, 1 } };
    for (unsigned k = 0; k < 4; k++) {
        int32_t px[4] = { 1, 2, 3, 4 };
        bool killed;
        uint32_t ran = vsp_shader_run(&sh, &env, at[k][0], at[k][1], px, &killed);
        if (ran > sh.cost || (!killed && ran != sh.cost))
            abort();
        for (unsigned l = 0; l < 4; l++)
            if (!killed && (px[l] < 0 || px[l] > 255))
                abort();
    }
    return 0;
}
