/* Scope-bound release (GCC cleanup attribute): early returns never leak memory or descriptors. */
#ifndef TN_CLEANUP_H
#define TN_CLEANUP_H

#include <stdlib.h>
#include <unistd.h>
#include <errno.h>
#include <stdio.h>

static inline void tn_free_ptr (void *p) { free (*(void **) p); }
static inline void tn_close_ptr (int *fd)
{
  if (*fd >= 0)
    {
      int saved = errno;
      close (*fd);
      errno = saved;
    }
}
static inline void tn_fclose_ptr (FILE **f) { if (*f) fclose (*f); }

#define cleanup_free __attribute__ ((cleanup (tn_free_ptr)))
#define cleanup_close __attribute__ ((cleanup (tn_close_ptr)))
#define cleanup_file __attribute__ ((cleanup (tn_fclose_ptr)))

/* Hands ownership out of a cleanup-scoped variable. */
#define TN_STEAL(x) ({ __typeof__ (x) _v = (x); (x) = (__typeof__ (x)) 0; _v; })
#define TN_STEAL_FD(fd) ({ int _v = (fd); (fd) = -1; _v; })

#endif
