/* post-sctp-plugin.c: the sctp plugin, SCTP over UDP (RFC 6951) with usrsctp
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "post-sctp-psi.h"

static const PostStackOption sctp_options[] = {
  { POST_SCTP_OPTION_PORT, "u", 1, 65535, NULL, "the UDP port's number",
    "The SCTP port inside the UDP encapsulation (RFC 6951)" },
  { POST_SCTP_OPTION_STREAMS, "u", 1, 65535, NULL, "64",
    "How many outbound streams an association asks for" },
};

static gboolean
plugin_init (PostRegistry  *registry,
             GError       **error)
{
  g_autoptr(PostStack) sctp = NULL;

  /* Between secondary (tcp, quic) and primary (tls).  Rank only breaks
   * ties of the selection score, and sctp is cleartext, so it is never a
   * candidate unless it is named (`sctp://`, the stacks list) or
   * `tls.allow-cleartext` is set.  Then an application with no particular
   * wish still gets tls first (primary); one that prefers multistreaming,
   * per-message reliability and preserved message boundaries ties sctp with
   * quic on the score, and sctp wins: those are SCTP's own properties (the
   * draft's model of a message transport), with no framing in between.
   * Preferring `secure` (+10) gives quic instead, and policy's
   * `stacks=quic:prefer` or POST_STACK_RANK change the order as well. */
  sctp = post_stack_new ("sctp",
                         "SCTP over UDP (RFC 6951, usrsctp), one carrier per stream, native messages",
                         POST_TYPE_SCTP_PSI, POST_SCTP_STACK_CAPABILITIES,
                         POST_RANK_SECONDARY + 64);
  post_stack_set_default_port (sctp, POST_SCTP_DEFAULT_PORT);
  post_stack_add_options (sctp, sctp_options, G_N_ELEMENTS (sctp_options));
  return post_registry_add_stack (registry, sctp, error);
}

POST_PLUGIN_DEFINE ("sctp", "SCTP over UDP encapsulation (usrsctp)", plugin_init)
