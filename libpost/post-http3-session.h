/* post-http3-session.h: PostHttp3Session, HTTP/3 (RFC 9114) on a quic carrier
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(POST_INSIDE) && !defined(POST_COMPILATION)
# error "Only <post.h> can be included directly."
#endif

#include <gio/gio.h>

#include "post-version.h"
#include "post-message.h"
#include "post-carrier.h"

G_BEGIN_DECLS

#define POST_TYPE_HTTP3_SESSION (post_http3_session_get_type ())
POST_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PostHttp3Session, post_http3_session, POST, HTTP3_SESSION, GObject)

POST_AVAILABLE_IN_ALL
PostHttp3Session *post_http3_session_new            (PostCarrier          *carrier,
                                                     GError              **error);
POST_AVAILABLE_IN_ALL
PostHttp3Session *post_http3_session_new_server     (PostCarrier          *carrier,
                                                     GError              **error);
POST_AVAILABLE_IN_ALL
gboolean          post_http3_session_respond        (PostHttp3Session     *self,
                                                     PostMessage          *request,
                                                     PostMessage          *response,
                                                     GError              **error);
POST_AVAILABLE_IN_ALL
PostCarrier      *post_http3_session_get_carrier    (PostHttp3Session     *self);
POST_AVAILABLE_IN_ALL
void              post_http3_session_request_async  (PostHttp3Session     *self,
                                                     PostMessage          *request,
                                                     GCancellable         *cancellable,
                                                     GAsyncReadyCallback   callback,
                                                     gpointer              user_data);
POST_AVAILABLE_IN_ALL
PostMessage      *post_http3_session_request_finish (PostHttp3Session     *self,
                                                     GAsyncResult         *result,
                                                     GError              **error);
POST_AVAILABLE_IN_ALL
void              post_http3_session_request_partial_async  (PostHttp3Session     *self,
                                                             PostMessage          *request,
                                                             GCancellable         *cancellable,
                                                             GAsyncReadyCallback   callback,
                                                             gpointer              user_data);
POST_AVAILABLE_IN_ALL
PostMessage      *post_http3_session_request_partial_finish (PostHttp3Session     *self,
                                                             GAsyncResult         *result,
                                                             GError              **error);
POST_AVAILABLE_IN_ALL
void              post_http3_session_receive_partial_async  (PostHttp3Session     *self,
                                                             PostMessage          *response,
                                                             gsize                 max_length,
                                                             GCancellable         *cancellable,
                                                             GAsyncReadyCallback   callback,
                                                             gpointer              user_data);
POST_AVAILABLE_IN_ALL
GBytes           *post_http3_session_receive_partial_finish (PostHttp3Session     *self,
                                                             GAsyncResult         *result,
                                                             gboolean             *end_of_message,
                                                             GError              **error);
POST_AVAILABLE_IN_ALL
gsize             post_http3_session_get_receive_queue_size (PostHttp3Session     *self);
POST_AVAILABLE_IN_ALL
void              post_http3_session_close          (PostHttp3Session     *self);

G_END_DECLS
