/* IPv4 addresses and routes, over rtnetlink. */
#ifndef TN_NET_ADDR_H
#define TN_NET_ADDR_H

#include <netinet/in.h>
#include "nl.h"

/* Parses "a.b.c.d/len". */
int tn_parse_cidr (const char *text, struct in_addr *addr, int *prefix, struct tn_error **err);
int tn_parse_ip (const char *text, struct in_addr *addr, struct tn_error **err);
/* Adds addr/prefix (with its broadcast) to link `index`; an address already there is fine. */
int tn_addr_add (struct tn_nl *nl, int index, struct in_addr addr, int prefix, struct tn_error **err);
/* Adds the default route through `gw` on link `index`. */
int tn_route_default (struct tn_nl *nl, int index, struct in_addr gw, struct tn_error **err);

#endif
