# tersane-runtime: sources are every .c file in runtime/; link flags are this file's to set.
# Static (the top Makefile's LDFLAGS): no dynamic loader on every container start. libseccomp is
# the only library; capabilities go through capset(2) directly.
RUNTIME_SRC := $(wildcard runtime/*.c)
# SHA-256 (the seccomp cache's keys) is the unpacker's.
RUNTIME_OBJ := $(RUNTIME_SRC:%.c=$(BUILD)/%.o) $(BUILD)/unpack/sha256.o
$(BUILD)/runtime/seccomp_cache.o: CFLAGS += -Iunpack
RUNTIME_LIBS := -lseccomp

all: $(BUILD)/tersane-runtime
$(BUILD)/tersane-runtime: $(RUNTIME_OBJ) $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(RUNTIME_LIBS)

# C unit tests (tests/runtime_*_test.c), each linked with the runtime's objects but its main().
RUNTIME_TEST_SRC := $(wildcard tests/runtime_*_test.c)
RUNTIME_TEST_BIN := $(RUNTIME_TEST_SRC:tests/%.c=$(BUILD)/tests/%)
RUNTIME_LIB_OBJ := $(filter-out $(BUILD)/runtime/main.o,$(RUNTIME_OBJ))

runtime-unit-tests: $(RUNTIME_TEST_BIN)
$(BUILD)/tests/runtime_%_test: tests/runtime_%_test.c $(RUNTIME_LIB_OBJ) $(LIB_OBJ)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Iruntime $(LDFLAGS) -o $@ $^ $(RUNTIME_LIBS)

# Stand-alone tools: the receiving end of --console-socket for the terminal tests, and the loop
# the runtime benchmark times `run` with.
runtime-test-tools: $(BUILD)/tests/runtime_recvtty $(BUILD)/tests/runtime_benchloop
$(BUILD)/tests/runtime_recvtty: tests/runtime_recvtty.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $<
$(BUILD)/tests/runtime_benchloop: tests/runtime_benchloop.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $<

.PHONY: runtime-unit-tests runtime-test-tools

# Field paths are built into fixed buffers on purpose (long paths are cut, never overflow).
$(BUILD)/runtime/%.o: CFLAGS += -Wno-format-truncation

# The escape probe the security tests run inside containers (test/security): static, so any image
# runs it.
security-test-tools: $(BUILD)/tests/escape_probe
$(BUILD)/tests/escape_probe: tests/escape_probe.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -static -o $@ $<

.PHONY: security-test-tools
