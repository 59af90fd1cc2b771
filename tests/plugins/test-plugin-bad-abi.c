/* test-plugin-bad-abi.c: a plugin built for another ABI version
 *
 * Its init must never run: it aborts if it does.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>

#include <stdlib.h>

static gboolean
plugin_init (PostRegistry  *registry,
             GError       **error)
{
  abort ();
}

G_MODULE_EXPORT const PostPluginDescriptor post_plugin_descriptor = {
  POST_PLUGIN_ABI_VERSION + 1000, "test-bad-abi", "Built for another ABI", "0.0.0",
  plugin_init, { NULL, NULL, NULL, NULL }
};
