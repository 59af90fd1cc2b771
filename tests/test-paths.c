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

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sched.h>
#include <unistd.h>

static gboolean namespaces_ok;
static char *namespaces_why;
static int client_ns = -1;

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

static gboolean
run_argv (const char *command,
          GError    **error)
{
  g_auto(GStrv) argv = NULL;
  g_autofree char *err = NULL;
  int status = 0;

  if (!g_shell_parse_argv (command, NULL, &argv, error))
    return FALSE;
  if (!g_spawn_sync (NULL, argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                     NULL, NULL, NULL, &err, &status, error))
    return FALSE;
  if (!g_spawn_check_wait_status (status, error))
    {
      g_prefix_error (error, "%s: %s: ", command, err ? g_strstrip (err) : "");
      return FALSE;
    }
  return TRUE;
}

G_GNUC_PRINTF (1, 2)
static void
run (const char *format,
     ...)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *command = NULL;
  va_list args;

  va_start (args, format);
  command = g_strdup_vprintf (format, args);
  va_end (args);
  run_argv (command, &error);
  g_assert_no_error (error);
}

typedef struct {
  GThread    *holder;        /* lives in the server namespace until teardown */
  pid_t       holder_tid;
  GMutex      lock;
  GCond       cond;
  gboolean    done;
  int         server_ns;     /* the server namespace */
  GSocket    *listener;      /* (nullable) in the server namespace */
  guint16     port;
  GMainLoop  *loop;
} Net;

static void
enter (int ns)
{
  g_assert_cmpint (setns (ns, CLONE_NEWNET), ==, 0);
}

G_GNUC_PRINTF (2, 3)
static void
run_in_server (Net        *net,
               const char *format,
               ...)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *command = NULL;
  va_list args;

  va_start (args, format);
  command = g_strdup_vprintf (format, args);
  va_end (args);
  enter (net->server_ns);
  run_argv (command, &error);
  enter (client_ns);
  g_assert_no_error (error);
}

static gpointer
hold_server_namespace (gpointer data)
{
  Net *net = data;
  int fd = -2;

  if (unshare (CLONE_NEWNET) == 0)
    fd = open ("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  g_mutex_lock (&net->lock);
  net->holder_tid = gettid ();
  net->server_ns = fd < 0 ? -2 : fd;
  g_cond_broadcast (&net->cond);
  while (!net->done)
    g_cond_wait (&net->cond, &net->lock);
  g_mutex_unlock (&net->lock);
  return NULL;
}

static void
net_setup (Net          *net,
           gconstpointer data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocketAddress) any = NULL;
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GInetAddress) inet = NULL;

  if (!namespaces_ok)
    return;

  /* The server namespace: a thread creates it and stays there, so that
   * `ip link set … netns TID` can move links into it */
  g_mutex_init (&net->lock);
  g_cond_init (&net->cond);
  net->server_ns = -1;
  net->holder = g_thread_new ("server-ns", hold_server_namespace, net);
  g_mutex_lock (&net->lock);
  while (net->server_ns == -1)
    g_cond_wait (&net->cond, &net->lock);
  g_mutex_unlock (&net->lock);
  g_assert_cmpint (net->server_ns, >=, 0);

  run ("ip link add c0 type veth peer name s0");
  run ("ip link add c1 type veth peer name s1");
  run ("ip link set s0 netns %d", (int) net->holder_tid);
  run ("ip link set s1 netns %d", (int) net->holder_tid);
  run ("ip addr add 10.1.0.1/24 dev c0");
  run ("ip addr add 10.2.0.1/24 dev c1");
  run ("ip -6 addr add fd01::1/64 dev c0 nodad");
  run ("ip -6 addr add fd02::1/64 dev c1 nodad");
  run ("ip link set c0 up");
  run ("ip link set c1 up");
  run_in_server (net, "ip link set lo up");
  run_in_server (net, "ip addr add 10.1.0.2/24 dev s0");
  run_in_server (net, "ip addr add 10.2.0.2/24 dev s1");
  run_in_server (net, "ip -6 addr add fd01::2/64 dev s0 nodad");
  run_in_server (net, "ip -6 addr add fd02::2/64 dev s1 nodad");
  run_in_server (net, "ip addr add 10.99.0.1/32 dev lo");
  run_in_server (net, "ip -6 route add blackhole fd99::1/128");
  run_in_server (net, "ip link set s0 up");
  run_in_server (net, "ip link set s1 up");
  run ("ip route add 10.99.0.1/32 via 10.1.0.2 dev c0 metric 100");
  run ("ip route add 10.99.0.1/32 via 10.2.0.2 dev c1 metric 200");
  run ("ip -6 route add fd99::1/128 via fd01::2 dev c0 metric 100");
  run ("ip -6 route add fd99::1/128 via fd02::2 dev c1 metric 200");

  /* The service: a dual-stack listener in the server namespace; the
   * kernel completes handshakes without accept(). */
  enter (net->server_ns);
  net->listener = g_socket_new (G_SOCKET_FAMILY_IPV6, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  enter (client_ns);
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

  /* veth carriers come up asynchronously: wait until the monitor sees them */
  for (guint i = 0; i < 300; i++)
    {
      g_autoptr(PostInterfaceInfo) c0 = post_path_monitor_get_interface (post_path_monitor_get_default (), "c0");
      g_autoptr(PostInterfaceInfo) c1 = post_path_monitor_get_interface (post_path_monitor_get_default (), "c1");

      if (c0 != NULL && c1 != NULL && c0->running && c1->running)
        break;
      g_usleep (10000);
    }
}

static void
net_teardown (Net          *net,
              gconstpointer data)
{
  if (!namespaces_ok)
    return;
  g_clear_object (&net->listener);
  g_clear_pointer (&net->loop, g_main_loop_unref);
  /* Deleting one end deletes the pair; the last reference to the server
   * namespace goes with its descriptor. */
  run ("ip link del c0");
  run ("ip link del c1");
  g_mutex_lock (&net->lock);
  net->done = TRUE;
  g_cond_broadcast (&net->cond);
  g_mutex_unlock (&net->lock);
  g_thread_join (net->holder);
  close (net->server_ns);
  net->server_ns = -1;
  g_mutex_clear (&net->lock);
  g_cond_clear (&net->cond);
}

static gboolean
skip_without_namespaces (void)
{
  if (!namespaces_ok)
    {
      g_test_skip (namespaces_why);
      return TRUE;
    }
  return FALSE;
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

  if (skip_without_namespaces ())
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

  if (skip_without_namespaces ())
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

  run ("ip link add d0 type veth peer name d1");
  run ("ip link set d1 up");
  wait_for_entry (&log, "added d0 down");
  run ("ip link set d0 up");
  wait_for_entry (&log, "changed d0 running");
  run ("ip addr add 10.7.0.1/24 dev d0");
  wait_for_entry (&log, "address-added 10.7.0.1");
  run ("ip route add default via 10.7.0.2 dev d0");
  wait_for_entry (&log, "route ipv4");
  g_ptr_array_set_size (log.log, 0);
  run ("ip link set d0 down");
  wait_for_entry (&log, "changed d0 down");
  /* the kernel drops the route silently; the monitor notices */
  wait_for_entry (&log, "route ipv4");
  run ("ip addr del 10.7.0.1/24 dev d0");
  wait_for_entry (&log, "address-removed 10.7.0.1");
  run ("ip link del d0");
  wait_for_entry (&log, "removed d0 down");
  g_ptr_array_unref (log.log);
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

  if (skip_without_namespaces ())
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

  if (skip_without_namespaces ())
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

  if (skip_without_namespaces ())
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

  if (skip_without_namespaces ())
    return;
  post_configuration_set_attempt_delay (configuration, 3000, &error);
  g_assert_no_error (error);
  run_in_server (net, "ip route add blackhole 10.1.0.1/32");
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

  if (skip_without_namespaces ())
    return;
  /* c0 silent: c1 wins and is remembered */
  run_in_server (net, "ip route add blackhole 10.1.0.1/32");
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
  run_in_server (net, "ip route del blackhole 10.1.0.1/32");
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

  if (skip_without_namespaces ())
    return;
  /* Nobody listens: every attempt is refused; IPv6 is blackholed, so keep
   * the connection timeout short */
  g_clear_object (&net->listener);
  post_configuration_set_conn_timeout (configuration, 20000, &error);
  run_in_server (net, "ip -6 route del blackhole fd99::1/128");
  run_in_server (net, "ip -6 addr add fd99::1/128 dev lo nodad");
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

static void
link_down (Net          *net,
           const char   *action,
           gboolean      expect_dormant)
{
  g_autoptr(PostConfiguration) configuration = configuration_with ("c1", POST_PREFERENCE_PREFER);
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *local = NULL;
  guint removed = 0, added = 0;

  if (action != NULL)
    post_configuration_set_option (configuration, "path.on-loss", g_variant_new_string (action), &error);
  g_assert_no_error (error);
  carrier = initiate (net, "10.99.0.1", configuration);
  g_signal_connect (carrier, "path-removed", G_CALLBACK (count_path), &removed);
  g_signal_connect (carrier, "path-added", G_CALLBACK (count_path), &added);
  g_assert_true (wait_for_state (carrier, POST_CARRIER_STATE_ACTIVE, 5000));
  local = local_host (carrier);
  g_assert_cmpstr (local, ==, "10.2.0.1");

  run ("ip addr add 10.1.0.9/24 dev c0");
  while (added == 0)
    g_main_context_iteration (NULL, TRUE);

  run ("ip link set c1 down");
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
    }
  post_carrier_abort (carrier);
}

static void
test_link_down_reestablishes (Net          *net,
                              gconstpointer data)
{
  if (skip_without_namespaces ())
    return;
  link_down (net, NULL, FALSE);
}

static void
test_link_down_dormant (Net          *net,
                        gconstpointer data)
{
  if (skip_without_namespaces ())
    return;
  link_down (net, "dormant", TRUE);
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

  if (skip_without_namespaces ())
    return;
  local = post_local_new_from_uri ("tcp://10.2.0.1:0", &error);
  g_assert_no_error (error);
  listener = post_carrier_listen (local, NULL, &error);
  g_assert_no_error (error);
  g_signal_connect (listener, "incoming", G_CALLBACK (keep_incoming), &accepted);

  /* A plain socket in the server namespace connects over c1/s1. */
  enter (net->server_ns);
  peer = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  enter (client_ns);
  g_assert_no_error (error);
  g_assert_true (g_socket_connect (peer, post_carrier_get_local_address (listener), NULL, &error));
  g_assert_no_error (error);
  while (accepted == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_signal_connect (accepted, "path-removed", G_CALLBACK (count_path), &removed);
  g_signal_connect (accepted, "closed", G_CALLBACK (closed_with_error), &closed);
  g_assert_cmpint (post_carrier_get_state (accepted), ==, POST_CARRIER_STATE_ACTIVE);

  run ("ip link set c1 down");
  while (closed == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (removed, ==, 1);
  g_assert_cmpint (post_carrier_get_state (accepted), ==, POST_CARRIER_STATE_CLOSED);
  g_test_message ("accepted carrier closed: %s", closed->message);
  g_assert_nonnull (strstr (closed->message, "c1"));
  post_carrier_close (listener);
}

/* ---- main ------------------------------------------------------------------------- */

static void
enter_client_namespace (void)
{
  if (geteuid () != 0)
    {
      namespaces_why = g_strdup ("needs root for network namespaces");
      return;
    }
  if (unshare (CLONE_NEWNET) != 0)
    {
      namespaces_why = g_strdup_printf ("unshare(CLONE_NEWNET): %s", g_strerror (errno));
      return;
    }
  client_ns = open ("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
  if (client_ns < 0 || !run_argv ("ip link set lo up", NULL))
    {
      namespaces_why = g_strdup ("cannot run ip in the namespace");
      return;
    }
  namespaces_ok = TRUE;
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GResolver) resolver = NULL;

  /* Before anything else runs: the whole process leaves the host's network */
  enter_client_namespace ();
  g_test_init (&argc, &argv, NULL);
  resolver = g_object_new (TEST_TYPE_RESOLVER, NULL);
  g_resolver_set_default (resolver);

  g_test_add ("/paths/monitor/lists", Net, NULL, net_setup, test_monitor_lists, net_teardown);
  g_test_add ("/paths/monitor/events", Net, NULL, net_setup, test_monitor_events, net_teardown);
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
  return g_test_run ();
}
