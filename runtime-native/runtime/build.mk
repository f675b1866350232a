# tersane-runtime: sources are every .c file in runtime/; link flags are this file's to set.
RUNTIME_SRC := $(wildcard runtime/*.c)
RUNTIME_OBJ := $(RUNTIME_SRC:%.c=$(BUILD)/%.o)
RUNTIME_LIBS :=

all: $(BUILD)/tersane-runtime
$(BUILD)/tersane-runtime: $(RUNTIME_OBJ) $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(RUNTIME_LIBS)
