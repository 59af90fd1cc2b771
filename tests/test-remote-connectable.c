/* test-remote-connectable.c: remotes from GIO's GSocketConnectables —
 * GNetworkAddress, GInetSocketAddress, GNetworkService (DNS SRV) — and a
 * carrier raced over an SRV service's targets.
 *
 * DNS is stood in for by a GResolver of the test's own, set as the default
 * resolver (as GLib's own tests do): "a.example.test" and "b.example.test"
 * are 127.0.0.1, "_echo._tcp.example.test" has the targets a (priority 10,
 * a port nobody listens on) and b (priority 20, the test's listener), and
 * "_gone._tcp.example.test" has only the target ".".
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>
#include <string.h>

#include "post-test-util.h"

/* ---- the test's resolver ------------------------------------------------------------------ */

#define TEST_TYPE_RESOLVER (test_resolver_get_type ())
G_DECLARE_FINAL_TYPE (TestResolver, test_resolver, TEST, RESOLVER, GResolver)

struct _TestResolver
{
  GResolver parent_instance;
  guint16   port_a;     /* nobody listens */
  guint16   port_b;     /* the listener */
  guint     service_lookups;
};

G_DEFINE_FINAL_TYPE (TestResolver, test_resolver, G_TYPE_RESOLVER)

static void
test_resolver_lookup_by_name_with_flags_async (GResolver                *resolver,
                                               const char               *hostname,
                                               GResolverNameLookupFlags  flags,
                                               GCancellable             *cancellable,
                                               GAsyncReadyCallback       callback,
                                               gpointer                  user_data)
{
  g_autoptr(GTask) task = g_task_new (resolver, cancellable, callback, user_data);

  if ((g_str_equal (hostname, "a.example.test") || g_str_equal (hostname, "b.example.test"))
      && flags != G_RESOLVER_NAME_LOOKUP_FLAGS_IPV6_ONLY)
    g_task_return_pointer (task, g_list_append (NULL, g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4)),
                           (GDestroyNotify) g_resolver_free_addresses);
  else
    g_task_return_new_error (task, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND, "no %s", hostname);
}

static GList *
test_resolver_lookup_by_name_with_flags_finish (GResolver     *resolver,
                                                GAsyncResult  *result,
                                                GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
test_resolver_lookup_by_name_async (GResolver           *resolver,
                                    const char          *hostname,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  test_resolver_lookup_by_name_with_flags_async (resolver, hostname, G_RESOLVER_NAME_LOOKUP_FLAGS_DEFAULT,
                                                 cancellable, callback, user_data);
}

static void
test_resolver_lookup_service_async (GResolver           *resolver,
                                    const char          *rrname,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  TestResolver *self = TEST_RESOLVER (resolver);
  g_autoptr(GTask) task = g_task_new (resolver, cancellable, callback, user_data);
  GList *targets = NULL;

  self->service_lookups++;
  if (g_str_equal (rrname, "_echo._tcp.example.test"))
    {
      /* listed backwards: the sort puts priority 10 first */
      targets = g_list_append (targets, g_srv_target_new ("b.example.test", self->port_b, 20, 0));
      targets = g_list_append (targets, g_srv_target_new ("a.example.test", self->port_a, 10, 0));
      targets = g_srv_target_list_sort (targets);
    }
  else if (g_str_equal (rrname, "_gone._tcp.example.test"))
    targets = g_list_append (targets, g_srv_target_new (".", 0, 0, 0));

  if (targets != NULL)
    g_task_return_pointer (task, targets, (GDestroyNotify) g_resolver_free_targets);
  else
    g_task_return_new_error (task, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND, "no %s", rrname);
}

static GList *
test_resolver_lookup_service_finish (GResolver     *resolver,
                                     GAsyncResult  *result,
                                     GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
test_resolver_class_init (TestResolverClass *klass)
{
  GResolverClass *resolver_class = G_RESOLVER_CLASS (klass);

  resolver_class->lookup_by_name_async = test_resolver_lookup_by_name_async;
  resolver_class->lookup_by_name_finish = test_resolver_lookup_by_name_with_flags_finish;
  resolver_class->lookup_by_name_with_flags_async = test_resolver_lookup_by_name_with_flags_async;
  resolver_class->lookup_by_name_with_flags_finish = test_resolver_lookup_by_name_with_flags_finish;
  resolver_class->lookup_service_async = test_resolver_lookup_service_async;
  resolver_class->lookup_service_finish = test_resolver_lookup_service_finish;
}

static void
test_resolver_init (TestResolver *self)
{
}

static TestResolver *resolver;

/* ---- constructing remotes from connectables --------------------------------------------------- */

static void
test_network_address (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketConnectable) address = g_network_address_parse_uri ("tls://example.org:8443", 0, &error);
  g_autoptr(PostRemote) remote = NULL;
  g_autoptr(PostRemote) forced = NULL;
  g_autoptr(GSocketConnectable) plain = g_network_address_new ("example.org", 80);
  g_autoptr(PostRemote) chosen = NULL;

  g_assert_no_error (error);
  remote = post_remote_new_for_connectable (address, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (post_remote_get_level (remote), ==, POST_REMOTE_LEVEL_NAME);
  g_assert_cmpstr (post_remote_get_hostname (remote), ==, "example.org");
  g_assert_cmpuint (post_remote_get_port (remote), ==, 8443);
  /* the scheme names the stack, unless the caller names one */
  g_assert_cmpstr (post_remote_get_stack (remote), ==, "tls");
  forced = post_remote_new_for_connectable (address, "quic", &error);
  g_assert_no_error (error);
  g_assert_cmpstr (post_remote_get_stack (forced), ==, "quic");
  chosen = post_remote_new_for_connectable (plain, NULL, &error);
  g_assert_no_error (error);
  g_assert_null (post_remote_get_stack (chosen));
  g_assert_cmpuint (post_remote_get_port (chosen), ==, 80);
}

static void
test_inet_socket_address (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV6);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 7000);
  g_autoptr(PostRemote) remote = post_remote_new_for_connectable (G_SOCKET_CONNECTABLE (address), "udp", &error);
  g_autofree char *text = NULL;

  g_assert_no_error (error);
  g_assert_cmpint (post_remote_get_level (remote), ==, POST_REMOTE_LEVEL_ADDRESS);
  g_assert_true (post_remote_is_resolved (remote));
  text = post_remote_to_string (remote);
  g_assert_cmpstr (text, ==, "udp://[::1]:7000");
}

static void
test_refused_connectables (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) proxied = g_proxy_address_new (loopback, 1080, "socks5", "example.org", 443,
                                                           NULL, NULL);
  g_autoptr(GSocketConnectable) evil = g_network_address_new ("evil\nInjected", 80);
  g_autoptr(GSocketConnectable) fine = g_network_address_new ("example.org", 80);
  g_autoptr(GSocketAddress) unix_address = g_unix_socket_address_new ("/run/nothing");

  /* a proxy is not taken for the peer: the remote is its destination,
   * reached through it only (test-proxy connects through one) */
  {
    g_autoptr(PostRemote) remote = post_remote_new_for_connectable (G_SOCKET_CONNECTABLE (proxied), NULL, &error);

    g_assert_no_error (error);
    g_assert_cmpstr (post_remote_get_hostname (remote), ==, "example.org");
    g_assert_cmpuint (post_remote_get_port (remote), ==, 443);
    g_assert_true (post_remote_get_proxy (remote) == G_PROXY_ADDRESS (proxied));
    g_assert_null (post_remote_get_address (remote));
  }
  g_assert_null (post_remote_new_for_connectable (evil, NULL, &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (post_remote_new_for_connectable (fine, "gopher", &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (post_remote_new_for_connectable (G_SOCKET_CONNECTABLE (unix_address), NULL, &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_NOT_SUPPORTED);
}

/* ---- DNS SRV ------------------------------------------------------------------------------------ */

static void
resolved_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

static GAsyncResult *
wait_result (GAsyncResult **result)
{
  post_test_wait_count ((const guint *) result, 1, "a resolution", 10);
  return *result;
}

static void
test_service (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketConnectable) service = g_network_service_new ("echo", "tcp", "example.test");
  g_autoptr(PostRemote) remote = post_remote_new_for_connectable (service, "tcp", &error);
  g_autoptr(GPtrArray) children = NULL;
  g_autoptr(GPtrArray) addresses = NULL;
  g_autofree char *text = NULL;
  GAsyncResult *result = NULL;

  g_assert_no_error (error);
  g_assert_cmpint (post_remote_get_level (remote), ==, POST_REMOTE_LEVEL_NAME);
  g_assert_cmpstr (post_remote_get_service (remote), ==, "echo");
  text = post_remote_to_string (remote);
  g_assert_cmpstr (text, ==, "tcp://_echo._tcp.example.test");

  /* one level down: the targets, in priority order, keeping the stack */
  post_remote_resolve_async (remote, NULL, resolved_cb, &result);
  children = post_remote_resolve_finish (remote, wait_result (&result), &error);
  g_clear_object (&result);
  g_assert_no_error (error);
  g_assert_cmpuint (children->len, ==, 2);
  g_assert_cmpstr (post_remote_get_hostname (children->pdata[0]), ==, "a.example.test");
  g_assert_cmpuint (post_remote_get_port (children->pdata[0]), ==, resolver->port_a);
  g_assert_cmpstr (post_remote_get_hostname (children->pdata[1]), ==, "b.example.test");
  g_assert_cmpstr (post_remote_get_stack (children->pdata[1]), ==, "tcp");
  g_assert_true (post_remote_get_parent (children->pdata[1]) == remote);

  /* all the way: one address per target, targets in order */
  post_remote_resolve_fully_async (remote, NULL, resolved_cb, &result);
  addresses = post_remote_resolve_fully_finish (remote, wait_result (&result), &error);
  g_clear_object (&result);
  g_assert_no_error (error);
  g_assert_cmpuint (addresses->len, ==, 2);
  g_assert_cmpuint (post_remote_get_port (addresses->pdata[0]), ==, resolver->port_a);
  g_assert_cmpuint (post_remote_get_port (addresses->pdata[1]), ==, resolver->port_b);
}

static void
test_service_not_offered (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketConnectable) gone = g_network_service_new ("gone", "tcp", "example.test");
  g_autoptr(GSocketConnectable) missing = g_network_service_new ("missing", "tcp", "example.test");
  g_autoptr(PostRemote) remote = post_remote_new_for_connectable (gone, NULL, &error);
  g_autoptr(PostRemote) absent = post_remote_new_for_connectable (missing, NULL, &error);
  GAsyncResult *result = NULL;

  g_assert_no_error (error);
  post_remote_resolve_async (remote, NULL, resolved_cb, &result);
  g_assert_null (post_remote_resolve_finish (remote, wait_result (&result), &error));
  g_clear_object (&result);
  g_assert_error (error, POST_ERROR, POST_ERROR_RESOLVE);
  g_test_message ("%s", error->message);
  g_clear_error (&error);
  post_remote_resolve_async (absent, NULL, resolved_cb, &result);
  g_assert_null (post_remote_resolve_finish (absent, wait_result (&result), &error));
  g_clear_object (&result);
  g_assert_error (error, POST_ERROR, POST_ERROR_RESOLVE);
}

static gboolean
accept_cb (PostCarrier *listener,
           PostCarrier *carrier,
           GPtrArray   *accepted)
{
  g_ptr_array_add (accepted, g_object_ref (carrier));
  return TRUE;
}

static void
established_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  GError **error = user_data;

  if (!post_carrier_establish_finish (POST_CARRIER (source), result, error) && *error == NULL)
    g_assert_not_reached ();
  g_object_set_data (source, "done", GINT_TO_POINTER (1));
}

/* A carrier to the service: the first target refuses, the second answers */
static void
test_carrier_over_service (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostLocal) local = post_local_new_from_uri ("tcp://127.0.0.1:0", &error);
  g_autoptr(PostCarrier) listener = post_carrier_listen (local, NULL, &error);
  g_autoptr(GPtrArray) accepted = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GSocketConnectable) service = g_network_service_new ("echo", "tcp", "example.test");
  g_autoptr(PostRemote) remote = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  GInetSocketAddress *peer;

  g_assert_no_error (error);
  g_signal_connect (listener, "incoming", G_CALLBACK (accept_cb), accepted);
  resolver->port_b = post_test_port_of (listener);
  remote = post_remote_new_for_connectable (service, "tcp", &error);
  g_assert_no_error (error);
  carrier = post_carrier_initiate (NULL, remote, NULL);
  post_carrier_establish_async (carrier, NULL, established_cb, &error);
  while (g_object_get_data (G_OBJECT (carrier), "done") == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_no_error (error);
  peer = G_INET_SOCKET_ADDRESS (post_carrier_get_remote_address (carrier));
  g_assert_cmpuint (g_inet_socket_address_get_port (peer), ==, resolver->port_b);
  post_test_wait_count (&accepted->len, 1, "the accepted carrier", 10);
  post_carrier_close (carrier);
  post_carrier_close (listener);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  resolver = g_object_new (TEST_TYPE_RESOLVER, NULL);
  resolver->port_a = post_test_free_port (G_SOCKET_TYPE_STREAM);
  resolver->port_b = 9;
  g_resolver_set_default (G_RESOLVER (resolver));

  g_test_add_func ("/remote-connectable/network-address", test_network_address);
  g_test_add_func ("/remote-connectable/inet-socket-address", test_inet_socket_address);
  g_test_add_func ("/remote-connectable/refused", test_refused_connectables);
  g_test_add_func ("/remote-connectable/service", test_service);
  g_test_add_func ("/remote-connectable/service-not-offered", test_service_not_offered);
  g_test_add_func ("/remote-connectable/carrier-over-service", test_carrier_over_service);
  status = g_test_run ();
  g_object_unref (resolver);
  return status;
}
