/* post-sctp-udp.c: the sctp stack's wire: the process-wide usrsctp (its
 * initialisation, its output callback and the timers that drive it), and
 * the UDP endpoints (RFC 6951) and flows that carry its packets
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * See post-sctp-psi.c for the stack as a whole.
 */
#include "post-sctp-private.h"
#include "post-udp-pktinfo.h"

/* ---- the process-wide usrsctp -------------------------------------------- */

G_LOCK_DEFINE (sctp_global);
static guint         global_users;        /* endpoints alive */
static gboolean      global_ready;        /* usrsctp_init_nothreads() done */
static GHashTable   *global_flows;        /* AF_CONN address -> the live SctpFlow */
static guint64       global_serial;       /* the last endpoint's serial */
static guint8        global_key[32];      /* keys flow_conn_id() */
static GSource      *global_timer;        /* the lingering one, after the last endpoint */
static gint64        global_timer_last;   /* how far usrsctp's clock went */
static gint64        global_idle_since;   /* when the last endpoint went */

/* usrsctp's output: a packet for the flow @addr.  Called from inside
 * usrsctp (conninput, sendv, handle_timers); never with our lock held. */
static int
conn_output (void    *addr,
             void    *buffer,
             size_t   length,
             uint8_t  tos,
             uint8_t  set_df)
{
  struct sockaddr_storage sa, local;
  socklen_t sa_len = 0, local_len = 0;
  gboolean connected = FALSE;
  int fd = -1;
  gssize n;
  SctpFlow *flow;

  G_LOCK (sctp_global);
  flow = global_flows != NULL ? g_hash_table_lookup (global_flows, addr) : NULL;

  if (flow != NULL)
    {
      fd = flow->endpoint->fd;
      connected = flow->endpoint->connected;
      memcpy (&sa, &flow->sa, flow->sa_len);
      sa_len = flow->sa_len;
      memcpy (&local, &flow->local, flow->local_len);
      local_len = flow->local_len;
    }
  G_UNLOCK (sctp_global);
  if (fd < 0)
    return 0;   /* the flow is gone: the association is on its way out */

  if (connected)
    n = send (fd, buffer, length, MSG_DONTWAIT | MSG_NOSIGNAL);
  else
    n = post_udp_pktinfo_sendto (fd, buffer, length, MSG_DONTWAIT | MSG_NOSIGNAL,
                                 (struct sockaddr *) &sa, sa_len,
                                 local_len > 0 ? (struct sockaddr *) &local : NULL, local_len);
  if (n < 0)
    g_debug ("sctp: sending a %" G_GSIZE_FORMAT "-byte packet failed: %s",
             (gsize) length, g_strerror (errno));
  /* A lost packet is SCTP's business: it retransmits. */
  return 0;
}

/* Advances usrsctp's clock to now.  Every endpoint ticks on its own
 * context (so that timers fire whichever contexts are iterated); the time
 * is the process's, so ticks that come together advance it once. */
static void
global_tick (void)
{
  gint64 now = g_get_monotonic_time ();
  guint32 elapsed;

  G_LOCK (sctp_global);
  elapsed = (guint32) ((now - global_timer_last) / 1000);
  if (elapsed > 0)
    global_timer_last += (gint64) elapsed * 1000;
  G_UNLOCK (sctp_global);
  if (elapsed > 0)
    usrsctp_handle_timers (elapsed);
}

static gboolean
endpoint_timer_cb (gpointer user_data)
{
  global_tick ();
  return G_SOURCE_CONTINUE;
}

/* After the last endpoint: tick a while more, for what usrsctp frees late. */
static gboolean
linger_timer_cb (gpointer user_data)
{
  gboolean stop = FALSE;

  global_tick ();
  G_LOCK (sctp_global);
  if (global_users > 0 || g_get_monotonic_time () - global_idle_since >= (gint64) TIMER_LINGER_MS * 1000)
    {
      g_clear_pointer (&global_timer, g_source_unref);
      stop = TRUE;
    }
  G_UNLOCK (sctp_global);
  return stop ? G_SOURCE_REMOVE : G_SOURCE_CONTINUE;
}

static GSource *
timer_source_new (GSourceFunc func)
{
  GSource *source = g_timeout_source_new (TIMER_INTERVAL_MS);

  g_source_set_callback (source, func, NULL, NULL);
  g_source_set_static_name (source, "[post] sctp timers");
  return source;
}

static void
sctp_debug_printf (const char *format, ...)
{
  /* usrsctp's debug output goes nowhere (its levels are off by default). */
}

static void
global_acquire (GMainContext *context)
{
  gboolean init = FALSE;

  G_LOCK (sctp_global);
  if (!global_ready)
    {
      global_ready = TRUE;
      init = TRUE;
      global_flows = g_hash_table_new (NULL, NULL);
      for (guint i = 0; i < G_N_ELEMENTS (global_key); i += 4)
        {
          guint32 r = g_random_int ();

          memcpy (global_key + i, &r, 4);
        }
    }
  if (global_users++ == 0 && global_timer == NULL)
    global_timer_last = g_get_monotonic_time ();
  G_UNLOCK (sctp_global);

  if (init)
    {
      /* Port 0: no UDP socket of usrsctp's own; AF_CONN only. */
      usrsctp_init_nothreads (0, conn_output, sctp_debug_printf);
      /* Answer a packet for a port nobody listens on with an ABORT, so
       * that a client learns at once that it was refused. */
      usrsctp_sysctl_set_sctp_blackhole (0);
      /* A flow's AF_CONN address is not an interface address coming and
       * going: no ASCONF to peers when one is registered or removed. */
      usrsctp_sysctl_set_sctp_auto_asconf (0);
      /* Streams reset (RFC 6525) and PR-SCTP (RFC 3758) are on by default;
       * say so rather than rely on it. */
      usrsctp_sysctl_set_sctp_enable_sack_immediately (1);
      usrsctp_sysctl_set_sctp_pr_enable (1);
      usrsctp_sysctl_set_sctp_reconfig_enable (1);
    }
}

static void
global_release (GMainContext *context)
{
  GSource *linger = NULL;

  G_LOCK (sctp_global);
  g_assert (global_users > 0);
  if (--global_users == 0 && global_timer == NULL)
    {
      global_idle_since = g_get_monotonic_time ();
      linger = global_timer = timer_source_new (linger_timer_cb);
    }
  G_UNLOCK (sctp_global);
  if (linger != NULL)
    g_source_attach (linger, context);
}

/* ---- helpers --------------------------------------------------------------- */

char *
sctp_format_address (GSocketAddress *address)
{
  if (G_IS_INET_SOCKET_ADDRESS (address))
    {
      g_autofree char *ip = g_inet_address_to_string (
        g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address)));
      guint16 port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address));

      return g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address)) != NULL
             && strchr (ip, ':') ? g_strdup_printf ("[%s]:%u", ip, port)
                                 : g_strdup_printf ("%s:%u", ip, port);
    }
  return g_strdup ("(unknown)");
}

void
sctp_clear_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

/* ---- endpoints and flows ------------------------------------------------------ */

static SctpEndpoint *
endpoint_ref (SctpEndpoint *ep)
{
  g_atomic_int_inc (&ep->ref);
  return ep;
}

void
sctp_endpoint_unref (SctpEndpoint *ep)
{
  if (!g_atomic_int_dec_and_test (&ep->ref))
    return;
  sctp_clear_source (&ep->source);
  sctp_clear_source (&ep->timer);
  g_hash_table_unref (ep->flows);
  if (ep->socket != NULL)
    g_socket_close (ep->socket, NULL);
  g_clear_object (&ep->socket);
  global_release (ep->context);
  g_main_context_unref (ep->context);
  g_free (ep);
}

SctpFlow *
sctp_flow_ref (SctpFlow *flow)
{
  g_atomic_int_inc (&flow->ref);
  return flow;
}

void
sctp_flow_unref (SctpFlow *flow)
{
  if (!g_atomic_int_dec_and_test (&flow->ref))
    return;
  if (g_hash_table_lookup (flow->endpoint->flows, flow->key) == flow)
    g_hash_table_remove (flow->endpoint->flows, flow->key);
  G_LOCK (sctp_global);
  if (g_hash_table_lookup (global_flows, flow->conn_id) == flow)
    g_hash_table_remove (global_flows, flow->conn_id);
  G_UNLOCK (sctp_global);
  usrsctp_deregister_address (flow->conn_id);
  g_bytes_unref (flow->key);
  g_clear_object (&flow->remote);
  sctp_endpoint_unref (flow->endpoint);
  g_free (flow);
}

/* The AF_CONN address of the remote @sa of @ep: not a pointer, but a value
 * that is the same each time the remote comes back.  usrsctp binds a
 * cookie to the address the INIT came in on, so the flow made for a COOKIE
 * ECHO must have the address of the (forgotten) flow that answered the
 * INIT.  A keyed hash (the key is random, per process), never NULL (the
 * wildcard). */
static void *
flow_conn_id (SctpEndpoint                  *ep,
              const struct sockaddr_storage *sa,
              socklen_t                      sa_len)
{
  g_autoptr(GHmac) hmac = g_hmac_new (G_CHECKSUM_SHA256, global_key, sizeof global_key);
  guint8 digest[32];
  gsize digest_len = sizeof digest;
  guintptr id;

  g_hmac_update (hmac, (const guchar *) &ep->serial, sizeof ep->serial);
  g_hmac_update (hmac, (const guchar *) sa, sa_len);
  g_hmac_get_digest (hmac, digest, &digest_len);
  memcpy (&id, digest, sizeof id);
  return (void *) (id | 1);
}

SctpFlow *
sctp_flow_new (SctpEndpoint                  *ep,
               const struct sockaddr_storage *sa,
               socklen_t                      sa_len)
{
  void *conn_id = flow_conn_id (ep, sa, sa_len);
  SctpFlow *flow;

  G_LOCK (sctp_global);
  if (g_hash_table_contains (global_flows, conn_id))
    {
      /* Two remotes with one 64-bit hash: as good as never. */
      G_UNLOCK (sctp_global);
      g_debug ("sctp: flow address collision: dropping the remote's packet");
      return NULL;
    }
  G_UNLOCK (sctp_global);
  flow = g_new0 (SctpFlow, 1);
  flow->ref = 1;
  flow->conn_id = conn_id;
  flow->endpoint = endpoint_ref (ep);
  memcpy (&flow->sa, sa, sa_len);
  flow->sa_len = sa_len;
  flow->key = g_bytes_new (sa, sa_len);
  flow->remote = g_socket_address_new_from_native ((gpointer) sa, sa_len);
  g_hash_table_insert (ep->flows, flow->key, flow);
  G_LOCK (sctp_global);
  g_hash_table_insert (global_flows, flow->conn_id, flow);
  G_UNLOCK (sctp_global);
  usrsctp_register_address (flow->conn_id);
  return flow;
}

/* @flow's remote wrote to @local (@local_len 0: unknown) */
static void
flow_set_local (SctpFlow                      *flow,
                const struct sockaddr_storage *local,
                socklen_t                      local_len)
{
  if (local_len == 0)
    return;
  G_LOCK (sctp_global);   /* conn_output() reads it */
  memcpy (&flow->local, local, local_len);
  flow->local_len = local_len;
  G_UNLOCK (sctp_global);
}

static void
endpoint_datagram (SctpEndpoint                  *ep,
                   const guint8                  *data,
                   gsize                          size,
                   const struct sockaddr_storage *from,
                   socklen_t                      from_len,
                   const struct sockaddr_storage *local,
                   socklen_t                      local_len)
{
  g_autoptr(GBytes) key = g_bytes_new_static (from, from_len);
  SctpFlow *flow;

  /* The smallest SCTP packet is its 12-byte common header: anything
   * shorter is not SCTP (usrsctp would drop it too). */
  if (size < 12)
    {
      g_debug ("sctp: dropping a %" G_GSIZE_FORMAT "-byte datagram: not an SCTP packet", size);
      return;
    }
  flow = g_hash_table_lookup (ep->flows, key);
  if (flow != NULL)
    {
      sctp_flow_ref (flow);
      flow_set_local (flow, local, local_len);
      flow->last_rx = g_get_monotonic_time ();
      usrsctp_conninput (flow->conn_id, data, size, 0);
      sctp_flow_unref (flow);
      return;
    }
  if (ep->listener == NULL || !ep->listener->accepting)
    return;

  /* A remote we have no association with: a flow for the time of this
   * packet.  usrsctp answers an INIT with an INIT ACK holding a cookie and
   * keeps nothing; only a valid COOKIE ECHO makes an association, which
   * sctp_listener_accept_all() adopts with its flow. */
  flow = sctp_flow_new (ep, from, from_len);
  if (flow == NULL)
    return;
  flow_set_local (flow, local, local_len);
  flow->last_rx = g_get_monotonic_time ();
  usrsctp_conninput (flow->conn_id, data, size, 0);
  sctp_listener_accept_all (ep->listener);
  sctp_flow_unref (flow);
}

static gboolean
endpoint_readable_cb (GSocket      *socket,
                      GIOCondition  condition,
                      gpointer      user_data)
{
  SctpEndpoint *ep = endpoint_ref (user_data);
  g_autofree guint8 *buffer = g_malloc (UDP_BUFFER);

  for (guint i = 0; i < UDP_BATCH && ep->fd >= 0; i++)
    {
      struct sockaddr_storage from, local;
      socklen_t from_len = sizeof from, local_len = 0;
      gssize n;

      n = post_udp_pktinfo_recvfrom (ep->fd, buffer, UDP_BUFFER, MSG_DONTWAIT, ep->pktinfo, ep->port,
                                     &from, &from_len, &local, &local_len);
      if (n < 0)
        {
          int errsv = errno;

          if (errsv == EAGAIN || errsv == EWOULDBLOCK)
            break;
          if (errsv == EINTR)
            continue;
          if (errsv == ECONNREFUSED && ep->client != NULL && ep->client->state == ASSOC_CONNECTING)
            {
              /* ICMP port unreachable for our INIT: nobody listens there. */
              g_autofree char *where = sctp_format_address (ep->client->flow->remote);

              sctp_assoc_fail (ep->client,
                               g_error_new (POST_ERROR, POST_ERROR_CONNECTION_REFUSED,
                                            "SCTP over UDP to %s: connection refused (nothing listens on the UDP port)",
                                            where));
              break;
            }
          /* ICMP errors on an established association: SCTP retransmits,
           * and its own timers decide when the path is dead. */
          g_debug ("sctp: receiving failed: %s", g_strerror (errsv));
          continue;
        }
      if (ep->connected)
        {
          /* A connected socket only hears its remote; the flow is the
           * one the client made. */
          if (ep->client != NULL && ep->client->flow != NULL)
            {
              SctpFlow *flow = sctp_flow_ref (ep->client->flow);

              flow->last_rx = g_get_monotonic_time ();
              if ((gsize) n >= 12)
                usrsctp_conninput (flow->conn_id, buffer, n, 0);
              sctp_flow_unref (flow);
            }
          continue;
        }
      endpoint_datagram (ep, buffer, n, &from, from_len, &local, local_len);
    }
  sctp_endpoint_unref (ep);
  return G_SOURCE_CONTINUE;
}

/* SCTP sends a window's worth of packets in a burst: a UDP socket buffer
 * smaller than the association's window loses the end of a burst on a busy
 * receiver, and a loss costs a retransmission timeout (a second at least).
 * Ask for 2 MiB each way; the kernel caps it at net.core.rmem_max /
 * wmem_max unless the process may force it. */
static void
set_udp_buffers (GSocket *socket)
{
  static const struct { int force, plain; } options[] = {
    { SO_RCVBUFFORCE, SO_RCVBUF },
    { SO_SNDBUFFORCE, SO_SNDBUF },
  };

  for (guint i = 0; i < G_N_ELEMENTS (options); i++)
    if (!g_socket_set_option (socket, SOL_SOCKET, options[i].force, UDP_SOCKET_BUFFER, NULL))
      g_socket_set_option (socket, SOL_SOCKET, options[i].plain, UDP_SOCKET_BUFFER, NULL);
}

/* The UDP socket of @psi: a client's (@connect_to) or a listener's, bound
 * to @psi's interface (post_psi_bind_to_interface()) and to @bind_to. */
SctpEndpoint *
sctp_endpoint_new (PostPsi         *psi,
                   GMainContext    *context,
                   GSocketFamily    family,
                   GSocketAddress  *bind_to,
                   GSocketAddress  *connect_to,
                   GError         **error)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) bound = NULL;
  gboolean pktinfo = FALSE;
  SctpEndpoint *ep;

  socket = g_socket_new (family, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, error);
  if (socket == NULL)
    return NULL;
  g_socket_set_blocking (socket, FALSE);
  set_udp_buffers (socket);
  if (!post_psi_bind_to_interface (psi, g_socket_get_fd (socket), connect_to == NULL, error))
    return NULL;
  if (bind_to != NULL && !g_socket_bind (socket, bind_to, FALSE, error))
    {
      g_autofree char *where = sctp_format_address (bind_to);

      g_prefix_error (error, "Could not bind to UDP %s: ", where);
      return NULL;
    }
  if (connect_to != NULL && !g_socket_connect (socket, connect_to, NULL, error))
    {
      g_autofree char *where = sctp_format_address (connect_to);

      g_prefix_error (error, "SCTP over UDP to %s failed: ", where);
      return NULL;
    }
  /* A wildcard listener answers from where each datagram arrived. */
  if (connect_to == NULL && post_udp_pktinfo_is_wildcard (bind_to))
    {
      if (!post_udp_pktinfo_enable (g_socket_get_fd (socket), family, error))
        return NULL;
      bound = g_socket_get_local_address (socket, error);
      if (bound == NULL)
        return NULL;
      pktinfo = TRUE;
    }

  global_acquire (context);
  ep = g_new0 (SctpEndpoint, 1);
  ep->ref = 1;
  G_LOCK (sctp_global);
  ep->serial = ++global_serial;
  G_UNLOCK (sctp_global);
  ep->context = g_main_context_ref (context);
  ep->socket = g_steal_pointer (&socket);
  ep->fd = g_socket_get_fd (ep->socket);
  ep->connected = connect_to != NULL;
  ep->pktinfo = pktinfo;
  if (bound != NULL)
    ep->port = g_htons (g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
  ep->flows = g_hash_table_new ((GHashFunc) g_bytes_hash, (GEqualFunc) g_bytes_equal);
  ep->source = g_socket_create_source (ep->socket, G_IO_IN, NULL);
  g_source_set_callback (ep->source, (GSourceFunc) (void (*) (void)) endpoint_readable_cb, ep, NULL);
  g_source_set_static_name (ep->source, "[post] sctp udp");
  g_source_attach (ep->source, context);
  ep->timer = timer_source_new (endpoint_timer_cb);
  g_source_attach (ep->timer, context);
  return ep;
}

/* The live flow whose AF_CONN address is @conn_id, or NULL. */
SctpFlow *
sctp_flow_lookup (void *conn_id)
{
  SctpFlow *flow;

  G_LOCK (sctp_global);
  flow = g_hash_table_lookup (global_flows, conn_id);
  G_UNLOCK (sctp_global);
  return flow;
}
