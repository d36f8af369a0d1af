/* Unit tests: boot/efi/manifest_scan (which files the UEFI loader loads for a manifest). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "boot/efi/manifest_scan.h"

static struct manifest_files files;

static int scan(const char *text)
{
    return manifest_scan_files(text, strlen(text), &files);
}

static void test_collects_image_initrd_identity_key(void **state)
{
    assert_int_equal(scan("[hypervisor]\nidentity-key = host.key\n"
                          "[partition a]\nmemory = 64M\nimage = vmlinuz\nboot = linux\n"
                          "initrd=initrd.img\ncmdline = image = not-a-file\n"),
                     0);
    assert_int_equal(files.count, 3);
    assert_string_equal(files.names[0], "host.key");
    assert_string_equal(files.names[1], "vmlinuz");
    assert_string_equal(files.names[2], "initrd.img");
}

static void test_comments_blanks_crlf_and_spaces(void **state)
{
    assert_int_equal(scan("# image = commented.bin\n\r\n  image\t=\tguest.bin   # trailing\r\n"
                          "initrd = last.bin"),
                     0);
    assert_int_equal(files.count, 2);
    assert_string_equal(files.names[0], "guest.bin");
    assert_string_equal(files.names[1], "last.bin");
}

static void test_duplicates_and_manifest_itself_skipped(void **state)
{
    assert_int_equal(scan("image = a.bin\ninitrd = a.bin\nimage = atoll.cfg\nimage = b.bin\n"), 0);
    assert_int_equal(files.count, 2);
    assert_string_equal(files.names[0], "a.bin");
    assert_string_equal(files.names[1], "b.bin");
}

static void test_invalid_names_left_to_the_hypervisor(void **state)
{
    char long_name[80];
    memset(long_name, 'x', 64);
    long_name[64] = '\0';
    char text[128];
    snprintf(text, sizeof(text), "image = %s\n", long_name);
    assert_int_equal(scan("image = ../etc/passwd\nimage = a b\nimage = \"q.bin\"\nimage =\n"
                          "images = x.bin\nimage = \\EFI\\x\n"),
                     0);
    assert_int_equal(files.count, 0);
    assert_int_equal(scan(text), 0);
    assert_int_equal(files.count, 0);
    long_name[63] = '\0';
    snprintf(text, sizeof(text), "image = %s\n", long_name);
    assert_int_equal(scan(text), 0);
    assert_int_equal(files.count, 1);
}

static void test_too_many_files(void **state)
{
    char text[4096];
    size_t off = 0;
    for (int i = 0; i < MANIFEST_SCAN_MAX_FILES; i++)
        off += (size_t)snprintf(text + off, sizeof(text) - off, "image = g%d.bin\n", i);
    assert_int_equal(scan(text), 0);
    assert_int_equal(files.count, MANIFEST_SCAN_MAX_FILES);
    snprintf(text + off, sizeof(text) - off, "initrd = one-more.bin\n");
    assert_int_equal(scan(text), -1);
}

static void test_binary_garbage_and_embedded_nul(void **state)
{
    const char text[] = "image = a.bin\n\0image = b.bin\n\xff\xfe=\n=\n";
    assert_int_equal(manifest_scan_files(text, sizeof(text) - 1, &files), 0);
    assert_int_equal(files.count, 1); /* "\0image" is no key the loader knows */
    assert_int_equal(manifest_scan_files(text, 0, &files), 0);
    assert_int_equal(files.count, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_collects_image_initrd_identity_key),
        cmocka_unit_test(test_comments_blanks_crlf_and_spaces),
        cmocka_unit_test(test_duplicates_and_manifest_itself_skipped),
        cmocka_unit_test(test_invalid_names_left_to_the_hypervisor),
        cmocka_unit_test(test_too_many_files),
        cmocka_unit_test(test_binary_garbage_and_embedded_nul),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
