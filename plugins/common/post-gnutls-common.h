/* post-gnutls-common.h: the GnuTLS plumbing that the tls, dtls and quic
 * stacks share: error checks, the credentials of pre-shared keys, session
 * data for the association's tickets, and a listener's session-ticket key
 * with its anti-replay store (compiled into each plugin, as
 * post-gnutls-trust is: the core never links GnuTLS)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <post.h>
#include <gnutls/gnutls.h>

#include "post-gnutls-trust.h"

G_BEGIN_DECLS

/* TRUE when @ret (a GnuTLS return value) is not an error; otherwise
 * @error gets POST_ERROR_INVALID_ARGUMENT, "@what: <GnuTLS's reason>". */
gboolean post_gnutls_check (int          ret,
                            const char  *what,
                            GError     **error);

/* The same with the POST_ERROR @code of the caller's choice (quic reports
 * its GnuTLS failures as POST_ERROR_TLS_HANDSHAKE). */
gboolean post_gnutls_check_code (int          ret,
                                 int          code,
                                 const char  *what,
                                 GError     **error);

/* Overwrites and frees a secret GnuTLS allocated (a ticket or cookie key,
 * session data), leaving @datum empty.  An empty one is left alone. */
void post_gnutls_wipe_datum (gnutls_datum_t *datum);

/* `tls.session-cache`: "memory" (the default), "disk" or "none": FALSE
 * for "none" only.  @configuration is nullable. */
gboolean post_gnutls_session_cache_enabled (PostConfiguration *configuration);

/* Whether the configuration lets 0-RTT data go (the zero-rtt-msg
 * selection property is neither Avoid nor Prohibit). */
gboolean post_gnutls_zero_rtt_allowed (PostConfiguration *configuration);

/* The session data of @session (what resumes it) as GBytes, the GnuTLS
 * copy wiped; NULL when there is none. */
GBytes *post_gnutls_get_session_data (gnutls_session_t session);

/* When the session data @data (from post_gnutls_get_session_data()) expires,
 * in seconds since the epoch: what it says, or an hour from now when it
 * says nothing. */
time_t post_gnutls_session_data_expiry (GBytes *data);

/* Client credentials with the pre-shared key @key for @identity (raw
 * key), or NULL with @error (of @code) set. */
gnutls_psk_client_credentials_t
post_gnutls_make_psk_client_credentials (GBytes      *key,
                                         const char  *identity,
                                         int          code,
                                         GError     **error);

/* Server credentials that look keys up with @lookup, or NULL with @error
 * (of @code) set. */
gnutls_psk_server_credentials_t
post_gnutls_make_psk_server_credentials (gnutls_psk_server_credentials_function2  *lookup,
                                         int                                       code,
                                         GError                                  **error);

/* The name to verify the server by, from @association's remote (NULL
 * without an association or a host name); *@sni says whether it is a DNS
 * name to send as SNI (not an IP literal). */
char *post_gnutls_server_name (PostAssociation *association,
                               gboolean        *sni);

/* A client session's credentials: certificates with the configuration's
 * trust and @local's identity (if any), verified by @verify; with @psk,
 * the association's pre-shared key for @psk_identity too.  @sni_name
 * (nullable) goes in the ClientHello.  *@cert (shared credentials, see
 * post_gnutls_client_credentials(): release after gnutls_deinit()) and
 * *@psk_cred get what the caller then owns, also on failure. */
gboolean post_gnutls_set_client_credentials (gnutls_session_t session, PostConfiguration *configuration,
                                             PostLocal *local, GBytes *psk, const char *psk_identity,
                                             const char *sni_name, gnutls_certificate_verify_function *verify,
                                             PostGnutlsCredentials **cert,
                                             gnutls_psk_client_credentials_t *psk_cred, GError **error);

/* Whether @local can serve as a listener's: it needs an identity or
 * pre-shared keys; @error names the @stack ("tls", "dtls") otherwise.
 * *@has_psk says whether it has pre-shared keys. */
gboolean post_gnutls_check_listener_local (PostLocal   *local,
                                           const char  *stack,
                                           gboolean    *has_psk,
                                           GError     **error);

/* A listener's credentials: the certificate of @local's identity when it
 * has one (with the configuration's trust, to verify client
 * certificates), and with @has_psk its pre-shared keys, looked up by
 * @psk_lookup.  *@cert and *@psk get what the caller then owns, also on
 * failure. */
gboolean post_gnutls_make_server_credentials (PostConfiguration *configuration, PostLocal *local,
                                              gboolean has_psk, gnutls_psk_server_credentials_function2 *psk_lookup,
                                              gnutls_certificate_credentials_t *cert,
                                              gnutls_psk_server_credentials_t *psk, GError **error);

/* A TLS 1.3 listener's session tickets: the key that encrypts them, and
 * the anti-replay store that GnuTLS checks a 0-RTT ClientHello against.
 * The store keeps ClientHello digests until they expire, at most
 * @max_seen of them: when it is full of unexpired ones, early data is
 * refused (the client sends it again after the handshake) rather than the
 * table grown without bound.  Embedded in the listener's shared state, so
 * its address stays put while GnuTLS holds it. */
typedef struct {
  gnutls_datum_t        ticket_key;
  gnutls_anti_replay_t  anti_replay;
  GHashTable           *seen;      /* ClientHello key (GBytes) -> expiry (s) */
  guint                 max_seen;
} PostGnutlsServerTickets;

/* Makes the ticket key and the anti-replay store; @error (of @code) when
 * GnuTLS cannot.  Clear @tickets with post_gnutls_server_tickets_clear()
 * either way. */
gboolean post_gnutls_server_tickets_init (PostGnutlsServerTickets  *tickets,
                                          guint                     max_seen,
                                          int                       code,
                                          GError                  **error);

/* Lets server @session issue tickets with the key and check early data
 * against the store. */
gboolean post_gnutls_server_tickets_enable (PostGnutlsServerTickets  *tickets,
                                            gnutls_session_t          session,
                                            int                       code,
                                            GError                  **error);

/* Wipes the key, frees the store; @tickets can be initialized again. */
void post_gnutls_server_tickets_clear (PostGnutlsServerTickets *tickets);

/* Declares on @stack the `tls.*` options that the tls, dtls and quic
 * stacks read (post_stack_add_options()), so that a bad value fails when
 * it is set rather than being ignored at connect time. */
void post_gnutls_add_tls_options (PostStack *stack);

G_END_DECLS
