/* A minimal rtnetlink client: one socket per network namespace, messages built in a fixed
 * buffer, each request sent with NLM_F_ACK and its answer awaited. The kernel's own error for a
 * request (EEXIST, ENODEV …) comes back as a positive errno, so callers decide which ones are fine
 * ("already there", "already gone"); a local failure (socket, send, receive) is a tn_error. */
#ifndef TN_NET_NL_H
#define TN_NET_NL_H

#include <stddef.h>
#include <stdint.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "error.h"

#define TN_NLMSG_MAX 4096

struct tn_nl
{
  int fd;
  uint32_t seq;
};

struct tn_nlmsg
{
  union
  {
    struct nlmsghdr h;
    char buf[TN_NLMSG_MAX];
  } u;
  int overflow;
};

/* Opens a NETLINK_ROUTE socket in the calling thread's current network namespace. */
int tn_nl_open (struct tn_nl *nl, struct tn_error **err);
void tn_nl_close (struct tn_nl *nl);

/* Starts a message of `type` with `flags` (NLM_F_REQUEST and NLM_F_ACK are added) and its
 * fixed-size family header `body`. */
void tn_nlmsg_init (struct tn_nlmsg *m, uint16_t type, uint16_t flags, const void *body, size_t len);
/* Appends an attribute; an overflowing message is refused when sent. */
void tn_nlmsg_put (struct tn_nlmsg *m, uint16_t type, const void *data, size_t len);
void tn_nlmsg_put_str (struct tn_nlmsg *m, uint16_t type, const char *s);
void tn_nlmsg_put_u32 (struct tn_nlmsg *m, uint16_t type, uint32_t v);
/* Opens a nested attribute; tn_nlmsg_nest_end closes it. */
struct rtattr *tn_nlmsg_nest (struct tn_nlmsg *m, uint16_t type);
void tn_nlmsg_nest_end (struct tn_nlmsg *m, struct rtattr *nest);
/* Appends raw bytes (a nested family header, e.g. the veth peer's ifinfomsg). */
void tn_nlmsg_put_raw (struct tn_nlmsg *m, const void *data, size_t len);

/* Sends the message and waits for the kernel's answer. Returns 0 on success, a positive errno for
 * the kernel's refusal, -1 (with *err) for a local failure. With `reply`, the first data message
 * of the answer (e.g. RTM_NEWLINK for an RTM_GETLINK) is copied there. */
int tn_nl_talk (struct tn_nl *nl, struct tn_nlmsg *m, void *reply, size_t reply_len, struct tn_error **err);

#endif
