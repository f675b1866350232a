/* SHA-256 (FIPS 180-4): a portable implementation, and the x86 SHA extensions when the CPU has
 * them (chosen once at run time). Used for the diff id of every unpacked layer, so it must keep up
 * with decompression. */
#ifndef TN_SHA256_H
#define TN_SHA256_H

#include <stddef.h>
#include <stdint.h>

struct tn_sha256 {
  uint32_t state[8];
  uint64_t length;        /* bytes hashed so far */
  uint8_t block[64];
  size_t used;            /* bytes waiting in block */
};

void tn_sha256_init (struct tn_sha256 *s);
void tn_sha256_update (struct tn_sha256 *s, const void *data, size_t len);
void tn_sha256_final (struct tn_sha256 *s, uint8_t out[32]);
/* Lowercase hex of a digest: out must hold 65 bytes. */
void tn_sha256_hex (const uint8_t digest[32], char out[65]);
/* Which implementation runs: "sha-ni" or "portable" (for the benchmark's note). */
const char *tn_sha256_impl (void);

#endif
