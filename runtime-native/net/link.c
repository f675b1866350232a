#include "link.h"

#include <errno.h>
#include <net/if.h>
#include <string.h>
#include <linux/if_link.h>
#include <linux/veth.h>

static void
link_msg (struct tn_nlmsg *m, uint16_t type, uint16_t flags, int index, unsigned up)
{
  struct ifinfomsg ifi = { .ifi_family = AF_UNSPEC, .ifi_index = index };
  if (up)
    {
      ifi.ifi_flags = IFF_UP;
      ifi.ifi_change = IFF_UP;
    }
  tn_nlmsg_init (m, type, flags, &ifi, sizeof ifi);
}

int
tn_bridge_create (struct tn_nl *nl, const char *name, int mtu, const unsigned char *mac, struct tn_error **err)
{
  struct tn_nlmsg m;
  link_msg (&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0, 1);
  tn_nlmsg_put_str (&m, IFLA_IFNAME, name);
  if (mac)
    tn_nlmsg_put (&m, IFLA_ADDRESS, mac, 6);
  if (mtu > 0)
    tn_nlmsg_put_u32 (&m, IFLA_MTU, (uint32_t) mtu);
  struct rtattr *info = tn_nlmsg_nest (&m, IFLA_LINKINFO);
  tn_nlmsg_put_str (&m, IFLA_INFO_KIND, "bridge");
  tn_nlmsg_nest_end (&m, info);
  int rc = tn_nl_talk (nl, &m, NULL, 0, err);
  if (rc < 0)
    return -1;
  if (rc == EEXIST)
    {
      /* Left by an earlier run (a daemon killed halfway): adopt it, making sure it is up. */
      int index;
      if (tn_link_index (nl, name, &index, err) < 0 || tn_link_up (nl, index, err) < 0)
        return tn_error_wrap (err, "adopt bridge `%s`", name);
      return 0;
    }
  if (rc != 0)
    return tn_error_sys (err, rc, "create bridge `%s`", name);
  return 0;
}

int
tn_link_delete (struct tn_nl *nl, const char *name, struct tn_error **err)
{
  struct tn_nlmsg m;
  link_msg (&m, RTM_DELLINK, 0, 0, 0);
  tn_nlmsg_put_str (&m, IFLA_IFNAME, name);
  int rc = tn_nl_talk (nl, &m, NULL, 0, err);
  if (rc < 0)
    return -1;
  if (rc != 0 && rc != ENODEV)
    return tn_error_sys (err, rc, "delete link `%s`", name);
  return 0;
}

int
tn_link_index (struct tn_nl *nl, const char *name, int *index, struct tn_error **err)
{
  struct tn_nlmsg m;
  link_msg (&m, RTM_GETLINK, 0, 0, 0);
  tn_nlmsg_put_str (&m, IFLA_IFNAME, name);
  union
  {
    struct nlmsghdr h;
    char buf[1024];
  } reply;
  memset (&reply, 0, sizeof reply);
  int rc = tn_nl_talk (nl, &m, reply.buf, sizeof reply.buf, err);
  if (rc < 0)
    return -1;
  if (rc != 0)
    return tn_error_sys (err, rc, "find link `%s`", name);
  if (reply.h.nlmsg_type != RTM_NEWLINK)
    return tn_error_new (err, "find link `%s`: no answer", name);
  struct ifinfomsg *ifi = NLMSG_DATA (&reply.h);
  *index = ifi->ifi_index;
  return 0;
}

int
tn_link_up (struct tn_nl *nl, int index, struct tn_error **err)
{
  struct tn_nlmsg m;
  link_msg (&m, RTM_NEWLINK, 0, index, 1);
  int rc = tn_nl_talk (nl, &m, NULL, 0, err);
  if (rc < 0)
    return -1;
  if (rc != 0)
    return tn_error_sys (err, rc, "set link %d up", index);
  return 0;
}

int
tn_veth_create (struct tn_nl *nl, const char *host_name, int master, int mtu, const char *peer_name, int peer_nsfd,
                const unsigned char mac[6], struct tn_error **err)
{
  struct tn_nlmsg m;
  link_msg (&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, 0, 1);
  tn_nlmsg_put_str (&m, IFLA_IFNAME, host_name);
  if (master > 0)
    tn_nlmsg_put_u32 (&m, IFLA_MASTER, (uint32_t) master);
  if (mtu > 0)
    tn_nlmsg_put_u32 (&m, IFLA_MTU, (uint32_t) mtu);
  struct rtattr *info = tn_nlmsg_nest (&m, IFLA_LINKINFO);
  tn_nlmsg_put_str (&m, IFLA_INFO_KIND, "veth");
  struct rtattr *data = tn_nlmsg_nest (&m, IFLA_INFO_DATA);
  struct rtattr *peer = tn_nlmsg_nest (&m, VETH_INFO_PEER);
  /* The peer's own ifinfomsg, then its attributes: created directly in the container's
   * namespace, under its final name, with its address. Not up yet: a veth end cannot open before
   * both ends exist (ENOTCONN), so the caller brings it up in its namespace afterwards. */
  struct ifinfomsg pifi = { .ifi_family = AF_UNSPEC };
  tn_nlmsg_put_raw (&m, &pifi, sizeof pifi);
  tn_nlmsg_put_str (&m, IFLA_IFNAME, peer_name);
  tn_nlmsg_put_u32 (&m, IFLA_NET_NS_FD, (uint32_t) peer_nsfd);
  tn_nlmsg_put (&m, IFLA_ADDRESS, mac, 6);
  if (mtu > 0)
    tn_nlmsg_put_u32 (&m, IFLA_MTU, (uint32_t) mtu);
  tn_nlmsg_nest_end (&m, peer);
  tn_nlmsg_nest_end (&m, data);
  tn_nlmsg_nest_end (&m, info);
  int rc = tn_nl_talk (nl, &m, NULL, 0, err);
  if (rc < 0)
    return -1;
  if (rc != 0)
    return tn_error_sys (err, rc, "create veth pair `%s`/`%s`", host_name, peer_name);
  return 0;
}
