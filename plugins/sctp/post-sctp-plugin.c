/* post-sctp-plugin.c: the sctp plugin, SCTP over UDP (RFC 6951) with usrsctp
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "post-sctp-psi.h"

static gboolean
plugin_init (PostRegistry  *registry,
             GError       **error)
{
  g_autoptr(PostStack) sctp = NULL;

  /* Secondary, as quic: an application that only asks for RFC 9622's
   * defaults (reliable, ordered, congestion controlled) gets what the
   * network passes everywhere, tcp and tls; sctp over UDP wins when the
   * configuration prefers what only it (or quic) has — multistreaming,
   * per-message reliability, native message boundaries — or names it
   * (`sctp://`, the stacks list).  Rank only breaks ties. */
  sctp = post_stack_new ("sctp",
                         "SCTP over UDP (RFC 6951, usrsctp), one carrier per stream, native messages",
                         POST_TYPE_SCTP_PSI, POST_SCTP_STACK_CAPABILITIES,
                         POST_RANK_SECONDARY);
  post_stack_set_default_port (sctp, POST_SCTP_DEFAULT_PORT);
  post_stack_set_max_message_size (sctp, POST_SCTP_MAX_MESSAGE_SIZE);
  return post_registry_add_stack (registry, sctp, error);
}

POST_PLUGIN_DEFINE ("sctp", "SCTP over UDP encapsulation (usrsctp)", plugin_init)
