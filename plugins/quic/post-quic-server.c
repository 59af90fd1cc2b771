/* post-quic-server.c: QuicServer, the listener of the `quic` stack: one
 * UDP socket for every connection it accepts, demultiplexed by connection
 * id; admission (limits, Retry, tokens), accept, and the listener
 * options (its session tickets and anti-replay store are the shared
 * PostGnutlsServerTickets of plugins/common)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The design is described at the top of post-quic-psi.c (LISTENER).
 */

#include "post-quic-private.h"

/* ---- connection ids ----------------------------------------------------------------- */

void
quic_server_register_cid (QuicConn      *qc,
                          const uint8_t *data,
                          size_t         len)
{
  GBytes *cid;

  if (qc->server == NULL)
    return;
  {
    char hex[2 * NGTCP2_MAX_CIDLEN + 1];

    for (gsize i = 0; i < len && i < NGTCP2_MAX_CIDLEN; i++)
      g_snprintf (hex + 2 * i, 3, "%02x", data[i]);
    hex[2 * MIN (len, NGTCP2_MAX_CIDLEN)] = '\0';
    g_debug ("QUIC: connection with %s: connection id %s", qc->peer, hex);
  }
  cid = g_bytes_new (data, len);
  g_hash_table_insert (qc->server->cids, g_bytes_ref (cid), qc);
  g_ptr_array_add (qc->cids, cid);
}

/* ---- the listener's socket ------------------------------------------------------- */

static QuicServer *
server_ref (QuicServer *server)
{
  g_atomic_int_inc (&server->ref_count);
  return server;
}

void
quic_server_unref (QuicServer *server)
{
  if (!g_atomic_int_dec_and_test (&server->ref_count))
    return;
  quic_clear_source (&server->source);
  g_hash_table_unref (server->cids);
  g_hash_table_unref (server->conns);
  g_hash_table_unref (server->per_address);
  if (server->socket != NULL)
    g_socket_close (server->socket, NULL);
  g_clear_object (&server->socket);
  g_clear_object (&server->local_address);
  g_clear_object (&server->stack);
  g_clear_object (&server->configuration);
  g_clear_object (&server->endpoint);
  g_clear_pointer (&server->cred, gnutls_certificate_free_credentials);
  g_clear_pointer (&server->psk, gnutls_psk_free_server_credentials);
  post_gnutls_server_tickets_clear (&server->tickets);
  g_main_context_unref (server->context);
  g_free (server);
}

/* Server, handshake done: a NEW_TOKEN token for the client's address, so
 * that its next connection's Initial proves the address (RFC 9000 8.1.3). */
void
quic_server_issue_token (QuicConn *qc)
{
  guint8 token[NGTCP2_CRYPTO_MAX_REGULAR_TOKENLEN];
  ngtcp2_ssize len;

  if (qc->token_sent || !qc->server->new_tokens)
    return;
  qc->token_sent = TRUE;
  len = ngtcp2_crypto_generate_regular_token (token, qc->server->token_secret, TOKEN_SECRET_LEN,
                                              (ngtcp2_sockaddr *) &qc->remote, qc->remote_len,
                                              quic_timestamp ());
  if (len > 0)
    ngtcp2_conn_submit_new_token (qc->conn, token, len);
}

/* A packet a listener sends without connection state (Retry, or a
 * CONNECTION_CLOSE refusing an Initial). */
static void
server_send_stateless (QuicServer            *server,
                       const guint8          *data,
                       gsize                  len,
                       const struct sockaddr *to,
                       socklen_t              to_len)
{
  int err;

  if (!post_udp_batch_send (&server->udp, g_socket_get_fd (server->socket), to, to_len,
                           server->udp.pktinfo ? (const struct sockaddr *) &server->arrival : NULL,
                           server->arrival_len, data, len, 0, &err))
    g_debug ("QUIC: cannot send a stateless packet: %s", g_strerror (err));
}

/* Counts the listener's connections, and those of them still in their
 * handshake. */
static guint
server_count_handshakes (QuicServer *server)
{
  GHashTableIter iter;
  QuicConn *c;
  guint n = 0;

  g_hash_table_iter_init (&iter, server->conns);
  while (g_hash_table_iter_next (&iter, (gpointer *) &c, NULL))
    if (!c->handshake_done && !c->closed)
      n++;
  return n;
}

/* Refuses an Initial without keeping state: CONNECTION_CLOSE in an Initial
 * packet protected with the keys derived from the client's DCID. */
static void
server_refuse (QuicServer            *server,
               const ngtcp2_pkt_hd   *hd,
               guint64                error_code,
               const char            *reason,
               const struct sockaddr *from,
               socklen_t              from_len)
{
  guint8 buf[MAX_PACKET];
  ngtcp2_ssize n = ngtcp2_crypto_write_connection_close (buf, sizeof buf, hd->version, &hd->scid, &hd->dcid,
                                                         error_code, (const guint8 *) reason, strlen (reason));

  if (n > 0)
    server_send_stateless (server, buf, n, from, from_len);
}

/* What quic.max-connections-per-address counts by: the source's IPv4
 * address, or the /64 of its IPv6 address (one host usually has a whole
 * /64 to choose from); an IPv4-mapped address as IPv4. */
static GBytes *
address_key (const struct sockaddr *from)
{
  if (from->sa_family == AF_INET)
    return g_bytes_new (&((const struct sockaddr_in *) from)->sin_addr, 4);
  if (from->sa_family == AF_INET6)
    {
      const struct in6_addr *a = &((const struct sockaddr_in6 *) from)->sin6_addr;

      if (IN6_IS_ADDR_V4MAPPED (a))
        return g_bytes_new (a->s6_addr + 12, 4);
      return g_bytes_new (a->s6_addr, 8);
    }
  return g_bytes_new (NULL, 0);
}

static guint
address_count (QuicServer            *server,
               const struct sockaddr *from)
{
  g_autoptr(GBytes) key = address_key (from);

  return GPOINTER_TO_UINT (g_hash_table_lookup (server->per_address, key));
}

void
quic_server_forget_address (QuicConn *qc)
{
  QuicServer *server = qc->server;
  guint n;

  if (server == NULL || qc->address_key == NULL)
    return;
  n = GPOINTER_TO_UINT (g_hash_table_lookup (server->per_address, qc->address_key));
  if (n <= 1)
    g_hash_table_remove (server->per_address, qc->address_key);
  else
    g_hash_table_insert (server->per_address, g_bytes_ref (qc->address_key), GUINT_TO_POINTER (n - 1));
  g_clear_pointer (&qc->address_key, g_bytes_unref);
}

static void
count_address (QuicConn              *qc,
               const struct sockaddr *from)
{
  QuicServer *server = qc->server;
  guint n;

  qc->address_key = address_key (from);
  n = GPOINTER_TO_UINT (g_hash_table_lookup (server->per_address, qc->address_key));
  g_hash_table_insert (server->per_address, g_bytes_ref (qc->address_key), GUINT_TO_POINTER (n + 1));
}

/* Address validation and admission of a new connection's Initial, before a
 * listener keeps any state for it (RFC 9000 8.1).  Returns FALSE when the
 * Initial was answered (Retry, or refused) or dropped; TRUE to accept it,
 * with *retried set (and *odcid the client's first DCID) when it carries a
 * valid Retry token. */
static gboolean
server_admit (QuicServer            *server,
              const ngtcp2_pkt_hd   *hd,
              const struct sockaddr *from,
              socklen_t              from_len,
              ngtcp2_cid            *odcid,
              gboolean              *retried)
{
  g_autoptr(GSocketAddress) address = g_socket_address_new_from_native ((gpointer) from, from_len);
  g_autofree char *peer = quic_format_address (address);
  gboolean validated = FALSE;
  guint n_conns = g_hash_table_size (server->conns);

  *retried = FALSE;
  if (hd->type != NGTCP2_PKT_INITIAL)
    return FALSE;
  if (n_conns >= server->max_connections)
    {
      g_debug ("QUIC: refusing a connection from %s: the listener has %u connections (quic.max-connections)",
               peer, n_conns);
      server_refuse (server, hd, NGTCP2_CONNECTION_REFUSED, "too many connections", from, from_len);
      return FALSE;
    }
  /* One source cannot take the whole listener (a spoofed one cannot get
   * past a Retry either, but without one its Initials count here too). */
  if (address_count (server, from) >= server->max_per_address)
    {
      g_debug ("QUIC: refusing a connection from %s: it has %u connections "
               "(quic.max-connections-per-address)", peer, address_count (server, from));
      server_refuse (server, hd, NGTCP2_CONNECTION_REFUSED, "too many connections from this address",
                     from, from_len);
      return FALSE;
    }
  if (hd->token.len > 0 && hd->token.base[0] == NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY)
    {
      if (ngtcp2_crypto_verify_retry_token (odcid, hd->token.base, hd->token.len,
                                            server->token_secret, TOKEN_SECRET_LEN, hd->version,
                                            from, from_len, &hd->dcid, RETRY_TOKEN_LIFETIME,
                                            quic_timestamp ()) != 0)
        {
          /* A forged, stale or misdirected Retry token (RFC 9000 8.1.2). */
          g_debug ("QUIC: refusing the Initial from %s: invalid Retry token", peer);
          server_refuse (server, hd, NGTCP2_INVALID_TOKEN, "invalid token", from, from_len);
          return FALSE;
        }
      g_debug ("QUIC: the Initial from %s carries a valid Retry token", peer);
      *retried = TRUE;
      return TRUE;
    }
  if (hd->token.len > 0 && hd->token.base[0] == NGTCP2_CRYPTO_TOKEN_MAGIC_REGULAR
      && ngtcp2_crypto_verify_regular_token (hd->token.base, hd->token.len,
                                             server->token_secret, TOKEN_SECRET_LEN,
                                             from, from_len, TOKEN_LIFETIME, quic_timestamp ()) == 0)
    validated = TRUE;
  if (!validated
      && (server->retry == RETRY_ALWAYS
          || (server->retry == RETRY_WHEN_BUSY && server_count_handshakes (server) >= server->retry_threshold)))
    {
      guint8 token[NGTCP2_CRYPTO_MAX_RETRY_TOKENLEN];
      guint8 buf[MAX_PACKET];
      ngtcp2_cid retry_scid;
      ngtcp2_ssize token_len, n;

      retry_scid.datalen = SCID_LEN;
      quic_rand_bytes (retry_scid.data, retry_scid.datalen);
      token_len = ngtcp2_crypto_generate_retry_token (token, server->token_secret, TOKEN_SECRET_LEN, hd->version,
                                                      from, from_len, &retry_scid, &hd->dcid, quic_timestamp ());
      if (token_len < 0)
        return FALSE;
      n = ngtcp2_crypto_write_retry (buf, sizeof buf, hd->version, &hd->scid, &retry_scid, &hd->dcid,
                                     token, token_len);
      if (n < 0)
        return FALSE;
      server_send_stateless (server, buf, n, from, from_len);
      g_debug ("QUIC: sent a Retry to %s (quic.retry %s)", peer,
               server->retry == RETRY_ALWAYS ? "always" : "when-busy");
      return FALSE;
    }
  return TRUE;
}

static void
server_accept (QuicServer            *server,
               const guint8          *data,
               gsize                  len,
               const struct sockaddr *from,
               socklen_t              from_len)
{
  ngtcp2_pkt_hd hd;
  ngtcp2_callbacks callbacks;
  ngtcp2_settings settings;
  ngtcp2_transport_params params;
  ngtcp2_cid scid;
  ngtcp2_path path;
  ngtcp2_cid odcid;
  gboolean retried;
  QuicConn *qc;
  g_autoptr(GError) error = NULL;
  g_autofree char *remote = NULL;
  int rv;

  if (server->listener == NULL || ngtcp2_accept (&hd, data, len) != 0)
    return;   /* not an Initial packet: garbage or a stale connection */
  if (!server_admit (server, &hd, from, from_len, &odcid, &retried))
    return;

  qc = g_new0 (QuicConn, 1);
  qc->ref_count = 1;
  qc->context = g_main_context_ref (server->context);
  qc->stack = g_object_ref (server->stack);
  qc->configuration = g_object_ref (server->configuration);
  qc->streams = g_hash_table_new_full (g_int64_hash, g_int64_equal, g_free, (GDestroyNotify) quic_stream_free);
  qc->cids = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  qc->new_tickets = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_queue_init (&qc->incoming);
  quic_conn_init_datagrams (qc);
  qc->server = server_ref (server);
  /* The address the client wrote to: on a wildcard listener, where its
   * Initial arrived (every packet of the connection leaves from there). */
  memcpy (&qc->local, &server->arrival, server->arrival_len);
  qc->local_len = server->arrival_len;
  memcpy (&qc->remote, from, from_len);
  qc->remote_len = from_len;
  qc->local_address = server->udp.pktinfo
                      ? g_socket_address_new_from_native (&qc->local, qc->local_len)
                      : g_object_ref (server->local_address);
  qc->remote_address = g_socket_address_new_from_native ((gpointer) from, from_len);
  qc->peer = quic_format_address (qc->remote_address);

  scid.datalen = SCID_LEN;
  quic_rand_bytes (scid.data, scid.datalen);
  quic_init_callbacks (&callbacks, TRUE);
  quic_init_settings (&settings, server->configuration);
  quic_init_params (&params, server->configuration, server->max_streams);
  params.original_dcid = hd.dcid;
  if (hd.token.len > 0 && hd.token.base[0] == NGTCP2_CRYPTO_TOKEN_MAGIC_REGULAR
      && ngtcp2_crypto_verify_regular_token (hd.token.base, hd.token.len,
                                             server->token_secret, TOKEN_SECRET_LEN,
                                             from, from_len, TOKEN_LIFETIME, quic_timestamp ()) == 0)
    {
      /* The address is validated: no anti-amplification limit. */
      settings.token = hd.token;
      qc->validated = TRUE;
      g_debug ("QUIC: the Initial from %s carries a valid NEW_TOKEN token", qc->peer);
    }
  if (retried)
    {
      /* After a Retry (RFC 9000 7.3): the client's first DCID, and the
       * Retry's SCID that it now uses as DCID. */
      params.original_dcid = odcid;
      params.retry_scid = hd.dcid;
      params.retry_scid_present = 1;
      settings.token = hd.token;
      qc->validated = TRUE;
    }
  path.local.addr = (ngtcp2_sockaddr *) &qc->local;
  path.local.addrlen = qc->local_len;
  path.remote.addr = (ngtcp2_sockaddr *) &qc->remote;
  path.remote.addrlen = qc->remote_len;
  path.user_data = NULL;

  rv = ngtcp2_conn_server_new (&qc->conn, &hd.scid, &scid, &path, hd.version,
                               &callbacks, &settings, &params, NULL, qc);
  if (rv != 0)
    error = quic_ngtcp2_error (rv, "Cannot create a QUIC connection");
  else if (quic_setup_session (qc, TRUE, &error))
    ngtcp2_conn_set_tls_native_handle (qc->conn, qc->session);
  if (error != NULL)
    {
      g_message ("Dropping an incoming QUIC connection from %s: %s", qc->peer, error->message);
      qc->closed = TRUE;
      quic_conn_unref (qc);
      return;
    }
  g_hash_table_add (server->conns, qc);   /* owns it */
  count_address (qc, from);
  quic_server_register_cid (qc, scid.data, scid.datalen);
  quic_server_register_cid (qc, hd.dcid.data, hd.dcid.datalen);
  quic_conn_start_timer (qc);
  quic_conn_ref (qc);
  quic_conn_read_packet (qc, data, len, from, from_len);
  /* An Initial that does not decrypt ends the connection it would have
   * made (NGTCP2_ERR_DROP_CONN): nothing stays for garbage. */
  g_debug ("QUIC: %s the Initial from %s; the listener has %u connections",
           qc->closed ? "dropped" : "accepted", qc->peer, g_hash_table_size (server->conns));
  quic_conn_unref (qc);
}

/* One datagram at the listener: to its connection by destination
 * connection id, or a new connection. */
static void
server_dispatch (QuicServer            *server,
                 const guint8          *data,
                 gsize                  len,
                 const struct sockaddr *from,
                 socklen_t              from_len,
                 GPtrArray             *touched)
{
  ngtcp2_version_cid vc;
  g_autoptr(GBytes) dcid = NULL;
  QuicConn *qc;

  if (ngtcp2_pkt_decode_version_cid (&vc, data, len, SCID_LEN) != 0)
    return;   /* garbage, or a version we do not speak */
  dcid = g_bytes_new (vc.dcid, vc.dcidlen);
  qc = g_hash_table_lookup (server->cids, dcid);
  if (qc != NULL)
    {
      if (!g_ptr_array_find (touched, qc, NULL))
        g_ptr_array_add (touched, quic_conn_ref (qc));
      quic_conn_read_packet (qc, data, len, from, from_len);
      return;
    }
  server_accept (server, data, len, from, from_len);
  qc = g_hash_table_lookup (server->cids, dcid);
  if (qc != NULL && !g_ptr_array_find (touched, qc, NULL))
    g_ptr_array_add (touched, quic_conn_ref (qc));
}

gboolean
quic_server_socket_cb (GSocket      *socket,
                       GIOCondition  condition,
                       gpointer      user_data)
{
  QuicServer *server = user_data;
  guint8 buf[65536];
  int fd = g_socket_get_fd (socket);
  g_autoptr(GPtrArray) touched = g_ptr_array_new_with_free_func ((GDestroyNotify) quic_conn_unref);

  server_ref (server);
  for (guint i = 0; i < RECV_BATCH; i++)
    {
      struct sockaddr_storage from;
      socklen_t from_len = sizeof from;
      gsize segment;
      gssize n = post_udp_batch_recv (&server->udp, fd, buf, sizeof buf, &from, &from_len,
                                     &server->arrival, &server->arrival_len, &segment);

      if (n < 0)
        break;
      if (server->arrival_len == 0)
        {
          memcpy (&server->arrival, &server->local, server->local_len);
          server->arrival_len = server->local_len;
        }
      /* With GRO, one receive may hold several datagrams of @segment bytes. */
      for (gssize off = 0; off < n; off += segment)
        server_dispatch (server, buf + off, MIN ((gsize) (n - off), segment),
                         (struct sockaddr *) &from, from_len, touched);
    }
  for (guint i = 0; i < touched->len; i++)
    quic_conn_after_read (touched->pdata[i]);
  g_ptr_array_set_size (touched, 0);
  quic_server_unref (server);
  return G_SOURCE_CONTINUE;
}

/* ---- listener options ---------------------------------------------------------------- */

/* The listener options of the quic stack that only a listener reads:
 * `quic.retry` ("never", "always" or "when-busy"), `quic.retry-threshold`,
 * `quic.max-connections`, `quic.max-connections-per-address` (unsigned
 * integers) and `quic.new-token` (a
 * boolean).  A value of the wrong type or out of range fails listen. */
static gboolean
server_option_uint (PostConfiguration  *configuration,
                    const char         *name,
                    guint64             fallback,
                    guint64             min,
                    guint64            *out,
                    GError            **error)
{
  GVariant *value = post_configuration_get_option (configuration, name);
  gint64 v;

  *out = fallback;
  if (value == NULL)
    return TRUE;
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT32))
    v = g_variant_get_uint32 (value);
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_UINT64))
    v = (gint64) MIN (g_variant_get_uint64 (value), (guint64) G_MAXINT64);
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_INT32))
    v = g_variant_get_int32 (value);
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_INT64))
    v = g_variant_get_int64 (value);
  else
    {
      g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                   "The option %s must be an unsigned integer, not of type %s",
                   name, g_variant_get_type_string (value));
      return FALSE;
    }
  if (v < (gint64) min)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                   "The option %s must be at least %" G_GUINT64_FORMAT ", not %" G_GINT64_FORMAT,
                   name, min, v);
      return FALSE;
    }
  *out = (guint64) v;
  return TRUE;
}

gboolean
quic_server_read_options (QuicServer         *server,
                          PostConfiguration  *configuration,
                          GError            **error)
{
  GVariant *retry = post_configuration_get_option (configuration, "quic.retry");
  GVariant *new_token = post_configuration_get_option (configuration, "quic.new-token");

  server->retry = RETRY_WHEN_BUSY;
  if (retry != NULL)
    {
      const char *mode = g_variant_is_of_type (retry, G_VARIANT_TYPE_STRING) ? g_variant_get_string (retry, NULL) : NULL;

      if (g_strcmp0 (mode, "never") == 0)
        server->retry = RETRY_NEVER;
      else if (g_strcmp0 (mode, "always") == 0)
        server->retry = RETRY_ALWAYS;
      else if (g_strcmp0 (mode, "when-busy") != 0)
        {
          g_autofree char *shown = g_variant_print (retry, TRUE);

          g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                       "The option quic.retry must be \"never\", \"always\" or \"when-busy\", not %s", shown);
          return FALSE;
        }
    }
  server->new_tokens = TRUE;
  if (new_token != NULL)
    {
      if (!g_variant_is_of_type (new_token, G_VARIANT_TYPE_BOOLEAN))
        {
          g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                       "The option quic.new-token must be a boolean, not of type %s",
                       g_variant_get_type_string (new_token));
          return FALSE;
        }
      server->new_tokens = g_variant_get_boolean (new_token);
    }
  return server_option_uint (configuration, "quic.retry-threshold", RETRY_THRESHOLD, 0,
                             &server->retry_threshold, error)
         && server_option_uint (configuration, "quic.max-connections", MAX_CONNECTIONS, 1,
                                &server->max_connections, error)
         && server_option_uint (configuration, "quic.max-connections-per-address",
                                MAX_CONNECTIONS_PER_ADDRESS, 1, &server->max_per_address, error);
}
