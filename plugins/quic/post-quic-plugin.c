/* post-quic-plugin.c: the quic plugin, QUIC v1 with ngtcp2 and GnuTLS
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "post-quic-psi.h"

static gboolean
plugin_init (PostRegistry  *registry,
             GError       **error)
{
  g_autoptr(PostStack) quic = NULL;

  /* Secondary: tls over tcp stays the default choice; a `quic://` URI or
   * the configuration's stacks list names quic. */
  quic = post_stack_new ("quic", "QUIC v1 (ngtcp2, TLS 1.3 with GnuTLS), one carrier per stream",
                         POST_TYPE_QUIC_PSI, POST_QUIC_STACK_CAPABILITIES,
                         POST_RANK_SECONDARY);
  post_stack_set_default_port (quic, 443);
  return post_registry_add_stack (registry, quic, error);
}

POST_PLUGIN_DEFINE ("quic", "QUIC v1 stack (ngtcp2 and GnuTLS)", plugin_init)
