/* post-carrier.h: PostCarrier, where applications send and receive messages
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
#include "post-message.h"
#include "post-local.h"
#include "post-remote.h"
#include "post-configuration.h"
#include "post-path.h"
#include "post-reply.h"

G_BEGIN_DECLS

#define POST_TYPE_CARRIER (post_carrier_get_type ())
POST_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PostCarrier, post_carrier, POST, CARRIER, GObject)

typedef struct _PostAssociation PostAssociation;

/**
 * PostReadyFunc:
 * @carrier: the carrier
 * @message: (transfer none): a received message
 * @user_data: the data given to post_carrier_ready()
 *
 * Called for each message received (draft section 3.2, `.Ready()`).
 *
 * Returns: %TRUE to go on receiving, %FALSE to stop
 */
typedef gboolean (*PostReadyFunc) (PostCarrier *carrier,
                                   PostMessage *message,
                                   gpointer     user_data);

/**
 * PostRespondFunc:
 * @responder: the responder
 * @message: (transfer none): a received message
 * @reply: (transfer none): sends replies back to the message's source
 * @user_data: the data given to post_carrier_respond()
 *
 * Called for each message a responder receives (draft Figure 4).
 */
typedef void (*PostRespondFunc) (PostCarrier *responder,
                                 PostMessage *message,
                                 PostReply   *reply,
                                 gpointer     user_data);

/* Creating carriers (draft Figure 5) */
POST_AVAILABLE_IN_ALL
PostCarrier          *post_carrier_initiate           (PostLocal          *local,
                                                       PostRemote         *remote,
                                                       PostConfiguration  *configuration);
POST_AVAILABLE_IN_ALL
PostCarrier          *post_carrier_listen             (PostLocal          *local,
                                                       PostConfiguration  *configuration,
                                                       GError            **error);
POST_AVAILABLE_IN_ALL
PostCarrier          *post_carrier_new_source         (PostLocal          *local,
                                                       PostRemote         *remote,
                                                       PostConfiguration  *configuration);
POST_AVAILABLE_IN_ALL
PostCarrier          *post_carrier_new_sink           (PostLocal          *local,
                                                       PostRemote         *remote,
                                                       PostConfiguration  *configuration,
                                                       GError            **error);
POST_AVAILABLE_IN_ALL
PostCarrier          *post_carrier_respond            (PostLocal          *local,
                                                       PostConfiguration  *configuration,
                                                       PostRespondFunc     func,
                                                       gpointer            user_data,
                                                       GDestroyNotify      notify,
                                                       GError            **error);

/* Accessors (draft Figure 6) */
POST_AVAILABLE_IN_ALL
PostCarrierRole       post_carrier_get_role           (PostCarrier        *self);
POST_AVAILABLE_IN_ALL
PostCarrierState      post_carrier_get_state          (PostCarrier        *self);
POST_AVAILABLE_IN_ALL
PostAssociation      *post_carrier_get_association    (PostCarrier        *self);
POST_AVAILABLE_IN_ALL
PostLocal            *post_carrier_get_local          (PostCarrier        *self);
POST_AVAILABLE_IN_ALL
PostRemote           *post_carrier_get_remote         (PostCarrier        *self);
POST_AVAILABLE_IN_ALL
PostConfiguration    *post_carrier_get_configuration  (PostCarrier        *self);
POST_AVAILABLE_IN_ALL
GPtrArray            *post_carrier_get_transients     (PostCarrier        *self);
POST_AVAILABLE_IN_ALL
const char           *post_carrier_get_stack_name     (PostCarrier        *self);
POST_AVAILABLE_IN_ALL
PostStackCapabilities post_carrier_get_capabilities   (PostCarrier        *self);
POST_AVAILABLE_IN_ALL
PostSecurityFlags     post_carrier_get_security_flags (PostCarrier        *self);
POST_AVAILABLE_IN_ALL
GTlsCertificate      *post_carrier_get_peer_certificate (PostCarrier      *self);
POST_AVAILABLE_IN_ALL
GTlsCertificateFlags  post_carrier_get_peer_certificate_errors (PostCarrier *self);
POST_AVAILABLE_IN_ALL
const char           *post_carrier_get_negotiated_protocol (PostCarrier   *self);
POST_AVAILABLE_IN_ALL
GSocketAddress       *post_carrier_get_local_address  (PostCarrier        *self);
POST_AVAILABLE_IN_ALL
GSocketAddress       *post_carrier_get_remote_address (PostCarrier        *self);
POST_AVAILABLE_IN_ALL
GProxyAddress        *post_carrier_get_proxy          (PostCarrier        *self);
POST_AVAILABLE_IN_ALL
const GError         *post_carrier_get_error          (PostCarrier        *self);
POST_AVAILABLE_IN_ALL
gint64                post_carrier_get_establishment_time (PostCarrier    *self);
POST_AVAILABLE_IN_ALL
gsize                 post_carrier_get_send_queue_size (PostCarrier       *self);
POST_AVAILABLE_IN_ALL
gsize                 post_carrier_get_receive_queue_size (PostCarrier    *self);

/* Establishment */
POST_AVAILABLE_IN_ALL
void                  post_carrier_establish_async    (PostCarrier        *self,
                                                       GCancellable       *cancellable,
                                                       GAsyncReadyCallback callback,
                                                       gpointer            user_data);
POST_AVAILABLE_IN_ALL
gboolean              post_carrier_establish_finish   (PostCarrier        *self,
                                                       GAsyncResult       *result,
                                                       GError            **error);

/* Sending */
POST_AVAILABLE_IN_ALL
void                  post_carrier_send_async         (PostCarrier        *self,
                                                       PostMessage        *message,
                                                       GCancellable       *cancellable,
                                                       GAsyncReadyCallback callback,
                                                       gpointer            user_data);
POST_AVAILABLE_IN_ALL
gboolean              post_carrier_send_finish        (PostCarrier        *self,
                                                       GAsyncResult       *result,
                                                       GError            **error);
POST_AVAILABLE_IN_ALL
gboolean              post_carrier_send               (PostCarrier        *self,
                                                       PostMessage        *message,
                                                       GError            **error);
POST_AVAILABLE_IN_ALL
gboolean              post_carrier_send_bytes         (PostCarrier        *self,
                                                       GBytes             *content,
                                                       GError            **error);
POST_AVAILABLE_IN_ALL
void                  post_carrier_send_partial_async (PostCarrier        *self,
                                                       PostMessage        *message,
                                                       GBytes             *part,
                                                       gboolean            end_of_message,
                                                       GCancellable       *cancellable,
                                                       GAsyncReadyCallback callback,
                                                       gpointer            user_data);
POST_AVAILABLE_IN_ALL
gboolean              post_carrier_send_partial_finish (PostCarrier       *self,
                                                        GAsyncResult      *result,
                                                        GError           **error);
POST_AVAILABLE_IN_ALL
void                  post_carrier_flush_async        (PostCarrier        *self,
                                                       GCancellable       *cancellable,
                                                       GAsyncReadyCallback callback,
                                                       gpointer            user_data);
POST_AVAILABLE_IN_ALL
gboolean              post_carrier_flush_finish       (PostCarrier        *self,
                                                       GAsyncResult       *result,
                                                       GError            **error);

/* Receiving */
POST_AVAILABLE_IN_ALL
void                  post_carrier_receive_async      (PostCarrier        *self,
                                                       GCancellable       *cancellable,
                                                       GAsyncReadyCallback callback,
                                                       gpointer            user_data);
POST_AVAILABLE_IN_ALL
PostMessage          *post_carrier_receive_finish     (PostCarrier        *self,
                                                       GAsyncResult       *result,
                                                       GError            **error);
POST_AVAILABLE_IN_ALL
void                  post_carrier_receive_partial_async (PostCarrier        *self,
                                                          gsize               min_length,
                                                          gsize               max_length,
                                                          GCancellable       *cancellable,
                                                          GAsyncReadyCallback callback,
                                                          gpointer            user_data);
POST_AVAILABLE_IN_ALL
GBytes               *post_carrier_receive_partial_finish (PostCarrier       *self,
                                                           GAsyncResult      *result,
                                                           PostMessage      **message,
                                                           gboolean          *end_of_message,
                                                           GError           **error);
POST_AVAILABLE_IN_ALL
void                  post_carrier_ready              (PostCarrier        *self,
                                                       PostReadyFunc       func,
                                                       gpointer            user_data,
                                                       GDestroyNotify      notify);

/* Forking and closing */
POST_AVAILABLE_IN_ALL
void                  post_carrier_fork_async         (PostCarrier        *self,
                                                       GCancellable       *cancellable,
                                                       GAsyncReadyCallback callback,
                                                       gpointer            user_data);
POST_AVAILABLE_IN_ALL
PostCarrier          *post_carrier_fork_finish        (PostCarrier        *self,
                                                       GAsyncResult       *result,
                                                       GError            **error);
POST_AVAILABLE_IN_ALL
void                  post_carrier_fork_source_async  (PostCarrier        *self,
                                                       GCancellable       *cancellable,
                                                       GAsyncReadyCallback callback,
                                                       gpointer            user_data);
POST_AVAILABLE_IN_ALL
PostCarrier          *post_carrier_fork_source_finish (PostCarrier        *self,
                                                       GAsyncResult       *result,
                                                       GError            **error);
POST_AVAILABLE_IN_ALL
void                  post_carrier_close              (PostCarrier        *self);
POST_AVAILABLE_IN_ALL
void                  post_carrier_close_async        (PostCarrier        *self,
                                                       GCancellable       *cancellable,
                                                       GAsyncReadyCallback callback,
                                                       gpointer            user_data);
POST_AVAILABLE_IN_ALL
gboolean              post_carrier_close_finish       (PostCarrier        *self,
                                                       GAsyncResult       *result,
                                                       GError            **error);
POST_AVAILABLE_IN_ALL
void                  post_carrier_abort              (PostCarrier        *self);

G_END_DECLS
