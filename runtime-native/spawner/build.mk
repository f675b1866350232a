# tersane-spawner: sources are every .c file in spawner/. It forks for every container start, so it
# is kept small: with musl-gcc when it is installed, like the monitor it starts.
SPAWNER_SRC := $(wildcard spawner/*.c)
ifneq ($(MONITOR_MUSL),)
SPAWNER_CC := $(MONITOR_MUSL)
SPAWNER_OBJ := $(SPAWNER_SRC:%.c=$(BUILD)/musl/%.o) $(BUILD)/musl/lib/lines.o
else
SPAWNER_CC := $(CC)
SPAWNER_OBJ := $(SPAWNER_SRC:%.c=$(BUILD)/%.o) $(BUILD)/lib/lines.o
endif

all: $(BUILD)/tersane-spawner
$(BUILD)/tersane-spawner: $(SPAWNER_OBJ)
	$(SPAWNER_CC) $(LDFLAGS) -o $@ $^
