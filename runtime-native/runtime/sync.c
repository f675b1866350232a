#include "sync.h"
#include "cleanup.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct hdr
{
  uint32_t type;
  int32_t value;
};

int
tn_sync_send (int fd, uint32_t type, int32_t value, const void *payload, size_t len)
{
  struct hdr h = { type, value };
  struct iovec iov[2] = { { &h, sizeof h }, { (void *) payload, len } };
  struct msghdr msg = { .msg_iov = iov, .msg_iovlen = payload && len ? 2 : 1 };
  for (;;)
    {
      ssize_t n = sendmsg (fd, &msg, MSG_NOSIGNAL);
      if (n >= 0)
        return 0;
      if (errno != EINTR)
        return -1;
    }
}

int
tn_sync_recv (int fd, uint32_t *type, int32_t *value, char **payload)
{
  if (payload)
    *payload = NULL;
  ssize_t size;
  char probe;
  int resets = 0;
  for (;;)
    {
      size = recv (fd, &probe, 1, MSG_PEEK | MSG_TRUNC);
      if (size >= 0 || errno != EINTR)
        {
          /* a peer that exits with our last message unread leaves ECONNRESET pending, reported
           * before the messages it sent: the error is consumed by reporting it, read on */
          if (size < 0 && errno == ECONNRESET && resets++ == 0)
            continue;
          break;
        }
    }
  if (size < 0)
    {
      if (errno == ECONNRESET)
        return 1;
      return -1;
    }
  if (size == 0)
    return 1;
  if ((size_t) size < sizeof (struct hdr) || size > TN_SYNC_MAX_MSG)
    {
      errno = EPROTO;
      return -1;
    }
  cleanup_free char *buf = malloc ((size_t) size + 1);
  if (buf == NULL)
    return -1;
  /* the peer may exit between the peek and the read, with our last message unread: the reset is
   * reported first, the message it sent is still there */
  ssize_t n;
  do
    n = recv (fd, buf, (size_t) size, 0);
  while (n < 0 && (errno == EINTR || (errno == ECONNRESET && resets++ < 2)));
  if (n != size)
    {
      if (n >= 0)
        errno = EPROTO;
      return -1;
    }
  struct hdr h;
  memcpy (&h, buf, sizeof h);
  *type = h.type;
  if (value)
    *value = h.value;
  if (payload)
    {
      size_t plen = (size_t) size - sizeof h;
      char *p = malloc (plen + 1);
      if (p == NULL)
        return -1;
      memcpy (p, buf + sizeof h, plen);
      p[plen] = '\0';
      *payload = p;
    }
  return 0;
}

int
tn_sync_expect (int fd, uint32_t want, int32_t *value, char **payload, struct tn_error **err)
{
  uint32_t type;
  int32_t v = 0;
  char *p = NULL;
  int r = tn_sync_recv (fd, &type, &v, &p);
  if (r < 0)
    return tn_error_sys (err, errno, "read from the container process");
  if (r == 1)
    return tn_error_new (err, "the container process exited during setup");
  if (type == TN_MSG_ERROR)
    {
      tn_error_sys (err, v, "%s", p ? p : "container setup failed");
      free (p);
      return -1;
    }
  if (type != want)
    {
      free (p);
      return tn_error_new (err, "unexpected message %u from the container process (wanted %u)", type, want);
    }
  if (value)
    *value = v;
  if (payload)
    *payload = p;
  else
    free (p);
  return 0;
}
