# tersane-unpack: sources are every .c file in unpack/; link flags are this file's to set.
# zlib and libzstd are linked statically (Debian's zlib1g-dev and libzstd-dev ship the .a files).
UNPACK_SRC := $(wildcard unpack/*.c)
UNPACK_OBJ := $(UNPACK_SRC:%.c=$(BUILD)/%.o)
UNPACK_LIBS := -lzstd -lz

all: $(BUILD)/tersane-unpack
$(BUILD)/tersane-unpack: $(UNPACK_OBJ) $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(UNPACK_LIBS)
