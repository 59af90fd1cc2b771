/* post-sctp-psi.c: the `sctp` stack: SCTP (usrsctp) over UDP (RFC 6951)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The pieces, from the wire up:
 *
 * - An *endpoint* is one non-blocking UDP GSocket of the plugin, read from a
 *   GSource on the carrier's GMainContext.  A client has one per
 *   association (connected to the remote); a listener has one for all.
 *   A listener on 0.0.0.0 or :: learns where each datagram arrived
 *   (IP_PKTINFO, plugins/common/post-udp-pktinfo.c): a flow's packets
 *   leave from the address its remote last wrote to, and an accepted
 *   carrier's local address is that address.  A local that names an
 *   interface binds the endpoint's socket to it (post_psi_bind_to_interface()).
 * - A *flow* is one remote UDP (address, port) of an endpoint.  Its pointer
 *   is the AF_CONN address usrsctp knows the flow by: what arrives from that
 *   remote goes to usrsctp_conninput() with it, and usrsctp's output
 *   callback sends a packet for it with sendto() to that remote.  usrsctp
 *   itself keeps associations apart inside a flow (ports, verification
 *   tags).  A listener makes a flow for an unknown remote only for the time
 *   of one usrsctp_conninput(): unless that packet completed an association
 *   (a valid COOKIE ECHO), the flow is gone again, so INITs cost no state
 *   (SCTP's cookie, RFC 9260 5.1.3).
 * - An *association* is one one-to-one usrsctp socket, non-blocking, with an
 *   upcall: the upcall only schedules an idle on the association's context
 *   (usrsctp calls it from inside its own functions), which reads every
 *   message and notification and hands messages to the stream instances.
 * - A PostSctpPsi is one stream of an association: stream 0 is the carrier
 *   that connected or was accepted; a fork takes the next free stream
 *   number of its side (the initiator even ones, the acceptor odd ones) and
 *   the peer learns of it with its first message (a fork request there).
 *   A stream ends with a stream reset of our outgoing side (graceful), or a
 *   one-byte message of PPID POST_SCTP_PPID_ABORT before it (abort or
 *   refusal); the association ends (SHUTDOWN, or ABORT) with its last stream.
 *
 * The files: post-sctp-udp.c (the process-wide usrsctp, endpoints and
 * flows), post-sctp-assoc.c (associations: socket options, life, end),
 * post-sctp-receive.c (the dispatch: messages and notifications),
 * post-sctp-send.c (messages in parts, PR-SCTP lifetimes), and this one
 * (the instance: open, listen, fork, close, paths); what they share is in
 * post-sctp-private.h.
 *
 * usrsctp is global to the process: initialised once, on first use, with
 * usrsctp_init_nothreads() (no timer or receive thread, no UDP socket of
 * its own), and driven by GLib timers calling usrsctp_handle_timers():
 * one per endpoint, on its context (a closing association keeps its
 * endpoint), advancing one process-wide clock; after the last endpoint,
 * one more ticks TIMER_LINGER_MS, then none until the next endpoint.
 * usrsctp_finish() is never called: usrsctp 0.9.5 cannot be initialised
 * again after it (upstream issue #713, its iterator lock).  What usrsctp
 * 0.9.5 does start even so is one thread, "SCTP iterator", that sleeps on
 * a condition variable (upstream pull request #472 would remove it).  It
 * wakes when usrsctp's address work queue runs after flows' AF_CONN
 * addresses came and went; automatic ASCONF is off (below), so that work
 * sends nothing: a flow's address is not an interface address of ours to
 * announce to every peer.
 */
#include "post-sctp-private.h"

G_DEFINE_FINAL_TYPE (PostSctpPsi, post_sctp_psi, POST_TYPE_PSI)

static void
post_sctp_psi_set_interest (PostPsi      *psi,
                            GIOCondition  condition)
{
  PostSctpPsi *self = POST_SCTP_PSI (psi);

  self->interest = condition & (G_IO_IN | G_IO_OUT);
  if (self->closed || self->mode != MODE_STREAM)
    return;
  if (self->interest & G_IO_IN)
    sctp_stream_wake (self);
  /* Level-triggered, but a message needs room for all of it: after a send
   * that found none, wait for usrsctp's upcall (a SACK) instead of waking
   * the core for a send that would fail again. */
  if ((self->interest & G_IO_OUT) && self->assoc->so != NULL && !sctp_stream_locked_out (self)
      && (self->assoc->state != ASSOC_UP
          || ((usrsctp_get_events (self->assoc->so) & (SCTP_EVENT_WRITE | SCTP_EVENT_ERROR))
              && !g_atomic_int_get (&self->assoc->send_blocked))))
    sctp_assoc_schedule (self->assoc);
  else if ((self->interest & G_IO_OUT) && self->assoc->so == NULL)
    sctp_assoc_schedule (self->assoc);
}

gboolean
sctp_stream_check_usable (PostSctpPsi  *self,
                          GError      **error)
{
  if (self->mode != MODE_STREAM)
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_NOT_SUPPORTED,
                           "This SCTP instance carries no messages (not connected)");
      return FALSE;
    }
  if (self->assoc->state == ASSOC_DEAD || self->assoc->so == NULL)
    {
      if (self->assoc->error != NULL)
        g_propagate_error (error, g_error_copy (self->assoc->error));
      else
        g_set_error_literal (error, POST_ERROR, POST_ERROR_CONNECTION_RESET,
                             "The SCTP association has ended");
      return FALSE;
    }
  return TRUE;
}

static gsize
post_sctp_psi_get_max_message_size (PostPsi *psi)
{
  return 0;   /* none: a message goes to usrsctp in parts as room frees */
}

/* Ends our side of stream @sid (RFC 6525), after what is queued on it. */
static void
stream_reset (PostSctpPsi *self,
              gboolean     abort)
{
  SctpAssoc *assoc = self->assoc;
  guint8 storage[sizeof (struct sctp_reset_streams) + sizeof (uint16_t)];
  struct sctp_reset_streams *reset = (struct sctp_reset_streams *) storage;

  if (assoc->so == NULL || assoc->state != ASSOC_UP || self->sid >= assoc->n_out)
    return;
  if (abort)
    {
      struct sctp_sndinfo info = { .snd_sid = self->sid, .snd_flags = SCTP_EOR,
                                   .snd_ppid = g_htonl (POST_SCTP_PPID_ABORT) };
      const guint8 marker = 0;

      if (usrsctp_sendv (assoc->so, &marker, 1, NULL, 0, &info, sizeof info, SCTP_SENDV_SNDINFO, 0) < 0)
        g_debug ("sctp: sending the abort of stream %u failed: %s", self->sid, g_strerror (errno));
    }
  if (!self->sent_any && !abort)
    {
      /* The peer never heard of this stream: nothing to end there. */
      return;
    }
  memset (storage, 0, sizeof storage);
  reset->srs_assoc_id = SCTP_FUTURE_ASSOC;
  reset->srs_flags = SCTP_STREAM_RESET_OUTGOING;
  reset->srs_number_streams = 1;
  reset->srs_stream_list[0] = self->sid;
  if (usrsctp_setsockopt (assoc->so, IPPROTO_SCTP, SCTP_RESET_STREAMS, reset, sizeof storage) < 0)
    g_debug ("sctp: resetting stream %u failed: %s", self->sid, g_strerror (errno));
}

static void
post_sctp_psi_close (PostPsi  *psi,
                     gboolean  abort)
{
  PostSctpPsi *self = POST_SCTP_PSI (psi);

  self->closed = TRUE;
  sctp_clear_source (&self->wake);

  if (self->mode == MODE_LISTENER)
    {
      self->accepting = FALSE;
      if (self->endpoint != NULL)
        self->endpoint->listener = NULL;
      if (self->listen_so != NULL)
        {
          usrsctp_set_upcall (self->listen_so, NULL, NULL);
          usrsctp_close (g_steal_pointer (&self->listen_so));
        }
      g_clear_pointer (&self->endpoint, sctp_endpoint_unref);
      return;
    }
  if (self->mode == MODE_STREAM && self->assoc != NULL)
    {
      SctpAssoc *assoc = self->assoc;
      gboolean was_full = assoc->buffered >= ASSOC_BUFFER_LIMIT;
      /* A message of ours left unfinished must not arrive as one: SCTP
       * cannot end one stream's message early (no I-DATA), so the whole
       * association is aborted and the peer's carriers fail. */
      gboolean unfinished = self->msg_open;

      sctp_assoc_detach (assoc, self);
      sctp_stream_message_done (self);
      g_queue_clear_full (&self->inbox, (GDestroyNotify) sctp_piece_free);
      if (was_full && assoc->buffered < ASSOC_BUFFER_LIMIT)
        sctp_assoc_schedule (assoc);
      if (g_hash_table_size (assoc->streams) == 0)
        {
          if (assoc->connect_task != NULL)
            sctp_assoc_connect_done (assoc, g_error_new_literal (POST_ERROR, POST_ERROR_CLOSED,
                                                                 "The SCTP instance was closed"));
          sctp_assoc_close (assoc, abort || unfinished);
        }
      else if (unfinished)
        sctp_assoc_fail (assoc, g_error_new (POST_ERROR, POST_ERROR_CONNECTION_RESET,
                                             "SCTP stream %u closed in the middle of a message: "
                                             "the association was aborted (SCTP cannot end one "
                                             "stream's message unfinished)", self->sid));
      else
        stream_reset (self, abort);
      g_clear_pointer (&self->assoc, sctp_assoc_unref);
    }
}

/* ---- active open ------------------------------------------------------------------ */

static void
connect_cancelled_cb (GCancellable *cancellable,
                      gpointer      user_data)
{
  /* Runs in the thread that cancels; finish from the association's context. */
  sctp_assoc_schedule (user_data);
}

static void
post_sctp_psi_connect_async (PostPsi             *psi,
                             GSocketAddress      *remote,
                             GSocketAddress      *local,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  PostSctpPsi *self = POST_SCTP_PSI (psi);
  g_autoptr(GTask) task = NULL;
  g_autoptr(GSocketAddress) bound = NULL;
  g_autofree char *where = NULL;
  struct sockaddr_storage sa;
  struct sockaddr_conn sconn = { 0 };
  SctpEndpoint *ep;
  SctpFlow *flow;
  SctpAssoc *assoc;
  struct socket *so;
  GError *error = NULL;
  guint16 port;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, post_sctp_psi_connect_async);
  g_task_set_name (task, "[post] sctp connect");
  if (g_task_return_error_if_cancelled (task))
    return;
  if (self->closed || self->mode != MODE_NONE)
    {
      g_task_return_new_error (task, POST_ERROR, self->closed ? POST_ERROR_CLOSED : POST_ERROR_PENDING,
                               self->closed ? "The SCTP instance is closed"
                                            : "The SCTP instance is already in use");
      return;
    }
  if (!G_IS_INET_SOCKET_ADDRESS (remote))
    {
      g_task_return_new_error (task, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                               "SCTP over UDP needs an IP address and port, not a %s",
                               G_OBJECT_TYPE_NAME (remote));
      return;
    }
  where = sctp_format_address (remote);
  ep = sctp_endpoint_new (psi, self->context, g_socket_address_get_family (remote), local, remote, &error);
  if (ep == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  if (!g_socket_address_to_native (remote, &sa, sizeof sa, &error))
    {
      sctp_endpoint_unref (ep);
      g_task_return_error (task, error);
      return;
    }
  flow = sctp_flow_new (ep, &sa, g_socket_address_get_native_size (remote));
  sctp_endpoint_unref (ep);   /* the flow holds it */
  if (flow == NULL)
    {
      g_task_return_new_error (task, POST_ERROR, POST_ERROR_CONNECTION_REFUSED,
                               "SCTP over UDP to %s: no AF_CONN address for the flow", where);
      return;
    }

  so = usrsctp_socket (AF_CONN, SOCK_STREAM, IPPROTO_SCTP, NULL, NULL, 0, NULL);
  if (so == NULL)
    {
      int errsv = errno;

      sctp_flow_unref (flow);
      g_task_return_error (task, sctp_errno_error (errsv, "Could not create an SCTP socket"));
      return;
    }
  sctp_configure_socket (so, sctp_streams_option (psi), psi);
  if (post_configuration_get_direction (post_psi_get_configuration (psi)) == POST_DIRECTION_UNIDIRECTIONAL_SEND)
    {
      /* A source: the listener's carrier will be a sink. */
      struct sctp_setadaptation adaptation = { .ssb_adaptation_ind = POST_SCTP_ADAPTATION_ONE_WAY };

      if (usrsctp_setsockopt (so, IPPROTO_SCTP, SCTP_ADAPTATION_LAYER, &adaptation, sizeof adaptation) < 0)
        g_debug ("sctp: SCTP_ADAPTATION_LAYER failed: %s", g_strerror (errno));
    }
  sconn.sconn_family = AF_CONN;
  sconn.sconn_port = 0;
  sconn.sconn_addr = flow->conn_id;
  if (usrsctp_bind (so, (struct sockaddr *) &sconn, sizeof sconn) < 0)
    {
      int errsv = errno;

      usrsctp_close (so);
      sctp_flow_unref (flow);
      g_task_return_error (task, sctp_errno_error (errsv, "Could not bind the SCTP socket"));
      return;
    }
  assoc = sctp_assoc_new (self->context, so, flow, TRUE);
  sctp_flow_unref (flow);
  ep->client = assoc;
  assoc->state = ASSOC_CONNECTING;
  sctp_assoc_attach (assoc, self, 0);
  sctp_assoc_unref (assoc);   /* the stream holds it */

  port = (guint16) sctp_get_uint_option (psi, POST_SCTP_OPTION_PORT,
                                         g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (remote)));
  sconn.sconn_port = g_htons (port);
  bound = g_socket_get_local_address (ep->socket, NULL);
  post_psi_set_addresses (psi, bound, remote);

  assoc->connect_task = g_object_ref (task);
  if (cancellable != NULL)
    assoc->cancel_id = g_cancellable_connect (cancellable, G_CALLBACK (connect_cancelled_cb), assoc, NULL);
  if (usrsctp_connect (so, (struct sockaddr *) &sconn, sizeof sconn) < 0 && errno != EINPROGRESS)
    {
      int errsv = errno;
      g_autofree char *what = g_strdup_printf ("SCTP over UDP to %s", where);

      sctp_assoc_fail (assoc, sctp_errno_error (errsv, what));
    }
}

static gboolean
post_sctp_psi_connect_finish (PostPsi       *psi,
                              GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, psi), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- passive open --------------------------------------------------------------------- */

static void
listener_upcall_cb (struct socket *so,
                    void          *arg,
                    int            flags);

static gboolean
listener_dispatch_cb (gpointer user_data)
{
  PostSctpPsi *self = POST_SCTP_PSI (user_data);

  g_clear_pointer (&self->wake, g_source_unref);
  sctp_listener_accept_all (self);
  return G_SOURCE_REMOVE;
}

static void
listener_upcall_cb (struct socket *so,
                    void          *arg,
                    int            flags)
{
  PostSctpPsi *self = arg;

  if (self->wake != NULL || self->closed)
    return;
  self->wake = g_idle_source_new ();
  g_source_set_callback (self->wake, listener_dispatch_cb, self, NULL);
  g_source_set_static_name (self->wake, "[post] sctp accept");
  g_source_attach (self->wake, self->context);
}

/* Takes every association usrsctp completed on the listener. */
void
sctp_listener_accept_all (PostSctpPsi *self)
{
  g_object_ref (self);
  while (!self->closed && self->listen_so != NULL)
    {
      struct sockaddr_conn from = { 0 };
      socklen_t from_len = sizeof from;
      struct socket *so;
      SctpFlow *flow = NULL;
      SctpAssoc *assoc;

      so = usrsctp_accept (self->listen_so, (struct sockaddr *) &from, &from_len);
      if (so == NULL)
        break;
      if (from.sconn_family == AF_CONN)
        flow = sctp_flow_lookup (from.sconn_addr);
      if (flow == NULL || flow->endpoint != self->endpoint)
        {
          g_debug ("sctp: an association on an unknown flow: aborting it");
          usrsctp_close (so);
          continue;
        }
      sctp_configure_socket (so, sctp_streams_option (POST_PSI (self)), POST_PSI (self));
      assoc = sctp_assoc_new (self->context, so, flow, FALSE);
      assoc->state = ASSOC_UP;
      {
        struct sctp_status status = { 0 };
        socklen_t len = sizeof status;

        if (usrsctp_getsockopt (so, IPPROTO_SCTP, SCTP_STATUS, &status, &len) == 0)
          {
            assoc->n_out = status.sstat_outstrms;
            assoc->n_in = status.sstat_instrms;
          }
      }
      /* Stream 0 is announced once the first read pass saw what came
       * with the association (assoc_announce()). */
      assoc->announce = g_object_ref (self);
      sctp_assoc_schedule (assoc);
    }
  g_object_unref (self);
}

static gboolean
post_sctp_psi_listen (PostPsi         *psi,
                      GSocketAddress  *local,
                      GError         **error)
{
  PostSctpPsi *self = POST_SCTP_PSI (psi);
  g_autoptr(GSocketAddress) bound = NULL;
  struct sockaddr_conn sconn = { 0 };
  struct socket *so;

  if (self->closed || self->mode != MODE_NONE)
    {
      g_set_error_literal (error, POST_ERROR, self->closed ? POST_ERROR_CLOSED : POST_ERROR_PENDING,
                           self->closed ? "The SCTP instance is closed" : "The SCTP instance is already in use");
      return FALSE;
    }
  if (!G_IS_INET_SOCKET_ADDRESS (local))
    {
      g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                   "SCTP over UDP listens on an IP address and port, not a %s",
                   local ? G_OBJECT_TYPE_NAME (local) : "(null)");
      return FALSE;
    }
  self->endpoint = sctp_endpoint_new (psi, self->context, g_socket_address_get_family (local), local, NULL, error);
  if (self->endpoint == NULL)
    return FALSE;
  bound = g_socket_get_local_address (self->endpoint->socket, error);
  if (bound == NULL)
    return FALSE;
  self->sctp_port = (guint16) sctp_get_uint_option (psi, POST_SCTP_OPTION_PORT,
                                                    g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));

  so = usrsctp_socket (AF_CONN, SOCK_STREAM, IPPROTO_SCTP, NULL, NULL, 0, NULL);
  if (so == NULL)
    {
      *error = sctp_errno_error (errno, "Could not create an SCTP socket");
      return FALSE;
    }
  sctp_configure_socket (so, sctp_streams_option (psi), psi);
  /* No AF_CONN address: the wildcard, every flow of the endpoint. */
  sconn.sconn_family = AF_CONN;
  sconn.sconn_port = g_htons (self->sctp_port);
  sconn.sconn_addr = NULL;
  if (usrsctp_bind (so, (struct sockaddr *) &sconn, sizeof sconn) < 0 || usrsctp_listen (so, 128) < 0)
    {
      int errsv = errno;
      g_autofree char *what = g_strdup_printf ("Could not listen on SCTP port %u", self->sctp_port);

      usrsctp_close (so);
      *error = sctp_errno_error (errsv, what);
      return FALSE;
    }
  self->listen_so = so;
  self->mode = MODE_LISTENER;
  self->accepting = TRUE;
  self->endpoint->listener = self;
  usrsctp_set_upcall (so, listener_upcall_cb, self);
  post_psi_set_addresses (psi, bound, NULL);
  return TRUE;
}

/* ---- forks ------------------------------------------------------------------------------ */

static void
post_sctp_psi_fork_async (PostPsi             *psi,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  PostSctpPsi *self = POST_SCTP_PSI (psi);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr(PostPsi) child = NULL;
  GError *error = NULL;
  SctpAssoc *assoc;
  guint16 sid;

  g_task_set_source_tag (task, post_sctp_psi_fork_async);
  if (g_task_return_error_if_cancelled (task))
    return;
  if (!sctp_stream_check_usable (self, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  assoc = self->assoc;
  if (assoc->state != ASSOC_UP || assoc->peer_shutdown)
    {
      g_task_return_new_error (task, POST_ERROR, POST_ERROR_CLOSED,
                               "The SCTP association is closing: no new stream");
      return;
    }
  /* The next number of our side that nobody uses. */
  for (sid = assoc->next_sid; sid < assoc->n_out; sid += 2)
    if (!g_hash_table_contains (assoc->streams, GUINT_TO_POINTER (sid)))
      break;
  if (sid >= assoc->n_out)
    {
      g_task_return_new_error (task, POST_ERROR, POST_ERROR_NOT_SUPPORTED,
                               "The SCTP association has no stream left for a fork (%u outbound "
                               "streams; option sctp.streams asks for more)", assoc->n_out);
      return;
    }
  assoc->next_sid = sid + 2;
  child = post_stack_create_psi (post_psi_get_stack (psi), post_psi_get_configuration (psi));
  if (child == NULL || !POST_IS_SCTP_PSI (child))
    {
      g_task_return_new_error (task, POST_ERROR, POST_ERROR_NOT_SUPPORTED, "No SCTP instance for the fork");
      return;
    }
  sctp_assoc_attach (assoc, POST_SCTP_PSI (child), sid);
  post_psi_set_addresses (child, post_psi_get_local_address (psi), post_psi_get_remote_address (psi));
  post_psi_set_interface (child, post_psi_get_interface (psi));
  /* The peer learns of the stream with its first message. */
  g_task_return_pointer (task, g_steal_pointer (&child), g_object_unref);
}

static PostPsi *
post_sctp_psi_fork_finish (PostPsi       *psi,
                           GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, psi), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- paths ---------------------------------------------------------------------------------- */

static void
post_sctp_psi_update_path (PostPsi  *psi,
                           PostPath *path)
{
  PostSctpPsi *self = POST_SCTP_PSI (psi);
  struct sctp_status status = { 0 };
  socklen_t len = sizeof status;

  if (self->mode != MODE_STREAM || self->assoc->so == NULL)
    return;
  if (usrsctp_getsockopt (self->assoc->so, IPPROTO_SCTP, SCTP_STATUS, &status, &len) < 0)
    return;
  /* srtt is in milliseconds; PostPath's latency is one way, in µs. */
  if (status.sstat_primary.spinfo_srtt > 0)
    post_path_set_latency (path, (gint64) status.sstat_primary.spinfo_srtt * 1000 / 2);
  if (status.sstat_primary.spinfo_mtu > 0)
    post_path_set_mtu (path, status.sstat_primary.spinfo_mtu);
  /* What the congestion window lets through per round trip. */
  if (status.sstat_primary.spinfo_cwnd > 0)
    post_path_set_data_rate (path, (guint64) status.sstat_primary.spinfo_cwnd * 8 * 1000
                                   / MAX (status.sstat_primary.spinfo_srtt, 1));
}

/* ---- GObject ---------------------------------------------------------------------------------- */

static void
post_sctp_psi_dispose (GObject *object)
{
  PostSctpPsi *self = POST_SCTP_PSI (object);

  if (!post_psi_is_closed (POST_PSI (self)))
    post_psi_close (POST_PSI (self), TRUE);
  G_OBJECT_CLASS (post_sctp_psi_parent_class)->dispose (object);
}

static void
post_sctp_psi_finalize (GObject *object)
{
  PostSctpPsi *self = POST_SCTP_PSI (object);

  sctp_clear_source (&self->wake);
  g_queue_clear_full (&self->inbox, (GDestroyNotify) sctp_piece_free);
  g_clear_error (&self->error);
  g_clear_pointer (&self->assoc, sctp_assoc_unref);
  g_clear_pointer (&self->endpoint, sctp_endpoint_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  G_OBJECT_CLASS (post_sctp_psi_parent_class)->finalize (object);
}

static void
post_sctp_psi_constructed (GObject *object)
{
  PostSctpPsi *self = POST_SCTP_PSI (object);

  G_OBJECT_CLASS (post_sctp_psi_parent_class)->constructed (object);
  if (self->context == NULL)
    self->context = g_main_context_ref (post_psi_get_context (POST_PSI (self)));
}

static void
post_sctp_psi_class_init (PostSctpPsiClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  PostPsiClass *psi_class = POST_PSI_CLASS (klass);

  object_class->constructed = post_sctp_psi_constructed;
  object_class->dispose = post_sctp_psi_dispose;
  object_class->finalize = post_sctp_psi_finalize;

  psi_class->connect_async = post_sctp_psi_connect_async;
  psi_class->connect_finish = post_sctp_psi_connect_finish;
  psi_class->listen = post_sctp_psi_listen;
  psi_class->send_message_part = post_sctp_psi_send_message_part;
  psi_class->receive_message_part = post_sctp_psi_receive_message_part;
  psi_class->set_interest = post_sctp_psi_set_interest;
  psi_class->close = post_sctp_psi_close;
  psi_class->fork_async = post_sctp_psi_fork_async;
  psi_class->fork_finish = post_sctp_psi_fork_finish;
  psi_class->update_path = post_sctp_psi_update_path;
  psi_class->get_max_message_size = post_sctp_psi_get_max_message_size;
}

static void
post_sctp_psi_init (PostSctpPsi *self)
{
  g_queue_init (&self->inbox);
}
