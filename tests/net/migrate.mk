# `make test-net-migrate`: live migration between two Atoll hosts under Bochs joined by
# bxhub (tests/net/run-bochs-migrate-test): the migrate_records guest moves from host A to
# host B while it runs (with its downtime, stop-and-copy pages, pages sent unchanged and
# codec counts printed); then pairs where it stays on A: a target that does not pin A's
# key, a name clash on B, the link cut during round 1 (bxhub frozen), and a B without
# the memory (the cut during stop-and-copy only when named: MIGRATE_PAIRS=cutsc).  20 to 40 minutes on 2 shared cores, so it runs in
# `make test-long`; MIGRATE_PAIRS="ok cut1" runs some pairs only (ok refused clash cut1
# cutsc nomem).  Ends "migrate-bochs: N passed, N failed".
.PHONY: test-net-migrate
test-net-migrate: $(BUILD)/atoll.elf $(BUILD)/tools/atollctl $(GUEST_OUT)/tests/migrate_records.elf
	$(Q)tests/net/run-bochs-migrate-test $(BUILD)/atoll.elf $(BUILD)/tools/atollctl \
	    $(GUEST_OUT)/tests/migrate_records.elf $(BUILD)/net/migrate-test
test-long: test-net-migrate
