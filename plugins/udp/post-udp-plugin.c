/* post-udp-plugin.c: the udp plugin, UDP (and DTLS over UDP)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "post-udp-psi.h"

static gboolean
plugin_init (PostRegistry  *registry,
             GError       **error)
{
  g_autoptr(PostStack) udp = NULL;

  /* Marginal: unreliable and unordered, udp never wins a choice that the
   * application did not steer towards it (RFC 9622's defaults require
   * reliability anyway); a `udp://` URI or the stacks list names it. */
  udp = post_stack_new ("udp", "UDP, one message per datagram, unreliable and unordered",
                        POST_TYPE_UDP_PSI, POST_UDP_STACK_CAPABILITIES,
                        POST_RANK_MARGINAL);
  post_stack_set_max_message_size (udp, POST_UDP_MAX_PAYLOAD_IPV6);
  return post_registry_add_stack (registry, udp, error);
}

POST_PLUGIN_DEFINE ("udp", "UDP (and DTLS over UDP) stacks", plugin_init)
