#include "sha256.h"

#include <stdlib.h>
#include <string.h>
#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
#include <sys/platform/x86.h>
#endif
#endif

static const uint32_t K[64] = {
  0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5,
  0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174,
  0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da,
  0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967,
  0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85,
  0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070,
  0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3,
  0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2,
};

static inline uint32_t ror (uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

static void
blocks_portable (uint32_t st[8], const uint8_t *p, size_t nblocks)
{
  while (nblocks--)
    {
      uint32_t w[64];
      for (int i = 0; i < 16; i++)
        w[i] = (uint32_t) p[4 * i] << 24 | (uint32_t) p[4 * i + 1] << 16 | (uint32_t) p[4 * i + 2] << 8 | p[4 * i + 3];
      for (int i = 16; i < 64; i++)
        {
          uint32_t s0 = ror (w[i - 15], 7) ^ ror (w[i - 15], 18) ^ (w[i - 15] >> 3);
          uint32_t s1 = ror (w[i - 2], 17) ^ ror (w[i - 2], 19) ^ (w[i - 2] >> 10);
          w[i] = w[i - 16] + s0 + w[i - 7] + s1;
        }
      uint32_t a = st[0], b = st[1], c = st[2], d = st[3], e = st[4], f = st[5], g = st[6], h = st[7];
      for (int i = 0; i < 64; i++)
        {
          uint32_t t1 = h + (ror (e, 6) ^ ror (e, 11) ^ ror (e, 25)) + ((e & f) ^ (~e & g)) + K[i] + w[i];
          uint32_t t2 = (ror (a, 2) ^ ror (a, 13) ^ ror (a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
          h = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
        }
      st[0] += a; st[1] += b; st[2] += c; st[3] += d; st[4] += e; st[5] += f; st[6] += g; st[7] += h;
      p += 64;
    }
}

#if defined(__x86_64__)
/* The SHA extensions keep the state as two vectors, ABEF and CDGH; each sha256rnds2 does two
 * rounds, sha256msg1/msg2 do the message schedule four words at a time. */
__attribute__ ((target ("sha,sse4.1,ssse3"))) static void
blocks_shani (uint32_t st[8], const uint8_t *p, size_t nblocks)
{
  const __m128i bswap = _mm_set_epi64x (0x0c0d0e0f08090a0bULL, 0x0405060700010203ULL);
  __m128i abcd = _mm_loadu_si128 ((const __m128i *) &st[0]);
  __m128i efgh = _mm_loadu_si128 ((const __m128i *) &st[4]);
  __m128i cdab = _mm_shuffle_epi32 (abcd, 0xB1);
  __m128i hgfe = _mm_shuffle_epi32 (efgh, 0x1B);
  __m128i s0 = _mm_alignr_epi8 (cdab, hgfe, 8);      /* ABEF */
  __m128i s1 = _mm_blend_epi16 (hgfe, cdab, 0xF0);   /* CDGH */

  while (nblocks--)
    {
      __m128i save0 = s0, save1 = s1;
      __m128i m[4];
      for (int i = 0; i < 4; i++)
        m[i] = _mm_shuffle_epi8 (_mm_loadu_si128 ((const __m128i *) (p + 16 * i)), bswap);
#pragma GCC unroll 16
      for (int g = 0; g < 16; g++)
        {
          __m128i msg = _mm_add_epi32 (m[g & 3], _mm_loadu_si128 ((const __m128i *) &K[4 * g]));
          s1 = _mm_sha256rnds2_epu32 (s1, s0, msg);
          if (g >= 3 && g <= 14)
            {
              /* Finish the words of group g+1: + W[t-7], then the sigma1 terms. */
              __m128i t7 = _mm_alignr_epi8 (m[g & 3], m[(g + 3) & 3], 4);
              m[(g + 1) & 3] = _mm_sha256msg2_epu32 (_mm_add_epi32 (m[(g + 1) & 3], t7), m[g & 3]);
            }
          msg = _mm_shuffle_epi32 (msg, 0x0E);
          s0 = _mm_sha256rnds2_epu32 (s0, s1, msg);
          if (g >= 1 && g <= 12)
            /* Start the words of group g+3: W[t-16] + sigma0(W[t-15]). */
            m[(g + 3) & 3] = _mm_sha256msg1_epu32 (m[(g + 3) & 3], m[g & 3]);
        }
      s0 = _mm_add_epi32 (s0, save0);
      s1 = _mm_add_epi32 (s1, save1);
      p += 64;
    }

  __m128i feba = _mm_shuffle_epi32 (s0, 0x1B);
  __m128i dchg = _mm_shuffle_epi32 (s1, 0xB1);
  _mm_storeu_si128 ((__m128i *) &st[0], _mm_blend_epi16 (feba, dchg, 0xF0)); /* DCBA → A,B,C,D */
  _mm_storeu_si128 ((__m128i *) &st[4], _mm_alignr_epi8 (dchg, feba, 8));  /* → E,F,G,H */
}

static int
cpu_has_sha (void)
{
#ifdef CPU_FEATURE_ACTIVE
  /* what glibc learnt at start-up: in a virtual machine every cpuid is a trap to the hypervisor
   * (~7 µs each here), which adds up for the runtime's short-lived commands */
  return CPU_FEATURE_ACTIVE (SSE4_1) && CPU_FEATURE_ACTIVE (SSSE3) && CPU_FEATURE_ACTIVE (SHA);
#else
  unsigned a, b, c, d;
  if (!__get_cpuid (1, &a, &b, &c, &d) || !(c & (1u << 19)) || !(c & (1u << 9)))
    return 0; /* SSE4.1 and SSSE3 */
  if (!__get_cpuid_count (7, 0, &a, &b, &c, &d))
    return 0;
  return (b >> 29) & 1;
#endif
}
#endif

typedef void (*blocks_fn) (uint32_t st[8], const uint8_t *p, size_t nblocks);
static blocks_fn blocks_impl;

static blocks_fn
choose (void)
{
  if (blocks_impl == NULL)
    {
      blocks_impl = blocks_portable;
#if defined(__x86_64__)
      if (cpu_has_sha () && getenv ("TERSANE_SHA256_PORTABLE") == NULL)
        blocks_impl = blocks_shani;
#endif
    }
  return blocks_impl;
}

const char *
tn_sha256_impl (void)
{
#if defined(__x86_64__)
  return choose () == blocks_shani ? "sha-ni" : "portable";
#else
  return "portable";
#endif
}

void
tn_sha256_init (struct tn_sha256 *s)
{
  static const uint32_t iv[8] = { 0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a,
                                  0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19 };
  memcpy (s->state, iv, sizeof iv);
  s->length = 0;
  s->used = 0;
  choose ();
}

void
tn_sha256_update (struct tn_sha256 *s, const void *data, size_t len)
{
  const uint8_t *p = data;
  s->length += len;
  if (s->used > 0)
    {
      size_t take = 64 - s->used < len ? 64 - s->used : len;
      memcpy (s->block + s->used, p, take);
      s->used += take;
      p += take;
      len -= take;
      if (s->used < 64)
        return;
      blocks_impl (s->state, s->block, 1);
      s->used = 0;
    }
  if (len >= 64)
    {
      blocks_impl (s->state, p, len / 64);
      p += len & ~(size_t) 63;
      len &= 63;
    }
  memcpy (s->block, p, len);
  s->used = len;
}

void
tn_sha256_final (struct tn_sha256 *s, uint8_t out[32])
{
  uint64_t bits = s->length * 8;
  uint8_t pad[72] = { 0x80 };
  size_t padlen = (s->used < 56 ? 56 : 120) - s->used;
  for (int i = 0; i < 8; i++)
    pad[padlen + i] = (uint8_t) (bits >> (56 - 8 * i));
  uint64_t keep = s->length;
  tn_sha256_update (s, pad, padlen + 8);
  s->length = keep;
  for (int i = 0; i < 8; i++)
    {
      out[4 * i] = (uint8_t) (s->state[i] >> 24);
      out[4 * i + 1] = (uint8_t) (s->state[i] >> 16);
      out[4 * i + 2] = (uint8_t) (s->state[i] >> 8);
      out[4 * i + 3] = (uint8_t) s->state[i];
    }
}

void
tn_sha256_hex (const uint8_t digest[32], char out[65])
{
  static const char hex[] = "0123456789abcdef";
  for (int i = 0; i < 32; i++)
    {
      out[2 * i] = hex[digest[i] >> 4];
      out[2 * i + 1] = hex[digest[i] & 15];
    }
  out[64] = '\0';
}
