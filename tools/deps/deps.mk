# Placeholder until tools/deps/install.sh lands: the stamp every build orders after.
$(DEPS_STAMP):
	@mkdir -p $(@D)
	@tools/deps/install.sh
	@touch $@

deps:
	@tools/deps/install.sh
	@mkdir -p $(BUILD) && touch $(DEPS_STAMP)
