/* post-quic-callbacks.c: the ngtcp2 callbacks of a QuicConn (connection
 * ids, handshake completion, stream open/data/ack/reset/close, flow-control
 * credit, Retry) and the transport parameters and settings it starts with
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The design is described at the top of post-quic-psi.c.
 */

#include "post-quic-private.h"

/* ---- ngtcp2 callbacks -------------------------------------------------------------- */

ngtcp2_conn *
quic_get_conn_cb (ngtcp2_crypto_conn_ref *ref)
{
  QuicConn *qc = ref->user_data;

  return qc->conn;
}

static void
rand_cb (uint8_t                *dest,
         size_t                  destlen,
         const ngtcp2_rand_ctx  *rand_ctx)
{
  quic_rand_bytes (dest, destlen);
}

static int
get_new_connection_id_cb (ngtcp2_conn *conn,
                          ngtcp2_cid  *cid,
                          uint8_t     *token,
                          size_t       cidlen,
                          void        *user_data)
{
  QuicConn *qc = user_data;

  quic_rand_bytes (cid->data, cidlen);
  cid->datalen = cidlen;
  quic_rand_bytes (token, NGTCP2_STATELESS_RESET_TOKENLEN);
  quic_server_register_cid (qc, cid->data, cid->datalen);
  return 0;
}

static int
remove_connection_id_cb (ngtcp2_conn      *conn,
                         const ngtcp2_cid *cid,
                         void             *user_data)
{
  QuicConn *qc = user_data;
  g_autoptr(GBytes) key = NULL;

  if (qc->server == NULL)
    return 0;
  key = g_bytes_new (cid->data, cid->datalen);
  if (g_hash_table_lookup (qc->server->cids, key) == qc)
    g_hash_table_remove (qc->server->cids, key);
  g_ptr_array_remove (qc->cids, key);   /* compares pointers: harmless miss */
  return 0;
}

/* The server rejected the 0-RTT data: ngtcp2 forgets the streams opened
 * early; the early stream is opened again and everything written on it
 * goes again from offset 0 (the peer never decrypted any of it). */
static int
early_data_rejected (QuicConn *qc)
{
  QuicStream *s = qc->early_stream;
  gint64 key = s->id;
  gint64 *new_key;
  int64_t stream_id;
  int rv = 0;

  qc->rejecting = TRUE;
  if (!ngtcp2_conn_get_early_data_rejected (qc->conn))
    rv = ngtcp2_conn_early_data_rejected (qc->conn);
  qc->rejecting = FALSE;
  if (rv != 0)
    return rv;
  {
    gpointer old_key = NULL;

    g_hash_table_steal_extended (qc->streams, &key, &old_key, NULL);
    g_free (old_key);
  }
  s->tx_sent = 0;
  s->tx_acked = 0;
  s->fin_sent = FALSE;
  s->closed = FALSE;
  rv = s->send_only ? ngtcp2_conn_open_uni_stream (qc->conn, &stream_id, NULL)
                    : ngtcp2_conn_open_bidi_stream (qc->conn, &stream_id, NULL);
  if (rv != 0)
    {
      s->closed = TRUE;
      if (s->error == NULL)
        s->error = g_error_new (POST_ERROR, POST_ERROR_CONNECTION_RESET,
                                "%s allows no stream on the QUIC connection", qc->peer);
      stream_id = s->id;
    }
  s->id = stream_id;
  new_key = g_new (gint64, 1);
  *new_key = stream_id;
  g_hash_table_insert (qc->streams, new_key, s);
  if (rv == 0)
    ngtcp2_conn_set_stream_user_data (qc->conn, stream_id, s);
  g_debug ("QUIC: %s rejected the 0-RTT data; resending it on stream %" G_GINT64_FORMAT,
           qc->peer, (gint64) stream_id);
  return 0;
}

/* Sends a PING once the connection was idle for keep-alive-timeout, or
 * half the idle timeout the two ends agreed on if that is shorter (a peer
 * with a shorter max_idle_timeout would otherwise end the connection
 * before the first keep-alive). */
static void
quic_conn_start_keep_alive (QuicConn *qc)
{
  guint keep_alive_ms = post_configuration_get_effective_keep_alive_timeout (qc->configuration);
  ngtcp2_duration keep_alive, idle;
  const ngtcp2_transport_params *remote;

  if (keep_alive_ms == 0 || qc->conn == NULL)
    return;
  keep_alive = (ngtcp2_duration) keep_alive_ms * NGTCP2_MILLISECONDS;
  idle = (ngtcp2_duration) 2 * keep_alive;
  remote = ngtcp2_conn_get_remote_transport_params (qc->conn);
  if (remote != NULL && remote->max_idle_timeout > 0)
    idle = MIN (idle, remote->max_idle_timeout);
  ngtcp2_conn_set_keep_alive_timeout (qc->conn, MIN (keep_alive, idle / 2));
}

static int
handshake_completed_cb (ngtcp2_conn *conn,
                        void        *user_data)
{
  QuicConn *qc = user_data;
  unsigned int sflags = gnutls_session_get_flags (qc->session);

  qc->handshake_done = TRUE;
  quic_conn_start_keep_alive (qc);
  qc->flags |= POST_SECURITY_ENCRYPTED;
  if (gnutls_session_is_resumed (qc->session))
    qc->flags |= POST_SECURITY_RESUMED;
  else if (gnutls_auth_get_type (qc->session) == GNUTLS_CRD_PSK)
    qc->flags |= POST_SECURITY_PSK;
  if (qc->server != NULL)
    {
      if (sflags & GNUTLS_SFLAGS_EARLY_DATA)
        qc->flags |= POST_SECURITY_EARLY_DATA_ACCEPTED;
      quic_server_issue_token (qc);
    }
  else if (qc->early_stream != NULL)
    {
      qc->flags |= POST_SECURITY_EARLY_DATA_SENT;
      if (sflags & GNUTLS_SFLAGS_EARLY_DATA)
        qc->flags |= POST_SECURITY_EARLY_DATA_ACCEPTED;
      else if (early_data_rejected (qc) != 0)
        return NGTCP2_ERR_CALLBACK_FAILURE;
    }
  quic_conn_schedule_events (qc);
  return 0;
}

static int
recv_new_token_cb (ngtcp2_conn      *conn,
                   const ngtcp2_vec *token,
                   void             *user_data)
{
  QuicConn *qc = user_data;

  g_clear_pointer (&qc->token, g_bytes_unref);
  qc->token = g_bytes_new (token->base, token->len);
  return 0;
}

static void
discard_credit (QuicConn *qc,
                int64_t   stream_id,
                gsize     len)
{
  ngtcp2_conn_extend_max_stream_offset (qc->conn, stream_id, len);
  ngtcp2_conn_extend_max_offset (qc->conn, len);
}

static int
stream_open_cb (ngtcp2_conn *conn,
                int64_t      stream_id,
                void        *user_data)
{
  QuicConn *qc = user_data;
  QuicStream *s;
  PostQuicPsi *psi;

  if (ngtcp2_conn_is_local_stream (conn, stream_id))
    return 0;
  s = quic_conn_add_stream (qc, stream_id);
  if (!ngtcp2_is_bidi_stream (stream_id))
    {
      /* The peer's source: announced as a sink, nothing ever sent on it. */
      s->recv_only = TRUE;
      s->fin_requested = s->fin_sent = TRUE;
    }
  psi = quic_new_stream_psi (qc, s, qc->server != NULL ? qc->server->endpoint : NULL);
  /* Datagrams that arrived before the stream's first bytes. */
  for (GList *l = qc->dgram_early.head; l != NULL;)
    {
      GList *next = l->next;
      QuicDgram *early = l->data;

      if (early->stream_id == stream_id)
        {
          g_ptr_array_add (psi->dgram_rx, g_steal_pointer (&early->payload));
          quic_dgram_free (early);
          g_queue_delete_link (&qc->dgram_early, l);
        }
      l = next;
    }
  g_queue_push_tail (&qc->incoming, psi);
  quic_conn_schedule_events (qc);
  return 0;
}

static int
recv_stream_data_cb (ngtcp2_conn   *conn,
                     uint32_t       flags,
                     int64_t        stream_id,
                     uint64_t       offset,
                     const uint8_t *data,
                     size_t         datalen,
                     void          *user_data,
                     void          *stream_user_data)
{
  QuicConn *qc = user_data;
  QuicStream *s = stream_user_data;

  if (s == NULL || s->psi == NULL)
    {
      /* Nobody reads it (a stream whose instance closed, e.g. the peer's
       * unidirectional stream that nobody accepted): consume it. */
      discard_credit (qc, stream_id, datalen);
      return 0;
    }
  g_byte_array_append (s->rx, data, datalen);
  if (flags & NGTCP2_STREAM_DATA_FLAG_FIN)
    s->rx_fin = TRUE;
  quic_conn_schedule_events (qc);
  return 0;
}

static int
acked_stream_data_offset_cb (ngtcp2_conn *conn,
                             int64_t      stream_id,
                             uint64_t     offset,
                             uint64_t     datalen,
                             void        *user_data,
                             void        *stream_user_data)
{
  QuicConn *qc = user_data;
  QuicStream *s = stream_user_data;

  if (s == NULL)
    return 0;
  quic_stream_acked (s, offset + datalen);
  quic_conn_schedule_events (qc);
  return 0;
}

static int
stream_reset_cb (ngtcp2_conn *conn,
                 int64_t      stream_id,
                 uint64_t     final_size,
                 uint64_t     app_error_code,
                 void        *user_data,
                 void        *stream_user_data)
{
  QuicConn *qc = user_data;
  QuicStream *s = stream_user_data;

  if (s != NULL && s->error == NULL && !s->rx_fin && app_error_code == APP_ERROR_REFUSED
      && ngtcp2_conn_is_local_stream (conn, stream_id))
    s->error = g_error_new (POST_ERROR, POST_ERROR_CONNECTION_REFUSED,
                            "%s refused the QUIC stream %" G_GINT64_FORMAT " (it did not accept the fork request)",
                            qc->peer, (gint64) stream_id);
  else if (s != NULL && s->error == NULL && !s->rx_fin)
    s->error = g_error_new (POST_ERROR, POST_ERROR_CONNECTION_RESET,
                            "QUIC stream %" G_GINT64_FORMAT " reset by %s (application error 0x%" G_GINT64_MODIFIER "x)",
                            (gint64) stream_id, qc->peer, (guint64) app_error_code);
  quic_conn_schedule_events (qc);
  return 0;
}

static int
stream_close_cb (ngtcp2_conn *conn,
                 uint32_t     flags,
                 int64_t      stream_id,
                 uint64_t     app_error_code,
                 void        *user_data,
                 void        *stream_user_data)
{
  QuicConn *qc = user_data;
  QuicStream *s = stream_user_data;

  if (qc->rejecting)
    return 0;   /* early streams discarded: the early stream is reopened */
  if (!ngtcp2_conn_is_local_stream (conn, stream_id))
    {
      /* Give the peer its stream credit back (per-connection limits stay). */
      if (ngtcp2_is_bidi_stream (stream_id))
        ngtcp2_conn_extend_max_streams_bidi (conn, 1);
      else
        ngtcp2_conn_extend_max_streams_uni (conn, 1);
    }
  if (s == NULL)
    return 0;
  s->closed = TRUE;
  if (s->psi == NULL)
    quic_conn_remove_stream (qc, s);
  else
    {
      /* Our unidirectional stream closes normally once its FIN is
       * acknowledged: there is no receiving side to end. */
      if (!s->rx_fin && s->error == NULL
          && !(s->send_only && s->fin_sent && s->tx_acked == s->tx_end))
        s->error = g_error_new (POST_ERROR, POST_ERROR_CONNECTION_RESET,
                                "QUIC stream %" G_GINT64_FORMAT " closed by %s",
                                (gint64) stream_id, qc->peer);
      quic_conn_schedule_events (qc);
    }
  return 0;
}

static int
extend_max_cb (ngtcp2_conn *conn,
               uint64_t     max_streams,
               void        *user_data)
{
  quic_conn_schedule_write (user_data);
  quic_conn_schedule_forks (user_data);   /* MAX_STREAMS: forks waiting for credit */
  return 0;
}

static int
extend_max_stream_data_cb (ngtcp2_conn *conn,
                           int64_t      stream_id,
                           uint64_t     max_data,
                           void        *user_data,
                           void        *stream_user_data)
{
  quic_conn_schedule_write (user_data);
  return 0;
}

/* Client: the server asked for address validation; ngtcp2 sends the
 * Initial (and 0-RTT packets) again with the token. */
static int
client_recv_retry_cb (ngtcp2_conn         *conn,
                      const ngtcp2_pkt_hd *hd,
                      void                *user_data)
{
  QuicConn *qc = user_data;

  g_debug ("QUIC: %s answered with a Retry: the Initial goes again with its token", qc->peer);
  return ngtcp2_crypto_recv_retry_cb (conn, hd, user_data);
}

void
quic_init_callbacks (ngtcp2_callbacks *callbacks,
                     gboolean          server)
{
  memset (callbacks, 0, sizeof *callbacks);
  if (server)
    callbacks->recv_client_initial = ngtcp2_crypto_recv_client_initial_cb;
  else
    {
      callbacks->client_initial = ngtcp2_crypto_client_initial_cb;
      callbacks->recv_retry = client_recv_retry_cb;
    }
  callbacks->recv_crypto_data = ngtcp2_crypto_recv_crypto_data_cb;
  callbacks->encrypt = ngtcp2_crypto_encrypt_cb;
  callbacks->decrypt = ngtcp2_crypto_decrypt_cb;
  callbacks->hp_mask = ngtcp2_crypto_hp_mask_cb;
  callbacks->update_key = ngtcp2_crypto_update_key_cb;
  callbacks->delete_crypto_aead_ctx = ngtcp2_crypto_delete_crypto_aead_ctx_cb;
  callbacks->delete_crypto_cipher_ctx = ngtcp2_crypto_delete_crypto_cipher_ctx_cb;
  callbacks->get_path_challenge_data = ngtcp2_crypto_get_path_challenge_data_cb;
  callbacks->version_negotiation = ngtcp2_crypto_version_negotiation_cb;
  callbacks->rand = rand_cb;
  callbacks->get_new_connection_id = get_new_connection_id_cb;
  callbacks->remove_connection_id = remove_connection_id_cb;
  callbacks->handshake_completed = handshake_completed_cb;
  callbacks->stream_open = stream_open_cb;
  callbacks->recv_stream_data = recv_stream_data_cb;
  callbacks->acked_stream_data_offset = acked_stream_data_offset_cb;
  callbacks->stream_reset = stream_reset_cb;
  callbacks->stream_close = stream_close_cb;
  callbacks->extend_max_local_streams_bidi = extend_max_cb;
  callbacks->extend_max_stream_data = extend_max_stream_data_cb;
  callbacks->recv_datagram = quic_recv_datagram_cb;
  callbacks->ack_datagram = quic_ack_datagram_cb;
  callbacks->lost_datagram = quic_lost_datagram_cb;
  if (!server)
    callbacks->recv_new_token = recv_new_token_cb;
}

void
quic_init_params (ngtcp2_transport_params *params,
                  PostConfiguration       *configuration,
                  guint64                  max_streams_bidi)
{
  ngtcp2_transport_params_default (params);
  params->initial_max_stream_data_bidi_local = quic_option_uint (configuration, "quic.max-stream-data", STREAM_WINDOW);
  params->initial_max_stream_data_bidi_remote = params->initial_max_stream_data_bidi_local;
  params->initial_max_stream_data_uni = params->initial_max_stream_data_bidi_local;
  params->initial_max_data = quic_option_uint (configuration, "quic.max-data", CONN_WINDOW);
  params->initial_max_streams_bidi = max_streams_bidi;
  params->initial_max_streams_uni = MAX_UNI_STREAMS;
  params->max_idle_timeout = quic_option_uint (configuration, "quic.idle-timeout", IDLE_TIMEOUT_MS) * NGTCP2_MILLISECONDS;
  /* With keep-alives (PING frames after keep-alive-timeout of idleness) a
   * peer that answers none is gone after twice that time: the idle timeout
   * says so (RFC 9000 10.1), as POST_ERROR_TIMED_OUT. */
  if (configuration != NULL && post_configuration_get_effective_keep_alive_timeout (configuration) > 0)
    {
      guint64 keep_alive = post_configuration_get_effective_keep_alive_timeout (configuration);

      params->max_idle_timeout = MIN (params->max_idle_timeout, 2 * keep_alive * NGTCP2_MILLISECONDS);
    }
  /* Spare connection ids, so that a client can migrate (RFC 9000 9.5:
   * a new path uses a connection id not used before). */
  params->active_connection_id_limit = ACTIVE_CID_LIMIT;
  /* RFC 9221: the peer may send DATAGRAM frames unless `quic.datagrams` is false. */
  params->max_datagram_frame_size = quic_option_datagrams (configuration) ? MAX_DATAGRAM_FRAME : 0;
}

void
quic_init_settings (ngtcp2_settings   *settings,
                    PostConfiguration *configuration)
{
  guint timeout = configuration != NULL ? post_configuration_get_conn_timeout (configuration) : 0;

  ngtcp2_settings_default (settings);
  settings->initial_ts = quic_timestamp ();
  if (timeout > 0)
    settings->handshake_timeout = (ngtcp2_duration) timeout * NGTCP2_MILLISECONDS;
}
