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

/* ---- the operations ------------------------------------------------------------ */

typedef enum
{
  OP_ESTABLISH,
  OP_SEND,
  OP_SEND_PARTIAL,
  OP_FLUSH,
  OP_RECEIVE,
  OP_RECEIVE_PARTIAL,
  OP_FORK,
  OP_CLOSE,
  N_OPS
} Op;

static const char *const op_names[N_OPS] = {
  "establish", "send", "send_partial", "flush", "receive", "receive_partial", "fork", "close",
};

/* Starts @op on @carrier with @cancellable; the result goes to @a.  The
 * sends send "cancelled-OP" (a part that ends its message). */
static void
start_op (PostCarrier       *carrier,
          Op                 op,
          GCancellable      *cancellable,
          PostContractAsync *a)
{
  g_autofree char *text = g_strdup_printf ("cancelled-%s", op_names[op]);
  g_autoptr(PostMessage) m = post_message_new_from_string (text);
  g_autoptr(GBytes) part = g_bytes_new (text, strlen (text));

  switch (op)
    {
    case OP_ESTABLISH:
      post_carrier_establish_async (carrier, cancellable, post_contract_async_cb, a);
      break;
    case OP_SEND:
      post_carrier_send_async (carrier, m, cancellable, post_contract_async_cb, a);
      break;
    case OP_SEND_PARTIAL:
      post_carrier_send_partial_async (carrier, m, part, TRUE, cancellable, post_contract_async_cb, a);
      break;
    case OP_FLUSH:
      post_carrier_flush_async (carrier, cancellable, post_contract_async_cb, a);
      break;
    case OP_RECEIVE:
      post_carrier_receive_async (carrier, cancellable, post_contract_async_cb, a);
      break;
    case OP_RECEIVE_PARTIAL:
      post_carrier_receive_partial_async (carrier, 1, 0, cancellable, post_contract_async_cb, a);
      break;
    case OP_FORK:
      post_carrier_fork_async (carrier, cancellable, post_contract_async_cb, a);
      break;
    case OP_CLOSE:
    default:
      post_carrier_close_async (carrier, cancellable, post_contract_async_cb, a);
      break;
    }
}

/* Waits (bounded) for @op's result in @a, once, and returns whether it
 * succeeded; otherwise its error goes to @error. */
static gboolean
finish_op (PostCarrier       *carrier,
           Op                 op,
           PostContractAsync *a,
           GError           **error)
{
  g_autofree char *what = g_strdup_printf ("the %s's completion", op_names[op]);
  gboolean ok;

  wait_once (a, what);
  switch (op)
    {
    case OP_ESTABLISH:
      ok = post_carrier_establish_finish (carrier, a->result, error);
      break;
    case OP_SEND:
      ok = post_carrier_send_finish (carrier, a->result, error);
      break;
    case OP_SEND_PARTIAL:
      ok = post_carrier_send_partial_finish (carrier, a->result, error);
      break;
    case OP_FLUSH:
      ok = post_carrier_flush_finish (carrier, a->result, error);
      break;
    case OP_RECEIVE:
      {
        g_autoptr(PostMessage) m = post_carrier_receive_finish (carrier, a->result, error);

        ok = m != NULL;
        break;
      }
    case OP_RECEIVE_PARTIAL:
      {
        g_autoptr(GBytes) data = post_carrier_receive_partial_finish (carrier, a->result, NULL,
                                                                      NULL, error);

        ok = data != NULL;
        break;
      }
    case OP_FORK:
      {
        g_autoptr(PostCarrier) fork = post_carrier_fork_finish (carrier, a->result, error);

        ok = fork != NULL;
        break;
      }
    case OP_CLOSE:
    default:
      ok = post_carrier_close_finish (carrier, a->result, error);
      break;
    }
  post_contract_async_clear (a);
  return ok;
}

/* Waits for @op's result in @a and checks it is G_IO_ERROR_CANCELLED. */
static void
expect_cancelled (PostCarrier       *carrier,
                  Op                 op,
                  PostContractAsync *a)
{
  g_autoptr(GError) error = NULL;

  g_assert_false (finish_op (carrier, op, a, &error));
  assert_cancelled (error, op_names[op]);
}

/* ---- cancelled before the call ---------------------------------------------- */

static void
test_before (void)
{
  PostContractPeer peer = { .echo = FALSE };
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(GCancellable) cancelled = cancelled_cancellable ();

  post_contract_peer_start (&peer, NULL);
  carrier = connect_to (&peer);

  for (Op op = 0; op < N_OPS; op++)
    {
      PostContractAsync a = { 0 };

      start_op (carrier, op, cancelled, &a);
      g_assert_false (a.done);   /* never from inside the call */
      expect_cancelled (carrier, op, &a);
      if (op == OP_CLOSE)
        break;
      g_assert_cmpint (post_carrier_get_state (carrier), ==, POST_CARRIER_STATE_ACTIVE);
      if (op == OP_FORK)
        {
          /* Still usable, and nothing cancelled went out: the peer's first
           * message is the one sent now, and no fork reached it. */
          send_and_wait_peer (carrier, &peer, "after", 1);
          g_assert_cmpstr (peer.bytes->str, ==, "after");
          g_assert_cmpuint (peer.n_incoming, ==, 1);
        }
    }
  /* A cancelled close still closes. */
  post_contract_wait_state (carrier, POST_CARRIER_STATE_CLOSED, WAIT_MS);

  post_contract_peer_stop (&peer);
}

/* A carrier to an echoing peer, with one message exchanged. */
static PostCarrier *
connect_echoed (PostContractPeer *peer)
{
  PostCarrier *carrier;

  peer->echo = TRUE;
  post_contract_peer_start (peer, NULL);
  carrier = connect_to (peer);
  send_and_wait_peer (carrier, peer, "one", 1);
  receive_expect (carrier, "one");
  return carrier;
}

/* ---- a pending receive -------------------------------------------------------- */

static void
test_receive_during (void)
{
  PostContractPeer peer = { 0 };
  g_autoptr(PostCarrier) carrier = connect_echoed (&peer);
  const Op ops[] = { OP_RECEIVE, OP_RECEIVE_PARTIAL };
  const char *const later[] = { "two", "three" };

  for (guint i = 0; i < G_N_ELEMENTS (ops); i++)
    {
      g_autoptr(GCancellable) cancellable = g_cancellable_new ();
      PostContractAsync a = { 0 };

      /* Nothing to receive: it waits, until cancelled. */
      start_op (carrier, ops[i], cancellable, &a);
      post_contract_spin (100);
      g_assert_false (a.done);
      g_cancellable_cancel (cancellable);
      expect_cancelled (carrier, ops[i], &a);
      /* The message that arrives later goes to the next receive. */
      send_and_wait_peer (carrier, &peer, later[i], 2 + i);
      receive_expect (carrier, later[i]);
    }
  g_assert_cmpint (post_carrier_get_state (carrier), ==, POST_CARRIER_STATE_ACTIVE);

  post_carrier_abort (carrier);
  post_contract_peer_stop (&peer);
}

/* ---- an establishment that does not complete, and what waits behind it --------- */

static void
test_establish_during (void)
{
  PostContractBlackhole blackhole = { 0 };
  g_autoptr(PostRemote) remote = post_contract_blackhole_start (&blackhole);
  g_autoptr(PostConfiguration) config = post_contract_config ();
  g_autoptr(PostCarrier) carrier = post_carrier_initiate (NULL, remote, config);
  g_autoptr(PostMessage) kept = post_message_new_from_string ("kept");
  /* Queued behind the establishment, then the establishment itself. */
  const Op ops[] = { OP_SEND, OP_SEND_PARTIAL, OP_FLUSH, OP_ESTABLISH };
  GCancellable *cancellables[G_N_ELEMENTS (ops)];
  PostContractAsync a[G_N_ELEMENTS (ops)] = { { 0 } };
  g_autoptr(GError) error = NULL;

  if (!post_contract_is_connected ())
    {
      g_autoptr(GCancellable) cancellable = g_cancellable_new ();

      /* Nothing to wait for: the stack establishes without the peer.  A
       * cancel right after the call still completes it exactly once,
       * either way, and the state says which. */
      post_contract_unsupported ("no handshake: an establishment cannot be pending; "
                                 "checked that a cancel right after the call completes it "
                                 "once, consistently with the state");
      start_op (carrier, OP_ESTABLISH, cancellable, &a[0]);
      g_cancellable_cancel (cancellable);
      if (finish_op (carrier, OP_ESTABLISH, &a[0], &error))
        g_assert_cmpint (post_carrier_get_state (carrier), ==, POST_CARRIER_STATE_ACTIVE);
      else
        {
          assert_cancelled (error, "establish");
          g_assert_cmpint (post_carrier_get_state (carrier), ==, POST_CARRIER_STATE_DORMANT);
        }
      post_carrier_abort (carrier);
      post_contract_blackhole_stop (&blackhole);
      return;
    }

  g_assert_true (post_carrier_send (carrier, kept, &error));
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (ops); i++)
    {
      cancellables[i] = g_cancellable_new ();
      start_op (carrier, ops[i], cancellables[i], &a[i]);
    }
  post_contract_spin (200);
  for (guint i = 0; i < G_N_ELEMENTS (ops); i++)
    g_assert_false (a[i].done);
  for (guint i = 0; i < G_N_ELEMENTS (ops); i++)
    {
      g_assert_cmpint (post_carrier_get_state (carrier), ==, POST_CARRIER_STATE_ESTABLISHING);
      g_cancellable_cancel (cancellables[i]);
      expect_cancelled (carrier, ops[i], &a[i]);
      g_object_unref (cancellables[i]);
    }
  /* The establishment stopped: the carrier is DORMANT, its queue kept. */
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
  wait_once (&a, "a send queued behind a full queue");
  g_assert_false (post_carrier_send_finish (carrier, a.result, &error));
  assert_cancelled (error, "a send queued behind a full queue");
  g_clear_error (&error);
  post_contract_async_clear (&a);

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
  PostContractPeer peer = { 0 };
  g_autoptr(PostCarrier) carrier = connect_echoed (&peer);
  g_autoptr(GCancellable) cf = g_cancellable_new ();
  g_autoptr(GCancellable) cc = g_cancellable_new ();
  PostContractAsync a = { 0 };

  start_op (carrier, OP_FORK, cf, &a);
  g_cancellable_cancel (cf);
  expect_cancelled (carrier, OP_FORK, &a);

  /* The carrier goes on. */
  g_assert_cmpint (post_carrier_get_state (carrier), ==, POST_CARRIER_STATE_ACTIVE);
  send_and_wait_peer (carrier, &peer, "two", 2);
  receive_expect (carrier, "two");

  /* A close cancelled while it drains: the wait ends, the carrier closes. */
  start_op (carrier, OP_CLOSE, cc, &a);
  g_cancellable_cancel (cc);
  expect_cancelled (carrier, OP_CLOSE, &a);
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
