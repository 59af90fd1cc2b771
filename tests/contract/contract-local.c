/* contract-local.c: what a Local binds to (draft 2.5)
 *
 * - A Local that names an interface binds every carrier to it — initiated,
 *   listening, a sink, a responder — on every stack; a scoped IPv6 literal
 *   names it too.  A Local that names an interface the host does not have
 *   fails with POST_ERROR_INVALID_ARGUMENT naming it, at establishment or
 *   listen, never by hanging or by ignoring it.
 * - A listener, responder or sink on a wildcard address (0.0.0.0, ::)
 *   answers from the address each remote wrote to, and an accepted
 *   carrier's local address is that address, not the wildcard.  tcp and
 *   tls get both from the kernel; udp, dtls and quic from IP_PKTINFO /
 *   IPV6_RECVPKTINFO.
 *
 * The cases named `netns` need two links: as root, post-stack-check runs in
 * a network namespace of its own (post_test_netns_init() in main()), and
 * each such case makes a server namespace joined to it by two veth pairs
 * (tests/post-test-netns.h) and removes it at the end:
 *
 *   client                        server (a thread's namespace)
 *   c0 10.1.0.1  fd01::1  ——————  s0 10.1.0.2  fd01::2
 *   c1 10.2.0.1  fd02::1  ——————  s1 10.2.0.2  fd02::2
 *                                 lo 10.99.0.1 fd99::1 (the service)
 *
 * with the client's routes to the service through c0, then c1.  Without
 * root they check what loopback can show and say so (g_test_message).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "post-contract.h"
#include "post-test-netns.h"

#include <string.h>

#define MISSING_INTERFACE "nosuchif0"
#define WAIT_MS 5000

/* ---- helpers ---------------------------------------------------------------- */

/* A client local that names only @interface. */
static PostLocal *
client_local (const char *interface)
{
  PostLocal *local = post_local_new ();
  g_autoptr(GError) error = NULL;

  g_assert_true (post_local_set_interface (local, interface, &error));
  g_assert_no_error (error);
  return local;
}

/* The server local @host_port (post_contract_server_local()) bound to
 * @interface (nullable). */
static PostLocal *
server_local (const char *host_port,
              const char *interface)
{
  PostLocal *local = post_contract_server_local (host_port);
  g_autoptr(GError) error = NULL;

  g_assert_true (post_local_set_interface (local, interface, &error));
  g_assert_no_error (error);
  return local;
}

/* The IP of @address as text, an IPv4-mapped IPv6 address as IPv4. */
static char *
host_of (GSocketAddress *address)
{
  GInetAddress *inet;
  const guint8 *bytes;

  g_assert_nonnull (address);
  g_assert_true (G_IS_INET_SOCKET_ADDRESS (address));
  inet = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address));
  bytes = g_inet_address_to_bytes (inet);
  if (g_inet_address_get_family (inet) == G_SOCKET_FAMILY_IPV6
      && memcmp (bytes, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12) == 0)
    return g_strdup_printf ("%u.%u.%u.%u", bytes[12], bytes[13], bytes[14], bytes[15]);
  return g_inet_address_to_string (inet);
}

static void
assert_host (GSocketAddress *address,
             const char     *expected,
             const char     *what)
{
  g_autofree char *host = host_of (address);

  if (g_strcmp0 (host, expected) != 0)
    g_error ("%s: %s is %s, expected %s", post_contract_stack ()->name, what, host, expected);
}

/* Initiates to @host:@port from @local (nullable), sends @text and waits
 * for the echo; returns the established carrier. */
static PostCarrier *
echo_through (PostLocal  *local,
              const char *host,
              guint16     port,
              const char *text)
{
  g_autoptr(PostRemote) remote = post_contract_remote_at (host, port);
  g_autoptr(PostConfiguration) config = post_contract_config ();
  g_autoptr(PostMessage) m = post_message_new_from_string (text);
  g_autofree char *what = g_strdup_printf ("the echo from %s", host);
  PostCarrier *carrier = post_carrier_initiate (local, remote, config);
  PostContractWatch watch = { 0 };

  post_contract_watch (&watch, carrier, TRUE);
  g_assert_true (post_carrier_send (carrier, m, NULL));
  post_contract_wait_count (&watch.n_received, 1, WAIT_MS, what);
  g_assert_cmpstr (watch.bytes->str, ==, text);
  g_assert_cmpint (post_carrier_get_state (carrier), ==, POST_CARRIER_STATE_ACTIVE);
  post_contract_unwatch (&watch, carrier);
  post_contract_watch_clear (&watch);
  return carrier;
}

/* The carrier @peer accepted for @client (its remote is @client's local
 * address and port; the echo came from it, so it is there).  Racing
 * gathered locals may have made others, of the losers. */
static PostCarrier *
accepted (PostContractPeer *peer,
          PostCarrier      *client)
{
  GSocketAddress *local = post_carrier_get_local_address (client);
  g_autofree char *host = host_of (local);
  guint16 port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));

  for (guint i = 0; i < peer->carriers->len; i++)
    {
      GSocketAddress *remote = post_carrier_get_remote_address (peer->carriers->pdata[i]);
      g_autofree char *remote_host = remote != NULL ? host_of (remote) : NULL;

      if (g_strcmp0 (remote_host, host) == 0
          && g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (remote)) == port)
        return peer->carriers->pdata[i];
    }
  g_error ("%s: the peer accepted no carrier from %s:%u", post_contract_stack ()->name, host, port);
  return NULL;
}

static void
expect_missing_interface (const GError *error)
{
  post_contract_assert_error (error, POST_ERROR_INVALID_ARGUMENT);
  if (strstr (error->message, MISSING_INTERFACE) == NULL)
    g_error ("%s: the error does not name the interface: %s", post_contract_stack ()->name, error->message);
}

/* ---- a Local naming an interface ----------------------------------------------- */

/* Sends three messages from a source on @local (nullable) to @host:@port
 * and waits until @watch (a sink's) counted them. */
static void
source_to (PostLocal         *local,
           const char        *host,
           guint16            port,
           PostContractWatch *watch)
{
  g_autoptr(PostRemote) remote = post_contract_remote_at (host, port);
  g_autoptr(PostConfiguration) config = post_contract_config ();
  g_autoptr(PostCarrier) source = post_carrier_new_source (local, remote, config);
  guint before = watch->n_received;

  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(PostMessage) m = post_message_new_from_string ("to-sink");

      g_assert_true (post_carrier_send (source, m, NULL));
    }
  post_contract_wait_count (&watch->n_received, before + 3, WAIT_MS, "the source's messages at the sink");
  post_carrier_abort (source);
}

/* Every role with a local that names lo: listener, initiated carrier,
 * sink and source, responder. */
static void
test_interface_lo (void)
{
  g_autoptr(PostLocal) listen_local = server_local (NULL, "lo");
  g_autoptr(PostLocal) lo = client_local ("lo");
  g_autoptr(PostConfiguration) server_config = post_contract_server_config ();
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(PostCarrier) sink = NULL;
  g_autoptr(PostCarrier) responder = NULL;
  g_autoptr(GError) error = NULL;
  PostContractPeer peer = { .echo = TRUE };
  PostContractWatch watch = { 0 };
  guint n_answered = 0;

  if (!post_contract_has (POST_STACK_CAP_LISTEN))
    {
      post_contract_unsupported ("the stack cannot listen: listen with a local naming lo must say so");
      g_assert_null (post_carrier_listen (listen_local, server_config, &error));
      post_contract_assert_error (error, POST_ERROR_NOT_SUPPORTED);
      return;
    }

  post_contract_peer_start_on (&peer, listen_local, NULL);
  carrier = echo_through (lo, "127.0.0.1", post_contract_port_of (peer.listener), "over lo");
  assert_host (post_carrier_get_local_address (carrier), "127.0.0.1", "the local address over lo");
  assert_host (post_carrier_get_local_address (accepted (&peer, carrier)), "127.0.0.1",
               "the accepted carrier's local address");
  post_carrier_abort (carrier);
  post_contract_peer_stop (&peer);

  sink = post_carrier_new_sink (listen_local, NULL, server_config, &error);
  g_assert_no_error (error);
  post_contract_watch (&watch, sink, TRUE);
  source_to (lo, "127.0.0.1", post_contract_port_of (sink), &watch);
  post_carrier_abort (sink);
  post_contract_unwatch (&watch, sink);
  post_contract_watch_clear (&watch);

  responder = post_carrier_respond (listen_local, server_config, post_contract_respond_echo, &n_answered, NULL, &error);
  g_assert_no_error (error);
  g_clear_object (&carrier);
  carrier = echo_through (lo, "127.0.0.1", post_contract_port_of (responder), "answer over lo");
  g_assert_cmpuint (n_answered, ==, 1);
  post_carrier_abort (carrier);
  post_carrier_abort (responder);
}

/* A scoped IPv6 literal names the interface of its scope. */
static void
test_scoped_literal (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *uri = g_strdup_printf ("%s://[::1%%lo]:0", post_contract_stack ()->name);
  g_autofree char *bad = g_strdup_printf ("%s://[::1%%" MISSING_INTERFACE "]:0", post_contract_stack ()->name);
  g_autoptr(PostLocal) local = post_local_new_from_uri (uri, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (post_local_get_interface (local), ==, "lo");
  g_assert_null (post_local_new_from_uri (bad, &error));
  post_contract_assert_error (error, POST_ERROR_INVALID_ARGUMENT);
}

/* An interface the host does not have fails at once and says which. */
static void
test_interface_missing (void)
{
  g_autoptr(PostLocal) missing = client_local (MISSING_INTERFACE);
  g_autoptr(PostLocal) listen_missing = server_local (NULL, MISSING_INTERFACE);
  g_autoptr(PostConfiguration) server_config = post_contract_server_config ();
  g_autoptr(PostConfiguration) config = post_contract_config ();
  g_autoptr(PostRemote) remote = post_contract_remote_at ("127.0.0.1", 9);
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(PostCarrier) source = NULL;
  g_autoptr(GError) error = NULL;
  PostContractAsync a = { 0 };
  guint n_answered = 0;

  carrier = post_carrier_initiate (missing, remote, config);
  post_carrier_establish_async (carrier, NULL, post_contract_async_cb, &a);
  post_contract_async_wait (&a, WAIT_MS, "the establishment from a missing interface to fail");
  g_assert_false (post_carrier_establish_finish (carrier, a.result, &error));
  expect_missing_interface (error);
  g_test_message ("initiate: %s", error->message);
  g_assert_cmpint (post_carrier_get_state (carrier), ==, POST_CARRIER_STATE_CLOSED);
  post_contract_async_clear (&a);
  g_clear_error (&error);

  /* A message queued before establishment fails with it. */
  source = post_carrier_new_source (missing, remote, config);
  {
    g_autoptr(PostMessage) m = post_message_new_from_string ("nowhere");

    post_carrier_send_async (source, m, NULL, post_contract_async_cb, &a);
    post_contract_async_wait (&a, WAIT_MS, "a send from a missing interface to fail");
    g_assert_false (post_carrier_send_finish (source, a.result, &error));
    expect_missing_interface (error);
    post_contract_async_clear (&a);
    g_clear_error (&error);
  }

  g_assert_null (post_carrier_listen (listen_missing, server_config, &error));
  if (!post_contract_has (POST_STACK_CAP_LISTEN))
    g_test_message ("the stack cannot listen; the missing interface is found first");
  expect_missing_interface (error);
  g_test_message ("listen: %s", error->message);
  g_clear_error (&error);
  g_assert_null (post_carrier_new_sink (listen_missing, NULL, server_config, &error));
  expect_missing_interface (error);
  g_clear_error (&error);
  g_assert_null (post_carrier_respond (listen_missing, server_config, post_contract_respond_echo, &n_answered, NULL, &error));
  expect_missing_interface (error);
}

/* ---- wildcard listeners ------------------------------------------------------------ */

/* On loopback: the carrier a wildcard listener accepts has the address
 * the client wrote to as its local address, and the echo comes back. */
static void
wildcard_on_loopback (void)
{
  g_autoptr(PostLocal) any = post_contract_server_local ("0.0.0.0:0");
  g_autoptr(PostCarrier) carrier = NULL;
  PostContractPeer peer = { .echo = TRUE };

  post_contract_peer_start_on (&peer, any, NULL);
  assert_host (post_carrier_get_local_address (peer.listener), "0.0.0.0", "the listener's address");
  carrier = echo_through (NULL, "127.0.0.1", post_contract_port_of (peer.listener), "wildcard");
  assert_host (post_carrier_get_local_address (accepted (&peer, carrier)), "127.0.0.1",
               "the accepted carrier's local address");
  post_carrier_abort (carrier);
  post_contract_peer_stop (&peer);
}

typedef struct
{
  const char *host;       /* what the client writes to */
  const char *expected;   /* the accepted carrier's local address */
} Target;

/* A listener, a responder and a sink on @any_host_port in @net's server
 * namespace; a client of each address in @targets hears the answer (from
 * the address it wrote to: a connected client drops anything else), and
 * the carrier accepted for it has that address as its local address. */
static void
wildcard_in_namespace (PostTestNetns *net,
                       const char    *any_host_port,
                       const Target  *targets,
                       guint          n_targets)
{
  g_autoptr(PostLocal) any = post_contract_server_local (any_host_port);
  g_autoptr(PostConfiguration) server_config = post_contract_server_config ();
  g_autoptr(PostCarrier) responder = NULL;
  g_autoptr(PostCarrier) sink = NULL;
  g_autoptr(GError) error = NULL;
  PostContractPeer peer = { .echo = TRUE };
  PostContractWatch watch = { 0 };
  guint n_answered = 0;

  post_test_netns_enter_server (net);
  post_contract_peer_start_on (&peer, any, NULL);
  responder = post_carrier_respond (any, server_config, post_contract_respond_echo, &n_answered, NULL, &error);
  g_assert_no_error (error);
  sink = post_carrier_new_sink (any, NULL, server_config, &error);
  g_assert_no_error (error);
  post_test_netns_enter_client ();
  post_contract_watch (&watch, sink, TRUE);

  for (guint i = 0; i < n_targets; i++)
    {
      g_autoptr(PostCarrier) carrier = NULL;
      g_autoptr(PostCarrier) answered = NULL;

      g_test_message ("%s: a client of %s", any_host_port, targets[i].host);
      carrier = echo_through (NULL, targets[i].host, post_contract_port_of (peer.listener), "hello");
      assert_host (post_carrier_get_remote_address (carrier), targets[i].host, "the client's remote address");
      assert_host (post_carrier_get_local_address (accepted (&peer, carrier)), targets[i].expected,
                   "the accepted carrier's local address");
      post_carrier_abort (carrier);

      answered = echo_through (NULL, targets[i].host, post_contract_port_of (responder), "respond");
      g_assert_cmpuint (n_answered, ==, i + 1);
      post_carrier_abort (answered);

      source_to (NULL, targets[i].host, post_contract_port_of (sink), &watch);
    }
  post_carrier_abort (sink);
  post_carrier_abort (responder);
  post_contract_unwatch (&watch, sink);
  post_contract_watch_clear (&watch);
  post_contract_peer_stop (&peer);
}

static void
test_wildcard (void)
{
  PostTestNetns net = { 0 };
  /* 10.99.0.1 and fd99::1 are on the server's lo: the routing table's
   * source for an answer would be s0's address. */
  const Target v4[] = {
    { "10.99.0.1", "10.99.0.1" },
    { "10.1.0.2", "10.1.0.2" },
    { "10.2.0.2", "10.2.0.2" },
  };
  const Target v6[] = {
    { "fd99::1", "fd99::1" },
    { "fd02::2", "fd02::2" },
    { "10.99.0.1", "10.99.0.1" },    /* IPv4 to the dual-stack socket */
  };

  wildcard_on_loopback ();
  if (!post_test_netns_available ())
    {
      g_test_message ("not root (or no network namespaces): only loopback is checked; "
                      "answers from the second of two links need the namespace case (CI runs it as root)");
      return;
    }
  post_test_netns_setup (&net, "ip -6 addr add fd99::1/128 dev lo");
  wildcard_in_namespace (&net, "0.0.0.0:0", v4, G_N_ELEMENTS (v4));
  wildcard_in_namespace (&net, "[::]:0", v6, G_N_ELEMENTS (v6));
  post_test_netns_teardown (&net);
}

/* ---- binding to one of two links ------------------------------------------------------- */

/* The service is reached through c0 by the routing table; a carrier bound
 * to c1 leaves through c1 (the peer sees c1's address), one bound to c0
 * through c0.  A listener bound to s1 accepts what arrives on s1 only. */
static void
test_interface_netns (void)
{
  PostTestNetns net = { 0 };
  g_autoptr(PostLocal) any = post_contract_server_local ("0.0.0.0:0");
  g_autoptr(PostLocal) any_s1 = NULL;
  g_autoptr(PostLocal) c0 = NULL;
  g_autoptr(PostLocal) c1 = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  PostContractPeer peer = { .echo = TRUE };
  PostContractPeer peer_s1 = { .echo = TRUE };
  guint16 port;

  if (!post_test_netns_available ())
    {
      g_test_message ("not root (or no network namespaces): a carrier's link cannot be shown on "
                      "loopback alone; the lo and missing-interface cases check the rest");
      return;
    }
  post_test_netns_setup (&net, "ip -6 addr add fd99::1/128 dev lo");
  c0 = client_local ("c0");
  c1 = client_local ("c1");
  any_s1 = server_local ("0.0.0.0:0", "s1");

  post_test_netns_enter_server (&net);
  post_contract_peer_start_on (&peer, any, NULL);
  post_contract_peer_start_on (&peer_s1, any_s1, NULL);
  post_test_netns_enter_client ();
  port = post_contract_port_of (peer.listener);

  /* (accepted() finds the peer's carrier from the client's local address) */
  carrier = echo_through (c1, "10.99.0.1", port, "through c1");
  assert_host (post_carrier_get_local_address (carrier), "10.2.0.1", "the local address of a carrier bound to c1");
  assert_host (post_carrier_get_remote_address (accepted (&peer, carrier)), "10.2.0.1",
               "the source the peer saw from a carrier bound to c1");
  post_carrier_abort (carrier);
  g_clear_object (&carrier);

  carrier = echo_through (c0, "10.99.0.1", port, "through c0");
  assert_host (post_carrier_get_local_address (carrier), "10.1.0.1", "the local address of a carrier bound to c0");
  assert_host (post_carrier_get_remote_address (accepted (&peer, carrier)), "10.1.0.1",
               "the source the peer saw from a carrier bound to c0");
  post_carrier_abort (carrier);
  g_clear_object (&carrier);

  /* The listener bound to s1: reached through c1, not through c0. */
  carrier = echo_through (c1, "10.99.0.1", post_contract_port_of (peer_s1.listener), "to s1");
  assert_host (post_carrier_get_local_address (carrier), "10.2.0.1", "the local address of a carrier bound to c1");
  assert_host (post_carrier_get_remote_address (accepted (&peer_s1, carrier)), "10.2.0.1",
               "the source the s1 listener saw");
  post_carrier_abort (carrier);
  g_clear_object (&carrier);
  {
    g_autoptr(PostRemote) remote = post_contract_remote_at ("10.99.0.1", post_contract_port_of (peer_s1.listener));
    g_autoptr(PostConfiguration) config = post_contract_config ();
    g_autoptr(PostMessage) m = post_message_new_from_string ("not on s1");

    carrier = post_carrier_initiate (c0, remote, config);
    g_assert_true (post_carrier_send (carrier, m, NULL));
    if (post_contract_is_connected ())
      {
        /* No handshake answers from a listener bound to another link. */
        PostContractAsync a = { 0 };
        g_autoptr(GError) error = NULL;

        post_carrier_establish_async (carrier, NULL, post_contract_async_cb, &a);
        post_contract_async_wait (&a, 2 * WAIT_MS, "the establishment to a listener bound to s1 to fail");
        g_assert_false (post_carrier_establish_finish (carrier, a.result, &error));
        g_assert_nonnull (error);
        g_test_message ("through c0 to the s1 listener: %s", error->message);
        post_contract_async_clear (&a);
      }
    else
      {
        g_test_message ("udp cannot fail an establishment: the listener bound to s1 must just not see it");
        post_contract_spin (300);
      }
    g_assert_cmpuint (peer_s1.n_incoming, ==, 1);   /* only the one through c1 */
    post_carrier_abort (carrier);
  }

  post_contract_peer_stop (&peer);
  post_contract_peer_stop (&peer_s1);
  post_test_netns_teardown (&net);
}

/* ---- a peer that never answers ---------------------------------------------------------- */

/* A TCP socket that listens but never accepts and a UDP socket that reads
 * nothing, on one port of 127.0.0.1: the kernel completes a TCP handshake,
 * nothing else answers.  A stack with a handshake of its own (every secure
 * one; sctp's INIT) fails with POST_ERROR_TIMED_OUT saying what it tried
 * and that no answer came; the others are established (the kernel
 * answered, or there is nothing to answer). */
static void
test_silent_peer (void)
{
  g_autoptr(GSocket) tcp = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr(GSocket) udp = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, NULL);
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any_port = g_inet_socket_address_new (lo, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(PostConfiguration) config = post_contract_config ();
  g_autoptr(PostRemote) remote = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *where = NULL;
  PostContractAsync a = { 0 };
  guint16 port = 0;

  /* A port free for both protocols */
  for (guint i = 0; i < 20 && port == 0; i++)
    {
      g_autoptr(GSocketAddress) same = NULL;

      g_clear_object (&tcp);
      tcp = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
      g_assert_no_error (error);
      g_assert_true (g_socket_bind (tcp, any_port, TRUE, &error));
      g_assert_no_error (error);
      g_clear_object (&bound);
      bound = g_socket_get_local_address (tcp, &error);
      g_assert_no_error (error);
      same = g_inet_socket_address_new (lo, g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
      if (g_socket_bind (udp, same, FALSE, NULL))
        port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
    }
  g_assert_cmpuint (port, !=, 0);
  g_assert_true (g_socket_listen (tcp, &error));
  g_assert_no_error (error);

  g_assert_true (post_configuration_set_conn_timeout (config, 1000, &error));
  remote = post_contract_remote_at ("127.0.0.1", port);
  carrier = post_carrier_initiate (NULL, remote, config);
  post_carrier_establish_async (carrier, NULL, post_contract_async_cb, &a);
  post_contract_async_wait (&a, WAIT_MS, "the establishment to a silent peer to end");
  if (post_carrier_establish_finish (carrier, a.result, &error))
    {
      /* Only where nothing beyond the kernel's TCP handshake is needed (tcp),
       * or nothing at all (udp); never a secure stack. */
      g_assert_false (post_contract_has (POST_STACK_CAP_SECURE));
      g_test_message ("established: the kernel answered the transport's handshake, or there is none");
      post_contract_async_clear (&a);
      post_carrier_abort (carrier);
      return;
    }
  post_contract_assert_error (error, POST_ERROR_TIMED_OUT);
  g_test_message ("%s", error->message);
  where = g_strdup_printf ("127.0.0.1:%u", port);
  if (strstr (error->message, where) == NULL || strstr (error->message, "no answer") == NULL)
    g_error ("%s: the timeout does not say what was tried (%s) and that no answer came: %s",
             post_contract_stack ()->name, where, error->message);
  post_contract_async_clear (&a);
}

void
post_contract_add_local_cases (void)
{
  post_contract_add ("local/interface-lo", test_interface_lo);
  post_contract_add ("local/interface-missing", test_interface_missing);
  post_contract_add ("local/scoped-literal", test_scoped_literal);
  post_contract_add ("local/wildcard-netns", test_wildcard);
  post_contract_add ("local/interface-netns", test_interface_netns);
  post_contract_add ("local/silent-peer", test_silent_peer);
}
