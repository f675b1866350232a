# tersane-monitor: sources are every .c file in monitor/; link flags are this file's to set.
MONITOR_SRC := $(wildcard monitor/*.c)
MONITOR_OBJ := $(MONITOR_SRC:%.c=$(BUILD)/%.o)
MONITOR_LIBS :=

all: $(BUILD)/tersane-monitor
$(BUILD)/tersane-monitor: $(MONITOR_OBJ) $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(MONITOR_LIBS)
