#include "input.h"
#include "cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

/* Compressed input is read in pieces of IN_SIZE; decompressed output is produced OUT_SIZE at a
 * time and written to files straight from that buffer. A compressed stream is decompressed (and
 * hashed) by a thread of its own into NSLOTS such buffers while the main thread writes files, as
 * `tar -z` gets from running gzip beside it. */
#define IN_SIZE (256 * 1024)
#define OUT_SIZE (1024 * 1024)
#define NSLOTS 4

struct slot {
  uint8_t *data;
  size_t len;
};

struct tn_input {
  int fd;
  enum tn_compression kind;
  uint8_t *in;
  size_t in_len, in_pos;
  int in_eof;
  uint8_t *out;
  size_t out_len, out_pos;
  int end;              /* the producer side: no more input to decompress */
  int drained;          /* the consumer side: every decompressed byte has been handed out */
  z_stream z;
  int z_live;
  int z_member_done;    /* the last gzip member ended; more input means another member */
  ZSTD_DStream *zs;
  size_t zs_last;       /* ZSTD_decompressStream's last answer: 0 at a frame boundary */
  struct tn_sha256 sha;
  uint64_t total;
  /* The decompression thread (compressed streams only). */
  int threaded;
  pthread_t thread;
  pthread_mutex_t lock;
  pthread_cond_t changed;
  struct slot slots[NSLOTS];
  unsigned produced, consumed;   /* slots filled / given back, counting up */
  int producer_done;
  int stop;                      /* the consumer gave up: the producer must finish */
  struct tn_error *producer_err;
};

const char *
tn_compression_name (enum tn_compression c)
{
  switch (c)
    {
    case TN_COMP_GZIP: return "gzip";
    case TN_COMP_ZSTD: return "zstd";
    case TN_COMP_NONE: return "none";
    default: return "auto";
    }
}

enum tn_compression
tn_input_compression (struct tn_input *in)
{
  return in->kind;
}

static int
fill_in (struct tn_input *in, struct tn_error **err)
{
  if (in->in_pos < in->in_len || in->in_eof)
    return 0;
  for (;;)
    {
      ssize_t n = read (in->fd, in->in, IN_SIZE);
      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        return tn_error_sys (err, errno, "read the layer stream");
      in->in_pos = 0;
      in->in_len = (size_t) n;
      if (n == 0)
        in->in_eof = 1;
      return 0;
    }
}

static void stop_producer (struct tn_input *in);
static int start_producer (struct tn_input *in, struct tn_error **err);

int
tn_input_open (struct tn_input **out, int fd, enum tn_compression mode, struct tn_error **err)
{
  struct tn_input *in = calloc (1, sizeof *in);
  if (in == NULL)
    return tn_error_sys (err, ENOMEM, "allocate the input");
  in->fd = fd;
  in->in = malloc (IN_SIZE);
  if (in->in == NULL)
    {
      tn_input_free (in);
      return tn_error_sys (err, ENOMEM, "allocate the input buffers");
    }
  posix_fadvise (fd, 0, 0, POSIX_FADV_SEQUENTIAL);
  tn_sha256_init (&in->sha);
  if (mode == TN_COMP_AUTO)
    {
      /* Enough bytes for the magic numbers: gzip 1f 8b, zstd 28 b5 2f fd. */
      while (in->in_len < 4 && !in->in_eof)
        {
          ssize_t n = read (fd, in->in + in->in_len, IN_SIZE - in->in_len);
          if (n < 0 && errno == EINTR)
            continue;
          if (n < 0)
            {
              tn_input_free (in);
              return tn_error_sys (err, errno, "read the layer stream");
            }
          if (n == 0)
            in->in_eof = 1;
          in->in_len += (size_t) n;
        }
      const uint8_t *m = in->in;
      if (in->in_len >= 2 && m[0] == 0x1f && m[1] == 0x8b)
        mode = TN_COMP_GZIP;
      else if (in->in_len >= 4 && m[0] == 0x28 && m[1] == 0xb5 && m[2] == 0x2f && m[3] == 0xfd)
        mode = TN_COMP_ZSTD;
      else
        mode = TN_COMP_NONE;
      in->in_eof = 0; /* a short first read is not the end: read again until read() says so */
      if (in->in_len == 0)
        in->in_eof = 1;
    }
  in->kind = mode;
  if (mode == TN_COMP_GZIP)
    {
      if (inflateInit2 (&in->z, 15 + 16) != Z_OK)
        {
          tn_input_free (in);
          return tn_error_new (err, "cannot initialise gzip decompression");
        }
      in->z_live = 1;
    }
  else if (mode == TN_COMP_ZSTD)
    {
      in->zs = ZSTD_createDStream ();
      if (in->zs == NULL || ZSTD_isError (ZSTD_initDStream (in->zs)))
        {
          tn_input_free (in);
          return tn_error_new (err, "cannot initialise zstd decompression");
        }
    }
  if (mode == TN_COMP_GZIP || mode == TN_COMP_ZSTD)
    {
      if (start_producer (in, err) < 0)
        {
          tn_input_free (in);
          return -1;
        }
    }
  else if ((in->out = malloc (OUT_SIZE)) == NULL)
    {
      tn_input_free (in);
      return tn_error_sys (err, ENOMEM, "allocate the input buffers");
    }
  *out = in;
  return 0;
}


void
tn_input_free (struct tn_input *in)
{
  if (in == NULL)
    return;
  stop_producer (in);
  if (in->z_live)
    inflateEnd (&in->z);
  if (in->zs)
    ZSTD_freeDStream (in->zs);
  for (int i = 0; i < NSLOTS; i++)
    free (in->slots[i].data);
  tn_error_free (&in->producer_err);
  free (in->in);
  if (in->slots[0].data == NULL)
    free (in->out); /* otherwise it points into a slot */
  free (in);
}

/* Decompresses the next bytes into buf (OUT_SIZE), hashing them. *len = 0 at the end. */
static int
produce (struct tn_input *in, uint8_t *buf, size_t *len, struct tn_error **err)
{
  size_t out_len = 0;
  while (out_len == 0 && !in->end)
    {
      if (fill_in (in, err) < 0)
        return -1;
      size_t avail = in->in_len - in->in_pos;
      switch (in->kind)
        {
        case TN_COMP_NONE:
        case TN_COMP_AUTO:
          if (avail == 0)
            {
              in->end = 1;
              break;
            }
          /* Uncompressed: hand out the input buffer's bytes through the output buffer. */
          memcpy (buf, in->in + in->in_pos, avail);
          out_len = avail;
          in->in_pos += avail;
          break;
        case TN_COMP_GZIP:
          if (avail == 0)
            {
              if (in->z_member_done)
                in->end = 1;
              else
                return tn_error_new (err, "unexpected end of gzip stream (truncated layer?)");
              break;
            }
          if (in->z_member_done)
            {
              /* Concatenated members are one stream (gzip(1) reads them so too). */
              if (inflateReset (&in->z) != Z_OK)
                return tn_error_new (err, "cannot reset gzip decompression");
              in->z_member_done = 0;
            }
          in->z.next_in = in->in + in->in_pos;
          in->z.avail_in = (uInt) avail;
          in->z.next_out = buf;
          in->z.avail_out = OUT_SIZE;
          {
            int rc = inflate (&in->z, Z_NO_FLUSH);
            in->in_pos = in->in_len - in->z.avail_in;
            out_len = OUT_SIZE - in->z.avail_out;
            if (rc == Z_STREAM_END)
              in->z_member_done = 1;
            else if (rc != Z_OK && rc != Z_BUF_ERROR)
              return tn_error_new (err, "corrupt gzip stream: %s", in->z.msg ? in->z.msg : zError (rc));
          }
          break;
        case TN_COMP_ZSTD:
          if (avail == 0)
            {
              if (in->zs_last == 0)
                in->end = 1;
              else
                return tn_error_new (err, "unexpected end of zstd stream (truncated layer?)");
              break;
            }
          {
            ZSTD_inBuffer ib = { in->in + in->in_pos, avail, 0 };
            ZSTD_outBuffer ob = { buf, OUT_SIZE, 0 };
            size_t rc = ZSTD_decompressStream (in->zs, &ob, &ib);
            if (ZSTD_isError (rc))
              return tn_error_new (err, "corrupt zstd stream: %s", ZSTD_getErrorName (rc));
            in->zs_last = rc;
            in->in_pos += ib.pos;
            out_len = ob.pos;
          }
          break;
        }
    }
  if (out_len > 0)
    {
      tn_sha256_update (&in->sha, buf, out_len);
      in->total += out_len;
    }
  *len = out_len;
  return 0;
}

/* The decompression thread: fills free slots in order until the end, an error, or a stop. */
static void *
producer (void *arg)
{
  struct tn_input *in = arg;
  for (;;)
    {
      pthread_mutex_lock (&in->lock);
      while (in->produced - in->consumed == NSLOTS && !in->stop)
        pthread_cond_wait (&in->changed, &in->lock);
      int stop = in->stop;
      pthread_mutex_unlock (&in->lock);
      if (stop)
        break;
      struct slot *s = &in->slots[in->produced % NSLOTS];
      struct tn_error *err = NULL;
      int rc = produce (in, s->data, &s->len, &err);
      pthread_mutex_lock (&in->lock);
      if (rc < 0)
        in->producer_err = err;
      if (rc < 0 || s->len == 0)
        in->producer_done = 1;
      else
        in->produced++;
      pthread_cond_broadcast (&in->changed);
      int done = in->producer_done;
      pthread_mutex_unlock (&in->lock);
      if (done)
        break;
    }
  return NULL;
}

static int
start_producer (struct tn_input *in, struct tn_error **err)
{
  for (int i = 0; i < NSLOTS; i++)
    if ((in->slots[i].data = malloc (OUT_SIZE)) == NULL)
      return tn_error_sys (err, ENOMEM, "allocate the decompression buffers");
  pthread_mutex_init (&in->lock, NULL);
  pthread_cond_init (&in->changed, NULL);
  int rc = pthread_create (&in->thread, NULL, producer, in);
  if (rc != 0)
    return tn_error_sys (err, rc, "start the decompression thread");
  in->threaded = 1;
  return 0;
}

static void
stop_producer (struct tn_input *in)
{
  if (!in->threaded)
    return;
  pthread_mutex_lock (&in->lock);
  in->stop = 1;
  int done = in->producer_done;
  pthread_cond_broadcast (&in->changed);
  pthread_mutex_unlock (&in->lock);
  /* Giving up early (an error while extracting): the producer may sit in read(2) on a pipe whose
   * writer is not done; cancel it there rather than wait. */
  if (!done)
    pthread_cancel (in->thread);
  pthread_join (in->thread, NULL);
  in->threaded = 0;
}

/* Makes the next decompressed bytes current in in->out / out_len. */
static int
refill (struct tn_input *in, struct tn_error **err)
{
  in->out_pos = in->out_len = 0;
  if (!in->threaded)
    {
      if (in->drained || produce (in, in->out, &in->out_len, err) < 0)
        return in->drained ? 0 : -1;
      if (in->out_len == 0)
        in->drained = 1;
      return 0;
    }
  pthread_mutex_lock (&in->lock);
  if (in->out != NULL)
    {
      /* Give the slot just read back to the producer. */
      in->consumed++;
      in->out = NULL;
      pthread_cond_broadcast (&in->changed);
    }
  while (in->produced == in->consumed && !in->producer_done)
    pthread_cond_wait (&in->changed, &in->lock);
  int rc = 0;
  if (in->produced != in->consumed)
    {
      struct slot *s = &in->slots[in->consumed % NSLOTS];
      in->out = s->data;
      in->out_len = s->len;
    }
  else if (in->producer_err)
    {
      if (err && *err == NULL)
        *err = in->producer_err;
      else
        tn_error_free (&in->producer_err);
      in->producer_err = NULL;
      rc = -1;
    }
  else
    in->drained = 1;
  pthread_mutex_unlock (&in->lock);
  if (rc == 0 && in->drained)
    stop_producer (in);
  return rc;
}

long
tn_input_peek (struct tn_input *in, const uint8_t **data, size_t max, struct tn_error **err)
{
  if (in->out_pos == in->out_len)
    {
      if (in->drained)
        return 0;
      if (refill (in, err) < 0)
        return -1;
      if (in->out_len == 0)
        return 0;
    }
  size_t n = in->out_len - in->out_pos;
  if (n > max)
    n = max;
  *data = in->out + in->out_pos;
  return (long) n;
}

void
tn_input_consume (struct tn_input *in, size_t n)
{
  in->out_pos += n;
}

long
tn_input_read (struct tn_input *in, void *buf, size_t len, struct tn_error **err)
{
  size_t done = 0;
  while (done < len)
    {
      const uint8_t *p;
      long n = tn_input_peek (in, &p, len - done, err);
      if (n < 0)
        return -1;
      if (n == 0)
        break;
      memcpy ((uint8_t *) buf + done, p, (size_t) n);
      tn_input_consume (in, (size_t) n);
      done += (size_t) n;
    }
  return (long) done;
}

int
tn_input_drain (struct tn_input *in, struct tn_error **err)
{
  for (;;)
    {
      const uint8_t *p;
      long n = tn_input_peek (in, &p, OUT_SIZE, err);
      if (n < 0)
        return -1;
      if (n == 0)
        return 0;
      tn_input_consume (in, (size_t) n);
    }
}

void
tn_input_digest (struct tn_input *in, char hex[65], uint64_t *bytes)
{
  stop_producer (in);
  struct tn_sha256 copy = in->sha;
  uint8_t d[32];
  tn_sha256_final (&copy, d);
  tn_sha256_hex (d, hex);
  if (bytes)
    *bytes = in->total;
}
