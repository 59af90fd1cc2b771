/* post-gnutls-trust.h: the trust settings of a PostConfiguration applied
 * to GnuTLS, shared by the plugins that use GnuTLS (compiled into each of
 * them: the core never links GnuTLS)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <post.h>
#include <gnutls/gnutls.h>

G_BEGIN_DECLS

/* Certificate credentials with @configuration's trust (system store unless
 * disabled, anchors), and @local's identity when it has one.  With
 * @need_identity and no identity: NULL without an error. */
gnutls_certificate_credentials_t
post_gnutls_make_certificate_credentials (PostConfiguration  *configuration,
                                          PostLocal          *local,
                                          gboolean            need_identity,
                                          GError            **error);

/* Certificate credentials that client sessions share (refcounted: a
 * session holds a reference until after gnutls_deinit()). */
typedef struct _PostGnutlsCredentials PostGnutlsCredentials;

/* A client's credentials for @configuration's trust: without an identity
 * on @local, the ones made before for the same trust (system store or
 * not, the same anchors) are shared, from a small cache for the process;
 * with one, new ones of its own.  NULL with @error when the anchors or
 * the identity cannot be used. */
PostGnutlsCredentials *post_gnutls_client_credentials (PostConfiguration  *configuration,
                                                       PostLocal          *local,
                                                       GError            **error);
gnutls_certificate_credentials_t post_gnutls_credentials_get (PostGnutlsCredentials *credentials);
PostGnutlsCredentials *post_gnutls_credentials_ref (PostGnutlsCredentials *credentials);
void post_gnutls_credentials_unref (PostGnutlsCredentials *credentials);

/* ALPN from the configuration (nothing when it names none). */
gboolean post_gnutls_apply_alpn (gnutls_session_t    session,
                                 PostConfiguration  *configuration,
                                 gboolean            server,
                                 GError            **error);

/* Verifies the peer of @session (from a GnuTLS verify function): chain
 * against the credentials' trust, @server_name (nullable: not checked),
 * validity, the configuration's pins, then the application's callback,
 * which has the last word.  *@tls_errors (nullable) gets what was found
 * in GIO's terms, for post_gnutls_peer_details().  Returns 0 to go on;
 * otherwise GNUTLS_E_CERTIFICATE_ERROR with *@verify_error set to a
 * POST_ERROR_TLS_* error naming the reason and @peer (a description for
 * messages). */
int post_gnutls_verify_peer (gnutls_session_t      session,
                             PostConfiguration    *configuration,
                             const char           *server_name,
                             gboolean              is_server,
                             const char           *peer,
                             GTlsCertificateFlags *tls_errors,
                             GError              **verify_error);

/* For a PSI's get_peer_details once the handshake of @session is done:
 * the peer's chain in DER (empty when it sent none) and the ALPN protocol
 * negotiated (NULL for none).  Returns TRUE. */
gboolean post_gnutls_peer_details (gnutls_session_t   session,
                                   GPtrArray        **chain,
                                   char             **negotiated_protocol);

/* A server's PSK lookup (for a GnuTLS PSK credentials function): @key
 * gets the key @local keeps for @username.  An unknown identity gets a
 * random key, so that the client's binder fails as with a wrong key and
 * nobody learns which identities exist.  Returns 0, or -1 when there is
 * no @local or no memory. */
int post_gnutls_server_psk_lookup (PostLocal            *local,
                                   const gnutls_datum_t *username,
                                   gnutls_datum_t       *key);

/* The hex SHA-256 digest of the SubjectPublicKeyInfo of a DER certificate,
 * as pins are kept (NULL when it cannot be parsed). */
char *post_gnutls_spki_sha256_hex (const gnutls_datum_t *der);

/* The GError for a failed handshake (@ret from gnutls_handshake), naming
 * the reason: protocol version, pre-shared key, certificate rejected by the
 * peer, reset...  @protocol is "TLS" or "DTLS"; @offered_psk says we
 * offered a pre-shared key; @max_below_1_3 that our configuration caps the
 * version below TLS 1.3 (a server that requires 1.3 then answers
 * handshake_failure).  Verification and transport errors are the caller's:
 * it knows them better. */
GError *post_gnutls_handshake_error (gnutls_session_t  session,
                                     int               ret,
                                     const char       *protocol,
                                     const char       *peer,
                                     gboolean          offered_psk,
                                     gboolean          max_below_1_3);

G_END_DECLS
