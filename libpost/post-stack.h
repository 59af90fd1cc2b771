/* post-stack.h: PostStack, a protocol stack a plugin provides
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

#define POST_TYPE_STACK (post_stack_get_type ())
POST_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PostStack, post_stack, POST, STACK, GObject)

typedef struct _PostConfiguration PostConfiguration;
typedef struct _PostPsi PostPsi;

POST_AVAILABLE_IN_ALL
PostStack            *post_stack_new                (const char            *name,
                                                     const char            *description,
                                                     GType                  psi_type,
                                                     PostStackCapabilities  capabilities,
                                                     guint                  rank);
POST_AVAILABLE_IN_ALL
const char           *post_stack_get_name           (PostStack             *self);
POST_AVAILABLE_IN_ALL
const char           *post_stack_get_description    (PostStack             *self);
POST_AVAILABLE_IN_ALL
PostStackCapabilities post_stack_get_capabilities   (PostStack             *self);
POST_AVAILABLE_IN_ALL
gboolean              post_stack_has_capabilities   (PostStack             *self,
                                                     PostStackCapabilities  capabilities);
POST_AVAILABLE_IN_ALL
guint                 post_stack_get_rank           (PostStack             *self);
POST_AVAILABLE_IN_ALL
GType                 post_stack_get_psi_type       (PostStack             *self);
POST_AVAILABLE_IN_ALL
const char           *post_stack_get_plugin_name    (PostStack             *self);
POST_AVAILABLE_IN_ALL
PostStackCapabilities post_stack_get_carrier_capabilities (PostStack        *self,
                                                         PostConfiguration *configuration);
POST_AVAILABLE_IN_ALL
gsize                 post_stack_get_max_message_size (PostStack           *self);
POST_AVAILABLE_IN_ALL
void                  post_stack_set_max_message_size (PostStack           *self,
                                                       gsize                size);
POST_AVAILABLE_IN_ALL
guint16               post_stack_get_default_port   (PostStack             *self);
POST_AVAILABLE_IN_ALL
void                  post_stack_set_default_port   (PostStack             *self,
                                                     guint16                port);
POST_AVAILABLE_IN_ALL
PostPsi              *post_stack_create_psi         (PostStack             *self,
                                                     PostConfiguration     *configuration);

G_END_DECLS
