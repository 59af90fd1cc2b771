/* post-quic-udp.h: batched UDP I/O for the quic stack (GSO and GRO)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>
#include <gio/gio.h>
#include <sys/socket.h>

G_BEGIN_DECLS

/* The most a GSO send or a GRO receive carries: one UDP datagram's worth. */
#define POST_QUIC_UDP_BATCH_MAX  65527
/* At most this many segments in one GSO send (the kernel's UDP_MAX_SEGMENTS). */
#define POST_QUIC_UDP_SEGMENTS_MAX 64

typedef struct {
  gboolean gso;     /* UDP_SEGMENT works on this socket */
  gboolean gro;     /* UDP_GRO is on: a receive may hold several datagrams */
  gboolean pktinfo; /* bound to a wildcard address: receives tell where
                       each datagram arrived (post_quic_udp_listen_any()) */
  guint16  port;    /* (network order) the port it is bound to */
} PostQuicUdp;

void     post_quic_udp_setup (PostQuicUdp *udp,
                              int          fd);
gboolean post_quic_udp_listen_any (PostQuicUdp    *udp,
                                   int             fd,
                                   GSocketAddress *bound,
                                   GError        **error);

gboolean post_quic_udp_send  (PostQuicUdp           *udp,
                              int                    fd,
                              const struct sockaddr *destination,
                              socklen_t              destination_len,
                              const struct sockaddr *source,
                              socklen_t              source_len,
                              const guint8          *data,
                              gsize                  len,
                              gsize                  segment,
                              int                   *error_out);

gssize   post_quic_udp_recv  (PostQuicUdp             *udp,
                              int                      fd,
                              guint8                  *buffer,
                              gsize                    size,
                              struct sockaddr_storage *from,
                              socklen_t               *from_len,
                              struct sockaddr_storage *local,
                              socklen_t               *local_len,
                              gsize                   *segment);

G_END_DECLS
