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

/**
 * PostStackOption:
 * @key: the option, `family.option` (such as `tcp.user-timeout`)
 * @type: the GVariant type string of its value: `b`, `s`, `as`, `aay`, or
 *   an integer type (`y`, `n`, `q`, `i`, `u`, `x`, `t`); alternatives are
 *   separated by `|` (`s|as`). An integer option accepts a value of any
 *   integer type within @min..@max, converted to @type when set.
 * @min: for an integer option, the smallest value
 * @max: for an integer option, the largest value
 * @choices: (nullable) (array zero-terminated=1): for a string option, the
 *   values it may take, or %NULL for any string
 * @default_value: (nullable): what applies when the option is not set, in
 *   words or GVariant text (for documentation and `post-policy`)
 * @blurb: what the option does, one sentence
 *
 * A protocol-specific option a stack reads, declared with
 * [method@Post.Stack.add_options] so that
 * [method@Post.Configuration.set_option] and the policy files can check a
 * value before a carrier is established, and name what is wrong.
 */
typedef struct {
  const char *key;
  const char *type;
  gint64 min;
  gint64 max;
  const char * const *choices;
  const char *default_value;
  const char *blurb;
} PostStackOption;

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
gboolean              post_stack_get_proxy_support  (PostStack             *self);
POST_AVAILABLE_IN_ALL
void                  post_stack_set_proxy_support  (PostStack             *self,
                                                     gboolean               supported);
POST_AVAILABLE_IN_ALL
PostPsi              *post_stack_create_psi         (PostStack             *self,
                                                     PostConfiguration     *configuration);
POST_AVAILABLE_IN_ALL
void                  post_stack_add_options        (PostStack             *self,
                                                     const PostStackOption *options,
                                                     guint                  n_options);
POST_AVAILABLE_IN_ALL
const PostStackOption *post_stack_lookup_option     (PostStack             *self,
                                                     const char            *key);
POST_AVAILABLE_IN_ALL
GPtrArray            *post_stack_list_options       (PostStack             *self);
POST_AVAILABLE_IN_ALL
gboolean              post_stack_option_check       (const PostStackOption *option,
                                                     GVariant              *value,
                                                     GVariant             **normalized,
                                                     GError               **error);

G_END_DECLS
