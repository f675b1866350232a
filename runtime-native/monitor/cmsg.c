/* Receiving a descriptor over a unix socket (SCM_RIGHTS): how the runtime hands over the pty
 * master through --console-socket. Whatever else arrives in the same message is discarded. */
#include "monitor.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int
cmsg_recv_fd (int sock, struct tn_error **err)
{
  char data[256];   /* runc sends the pty's name as the payload */
  struct iovec iov = { .iov_base = data, .iov_len = sizeof data };
  union {
    struct cmsghdr align;
    char buf[CMSG_SPACE (sizeof (int) * 4)];
  } ctl;
  struct msghdr msg = {
    .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl.buf, .msg_controllen = sizeof ctl.buf,
  };
  ssize_t n;
  do
    n = recvmsg (sock, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return tn_error_sys (err, errno, "receive the terminal");
  int fd = -1;
  for (struct cmsghdr *c = CMSG_FIRSTHDR (&msg); c != NULL; c = CMSG_NXTHDR (&msg, c))
    {
      if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
        continue;
      size_t count = (c->cmsg_len - CMSG_LEN (0)) / sizeof (int);
      int fds[4];
      memcpy (fds, CMSG_DATA (c), count * sizeof (int));
      for (size_t i = 0; i < count; i++)
        {
          if (fd < 0)
            fd = fds[i];
          else
            close (fds[i]);
        }
    }
  if (fd < 0)
    return tn_error_new (err, "no descriptor came over the console socket");
  return fd;
}
