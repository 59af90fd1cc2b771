/* contract-refusal.c: a listener or a carrier says no (issue 11, "Refusal").
 *
 * A carrier that no #PostCarrier::incoming handler accepts is refused.
 * With POST_STACK_CAP_REFUSAL the protocol tells the initiator: its
 * establishment fails with POST_ERROR_CONNECTION_REFUSED, or — the
 * protocol's handshake completed before the listener decided, as a TCP
 * connection that the kernel accepted or a TLS 1.3 client that finished
 * first — the carrier, ACTIVE for that moment, then closes with
 * POST_ERROR_CONNECTION_REFUSED: it never goes DORMANT (nothing to
 * re-establish: the peer said no), and what it sends fails rather than
 * vanishing.  Without the capability (udp: no way to say no) the case
 * checks the documented behaviour: the initiator learns nothing, and the
 * listener drops the refused remote's later datagrams instead of offering
 * a new carrier for each.
 *
 * - listener: a listener refuses a carrier.
 * - fork: a fork is refused — by the peer's carrier (a fork request, with
 *   POST_STACK_CAP_FORK_REQUEST) or, without it, by the listener where the
 *   fork arrives as an ordinary carrier.
 * - after-accept-ok: a listener that refused one carrier accepts the next
 *   one, which works as any other.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "post-contract.h"

#include <string.h>

#define WAIT_MS 10000
/* How long the refused initiator gets to hear of it, and how long nothing
 * must happen where nothing is expected (udp). */
#define VERDICT_MS 5000
#define QUIET_MS 300

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

/* The refused @carrier (watched by @watch, its establishment in @a, or
 * NULL when it had already been established) learns it: its establishment
 * fails with POST_ERROR_CONNECTION_REFUSED, or it closes with that error
 * within VERDICT_MS of being ACTIVE, never going DORMANT; a send then
 * fails. */
static void
expect_refused (PostCarrier       *carrier,
                PostContractWatch *watch,
                PostContractAsync *a)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostMessage) late = post_message_new_from_string ("after the refusal");

  if (a != NULL)
    {
      post_contract_async_wait (a, WAIT_MS, "the establishment's outcome");
      if (!post_carrier_establish_finish (carrier, a->result, &error))
        {
          g_test_message ("%s: establishment failed: %s", post_contract_stack ()->name, error->message);
          post_contract_assert_error (error, POST_ERROR_CONNECTION_REFUSED);
        }
      else
        g_test_message ("%s: established before the listener decided; waiting for its verdict",
                        post_contract_stack ()->name);
    }
  post_contract_wait_count (&watch->n_closed, 1, VERDICT_MS, "the refusal at the initiator");
  post_contract_assert_error (watch->close_error, POST_ERROR_CONNECTION_REFUSED);
  g_assert_cmpint (post_carrier_get_state (carrier), ==, POST_CARRIER_STATE_CLOSED);
  post_contract_assert_error (post_carrier_get_error (carrier), POST_ERROR_CONNECTION_REFUSED);
  g_clear_error (&error);
  g_assert_false (post_carrier_send (carrier, late, &error));
  g_assert_nonnull (error);
}

/* Without POST_STACK_CAP_REFUSAL: @carrier (whose first message the
 * listener of @peer got as a carrier it refused) hears nothing; its later
 * messages are dropped at the listener, which offers no new carrier for
 * them. */
static void
expect_unrefused (PostCarrier      *carrier,
                  PostContractPeer *peer,
                  guint             n_incoming)
{
  post_contract_wait_count (&peer->n_incoming, n_incoming, WAIT_MS, "the carrier at the listener");
  for (guint i = 0; i < 3; i++)
    send_text (carrier, "dropped");
  post_contract_spin (QUIET_MS);
  g_assert_cmpint (post_carrier_get_state (carrier), ==, POST_CARRIER_STATE_ACTIVE);
  g_assert_cmpuint (peer->n_incoming, ==, n_incoming);
  g_assert_cmpuint (peer->n_received, ==, 0);
  g_assert_cmpuint (peer->carriers->len, ==, 0);
}

/* ---- a listener refuses ---------------------------------------------------- */

static void
test_listener (void)
{
  PostContractPeer peer = { .echo = TRUE, .refuse = TRUE };
  PostContractWatch watch = { 0 };
  PostContractAsync a = { 0 };
  g_autoptr(PostCarrier) carrier = NULL;

  post_contract_peer_start (&peer, NULL);
  carrier = post_contract_initiate (peer.listener, NULL);
  post_contract_watch (&watch, carrier, TRUE);
  /* Queued while ESTABLISHING: a connectionless listener learns of a
   * carrier from its first message. */
  send_text (carrier, "hello");
  post_carrier_establish_async (carrier, NULL, post_contract_async_cb, &a);
  if (post_contract_has (POST_STACK_CAP_REFUSAL))
    {
      expect_refused (carrier, &watch, &a);
      g_assert_cmpuint (peer.n_incoming, ==, 1);
      g_assert_cmpuint (peer.carriers->len, ==, 0);
    }
  else
    {
      post_contract_unsupported ("no POST_STACK_CAP_REFUSAL: checked that the refused initiator "
                                 "stays ACTIVE and that its later messages offer no new carrier "
                                 "at the listener");
      post_contract_async_wait (&a, WAIT_MS, "the establishment");
      g_assert_true (post_carrier_establish_finish (carrier, a.result, NULL));
      expect_unrefused (carrier, &peer, 1);
      g_assert_cmpuint (watch.n_closed, ==, 0);
    }
  post_contract_async_clear (&a);
  post_contract_unwatch (&watch, carrier);
  post_carrier_abort (carrier);
  post_contract_watch_clear (&watch);
  post_contract_peer_stop (&peer);
}

/* ---- a fork is refused ----------------------------------------------------- */

static void
test_fork (void)
{
  PostContractPeer peer = { .echo = TRUE, .refuse_forks = TRUE };
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(PostCarrier) fork = NULL;
  g_autoptr(GError) error = NULL;
  PostContractAsync a = { 0 };
  gboolean request = post_contract_has (POST_STACK_CAP_FORK_REQUEST);

  if (!post_contract_has (POST_STACK_CAP_FORK))
    {
      post_contract_unsupported ("no POST_STACK_CAP_FORK: nothing to refuse");
      return;
    }
  post_contract_peer_start (&peer, NULL);
  carrier = post_contract_initiate (peer.listener, NULL);
  send_text (carrier, "hello");
  post_contract_establish (carrier, WAIT_MS);
  receive_expect (carrier, "hello");
  g_assert_cmpuint (peer.n_incoming, ==, 1);
  /* From now on the listener refuses too: without fork requests the fork
   * arrives there. */
  peer.refuse = TRUE;

  post_carrier_fork_async (carrier, NULL, post_contract_async_cb, &a);
  post_contract_async_wait (&a, WAIT_MS, "the fork");
  fork = post_carrier_fork_finish (carrier, a.result, &error);
  post_contract_async_clear (&a);
  if (request || post_contract_has (POST_STACK_CAP_REFUSAL))
    {
      if (fork == NULL)
        post_contract_assert_error (error, POST_ERROR_CONNECTION_REFUSED);
      else
        {
          /* A stream or transport the peer refuses once it sees it (its
           * first data, or its handshake): the fork closes with it. */
          PostContractWatch watch = { 0 };

          post_contract_watch (&watch, fork, TRUE);
          send_text (fork, "refused?");
          expect_refused (fork, &watch, NULL);
          post_contract_unwatch (&watch, fork);
          post_contract_watch_clear (&watch);
        }
      if (request)
        {
          g_assert_cmpuint (peer.n_forks, ==, 1);
          g_assert_cmpuint (peer.n_incoming, ==, 1);
        }
      else
        {
          g_assert_cmpuint (peer.n_forks, ==, 0);
          g_assert_cmpuint (peer.n_incoming, ==, 2);
        }
    }
  else
    {
      post_contract_unsupported ("no POST_STACK_CAP_FORK_REQUEST nor POST_STACK_CAP_REFUSAL: "
                                 "checked that the fork refused at the listener stays ACTIVE "
                                 "and that its later messages offer no new carrier there");
      g_assert_no_error (error);
      g_assert_nonnull (fork);
      send_text (fork, "refused");
      post_contract_wait_count (&peer.n_incoming, 2, WAIT_MS, "the fork at the listener");
      for (guint i = 0; i < 3; i++)
        send_text (fork, "dropped");
      post_contract_spin (QUIET_MS);
      g_assert_cmpint (post_carrier_get_state (fork), ==, POST_CARRIER_STATE_ACTIVE);
      g_assert_cmpuint (peer.n_incoming, ==, 2);
      g_assert_cmpuint (peer.carriers->len, ==, 1);
    }
  /* The original goes on. */
  send_text (carrier, "still here");
  receive_expect (carrier, "still here");
  if (fork != NULL)
    post_carrier_abort (fork);
  post_carrier_abort (carrier);
  post_contract_peer_stop (&peer);
}

/* ---- a refusal, then an accepted carrier ------------------------------------- */

static void
test_after_accept_ok (void)
{
  PostContractPeer peer = { .echo = TRUE, .refuse = TRUE };
  PostContractWatch watch = { 0 };
  PostContractAsync a = { 0 };
  g_autoptr(PostCarrier) refused = NULL;
  g_autoptr(PostCarrier) accepted = NULL;

  post_contract_peer_start (&peer, NULL);
  refused = post_contract_initiate (peer.listener, NULL);
  post_contract_watch (&watch, refused, TRUE);
  send_text (refused, "hello");
  post_carrier_establish_async (refused, NULL, post_contract_async_cb, &a);
  if (post_contract_has (POST_STACK_CAP_REFUSAL))
    expect_refused (refused, &watch, &a);
  else
    {
      post_contract_unsupported ("no POST_STACK_CAP_REFUSAL: the refused initiator hears "
                                 "nothing; checked that the next carrier is accepted and works");
      post_contract_async_wait (&a, WAIT_MS, "the establishment");
      g_assert_true (post_carrier_establish_finish (refused, a.result, NULL));
      expect_unrefused (refused, &peer, 1);
    }
  post_contract_async_clear (&a);
  g_assert_cmpuint (peer.n_incoming, ==, 1);

  /* The listener accepts the next one, which works both ways. */
  peer.refuse = FALSE;
  accepted = post_contract_initiate (peer.listener, NULL);
  send_text (accepted, "second");
  post_contract_establish (accepted, WAIT_MS);
  receive_expect (accepted, "second");
  send_text (accepted, "and more");
  receive_expect (accepted, "and more");
  g_assert_cmpuint (peer.n_incoming, ==, 2);
  g_assert_cmpuint (peer.carriers->len, ==, 1);
  g_assert_cmpint (post_carrier_get_state (accepted), ==, POST_CARRIER_STATE_ACTIVE);
  g_assert_cmpint (post_carrier_get_state (peer.carriers->pdata[0]), ==, POST_CARRIER_STATE_ACTIVE);

  post_contract_unwatch (&watch, refused);
  post_carrier_abort (refused);
  post_carrier_abort (accepted);
  post_contract_watch_clear (&watch);
  post_contract_peer_stop (&peer);
}

void
post_contract_add_refusal_cases (void)
{
  post_contract_add ("refusal/listener", test_listener);
  post_contract_add ("refusal/fork", test_fork);
  post_contract_add ("refusal/after-accept-ok", test_after_accept_ok);
}
