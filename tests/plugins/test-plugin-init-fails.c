/* test-plugin-init-fails.c: a plugin whose init registers a stack, then fails
 *
 * The registry must drop the stack it added.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>

static gboolean
plugin_init (PostRegistry  *registry,
             GError       **error)
{
  g_autoptr(PostStack) stack = post_stack_new ("test-rollback", "Dropped when init fails",
                                               POST_TYPE_PSI, POST_STACK_CAP_NONE,
                                               POST_RANK_PRIMARY);

  if (!post_registry_add_stack (registry, stack, error))
    return FALSE;

  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                       "the test device is missing");
  return FALSE;
}

POST_PLUGIN_DEFINE ("test-init-fails", "Fails to initialize", plugin_init)
