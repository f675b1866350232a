# tersane-unpack: sources are every .c file in unpack/; link flags are this file's to set.
UNPACK_SRC := $(wildcard unpack/*.c)
UNPACK_OBJ := $(UNPACK_SRC:%.c=$(BUILD)/%.o)
UNPACK_LIBS :=

all: $(BUILD)/tersane-unpack
$(BUILD)/tersane-unpack: $(UNPACK_OBJ) $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(UNPACK_LIBS)
