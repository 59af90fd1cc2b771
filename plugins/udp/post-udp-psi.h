/* post-udp-psi.h: PostUdpPsi, the Protocol Stack Instance of the `udp` stack
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <post.h>

G_BEGIN_DECLS

#define POST_TYPE_UDP_PSI (post_udp_psi_get_type ())
G_DECLARE_FINAL_TYPE (PostUdpPsi, post_udp_psi, POST, UDP_PSI, PostPsi)

/* What plain UDP provides, as the selector sees it: message boundaries,
 * passive open (a listener demultiplexes remotes, see post-udp-psi.c),
 * multicast, and the sent event.  Not reliable, not ordered, no congestion
 * control, and no acknowledgement: the acked event is never claimed.  The
 * core adds niceness, antecedents, lifetimes (the expired event for
 * messages whose lifetime passes before they are sent) and immediacy. */
#define POST_UDP_STACK_CAPABILITIES                                          \
  (POST_STACK_CAP_PRESERVE_MSG_BOUNDARIES | POST_STACK_CAP_LISTEN |          \
   POST_STACK_CAP_MULTICAST | POST_STACK_CAP_EVENT_SENT |                    \
   POST_STACK_CAP_EMPTY_MESSAGES |                                           \
   POST_STACK_CAP_SOFT_ERROR_NOTIFY |                                        \
   POST_STACK_CAP_MSG_IMMEDIATE)

/* Options of the `udp` stack (PostConfiguration options, see the README's
 * "udp" section):
 *
 * udp.peer-idle-timeout   uint32 ms, default 30000; 0 never.  A listener's
 *                         accepted carrier whose remote neither sent nor
 *                         received a datagram for this long is closed with
 *                         POST_ERROR_TIMED_OUT, and the next datagram from
 *                         that remote becomes a new accepted carrier.
 * udp.allow-fragmentation boolean, default false.  Without it a message
 *                         must fit the path MTU (IP_MTU / IPV6_MTU of a
 *                         connected socket) and the don't-fragment bit is
 *                         set; with it up to 65507 (IPv4) / 65527 (IPv6)
 *                         bytes are sent, fragmented by IP.
 * udp.max-peers           uint32, default 4096: a listener's peer carriers
 *                         at most; a datagram from a new remote beyond it
 *                         evicts the idlest peer, whose carrier closes
 *                         with POST_ERROR_CONNECTION_RESET (0: no limit).
 * udp.multicast-ttl       uint32 (or int32/byte), default 1: the IPv4 TTL
 *                         or IPv6 hop limit of datagrams sent to a group.
 * udp.multicast-loop      boolean, default true: whether this host's own
 *                         members of the group receive what is sent.
 * udp.multicast-interface string, an interface name: where to send to and
 *                         join groups (default: the kernel's route choice).
 * udp.multicast-source    string or array of strings (`as`): IP literals
 *                         of the sources to receive from (source-specific
 *                         multicast, RFC 4607); default: any source.
 */
#define POST_UDP_OPTION_PEER_IDLE_TIMEOUT   "udp.peer-idle-timeout"
#define POST_UDP_OPTION_MAX_PEERS           "udp.max-peers"
#define POST_UDP_OPTION_ALLOW_FRAGMENTATION "udp.allow-fragmentation"
#define POST_UDP_OPTION_MULTICAST_TTL       "udp.multicast-ttl"
#define POST_UDP_OPTION_MULTICAST_LOOP      "udp.multicast-loop"
#define POST_UDP_OPTION_MULTICAST_INTERFACE "udp.multicast-interface"
#define POST_UDP_OPTION_MULTICAST_SOURCE    "udp.multicast-source"

#define POST_UDP_DEFAULT_PEER_IDLE_TIMEOUT_MS 30000
/* 4096 peers of ~10 kB each: ~40 MB at most for spoofed sources, and more
 * live remotes than a UDP service on one socket usually serves at once. */
#define POST_UDP_DEFAULT_MAX_PEERS            4096

/* The largest UDP payloads: 65535 minus the IPv4 (20) and UDP (8) headers;
 * for IPv6 the payload length excludes the IPv6 header, so minus 8 only. */
#define POST_UDP_MAX_PAYLOAD_IPV4 65507
#define POST_UDP_MAX_PAYLOAD_IPV6 65527

char *post_udp_format_address (GSocketAddress *address);

G_END_DECLS
