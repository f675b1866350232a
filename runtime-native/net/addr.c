#include "addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <linux/if_addr.h>

int
tn_parse_ip (const char *text, struct in_addr *addr, struct tn_error **err)
{
  if (inet_pton (AF_INET, text, addr) != 1)
    return tn_error_new (err, "invalid IPv4 address `%s`", text);
  return 0;
}

int
tn_parse_cidr (const char *text, struct in_addr *addr, int *prefix, struct tn_error **err)
{
  const char *slash = strchr (text, '/');
  if (slash == NULL || slash - text >= INET_ADDRSTRLEN)
    return tn_error_new (err, "invalid address `%s`: want a.b.c.d/len", text);
  char ip[INET_ADDRSTRLEN];
  memcpy (ip, text, (size_t) (slash - text));
  ip[slash - text] = '\0';
  char *end;
  long len = strtol (slash + 1, &end, 10);
  if (*end != '\0' || end == slash + 1 || len < 0 || len > 32)
    return tn_error_new (err, "invalid prefix length in `%s`", text);
  *prefix = (int) len;
  return tn_parse_ip (ip, addr, err);
}

int
tn_addr_add (struct tn_nl *nl, int index, struct in_addr addr, int prefix, struct tn_error **err)
{
  struct tn_nlmsg m;
  struct ifaddrmsg ifa = { .ifa_family = AF_INET, .ifa_prefixlen = (unsigned char) prefix, .ifa_index = (unsigned) index };
  tn_nlmsg_init (&m, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &ifa, sizeof ifa);
  tn_nlmsg_put (&m, IFA_LOCAL, &addr, sizeof addr);
  tn_nlmsg_put (&m, IFA_ADDRESS, &addr, sizeof addr);
  if (prefix < 31)
    {
      uint32_t mask = prefix == 0 ? 0 : htonl (~((1u << (32 - prefix)) - 1));
      struct in_addr brd = { .s_addr = addr.s_addr | ~mask };
      tn_nlmsg_put (&m, IFA_BROADCAST, &brd, sizeof brd);
    }
  int rc = tn_nl_talk (nl, &m, NULL, 0, err);
  if (rc < 0)
    return -1;
  if (rc != 0 && rc != EEXIST)
    {
      char ip[INET_ADDRSTRLEN];
      inet_ntop (AF_INET, &addr, ip, sizeof ip);
      return tn_error_sys (err, rc, "add address %s/%d", ip, prefix);
    }
  return 0;
}

int
tn_route_default (struct tn_nl *nl, int index, struct in_addr gw, struct tn_error **err)
{
  struct tn_nlmsg m;
  struct rtmsg rt = {
    .rtm_family = AF_INET,
    .rtm_table = RT_TABLE_MAIN,
    .rtm_protocol = RTPROT_BOOT,
    .rtm_scope = RT_SCOPE_UNIVERSE,
    .rtm_type = RTN_UNICAST,
  };
  tn_nlmsg_init (&m, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &rt, sizeof rt);
  tn_nlmsg_put (&m, RTA_GATEWAY, &gw, sizeof gw);
  tn_nlmsg_put_u32 (&m, RTA_OIF, (uint32_t) index);
  int rc = tn_nl_talk (nl, &m, NULL, 0, err);
  if (rc < 0)
    return -1;
  if (rc != 0 && rc != EEXIST)
    {
      char ip[INET_ADDRSTRLEN];
      inet_ntop (AF_INET, &gw, ip, sizeof ip);
      return tn_error_sys (err, rc, "add the default route via %s", ip);
    }
  return 0;
}
