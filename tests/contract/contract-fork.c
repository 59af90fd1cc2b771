/* contract-fork.c: where a fork arrives, and who can fork (draft 2.1).
 *
 * With POST_STACK_CAP_FORK_REQUEST a fork reaches a libpost peer as a fork
 * request of the original carrier — its ::incoming signal, not the
 * listener's — and either side can fork: on quic and sctp a fork is a
 * stream, on tcp and tls a second transport that libpost's framing
 * announces with control frames (docs/framing.md, "Forking with control
 * frames").  Without it (udp, dtls: no framing to carry a control message)
 * the fork is an ordinary carrier at the peer's listener, and the accepting
 * side's fork fails with POST_ERROR_NOT_SUPPORTED; each case checks that
 * instead.
 *
 * - request: the initiating side forks; the peer's carrier gets the fork
 *   request; messages flow both ways on the fork.
 * - accepting-side: the accepting side forks; the initiator's carrier gets
 *   the fork request; messages both ways.
 * - refused: a refused fork request is POST_ERROR_CONNECTION_REFUSED at the
 *   forking side, both directions.
 * - foreign: with stream framing a byte stream has no control frames (the
 *   peer may not be libpost): the fork is an ordinary carrier at the
 *   listener, as the capabilities of that configuration say.
 * - bad-token: a transport whose first frame is FORK with a token nobody
 *   announced is closed, and no carrier is announced for it (also while a
 *   real fork is pending from the same address).
 * - unanswered: a peer that never answers (it does not speak libpost's
 *   framing: stream framing here) makes the fork fail with
 *   POST_ERROR_TIMED_OUT after conn-timeout, from either side, and the
 *   fork's GCancellable ends the wait with G_IO_ERROR_CANCELLED.
 * - sent-and-gone: a listener reads what a new transport sent before it
 *   decides whether it is a fork; a peer that sent a message and closed
 *   before that is still an ordinary carrier, announced with its message
 *   and then closed.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "post-contract.h"

#include <string.h>

#define WAIT_MS 10000

static gboolean
has_fork_request (PostConfiguration *config)
{
  const PostContractStack *s = post_contract_stack ();

  return (post_stack_get_carrier_capabilities (s->stack, config) & POST_STACK_CAP_FORK_REQUEST) != 0;
}

static void send_text (PostCarrier *carrier, const char *text);
static void send_raw (PostCarrier *carrier, GBytes *bytes);
static void receive_expect (PostCarrier *carrier, const char *text);

/* A carrier to @peer's listener, which has accepted it (after a first
 * message: a connectionless stack learns of a carrier from its data). */
static PostCarrier *
connect_to (PostContractPeer  *peer,
            PostConfiguration *config)
{
  PostCarrier *carrier = post_contract_initiate (peer->listener, config);
  guint before = peer->n_received;

  post_contract_establish (carrier, WAIT_MS);
  if (config == NULL || post_configuration_get_framing (config) != POST_FRAMING_STREAM)
    {
      send_text (carrier, "hello");
      post_contract_wait_count (&peer->n_received, before + 1, WAIT_MS, "the first message");
      if (peer->echo)
        receive_expect (carrier, "hello");
    }
  else
    {
      g_autoptr(GBytes) hello = g_bytes_new_static ("hello", 5);

      send_raw (carrier, hello);
    }
  post_contract_wait_count (&peer->n_incoming, 1, WAIT_MS, "the listener's carrier");
  return carrier;
}

/* Forks @carrier; returns the fork, or NULL with @error. */
static PostCarrier *
fork_carrier (PostCarrier *carrier,
              GError     **error)
{
  PostContractAsync a = { 0 };
  PostCarrier *fork;

  post_carrier_fork_async (carrier, NULL, post_contract_async_cb, &a);
  post_contract_async_wait (&a, WAIT_MS, "the fork");
  fork = post_carrier_fork_finish (carrier, a.result, error);
  post_contract_async_clear (&a);
  return fork;
}

static void
send_text (PostCarrier *carrier,
           const char  *text)
{
  g_autoptr(PostMessage) m = post_message_new_from_string (text);
  g_autoptr(GError) error = NULL;

  g_assert_true (post_carrier_send (carrier, m, &error));
  g_assert_no_error (error);
}

static void
receive_expect (PostCarrier *carrier,
                const char  *text)
{
  PostContractAsync a = { 0 };
  g_autoptr(GError) error = NULL;
  g_autoptr(PostMessage) m = NULL;
  GBytes *content;

  post_carrier_receive_async (carrier, NULL, post_contract_async_cb, &a);
  post_contract_async_wait (&a, WAIT_MS, "a message");
  m = post_carrier_receive_finish (carrier, a.result, &error);
  g_assert_no_error (error);
  content = post_message_get_content (m);
  g_assert_cmpmem (g_bytes_get_data (content, NULL), g_bytes_get_size (content),
                   text, strlen (text));
  post_contract_async_clear (&a);
}

/* ---- the initiating side forks ------------------------------------------------- */

static void
test_request (void)
{
  PostContractPeer peer = { .echo = TRUE };
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(PostCarrier) fork = NULL;
  g_autoptr(GError) error = NULL;
  gboolean request = has_fork_request (NULL);

  post_contract_peer_start (&peer, NULL);
  carrier = connect_to (&peer, NULL);
  fork = fork_carrier (carrier, &error);
  g_assert_no_error (error);
  g_assert_nonnull (fork);
  g_assert_cmpint (post_carrier_get_state (fork), ==, POST_CARRIER_STATE_ACTIVE);
  g_assert_true (post_carrier_get_association (fork) == post_carrier_get_association (carrier));

  /* Both ways on the fork: the peer echoes what it got there. */
  send_text (fork, "on the fork");
  receive_expect (fork, "on the fork");
  send_text (carrier, "on the original");
  receive_expect (carrier, "on the original");
  g_assert_cmpuint (peer.carriers->len, ==, 2);
  if (request)
    {
      /* The peer's original carrier got it, not its listener. */
      g_assert_cmpuint (peer.n_forks, ==, 1);
      g_assert_cmpuint (peer.n_incoming, ==, 1);
    }
  else
    {
      post_contract_unsupported ("no POST_STACK_CAP_FORK_REQUEST: checked that the fork is an "
                                 "ordinary carrier at the peer's listener");
      g_assert_cmpuint (peer.n_forks, ==, 0);
      g_assert_cmpuint (peer.n_incoming, ==, 2);
    }
  post_carrier_abort (fork);
  post_carrier_abort (carrier);
  post_contract_peer_stop (&peer);
}

/* ---- the accepting side forks -------------------------------------------------- */

static void
test_accepting_side (void)
{
  PostContractPeer peer = { .echo = FALSE };
  PostContractWatch watch = { 0 };
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(PostCarrier) fork = NULL;
  g_autoptr(GError) error = NULL;
  PostCarrier *accepted;

  post_contract_peer_start (&peer, NULL);
  carrier = connect_to (&peer, NULL);
  post_contract_watch (&watch, carrier, TRUE);
  accepted = peer.carriers->pdata[0];
  fork = fork_carrier (accepted, &error);
  if (!has_fork_request (NULL))
    {
      post_contract_unsupported ("no POST_STACK_CAP_FORK_REQUEST: checked that the accepting "
                                 "side's fork fails with POST_ERROR_NOT_SUPPORTED");
      g_assert_null (fork);
      post_contract_assert_error (error, POST_ERROR_NOT_SUPPORTED);
      g_assert_cmpuint (watch.n_incoming, ==, 0);
    }
  else
    {
      PostCarrier *theirs;

      g_assert_no_error (error);
      g_assert_nonnull (fork);
      g_assert_cmpint (post_carrier_get_state (fork), ==, POST_CARRIER_STATE_ACTIVE);
      /* The initiator's carrier got the fork request (a stream is seen
       * with its first data). */
      send_text (fork, "from the acceptor");
      post_contract_wait_count (&watch.n_incoming, 1, WAIT_MS, "the fork request");
      g_assert_cmpuint (watch.forks->len, ==, 1);
      g_assert_cmpuint (peer.n_incoming, ==, 1);
      theirs = watch.forks->pdata[0];
      g_assert_true (post_carrier_get_association (theirs) == post_carrier_get_association (carrier));
      receive_expect (theirs, "from the acceptor");
      send_text (theirs, "from the initiator");
      receive_expect (fork, "from the initiator");
      post_carrier_abort (fork);
    }
  post_contract_unwatch (&watch, carrier);
  post_carrier_abort (carrier);
  post_contract_watch_clear (&watch);
  post_contract_peer_stop (&peer);
}

/* ---- refused ------------------------------------------------------------------- */

/* The fork of @carrier was refused: the fork fails with
 * POST_ERROR_CONNECTION_REFUSED, or (a stream the peer resets once its
 * data arrived) the fork closes with it. */
static void
expect_refused (PostCarrier *carrier)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostCarrier) fork = fork_carrier (carrier, &error);
  PostContractWatch watch = { 0 };

  if (fork == NULL)
    {
      post_contract_assert_error (error, POST_ERROR_CONNECTION_REFUSED);
      return;
    }
  post_contract_watch (&watch, fork, TRUE);
  send_text (fork, "refused?");
  post_contract_wait_count (&watch.n_closed, 1, WAIT_MS, "the refused fork's end");
  post_contract_assert_error (watch.close_error, POST_ERROR_CONNECTION_REFUSED);
  post_contract_unwatch (&watch, fork);
  post_contract_watch_clear (&watch);
}

static void
test_refused (void)
{
  PostContractPeer peer = { .echo = TRUE, .refuse_forks = TRUE };
  PostContractWatch watch = { .refuse_forks = TRUE };
  g_autoptr(PostCarrier) carrier = NULL;

  post_contract_peer_start (&peer, NULL);
  carrier = connect_to (&peer, NULL);
  post_contract_watch (&watch, carrier, FALSE);
  if (!has_fork_request (NULL))
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(PostCarrier) fork = fork_carrier (carrier, &error);

      /* No fork request to refuse: an ordinary carrier, which the
       * listener accepts; the accepting side cannot fork. */
      post_contract_unsupported ("no POST_STACK_CAP_FORK_REQUEST: checked that the fork "
                                 "reaches the listener (nothing to refuse) and that the "
                                 "accepting side's fork fails with POST_ERROR_NOT_SUPPORTED");
      g_assert_no_error (error);
      send_text (fork, "not refused");
      post_contract_wait_count (&peer.n_incoming, 2, WAIT_MS, "the fork at the listener");
      g_assert_cmpuint (peer.n_forks, ==, 0);
      g_clear_object (&fork);
      fork = fork_carrier (peer.carriers->pdata[0], &error);
      g_assert_null (fork);
      post_contract_assert_error (error, POST_ERROR_NOT_SUPPORTED);
    }
  else
    {
      /* The initiator forks, the peer refuses. */
      expect_refused (carrier);
      g_assert_cmpuint (peer.n_forks, ==, 1);
      g_assert_cmpuint (peer.n_incoming, ==, 1);
      /* The acceptor forks, the initiator refuses. */
      expect_refused (peer.carriers->pdata[0]);
      g_assert_cmpuint (watch.n_incoming, ==, 1);
      /* Both carriers go on. */
      send_text (carrier, "still here");
      receive_expect (carrier, "still here");
    }
  post_contract_unwatch (&watch, carrier);
  post_carrier_abort (carrier);
  post_contract_watch_clear (&watch);
  post_contract_peer_stop (&peer);
}

/* ---- a peer that may not be libpost: stream framing ---------------------------- */

static void
test_foreign (void)
{
  PostContractPeer peer = { .echo = FALSE };
  g_autoptr(PostConfiguration) config = post_contract_config ();
  g_autoptr(PostConfiguration) server_config = post_contract_server_config ();
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(PostCarrier) fork = NULL;
  g_autoptr(GError) error = NULL;
  gboolean request;

  if (!post_contract_has (POST_STACK_CAP_HALF_CLOSE))
    {
      post_contract_unsupported ("no POST_STACK_CAP_HALF_CLOSE: no stream framing; "
                                 "checked with the default framing (fork/request) only");
      return;
    }
  g_assert_true (post_configuration_set_framing (config, POST_FRAMING_STREAM, &error));
  g_assert_no_error (error);
  g_assert_true (post_configuration_set_framing (server_config, POST_FRAMING_STREAM, &error));
  g_assert_no_error (error);
  request = has_fork_request (config);
  /* Byte streams without streams of their own lose it: nothing can tell a
   * control frame from the application's bytes. */
  if (post_contract_has (POST_STACK_CAP_BYTE_STREAM) && !post_contract_has (POST_STACK_CAP_MULTISTREAMING))
    g_assert_false (request);

  post_contract_peer_start (&peer, server_config);
  carrier = connect_to (&peer, config);
  fork = fork_carrier (carrier, &error);
  g_assert_no_error (error);
  g_assert_nonnull (fork);
  {
    g_autoptr(GBytes) some = g_bytes_new_static ("on the fork", 11);

    send_raw (fork, some);
  }
  if (request)
    {
      post_contract_wait_count (&peer.n_forks, 1, WAIT_MS, "the fork request");
      g_assert_cmpuint (peer.n_incoming, ==, 1);
    }
  else
    {
      g_autoptr(PostCarrier) back = NULL;

      post_contract_wait_count (&peer.n_incoming, 2, WAIT_MS, "the fork at the listener");
      g_assert_cmpuint (peer.n_forks, ==, 0);
      back = fork_carrier (peer.carriers->pdata[0], &error);
      g_assert_null (back);
      post_contract_assert_error (error, POST_ERROR_NOT_SUPPORTED);
    }
  post_carrier_abort (fork);
  post_carrier_abort (carrier);
  post_contract_peer_stop (&peer);
}

/* ---- a token nobody announced ---------------------------------------------------- */

static const guint8 control_escape[4] = { 0x7f, 0xff, 0xff, 0xff };

/* The control frame @type with a 16-byte body of @fill. */
static GBytes *
control_frame (guint8 type,
               guint8 fill)
{
  guint8 frame[24];

  memcpy (frame, control_escape, 4);
  frame[4] = type;
  frame[5] = 0;
  frame[6] = 0;
  frame[7] = 16;
  memset (frame + 8, fill, 16);
  return g_bytes_new (frame, sizeof frame);
}

/* A carrier that sends raw bytes (stream framing) to @peer's listener. */
static PostCarrier *
raw_carrier (PostContractPeer *peer)
{
  g_autoptr(PostConfiguration) config = post_contract_config ();
  g_autoptr(GError) error = NULL;
  PostCarrier *carrier;

  g_assert_true (post_configuration_set_framing (config, POST_FRAMING_STREAM, &error));
  g_assert_no_error (error);
  carrier = post_contract_initiate (peer->listener, config);
  post_contract_establish (carrier, WAIT_MS);
  return carrier;
}

static void
send_raw (PostCarrier *carrier,
          GBytes      *bytes)
{
  g_autoptr(PostMessage) m = post_message_new (bytes);
  PostContractAsync a = { 0 };
  g_autoptr(GError) error = NULL;

  post_carrier_send_partial_async (carrier, m, bytes, FALSE, NULL, post_contract_async_cb, &a);
  post_contract_async_wait (&a, WAIT_MS, "raw bytes sent");
  g_assert_true (post_carrier_send_partial_finish (carrier, a.result, &error));
  g_assert_no_error (error);
  post_contract_async_clear (&a);
}

/* A plain TCP socket that writes @bytes before the listener can accept it
 * (so that they are there when it decides). */
static void
raw_socket_fork (PostContractPeer *peer,
                 GBytes           *bytes)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (lo, post_contract_port_of (peer->listener));
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                            G_SOCKET_PROTOCOL_TCP, &error);
  guint8 buffer[64];
  gssize n;
  gint64 deadline;

  g_assert_no_error (error);
  g_assert_true (g_socket_connect (socket, address, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (g_socket_send (socket, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                                  NULL, &error), ==, g_bytes_get_size (bytes));
  g_assert_no_error (error);
  /* The listener closes it: EOF or a reset, nothing else. */
  g_socket_set_blocking (socket, FALSE);
  deadline = g_get_monotonic_time () + WAIT_MS * G_TIME_SPAN_MILLISECOND;
  for (;;)
    {
      g_clear_error (&error);
      n = g_socket_receive (socket, (gchar *) buffer, sizeof buffer, NULL, &error);
      if (n >= 0 || !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
        break;
      if (g_get_monotonic_time () > deadline)
        g_error ("%s: the listener did not close a transport with an unknown fork token",
                 post_contract_stack ()->name);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  g_assert_cmpint (n, <=, 0);
}

static void
test_bad_token (void)
{
  PostContractPeer peer = { .echo = FALSE };
  g_autoptr(PostCarrier) offering = NULL;
  g_autoptr(PostCarrier) bad = NULL;
  g_autoptr(GBytes) offer = control_frame (0x01 /* FORK-OFFER */, 0xa5);
  g_autoptr(GBytes) fork = control_frame (0x04 /* FORK */, 0x5a);

  post_contract_peer_start (&peer, NULL);
  if (!post_contract_has (POST_STACK_CAP_BYTE_STREAM))
    {
      /* No framing, no control frames: the same bytes are the
       * application's, delivered as a message on an ordinary carrier. */
      g_autoptr(PostCarrier) carrier = post_contract_initiate (peer.listener, NULL);
      GBytes *got;

      post_contract_unsupported ("not a byte stream: no control frames; checked that a FORK "
                                 "frame's bytes arrive as an application message");
      post_contract_establish (carrier, WAIT_MS);
      g_assert_true (post_carrier_send_bytes (carrier, fork, NULL));
      post_contract_wait_count (&peer.n_received, 1, WAIT_MS, "the bytes as a message");
      got = post_message_get_content (peer.messages->pdata[0]);
      g_assert_true (g_bytes_equal (got, fork));
      post_carrier_abort (carrier);
      post_contract_peer_stop (&peer);
      return;
    }

  /* A raw socket that presents FORK with a token nobody announced. */
  if (g_strcmp0 (post_contract_stack ()->name, "tcp") == 0)
    {
      raw_socket_fork (&peer, fork);
      post_contract_spin (50);
      g_assert_cmpuint (peer.n_incoming, ==, 0);
    }

  /* A carrier of ours offers a fork (the listener registers its token
   * and answers FORK-READY); a second transport from the same address
   * presents another token: it waits for its first frame, and is closed
   * without being announced. */
  {
    PostContractAsync a = { 0 };
    g_autoptr(GError) error = NULL;
    g_autoptr(GBytes) ready = NULL;
    guint before = peer.n_incoming;

    offering = raw_carrier (&peer);
    send_raw (offering, offer);
    post_contract_wait_count (&peer.n_incoming, before + 1, WAIT_MS, "the offering carrier");
    post_carrier_receive_partial_async (offering, 24, 24, NULL, post_contract_async_cb, &a);
    post_contract_async_wait (&a, WAIT_MS, "FORK-READY");
    ready = post_carrier_receive_partial_finish (offering, a.result, NULL, NULL, &error);
    g_assert_no_error (error);
    post_contract_async_clear (&a);
    g_assert_cmpuint (g_bytes_get_size (ready), ==, 24);
    g_assert_cmpmem (g_bytes_get_data (ready, NULL), 4, control_escape, 4);
    g_assert_cmpuint (((const guint8 *) g_bytes_get_data (ready, NULL))[4], ==, 0x02);
    g_assert_cmpmem ((const guint8 *) g_bytes_get_data (ready, NULL) + 8, 16,
                     (const guint8 *) g_bytes_get_data (offer, NULL) + 8, 16);

    bad = raw_carrier (&peer);
    send_raw (bad, fork);
    post_contract_wait_state_not (bad, POST_CARRIER_STATE_ACTIVE, WAIT_MS);
    post_contract_spin (50);
    g_assert_cmpuint (peer.n_incoming, ==, before + 1);
    g_assert_cmpuint (peer.n_forks, ==, 0);
  }
  post_carrier_abort (offering);
  post_contract_peer_stop (&peer);
}

/* ---- a peer that never answers ----------------------------------------------------- */

static void
test_unanswered (void)
{
  g_autoptr(GError) error = NULL;

  if (!has_fork_request (NULL) || post_contract_has (POST_STACK_CAP_MULTISTREAMING)
      || !post_contract_has (POST_STACK_CAP_HALF_CLOSE))
    {
      /* Streams (quic, sctp): a fork completes locally, nothing waits for
       * an answer; udp, dtls: nothing is asked (fork/request checks that). */
      post_contract_unsupported ("no fork answer to wait for: forks are %s here",
                                 has_fork_request (NULL) ? "streams" : "ordinary carriers");
      return;
    }

  /* The initiator forks; the peer (stream framing) never answers FORK-OFFER. */
  {
    PostContractPeer peer = { .echo = FALSE };
    g_autoptr(PostConfiguration) server_config = post_contract_server_config ();
    g_autoptr(PostConfiguration) config = post_contract_config ();
    g_autoptr(PostCarrier) carrier = NULL;
    g_autoptr(PostCarrier) fork = NULL;

    g_assert_true (post_configuration_set_framing (server_config, POST_FRAMING_STREAM, &error));
    g_assert_true (post_configuration_set_conn_timeout (config, 300, &error));
    g_assert_no_error (error);
    post_contract_peer_start (&peer, server_config);
    carrier = post_contract_initiate (peer.listener, config);
    post_contract_establish (carrier, WAIT_MS);
    fork = fork_carrier (carrier, &error);
    g_assert_null (fork);
    post_contract_assert_error (error, POST_ERROR_TIMED_OUT);
    g_clear_error (&error);
    g_assert_cmpint (post_carrier_get_state (carrier), ==, POST_CARRIER_STATE_ACTIVE);
    post_carrier_abort (carrier);
    post_contract_peer_stop (&peer);
  }

  /* The acceptor forks; the initiator (stream framing) never answers
   * FORK-INVITE: timed out, or cancelled. */
  {
    PostContractPeer peer = { .echo = FALSE };
    g_autoptr(PostConfiguration) server_config = post_contract_server_config ();
    g_autoptr(PostCarrier) carrier = NULL;
    g_autoptr(PostCarrier) fork = NULL;
    g_autoptr(GBytes) hello = g_bytes_new_static ("\x80\x00\x00\x02hi", 6);
    g_autoptr(GCancellable) cancellable = g_cancellable_new ();
    PostContractAsync a = { 0 };
    PostCarrier *accepted;

    g_assert_true (post_configuration_set_conn_timeout (server_config, 300, &error));
    g_assert_no_error (error);
    post_contract_peer_start (&peer, server_config);
    carrier = raw_carrier (&peer);
    send_raw (carrier, hello);   /* a framed message, raw */
    post_contract_wait_count (&peer.n_received, 1, WAIT_MS, "the raw carrier's message");
    accepted = peer.carriers->pdata[0];
    fork = fork_carrier (accepted, &error);
    g_assert_null (fork);
    post_contract_assert_error (error, POST_ERROR_TIMED_OUT);
    g_clear_error (&error);

    post_carrier_fork_async (accepted, cancellable, post_contract_async_cb, &a);
    g_cancellable_cancel (cancellable);
    post_contract_async_wait (&a, WAIT_MS, "the cancelled fork");
    g_assert_null (post_carrier_fork_finish (accepted, a.result, &error));
    g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
    post_contract_async_clear (&a);
    g_assert_cmpint (post_carrier_get_state (accepted), ==, POST_CARRIER_STATE_ACTIVE);
    post_carrier_abort (carrier);
    post_contract_peer_stop (&peer);
  }
}

/* ---- an ordinary carrier that sent and closed before the listener looked ---------- */

static void
test_sent_and_gone (void)
{
  PostContractPeer peer = { .echo = FALSE };
  g_autoptr(PostCarrier) carrier = NULL;

  post_contract_peer_start (&peer, NULL);
  if (g_strcmp0 (post_contract_stack ()->name, "tcp") == 0)
    {
      /* Deterministic on tcp: all of it is there before the accept. */
      g_autoptr(GError) error = NULL;
      g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
      g_autoptr(GSocketAddress) address =
        g_inet_socket_address_new (lo, post_contract_port_of (peer.listener));
      g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                                G_SOCKET_PROTOCOL_TCP, &error);
      const char frame[] = "\x80\x00\x00\x04gone";

      g_assert_no_error (error);
      g_assert_true (g_socket_connect (socket, address, NULL, &error));
      g_assert_no_error (error);
      g_assert_cmpint (g_socket_send (socket, frame, 8, NULL, &error), ==, 8);
      g_assert_no_error (error);
      g_assert_true (g_socket_shutdown (socket, FALSE, TRUE, &error));
      g_assert_no_error (error);
      post_contract_wait_count (&peer.n_received, 1, WAIT_MS, "the message of the raw socket");
      post_contract_wait_count (&peer.n_closed, 1, WAIT_MS, "its close");
      g_assert_cmpuint (peer.n_incoming, ==, 1);
      g_assert_cmpstr (peer.bytes->str, ==, "gone");
      g_string_truncate (peer.bytes, 0);
    }
  {
    guint received = peer.n_received, closed = peer.n_closed;

    carrier = post_contract_initiate (peer.listener, NULL);
    send_text (carrier, "sent and gone");
    post_contract_establish (carrier, WAIT_MS);
    post_carrier_close (carrier);
    post_contract_wait_count (&peer.n_received, received + 1, WAIT_MS, "the message");
    g_assert_cmpstr (peer.bytes->str, ==, "sent and gone");
    if (post_contract_is_connected ())
      post_contract_wait_count (&peer.n_closed, closed + 1, WAIT_MS, "the peer's close");
  }
  post_contract_peer_stop (&peer);
}

void
post_contract_add_fork_cases (void)
{
  post_contract_add ("fork/request", test_request);
  post_contract_add ("fork/accepting-side", test_accepting_side);
  post_contract_add ("fork/refused", test_refused);
  post_contract_add ("fork/foreign", test_foreign);
  post_contract_add ("fork/bad-token", test_bad_token);
  post_contract_add ("fork/unanswered", test_unanswered);
  post_contract_add ("fork/sent-and-gone", test_sent_and_gone);
}
