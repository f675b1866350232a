/* Errors as values: every fallible function returns int (negative on failure) and takes
 * `struct tn_error **err` last. The error carries errno and a message; callers add context on the
 * way up with tn_error_wrap(), so the one line a user finally sees says what failed and where. */
#ifndef TN_ERROR_H
#define TN_ERROR_H

#include <stdarg.h>
#include <stdio.h>

struct tn_error {
  int status;    /* errno at the point of failure, 0 when not a system error */
  char *msg;
};

/* Creates *err (if err is non-NULL and still empty) and returns -1, so call sites read
 *   if (mkdir (p, 0700) < 0) return tn_error_sys (err, errno, "mkdir `%s`", p); */
int tn_error_sys (struct tn_error **err, int status, const char *fmt, ...)
  __attribute__ ((format (printf, 3, 4)));
int tn_error_new (struct tn_error **err, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
/* Prefixes context: "create container `x`: " + old message. Returns -1. */
int tn_error_wrap (struct tn_error **err, const char *fmt, ...) __attribute__ ((format (printf, 2, 3)));
/* The whole message including strerror(status), in a static-free heap string owned by err. */
const char *tn_error_text (struct tn_error *err);
void tn_error_free (struct tn_error **err);

#endif
