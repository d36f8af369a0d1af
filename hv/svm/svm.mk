# The AMD SVM backend (hv/core/virt.c picks it on a CPU with SVM and no VMX).
KERNEL_SRCS += hv/svm/svm_backend.c hv/svm/svm_caps.c hv/svm/svm_caps_report.c hv/svm/svm_cpu.c hv/svm/svm_vcpu.c \
	hv/svm/svm_entry.S hv/svm/svm_exit.c hv/svm/svm_event.c hv/svm/svm_decode.c \
	hv/svm/svm_xstate.c hv/svm/svm_vcpu_state.c hv/svm/npt.c

build/k/hv/svm/svm_decode.o: KCFLAGS += $(THIRD_PARTY_INC_ZYDIS)

UNIT_TESTS += test_svm_caps
test_svm_caps_SRCS := tests/unit/test_svm_caps.c hv/svm/svm_caps.c

# hv/svm/npt.c with the fake frame allocator (as test_ept).
UNIT_TESTS += test_npt
test_npt_SRCS := tests/unit/test_npt.c tests/unit/fake_kmem.c hv/svm/npt.c hv/core/guest_mem.c
test_npt_CFLAGS := -iquote tests/unit/fake_kmem
