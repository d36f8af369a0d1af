/* What a CPU's VT-x must offer before partitions run there, on capability values as Bochs
 * 2.7's corei7_sandy_bridge_2600k reports them (all there), each requirement taken away in
 * turn.  No Bochs model has EPT and unrestricted guest without the preemption timer or the
 * EFER/PAT controls, so these cases are proven here. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "hv/vmx/vmx_caps.h"

static struct vmx_caps full(void)
{
    struct vmx_caps c;
    memset(&c, 0, sizeof(c));
    c.vmx = c.ept = c.unrestricted = c.vpid = c.ept_wb = c.ept_2m = c.invept = c.invvpid = true;
    c.preemption_timer = c.virtual_nmis = c.true_ctls = true;
    c.pinbased = 0x0000007f00000016ull;
    c.procbased = 0xfff9fffe04006172ull;
    c.procbased2 = 0x000000ff00000000ull;
    c.exit = 0x007fffff00036dfbull;
    c.entry = 0x0000ffff000011fbull;
    c.ept_vpid_cap = 0x00000f0106114141ull;
    return c;
}

static void everything_there_is_usable(void **state)
{
    (void)state;
    struct vmx_caps c = full();
    assert_null(vmx_caps_missing(&c));
    assert_true(vmx_caps_usable(&c));
}

static void refused(struct vmx_caps c, const char *what)
{
    assert_false(vmx_caps_usable(&c));
    assert_non_null(vmx_caps_missing(&c));
    assert_string_equal(vmx_caps_missing(&c), what);
}

static void preemption_timer_is_required(void **state)
{
    (void)state;
    struct vmx_caps c = full();
    c.preemption_timer = false;
    refused(c, "the VMX preemption timer");
}

static void efer_controls_are_required(void **state)
{
    (void)state;
    struct vmx_caps c = full();
    c.exit &= ~(1ull << (32 + 21));                 /* load IA32_EFER on exit */
    refused(c, "EFER load and save controls");
    c = full();
    c.exit &= ~(1ull << (32 + 20));                 /* save IA32_EFER on exit */
    refused(c, "EFER load and save controls");
    c = full();
    c.entry &= ~(1ull << (32 + 15));                /* load IA32_EFER on entry */
    refused(c, "EFER load and save controls");
}

static void pat_controls_are_required(void **state)
{
    (void)state;
    struct vmx_caps c = full();
    c.exit &= ~(1ull << (32 + 19));
    refused(c, "PAT load and save controls");
    c = full();
    c.exit &= ~(1ull << (32 + 18));
    refused(c, "PAT load and save controls");
    c = full();
    c.entry &= ~(1ull << (32 + 14));
    refused(c, "PAT load and save controls");
}

static void exiting_controls_are_required(void **state)
{
    (void)state;
    struct vmx_caps c = full();
    c.pinbased &= ~(1ull << 32);                    /* external-interrupt exiting */
    refused(c, "external-interrupt and NMI exiting");
    c = full();
    c.procbased &= ~(1ull << (32 + 25));            /* I/O bitmaps */
    refused(c, "HLT exiting, I/O and MSR bitmaps");
    c = full();
    c.procbased |= 1ull << 15;                      /* CR3-load exiting forced on */
    refused(c, "HLT exiting, I/O and MSR bitmaps");
    c = full();
    c.exit &= ~(1ull << (32 + 9));                  /* 64-bit host */
    refused(c, "64-bit host and guest controls");
}

static void the_older_requirements_stay(void **state)
{
    (void)state;
    struct vmx_caps c = full();
    c.unrestricted = false;
    refused(c, "unrestricted guest");
    c = full();
    c.locked_off = true;
    refused(c, "permission (VMX locked off by firmware)");
    c = full();
    c.virtual_nmis = false;
    refused(c, "virtual NMIs");
    c = full();
    c.ept_vpid_cap &= ~(1ull << 26);                /* INVEPT all-context */
    refused(c, "INVEPT and INVVPID");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(everything_there_is_usable),
        cmocka_unit_test(preemption_timer_is_required),
        cmocka_unit_test(efer_controls_are_required),
        cmocka_unit_test(pat_controls_are_required),
        cmocka_unit_test(exiting_controls_are_required),
        cmocka_unit_test(the_older_requirements_stay),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
