/* post-udp-plugin.c: the udp plugin, UDP and DTLS over UDP
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "post-udp-psi.h"
#include "post-dtls-psi.h"

static gboolean
plugin_init (PostRegistry  *registry,
             GError       **error)
{
  g_autoptr(PostStack) udp = NULL;
  g_autoptr(PostStack) dtls = NULL;

  /* Marginal: unreliable and unordered, udp never wins a choice that the
   * application did not steer towards it (RFC 9622's defaults require
   * reliability anyway); a `udp://` URI or the stacks list names it. */
  udp = post_stack_new ("udp", "UDP, one message per datagram, unreliable and unordered",
                        POST_TYPE_UDP_PSI, POST_UDP_STACK_CAPABILITIES,
                        POST_RANK_MARGINAL);
  post_stack_set_max_message_size (udp, POST_UDP_MAX_PAYLOAD_IPV6);
  if (!post_registry_add_stack (registry, udp, error))
    return FALSE;
  post_dtls_psi_set_udp_stack (udp);

  /* The same for dtls: a `dtls://` URI or the stacks list names it. */
  dtls = post_stack_new ("dtls", "DTLS 1.2 over UDP (GnuTLS), one message per record, unreliable and unordered",
                         POST_TYPE_DTLS_PSI, POST_DTLS_STACK_CAPABILITIES,
                         POST_RANK_MARGINAL);
  post_stack_set_max_message_size (dtls, POST_DTLS_MAX_RECORD_PLAINTEXT);
  return post_registry_add_stack (registry, dtls, error);
}

POST_PLUGIN_DEFINE ("udp", "UDP and DTLS over UDP stacks", plugin_init)
