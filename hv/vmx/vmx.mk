# The VT-x backend's files beyond those core.mk lists.
KERNEL_SRCS += hv/vmx/vmx_backend.c hv/vmx/vmx_xstate.c hv/vmx/vmx_caps_report.c hv/vmx/vmx_vcpu_state.c

UNIT_TESTS += test_vmx_caps
test_vmx_caps_SRCS := tests/unit/test_vmx_caps.c hv/vmx/vmx_caps.c
