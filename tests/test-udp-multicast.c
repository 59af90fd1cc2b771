/* test-udp-multicast.c: multicast over the `udp` stack (draft 3.1.4)
 *
 * Loopback does not carry multicast by default, and a test must not depend
 * on the host's routes.  So the process first moves itself into a network
 * namespace of its own (unshare (CLONE_NEWNET)), enables multicast on `lo`
 * with a route for 224.0.0.0/4, and adds a veth pair: IPv6 multicast does
 * not loop over `lo`, and the loop option can only be seen on a real link
 * (what leaves postveth0 arrives on postveth1).  The namespace has no
 * name and belongs to this process alone: the kernel removes it when the
 * process exits, however it exits, so nothing can be left behind.  Without
 * the privilege to do so (or without `ip`), every test is skipped with the
 * reason.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#ifndef _GNU_SOURCE
# define _GNU_SOURCE
#endif
#include <post.h>
#include <errno.h>
#include <sched.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "post-test-util.h"

static char *skip_reason;

static gboolean
run (const char *command)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *err = NULL;
  g_auto(GStrv) argv = NULL;
  int status = 0;

  if (!g_shell_parse_argv (command, NULL, &argv, &error)
      || !g_spawn_sync (NULL, argv, NULL, G_SPAWN_SEARCH_PATH | G_SPAWN_STDOUT_TO_DEV_NULL,
                        NULL, NULL, NULL, &err, &status, &error)
      || !g_spawn_check_wait_status (status, &error))
    {
      skip_reason = g_strdup_printf ("cannot set up a network namespace for multicast: ‘%s’ failed: %s %s",
                                     command, error ? error->message : "", err ? err : "");
      return FALSE;
    }
  return TRUE;
}

static void
setup_namespace (void)
{
  g_autofree char *ip = g_find_program_in_path ("ip");

  if (ip == NULL)
    {
      skip_reason = g_strdup ("`ip` (iproute2) is not installed: cannot set up a network namespace");
      return;
    }
  if (unshare (CLONE_NEWNET) != 0)
    {
      skip_reason = g_strdup_printf ("cannot create a network namespace (unshare: %s); run as root",
                                     g_strerror (errno));
      return;
    }
  if (!run ("ip link set lo up")
      || !run ("ip link set lo multicast on")
      || !run ("ip route add 224.0.0.0/4 dev lo src 127.0.0.1")
      /* On lo the wire itself loops every datagram back, so the loop
       * option is tested on a veth pair: what leaves veth0 arrives on
       * veth1, where nobody joined. */
      || !run ("ip link add postveth0 type veth peer name postveth1")
      || !run ("ip addr add 10.211.0.1/24 dev postveth0")
      || !run ("ip addr add 10.211.0.2/24 dev postveth1")
      || !run ("ip addr add fd00:211::1/64 dev postveth0 nodad")
      || !run ("ip link set postveth0 up")
      || !run ("ip link set postveth1 up"))
    return;
}

static gboolean
skipped (void)
{
  if (skip_reason != NULL)
    {
      g_test_skip (skip_reason);
      return TRUE;
    }
  return FALSE;
}

/* ---- harness -------------------------------------------------------------- */

#define wait_until_count(count, target, what) post_test_wait_count ((count), (target), (what), 10)
#define spin_ms post_test_spin

static PostConfiguration *
udp_configuration (void)
{
  PostConfiguration *config = post_configuration_new ();

  g_assert_true (post_configuration_set_preference (config, POST_SELECTION_RELIABILITY,
                                                    POST_PREFERENCE_NO_PREFERENCE, NULL));
  g_assert_true (post_configuration_set_preference (config, POST_SELECTION_PRESERVE_ORDER,
                                                    POST_PREFERENCE_NO_PREFERENCE, NULL));
  g_assert_true (post_configuration_set_preference (config, POST_SELECTION_CONGESTION_CONTROL,
                                                    POST_PREFERENCE_NO_PREFERENCE, NULL));
  return config;
}

typedef struct
{
  guint      count;
  GPtrArray *texts;   /* (element-type utf8) */
  GPtrArray *froms;   /* (element-type GSocketAddress) */
} Inbox;

static void
inbox_init (Inbox *inbox)
{
  inbox->count = 0;
  inbox->texts = g_ptr_array_new_with_free_func (g_free);
  inbox->froms = g_ptr_array_new_with_free_func (g_object_unref);
}

static void
inbox_clear (Inbox *inbox)
{
  g_clear_pointer (&inbox->texts, g_ptr_array_unref);
  g_clear_pointer (&inbox->froms, g_ptr_array_unref);
}

static gboolean
inbox_ready (PostCarrier *carrier, PostMessage *message, gpointer user_data)
{
  Inbox *inbox = user_data;
  gsize size;
  const char *data = g_bytes_get_data (post_message_get_content (message), &size);

  g_ptr_array_add (inbox->texts, g_strndup (data ? data : "", size));
  g_ptr_array_add (inbox->froms, g_object_ref (post_message_get_remote_address (message)));
  inbox->count++;
  return TRUE;
}

/* A sink joined to @group (any port: the sink's real port is returned). */
static PostCarrier *
group_sink (const char        *group_uri,
            PostConfiguration *config,
            Inbox             *inbox)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostLocal) local = post_local_new_from_uri (group_uri, &error);
  PostCarrier *sink;

  g_assert_no_error (error);
  sink = post_carrier_new_sink (local, NULL, config, &error);
  g_assert_no_error (error);
  g_assert_nonnull (sink);
  g_assert_cmpstr (post_carrier_get_stack_name (sink), ==, "udp");
  g_assert_true (post_carrier_get_capabilities (sink) & POST_STACK_CAP_MULTICAST);
  post_carrier_ready (sink, inbox_ready, inbox, NULL);
  return sink;
}

static PostCarrier *
group_source (const char        *remote_uri,
              const char        *local_uri,
              PostConfiguration *config)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostRemote) remote = post_remote_new_from_uri (remote_uri, &error);
  g_autoptr(PostLocal) local = NULL;

  g_assert_no_error (error);
  if (local_uri != NULL)
    {
      local = post_local_new_from_uri (local_uri, &error);
      g_assert_no_error (error);
    }
  return post_carrier_new_source (local, remote, config);
}

static void
send_text (PostCarrier *carrier, const char *text)
{
  g_autoptr(PostMessage) m = post_message_new_from_string (text);
  g_autoptr(GError) error = NULL;

  g_assert_true (post_carrier_send (carrier, m, &error));
  g_assert_no_error (error);
}

/* ---- tests ------------------------------------------------------------------ */

static void
test_multicast_ipv4 (void)
{
  g_autoptr(PostConfiguration) config = udp_configuration ();
  g_autoptr(PostCarrier) sink1 = NULL;
  g_autoptr(PostCarrier) sink2 = NULL;
  g_autoptr(PostCarrier) source = NULL;
  Inbox in1, in2;

  if (skipped ())
    return;
  inbox_init (&in1);
  inbox_init (&in2);
  /* Two receivers share the group's port. */
  sink1 = group_sink ("udp://239.1.2.3:45000", config, &in1);
  sink2 = group_sink ("udp://239.1.2.3:45000", config, &in2);
  source = group_source ("udp://239.1.2.3:45000", NULL, config);
  send_text (source, "to the group");
  send_text (source, "again");
  wait_until_count (&in1.count, 2, "the group's datagrams at sink 1");
  wait_until_count (&in2.count, 2, "the group's datagrams at sink 2");
  g_assert_cmpstr (in1.texts->pdata[0], ==, "to the group");
  g_assert_cmpstr (in2.texts->pdata[1], ==, "again");
  /* Each message tells its source. */
  g_assert_cmpuint (g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (in1.froms->pdata[0])), ==,
                    g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (post_carrier_get_local_address (source))));

  post_carrier_close (source);
  post_carrier_close (sink1);
  post_carrier_close (sink2);
  inbox_clear (&in1);
  inbox_clear (&in2);
}

static void
test_multicast_other_group_filtered (void)
{
  g_autoptr(PostConfiguration) config = udp_configuration ();
  g_autoptr(PostCarrier) sink = NULL;
  g_autoptr(PostCarrier) other = NULL;
  g_autoptr(PostCarrier) source_a = NULL;
  g_autoptr(PostCarrier) source_b = NULL;
  Inbox in, in_other;

  if (skipped ())
    return;
  inbox_init (&in);
  inbox_init (&in_other);
  sink = group_sink ("udp://239.1.2.4:45001", config, &in);
  other = group_sink ("udp://239.1.2.5:45001", config, &in_other);
  source_a = group_source ("udp://239.1.2.4:45001", NULL, config);
  source_b = group_source ("udp://239.1.2.5:45001", NULL, config);
  send_text (source_b, "for the other group");
  send_text (source_a, "for us");
  wait_until_count (&in.count, 1, "our group's datagram");
  wait_until_count (&in_other.count, 1, "the other group's datagram");
  spin_ms (50);
  g_assert_cmpuint (in.count, ==, 1);
  g_assert_cmpstr (in.texts->pdata[0], ==, "for us");
  g_assert_cmpuint (in_other.count, ==, 1);

  post_carrier_close (source_a);
  post_carrier_close (source_b);
  post_carrier_close (sink);
  post_carrier_close (other);
  inbox_clear (&in);
  inbox_clear (&in_other);
}

static void
test_multicast_loop_off (void)
{
  g_autoptr(PostConfiguration) config = udp_configuration ();
  g_autoptr(PostConfiguration) quiet = NULL;
  g_autoptr(PostCarrier) sink = NULL;
  g_autoptr(PostCarrier) source = NULL;
  g_autoptr(PostCarrier) loud = NULL;
  g_autoptr(GError) error = NULL;
  Inbox in;

  if (skipped ())
    return;
  /* Everything on postveth0: the group is joined there and sent there. */
  g_assert_true (post_configuration_set_option (config, "udp.multicast-interface",
                                                g_variant_new_string ("postveth0"), &error));
  quiet = post_configuration_copy (config);
  g_assert_true (post_configuration_set_option (quiet, "udp.multicast-loop",
                                                g_variant_new_boolean (FALSE), &error));
  g_assert_no_error (error);
  inbox_init (&in);
  sink = group_sink ("udp://239.1.2.6:45002", config, &in);
  source = group_source ("udp://239.1.2.6:45002", NULL, quiet);
  send_text (source, "not looped back");
  spin_ms (100);
  g_assert_cmpuint (in.count, ==, 0);
  /* With loop on (the default) this host's member hears it. */
  loud = group_source ("udp://239.1.2.6:45002", NULL, config);
  send_text (loud, "looped back");
  wait_until_count (&in.count, 1, "the looped datagram");
  g_assert_cmpstr (in.texts->pdata[0], ==, "looped back");
  g_assert_cmpstr (post_carrier_get_stack_name (loud), ==, "udp");

  post_carrier_close (source);
  post_carrier_close (loud);
  post_carrier_close (sink);
  inbox_clear (&in);
}

static void
test_multicast_bad_interface (void)
{
  g_autoptr(PostConfiguration) config = udp_configuration ();
  g_autoptr(GError) error = NULL;
  g_autoptr(PostLocal) local = post_local_new_from_uri ("udp://239.1.2.9:45008", NULL);
  g_autoptr(PostCarrier) sink = NULL;

  if (skipped ())
    return;
  g_assert_true (post_configuration_set_option (config, "udp.multicast-interface",
                                                g_variant_new_string ("nosuchif0"), &error));
  sink = post_carrier_new_sink (local, NULL, config, &error);
  g_assert_null (sink);
  g_assert_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "nosuchif0"));
}

/* The TTL option reaches the wire: a plain socket reads it with IP_RECVTTL. */
static void
test_multicast_ttl (void)
{
  g_autoptr(PostConfiguration) config = udp_configuration ();
  g_autoptr(PostCarrier) source = NULL;
  g_autoptr(GSocket) raw = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) group = g_inet_address_new_from_string ("239.1.2.7");
  g_autoptr(GSocketAddress) bind_to = g_inet_socket_address_new (group, 45003);
  struct ip_mreqn mreq = { 0 };
  int on = 1, ttl = -1;
  char buffer[64], control[256];
  struct iovec iov = { buffer, sizeof buffer };
  struct msghdr msg = { 0 };
  guint timeout;

  if (skipped ())
    return;
  g_assert_true (post_configuration_set_option (config, "udp.multicast-ttl",
                                                g_variant_new_uint32 (7), &error));
  raw = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);
  g_assert_no_error (error);
  g_assert_true (g_socket_bind (raw, bind_to, TRUE, &error));
  mreq.imr_multiaddr.s_addr = htonl (0xef010207);
  g_assert_cmpint (setsockopt (g_socket_get_fd (raw), IPPROTO_IP, IP_ADD_MEMBERSHIP, &mreq, sizeof mreq), ==, 0);
  g_assert_cmpint (setsockopt (g_socket_get_fd (raw), IPPROTO_IP, IP_RECVTTL, &on, sizeof on), ==, 0);
  g_socket_set_blocking (raw, FALSE);

  source = group_source ("udp://239.1.2.7:45003", NULL, config);
  send_text (source, "ttl?");
  timeout = post_test_watchdog (10, "the TTL probe");
  for (;;)
    {
      msg.msg_iov = &iov;
      msg.msg_iovlen = 1;
      msg.msg_control = control;
      msg.msg_controllen = sizeof control;
      if (recvmsg (g_socket_get_fd (raw), &msg, 0) > 0)
        break;
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  g_source_remove (timeout);
  for (struct cmsghdr *c = CMSG_FIRSTHDR (&msg); c != NULL; c = CMSG_NXTHDR (&msg, c))
    if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_TTL)
      memcpy (&ttl, CMSG_DATA (c), sizeof ttl);
  g_assert_cmpint (ttl, ==, 7);

  post_carrier_close (source);
}

static void
test_multicast_bad_ttl (void)
{
  g_autoptr(PostConfiguration) config = udp_configuration ();
  g_autoptr(PostCarrier) source = NULL;
  g_autoptr(GError) error = NULL;
  guint closed = 0;

  if (skipped ())
    return;
  /* The udp stack declares the option's range: the value fails when set */
  g_assert_false (post_configuration_set_option (config, "udp.multicast-ttl",
                                                 g_variant_new_uint32 (300), &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "udp.multicast-ttl must be from 0 to 255"));
  /* ... and the source establishes with the default TTL */
  source = group_source ("udp://239.1.2.8:45004", NULL, config);
  g_signal_connect_swapped (source, "closed", G_CALLBACK (g_atomic_int_inc), &closed);
  g_assert_cmpuint (closed, ==, 0);
}

/* Source-specific multicast (RFC 4607): only the listed sources get in. */
static void
test_multicast_source_specific (void)
{
  g_autoptr(PostConfiguration) config = udp_configuration ();
  g_autoptr(PostConfiguration) ours = udp_configuration ();
  g_autoptr(PostConfiguration) theirs = udp_configuration ();
  g_autoptr(PostCarrier) sink_ours = NULL;
  g_autoptr(PostCarrier) sink_theirs = NULL;
  g_autoptr(PostCarrier) source = NULL;
  g_autoptr(GError) error = NULL;
  const char *sources[] = { "192.0.2.1", "127.0.0.1", NULL };
  Inbox in_ours, in_theirs;

  if (skipped ())
    return;
  g_assert_true (post_configuration_set_option (ours, "udp.multicast-source",
                                                g_variant_new_strv (sources, -1), &error));
  g_assert_true (post_configuration_set_option (theirs, "udp.multicast-source",
                                                g_variant_new_string ("192.0.2.99"), &error));
  inbox_init (&in_ours);
  inbox_init (&in_theirs);
  sink_ours = group_sink ("udp://232.1.1.1:45005", ours, &in_ours);
  sink_theirs = group_sink ("udp://232.1.1.1:45005", theirs, &in_theirs);
  source = group_source ("udp://232.1.1.1:45005", "udp://127.0.0.1:0", config);
  send_text (source, "from 127.0.0.1");
  wait_until_count (&in_ours.count, 1, "the datagram from an allowed source");
  spin_ms (100);
  g_assert_cmpuint (in_theirs.count, ==, 0);

  post_carrier_close (source);
  post_carrier_close (sink_ours);
  post_carrier_close (sink_theirs);
  inbox_clear (&in_ours);
  inbox_clear (&in_theirs);
}

static void
test_multicast_bad_source (void)
{
  g_autoptr(PostConfiguration) config = udp_configuration ();
  g_autoptr(GError) error = NULL;
  g_autoptr(PostLocal) local = post_local_new_from_uri ("udp://232.1.1.2:45006", NULL);
  g_autoptr(PostCarrier) sink = NULL;

  if (skipped ())
    return;
  g_assert_true (post_configuration_set_option (config, "udp.multicast-source",
                                                g_variant_new_string ("not-an-address"), &error));
  sink = post_carrier_new_sink (local, NULL, config, &error);
  g_assert_null (sink);
  g_assert_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "udp.multicast-source"));
}

static void
test_multicast_ipv6 (void)
{
  g_autoptr(PostConfiguration) config = udp_configuration ();
  g_autoptr(PostCarrier) sink = NULL;
  g_autoptr(PostCarrier) source = NULL;
  g_autoptr(GError) error = NULL;
  Inbox in;

  if (skipped ())
    return;
  g_assert_true (post_configuration_set_option (config, "udp.multicast-ttl",
                                                g_variant_new_uint32 (3), &error));
  g_assert_true (post_configuration_set_option (config, "udp.multicast-interface",
                                                g_variant_new_string ("postveth0"), &error));
  inbox_init (&in);
  sink = group_sink ("udp://[ff15::4242]:45007", config, &in);
  source = group_source ("udp://[ff15::4242]:45007", NULL, config);
  send_text (source, "v6 group");
  wait_until_count (&in.count, 1, "the IPv6 group's datagram");
  g_assert_cmpstr (in.texts->pdata[0], ==, "v6 group");
  g_assert_true (g_socket_address_get_family (in.froms->pdata[0]) == G_SOCKET_FAMILY_IPV6);

  post_carrier_close (source);
  post_carrier_close (sink);
  inbox_clear (&in);
}

int
main (int argc, char **argv)
{
  int status;

  g_test_init (&argc, &argv, NULL);
  setup_namespace ();

  g_test_add_func ("/udp/multicast/ipv4", test_multicast_ipv4);
  g_test_add_func ("/udp/multicast/other-group-filtered", test_multicast_other_group_filtered);
  g_test_add_func ("/udp/multicast/loop-off", test_multicast_loop_off);
  g_test_add_func ("/udp/multicast/bad-interface", test_multicast_bad_interface);
  g_test_add_func ("/udp/multicast/ttl", test_multicast_ttl);
  g_test_add_func ("/udp/multicast/bad-ttl", test_multicast_bad_ttl);
  g_test_add_func ("/udp/multicast/source-specific", test_multicast_source_specific);
  g_test_add_func ("/udp/multicast/bad-source", test_multicast_bad_source);
  g_test_add_func ("/udp/multicast/ipv6", test_multicast_ipv6);

  status = g_test_run ();
  g_free (skip_reason);
  return status;
}
