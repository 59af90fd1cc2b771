/* post-path-info.h: PostPathInfo, what the policy engine knows of a path
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

/**
 * PostPathInfo:
 * @interface: (nullable): the name of the interface the path leaves by,
 *   such as `wlan0`; %NULL if not known
 * @kind: the kind of that interface
 * @metered: whether traffic on it costs the user (unknown counts as not metered)
 * @mtu: its MTU in bytes, 0 if not known
 * @pvd: (nullable): the provisioning domain (RFC 7556) identifier, if known
 * @temporary: whether the local address is a temporary (RFC 8981) one
 *
 * The path data the ranking takes as input for each candidate.  Today
 * libpost fills it from the interfaces of the host (`getifaddrs()` and
 * `/sys/class/net`); a path monitor can supply it instead through
 * [method@Post.Policy.set_path_info_func].
 */
typedef struct {
  char              *interface;
  PostInterfaceKind  kind;
  gboolean           metered;
  guint              mtu;
  char              *pvd;
  gboolean           temporary;
} PostPathInfo;

#define POST_TYPE_PATH_INFO (post_path_info_get_type ())

POST_AVAILABLE_IN_ALL
GType          post_path_info_get_type         (void) G_GNUC_CONST;
POST_AVAILABLE_IN_ALL
PostPathInfo  *post_path_info_new              (const char        *interface,
                                                PostInterfaceKind  kind,
                                                gboolean           metered,
                                                guint              mtu);
POST_AVAILABLE_IN_ALL
PostPathInfo  *post_path_info_copy             (const PostPathInfo *self);
POST_AVAILABLE_IN_ALL
void           post_path_info_free             (PostPathInfo      *self);
POST_AVAILABLE_IN_ALL
PostPathInfo  *post_path_info_lookup           (GSocketAddress    *local_address,
                                                GSocketAddress    *remote_address);
POST_AVAILABLE_IN_ALL
const char    *post_interface_kind_to_nick     (PostInterfaceKind  kind);
POST_AVAILABLE_IN_ALL
gboolean       post_interface_kind_from_nick   (const char        *nick,
                                                PostInterfaceKind *kind);

/**
 * PostPathInfoFunc:
 * @local_address: (nullable): the candidate's local address, if bound
 * @remote_address: the candidate's remote address
 * @user_data: the data passed to [method@Post.Policy.set_path_info_func]
 *
 * Supplies the path data of one candidate.
 *
 * Returns: (transfer full) (nullable): the path data, or %NULL if nothing is known
 */
typedef PostPathInfo *(*PostPathInfoFunc) (GSocketAddress *local_address,
                                           GSocketAddress *remote_address,
                                           gpointer        user_data);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PostPathInfo, post_path_info_free)

G_END_DECLS
