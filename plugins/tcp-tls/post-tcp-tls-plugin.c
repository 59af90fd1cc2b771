/* post-tcp-tls-plugin.c: the tcp-tls plugin, TCP and TLS over TCP
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "post-tcp-psi.h"
#include "post-tls-psi.h"
#include "post-gnutls-common.h"

static const PostStackOption tcp_options[] = {
  { POST_TCP_OPTION_USER_TIMEOUT, "u", 0, G_MAXUINT32, NULL, "the system's",
    "Milliseconds sent data may stay unacknowledged before the connection fails "
    "(TCP_USER_TIMEOUT; above 2147483647 is taken as that)" },
  { POST_TCP_OPTION_MAX_CARRIERS, "u", 0, G_MAXUINT32, NULL,
    "three quarters of the soft RLIMIT_NOFILE (768 of 1024)",
    "A listener's accepted carriers at most, handshaking ones included (0: no limit); a connection "
    "beyond it evicts the oldest peer that has not completed a first message (its carrier closes "
    "with POST_ERROR_CONNECTION_RESET), or is reset at once when every peer has spoken; tcp and tls" },
  { POST_TCP_OPTION_FIRST_MESSAGE_TIMEOUT, "u", 0, G_MAXUINT32, NULL, "60000",
    "Milliseconds from accepting a connection within which its peer must complete a first message "
    "(stream framing: send a byte; tls: the handshake too), else its carrier closes with "
    "POST_ERROR_TIMED_OUT (0: no limit); tcp and tls" },
};

static gboolean
plugin_init (PostRegistry  *registry,
             GError       **error)
{
  g_autoptr(PostStack) tcp = NULL;
  g_autoptr(PostStack) tls = NULL;

  /* TLS over TCP is the primary choice; plain TCP ranks secondary and is
   * only raced when the URI or the configuration names it (or allows
   * cleartext): see post_configuration_set_allow_cleartext(). */
  tcp = post_stack_new ("tcp", "TCP, a reliable ordered byte stream",
                        POST_TYPE_TCP_PSI, POST_TCP_STACK_CAPABILITIES,
                        POST_RANK_SECONDARY);
  post_stack_add_options (tcp, tcp_options, G_N_ELEMENTS (tcp_options));
  /* SOCKS and HTTP CONNECT tunnels (post_psi_proxy_handshake_async()) */
  post_stack_set_proxy_support (tcp, TRUE);
  if (!post_registry_add_stack (registry, tcp, error))
    return FALSE;
  post_tls_psi_set_tcp_stack (tcp);

  tls = post_stack_new ("tls", "TLS 1.3 over TCP (GnuTLS), with resumption and 0-RTT",
                        POST_TYPE_TLS_PSI, POST_TLS_STACK_CAPABILITIES,
                        POST_RANK_PRIMARY);
  post_stack_set_default_port (tls, 443);
  post_stack_set_proxy_support (tls, TRUE);   /* through the inner tcp instance */
  post_gnutls_add_tls_options (tls);
  return post_registry_add_stack (registry, tls, error);
}

POST_PLUGIN_DEFINE ("tcp-tls", "TCP and TLS over TCP stacks", plugin_init)
