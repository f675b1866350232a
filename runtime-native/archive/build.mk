# tersane-archive: sources are every .c file in archive/, plus the unpacker's tar reader and
# traversal-safe extractor (unpack/, without its main) for the extracting side of `docker cp`.
ARCHIVE_SRC := $(wildcard archive/*.c)
ARCHIVE_OBJ := $(ARCHIVE_SRC:%.c=$(BUILD)/%.o)
ARCHIVE_UNPACK_OBJ := $(filter-out $(BUILD)/unpack/main.o,$(patsubst %.c,$(BUILD)/%.o,$(wildcard unpack/*.c)))

all: $(BUILD)/tersane-archive
$(BUILD)/tersane-archive: $(ARCHIVE_OBJ) $(ARCHIVE_UNPACK_OBJ) $(LIB_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ -lzstd -lz
