/* What a CPU's SVM must offer before partitions run there: everything QEMU's TCG offers
 * on -cpu max (NPT, 16 ASIDs, no NRIPS) is enough; each requirement taken away in turn is
 * refused, with its words. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hv/svm/svm_caps.h"

static struct svm_caps qemu_max(void)
{
    return (struct svm_caps){ .svm = true, .npt = true, .nrips = false, .long_mode = true,
                              .nx = true, .asids = 16 };
}

static void qemu_tcg_is_enough(void **state)
{
    (void)state;
    struct svm_caps c = qemu_max();
    assert_null(svm_caps_missing(&c));
    c.nrips = true;
    c.flush_by_asid = true;
    assert_null(svm_caps_missing(&c));
}

static void refused(struct svm_caps c, const char *what)
{
    const char *missing = svm_caps_missing(&c);
    assert_non_null(missing);
    assert_string_equal(missing, what);
}

static void each_requirement_is_refused(void **state)
{
    (void)state;
    struct svm_caps c = qemu_max();
    c.svm = false;
    refused(c, "SVM");
    c = qemu_max();
    c.disabled = true;
    refused(c, "SVM enabled by the firmware (VM_CR.SVMDIS is set)");
    c = qemu_max();
    c.npt = false;
    refused(c, "nested paging (NPT)");
    c = qemu_max();
    c.asids = 1;                    /* ASID 0 is the host's */
    refused(c, "a guest ASID");
    c = qemu_max();
    c.long_mode = false;
    refused(c, "long mode");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(qemu_tcg_is_enough),
        cmocka_unit_test(each_requirement_is_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
