/* test-paths.c: the path monitor, gathering, racing across interfaces and
 * path events, in network namespaces this test creates and removes
 *
 * The process moves itself into a fresh network namespace (the client's)
 * at start, so nothing it does touches the host.  Each test creates a
 * second, empty namespace (the server's) and two veth pairs between them:
 *
 *   client ns                               server ns
 *   c0 10.1.0.1/24 fd01::1/64  ───────────  s0 10.1.0.2/24 fd01::2/64
 *   c1 10.2.0.1/24 fd02::1/64  ───────────  s1 10.2.0.2/24 fd02::2/64
 *                                           lo 10.99.0.1/32 (the service)
 *   10.99.0.1 via 10.1.0.2 dev c0 metric 100, via 10.2.0.2 dev c1 metric 200
 *   fd99::1   via fd01::2 dev c0 metric 100,  via fd02::2 dev c1 metric 200
 *
 * fd99::1 is not assigned in the server namespace, which has a blackhole
 * route for it: packets to it vanish silently (a blackholed IPv6 path).
 * "service.test" resolves (a test GResolver) to fd99::1 and 10.99.0.1.
 * Teardown deletes the client ends (which deletes the pairs) and closes
 * the last reference to the server namespace, which removes it; the
 * client namespace goes away with the process.
 *
 * Needs root (CAP_SYS_ADMIN, CAP_NET_ADMIN) and `ip`; otherwise every
 * test is skipped.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define _GNU_SOURCE
#include <post.h>
#include <glib/gstdio.h>

#include <string.h>

#include "post-test-netns.h"

/* ---- a resolver for service.test ------------------------------------------ */

#define TEST_TYPE_RESOLVER (test_resolver_get_type ())
G_DECLARE_FINAL_TYPE (TestResolver, test_resolver, TEST, RESOLVER, GResolver)

struct _TestResolver
{
  GResolver parent_instance;
};

G_DEFINE_TYPE (TestResolver, test_resolver, G_TYPE_RESOLVER)

static void
test_resolver_lookup_by_name_with_flags_async (GResolver                 *resolver,
                                               const char                *hostname,
                                               GResolverNameLookupFlags   flags,
                                               GCancellable              *cancellable,
                                               GAsyncReadyCallback        callback,
                                               gpointer                   user_data)
{
  g_autoptr(GTask) task = g_task_new (resolver, cancellable, callback, user_data);
  GList *list = NULL;

  if (flags == G_RESOLVER_NAME_LOOKUP_FLAGS_IPV6_ONLY)
    list = g_list_append (list, g_inet_address_new_from_string ("fd99::1"));
  else
    list = g_list_append (list, g_inet_address_new_from_string ("10.99.0.1"));
  g_task_return_pointer (task, list, (GDestroyNotify) g_resolver_free_addresses);
}

static GList *
test_resolver_lookup_by_name_with_flags_finish (GResolver     *resolver,
                                                GAsyncResult  *result,
                                                GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
test_resolver_class_init (TestResolverClass *klass)
{
  GResolverClass *resolver_class = G_RESOLVER_CLASS (klass);

  resolver_class->lookup_by_name_with_flags_async = test_resolver_lookup_by_name_with_flags_async;
  resolver_class->lookup_by_name_with_flags_finish = test_resolver_lookup_by_name_with_flags_finish;
}

static void
test_resolver_init (TestResolver *self)
{
}

/* ---- namespaces ------------------------------------------------------------ */

typedef struct {
  PostTestNetns ns;          /* the server namespace and the links to it */
  GSocket    *listener;      /* (nullable) in the server namespace */
  guint16     port;
  GMainLoop  *loop;
} Net;

static void
net_setup (Net          *net,
           gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketAddress) any = NULL;
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GInetAddress) inet = NULL;

  if (!post_test_netns_available ())
    return;

  /* fd99::1 unreachable until a test gives the server that address */
  post_test_netns_setup (&net->ns, "ip -6 route add blackhole fd99::1/128");

  /* The service: a dual-stack listener in the server namespace; the
   * kernel completes handshakes without accept(). */
  post_test_netns_enter_server (&net->ns);
  net->listener = g_socket_new (G_SOCKET_FAMILY_IPV6, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  post_test_netns_enter_client ();
  g_assert_no_error (error);
  inet = g_inet_address_new_any (G_SOCKET_FAMILY_IPV6);
  any = g_inet_socket_address_new (inet, 0);
  g_socket_bind (net->listener, any, TRUE, &error);
  g_assert_no_error (error);
  g_socket_listen (net->listener, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (net->listener, &error);
  g_assert_no_error (error);
  net->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  net->loop = g_main_loop_new (NULL, FALSE);
}

static void
net_teardown (Net          *net,
              gconstpointer data)
{
  if (!post_test_netns_available ())
    return;
  g_clear_object (&net->listener);
  g_clear_pointer (&net->loop, g_main_loop_unref);
  post_test_netns_teardown (&net->ns);
}

/* ---- helpers ---------------------------------------------------------------- */

static gboolean
timeout_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates until @carrier is in @state (or CLOSED), at most @ms */
static gboolean
wait_for_state (PostCarrier      *carrier,
                PostCarrierState  state,
                guint             ms)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add (ms, timeout_cb, &timed_out);

  while (!timed_out && post_carrier_get_state (carrier) != state
         && post_carrier_get_state (carrier) != POST_CARRIER_STATE_CLOSED)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (id);
  return post_carrier_get_state (carrier) == state;
}

static PostCarrier *
initiate_stack (const char        *scheme,
                const char        *host,
                guint16            port,
                PostConfiguration *configuration)
{
  g_autofree char *uri = g_strdup_printf ("%s://%s:%u", scheme, host, port);
  g_autoptr(GError) error = NULL;
  g_autoptr(PostRemote) remote = post_remote_new_from_uri (uri, &error);

  g_assert_no_error (error);
  return post_carrier_initiate (NULL, remote, configuration);
}

static PostCarrier *
initiate (Net               *net,
          const char        *host,
          PostConfiguration *configuration)
{
  g_autofree char *uri = g_strdup_printf ("tcp://%s:%u", host, net->port);
  g_autoptr(GError) error = NULL;
  g_autoptr(PostRemote) remote = post_remote_new_from_uri (uri, &error);

  g_assert_no_error (error);
  return post_carrier_initiate (NULL, remote, configuration);
}

static char *
local_host (PostCarrier *carrier)
{
  GSocketAddress *local = post_carrier_get_local_address (carrier);

  g_assert_nonnull (local);
  return g_inet_address_to_string (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (local)));
}

static char *
remote_host (PostCarrier *carrier)
{
  GSocketAddress *remote = post_carrier_get_remote_address (carrier);

  g_assert_nonnull (remote);
  return g_inet_address_to_string (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote)));
}

static PostConfiguration *
configuration_with (const char    *interface,
                    PostPreference level)
{
  PostConfiguration *configuration = post_configuration_new ();
  g_autoptr(GError) error = NULL;

  if (interface != NULL)
    post_configuration_set_interface_preference (configuration, interface, level, &error);
  g_assert_no_error (error);
  return configuration;
}

/* ---- the monitor ---------------------------------------------------------- */

static void
test_monitor_lists (Net          *net,
                    gconstpointer data)
{
  PostPathMonitor *monitor;
  g_autoptr(PostInterfaceInfo) c0 = NULL;
  g_autoptr(PostInterfaceInfo) lo = NULL;
  g_autoptr(GPtrArray) addresses = NULL;
  g_autoptr(GPtrArray) routes = NULL;
  g_autoptr(PostPathInfo) info = NULL;
  g_autoptr(GSocketAddress) remote = NULL;
  g_autoptr(GInetAddress) inet = NULL;
  gboolean found_v4 = FALSE, found_v6 = FALSE;

  if (post_test_netns_skip ())
    return;
  monitor = post_path_monitor_get_default ();
  g_assert_true (post_path_monitor_is_available (monitor));

  lo = post_path_monitor_get_interface (monitor, "lo");
  g_assert_nonnull (lo);
  g_assert_cmpint (lo->kind, ==, POST_INTERFACE_KIND_LOOPBACK);
  c0 = post_path_monitor_get_interface (monitor, "c0");
  g_assert_nonnull (c0);
  g_assert_cmpstr (c0->link_type, ==, "veth");
  g_assert_cmpint (c0->kind, ==, POST_INTERFACE_KIND_OTHER);
  g_assert_true (c0->running);
  g_assert_cmpuint (c0->mtu, ==, 1500);

  addresses = post_path_monitor_list_addresses (monitor, "c0");
  for (guint i = 0; i < addresses->len; i++)
    {
      PostAddressInfo *address = addresses->pdata[i];
      g_autofree char *text = g_inet_address_to_string (address->address);

      found_v4 |= g_str_equal (text, "10.1.0.1") && address->prefix_length == 24;
      found_v6 |= g_str_equal (text, "fd01::1") && address->prefix_length == 64;
      g_assert_cmpstr (address->interface, ==, "c0");
    }
  g_assert_true (found_v4);
  g_assert_true (found_v6);

  /* No default route in this namespace until one is added */
  routes = post_path_monitor_list_default_routes (monitor);
  g_assert_cmpuint (routes->len, ==, 0);

  /* Path data for the policy: the better route leaves by c0 */
  inet = g_inet_address_new_from_string ("10.99.0.1");
  remote = g_inet_socket_address_new (inet, 80);
  info = post_path_monitor_lookup_path (monitor, NULL, remote);
  g_assert_nonnull (info);
  g_assert_cmpstr (info->interface, ==, "c0");
  g_assert_cmpuint (info->mtu, ==, 1500);
}

typedef struct {
  GPtrArray *log;
} EventLog;

static void
log_interface (PostPathMonitor *monitor, PostInterfaceInfo *info, gpointer user_data)
{
  EventLog *log = g_object_get_data (G_OBJECT (monitor), "test-log");

  g_ptr_array_add (log->log, g_strdup_printf ("%s %s %s", (const char *) user_data, info->name,
                                              info->running ? "running" : "down"));
}

static void
log_address (PostPathMonitor *monitor, PostAddressInfo *info, gpointer user_data)
{
  EventLog *log = g_object_get_data (G_OBJECT (monitor), "test-log");
  g_autofree char *text = g_inet_address_to_string (info->address);

  g_ptr_array_add (log->log, g_strdup_printf ("%s %s", (const char *) user_data, text));
}

static void
log_route (PostPathMonitor *monitor, int family, gpointer user_data)
{
  EventLog *log = g_object_get_data (G_OBJECT (monitor), "test-log");

  g_ptr_array_add (log->log, g_strdup_printf ("route %s", family == G_SOCKET_FAMILY_IPV6 ? "ipv6" : "ipv4"));
}

static gboolean
log_has (EventLog   *log,
         const char *entry)
{
  for (guint i = 0; i < log->log->len; i++)
    if (g_str_equal (log->log->pdata[i], entry))
      return TRUE;
  return FALSE;
}

static void
wait_for_entry (EventLog   *log,
                const char *entry)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add (5000, timeout_cb, &timed_out);

  while (!timed_out && !log_has (log, entry))
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (id);
  if (!log_has (log, entry))
    g_error ("no event ‘%s’", entry);
}

static void
test_monitor_events (Net          *net,
                     gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostPathMonitor) monitor = NULL;
  EventLog log = { g_ptr_array_new_with_free_func (g_free) };

  if (post_test_netns_skip ())
    return;
  monitor = post_path_monitor_new (&error);
  g_assert_no_error (error);
  g_object_set_data (G_OBJECT (monitor), "test-log", &log);
  g_signal_connect (monitor, "interface-added", G_CALLBACK (log_interface), "added");
  g_signal_connect (monitor, "interface-removed", G_CALLBACK (log_interface), "removed");
  g_signal_connect (monitor, "interface-changed", G_CALLBACK (log_interface), "changed");
  g_signal_connect (monitor, "address-added", G_CALLBACK (log_address), "address-added");
  g_signal_connect (monitor, "address-removed", G_CALLBACK (log_address), "address-removed");
  g_signal_connect (monitor, "default-route-changed", G_CALLBACK (log_route), NULL);

  post_test_netns_run ("ip link add d0 type veth peer name d1");
  post_test_netns_run ("ip link set d1 up");
  wait_for_entry (&log, "added d0 down");
  post_test_netns_run ("ip link set d0 up");
  wait_for_entry (&log, "changed d0 running");
  post_test_netns_run ("ip addr add 10.7.0.1/24 dev d0");
  wait_for_entry (&log, "address-added 10.7.0.1");
  post_test_netns_run ("ip route add default via 10.7.0.2 dev d0");
  wait_for_entry (&log, "route ipv4");
  g_ptr_array_set_size (log.log, 0);
  post_test_netns_run ("ip link set d0 down");
  wait_for_entry (&log, "changed d0 down");
  /* the kernel drops the route silently; the monitor notices */
  wait_for_entry (&log, "route ipv4");
  post_test_netns_run ("ip addr del 10.7.0.1/24 dev d0");
  wait_for_entry (&log, "address-removed 10.7.0.1");
  post_test_netns_run ("ip link del d0");
  wait_for_entry (&log, "removed d0 down");
  g_ptr_array_unref (log.log);
}

/* ---- GNetworkMonitor: metering and connectivity ----------------------------- */

/* A network monitor whose metering and connectivity the test sets, as
 * NetworkManager's or the portal's would report them through GIO */
#define TEST_TYPE_NETWORK_MONITOR (test_network_monitor_get_type ())
G_DECLARE_FINAL_TYPE (TestNetworkMonitor, test_network_monitor, TEST, NETWORK_MONITOR, GObject)

struct _TestNetworkMonitor
{
  GObject parent_instance;
  gboolean metered;
  GNetworkConnectivity connectivity;
};

enum {
  TEST_PROP_0,
  TEST_PROP_NETWORK_AVAILABLE,
  TEST_PROP_NETWORK_METERED,
  TEST_PROP_CONNECTIVITY,
};

static gboolean
test_network_monitor_can_reach (GNetworkMonitor     *monitor,
                                GSocketConnectable  *connectable,
                                GCancellable        *cancellable,
                                GError             **error)
{
  return TRUE;
}

static void
test_network_monitor_iface_init (GNetworkMonitorInterface *iface)
{
  iface->can_reach = test_network_monitor_can_reach;
}

static gboolean
test_network_monitor_initable_init (GInitable     *initable,
                                    GCancellable  *cancellable,
                                    GError       **error)
{
  return TRUE;
}

static void
test_network_monitor_initable_iface_init (GInitableIface *iface)
{
  iface->init = test_network_monitor_initable_init;
}

G_DEFINE_FINAL_TYPE_WITH_CODE (TestNetworkMonitor, test_network_monitor, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE, test_network_monitor_initable_iface_init)
                               G_IMPLEMENT_INTERFACE (G_TYPE_NETWORK_MONITOR, test_network_monitor_iface_init))

static void
test_network_monitor_get_property (GObject    *object,
                                   guint       prop_id,
                                   GValue     *value,
                                   GParamSpec *pspec)
{
  TestNetworkMonitor *self = TEST_NETWORK_MONITOR (object);

  switch (prop_id)
    {
    case TEST_PROP_NETWORK_AVAILABLE:
      g_value_set_boolean (value, TRUE);
      break;
    case TEST_PROP_NETWORK_METERED:
      g_value_set_boolean (value, self->metered);
      break;
    case TEST_PROP_CONNECTIVITY:
      g_value_set_enum (value, self->connectivity);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
test_network_monitor_class_init (TestNetworkMonitorClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->get_property = test_network_monitor_get_property;
  g_object_class_override_property (object_class, TEST_PROP_NETWORK_AVAILABLE, "network-available");
  g_object_class_override_property (object_class, TEST_PROP_NETWORK_METERED, "network-metered");
  g_object_class_override_property (object_class, TEST_PROP_CONNECTIVITY, "connectivity");
}

static void
test_network_monitor_init (TestNetworkMonitor *self)
{
  self->connectivity = G_NETWORK_CONNECTIVITY_FULL;
}

static void
test_network_monitor_set (TestNetworkMonitor   *self,
                          gboolean              metered,
                          GNetworkConnectivity  connectivity)
{
  if (self->metered != metered)
    {
      self->metered = metered;
      g_object_notify (G_OBJECT (self), "network-metered");
    }
  if (self->connectivity != connectivity)
    {
      self->connectivity = connectivity;
      g_object_notify (G_OBJECT (self), "connectivity");
    }
}

static PostPathInfo *
monitor_path_info (GSocketAddress *local_address,
                   GSocketAddress *remote_address,
                   gpointer        user_data)
{
  return post_path_monitor_lookup_path (user_data, local_address, remote_address);
}

static void
log_metering (PostPathMonitor *monitor, PostInterfaceInfo *info, gpointer user_data)
{
  g_ptr_array_add (user_data, g_strdup_printf ("changed %s %s", info->name,
                                               info->metered ? "metered" : "unmetered"));
}

static void
count_notify (GObject *object, GParamSpec *pspec, gpointer user_data)
{
  (*(guint *) user_data)++;
}

/* The policy's score of the tcp candidate to 203.0.113.1:80 */
static int
rank_score (PostPolicy *policy,
            gboolean   *metered_rule)
{
  g_autoptr(PostRemote) remote = post_remote_new_from_uri ("tcp://203.0.113.1:80", NULL);
  g_autoptr(PostConfiguration) configuration = post_configuration_new ();
  g_autoptr(GPtrArray) addresses = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) ranked = NULL;
  g_autoptr(GError) error = NULL;
  const char * const *reasons;

  g_ptr_array_add (addresses, g_inet_socket_address_new_from_string ("203.0.113.1", 80));
  ranked = post_policy_rank (policy, configuration, remote, addresses, NULL, POST_CARRIER_ROLE_CARRIER, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ranked->len, >=, 1);
  g_assert_cmpstr (post_stack_get_name (post_policy_candidate_get_stack (ranked->pdata[0])), ==, "tcp");
  reasons = post_policy_candidate_get_reasons (ranked->pdata[0]);
  *metered_rule = FALSE;
  for (guint i = 0; reasons[i] != NULL; i++)
    *metered_rule |= strstr (reasons[i], "rule metered-path") != NULL;
  return post_policy_candidate_get_score (ranked->pdata[0]);
}

/* GNetworkMonitor says metered: the default route's interface is metered,
 * in the monitor's data and so for match-metered; connectivity follows. */
static void
test_monitor_network_metered (Net          *net,
                              gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostPathMonitor) monitor = NULL;
  g_autoptr(TestNetworkMonitor) network = NULL;
  g_autoptr(PostPolicy) policy = NULL;
  g_autoptr(PostPathInfo) info = NULL;
  g_autoptr(PostInterfaceInfo) d0 = NULL;
  g_autoptr(PostInterfaceInfo) c0 = NULL;
  g_autoptr(GSocketAddress) remote = g_inet_socket_address_new_from_string ("203.0.113.1", 80);
  g_autoptr(GPtrArray) log = g_ptr_array_new_with_free_func (g_free);
  g_autofree char *dir = NULL;
  g_autofree char *file = NULL;
  const char *dirs[2] = { NULL, NULL };
  gboolean metered_rule;
  guint connectivity_notes = 0;
  EventLog events = { log };

  if (post_test_netns_skip ())
    return;
  dir = g_dir_make_tmp ("post-metered-XXXXXX", &error);
  g_assert_no_error (error);
  file = g_build_filename (dir, "10-metered.conf", NULL);
  g_file_set_contents (file, "[metered-path]\nmatch-metered=true\nscore=-7\n", -1, &error);
  g_assert_no_error (error);

  monitor = post_path_monitor_new (&error);
  g_assert_no_error (error);
  g_assert_null (post_path_monitor_get_network_monitor (monitor));
  network = g_object_new (TEST_TYPE_NETWORK_MONITOR, NULL);
  post_path_monitor_set_network_monitor (monitor, G_NETWORK_MONITOR (network));
  g_assert_true (post_path_monitor_get_network_monitor (monitor) == G_NETWORK_MONITOR (network));
  g_assert_false (post_path_monitor_get_network_metered (monitor));
  g_signal_connect (monitor, "interface-changed", G_CALLBACK (log_metering), log);
  g_signal_connect (monitor, "notify::connectivity", G_CALLBACK (count_notify), &connectivity_notes);
  dirs[0] = dir;
  policy = post_policy_new (dirs);
  post_policy_set_path_info_func (policy, monitor_path_info, g_object_ref (monitor), g_object_unref);

  /* a default route by d0 */
  post_test_netns_run ("ip link add d0 type veth peer name d1");
  post_test_netns_run ("ip link set d1 up");
  post_test_netns_run ("ip link set d0 up");
  post_test_netns_run ("ip addr add 10.7.0.1/24 dev d0");
  post_test_netns_run ("ip route add default via 10.7.0.2 dev d0");
  info = post_path_monitor_lookup_path (monitor, NULL, remote);
  g_assert_nonnull (info);
  g_assert_cmpstr (info->interface, ==, "d0");
  g_assert_false (info->metered);
  g_assert_cmpint (rank_score (policy, &metered_rule), ==, 0);
  g_assert_false (metered_rule);

  /* metered: d0 changes (and only d0), match-metered applies */
  test_network_monitor_set (network, TRUE, G_NETWORK_CONNECTIVITY_FULL);
  g_assert_true (post_path_monitor_get_network_metered (monitor));
  wait_for_entry (&events, "changed d0 metered");
  g_clear_pointer (&info, post_path_info_free);
  info = post_path_monitor_lookup_path (monitor, NULL, remote);
  g_assert_true (info->metered);
  d0 = post_path_monitor_get_interface (monitor, "d0");
  g_assert_true (d0->metered);
  c0 = post_path_monitor_get_interface (monitor, "c0");
  g_assert_false (c0->metered);
  g_assert_cmpint (rank_score (policy, &metered_rule), ==, -7);
  g_assert_true (metered_rule);
  g_assert_false (log_has (&events, "changed c0 metered"));

  /* connectivity follows the network monitor */
  g_assert_cmpint (post_path_monitor_get_connectivity (monitor), ==, G_NETWORK_CONNECTIVITY_FULL);
  test_network_monitor_set (network, TRUE, G_NETWORK_CONNECTIVITY_PORTAL);
  g_assert_cmpint (post_path_monitor_get_connectivity (monitor), ==, G_NETWORK_CONNECTIVITY_PORTAL);
  g_assert_cmpuint (connectivity_notes, ==, 1);

  /* no network monitor: d0 is no longer metered */
  post_path_monitor_set_network_monitor (monitor, NULL);
  wait_for_entry (&events, "changed d0 unmetered");
  g_assert_false (post_path_monitor_get_network_metered (monitor));
  g_assert_cmpint (post_path_monitor_get_connectivity (monitor), ==, G_NETWORK_CONNECTIVITY_FULL);
  g_assert_cmpint (rank_score (policy, &metered_rule), ==, 0);

  post_test_netns_run ("ip link del d0");
  g_assert_no_errno (g_unlink (file));
  g_assert_no_errno (g_rmdir (dir));
}

/* ---- racing ------------------------------------------------------------------ */

/* A blackholed IPv6 path: the race falls back to IPv4 after the attempt delay */
static void
test_race_fallback (Net          *net,
                    gconstpointer data)
{
  g_autoptr(PostCarrier) carrier = NULL;
  g_autofree char *remote = NULL;
  gint64 start;
  gint64 elapsed;

  if (post_test_netns_skip ())
    return;
  start = g_get_monotonic_time ();
  carrier = initiate (net, "service.test", NULL);
  g_assert_true (wait_for_state (carrier, POST_CARRIER_STATE_ACTIVE, 10000));
  elapsed = (g_get_monotonic_time () - start) / 1000;
  remote = remote_host (carrier);
  g_assert_cmpstr (remote, ==, "10.99.0.1");
  g_test_message ("fell back to IPv4 in %" G_GINT64_FORMAT " ms", elapsed);
  g_assert_cmpint (elapsed, >=, 200);
  g_assert_cmpint (elapsed, <, 2000);
  post_carrier_abort (carrier);
}

/* A prohibited interface is never used, even with the better route */
static void
test_race_prohibit (Net          *net,
                    gconstpointer data)
{
  g_autoptr(PostConfiguration) configuration = configuration_with ("c0", POST_PREFERENCE_PROHIBIT);
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(GSocket) accepted = NULL;
  g_autoptr(GSocketAddress) peer = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *local = NULL;
  g_autofree char *peer_text = NULL;

  if (post_test_netns_skip ())
    return;
  carrier = initiate (net, "10.99.0.1", configuration);
  g_assert_true (wait_for_state (carrier, POST_CARRIER_STATE_ACTIVE, 5000));
  local = local_host (carrier);
  g_assert_cmpstr (local, ==, "10.2.0.1");

  /* The server saw it arrive from c1's address */
  accepted = g_socket_accept (net->listener, NULL, &error);
  g_assert_no_error (error);
  peer = g_socket_get_remote_address (accepted, &error);
  g_assert_no_error (error);
  peer_text = g_inet_address_to_string (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (peer)));
  g_assert_true (g_str_has_suffix (peer_text, "10.2.0.1"));
  post_carrier_abort (carrier);

  /* Requiring only a prohibited interface leaves nothing: fails at once */
  {
    g_autoptr(PostConfiguration) none = configuration_with ("c0", POST_PREFERENCE_PROHIBIT);
    g_autoptr(PostCarrier) failing = NULL;
    gint64 start = g_get_monotonic_time ();

    post_configuration_set_interface_preference (none, "c1", POST_PREFERENCE_PROHIBIT, &error);
    g_assert_no_error (error);
    failing = initiate (net, "10.99.0.1", none);
    g_assert_false (wait_for_state (failing, POST_CARRIER_STATE_ACTIVE, 5000));
    g_assert_error (post_carrier_get_error (failing), POST_ERROR, POST_ERROR_NO_CANDIDATES);
    g_assert_cmpint (g_get_monotonic_time () - start, <, 500 * 1000);
  }
}

/* A preferred interface wins when both work, though its route is worse */
static void
test_race_prefer (Net          *net,
                  gconstpointer data)
{
  g_autoptr(PostConfiguration) configuration = configuration_with ("c1", POST_PREFERENCE_PREFER);
  g_autoptr(PostCarrier) carrier = NULL;
  g_autofree char *local = NULL;

  if (post_test_netns_skip ())
    return;
  carrier = initiate (net, "10.99.0.1", configuration);
  g_assert_true (wait_for_state (carrier, POST_CARRIER_STATE_ACTIVE, 5000));
  local = local_host (carrier);
  g_assert_cmpstr (local, ==, "10.2.0.1");
  post_carrier_abort (carrier);
}

/* Equal-rank candidates (two interfaces, no preference) start at once:
 * with c0's path silent and a long attempt delay, c1 still wins quickly */
static void
test_race_equal_rank (Net          *net,
                      gconstpointer data)
{
  g_autoptr(PostConfiguration) configuration = post_configuration_new ();
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *local = NULL;
  gint64 start;

  if (post_test_netns_skip ())
    return;
  post_configuration_set_attempt_delay (configuration, 3000, &error);
  g_assert_no_error (error);
  post_test_netns_run_in_server (&net->ns, "ip route add blackhole 10.1.0.1/32");
  start = g_get_monotonic_time ();
  carrier = initiate (net, "10.99.0.1", configuration);
  g_assert_true (wait_for_state (carrier, POST_CARRIER_STATE_ACTIVE, 5000));
  g_assert_cmpint (g_get_monotonic_time () - start, <, 1000 * 1000);
  local = local_host (carrier);
  g_assert_cmpstr (local, ==, "10.2.0.1");
  post_carrier_abort (carrier);
}

/* The association remembers the winner: the next race tries it first */
static void
test_race_history (Net          *net,
                   gconstpointer data)
{
  g_autoptr(PostCarrier) first = NULL;
  g_autoptr(PostCarrier) second = NULL;
  g_autofree char *first_local = NULL;
  g_autofree char *second_local = NULL;
  g_autoptr(GPtrArray) paths = NULL;

  if (post_test_netns_skip ())
    return;
  /* c0 silent: c1 wins and is remembered */
  post_test_netns_run_in_server (&net->ns, "ip route add blackhole 10.1.0.1/32");
  first = initiate (net, "10.99.0.1", NULL);
  g_assert_true (wait_for_state (first, POST_CARRIER_STATE_ACTIVE, 5000));
  first_local = local_host (first);
  g_assert_cmpstr (first_local, ==, "10.2.0.1");
  post_carrier_abort (first);
  /* What the association learned: the path with its measurements */
  paths = post_association_get_paths (post_carrier_get_association (first));
  g_assert_cmpuint (paths->len, ==, 1);
  g_assert_cmpstr (post_path_get_stack_name (paths->pdata[0]), ==, "tcp");
  g_assert_cmpstr (post_path_get_interface (paths->pdata[0]), ==, "c1");
  g_assert_cmpuint (post_path_get_latency (paths->pdata[0]), >, 0);   /* TCP_INFO RTT / 2 */
  g_assert_cmpuint (post_path_get_mtu (paths->pdata[0]), >, 0);       /* TCP_INFO MSS */

  /* c0 works again and has the better route; history still puts c1 first,
   * alone (no longer an equal rank) */
  post_test_netns_run_in_server (&net->ns, "ip route del blackhole 10.1.0.1/32");
  second = post_association_initiate (post_carrier_get_association (first));
  g_assert_true (wait_for_state (second, POST_CARRIER_STATE_ACTIVE, 5000));
  second_local = local_host (second);
  g_assert_cmpstr (second_local, ==, "10.2.0.1");
  post_carrier_abort (second);
}

/* Every attempt fails: the error names each one */
static void
test_race_all_fail (Net          *net,
                    gconstpointer data)
{
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(PostConfiguration) configuration = post_configuration_new ();
  g_autoptr(GError) error = NULL;
  const GError *failure;
  guint lines = 0;
  const char *p;

  if (post_test_netns_skip ())
    return;
  /* Nobody listens: every attempt is refused; IPv6 is blackholed, so keep
   * the connection timeout short */
  g_clear_object (&net->listener);
  post_configuration_set_conn_timeout (configuration, 20000, &error);
  post_test_netns_run_in_server (&net->ns, "ip -6 route del blackhole fd99::1/128");
  post_test_netns_run_in_server (&net->ns, "ip -6 addr add fd99::1/128 dev lo nodad");
  carrier = initiate (net, "service.test", configuration);
  g_assert_false (wait_for_state (carrier, POST_CARRIER_STATE_ACTIVE, 10000));
  failure = post_carrier_get_error (carrier);
  g_assert_nonnull (failure);
  g_test_message ("%s", failure->message);
  for (p = failure->message; (p = strstr (p, "\n  tcp to ")) != NULL; p++)
    lines++;
  g_assert_cmpuint (lines, ==, 4);   /* 2 addresses × 2 interfaces */
  g_assert_nonnull (strstr (failure->message, "(c0)"));
  g_assert_nonnull (strstr (failure->message, "(c1)"));
}

/* ---- path events on carriers ---------------------------------------------------- */

static void
count_path (PostCarrier *carrier,
            PostPath    *path,
            gpointer     user_data)
{
  (*(guint *) user_data)++;
}

/* The path of a carrier over @scheme to 10.99.0.1:@port (through c1)
 * goes away: it moves to c0, or goes DORMANT with path.on-loss=dormant. */
typedef void (*ActiveFunc) (PostCarrier *carrier, gpointer user_data);

static void
link_down_on (Net          *net,
              const char   *scheme,
              guint16       port,
              const char   *action,
              gboolean      expect_dormant,
              ActiveFunc    on_active,
              gpointer      user_data)
{
  g_autoptr(PostConfiguration) configuration = configuration_with ("c1", POST_PREFERENCE_PREFER);
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *local = NULL;
  guint removed = 0, added = 0;

  if (action != NULL)
    post_configuration_set_option (configuration, "path.on-loss", g_variant_new_string (action), &error);
  g_assert_no_error (error);
  carrier = initiate_stack (scheme, "10.99.0.1", port, configuration);
  g_signal_connect (carrier, "path-removed", G_CALLBACK (count_path), &removed);
  g_signal_connect (carrier, "path-added", G_CALLBACK (count_path), &added);
  g_assert_true (wait_for_state (carrier, POST_CARRIER_STATE_ACTIVE, 5000));
  local = local_host (carrier);
  g_assert_cmpstr (local, ==, "10.2.0.1");
  if (on_active != NULL)
    on_active (carrier, user_data);

  post_test_netns_run ("ip addr add 10.1.0.9/24 dev c0");
  while (added == 0)
    g_main_context_iteration (NULL, TRUE);

  post_test_netns_run ("ip link set c1 down");
  if (expect_dormant)
    {
      g_assert_true (wait_for_state (carrier, POST_CARRIER_STATE_DORMANT, 5000));
      g_assert_cmpuint (removed, ==, 1);
    }
  else
    {
      g_autofree char *moved = NULL;

      while (removed == 0)
        g_main_context_iteration (NULL, TRUE);
      g_assert_true (wait_for_state (carrier, POST_CARRIER_STATE_ACTIVE, 5000));
      moved = local_host (carrier);
      g_assert_true (g_str_has_prefix (moved, "10.1.0."));
      if (on_active != NULL)
        on_active (carrier, user_data);
    }
  post_carrier_abort (carrier);
}

static void
link_down (Net          *net,
           const char   *action,
           gboolean      expect_dormant)
{
  link_down_on (net, "tcp", net->port, action, expect_dormant, NULL, NULL);
}

static void
test_link_down_reestablishes (Net          *net,
                              gconstpointer data)
{
  if (post_test_netns_skip ())
    return;
  link_down (net, NULL, FALSE);
}

static void
test_link_down_dormant (Net          *net,
                        gconstpointer data)
{
  if (post_test_netns_skip ())
    return;
  link_down (net, "dormant", TRUE);
}


/* ---- the same over sctp (SCTP in UDP, usrsctp) ------------------------------------ */

static gboolean
sctp_skip (void)
{
  if (post_registry_lookup_stack (post_registry_get_default (), "sctp") != NULL)
    return FALSE;
  g_test_skip ("no sctp stack (the sctp plugin needs usrsctp)");
  return TRUE;
}

/* An sctp listener in the server namespace on 10.99.0.1: its UDP socket is
 * made there, its sources run on this thread's context. */
static PostCarrier *
sctp_listen_in_server (Net *net)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostLocal) local = post_local_new_from_uri ("sctp://10.99.0.1:0", &error);
  PostCarrier *listener;

  g_assert_no_error (error);
  post_test_netns_enter_server (&net->ns);
  listener = post_carrier_listen (local, NULL, &error);
  post_test_netns_enter_client ();
  g_assert_no_error (error);
  return listener;
}

static guint16
listener_port (PostCarrier *listener)
{
  GSocketAddress *bound = post_carrier_get_local_address (listener);

  g_assert_nonnull (bound);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

static gboolean
echo_cb (PostCarrier *carrier,
         PostMessage *message,
         gpointer     user_data)
{
  g_autoptr(PostMessage) reply = post_message_new (post_message_get_content (message));

  post_carrier_send (carrier, reply, NULL);
  return TRUE;
}

/* The listener echoes every message on every carrier it accepts. */
static gboolean
accept_echo (PostCarrier *listener,
             PostCarrier *carrier,
             gpointer     user_data)
{
  g_ptr_array_add (user_data, g_object_ref (carrier));
  post_carrier_ready (carrier, echo_cb, NULL, NULL);
  return TRUE;
}

typedef struct {
  guint    n;
  gboolean same;
} Echoes;

static gboolean
count_echo_cb (PostCarrier *carrier,
               PostMessage *message,
               gpointer     user_data)
{
  Echoes *e = user_data;
  GBytes *content = post_message_get_content (message);

  e->same = g_bytes_get_size (content) == 5 && memcmp (g_bytes_get_data (content, NULL), "hello", 5) == 0;
  e->n++;
  return FALSE;   /* one at a time */
}

/* A message goes to the server namespace and comes back (on each path). */
static void
sctp_round_trip (PostCarrier *carrier,
                 gpointer     user_data)
{
  g_autoptr(PostMessage) hello = post_message_new_from_string ("hello");
  g_autoptr(GError) error = NULL;
  Echoes e = { 0 };

  post_carrier_ready (carrier, count_echo_cb, &e, NULL);
  g_assert_true (post_carrier_send (carrier, hello, &error));
  g_assert_no_error (error);
  while (e.n == 0)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (e.same);
  (*(guint *) user_data)++;
}

/* Messages both ways between the namespaces, then the path goes away. */
static void
sctp_link_down (Net        *net,
                const char *action,
                gboolean    expect_dormant)
{
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(GPtrArray) accepted = g_ptr_array_new_with_free_func (g_object_unref);
  guint trips = 0;

  if (post_test_netns_skip () || sctp_skip ())
    return;
  listener = sctp_listen_in_server (net);
  g_signal_connect (listener, "incoming", G_CALLBACK (accept_echo), accepted);
  link_down_on (net, "sctp", listener_port (listener), action, expect_dormant,
                sctp_round_trip, &trips);
  /* One association over c1, then (re-established) one over c0. */
  g_assert_cmpuint (trips, ==, expect_dormant ? 1 : 2);
  g_assert_cmpuint (accepted->len, ==, expect_dormant ? 1 : 2);
  post_carrier_close (listener);
}

static void
test_sctp_link_down_reestablishes (Net          *net,
                                   gconstpointer data)
{
  sctp_link_down (net, NULL, FALSE);
}

static void
test_sctp_link_down_dormant (Net          *net,
                             gconstpointer data)
{
  sctp_link_down (net, "dormant", TRUE);
}

static gboolean
keep_incoming (PostCarrier *listener,
               PostCarrier *carrier,
               gpointer     user_data)
{
  *(PostCarrier **) user_data = g_object_ref (carrier);
  return TRUE;
}

static void
closed_with_error (PostCarrier  *carrier,
                   const GError *error,
                   gpointer      user_data)
{
  GError **out = user_data;

  g_assert_nonnull (error);
  g_clear_error (out);
  *out = g_error_copy (error);
}

/* An accepted carrier cannot establish its transport again: when its path
 * goes away it says so (path-removed) and closes with the reason. */
static void
test_link_down_accepted (Net          *net,
                         gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostLocal) local = NULL;
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostCarrier) accepted = NULL;
  g_autoptr(GSocket) peer = NULL;
  g_autoptr(GError) closed = NULL;
  g_autofree char *uri = NULL;
  guint removed = 0;

  if (post_test_netns_skip ())
    return;
  local = post_local_new_from_uri ("tcp://10.2.0.1:0", &error);
  g_assert_no_error (error);
  listener = post_carrier_listen (local, NULL, &error);
  g_assert_no_error (error);
  g_signal_connect (listener, "incoming", G_CALLBACK (keep_incoming), &accepted);

  /* A plain socket in the server namespace connects over c1/s1. */
  post_test_netns_enter_server (&net->ns);
  peer = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  post_test_netns_enter_client ();
  g_assert_no_error (error);
  g_assert_true (g_socket_connect (peer, post_carrier_get_local_address (listener), NULL, &error));
  g_assert_no_error (error);
  while (accepted == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_signal_connect (accepted, "path-removed", G_CALLBACK (count_path), &removed);
  g_signal_connect (accepted, "closed", G_CALLBACK (closed_with_error), &closed);
  g_assert_cmpint (post_carrier_get_state (accepted), ==, POST_CARRIER_STATE_ACTIVE);

  post_test_netns_run ("ip link set c1 down");
  while (closed == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (removed, ==, 1);
  g_assert_cmpint (post_carrier_get_state (accepted), ==, POST_CARRIER_STATE_CLOSED);
  g_test_message ("accepted carrier closed: %s", closed->message);
  g_assert_nonnull (strstr (closed->message, "c1"));
  post_carrier_close (listener);
}

/* ---- main ------------------------------------------------------------------------- */

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GResolver) resolver = NULL;

  /* Before anything else runs: the whole process leaves the host's network */
  post_test_netns_init ();
  g_test_init (&argc, &argv, NULL);
  resolver = g_object_new (TEST_TYPE_RESOLVER, NULL);
  g_resolver_set_default (resolver);

  g_test_add ("/paths/monitor/lists", Net, NULL, net_setup, test_monitor_lists, net_teardown);
  g_test_add ("/paths/monitor/events", Net, NULL, net_setup, test_monitor_events, net_teardown);
  g_test_add ("/paths/monitor/network-metered", Net, NULL, net_setup, test_monitor_network_metered,
              net_teardown);
  g_test_add ("/paths/race/fallback-to-ipv4", Net, NULL, net_setup, test_race_fallback, net_teardown);
  g_test_add ("/paths/race/prohibit", Net, NULL, net_setup, test_race_prohibit, net_teardown);
  g_test_add ("/paths/race/prefer", Net, NULL, net_setup, test_race_prefer, net_teardown);
  g_test_add ("/paths/race/equal-rank", Net, NULL, net_setup, test_race_equal_rank, net_teardown);
  g_test_add ("/paths/race/history", Net, NULL, net_setup, test_race_history, net_teardown);
  g_test_add ("/paths/race/all-fail", Net, NULL, net_setup, test_race_all_fail, net_teardown);
  g_test_add ("/paths/carrier/link-down-reestablishes", Net, NULL, net_setup,
              test_link_down_reestablishes, net_teardown);
  g_test_add ("/paths/carrier/link-down-dormant", Net, NULL, net_setup,
              test_link_down_dormant, net_teardown);
  g_test_add ("/paths/carrier/link-down-accepted", Net, NULL, net_setup,
              test_link_down_accepted, net_teardown);
  g_test_add ("/paths/sctp/link-down-reestablishes", Net, NULL, net_setup,
              test_sctp_link_down_reestablishes, net_teardown);
  g_test_add ("/paths/sctp/link-down-dormant", Net, NULL, net_setup,
              test_sctp_link_down_dormant, net_teardown);
  return g_test_run ();
}
