/* post-bench-paths.c: time to a ready carrier when the first-ranked address
 * is blackholed, libpost against GIO's GSocketClient (which also races)
 *
 * "service.test" resolves (a GResolver of the bench's) to fd99::1 and
 * 10.99.0.1.  IPv6 ranks first (RFC 8305), and fd99::1 is blackholed: it
 * is routed over a veth to a next hop with a permanent neighbour entry
 * whose packets the peer end drops without a word.  So both clients must
 * fall back to IPv4 after their connection attempt delay (250 ms for
 * both: libpost's default, GLib's HAPPY_EYEBALLS_CONNECTION_ATTEMPT_TIMEOUT_MS).
 * Measured: from initiate / g_socket_client_connect_to_host_async() to the
 * carrier ACTIVE / the connection handed over, alternating libpost and GIO
 * in each round; the figure is the median, and the ratio the median of the
 * per-round ratios.
 *
 * The setup needs a network namespace: the bench runs itself again under
 * `unshare -n` (root only) with POST_BENCH_PATHS_CHILD=1 and prints that
 * child's table; without root the case is skipped with a note.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>
#include "post-bench-paths.h"
#include "post-bench-json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MARKER "=== post-bench-paths ==="

/* ---- resolver --------------------------------------------------------------- */

#define BENCH_TYPE_RESOLVER (bench_resolver_get_type ())
G_DECLARE_FINAL_TYPE (BenchResolver, bench_resolver, BENCH, RESOLVER, GResolver)

struct _BenchResolver
{
  GResolver parent_instance;
};

G_DEFINE_TYPE (BenchResolver, bench_resolver, G_TYPE_RESOLVER)

static GList *
bench_addresses (GResolverNameLookupFlags flags)
{
  GList *list = NULL;

  if (flags != G_RESOLVER_NAME_LOOKUP_FLAGS_IPV4_ONLY)
    list = g_list_append (list, g_inet_address_new_from_string ("fd99::1"));
  if (flags != G_RESOLVER_NAME_LOOKUP_FLAGS_IPV6_ONLY)
    list = g_list_append (list, g_inet_address_new_from_string ("10.99.0.1"));
  return list;
}

static void
bench_resolver_lookup_with_flags_async (GResolver                 *resolver,
                                        const char                *hostname,
                                        GResolverNameLookupFlags   flags,
                                        GCancellable              *cancellable,
                                        GAsyncReadyCallback        callback,
                                        gpointer                   user_data)
{
  g_autoptr(GTask) task = g_task_new (resolver, cancellable, callback, user_data);

  g_task_return_pointer (task, bench_addresses (flags), (GDestroyNotify) g_resolver_free_addresses);
}

static void
bench_resolver_lookup_async (GResolver           *resolver,
                             const char          *hostname,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  bench_resolver_lookup_with_flags_async (resolver, hostname, G_RESOLVER_NAME_LOOKUP_FLAGS_DEFAULT,
                                          cancellable, callback, user_data);
}

static GList *
bench_resolver_lookup_finish (GResolver     *resolver,
                              GAsyncResult  *result,
                              GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static GList *
bench_resolver_lookup (GResolver     *resolver,
                       const char    *hostname,
                       GCancellable  *cancellable,
                       GError       **error)
{
  return bench_addresses (G_RESOLVER_NAME_LOOKUP_FLAGS_DEFAULT);
}

static void
bench_resolver_class_init (BenchResolverClass *klass)
{
  GResolverClass *resolver_class = G_RESOLVER_CLASS (klass);

  resolver_class->lookup_by_name = bench_resolver_lookup;
  resolver_class->lookup_by_name_async = bench_resolver_lookup_async;
  resolver_class->lookup_by_name_finish = bench_resolver_lookup_finish;
  resolver_class->lookup_by_name_with_flags_async = bench_resolver_lookup_with_flags_async;
  resolver_class->lookup_by_name_with_flags_finish = bench_resolver_lookup_finish;
}

static void
bench_resolver_init (BenchResolver *self)
{
}

/* ---- the child: in its own namespace ------------------------------------------- */

static gboolean
sh (const char *command)
{
  g_auto(GStrv) argv = NULL;
  int status = 0;

  if (!g_shell_parse_argv (command, NULL, &argv, NULL)
      || !g_spawn_sync (NULL, argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL
                        | G_SPAWN_STDERR_TO_DEV_NULL, NULL, NULL, NULL, NULL, &status, NULL)
      || !g_spawn_check_wait_status (status, NULL))
    {
      g_printerr ("post-bench-paths: ‘%s’ failed\n", command);
      return FALSE;
    }
  return TRUE;
}

static gboolean
accept_cb (GSocket      *listener,
           GIOCondition  condition,
           gpointer      user_data)
{
  GSocket *accepted = g_socket_accept (listener, NULL, NULL);

  if (accepted != NULL)
    {
      g_socket_close (accepted, NULL);
      g_object_unref (accepted);
    }
  return G_SOURCE_CONTINUE;
}

typedef struct {
  gint64   done;     /* when it was ready, 0 while waiting */
  gboolean failed;
} Wait;

static void
gio_connected_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  Wait *wait = user_data;
  g_autoptr(GSocketConnection) connection = NULL;

  connection = g_socket_client_connect_to_host_finish (G_SOCKET_CLIENT (source), result, NULL);
  wait->done = g_get_monotonic_time ();
  wait->failed = connection == NULL;
  if (connection != NULL)
    g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
}

static gboolean
deadline_cb (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* One connection; returns ms to ready, or -1 */
static double
time_libpost (guint16 port)
{
  g_autofree char *uri = g_strdup_printf ("tcp://service.test:%u", port);
  g_autoptr(PostRemote) remote = post_remote_new_from_uri (uri, NULL);
  g_autoptr(PostCarrier) carrier = NULL;
  gboolean late = FALSE;
  guint deadline;
  gint64 start = g_get_monotonic_time ();
  double ms;

  /* A fresh association each time (its key includes the configuration):
   * measure the race, not the association's memory of the last winner */
  {
    static guint serial;
    g_autoptr(PostConfiguration) configuration = post_configuration_new ();

    post_configuration_set_option (configuration, "bench.serial", g_variant_new_uint32 (++serial), NULL);
    carrier = post_carrier_initiate (NULL, remote, configuration);
  }
  deadline = g_timeout_add (10000, deadline_cb, &late);
  while (!late && post_carrier_get_state (carrier) == POST_CARRIER_STATE_ESTABLISHING)
    g_main_context_iteration (NULL, TRUE);
  if (!late)
    g_source_remove (deadline);
  ms = (g_get_monotonic_time () - start) / 1000.0;
  if (post_carrier_get_state (carrier) != POST_CARRIER_STATE_ACTIVE)
    ms = -1;
  post_carrier_abort (carrier);
  return ms;
}

static double
time_gio (guint16 port)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  Wait wait = { 0, FALSE };
  gboolean late = FALSE;
  guint deadline;
  gint64 start = g_get_monotonic_time ();

  g_socket_client_set_enable_proxy (client, FALSE);
  g_socket_client_connect_to_host_async (client, "service.test", port, NULL, gio_connected_cb, &wait);
  deadline = g_timeout_add (10000, deadline_cb, &late);
  while (!late && wait.done == 0)
    g_main_context_iteration (NULL, TRUE);
  if (!late)
    g_source_remove (deadline);
  if (wait.done == 0 || wait.failed)
    return -1;
  return (wait.done - start) / 1000.0;
}

static int
compare_double (gconstpointer a,
                gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

static double
median (GArray *values)
{
  if (values->len == 0)
    return 0;
  g_array_sort (values, compare_double);
  return g_array_index (values, double, values->len / 2);
}

static double
run_child (double seconds)
{
  g_autoptr(GResolver) resolver = g_object_new (BENCH_TYPE_RESOLVER, NULL);
  g_autoptr(GSocket) listener = NULL;
  g_autoptr(GSocketAddress) any = NULL;
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GInetAddress) inet = NULL;
  g_autoptr(GArray) post = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) gio = g_array_new (FALSE, FALSE, sizeof (double));
  g_autoptr(GArray) ratios = g_array_new (FALSE, FALSE, sizeof (double));
  GSource *source;
  guint rounds = CLAMP ((guint) (seconds * 4), 3, 20);
  guint16 port;
  double ratio;

  if (!sh ("ip link set lo up") || !sh ("ip link add c0 type veth peer name s0")
      || !sh ("ip link set c0 up") || !sh ("ip link set s0 up")
      || !sh ("ip addr add 10.99.0.1/32 dev lo")
      || !sh ("ip -6 addr add fd01::1/64 dev c0 nodad")
      || !sh ("ip -6 neigh add fd01::2 lladdr 02:00:00:00:00:99 dev c0 nud permanent")
      || !sh ("ip -6 route add fd99::1/128 via fd01::2 dev c0"))
    return 0;
  g_resolver_set_default (resolver);

  listener = g_socket_new (G_SOCKET_FAMILY_IPV6, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  inet = g_inet_address_new_any (G_SOCKET_FAMILY_IPV6);
  any = g_inet_socket_address_new (inet, 0);
  if (listener == NULL || !g_socket_bind (listener, any, TRUE, NULL) || !g_socket_listen (listener, NULL))
    return 0;
  g_socket_set_blocking (listener, FALSE);
  bound = g_socket_get_local_address (listener, NULL);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  source = g_socket_create_source (listener, G_IO_IN, NULL);
  g_source_set_callback (source, (GSourceFunc) (void (*)(void)) accept_cb, NULL, NULL);
  g_source_attach (source, NULL);

  for (guint round = 0; round < rounds; round++)
    {
      double p, g;

      /* alternate which goes first */
      if (round % 2 == 0)
        {
          p = time_libpost (port);
          g = time_gio (port);
        }
      else
        {
          g = time_gio (port);
          p = time_libpost (port);
        }
      if (p > 0)
        g_array_append_val (post, p);
      if (g > 0)
        g_array_append_val (gio, g);
      if (p > 0 && g > 0)
        {
          double r = p / g;

          g_array_append_val (ratios, r);
        }
    }
  g_source_destroy (source);
  g_source_unref (source);

  ratio = median (ratios);
  (void) median (post);   /* sorted from here on: [0] is the minimum */
  (void) median (gio);
  g_print (MARKER "\n");
  g_print ("(p) fallback when the first-ranked address (IPv6) is blackholed: time to ready, ms\n");
  g_print ("    %u rounds; both race with a 250 ms connection attempt delay\n", rounds);
  g_print ("    %-24s %10s %10s %10s\n", "", "median", "min", "max");
  if (post->len > 0)
    g_print ("    %-24s %10.1f %10.1f %10.1f\n", "libpost tcp", median (post),
             g_array_index (post, double, 0), g_array_index (post, double, post->len - 1));
  if (gio->len > 0)
    g_print ("    %-24s %10.1f %10.1f %10.1f\n", "GIO GSocketClient", median (gio),
             g_array_index (gio, double, 0), g_array_index (gio, double, gio->len - 1));
  if (ratios->len > 0)
    {
      g_print ("    libpost/GIO time ratio: %.2f (per-round range %.2f–%.2f; below 1 is faster)\n",
               ratio, g_array_index (ratios, double, 0), g_array_index (ratios, double, ratios->len - 1));
    }
  else
    g_print ("    no successful round\n");
  {
    ToolJson *json = post_bench_json_begin ("p", "fallback when the first-ranked address (IPv6) is blackholed, time to ready", "ms");

    tool_json_int (json, "rounds", rounds);
    tool_json_int (json, "connection_attempt_delay_ms", 250);
    post_bench_json_figures (json);
    post_bench_json_value (json, "libpost", post->len > 0, post->len > 0 ? median (post) : 0);
    post_bench_json_begin_baselines (json);
    post_bench_json_baseline (json, "GIO GSocketClient", gio->len > 0, gio->len > 0 ? median (gio) : 0, ratio,
                              ratios->len > 0 ? g_array_index (ratios, double, 0) : 0,
                              ratios->len > 0 ? g_array_index (ratios, double, ratios->len - 1) : 0, ratios->len);
    post_bench_json_end_baselines (json);
    post_bench_json_end (json);
  }
  return ratio;
}

/* ---- the parent ---------------------------------------------------------------- */

double
post_bench_paths_run (double seconds)
{
  g_autofree char *out = NULL;
  g_autofree char *seconds_arg = NULL;
  g_autofree char *self = NULL;
  const char *table;
  int status = 0;
  double ratio = 0;

  if (g_getenv ("POST_BENCH_PATHS_CHILD") != NULL)
    return run_child (seconds);

  g_print ("\n");
  if (geteuid () != 0)
    {
      g_print ("(p) path fallback: skipped (needs root for a network namespace)\n");
      return 0;
    }
  self = g_file_read_link ("/proc/self/exe", NULL);
  seconds_arg = g_strdup_printf ("--seconds=%g", seconds);
  {
    const char *argv[] = { "unshare", "-n", self, "--cases=p", seconds_arg,
                           post_bench_json_enabled () ? "--json" : NULL, NULL };
    g_auto(GStrv) env = g_environ_setenv (g_get_environ (), "POST_BENCH_PATHS_CHILD", "1", TRUE);

    if (self == NULL
        || !g_spawn_sync (NULL, (char **) argv, env, G_SPAWN_SEARCH_PATH, NULL, NULL, &out, NULL,
                          &status, NULL)
        || !g_spawn_check_wait_status (status, NULL)
        || (table = strstr (out, MARKER "\n")) == NULL)
      {
        g_print ("(p) path fallback: could not run (unshare -n failed)\n");
        return 0;
      }
  }
  table += strlen (MARKER "\n");
  /* The table for g_print(), the child's JSON line (--json) as it is. */
  {
    g_auto(GStrv) lines = g_strsplit (table, "\n", -1);

    for (guint i = 0; lines[i] != NULL; i++)
      if (lines[i][0] == '{')
        post_bench_json_forward (lines[i]);
      else if (lines[i][0] != '\0' || lines[i + 1] != NULL)
        g_print ("%s\n", lines[i]);
  }
  {
    const char *line = strstr (table, "time ratio: ");

    if (line != NULL)
      ratio = g_ascii_strtod (line + strlen ("time ratio: "), NULL);
  }
  return ratio;
}
