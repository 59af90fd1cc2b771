/* post-configuration.h: PostConfiguration, path and protocol preferences
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(POST_INSIDE) && !defined(POST_COMPILATION)
# error "Only <post.h> can be included directly."
#endif

#include <gio/gio.h>
#include "post-version.h"
#include "post-enums.h"
#include "post-framer.h"

G_BEGIN_DECLS

#define POST_TYPE_CONFIGURATION (post_configuration_get_type ())
POST_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PostConfiguration, post_configuration, POST, CONFIGURATION, GObject)

POST_AVAILABLE_IN_ALL
PostConfiguration *post_configuration_new                 (void);
POST_AVAILABLE_IN_ALL
PostConfiguration *post_configuration_copy                (PostConfiguration     *self);
POST_AVAILABLE_IN_ALL
gboolean           post_configuration_is_frozen           (PostConfiguration     *self);
POST_AVAILABLE_IN_ALL
void               post_configuration_freeze              (PostConfiguration     *self);

POST_AVAILABLE_IN_ALL
PostPreference     post_configuration_get_preference      (PostConfiguration     *self,
                                                           PostSelectionProperty  property);
POST_AVAILABLE_IN_ALL
gboolean           post_configuration_set_preference      (PostConfiguration     *self,
                                                           PostSelectionProperty  property,
                                                           PostPreference         preference,
                                                           GError               **error);
POST_AVAILABLE_IN_ALL
gboolean           post_configuration_is_preference_explicit (PostConfiguration     *self,
                                                              PostSelectionProperty  property);
POST_AVAILABLE_IN_ALL
gboolean           post_configuration_set_preference_by_name (PostConfiguration  *self,
                                                              const char         *name,
                                                              const char         *level,
                                                              GError            **error);
POST_AVAILABLE_IN_ALL
const char        *post_selection_property_to_nick        (PostSelectionProperty  property);
POST_AVAILABLE_IN_ALL
gboolean           post_selection_property_from_nick      (const char            *nick,
                                                           PostSelectionProperty *property);
POST_AVAILABLE_IN_ALL
const char        *post_preference_to_nick                (PostPreference         preference);
POST_AVAILABLE_IN_ALL
gboolean           post_preference_from_nick              (const char            *nick,
                                                           PostPreference        *preference);

POST_AVAILABLE_IN_ALL
const char * const *post_configuration_get_stacks         (PostConfiguration     *self);
POST_AVAILABLE_IN_ALL
gboolean           post_configuration_set_stacks          (PostConfiguration     *self,
                                                           const char * const    *stacks,
                                                           GError               **error);

POST_AVAILABLE_IN_ALL
PostFramingMode    post_configuration_get_framing         (PostConfiguration     *self);
POST_AVAILABLE_IN_ALL
gboolean           post_configuration_set_framing         (PostConfiguration     *self,
                                                           PostFramingMode        mode,
                                                           GError               **error);
POST_AVAILABLE_IN_ALL
GType              post_configuration_get_framer_type     (PostConfiguration     *self);
POST_AVAILABLE_IN_ALL
gboolean           post_configuration_set_framer_type     (PostConfiguration     *self,
                                                           GType                  framer_type,
                                                           GError               **error);
POST_AVAILABLE_IN_ALL
gboolean           post_configuration_add_framer_type     (PostConfiguration     *self,
                                                           GType                  framer_type,
                                                           GError               **error);
POST_AVAILABLE_IN_ALL
GType             *post_configuration_get_framer_types    (PostConfiguration     *self,
                                                           guint                 *n_types);
POST_AVAILABLE_IN_ALL
PostFramer        *post_configuration_create_framer       (PostConfiguration     *self);

POST_AVAILABLE_IN_ALL
GProxyResolver    *post_configuration_get_proxy_resolver  (PostConfiguration     *self);
POST_AVAILABLE_IN_ALL
gboolean           post_configuration_set_proxy_resolver  (PostConfiguration     *self,
                                                           GProxyResolver        *resolver,
                                                           GError               **error);
POST_AVAILABLE_IN_ALL
gboolean           post_configuration_get_enable_proxy    (PostConfiguration     *self);
POST_AVAILABLE_IN_ALL
gboolean           post_configuration_set_enable_proxy    (PostConfiguration     *self,
                                                           gboolean               enable,
                                                           GError               **error);
POST_AVAILABLE_IN_ALL
gboolean           post_configuration_get_proxy_loopback  (PostConfiguration     *self);
POST_AVAILABLE_IN_ALL
gboolean           post_configuration_set_proxy_loopback  (PostConfiguration     *self,
                                                           gboolean               ask,
                                                           GError               **error);
POST_AVAILABLE_IN_ALL
guint              post_configuration_get_attempt_delay   (PostConfiguration     *self);
POST_AVAILABLE_IN_ALL
gboolean           post_configuration_set_attempt_delay   (PostConfiguration     *self,
                                                           guint                  delay_ms,
                                                           GError               **error);
POST_AVAILABLE_IN_ALL
guint              post_configuration_get_conn_timeout    (PostConfiguration     *self);
POST_AVAILABLE_IN_ALL
gboolean           post_configuration_set_conn_timeout    (PostConfiguration     *self,
                                                           guint                  timeout_ms,
                                                           GError               **error);
POST_AVAILABLE_IN_ALL
guint              post_configuration_get_keep_alive_timeout (PostConfiguration  *self);
POST_AVAILABLE_IN_ALL
gboolean           post_configuration_set_keep_alive_timeout (PostConfiguration  *self,
                                                              guint               timeout_ms,
                                                              GError            **error);
POST_AVAILABLE_IN_ALL
guint              post_configuration_get_effective_keep_alive_timeout (PostConfiguration *self);
POST_AVAILABLE_IN_ALL
gsize              post_configuration_get_send_queue_limit (PostConfiguration    *self);
POST_AVAILABLE_IN_ALL
gboolean           post_configuration_set_send_queue_limit (PostConfiguration    *self,
                                                            gsize                 bytes,
                                                            GError              **error);
POST_AVAILABLE_IN_ALL
gsize              post_configuration_get_recv_msg_max_len (PostConfiguration    *self);
POST_AVAILABLE_IN_ALL
gboolean           post_configuration_set_recv_msg_max_len (PostConfiguration    *self,
                                                            gsize                 bytes,
                                                            GError              **error);

POST_AVAILABLE_IN_ALL
GVariant          *post_configuration_get_option          (PostConfiguration     *self,
                                                           const char            *key);
POST_AVAILABLE_IN_ALL
gboolean           post_configuration_set_option          (PostConfiguration     *self,
                                                           const char            *key,
                                                           GVariant              *value,
                                                           GError               **error);
POST_AVAILABLE_IN_ALL
char             **post_configuration_list_options        (PostConfiguration     *self);

POST_AVAILABLE_IN_ALL
char              *post_configuration_to_string           (PostConfiguration     *self);
POST_AVAILABLE_IN_ALL
guint              post_configuration_hash                (gconstpointer          configuration);
POST_AVAILABLE_IN_ALL
gboolean           post_configuration_equal               (gconstpointer          a,
                                                           gconstpointer          b);

/* Connection properties that are no stack capability (RFC 9622 6.2) */
POST_AVAILABLE_IN_ALL
PostPreference     post_configuration_get_use_temporary_local_address (PostConfiguration *self);
POST_AVAILABLE_IN_ALL
gboolean           post_configuration_set_use_temporary_local_address (PostConfiguration *self,
                                                                       PostPreference     preference,
                                                                       GError           **error);
POST_AVAILABLE_IN_ALL
PostPreference     post_configuration_get_soft_error_notify (PostConfiguration   *self);
POST_AVAILABLE_IN_ALL
gboolean           post_configuration_set_soft_error_notify (PostConfiguration   *self,
                                                             PostPreference       preference,
                                                             GError             **error);
POST_AVAILABLE_IN_ALL
PostDirection      post_configuration_get_direction       (PostConfiguration     *self);
POST_AVAILABLE_IN_ALL
gboolean           post_configuration_set_direction       (PostConfiguration     *self,
                                                           PostDirection          direction,
                                                           GError               **error);
POST_AVAILABLE_IN_ALL
PostPreference     post_configuration_get_interface_preference (PostConfiguration *self,
                                                                const char        *interface);
POST_AVAILABLE_IN_ALL
gboolean           post_configuration_set_interface_preference (PostConfiguration *self,
                                                                const char        *interface,
                                                                PostPreference     preference,
                                                                GError           **error);
POST_AVAILABLE_IN_ALL
char             **post_configuration_list_interface_preferences (PostConfiguration *self);
POST_AVAILABLE_IN_ALL
PostPreference     post_configuration_get_pvd_preference  (PostConfiguration     *self,
                                                           const char            *pvd);
POST_AVAILABLE_IN_ALL
gboolean           post_configuration_set_pvd_preference  (PostConfiguration     *self,
                                                           const char            *pvd,
                                                           PostPreference         preference,
                                                           GError               **error);
POST_AVAILABLE_IN_ALL
char             **post_configuration_list_pvd_preferences (PostConfiguration    *self);

/* ---- Security (draft 2.6; RFC 9622 security parameters) -------------------
 * Stored as `tls.*` options, so that they take part in copies, equality
 * and association keys like every other option. */

/**
 * PostVerifyFunc:
 * @chain: (element-type GBytes): the peer's certificates in DER, leaf first
 * @server_name: (nullable): the name verified against, %NULL on a listener
 * @errors: what libpost's own verification found, %POST_TRUST_OK if nothing
 * @user_data: the data given to post_configuration_set_verify_func()
 *
 * Decides whether a peer is trusted (RFC 9622 trust verification callback).
 * It is called on the main context of the carrier, during the handshake,
 * and must not block.
 *
 * Returns: %TRUE to accept the peer
 */
typedef gboolean (*PostVerifyFunc) (GPtrArray       *chain,
                                    const char      *server_name,
                                    PostTrustErrors  errors,
                                    gpointer         user_data);

/**
 * PostAcceptCertificateFunc:
 * @peer_cert: the peer's certificate, its
 *   [property@Gio.TlsCertificate:issuer] chain linked as the peer sent it
 * @errors: what the stack's verification found, 0 if nothing
 * @server_name: (nullable): the name verified against, %NULL on a listener
 * @user_data: the data given to
 *   post_configuration_set_accept_certificate_func()
 *
 * Decides whether a peer is trusted, as a handler of
 * [signal@Gio.TlsConnection::accept-certificate] does: @errors are GIO's
 * flags for the stack's verification (against the trust store, the trust
 * anchors, the name, the validity period); a configured pin that matches
 * no certificate of the chain is %G_TLS_CERTIFICATE_GENERIC_ERROR.  It is
 * called on the main context of the carrier, during the handshake, and
 * must not block.
 *
 * Returns: %TRUE to accept the peer
 */
typedef gboolean (*PostAcceptCertificateFunc) (GTlsCertificate      *peer_cert,
                                               GTlsCertificateFlags  errors,
                                               const char           *server_name,
                                               gpointer              user_data);

POST_AVAILABLE_IN_ALL
gboolean           post_configuration_get_use_system_trust (PostConfiguration   *self);
POST_AVAILABLE_IN_ALL
gboolean           post_configuration_set_use_system_trust (PostConfiguration   *self,
                                                            gboolean             use,
                                                            GError             **error);
POST_AVAILABLE_IN_ALL
gboolean           post_configuration_add_trust_anchor    (PostConfiguration     *self,
                                                           GBytes                *certificate,
                                                           GError               **error);
POST_AVAILABLE_IN_ALL
gboolean           post_configuration_add_trust_anchor_file (PostConfiguration   *self,
                                                             const char          *path,
                                                             GError             **error);
POST_AVAILABLE_IN_ALL
GPtrArray         *post_configuration_get_trust_anchors   (PostConfiguration     *self);
POST_AVAILABLE_IN_ALL
gboolean           post_configuration_add_pinned_key      (PostConfiguration     *self,
                                                           const char            *spki_sha256,
                                                           GError               **error);
POST_AVAILABLE_IN_ALL
char             **post_configuration_get_pinned_keys     (PostConfiguration     *self);
POST_AVAILABLE_IN_ALL
gboolean           post_configuration_set_alpn            (PostConfiguration     *self,
                                                           const char * const    *protocols,
                                                           GError               **error);
POST_AVAILABLE_IN_ALL
char             **post_configuration_get_alpn            (PostConfiguration     *self);
POST_AVAILABLE_IN_ALL
gboolean           post_configuration_set_tls_versions    (PostConfiguration     *self,
                                                           PostTlsVersion         min,
                                                           PostTlsVersion         max,
                                                           GError               **error);
POST_AVAILABLE_IN_ALL
void               post_configuration_get_tls_versions    (PostConfiguration     *self,
                                                           PostTlsVersion        *min,
                                                           PostTlsVersion        *max);
POST_AVAILABLE_IN_ALL
gboolean           post_configuration_get_allow_cleartext (PostConfiguration     *self);
POST_AVAILABLE_IN_ALL
gboolean           post_configuration_set_allow_cleartext (PostConfiguration     *self,
                                                           gboolean               allow,
                                                           GError               **error);
POST_AVAILABLE_IN_ALL
gboolean           post_configuration_set_verify_func     (PostConfiguration     *self,
                                                           PostVerifyFunc         func,
                                                           gpointer               user_data,
                                                           GDestroyNotify         destroy,
                                                           GError               **error);
POST_AVAILABLE_IN_ALL
gboolean           post_configuration_has_verify_func     (PostConfiguration     *self);
POST_AVAILABLE_IN_ALL
gboolean           post_configuration_call_verify_func    (PostConfiguration     *self,
                                                           GPtrArray             *chain,
                                                           const char            *server_name,
                                                           PostTrustErrors        errors);
POST_AVAILABLE_IN_ALL
gboolean           post_configuration_set_accept_certificate_func (PostConfiguration         *self,
                                                                   PostAcceptCertificateFunc  func,
                                                                   gpointer                   user_data,
                                                                   GDestroyNotify             destroy,
                                                                   GError                   **error);
POST_AVAILABLE_IN_ALL
gboolean           post_configuration_verify_peer         (PostConfiguration     *self,
                                                           GPtrArray             *chain,
                                                           const char            *server_name,
                                                           PostTrustErrors        errors,
                                                           GTlsCertificateFlags   tls_errors,
                                                           GError               **error);

G_END_DECLS
