#include "terminal.h"
#include "cleanup.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#ifndef TIOCGPTPEER
#define TIOCGPTPEER _IO ('T', 0x41)
#endif

int
tn_unix_connect (const char *path, int *out, struct tn_error **err)
{
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  if (strlen (path) >= sizeof addr.sun_path)
    return tn_error_new (err, "console socket path `%s` is too long", path);
  strcpy (addr.sun_path, path);
  cleanup_close int fd = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return tn_error_sys (err, errno, "socket");
  if (connect (fd, (struct sockaddr *) &addr, sizeof addr) < 0)
    return tn_error_sys (err, errno, "connect to the console socket `%s`", path);
  *out = TN_STEAL_FD (fd);
  return 0;
}

int
tn_pty_open (int *master, int *slave, char **name, struct tn_error **err)
{
  cleanup_close int m = open ("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (m < 0)
    return tn_error_sys (err, errno, "open /dev/ptmx");
  int unlock = 0;
  if (ioctl (m, TIOCSPTLCK, &unlock) < 0)
    return tn_error_sys (err, errno, "unlock the pty");
  unsigned n = 0;
  if (ioctl (m, TIOCGPTN, &n) < 0)
    return tn_error_sys (err, errno, "get the pty number");
  /* the peer through the master itself: no path lookup that a symlink could redirect */
  int s = ioctl (m, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (s < 0)
    {
      char path[64];
      snprintf (path, sizeof path, "/dev/pts/%u", n);
      s = open (path, O_RDWR | O_NOCTTY | O_CLOEXEC);
      if (s < 0)
        return tn_error_sys (err, errno, "open %s", path);
    }
  if (name && asprintf (name, "/dev/pts/%u", n) < 0)
    {
      close (s);
      return tn_error_sys (err, ENOMEM, "pty");
    }
  *slave = s;
  *master = TN_STEAL_FD (m);
  return 0;
}

int
tn_pty_set_size (int fd, unsigned rows, unsigned cols)
{
  struct winsize ws = { .ws_row = (unsigned short) rows, .ws_col = (unsigned short) cols };
  return ioctl (fd, TIOCSWINSZ, &ws);
}

int
tn_pty_make_controlling (int slave, struct tn_error **err)
{
  if (setsid () < 0 && errno != EPERM)
    return tn_error_sys (err, errno, "setsid");
  if (ioctl (slave, TIOCSCTTY, 0) < 0)
    return tn_error_sys (err, errno, "make the pty the controlling terminal");
  for (int i = 0; i < 3; i++)
    if (dup2 (slave, i) < 0)
      return tn_error_sys (err, errno, "dup2 the pty onto %d", i);
  return 0;
}

int
tn_send_fd (int sock, int fd, const char *name, struct tn_error **err)
{
  char ctl[CMSG_SPACE (sizeof (int))];
  memset (ctl, 0, sizeof ctl);
  const char *payload = name && name[0] ? name : "pty";
  struct iovec iov = { (void *) payload, strlen (payload) };
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl };
  struct cmsghdr *c = CMSG_FIRSTHDR (&msg);
  c->cmsg_level = SOL_SOCKET;
  c->cmsg_type = SCM_RIGHTS;
  c->cmsg_len = CMSG_LEN (sizeof (int));
  memcpy (CMSG_DATA (c), &fd, sizeof fd);
  for (;;)
    {
      if (sendmsg (sock, &msg, MSG_NOSIGNAL) >= 0)
        return 0;
      if (errno != EINTR)
        return tn_error_sys (err, errno, "send the pty master over the console socket");
    }
}

int
tn_recv_fd (int sock, int *fd, struct tn_error **err)
{
  char ctl[CMSG_SPACE (sizeof (int))];
  char buf[512];
  struct iovec iov = { buf, sizeof buf };
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl };
  ssize_t n;
  do
    n = recvmsg (sock, &msg, MSG_CMSG_CLOEXEC);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return tn_error_sys (err, errno, "receive the pty master");
  struct cmsghdr *c = CMSG_FIRSTHDR (&msg);
  if (n == 0 || c == NULL || c->cmsg_type != SCM_RIGHTS)
    return tn_error_new (err, "receive the pty master: no descriptor received");
  memcpy (fd, CMSG_DATA (c), sizeof *fd);
  return 0;
}

bool
tn_tty_raw (int fd, struct termios *saved)
{
  if (!isatty (fd) || tcgetattr (fd, saved) < 0)
    return false;
  struct termios raw = *saved;
  cfmakeraw (&raw);
  tcsetattr (fd, TCSANOW, &raw);
  return true;
}

void
tn_tty_restore (int fd, const struct termios *saved)
{
  tcsetattr (fd, TCSANOW, saved);
}

void
tn_tty_copy_size (int from, int to)
{
  struct winsize ws;
  if (ioctl (from, TIOCGWINSZ, &ws) == 0)
    ioctl (to, TIOCSWINSZ, &ws);
}
