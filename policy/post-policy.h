/* post-policy.h: PostPolicy, the keyfile policy engine
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
#include "post-path-info.h"

G_BEGIN_DECLS

typedef struct _PostConfiguration PostConfiguration;
typedef struct _PostRemote PostRemote;
typedef struct _PostLocal PostLocal;

#define POST_TYPE_POLICY (post_policy_get_type ())
POST_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PostPolicy, post_policy, POST, POLICY, GObject)

POST_AVAILABLE_IN_ALL
PostPolicy         *post_policy_get_default          (void);
POST_AVAILABLE_IN_ALL
PostPolicy         *post_policy_new                  (const char * const  *directories);
POST_AVAILABLE_IN_ALL
const char * const *post_policy_get_directories      (PostPolicy          *self);
POST_AVAILABLE_IN_ALL
char              **post_policy_get_default_directories (void);

POST_AVAILABLE_IN_ALL
const char         *post_policy_get_application_id   (PostPolicy          *self);
POST_AVAILABLE_IN_ALL
void                post_policy_set_application_id   (PostPolicy          *self,
                                                      const char          *application_id);
POST_AVAILABLE_IN_ALL
gboolean            post_policy_get_monitored        (PostPolicy          *self);
POST_AVAILABLE_IN_ALL
void                post_policy_set_monitored        (PostPolicy          *self,
                                                      gboolean             monitored);
POST_AVAILABLE_IN_ALL
void                post_policy_set_path_info_func   (PostPolicy          *self,
                                                      PostPathInfoFunc     func,
                                                      gpointer             user_data,
                                                      GDestroyNotify       destroy);

POST_AVAILABLE_IN_ALL
gboolean            post_policy_reload               (PostPolicy          *self);
POST_AVAILABLE_IN_ALL
char              **post_policy_list_files           (PostPolicy          *self);
POST_AVAILABLE_IN_ALL
char              **post_policy_list_problems        (PostPolicy          *self);
POST_AVAILABLE_IN_ALL
guint               post_policy_get_n_rules          (PostPolicy          *self);
POST_AVAILABLE_IN_ALL
char               *post_policy_dump                 (PostPolicy          *self);

POST_AVAILABLE_IN_ALL
GPtrArray          *post_policy_rank                 (PostPolicy          *self,
                                                      PostConfiguration   *configuration,
                                                      PostRemote          *remote,
                                                      GPtrArray           *addresses,
                                                      PostLocal           *local,
                                                      PostCarrierRole      role,
                                                      GError             **error);
POST_AVAILABLE_IN_ALL
void                post_policy_explain_async        (PostPolicy          *self,
                                                      PostRemote          *remote,
                                                      PostConfiguration   *configuration,
                                                      PostLocal           *local,
                                                      GCancellable        *cancellable,
                                                      GAsyncReadyCallback  callback,
                                                      gpointer             user_data);
POST_AVAILABLE_IN_ALL
GPtrArray          *post_policy_explain_finish       (PostPolicy          *self,
                                                      GAsyncResult        *result,
                                                      GError             **error);

POST_AVAILABLE_IN_ALL
char               *post_policy_describe_keys        (void);

G_END_DECLS
