/* Hostile vGPU command buffers: the input, cut into buffers, is submitted by one client
 * of the proxy (small RAM, small budget slices) beside a well-behaved one; every command
 * must be run or refused without reading or writing outside the client's RAM, the other
 * client's picture must come out the same, and composing must stay inside the frame. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "guest/vsp/vsp.h"

#define RAM 65536u
static uint8_t *ram[2];
static struct vsp v;
static uint8_t frame[96][128 * 4];
static const struct vsp_fb fb = { &frame[0][0], 128, 96, 128 * 4 };

static uint8_t *map(void *ctx, uint64_t gpa, uint64_t len)
{
    return gpa <= RAM && len <= RAM - gpa ? (uint8_t *)ctx + gpa : NULL;
}

static const uint8_t good_buffer[] = {
    /* surface 0: XRGB 16 x 16, stride 64, at 0 */
    1, 0, 32, 0, 0, 0, 1, 0, 16, 0, 0, 0, 16, 0, 0, 0, 64, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0,
    /* fill all of it 0x00a0b0c0 */
    3, 0, 28, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0, 0, 16, 0, 0, 0,
    0xc0, 0xb0, 0xa0, 0,
    /* present at (100, 70), z 5 */
    6, 0, 32, 0, 0, 0, 5, 0, 100, 0, 0, 0, 70, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!ram[0]) {
        ram[0] = malloc(RAM);                   /* exactly RAM bytes: ASan sees overruns */
        ram[1] = malloc(RAM);
    }
    memset(ram[0], 0, RAM);
    memset(ram[1], 0x5a, RAM);
    struct vsp_config cfg = { 128, 96, 0x101010, 200000, 5000 };
    if (!vsp_init(&v, &cfg))
        abort();
    struct vsp_client_ram r0 = { ram[0], map }, r1 = { ram[1], map };
    int good = vsp_client_add(&v, 1, &r0), bad = vsp_client_add(&v, 3, &r1);
    vsp_submit(&v, good, good_buffer, sizeof(good_buffer));
    /* the input: buffers separated by a length byte (in words) */
    size_t off = 0;
    while (off < size) {
        size_t words = data[off++];
        size_t len = words * 4 < size - off ? words * 4 : (size - off) & ~(size_t)3;
        if (len && vsp_submit(&v, bad, data + off, len) == VSP_E_QUEUE_FULL)
            break;
        off += len;
        vsp_run(&v, 20000);
        vsp_period(&v);
        if (words & 1) {                        /* now and then the platform reports writes */
            vsp_damage_gpa(&v, bad, (uint64_t)words << 8, 4096);
            vsp_compose(&v, &fb, NULL, 0);
        }
    }
    for (int i = 0; i < 50 && vsp_run(&v, 100000) > 0; i++)
        vsp_period(&v);
    vsp_compose_damage_all(&v.comp);
    vsp_compose(&v, &fb, NULL, 0);
    /* the good client's work happened as it asked */
    if (vsp_client_last_error(&v, good)->err != VSP_OK)
        abort();
    for (unsigned i = 0; i < 16 * 16; i++)
        if (memcmp(ram[0] + (i / 16) * 64 + (i % 16) * 4, "\xc0\xb0\xa0\xff", 4))
            abort();
    vsp_client_remove(&v, bad);
    vsp_client_remove(&v, good);
    return 0;
}
