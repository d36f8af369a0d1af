# `make test-net-migrate`: live migration between two Atoll hosts under Bochs joined by
# bxhub (tests/net/run-bochs-migrate-test): the migrate_records guest moves from host A to
# host B while it runs, and a second pair shows a target that does not pin A's key refusing
# it, and a third pair where B refuses it for a name clash.  6 to 25 minutes on 2 shared
# cores (the Bochs limits allow for a loaded host), so it runs in `make test-long`.
# Ends "migrate-bochs: N passed, N failed".
.PHONY: test-net-migrate
test-net-migrate: $(BUILD)/atoll.elf $(BUILD)/tools/atollctl $(GUEST_OUT)/tests/migrate_records.elf
	$(Q)tests/net/run-bochs-migrate-test $(BUILD)/atoll.elf $(BUILD)/tools/atollctl \
	    $(GUEST_OUT)/tests/migrate_records.elf $(BUILD)/net/migrate-test
test-long: test-net-migrate
