/* post-certificate.c: peer certificates as GIO's GTlsCertificate (see
 * post-certificate-private.h).  The core never links GnuTLS: the stacks
 * hand it the peer's chain in DER, and GIO's TLS backend (glib-networking)
 * makes the GTlsCertificate, as GTlsConnection's peer-certificate is one.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "post-certificate-private.h"
#include "post-error.h"

GTlsCertificate *
_post_tls_certificate_new_from_chain (GPtrArray  *chain,
                                      GError    **error)
{
  GTlsBackend *backend = g_tls_backend_get_default ();
  g_autoptr(GTlsCertificate) issuer = NULL;

  if (chain == NULL || chain->len == 0)
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                           "The peer sent no certificate");
      return NULL;
    }
  if (!g_tls_backend_supports_tls (backend))
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_NOT_SUPPORTED,
                           "GIO has no TLS backend to represent the peer's certificate "
                           "(install glib-networking)");
      return NULL;
    }
  /* The root end first: each certificate is constructed with its issuer. */
  for (guint i = chain->len; i > 0; i--)
    {
      GBytes *der = chain->pdata[i - 1];
      g_autoptr(GByteArray) array = g_bytes_unref_to_array (g_bytes_ref (der));
      g_autoptr(GError) local_error = NULL;
      GTlsCertificate *certificate;

      certificate = g_initable_new (g_tls_backend_get_certificate_type (backend), NULL, &local_error,
                                    "certificate", array,
                                    "issuer", issuer,
                                    NULL);
      if (certificate == NULL)
        {
          g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                       "Certificate %u of the peer's chain cannot be read: %s", i, local_error->message);
          return NULL;
        }
      g_clear_object (&issuer);
      issuer = certificate;
    }
  return g_steal_pointer (&issuer);
}

GTlsCertificateFlags
_post_trust_errors_to_tls_flags (PostTrustErrors errors)
{
  GTlsCertificateFlags flags = 0;

  if (errors & POST_TRUST_UNKNOWN_AUTHORITY)
    flags |= G_TLS_CERTIFICATE_UNKNOWN_CA;
  if (errors & POST_TRUST_NAME_MISMATCH)
    flags |= G_TLS_CERTIFICATE_BAD_IDENTITY;
  if (errors & POST_TRUST_EXPIRED)
    flags |= G_TLS_CERTIFICATE_EXPIRED;
  if (errors & (POST_TRUST_PIN_MISMATCH | POST_TRUST_OTHER))
    flags |= G_TLS_CERTIFICATE_GENERIC_ERROR;
  return flags;
}
