/* A minimal harness for the runtime's C unit tests: CHECK records a failure with its line and
 * carries on; each test binary ends with `return tn_test_done ();` (exit status 1 on failures). */
#ifndef TN_RUNTIME_TEST_H
#define TN_RUNTIME_TEST_H

#include <stdio.h>
#include <string.h>

static int tn_test_failures;
static int tn_test_checks;

#define CHECK(cond)                                                             \
  do                                                                            \
    {                                                                           \
      tn_test_checks++;                                                         \
      if (!(cond))                                                              \
        {                                                                       \
          tn_test_failures++;                                                   \
          fprintf (stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
        }                                                                       \
    }                                                                           \
  while (0)

#define CHECK_STR(got, want)                                                    \
  do                                                                            \
    {                                                                           \
      const char *g_ = (got), *w_ = (want);                                     \
      tn_test_checks++;                                                         \
      if (g_ == NULL || strcmp (g_, w_) != 0)                                   \
        {                                                                       \
          tn_test_failures++;                                                   \
          fprintf (stderr, "%s:%d: %s: got \"%s\", want \"%s\"\n", __FILE__, __LINE__, #got, g_ ? g_ : "(null)", w_); \
        }                                                                       \
    }                                                                           \
  while (0)

/* The text contains `needle`. */
#define CHECK_HAS(got, needle)                                                  \
  do                                                                            \
    {                                                                           \
      const char *g_ = (got), *n_ = (needle);                                   \
      tn_test_checks++;                                                         \
      if (g_ == NULL || strstr (g_, n_) == NULL)                                \
        {                                                                       \
          tn_test_failures++;                                                   \
          fprintf (stderr, "%s:%d: %s: \"%s\" does not contain \"%s\"\n", __FILE__, __LINE__, #got, g_ ? g_ : "(null)", n_); \
        }                                                                       \
    }                                                                           \
  while (0)

static inline int
tn_test_done (void)
{
  printf ("%d checks, %d failed\n", tn_test_checks, tn_test_failures);
  return tn_test_failures ? 1 : 0;
}

#endif
