# `make test-net-storage-migrate`: background storage migration between two Atoll hosts under
# Bochs joined by bxhub, each with a pool disk (tests/net/run-bochs-storage-migrate-test): a
# disk the disk_live guest writes moves from host A's pool to host B's while the guest runs,
# then a second pair has its link cut mid-way.  Minutes on 2 shared cores, so it runs in
# `make test-long`.  Ends "storage-migrate-bochs: N passed, N failed".
.PHONY: test-net-storage-migrate
test-net-storage-migrate: $(BUILD)/atoll.elf $(BUILD)/tools/atollctl $(GUEST_OUT)/tests/disk_live.elf \
		$(BUILD)/tools/vhdx
	$(Q)tests/net/run-bochs-storage-migrate-test $(BUILD)/atoll.elf $(BUILD)/tools/atollctl \
	    $(GUEST_OUT)/tests/disk_live.elf $(BUILD)/tools/vhdx tests/storage/pool-mkimage \
	    $(BUILD)/net/storage-migrate-test
test-long: test-net-storage-migrate

# `make test-net-storage-after`: the "after" mode with a live migration, between two hosts
# under QEMU TCG with AMD SVM (tests/net/run-svm-storage-after-test): the disk is handed to
# B, the partition moves there while its disk stays on A, the guest on B reads blocks only A
# had (fetched as it asks, checked by content) and the rest is pulled behind it; B ends with
# io.vhdx.  Minutes on 2 shared cores: in `make test-long`.  Ends "storage-after-svm: N
# passed, N failed".
.PHONY: test-net-storage-after
test-net-storage-after: $(BUILD)/atoll.elf $(BUILD)/tools/atollctl $(GUEST_OUT)/tests/disk_live.elf \
		$(BUILD)/tools/vhdx
	$(Q)tests/net/run-svm-storage-after-test $(BUILD)/atoll.elf $(BUILD)/tools/atollctl \
	    $(GUEST_OUT)/tests/disk_live.elf $(BUILD)/tools/vhdx tests/storage/pool-mkimage \
	    $(BUILD)/net/storage-after-test
test-long: test-net-storage-after

# `make test-net-storage-chain`: a differencing disk moved between two QEMU+SVM hosts while
# its guest writes (tests/net/run-svm-storage-chain-test): its parent already on the target
# (not sent), absent (sent whole first), another disk under the parent's name (refused);
# after and around a live migration with the parent held (units the child leaves to it
# never fetched; a cancel refused while the live migration is under way); the target's
# guest reads the moved disk by content.  Minutes on 2 shared cores: in
# `make test-long`.  Ends "storage-chain-svm: N passed, N failed".
.PHONY: test-net-storage-chain
test-net-storage-chain: $(BUILD)/atoll.elf $(BUILD)/tools/atollctl $(GUEST_OUT)/tests/disk_live.elf \
		$(BUILD)/tools/vhdx
	$(Q)tests/net/run-svm-storage-chain-test $(BUILD)/atoll.elf $(BUILD)/tools/atollctl \
	    $(GUEST_OUT)/tests/disk_live.elf $(BUILD)/tools/vhdx tests/storage/pool-mkimage \
	    $(BUILD)/net/storage-chain-test
test-long: test-net-storage-chain

# `make test-net-storage-around`: the "around" mode with a live migration under QEMU+SVM
# (tests/net/run-svm-storage-around-test): the copy starts, the partition moves while it is
# partial, the guest on B reads what only A had and what was copied, the rest follows; and a
# hand-over whose live migration never comes (wait=), an around copy cancelled.  Minutes:
# in `make test-long`.  Ends "storage-around-svm: N passed, N failed".
.PHONY: test-net-storage-around
test-net-storage-around: $(BUILD)/atoll.elf $(BUILD)/tools/atollctl $(GUEST_OUT)/tests/disk_live.elf \
		$(BUILD)/tools/vhdx
	$(Q)tests/net/run-svm-storage-around-test $(BUILD)/atoll.elf $(BUILD)/tools/atollctl \
	    $(GUEST_OUT)/tests/disk_live.elf $(BUILD)/tools/vhdx tests/storage/pool-mkimage \
	    $(BUILD)/net/storage-around-test
test-long: test-net-storage-around

# `make test-net-storage-resume`: liveness and resume under QEMU+SVM
# (tests/net/run-svm-storage-resume-test): a before-mode copy whose link goes down mid-way
# and comes back (the target keeps its copy, the source sends the rest), and a source host
# that dies while the target waits in the after mode (the target gives up within idle=).
# Minutes: in `make test-long`.  Ends "storage-resume-svm: N passed, N failed".
.PHONY: test-net-storage-resume
test-net-storage-resume: $(BUILD)/atoll.elf $(BUILD)/tools/atollctl $(GUEST_OUT)/tests/disk_live.elf \
		$(BUILD)/tools/vhdx
	$(Q)tests/net/run-svm-storage-resume-test $(BUILD)/atoll.elf $(BUILD)/tools/atollctl \
	    $(GUEST_OUT)/tests/disk_live.elf $(BUILD)/tools/vhdx tests/storage/pool-mkimage \
	    $(BUILD)/net/storage-resume-test
test-long: test-net-storage-resume
