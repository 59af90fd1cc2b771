/* post-udp-psi.c: PostUdpPsi, the Protocol Stack Instance of the `udp` stack
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * One Message is one datagram.  A PostUdpPsi is in one of four modes:
 *
 * CONNECTED (active open: connect_async)
 *   Its own socket, connect()ed to the remote, so the kernel filters what
 *   arrives and knows the path MTU (IP_MTU / IPV6_MTU).  Connecting a UDP
 *   socket sends nothing: the instance is ready at once.  A remote that is
 *   a multicast group makes a source: TTL / hop limit, loop and interface
 *   come from the udp.multicast-* options.
 *
 * LISTENER (passive open: listen)
 *   One bound socket serves many remotes.  The listener reads every
 *   datagram itself and demultiplexes on the source (address, port): a new
 *   source becomes a PEER instance announced with post_psi_emit_accepted()
 *   (so an accepted carrier), and later datagrams from it are queued to
 *   that peer.  A peer neither sending nor receiving for
 *   udp.peer-idle-timeout expires: its carrier closes with
 *   POST_ERROR_TIMED_OUT and the source's next datagram is a new carrier.
 *   Closing the listener stops accepting; peers already accepted go on
 *   (the socket lives while one does), as accepted TCP connections do.
 *
 * PEER (made by a listener)
 *   Shares the listener's socket: it sends with sendto() to its remote and
 *   receives from the queue the listener fills (at most PEER_QUEUE_MAX
 *   datagrams; beyond that datagrams are dropped, as a full socket buffer
 *   drops them).
 *
 * UNCONNECTED (passive open: listen_unconnected)
 *   A bound socket that is itself the transport of a responder or of a
 *   remote-less sink: receive_message gives each datagram with its source,
 *   send_message needs a destination.  No instance per remote.
 *
 * Wildcard addresses: a LISTENER or UNCONNECTED instance bound to 0.0.0.0
 * or :: learns the address each datagram arrived at (IP_PKTINFO /
 * IPV6_RECVPKTINFO, plugins/common/post-udp-pktinfo.c) and answers from
 * it: a PEER's local address is the one its first datagram arrived at,
 * and every datagram it sends leaves from there; an UNCONNECTED instance
 * answers each remote from the address that remote last wrote to
 * (remembered for at most REPLY_FROM_MAX remotes).  Otherwise the routing
 * table would pick the source, and a client that wrote to another of the
 * host's addresses would drop the answer.
 *
 * Batching (plugins/common/post-udp-batch.c): what the core queues in one
 * main-loop iteration comes as one send_messages() call, sent as a UDP GSO
 * run (UDP_SEGMENT: equal-sized datagrams of at most UDP_GSO_SEGMENT_MAX
 * bytes to one remote, one sendmsg()) or with sendmmsg(), each datagram
 * with its own destination and source (IP_PKTINFO); every socket reads
 * with recvmmsg() (up to 32 datagrams, each with its source and arrival
 * address) and UDP_GRO (a GSO run arrives as one receive and is handed
 * out datagram by datagram).  What the kernel refuses (ENOSYS, EINVAL,
 * EIO) falls back to one datagram per call, logged at debug level only.
 * Datagrams read but not yet taken by the core are kept (rx) and reported
 * with a wake from the main loop, since the socket no longer signals them.
 *
 * Interfaces: a local that names an interface binds the socket to it
 * (post_psi_bind_to_interface(): SO_BINDTODEVICE) in every mode.
 *
 * A LISTENER or UNCONNECTED instance bound to a multicast group joins it
 * (MCAST_JOIN_GROUP, or MCAST_JOIN_SOURCE_GROUP per udp.multicast-source),
 * IPv4 or IPv6, with SO_REUSEADDR so several receivers can share it.
 *
 * Maximum message size (draft 2.8): without udp.allow-fragmentation a
 * connected socket sets IP_PMTUDISC_DO and a message must fit the path MTU
 * minus the IP and UDP headers; the kernel's estimate is re-read at most
 * every MTU_REFRESH_US, and at once after EMSGSIZE.  Other modes allow the
 * largest UDP payload of the family.
 *
 * Errors that ICMP reports (port unreachable and friends) are soft for
 * UDP: they are raised as soft errors (post_psi_emit_soft_error(), the
 * carrier's `soft-error` signal) and the instance goes on.  Garbage cannot harm it:
 * a datagram is a message whatever it holds.
 */

#include "post-udp-psi-private.h"
#include "post-udp-pktinfo.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/uio.h>

#define UDP_READ_BATCH      64      /* datagrams per dispatch of a listener */
#define UDP_SEND_BATCH      64      /* datagrams per post_udp_batch_send_many() */
#define UDP_GSO_SEGMENT_MAX 1452    /* 1500 − IPv6 and UDP headers */
#define PEER_QUEUE_MAX      1024
#define REPLY_FROM_MAX      4096    /* remotes an UNCONNECTED instance remembers */
#define MTU_REFRESH_US      G_USEC_PER_SEC
#define IPV4_UDP_HEADERS    28
#define IPV6_UDP_HEADERS    48

G_DEFINE_FINAL_TYPE (PostUdpPsi, post_udp_psi, POST_TYPE_PSI)

static void listener_remove_peer (PostUdpPsi *listener, PostUdpPsi *peer);
static void listener_maybe_release (PostUdpPsi *self);

/* ---- helpers ------------------------------------------------------------- */

/**
 * post_udp_format_address:
 * @address: (nullable): a socket address
 *
 * Returns: (transfer full): `ip:port`, or `[ip]:port` for IPv6
 */
char *
post_udp_format_address (GSocketAddress *address)
{
  GInetAddress *inet;
  g_autofree char *ip = NULL;

  if (address == NULL)
    return g_strdup ("(none)");
  if (!G_IS_INET_SOCKET_ADDRESS (address))
    return g_strdup_printf ("(%s)", G_OBJECT_TYPE_NAME (address));
  inet = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address));
  ip = g_inet_address_to_string (inet);
  if (g_inet_address_get_family (inet) == G_SOCKET_FAMILY_IPV6)
    return g_strdup_printf ("[%s]:%u", ip, g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address)));
  return g_strdup_printf ("%s:%u", ip, g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address)));
}

static guint
peer_key_hash (gconstpointer data)
{
  const guint8 *p = data;
  guint32 h = 2166136261u;

  for (gsize i = 0; i < sizeof (PeerKey); i++)
    h = (h ^ p[i]) * 16777619u;
  return h;
}

static gboolean
peer_key_equal (gconstpointer a,
                gconstpointer b)
{
  return memcmp (a, b, sizeof (PeerKey)) == 0;
}

static gboolean
peer_key_from_native (PeerKey                       *key,
                      const struct sockaddr_storage *sa,
                      socklen_t                      len)
{
  memset (key, 0, sizeof *key);
  if (sa->ss_family == AF_INET && len >= sizeof (struct sockaddr_in))
    {
      const struct sockaddr_in *in = (const struct sockaddr_in *) sa;

      key->family = AF_INET;
      key->port = in->sin_port;
      memcpy (key->addr, &in->sin_addr, 4);
      return TRUE;
    }
  if (sa->ss_family == AF_INET6 && len >= sizeof (struct sockaddr_in6))
    {
      const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *) sa;

      /* An IPv4 remote of a dual-stack socket is the same remote as the
       * IPv4 address GLib makes of it (g_socket_address_new_from_native()
       * unmaps), which a reply's destination then is. */
      if (IN6_IS_ADDR_V4MAPPED (&in6->sin6_addr))
        {
          key->family = AF_INET;
          key->port = in6->sin6_port;
          memcpy (key->addr, in6->sin6_addr.s6_addr + 12, 4);
          return TRUE;
        }
      key->family = AF_INET6;
      key->port = in6->sin6_port;
      key->scope = in6->sin6_scope_id;
      memcpy (key->addr, &in6->sin6_addr, 16);
      return TRUE;
    }
  return FALSE;
}

static gboolean
is_soft_error (int errsv)
{
  /* What ICMP reports about earlier datagrams: not this instance's end. */
  switch (errsv)
    {
    case ECONNREFUSED:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case EHOSTDOWN:
    case ENETDOWN:
    case ENOPROTOOPT:
    case EPROTO:
      return TRUE;
    default:
      return FALSE;
    }
}

static gboolean
is_closed_error (PostUdpPsi  *self,
                 GError     **error)
{
  if (self->closed || self->fd < 0)
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_CLOSED,
                           self->closed ? "The UDP instance is closed"
                                        : "The UDP instance is not open");
      return TRUE;
    }
  return FALSE;
}

/* ---- datagram I/O ---------------------------------------------------------- */

/* The next datagram of the socket (of a CONNECTED, UNCONNECTED or
 * LISTENER instance), from what the last recvmmsg() brought or a new one.
 * FALSE with errno when there is none. */
static gboolean
udp_receive (PostUdpPsi      *self,
             PostUdpReceived *datagram)
{
  if (self->rx == NULL)
    self->rx = post_udp_receive_queue_new ();
  return post_udp_batch_receive (&self->batch, self->rx, self->fd,
                                 self->mode == UDP_MODE_CONNECTED, datagram);
}

/* UNCONNECTED on a wildcard address: @key's datagram arrived at @local. */
static void
remember_reply_from (PostUdpPsi                    *self,
                     const PeerKey                 *key,
                     const struct sockaddr_storage *local,
                     socklen_t                      local_len)
{
  LocalAddress *entry;

  if (local_len == 0)
    return;
  if (self->reply_from == NULL)
    self->reply_from = g_hash_table_new_full (peer_key_hash, peer_key_equal, NULL, g_free);
  entry = g_hash_table_lookup (self->reply_from, key);
  if (entry == NULL)
    {
      /* Bounded: a flood of sources forgets some (their answers then
       * leave from the routing table's source). */
      if (g_hash_table_size (self->reply_from) >= REPLY_FROM_MAX)
        g_hash_table_remove_all (self->reply_from);
      entry = g_new0 (LocalAddress, 1);
      entry->key = *key;
      g_hash_table_insert (self->reply_from, &entry->key, entry);
    }
  memcpy (&entry->sa, local, local_len);
  entry->len = local_len;
}

/* ---- readiness ------------------------------------------------------------ */

static void
clear_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

static void
notify_ready (PostUdpPsi   *self,
              GIOCondition  condition)
{
  g_object_ref (self);
  post_psi_notify_ready (POST_PSI (self), condition);
  g_object_unref (self);
}

static gboolean
on_socket_in (GSocket      *socket,
              GIOCondition  condition,
              gpointer      user_data)
{
  notify_ready (POST_UDP_PSI (user_data), G_IO_IN);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_socket_out (GSocket      *socket,
               GIOCondition  condition,
               gpointer      user_data)
{
  notify_ready (POST_UDP_PSI (user_data), G_IO_OUT);
  return G_SOURCE_CONTINUE;
}

static GSource *
add_socket_source (PostUdpPsi        *self,
                   GIOCondition       condition,
                   GSocketSourceFunc  func,
                   const char        *name)
{
  GSource *source = g_socket_create_source (self->socket, condition, NULL);

  g_source_set_callback (source, (GSourceFunc) (void (*) (void)) func, self, NULL);
  g_source_set_static_name (source, name);
  /* As in the tcp stack: our handlers can be re-entered, so spare GLib the
   * removal and re-addition of the descriptor around each dispatch. */
  g_source_set_can_recurse (source, TRUE);
  g_source_attach (source, self->context);
  return source;
}

static gboolean
on_wake (gpointer user_data)
{
  PostUdpPsi *self = POST_UDP_PSI (user_data);

  g_clear_pointer (&self->wake_source, g_source_unref);
  if (!self->closed && (self->interest & G_IO_IN))
    notify_ready (self, G_IO_IN);
  return G_SOURCE_REMOVE;
}

/* Something to read that the socket does not signal (a peer's queued
 * datagram or its expiry; what a recvmmsg() brought beyond what the core
 * read) while the core waits for G_IO_IN: tell it from the main loop. */
static void
schedule_wake (PostUdpPsi *self)
{
  if (self->wake_source != NULL || self->closed)
    return;
  self->wake_source = g_idle_source_new ();
  g_source_set_priority (self->wake_source, G_PRIORITY_DEFAULT);
  g_source_set_callback (self->wake_source, on_wake, self, NULL);
  g_source_set_static_name (self->wake_source, "[post] udp wake");
  g_source_attach (self->wake_source, self->context);
}

static void
post_udp_psi_set_interest (PostPsi      *psi,
                           GIOCondition  condition)
{
  PostUdpPsi *self = POST_UDP_PSI (psi);

  self->interest = condition & (G_IO_IN | G_IO_OUT);
  if (self->closed || self->socket == NULL)
    return;

  if (self->mode == UDP_MODE_PEER)
    {
      /* The listener reads the socket; the queue tells. */
      if ((self->interest & G_IO_IN) && (!g_queue_is_empty (&self->queue) || self->expired))
        schedule_wake (self);
    }
  else if (self->mode != UDP_MODE_LISTENER)
    {
      if ((self->interest & G_IO_IN) && self->in_source == NULL)
        self->in_source = add_socket_source (self, G_IO_IN, on_socket_in, "[post] udp socket in");
      else if (!(self->interest & G_IO_IN))
        clear_source (&self->in_source);
      if ((self->interest & G_IO_IN) && post_udp_receive_queue_pending (self->rx))
        schedule_wake (self);
    }

  if ((self->interest & G_IO_OUT) && self->out_source == NULL)
    self->out_source = add_socket_source (self, G_IO_OUT, on_socket_out, "[post] udp socket out");
  else if (!(self->interest & G_IO_OUT))
    clear_source (&self->out_source);
}

/* ---- active open ----------------------------------------------------------- */

static void
post_udp_psi_connect_async (PostPsi             *psi,
                            GSocketAddress      *remote,
                            GSocketAddress      *local,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  PostUdpPsi *self = POST_UDP_PSI (psi);
  g_autoptr(GTask) task = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) bound = NULL;
  g_autofree char *where = NULL;
  GError *error = NULL;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, post_udp_psi_connect_async);
  g_task_set_name (task, "[post] udp connect");

  if (g_task_return_error_if_cancelled (task))
    return;
  if (self->closed || self->mode != UDP_MODE_NONE)
    {
      g_task_return_new_error (task, POST_ERROR, self->closed ? POST_ERROR_CLOSED : POST_ERROR_PENDING,
                               self->closed ? "The UDP instance is closed"
                                            : "The UDP instance is already in use");
      return;
    }
  if (!G_IS_INET_SOCKET_ADDRESS (remote))
    {
      g_task_return_new_error (task, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                               "UDP needs an IP address and port, not a %s",
                               G_OBJECT_TYPE_NAME (remote));
      return;
    }

  where = post_udp_format_address (remote);
  self->family = g_socket_address_get_family (remote);
  socket = post_udp_new_socket (self->family, &error);
  if (socket == NULL)
    {
      g_prefix_error (&error, "UDP socket for %s: ", where);
      g_task_return_error (task, error);
      return;
    }
  self->socket = g_object_ref (socket);
  self->fd = g_socket_get_fd (socket);

  /* The interface of a gathered local, or the one the local names. */
  if (!post_psi_bind_to_interface (psi, self->fd, FALSE, &error))
    goto fail;
  if (local != NULL && !g_socket_bind (socket, local, FALSE, &error))
    {
      g_autofree char *here = post_udp_format_address (local);

      g_prefix_error (&error, "Could not bind to udp %s: ", here);
      goto fail;
    }
  if (post_udp_is_multicast (remote) && !post_udp_set_multicast_send_options (self, &error))
    goto fail;
  post_udp_set_pmtu_discovery (self);

  /* Connecting a UDP socket only records the remote and the route: it
   * sends nothing and cannot block. */
  if (!g_socket_connect (socket, remote, NULL, &error))
    {
      g_prefix_error (&error, "UDP to %s failed: ", where);
      goto fail;
    }

  post_udp_batch_setup (&self->batch, self->fd, 0);
  self->mode = UDP_MODE_CONNECTED;
  bound = g_socket_get_local_address (socket, NULL);
  post_psi_set_addresses (psi, bound, remote);
  if (self->interest != 0)
    post_udp_psi_set_interest (psi, self->interest);
  g_task_return_boolean (task, TRUE);
  return;

fail:
  g_socket_close (socket, NULL);
  g_clear_object (&self->socket);
  self->fd = -1;
  g_task_return_error (task, error);
}

static gboolean
post_udp_psi_connect_finish (PostPsi       *psi,
                             GAsyncResult  *result,
                             GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, psi), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- passive open: the listener and its peers ------------------------------- */

static gboolean
on_peer_idle (gpointer user_data)
{
  PostUdpPsi *self = POST_UDP_PSI (user_data);
  gint64 deadline;
  guint timeout_ms = self->listener ? self->listener->idle_timeout_ms : 0;

  deadline = self->last_activity + (gint64) timeout_ms * 1000;
  if (g_get_monotonic_time () < deadline)
    {
      /* Activity since: sleep until the new deadline. */
      g_source_set_ready_time (self->idle_source, deadline);
      return G_SOURCE_CONTINUE;
    }

  g_clear_pointer (&self->idle_source, g_source_unref);
  self->expired = TRUE;
  if (self->listener != NULL)
    listener_remove_peer (self->listener, self);
  g_debug ("udp peer expired after %u ms without a datagram", timeout_ms);
  if (self->interest & G_IO_IN)
    schedule_wake (self);
  return G_SOURCE_REMOVE;
}

/* The listener is full (udp.max-peers): the peer that was silent longest
 * (both ways) makes room for a new remote. Its carrier reads
 * POST_ERROR_CONNECTION_RESET once its queued datagrams are read. */
static void
listener_evict_idlest (PostUdpPsi *self)
{
  GList *link = g_queue_peek_head_link (&self->peer_order);
  PostUdpPsi *peer;

  if (link == NULL)
    return;
  peer = link->data;
  clear_source (&peer->idle_source);
  peer->expired = TRUE;
  peer->evicted = TRUE;
  listener_remove_peer (self, peer);
  if (self->n_evicted++ % 1000 == 0)
    g_message ("udp listener: %u peers (option %s): evicting the idlest for a new remote "
               "(%" G_GUINT64_FORMAT " evicted so far)",
               self->max_peers, POST_UDP_OPTION_MAX_PEERS, self->n_evicted);
  if (peer->interest & G_IO_IN)
    schedule_wake (peer);
}

/* The peer was active: it is the least idle now. */
static void
peer_touch (PostUdpPsi *peer)
{
  PostUdpPsi *listener = peer->listener;

  peer->last_activity = g_get_monotonic_time ();
  if (listener != NULL && listener->peers != NULL
      && g_hash_table_lookup (listener->peers, &peer->key) == peer)
    {
      g_queue_unlink (&listener->peer_order, &peer->order_link);
      g_queue_push_tail_link (&listener->peer_order, &peer->order_link);
    }
}

/* A new remote (@sa, @len) wrote to the listener, at @local (@local_len 0:
 * the listener's bound address). */
static PostUdpPsi *
listener_add_peer (PostUdpPsi                    *self,
                   const PeerKey                 *key,
                   const struct sockaddr_storage *sa,
                   socklen_t                      len,
                   const struct sockaddr_storage *local,
                   socklen_t                      local_len)
{
  g_autoptr(PostPsi) child = NULL;
  g_autoptr(GSocketAddress) remote = NULL;
  g_autoptr(GSocketAddress) arrival = NULL;
  PostUdpPsi *peer;

  remote = g_socket_address_new_from_native ((gpointer) sa, len);
  if (remote == NULL)
    return NULL;
  if (local_len > 0)
    arrival = g_socket_address_new_from_native ((gpointer) local, local_len);
  child = post_stack_create_psi (post_psi_get_stack (POST_PSI (self)),
                                 post_psi_get_configuration (POST_PSI (self)));
  if (child == NULL || !POST_IS_UDP_PSI (child))
    {
      g_message ("Dropping a datagram from a new remote: the stack did not create a UDP instance");
      return NULL;
    }
  peer = POST_UDP_PSI (child);
  peer->mode = UDP_MODE_PEER;
  peer->socket = g_object_ref (self->socket);
  peer->fd = self->fd;
  peer->family = self->family;
  peer->listener = g_object_ref (self);
  peer->key = *key;
  memcpy (&peer->peer_sa, sa, len);
  peer->peer_sa_len = len;
  if (arrival != NULL)
    {
      memcpy (&peer->local_sa, local, local_len);
      peer->local_sa_len = local_len;
    }
  peer->last_activity = g_get_monotonic_time ();
  post_psi_set_addresses (child, arrival != NULL ? arrival : post_psi_get_local_address (POST_PSI (self)),
                          remote);
  post_psi_set_interface (child, post_psi_get_interface (POST_PSI (self)));
  if (self->idle_timeout_ms > 0)
    {
      peer->idle_source = g_timeout_source_new (self->idle_timeout_ms);
      g_source_set_callback (peer->idle_source, on_peer_idle, peer, NULL);
      g_source_set_static_name (peer->idle_source, "[post] udp peer idle");
      g_source_attach (peer->idle_source, self->context);
    }
  if (self->max_peers > 0 && g_hash_table_size (self->peers) >= self->max_peers)
    listener_evict_idlest (self);
  g_hash_table_insert (self->peers, &peer->key, peer);
  peer->order_link.data = peer;
  g_queue_push_tail_link (&self->peer_order, &peer->order_link);
  /* The caller gets our reference. */
  g_steal_pointer (&child);
  return peer;
}

static void
listener_remove_peer (PostUdpPsi *self,
                      PostUdpPsi *peer)
{
  if (self->peers != NULL && g_hash_table_lookup (self->peers, &peer->key) == peer)
    {
      g_hash_table_remove (self->peers, &peer->key);
      g_queue_unlink (&self->peer_order, &peer->order_link);
    }
}

static void
peer_push (PostUdpPsi *peer,
           GBytes     *datagram)
{
  if (peer->queue.length >= PEER_QUEUE_MAX)
    {
      /* The application does not keep up: drop, as a full socket would. */
      if (peer->dropped++ == 0)
        g_debug ("udp peer queue full: dropping datagrams");
      return;
    }
  g_queue_push_tail (&peer->queue, g_bytes_ref (datagram));
  peer_touch (peer);
}

static gboolean
on_listener_readable (GSocket      *socket,
                      GIOCondition  condition,
                      gpointer      user_data)
{
  PostUdpPsi *self = POST_UDP_PSI (user_data);
  g_autoptr(GPtrArray) wake = NULL;

  g_object_ref (self);
  /* At most UDP_READ_BATCH datagrams, and what the last receive brought. */
  for (guint i = 0; (i < UDP_READ_BATCH || post_udp_receive_queue_pending (self->rx)) && self->fd >= 0; i++)
    {
      PostUdpReceived received;
      g_autoptr(GBytes) datagram = NULL;
      PeerKey key;
      PostUdpPsi *peer;

      if (!udp_receive (self, &received))
        {
          if (errno == EAGAIN || errno == EWOULDBLOCK)
            break;
          if (errno == EINTR || is_soft_error (errno))
            continue;
          g_message ("udp listener: receiving failed: %s", g_strerror (errno));
          break;
        }
      if (!peer_key_from_native (&key, received.from, received.from_len))
        continue;  /* not IP */

      datagram = g_bytes_new (received.data, received.len);
      peer = g_hash_table_lookup (self->peers, &key);
      if (peer == NULL)
        {
          if (!self->accepting)
            continue;
          peer = listener_add_peer (self, &key, received.from, received.from_len,
                                    &received.local, received.local_len);
          if (peer == NULL)
            continue;
          /* The first datagram is waiting when the core attaches the
           * carrier and reads. */
          peer_push (peer, datagram);
          post_psi_emit_accepted (POST_PSI (self), POST_PSI (peer));
          /* The core took a reference when it accepted; if nobody did, the
           * peer is closed and gone from the table already. */
          g_object_unref (peer);
          continue;
        }
      peer_push (peer, datagram);
      if ((peer->interest & G_IO_IN) && !peer->notify_pending)
        {
          if (wake == NULL)
            wake = g_ptr_array_new_with_free_func (g_object_unref);
          peer->notify_pending = TRUE;
          g_ptr_array_add (wake, g_object_ref (peer));
        }
    }

  /* Wake the peers once per batch, not once per datagram. */
  for (guint i = 0; wake != NULL && i < wake->len; i++)
    {
      PostUdpPsi *peer = wake->pdata[i];

      peer->notify_pending = FALSE;
      if (!peer->closed && (peer->interest & G_IO_IN))
        notify_ready (peer, G_IO_IN);
    }
  g_object_unref (self);
  return G_SOURCE_CONTINUE;
}

static gboolean
post_udp_psi_listen (PostPsi         *psi,
                     GSocketAddress  *local,
                     GError         **error)
{
  PostUdpPsi *self = POST_UDP_PSI (psi);

  if (!post_udp_open_bound (self, local, UDP_MODE_LISTENER, error))
    return FALSE;
  self->accepting = TRUE;
  self->idle_timeout_ms = post_udp_get_uint_option (self, POST_UDP_OPTION_PEER_IDLE_TIMEOUT,
                                           POST_UDP_DEFAULT_PEER_IDLE_TIMEOUT_MS);
  self->max_peers = post_udp_get_uint_option (self, POST_UDP_OPTION_MAX_PEERS, POST_UDP_DEFAULT_MAX_PEERS);
  self->peers = g_hash_table_new (peer_key_hash, peer_key_equal);
  self->listen_source = add_socket_source (self, G_IO_IN, on_listener_readable, "[post] udp listener");
  return TRUE;
}

static gboolean
post_udp_psi_listen_unconnected (PostPsi         *psi,
                                 GSocketAddress  *local,
                                 GError         **error)
{
  return post_udp_open_bound (POST_UDP_PSI (psi), local, UDP_MODE_UNCONNECTED, error);
}

/* The listener was closed: once its last peer is gone, so is the socket. */
static void
listener_maybe_release (PostUdpPsi *self)
{
  if (!self->closed || self->mode != UDP_MODE_LISTENER)
    return;
  if (self->peers != NULL && g_hash_table_size (self->peers) > 0)
    return;
  clear_source (&self->listen_source);
  clear_source (&self->out_source);
  if (self->socket != NULL)
    g_socket_close (self->socket, NULL);
  g_clear_object (&self->socket);
  g_clear_pointer (&self->rx, post_udp_receive_queue_free);
  self->fd = -1;
}

/* ---- data ----------------------------------------------------------------- */

static gsize
compute_max_message_size (PostUdpPsi *self)
{
  GSocketAddress *remote = post_psi_get_remote_address (POST_PSI (self));
  gboolean v4 = self->family == G_SOCKET_FAMILY_IPV4 || post_udp_is_v4_mapped (remote);
  gsize max = v4 ? POST_UDP_MAX_PAYLOAD_IPV4 : POST_UDP_MAX_PAYLOAD_IPV6;
  int mtu = 0;
  socklen_t len = sizeof mtu;

  if (self->mode != UDP_MODE_CONNECTED || self->allow_fragmentation || self->fd < 0)
    return max;
  if (self->family == G_SOCKET_FAMILY_IPV4)
    {
      if (getsockopt (self->fd, IPPROTO_IP, IP_MTU, &mtu, &len) != 0)
        mtu = 0;
    }
  else if (getsockopt (self->fd, IPPROTO_IPV6, IPV6_MTU, &mtu, &len) != 0)
    mtu = 0;
  if (mtu > (v4 ? IPV4_UDP_HEADERS : IPV6_UDP_HEADERS))
    max = MIN (max, (gsize) mtu - (v4 ? IPV4_UDP_HEADERS : IPV6_UDP_HEADERS));
  return max;
}

static gsize
post_udp_psi_get_max_message_size (PostPsi *psi)
{
  PostUdpPsi *self = POST_UDP_PSI (psi);
  gint64 now = g_get_monotonic_time ();

  if (self->max_message_size == 0 || now - self->max_message_time > MTU_REFRESH_US)
    {
      self->max_message_size = compute_max_message_size (self);
      self->max_message_time = now;
    }
  return self->max_message_size;
}

/* Where one datagram goes (@to NULL: the connected remote) and where it
 * leaves from (@from NULL: the routing table's choice); @sa holds a
 * @destination's native address. */
static gboolean
route_datagram (PostUdpPsi               *self,
                GSocketAddress           *destination,
                struct sockaddr_storage  *sa,
                PostUdpDatagram          *d,
                GError                  **error)
{
  if (destination != NULL && self->mode != UDP_MODE_CONNECTED)
    {
      if (!g_socket_address_to_native (destination, sa, sizeof *sa, error))
        return FALSE;
      d->to = (const struct sockaddr *) sa;
      d->to_len = g_socket_address_get_native_size (destination);
      if (self->mode == UDP_MODE_PEER)
        d->from = (const struct sockaddr *) &self->local_sa, d->from_len = self->local_sa_len;
      else if (self->reply_from != NULL)
        {
          PeerKey key;
          LocalAddress *entry;

          if (peer_key_from_native (&key, sa, d->to_len)
              && (entry = g_hash_table_lookup (self->reply_from, &key)) != NULL)
            d->from = (const struct sockaddr *) &entry->sa, d->from_len = entry->len;
        }
    }
  else if (self->mode == UDP_MODE_PEER)
    {
      d->to = (const struct sockaddr *) &self->peer_sa;
      d->to_len = self->peer_sa_len;
      d->from = (const struct sockaddr *) &self->local_sa;
      d->from_len = self->local_sa_len;
    }
  else if (self->mode != UDP_MODE_CONNECTED)
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                           "An unconnected UDP instance needs a destination for each message");
      return FALSE;
    }
  if (d->from_len == 0)
    d->from = NULL;
  return TRUE;
}

/* Why the datagram of @size bytes to @destination (nullable: the remote)
 * could not go (@errsv). */
static void
set_send_error (PostUdpPsi      *self,
                int              errsv,
                gsize            size,
                GSocketAddress  *destination,
                GError         **error)
{
  if (errsv == EAGAIN || errsv == EWOULDBLOCK || errsv == ENOBUFS)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "The socket buffer is full");
  else if (errsv == EMSGSIZE)
    {
      self->max_message_size = 0;  /* re-read the path MTU */
      g_set_error (error, POST_ERROR, POST_ERROR_MESSAGE_TOO_LARGE,
                   "The message has %" G_GSIZE_FORMAT " bytes; the path carries at most %"
                   G_GSIZE_FORMAT " in one UDP datagram",
                   size, post_udp_psi_get_max_message_size (POST_PSI (self)));
    }
  else
    {
      g_autofree char *where = post_udp_format_address (destination ? destination
                                                        : post_psi_get_remote_address (POST_PSI (self)));

      g_propagate_error (error, post_udp_errno_error (errsv, "Sending a UDP datagram to %s failed", where));
    }
}

/* The largest datagram that goes in a GSO run: one the path carries
 * whole.  A connected instance knows its path MTU; otherwise that of an
 * Ethernet path for IPv6 (a smaller path refuses GSO, which then is off). */
static gsize
gso_segment_max (PostUdpPsi *self)
{
  if (self->mode == UDP_MODE_CONNECTED && !self->allow_fragmentation)
    return MIN (post_udp_psi_get_max_message_size (POST_PSI (self)), UDP_GSO_SEGMENT_MAX);
  return UDP_GSO_SEGMENT_MAX;
}

/* Sends @messages (at most UDP_SEND_BATCH) in as few system calls as the
 * socket allows (post_udp_batch_send_many(): GSO runs, sendmmsg()). */
static guint
send_batch (PostUdpPsi               *self,
            const PostPsiOutMessage  *messages,
            guint                     n_messages,
            GError                  **error)
{
  struct sockaddr_storage sa[UDP_SEND_BATCH];
  PostUdpDatagram d[UDP_SEND_BATCH];
  g_autoptr(GError) route_error = NULL;
  guint n = 0, done = 0;
  gboolean retried = FALSE;

  n_messages = MIN (n_messages, UDP_SEND_BATCH);
  /* Up to the first that cannot be routed, which fails alone. */
  for (; n < n_messages; n++)
    {
      memset (&d[n], 0, sizeof d[n]);
      d[n].data = g_bytes_get_data (messages[n].content, &d[n].len);
      if (!route_datagram (self, messages[n].destination, &sa[n], &d[n], &route_error))
        break;
    }
  while (done < n)
    {
      int errsv;

      /* A peer sends on its listener's socket, with what was probed there. */
      done += post_udp_batch_send_many (self->mode == UDP_MODE_PEER && self->listener != NULL
                                        ? &self->listener->batch : &self->batch,
                                        self->fd, d + done, n - done, gso_segment_max (self), &errsv);
      if (done == n)
        break;
      /* An ICMP error about an earlier datagram is reported (once) by the
       * call that sent nothing: try again once. */
      if (is_soft_error (errsv) && !retried)
        {
          retried = TRUE;
          continue;
        }
      set_send_error (self, errsv, d[done].len, messages[done].destination, error);
      break;
    }
  if (done == n && route_error != NULL)
    g_propagate_error (error, g_steal_pointer (&route_error));
  if (done > 0 && self->mode == UDP_MODE_PEER)
    peer_touch (self);
  return done;
}

static guint
post_udp_psi_send_messages (PostPsi                  *psi,
                            const PostPsiOutMessage  *messages,
                            guint                     n_messages,
                            GError                  **error)
{
  PostUdpPsi *self = POST_UDP_PSI (psi);
  guint done = 0;

  if (is_closed_error (self, error))
    return 0;
  while (done < n_messages)
    {
      guint n = MIN (n_messages - done, UDP_SEND_BATCH);
      guint sent = send_batch (self, messages + done, n, error);

      done += sent;
      if (sent < n)
        break;
    }
  return done;
}

static gboolean
post_udp_psi_send_message (PostPsi         *psi,
                           GBytes          *content,
                           PostMessage     *message,
                           GSocketAddress  *destination,
                           GError         **error)
{
  PostPsiOutMessage one = { content, message, destination };

  return post_udp_psi_send_messages (psi, &one, 1, error) == 1;
}

static GSocketAddress *
source_for (PostUdpPsi                    *self,
            const struct sockaddr_storage *from,
            socklen_t                      len)
{
  PeerKey key;

  if (!peer_key_from_native (&key, from, len))
    return NULL;
  if (self->last_source == NULL || memcmp (&key, &self->last_key, sizeof key) != 0)
    {
      g_clear_object (&self->last_source);
      self->last_source = g_socket_address_new_from_native ((gpointer) from, len);
      self->last_key = key;
    }
  return self->last_source ? g_object_ref (self->last_source) : NULL;
}

static GBytes *
post_udp_psi_receive_message (PostPsi         *psi,
                              GSocketAddress **source,
                              GError         **error)
{
  PostUdpPsi *self = POST_UDP_PSI (psi);

  if (self->mode == UDP_MODE_PEER)
    {
      GBytes *datagram;

      if (self->closed)
        {
          g_set_error_literal (error, POST_ERROR, POST_ERROR_CLOSED, "The UDP instance is closed");
          return NULL;
        }
      datagram = g_queue_pop_head (&self->queue);
      if (datagram != NULL)
        {
          if (source != NULL)
            *source = g_object_ref (post_psi_get_remote_address (psi));
          return datagram;
        }
      if (self->evicted)
        {
          g_autofree char *where = post_udp_format_address (post_psi_get_remote_address (psi));

          g_set_error (error, POST_ERROR, POST_ERROR_CONNECTION_RESET,
                       "The udp peer %s was the idlest when the listener was full and a new "
                       "remote wrote (option %s, %u peers)",
                       where, POST_UDP_OPTION_MAX_PEERS, self->listener ? self->listener->max_peers : 0);
          return NULL;
        }
      if (self->expired)
        {
          g_autofree char *where = post_udp_format_address (post_psi_get_remote_address (psi));

          g_set_error (error, POST_ERROR, POST_ERROR_TIMED_OUT,
                       "The udp peer %s was idle for %u ms and expired (option %s)",
                       where, self->listener ? self->listener->idle_timeout_ms : 0,
                       POST_UDP_OPTION_PEER_IDLE_TIMEOUT);
          return NULL;
        }
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "No datagram");
      return NULL;
    }

  if (is_closed_error (self, error))
    return NULL;
  if (self->mode == UDP_MODE_LISTENER)
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_NOT_SUPPORTED,
                           "A UDP listener hands datagrams to its accepted instances");
      return NULL;
    }

  for (;;)
    {
      PostUdpReceived received;
      gboolean connected = self->mode == UDP_MODE_CONNECTED;

      if (!udp_receive (self, &received))
        {
          int errsv = errno;

          if (errsv == EAGAIN || errsv == EWOULDBLOCK)
            {
              g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "No datagram");
              return NULL;
            }
          if (errsv == EINTR)
            continue;
          if (is_soft_error (errsv))
            {
              g_autofree char *where = post_udp_format_address (post_psi_get_remote_address (psi));
              g_autoptr(GError) soft = post_udp_errno_error (errsv, "%s reported", where);

              g_debug ("udp %s: %s (a soft error: datagrams are unreliable)", where, g_strerror (errsv));
              post_psi_emit_soft_error (psi, soft);
              continue;
            }
          g_propagate_error (error, post_udp_errno_error (errsv, "Receiving a UDP datagram failed"));
          return NULL;
        }
      if (received.local_len > 0)
        {
          PeerKey key;

          if (peer_key_from_native (&key, received.from, received.from_len))
            remember_reply_from (self, &key, &received.local, received.local_len);
        }
      if (source != NULL)
        *source = connected ? g_object_ref (post_psi_get_remote_address (psi))
                            : source_for (self, received.from, received.from_len);
      return g_bytes_new (received.data, received.len);
    }
}

/* ---- path ------------------------------------------------------------------ */

static void
post_udp_psi_update_path (PostPsi  *psi,
                          PostPath *path)
{
  PostUdpPsi *self = POST_UDP_PSI (psi);
  int mtu = 0;
  socklen_t len = sizeof mtu;

  if (self->closed || self->fd < 0 || self->mode != UDP_MODE_CONNECTED)
    return;
  if (self->family == G_SOCKET_FAMILY_IPV4)
    {
      if (getsockopt (self->fd, IPPROTO_IP, IP_MTU, &mtu, &len) != 0)
        return;
    }
  else if (getsockopt (self->fd, IPPROTO_IPV6, IPV6_MTU, &mtu, &len) != 0)
    return;
  if (mtu > 0)
    post_path_set_mtu (path, (guint) mtu);
}

/* ---- life cycle ------------------------------------------------------------ */

static void
post_udp_psi_close (PostPsi  *psi,
                    gboolean  abort)
{
  PostUdpPsi *self = POST_UDP_PSI (psi);

  if (self->closed)
    return;
  self->closed = TRUE;
  self->interest = 0;
  clear_source (&self->in_source);
  clear_source (&self->out_source);
  clear_source (&self->idle_source);
  clear_source (&self->wake_source);
  g_queue_clear_full (&self->queue, (GDestroyNotify) g_bytes_unref);

  switch (self->mode)
    {
    case UDP_MODE_PEER:
      if (self->listener != NULL)
        {
          g_autoptr(PostUdpPsi) listener = g_steal_pointer (&self->listener);

          listener_remove_peer (listener, self);
          listener_maybe_release (listener);
        }
      g_clear_object (&self->socket);   /* the listener's */
      self->fd = -1;
      break;
    case UDP_MODE_LISTENER:
      /* Stop accepting; accepted peers keep the socket while they live. */
      self->accepting = FALSE;
      listener_maybe_release (self);
      break;
    case UDP_MODE_NONE:
    case UDP_MODE_CONNECTED:
    case UDP_MODE_UNCONNECTED:
    default:
      if (self->socket != NULL)
        g_socket_close (self->socket, NULL);
      g_clear_object (&self->socket);
      g_clear_pointer (&self->rx, post_udp_receive_queue_free);
      self->fd = -1;
      break;
    }
}

static void
post_udp_psi_dispose (GObject *object)
{
  PostUdpPsi *self = POST_UDP_PSI (object);

  /* PostPsi's dispose closes the instance (post_udp_psi_close) if needed. */
  G_OBJECT_CLASS (post_udp_psi_parent_class)->dispose (object);

  clear_source (&self->listen_source);
  if (self->mode == UDP_MODE_LISTENER && self->socket != NULL)
    g_socket_close (self->socket, NULL);
  g_clear_object (&self->socket);
  g_clear_object (&self->listener);
  self->fd = -1;
}

static void
post_udp_psi_finalize (GObject *object)
{
  PostUdpPsi *self = POST_UDP_PSI (object);

  g_queue_clear_full (&self->queue, (GDestroyNotify) g_bytes_unref);
  g_clear_pointer (&self->peers, g_hash_table_unref);
  g_clear_pointer (&self->reply_from, g_hash_table_unref);
  g_clear_pointer (&self->rx, post_udp_receive_queue_free);
  g_clear_object (&self->last_source);
  g_clear_pointer (&self->context, g_main_context_unref);

  G_OBJECT_CLASS (post_udp_psi_parent_class)->finalize (object);
}

static void
post_udp_psi_constructed (GObject *object)
{
  PostUdpPsi *self = POST_UDP_PSI (object);

  G_OBJECT_CLASS (post_udp_psi_parent_class)->constructed (object);

  self->context = g_main_context_ref (post_psi_get_context (POST_PSI (self)));
  self->allow_fragmentation = post_udp_get_bool_option (self, POST_UDP_OPTION_ALLOW_FRAGMENTATION, FALSE);
}

static void
post_udp_psi_class_init (PostUdpPsiClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  PostPsiClass *psi_class = POST_PSI_CLASS (klass);

  object_class->constructed = post_udp_psi_constructed;
  object_class->dispose = post_udp_psi_dispose;
  object_class->finalize = post_udp_psi_finalize;

  psi_class->connect_async = post_udp_psi_connect_async;
  psi_class->connect_finish = post_udp_psi_connect_finish;
  psi_class->listen = post_udp_psi_listen;
  psi_class->listen_unconnected = post_udp_psi_listen_unconnected;
  psi_class->send_message = post_udp_psi_send_message;
  psi_class->send_messages = post_udp_psi_send_messages;
  psi_class->receive_message = post_udp_psi_receive_message;
  psi_class->set_interest = post_udp_psi_set_interest;
  psi_class->close = post_udp_psi_close;
  psi_class->update_path = post_udp_psi_update_path;
  psi_class->get_max_message_size = post_udp_psi_get_max_message_size;
  /* No read/write (not a byte stream), no shutdown_send (no half close),
   * no get_acked_offset (nothing is acknowledged), no fork. */
}

static void
post_udp_psi_init (PostUdpPsi *self)
{
  self->fd = -1;
  g_queue_init (&self->queue);
}
