/* post-http-client.h: PostHttpClient, HTTP requests over whichever stack wins
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#pragma once

#if !defined(POST_INSIDE) && !defined(POST_COMPILATION)
# error "Only <post.h> can be included directly."
#endif

#include <gio/gio.h>

#include "post-version.h"
#include "post-configuration.h"
#include "post-message.h"
#include "post-remote.h"
#include "post-carrier.h"

G_BEGIN_DECLS

/**
 * POST_HTTP_CLIENT_READ_SIZE:
 *
 * The most bytes one [method@Post.HttpClient.read_body_async] returns: 64 KiB.
 */
#define POST_HTTP_CLIENT_READ_SIZE 65536

#define POST_TYPE_HTTP_CLIENT (post_http_client_get_type ())
POST_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PostHttpClient, post_http_client, POST, HTTP_CLIENT, GObject)

POST_AVAILABLE_IN_ALL
PostHttpClient *post_http_client_new               (PostRemote          *remote,
                                                    PostConfiguration   *configuration);
POST_AVAILABLE_IN_ALL
PostRemote     *post_http_client_get_remote        (PostHttpClient      *self);
POST_AVAILABLE_IN_ALL
PostCarrier    *post_http_client_get_carrier       (PostHttpClient      *self);
POST_AVAILABLE_IN_ALL
const char     *post_http_client_get_protocol      (PostHttpClient      *self);
POST_AVAILABLE_IN_ALL
void            post_http_client_request_async     (PostHttpClient      *self,
                                                    PostMessage         *request,
                                                    GCancellable        *cancellable,
                                                    GAsyncReadyCallback  callback,
                                                    gpointer             user_data);
POST_AVAILABLE_IN_ALL
PostMessage    *post_http_client_request_finish    (PostHttpClient      *self,
                                                    GAsyncResult        *result,
                                                    GError             **error);
POST_AVAILABLE_IN_ALL
void            post_http_client_read_body_async   (PostHttpClient      *self,
                                                    PostMessage         *response,
                                                    GCancellable        *cancellable,
                                                    GAsyncReadyCallback  callback,
                                                    gpointer             user_data);
POST_AVAILABLE_IN_ALL
GBytes         *post_http_client_read_body_finish  (PostHttpClient      *self,
                                                    GAsyncResult        *result,
                                                    gboolean            *end_of_body,
                                                    GError             **error);
POST_AVAILABLE_IN_ALL
void            post_http_client_close             (PostHttpClient      *self);

G_END_DECLS
