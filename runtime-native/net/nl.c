#include "nl.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* How long a request waits for the kernel's answer before it counts as lost. */
#define TN_NL_TIMEOUT_S 5

int
tn_nl_open (struct tn_nl *nl, struct tn_error **err)
{
  nl->seq = 0;
  nl->fd = socket (AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
  if (nl->fd < 0)
    return tn_error_sys (err, errno, "open a netlink socket");
  struct timeval tv = { .tv_sec = TN_NL_TIMEOUT_S };
  setsockopt (nl->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  /* Extended acks carry the kernel's own explanation of a refusal; harmless where unsupported. */
  int one = 1;
  setsockopt (nl->fd, SOL_NETLINK, NETLINK_EXT_ACK, &one, sizeof one);
  struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
  if (bind (nl->fd, (struct sockaddr *) &sa, sizeof sa) < 0)
    {
      int e = errno;
      close (nl->fd);
      nl->fd = -1;
      return tn_error_sys (err, e, "bind a netlink socket");
    }
  return 0;
}

void
tn_nl_close (struct tn_nl *nl)
{
  if (nl->fd >= 0)
    close (nl->fd);
  nl->fd = -1;
}

void
tn_nlmsg_init (struct tn_nlmsg *m, uint16_t type, uint16_t flags, const void *body, size_t len)
{
  memset (m, 0, sizeof *m);
  m->u.h.nlmsg_len = NLMSG_LENGTH (len);
  m->u.h.nlmsg_type = type;
  m->u.h.nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
  memcpy (NLMSG_DATA (&m->u.h), body, len);
}

static void *
tail (struct tn_nlmsg *m)
{
  return m->u.buf + NLMSG_ALIGN (m->u.h.nlmsg_len);
}

void
tn_nlmsg_put (struct tn_nlmsg *m, uint16_t type, const void *data, size_t len)
{
  size_t need = NLMSG_ALIGN (m->u.h.nlmsg_len) + RTA_SPACE (len);
  if (need > sizeof m->u.buf)
    {
      m->overflow = 1;
      return;
    }
  struct rtattr *rta = tail (m);
  rta->rta_type = type;
  rta->rta_len = RTA_LENGTH (len);
  if (len)
    memcpy (RTA_DATA (rta), data, len);
  m->u.h.nlmsg_len = need;
}

void
tn_nlmsg_put_str (struct tn_nlmsg *m, uint16_t type, const char *s)
{
  tn_nlmsg_put (m, type, s, strlen (s) + 1);
}

void
tn_nlmsg_put_u32 (struct tn_nlmsg *m, uint16_t type, uint32_t v)
{
  tn_nlmsg_put (m, type, &v, sizeof v);
}

void
tn_nlmsg_put_raw (struct tn_nlmsg *m, const void *data, size_t len)
{
  size_t need = NLMSG_ALIGN (m->u.h.nlmsg_len) + NLMSG_ALIGN (len);
  if (need > sizeof m->u.buf)
    {
      m->overflow = 1;
      return;
    }
  memcpy (tail (m), data, len);
  m->u.h.nlmsg_len = need;
}

struct rtattr *
tn_nlmsg_nest (struct tn_nlmsg *m, uint16_t type)
{
  struct rtattr *nest = tail (m);
  tn_nlmsg_put (m, type, NULL, 0);
  return nest;
}

void
tn_nlmsg_nest_end (struct tn_nlmsg *m, struct rtattr *nest)
{
  nest->rta_len = (unsigned short) ((char *) tail (m) - (char *) nest);
}

int
tn_nl_talk (struct tn_nl *nl, struct tn_nlmsg *m, void *reply, size_t reply_len, struct tn_error **err)
{
  if (m->overflow)
    return tn_error_new (err, "netlink message too large");
  m->u.h.nlmsg_seq = ++nl->seq;
  struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
  struct iovec iov = { .iov_base = m->u.buf, .iov_len = m->u.h.nlmsg_len };
  struct msghdr msg = { .msg_name = &kernel, .msg_namelen = sizeof kernel, .msg_iov = &iov, .msg_iovlen = 1 };
  ssize_t n;
  do
    n = sendmsg (nl->fd, &msg, 0);
  while (n < 0 && errno == EINTR);
  if (n < 0)
    return tn_error_sys (err, errno, "send a netlink request");
  int copied = 0;
  for (;;)
    {
      char buf[16384] __attribute__ ((aligned (NLMSG_ALIGNTO)));
      do
        n = recv (nl->fd, buf, sizeof buf, 0);
      while (n < 0 && errno == EINTR);
      if (n < 0)
        return tn_error_sys (err, errno == EAGAIN ? ETIMEDOUT : errno, "receive the netlink answer");
      for (struct nlmsghdr *h = (struct nlmsghdr *) buf; NLMSG_OK (h, (size_t) n); h = NLMSG_NEXT (h, n))
        {
          if (h->nlmsg_seq != nl->seq)
            continue;
          if (h->nlmsg_type == NLMSG_ERROR)
            {
              struct nlmsgerr *e = NLMSG_DATA (h);
              return e->error == 0 ? 0 : -e->error;
            }
          if (reply && !copied)
            {
              size_t len = h->nlmsg_len < reply_len ? h->nlmsg_len : reply_len;
              memcpy (reply, h, len);
              copied = 1;
            }
        }
    }
}
