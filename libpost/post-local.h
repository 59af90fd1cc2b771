/* post-local.h: PostLocal, the local endpoint
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(POST_INSIDE) && !defined(POST_COMPILATION)
# error "Only <post.h> can be included directly."
#endif

#include <gio/gio.h>
#include "post-version.h"

G_BEGIN_DECLS

#define POST_TYPE_LOCAL (post_local_get_type ())
POST_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PostLocal, post_local, POST, LOCAL, GObject)

POST_AVAILABLE_IN_ALL
PostLocal       *post_local_new                (void);
POST_AVAILABLE_IN_ALL
PostLocal       *post_local_new_from_uri       (const char      *uri,
                                                GError         **error);
POST_AVAILABLE_IN_ALL
PostLocal       *post_local_new_for_address    (GSocketAddress  *address);

POST_AVAILABLE_IN_ALL
const char      *post_local_get_interface      (PostLocal       *self);
POST_AVAILABLE_IN_ALL
gboolean         post_local_set_interface      (PostLocal       *self,
                                                const char      *interface,
                                                GError         **error);
POST_AVAILABLE_IN_ALL
GInetAddress    *post_local_get_address        (PostLocal       *self);
POST_AVAILABLE_IN_ALL
gboolean         post_local_set_address        (PostLocal       *self,
                                                GInetAddress    *address,
                                                GError         **error);
POST_AVAILABLE_IN_ALL
guint16          post_local_get_port           (PostLocal       *self);
POST_AVAILABLE_IN_ALL
gboolean         post_local_set_port           (PostLocal       *self,
                                                guint16          port,
                                                GError         **error);
POST_AVAILABLE_IN_ALL
const char      *post_local_get_stack          (PostLocal       *self);
POST_AVAILABLE_IN_ALL
GTlsCertificate *post_local_get_identity       (PostLocal       *self);
POST_AVAILABLE_IN_ALL
gboolean         post_local_set_identity       (PostLocal       *self,
                                                GTlsCertificate *identity,
                                                GError         **error);
POST_AVAILABLE_IN_ALL
gboolean         post_local_set_identity_from_pem   (PostLocal   *self,
                                                     GBytes      *certificate_pem,
                                                     GBytes      *key_pem,
                                                     GError     **error);
POST_AVAILABLE_IN_ALL
gboolean         post_local_set_identity_from_files (PostLocal   *self,
                                                     const char  *certificate_file,
                                                     const char  *key_file,
                                                     GError     **error);
POST_AVAILABLE_IN_ALL
gboolean         post_local_get_identity_pem        (PostLocal   *self,
                                                     GBytes     **certificate_pem,
                                                     GBytes     **key_pem);
POST_AVAILABLE_IN_ALL
gboolean         post_local_add_pre_shared_key      (PostLocal   *self,
                                                     const char  *identity,
                                                     GBytes      *key,
                                                     GError     **error);
POST_AVAILABLE_IN_ALL
GBytes          *post_local_lookup_pre_shared_key   (PostLocal   *self,
                                                     const char  *identity);
POST_AVAILABLE_IN_ALL
GSocketAddress  *post_local_to_socket_address  (PostLocal       *self,
                                                GSocketFamily    family);
POST_AVAILABLE_IN_ALL
gboolean         post_local_is_frozen          (PostLocal       *self);
POST_AVAILABLE_IN_ALL
char            *post_local_to_string          (PostLocal       *self);
POST_AVAILABLE_IN_ALL
guint            post_local_hash               (gconstpointer    local);
POST_AVAILABLE_IN_ALL
gboolean         post_local_equal              (gconstpointer    a,
                                                gconstpointer    b);

G_END_DECLS
