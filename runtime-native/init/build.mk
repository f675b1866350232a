# tersane-init: the init `docker run --init` bind-mounts into a container (read-only, at
# /sbin/docker-init) and runs in front of its command. Static, since the image may carry no libc at
# all; with musl-gcc when it is installed (a few dozen KiB, mapped into every such container).
INIT_SRC := $(wildcard init/*.c)
INIT_MUSL ?= $(shell command -v musl-gcc 2>/dev/null)

ifneq ($(INIT_MUSL),)
INIT_CC := $(INIT_MUSL)
INIT_OBJ := $(INIT_SRC:%.c=$(BUILD)/musl-init/%.o)
$(BUILD)/musl-init/%.o: %.c
	@mkdir -p $(dir $@)
	$(INIT_CC) $(CFLAGS) -MMD -MP -c -o $@ $<
else
INIT_CC := $(CC)
INIT_OBJ := $(INIT_SRC:%.c=$(BUILD)/%.o)
endif

all: $(BUILD)/tersane-init
$(BUILD)/tersane-init: $(INIT_OBJ)
	$(INIT_CC) $(LDFLAGS) -o $@ $^
