# tersane-net: sources are every .c file in net/; link flags are this file's to set.
NET_SRC := $(wildcard net/*.c)
NET_OBJ := $(NET_SRC:%.c=$(BUILD)/%.o)

all: $(BUILD)/tersane-net
$(BUILD)/tersane-net: $(NET_OBJ) $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^
