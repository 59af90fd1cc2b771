/* post-registry.h: PostRegistry, the loaded stacks
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(POST_INSIDE) && !defined(POST_COMPILATION)
# error "Only <post.h> can be included directly."
#endif

#include <gio/gio.h>
#include "post-version.h"
#include "post-stack.h"
#include "post-plugin.h"

G_BEGIN_DECLS

#define POST_TYPE_REGISTRY (post_registry_get_type ())
POST_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PostRegistry, post_registry, POST, REGISTRY, GObject)

POST_AVAILABLE_IN_ALL
PostRegistry  *post_registry_get_default      (void);
POST_AVAILABLE_IN_ALL
PostRegistry  *post_registry_new              (void);
POST_AVAILABLE_IN_ALL
guint          post_registry_scan_directory   (PostRegistry  *self,
                                               const char    *directory);
POST_AVAILABLE_IN_ALL
gboolean       post_registry_load_plugin      (PostRegistry  *self,
                                               const char    *filename,
                                               GError       **error);
POST_AVAILABLE_IN_ALL
gboolean       post_registry_add_stack        (PostRegistry  *self,
                                               PostStack     *stack,
                                               GError       **error);
POST_AVAILABLE_IN_ALL
PostStack     *post_registry_lookup_stack     (PostRegistry  *self,
                                               const char    *name);
POST_AVAILABLE_IN_ALL
GPtrArray     *post_registry_list_stacks      (PostRegistry  *self);
POST_AVAILABLE_IN_ALL
char         **post_registry_list_plugins     (PostRegistry  *self);
POST_AVAILABLE_IN_ALL
const GPtrArray *post_registry_get_load_errors (PostRegistry *self);
POST_AVAILABLE_IN_ALL
GPtrArray     *post_registry_select_stacks    (PostRegistry      *self,
                                               PostConfiguration *configuration,
                                               const char        *stack_hint,
                                               PostCarrierRole    role,
                                               GError           **error);

POST_AVAILABLE_IN_ALL
const PostStackOption *post_registry_lookup_option (PostRegistry  *self,
                                                    const char    *key);
POST_AVAILABLE_IN_ALL
gboolean      post_registry_check_option    (PostRegistry        *self,
                                             const char          *key,
                                             GVariant            *value,
                                             GVariant           **normalized,
                                             GError             **error);

G_END_DECLS
