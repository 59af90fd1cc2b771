/* post-gnutls-common.c: the GnuTLS plumbing that the tls, dtls and quic
 * stacks share (see post-gnutls-common.h).  Secrets (keys, session data)
 * are wiped before GnuTLS's copies are freed, and never logged.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "post-gnutls-common.h"

#include <string.h>

#include <gnutls/crypto.h>

gboolean
post_gnutls_check_code (int          ret,
                        int          code,
                        const char  *what,
                        GError     **error)
{
  if (ret >= 0)
    return TRUE;
  g_set_error (error, POST_ERROR, code, "%s: %s", what, gnutls_strerror (ret));
  return FALSE;
}

gboolean
post_gnutls_check (int          ret,
                   const char  *what,
                   GError     **error)
{
  return post_gnutls_check_code (ret, POST_ERROR_INVALID_ARGUMENT, what, error);
}

void
post_gnutls_wipe_datum (gnutls_datum_t *datum)
{
  if (datum->data == NULL)
    return;
  gnutls_memset (datum->data, 0, datum->size);
  gnutls_free (datum->data);
  datum->data = NULL;
  datum->size = 0;
}

/* ---- session tickets in the association -------------------------------------- */

gboolean
post_gnutls_session_cache_enabled (PostConfiguration *configuration)
{
  GVariant *mode = configuration != NULL ? post_configuration_get_option (configuration, "tls.session-cache") : NULL;

  return mode == NULL || !g_variant_is_of_type (mode, G_VARIANT_TYPE_STRING)
         || g_strcmp0 (g_variant_get_string (mode, NULL), "none") != 0;
}

gboolean
post_gnutls_zero_rtt_allowed (PostConfiguration *configuration)
{
  PostPreference preference = post_configuration_get_preference (configuration, POST_SELECTION_ZERO_RTT_MSG);

  return preference != POST_PREFERENCE_AVOID && preference != POST_PREFERENCE_PROHIBIT;
}

GBytes *
post_gnutls_get_session_data (gnutls_session_t session)
{
  gnutls_datum_t data = { NULL, 0 };
  GBytes *bytes;

  if (gnutls_session_get_data2 (session, &data) < 0 || data.size == 0)
    return NULL;
  bytes = g_bytes_new (data.data, data.size);
  post_gnutls_wipe_datum (&data);
  return bytes;
}

time_t
post_gnutls_session_data_expiry (GBytes *data)
{
  gnutls_datum_t datum = { (unsigned char *) g_bytes_get_data (data, NULL), g_bytes_get_size (data) };
  time_t expiry = gnutls_db_check_entry_expire_time (&datum);

  if (expiry <= 0)
    expiry = g_get_real_time () / G_USEC_PER_SEC + 3600;
  return expiry;
}

/* ---- pre-shared keys ------------------------------------------------------------ */

gnutls_psk_client_credentials_t
post_gnutls_make_psk_client_credentials (GBytes      *key,
                                         const char  *identity,
                                         int          code,
                                         GError     **error)
{
  gnutls_psk_client_credentials_t psk = NULL;
  gnutls_datum_t datum;
  gsize size;

  datum.data = (unsigned char *) g_bytes_get_data (key, &size);
  datum.size = size;
  if (!post_gnutls_check_code (gnutls_psk_allocate_client_credentials (&psk), code,
                               "Cannot allocate PSK credentials", error))
    return NULL;
  if (!post_gnutls_check_code (gnutls_psk_set_client_credentials (psk, identity, &datum, GNUTLS_PSK_KEY_RAW),
                               code, "Cannot use the pre-shared key", error))
    {
      gnutls_psk_free_client_credentials (psk);
      return NULL;
    }
  return psk;
}

gnutls_psk_server_credentials_t
post_gnutls_make_psk_server_credentials (gnutls_psk_server_credentials_function2  *lookup,
                                         int                                       code,
                                         GError                                  **error)
{
  gnutls_psk_server_credentials_t psk = NULL;

  if (!post_gnutls_check_code (gnutls_psk_allocate_server_credentials (&psk), code,
                               "Cannot allocate PSK credentials", error))
    return NULL;
  gnutls_psk_set_server_credentials_function2 (psk, lookup);
  return psk;
}

/* ---- a client's and a listener's credentials ----------------------------------- */

char *
post_gnutls_server_name (PostAssociation *association,
                         gboolean        *sni)
{
  PostRemote *remote = association != NULL ? post_association_get_remote (association) : NULL;
  const char *host = remote != NULL ? post_remote_get_hostname (remote) : NULL;
  g_autoptr(GInetAddress) literal = NULL;

  *sni = FALSE;
  if (host == NULL)
    return NULL;
  literal = g_inet_address_new_from_string (host);
  *sni = literal == NULL;
  return g_strdup (host);
}

gboolean
post_gnutls_set_client_credentials (gnutls_session_t                     session,
                                    PostConfiguration                   *configuration,
                                    PostLocal                           *local,
                                    GBytes                              *psk,
                                    const char                          *psk_identity,
                                    const char                          *sni_name,
                                    gnutls_certificate_verify_function  *verify,
                                    PostGnutlsCredentials              **cert,
                                    gnutls_psk_client_credentials_t     *psk_cred,
                                    GError                             **error)
{
  *cert = post_gnutls_client_credentials (configuration, local, error);
  if (*cert == NULL)
    return FALSE;
  gnutls_credentials_set (session, GNUTLS_CRD_CERTIFICATE, post_gnutls_credentials_get (*cert));
  gnutls_session_set_verify_function (session, verify);

  if (psk != NULL)
    {
      *psk_cred = post_gnutls_make_psk_client_credentials (psk, psk_identity, POST_ERROR_INVALID_ARGUMENT, error);
      if (*psk_cred == NULL)
        return FALSE;
      gnutls_credentials_set (session, GNUTLS_CRD_PSK, *psk_cred);
    }

  if (sni_name != NULL)
    gnutls_server_name_set (session, GNUTLS_NAME_DNS, sni_name, strlen (sni_name));
  return TRUE;
}

gboolean
post_gnutls_check_listener_local (PostLocal   *local,
                                  const char  *stack,
                                  gboolean    *has_psk,
                                  GError     **error)
{
  *has_psk = local != NULL && post_local_lookup_pre_shared_key (local, NULL) != NULL;
  if (local == NULL || (!post_local_get_identity_pem (local, NULL, NULL) && !*has_psk))
    {
      g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                   "A %s listener needs an identity (post_local_set_identity_from_pem()) "
                   "or pre-shared keys (post_local_add_pre_shared_key()) on its local", stack);
      return FALSE;
    }
  return TRUE;
}

gboolean
post_gnutls_make_server_credentials (PostConfiguration                        *configuration,
                                     PostLocal                                *local,
                                     gboolean                                  has_psk,
                                     gnutls_psk_server_credentials_function2  *psk_lookup,
                                     gnutls_certificate_credentials_t         *cert,
                                     gnutls_psk_server_credentials_t          *psk,
                                     GError                                  **error)
{
  if (post_local_get_identity_pem (local, NULL, NULL))
    {
      *cert = post_gnutls_make_certificate_credentials (configuration, local, TRUE, error);
      if (*cert == NULL)
        return FALSE;
    }
  if (has_psk)
    {
      *psk = post_gnutls_make_psk_server_credentials (psk_lookup, POST_ERROR_INVALID_ARGUMENT, error);
      if (*psk == NULL)
        return FALSE;
    }
  return TRUE;
}

/* ---- a listener's session tickets and anti-replay ------------------------------ */

/* GnuTLS anti-replay keeps ClientHello digests through this function: a
 * replayed 0-RTT ClientHello (its digest is there, unexpired) has its
 * early data refused. */
static int
anti_replay_add (void                 *ptr,
                 time_t                expiry,
                 const gnutls_datum_t *key,
                 const gnutls_datum_t *data)
{
  PostGnutlsServerTickets *tickets = ptr;
  g_autoptr(GBytes) k = g_bytes_new (key->data, key->size);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  gpointer old = g_hash_table_lookup (tickets->seen, k);

  if (old != NULL && GPOINTER_TO_SIZE (old) > (gsize) now)
    return GNUTLS_E_DB_ENTRY_EXISTS;
  if (g_hash_table_size (tickets->seen) >= tickets->max_seen)
    {
      GHashTableIter iter;
      gpointer value;

      g_hash_table_iter_init (&iter, tickets->seen);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        if (GPOINTER_TO_SIZE (value) <= (gsize) now)
          g_hash_table_iter_remove (&iter);
      if (g_hash_table_size (tickets->seen) >= tickets->max_seen)
        return GNUTLS_E_DB_ENTRY_EXISTS;  /* refuse early data rather than grow */
    }
  g_hash_table_replace (tickets->seen, g_steal_pointer (&k), GSIZE_TO_POINTER ((gsize) expiry));
  return 0;
}

gboolean
post_gnutls_server_tickets_init (PostGnutlsServerTickets  *tickets,
                                 guint                     max_seen,
                                 int                       code,
                                 GError                  **error)
{
  tickets->max_seen = max_seen;
  tickets->seen = g_hash_table_new_full (g_bytes_hash, g_bytes_equal, (GDestroyNotify) g_bytes_unref, NULL);
  if (!post_gnutls_check_code (gnutls_session_ticket_key_generate (&tickets->ticket_key), code,
                               "Cannot make a ticket key", error) ||
      !post_gnutls_check_code (gnutls_anti_replay_init (&tickets->anti_replay), code,
                               "Cannot set up anti-replay", error))
    return FALSE;
  gnutls_anti_replay_set_add_function (tickets->anti_replay, anti_replay_add);
  gnutls_anti_replay_set_ptr (tickets->anti_replay, tickets);
  return TRUE;
}

gboolean
post_gnutls_server_tickets_enable (PostGnutlsServerTickets  *tickets,
                                   gnutls_session_t          session,
                                   int                       code,
                                   GError                  **error)
{
  if (!post_gnutls_check_code (gnutls_session_ticket_enable_server (session, &tickets->ticket_key), code,
                               "Cannot enable session tickets", error))
    return FALSE;
  gnutls_anti_replay_enable (session, tickets->anti_replay);
  return TRUE;
}

void
post_gnutls_server_tickets_clear (PostGnutlsServerTickets *tickets)
{
  post_gnutls_wipe_datum (&tickets->ticket_key);
  g_clear_pointer (&tickets->anti_replay, gnutls_anti_replay_deinit);
  g_clear_pointer (&tickets->seen, g_hash_table_unref);
}

/* ---- declared options ---------------------------------------------------- */

static const char * const session_cache_modes[] = { "memory", "disk", "none", NULL };

static const PostStackOption tls_options[] = {
  { "tls.session-cache", "s", 0, 0, session_cache_modes, "memory",
    "Where session tickets are kept: memory (per process), disk (resume across runs) or none" },
  { "tls.server-early-data", "b", 0, 0, NULL, "true",
    "A listener accepts 0-RTT early data from clients that resume" },
  { "tls.min-version", "y", POST_TLS_VERSION_1_2, POST_TLS_VERSION_1_3, NULL, "13 (TLS 1.3)",
    "The lowest protocol version (12: TLS 1.2, 13: TLS 1.3); set with post_configuration_set_tls_versions()" },
  { "tls.max-version", "y", POST_TLS_VERSION_1_2, POST_TLS_VERSION_1_3, NULL, "13 (TLS 1.3)",
    "The highest protocol version (12 or 13); set with post_configuration_set_tls_versions()" },
  { "tls.anchors", "aay", 0, 0, NULL, "none",
    "Trust anchors (DER certificates); set with post_configuration_add_trust_anchor()" },
  { "tls.use-system-trust", "b", 0, 0, NULL, "true",
    "Whether the system's trust store is used as well as tls.anchors" },
  { "tls.pins", "as", 0, 0, NULL, "none",
    "Pinned public keys (SHA-256 of the SubjectPublicKeyInfo); set with post_configuration_add_pinned_key()" },
  { "tls.alpn", "as", 0, 0, NULL, "none",
    "ALPN protocols to offer, in order; set with post_configuration_set_alpn()" },
  { "tls.allow-cleartext", "b", 0, 0, NULL, "false",
    "Whether plain tcp may be raced when security is only preferred" },
};

void
post_gnutls_add_tls_options (PostStack *stack)
{
  post_stack_add_options (stack, tls_options, G_N_ELEMENTS (tls_options));
}
