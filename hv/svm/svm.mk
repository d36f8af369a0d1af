# The AMD SVM backend (hv/core/virt.c picks it on a CPU with SVM and no VMX).
KERNEL_SRCS += hv/svm/svm_backend.c hv/svm/svm_caps.c hv/svm/svm_cpu.c hv/svm/svm_vcpu.c \
	hv/svm/svm_entry.S hv/svm/svm_exit.c hv/svm/svm_event.c hv/svm/svm_decode.c \
	hv/svm/svm_xstate.c hv/svm/svm_vcpu_state.c hv/svm/npt.c

build/k/hv/svm/svm_decode.o: KCFLAGS += $(THIRD_PARTY_INC_ZYDIS)
