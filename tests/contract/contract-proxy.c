/* contract-proxy.c: PostStack:proxy-support is a promise too.
 *
 * - A stack that declares it carries a carrier through an HTTP CONNECT
 *   proxy (tests/post-test-proxy.c, on loopback) that the configuration's
 *   GProxyResolver names: the echo comes back, the proxy made exactly one
 *   tunnel to the listener's port, and post_carrier_get_proxy() names it.
 * - A stack that does not declare it connects directly even though the
 *   resolver names a proxy (nothing of it would go through one): the proxy
 *   is never asked and the carrier has no proxy.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "post-contract.h"
#include "post-test-proxy.h"

static void
test_through_proxy (void)
{
  const PostContractStack *stack = post_contract_stack ();
  PostTestHttpProxy proxy;
  g_autofree char *proxy_uri = NULL;
  g_autoptr(GProxyResolver) resolver = NULL;
  g_autoptr(PostConfiguration) config = post_contract_config ();
  g_autoptr(GError) error = NULL;
  PostContractPair pair = { 0 };

  post_test_http_proxy_start (&proxy, NULL);
  proxy_uri = g_strdup_printf ("http://127.0.0.1:%u", proxy.port);
  resolver = g_simple_proxy_resolver_new (proxy_uri, NULL);
  g_assert_true (post_configuration_set_proxy_resolver (config, resolver, &error));
  g_assert_no_error (error);

  post_contract_pair_open (&pair, config, NULL);
  if (post_stack_get_proxy_support (stack->stack))
    {
      GProxyAddress *used = post_carrier_get_proxy (pair.client);
      g_autofree char *target = g_strdup_printf ("127.0.0.1:%u;", post_contract_port_of (pair.peer.listener));

      g_assert_nonnull (used);
      g_assert_cmpstr (g_proxy_address_get_protocol (used), ==, "http");
      g_assert_cmpuint (proxy.n_tunnels, ==, 1);
      g_assert_cmpstr (proxy.targets->str, ==, target);
    }
  else
    {
      post_contract_unsupported ("proxies: no proxy-support, so it connects directly "
                                 "and the proxy is not asked");
      g_assert_null (post_carrier_get_proxy (pair.client));
      g_assert_cmpuint (proxy.n_requests, ==, 0);
    }
  post_contract_pair_close (&pair);
  post_test_http_proxy_stop (&proxy);
}

void
post_contract_add_proxy_cases (void)
{
  post_contract_add ("proxy/through-proxy", test_through_proxy);
}
