/* post-association.h: PostAssociation, long-lived state between a Local and a Remote
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(POST_INSIDE) && !defined(POST_COMPILATION)
# error "Only <post.h> can be included directly."
#endif

#include <gio/gio.h>
#include "post-version.h"
#include "post-local.h"
#include "post-remote.h"
#include "post-configuration.h"
#include "post-path.h"
#include "post-carrier.h"

G_BEGIN_DECLS

#define POST_TYPE_ASSOCIATION (post_association_get_type ())
POST_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PostAssociation, post_association, POST, ASSOCIATION, GObject)

POST_AVAILABLE_IN_ALL
PostAssociation   *post_association_new               (PostLocal          *local,
                                                       PostRemote         *remote,
                                                       PostConfiguration  *configuration);
POST_AVAILABLE_IN_ALL
PostAssociation   *post_association_lookup            (PostLocal          *local,
                                                       PostRemote         *remote,
                                                       PostConfiguration  *configuration);
POST_AVAILABLE_IN_ALL
PostLocal         *post_association_get_local         (PostAssociation    *self);
POST_AVAILABLE_IN_ALL
PostRemote        *post_association_get_remote        (PostAssociation    *self);
POST_AVAILABLE_IN_ALL
PostConfiguration *post_association_get_configuration (PostAssociation    *self);
POST_AVAILABLE_IN_ALL
PostCarrier       *post_association_initiate          (PostAssociation    *self);
POST_AVAILABLE_IN_ALL
GPtrArray         *post_association_get_carriers      (PostAssociation    *self);
POST_AVAILABLE_IN_ALL
GPtrArray         *post_association_get_paths         (PostAssociation    *self);
POST_AVAILABLE_IN_ALL
const char        *post_association_get_last_stack    (PostAssociation    *self);

/* Long-term security state (draft 2.3, 3.1.5) */
POST_AVAILABLE_IN_ALL
gboolean           post_association_set_pre_shared_key (PostAssociation   *self,
                                                        const char        *identity,
                                                        GBytes            *key,
                                                        GError           **error);
POST_AVAILABLE_IN_ALL
GBytes            *post_association_get_pre_shared_key (PostAssociation   *self,
                                                        const char       **identity);
POST_AVAILABLE_IN_ALL
void               post_association_add_session_ticket (PostAssociation   *self,
                                                        GBytes            *ticket,
                                                        gint64             expiry);
POST_AVAILABLE_IN_ALL
GBytes            *post_association_take_session_ticket (PostAssociation  *self);
POST_AVAILABLE_IN_ALL
guint              post_association_get_session_ticket_count (PostAssociation *self);
POST_AVAILABLE_IN_ALL
void               post_association_forget_session_tickets (PostAssociation *self);

G_END_DECLS
