/* post-udp-plugin.c: the udp plugin, UDP and DTLS over UDP
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "post-udp-psi.h"
#include "post-dtls-psi.h"
#include "post-gnutls-common.h"

static const PostStackOption udp_options[] = {
  { POST_UDP_OPTION_PEER_IDLE_TIMEOUT, "u", 0, G_MAXUINT32, NULL, "30000",
    "Milliseconds a listener's peer may stay silent (both ways) before its carrier "
    "closes with POST_ERROR_TIMED_OUT (0: never); udp and dtls" },
  { POST_UDP_OPTION_MAX_PEERS, "u", 0, G_MAXUINT32, NULL, "4096",
    "A listener's peer carriers at most: a datagram from a new remote beyond it evicts the "
    "idlest peer, whose carrier closes with POST_ERROR_CONNECTION_RESET (0: no limit); udp and dtls" },
  { POST_UDP_OPTION_ALLOW_FRAGMENTATION, "b", 0, 0, NULL, "false",
    "Allow messages larger than the path MTU (up to 65507 / 65527 bytes), sent as IP fragments" },
  { POST_UDP_OPTION_MULTICAST_TTL, "u", 0, 255, NULL, "1",
    "The TTL (hop limit) of multicast datagrams sent" },
  { POST_UDP_OPTION_MULTICAST_LOOP, "b", 0, 0, NULL, "true",
    "Whether multicast datagrams sent are looped back to local receivers" },
  { POST_UDP_OPTION_MULTICAST_INTERFACE, "s", 0, 0, NULL, "the routing table's",
    "The interface (name) to send and join multicast groups on" },
  { POST_UDP_OPTION_MULTICAST_SOURCE, "s|as", 0, 0, NULL, "any source",
    "Source-specific multicast: the IP literals of the sources to receive from" },
};

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
  post_stack_add_options (udp, udp_options, G_N_ELEMENTS (udp_options));
  if (!post_registry_add_stack (registry, udp, error))
    return FALSE;
  post_dtls_psi_set_udp_stack (udp);

  /* The same for dtls: a `dtls://` URI or the stacks list names it. */
  dtls = post_stack_new ("dtls", "DTLS 1.2 over UDP (GnuTLS), one message per record, unreliable and unordered",
                         POST_TYPE_DTLS_PSI, POST_DTLS_STACK_CAPABILITIES,
                         POST_RANK_MARGINAL);
  post_stack_set_max_message_size (dtls, POST_DTLS_MAX_RECORD_PLAINTEXT);
  post_gnutls_add_tls_options (dtls);
  return post_registry_add_stack (registry, dtls, error);
}

POST_PLUGIN_DEFINE ("udp", "UDP and DTLS over UDP stacks", plugin_init)
