/* post-tcp-tls-plugin.c: the tcp-tls plugin, TCP (and later TLS over TCP)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "post-tcp-psi.h"

static gboolean
plugin_init (PostRegistry  *registry,
             GError       **error)
{
  g_autoptr(PostStack) tcp = NULL;

  /* Plain TCP ranks secondary: TLS over TCP becomes the primary choice
   * once it exists.  No idempotent/0-RTT yet (TCP Fast Open arrives with
   * TLS), no multistreaming. */
  tcp = post_stack_new ("tcp", "TCP, a reliable ordered byte stream",
                        POST_TYPE_TCP_PSI, POST_TCP_STACK_CAPABILITIES,
                        POST_RANK_SECONDARY);
  return post_registry_add_stack (registry, tcp, error);
}

POST_PLUGIN_DEFINE ("tcp-tls", "TCP (and later TLS over TCP) stacks", plugin_init)
