#include "error.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static char *
vformat (const char *fmt, va_list ap)
{
  char *out = NULL;
  if (vasprintf (&out, fmt, ap) < 0)
    return NULL;
  return out;
}

static int
set_error (struct tn_error **err, int status, char *msg)
{
  if (err == NULL || *err != NULL)
    {
      free (msg);
      return -1;
    }
  struct tn_error *e = calloc (1, sizeof *e);
  if (e == NULL)
    {
      free (msg);
      return -1;
    }
  e->status = status;
  e->msg = msg ? msg : strdup ("out of memory");
  *err = e;
  return -1;
}

int
tn_error_sys (struct tn_error **err, int status, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *msg = vformat (fmt, ap);
  va_end (ap);
  return set_error (err, status, msg);
}

int
tn_error_new (struct tn_error **err, const char *fmt, ...)
{
  va_list ap;
  va_start (ap, fmt);
  char *msg = vformat (fmt, ap);
  va_end (ap);
  return set_error (err, 0, msg);
}

int
tn_error_wrap (struct tn_error **err, const char *fmt, ...)
{
  if (err == NULL || *err == NULL)
    return -1;
  va_list ap;
  va_start (ap, fmt);
  char *prefix = vformat (fmt, ap);
  va_end (ap);
  char *joined = NULL;
  if (prefix && asprintf (&joined, "%s: %s", prefix, (*err)->msg) >= 0)
    {
      free ((*err)->msg);
      (*err)->msg = joined;
    }
  free (prefix);
  return -1;
}

const char *
tn_error_text (struct tn_error *err)
{
  if (err == NULL)
    return "unknown error";
  if (err->status != 0)
    {
      char *joined = NULL;
      if (asprintf (&joined, "%s: %s", err->msg, strerror (err->status)) >= 0)
        {
          free (err->msg);
          err->msg = joined;
          err->status = 0; /* folded into the text once */
        }
    }
  return err->msg;
}

void
tn_error_free (struct tn_error **err)
{
  if (err == NULL || *err == NULL)
    return;
  free ((*err)->msg);
  free (*err);
  *err = NULL;
}
