/* post-reply.h: PostReply, a responder's handle for answering one source
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

G_BEGIN_DECLS

#define POST_TYPE_REPLY (post_reply_get_type ())
POST_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PostReply, post_reply, POST, REPLY, GObject)

POST_AVAILABLE_IN_ALL
GSocketAddress *post_reply_get_remote_address (PostReply           *self);
POST_AVAILABLE_IN_ALL
gboolean        post_reply_send               (PostReply           *self,
                                               PostMessage         *message,
                                               GError             **error);
POST_AVAILABLE_IN_ALL
void            post_reply_send_async         (PostReply           *self,
                                               PostMessage         *message,
                                               GCancellable        *cancellable,
                                               GAsyncReadyCallback  callback,
                                               gpointer             user_data);
POST_AVAILABLE_IN_ALL
gboolean        post_reply_send_finish        (PostReply           *self,
                                               GAsyncResult        *result,
                                               GError             **error);

G_END_DECLS
