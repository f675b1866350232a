/* Test tool (not a unit test): the receiving end of a runtime's --console-socket.
 *
 *   runtime_recvtty SOCKET ROWS COLS [ROWS2 COLS2]
 *
 * Listens on SOCKET, takes one pty master (SCM_RIGHTS), sets its window size to ROWS×COLS (unless
 * both are 0) and
 * copies everything the container writes to stdout. With ROWS2 COLS2: once the output contains
 * "next", resizes to ROWS2×COLS2 and types "go\n" into the terminal. Ends when the terminal
 * closes (every slave descriptor gone). Prints "listening\n" on stderr once ready. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

static void
set_size (int fd, int rows, int cols)
{
  struct winsize ws = { .ws_row = (unsigned short) rows, .ws_col = (unsigned short) cols };
  ioctl (fd, TIOCSWINSZ, &ws);
}

int
main (int argc, char **argv)
{
  if (argc != 4 && argc != 6)
    {
      fprintf (stderr, "usage: %s SOCKET ROWS COLS [ROWS2 COLS2]\n", argv[0]);
      return 2;
    }
  struct sockaddr_un addr = { .sun_family = AF_UNIX };
  snprintf (addr.sun_path, sizeof addr.sun_path, "%s", argv[1]);
  int ls = socket (AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  unlink (argv[1]);
  if (ls < 0 || bind (ls, (struct sockaddr *) &addr, sizeof addr) < 0 || listen (ls, 1) < 0)
    {
      perror ("listen");
      return 1;
    }
  fprintf (stderr, "listening\n");
  int c = accept (ls, NULL, NULL);
  if (c < 0)
    {
      perror ("accept");
      return 1;
    }
  char name[256] = "";
  char ctl[CMSG_SPACE (sizeof (int))];
  struct iovec iov = { name, sizeof name - 1 };
  struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = ctl, .msg_controllen = sizeof ctl };
  ssize_t n = recvmsg (c, &msg, 0);
  struct cmsghdr *cm = CMSG_FIRSTHDR (&msg);
  if (n <= 0 || cm == NULL || cm->cmsg_type != SCM_RIGHTS)
    {
      fprintf (stderr, "no descriptor received\n");
      return 1;
    }
  name[n] = '\0';
  int master;
  memcpy (&master, CMSG_DATA (cm), sizeof master);
  fprintf (stderr, "received %s\n", name);
  /* 0 0: leave the size the runtime set (process.consoleSize) */
  if (atoi (argv[2]) || atoi (argv[3]))
    set_size (master, atoi (argv[2]), atoi (argv[3]));
  char seen[8192] = "";
  size_t used = 0;
  int resized = argc == 4;
  for (;;)
    {
      char buf[4096];
      ssize_t k = read (master, buf, sizeof buf);
      if (k < 0 && errno == EINTR)
        continue;
      if (k <= 0)
        break; /* EIO: the other side is gone */
      fwrite (buf, 1, (size_t) k, stdout);
      fflush (stdout);
      if (!resized)
        {
          size_t take = (size_t) k < sizeof seen - 1 - used ? (size_t) k : sizeof seen - 1 - used;
          memcpy (seen + used, buf, take);
          used += take;
          seen[used] = '\0';
          if (strstr (seen, "next"))
            {
              set_size (master, atoi (argv[4]), atoi (argv[5]));
              if (write (master, "go\n", 3) != 3)
                perror ("write");
              resized = 1;
            }
        }
    }
  return 0;
}
