/* test-listener-limits.c: what a tcp or tls listener gives silent peers
 * (issue 12 item 4): `tcp.first-message-timeout` closes an accepted
 * carrier whose peer completed no first message in time (for tls, the
 * handshake counts within it), and `tcp.max-carriers` bounds the accepted
 * carriers, evicting the oldest peer that has not spoken, or refusing the
 * new connection when every peer has spoken.
 *
 * Silent peers are plain sockets that connect and send nothing; speaking
 * ones are libpost carriers.  Everything runs on 127.0.0.1.  No test
 * measures time: each waits for the event it expects (bounded, so that a
 * missing event fails), and the timeouts are only made short.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>

#include "post-test-util.h"

#include <errno.h>
#include <string.h>

#define WAIT_S 60

static char *certs;

/* The short timeouts the tests configure, in ms: generous enough that a
 * peer that speaks at once does so in time, also under valgrind (which
 * runs these tests some twenty times slower).  Nothing is timed: the tests
 * wait for the events. */
static guint
short_timeout_ms (guint ms)
{
  return g_getenv ("POST_TEST_UNDER_VALGRIND") != NULL ? ms * 20 : ms;
}

/* ---- a listener that records what it accepted -------------------------------- */

typedef struct {
  PostCarrier *listener;
  GPtrArray   *accepted;    /* (element-type PostCarrier) */
  GPtrArray   *errors;      /* (element-type GError) (nullable elements) how each closed */
  guint       *closed;      /* per accepted carrier: 1 once closed */
  guint        n_closed;
  guint        n_received;
} Server;

static void
server_closed_cb (PostCarrier  *carrier,
                  const GError *error,
                  Server       *s)
{
  guint i;

  g_assert_true (g_ptr_array_find (s->accepted, carrier, &i));
  g_assert_cmpuint (s->closed[i], ==, 0);
  s->closed[i] = 1;
  if (error != NULL)
    {
      g_clear_error ((GError **) &s->errors->pdata[i]);
      s->errors->pdata[i] = g_error_copy (error);
    }
  s->n_closed++;
}

static gboolean
server_message_cb (PostCarrier *carrier,
                   PostMessage *message,
                   gpointer     user_data)
{
  Server *s = user_data;

  s->n_received++;
  return TRUE;
}

static gboolean
server_incoming_cb (PostCarrier *listener,
                    PostCarrier *carrier,
                    Server      *s)
{
  g_assert_cmpuint (s->accepted->len, <, 64);
  g_ptr_array_add (s->accepted, g_object_ref (carrier));
  g_ptr_array_add (s->errors, NULL);
  g_signal_connect (carrier, "closed", G_CALLBACK (server_closed_cb), s);
  post_carrier_ready (carrier, server_message_cb, s, NULL);
  return TRUE;
}

static void
server_listen (Server            *s,
               const char        *scheme,
               PostConfiguration *config)
{
  g_autofree char *uri = g_strdup_printf ("%s://127.0.0.1:0", scheme);
  g_autoptr(PostLocal) local = NULL;
  g_autoptr(GError) error = NULL;

  memset (s, 0, sizeof *s);
  if (g_str_equal (scheme, "tls"))
    local = post_test_server_local (uri, certs, "server");
  else
    local = post_local_new_from_uri (uri, &error);
  g_assert_no_error (error);
  s->accepted = g_ptr_array_new_with_free_func (g_object_unref);
  s->errors = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
  s->closed = g_new0 (guint, 64);
  s->listener = post_carrier_listen (local, config, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (post_carrier_get_stack_name (s->listener), ==, scheme);
  g_signal_connect (s->listener, "incoming", G_CALLBACK (server_incoming_cb), s);
}

static void
server_clear (Server *s)
{
  for (guint i = 0; i < s->accepted->len; i++)
    post_carrier_abort (s->accepted->pdata[i]);
  post_carrier_abort (s->listener);
  g_clear_object (&s->listener);
  g_clear_pointer (&s->accepted, g_ptr_array_unref);
  g_clear_pointer (&s->errors, g_ptr_array_unref);
  g_clear_pointer (&s->closed, g_free);
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

/* ---- peers ------------------------------------------------------------------ */

/* A peer that connects and never sends a byte. */
static GSocket *
silent_peer (PostCarrier *listener)
{
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, post_test_port_of (listener));
  g_autoptr(GError) error = NULL;
  GSocket *socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);

  g_assert_no_error (error);
  /* On loopback the kernel completes the handshake at once (the backlog
   * has room), whether or not the listener accepted yet. */
  g_assert_true (g_socket_connect (socket, address, NULL, &error));
  g_assert_no_error (error);
  g_socket_set_blocking (socket, FALSE);
  return socket;
}

static gboolean
socket_event_cb (GSocket      *socket,
                 GIOCondition  condition,
                 gpointer      user_data)
{
  (*(guint *) user_data)++;
  return G_SOURCE_REMOVE;
}

/* Waits until the listener's end of @socket's connection ended, and tells
 * how: 0 for a FIN (recv() gave 0), ECONNRESET for a reset. */
static int
wait_peer_ended (GSocket *socket)
{
  g_autoptr(GError) error = NULL;
  char byte;
  gssize n;

  for (;;)
    {
      GSource *source = g_socket_create_source (socket, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
      guint fired = 0;

      g_source_set_callback (source, (GSourceFunc) (void (*) (void)) socket_event_cb, &fired, NULL);
      g_source_attach (source, NULL);
      post_test_wait_count (&fired, 1, "the listener's end of a silent peer's connection", WAIT_S);
      g_source_destroy (source);
      g_source_unref (source);
      n = g_socket_receive (socket, &byte, 1, NULL, &error);
      if (n == 0)
        return 0;
      if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        {
          g_clear_error (&error);
          continue;
        }
      g_assert_cmpint (n, <, 0);  /* a silent peer is sent nothing */
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CONNECTION_CLOSED);  /* ECONNRESET */
      return ECONNRESET;
    }
}

/* A carrier that sends @text and waits until the listener received it. */
static PostCarrier *
speaking_peer (Server            *s,
               const char        *scheme,
               PostConfiguration *config,
               const char        *text)
{
  g_autoptr(PostMessage) message = post_message_new_from_string (text);
  PostCarrier *carrier = post_test_initiate (scheme, post_test_port_of (s->listener), config);
  guint before = s->n_received;

  g_assert_true (post_carrier_send (carrier, message, NULL));
  post_test_wait_count (&s->n_received, before + 1, "a speaking peer's message", WAIT_S);
  return carrier;
}

static PostConfiguration *
limits_config (guint max_carriers,
               guint first_message_timeout_ms)
{
  PostConfiguration *config = post_configuration_new ();
  g_autoptr(GError) error = NULL;

  g_assert_true (post_configuration_set_option (config, "tcp.max-carriers",
                                                g_variant_new_uint32 (max_carriers), &error));
  g_assert_no_error (error);
  g_assert_true (post_configuration_set_option (config, "tcp.first-message-timeout",
                                                g_variant_new_uint32 (first_message_timeout_ms), &error));
  g_assert_no_error (error);
  return config;
}

static PostConfiguration *
client_config (const char *scheme)
{
  return g_str_equal (scheme, "tls") ? post_test_client_config (certs) : post_configuration_new ();
}

/* ---- tests ------------------------------------------------------------------ */

/* The options are declared: out of range or of the wrong type fails. */
static void
test_options_checked (void)
{
  g_autoptr(PostConfiguration) config = post_configuration_new ();
  g_autoptr(GError) error = NULL;

  g_assert_false (post_configuration_set_option (config, "tcp.max-carriers", g_variant_new_int32 (-1), &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (post_configuration_set_option (config, "tcp.first-message-timeout",
                                                 g_variant_new_string ("60s"), &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_nonnull (post_registry_lookup_option (post_registry_get_default (), "tcp.max-carriers"));
  g_assert_nonnull (post_registry_lookup_option (post_registry_get_default (), "tcp.first-message-timeout"));
}

/* A peer that completes no first message in time is closed with
 * POST_ERROR_TIMED_OUT; one that spoke in time stays. */
static void
test_first_message_timeout (gconstpointer data)
{
  const char *scheme = data;
  g_autoptr(PostConfiguration) config = limits_config (0, short_timeout_ms (1000));
  g_autoptr(PostConfiguration) client = client_config (scheme);
  g_autoptr(PostCarrier) speaker = NULL;
  g_autoptr(PostCarrier) quiet = NULL;
  Server s;

  server_listen (&s, scheme, config);
  speaker = speaking_peer (&s, scheme, client, "hello");
  g_assert_cmpuint (s.accepted->len, ==, 1);

  /* tls: a peer that completes the handshake, then says nothing */
  quiet = post_test_initiate (scheme, post_test_port_of (s.listener), client);
  post_test_wait_count (&s.accepted->len, 2, "the quiet peer's carrier", WAIT_S);
  post_test_wait_count (&s.n_closed, 1, "the quiet peer's first-message timeout", WAIT_S);
  g_assert_cmpuint (s.closed[1], ==, 1);
  g_assert_error ((GError *) s.errors->pdata[1], POST_ERROR, POST_ERROR_TIMED_OUT);
  g_assert_nonnull (strstr (((GError *) s.errors->pdata[1])->message, "first message"));
  /* The speaker was accepted first: its deadline would have come first. */
  g_assert_cmpuint (s.closed[0], ==, 0);
  g_assert_cmpint (post_carrier_get_state (s.accepted->pdata[0]), ==, POST_CARRIER_STATE_ACTIVE);

  post_carrier_abort (speaker);
  post_carrier_abort (quiet);
  server_clear (&s);
}

/* tls: the handshake counts within tcp.first-message-timeout (not only its
 * own 10 s): a peer that never sends its ClientHello is dropped at the
 * deadline.  Order, not time, shows it: a silent peer of a listener
 * without the option connected before, and is still connected then. */
static void
test_tls_handshake_within_timeout (void)
{
  /* (less than half the tls handshake limit of 10 s, even under valgrind) */
  g_autoptr(PostConfiguration) bounded = limits_config (0, short_timeout_ms (200));
  g_autoptr(PostConfiguration) unbounded = limits_config (0, 0);
  g_autoptr(GSocket) before = NULL;
  g_autoptr(GSocket) silent = NULL;
  Server a, b;

  server_listen (&a, "tls", unbounded);
  server_listen (&b, "tls", bounded);
  before = silent_peer (a.listener);
  silent = silent_peer (b.listener);
  g_assert_cmpint (wait_peer_ended (silent), ==, 0);  /* a FIN: the handshake failed */
  /* Never announced: there is no carrier before a handshake */
  g_assert_cmpuint (b.accepted->len, ==, 0);
  g_assert_false (g_socket_condition_check (before, G_IO_IN | G_IO_HUP | G_IO_ERR));

  server_clear (&a);
  server_clear (&b);
}

/* tcp.max-carriers: a new connection to a full listener evicts the oldest
 * peer that has not completed a first message (its carrier closes with
 * POST_ERROR_CONNECTION_RESET, its connection is reset); when every peer
 * has spoken the new connection is reset at once and nothing is accepted.
 * Silent peers cannot lock out speaking ones. */
static void
test_max_carriers (gconstpointer data)
{
  const char *scheme = data;
  gboolean tls = g_str_equal (scheme, "tls");
  g_autoptr(PostConfiguration) config = limits_config (3, 0);
  g_autoptr(PostConfiguration) client = client_config (scheme);
  g_autoptr(PostCarrier) a = NULL;
  g_autoptr(PostCarrier) d = NULL;
  g_autoptr(PostCarrier) e = NULL;
  g_autoptr(PostCarrier) f = NULL;
  g_autoptr(GSocket) b = NULL;
  g_autoptr(GSocket) c = NULL;
  g_autoptr(GSocket) refused = NULL;
  Server s;

  server_listen (&s, scheme, config);
  /* A speaks; B and C stay silent (tls: they stay in the handshake, with
   * no carrier yet) */
  a = speaking_peer (&s, scheme, client, "a");
  b = silent_peer (s.listener);
  c = silent_peer (s.listener);
  if (!tls)
    post_test_wait_count (&s.accepted->len, 3, "the silent peers' carriers", WAIT_S);

  /* D: the listener is full, B is the oldest that has not spoken */
  d = speaking_peer (&s, scheme, client, "d");
  g_assert_cmpint (wait_peer_ended (b), ==, ECONNRESET);
  g_assert_false (g_socket_condition_check (c, G_IO_IN | G_IO_HUP | G_IO_ERR));
  if (!tls)
    {
      g_assert_cmpuint (s.accepted->len, ==, 4);
      post_test_wait_count (&s.n_closed, 1, "B's carrier closing", WAIT_S);
      g_assert_cmpuint (s.closed[1], ==, 1);
      g_assert_error ((GError *) s.errors->pdata[1], POST_ERROR, POST_ERROR_CONNECTION_RESET);
      g_assert_nonnull (strstr (((GError *) s.errors->pdata[1])->message, "tcp.max-carriers"));
    }

  /* E: C goes the same way (A and D spoke) */
  e = speaking_peer (&s, scheme, client, "e");
  g_assert_cmpint (wait_peer_ended (c), ==, ECONNRESET);

  /* Full with A, D and E, each of which spoke: a new connection is reset
   * at once, and the speakers keep their carriers. */
  refused = silent_peer (s.listener);
  g_assert_cmpint (wait_peer_ended (refused), ==, ECONNRESET);
  g_assert_cmpuint (s.n_closed, ==, tls ? 0 : 2);
  for (guint i = 0; i < s.accepted->len; i++)
    if (!s.closed[i])
      g_assert_cmpint (post_carrier_get_state (s.accepted->pdata[i]), ==, POST_CARRIER_STATE_ACTIVE);
  g_assert_cmpuint (s.accepted->len, ==, tls ? 3 : 5);

  /* A speaker leaves: there is room again */
  post_carrier_abort (a);
  post_test_wait_count (&s.n_closed, tls ? 1 : 3, "A's carrier closing at the listener", WAIT_S);
  f = speaking_peer (&s, scheme, client, "f");
  g_assert_cmpuint (s.accepted->len, ==, tls ? 4 : 6);

  post_carrier_abort (d);
  post_carrier_abort (e);
  post_carrier_abort (f);
  server_clear (&s);
}

int
main (int argc, char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  certs = post_test_certs_make ("post-test-limits");

  g_test_add_func ("/listener-limits/options", test_options_checked);
  g_test_add_data_func ("/listener-limits/tcp/first-message-timeout", "tcp", test_first_message_timeout);
  g_test_add_data_func ("/listener-limits/tls/first-message-timeout", "tls", test_first_message_timeout);
  g_test_add_func ("/listener-limits/tls/handshake-within-timeout", test_tls_handshake_within_timeout);
  g_test_add_data_func ("/listener-limits/tcp/max-carriers", "tcp", test_max_carriers);
  g_test_add_data_func ("/listener-limits/tls/max-carriers", "tls", test_max_carriers);

  ret = g_test_run ();
  post_test_certs_remove (certs);
  g_free (certs);
  return ret;
}
