/* contract-cancel.c: every _async operation of a carrier honours its
 * GCancellable (GIO's rules).
 *
 * - Cancelled before the call, establish, send, send_partial, flush,
 *   receive, receive_partial, fork and close complete with
 *   G_IO_ERROR_CANCELLED, from the main loop (never inside the call),
 *   exactly once; the carrier stays usable (close still closes), and a
 *   cancelled send never reaches the peer.
 * - Cancelled while pending (a receive with nothing to receive, an
 *   establishment to a remote that never answers, sends and a flush queued
 *   behind it, a fork, a close), they complete with G_IO_ERROR_CANCELLED
 *   within a bounded wait; a cancelled establishment leaves the carrier
 *   DORMANT with its queue; after a cancelled receive the next receive
 *   gets the message that arrives later, nothing lost.
 * - A send queued behind a full queue (a peer that does not read) and
 *   cancelled is taken off the queue: once the peer reads, everything else
 *   arrives and that message never does.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "post-contract.h"

#include <string.h>

#define WAIT_MS 5000

/* Fails the case unless @error is G_IO_ERROR_CANCELLED. */
static void
assert_cancelled (const GError *error,
                  const char   *what)
{
  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_error ("%s: %s: expected G_IO_ERROR_CANCELLED, got %s", post_contract_stack ()->name, what,
             error ? error->message : "success");
}

/* Waits for @a, then spins briefly so that a second callback would show
 * (post_contract_async_cb fails on one). */
static void
wait_once (PostContractAsync *a,
           const char        *what)
{
  post_contract_async_wait (a, WAIT_MS, what);
  post_contract_spin (20);
}

static GCancellable *
cancelled_cancellable (void)
{
  GCancellable *cancellable = g_cancellable_new ();

  g_cancellable_cancel (cancellable);
  return cancellable;
}

static PostCarrier *
connect_to (PostContractPeer *peer)
{
  PostCarrier *carrier = post_contract_initiate (peer->listener, NULL);

  post_contract_establish (carrier, WAIT_MS);
  return carrier;
}

/* Sends @text and waits until the peer has received @n messages in all. */
static void
send_and_wait_peer (PostCarrier      *carrier,
                    PostContractPeer *peer,
                    const char       *text,
                    guint             n)
{
  g_autoptr(PostMessage) m = post_message_new_from_string (text);
  g_autoptr(GError) error = NULL;

  g_assert_true (post_carrier_send (carrier, m, &error));
  g_assert_no_error (error);
  post_contract_wait_count (&peer->n_received, n, WAIT_MS, "the peer's message");
}

/* Receives one message on @carrier and checks it is @text. */
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

/* ---- cancelled before the call ---------------------------------------------- */

static void
test_before (void)
{
  PostContractPeer peer = { .echo = FALSE };
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(GCancellable) cancelled = cancelled_cancellable ();
  g_autoptr(PostMessage) m1 = post_message_new_from_string ("cancelled-send");
  g_autoptr(PostMessage) m2 = post_message_new_from_string ("cancelled-part");
  g_autoptr(GBytes) part = g_bytes_new_static ("cancelled-part", 14);
  PostContractAsync a = { 0 };
  GError *error = NULL;

  post_contract_peer_start (&peer, NULL);
  carrier = connect_to (&peer);

  post_carrier_establish_async (carrier, cancelled, post_contract_async_cb, &a);
  g_assert_false (a.done);   /* never from inside the call */
  wait_once (&a, "a cancelled establish");
  g_assert_false (post_carrier_establish_finish (carrier, a.result, &error));
  assert_cancelled (error, "establish");
  g_clear_error (&error);
  post_contract_async_clear (&a);
  g_assert_cmpint (post_carrier_get_state (carrier), ==, POST_CARRIER_STATE_ACTIVE);

  post_carrier_send_async (carrier, m1, cancelled, post_contract_async_cb, &a);
  g_assert_false (a.done);
  wait_once (&a, "a cancelled send");
  g_assert_false (post_carrier_send_finish (carrier, a.result, &error));
  assert_cancelled (error, "send");
  g_clear_error (&error);
  post_contract_async_clear (&a);

  post_carrier_send_partial_async (carrier, m2, part, TRUE, cancelled, post_contract_async_cb, &a);
  g_assert_false (a.done);
  wait_once (&a, "a cancelled send_partial");
  g_assert_false (post_carrier_send_partial_finish (carrier, a.result, &error));
  assert_cancelled (error, "send_partial");
  g_clear_error (&error);
  post_contract_async_clear (&a);

  post_carrier_flush_async (carrier, cancelled, post_contract_async_cb, &a);
  g_assert_false (a.done);
  wait_once (&a, "a cancelled flush");
  g_assert_false (post_carrier_flush_finish (carrier, a.result, &error));
  assert_cancelled (error, "flush");
  g_clear_error (&error);
  post_contract_async_clear (&a);

  post_carrier_receive_async (carrier, cancelled, post_contract_async_cb, &a);
  g_assert_false (a.done);
  wait_once (&a, "a cancelled receive");
  g_assert_null (post_carrier_receive_finish (carrier, a.result, &error));
  assert_cancelled (error, "receive");
  g_clear_error (&error);
  post_contract_async_clear (&a);

  post_carrier_receive_partial_async (carrier, 1, 0, cancelled, post_contract_async_cb, &a);
  g_assert_false (a.done);
  wait_once (&a, "a cancelled receive_partial");
  g_assert_null (post_carrier_receive_partial_finish (carrier, a.result, NULL, NULL, &error));
  assert_cancelled (error, "receive_partial");
  g_clear_error (&error);
  post_contract_async_clear (&a);

  post_carrier_fork_async (carrier, cancelled, post_contract_async_cb, &a);
  g_assert_false (a.done);
  wait_once (&a, "a cancelled fork");
  g_assert_null (post_carrier_fork_finish (carrier, a.result, &error));
  assert_cancelled (error, "fork");
  g_clear_error (&error);
  post_contract_async_clear (&a);

  /* Still usable, and nothing cancelled went out: the peer's first
   * message is the one sent now. */
  g_assert_cmpint (post_carrier_get_state (carrier), ==, POST_CARRIER_STATE_ACTIVE);
  send_and_wait_peer (carrier, &peer, "after", 1);
  g_assert_cmpstr (peer.bytes->str, ==, "after");
  g_assert_cmpuint (peer.n_incoming, ==, 1);   /* no fork reached it either */

  /* A cancelled close still closes. */
  post_carrier_close_async (carrier, cancelled, post_contract_async_cb, &a);
  g_assert_false (a.done);
  wait_once (&a, "a cancelled close");
  g_assert_false (post_carrier_close_finish (carrier, a.result, &error));
  assert_cancelled (error, "close");
  g_clear_error (&error);
  post_contract_async_clear (&a);
  post_contract_wait_state (carrier, POST_CARRIER_STATE_CLOSED, WAIT_MS);

  post_contract_peer_stop (&peer);
}

/* ---- a pending receive -------------------------------------------------------- */

static void
test_receive_during (void)
{
  PostContractPeer peer = { .echo = TRUE };
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(GCancellable) c1 = g_cancellable_new ();
  g_autoptr(GCancellable) c2 = g_cancellable_new ();
  PostContractAsync a = { 0 };
  GError *error = NULL;

  post_contract_peer_start (&peer, NULL);
  carrier = connect_to (&peer);
  send_and_wait_peer (carrier, &peer, "one", 1);
  receive_expect (carrier, "one");

  /* Nothing to receive: it waits, until cancelled. */
  post_carrier_receive_async (carrier, c1, post_contract_async_cb, &a);
  post_contract_spin (100);
  g_assert_false (a.done);
  g_cancellable_cancel (c1);
  wait_once (&a, "a receive cancelled while waiting");
  g_assert_null (post_carrier_receive_finish (carrier, a.result, &error));
  assert_cancelled (error, "receive");
  g_clear_error (&error);
  post_contract_async_clear (&a);

  /* The message that arrives later goes to the next receive. */
  send_and_wait_peer (carrier, &peer, "two", 2);
  receive_expect (carrier, "two");

  post_carrier_receive_partial_async (carrier, 1, 0, c2, post_contract_async_cb, &a);
  post_contract_spin (100);
  g_assert_false (a.done);
  g_cancellable_cancel (c2);
  wait_once (&a, "a receive_partial cancelled while waiting");
  g_assert_null (post_carrier_receive_partial_finish (carrier, a.result, NULL, NULL, &error));
  assert_cancelled (error, "receive_partial");
  g_clear_error (&error);
  post_contract_async_clear (&a);

  send_and_wait_peer (carrier, &peer, "three", 3);
  receive_expect (carrier, "three");
  g_assert_cmpint (post_carrier_get_state (carrier), ==, POST_CARRIER_STATE_ACTIVE);

  post_carrier_abort (carrier);
  post_contract_peer_stop (&peer);
}

/* ---- an establishment that does not complete, and what waits behind it --------- */

static void
expect_send_cancelled (PostCarrier       *carrier,
                       PostContractAsync *a,
                       gboolean           partial,
                       const char        *what)
{
  GError *error = NULL;
  gboolean ok;

  wait_once (a, what);
  ok = partial ? post_carrier_send_partial_finish (carrier, a->result, &error)
               : post_carrier_send_finish (carrier, a->result, &error);
  g_assert_false (ok);
  assert_cancelled (error, what);
  g_clear_error (&error);
  post_contract_async_clear (a);
}

static void
test_establish_during (void)
{
  PostContractBlackhole blackhole = { 0 };
  g_autoptr(PostRemote) remote = post_contract_blackhole_start (&blackhole);
  g_autoptr(PostConfiguration) config = post_contract_config ();
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(GCancellable) cs = g_cancellable_new ();
  g_autoptr(GCancellable) cp = g_cancellable_new ();
  g_autoptr(GCancellable) cf = g_cancellable_new ();
  g_autoptr(GCancellable) ce = g_cancellable_new ();
  g_autoptr(PostMessage) kept = post_message_new_from_string ("kept");
  g_autoptr(PostMessage) m = post_message_new_from_string ("cancelled");
  g_autoptr(PostMessage) whole = post_message_new_from_string ("");
  g_autoptr(GBytes) part = g_bytes_new_static ("part", 4);
  PostContractAsync as = { 0 }, ap = { 0 }, af = { 0 }, ae = { 0 };
  GError *error = NULL;

  if (!post_contract_is_connected ())
    {
      /* Nothing to wait for: the stack establishes without the peer.  A
       * cancel right after the call still completes it exactly once,
       * either way, and the state says which. */
      post_contract_unsupported ("no handshake: an establishment cannot be pending; "
                                 "checked that a cancel right after the call completes it "
                                 "once, consistently with the state");
      carrier = post_carrier_initiate (NULL, remote, config);
      post_carrier_establish_async (carrier, ce, post_contract_async_cb, &ae);
      g_cancellable_cancel (ce);
      wait_once (&ae, "an establish cancelled at once");
      if (post_carrier_establish_finish (carrier, ae.result, &error))
        g_assert_cmpint (post_carrier_get_state (carrier), ==, POST_CARRIER_STATE_ACTIVE);
      else
        {
          assert_cancelled (error, "establish");
          g_clear_error (&error);
          g_assert_cmpint (post_carrier_get_state (carrier), ==, POST_CARRIER_STATE_DORMANT);
        }
      post_contract_async_clear (&ae);
      post_carrier_abort (carrier);
      post_contract_blackhole_stop (&blackhole);
      return;
    }

  carrier = post_carrier_initiate (NULL, remote, config);
  g_assert_true (post_carrier_send (carrier, kept, &error));
  g_assert_no_error (error);
  post_carrier_send_async (carrier, m, cs, post_contract_async_cb, &as);
  post_carrier_send_partial_async (carrier, whole, part, FALSE, cp, post_contract_async_cb, &ap);
  post_carrier_flush_async (carrier, cf, post_contract_async_cb, &af);
  post_carrier_establish_async (carrier, ce, post_contract_async_cb, &ae);
  post_contract_spin (200);
  g_assert_false (as.done || ap.done || af.done || ae.done);
  g_assert_cmpint (post_carrier_get_state (carrier), ==, POST_CARRIER_STATE_ESTABLISHING);

  /* Queued behind the establishment: taken back when cancelled. */
  g_cancellable_cancel (cs);
  expect_send_cancelled (carrier, &as, FALSE, "a send waiting for the establishment");
  g_cancellable_cancel (cp);
  expect_send_cancelled (carrier, &ap, TRUE, "a send_partial waiting for the establishment");
  g_cancellable_cancel (cf);
  wait_once (&af, "a flush waiting for the establishment");
  g_assert_false (post_carrier_flush_finish (carrier, af.result, &error));
  assert_cancelled (error, "flush");
  g_clear_error (&error);
  post_contract_async_clear (&af);
  g_assert_cmpint (post_carrier_get_state (carrier), ==, POST_CARRIER_STATE_ESTABLISHING);
  g_assert_false (ae.done);

  /* The establishment itself: the carrier goes DORMANT, its queue kept. */
  g_cancellable_cancel (ce);
  wait_once (&ae, "an establish cancelled while pending");
  g_assert_false (post_carrier_establish_finish (carrier, ae.result, &error));
  assert_cancelled (error, "establish");
  g_clear_error (&error);
  post_contract_async_clear (&ae);
  g_assert_cmpint (post_carrier_get_state (carrier), ==, POST_CARRIER_STATE_DORMANT);
  g_assert_true (g_error_matches (post_carrier_get_error (carrier), G_IO_ERROR, G_IO_ERROR_CANCELLED));
  g_assert_cmpuint (post_carrier_get_send_queue_size (carrier), >, 0);   /* "kept" */
  post_contract_spin (100);
  g_assert_cmpint (post_carrier_get_state (carrier), ==, POST_CARRIER_STATE_DORMANT);

  post_carrier_close (carrier);
  g_assert_cmpint (post_carrier_get_state (carrier), ==, POST_CARRIER_STATE_CLOSED);
  post_contract_blackhole_stop (&blackhole);
}

/* A cancelled establishment of a DORMANT carrier can be tried again: here
 * to a listener that answers, which then receives what was queued. */
static void
test_establish_retry (void)
{
  PostContractPeer peer = { .echo = FALSE };
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(PostMessage) kept = post_message_new_from_string ("kept");
  PostContractAsync a = { 0 };
  GError *error = NULL;

  post_contract_peer_start (&peer, NULL);
  carrier = post_contract_initiate (peer.listener, NULL);
  g_assert_true (post_carrier_send (carrier, kept, &error));
  g_assert_no_error (error);
  /* Cancelled before the main loop ran the establishment. */
  post_carrier_establish_async (carrier, cancellable, post_contract_async_cb, &a);
  g_cancellable_cancel (cancellable);
  wait_once (&a, "an establish cancelled at once");
  if (post_carrier_establish_finish (carrier, a.result, &error))
    {
      g_test_message ("%s established before the cancellation was seen",
                      post_contract_stack ()->name);
      g_assert_cmpint (post_carrier_get_state (carrier), ==, POST_CARRIER_STATE_ACTIVE);
    }
  else
    {
      assert_cancelled (error, "establish");
      g_clear_error (&error);
      g_assert_cmpint (post_carrier_get_state (carrier), ==, POST_CARRIER_STATE_DORMANT);
      post_contract_establish (carrier, WAIT_MS);
    }
  post_contract_async_clear (&a);
  post_contract_wait_count (&peer.n_received, 1, WAIT_MS, "the message queued before");
  g_assert_cmpstr (peer.bytes->str, ==, "kept");

  post_carrier_abort (carrier);
  post_contract_peer_stop (&peer);
}

/* ---- a send behind a full queue --------------------------------------------------- */

#define CHUNK (16 * 1024)

static void
test_send_queued (void)
{
  PostContractPeer peer = { .echo = FALSE, .no_read = TRUE };
  g_autoptr(PostConfiguration) config = post_contract_config ();
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GBytes) marker = g_bytes_new_static ("MARKER-never-sent", 17);
  g_autoptr(PostMessage) cancelled_message = post_message_new (marker);
  g_autoptr(PostMessage) last = post_message_new_from_string ("last");
  PostContractAsync a = { 0 }, al = { 0 };
  GError *error = NULL;
  guint n_sent = 0;

  if (!post_contract_has (POST_STACK_CAP_RELIABLE))
    {
      post_contract_unsupported ("no flow control: sends are handed to the network at once, "
                                 "nothing waits in the queue to be cancelled; checked that a "
                                 "send cancelled right after the call completes once and, if "
                                 "it says cancelled, never arrives");
      post_contract_peer_start (&peer, NULL);
      post_contract_peer_read (&peer);
      carrier = connect_to (&peer);
      post_carrier_send_async (carrier, cancelled_message, cancellable, post_contract_async_cb, &a);
      g_cancellable_cancel (cancellable);
      wait_once (&a, "a send cancelled at once");
      if (post_carrier_send_finish (carrier, a.result, &error))
        send_and_wait_peer (carrier, &peer, "last", 2);
      else
        {
          assert_cancelled (error, "send");
          g_clear_error (&error);
          send_and_wait_peer (carrier, &peer, "last", 1);
          g_assert_cmpstr (peer.bytes->str, ==, "last");
        }
      post_contract_async_clear (&a);
      post_carrier_abort (carrier);
      post_contract_peer_stop (&peer);
      return;
    }

  g_assert_true (post_configuration_set_send_queue_limit (config, 64 * 1024, &error));
  g_assert_no_error (error);
  post_contract_peer_start (&peer, NULL);
  carrier = post_contract_initiate (peer.listener, config);
  post_contract_establish (carrier, WAIT_MS);
  post_contract_fill_until_blocked (carrier, CHUNK, 1, 300, 100000, &n_sent);

  post_carrier_send_async (carrier, cancelled_message, cancellable, post_contract_async_cb, &a);
  post_contract_spin (50);
  g_assert_false (a.done);
  g_cancellable_cancel (cancellable);
  expect_send_cancelled (carrier, &a, FALSE, "a send queued behind a full queue");

  /* The carrier goes on: once the peer reads, everything else arrives, in
   * order, and the cancelled message never. */
  post_carrier_send_async (carrier, last, NULL, post_contract_async_cb, &al);
  post_contract_peer_read (&peer);
  post_contract_wait_count (&peer.n_received, n_sent + 1, 20000, "everything not cancelled");
  post_contract_spin (50);
  g_assert_cmpuint (peer.n_received, ==, n_sent + 1);
  for (guint i = 0; i < n_sent; i++)
    {
      g_autoptr(GBytes) expected = post_contract_pattern (CHUNK, 1 + i);
      GBytes *got = post_message_get_content (peer.messages->pdata[i]);

      g_assert_true (g_bytes_equal (expected, got));
    }
  g_assert_true (g_bytes_equal (post_message_get_content (peer.messages->pdata[n_sent]),
                                post_message_get_content (last)));
  post_contract_async_wait (&al, WAIT_MS, "the last send");
  g_assert_true (post_carrier_send_finish (carrier, al.result, &error));
  g_assert_no_error (error);
  post_contract_async_clear (&al);

  post_carrier_abort (carrier);
  post_contract_peer_stop (&peer);
}

/* ---- fork and close, cancelled while pending ----------------------------------------- */

static void
test_fork_close_during (void)
{
  PostContractPeer peer = { .echo = TRUE };
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(GCancellable) cf = g_cancellable_new ();
  g_autoptr(GCancellable) cc = g_cancellable_new ();
  PostContractAsync a = { 0 };
  GError *error = NULL;

  post_contract_peer_start (&peer, NULL);
  carrier = connect_to (&peer);
  send_and_wait_peer (carrier, &peer, "one", 1);
  receive_expect (carrier, "one");

  post_carrier_fork_async (carrier, cf, post_contract_async_cb, &a);
  g_cancellable_cancel (cf);
  wait_once (&a, "a fork cancelled while pending");
  g_assert_null (post_carrier_fork_finish (carrier, a.result, &error));
  assert_cancelled (error, "fork");
  g_clear_error (&error);
  post_contract_async_clear (&a);

  /* The carrier goes on. */
  g_assert_cmpint (post_carrier_get_state (carrier), ==, POST_CARRIER_STATE_ACTIVE);
  send_and_wait_peer (carrier, &peer, "two", 2);
  receive_expect (carrier, "two");

  /* A close cancelled while it drains: the wait ends, the carrier closes. */
  post_carrier_close_async (carrier, cc, post_contract_async_cb, &a);
  g_cancellable_cancel (cc);
  wait_once (&a, "a close cancelled while pending");
  g_assert_false (post_carrier_close_finish (carrier, a.result, &error));
  assert_cancelled (error, "close");
  g_clear_error (&error);
  post_contract_async_clear (&a);
  post_contract_wait_state (carrier, POST_CARRIER_STATE_CLOSED, WAIT_MS);

  post_contract_peer_stop (&peer);
}

void
post_contract_add_cancel_cases (void)
{
  post_contract_add ("cancel/before", test_before);
  post_contract_add ("cancel/receive-during", test_receive_during);
  post_contract_add ("cancel/establish-during", test_establish_during);
  post_contract_add ("cancel/establish-retry", test_establish_retry);
  post_contract_add ("cancel/send-queued", test_send_queued);
  post_contract_add ("cancel/fork-close-during", test_fork_close_during);
}
