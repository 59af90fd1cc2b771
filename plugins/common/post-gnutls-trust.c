/* post-gnutls-trust.c: the trust settings of a PostConfiguration applied
 * to GnuTLS (see post-gnutls-trust.h).  The same rules as the tls stack:
 * system trust by default, the configuration's anchors, pinned
 * SubjectPublicKeyInfo digests, the name, the validity period, and the
 * application's verification callback last.  Secrets are never logged.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "post-gnutls-trust.h"
#include "post-gnutls-common.h"

#include <string.h>

#include <gnutls/x509.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>

static gnutls_x509_crt_fmt_t
guess_format (GBytes *bytes)
{
  gsize size;
  const char *data = g_bytes_get_data (bytes, &size);

  return g_strstr_len (data, size, "-----BEGIN") != NULL ? GNUTLS_X509_FMT_PEM : GNUTLS_X509_FMT_DER;
}

gnutls_certificate_credentials_t
post_gnutls_make_certificate_credentials (PostConfiguration  *configuration,
                                          PostLocal          *local,
                                          gboolean            need_identity,
                                          GError            **error)
{
  gnutls_certificate_credentials_t cred = NULL;
  g_autoptr(GPtrArray) anchors = NULL;
  GBytes *cert_pem = NULL, *key_pem = NULL;

  if (!post_gnutls_check (gnutls_certificate_allocate_credentials (&cred), "Cannot allocate TLS credentials", error))
    return NULL;

  if (post_configuration_get_use_system_trust (configuration))
    {
      int ret = gnutls_certificate_set_x509_system_trust (cred);

      if (ret < 0)
        g_debug ("The system trust store could not be loaded: %s", gnutls_strerror (ret));
    }
  anchors = post_configuration_get_trust_anchors (configuration);
  for (guint i = 0; i < anchors->len; i++)
    {
      gsize size;
      gnutls_datum_t datum;
      int ret;

      datum.data = (unsigned char *) g_bytes_get_data (anchors->pdata[i], &size);
      datum.size = size;
      ret = gnutls_certificate_set_x509_trust_mem (cred, &datum, guess_format (anchors->pdata[i]));
      if (ret <= 0)
        {
          g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                       "Trust anchor %u holds no usable certificate%s%s", i + 1,
                       ret < 0 ? ": " : "", ret < 0 ? gnutls_strerror (ret) : "");
          gnutls_certificate_free_credentials (cred);
          return NULL;
        }
    }

  if (local != NULL && post_local_get_identity_pem (local, &cert_pem, &key_pem))
    {
      gnutls_datum_t c, k;
      gsize size;
      int ret;

      c.data = (unsigned char *) g_bytes_get_data (cert_pem, &size);
      c.size = size;
      k.data = (unsigned char *) g_bytes_get_data (key_pem, &size);
      k.size = size;
      ret = gnutls_certificate_set_x509_key_mem2 (cred, &c, &k, GNUTLS_X509_FMT_PEM, NULL, 0);
      if (ret < 0)
        {
          /* Say what failed, never what the key is. */
          g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                       "The local's identity cannot be used: %s", gnutls_strerror (ret));
          gnutls_certificate_free_credentials (cred);
          return NULL;
        }
    }
  else if (need_identity)
    {
      gnutls_certificate_free_credentials (cred);
      return NULL;
    }
  return cred;
}

/* ---- client credentials, shared ------------------------------------------------ */

/*
 * Loading the trust into credentials is most of a client session's set-up
 * that is not the handshake itself: the system store is about 140 PEM
 * certificates to parse, and even one anchor is ≈ 200 k instructions.
 * Client credentials without an identity depend only on two settings of
 * the configuration — whether the system store is used and the anchors
 * (`tls.anchors`) — and GnuTLS only reads them once set up, from any
 * thread, so sessions share them: a cache keyed by those two settings'
 * values, not by the configuration object (the policy and establishment
 * hand attempts copies of it), holds the last few.  A configuration with
 * other anchors, or without the system store, gets other credentials: a
 * change is never served stale.  Like GIO's default TLS database, the
 * system store is read when first needed, not again for each carrier.
 * Verification is per session (its verify function) and unchanged.
 */

#define SHARED_CREDENTIALS_MAX 8

struct _PostGnutlsCredentials
{
  gatomicrefcount                  ref_count;
  gnutls_certificate_credentials_t cred;
  gboolean                         system_trust;
  GVariant                        *anchors;   /* (owned) (nullable): the tls.anchors they hold */
};

static GMutex shared_lock;
static GQueue shared = G_QUEUE_INIT;   /* (element-type PostGnutlsCredentials) most recently used first */

static PostGnutlsCredentials *
credentials_new (gnutls_certificate_credentials_t  cred,
                 gboolean                          system_trust,
                 GVariant                         *anchors)
{
  PostGnutlsCredentials *self = g_new0 (PostGnutlsCredentials, 1);

  g_atomic_ref_count_init (&self->ref_count);
  self->cred = cred;
  self->system_trust = system_trust;
  self->anchors = anchors != NULL ? g_variant_ref (anchors) : NULL;
  return self;
}

PostGnutlsCredentials *
post_gnutls_credentials_ref (PostGnutlsCredentials *self)
{
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
post_gnutls_credentials_unref (PostGnutlsCredentials *self)
{
  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;
  gnutls_certificate_free_credentials (self->cred);
  g_clear_pointer (&self->anchors, g_variant_unref);
  g_free (self);
}

gnutls_certificate_credentials_t
post_gnutls_credentials_get (PostGnutlsCredentials *self)
{
  return self->cred;
}

static gboolean
same_trust (PostGnutlsCredentials *entry,
            gboolean               system_trust,
            GVariant              *anchors)
{
  if (entry->system_trust != system_trust)
    return FALSE;
  if (entry->anchors == NULL || anchors == NULL)
    return entry->anchors == anchors;
  return g_variant_equal (entry->anchors, anchors);
}

PostGnutlsCredentials *
post_gnutls_client_credentials (PostConfiguration  *configuration,
                                PostLocal          *local,
                                GError            **error)
{
  gboolean system_trust = post_configuration_get_use_system_trust (configuration);
  GVariant *anchors = post_configuration_get_option (configuration, "tls.anchors");
  gnutls_certificate_credentials_t cred;
  PostGnutlsCredentials *made;

  if (local != NULL && post_local_get_identity_pem (local, NULL, NULL))
    {
      /* A client certificate: the local's own credentials, not shared. */
      cred = post_gnutls_make_certificate_credentials (configuration, local, FALSE, error);
      return cred != NULL ? credentials_new (cred, system_trust, NULL) : NULL;
    }

  g_mutex_lock (&shared_lock);
  for (GList *l = shared.head; l != NULL; l = l->next)
    if (same_trust (l->data, system_trust, anchors))
      {
        made = post_gnutls_credentials_ref (l->data);
        g_queue_unlink (&shared, l);
        g_queue_push_head_link (&shared, l);
        g_mutex_unlock (&shared_lock);
        return made;
      }
  g_mutex_unlock (&shared_lock);

  /* Made outside the lock (the system store takes a while); two threads
   * may both make them once, and both are right. */
  cred = post_gnutls_make_certificate_credentials (configuration, NULL, FALSE, error);
  if (cred == NULL)
    return NULL;
  made = credentials_new (cred, system_trust, anchors);
  g_mutex_lock (&shared_lock);
  g_queue_push_head (&shared, post_gnutls_credentials_ref (made));
  while (shared.length > SHARED_CREDENTIALS_MAX)
    post_gnutls_credentials_unref (g_queue_pop_tail (&shared));
  g_mutex_unlock (&shared_lock);
  return made;
}

gboolean
post_gnutls_apply_alpn (gnutls_session_t    session,
                        PostConfiguration  *configuration,
                        gboolean            server,
                        GError            **error)
{
  g_auto(GStrv) alpn = post_configuration_get_alpn (configuration);
  guint n = g_strv_length (alpn);
  g_autofree gnutls_datum_t *protocols = NULL;

  if (n == 0)
    return TRUE;
  protocols = g_new0 (gnutls_datum_t, n);
  for (guint i = 0; i < n; i++)
    {
      protocols[i].data = (unsigned char *) alpn[i];
      protocols[i].size = strlen (alpn[i]);
    }
  /* A server refuses a client that offers ALPN but none of its protocols
   * (RFC 7301 3.2: the no_application_protocol alert) instead of
   * completing a handshake that negotiated nothing; a client that offers
   * no ALPN at all is served (GnuTLS checks MANDATORY only against an
   * offer). */
  return post_gnutls_check (gnutls_alpn_set_protocols (session, protocols, n,
                                                       server ? GNUTLS_ALPN_SERVER_PRECEDENCE | GNUTLS_ALPN_MANDATORY : 0),
                            "Cannot set ALPN", error);
}

int
post_gnutls_server_psk_lookup (PostLocal            *local,
                               const gnutls_datum_t *username,
                               gnutls_datum_t       *key)
{
  g_autofree char *identity = NULL;
  GBytes *found;
  gsize size = 32;
  const guint8 *data = NULL;

  if (local == NULL)
    return -1;
  identity = g_strndup ((const char *) username->data, username->size);
  found = post_local_lookup_pre_shared_key (local, identity);
  if (found != NULL)
    data = g_bytes_get_data (found, &size);
  key->data = gnutls_malloc (size);
  if (key->data == NULL)
    return -1;
  key->size = size;
  if (data != NULL)
    memcpy (key->data, data, size);
  else if (gnutls_rnd (GNUTLS_RND_RANDOM, key->data, size) != 0)
    {
      gnutls_free (key->data);
      key->data = NULL;
      return -1;
    }
  return 0;
}

char *
post_gnutls_spki_sha256_hex (const gnutls_datum_t *der)
{
  gnutls_x509_crt_t crt = NULL;
  gnutls_pubkey_t key = NULL;
  gnutls_datum_t spki = { NULL, 0 };
  char *hex = NULL;

  if (gnutls_x509_crt_init (&crt) < 0)
    return NULL;
  if (gnutls_x509_crt_import (crt, der, GNUTLS_X509_FMT_DER) >= 0
      && gnutls_pubkey_init (&key) >= 0
      && gnutls_pubkey_import_x509 (key, crt, 0) >= 0
      && gnutls_pubkey_export2 (key, GNUTLS_X509_FMT_DER, &spki) >= 0)
    hex = g_compute_checksum_for_data (G_CHECKSUM_SHA256, spki.data, spki.size);
  gnutls_free (spki.data);
  if (key != NULL)
    gnutls_pubkey_deinit (key);
  gnutls_x509_crt_deinit (crt);
  return hex;
}

int
post_gnutls_verify_peer (gnutls_session_t    session,
                         PostConfiguration  *configuration,
                         const char         *server_name,
                         gboolean            is_server,
                         const char         *peer,
                         GTlsCertificateFlags *tls_errors,
                         GError            **verify_error)
{
  GTlsCertificateFlags flags = 0;
  g_autoptr(GError) ask_error = NULL;
  const gnutls_datum_t *certs;
  unsigned int n_certs = 0, status = 0;
  gnutls_typed_vdata_st data[2];
  unsigned int n_data = 0;
  PostTrustErrors errors = POST_TRUST_OK;
  g_autoptr(GPtrArray) chain = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_auto(GStrv) pins = NULL;
  int ret;

  certs = gnutls_certificate_get_peers (session, &n_certs);
  for (unsigned int i = 0; i < n_certs; i++)
    g_ptr_array_add (chain, g_bytes_new (certs[i].data, certs[i].size));

  if (server_name != NULL)
    {
      data[n_data].type = GNUTLS_DT_DNS_HOSTNAME;
      data[n_data].data = (unsigned char *) server_name;
      data[n_data].size = 0;
      n_data++;
    }
  data[n_data].type = GNUTLS_DT_KEY_PURPOSE_OID;
  data[n_data].data = (unsigned char *) (is_server ? GNUTLS_KP_TLS_WWW_CLIENT : GNUTLS_KP_TLS_WWW_SERVER);
  data[n_data].size = 0;
  n_data++;

  if (n_certs == 0)
    {
      errors |= POST_TRUST_UNKNOWN_AUTHORITY;
      flags |= G_TLS_CERTIFICATE_UNKNOWN_CA;
    }
  else
    {
      ret = gnutls_certificate_verify_peers (session, data, n_data, &status);
      if (ret < 0)
        {
          errors |= POST_TRUST_OTHER;
          flags |= G_TLS_CERTIFICATE_GENERIC_ERROR;
        }
      if (status & (GNUTLS_CERT_SIGNER_NOT_FOUND | GNUTLS_CERT_SIGNER_NOT_CA))
        {
          errors |= POST_TRUST_UNKNOWN_AUTHORITY;
          flags |= G_TLS_CERTIFICATE_UNKNOWN_CA;
        }
      if (status & GNUTLS_CERT_UNEXPECTED_OWNER)
        {
          errors |= POST_TRUST_NAME_MISMATCH;
          flags |= G_TLS_CERTIFICATE_BAD_IDENTITY;
        }
      if (status & (GNUTLS_CERT_EXPIRED | GNUTLS_CERT_NOT_ACTIVATED))
        errors |= POST_TRUST_EXPIRED;
      /* GIO's flags tell these apart, as glib-networking does. */
      if (status & GNUTLS_CERT_EXPIRED)
        flags |= G_TLS_CERTIFICATE_EXPIRED;
      if (status & GNUTLS_CERT_NOT_ACTIVATED)
        flags |= G_TLS_CERTIFICATE_NOT_ACTIVATED;
      if (status & GNUTLS_CERT_REVOKED)
        flags |= G_TLS_CERTIFICATE_REVOKED;
      if (status & GNUTLS_CERT_INSECURE_ALGORITHM)
        flags |= G_TLS_CERTIFICATE_INSECURE;
      if ((status & GNUTLS_CERT_INVALID) && errors == POST_TRUST_OK)
        errors |= POST_TRUST_OTHER;
      if ((status & GNUTLS_CERT_INVALID) && flags == 0)
        flags |= G_TLS_CERTIFICATE_GENERIC_ERROR;
    }

  pins = post_configuration_get_pinned_keys (configuration);
  if (pins[0] != NULL)
    {
      gboolean matched = FALSE;

      for (unsigned int i = 0; i < n_certs && !matched; i++)
        {
          g_autofree char *digest = post_gnutls_spki_sha256_hex (&certs[i]);

          matched = digest != NULL && g_strv_contains ((const char * const *) pins, digest);
        }
      if (!matched)
        {
          errors |= POST_TRUST_PIN_MISMATCH;
          flags |= G_TLS_CERTIFICATE_GENERIC_ERROR;
        }
    }

  if (tls_errors != NULL)
    *tls_errors = flags;
  if (post_configuration_verify_peer (configuration, chain, server_name, errors, flags, &ask_error))
    return 0;

  g_clear_error (verify_error);
  if (ask_error != NULL)
    g_set_error (verify_error, POST_ERROR, POST_ERROR_TLS_REJECTED,
                 "The certificate of %s could not be handed to the verification callback: %s",
                 peer, ask_error->message);
  else if (errors & POST_TRUST_UNKNOWN_AUTHORITY)
    g_set_error (verify_error, POST_ERROR, POST_ERROR_TLS_UNKNOWN_AUTHORITY,
                 "The certificate of %s is not issued by a trusted authority", peer);
  else if (errors & POST_TRUST_EXPIRED)
    g_set_error (verify_error, POST_ERROR, POST_ERROR_TLS_EXPIRED,
                 "The certificate of %s has expired or is not yet valid", peer);
  else if (errors & POST_TRUST_NAME_MISMATCH)
    g_set_error (verify_error, POST_ERROR, POST_ERROR_TLS_NAME_MISMATCH,
                 "The certificate of %s is not valid for the name ‘%s’", peer, server_name);
  else if (errors & POST_TRUST_PIN_MISMATCH)
    g_set_error (verify_error, POST_ERROR, POST_ERROR_TLS_PIN_MISMATCH,
                 "No public key of %s matches a pinned key", peer);
  else if (errors & POST_TRUST_OTHER)
    g_set_error (verify_error, POST_ERROR, POST_ERROR_TLS_HANDSHAKE,
                 "The certificate of %s is not acceptable (status 0x%x)", peer, status);
  else
    g_set_error (verify_error, POST_ERROR, POST_ERROR_TLS_REJECTED,
                 "The application's verification callback rejected %s", peer);
  return GNUTLS_E_CERTIFICATE_ERROR;
}

GError *
post_gnutls_handshake_error (gnutls_session_t  session,
                             int               ret,
                             const char       *protocol,
                             const char       *peer,
                             gboolean          offered_psk,
                             gboolean          max_below_1_3)
{
  int code = POST_ERROR_TLS_HANDSHAKE;
  const char *reason = gnutls_strerror (ret);

  switch (ret)
    {
    case GNUTLS_E_UNSUPPORTED_VERSION_PACKET:
      code = POST_ERROR_TLS_PROTOCOL_VERSION;
      break;
    case GNUTLS_E_FATAL_ALERT_RECEIVED:
      {
        gnutls_alert_description_t alert = gnutls_alert_get (session);

        reason = gnutls_alert_get_name (alert);
        switch ((int) alert)
          {
          case GNUTLS_A_PROTOCOL_VERSION:
            code = POST_ERROR_TLS_PROTOCOL_VERSION;
            break;
          case GNUTLS_A_UNKNOWN_PSK_IDENTITY:
            code = POST_ERROR_TLS_PSK_MISMATCH;
            break;
          case GNUTLS_A_HANDSHAKE_FAILURE:
            if (max_below_1_3)
              {
                code = POST_ERROR_TLS_PROTOCOL_VERSION;
                break;
              }
            G_GNUC_FALLTHROUGH;
          case GNUTLS_A_DECRYPT_ERROR:
          case GNUTLS_A_ILLEGAL_PARAMETER:
          case GNUTLS_A_BAD_RECORD_MAC:
            code = offered_psk ? POST_ERROR_TLS_PSK_MISMATCH : POST_ERROR_TLS_HANDSHAKE;
            break;
          case GNUTLS_A_BAD_CERTIFICATE:
          case GNUTLS_A_UNKNOWN_CA:
          case GNUTLS_A_CERTIFICATE_REQUIRED:
            code = POST_ERROR_TLS_REJECTED;
            break;
          case GNUTLS_A_ACCESS_DENIED:
            /* RFC 8446 6.2: valid credentials, but access control said no
             * (a libpost listener that nobody accepted the carrier of). */
            code = POST_ERROR_CONNECTION_REFUSED;
            break;
          default:
            break;
          }
        break;
      }
    case GNUTLS_E_DECRYPTION_FAILED:
    case GNUTLS_E_KEYFILE_ERROR:
    case GNUTLS_E_INSUFFICIENT_CREDENTIALS:
      if (offered_psk)
        code = POST_ERROR_TLS_PSK_MISMATCH;
      break;
    case GNUTLS_E_PREMATURE_TERMINATION:
    case GNUTLS_E_PUSH_ERROR:
    case GNUTLS_E_PULL_ERROR:
      code = POST_ERROR_CONNECTION_RESET;
      break;
    default:
      break;
    }

  switch (code)
    {
    case POST_ERROR_TLS_PROTOCOL_VERSION:
      return g_error_new (POST_ERROR, code, "%s handshake with %s failed: no protocol version in common (%s)",
                          protocol, peer, reason);
    case POST_ERROR_TLS_PSK_MISMATCH:
      return g_error_new (POST_ERROR, code, "%s handshake with %s failed: the peer does not accept the pre-shared key (%s)",
                          protocol, peer, reason);
    case POST_ERROR_TLS_REJECTED:
      return g_error_new (POST_ERROR, code, "%s handshake with %s failed: the peer rejected our certificate (%s)",
                          protocol, peer, reason);
    case POST_ERROR_CONNECTION_REFUSED:
      return g_error_new (POST_ERROR, code, "%s: %s refused the connection (%s)",
                          protocol, peer, reason);
    default:
      return g_error_new (POST_ERROR, code, "%s handshake with %s failed: %s", protocol, peer, reason);
    }
}

gboolean
post_gnutls_peer_details (gnutls_session_t   session,
                          GPtrArray        **chain,
                          char             **negotiated_protocol)
{
  const gnutls_datum_t *certs;
  unsigned int n_certs = 0;
  gnutls_datum_t protocol = { NULL, 0 };

  *chain = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  certs = gnutls_certificate_get_peers (session, &n_certs);
  for (unsigned int i = 0; certs != NULL && i < n_certs; i++)
    g_ptr_array_add (*chain, g_bytes_new (certs[i].data, certs[i].size));
  *negotiated_protocol = NULL;
  if (gnutls_alpn_get_selected_protocol (session, &protocol) == 0 && protocol.size > 0)
    *negotiated_protocol = g_strndup ((const char *) protocol.data, protocol.size);
  return TRUE;
}
