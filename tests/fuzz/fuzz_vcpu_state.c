/* libFuzzer: hostile VCPU sections.  The input is a section's payload (sealed into a
 * stream, so it gets past the CRCs); whatever vcpu_state_load accepts then meets every
 * check a restore runs (what a host offers, the MSR values through a CPUID view), and
 * must save and load again to the same state. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hv/core/vcpu_state_check.h"
#include "hv/core/vcpu_state_desc.h"

static uint8_t stream[64 * 1024], again[64 * 1024];
static struct vcpu_state s, t;

static struct cpuid_result leaf_d(uint32_t leaf, uint32_t subleaf)
{
    static const struct cpuid_result sub[10] = {
        [2] = { 256, 576, 0, 0 }, [3] = { 64, 960, 0, 0 }, [4] = { 64, 1024, 0, 0 },
        [5] = { 64, 1088, 0, 0 }, [6] = { 512, 1152, 0, 0 }, [7] = { 1024, 1664, 0, 0 },
        [9] = { 8, 2688, 0, 0 },
    };
    if (leaf == 0xd && subleaf < 10)
        return sub[subleaf];
    return (struct cpuid_result){ 0, 0, 0, 0 };
}

static uint32_t view_bits;

static void view(void *ctx, uint32_t leaf, uint32_t subleaf, struct cpuid_result *out)
{
    (void)ctx;
    (void)subleaf;
    *out = (struct cpuid_result){ 0, 0, 0, 0 };
    if (leaf == 0)
        out->eax = 7;
    if (leaf == 1) {
        out->edx = (1u << 4) | (view_bits & 1 ? 1u << 12 : 0);
        out->ecx = view_bits & 2 ? (1u << 3) | (1u << 7) | (1u << 14) : 0;
    }
    if (leaf == 7) {
        out->ebx = view_bits & 4 ? 1u << 1 : 0;
        out->edx = view_bits & 8 ? (1u << 26) | (1u << 27) | (1u << 31) : 0;
    }
}

static size_t seal(uint16_t version, const uint8_t *payload, size_t len, uint8_t *out, size_t cap)
{
    struct state_writer w;
    state_writer_init(&w, out, cap);
    state_begin(&w, vcpu_state_desc.id, 0, version, 0);
    state_put_bytes(&w, payload, len);
    state_end(&w);
    return state_writer_finish(&w);
}

static int load(const uint8_t *buf, size_t len, struct vcpu_state *out)
{
    char err[STATE_ERR_LEN];
    struct state_kind kind = state_desc_kind(&vcpu_state_desc);
    struct state_reader r;
    struct state_section sec;
    if (state_reader_open(&r, buf, len, &kind, 1) != 0 || state_reader_next(&r, &sec) != 1)
        return -1;
    return vcpu_state_load(&sec, out, err, sizeof(err));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    view_bits = data[0];
    uint16_t version = (data[1] & 1) ? 1 : vcpu_state_desc.version;
    size_t len = seal(version, data + 2, size - 2, stream, sizeof(stream));
    if (!len || load(stream, len, &s) != 0)
        return 0;
    static const struct vcpu_state_offer offers[2] = {
        { .cr4_allowed = 0x3767ff, .xcr0_offered = 0x2ff, .xsave_size = 2696,
          .mxcsr_mask = 0xffff, .phys_addr_bits = 46, .host = leaf_d },
        { .cr4_allowed = 0x6ff, .xcr0_offered = 0, .xsave_size = 512, .mxcsr_mask = 0,
          .phys_addr_bits = 36, .host = leaf_d },
    };
    for (unsigned i = 0; i < 2; i++)
        (void)vcpu_state_not_offered(&s, &offers[i]);
    struct vcpu_msrs m = { 0 };
    struct msr_guest g = { view, NULL, &m, 12345 };
    if (!vcpu_state_msrs_apply(&s, &g)) {
        memset(&t, 0, sizeof(t));
        vcpu_state_msrs_capture(&t, &g);
        if (t.misc_enable != s.misc_enable || t.spec_ctrl != s.spec_ctrl ||
            t.mtrr_def_type != s.mtrr_def_type || t.tsc_adjust != s.tsc_adjust ||
            t.tsc_offset != s.tsc_offset || memcmp(t.mtrr_fixed, s.mtrr_fixed, sizeof(t.mtrr_fixed)))
            abort();
    }
    /* an accepted state saves and loads back unchanged */
    struct state_writer w;
    state_writer_init(&w, again, sizeof(again));
    if (!vcpu_state_save(&w, 0, &s))
        abort();
    size_t n = state_writer_finish(&w);
    if (!n || load(again, n, &t) != 0 || vcpu_state_first_difference(&s, &t))
        abort();
    return 0;
}
