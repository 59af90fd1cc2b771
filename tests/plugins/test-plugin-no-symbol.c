/* test-plugin-no-symbol.c: a shared object without a plugin descriptor
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <glib.h>
#include <gmodule.h>

G_MODULE_EXPORT int not_a_post_plugin (void);

G_MODULE_EXPORT int
not_a_post_plugin (void)
{
  return 42;
}
