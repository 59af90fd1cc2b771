/* consumer.c: a program of another meson project that takes libpost as a
 * subproject (dependency('post-1', fallback: 'libpost')).  It lists the
 * stacks the registry finds and checks that tcp is one of them.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>

int
main (void)
{
  g_autoptr(GPtrArray) stacks = post_registry_list_stacks (post_registry_get_default ());
  gboolean tcp = FALSE;

  for (guint i = 0; i < stacks->len; i++)
    {
      const char *name = post_stack_get_name (g_ptr_array_index (stacks, i));

      g_print ("%s\n", name);
      tcp |= g_strcmp0 (name, "tcp") == 0;
    }
  return tcp ? 0 : 1;
}
