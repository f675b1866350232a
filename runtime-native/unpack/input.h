/* The layer stream as the unpacker reads it: stdin, decompressed when it is gzip or zstd (chosen
 * by the caller or detected from the first bytes), and hashed as it is decompressed, so the diff
 * id covers every byte of the uncompressed tar, padding and trailer included. */
#ifndef TN_UNPACK_INPUT_H
#define TN_UNPACK_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include "error.h"
#include "sha256.h"

enum tn_compression { TN_COMP_AUTO, TN_COMP_NONE, TN_COMP_GZIP, TN_COMP_ZSTD };

struct tn_input;

/* Takes over fd (not closed). `mode` AUTO looks at the magic bytes. */
int tn_input_open (struct tn_input **out, int fd, enum tn_compression mode, struct tn_error **err);
void tn_input_free (struct tn_input *in);
/* Points *data at the next decompressed bytes (at most `max`), refilling as needed. Returns their
 * count, 0 at the clean end of the stream, -1 on error (corrupt or truncated compressed data). */
long tn_input_peek (struct tn_input *in, const uint8_t **data, size_t max, struct tn_error **err);
void tn_input_consume (struct tn_input *in, size_t n);
/* Reads exactly len bytes; returns len, or fewer only at the end of the stream, -1 on error. */
long tn_input_read (struct tn_input *in, void *buf, size_t len, struct tn_error **err);
/* Reads and hashes the rest of the stream (what follows the tar's end marker). */
int tn_input_drain (struct tn_input *in, struct tn_error **err);
/* sha256 of every decompressed byte produced so far, and their count. */
void tn_input_digest (struct tn_input *in, char hex[65], uint64_t *bytes);
const char *tn_compression_name (enum tn_compression c);
enum tn_compression tn_input_compression (struct tn_input *in);

#endif
