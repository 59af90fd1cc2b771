/* test-plugin-dup-stack.c: a plugin providing `test-good` again, and `test-dup`
 *
 * The first `test-good` wins; this plugin still loads its other stack.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>

static gboolean
plugin_init (PostRegistry  *registry,
             GError       **error)
{
  g_autoptr(PostStack) again = post_stack_new ("test-good", "A second test-good",
                                               POST_TYPE_PSI, POST_STACK_CAP_NONE,
                                               POST_RANK_PRIMARY);
  g_autoptr(PostStack) dup = post_stack_new ("test-dup", "A stack of its own",
                                             POST_TYPE_PSI, POST_STACK_CAP_NONE,
                                             POST_RANK_SECONDARY);

  return post_registry_add_stack (registry, again, error) &&
         post_registry_add_stack (registry, dup, error);
}

POST_PLUGIN_DEFINE ("test-dup-stack", "Provides a stack twice", plugin_init)
