# tersane-monitor: sources are every .c file in monitor/; link flags are this file's to set.
#
# The monitor stays beside every container, so its resident set is what counts (target: 1 MiB).
# A static glibc binary maps ~750 KiB of libc text once its loop has run (glibc's printf, time and
# locale code are large); built against musl it is ~120 KiB on disk and ~140 KiB resident. So the
# monitor is compiled and linked with musl-gcc (Debian's musl-tools) when it is installed, lib/
# included, into $(BUILD)/musl/; without it (or with `make MONITOR_MUSL=`), with $(CC) like the
# other binaries.
MONITOR_SRC := $(wildcard monitor/*.c)
MONITOR_LIBS :=
MONITOR_MUSL ?= $(shell command -v musl-gcc 2>/dev/null)

ifneq ($(MONITOR_MUSL),)
MONITOR_CC := $(MONITOR_MUSL)
MONITOR_OBJ := $(MONITOR_SRC:%.c=$(BUILD)/musl/%.o) $(LIB_SRC:%.c=$(BUILD)/musl/%.o)
$(BUILD)/musl/%.o: %.c $(wildcard lib/*.h) $(wildcard monitor/*.h)
	@mkdir -p $(dir $@)
	$(MONITOR_CC) $(CFLAGS) -MMD -MP -c -o $@ $<
else
MONITOR_CC := $(CC)
MONITOR_OBJ := $(MONITOR_SRC:%.c=$(BUILD)/%.o) $(LIB_OBJ)
endif

all: $(BUILD)/tersane-monitor
$(BUILD)/tersane-monitor: $(MONITOR_OBJ)
	$(MONITOR_CC) $(LDFLAGS) -o $@ $^ $(MONITOR_LIBS)
