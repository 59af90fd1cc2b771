/* test-schemes.c: URLs as the draft's example of a Remote.  A well-known
 * application scheme (https, http, ...) resolves recursively: the scheme
 * gives the default port and the candidate stacks, each with the ALPN ids
 * it implies (https: tls with h2 and http/1.1, raced with quic with h3),
 * and the attempt report shows that step.
 *
 * The establishment cases run a libpost tls listener and a libpost quic
 * listener (or gnutls-serv --alpn-fatal) on one loopback port, each
 * accepting only its ALPN ids; certificates are made at test time.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <post.h>

#include "post-test-util.h"

#include <string.h>

#define WAIT_TIMEOUT_S 15

static char *dir;  /* the certificates */

/* ---- parsing and resolution ---------------------------------------------- */

static void
test_parse (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostRemote) https = post_remote_new_from_uri ("https://Example.com/index.html?q=1", &error);
  g_autoptr(PostRemote) bare = post_remote_new_from_uri ("example.com:443", NULL);
  g_autoptr(PostRemote) explicit = post_remote_new_from_uri ("https://example.com:443", NULL);
  g_autoptr(PostRemote) http = post_remote_new_from_uri ("HTTP://example.com", NULL);
  g_autoptr(PostRemote) other_port = post_remote_new_from_uri ("https://example.com:8443", NULL);
  g_autofree char *text = NULL;
  g_autoptr(PostRemote) again = NULL;
  g_autoptr(PostRemote) bad = NULL;
  g_autoptr(PostLocal) local = NULL;

  g_assert_no_error (error);
  g_assert_cmpint (post_remote_get_level (https), ==, POST_REMOTE_LEVEL_URI);
  g_assert_cmpuint (post_remote_get_port (https), ==, 443);
  g_assert_null (post_remote_get_stack (https));
  g_assert_null (post_remote_get_alpn (https));
  /* The path and query are the application's: kept, not connected to */
  g_assert_cmpstr (post_remote_get_uri (https), ==, "https://Example.com/index.html?q=1");
  text = post_remote_to_string (https);
  g_assert_cmpstr (text, ==, "https://example.com:443");
  again = post_remote_new_from_uri (text, &error);
  g_assert_no_error (error);
  g_assert_true (post_remote_equal (again, https));
  g_assert_true (post_remote_equal (explicit, https));
  g_assert_false (post_remote_equal (bare, https));
  g_assert_cmpuint (post_remote_get_port (http), ==, 80);
  g_assert_cmpuint (post_remote_get_port (other_port), ==, 8443);

  /* An unknown scheme names the application schemes too */
  bad = post_remote_new_from_uri ("gopher://example.com:70", &error);
  g_assert_null (bad);
  g_assert_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "https"));
  g_clear_error (&error);
  /* A stack's scheme still takes no path */
  bad = post_remote_new_from_uri ("tls://example.com:443/index.html", &error);
  g_assert_null (bad);
  g_assert_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  /* A local listens on a stack, not on an application protocol */
  local = post_local_new_from_uri ("https://127.0.0.1:0", &error);
  g_assert_null (local);
  g_assert_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "application protocol"));
}

static void
resolved_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  GPtrArray **out = user_data;
  g_autoptr(GError) error = NULL;

  *out = post_remote_resolve_finish (POST_REMOTE (source), result, &error);
  g_assert_no_error (error);
}

static void
resolved_fully_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  GPtrArray **out = user_data;
  g_autoptr(GError) error = NULL;

  *out = post_remote_resolve_fully_finish (POST_REMOTE (source), result, &error);
  g_assert_no_error (error);
}

static void
assert_alpn (PostRemote  *remote,
             const char  *joined)
{
  const char * const *alpn = post_remote_get_alpn (remote);
  g_autofree char *text = alpn != NULL ? g_strjoinv (",", (char **) alpn) : NULL;

  g_assert_cmpstr (text, ==, joined);
}

static void
test_resolve (void)
{
  g_autoptr(PostRemote) https = post_remote_new_from_uri ("https://example.com:8443", NULL);
  g_autoptr(PostRemote) http = post_remote_new_from_uri ("http://[::1]", NULL);
  g_autoptr(PostRemote) literal = post_remote_new_from_uri ("https://127.0.0.1:8443", NULL);
  g_autoptr(GPtrArray) children = NULL;
  g_autoptr(GPtrArray) leaves = NULL;

  /* One step: a URI per candidate stack, with its ALPN ids */
  post_remote_resolve_async (https, NULL, resolved_cb, &children);
  while (children == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (children->len, ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      PostRemote *child = children->pdata[i];
      g_autofree char *text = post_remote_to_string (child);

      g_assert_cmpint (post_remote_get_level (child), ==, POST_REMOTE_LEVEL_URI);
      g_assert_true (post_remote_get_parent (child) == https);
      g_assert_cmpstr (post_remote_get_hostname (child), ==, "example.com");
      g_assert_cmpstr (text, ==, i == 0 ? "tls://example.com:8443" : "quic://example.com:8443");
      g_assert_cmpstr (post_remote_get_stack (child), ==, i == 0 ? "tls" : "quic");
      assert_alpn (child, i == 0 ? "h2,http/1.1" : "h3");
    }
  g_clear_pointer (&children, g_ptr_array_unref);

  post_remote_resolve_async (http, NULL, resolved_cb, &children);
  while (children == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (children->len, ==, 1);
  {
    g_autofree char *text = post_remote_to_string (children->pdata[0]);

    g_assert_cmpstr (text, ==, "tcp://[::1]:80");
    assert_alpn (children->pdata[0], NULL);
  }

  /* All the way: the address leaves keep the stack and the ALPN ids */
  post_remote_resolve_fully_async (literal, NULL, resolved_fully_cb, &leaves);
  while (leaves == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (leaves->len, ==, 2);
  g_assert_cmpstr (post_remote_get_stack (leaves->pdata[0]), ==, "tls");
  assert_alpn (leaves->pdata[0], "h2,http/1.1");
  g_assert_cmpstr (post_remote_get_stack (leaves->pdata[1]), ==, "quic");
  assert_alpn (leaves->pdata[1], "h3");
  for (guint i = 0; i < 2; i++)
    {
      g_assert_cmpint (post_remote_get_level (leaves->pdata[i]), ==, POST_REMOTE_LEVEL_ADDRESS);
      g_assert_cmpuint (post_remote_get_port (leaves->pdata[i]), ==, 8443);
    }
}

/* ---- establishment -------------------------------------------------------- */

/* Listeners on one loopback port: tls (TCP) and quic (UDP), each with its
 * own ALPN ids; either may be left out. */
typedef struct {
  guint16      port;
  PostCarrier *tls;     /* (owned) (nullable) */
  PostCarrier *quic;    /* (owned) (nullable) */
  PostTestEcho tls_echo;
  PostTestEcho quic_echo;
} Servers;

static PostCarrier *
listen_on (PostTestEcho       *echo,
           const char         *stack,
           guint16             port,
           const char * const *alpn)
{
  g_autofree char *uri = g_strdup_printf ("%s://127.0.0.1:%u", stack, port);
  g_autoptr(PostLocal) local = post_test_server_local (uri, dir, "server");
  g_autoptr(PostConfiguration) config = post_configuration_new ();

  g_assert_true (post_configuration_set_alpn (config, alpn, NULL));
  return post_test_echo_listen (echo, local, config, stack);
}

/* quic first on an ephemeral UDP port, then tls on the same TCP port */
static void
servers_start (Servers            *servers,
               const char * const *tls_alpn,
               const char * const *quic_alpn)
{
  memset (servers, 0, sizeof *servers);
  if (quic_alpn != NULL)
    {
      servers->quic = listen_on (&servers->quic_echo, "quic", 0, quic_alpn);
      servers->port = post_test_port_of (servers->quic);
    }
  if (tls_alpn != NULL)
    {
      servers->tls = listen_on (&servers->tls_echo, "tls", servers->port, tls_alpn);
      servers->port = post_test_port_of (servers->tls);
    }
}

static void
servers_stop (Servers *servers)
{
  if (servers->tls != NULL)
    {
      post_test_echo_clear (&servers->tls_echo);
      post_carrier_abort (servers->tls);
      g_clear_object (&servers->tls);
    }
  if (servers->quic != NULL)
    {
      post_test_echo_clear (&servers->quic_echo);
      post_carrier_abort (servers->quic);
      g_clear_object (&servers->quic);
    }
}

/* Establishes https://127.0.0.1:@port with @config (nullable: the test
 * CA only); returns the carrier, or NULL with @error. */
static PostCarrier *
establish_https (guint16             port,
                 const char * const *alpn,
                 GError            **error)
{
  g_autofree char *uri = g_strdup_printf ("https://127.0.0.1:%u/", port);
  g_autoptr(PostRemote) remote = post_remote_new_from_uri (uri, NULL);
  g_autoptr(PostConfiguration) config = post_test_client_config (dir);
  g_autoptr(PostMessage) message = post_message_new_from_string ("GET / HTTP/1.1\r\n\r\n");
  g_autoptr(PostCarrier) carrier = NULL;
  PostTestClient c = { 0 };

  g_assert_true (post_configuration_set_conn_timeout (config, 5000, NULL));
  if (alpn != NULL)
    g_assert_true (post_configuration_set_alpn (config, alpn, NULL));
  carrier = post_carrier_initiate (NULL, remote, config);
  g_assert_true (post_carrier_send (carrier, message, NULL));
  post_carrier_establish_async (carrier, NULL, post_test_established_cb, &c);
  post_test_wait_count (&c.done, 1, "establishment", WAIT_TIMEOUT_S);
  if (c.error != NULL)
    {
      g_propagate_error (error, c.error);
      return NULL;
    }
  return g_steal_pointer (&carrier);
}

static const char * const tls_ids[] = { "h2", NULL };
static const char * const quic_ids[] = { "h3", NULL };

/* Only quic listens: the tls attempt is refused, quic wins with h3 (the
 * quic listener accepts nothing else). */
static void
test_https_quic (void)
{
  Servers servers;
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(GError) error = NULL;

  if (!post_test_have_stack ("quic"))
    {
      g_test_skip ("the quic plugin is not built");
      return;
    }
  servers_start (&servers, NULL, quic_ids);
  carrier = establish_https (servers.port, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (post_carrier_get_stack_name (carrier), ==, "quic");
  g_assert_cmpstr (post_carrier_get_negotiated_protocol (carrier), ==, "h3");
  post_test_wait_count (&servers.quic_echo.n_messages, 1, "the request", WAIT_TIMEOUT_S);
  post_carrier_abort (carrier);
  servers_stop (&servers);
}

/* Only tls listens: tls wins with h2, the first id the scheme offers. */
static void
test_https_tls (void)
{
  Servers servers;
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(GError) error = NULL;

  servers_start (&servers, tls_ids, NULL);
  carrier = establish_https (servers.port, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (post_carrier_get_stack_name (carrier), ==, "tls");
  g_assert_cmpstr (post_carrier_get_negotiated_protocol (carrier), ==, "h2");
  post_carrier_abort (carrier);
  servers_stop (&servers);
}

/* Both listen: whichever wins the race, its protocol is its stack's. */
static void
test_https_race (void)
{
  Servers servers;
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(GError) error = NULL;
  const char *stack;

  if (!post_test_have_stack ("quic"))
    {
      g_test_skip ("the quic plugin is not built");
      return;
    }
  servers_start (&servers, tls_ids, quic_ids);
  carrier = establish_https (servers.port, NULL, &error);
  g_assert_no_error (error);
  stack = post_carrier_get_stack_name (carrier);
  g_test_message ("the race was won by %s", stack);
  if (g_strcmp0 (stack, "tls") == 0)
    g_assert_cmpstr (post_carrier_get_negotiated_protocol (carrier), ==, "h2");
  else
    {
      g_assert_cmpstr (stack, ==, "quic");
      g_assert_cmpstr (post_carrier_get_negotiated_protocol (carrier), ==, "h3");
    }
  post_carrier_abort (carrier);
  servers_stop (&servers);
}

/* ALPN the application names wins over the scheme's on every candidate:
 * quic then offers it, not h3. */
static void
test_https_app_alpn (void)
{
  static const char * const app[] = { "post-app", NULL };
  Servers servers;
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(GError) error = NULL;

  if (!post_test_have_stack ("quic"))
    {
      g_test_skip ("the quic plugin is not built");
      return;
    }
  servers_start (&servers, NULL, app);
  carrier = establish_https (servers.port, app, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (post_carrier_get_stack_name (carrier), ==, "quic");
  g_assert_cmpstr (post_carrier_get_negotiated_protocol (carrier), ==, "post-app");
  post_carrier_abort (carrier);
  servers_stop (&servers);
}

/* Nothing listens: the error names each attempt with the step that led
 * to it. */
static void
test_https_report (void)
{
  guint16 port = post_test_free_port (G_SOCKET_TYPE_STREAM);
  g_autofree char *tls_step = g_strdup_printf ("tls to 127.0.0.1:%u (https://127.0.0.1:%u gives tls with ALPN h2, http/1.1)",
                                               port, port);
  g_autofree char *quic_step = g_strdup_printf ("quic to 127.0.0.1:%u (https://127.0.0.1:%u gives quic with ALPN h3)",
                                                port, port);
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(GError) error = NULL;

  carrier = establish_https (port, NULL, &error);
  g_assert_null (carrier);
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  if (strstr (error->message, tls_step) == NULL)
    g_error ("the report does not show the tls step (%s): %s", tls_step, error->message);
  if (post_test_have_stack ("quic") && strstr (error->message, quic_step) == NULL)
    g_error ("the report does not show the quic step (%s): %s", quic_step, error->message);
}

/* The application's own ALPN ids replace the scheme's, and the report
 * says so. */
static void
test_https_report_own_alpn (void)
{
  static const char * const app[] = { "post-app", NULL };
  guint16 port = post_test_free_port (G_SOCKET_TYPE_STREAM);
  g_autofree char *tls_step =
    g_strdup_printf ("tls to 127.0.0.1:%u (https://127.0.0.1:%u gives tls with ALPN h2, http/1.1; "
                     "the configuration's own ALPN post-app instead)", port, port);
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(GError) error = NULL;

  carrier = establish_https (port, app, &error);
  g_assert_null (carrier);
  g_assert_nonnull (error);
  g_test_message ("%s", error->message);
  if (strstr (error->message, tls_step) == NULL)
    g_error ("the report does not show the tls step (%s): %s", tls_step, error->message);
}

/* A GNetworkAddress made from an https URL, as GSocketClient code has
 * them: the scheme resolves as the URL would (a URI-level remote whose
 * candidates are tls and quic with the scheme's ALPN), so tls wins with h2. */
static void
test_https_connectable (void)
{
  Servers servers;
  g_autofree char *url = NULL;
  g_autoptr(GSocketConnectable) address = NULL;
  g_autoptr(PostRemote) remote = NULL;
  g_autoptr(PostConfiguration) config = post_test_client_config (dir);
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(GError) error = NULL;
  PostTestClient c = { 0 };

  servers_start (&servers, tls_ids, NULL);
  url = g_strdup_printf ("https://127.0.0.1:%u/index.html", servers.port);
  address = g_network_address_parse_uri (url, 0, &error);
  g_assert_no_error (error);
  remote = post_remote_new_for_connectable (address, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (post_remote_get_level (remote), ==, POST_REMOTE_LEVEL_URI);
  g_assert_null (post_remote_get_stack (remote));
  g_assert_cmpuint (post_remote_get_port (remote), ==, servers.port);

  g_assert_true (post_configuration_set_conn_timeout (config, 5000, NULL));
  carrier = post_carrier_initiate (NULL, remote, config);
  post_carrier_establish_async (carrier, NULL, post_test_established_cb, &c);
  post_test_wait_count (&c.done, 1, "establishment", WAIT_TIMEOUT_S);
  g_assert_no_error (c.error);
  g_assert_cmpstr (post_carrier_get_stack_name (carrier), ==, "tls");
  g_assert_cmpstr (post_carrier_get_negotiated_protocol (carrier), ==, "h2");
  post_carrier_abort (carrier);
  servers_stop (&servers);

  /* without a port in the URL, the scheme's */
  {
    g_autoptr(GSocketConnectable) bare = g_network_address_parse_uri ("https://example.org/", 0, &error);
    g_autoptr(PostRemote) bare_remote = NULL;

    g_assert_no_error (error);
    bare_remote = post_remote_new_for_connectable (bare, NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpuint (post_remote_get_port (bare_remote), ==, 443);
  }
}

static void
explained_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  GPtrArray **ranked = user_data;
  g_autoptr(GError) error = NULL;

  *ranked = post_policy_explain_finish (POST_POLICY (source), result, &error);
  g_assert_no_error (error);
}

/* post-policy explain ranks an https URL as establishment does: each
 * address once per candidate stack of the scheme (tls, quic), and no
 * other stack, not even as removed. */
static void
test_https_explain (void)
{
  g_autoptr(PostRemote) remote = post_remote_new_from_uri ("https://127.0.0.1:8443/", NULL);
  g_autoptr(PostPolicy) policy = post_policy_new ((const char * const[]) { NULL });
  GPtrArray *ranked = NULL;
  guint n_tls = 0, n_quic = 0;

  post_policy_explain_async (policy, remote, NULL, NULL, NULL, explained_cb, &ranked);
  while (ranked == NULL)
    g_main_context_iteration (NULL, TRUE);
  for (guint i = 0; i < ranked->len; i++)
    {
      PostPolicyCandidate *candidate = ranked->pdata[i];
      const char *stack = post_stack_get_name (post_policy_candidate_get_stack (candidate));

      g_test_message ("%s%s", stack, post_policy_candidate_is_removed (candidate) ? " (removed)" : "");
      g_assert_true (g_str_equal (stack, "tls") || g_str_equal (stack, "quic"));
      g_assert_false (post_policy_candidate_is_removed (candidate));
      if (g_str_equal (stack, "tls"))
        n_tls++;
      else
        n_quic++;
    }
  g_assert_cmpuint (n_tls, ==, 1);
  g_assert_cmpuint (n_quic, ==, post_test_have_stack ("quic") ? 1 : 0);
  g_ptr_array_unref (ranked);
}

/* A real peer: gnutls-serv that ends any handshake without h2. */
static void
test_https_gnutls_serv (void)
{
  guint16 port = post_test_free_port (G_SOCKET_TYPE_STREAM);
  g_autofree char *p = g_strdup_printf ("%u", port);
  g_autofree char *cert = post_test_certs_path (dir, "server.pem");
  g_autofree char *key = post_test_certs_path (dir, "server.key");
  g_autoptr(GSubprocess) peer = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(GError) error = NULL;

  peer = post_test_spawn ((const char *[]) { "gnutls-serv", "--echo", "-p", p, "--x509certfile", cert,
                                             "--x509keyfile", key, "--alpn", "h2", "--alpn-fatal", NULL },
                          G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  for (guint i = 0; i < 200; i++)
    {
      g_autoptr(GSocketClient) client = g_socket_client_new ();
      g_autoptr(GSocketConnection) connection = g_socket_client_connect_to_host (client, "127.0.0.1", port,
                                                                                  NULL, NULL);

      if (connection != NULL)
        break;
      g_usleep (25000);
    }
  carrier = establish_https (port, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (post_carrier_get_stack_name (carrier), ==, "tls");
  g_assert_cmpstr (post_carrier_get_negotiated_protocol (carrier), ==, "h2");
  post_carrier_abort (carrier);
  post_test_kill (peer);
}

/* http:// names tcp: a cleartext carrier although a remote without a
 * scheme gets only secure stacks. */
static void
test_http (void)
{
  g_autoptr(PostLocal) local = post_local_new_from_uri ("tcp://127.0.0.1:0", NULL);
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(PostRemote) remote = NULL;
  g_autoptr(PostMessage) message = post_message_new_from_string ("GET / HTTP/1.1\r\n\r\n");
  g_autofree char *uri = NULL;
  PostTestEcho echo = { 0 };
  PostTestClient c = { 0 };

  listener = post_test_echo_listen (&echo, local, NULL, "tcp");
  uri = g_strdup_printf ("http://127.0.0.1:%u/index.html", post_test_port_of (listener));
  remote = post_remote_new_from_uri (uri, NULL);
  carrier = post_carrier_initiate (NULL, remote, NULL);
  g_assert_true (post_carrier_send (carrier, message, NULL));
  post_carrier_establish_async (carrier, NULL, post_test_established_cb, &c);
  post_test_wait_count (&c.done, 1, "establishment", WAIT_TIMEOUT_S);
  g_assert_no_error (c.error);
  g_assert_cmpstr (post_carrier_get_stack_name (carrier), ==, "tcp");
  g_assert_null (post_carrier_get_negotiated_protocol (carrier));
  post_test_wait_count (&echo.n_messages, 1, "the request", WAIT_TIMEOUT_S);
  post_carrier_abort (carrier);
  post_test_echo_clear (&echo);
  post_carrier_abort (listener);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  dir = post_test_certs_make ("post-schemes");
  g_test_add_func ("/schemes/parse", test_parse);
  g_test_add_func ("/schemes/resolve", test_resolve);
  g_test_add_func ("/schemes/https/quic", test_https_quic);
  g_test_add_func ("/schemes/https/tls", test_https_tls);
  g_test_add_func ("/schemes/https/race", test_https_race);
  g_test_add_func ("/schemes/https/application-alpn", test_https_app_alpn);
  g_test_add_func ("/schemes/https/report", test_https_report);
  g_test_add_func ("/schemes/https/report-own-alpn", test_https_report_own_alpn);
  g_test_add_func ("/schemes/https/gnutls-serv", test_https_gnutls_serv);
  g_test_add_func ("/schemes/https/connectable", test_https_connectable);
  g_test_add_func ("/schemes/https/explain", test_https_explain);
  g_test_add_func ("/schemes/http", test_http);
  ret = g_test_run ();
  post_test_certs_remove (dir);
  g_free (dir);
  return ret;
}
