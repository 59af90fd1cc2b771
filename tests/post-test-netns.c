/* post-test-netns.c: network namespaces of the path tests
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#define _GNU_SOURCE
#include "post-test-netns.h"

#include <post.h>

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

static gboolean namespaces_ok;
static char *namespaces_why;
static int client_ns = -1;

gboolean
post_test_netns_run_argv (const char *command,
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

static void
enter (int ns)
{
  g_assert_cmpint (setns (ns, CLONE_NEWNET), ==, 0);
}

void
post_test_netns_enter_server (PostTestNetns *net)
{
  enter (net->server_ns);
}

void
post_test_netns_enter_client (void)
{
  enter (client_ns);
}

/* Runs @command in @net's server namespace, or the client's if @net is NULL;
 * fails the test unless it exits 0. */
static void
run_in (PostTestNetns *net,
        const char    *command)
{
  g_autoptr(GError) error = NULL;

  if (net != NULL)
    enter (net->server_ns);
  post_test_netns_run_argv (command, &error);
  if (net != NULL)
    enter (client_ns);
  g_assert_no_error (error);
}

void
post_test_netns_run (const char *format,
                     ...)
{
  g_autofree char *command = NULL;
  va_list args;

  va_start (args, format);
  command = g_strdup_vprintf (format, args);
  va_end (args);
  run_in (NULL, command);
}

void
post_test_netns_run_in_server (PostTestNetns *net,
                               const char    *format,
                               ...)
{
  g_autofree char *command = NULL;
  va_list args;

  va_start (args, format);
  command = g_strdup_vprintf (format, args);
  va_end (args);
  run_in (net, command);
}

static gpointer
hold_server_namespace (gpointer data)
{
  PostTestNetns *net = data;
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

void
post_test_netns_setup (PostTestNetns *net,
                       const char    *service_v6)
{
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

  post_test_netns_run ("ip link add c0 type veth peer name s0");
  post_test_netns_run ("ip link add c1 type veth peer name s1");
  post_test_netns_run ("ip link set s0 netns %d", (int) net->holder_tid);
  post_test_netns_run ("ip link set s1 netns %d", (int) net->holder_tid);
  post_test_netns_run ("ip addr add 10.1.0.1/24 dev c0");
  post_test_netns_run ("ip addr add 10.2.0.1/24 dev c1");
  post_test_netns_run ("ip -6 addr add fd01::1/64 dev c0 nodad");
  post_test_netns_run ("ip -6 addr add fd02::1/64 dev c1 nodad");
  post_test_netns_run ("ip link set c0 up");
  post_test_netns_run ("ip link set c1 up");
  post_test_netns_run_in_server (net, "ip link set lo up");
  post_test_netns_run_in_server (net, "ip addr add 10.1.0.2/24 dev s0");
  post_test_netns_run_in_server (net, "ip addr add 10.2.0.2/24 dev s1");
  post_test_netns_run_in_server (net, "ip -6 addr add fd01::2/64 dev s0 nodad");
  post_test_netns_run_in_server (net, "ip -6 addr add fd02::2/64 dev s1 nodad");
  post_test_netns_run_in_server (net, "ip addr add 10.99.0.1/32 dev lo");
  post_test_netns_run_in_server (net, "%s", service_v6);
  post_test_netns_run_in_server (net, "ip link set s0 up");
  post_test_netns_run_in_server (net, "ip link set s1 up");
  post_test_netns_run ("ip route add 10.99.0.1/32 via 10.1.0.2 dev c0 metric 100");
  post_test_netns_run ("ip route add 10.99.0.1/32 via 10.2.0.2 dev c1 metric 200");
  post_test_netns_run ("ip -6 route add fd99::1/128 via fd01::2 dev c0 metric 100");
  post_test_netns_run ("ip -6 route add fd99::1/128 via fd02::2 dev c1 metric 200");

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

void
post_test_netns_teardown (PostTestNetns *net)
{
  /* Deleting one end deletes the pair; the last reference to the server
   * namespace goes with its descriptor. */
  post_test_netns_run ("ip link del c0");
  post_test_netns_run ("ip link del c1");
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

gboolean
post_test_netns_available (void)
{
  return namespaces_ok;
}

gboolean
post_test_netns_skip (void)
{
  if (!namespaces_ok)
    {
      g_test_skip (namespaces_why);
      return TRUE;
    }
  return FALSE;
}

void
post_test_netns_init (void)
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
  if (client_ns < 0 || !post_test_netns_run_argv ("ip link set lo up", NULL))
    {
      namespaces_why = g_strdup ("cannot run ip in the namespace");
      return;
    }
  namespaces_ok = TRUE;
}
