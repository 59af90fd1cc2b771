/* post-udp-psi-private.h: what the files of PostUdpPsi share
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * post-udp-psi.c is the instance (readiness, open, the listener and its
 * peers, data, life cycle); post-udp-socket.c makes and binds its sockets
 * and sets their options.  Nothing here leaves the udp plugin.
 */
#pragma once

#include "post-udp-psi.h"
#include "post-udp-batch.h"

#include <sys/socket.h>

G_BEGIN_DECLS

typedef enum {
  UDP_MODE_NONE,
  UDP_MODE_CONNECTED,
  UDP_MODE_LISTENER,
  UDP_MODE_PEER,
  UDP_MODE_UNCONNECTED,
} UdpMode;

/* A remote transport address, as the hash key of a listener's peers. */
typedef struct {
  guint16 family;
  guint16 port;
  guint32 scope;
  guint8  addr[16];
} PeerKey;

struct _PostUdpPsi
{
  PostPsi        parent_instance;

  GMainContext  *context;        /* (owned) */
  UdpMode        mode;
  GSocket       *socket;         /* (owned) (nullable); a peer shares its listener's */
  int            fd;
  GSocketFamily  family;
  gboolean       closed;

  /* readiness */
  GIOCondition   interest;
  GSource       *in_source;      /* (owned) (nullable) */
  GSource       *out_source;     /* (owned) (nullable) */

  /* maximum message size */
  gboolean       allow_fragmentation;
  gsize          max_message_size;
  gint64         max_message_time;

  /* UNCONNECTED: the source of the previous datagram, reused while the
   * same remote sends */
  PeerKey        last_key;
  GSocketAddress *last_source;   /* (owned) (nullable) */

  /* Batched I/O (plugins/common/post-udp-batch.c): GSO and sendmmsg out,
   * recvmmsg and GRO in.  batch.pktinfo: a LISTENER or UNCONNECTED
   * instance on a wildcard address, whose datagrams come with their
   * arrival address.  A PEER reads its listener's queue. */
  PostUdpBatch   batch;
  PostUdpReceiveQueue *rx;       /* (owned) (nullable) received, not read yet */
  /* UNCONNECTED: the address each remote wrote to */
  GHashTable    *reply_from;     /* (owned) (nullable) PeerKey* → LocalAddress* */

  /* LISTENER */
  GHashTable    *peers;          /* (owned) (nullable) PeerKey* → PostUdpPsi* (unowned) */
  GSource       *listen_source;  /* (owned) (nullable) */
  gboolean       accepting;
  guint          idle_timeout_ms;
  guint          max_peers;      /* 0: no limit */
  GQueue         peer_order;     /* (element-type PostUdpPsi) (unowned) the
                                    peers, the idlest first */
  guint64        n_evicted;

  /* PEER */
  PostUdpPsi    *listener;       /* (owned) (nullable) */
  PeerKey        key;
  struct sockaddr_storage peer_sa;
  socklen_t      peer_sa_len;
  struct sockaddr_storage local_sa;  /* where its datagrams arrive (a wildcard
                                        listener's), the source of its own */
  socklen_t      local_sa_len;       /* 0: the routing table picks */
  GQueue         queue;          /* (element-type GBytes) datagrams from the peer */
  gint64         last_activity;
  GSource       *idle_source;    /* (owned) (nullable) */
  GSource       *wake_source;    /* (owned) (nullable) also CONNECTED and UNCONNECTED:
                                    datagrams in rx the socket no longer signals */
  GList          order_link;     /* in the listener's peer_order */
  gboolean       expired;
  gboolean       evicted;        /* expired because a newer remote needed room */
  gboolean       notify_pending;
  guint64        dropped;
};

/* An UNCONNECTED instance's memory of where a remote wrote to. */
typedef struct {
  PeerKey                 key;
  struct sockaddr_storage sa;
  socklen_t               len;
} LocalAddress;

/* ---- sockets and options (post-udp-socket.c) ----------------------------- */
/* Numeric (uint32, int32, byte, uint64, int64) and boolean options of the
 * instance's configuration; @fallback when unset or of another type (which
 * is logged). */
guint32   post_udp_get_uint_option            (PostUdpPsi      *self,
                                               const char      *key,
                                               guint32          fallback);
gboolean  post_udp_get_bool_option            (PostUdpPsi      *self,
                                               const char      *key,
                                               gboolean         fallback);
/* A G_IO_ERROR from @errsv: "what: strerror" */
GError   *post_udp_errno_error                (int              errsv,
                                               const char      *format,
                                               ...) G_GNUC_PRINTF (2, 3);
gboolean  post_udp_is_multicast               (GSocketAddress  *address);
/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d) */
gboolean  post_udp_is_v4_mapped               (GSocketAddress  *address);
/* A non-blocking UDP socket */
GSocket  *post_udp_new_socket                 (GSocketFamily    family,
                                               GError         **error);
/* IP(V6)_MTU_DISCOVER from allow_fragmentation */
void      post_udp_set_pmtu_discovery         (PostUdpPsi      *self);
/* The hop limit, loopback and interface of what a connected instance sends
 * to a group, from the configuration */
gboolean  post_udp_set_multicast_send_options (PostUdpPsi      *self,
                                               GError         **error);
/* Binds the socket of a LISTENER or UNCONNECTED instance to @local,
 * joining @local's group when it is one. */
gboolean  post_udp_open_bound                 (PostUdpPsi      *self,
                                               GSocketAddress  *local,
                                               UdpMode          mode,
                                               GError         **error);

G_END_DECLS
