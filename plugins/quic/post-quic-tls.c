/* post-quic-tls.c: TLS 1.3 inside QUIC for the `quic` stack: the GnuTLS
 * session of a connection (trust verification, PSK, ALPN, SNI), and the
 * session tickets kept in the association (TICKET_MAGIC) with their
 * export
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * The design is described at the top of post-quic-psi.c (0-RTT).
 */

#include "post-quic-private.h"

/* What the association keeps for a quic remote (one session ticket): this
 * magic, then three length-prefixed (uint32 BE) fields: the GnuTLS session
 * data, the server's transport parameters (encrypted-extensions encoding)
 * and the newest NEW_TOKEN token (maybe empty). */
#define TICKET_MAGIC        "PQT1"

static const char priority_string[] =
  "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:"
  "+CHACHA20-POLY1305:+AES-128-CCM:%DISABLE_TLS13_COMPAT_MODE";
/* With an external pre-shared key (TLS 1.3 psk_dhe_ke, or psk_ke) */
static const char priority_string_psk[] =
  "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+AES-128-GCM:+AES-256-GCM:"
  "+CHACHA20-POLY1305:+AES-128-CCM:+ECDHE-PSK:+DHE-PSK:+PSK:%DISABLE_TLS13_COMPAT_MODE";

/* ---- session tickets in the association --------------------------------------- */

static void
pack_field (GByteArray   *out,
            const guint8 *data,
            gsize         len)
{
  guint32 be = GUINT32_TO_BE ((guint32) len);

  g_byte_array_append (out, (const guint8 *) &be, 4);
  if (len > 0)
    g_byte_array_append (out, data, len);
}

static GBytes *
ticket_pack (GBytes       *session_data,
             const guint8 *params,
             gsize         params_len,
             GBytes       *token)
{
  GByteArray *out = g_byte_array_new ();
  gsize len;
  const guint8 *data = g_bytes_get_data (session_data, &len);

  g_byte_array_append (out, (const guint8 *) TICKET_MAGIC, 4);
  pack_field (out, data, len);
  pack_field (out, params, params_len);
  data = token != NULL ? g_bytes_get_data (token, &len) : NULL;
  pack_field (out, data, token != NULL ? len : 0);
  return g_byte_array_free_to_bytes (out);
}

/* FALSE for what is not a quic ticket (another stack's, or damaged). */
gboolean
quic_ticket_unpack (GBytes  *blob,
                    GBytes **session_data,
                    GBytes **params,
                    GBytes **token)
{
  gsize len, pos = 4;
  const guint8 *data = g_bytes_get_data (blob, &len);
  GBytes **fields[3] = { session_data, params, token };

  *session_data = *params = *token = NULL;
  if (len < 4 || memcmp (data, TICKET_MAGIC, 4) != 0)
    return FALSE;
  for (guint i = 0; i < 3; i++)
    {
      guint32 n;

      if (len - pos < 4)
        goto bad;
      memcpy (&n, data + pos, 4);
      n = GUINT32_FROM_BE (n);
      pos += 4;
      if (len - pos < n)
        goto bad;
      *fields[i] = n > 0 ? g_bytes_new_from_bytes (blob, pos, n) : NULL;
      pos += n;
    }
  if (*session_data != NULL)
    return TRUE;
bad:
  for (guint i = 0; i < 3; i++)
    g_clear_pointer (fields[i], g_bytes_unref);
  return FALSE;
}

/* ---- TLS ------------------------------------------------------------------------------ */

static int
verify_cb (gnutls_session_t session)
{
  ngtcp2_crypto_conn_ref *ref = gnutls_session_get_ptr (session);
  QuicConn *qc = ref->user_data;

  return post_gnutls_verify_peer (session, qc->configuration, qc->server_name,
                                  qc->server != NULL, qc->peer, &qc->peer_errors,
                                  &qc->verify_error);
}

/* Client: a NewSessionTicket arrived; its session data is exported with
 * the transport parameters and the NEW_TOKEN token once that arrives too
 * (it follows the handshake), or after TICKET_WAIT_MS, or at the end of the
 * connection (quic_conn_export_tickets). */
static int
ticket_hook (gnutls_session_t      session,
             unsigned int          htype,
             unsigned              when,
             unsigned int          incoming,
             const gnutls_datum_t *msg)
{
  ngtcp2_crypto_conn_ref *ref = gnutls_session_get_ptr (session);
  QuicConn *qc = ref->user_data;
  GBytes *data;

  if (htype != GNUTLS_HANDSHAKE_NEW_SESSION_TICKET || qc->association == NULL)
    return 0;
  data = post_gnutls_get_session_data (session);
  if (data != NULL)
    g_ptr_array_add (qc->new_tickets, data);
  return 0;
}

static gboolean
ticket_timer_cb (gpointer user_data)
{
  QuicConn *qc = user_data;

  g_clear_pointer (&qc->ticket_timer, g_source_unref);
  quic_conn_export_tickets (qc, TRUE);
  return G_SOURCE_REMOVE;
}

void
quic_conn_export_tickets (QuicConn *qc,
                          gboolean  force)
{
  const ngtcp2_transport_params *params;
  guint8 encoded[512];
  ngtcp2_ssize encoded_len = 0;

  if (qc->new_tickets == NULL || qc->new_tickets->len == 0 || qc->conn == NULL)
    return;
  if (!force && qc->token == NULL)
    {
      if (qc->ticket_timer == NULL)
        {
          qc->ticket_timer = g_timeout_source_new (TICKET_WAIT_MS);
          g_source_set_callback (qc->ticket_timer, ticket_timer_cb, qc, NULL);
          g_source_set_static_name (qc->ticket_timer, "[post] quic ticket export");
          g_source_attach (qc->ticket_timer, qc->context);
        }
      return;
    }
  quic_clear_source (&qc->ticket_timer);
  params = ngtcp2_conn_get_remote_transport_params (qc->conn);
  if (params != NULL)
    encoded_len = ngtcp2_encode_transport_params (encoded, sizeof encoded,
                                                  NGTCP2_TRANSPORT_PARAMS_TYPE_ENCRYPTED_EXTENSIONS, params);
  if (encoded_len < 0)
    encoded_len = 0;
  for (guint i = 0; i < qc->new_tickets->len; i++)
    {
      GBytes *session_data = qc->new_tickets->pdata[i];
      time_t expiry = post_gnutls_session_data_expiry (session_data);
      g_autoptr(GBytes) blob = ticket_pack (session_data, encoded, encoded_len, qc->token);

      post_association_add_session_ticket (qc->association, blob, expiry);
      g_debug ("QUIC: stored a session ticket from %s in the association (%s transport parameters%s)",
               qc->peer, encoded_len > 0 ? "with" : "without", qc->token != NULL ? ", a token" : "");
    }
  g_ptr_array_set_size (qc->new_tickets, 0);
}

/* A listener's PSK lookup: the identity among its local's keys. */
int
quic_server_psk_cb (gnutls_session_t      session,
                    const gnutls_datum_t *username,
                    gnutls_datum_t       *key)
{
  ngtcp2_crypto_conn_ref *ref = gnutls_session_get_ptr (session);
  QuicConn *qc = ref->user_data;

  return post_gnutls_server_psk_lookup (qc->server != NULL ? qc->server->endpoint : NULL, username, key);
}

/* The priorities, parsed once for every session of the process (each
 * session parsing its own held 8 KB of every connection). */
static gnutls_priority_t
session_priority (gboolean psk)
{
  static gnutls_priority_t cache[2];
  static gsize done[2];

  if (g_once_init_enter (&done[psk]))
    {
      if (gnutls_priority_init2 (&cache[psk], psk ? priority_string_psk : priority_string, NULL, 0) < 0)
        cache[psk] = NULL;
      g_once_init_leave (&done[psk], 1);
    }
  return cache[psk];
}

gboolean
quic_setup_session (QuicConn  *qc,
                    gboolean   server,
                    GError   **error)
{
  g_auto(GStrv) alpn = post_configuration_get_alpn (qc->configuration);
  gnutls_certificate_credentials_t cred = server ? qc->server->cred : post_gnutls_credentials_get (qc->cred);

  unsigned int flags = (server ? GNUTLS_SERVER : GNUTLS_CLIENT) | GNUTLS_NO_END_OF_EARLY_DATA;

  /* `tls.server-early-data` false: tickets still announce early data (so
   * clients try), but a listener refuses it; it is resent after the
   * handshake. */
  if (server ? qc->server->early_data : qc->want_early)
    flags |= GNUTLS_ENABLE_EARLY_DATA;
  /* GnuTLS failures here are handshake errors (POST_ERROR_TLS_HANDSHAKE). */
  if (!post_gnutls_check_code (gnutls_init (&qc->session, flags), POST_ERROR_TLS_HANDSHAKE,
                               "Cannot start a TLS session", error) ||
      !post_gnutls_check_code (gnutls_priority_set (qc->session,
                                                    session_priority (server ? qc->server->psk != NULL
                                                                             : qc->psk != NULL)),
                               POST_ERROR_TLS_HANDSHAKE, "Cannot set the TLS priorities", error))
    return FALSE;
  if ((server ? ngtcp2_crypto_gnutls_configure_server_session (qc->session)
              : ngtcp2_crypto_gnutls_configure_client_session (qc->session)) != 0)
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_TLS_HANDSHAKE, "Cannot prepare TLS for QUIC");
      return FALSE;
    }
  qc->conn_ref.get_conn = quic_get_conn_cb;
  qc->conn_ref.user_data = qc;
  gnutls_session_set_ptr (qc->session, &qc->conn_ref);
  if (cred != NULL
      && !post_gnutls_check_code (gnutls_credentials_set (qc->session, GNUTLS_CRD_CERTIFICATE, cred),
                                  POST_ERROR_TLS_HANDSHAKE, "Cannot set the TLS credentials", error))
    return FALSE;
  if ((server ? (gpointer) qc->server->psk : (gpointer) qc->psk) != NULL
      && !post_gnutls_check_code (gnutls_credentials_set (qc->session, GNUTLS_CRD_PSK,
                                                          server ? (gpointer) qc->server->psk : (gpointer) qc->psk),
                                  POST_ERROR_TLS_HANDSHAKE, "Cannot set the pre-shared key", error))
    return FALSE;
  if (server && qc->server->request_client_cert)
    {
      /* As the tls stack: client certificates are asked for when the
       * listener's configuration names anchors to verify them with. */
      gnutls_certificate_server_set_request (qc->session, GNUTLS_CERT_REQUEST);
      gnutls_session_set_verify_function (qc->session, verify_cb);
    }
  if (!server)
    {
      gnutls_session_set_verify_function (qc->session, verify_cb);
      if (qc->server_name != NULL && qc->sni)
        gnutls_server_name_set (qc->session, GNUTLS_NAME_DNS, qc->server_name, strlen (qc->server_name));
      if (qc->association != NULL)
        gnutls_handshake_set_hook_function (qc->session, GNUTLS_HANDSHAKE_NEW_SESSION_TICKET,
                                            GNUTLS_HOOK_POST, ticket_hook);
    }
  else
    {
      /* Session tickets and 0-RTT (RFC 9001 4.6.1: QUIC announces a
       * max_early_data_size of 0xffffffff). */
      if (!post_gnutls_server_tickets_enable (&qc->server->tickets, qc->session, POST_ERROR_TLS_HANDSHAKE, error))
        return FALSE;
      gnutls_record_set_max_early_data_size (qc->session, 0xffffffffu);
    }
  if (alpn[0] != NULL)
    {
      if (!post_gnutls_apply_alpn (qc->session, qc->configuration, server, error))
        return FALSE;
    }
  else
    {
      gnutls_datum_t proto = { (unsigned char *) POST_QUIC_DEFAULT_ALPN, strlen (POST_QUIC_DEFAULT_ALPN) };

      /* RFC 9001 8.1: a server closes a connection whose client offers
       * none of its protocols (no_application_protocol). */
      if (!post_gnutls_check_code (gnutls_alpn_set_protocols (qc->session, &proto, 1,
                                                              server ? GNUTLS_ALPN_MANDATORY : 0),
                                   POST_ERROR_TLS_HANDSHAKE, "Cannot set ALPN", error))
        return FALSE;
    }
  return TRUE;
}
