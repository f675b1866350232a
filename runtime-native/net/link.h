/* Links: bridges, veth pairs, lookups and deletion, over rtnetlink. */
#ifndef TN_NET_LINK_H
#define TN_NET_LINK_H

#include "nl.h"

/* Creates bridge `name` (up, with `mtu` when > 0, and the fixed MAC `mac` when non-NULL: a bridge
 * left to take its ports' lowest MAC changes address as containers come and go, and the
 * containers' ARP caches go stale); an existing link of that name is adopted. */
int tn_bridge_create (struct tn_nl *nl, const char *name, int mtu, const unsigned char *mac, struct tn_error **err);
/* Deletes link `name`; a link that is already gone is fine. */
int tn_link_delete (struct tn_nl *nl, const char *name, struct tn_error **err);
/* The index of link `name` in the socket's namespace. */
int tn_link_index (struct tn_nl *nl, const char *name, int *index, struct tn_error **err);
/* Sets link `index` up. */
int tn_link_up (struct tn_nl *nl, int index, struct tn_error **err);
/* Creates a veth pair: `host_name` here (up, enslaved to `master`), `peer_name` in the network
 * namespace `peer_nsfd` with MAC `mac` (down: the caller brings it up in that namespace). `mtu` applies to both ends when > 0. */
int tn_veth_create (struct tn_nl *nl, const char *host_name, int master, int mtu, const char *peer_name, int peer_nsfd,
                    const unsigned char mac[6], struct tn_error **err);

#endif
