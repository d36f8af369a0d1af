# What a guest may put in XCR0 and how big its XSAVE state is (portable, host-tested).
KERNEL_SRCS += hv/core/exit/xcr0_policy.c

UNIT_TESTS += test_xcr0_policy
test_xcr0_policy_SRCS := tests/unit/test_xcr0_policy.c hv/core/exit/xcr0_policy.c

UNIT_TESTS += test_cpuid_xsave
test_cpuid_xsave_SRCS := tests/unit/test_cpuid_xsave.c hv/core/exit/cpuid_policy.c hv/core/exit/xcr0_policy.c
