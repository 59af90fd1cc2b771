/* post-quic-psi.c: PostQuicPsi, the Protocol Stack Instance of the `quic`
 * stack (QUIC v1, RFC 9000, with ngtcp2 and its GnuTLS crypto backend)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Draft Figure 9(b): several carriers multiplexed over one transport.  A
 * QUIC connection is a QuicConn, shared (refcounted) by the PostQuicPsi of
 * each of its bidirectional streams; the connection lives while any stream
 * instance needs it (and, after the last one closed gracefully, until what
 * it wrote is acknowledged, at most LINGER_MS).  A PostQuicPsi is in one of
 * these modes:
 *
 * CONNECTING (active open: connect_async)
 *   A new QuicConn on its own non-blocking UDP socket, connect()ed to the
 *   remote.  When the TLS 1.3 handshake inside QUIC completes, the instance
 *   opens the connection's first bidirectional stream and becomes a STREAM.
 *
 * STREAM
 *   One bidirectional stream: read/write are stream data, shutdown_send is
 *   the FIN.  Received data is buffered per stream and flow-control credit
 *   (MAX_STREAM_DATA, MAX_DATA) is only extended as the core reads it, so a
 *   slow reader closes the peer's window.  Written data is kept (in chunks
 *   that never move, as ngtcp2 refers to them until acknowledged) until the
 *   peer acknowledges it; at most TX_WINDOW bytes are outstanding per stream.
 *   The acknowledged prefix (acked_stream_data_offset) is get_acked_offset,
 *   which the core polls for the acked event (EVENT_ACKED).
 *   fork_async opens another stream of the same connection; a stream the
 *   peer opens is announced as a fork request on a stream instance of the
 *   connection (the first stream of a connection a listener accepted is
 *   announced as an accepted instance instead).  When the peer's limit on
 *   bidirectional streams is reached, a fork waits (ForkWaiter, in order)
 *   for its MAX_STREAMS (extend_max_local_streams_bidi), its cancellable,
 *   the close of its instance or the end of the connection.  A stream
 *   closed while it is being announced (nobody accepted the fork request,
 *   or the listener's incoming handler refused it) is reset with
 *   APP_ERROR_REFUSED, which the forking side reports as
 *   POST_ERROR_CONNECTION_REFUSED; other aborts use APP_ERROR_ABORT.
 *
 * LISTENER (passive open: listen)
 *   One UDP socket (QuicServer) for every connection it accepts, which are
 *   demultiplexed by destination connection id.  Each connection applies
 *   per-connection limits (streams, data) in its transport parameters;
 *   what a stream buffers is bounded by its flow-control window (credit is
 *   only extended as the core reads), the streams the peer opens by
 *   `quic.max-streams` (and MAX_UNI_STREAMS).  Before any state is kept
 *   for an Initial (server_admit): beyond `quic.max-connections`, or
 *   `quic.max-connections-per-address` from its source address (IPv6: its
 *   /64), it gets a stateless CONNECTION_CLOSE (CONNECTION_REFUSED); without a valid token
 *   it gets a Retry when `quic.retry` is "always", or "when-busy" (the
 *   default) with `quic.retry-threshold` handshakes in progress; a valid
 *   Retry token is checked against the client's address and DCID and
 *   carried into the transport parameters (original_dcid, retry_scid), an
 *   invalid one gets INVALID_TOKEN.  An Initial whose payload does not
 *   decrypt drops the connection it would have made (NGTCP2_ERR_DROP_CONN),
 *   so garbage leaves nothing behind; other garbage never gets past
 *   ngtcp2_accept().
 *   Closing the listener stops accepting; accepted connections go on.
 *
 * 0-RTT (client): get_early_data_limit takes the association's newest
 * quic ticket (GnuTLS session data, the server's transport parameters and
 * a NEW_TOKEN token, see TICKET_MAGIC); with early data from the core the
 * first stream is opened before the handshake (on the remembered transport
 * parameters) and carries it in 0-RTT packets.  If the server refuses it,
 * ngtcp2 is told (ngtcp2_conn_early_data_rejected), the stream is opened
 * again and its data goes from offset 0, delivered once.  New tickets are
 * exported to the association after each batch of packets.  A listener
 * enables tickets, GnuTLS anti-replay and (unless `tls.server-early-data`
 * is false) early data, issues a NEW_TOKEN token after the handshake and
 * accepts a valid one in an Initial as address validation.
 *
 * Everything runs on the instance's GMainContext: a socket source, one
 * timer source re-armed from ngtcp2_conn_get_expiry(), and idle sources that
 * coalesce writes and deliver events to the core outside ngtcp2 callbacks.
 * No threads.
 *
 * Sources and sinks: an instance whose configuration's RFC 9622
 * `direction` is unidirectional-send (what makes the core give its carrier
 * the SOURCE role; the PSI interface says nothing of roles) opens a
 * unidirectional stream instead of a bidirectional one; it never has
 * input, and reads the end of its input once its own side is shut down.
 * A unidirectional stream the peer opens is announced like a
 * bidirectional one (accepted or fork request) by an instance whose
 * configuration is a copy with `direction` unidirectional-receive, from
 * which the core makes the carrier a SINK.  A source on a resumed
 * association sends its idempotent messages as 0-RTT data on its
 * unidirectional stream.
 *
 * Migration (RFC 9000 section 9): the core calls migrate on a client's
 * stream instance when the carrier's local address or interface goes
 * away; the connection moves to a new UDP socket bound to the new local
 * address (connected to the same remote) and
 * ngtcp2_conn_initiate_immediate_migration() switches to that path at once
 * (validating it meanwhile), with a spare connection id the server issued
 * (both ends allow ACTIVE_CID_LIMIT; the listener registers every id it
 * issues with its demultiplexer).  Every stream instance of the connection
 * gets the new addresses and interface and emits path-changed.  A client
 * whose socket reports EADDRNOTAVAIL, ENETUNREACH or ENETDOWN migrates by
 * itself to the source address the routing picks then (unless its
 * configuration has interface preferences, which only the core honours).
 * Packets go to the path ngtcp2 wrote them for (a GSO run never mixes
 * paths): a listener sends each to its path's remote
 * (probes to a migrating peer's new address), a client drops those for a
 * local address it left.  The listener demultiplexes by connection id
 * only, hands ngtcp2 each packet's real source address, and after reading
 * follows ngtcp2's current path: when the peer migrated, the connection's
 * remote and its stream instances' addresses change and they emit
 * path-changed.  A server never initiates migration.
 *
 * Datagrams (RFC 9221): both ends offer max_datagram_frame_size unless
 * `quic.datagrams` is false.  The core hands a message with reliable=FALSE
 * and a lifetime to send_datagram; it is queued on the connection
 * (dgram_tx, by niceness) with the sending stream's id in front (a QUIC
 * varint, as RFC 9297's quarter stream id), written in quic_conn_write before
 * stream data of the same niceness, dropped (EXPIRED) once its deadline
 * passed, and remembered by dgram id (dgram_inflight) for ngtcp2's
 * ack_datagram / lost_datagram.  Events go to the core from the event
 * idle.  A received datagram goes to the instance of its stream; one that
 * overtook its (peer) stream's first bytes waits in dgram_early.
 *
 * Niceness across streams: the core tells each instance the niceness of
 * what it writes next (set_send_priority); quic_conn_write serves streams
 * in that order, strictly: nicer streams wait while a more important one
 * has data or its carrier has more queued (conn_top_priority).
 *
 * The files: this one has the PostQuicPsi type and its vfuncs (connect,
 * listen, read/write, fork, datagrams, migrate, close);
 * post-quic-conn.c the connection (QuicConn: ngtcp2 callbacks, packet I/O,
 * timer, close, events); post-quic-stream.c a stream's buffers
 * (QuicStream); post-quic-datagram.c DATAGRAM frames (QuicDgram);
 * post-quic-tls.c the TLS session and the tickets in the association;
 * post-quic-server.c the listener (QuicServer: demultiplexing, admission,
 * Retry, tokens, anti-replay); post-quic-migration.c connection migration;
 * plugins/common/post-udp-batch.c GSO/GRO.  post-quic-private.h has the structs and the
 * quic_ functions they share.
 */

#include "post-quic-private.h"

G_DEFINE_FINAL_TYPE (PostQuicPsi, post_quic_psi, POST_TYPE_PSI)

/* ---- the instance side ---------------------------------------------------------- */

/* A source: the core gives a carrier the SOURCE role from the RFC 9622
 * `direction` unidirectional-send, and the instance (which is told nothing
 * of roles) reads it from its configuration; its stream is then
 * unidirectional.  post_carrier_new_source() with a bidirectional
 * configuration still gets a bidirectional stream (the core only sends on
 * it). */
gboolean
quic_is_source (PostPsi *psi)
{
  return post_configuration_get_direction (post_psi_get_configuration (psi))
         == POST_DIRECTION_UNIDIRECTIONAL_SEND;
}

void
quic_attach_stream (PostQuicPsi *self,
                    QuicConn    *qc,
                    QuicStream  *s)
{
  if (self->qc == NULL)
    self->qc = quic_conn_ref (qc);
  self->stream = s;
  s->psi = self;
  self->mode = MODE_STREAM;
  qc->had_stream = TRUE;
}

PostQuicPsi *
quic_new_stream_psi (QuicConn   *qc,
                     QuicStream *s,
                     PostLocal  *local)
{
  g_autoptr(PostConfiguration) directed = NULL;
  PostConfiguration *configuration = qc->configuration;
  PostQuicPsi *psi;

  if (s->send_only)
    {
      /* Our unidirectional stream (fork_source_async): a source. */
      directed = post_configuration_copy (qc->configuration);
      post_configuration_set_direction (directed, POST_DIRECTION_UNIDIRECTIONAL_SEND, NULL);
      configuration = directed;
    }
  else if (s->recv_only)
    {
      /* The peer's unidirectional stream: the instance follows a copy of
       * the configuration whose `direction` is unidirectional-receive, which
       * is how the core learns that the carrier it accepts is a sink. */
      directed = post_configuration_copy (qc->configuration);
      post_configuration_set_direction (directed, POST_DIRECTION_UNIDIRECTIONAL_RECEIVE, NULL);
      configuration = directed;
    }
  psi = POST_QUIC_PSI (post_stack_create_psi (qc->stack, configuration));

  post_psi_set_context (POST_PSI (psi), local, NULL);
  post_psi_set_addresses (POST_PSI (psi), qc->local_address, qc->remote_address);
  qc->n_psis++;
  quic_attach_stream (psi, qc, s);
  return psi;
}

static GIOCondition
ready_condition (PostQuicPsi *self)
{
  QuicStream *s = self->stream;
  GIOCondition cond = 0;

  if (self->mode != MODE_STREAM)
    return 0;
  if (s == NULL || s->error != NULL || self->qc->error != NULL)
    return G_IO_IN | G_IO_OUT;
  if (s->rx->len > s->rx_pos || s->rx_fin || s->closed
      || (s->send_only && s->fin_requested))
    cond |= G_IO_IN;
  if (!s->fin_requested && s->tx_end - s->tx_acked < TX_WINDOW
      && g_queue_get_length (&self->qc->dgram_tx) < DGRAM_QUEUE_MAX)
    cond |= G_IO_OUT;
  return cond;
}

static gboolean
ready_cb (gpointer user_data)
{
  PostQuicPsi *self = user_data;
  GIOCondition cond = ready_condition (self) & self->interest;

  if (cond == 0)
    {
      g_clear_pointer (&self->ready_source, g_source_unref);
      return G_SOURCE_REMOVE;
    }
  g_object_ref (self);
  post_psi_notify_ready (POST_PSI (self), cond);
  if (self->ready_source == NULL || g_source_is_destroyed (self->ready_source))
    {
      g_object_unref (self);
      return G_SOURCE_REMOVE;
    }
  g_object_unref (self);
  return G_SOURCE_CONTINUE;
}

/* Level-triggered readiness: an idle reports it while it holds. */
void
quic_update_ready (PostQuicPsi *self)
{
  if (self->ready_source != NULL || self->mode == MODE_CLOSED)
    return;
  if ((ready_condition (self) & self->interest) == 0)
    return;
  self->ready_source = g_idle_source_new ();
  g_source_set_callback (self->ready_source, ready_cb, self, NULL);
  g_source_set_static_name (self->ready_source, "[post] quic ready");
  g_source_attach (self->ready_source, self->context);
}

/* ---- PostPsi: establishment ---------------------------------------------------------- */

static gboolean
connect_cancelled_idle_cb (gpointer user_data)
{
  PostQuicPsi *self = user_data;

  if (self->qc != NULL && self->qc->connecting == self)
    quic_conn_schedule_events (self->qc);
  return G_SOURCE_REMOVE;
}

static void
connect_cancelled_cb (GCancellable *cancellable,
                      PostQuicPsi  *self)
{
  /* May run on another thread: only schedule; the event idle checks. */
  GSource *idle = g_idle_source_new ();

  g_source_set_callback (idle, connect_cancelled_idle_cb, g_object_ref (self), g_object_unref);
  g_source_set_static_name (idle, "[post] quic connect cancelled");
  g_source_attach (idle, self->context);
  g_source_unref (idle);
}

/* Client: takes the association's newest ticket (each is used once). */
static void
prepare_resumption (PostQuicPsi *self)
{
  PostAssociation *association = post_psi_get_association (POST_PSI (self));
  g_autoptr(GBytes) blob = NULL;

  if (self->resumption_prepared)
    return;
  self->resumption_prepared = TRUE;
  if (association == NULL || !post_gnutls_session_cache_enabled (post_psi_get_configuration (POST_PSI (self))))
    return;
  blob = post_association_take_session_ticket (association);
  if (blob != NULL && !quic_ticket_unpack (blob, &self->ticket, &self->ticket_params, &self->ticket_token))
    g_debug ("QUIC: ignoring a session ticket that is not a quic one");
}

static gboolean
decode_ticket_params (PostQuicPsi             *self,
                      ngtcp2_transport_params *params)
{
  gsize len;
  const guint8 *data;

  if (self->ticket_params == NULL)
    return FALSE;
  data = g_bytes_get_data (self->ticket_params, &len);
  return ngtcp2_decode_transport_params (params, NGTCP2_TRANSPORT_PARAMS_TYPE_ENCRYPTED_EXTENSIONS,
                                         data, len) == 0;
}

static gsize
post_quic_psi_get_early_data_limit (PostPsi *psi)
{
  PostQuicPsi *self = POST_QUIC_PSI (psi);
  ngtcp2_transport_params params;
  guint64 limit;

  if (self->mode != MODE_IDLE || !post_gnutls_zero_rtt_allowed (post_psi_get_configuration (psi)))
    return 0;
  prepare_resumption (self);
  if (self->ticket == NULL || !decode_ticket_params (self, &params))
    return 0;
  /* A source's early data goes on a unidirectional stream. */
  if (quic_is_source (psi))
    {
      if (params.initial_max_streams_uni == 0)
        return 0;
      limit = MIN (params.initial_max_stream_data_uni, params.initial_max_data);
    }
  else
    {
      if (params.initial_max_streams_bidi == 0)
        return 0;
      limit = MIN (params.initial_max_stream_data_bidi_remote, params.initial_max_data);
    }
  return MIN (limit, MIN (MAX_EARLY_DATA, TX_WINDOW));
}

static void
post_quic_psi_set_early_data (PostPsi *psi,
                              GBytes  *early_data)
{
  PostQuicPsi *self = POST_QUIC_PSI (psi);

  g_clear_pointer (&self->early_data, g_bytes_unref);
  self->early_data = g_bytes_ref (early_data);
}

/* Client, after the session is set up: resume with the ticket, and put
 * the early data on a stream opened before the handshake (0-RTT). */
static void
start_resumption (PostQuicPsi *self,
                  QuicConn    *qc)
{
  ngtcp2_transport_params params;
  int64_t stream_id;
  QuicStream *s;
  gsize len;
  const guint8 *data;
  gboolean source;
  int ret;

  if (self->ticket == NULL)
    return;
  data = g_bytes_get_data (self->ticket, &len);
  ret = gnutls_session_set_data (qc->session, data, len);
  if (ret < 0)
    {
      g_debug ("QUIC: ignoring an unusable session ticket: %s", gnutls_strerror (ret));
      return;
    }
  if (self->early_data == NULL || !decode_ticket_params (self, &params))
    return;
  ngtcp2_conn_set_early_remote_transport_params (qc->conn, &params);
  source = quic_is_source (POST_PSI (self));
  if ((source ? ngtcp2_conn_open_uni_stream (qc->conn, &stream_id, NULL)
              : ngtcp2_conn_open_bidi_stream (qc->conn, &stream_id, NULL)) != 0)
    return;
  s = quic_conn_add_stream (qc, stream_id);
  s->send_only = source;
  s->psi = self;
  self->stream = s;
  data = g_bytes_get_data (self->early_data, &len);
  quic_stream_append (s, data, len);
  qc->early_stream = s;
  g_clear_pointer (&self->early_data, g_bytes_unref);   /* on the stream now */
}

static void
post_quic_psi_connect_async (PostPsi             *psi,
                             GSocketAddress      *remote,
                             GSocketAddress      *local,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  PostQuicPsi *self = POST_QUIC_PSI (psi);
  g_autoptr(GTask) task = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = NULL;
  PostAssociation *association = post_psi_get_association (psi);
  QuicConn *qc;
  ngtcp2_callbacks callbacks;
  ngtcp2_settings settings;
  ngtcp2_transport_params params;
  ngtcp2_cid dcid, scid;
  ngtcp2_path path;
  int rv;

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, post_quic_psi_connect_async);
  g_task_set_name (task, "[post] quic connect");

  if (g_task_return_error_if_cancelled (task))
    return;
  if (self->mode != MODE_IDLE)
    {
      g_task_return_new_error (task, POST_ERROR, self->mode == MODE_CLOSED ? POST_ERROR_CLOSED : POST_ERROR_PENDING,
                               "The QUIC instance is closed or already in use");
      return;
    }
  if (!G_IS_INET_SOCKET_ADDRESS (remote))
    {
      g_task_return_new_error (task, POST_ERROR, POST_ERROR_INVALID_ARGUMENT, "QUIC needs an IP address");
      return;
    }

  qc = quic_conn_new (psi);
  self->qc = qc;
  qc->n_psis = 1;
  if (association != NULL && post_gnutls_session_cache_enabled (qc->configuration))
    qc->association = g_object_ref (association);
  prepare_resumption (self);
  qc->want_early = self->early_data != NULL && self->ticket != NULL && self->ticket_params != NULL;
  qc->remote_address = g_object_ref (remote);
  qc->peer = quic_format_address (remote);
  qc->server_name = post_gnutls_server_name (association, &qc->sni);
  if (qc->sni)
    {
      g_autofree char *address = quic_format_address (remote);

      g_free (qc->peer);
      qc->peer = g_strdup_printf ("%s (%s)", qc->server_name, address);
    }

  socket = g_socket_new (g_socket_address_get_family (remote), G_SOCKET_TYPE_DATAGRAM,
                         G_SOCKET_PROTOCOL_UDP, &error);
  if (socket == NULL)
    goto failed;
  g_socket_set_blocking (socket, FALSE);
  post_udp_batch_setup (&qc->udp, g_socket_get_fd (socket), QUIC_SOCKET_BUFFER);
  /* The interface the local names pins the connection.  A gathered
   * local's does not: the socket is bound to its address, and the
   * connection migrates off it when its path goes away (a socket bound to
   * the device would instead keep sending there, on-link). */
  if (post_psi_get_local (psi) != NULL && post_local_get_interface (post_psi_get_local (psi)) != NULL
      && !post_psi_bind_to_interface (psi, g_socket_get_fd (socket), FALSE, &error))
    goto failed;
  if (local != NULL && !g_socket_bind (socket, local, FALSE, &error))
    goto failed;
  if (!g_socket_connect (socket, remote, NULL, &error))
    goto failed;
  qc->local_address = g_socket_get_local_address (socket, &error);
  if (qc->local_address == NULL
      || !quic_to_native (qc->local_address, &qc->local, &qc->local_len, &error)
      || !quic_to_native (remote, &qc->remote, &qc->remote_len, &error))
    goto failed;
  qc->socket = g_steal_pointer (&socket);

  qc->cred = post_gnutls_client_credentials (post_psi_get_configuration (psi), post_psi_get_local (psi), &error);
  if (qc->cred == NULL)
    goto failed;
  if (association != NULL)
    {
      const char *psk_identity = NULL;
      GBytes *psk = post_association_get_pre_shared_key (association, &psk_identity);

      if (psk != NULL)
        {
          qc->psk = post_gnutls_make_psk_client_credentials (psk, psk_identity, POST_ERROR_TLS_HANDSHAKE, &error);
          if (qc->psk == NULL)
            goto failed;
          qc->offered_psk = TRUE;
        }
    }

  dcid.datalen = NGTCP2_MIN_INITIAL_DCIDLEN + 10;
  quic_rand_bytes (dcid.data, dcid.datalen);
  scid.datalen = SCID_LEN;
  quic_rand_bytes (scid.data, scid.datalen);
  quic_init_callbacks (&callbacks, FALSE);
  quic_init_settings (&settings, qc->configuration);
  quic_init_params (&params, qc->configuration, CLIENT_MAX_STREAMS);
  if (self->ticket_token != NULL)
    {
      /* The server's NEW_TOKEN: our address is validated at once. */
      settings.token.base = (uint8_t *) g_bytes_get_data (self->ticket_token, &settings.token.len);
    }
  path.local.addr = (ngtcp2_sockaddr *) &qc->local;
  path.local.addrlen = qc->local_len;
  path.remote.addr = (ngtcp2_sockaddr *) &qc->remote;
  path.remote.addrlen = qc->remote_len;
  path.user_data = NULL;
  rv = ngtcp2_conn_client_new (&qc->conn, &dcid, &scid, &path, NGTCP2_PROTO_VER_V1,
                               &callbacks, &settings, &params, NULL, qc);
  if (rv != 0)
    {
      error = quic_ngtcp2_error (rv, "Cannot create a QUIC connection");
      goto failed;
    }
  if (!quic_setup_session (qc, FALSE, &error))
    goto failed;
  ngtcp2_conn_set_tls_native_handle (qc->conn, qc->session);
  start_resumption (self, qc);

  quic_conn_watch_socket (qc);
  quic_conn_start_timer (qc);

  self->mode = MODE_CONNECTING;
  self->connect_task = g_steal_pointer (&task);
  qc->connecting = self;
  if (cancellable != NULL)
    {
      self->cancellable = g_object_ref (cancellable);
      self->cancel_id = g_cancellable_connect (cancellable, G_CALLBACK (connect_cancelled_cb), self, NULL);
    }
  post_psi_set_addresses (psi, qc->local_address, remote);
  quic_conn_write (qc);
  return;

failed:
  self->mode = MODE_CLOSED;
  qc->closed = TRUE;
  g_clear_pointer (&self->qc, quic_conn_unref);
  g_task_return_error (task, g_steal_pointer (&error));
}

static gboolean
post_quic_psi_connect_finish (PostPsi       *psi,
                              GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, psi), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static gboolean
post_quic_psi_listen (PostPsi         *psi,
                      GSocketAddress  *local,
                      GError         **error)
{
  PostQuicPsi *self = POST_QUIC_PSI (psi);
  PostConfiguration *configuration = post_psi_get_configuration (psi);
  QuicServer *server;
  g_autoptr(GSocket) socket = NULL;
  GError *local_error = NULL;
  gboolean has_psk;

  if (self->mode != MODE_IDLE)
    {
      g_set_error_literal (error, POST_ERROR, self->mode == MODE_CLOSED ? POST_ERROR_CLOSED : POST_ERROR_PENDING,
                           "The QUIC instance is closed or already in use");
      return FALSE;
    }
  if (!G_IS_INET_SOCKET_ADDRESS (local))
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT, "QUIC needs an IP address");
      return FALSE;
    }

  server = g_new0 (QuicServer, 1);
  server->ref_count = 1;
  server->context = g_main_context_ref (self->context);
  server->cids = g_hash_table_new_full (g_bytes_hash, g_bytes_equal, (GDestroyNotify) g_bytes_unref, NULL);
  server->conns = g_hash_table_new_full (NULL, NULL, (GDestroyNotify) quic_conn_unref, NULL);
  server->per_address = g_hash_table_new_full (g_bytes_hash, g_bytes_equal, (GDestroyNotify) g_bytes_unref, NULL);
  server->stack = g_object_ref (post_psi_get_stack (psi));
  server->configuration = g_object_ref (configuration);
  server->endpoint = post_psi_get_local (psi) ? g_object_ref (post_psi_get_local (psi)) : NULL;
  server->max_streams = quic_option_uint (configuration, "quic.max-streams", SERVER_MAX_STREAMS);
  {
    GVariant *early = post_configuration_get_option (configuration, "tls.server-early-data");

    server->early_data = early == NULL || !g_variant_is_of_type (early, G_VARIANT_TYPE_BOOLEAN)
                         || g_variant_get_boolean (early);
  }
  quic_rand_bytes (server->token_secret, sizeof server->token_secret);
  self->server = server;
  if (!quic_server_read_options (server, configuration, error))
    return FALSE;
  if (!post_gnutls_server_tickets_init (&server->tickets, ANTI_REPLAY_MAX, POST_ERROR_TLS_HANDSHAKE, error))
    return FALSE;

  has_psk = server->endpoint != NULL && post_local_lookup_pre_shared_key (server->endpoint, NULL) != NULL;
  server->cred = post_gnutls_make_certificate_credentials (configuration, post_psi_get_local (psi), !has_psk, &local_error);
  if (server->cred == NULL && (local_error != NULL || !has_psk))
    {
      if (local_error == NULL)
        local_error = g_error_new_literal (POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                                           "A QUIC listener needs an identity (a certificate and its key, "
                                           "post_local_set_identity_from_pem()) or pre-shared keys "
                                           "(post_local_add_pre_shared_key()) in its local");
      g_propagate_error (error, local_error);
      return FALSE;
    }
  if (has_psk)
    {
      server->psk = post_gnutls_make_psk_server_credentials (quic_server_psk_cb, POST_ERROR_TLS_HANDSHAKE, error);
      if (server->psk == NULL)
        return FALSE;
    }
  {
    g_autoptr(GPtrArray) anchors = post_configuration_get_trust_anchors (configuration);

    server->request_client_cert = anchors->len > 0 && server->cred != NULL
                                  && post_local_get_identity_pem (server->endpoint, NULL, NULL);
  }

  socket = g_socket_new (g_socket_address_get_family (local), G_SOCKET_TYPE_DATAGRAM,
                         G_SOCKET_PROTOCOL_UDP, error);
  if (socket == NULL)
    return FALSE;
  g_socket_set_blocking (socket, FALSE);
  post_udp_batch_setup (&server->udp, g_socket_get_fd (socket), QUIC_SOCKET_BUFFER);
  if (!post_psi_bind_to_interface (psi, g_socket_get_fd (socket), TRUE, error)
      || !g_socket_bind (socket, local, FALSE, error))
    return FALSE;
  server->local_address = g_socket_get_local_address (socket, error);
  if (server->local_address == NULL
      || !quic_to_native (server->local_address, &server->local, &server->local_len, error)
      || !post_udp_batch_listen_any (&server->udp, g_socket_get_fd (socket), server->local_address, error))
    return FALSE;
  server->socket = g_steal_pointer (&socket);
  server->source = g_socket_create_source (server->socket, G_IO_IN, NULL);
  g_source_set_callback (server->source, (GSourceFunc) (void (*) (void)) quic_server_socket_cb, server, NULL);
  g_source_set_static_name (server->source, "[post] quic listener");
  g_source_attach (server->source, self->context);
  server->listener = self;
  self->mode = MODE_LISTENER;
  post_psi_set_addresses (psi, server->local_address, NULL);
  return TRUE;
}

/* ---- PostPsi: streams ---------------------------------------------------------------- */

static gboolean
check_stream (PostQuicPsi  *self,
              GError      **error)
{
  if (self->mode == MODE_STREAM)
    return TRUE;
  g_set_error_literal (error, POST_ERROR, self->mode == MODE_CLOSED ? POST_ERROR_CLOSED : POST_ERROR_CONNECTION_RESET,
                       "The QUIC instance has no stream");
  return FALSE;
}

static gssize
post_quic_psi_read (PostPsi  *psi,
                    guint8   *buffer,
                    gsize     size,
                    GError  **error)
{
  PostQuicPsi *self = POST_QUIC_PSI (psi);
  QuicStream *s = self->stream;
  QuicConn *qc = self->qc;
  gsize avail, n;

  if (!check_stream (self, error))
    return -1;
  if (s == NULL)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_CONNECTION_RESET, "The QUIC stream with %s is gone", qc->peer);
      return -1;
    }
  avail = s->rx->len - s->rx_pos;
  if (avail > 0)
    {
      n = MIN (avail, size);
      memcpy (buffer, s->rx->data + s->rx_pos, n);
      s->rx_pos += n;
      if (s->rx_pos == s->rx->len)
        {
          g_byte_array_set_size (s->rx, 0);
          s->rx_pos = 0;
        }
      else if (s->rx_pos >= 65536)
        {
          g_byte_array_remove_range (s->rx, 0, s->rx_pos);
          s->rx_pos = 0;
        }
      if (!qc->closed)
        {
          /* Back-pressure: credit only for what the core took. */
          if (!s->closed)
            ngtcp2_conn_extend_max_stream_offset (qc->conn, s->id, n);
          ngtcp2_conn_extend_max_offset (qc->conn, n);
          quic_conn_schedule_write (qc);
        }
      return n;
    }
  if (s->send_only && s->error != NULL)
    {
      g_propagate_error (error, g_error_copy (s->error));
      return -1;
    }
  /* A unidirectional stream of ours has no input: it ends with our side. */
  if (s->rx_fin || (s->send_only && (s->fin_requested || s->closed)))
    return 0;
  if (s->error != NULL)
    {
      g_propagate_error (error, g_error_copy (s->error));
      return -1;
    }
  if (qc->error != NULL && qc->peer_closed)
    {
      /* The peer closed the connection while this stream had not ended
       * (no FIN): what it sent on it may be cut short (a stream's end is
       * its FIN, authenticated, never the connection's close). */
      g_set_error (error, POST_ERROR, POST_ERROR_TRUNCATED,
                   "%s closed the QUIC connection before the end of the stream: "
                   "what it sent may have been cut short", qc->peer);
      return -1;
    }
  if (qc->error != NULL)
    {
      g_propagate_error (error, g_error_copy (qc->error));
      return -1;
    }
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "No stream data");
  return -1;
}

static gssize
post_quic_psi_write (PostPsi              *psi,
                     const GOutputVector  *vectors,
                     gsize                 n_vectors,
                     GError              **error)
{
  PostQuicPsi *self = POST_QUIC_PSI (psi);
  QuicStream *s = self->stream;
  QuicConn *qc = self->qc;
  gsize room, done = 0;

  if (!check_stream (self, error))
    return -1;
  if (qc->error != NULL)
    {
      g_propagate_error (error, g_error_copy (qc->error));
      return -1;
    }
  if (s == NULL || s->error != NULL || s->closed)
    {
      if (s != NULL && s->error != NULL)
        g_propagate_error (error, g_error_copy (s->error));
      else
        g_set_error (error, POST_ERROR, POST_ERROR_CONNECTION_RESET, "The QUIC stream with %s is closed", qc->peer);
      return -1;
    }
  if (s->fin_requested)
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_CLOSED, "The sending side of the QUIC stream is shut down");
      return -1;
    }
  room = TX_WINDOW - MIN (TX_WINDOW, s->tx_end - s->tx_acked);
  for (gsize i = 0; i < n_vectors && room > 0; i++)
    {
      gsize n = MIN (room, vectors[i].size);

      quic_stream_append (s, vectors[i].buffer, n);
      done += n;
      room -= n;
    }
  if (done == 0)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK, "The QUIC stream's window is full");
      return -1;
    }
  quic_conn_schedule_write (qc);
  return done;
}

/* An immediate message: it leaves now, not from the write idle, and its
 * last byte ends a packet (quic_conn_write() does not ask ngtcp2 to fill
 * the packet with what follows, also when congestion control holds it
 * back for a while).  quic_conn_write() reports nothing to the core
 * synchronously: failures and sent notifications go through the events
 * idle. */
static void
post_quic_psi_push (PostPsi *psi)
{
  PostQuicPsi *self = POST_QUIC_PSI (psi);
  QuicConn *qc = self->qc;

  if (self->stream == NULL || qc == NULL || qc->closed || self->mode != MODE_STREAM)
    return;
  quic_stream_push (self->stream);
  quic_conn_ref (qc);
  quic_conn_write (qc);
  quic_conn_unref (qc);
}

static void
post_quic_psi_set_interest (PostPsi      *psi,
                            GIOCondition  condition)
{
  PostQuicPsi *self = POST_QUIC_PSI (psi);

  if ((self->interest & G_IO_OUT) && !(condition & G_IO_OUT) && self->qc != NULL
      && self->mode == MODE_STREAM)
    quic_conn_schedule_write (self->qc);   /* nicer streams may have waited for it */
  self->interest = condition;
  if (condition == 0)
    quic_clear_source (&self->ready_source);
  else
    quic_update_ready (self);
}

static gboolean
post_quic_psi_shutdown_send (PostPsi  *psi,
                             GError  **error)
{
  PostQuicPsi *self = POST_QUIC_PSI (psi);

  if (!check_stream (self, error))
    return FALSE;
  if (self->stream != NULL && !self->stream->fin_requested)
    {
      self->stream->fin_requested = TRUE;
      quic_conn_schedule_write (self->qc);
    }
  return TRUE;
}

static void
fork_return (GTask       *task,
             PostQuicPsi *forked)
{
  g_task_return_pointer (task, forked, g_object_unref);
}

/* A fork waiting for stream credit: the peer's limit on bidirectional
 * streams (its initial_max_streams_bidi, raised by MAX_STREAMS as its
 * streams close) is reached.  Forks wait in order, until the peer grants a
 * stream, their cancellable is cancelled, their instance closes or the
 * connection ends. */
typedef struct {
  GTask        *task;          /* (owned) source object: the forking instance */
  GCancellable *cancellable;   /* (owned) (nullable) */
  gulong        cancel_id;
} ForkWaiter;

static void
fork_waiter_finish (ForkWaiter *w,
                    PostQuicPsi *forked,
                    GError      *error)
{
  if (w->cancel_id != 0)
    g_cancellable_disconnect (w->cancellable, w->cancel_id);
  if (forked != NULL)
    fork_return (w->task, forked);
  else
    g_task_return_error (w->task, error);
  g_clear_object (&w->cancellable);
  g_object_unref (w->task);
  g_free (w);
}

static void
conn_service_forks (QuicConn *qc)
{
  GList *l = qc->fork_waiters.head;
  gboolean blocked = FALSE;

  while (l != NULL)
    {
      GList *next = l->next;
      ForkWaiter *w = l->data;
      PostQuicPsi *self = g_task_get_source_object (w->task);
      PostQuicPsi *forked = NULL;
      GError *error = NULL;
      int64_t stream_id;
      int rv;

      if (g_cancellable_set_error_if_cancelled (w->cancellable, &error))
        ;
      else if (qc->closed)
        error = g_error_copy (qc->error);
      else if (self->mode != MODE_STREAM || self->qc != qc)
        error = g_error_new_literal (POST_ERROR, POST_ERROR_CLOSED, "The carrier was closed while its fork waited");
      else if (blocked)
        {
          l = next;
          continue;
        }
      else if ((rv = ngtcp2_conn_open_bidi_stream (qc->conn, &stream_id, NULL)) == NGTCP2_ERR_STREAM_ID_BLOCKED)
        {
          blocked = TRUE;
          l = next;
          continue;
        }
      else if (rv != 0)
        error = quic_ngtcp2_error (rv, "Cannot open a QUIC stream");
      else
        {
          g_debug ("QUIC: %s granted a stream: the waiting fork opens stream %" G_GINT64_FORMAT,
                   qc->peer, (gint64) stream_id);
          forked = quic_new_stream_psi (qc, quic_conn_add_stream (qc, stream_id), post_psi_get_local (POST_PSI (self)));
          post_psi_set_context (POST_PSI (forked), post_psi_get_local (POST_PSI (self)),
                                post_psi_get_association (POST_PSI (self)));
        }
      g_queue_delete_link (&qc->fork_waiters, l);
      fork_waiter_finish (w, forked, error);
      l = next;
    }
}

static gboolean
fork_idle_cb (gpointer user_data)
{
  QuicConn *qc = user_data;

  g_clear_pointer (&qc->fork_idle, g_source_unref);
  quic_conn_ref (qc);
  conn_service_forks (qc);
  quic_conn_unref (qc);
  return G_SOURCE_REMOVE;
}

void
quic_conn_schedule_forks (QuicConn *qc)
{
  if (qc->fork_idle != NULL || qc->fork_waiters.length == 0)
    return;
  qc->fork_idle = g_idle_source_new ();
  g_source_set_callback (qc->fork_idle, fork_idle_cb, qc, NULL);
  g_source_set_static_name (qc->fork_idle, "[post] quic forks");
  g_source_attach (qc->fork_idle, qc->context);
}

static void
fork_cancelled_cb (GCancellable *cancellable,
                   gpointer      user_data)
{
  quic_conn_schedule_forks (user_data);
}

static void
fork_wait (PostQuicPsi *self,
           GTask       *task)
{
  ForkWaiter *w;

  if (g_task_return_error_if_cancelled (task))
    {
      g_object_unref (task);
      return;
    }
  w = g_new0 (ForkWaiter, 1);
  w->task = task;
  w->cancellable = g_task_get_cancellable (task) ? g_object_ref (g_task_get_cancellable (task)) : NULL;
  g_queue_push_tail (&self->qc->fork_waiters, w);
  if (w->cancellable != NULL)
    w->cancel_id = g_cancellable_connect (w->cancellable, G_CALLBACK (fork_cancelled_cb), self->qc, NULL);
  g_debug ("QUIC: %s allows no more streams for now: the fork waits for its MAX_STREAMS", self->qc->peer);
}

/* The instance @self closed (or its connection ended): its waiting forks
 * fail now. */
static void
fork_fail_waiters (QuicConn    *qc,
                   PostQuicPsi *self)
{
  GList *l = qc->fork_waiters.head;

  while (l != NULL)
    {
      GList *next = l->next;
      ForkWaiter *w = l->data;

      if (self == NULL || g_task_get_source_object (w->task) == self)
        {
          g_queue_delete_link (&qc->fork_waiters, l);
          fork_waiter_finish (w, NULL,
                              qc->closed && qc->error != NULL
                              ? g_error_copy (qc->error)
                              : g_error_new_literal (POST_ERROR, POST_ERROR_CLOSED,
                                                     "The carrier was closed while its fork waited"));
        }
      l = next;
    }
}

/* Opens a stream of the connection for a fork: bidirectional
 * (fork_async), or unidirectional (fork_source_async,
 * post_carrier_fork_source_async()): that instance's configuration says
 * unidirectional-send, so its carrier is a source and the stream is never
 * read.  The peer's limit on bidirectional streams makes a fork wait for
 * its MAX_STREAMS; on unidirectional streams it fails at once (HTTP/3
 * opens three, and peers allow at least that). */
static void
fork_stream (PostQuicPsi *self,
             gboolean     uni,
             GTask       *task_in)
{
  g_autoptr(GTask) task = task_in;
  PostPsi *psi = POST_PSI (self);
  QuicConn *qc = self->qc;
  PostQuicPsi *forked;
  QuicStream *s;
  int64_t stream_id;
  int rv;

  g_task_set_source_tag (task, fork_stream);
  if (self->mode != MODE_STREAM || qc == NULL || qc->closed)
    {
      g_task_return_new_error (task, POST_ERROR, POST_ERROR_CLOSED, "The QUIC connection is not established");
      return;
    }
  rv = uni ? ngtcp2_conn_open_uni_stream (qc->conn, &stream_id, NULL)
           : ngtcp2_conn_open_bidi_stream (qc->conn, &stream_id, NULL);
  if (rv == NGTCP2_ERR_STREAM_ID_BLOCKED && uni)
    {
      g_task_return_new_error (task, POST_ERROR, POST_ERROR_WOULD_BLOCK,
                               "The peer allows no more unidirectional QUIC streams now");
      return;
    }
  if (rv == NGTCP2_ERR_STREAM_ID_BLOCKED)
    {
      /* The peer's stream limit: wait for its MAX_STREAMS credit. */
      fork_wait (self, g_steal_pointer (&task));
      return;
    }
  if (rv != 0)
    {
      g_task_return_error (task, quic_ngtcp2_error (rv, "Cannot open a QUIC stream"));
      return;
    }
  s = quic_conn_add_stream (qc, stream_id);
  s->send_only = uni;
  forked = quic_new_stream_psi (qc, s, post_psi_get_local (psi));
  post_psi_set_context (POST_PSI (forked), post_psi_get_local (psi), post_psi_get_association (psi));
  fork_return (task, forked);
}

static void
post_quic_psi_fork_async (PostPsi             *psi,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  fork_stream (POST_QUIC_PSI (psi), FALSE, g_task_new (psi, cancellable, callback, user_data));
}

static void
post_quic_psi_fork_source_async (PostPsi             *psi,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  fork_stream (POST_QUIC_PSI (psi), TRUE, g_task_new (psi, cancellable, callback, user_data));
}

static PostPsi *
post_quic_psi_fork_finish (PostPsi       *psi,
                           GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, psi), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static guint64
post_quic_psi_get_acked_offset (PostPsi *psi)
{
  PostQuicPsi *self = POST_QUIC_PSI (psi);

  QuicStream *s = self->stream;

  /* ngtcp2 reports the contiguous acknowledged prefix of the stream
   * (acked_stream_data_offset); the stream's offsets are the bytes written
   * by post_psi_write() after the early data the core counted as written
   * too, so they line up with the core's total written.  Never more than
   * was written. */
  if (s == NULL)
    return POST_PSI_ACKED_UNKNOWN;
  return MIN (s->tx_acked, s->tx_end);
}

/* What ngtcp2 has put in packets (EVENT_SENT): the stream offsets line
 * up with the core's total written, as for the acked offset. */
static guint64
post_quic_psi_get_sent_offset (PostPsi *psi)
{
  PostQuicPsi *self = POST_QUIC_PSI (psi);
  QuicStream *s = self->stream;

  if (s == NULL || self->mode != MODE_STREAM)
    return POST_PSI_ACKED_UNKNOWN;
  return MIN (s->tx_sent, s->tx_end);
}

/* Our side of the stream is over when ngtcp2 closed it (both directions
 * ended, everything acknowledged) or, for a source, when what it wrote
 * and its FIN are acknowledged; a failed stream has nothing left either. */
static gboolean
post_quic_psi_is_send_complete (PostPsi *psi)
{
  PostQuicPsi *self = POST_QUIC_PSI (psi);
  QuicStream *s = self->stream;

  if (self->mode != MODE_STREAM || s == NULL || self->qc->closed)
    return TRUE;
  return s->closed || s->error != NULL || s->recv_only;
}

static void
post_quic_psi_update_path (PostPsi  *psi,
                           PostPath *path)
{
  PostQuicPsi *self = POST_QUIC_PSI (psi);
  ngtcp2_conn_stat stat;

  if (self->qc == NULL || self->qc->conn == NULL || self->qc->closed)
    return;
  ngtcp2_conn_get_conn_stat (self->qc->conn, &stat);
  if (stat.smoothed_rtt > 0)
    {
      post_path_set_latency (path, stat.smoothed_rtt / 2000);
      post_path_set_data_rate (path, (guint64) ((double) stat.cwnd * 8 * NGTCP2_SECONDS / stat.smoothed_rtt));
    }
  post_path_set_mtu (path, ngtcp2_conn_get_path_max_tx_udp_payload_size (self->qc->conn));
  /* Loss: of the packets that carried this stream's data on the current
   * path (since the last migration), those ngtcp2 declared lost. */
  if (self->stream != NULL && self->stream->tx_packets > self->stream->tx_packets_base)
    {
      QuicStream *st = self->stream;
      guint64 lost = ngtcp2_conn_get_stream_loss_count (self->qc->conn, st->id);

      lost = lost > st->lost_base ? lost - st->lost_base : 0;
      post_path_set_loss (path, (double) lost / (double) (st->tx_packets - st->tx_packets_base));
    }
}

static gsize
post_quic_psi_get_max_message_size (PostPsi *psi)
{
  return 0;
}

static gsize
post_quic_psi_get_max_datagram_size (PostPsi *psi)
{
  PostQuicPsi *self = POST_QUIC_PSI (psi);

  if (self->mode != MODE_STREAM || self->qc == NULL || self->stream == NULL
      || self->stream->recv_only)
    return 0;
  return quic_conn_max_dgram (self->qc, self->stream);
}

static gboolean
post_quic_psi_send_datagram (PostPsi  *psi,
                             GBytes   *content,
                             gint64    deadline,
                             guint64   id,
                             GError  **error)
{
  PostQuicPsi *self = POST_QUIC_PSI (psi);
  QuicConn *qc = self->qc;
  QuicStream *s = self->stream;
  gsize max;

  if (!check_stream (self, error))
    return FALSE;
  if (qc->error != NULL)
    {
      g_propagate_error (error, g_error_copy (qc->error));
      return FALSE;
    }
  max = post_quic_psi_get_max_datagram_size (psi);
  if (max == 0)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_NOT_SUPPORTED,
                   "The QUIC connection with %s has no DATAGRAM frames (RFC 9221)%s", qc->peer,
                   qc->datagrams ? "" : ": quic.datagrams is false");
      return FALSE;
    }
  return quic_conn_queue_datagram (qc, s, content, max, deadline, id, error);
}

static void
post_quic_psi_set_send_priority (PostPsi *psi,
                                 guint    priority)
{
  PostQuicPsi *self = POST_QUIC_PSI (psi);

  if (self->stream != NULL)
    self->stream->priority = priority;
}

static PostSecurityFlags
post_quic_psi_get_security_flags (PostPsi *psi)
{
  PostQuicPsi *self = POST_QUIC_PSI (psi);

  if (self->qc != NULL && self->qc->handshake_done)
    return self->qc->flags | POST_SECURITY_ENCRYPTED;
  return POST_SECURITY_NONE;
}

static gboolean
post_quic_psi_get_peer_details (PostPsi               *psi,
                                GPtrArray            **chain,
                                GTlsCertificateFlags  *errors,
                                char                 **negotiated_protocol)
{
  PostQuicPsi *self = POST_QUIC_PSI (psi);

  if (self->qc == NULL || !self->qc->handshake_done || self->qc->session == NULL)
    return FALSE;
  *errors = self->qc->peer_errors;
  return post_gnutls_peer_details (self->qc->session, chain, negotiated_protocol);
}

static gboolean
connect_closed_cb (gpointer user_data)
{
  GTask *task = user_data;

  g_task_return_new_error (task, POST_ERROR, POST_ERROR_CLOSED, "The QUIC instance was closed while connecting");
  return G_SOURCE_REMOVE;
}

static void post_quic_psi_close (PostPsi *psi, gboolean abort);

/* Nobody accepted the carrier (post_psi_refuse()).  The first stream of a
 * connection a listener accepted is the connection: it ends with a
 * CONNECTION_CLOSE of application error APP_ERROR_REFUSED, which the
 * client reports as POST_ERROR_CONNECTION_REFUSED (conn_close_error()).  A
 * fork request is a stream: reset with APP_ERROR_REFUSED, the connection
 * goes on. */
static void
post_quic_psi_refuse (PostPsi *psi)
{
  PostQuicPsi *self = POST_QUIC_PSI (psi);
  QuicConn *qc = self->qc;

  if (qc != NULL && qc->server != NULL && qc->announcing == self && qc->announcing_accepted)
    qc->close_refused = TRUE;
  post_quic_psi_close (psi, TRUE);
}

static void
post_quic_psi_close (PostPsi  *psi,
                     gboolean  abort)
{
  PostQuicPsi *self = POST_QUIC_PSI (psi);
  QuicConn *qc = self->qc;
  Mode mode = self->mode;

  self->mode = MODE_CLOSED;
  quic_clear_source (&self->ready_source);
  /* Datagram events and datagrams nobody will take now. */
  g_clear_pointer (&self->dgram_events, g_array_unref);
  g_clear_pointer (&self->dgram_rx, g_ptr_array_unref);
  if (self->cancel_id != 0)
    g_cancellable_disconnect (self->cancellable, self->cancel_id);
  self->cancel_id = 0;
  g_clear_object (&self->cancellable);

  if (mode == MODE_LISTENER)
    {
      QuicServer *server = self->server;
      g_autoptr(GPtrArray) idle = g_ptr_array_new_with_free_func ((GDestroyNotify) quic_conn_unref);
      GHashTableIter iter;
      QuicConn *c;

      server->listener = NULL;
      /* Connections without a stream instance end with the listener;
       * accepted carriers go on. */
      g_hash_table_iter_init (&iter, server->conns);
      while (g_hash_table_iter_next (&iter, (gpointer *) &c, NULL))
        if (c->n_psis == 0)
          g_ptr_array_add (idle, quic_conn_ref (c));
      for (guint i = 0; i < idle->len; i++)
        quic_conn_terminate (idle->pdata[i], NULL, TRUE);
      g_clear_pointer (&self->server, quic_server_unref);
      return;
    }
  if (qc == NULL)
    return;

  if (mode == MODE_CONNECTING && self->connect_task != NULL)
    {
      GSource *idle = g_idle_source_new ();

      g_source_set_callback (idle, connect_closed_cb, g_steal_pointer (&self->connect_task), g_object_unref);
      g_source_set_static_name (idle, "[post] quic connect closed");
      g_source_attach (idle, self->context);
      g_source_unref (idle);
      qc->connecting = NULL;
    }

  if (self->stream != NULL)
    {
      QuicStream *s = self->stream;

      s->psi = NULL;
      self->stream = NULL;
      if (s->closed || qc->closed)
        quic_conn_remove_stream (qc, s);
      else if (s->recv_only)
        {
          /* The peer's unidirectional stream (a sink closed, or a fork
           * request nobody accepted): no STOP_SENDING, the rest is read and
           * discarded (recv_stream_data_cb), so that a peer whose one-way
           * streams are critical (HTTP/3 control and QPACK streams) keeps
           * its connection. */
          if (s->rx->len > s->rx_pos)
            {
              ngtcp2_conn_extend_max_stream_offset (qc->conn, s->id, s->rx->len - s->rx_pos);
              ngtcp2_conn_extend_max_offset (qc->conn, s->rx->len - s->rx_pos);
            }
        }
      else if (abort)
        {
          /* Closed while it is announced: nobody accepted the peer's new
           * stream, the fork request is refused (APP_ERROR_REFUSED). */
          guint64 code = qc->announcing == self ? APP_ERROR_REFUSED : self->abort_code;

          if (s->send_only)
            ngtcp2_conn_shutdown_stream_write (qc->conn, s->id, code);
          else
            ngtcp2_conn_shutdown_stream (qc->conn, s->id, code);
        }
      else
        {
          if (!s->fin_requested)
            s->fin_requested = TRUE;
          if (!s->send_only)
            ngtcp2_conn_shutdown_stream_read (qc->conn, s->id, 0);
          /* What was received and not read is given back as credit. */
          if (s->rx->len > s->rx_pos)
            ngtcp2_conn_extend_max_offset (qc->conn, s->rx->len - s->rx_pos);
        }
      quic_conn_schedule_write (qc);
    }
  fork_fail_waiters (qc, self);
  if (qc->n_psis > 0)
    qc->n_psis--;
  if (abort)
    qc->close_code = self->abort_code;
  quic_conn_check_idle (qc, abort);
  g_clear_pointer (&self->qc, quic_conn_unref);
}

/* ---- PostPsi: migration ------------------------------------------------------------- */

static gboolean
post_quic_psi_migrate (PostPsi         *psi,
                       GSocketAddress  *new_local,
                       GError         **error)
{
  PostQuicPsi *self = POST_QUIC_PSI (psi);

  if (self->mode != MODE_STREAM || self->qc == NULL)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_NOT_SUPPORTED,
                   "Only an established QUIC stream can migrate its connection");
      return FALSE;
    }
  /* The core set this instance's interface to @new_local's: the other
   * streams of the connection get it too. */
  return quic_conn_migrate (self->qc, new_local, TRUE, post_psi_get_interface (psi), error);
}

/* ---- GObject ------------------------------------------------------------------------ */

static void
post_quic_psi_finalize (GObject *object)
{
  PostQuicPsi *self = POST_QUIC_PSI (object);

  quic_clear_source (&self->ready_source);
  g_clear_object (&self->connect_task);
  g_clear_pointer (&self->qc, quic_conn_unref);
  g_clear_pointer (&self->server, quic_server_unref);
  g_clear_pointer (&self->ticket, g_bytes_unref);
  g_clear_pointer (&self->ticket_params, g_bytes_unref);
  g_clear_pointer (&self->ticket_token, g_bytes_unref);
  g_clear_pointer (&self->early_data, g_bytes_unref);
  g_clear_pointer (&self->dgram_events, g_array_unref);
  g_clear_pointer (&self->dgram_rx, g_ptr_array_unref);
  g_clear_pointer (&self->context, g_main_context_unref);
  G_OBJECT_CLASS (post_quic_psi_parent_class)->finalize (object);
}

static void
post_quic_psi_constructed (GObject *object)
{
  PostQuicPsi *self = POST_QUIC_PSI (object);

  G_OBJECT_CLASS (post_quic_psi_parent_class)->constructed (object);
  self->context = g_main_context_ref (post_psi_get_context (POST_PSI (self)));
}

static void
post_quic_psi_set_property (GObject      *object,
                            guint         prop_id,
                            const GValue *value,
                            GParamSpec   *pspec)
{
  POST_QUIC_PSI (object)->abort_code = g_value_get_uint64 (value);
}

static void
post_quic_psi_get_property (GObject    *object,
                            guint       prop_id,
                            GValue     *value,
                            GParamSpec *pspec)
{
  g_value_set_uint64 (value, POST_QUIC_PSI (object)->abort_code);
}

static void
post_quic_psi_class_init (PostQuicPsiClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  PostPsiClass *psi_class = POST_PSI_CLASS (klass);

  object_class->constructed = post_quic_psi_constructed;
  object_class->finalize = post_quic_psi_finalize;
  object_class->set_property = post_quic_psi_set_property;
  object_class->get_property = post_quic_psi_get_property;

  /**
   * PostQuicPsi:abort-code:
   *
   * The application error code that aborting this instance puts on the
   * wire: its stream's RESET_STREAM and STOP_SENDING and, when the abort
   * ends the connection (its last instance), the CONNECTION_CLOSE.  The
   * default is libpost's own (1); an application protocol on quic sets its
   * code before post_carrier_abort() (PostHttp3Session: the HTTP/3 code of
   * the error).  A refused fork request keeps libpost's refusal code.
   */
  g_object_class_install_property (object_class, 1,
                                   g_param_spec_uint64 ("abort-code", NULL, NULL,
                                                        0, (G_GUINT64_CONSTANT (1) << 62) - 1, APP_ERROR_ABORT,
                                                        G_PARAM_READWRITE | G_PARAM_STATIC_STRINGS));

  psi_class->connect_async = post_quic_psi_connect_async;
  psi_class->connect_finish = post_quic_psi_connect_finish;
  psi_class->listen = post_quic_psi_listen;
  psi_class->read = post_quic_psi_read;
  psi_class->write = post_quic_psi_write;
  psi_class->set_interest = post_quic_psi_set_interest;
  psi_class->shutdown_send = post_quic_psi_shutdown_send;
  psi_class->close = post_quic_psi_close;
  psi_class->refuse = post_quic_psi_refuse;
  psi_class->fork_async = post_quic_psi_fork_async;
  psi_class->fork_source_async = post_quic_psi_fork_source_async;
  psi_class->fork_finish = post_quic_psi_fork_finish;
  psi_class->get_acked_offset = post_quic_psi_get_acked_offset;
  psi_class->is_send_complete = post_quic_psi_is_send_complete;
  psi_class->update_path = post_quic_psi_update_path;
  psi_class->get_max_message_size = post_quic_psi_get_max_message_size;
  psi_class->get_security_flags = post_quic_psi_get_security_flags;
  psi_class->get_peer_details = post_quic_psi_get_peer_details;
  psi_class->get_early_data_limit = post_quic_psi_get_early_data_limit;
  psi_class->set_early_data = post_quic_psi_set_early_data;
  psi_class->migrate = post_quic_psi_migrate;
  psi_class->get_max_datagram_size = post_quic_psi_get_max_datagram_size;
  psi_class->send_datagram = post_quic_psi_send_datagram;
  psi_class->set_send_priority = post_quic_psi_set_send_priority;
  psi_class->push = post_quic_psi_push;
  psi_class->get_sent_offset = post_quic_psi_get_sent_offset;
}

static void
post_quic_psi_init (PostQuicPsi *self)
{
  self->abort_code = APP_ERROR_ABORT;
  self->mode = MODE_IDLE;
  self->dgram_events = g_array_new (FALSE, FALSE, sizeof (DgramEvent));
  self->dgram_rx = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
}

