/* post-remote.h: PostRemote, the far end of an association
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

G_BEGIN_DECLS

#define POST_TYPE_REMOTE (post_remote_get_type ())
POST_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PostRemote, post_remote, POST, REMOTE, GObject)

POST_AVAILABLE_IN_ALL
PostRemote      *post_remote_new_from_uri      (const char      *uri,
                                                GError         **error);
POST_AVAILABLE_IN_ALL
PostRemote      *post_remote_new               (const char      *hostname,
                                                guint16          port);
POST_AVAILABLE_IN_ALL
PostRemote      *post_remote_new_for_address   (GSocketAddress  *address);
POST_AVAILABLE_IN_ALL
PostRemote      *post_remote_new_for_connectable (GSocketConnectable *connectable,
                                                  const char         *stack,
                                                  GError            **error);
POST_AVAILABLE_IN_ALL
const char      *post_remote_get_service       (PostRemote      *self);
POST_AVAILABLE_IN_ALL
GProxyAddress   *post_remote_get_proxy         (PostRemote      *self);

POST_AVAILABLE_IN_ALL
PostRemoteLevel  post_remote_get_level         (PostRemote      *self);
POST_AVAILABLE_IN_ALL
gboolean         post_remote_is_resolved       (PostRemote      *self);
POST_AVAILABLE_IN_ALL
const char      *post_remote_get_uri           (PostRemote      *self);
POST_AVAILABLE_IN_ALL
const char      *post_remote_get_hostname      (PostRemote      *self);
POST_AVAILABLE_IN_ALL
guint16          post_remote_get_port          (PostRemote      *self);
POST_AVAILABLE_IN_ALL
const char      *post_remote_get_stack         (PostRemote      *self);
POST_AVAILABLE_IN_ALL
const char * const *post_remote_get_alpn       (PostRemote      *self);
POST_AVAILABLE_IN_ALL
GSocketAddress  *post_remote_get_address       (PostRemote      *self);
POST_AVAILABLE_IN_ALL
PostRemote      *post_remote_get_parent        (PostRemote      *self);
POST_AVAILABLE_IN_ALL
char            *post_remote_to_string         (PostRemote      *self);
POST_AVAILABLE_IN_ALL
guint            post_remote_hash              (gconstpointer    remote);
POST_AVAILABLE_IN_ALL
gboolean         post_remote_equal             (gconstpointer    a,
                                                gconstpointer    b);

POST_AVAILABLE_IN_ALL
void             post_remote_resolve_async     (PostRemote          *self,
                                                GCancellable        *cancellable,
                                                GAsyncReadyCallback  callback,
                                                gpointer             user_data);
POST_AVAILABLE_IN_ALL
GPtrArray       *post_remote_resolve_finish    (PostRemote          *self,
                                                GAsyncResult        *result,
                                                GError             **error);
POST_AVAILABLE_IN_ALL
void             post_remote_resolve_fully_async  (PostRemote          *self,
                                                   GCancellable        *cancellable,
                                                   GAsyncReadyCallback  callback,
                                                   gpointer             user_data);
POST_AVAILABLE_IN_ALL
GPtrArray       *post_remote_resolve_fully_finish (PostRemote          *self,
                                                   GAsyncResult        *result,
                                                   GError             **error);

G_END_DECLS
