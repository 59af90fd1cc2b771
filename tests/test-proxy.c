/* test-proxy.c: carriers through proxies on loopback: an HTTP CONNECT
 * proxy written here with GIO, and Debian's dante-server (danted) for SOCKS5
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>
#include <string.h>
#include <unistd.h>
#include <glib/gstdio.h>

#include "post-test-util.h"
#include "post-test-proxy.h"

#define WAIT_TIMEOUT_S 20

static char *certs;  /* the certificates (post-test-util.h) */

/* ---- danted, a SOCKS5 server ---------------------------------------------- */

typedef struct
{
  GSubprocess *process;
  char        *dir;
  char        *log;
  guint16      port;
} Dante;

static char *
find_danted (void)
{
  char *path = g_find_program_in_path ("danted");

  if (path == NULL && g_file_test ("/usr/sbin/danted", G_FILE_TEST_IS_EXECUTABLE))
    path = g_strdup ("/usr/sbin/danted");
  return path;
}

/* Whether a TCP connect to 127.0.0.1:@port succeeds now. */
static gboolean
port_answers (guint16 port)
{
  g_autoptr(GSocket) s = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                       G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) a = g_inet_socket_address_new (lo, port);

  return g_socket_connect (s, a, NULL, NULL);
}

/* Starts danted on a free loopback port, SOCKS5 without authentication;
 * FALSE (the test skipped) when dante-server is not installed. */
static gboolean
dante_start (Dante *dante)
{
  g_autofree char *danted = find_danted ();
  g_autofree char *config = NULL;
  g_autofree char *config_path = NULL;
  g_autofree char *pid_path = NULL;
  g_autoptr(GError) error = NULL;

  memset (dante, 0, sizeof *dante);
  if (danted == NULL)
    {
      g_test_skip ("danted (Debian's dante-server) is not installed: ./run deps installs it");
      return FALSE;
    }
  dante->dir = g_dir_make_tmp ("post-danted-XXXXXX", &error);
  g_assert_no_error (error);
  dante->log = g_build_filename (dante->dir, "danted.log", NULL);
  config_path = g_build_filename (dante->dir, "danted.conf", NULL);
  pid_path = g_build_filename (dante->dir, "danted.pid", NULL);
  dante->port = post_test_free_port (G_SOCKET_TYPE_STREAM);
  config = g_strdup_printf ("logoutput: %s\n"
                            "internal: 127.0.0.1 port = %u\n"
                            "external: 127.0.0.1\n"
                            "clientmethod: none\n"
                            "socksmethod: none\n"
                            "%s"
                            "client pass {\n"
                            "  from: 127.0.0.0/8 to: 0.0.0.0/0\n"
                            "  log: error connect disconnect\n"
                            "}\n"
                            "socks pass {\n"
                            "  from: 127.0.0.0/8 to: 0.0.0.0/0\n"
                            "  command: connect\n"
                            "  log: error connect disconnect\n"
                            "}\n",
                            dante->log, dante->port,
                            geteuid () == 0 ? "user.privileged: root\nuser.unprivileged: nobody\n" : "");
  g_assert_true (g_file_set_contents (config_path, config, -1, &error));
  g_assert_no_error (error);
  {
    const char *argv[] = { danted, "-f", config_path, "-p", pid_path, "-N", "1", NULL };

    dante->process = post_test_spawn (argv, G_SUBPROCESS_FLAGS_STDOUT_SILENCE
                                            | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  }
  /* Until it listens (a bounded wait, not a timing assertion) */
  for (guint i = 0; i < 500 && !port_answers (dante->port); i++)
    {
      g_assert_nonnull (g_subprocess_get_identifier (dante->process));   /* not dead */
      post_test_spin (20);
    }
  g_assert_true (port_answers (dante->port));
  return TRUE;
}

/* How many connections danted logged opening to 127.0.0.1:@port: its
 * log has "pass(1): tcp/connect [: CLIENT PROXY -> OUT 127.0.0.1.PORT". */
static guint
dante_count_connects (Dante   *dante,
                      guint16  port)
{
  g_autofree char *text = NULL;
  g_autofree char *end = g_strdup_printf (" 127.0.0.1.%u", port);
  g_auto(GStrv) lines = NULL;
  guint n = 0;

  if (!g_file_get_contents (dante->log, &text, NULL, NULL))
    return 0;
  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (strstr (lines[i], "tcp/connect [: ") != NULL && g_str_has_suffix (lines[i], end))
      n++;
  return n;
}

static void
dante_stop (Dante *dante)
{
  if (dante->process != NULL)
    post_test_kill (dante->process);
  g_clear_object (&dante->process);
  if (dante->dir != NULL)
    post_test_certs_remove (dante->dir);
  g_clear_pointer (&dante->dir, g_free);
  g_clear_pointer (&dante->log, g_free);
}

/* ---- a resolver that gives a list ----------------------------------------- */

/* What g_simple_proxy_resolver cannot say: several proxies in order, such
 * as a proxy then direct://.  Counts its lookups and keeps the last URI. */
#define TEST_TYPE_LIST_RESOLVER (test_list_resolver_get_type ())
G_DECLARE_FINAL_TYPE (TestListResolver, test_list_resolver, TEST, LIST_RESOLVER, GObject)

struct _TestListResolver
{
  GObject  parent_instance;
  GStrv    proxies;
  guint    n_lookups;
  char    *last_uri;
};

static void test_list_resolver_iface_init (GProxyResolverInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (TestListResolver, test_list_resolver, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_PROXY_RESOLVER, test_list_resolver_iface_init))

static TestListResolver *default_resolver;  /* (unowned) the one GIO made, see main() */

static void
test_list_resolver_finalize (GObject *object)
{
  TestListResolver *self = TEST_LIST_RESOLVER (object);

  g_strfreev (self->proxies);
  g_free (self->last_uri);
  G_OBJECT_CLASS (test_list_resolver_parent_class)->finalize (object);
}

static void
test_list_resolver_class_init (TestListResolverClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = test_list_resolver_finalize;
}

static void
test_list_resolver_init (TestListResolver *self)
{
  self->proxies = g_new0 (char *, 2);
  self->proxies[0] = g_strdup ("direct://");
}

static gboolean
test_list_resolver_is_supported (GProxyResolver *resolver)
{
  return TRUE;
}

static char **
test_list_resolver_lookup (GProxyResolver  *resolver,
                           const char      *uri,
                           GCancellable    *cancellable,
                           GError         **error)
{
  TestListResolver *self = TEST_LIST_RESOLVER (resolver);

  self->n_lookups++;
  g_free (self->last_uri);
  self->last_uri = g_strdup (uri);
  return g_strdupv (self->proxies);
}

static void
test_list_resolver_lookup_async (GProxyResolver      *resolver,
                                 const char          *uri,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (resolver, cancellable, callback, user_data);

  g_task_return_pointer (task, test_list_resolver_lookup (resolver, uri, cancellable, NULL),
                         (GDestroyNotify) g_strfreev);
}

static char **
test_list_resolver_lookup_finish (GProxyResolver  *resolver,
                                  GAsyncResult    *result,
                                  GError         **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
test_list_resolver_iface_init (GProxyResolverInterface *iface)
{
  iface->is_supported = test_list_resolver_is_supported;
  iface->lookup = test_list_resolver_lookup;
  iface->lookup_async = test_list_resolver_lookup_async;
  iface->lookup_finish = test_list_resolver_lookup_finish;
}

static TestListResolver *
list_resolver_new (const char * const *proxies)
{
  TestListResolver *self = g_object_new (TEST_TYPE_LIST_RESOLVER, NULL);

  g_strfreev (self->proxies);
  self->proxies = g_strdupv ((char **) proxies);
  return self;
}

/* ---- helpers ------------------------------------------------------------- */

/* An echo server over tcp, or over tls with the identity @name of certs */
static PostCarrier *
echo_server (PostTestEcho *echo,
             const char   *stack,
             const char   *name)
{
  g_autoptr(PostLocal) local = NULL;
  g_autofree char *uri = g_strdup_printf ("%s://127.0.0.1:0", stack);
  g_autoptr(GError) error = NULL;

  memset (echo, 0, sizeof *echo);
  if (name != NULL)
    local = post_test_server_local (uri, certs, name);
  else
    {
      local = post_local_new_from_uri (uri, &error);
      g_assert_no_error (error);
    }
  return post_test_echo_listen (echo, local, NULL, stack);
}

static PostConfiguration *
config_with (GProxyResolver *resolver)
{
  PostConfiguration *config = post_test_client_config (certs);
  g_autoptr(GError) error = NULL;

  g_assert_true (post_configuration_set_proxy_resolver (config, resolver, &error));
  g_assert_no_error (error);
  return config;
}

/* Establishes a carrier to @uri with @config; with @text, sends it and
 * waits for its echo.  Returns the carrier (the caller aborts it), with
 * the client's state in @c. */
static PostCarrier *
establish (const char        *uri,
           PostConfiguration *config,
           PostTestClient    *c,
           const char        *text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostRemote) remote = post_remote_new_from_uri (uri, &error);
  PostCarrier *carrier;

  g_assert_no_error (error);
  post_test_client_init (c);
  carrier = post_carrier_initiate (NULL, remote, config);
  post_carrier_ready (carrier, post_test_client_message_cb, c, NULL);
  post_carrier_establish_async (carrier, NULL, post_test_established_cb, c);
  post_test_wait_count (&c->done, 1, "establishment", WAIT_TIMEOUT_S);
  if (c->error == NULL && text != NULL)
    {
      post_test_send_and_wait (carrier, c, text, WAIT_TIMEOUT_S);
      g_assert_cmpstr (c->received->str, ==, text);
    }
  return carrier;
}

/* ---- the tests --------------------------------------------------------------- */

/* tcp through the HTTP CONNECT proxy: the traffic goes through it, the
 * carrier says so, and the proxy was asked for the remote's name. */
static void
test_http_tcp (void)
{
  PostTestEcho echo;
  g_autoptr(PostCarrier) server = echo_server (&echo, "tcp", NULL);
  PostTestHttpProxy proxy;
  g_autofree char *proxy_uri = NULL;
  g_autoptr(GProxyResolver) resolver = NULL;
  g_autoptr(PostConfiguration) config = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  g_autofree char *uri = NULL;
  g_autofree char *target = NULL;
  PostTestClient c;
  GProxyAddress *used;

  post_test_http_proxy_start (&proxy, NULL);
  proxy_uri = g_strdup_printf ("http://127.0.0.1:%u", proxy.port);
  resolver = g_simple_proxy_resolver_new (proxy_uri, NULL);
  config = config_with (resolver);
  uri = g_strdup_printf ("tcp://localhost:%u", post_test_port_of (server));
  carrier = establish (uri, config, &c, "through the proxy");
  g_assert_no_error (c.error);
  g_assert_cmpstr (post_carrier_get_stack_name (carrier), ==, "tcp");
  g_assert_cmpuint (proxy.n_tunnels, ==, 1);
  target = g_strdup_printf ("localhost:%u;", post_test_port_of (server));
  g_assert_cmpstr (proxy.targets->str, ==, target);
  used = post_carrier_get_proxy (carrier);
  g_assert_nonnull (used);
  g_assert_cmpstr (g_proxy_address_get_protocol (used), ==, "http");
  g_assert_cmpstr (g_proxy_address_get_destination_hostname (used), ==, "localhost");
  g_assert_cmpuint (g_proxy_address_get_destination_port (used), ==, post_test_port_of (server));
  /* the carrier's remote address is the proxy's */
  g_assert_cmpuint (g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (post_carrier_get_remote_address (carrier))),
                    ==, proxy.port);
  post_carrier_abort (carrier);
  post_test_client_clear (&c);
  post_test_echo_clear (&echo);
  post_test_http_proxy_stop (&proxy);
}

/* TLS through the proxy runs end to end and verifies the remote's name:
 * it works with the server's certificate for localhost, and fails with
 * one for another name — the proxy's address does not matter. */
static void
test_http_tls_verifies_origin (void)
{
  PostTestHttpProxy proxy;
  g_autofree char *proxy_uri = NULL;
  g_autoptr(GProxyResolver) resolver = NULL;

  post_test_http_proxy_start (&proxy, NULL);
  proxy_uri = g_strdup_printf ("http://127.0.0.1:%u", proxy.port);
  resolver = g_simple_proxy_resolver_new (proxy_uri, NULL);
  {
    PostTestEcho echo;
    g_autoptr(PostCarrier) server = echo_server (&echo, "tls", "server");
    g_autoptr(PostConfiguration) config = config_with (resolver);
    g_autofree char *uri = g_strdup_printf ("tls://localhost:%u", post_test_port_of (server));
    g_autoptr(PostCarrier) carrier = NULL;
    PostTestClient c;

    carrier = establish (uri, config, &c, "secret");
    g_assert_no_error (c.error);
    g_assert_cmpstr (post_carrier_get_stack_name (carrier), ==, "tls");
    g_assert_true (post_carrier_get_security_flags (carrier) & POST_SECURITY_ENCRYPTED);
    g_assert_nonnull (post_carrier_get_proxy (carrier));
    g_assert_cmpuint (proxy.n_tunnels, ==, 1);
    post_carrier_abort (carrier);
    post_test_client_clear (&c);
    post_test_echo_clear (&echo);
  }
  {
    PostTestEcho echo;
    g_autoptr(PostCarrier) server = echo_server (&echo, "tls", "wrongname");
    g_autoptr(PostConfiguration) config = config_with (resolver);
    g_autofree char *uri = g_strdup_printf ("tls://localhost:%u", post_test_port_of (server));
    g_autoptr(PostCarrier) carrier = NULL;
    PostTestClient c;

    carrier = establish (uri, config, &c, NULL);
    g_assert_error (c.error, POST_ERROR, POST_ERROR_TLS_NAME_MISMATCH);
    g_assert_nonnull (strstr (c.error->message, "through http://127.0.0.1"));
    g_assert_cmpuint (proxy.n_tunnels, ==, 2);   /* it went through, then TLS refused */
    post_carrier_abort (carrier);
    post_test_client_clear (&c);
    post_test_echo_clear (&echo);
  }
  post_test_http_proxy_stop (&proxy);
}

/* A proxy that wants credentials: none given is a clear error, the
 * right ones (from the proxy URI) pass. */
static void
test_http_auth (void)
{
  PostTestEcho echo;
  g_autoptr(PostCarrier) server = echo_server (&echo, "tcp", NULL);
  PostTestHttpProxy proxy;
  g_autofree char *uri = NULL;

  post_test_http_proxy_start (&proxy, "alice:s3cret");
  uri = g_strdup_printf ("tcp://127.0.0.1:%u", post_test_port_of (server));
  {
    g_autofree char *proxy_uri = g_strdup_printf ("http://127.0.0.1:%u", proxy.port);
    g_autoptr(GProxyResolver) resolver = g_simple_proxy_resolver_new (proxy_uri, NULL);
    g_autoptr(PostConfiguration) config = config_with (resolver);
    g_autoptr(PostCarrier) carrier = NULL;
    PostTestClient c;

    carrier = establish (uri, config, &c, NULL);
    g_assert_error (c.error, POST_ERROR, POST_ERROR_CONNECTION_REFUSED);
    g_assert_nonnull (strstr (c.error->message, "asks for credentials"));
    g_assert_cmpuint (proxy.n_refused, ==, 1);
    g_assert_cmpuint (proxy.n_tunnels, ==, 0);
    post_carrier_abort (carrier);
    post_test_client_clear (&c);
  }
  {
    g_autofree char *proxy_uri = g_strdup_printf ("http://alice:wrong@127.0.0.1:%u", proxy.port);
    g_autoptr(GProxyResolver) resolver = g_simple_proxy_resolver_new (proxy_uri, NULL);
    g_autoptr(PostConfiguration) config = config_with (resolver);
    g_autoptr(PostCarrier) carrier = NULL;
    PostTestClient c;

    carrier = establish (uri, config, &c, NULL);
    g_assert_error (c.error, POST_ERROR, POST_ERROR_CONNECTION_REFUSED);
    g_assert_nonnull (strstr (c.error->message, "refused the credentials"));
    /* the password is never shown */
    g_assert_null (strstr (c.error->message, "wrong"));
    post_carrier_abort (carrier);
    post_test_client_clear (&c);
  }
  {
    g_autofree char *proxy_uri = g_strdup_printf ("http://alice:s3cret@127.0.0.1:%u", proxy.port);
    g_autoptr(GProxyResolver) resolver = g_simple_proxy_resolver_new (proxy_uri, NULL);
    g_autoptr(PostConfiguration) config = config_with (resolver);
    g_autoptr(PostCarrier) carrier = NULL;
    PostTestClient c;

    carrier = establish (uri, config, &c, "authorized");
    g_assert_no_error (c.error);
    g_assert_cmpuint (proxy.n_tunnels, ==, 1);
    post_carrier_abort (carrier);
    post_test_client_clear (&c);
  }
  post_test_echo_clear (&echo);
  post_test_http_proxy_stop (&proxy);
}

/* SOCKS5 through danted, tcp and tls; its log shows the connects. */
static void
test_socks5_dante (void)
{
  Dante dante;
  g_autofree char *proxy_uri = NULL;
  g_autoptr(GProxyResolver) resolver = NULL;

  if (!dante_start (&dante))
    return;
  proxy_uri = g_strdup_printf ("socks5://127.0.0.1:%u", dante.port);
  resolver = g_simple_proxy_resolver_new (proxy_uri, NULL);
  {
    PostTestEcho echo;
    g_autoptr(PostCarrier) server = echo_server (&echo, "tcp", NULL);
    g_autoptr(PostConfiguration) config = config_with (resolver);
    g_autofree char *uri = g_strdup_printf ("tcp://127.0.0.1:%u", post_test_port_of (server));
    g_autoptr(PostCarrier) carrier = NULL;
    PostTestClient c;

    carrier = establish (uri, config, &c, "socks");
    g_assert_no_error (c.error);
    g_assert_cmpstr (g_proxy_address_get_protocol (post_carrier_get_proxy (carrier)), ==, "socks5");
    post_carrier_abort (carrier);
    post_test_client_clear (&c);
    /* (danted writes its log as it goes; give it a moment) */
    for (guint i = 0; i < 250 && dante_count_connects (&dante, post_test_port_of (server)) == 0; i++)
      post_test_spin (20);
    g_assert_cmpuint (dante_count_connects (&dante, post_test_port_of (server)), ==, 1);
    post_test_echo_clear (&echo);
  }
  {
    PostTestEcho echo;
    g_autoptr(PostCarrier) server = echo_server (&echo, "tls", "server");
    g_autoptr(PostConfiguration) config = config_with (resolver);
    g_autofree char *uri = g_strdup_printf ("tls://localhost:%u", post_test_port_of (server));
    g_autoptr(PostCarrier) carrier = NULL;
    PostTestClient c;

    carrier = establish (uri, config, &c, "socks and tls");
    g_assert_no_error (c.error);
    g_assert_cmpstr (post_carrier_get_stack_name (carrier), ==, "tls");
    post_carrier_abort (carrier);
    post_test_client_clear (&c);
    for (guint i = 0; i < 250 && dante_count_connects (&dante, post_test_port_of (server)) == 0; i++)
      post_test_spin (20);
    g_assert_cmpuint (dante_count_connects (&dante, post_test_port_of (server)), ==, 1);
    post_test_echo_clear (&echo);
  }
  dante_stop (&dante);
}

/* A dead proxy, direct:// next: the direct branch wins.  Without
 * direct://, the error names the proxy. */
static void
test_dead_proxy_fallback (void)
{
  PostTestEcho echo;
  g_autoptr(PostCarrier) server = echo_server (&echo, "tcp", NULL);
  guint16 dead = post_test_free_port (G_SOCKET_TYPE_STREAM);
  g_autofree char *proxy_uri = g_strdup_printf ("socks5://127.0.0.1:%u", dead);
  g_autofree char *uri = g_strdup_printf ("tcp://127.0.0.1:%u", post_test_port_of (server));

  {
    const char *list[] = { proxy_uri, "direct://", NULL };
    g_autoptr(TestListResolver) resolver = list_resolver_new (list);
    g_autoptr(PostConfiguration) config = config_with (G_PROXY_RESOLVER (resolver));
    g_autoptr(PostCarrier) carrier = NULL;
    PostTestClient c;

    carrier = establish (uri, config, &c, "direct after all");
    g_assert_no_error (c.error);
    g_assert_null (post_carrier_get_proxy (carrier));
    g_assert_cmpuint (resolver->n_lookups, ==, 1);
    g_assert_cmpstr (resolver->last_uri, ==, uri);
    post_carrier_abort (carrier);
    post_test_client_clear (&c);
  }
  {
    const char *list[] = { proxy_uri, NULL };
    g_autoptr(TestListResolver) resolver = list_resolver_new (list);
    g_autoptr(PostConfiguration) config = config_with (G_PROXY_RESOLVER (resolver));
    g_autoptr(PostCarrier) carrier = NULL;
    g_autofree char *through = g_strdup_printf ("through socks5://127.0.0.1:%u", dead);
    PostTestClient c;

    carrier = establish (uri, config, &c, NULL);
    g_assert_error (c.error, POST_ERROR, POST_ERROR_CONNECTION_REFUSED);
    g_assert_nonnull (strstr (c.error->message, through));
    g_assert_cmpuint (echo.n_accepted, ==, 1);   /* only the direct one above */
    post_carrier_abort (carrier);
    post_test_client_clear (&c);
  }
  post_test_echo_clear (&echo);
}

/* The resolver's order is the race's: a live proxy listed before
 * direct:// wins (the direct attempt waits for the attempt delay, which
 * is long here, or for the proxy's failure). */
static void
test_order (void)
{
  PostTestEcho echo;
  g_autoptr(PostCarrier) server = echo_server (&echo, "tcp", NULL);
  PostTestHttpProxy proxy;
  g_autofree char *proxy_uri = NULL;
  g_autofree char *uri = g_strdup_printf ("tcp://127.0.0.1:%u", post_test_port_of (server));
  g_autoptr(GError) error = NULL;

  post_test_http_proxy_start (&proxy, NULL);
  proxy_uri = g_strdup_printf ("http://127.0.0.1:%u", proxy.port);
  {
    const char *list[] = { proxy_uri, "direct://", NULL };
    g_autoptr(TestListResolver) resolver = list_resolver_new (list);
    g_autoptr(PostConfiguration) config = config_with (G_PROXY_RESOLVER (resolver));
    g_autoptr(PostCarrier) carrier = NULL;
    PostTestClient c;

    g_assert_true (post_configuration_set_attempt_delay (config, 20000, &error));
    carrier = establish (uri, config, &c, "proxy first");
    g_assert_no_error (c.error);
    g_assert_nonnull (post_carrier_get_proxy (carrier));
    g_assert_cmpuint (proxy.n_tunnels, ==, 1);
    post_carrier_abort (carrier);
    post_test_client_clear (&c);
  }
  {
    const char *list[] = { "direct://", proxy_uri, NULL };
    g_autoptr(TestListResolver) resolver = list_resolver_new (list);
    g_autoptr(PostConfiguration) config = config_with (G_PROXY_RESOLVER (resolver));
    g_autoptr(PostCarrier) carrier = NULL;
    PostTestClient c;

    g_assert_true (post_configuration_set_attempt_delay (config, 20000, &error));
    carrier = establish (uri, config, &c, "direct first");
    g_assert_no_error (c.error);
    g_assert_null (post_carrier_get_proxy (carrier));
    g_assert_cmpuint (proxy.n_requests, ==, 1);   /* not asked again */
    post_carrier_abort (carrier);
    post_test_client_clear (&c);
  }
  post_test_echo_clear (&echo);
  post_test_http_proxy_stop (&proxy);
}

/* no_proxy: the resolver's ignore list; and proxies turned off. */
static void
test_ignore_and_disable (void)
{
  PostTestEcho echo;
  g_autoptr(PostCarrier) server = echo_server (&echo, "tcp", NULL);
  PostTestHttpProxy proxy;
  g_autofree char *proxy_uri = NULL;
  g_autofree char *uri = g_strdup_printf ("tcp://127.0.0.1:%u", post_test_port_of (server));
  g_autoptr(GError) error = NULL;

  post_test_http_proxy_start (&proxy, NULL);
  proxy_uri = g_strdup_printf ("http://127.0.0.1:%u", proxy.port);
  {
    const char *ignore[] = { "127.0.0.0/8", NULL };
    g_autoptr(GProxyResolver) resolver = g_simple_proxy_resolver_new (proxy_uri, (char **) ignore);
    g_autoptr(PostConfiguration) config = config_with (resolver);
    g_autoptr(PostCarrier) carrier = NULL;
    PostTestClient c;

    carrier = establish (uri, config, &c, "ignored");
    g_assert_no_error (c.error);
    g_assert_null (post_carrier_get_proxy (carrier));
    post_carrier_abort (carrier);
    post_test_client_clear (&c);
  }
  {
    g_autoptr(GProxyResolver) resolver = g_simple_proxy_resolver_new (proxy_uri, NULL);
    g_autoptr(PostConfiguration) config = config_with (resolver);
    g_autoptr(PostCarrier) carrier = NULL;
    PostTestClient c;

    g_assert_true (post_configuration_set_enable_proxy (config, FALSE, &error));
    g_assert_no_error (error);
    carrier = establish (uri, config, &c, "disabled");
    g_assert_no_error (c.error);
    g_assert_null (post_carrier_get_proxy (carrier));
    post_carrier_abort (carrier);
    post_test_client_clear (&c);
  }
  g_assert_cmpuint (proxy.n_requests, ==, 0);
  post_test_echo_clear (&echo);
  post_test_http_proxy_stop (&proxy);
}

/* udp cannot go through a proxy: a race of stacks none of which can is
 * not proxied at all (as GIO's own UDP sockets are not), and the resolver
 * is not even asked. */
static void
test_udp_not_proxied (void)
{
  const char *list[] = { "socks5://127.0.0.1:9", NULL };
  g_autoptr(TestListResolver) resolver = list_resolver_new (list);
  g_autoptr(PostConfiguration) config = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(PostCarrier) server = NULL;
  PostTestEcho echo;
  g_autofree char *uri = NULL;
  PostTestClient c;

  if (!post_test_have_stack ("udp"))
    {
      g_test_skip ("no udp stack in this build");
      return;
    }
  server = echo_server (&echo, "udp", NULL);
  config = config_with (G_PROXY_RESOLVER (resolver));
  uri = g_strdup_printf ("udp://127.0.0.1:%u", post_test_port_of (server));
  carrier = establish (uri, config, &c, "datagram");
  g_assert_no_error (c.error);
  g_assert_null (post_carrier_get_proxy (carrier));
  g_assert_cmpuint (resolver->n_lookups, ==, 0);
  post_carrier_abort (carrier);
  post_test_client_clear (&c);
  post_test_echo_clear (&echo);
}

/* A GProxyAddress as the remote: that proxy, to its destination. */
static void
test_proxy_address_remote (void)
{
  PostTestEcho echo;
  g_autoptr(PostCarrier) server = echo_server (&echo, "tcp", NULL);
  PostTestHttpProxy proxy;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(PostRemote) remote = NULL;
  g_autoptr(PostConfiguration) config = post_test_client_config (certs);
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(GError) error = NULL;
  PostTestClient c;

  post_test_http_proxy_start (&proxy, NULL);
  address = g_proxy_address_new (loopback, proxy.port, "http", "localhost",
                                 post_test_port_of (server), NULL, NULL);
  remote = post_remote_new_for_connectable (G_SOCKET_CONNECTABLE (address), "tcp", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (post_remote_get_hostname (remote), ==, "localhost");
  g_assert_cmpuint (post_remote_get_port (remote), ==, post_test_port_of (server));
  g_assert_true (post_remote_get_proxy (remote) == G_PROXY_ADDRESS (address));

  post_test_client_init (&c);
  carrier = post_carrier_initiate (NULL, remote, config);
  post_carrier_ready (carrier, post_test_client_message_cb, &c, NULL);
  post_carrier_establish_async (carrier, NULL, post_test_established_cb, &c);
  post_test_wait_count (&c.done, 1, "establishment", WAIT_TIMEOUT_S);
  g_assert_no_error (c.error);
  post_test_send_and_wait (carrier, &c, "by address", WAIT_TIMEOUT_S);
  g_assert_cmpuint (proxy.n_tunnels, ==, 1);
  post_carrier_abort (carrier);
  post_test_client_clear (&c);
  post_test_echo_clear (&echo);
  post_test_http_proxy_stop (&proxy);
}

/* A tls echo server for localhost that speaks only @alpn */
static PostCarrier *
alpn_server (PostTestEcho       *echo,
             const char * const *alpn)
{
  g_autoptr(PostLocal) local = post_test_server_local ("tls://127.0.0.1:0", certs, "server");
  g_autoptr(PostConfiguration) config = post_configuration_new ();

  memset (echo, 0, sizeof *echo);
  g_assert_true (post_configuration_set_alpn (config, alpn, NULL));
  return post_test_echo_listen (echo, local, config, "tls");
}

/* https:// through the proxy: of the scheme's candidates only tls can go
 * through it, with the scheme's ALPN ids (the server takes only h2), and
 * the same from a GProxyAddress whose destination protocol is https, as
 * GProxyAddressEnumerator gives them. */
static void
test_https_alpn (void)
{
  static const char * const h2[] = { "h2", NULL };
  PostTestEcho echo;
  g_autoptr(PostCarrier) server = alpn_server (&echo, h2);
  PostTestHttpProxy proxy;
  g_autofree char *proxy_uri = NULL;
  g_autoptr(GProxyResolver) resolver = NULL;

  post_test_http_proxy_start (&proxy, NULL);
  proxy_uri = g_strdup_printf ("http://127.0.0.1:%u", proxy.port);
  resolver = g_simple_proxy_resolver_new (proxy_uri, NULL);
  {
    g_autoptr(PostConfiguration) config = config_with (resolver);
    g_autofree char *uri = g_strdup_printf ("https://localhost:%u/", post_test_port_of (server));
    g_autoptr(PostCarrier) carrier = NULL;
    PostTestClient c;

    carrier = establish (uri, config, &c, "GET / HTTP/1.1");
    g_assert_no_error (c.error);
    g_assert_cmpstr (post_carrier_get_stack_name (carrier), ==, "tls");
    g_assert_nonnull (post_carrier_get_proxy (carrier));
    g_assert_cmpstr (post_carrier_get_negotiated_protocol (carrier), ==, "h2");
    g_assert_cmpuint (proxy.n_tunnels, ==, 1);
    post_carrier_abort (carrier);
    post_test_client_clear (&c);
  }
  {
    g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
    g_autoptr(GSocketAddress) address = NULL;
    g_autoptr(PostRemote) remote = NULL;
    g_autoptr(PostConfiguration) config = post_test_client_config (certs);
    g_autoptr(PostCarrier) carrier = NULL;
    g_autoptr(GError) error = NULL;
    PostTestClient c;

    address = g_object_new (G_TYPE_PROXY_ADDRESS,
                            "address", loopback,
                            "port", (guint) proxy.port,
                            "protocol", "http",
                            "destination-protocol", "https",
                            "destination-hostname", "localhost",
                            "destination-port", (guint) post_test_port_of (server),
                            NULL);
    remote = post_remote_new_for_connectable (G_SOCKET_CONNECTABLE (address), NULL, &error);
    g_assert_no_error (error);
    g_assert_cmpstr (post_remote_get_stack (remote), ==, "tls");
    g_assert_cmpstrv (post_remote_get_alpn (remote), ((const char * const[]) { "h2", "http/1.1", NULL }));

    post_test_client_init (&c);
    carrier = post_carrier_initiate (NULL, remote, config);
    post_carrier_establish_async (carrier, NULL, post_test_established_cb, &c);
    post_test_wait_count (&c.done, 1, "establishment", WAIT_TIMEOUT_S);
    g_assert_no_error (c.error);
    g_assert_cmpstr (post_carrier_get_negotiated_protocol (carrier), ==, "h2");
    g_assert_cmpuint (proxy.n_tunnels, ==, 2);
    post_carrier_abort (carrier);
    post_test_client_clear (&c);
  }
  post_test_echo_clear (&echo);
  post_test_http_proxy_stop (&proxy);
}

/* The default resolver (g_proxy_resolver_get_default()) is consulted when
 * the configuration sets none: here GIO's default is this test's resolver,
 * registered at GIO's extension point and chosen with
 * GIO_USE_PROXY_RESOLVER, as glib-networking's are.  A literal loopback
 * remote bypasses it unless the configuration's proxy-loopback says to ask
 * (a copy keeps that, and its text differs so that nothing cached for the
 * one is reused for the other). */
static void
test_default_resolver (void)
{
  PostTestEcho echo;
  g_autoptr(PostCarrier) server = echo_server (&echo, "tcp", NULL);
  PostTestHttpProxy proxy;
  g_autofree char *proxy_uri = NULL;
  g_autofree char *uri = g_strdup_printf ("tcp://127.0.0.1:%u", post_test_port_of (server));
  g_autoptr(PostConfiguration) bypass = post_test_client_config (certs);
  g_autoptr(PostConfiguration) asks = post_test_client_config (certs);
  g_autoptr(PostConfiguration) copy = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *bypass_text = NULL, *asks_text = NULL;
  PostTestClient c;
  guint lookups;

  g_assert_true (G_OBJECT_TYPE (g_proxy_resolver_get_default ()) == TEST_TYPE_LIST_RESOLVER);
  g_assert_true (default_resolver == (TestListResolver *) g_proxy_resolver_get_default ());
  post_test_http_proxy_start (&proxy, NULL);
  proxy_uri = g_strdup_printf ("http://127.0.0.1:%u", proxy.port);
  g_strfreev (default_resolver->proxies);
  default_resolver->proxies = g_new0 (char *, 2);
  default_resolver->proxies[0] = g_strdup (proxy_uri);

  /* 127.0.0.1 by default: direct, the resolver not asked */
  g_assert_false (post_configuration_get_proxy_loopback (bypass));
  lookups = default_resolver->n_lookups;
  carrier = establish (uri, bypass, &c, "loopback, direct");
  g_assert_no_error (c.error);
  g_assert_cmpuint (default_resolver->n_lookups, ==, lookups);
  g_assert_cmpuint (proxy.n_tunnels, ==, 0);
  post_carrier_abort (carrier);
  g_clear_object (&carrier);
  post_test_client_clear (&c);

  /* proxy-loopback: asked, and through the proxy it names */
  g_assert_true (post_configuration_set_proxy_loopback (asks, TRUE, &error));
  g_assert_no_error (error);
  g_assert_true (post_configuration_get_proxy_loopback (asks));
  copy = post_configuration_copy (asks);
  g_assert_true (post_configuration_get_proxy_loopback (copy));
  bypass_text = post_configuration_to_string (bypass);
  asks_text = post_configuration_to_string (asks);
  g_assert_cmpstr (bypass_text, !=, asks_text);
  carrier = establish (uri, copy, &c, "by default");
  g_assert_no_error (c.error);
  g_assert_cmpuint (default_resolver->n_lookups, ==, lookups + 1);
  g_assert_cmpuint (proxy.n_tunnels, ==, 1);
  post_carrier_abort (carrier);
  post_test_client_clear (&c);

  /* back to direct:// for the other tests */
  g_free (default_resolver->proxies[0]);
  default_resolver->proxies[0] = g_strdup ("direct://");
  post_test_echo_clear (&echo);
  post_test_http_proxy_stop (&proxy);
}

/* A name only the proxy can resolve (.invalid never resolves here): the
 * direct branch has nothing to try, the proxied one goes on; and a remote
 * without a URI is asked about as GSocketClient asks, none://HOST:PORT. */
static void
test_name_only_the_proxy_knows (void)
{
  PostTestEcho echo;
  g_autoptr(PostCarrier) server = echo_server (&echo, "tcp", NULL);
  PostTestHttpProxy proxy;
  g_autofree char *proxy_uri = NULL;
  g_autoptr(GError) error = NULL;

  post_test_http_proxy_start (&proxy, NULL);
  proxy.alias = g_strdup ("only-the-proxy.invalid");
  proxy_uri = g_strdup_printf ("http://127.0.0.1:%u", proxy.port);
  {
    const char *list[] = { "direct://", proxy_uri, NULL };
    g_autoptr(TestListResolver) resolver = list_resolver_new (list);
    g_autoptr(PostConfiguration) config = config_with (G_PROXY_RESOLVER (resolver));
    g_autofree char *uri = g_strdup_printf ("tcp://only-the-proxy.invalid:%u", post_test_port_of (server));
    g_autoptr(PostCarrier) carrier = NULL;
    PostTestClient c;

    carrier = establish (uri, config, &c, "resolved over there");
    g_assert_no_error (c.error);
    g_assert_nonnull (post_carrier_get_proxy (carrier));
    g_assert_cmpuint (proxy.n_tunnels, ==, 1);
    post_carrier_abort (carrier);
    post_test_client_clear (&c);
  }
  {
    const char *list[] = { proxy_uri, NULL };
    g_autoptr(TestListResolver) resolver = list_resolver_new (list);
    g_autoptr(PostConfiguration) config = config_with (G_PROXY_RESOLVER (resolver));
    const char *stacks[] = { "tcp", NULL };
    g_autoptr(PostRemote) remote = post_remote_new ("localhost", post_test_port_of (server));
    g_autoptr(PostCarrier) carrier = NULL;
    g_autofree char *asked = g_strdup_printf ("none://localhost:%u", post_test_port_of (server));
    PostTestClient c;

    g_assert_true (post_configuration_set_stacks (config, stacks, &error));
    g_assert_no_error (error);
    post_test_client_init (&c);
    carrier = post_carrier_initiate (NULL, remote, config);
    post_carrier_ready (carrier, post_test_client_message_cb, &c, NULL);
    post_carrier_establish_async (carrier, NULL, post_test_established_cb, &c);
    post_test_wait_count (&c.done, 1, "establishment", WAIT_TIMEOUT_S);
    g_assert_no_error (c.error);
    g_assert_cmpstr (resolver->last_uri, ==, asked);
    g_assert_cmpuint (proxy.n_tunnels, ==, 2);
    post_carrier_abort (carrier);
    post_test_client_clear (&c);
  }
  post_test_echo_clear (&echo);
  post_test_http_proxy_stop (&proxy);
}

/* A proxy that never answers: the establishment times out naming it, and
 * the handshake in progress is stopped (nothing leaks, nothing fires
 * later). */
static void
test_stalled_proxy (void)
{
  PostTestHttpProxy proxy;
  g_autofree char *proxy_uri = NULL;
  g_autoptr(GProxyResolver) resolver = NULL;
  g_autoptr(PostConfiguration) config = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *through = NULL;
  PostTestClient c;

  post_test_http_proxy_start (&proxy, NULL);
  proxy.stall = TRUE;
  proxy_uri = g_strdup_printf ("http://127.0.0.1:%u", proxy.port);
  resolver = g_simple_proxy_resolver_new (proxy_uri, NULL);
  config = config_with (resolver);
  g_assert_true (post_configuration_set_conn_timeout (config, 1000, &error));
  g_assert_no_error (error);
  carrier = establish ("tcp://127.0.0.1:9", config, &c, NULL);
  g_assert_error (c.error, POST_ERROR, POST_ERROR_TIMED_OUT);
  through = g_strdup_printf ("through %s", proxy_uri);
  g_assert_nonnull (strstr (c.error->message, through));
  g_assert_cmpuint (proxy.n_requests, ==, 1);
  g_assert_cmpuint (proxy.n_tunnels, ==, 0);
  post_test_spin (50);
  post_carrier_abort (carrier);
  post_test_client_clear (&c);
  post_test_http_proxy_stop (&proxy);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  /* GIO's default proxy resolver is this test's (see test_default_resolver) */
  g_setenv ("GIO_USE_PROXY_RESOLVER", "post-test-list", TRUE);
  {
    /* (registering returns the point GIO registers too, whichever is first) */
    GIOExtensionPoint *point = g_io_extension_point_register (G_PROXY_RESOLVER_EXTENSION_POINT_NAME);

    g_io_extension_point_set_required_type (point, G_TYPE_PROXY_RESOLVER);
    g_io_extension_point_implement (G_PROXY_RESOLVER_EXTENSION_POINT_NAME,
                                    TEST_TYPE_LIST_RESOLVER, "post-test-list", 1000);
    default_resolver = (TestListResolver *) g_proxy_resolver_get_default ();
  }
  certs = post_test_certs_make ("post-proxy");

  g_test_add_func ("/proxy/http/tcp", test_http_tcp);
  g_test_add_func ("/proxy/http/tls-verifies-origin", test_http_tls_verifies_origin);
  g_test_add_func ("/proxy/http/auth", test_http_auth);
  g_test_add_func ("/proxy/socks5/dante", test_socks5_dante);
  g_test_add_func ("/proxy/race/dead-proxy-fallback", test_dead_proxy_fallback);
  g_test_add_func ("/proxy/race/order", test_order);
  g_test_add_func ("/proxy/ignore-and-disable", test_ignore_and_disable);
  g_test_add_func ("/proxy/udp-not-proxied", test_udp_not_proxied);
  g_test_add_func ("/proxy/proxy-address-remote", test_proxy_address_remote);
  g_test_add_func ("/proxy/https-alpn", test_https_alpn);
  g_test_add_func ("/proxy/default-resolver", test_default_resolver);
  g_test_add_func ("/proxy/name-only-the-proxy-knows", test_name_only_the_proxy_knows);
  g_test_add_func ("/proxy/stalled-proxy", test_stalled_proxy);

  ret = g_test_run ();
  post_test_certs_remove (certs);
  g_clear_pointer (&certs, g_free);
  return ret;
}
