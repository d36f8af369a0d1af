#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "drivers/fb/psf_font.h"

static uint8_t buf[32 + 512 * 32];

static size_t make_psf2(uint32_t count, uint32_t w, uint32_t h)
{
    uint32_t row = (w + 7) / 8, hdr[8] = { 0x864ab572u, 0, 32, 0, count, row * h, h, w };
    memcpy(buf, hdr, sizeof(hdr));
    for (uint32_t i = 0; i < count * row * h; i++)
        buf[32 + i] = (uint8_t)i;
    return 32 + (size_t)count * row * h;
}

static void psf1_8x16(void **state)
{
    uint8_t f[4 + 256 * 16] = { 0x36, 0x04, 0x00, 16 };
    f[4 + 'A' * 16] = 0x18;
    struct psf_font font;
    assert_true(psf_parse(f, sizeof(f), &font));
    assert_int_equal(font.width, 8);
    assert_int_equal(font.height, 16);
    assert_int_equal(font.count, 256);
    assert_int_equal(psf_glyph(&font, 'A')[0], 0x18);
}

static void psf2_good_and_truncated(void **state)
{
    size_t len = make_psf2(256, 10, 20);
    struct psf_font font;
    assert_true(psf_parse(buf, len, &font));
    assert_int_equal(font.bytes_per_row, 2);
    assert_int_equal(font.bytes_per_glyph, 40);
    for (size_t cut = 0; cut < len; cut += 97)
        assert_false(psf_parse(buf, cut, &font));
}

static void psf2_hostile_headers(void **state)
{
    struct psf_font font;
    size_t len = make_psf2(256, 8, 16);
    uint32_t bad_header = 0xffffff00u;
    memcpy(buf + 8, &bad_header, 4);
    assert_false(psf_parse(buf, len, &font));
    len = make_psf2(256, 8, 16);
    uint32_t huge_count = 0x40000000u;
    memcpy(buf + 16, &huge_count, 4);
    assert_false(psf_parse(buf, len, &font));
    len = make_psf2(256, 8, 16);
    uint32_t wrong_bpg = 3;
    memcpy(buf + 20, &wrong_bpg, 4);
    assert_false(psf_parse(buf, len, &font));
    assert_false(psf_parse("junk", 4, &font));
}

static void glyph_out_of_range_is_question_mark(void **state)
{
    size_t len = make_psf2(128, 8, 16);
    struct psf_font font;
    assert_true(psf_parse(buf, len, &font));
    assert_ptr_equal(psf_glyph(&font, 200), psf_glyph(&font, '?'));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(psf1_8x16),
        cmocka_unit_test(psf2_good_and_truncated),
        cmocka_unit_test(psf2_hostile_headers),
        cmocka_unit_test(glyph_out_of_range_is_question_mark),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
