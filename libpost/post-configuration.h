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

G_END_DECLS
