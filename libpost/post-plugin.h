/* post-plugin.h: the entry point of a stack plugin
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(POST_INSIDE) && !defined(POST_COMPILATION)
# error "Only <post.h> can be included directly."
#endif

#include <gmodule.h>
#include "post-version.h"

G_BEGIN_DECLS

typedef struct _PostRegistry PostRegistry;

/**
 * PostPluginInitFunc:
 * @registry: the registry loading the plugin
 * @error: return location for an error
 *
 * Registers the plugin's stacks with post_registry_add_stack().
 *
 * Returns: %TRUE on success; on %FALSE the plugin is skipped with a warning
 */
typedef gboolean (*PostPluginInitFunc) (PostRegistry *registry,
                                        GError      **error);

/**
 * PostPluginDescriptor:
 * @abi_version: %POST_PLUGIN_ABI_VERSION at the plugin's build time
 * @name: the plugin's name, such as `tcp-tls`
 * @description: one line saying what it provides
 * @version: the plugin's version
 * @init: registers the plugin's stacks
 *
 * What a plugin exports under the symbol `post_plugin_descriptor`. The
 * loader checks @abi_version before it calls anything in the plugin.
 */
typedef struct {
  guint32             abi_version;
  const char         *name;
  const char         *description;
  const char         *version;
  PostPluginInitFunc  init;
  /*< private >*/
  gpointer            reserved[4];
} PostPluginDescriptor;

/**
 * POST_PLUGIN_DEFINE:
 * @name: the plugin's name, a string literal
 * @description: a string literal
 * @init: a [callback@Post.PluginInitFunc]
 *
 * Defines the descriptor of a stack plugin. Use it once in the plugin:
 *
 * ```c
 * static gboolean
 * plugin_init (PostRegistry *registry, GError **error)
 * {
 *   g_autoptr(PostStack) stack = post_stack_new ("tcp", "TCP", MY_TYPE_TCP_PSI, caps, POST_RANK_PRIMARY);
 *   return post_registry_add_stack (registry, stack, error);
 * }
 * POST_PLUGIN_DEFINE ("tcp-tls", "TCP and TLS over TCP", plugin_init)
 * ```
 */
#define POST_PLUGIN_DEFINE(name, description, init)                         \
  G_MODULE_EXPORT const PostPluginDescriptor post_plugin_descriptor = {     \
    POST_PLUGIN_ABI_VERSION, name, description, POST_VERSION_S, init,       \
    { NULL, NULL, NULL, NULL }                                              \
  };

G_END_DECLS
