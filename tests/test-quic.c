/* test-quic.c: the `quic` stack: echo over a stream carrier, verification
 * errors, fork as a new stream of the same connection, a source (direction
 * send) to a sink on a unidirectional stream, the acked event
 * from ngtcp2's acknowledged offsets, and interop with
 * ngtcp2's example programs gtlsserver and gtlsclient (Debian packages
 * ngtcp2-server and ngtcp2-client), as far as their HTTP/3 protocol allows.
 *
 * Certificates are made at test time with certtool in a temporary
 * directory; peers are child processes on 127.0.0.1 ephemeral ports, always
 * killed.  Nothing here uses the network beyond the loopback.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <post.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <signal.h>

#include "post-test-util.h"

#define WAIT_TIMEOUT_S 15

static char *dir;  /* the certificates */

/* ---- helpers ------------------------------------------------------------- */

static void
test_echo (void)
{
  g_autoptr(PostLocal) local = post_test_server_local ("quic://127.0.0.1:0", dir, "server");
  g_autoptr(PostConfiguration) config = post_test_client_config (dir);
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(PostMessage) message = post_message_new_from_string ("hello over quic");
  g_autofree char *big = NULL;
  PostTestEcho echo = { 0 };
  PostTestClient c = { 0 };

  listener = post_test_echo_listen (&echo, local, NULL, "quic");
  carrier = post_test_initiate ("quic", post_test_port_of (listener), config);
  c.received = g_string_new (NULL);
  g_assert_true (post_carrier_send (carrier, message, NULL));
  post_carrier_ready (carrier, post_test_client_message_cb, &c, NULL);
  post_carrier_establish_async (carrier, NULL, post_test_established_cb, &c);
  post_test_wait_count (&c.done, 1, "establishment", WAIT_TIMEOUT_S);
  g_assert_no_error (c.error);
  g_assert_cmpstr (post_carrier_get_stack_name (carrier), ==, "quic");
  g_assert_true (post_carrier_get_security_flags (carrier) & POST_SECURITY_ENCRYPTED);
  post_test_wait_count (&c.n_received, 1, "the echo", WAIT_TIMEOUT_S);
  g_assert_cmpstr (c.received->str, ==, "hello over quic");
  g_assert_cmpuint (echo.n_accepted, ==, 1);

  /* A message larger than the stream and connection windows: flow
   * control credit follows the reader. */
  big = g_strnfill (3 * 1024 * 1024 + 17, 'q');
  g_string_truncate (c.received, 0);
  post_test_send_and_wait (carrier, &c, big, WAIT_TIMEOUT_S);
  g_assert_cmpuint (c.received->len, ==, strlen (big));
  g_assert_true (memcmp (c.received->str, big, c.received->len) == 0);

  post_carrier_close (carrier);
  post_test_spin (50);
  post_test_echo_clear (&echo);
  post_carrier_abort (listener);
  g_string_free (c.received, TRUE);
}

/* The acked event on a quic carrier follows ngtcp2's acknowledged stream
 * offset: it fires once per message, after its sent event, in the order
 * the messages went on the stream, for a message larger than the send
 * window too. */
typedef struct {
  GString *log;       /* "s<tag>" for sent, "a<tag>" for acked */
  guint n_acked;
  guint carrier_acked;
} AckLog;

static void
ack_log_sent_cb (PostMessage *message,
                 AckLog      *log)
{
  g_string_append_printf (log->log, "s%s ", (const char *) g_object_get_data (G_OBJECT (message), "tag"));
}

static void
ack_log_acked_cb (PostMessage *message,
                  AckLog      *log)
{
  g_string_append_printf (log->log, "a%s ", (const char *) g_object_get_data (G_OBJECT (message), "tag"));
  log->n_acked++;
}

static void
ack_log_carrier_acked_cb (PostCarrier *carrier,
                          PostMessage *message,
                          AckLog      *log)
{
  log->carrier_acked++;
}

static PostMessage *
tracked_message (const char *content,
                 const char *tag,
                 AckLog     *log)
{
  PostMessage *message = post_message_new_from_string (content);

  g_object_set_data (G_OBJECT (message), "tag", (gpointer) tag);
  g_signal_connect (message, "sent", G_CALLBACK (ack_log_sent_cb), log);
  g_signal_connect (message, "acked", G_CALLBACK (ack_log_acked_cb), log);
  return message;
}

static void
test_acked (void)
{
  g_autoptr(PostLocal) local = post_test_server_local ("quic://127.0.0.1:0", dir, "server");
  g_autoptr(PostConfiguration) config = post_test_client_config (dir);
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(PostMessage) first = NULL;
  g_autoptr(PostMessage) big = NULL;
  g_autoptr(PostMessage) last = NULL;
  g_autofree char *big_text = g_strnfill (2 * 1024 * 1024 + 5, 'a');
  PostTestEcho echo = { 0 };
  PostTestClient c = { 0 };
  AckLog log = { 0 };

  log.log = g_string_new (NULL);
  listener = post_test_echo_listen (&echo, local, NULL, "quic");
  carrier = post_test_initiate ("quic", post_test_port_of (listener), config);
  c.received = g_string_new (NULL);
  g_signal_connect (carrier, "acked", G_CALLBACK (ack_log_carrier_acked_cb), &log);
  first = tracked_message ("acknowledge me", "1", &log);
  g_assert_true (post_carrier_send (carrier, first, NULL));
  post_carrier_ready (carrier, post_test_client_message_cb, &c, NULL);
  post_carrier_establish_async (carrier, NULL, post_test_established_cb, &c);
  post_test_wait_count (&c.done, 1, "establishment", WAIT_TIMEOUT_S);
  g_assert_no_error (c.error);
  g_assert_true (post_carrier_get_capabilities (carrier) & POST_STACK_CAP_EVENT_ACKED);
  post_test_wait_count (&log.n_acked, 1, "the acked event", WAIT_TIMEOUT_S);
  g_assert_true (post_message_is_sent (first));
  g_assert_true (post_message_is_acked (first));
  g_assert_cmpstr (log.log->str, ==, "s1 a1 ");
  g_assert_cmpuint (log.carrier_acked, ==, 1);

  /* Larger than the stream's send window (written as the peer
   * acknowledges), then a small one behind it. */
  big = tracked_message (big_text, "2", &log);
  last = tracked_message ("after the big one", "3", &log);
  g_assert_false (post_message_is_acked (big));
  g_assert_true (post_carrier_send (carrier, big, NULL));
  g_assert_true (post_carrier_send (carrier, last, NULL));
  post_test_wait_count (&log.n_acked, 3, "the acked events of the big message and the next", WAIT_TIMEOUT_S);
  g_assert_true (post_message_is_acked (big));
  g_assert_true (post_message_is_acked (last));
  g_assert_cmpuint (log.carrier_acked, ==, 3);
  {
    /* Each once; acked after sent; in stream order. */
    const char *str = log.log->str;
    const char *s2 = strstr (str, "s2 "), *a2 = strstr (str, "a2 ");
    const char *s3 = strstr (str, "s3 "), *a3 = strstr (str, "a3 ");

    g_assert_true (g_str_has_prefix (str, "s1 a1 "));
    g_assert_cmpuint (strlen (str), ==, strlen ("s1 a1 s2 a2 s3 a3 "));
    g_assert_true (s2 && a2 && s3 && a3);
    g_assert_true (s2 < a2 && s3 < a3 && s2 < s3 && a2 < a3);
  }

  /* The echoes come back whole. */
  post_test_wait_count (&c.n_received, 3, "the echoes", WAIT_TIMEOUT_S);
  g_assert_cmpuint (c.received->len, ==, strlen ("acknowledge me") + strlen (big_text) + strlen ("after the big one"));

  post_carrier_close (carrier);
  post_test_spin (50);
  post_test_echo_clear (&echo);
  post_carrier_abort (listener);
  g_string_free (c.received, TRUE);
  g_string_free (log.log, TRUE);
}

static void
expect_failure (const char *cert,
                int         code)
{
  g_autoptr(PostLocal) local = post_test_server_local ("quic://127.0.0.1:0", dir, cert);
  g_autoptr(PostConfiguration) config = post_test_client_config (dir);
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  PostTestEcho echo = { 0 };
  PostTestClient c = { 0 };

  listener = post_test_echo_listen (&echo, local, NULL, "quic");
  carrier = post_test_initiate ("quic", post_test_port_of (listener), config);
  post_carrier_establish_async (carrier, NULL, post_test_established_cb, &c);
  post_test_wait_count (&c.done, 1, "the failure", WAIT_TIMEOUT_S);
  g_assert_error (c.error, POST_ERROR, code);
  g_test_message ("failed as expected: %s", c.error->message);
  g_clear_error (&c.error);
  g_assert_cmpuint (echo.n_accepted, ==, 0);
  post_test_spin (20);
  post_test_echo_clear (&echo);
  post_carrier_abort (listener);
}

static void
test_untrusted (void)
{
  expect_failure ("rogue", POST_ERROR_TLS_UNKNOWN_AUTHORITY);
  expect_failure ("wrongname", POST_ERROR_TLS_NAME_MISMATCH);
}

/* A quic client whose server never answers (a UDP socket that reads
 * nothing), without a connection timeout of the carrier: quic's own idle
 * timeout ends the handshake, and the error says what it tried and that
 * nothing came back — not just "timed out". */
static void
test_no_answer (void)
{
  g_autoptr(GSocket) silent = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                            G_SOCKET_PROTOCOL_UDP, NULL);
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any_port = g_inet_socket_address_new (lo, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(PostConfiguration) config = post_test_client_config (dir);
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *where = NULL;
  PostTestClient c = { 0 };

  g_assert_true (g_socket_bind (silent, any_port, FALSE, &error));
  bound = g_socket_get_local_address (silent, &error);
  g_assert_no_error (error);
  g_assert_true (post_configuration_set_conn_timeout (config, 0, &error));
  g_assert_true (post_configuration_set_option (config, "quic.idle-timeout", g_variant_new_uint32 (300), &error));
  g_assert_no_error (error);
  carrier = post_test_initiate ("quic", g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)), config);
  post_carrier_establish_async (carrier, NULL, post_test_established_cb, &c);
  post_test_wait_count (&c.done, 1, "the handshake to time out", WAIT_TIMEOUT_S);
  g_assert_error (c.error, POST_ERROR, POST_ERROR_TIMED_OUT);
  g_test_message ("%s", c.error->message);
  where = g_strdup_printf ("no answer from 127.0.0.1:%u within 300 ms",
                           g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
  g_assert_nonnull (strstr (c.error->message, where));
  g_clear_error (&c.error);
  post_carrier_abort (carrier);
}

static void
test_fork (void)
{
  g_autoptr(PostLocal) local = post_test_server_local ("quic://127.0.0.1:0", dir, "server");
  g_autoptr(PostConfiguration) config = post_test_client_config (dir);
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(PostMessage) first = post_message_new_from_string ("stream one");
  PostTestEcho echo = { 0 };
  PostTestClient c = { 0 }, c2 = { 0 };
  PostTestFork r = { 0 };

  listener = post_test_echo_listen (&echo, local, NULL, "quic");
  carrier = post_test_initiate ("quic", post_test_port_of (listener), config);
  c.received = g_string_new (NULL);
  c2.received = g_string_new (NULL);
  g_assert_true (post_carrier_send (carrier, first, NULL));
  post_carrier_ready (carrier, post_test_client_message_cb, &c, NULL);
  post_carrier_establish_async (carrier, NULL, post_test_established_cb, &c);
  post_test_wait_count (&c.done, 1, "establishment", WAIT_TIMEOUT_S);
  g_assert_no_error (c.error);
  post_test_wait_count (&c.n_received, 1, "the first echo", WAIT_TIMEOUT_S);

  post_carrier_fork_async (carrier, NULL, post_test_forked_cb, &r);
  post_test_wait_count (&r.done, 1, "the fork", WAIT_TIMEOUT_S);
  g_assert_no_error (r.error);
  g_assert_nonnull (r.carrier);
  g_assert_cmpstr (post_carrier_get_stack_name (r.carrier), ==, "quic");
  post_carrier_ready (r.carrier, post_test_client_message_cb, &c2, NULL);

  /* The peer sees the new stream with its first data: a fork request on
   * its carrier of the same connection, not a new accepted connection. */
  post_test_send_and_wait (r.carrier, &c2, "stream two", WAIT_TIMEOUT_S);
  g_assert_cmpstr (c2.received->str, ==, "stream two");
  g_assert_cmpuint (echo.n_accepted, ==, 2);   /* the first carrier and the fork */
  post_test_send_and_wait (carrier, &c, "again on one", WAIT_TIMEOUT_S);
  g_assert_cmpstr (c.received->str, ==, "stream oneagain on one");
  post_test_send_and_wait (r.carrier, &c2, "again on two", WAIT_TIMEOUT_S);
  g_assert_cmpstr (c2.received->str, ==, "stream twoagain on two");

  /* Closing the fork leaves the first stream (and the connection) alive. */
  post_carrier_close (r.carrier);
  post_test_spin (50);
  post_test_send_and_wait (carrier, &c, "!", WAIT_TIMEOUT_S);
  g_assert_cmpstr (c.received->str, ==, "stream oneagain on one!");

  post_carrier_abort (carrier);
  g_clear_object (&r.carrier);
  post_test_spin (20);
  post_test_echo_clear (&echo);
  post_carrier_abort (listener);
  g_string_free (c.received, TRUE);
  g_string_free (c2.received, TRUE);
}

/* ---- sources and sinks: unidirectional streams ----------------------------------- */

/* A carrier whose `direction` is unidirectional-send is a source and sends
 * on a unidirectional stream; the listener's incoming carrier for it is a
 * sink that receives everything and cannot send. */
typedef struct {
  PostCarrier *sink;   /* (owned) */
  PostTestClient c;
} SinkServer;

static gboolean
sink_incoming_cb (PostCarrier *listener,
                  PostCarrier *carrier,
                  gpointer     user_data)
{
  SinkServer *server = user_data;

  g_assert_null (server->sink);
  server->sink = g_object_ref (carrier);
  post_carrier_ready (carrier, post_test_client_message_cb, &server->c, NULL);
  return TRUE;
}

static void
test_source_sink (void)
{
  g_autoptr(PostLocal) local = post_test_server_local ("quic://127.0.0.1:0", dir, "server");
  g_autoptr(PostConfiguration) config = post_test_client_config (dir);
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostCarrier) source = NULL;
  g_autoptr(PostMessage) one = post_message_new_from_string ("first one way");
  g_autoptr(PostMessage) two = post_message_new_from_string ("second one way");
  g_autoptr(PostMessage) back = post_message_new_from_string ("never");
  g_autoptr(GError) error = NULL;
  SinkServer server = { 0 };
  PostTestClient c = { 0 };

  g_assert_true (post_configuration_set_direction (config, POST_DIRECTION_UNIDIRECTIONAL_SEND, &error));
  g_assert_no_error (error);
  listener = post_carrier_listen (local, NULL, &error);
  g_assert_no_error (error);
  g_signal_connect (listener, "incoming", G_CALLBACK (sink_incoming_cb), &server);
  server.c.received = g_string_new (NULL);

  source = post_test_initiate ("quic", post_test_port_of (listener), config);
  g_assert_cmpint (post_carrier_get_role (source), ==, POST_CARRIER_ROLE_SOURCE);
  g_assert_true (post_carrier_send (source, one, NULL));
  g_assert_true (post_carrier_send (source, two, NULL));
  post_carrier_establish_async (source, NULL, post_test_established_cb, &c);
  post_test_wait_count (&c.done, 1, "establishment", WAIT_TIMEOUT_S);
  g_assert_no_error (c.error);
  g_assert_cmpstr (post_carrier_get_stack_name (source), ==, "quic");

  post_test_wait_count (&server.c.n_received, 2, "both messages at the sink", WAIT_TIMEOUT_S);
  g_assert_nonnull (server.sink);
  g_assert_cmpint (post_carrier_get_role (server.sink), ==, POST_CARRIER_ROLE_SINK);
  g_assert_cmpstr (server.c.received->str, ==, "first one waysecond one way");
  g_assert_false (post_carrier_send (server.sink, back, &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_WRONG_ROLE);
  g_clear_error (&error);

  /* The source's stream has no input: that is not the end of the carrier. */
  post_test_spin (50);
  g_assert_cmpint (post_carrier_get_state (source), ==, POST_CARRIER_STATE_ACTIVE);

  post_carrier_close (source);
  post_test_spin (50);
  post_carrier_abort (server.sink);
  g_clear_object (&server.sink);
  post_carrier_abort (listener);
  g_string_free (server.c.received, TRUE);
}

/* ---- 0-RTT from the association ---------------------------------------------- */

/* One carrier of @association: sends @text (idempotent or not), waits for
 * its echo, checks that it came back once, closes; returns the flags. */
static PostSecurityFlags
resume_once (PostAssociation *association,
             PostTestEcho    *echo,
             const char      *text,
             gboolean         idempotent,
             PostSecurityFlags *server_flags)
{
  g_autoptr(PostCarrier) carrier = post_association_initiate (association);
  g_autoptr(PostMessage) message = post_message_new_from_string (text);
  guint accepted_before = echo->n_accepted, messages_before = echo->n_messages;
  PostSecurityFlags flags;
  PostTestClient c = { 0 };

  c.received = g_string_new (NULL);
  if (idempotent)
    g_assert_true (post_message_set_idempotent (message, TRUE, NULL));
  /* Queued before establishment, so that it may go as early data. */
  g_assert_true (post_carrier_send (carrier, message, NULL));
  post_carrier_ready (carrier, post_test_client_message_cb, &c, NULL);
  post_carrier_establish_async (carrier, NULL, post_test_established_cb, &c);
  post_test_wait_count (&c.done, 1, "establishment", WAIT_TIMEOUT_S);
  g_assert_no_error (c.error);
  post_test_wait_count (&c.n_received, 1, "the echo", WAIT_TIMEOUT_S);
  g_assert_cmpstr (c.received->str, ==, text);
  flags = post_carrier_get_security_flags (carrier);
  g_assert_cmpuint (echo->n_accepted, ==, accepted_before + 1);
  g_assert_cmpuint (echo->n_messages, ==, messages_before + 1);   /* delivered once */
  *server_flags = post_carrier_get_security_flags (echo->children->pdata[echo->children->len - 1]);
  /* The tickets of this connection reach the association. */
  for (guint i = 0; i < 100 && post_association_get_session_ticket_count (association) == 0; i++)
    post_test_spin (10);
  g_assert_cmpuint (post_association_get_session_ticket_count (association), >, 0);
  post_carrier_close (carrier);
  post_test_spin (20);
  g_assert_cmpuint (echo->n_messages, ==, messages_before + 1);
  g_string_free (c.received, TRUE);
  return flags;
}

static void
test_zero_rtt (void)
{
  g_autoptr(PostLocal) local = post_test_server_local ("quic://127.0.0.1:0", dir, "server");
  g_autoptr(PostConfiguration) config = post_test_client_config (dir);
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostAssociation) association = NULL;
  g_autoptr(PostRemote) remote = NULL;
  g_autofree char *uri = NULL;
  PostSecurityFlags flags, server_flags;
  PostTestEcho echo = { 0 };

  listener = post_test_echo_listen (&echo, local, NULL, "quic");
  uri = g_strdup_printf ("quic://127.0.0.1:%u", post_test_port_of (listener));
  remote = post_remote_new_from_uri (uri, NULL);
  association = post_association_new (NULL, remote, config);

  /* A full handshake: session tickets (with the server's transport
   * parameters and a NEW_TOKEN token) go into the association. */
  flags = resume_once (association, &echo, "full", TRUE, &server_flags);
  g_assert_true (flags & POST_SECURITY_ENCRYPTED);
  g_assert_false (flags & (POST_SECURITY_RESUMED | POST_SECURITY_EARLY_DATA_SENT));

  /* Resumed: the idempotent message goes in 0-RTT packets. */
  flags = resume_once (association, &echo, "early and idempotent", TRUE, &server_flags);
  g_assert_true (flags & POST_SECURITY_RESUMED);
  g_assert_true (flags & POST_SECURITY_EARLY_DATA_SENT);
  g_assert_true (flags & POST_SECURITY_EARLY_DATA_ACCEPTED);
  g_assert_true (server_flags & POST_SECURITY_RESUMED);
  g_assert_true (server_flags & POST_SECURITY_EARLY_DATA_ACCEPTED);

  /* Resumed, but never early data for a message that is not idempotent. */
  flags = resume_once (association, &echo, "not idempotent", FALSE, &server_flags);
  g_assert_true (flags & POST_SECURITY_RESUMED);
  g_assert_false (flags & POST_SECURITY_EARLY_DATA_SENT);
  g_assert_false (server_flags & POST_SECURITY_EARLY_DATA_ACCEPTED);

  post_test_echo_clear (&echo);
  post_carrier_abort (listener);
}

/* A listener that refuses early data (`tls.server-early-data` false): the
 * 0-RTT data is resent after the handshake and delivered once. */
static void
test_zero_rtt_rejected (void)
{
  g_autoptr(PostLocal) local = post_test_server_local ("quic://127.0.0.1:0", dir, "server");
  g_autoptr(PostConfiguration) config = post_test_client_config (dir);
  g_autoptr(PostConfiguration) server_config = post_configuration_new ();
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostAssociation) association = NULL;
  g_autoptr(PostRemote) remote = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *uri = NULL;
  PostSecurityFlags flags, server_flags;
  PostTestEcho echo = { 0 };

  g_assert_true (post_configuration_set_option (server_config, "tls.server-early-data",
                                                g_variant_new_boolean (FALSE), &error));
  g_assert_no_error (error);
  listener = post_test_echo_listen (&echo, local, server_config, "quic");
  uri = g_strdup_printf ("quic://127.0.0.1:%u", post_test_port_of (listener));
  remote = post_remote_new_from_uri (uri, NULL);
  association = post_association_new (NULL, remote, config);

  resume_once (association, &echo, "full", FALSE, &server_flags);
  flags = resume_once (association, &echo, "refused early, resent once", TRUE, &server_flags);
  g_assert_true (flags & POST_SECURITY_RESUMED);
  g_assert_true (flags & POST_SECURITY_EARLY_DATA_SENT);
  g_assert_false (flags & POST_SECURITY_EARLY_DATA_ACCEPTED);
  g_assert_false (server_flags & POST_SECURITY_EARLY_DATA_ACCEPTED);

  /* A listener with other ticket keys (a restarted server): no resumption,
   * the early data is refused with the ticket, resent and delivered once. */
  {
    g_autoptr(PostCarrier) other = NULL;
    g_autoptr(PostAssociation) moved = NULL;
    PostTestEcho echo2 = { 0 };
    g_autoptr(PostLocal) local2 = post_test_server_local ("quic://127.0.0.1:0", dir, "server");
    g_autofree char *uri2 = NULL;
    g_autoptr(PostRemote) remote2 = NULL;
    g_autoptr(GBytes) ticket = NULL;

    other = post_test_echo_listen (&echo2, local2, NULL, "quic");
    uri2 = g_strdup_printf ("quic://127.0.0.1:%u", post_test_port_of (other));
    remote2 = post_remote_new_from_uri (uri2, NULL);
    moved = post_association_new (NULL, remote2, config);
    /* The first listener's ticket, offered to the second one. */
    ticket = post_association_take_session_ticket (association);
    g_assert_nonnull (ticket);
    post_association_add_session_ticket (moved, ticket, g_get_real_time () / G_USEC_PER_SEC + 600);
    flags = resume_once (moved, &echo2, "stale ticket", TRUE, &server_flags);
    g_assert_false (flags & POST_SECURITY_RESUMED);
    g_assert_true (flags & POST_SECURITY_EARLY_DATA_SENT);
    g_assert_false (flags & POST_SECURITY_EARLY_DATA_ACCEPTED);
    post_test_echo_clear (&echo2);
    post_carrier_abort (other);
  }

  post_test_echo_clear (&echo);
  post_carrier_abort (listener);
}

/* A source on a resumed association: its idempotent message goes as 0-RTT
 * data on a unidirectional stream and reaches the sink once. */
static PostSecurityFlags
source_once (PostAssociation *association,
             SinkServer      *server,
             const char      *text)
{
  g_autoptr(PostCarrier) source = post_association_initiate (association);
  g_autoptr(PostMessage) message = post_message_new_from_string (text);
  PostSecurityFlags flags;
  guint before = server->c.n_received;
  PostTestClient c = { 0 };

  g_assert_cmpint (post_carrier_get_role (source), ==, POST_CARRIER_ROLE_SOURCE);
  g_assert_true (post_message_set_idempotent (message, TRUE, NULL));
  g_assert_true (post_carrier_send (source, message, NULL));
  post_carrier_establish_async (source, NULL, post_test_established_cb, &c);
  post_test_wait_count (&c.done, 1, "establishment", WAIT_TIMEOUT_S);
  g_assert_no_error (c.error);
  post_test_wait_count (&server->c.n_received, before + 1, "the message at the sink", WAIT_TIMEOUT_S);
  g_assert_true (g_str_has_suffix (server->c.received->str, text));
  g_assert_cmpint (post_carrier_get_role (server->sink), ==, POST_CARRIER_ROLE_SINK);
  flags = post_carrier_get_security_flags (source);
  for (guint i = 0; i < 100 && post_association_get_session_ticket_count (association) == 0; i++)
    post_test_spin (10);
  g_assert_cmpuint (post_association_get_session_ticket_count (association), >, 0);
  post_carrier_close (source);
  post_test_spin (20);
  g_assert_cmpuint (server->c.n_received, ==, before + 1);   /* once */
  post_carrier_abort (server->sink);
  g_clear_object (&server->sink);
  return flags;
}

static void
test_zero_rtt_source (void)
{
  g_autoptr(PostLocal) local = post_test_server_local ("quic://127.0.0.1:0", dir, "server");
  g_autoptr(PostConfiguration) config = post_test_client_config (dir);
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostAssociation) association = NULL;
  g_autoptr(PostRemote) remote = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *uri = NULL;
  SinkServer server = { 0 };
  PostSecurityFlags flags;

  g_assert_true (post_configuration_set_direction (config, POST_DIRECTION_UNIDIRECTIONAL_SEND, &error));
  g_assert_no_error (error);
  listener = post_carrier_listen (local, NULL, &error);
  g_assert_no_error (error);
  g_signal_connect (listener, "incoming", G_CALLBACK (sink_incoming_cb), &server);
  server.c.received = g_string_new (NULL);
  uri = g_strdup_printf ("quic://127.0.0.1:%u", post_test_port_of (listener));
  remote = post_remote_new_from_uri (uri, NULL);
  association = post_association_new (NULL, remote, config);

  flags = source_once (association, &server, "full handshake");
  g_assert_false (flags & (POST_SECURITY_RESUMED | POST_SECURITY_EARLY_DATA_SENT));
  flags = source_once (association, &server, "one way, early");
  g_assert_true (flags & POST_SECURITY_RESUMED);
  g_assert_true (flags & POST_SECURITY_EARLY_DATA_SENT);
  g_assert_true (flags & POST_SECURITY_EARLY_DATA_ACCEPTED);
  g_assert_cmpstr (server.c.received->str, ==, "full handshakeone way, early");

  post_carrier_abort (listener);
  g_string_free (server.c.received, TRUE);
}

/* ---- the tls stack's other settings: PSK, client certificates ---------------- */

/* Establishes a carrier of @association (or to @port with @config and
 * @client_local), sends @text and waits for its echo, or for a failure;
 * returns the carrier's security flags, or 0 with @error set. */
static PostSecurityFlags
echo_once (PostCarrier  *carrier,
           const char   *text,
           GError      **error)
{
  g_autoptr(PostMessage) message = post_message_new_from_string (text);
  PostSecurityFlags flags = 0;
  PostTestClient c = { 0 };

  c.received = g_string_new (NULL);
  g_assert_true (post_carrier_send (carrier, message, NULL));
  post_carrier_ready (carrier, post_test_client_message_cb, &c, NULL);
  post_carrier_establish_async (carrier, NULL, post_test_established_cb, &c);
  post_test_wait_count (&c.done, 1, "establishment", WAIT_TIMEOUT_S);
  if (c.error == NULL)
    {
      post_test_wait_count (&c.n_received, 1, "the echo", WAIT_TIMEOUT_S);
      g_assert_cmpstr (c.received->str, ==, text);
      flags = post_carrier_get_security_flags (carrier);
      post_carrier_close (carrier);
      post_test_spin (20);
    }
  else
    g_propagate_error (error, g_steal_pointer (&c.error));
  g_string_free (c.received, TRUE);
  return flags;
}

static void
test_psk (void)
{
  g_autoptr(PostLocal) local = post_local_new_from_uri ("quic://127.0.0.1:0", NULL);
  g_autoptr(PostConfiguration) config = post_configuration_new ();
  g_autoptr(PostConfiguration) no_cache = post_configuration_new ();
  g_autoptr(GBytes) key = g_bytes_new_static ("0123456789abcdef0123456789abcdef", 32);
  g_autoptr(GBytes) other = g_bytes_new_static ("fedcba9876543210fedcba9876543210", 32);
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostRemote) remote = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *uri = NULL;
  PostSecurityFlags flags;
  PostTestEcho echo = { 0 };
  struct { const char *identity; GBytes *key; } wrong[] = { { "client-1", other }, { "nobody", key } };

  /* A listener with pre-shared keys and no certificate; a client with no
   * trust store: the key authenticates both. */
  g_assert_true (post_local_add_pre_shared_key (local, "client-1", key, &error));
  g_assert_no_error (error);
  listener = post_test_echo_listen (&echo, local, NULL, "quic");
  g_assert_true (post_configuration_set_use_system_trust (config, FALSE, NULL));
  uri = g_strdup_printf ("quic://127.0.0.1:%u", post_test_port_of (listener));
  remote = post_remote_new_from_uri (uri, NULL);
  {
    g_autoptr(PostAssociation) association = post_association_new (NULL, remote, config);
    g_autoptr(PostCarrier) carrier = NULL;

    g_assert_true (post_association_set_pre_shared_key (association, "client-1", key, &error));
    carrier = post_association_initiate (association);
    flags = echo_once (carrier, "over a pre-shared key", &error);
    g_assert_no_error (error);
    g_assert_true (flags & POST_SECURITY_ENCRYPTED);
    g_assert_true (flags & POST_SECURITY_PSK);
    g_assert_cmpuint (echo.n_accepted, ==, 1);
  }

  /* Another key for the identity, or an identity the listener lacks (no
   * session cache: a ticket from the first connection would resume) */
  g_assert_true (post_configuration_set_use_system_trust (no_cache, FALSE, NULL));
  g_assert_true (post_configuration_set_option (no_cache, "tls.session-cache",
                                                g_variant_new_string ("none"), &error));
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (wrong); i++)
    {
      g_autoptr(PostAssociation) association = post_association_new (NULL, remote, no_cache);
      g_autoptr(PostCarrier) carrier = NULL;

      g_assert_true (post_association_set_pre_shared_key (association, wrong[i].identity, wrong[i].key, NULL));
      carrier = post_association_initiate (association);
      echo_once (carrier, "never", &error);
      g_assert_error (error, POST_ERROR, POST_ERROR_TLS_PSK_MISMATCH);
      g_test_message ("failed as expected: %s", error->message);
      g_clear_error (&error);
      g_assert_cmpint (post_carrier_get_state (carrier), ==, POST_CARRIER_STATE_CLOSED);
    }
  g_assert_cmpuint (echo.n_accepted, ==, 1);

  /* Without a key or an identity a listener cannot start. */
  {
    g_autoptr(PostLocal) bare = post_local_new_from_uri ("quic://127.0.0.1:0", NULL);
    g_autoptr(PostCarrier) none = post_carrier_listen (bare, NULL, &error);

    g_assert_null (none);
    g_assert_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT);
    g_clear_error (&error);
  }

  post_test_echo_clear (&echo);
  post_carrier_abort (listener);
}

/* A listener whose configuration names a trust anchor asks for client
 * certificates and verifies them, as the tls stack does. */
static void
test_client_certificate (void)
{
  g_autoptr(PostLocal) local = post_test_server_local ("quic://127.0.0.1:0", dir, "server");
  g_autoptr(PostConfiguration) server_config = post_configuration_new ();
  g_autoptr(PostConfiguration) config = post_test_client_config (dir);
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *ca = post_test_certs_path (dir, "ca.pem");
  g_autofree char *cert = post_test_certs_path (dir, "client.pem");
  g_autofree char *key = post_test_certs_path (dir, "client.key");
  g_autofree char *rogue_cert = post_test_certs_path (dir, "rogue.pem");
  g_autofree char *rogue_key = post_test_certs_path (dir, "rogue.key");
  PostTestEcho echo = { 0 };
  struct { const char *cert, *key; gboolean ok; } cases[] = {
    { cert, key, TRUE },               /* issued by the anchor */
    { rogue_cert, rogue_key, FALSE },  /* self-signed */
    { NULL, NULL, FALSE },             /* none */
  };

  g_assert_true (post_configuration_set_use_system_trust (server_config, FALSE, &error));
  g_assert_true (post_configuration_add_trust_anchor_file (server_config, ca, &error));
  g_assert_no_error (error);
  listener = post_test_echo_listen (&echo, local, server_config, "quic");

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(PostLocal) client_local = post_local_new ();
      g_autoptr(PostRemote) remote = NULL;
      g_autoptr(PostCarrier) carrier = NULL;
      g_autofree char *uri = g_strdup_printf ("quic://127.0.0.1:%u", post_test_port_of (listener));
      guint accepted = echo.n_accepted;

      if (cases[i].cert != NULL)
        g_assert_true (post_local_set_identity_from_files (client_local, cases[i].cert, cases[i].key, &error));
      g_assert_no_error (error);
      remote = post_remote_new_from_uri (uri, NULL);
      carrier = post_carrier_initiate (client_local, remote, config);
      echo_once (carrier, "with a client certificate", &error);
      if (cases[i].ok)
        {
          g_assert_no_error (error);
          g_assert_cmpuint (echo.n_accepted, ==, accepted + 1);
        }
      else
        {
          /* The listener refuses the certificate (or its absence) in the
           * handshake: the client's establishment fails with its alert. */
          g_assert_nonnull (error);
          g_assert_true (error->domain == POST_ERROR);
          g_test_message ("case %u failed as expected: %s", i, error->message);
          g_clear_error (&error);
          post_test_spin (20);
          g_assert_cmpint (post_carrier_get_state (carrier), ==, POST_CARRIER_STATE_CLOSED);
          g_assert_cmpuint (echo.n_accepted, ==, accepted);
        }
    }

  post_test_echo_clear (&echo);
  post_carrier_abort (listener);
}

/* ---- interop with ngtcp2's examples ----------------------------------------- */

static GSubprocess *
spawn (const char * const *argv,
       gboolean            capture)
{
  g_autoptr(GError) error = NULL;
  GSubprocess *p = g_subprocess_newv (argv, capture ? G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE
                                                    : G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE,
                                      &error);

  g_assert_no_error (error);
  return p;
}

static void
test_gtlsserver (void)
{
  g_autofree char *gtlsserver = g_find_program_in_path ("gtlsserver");
  g_autofree char *key = post_test_certs_path (dir, "server.key");
  g_autofree char *cert = post_test_certs_path (dir, "server.pem");
  g_autofree char *port_s = NULL;
  g_autoptr(GSubprocess) server = NULL;
  g_autoptr(PostConfiguration) config = post_test_client_config (dir);
  g_autoptr(PostCarrier) carrier = NULL;
  guint16 port = post_test_free_port (G_SOCKET_TYPE_DATAGRAM);
  PostTestClient c = { 0 };

  if (gtlsserver == NULL)
    {
      g_test_skip ("gtlsserver (ngtcp2-server) is not installed");
      return;
    }
  port_s = g_strdup_printf ("%u", port);
  server = spawn ((const char *[]) { gtlsserver, "-q", "127.0.0.1", port_s, key, cert, NULL }, FALSE);
  post_test_spin (300);

  /* HTTP/3 is its protocol: ALPN h3.  The handshake completes, the
   * server opens its control streams (read and discarded), and our first
   * stream is a carrier. */
  g_assert_true (post_configuration_set_alpn (config, (const char *[]) { "h3", NULL }, NULL));
  carrier = post_test_initiate ("quic", port, config);
  post_carrier_establish_async (carrier, NULL, post_test_established_cb, &c);
  post_test_wait_count (&c.done, 1, "the handshake with gtlsserver", WAIT_TIMEOUT_S);
  g_assert_no_error (c.error);
  g_assert_cmpstr (post_carrier_get_stack_name (carrier), ==, "quic");
  g_assert_true (post_carrier_get_security_flags (carrier) & POST_SECURITY_ENCRYPTED);
  post_test_spin (100);
  g_assert_true (post_carrier_get_state (carrier) == POST_CARRIER_STATE_ACTIVE);
  post_carrier_abort (carrier);
  post_test_spin (20);
  post_test_kill (server);
}

static void
test_gtlsclient (void)
{
  g_autofree char *gtlsclient = g_find_program_in_path ("gtlsclient");
  g_autoptr(PostLocal) local = NULL;
  g_autoptr(PostConfiguration) config = post_configuration_new ();
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(GSubprocess) client = NULL;
  g_autofree char *port_s = NULL, *uri = NULL, *out = NULL;
  PostTestEcho echo = { 0 };

  if (gtlsclient == NULL)
    {
      g_test_skip ("gtlsclient (ngtcp2-client) is not installed");
      return;
    }
  local = post_test_server_local ("quic://127.0.0.1:0", dir, "server");
  g_assert_true (post_configuration_set_alpn (config, (const char *[]) { "h3", NULL }, NULL));
  listener = post_test_echo_listen (&echo, local, config, "quic");
  port_s = g_strdup_printf ("%u", post_test_port_of (listener));
  uri = g_strdup_printf ("https://127.0.0.1:%u/", post_test_port_of (listener));
  client = spawn ((const char *[]) { gtlsclient, "--exit-on-first-stream-close", "--timeout=2s",
                                     "127.0.0.1", port_s, uri, NULL }, TRUE);
  {
    PostTestCommunicate cr = { 0 };

    g_subprocess_communicate_utf8_async (client, NULL, NULL, post_test_communicated_cb, &cr);
    post_test_wait_count (&cr.done, 1, "gtlsclient", WAIT_TIMEOUT_S);
    g_assert_no_error (cr.error);
    out = g_steal_pointer (&cr.out);
  }
  if (strstr (out, "Negotiated ALPN is h3") == NULL)
    g_test_message ("gtlsclient said:\n%s", out);
  /* Its HTTP/3 request is not a libpost message, but the QUIC handshake
   * with the listener completes. */
  g_assert_nonnull (strstr (out, "Negotiated ALPN is h3"));
  post_test_echo_clear (&echo);
  post_carrier_abort (listener);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  signal (SIGPIPE, SIG_IGN);
  g_test_init (&argc, &argv, NULL);
  if (!post_test_have_stack ("quic"))
    {
      g_test_skip ("the quic plugin is not built");
      return g_test_run ();
    }
  dir = post_test_certs_make ("post-quic");

  g_test_add_func ("/quic/echo", test_echo);
  g_test_add_func ("/quic/acked", test_acked);
  g_test_add_func ("/quic/untrusted", test_untrusted);
  g_test_add_func ("/quic/no-answer", test_no_answer);
  g_test_add_func ("/quic/psk", test_psk);
  g_test_add_func ("/quic/client-certificate", test_client_certificate);
  g_test_add_func ("/quic/fork", test_fork);
  g_test_add_func ("/quic/source-sink", test_source_sink);
  g_test_add_func ("/quic/zero-rtt", test_zero_rtt);
  g_test_add_func ("/quic/zero-rtt-rejected", test_zero_rtt_rejected);
  g_test_add_func ("/quic/zero-rtt-source", test_zero_rtt_source);
  g_test_add_func ("/quic/interop/gtlsserver", test_gtlsserver);
  g_test_add_func ("/quic/interop/gtlsclient", test_gtlsclient);

  ret = g_test_run ();
  post_test_certs_remove (dir);
  g_clear_pointer (&dir, g_free);
  return ret;
}
