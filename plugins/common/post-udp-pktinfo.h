/* post-udp-pktinfo.h: the address each datagram arrived at on a UDP socket
 * bound to a wildcard address, and replies that leave from it
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>
#include <gio/gio.h>
#include <netinet/in.h>
#include <sys/socket.h>

G_BEGIN_DECLS

/* Control-message room for one packet-info message of either family:
 * struct in6_pktinfo has 20 bytes (struct in_pktinfo 12), checked in
 * post-udp-pktinfo.c, which alone needs _GNU_SOURCE for them. */
#define POST_UDP_PKTINFO_SPACE (CMSG_SPACE (20))

gboolean post_udp_pktinfo_is_wildcard (GSocketAddress          *local);
gboolean post_udp_pktinfo_enable      (int                      fd,
                                       GSocketFamily            family,
                                       GError                 **error);
gboolean post_udp_pktinfo_parse       (struct msghdr           *msg,
                                       guint16                  port,
                                       struct sockaddr_storage *local,
                                       socklen_t               *local_len);
void     post_udp_pktinfo_put         (struct msghdr           *msg,
                                       gsize                    room,
                                       const struct sockaddr   *local,
                                       socklen_t                local_len);
gssize   post_udp_pktinfo_recvfrom    (int                      fd,
                                       void                    *buffer,
                                       gsize                    size,
                                       int                      flags,
                                       gboolean                 pktinfo,
                                       guint16                  port,
                                       struct sockaddr_storage *from,
                                       socklen_t               *from_len,
                                       struct sockaddr_storage *local,
                                       socklen_t               *local_len);
gssize   post_udp_pktinfo_sendto      (int                      fd,
                                       const void              *data,
                                       gsize                    len,
                                       int                      flags,
                                       const struct sockaddr   *to,
                                       socklen_t                to_len,
                                       const struct sockaddr   *local,
                                       socklen_t                local_len);

G_END_DECLS
