/* tersane-unpack: unpacks one image layer (a tar, optionally gzip or zstd compressed, on stdin)
 * into a directory, safely against hostile archives, and reports its diff id.
 *
 *   tersane-unpack --dir DEST [--compression auto|gzip|zstd|none]
 *       → {"diff_id":"sha256:<hex>","size":<bytes of file data>,"compression":"gzip"}
 *   tersane-unpack --decompress [--compression …]
 *       → the uncompressed tar on stdout (for `docker save` of a compressed layer)
 *
 * On failure: one line on stderr naming what failed, exit 1; the caller removes DEST. */
#include "cleanup.h"
#include "error.h"
#include "extract.h"
#include "fsutil.h"
#include "input.h"
#include "tar.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static void
usage (FILE *f)
{
  fprintf (f, "usage: tersane-unpack --dir DEST [--compression auto|gzip|zstd|none] < layer\n"
              "       tersane-unpack --decompress [--compression auto|gzip|zstd|none] < layer > layer.tar\n");
}

static int
unpack (const char *dest, enum tn_compression mode, struct tn_error **err)
{
  struct tn_input *in = NULL;
  struct tn_extract *x = NULL;
  int rc = -1;
  if (tn_input_open (&in, STDIN_FILENO, mode, err) < 0)
    return -1;
  if (tn_extract_open (&x, dest, err) < 0)
    goto out;
  if (tn_extract_stream (x, in, err) < 0)
    goto out;
  char hex[65];
  uint64_t total;
  tn_input_digest (in, hex, &total);
  printf ("{\"diff_id\":\"sha256:%s\",\"size\":%" PRIu64 ",\"tar_size\":%" PRIu64 ",\"compression\":\"%s\",\"sha256\":\"%s\"}\n",
          hex, tn_extract_bytes (x), total, tn_compression_name (tn_input_compression (in)), tn_sha256_impl ());
  rc = fflush (stdout) == 0 ? 0 : tn_error_sys (err, errno, "write the result");
out:
  tn_extract_free (x);
  tn_input_free (in);
  return rc;
}

static int
decompress (enum tn_compression mode, struct tn_error **err)
{
  struct tn_input *in = NULL;
  if (tn_input_open (&in, STDIN_FILENO, mode, err) < 0)
    return -1;
  int rc = 0;
  for (;;)
    {
      const uint8_t *p;
      long n = tn_input_peek (in, &p, 1 << 20, err);
      if (n <= 0)
        {
          rc = (int) n;
          break;
        }
      if (tn_write_all (STDOUT_FILENO, p, (size_t) n) < 0)
        {
          rc = tn_error_sys (err, errno, "write the output");
          break;
        }
      tn_input_consume (in, (size_t) n);
    }
  tn_input_free (in);
  return rc;
}

int
main (int argc, char **argv)
{
  static const struct option opts[] = {
    { "dir", required_argument, NULL, 'd' },
    { "compression", required_argument, NULL, 'c' },
    { "decompress", no_argument, NULL, 'x' },
    { "help", no_argument, NULL, 'h' },
    { NULL, 0, NULL, 0 },
  };
  /* Dies with its caller: a containerd killed mid-unpack leaves no unpacker writing into a
   * temporary directory that the restarted containerd is about to remove. */
  prctl (PR_SET_PDEATHSIG, SIGKILL);
  const char *dest = NULL;
  enum tn_compression mode = TN_COMP_AUTO;
  int only_decompress = 0;
  int c;
  while ((c = getopt_long (argc, argv, "d:c:xh", opts, NULL)) != -1)
    switch (c)
      {
      case 'd': dest = optarg; break;
      case 'c':
        if (strcmp (optarg, "auto") == 0) mode = TN_COMP_AUTO;
        else if (strcmp (optarg, "gzip") == 0) mode = TN_COMP_GZIP;
        else if (strcmp (optarg, "zstd") == 0) mode = TN_COMP_ZSTD;
        else if (strcmp (optarg, "none") == 0) mode = TN_COMP_NONE;
        else
          {
            fprintf (stderr, "tersane-unpack: unknown compression `%s` (auto, gzip, zstd, none)\n", optarg);
            return 2;
          }
        break;
      case 'x': only_decompress = 1; break;
      case 'h': usage (stdout); return 0;
      default: usage (stderr); return 2;
      }
  if ((dest == NULL) == !only_decompress || optind != argc)
    {
      usage (stderr);
      return 2;
    }
  struct tn_error *err = NULL;
  int rc = only_decompress ? decompress (mode, &err) : unpack (dest, mode, &err);
  if (rc < 0)
    {
      fprintf (stderr, "tersane-unpack: %s\n", tn_error_text (err));
      tn_error_free (&err);
      return 1;
    }
  return 0;
}
