/* post-quic-plugin.c: the quic plugin, QUIC v1 with ngtcp2 and GnuTLS
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "post-quic-psi.h"
#include "post-gnutls-common.h"

static const char * const retry_modes[] = { "never", "always", "when-busy", NULL };

static const PostStackOption quic_options[] = {
  { "quic.datagrams", "b", 0, 0, NULL, "true",
    "Whether unreliable messages travel as QUIC DATAGRAM frames (RFC 9221)" },
  { "quic.idle-timeout", "t", 0, G_MAXUINT32, NULL, "30000",
    "The max_idle_timeout transport parameter, in milliseconds (0: none)" },
  { "quic.max-data", "t", 0, (G_GINT64_CONSTANT (1) << 62) - 1, NULL, "1048576",
    "The connection's receive window (initial_max_data), in bytes" },
  { "quic.max-stream-data", "t", 0, (G_GINT64_CONSTANT (1) << 62) - 1, NULL, "262144",
    "Each stream's receive window (initial_max_stream_data_*), in bytes" },
  { "quic.max-streams", "t", 0, G_GINT64_CONSTANT (1) << 60, NULL, "100",
    "How many streams a peer may open (initial_max_streams_bidi)" },
  { "quic.max-connections", "u", 1, G_MAXUINT32, NULL, "1000",
    "A listener's limit of connections; beyond it an Initial is refused" },
  { "quic.max-connections-per-address", "u", 1, G_MAXUINT32, NULL, "100",
    "A listener's limit of connections from one source address (IPv6: one /64), handshaking ones "
    "included; beyond it an Initial from there is refused (CONNECTION_REFUSED)" },
  { "quic.retry", "s", 0, 0, retry_modes, "when-busy",
    "When a listener validates a client's address with a Retry: never, always, or when-busy" },
  { "quic.retry-threshold", "u", 0, G_MAXUINT32, NULL, "16",
    "With quic.retry when-busy: handshakes in progress before Retry is required" },
  { "quic.new-token", "b", 0, 0, NULL, "true",
    "Whether a listener sends NEW_TOKEN so that a client skips the Retry next time" },
};

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
  post_stack_add_options (quic, quic_options, G_N_ELEMENTS (quic_options));
  post_gnutls_add_tls_options (quic);
  return post_registry_add_stack (registry, quic, error);
}

POST_PLUGIN_DEFINE ("quic", "QUIC v1 stack (ngtcp2 and GnuTLS)", plugin_init)
