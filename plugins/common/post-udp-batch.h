/* post-udp-batch.h: batched UDP I/O (sendmmsg, recvmmsg, GSO and GRO) for
 * the udp, dtls and quic stacks
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#include <glib.h>
#include <gio/gio.h>
#include <sys/socket.h>

G_BEGIN_DECLS

/* The most a GSO send or a GRO receive carries: one UDP datagram's worth. */
#define POST_UDP_BATCH_MAX  65527
/* At most this many segments in one GSO send (the kernel's UDP_MAX_SEGMENTS). */
#define POST_UDP_BATCH_SEGMENTS_MAX 64
/* Datagrams in one sendmmsg() or recvmmsg() at most */
#define POST_UDP_BATCH_MMSG_MAX 32

typedef struct {
  gboolean gso;     /* UDP_SEGMENT works on this socket */
  gboolean gro;     /* UDP_GRO is on: a receive may hold several datagrams */
  gboolean no_mmsg; /* sendmmsg() / recvmmsg() are missing (ENOSYS) */
  gboolean pktinfo; /* bound to a wildcard address: receives tell where
                       each datagram arrived (post_udp_batch_listen_any()) */
  guint16  port;    /* (network order) the port it is bound to */
} PostUdpBatch;

/* One datagram to send: @to NULL on a connected socket, @from NULL for the
 * routing table's source. */
typedef struct {
  const void            *data;
  gsize                  len;
  const struct sockaddr *to;
  socklen_t              to_len;
  const struct sockaddr *from;
  socklen_t              from_len;
} PostUdpDatagram;

/* One datagram received (post_udp_batch_receive()); its bytes stay valid
 * until the next receive. */
typedef struct {
  const guint8            *data;
  gsize                    len;
  const struct sockaddr_storage *from;   /* (nullable) on a connected socket */
  socklen_t                from_len;
  struct sockaddr_storage  local;        /* where it arrived, when pktinfo */
  socklen_t                local_len;    /* 0: unknown (the socket's address) */
} PostUdpReceived;

/* What recvmmsg() filled and is not handed out yet: slots of 64 KiB (a
 * whole datagram, or a GRO run), grown from one to
 * POST_UDP_BATCH_MMSG_MAX once a receive filled all there were. */
typedef struct _PostUdpReceiveQueue PostUdpReceiveQueue;

void     post_udp_batch_setup (PostUdpBatch *udp,
                               int           fd,
                               int           buffer_size);
gboolean post_udp_batch_listen_any (PostUdpBatch   *udp,
                                    int             fd,
                                    GSocketAddress *bound,
                                    GError        **error);

gboolean post_udp_batch_send  (PostUdpBatch          *udp,
                               int                    fd,
                               const struct sockaddr *destination,
                               socklen_t              destination_len,
                               const struct sockaddr *source,
                               socklen_t              source_len,
                               const guint8          *data,
                               gsize                  len,
                               gsize                  segment,
                               int                   *error_out);
guint    post_udp_batch_send_many (PostUdpBatch          *udp,
                                   int                    fd,
                                   const PostUdpDatagram *datagrams,
                                   guint                  n_datagrams,
                                   gsize                  max_segment,
                                   int                   *error_out);

gssize   post_udp_batch_recv  (PostUdpBatch            *udp,
                               int                      fd,
                               guint8                  *buffer,
                               gsize                    size,
                               struct sockaddr_storage *from,
                               socklen_t               *from_len,
                               struct sockaddr_storage *local,
                               socklen_t               *local_len,
                               gsize                   *segment);

PostUdpReceiveQueue *post_udp_receive_queue_new     (void);
void                 post_udp_receive_queue_free    (PostUdpReceiveQueue *queue);
gboolean             post_udp_receive_queue_pending (PostUdpReceiveQueue *queue);
gboolean             post_udp_batch_receive         (PostUdpBatch        *udp,
                                                     PostUdpReceiveQueue *queue,
                                                     int                  fd,
                                                     gboolean             connected,
                                                     PostUdpReceived     *out);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PostUdpReceiveQueue, post_udp_receive_queue_free)

G_END_DECLS
