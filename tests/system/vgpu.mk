# The vGPU test guests (docs/vgpu.md): vgpu_client is an ordinary test guest; vgpu_service
# links the portable proxy (guest/vsp), whose objects guest/vsp/vsp.mk lists — read before
# this fragment, so the list is known here.
GUEST_TESTS += vgpu_client
VGPU_SERVICE_OBJS := $(GUEST_OUT)/obj/guest/tests/vgpu_service.o $(VSP_GUEST_OBJS)

$(GUEST_OUT)/tests/vgpu_service.elf64: $(VGPU_SERVICE_OBJS) $(GUEST_LIB_OBJS) guest/lib/guest.ld
	@mkdir -p $(@D)
	@echo "  GUESTLD $@"
	$(Q)$(KLD) $(GUEST_LDFLAGS) -o $@ $(VGPU_SERVICE_OBJS) $(GUEST_LIB_OBJS)

guest-tests: $(GUEST_OUT)/tests/vgpu_service.elf $(GUEST_OUT)/tests/vgpu_client.elf
.SECONDARY: $(VGPU_SERVICE_OBJS) $(GUEST_OUT)/tests/vgpu_service.elf64 \
            $(GUEST_OUT)/obj/guest/tests/vgpu_client.o $(GUEST_OUT)/tests/vgpu_client.elf64
-include $(GUEST_OUT)/obj/guest/tests/vgpu_service.d
