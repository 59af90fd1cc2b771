/* post-quic-conn.c: QuicConn, one QUIC connection of the `quic` stack:
 * its creation and refcount, packet I/O
 * (quic_conn_write, quic_conn_read_packet, GSO runs on the path ngtcp2
 * chose), the timer, close and termination, the linger, and the event idle
 * that reports to the stream instances outside ngtcp2's callbacks
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The design is described at the top of post-quic-psi.c.
 */

#include "post-quic-private.h"

/* ---- helpers -------------------------------------------------------------- */

ngtcp2_tstamp
quic_timestamp (void)
{
  return (ngtcp2_tstamp) g_get_monotonic_time () * 1000;
}

void
quic_rand_bytes (guint8 *dest,
                 gsize   len)
{
  if (gnutls_rnd (GNUTLS_RND_RANDOM, dest, len) != 0)
    for (gsize i = 0; i < len; i++)
      dest[i] = g_random_int_range (0, 256);
}

void
quic_clear_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

char *
quic_format_address (GSocketAddress *address)
{
  if (G_IS_INET_SOCKET_ADDRESS (address))
    {
      GInetSocketAddress *inet = G_INET_SOCKET_ADDRESS (address);
      g_autofree char *ip = g_inet_address_to_string (g_inet_socket_address_get_address (inet));

      if (g_inet_address_get_family (g_inet_socket_address_get_address (inet)) == G_SOCKET_FAMILY_IPV6)
        return g_strdup_printf ("[%s]:%u", ip, g_inet_socket_address_get_port (inet));
      return g_strdup_printf ("%s:%u", ip, g_inet_socket_address_get_port (inet));
    }
  return g_strdup ("(unknown)");
}

gboolean
quic_to_native (GSocketAddress           *address,
                struct sockaddr_storage  *storage,
                socklen_t                *len,
                GError                  **error)
{
  gssize size = g_socket_address_get_native_size (address);

  if (size < 0 || (gsize) size > sizeof *storage
      || !g_socket_address_to_native (address, storage, size, error))
    {
      if (error != NULL && *error == NULL)
        g_set_error_literal (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT, "Unusable socket address");
      return FALSE;
    }
  *len = size;
  return TRUE;
}

GError *
quic_ngtcp2_error (int         rv,
                   const char *what)
{
  return g_error_new (POST_ERROR, POST_ERROR_FAILED, "%s: %s", what, ngtcp2_strerror (rv));
}

/* A transport parameter limit from a `quic.*` option (uint32 or uint64). */
guint64
quic_option_uint (PostConfiguration *configuration,
                  const char        *key,
                  guint64            fallback)
{
  GVariant *value = configuration != NULL ? post_configuration_get_option (configuration, key) : NULL;

  if (value == NULL)
    return fallback;
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT32))
    return g_variant_get_uint32 (value);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT64))
    return g_variant_get_uint64 (value);
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_INT32) && g_variant_get_int32 (value) >= 0)
    return g_variant_get_int32 (value);
  return fallback;
}

/* ---- the connection --------------------------------------------------------------- */

QuicConn *
quic_conn_new (PostPsi *psi)
{
  QuicConn *qc = g_new0 (QuicConn, 1);

  qc->ref_count = 1;
  qc->context = g_main_context_ref (POST_QUIC_PSI (psi)->context);
  qc->stack = g_object_ref (post_psi_get_stack (psi));
  qc->configuration = g_object_ref (post_psi_get_configuration (psi));
  qc->streams = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, (GDestroyNotify) quic_stream_free);
  qc->cids = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  qc->new_tickets = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_queue_init (&qc->incoming);
  quic_conn_init_datagrams (qc);
  return qc;
}

QuicConn *
quic_conn_ref (QuicConn *qc)
{
  g_atomic_int_inc (&qc->ref_count);
  return qc;
}

void
quic_conn_unref (QuicConn *qc)
{
  if (!g_atomic_int_dec_and_test (&qc->ref_count))
    return;
  g_clear_pointer (&qc->timer, quic_timer_free);
  quic_clear_source (&qc->write_idle);
  quic_clear_source (&qc->event_idle);
  quic_clear_source (&qc->linger);
  g_clear_pointer (&qc->socket_watch, post_fd_watch_free);
  quic_clear_source (&qc->ticket_timer);
  quic_clear_source (&qc->migrate_idle);
  quic_clear_source (&qc->fork_idle);
  g_queue_clear_full (&qc->incoming, g_object_unref);
  quic_conn_clear_datagrams (qc);
  g_hash_table_unref (qc->streams);
  if (qc->conn != NULL)
    ngtcp2_conn_del (qc->conn);
  if (qc->session != NULL)
    gnutls_deinit (qc->session);
  g_clear_pointer (&qc->cred, post_gnutls_credentials_unref);   /* after the session that used them */
  g_clear_pointer (&qc->psk, gnutls_psk_free_client_credentials);
  g_ptr_array_unref (qc->cids);
  g_ptr_array_unref (qc->new_tickets);
  g_clear_pointer (&qc->token, g_bytes_unref);
  g_clear_pointer (&qc->address_key, g_bytes_unref);
  g_clear_object (&qc->association);
  if (qc->socket != NULL)
    g_socket_close (qc->socket, NULL);
  g_clear_object (&qc->socket);
  g_clear_pointer (&qc->server, quic_server_unref);
  g_clear_object (&qc->local_address);
  g_clear_object (&qc->remote_address);
  g_clear_object (&qc->stack);
  g_clear_object (&qc->configuration);
  g_clear_error (&qc->error);
  g_clear_error (&qc->verify_error);
  g_free (qc->server_name);
  g_free (qc->peer);
  g_main_context_unref (qc->context);
  g_free (qc);
}

/* The source a server connection gives its packets: its local address
 * (the one the client wrote to) when the listener is on a wildcard
 * address; otherwise the socket's own (NULL). */
static const struct sockaddr *
quic_server_source (QuicServer            *server,
                    const struct sockaddr *local,
                    socklen_t              local_len)
{
  return server->udp.pktinfo && local_len > 0 ? local : NULL;
}

static void
conn_send_run (QuicConn      *qc,
               const guint8  *data,
               gsize          len,
               gsize          segment)
{
  int err;
  gboolean sent;

  if (qc->server != NULL)
    sent = post_udp_batch_send (&qc->server->udp, g_socket_get_fd (qc->server->socket),
                               (struct sockaddr *) &qc->remote, qc->remote_len,
                               quic_server_source (qc->server, (struct sockaddr *) &qc->local, qc->local_len),
                               qc->local_len, data, len, segment, &err);
  else
    sent = post_udp_batch_send (&qc->udp, g_socket_get_fd (qc->socket), NULL, 0, NULL, 0,
                               data, len, segment, &err);
  if (!sent && err != EAGAIN && err != EWOULDBLOCK && err != ECONNREFUSED)
    g_debug ("QUIC: sending to %s failed: %s", qc->peer, g_strerror (err));
  if (!sent && qc->server == NULL && (err == EADDRNOTAVAIL || err == ENETUNREACH || err == ENETDOWN))
    quic_conn_schedule_self_migration (qc);
  /* A datagram that could not go out is lost; QUIC's loss recovery resends. */
}

/* One packet. */
static void
conn_send (QuicConn      *qc,
           const guint8  *data,
           gsize          len)
{
  conn_send_run (qc, data, len, 0);
}

/* Whether the native address @a (of @a_len) is @b (of @b_len) */
gboolean
quic_native_equal (const struct sockaddr *a,
                   socklen_t              a_len,
                   const struct sockaddr *b,
                   socklen_t              b_len)
{
  return a_len == b_len && a_len > 0 && memcmp (a, b, a_len) == 0;
}

/* Sends a run of packets ngtcp2 wrote for @path (ngtcp2_conn_writev_stream's
 * path storage; quic_conn_write never puts packets of two paths in one run): a
 * server sends to that path's remote (after a peer's migration, path
 * validation probes go to the new address while the old one may still get
 * packets); a client sends on its socket, which is bound to the current
 * local address, and drops what ngtcp2 meant for a local address it has
 * left (connection migration). */
static void
conn_send_run_on_path (QuicConn           *qc,
                       const ngtcp2_path  *path,
                       const guint8       *data,
                       gsize               len,
                       gsize               segment)
{
  if (path->remote.addrlen == 0)
    {
      conn_send_run (qc, data, len, segment);
      return;
    }
  if (qc->server != NULL)
    {
      int err;

      const struct sockaddr *source = path->local.addrlen != 0
                                      ? (const struct sockaddr *) path->local.addr
                                      : (const struct sockaddr *) &qc->local;

      if (!post_udp_batch_send (&qc->server->udp, g_socket_get_fd (qc->server->socket),
                               (const struct sockaddr *) path->remote.addr, path->remote.addrlen,
                               quic_server_source (qc->server, source,
                                                   path->local.addrlen != 0 ? path->local.addrlen : qc->local_len),
                               path->local.addrlen != 0 ? path->local.addrlen : qc->local_len,
                               data, len, segment, &err)
          && err != EAGAIN && err != EWOULDBLOCK && err != ECONNREFUSED)
        g_debug ("QUIC: sending to %s failed: %s", qc->peer, g_strerror (err));
      return;
    }
  if (path->local.addrlen != 0
      && !quic_native_equal ((const struct sockaddr *) path->local.addr, path->local.addrlen,
                             (const struct sockaddr *) &qc->local, qc->local_len))
    {
      g_debug ("QUIC: dropping packets to %s for a local address left by migration", qc->peer);
      return;
    }
  conn_send_run (qc, data, len, segment);
}

static void
conn_arm_timer (QuicConn *qc)
{
  ngtcp2_tstamp expiry;

  if (qc->timer == NULL || qc->closed)
    return;
  expiry = ngtcp2_conn_get_expiry (qc->conn);
  if (expiry == G_MAXUINT64)
    quic_timer_set (qc->timer, -1);
  else
    quic_timer_set (qc->timer, (gint64) ((expiry + 999) / 1000));
}

static GError *
conn_close_error (QuicConn *qc,
                  int       rv)
{
  ngtcp2_connection_close_error ccerr;

  if (qc->verify_error != NULL)
    return g_error_copy (qc->verify_error);
  if (rv == NGTCP2_ERR_DRAINING || rv == NGTCP2_ERR_CLOSING)
    {
      ngtcp2_conn_get_connection_close_error (qc->conn, &ccerr);
      if (ccerr.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_TRANSPORT
          && (ccerr.error_code & ~(guint64) 0xff) == NGTCP2_CRYPTO_ERROR)
        {
          int alert = (int) (ccerr.error_code & 0xff);

          /* The server found no key for our identity, or our binder did
           * not verify with its key. */
          if (qc->offered_psk && !qc->handshake_done
              && (alert == GNUTLS_A_UNKNOWN_PSK_IDENTITY || alert == GNUTLS_A_DECRYPT_ERROR
                  || alert == GNUTLS_A_ILLEGAL_PARAMETER))
            return g_error_new (POST_ERROR, POST_ERROR_TLS_PSK_MISMATCH,
                                "QUIC handshake with %s failed: the peer does not share our pre-shared key (TLS alert %s)",
                                qc->peer, gnutls_alert_get_name ((gnutls_alert_description_t) alert));
        }
      if (ccerr.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_TRANSPORT
          && (ccerr.error_code & ~(guint64) 0xff) == NGTCP2_CRYPTO_ERROR)
        return g_error_new (POST_ERROR, ccerr.error_code == (NGTCP2_CRYPTO_ERROR | GNUTLS_A_NO_APPLICATION_PROTOCOL)
                            ? POST_ERROR_TLS_HANDSHAKE : POST_ERROR_TLS_REJECTED,
                            "QUIC handshake with %s failed: the peer sent TLS alert %s",
                            qc->peer, gnutls_alert_get_name ((gnutls_alert_description_t) (ccerr.error_code & 0xff)));
      if (ccerr.error_code == 0)
        {
          qc->peer_closed = TRUE;
          return g_error_new (POST_ERROR, POST_ERROR_CONNECTION_RESET,
                              "QUIC connection closed by %s", qc->peer);
        }
      if (ccerr.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_APPLICATION
          && ccerr.error_code == APP_ERROR_REFUSED && qc->server == NULL)
        return g_error_new (POST_ERROR, POST_ERROR_CONNECTION_REFUSED,
                            "%s refused the QUIC connection (its listener accepted no carrier)",
                            qc->peer);
      if (ccerr.type == NGTCP2_CONNECTION_CLOSE_ERROR_CODE_TYPE_TRANSPORT
          && ccerr.error_code == NGTCP2_CONNECTION_REFUSED)
        return g_error_new (POST_ERROR, POST_ERROR_CONNECTION_REFUSED,
                            "%s refused the QUIC connection%s%.*s", qc->peer, ccerr.reasonlen ? ": " : "",
                            (int) ccerr.reasonlen, ccerr.reason ? (const char *) ccerr.reason : "");
      return g_error_new (POST_ERROR, POST_ERROR_CONNECTION_RESET,
                          "QUIC connection closed by %s with error 0x%" G_GINT64_MODIFIER "x%s%.*s",
                          qc->peer, (guint64) ccerr.error_code, ccerr.reasonlen ? ": " : "",
                          (int) ccerr.reasonlen, ccerr.reason ? (const char *) ccerr.reason : "");
    }
  if (rv == NGTCP2_ERR_IDLE_CLOSE || rv == NGTCP2_ERR_HANDSHAKE_TIMEOUT)
    {
      /* Say what was tried and what came back: nothing at all (a wrong
       * address or port, a firewall, an answer from another address), a
       * handshake that stalled, or an established connection gone quiet. */
      guint handshake_ms = post_configuration_get_conn_timeout (qc->configuration);
      guint idle_ms = (guint) quic_option_uint (qc->configuration, "quic.idle-timeout", IDLE_TIMEOUT_MS);
      guint ms = rv == NGTCP2_ERR_HANDSHAKE_TIMEOUT && handshake_ms > 0 ? handshake_ms : idle_ms;

      if (qc->handshake_done)
        return g_error_new (POST_ERROR, POST_ERROR_TIMED_OUT,
                            "QUIC connection with %s: nothing heard for %u ms (quic.idle-timeout)",
                            qc->peer, idle_ms);
      if (!qc->heard)
        return g_error_new (POST_ERROR, POST_ERROR_TIMED_OUT,
                            "QUIC handshake: no answer from %s within %u ms", qc->peer, ms);
      return g_error_new (POST_ERROR, POST_ERROR_TIMED_OUT,
                          "QUIC handshake with %s not completed within %u ms", qc->peer, ms);
    }
  if (rv == NGTCP2_ERR_CRYPTO)
    return g_error_new (POST_ERROR, POST_ERROR_TLS_HANDSHAKE, "QUIC handshake with %s failed (TLS alert %s)",
                        qc->peer, gnutls_alert_get_name ((gnutls_alert_description_t) ngtcp2_conn_get_tls_alert (qc->conn)));
  return g_error_new (POST_ERROR, POST_ERROR_PROTOCOL, "QUIC connection with %s failed: %s",
                      qc->peer, ngtcp2_strerror (rv));
}

/* Fails the connection after an ngtcp2 error @rv. */
static void
conn_fail (QuicConn *qc,
           int       rv)
{
  gboolean send_close = rv != NGTCP2_ERR_DRAINING && rv != NGTCP2_ERR_CLOSING
                        && rv != NGTCP2_ERR_IDLE_CLOSE && rv != NGTCP2_ERR_DROP_CONN;
  GError *error = conn_close_error (qc, rv);

  if (send_close && qc->conn != NULL)
    {
      ngtcp2_connection_close_error ccerr;
      guint8 buf[MAX_PACKET];
      ngtcp2_path_storage ps;
      ngtcp2_ssize n;

      ngtcp2_path_storage_zero (&ps);
      if (rv == NGTCP2_ERR_CRYPTO)
        ngtcp2_connection_close_error_set_transport_error_tls_alert (&ccerr, ngtcp2_conn_get_tls_alert (qc->conn), NULL, 0);
      else
        ngtcp2_connection_close_error_set_transport_error_liberr (&ccerr, rv, NULL, 0);
      n = ngtcp2_conn_write_connection_close (qc->conn, &ps.path, NULL, buf, sizeof buf, &ccerr, quic_timestamp ());
      if (n > 0)
        conn_send (qc, buf, n);
    }
  quic_conn_terminate (qc, error, FALSE);
}

/* Streams by the niceness of what their carriers write (lower first), then
 * in the order they were opened. */
static gint
compare_stream_priority (gconstpointer a,
                         gconstpointer b)
{
  const QuicStream *sa = *(QuicStream * const *) a;
  const QuicStream *sb = *(QuicStream * const *) b;

  if (sa->priority != sb->priority)
    return sa->priority < sb->priority ? -1 : 1;
  return sa->id < sb->id ? -1 : sa->id > sb->id;
}

/*
 * The most important niceness that has something to send: a stream with
 * unsent data, or whose carrier has more queued in the core (it asked for
 * G_IO_OUT) and the flow-control credit to send it, or a queued datagram.
 * Streams and datagrams of nicer values wait for it (strict priority:
 * "messages of niceness n+1 yield to those of niceness n"), instead of
 * filling the gaps while the important carrier refills its stream.
 */
static guint
conn_top_priority (QuicConn *qc)
{
  GHashTableIter iter;
  QuicStream *s;
  QuicDgram *dg = g_queue_peek_head (&qc->dgram_tx);
  guint top = dg != NULL ? dg->priority : G_MAXUINT;

  g_hash_table_iter_init (&iter, qc->streams);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &s))
    {
      if (s->priority >= top || s->closed)
        continue;
      if (quic_stream_has_pending (s)
          || (s->psi != NULL && (s->psi->interest & G_IO_OUT) && !s->fin_requested
              && s->error == NULL && !s->recv_only
              && ngtcp2_conn_get_max_stream_data_left (qc->conn, s->id) > 0))
        top = s->priority;
    }
  return top;
}

/* Packets are written into @buf one after another and go out as one GSO
 * run while they are of the same size (the first one's: only the last may
 * be shorter) and for the same path. */
static void
conn_write_packets (QuicConn *qc,
                    guint8   *buf)
{
  gsize run_len = 0, run_segment = 0;
  guint run_count = 0;
  ngtcp2_path_storage ps, run_ps;
  g_autoptr(GPtrArray) pending = g_ptr_array_new ();
  GHashTableIter iter;
  QuicStream *s;
  guint next = 0, top = G_MAXUINT;
  gboolean more = FALSE;   /* inside a packet ngtcp2 is filling (WRITE_MORE) */
  gboolean notify_sent = FALSE;   /* a stream's data went into packets */
  /* One for all the calls that fill a packet (ngtcp2 wants the same one
   * after NGTCP2_ERR_WRITE_MORE: it carries the packet's ECN marking). */
  ngtcp2_pkt_info pi = { 0 };
  gint64 now = 0;
  /* A run's first packet may be as large as the endpoint ever sends:
   * ngtcp2 shapes ordinary packets to the path's size itself, and its
   * path-MTU probes are larger (with only the path's size as room, no
   * probe ever fitted and every packet stayed at 1,200 bytes). */
  size_t max = ngtcp2_conn_get_max_tx_udp_payload_size (qc->conn);
  size_t path_max = ngtcp2_conn_get_path_max_tx_udp_payload_size (qc->conn);

  if (qc->closed || ngtcp2_conn_is_in_closing_period (qc->conn) || ngtcp2_conn_is_in_draining_period (qc->conn))
    return;
  if (max > MAX_PACKET)
    max = MAX_PACKET;
  ngtcp2_path_storage_zero (&ps);
  ngtcp2_path_storage_zero (&run_ps);
  g_hash_table_iter_init (&iter, qc->streams);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &s))
    {
      s->blocked = FALSE;
      if (quic_stream_has_pending (s))
        g_ptr_array_add (pending, s);
    }
  g_ptr_array_sort (pending, compare_stream_priority);

  for (guint packets = 0; packets < 1024; )
    {
      ngtcp2_vec vecs[8];
      size_t nvecs = 0;
      int64_t stream_id = -1;
      uint32_t flags = NGTCP2_WRITE_STREAM_FLAG_MORE;
      ngtcp2_ssize ndatalen = -1, n;
      QuicDgram *dg;

      /* Expired datagrams go first; what is most important may change as
       * datagrams leave (not between the calls that fill one packet, where
       * ngtcp2 wants no other call). */
      dg = quic_conn_next_dgram (qc, &now);
      if (!more)
        {
          guint t = conn_top_priority (qc);

          if (t != top)
            {
              top = t;
              next = 0;
            }
        }
      more = FALSE;
      s = NULL;
      while (next < pending->len)
        {
          QuicStream *candidate = pending->pdata[next];

          if (candidate->priority > top)
            {
              next = pending->len;   /* nicer streams wait (sorted: all the rest) */
              break;
            }
          if (!candidate->blocked && quic_stream_has_pending (candidate))
            {
              s = candidate;
              break;
            }
          next++;
        }
      /* A datagram goes before the stream data of the same or a nicer
       * niceness. */
      if (dg != NULL && dg->priority <= top && (s == NULL || dg->priority <= s->priority))
        {
          /* Into the run as a stream packet would go (same size, same path). */
          n = quic_conn_write_dgram (qc, dg, &ps.path, &pi, buf + run_len,
                                     run_count > 0 ? run_segment : max);
          if (n == NGTCP2_ERR_WRITE_MORE)
            {
              more = TRUE;
              continue;
            }
          if (n < 0)
            {
              conn_fail (qc, n);
              return;
            }
          if (n == 0 && run_count > 0)
            {
              /* It does not fit in a packet of the run's size: the run
               * goes, and the datagram gets a whole packet. */
              conn_send_run_on_path (qc, &run_ps.path, buf, run_len, run_segment);
              run_len = run_count = 0;
              continue;
            }
          if (n == 0)
            break;   /* congestion limited */
        }
      else
        {
          if (s != NULL)
            {
              gboolean pushed = FALSE;

              stream_id = s->id;
              nvecs = quic_stream_unsent_to_push (s, vecs, G_N_ELEMENTS (vecs), &pushed);
              /* An immediate message ends the packet: no WRITE_MORE, so
               * ngtcp2 closes the packet after this frame. */
              if (pushed)
                flags &= ~NGTCP2_WRITE_STREAM_FLAG_MORE;
              if (s->fin_requested)
                {
                  gsize total = 0;

                  for (size_t i = 0; i < nvecs; i++)
                    total += vecs[i].len;
                  if (s->tx_sent + total == s->tx_end)
                    flags |= NGTCP2_WRITE_STREAM_FLAG_FIN;
                }
            }
          n = ngtcp2_conn_writev_stream (qc->conn, &ps.path, &pi, buf + run_len,
                                         run_count > 0 ? run_segment : max, &ndatalen, flags,
                                         stream_id, nvecs ? vecs : NULL, nvecs, quic_timestamp ());
          if (s != NULL && ndatalen >= 0)
            {
              if (ndatalen > 0)
                {
                  s->tx_packets++;
                  s->sent_notify = TRUE;
                  notify_sent = TRUE;
                }
              quic_stream_sent (s, ndatalen);
              if ((flags & NGTCP2_WRITE_STREAM_FLAG_FIN) && s->tx_sent == s->tx_end)
                s->fin_sent = TRUE;
            }
          if (n < 0)
            {
              switch (n)
                {
                case NGTCP2_ERR_WRITE_MORE:
                  more = TRUE;
                  continue;
                case NGTCP2_ERR_STREAM_DATA_BLOCKED:
                case NGTCP2_ERR_STREAM_SHUT_WR:
                case NGTCP2_ERR_STREAM_NOT_FOUND:
                  if (s != NULL)
                    s->blocked = TRUE;
                  continue;
                default:
                  conn_fail (qc, n);
                  return;
                }
            }
          if (n == 0)
            break;
        }
      packets++;
      if (run_count > 0 && !ngtcp2_path_eq (&run_ps.path, &ps.path))
        {
          /* A packet for another path (migration, path validation): the
           * run so far goes, this packet starts the next one. */
          conn_send_run_on_path (qc, &run_ps.path, buf, run_len, run_segment);
          memmove (buf, buf + run_len, n);
          run_len = run_count = 0;
        }
      if (run_count == 0)
        {
          run_segment = n;
          ngtcp2_path_copy (&run_ps.path, &ps.path);
        }
      run_len += n;
      run_count++;
      /* A short packet ends the run; so does a full buffer; a probe
       * (larger than the path's size) goes alone, so that a path that
       * cannot carry it loses nothing else. */
      if ((gsize) n < run_segment || (gsize) n > path_max || run_count == POST_UDP_BATCH_SEGMENTS_MAX
          || run_len + run_segment > POST_UDP_BATCH_MAX)
        {
          conn_send_run_on_path (qc, &run_ps.path, buf, run_len, run_segment);
          run_len = run_count = 0;
        }
    }
  if (run_count > 0)
    conn_send_run_on_path (qc, &run_ps.path, buf, run_len, run_segment);
  conn_arm_timer (qc);
  /* The core fires sent events when the bytes are in packets (get_sent_offset). */
  if (notify_sent)
    quic_conn_schedule_events (qc);
}

/* The thread's buffer for a run of packets, shared by its connections (a
 * connection's own was 64 KiB of every idle connection), and whether it
 * is in use (a write within a write gets one of its own). */
typedef struct {
  guint8   data[POST_UDP_BATCH_MAX];
  gboolean busy;
} TxRun;

static GPrivate tx_run_key = G_PRIVATE_INIT (g_free);

void
quic_conn_write (QuicConn *qc)
{
  TxRun *run = g_private_get (&tx_run_key);

  if (run == NULL)
    {
      run = g_new0 (TxRun, 1);
      g_private_set (&tx_run_key, run);
    }
  if (run->busy)
    {
      g_autofree guint8 *own = g_malloc (POST_UDP_BATCH_MAX);

      conn_write_packets (qc, own);
      return;
    }
  run->busy = TRUE;
  conn_write_packets (qc, run->data);
  run->busy = FALSE;
}

static gboolean
write_idle_cb (gpointer user_data)
{
  QuicConn *qc = user_data;

  g_clear_pointer (&qc->write_idle, g_source_unref);
  quic_conn_ref (qc);
  if (!qc->closed)
    quic_conn_write (qc);
  quic_conn_unref (qc);
  return G_SOURCE_REMOVE;
}

void
quic_conn_schedule_write (QuicConn *qc)
{
  if (qc->write_idle != NULL || qc->closed)
    return;
  qc->write_idle = g_idle_source_new ();
  g_source_set_callback (qc->write_idle, write_idle_cb, qc, NULL);
  g_source_set_static_name (qc->write_idle, "[post] quic write");
  g_source_attach (qc->write_idle, qc->context);
}

static void
complete_connect (QuicConn *qc)
{
  PostQuicPsi *self = qc->connecting;
  g_autoptr(GTask) task = NULL;
  int64_t stream_id;
  int rv;

  qc->connecting = NULL;
  task = g_steal_pointer (&self->connect_task);
  if (self->cancel_id != 0)
    g_cancellable_disconnect (self->cancellable, self->cancel_id);
  self->cancel_id = 0;
  g_clear_object (&self->cancellable);
  if (self->stream != NULL)
    {
      /* The stream opened for 0-RTT (reopened if the server refused it). */
      quic_attach_stream (self, qc, self->stream);
    }
  else
    {
      QuicStream *s;
      gboolean source = quic_is_source (POST_PSI (self));

      if (source)
        rv = ngtcp2_conn_open_uni_stream (qc->conn, &stream_id, NULL);
      else
        rv = ngtcp2_conn_open_bidi_stream (qc->conn, &stream_id, NULL);
      if (rv != 0)
        {
          g_task_return_new_error (task, POST_ERROR, POST_ERROR_CONNECTION_REFUSED,
                                   "%s allows no stream on the QUIC connection", qc->peer);
          return;
        }
      s = quic_conn_add_stream (qc, stream_id);
      s->send_only = source;
      if (self->early_data != NULL)
        {
          /* Early data that could not go in 0-RTT goes first now. */
          gsize len;
          const guint8 *data = g_bytes_get_data (self->early_data, &len);

          quic_stream_append (s, data, len);
          g_clear_pointer (&self->early_data, g_bytes_unref);
          quic_conn_schedule_write (qc);
        }
      quic_attach_stream (self, qc, s);
    }
  post_psi_set_addresses (POST_PSI (self), qc->local_address, qc->remote_address);
  g_task_return_boolean (task, TRUE);
  quic_update_ready (self);
}

static PostQuicPsi *
conn_primary (QuicConn    *qc,
              PostQuicPsi *except)
{
  GHashTableIter iter;
  QuicStream *s;
  PostQuicPsi *best = NULL;

  g_hash_table_iter_init (&iter, qc->streams);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &s))
    if (s->psi != NULL && s->psi != except && s->psi->mode == MODE_STREAM
        && !g_queue_find (&qc->incoming, s->psi)
        && (best == NULL || s->id < best->stream->id))
      best = s->psi;
  return best;
}

static void
fail_connect (PostQuicPsi *self,
              GError      *error)
{
  g_autoptr(GTask) task = g_steal_pointer (&self->connect_task);

  if (self->cancel_id != 0)
    g_cancellable_disconnect (self->cancellable, self->cancel_id);
  self->cancel_id = 0;
  g_clear_object (&self->cancellable);
  if (task != NULL)
    g_task_return_error (task, error);
  else
    g_error_free (error);
}

static gboolean
event_idle_cb (gpointer user_data)
{
  QuicConn *qc = user_data;
  PostQuicPsi *psi;
  g_autoptr(GPtrArray) psis = g_ptr_array_new_with_free_func (g_object_unref);
  GHashTableIter iter;
  QuicStream *s;

  g_clear_pointer (&qc->event_idle, g_source_unref);
  quic_conn_ref (qc);

  if (qc->connecting != NULL)
    {
      PostQuicPsi *self = qc->connecting;

      if (self->cancellable != NULL && g_cancellable_is_cancelled (self->cancellable))
        {
          qc->connecting = NULL;
          fail_connect (self, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "Operation was cancelled"));
          quic_conn_terminate (qc, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "Operation was cancelled"), TRUE);
        }
      else if (qc->closed)
        {
          qc->connecting = NULL;
          fail_connect (self, g_error_copy (qc->error));
        }
      else if (qc->handshake_done)
        complete_connect (qc);
    }

  /* A listener announces streams once the handshake is done (0-RTT data
   * waits in them until then). */
  while ((qc->server == NULL || qc->handshake_done || qc->closed)
         && (psi = g_queue_pop_head (&qc->incoming)) != NULL)
    {
      if (qc->closed)
        post_psi_close (POST_PSI (psi), TRUE);
      else if (qc->server != NULL && !qc->announced)
        {
          /* The first stream of an accepted connection is the accepted
           * instance; later ones are fork requests. */
          qc->announced = TRUE;
          qc->announcing = psi;
          qc->announcing_accepted = TRUE;
          if (qc->server->listener != NULL)
            post_psi_emit_accepted (POST_PSI (qc->server->listener), POST_PSI (psi));
          else
            post_psi_close (POST_PSI (psi), TRUE);
          qc->announcing_accepted = FALSE;
        }
      else
        {
          PostQuicPsi *target = conn_primary (qc, psi);

          if (target != NULL)
            {
              g_object_ref (target);
              qc->announcing = psi;
              post_psi_emit_fork_request (POST_PSI (target), POST_PSI (psi));
              g_object_unref (target);
            }
          else
            post_psi_close (POST_PSI (psi), TRUE);
        }
      qc->announcing = NULL;
      g_object_unref (psi);
    }

  g_hash_table_iter_init (&iter, qc->streams);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &s))
    if (s->psi != NULL)
      g_ptr_array_add (psis, g_object_ref (s->psi));
  for (guint i = 0; i < psis->len; i++)
    {
      /* Datagrams for a stream not announced yet (a listener waits for the
       * handshake) wait with it. */
      PostQuicPsi *psi_i = psis->pdata[i];

      if (!g_queue_find (&qc->incoming, psi_i))
        quic_psi_flush_datagrams (psi_i);
      if (psi_i->stream != NULL && psi_i->stream->sent_notify)
        {
          psi_i->stream->sent_notify = FALSE;
          post_psi_notify_sent (POST_PSI (psi_i));
        }
      quic_update_ready (psi_i);
    }
  quic_conn_unref (qc);
  return G_SOURCE_REMOVE;
}

void
quic_conn_schedule_events (QuicConn *qc)
{
  if (qc->event_idle != NULL)
    return;
  qc->event_idle = g_idle_source_new ();
  g_source_set_callback (qc->event_idle, event_idle_cb, qc, NULL);
  g_source_set_static_name (qc->event_idle, "[post] quic events");
  g_source_attach (qc->event_idle, qc->context);
}

/* Ends the connection: CONNECTION_CLOSE (NO_ERROR) when @send_close, every
 * source stopped, every stream instance told (@error, or end of stream
 * where the peer had finished). */
void
quic_conn_terminate (QuicConn *qc,
                     GError   *error,
                     gboolean  send_close)
{
  if (qc->closed)
    {
      g_clear_error (&error);
      return;
    }
  quic_conn_ref (qc);
  quic_conn_export_tickets (qc, TRUE);
  quic_clear_source (&qc->ticket_timer);
  if (send_close && qc->conn != NULL && !ngtcp2_conn_is_in_closing_period (qc->conn)
      && !ngtcp2_conn_is_in_draining_period (qc->conn))
    {
      ngtcp2_connection_close_error ccerr;
      guint8 buf[MAX_PACKET];
      ngtcp2_path_storage ps;
      ngtcp2_ssize n;

      ngtcp2_path_storage_zero (&ps);
      ngtcp2_connection_close_error_default (&ccerr);
      if (qc->close_refused)
        ngtcp2_connection_close_error_set_application_error (&ccerr, APP_ERROR_REFUSED, NULL, 0);
      else if (qc->close_abort)
        ngtcp2_connection_close_error_set_application_error (&ccerr, qc->close_code, NULL, 0);
      n = ngtcp2_conn_write_connection_close (qc->conn, &ps.path, NULL, buf, sizeof buf, &ccerr, quic_timestamp ());
      if (n > 0)
        conn_send (qc, buf, n);
    }
  qc->closed = TRUE;
  if (error == NULL)
    error = g_error_new (POST_ERROR, POST_ERROR_CLOSED, "The QUIC connection with %s is closed", qc->peer);
  qc->error = error;
  g_clear_pointer (&qc->timer, quic_timer_free);
  quic_clear_source (&qc->write_idle);
  quic_clear_source (&qc->linger);
  g_clear_pointer (&qc->socket_watch, post_fd_watch_free);
  quic_clear_source (&qc->migrate_idle);
  if (qc->server != NULL)
    {
      for (guint i = 0; i < qc->cids->len; i++)
        if (g_hash_table_lookup (qc->server->cids, qc->cids->pdata[i]) == qc)
          g_hash_table_remove (qc->server->cids, qc->cids->pdata[i]);
      quic_server_forget_address (qc);
      g_hash_table_remove (qc->server->conns, qc);   /* drops the server's reference */
    }
  quic_conn_schedule_events (qc);
  quic_conn_schedule_forks (qc);   /* forks waiting for credit fail */
  quic_conn_unref (qc);
}

static gboolean
linger_cb (gpointer user_data)
{
  QuicConn *qc = user_data;

  g_clear_pointer (&qc->linger, g_source_unref);
  quic_conn_terminate (qc, NULL, TRUE);
  return G_SOURCE_REMOVE;
}

static gboolean
conn_all_acked (QuicConn *qc)
{
  GHashTableIter iter;
  QuicStream *s;

  g_hash_table_iter_init (&iter, qc->streams);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &s))
    if (!s->closed && (s->tx_acked < s->tx_end || (s->fin_requested && !s->fin_sent)))
      return FALSE;
  return TRUE;
}

/* The last stream instance is gone: close now, or once what was written
 * is acknowledged (at most LINGER_MS). */
void
quic_conn_check_idle (QuicConn *qc,
                      gboolean  abort)
{
  if (qc->closed || qc->n_psis > 0 || qc->connecting != NULL)
    return;
  if (qc->server != NULL && !qc->had_stream && !abort)
    return;   /* accepted, no stream yet: the listener keeps it */
  if (abort || conn_all_acked (qc))
    {
      /* An abort closes with an application error, so that the peer
       * tells it from a close (a reset, not the end). */
      qc->close_abort = abort;
      quic_conn_terminate (qc, NULL, TRUE);
      return;
    }
  if (qc->linger == NULL)
    {
      qc->linger = g_timeout_source_new (LINGER_MS);
      g_source_set_callback (qc->linger, linger_cb, qc, NULL);
      g_source_set_static_name (qc->linger, "[post] quic linger");
      g_source_attach (qc->linger, qc->context);
    }
}

void
quic_conn_read_packet (QuicConn              *qc,
                       const guint8          *data,
                       gsize                  len,
                       const struct sockaddr *from,
                       socklen_t              from_len)
{
  ngtcp2_path path;
  ngtcp2_pkt_info pi = { 0 };
  int rv;

  if (qc->closed)
    return;
  path.local.addr = (ngtcp2_sockaddr *) &qc->local;
  path.local.addrlen = qc->local_len;
  path.remote.addr = (ngtcp2_sockaddr *) from;
  path.remote.addrlen = from_len;
  path.user_data = NULL;
  rv = ngtcp2_conn_read_pkt (qc->conn, &path, &pi, data, len, quic_timestamp ());
  if (rv != 0)
    {
      conn_fail (qc, rv);
      return;
    }
  qc->heard = TRUE;
}

static void
timer_cb (gpointer user_data)
{
  QuicConn *qc = user_data;
  int rv;

  quic_conn_ref (qc);
  rv = ngtcp2_conn_handle_expiry (qc->conn, quic_timestamp ());
  if (rv != 0)
    conn_fail (qc, rv);
  else
    quic_conn_write (qc);
  if (qc->linger != NULL && conn_all_acked (qc))
    quic_conn_terminate (qc, NULL, TRUE);
  quic_conn_unref (qc);
}

void
quic_conn_start_timer (QuicConn *qc)
{
  qc->timer = quic_timer_new (qc->context, timer_cb, qc);
}

/* After packets were read: write what they call for, and deliver. */
void
quic_conn_after_read (QuicConn *qc)
{
  quic_conn_export_tickets (qc, FALSE);
  if (qc->closed)
    return;
  quic_conn_check_path (qc);
  if (qc->closed)
    return;
  quic_conn_write (qc);
  if (qc->linger != NULL && conn_all_acked (qc))
    quic_conn_terminate (qc, NULL, TRUE);
}

static void
client_socket_cb (PostFdWatch  *watch,
                  GIOCondition  condition,
                  gpointer      user_data)
{
  QuicConn *qc = user_data;
  guint8 buf[65536];
  int fd = g_socket_get_fd (qc->socket);

  quic_conn_ref (qc);
  for (guint i = 0; i < RECV_BATCH && !qc->closed; i++)
    {
      struct sockaddr_storage from, local;
      socklen_t from_len = sizeof from, local_len;
      gsize segment;
      gssize n = post_udp_batch_recv (&qc->udp, fd, buf, sizeof buf, &from, &from_len,
                                     &local, &local_len, &segment);

      if (n < 0)
        {
          if (errno == ECONNREFUSED && !qc->handshake_done)
            quic_conn_terminate (qc, g_error_new (POST_ERROR, POST_ERROR_CONNECTION_REFUSED,
                                                  "%s refused the QUIC connection (port unreachable)", qc->peer),
                                 FALSE);
          else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNREFUSED)
            g_debug ("QUIC: receiving from %s failed: %s", qc->peer, g_strerror (errno));
          if (errno == EADDRNOTAVAIL || errno == ENETUNREACH || errno == ENETDOWN)
            quic_conn_schedule_self_migration (qc);
          break;
        }
      /* With GRO, one receive may hold several datagrams of @segment bytes. */
      for (gssize off = 0; off < n && !qc->closed; off += segment)
        quic_conn_read_packet (qc, buf + off, MIN ((gsize) (n - off), segment),
                               (struct sockaddr *) &from, from_len);
    }
  quic_conn_after_read (qc);
  quic_conn_unref (qc);
}

/* A client connection's socket: a PostFdWatch, so that the main loop's
 * cost per iteration does not grow with the number of connections (a
 * process with 10,000 of them). */
void
quic_conn_watch_socket (QuicConn *qc)
{
  g_clear_pointer (&qc->socket_watch, post_fd_watch_free);
  qc->socket_watch = post_fd_watch_new (qc->context, g_socket_get_fd (qc->socket), G_IO_IN,
                                        "[post] quic socket", client_socket_cb, qc);
}
