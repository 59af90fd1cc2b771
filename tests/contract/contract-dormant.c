/* contract-dormant.c: an initiated carrier whose peer aborts goes DORMANT;
 * what is queued meanwhile survives, and post_carrier_establish_async()
 * brings it through a new transient (draft 2.1, "dormant").
 *
 * Connection-oriented stacks (post_contract_is_connected()) learn of the
 * abort (a TCP reset, a QUIC CONNECTION_CLOSE, a DTLS fatal alert): the
 * client goes DORMANT with POST_ERROR_CONNECTION_RESET, never CLOSED, and
 * emits no closed signal.  A connectionless stack (udp) cannot learn of it
 * and has no dormancy: the client stays ACTIVE and its next datagrams reach
 * the listener as a new carrier (README, "The udp stack").
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "post-contract.h"

#include <string.h>

static PostTransient *
transient_of (PostCarrier *carrier)
{
  g_autoptr(GPtrArray) transients = post_carrier_get_transients (carrier);

  return transients->len > 0 ? transients->pdata[0] : NULL;   /* the carrier keeps it */
}

static void
send_numbered (PostCarrier *carrier,
               guint        n)
{
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *text = g_strdup_printf ("m%02u", i);
      g_autoptr(PostMessage) m = post_message_new_from_string (text);
      g_autoptr(GError) error = NULL;

      g_assert_true (post_carrier_send (carrier, m, &error));
      g_assert_no_error (error);
    }
}

/* The messages of @peer from index @first on are m00, m01, ... in order. */
static void
assert_numbered (PostContractPeer *peer,
                 guint             first,
                 guint             n)
{
  g_assert_cmpuint (peer->messages->len, ==, first + n);
  for (guint i = 0; i < n; i++)
    {
      g_autofree char *text = g_strdup_printf ("m%02u", i);
      GBytes *content = post_message_get_content (peer->messages->pdata[first + i]);

      g_assert_cmpmem (g_bytes_get_data (content, NULL), g_bytes_get_size (content), text, strlen (text));
    }
}

static void
test_after_peer_abort (void)
{
  PostContractPair pair = { 0 };
  const guint n = 10;
  PostTransient *before;
  PostCarrier *second;
  PostContractAsync a = { 0 };
  g_autoptr(GError) error = NULL;

  post_contract_pair_open (&pair, NULL, NULL);
  before = transient_of (pair.client);
  g_assert_nonnull (before);
  g_object_add_weak_pointer (G_OBJECT (before), (gpointer *) &before);
  post_carrier_abort (pair.peer.carriers->pdata[0]);

  if (!post_contract_is_connected ())
    {
      post_contract_unsupported ("connectionless: no dormancy; the client stays ACTIVE and its next "
                                 "datagrams are a new carrier at the listener");
      post_contract_spin (300);
      g_assert_cmpint (post_carrier_get_state (pair.client), ==, POST_CARRIER_STATE_ACTIVE);
      g_assert_cmpuint (pair.watch.n_closed, ==, 0);
      g_assert_null (post_carrier_get_error (pair.client));
      send_numbered (pair.client, n);
      post_contract_wait_count (&pair.peer.n_received, 1 + n, 5000, "the datagrams after the abort");
      g_assert_cmpuint (pair.peer.n_incoming, ==, 2);
      g_assert_cmpuint (pair.watch.n_send_error, ==, 0);
      /* establish_async on an ACTIVE carrier succeeds at once. */
      post_carrier_establish_async (pair.client, NULL, post_contract_async_cb, &a);
      post_contract_async_wait (&a, 2000, "establish_async on an ACTIVE udp carrier");
      g_assert_true (post_carrier_establish_finish (pair.client, a.result, &error));
      g_assert_no_error (error);
      post_contract_async_clear (&a);
      g_clear_weak_pointer (&before);
      post_contract_pair_close (&pair);
      return;
    }

  /* The client learns of the abort: DORMANT, with the reason, not closed. */
  post_contract_wait_state (pair.client, POST_CARRIER_STATE_DORMANT, 5000);
  post_contract_assert_error (post_carrier_get_error (pair.client), POST_ERROR_CONNECTION_RESET);
  g_assert_cmpuint (pair.watch.n_closed, ==, 0);
  g_assert_null (transient_of (pair.client));

  /* What is sent while DORMANT is queued: not failed, not lost. */
  send_numbered (pair.client, n);
  post_contract_spin (200);
  g_assert_cmpint (post_carrier_get_state (pair.client), ==, POST_CARRIER_STATE_DORMANT);
  g_assert_cmpuint (pair.watch.n_send_error, ==, 0);
  g_assert_cmpuint (pair.watch.n_sent, ==, 1);   /* hello only */
  g_assert_cmpuint (pair.peer.n_received, ==, 1);
  g_assert_cmpuint (post_carrier_get_send_queue_size (pair.client), >, 0);
  g_assert_cmpuint (pair.peer.n_received, ==, 1);

  /* The peer's listener is still there, and only its carrier ended. */
  g_assert_cmpint (post_carrier_get_state (pair.peer.listener), ==, POST_CARRIER_STATE_ACTIVE);

  /* Reactivation: a new transient, a new carrier at the peer, the queue
   * delivered (in order where the stack orders). */
  post_contract_establish (pair.client, 5000);
  g_assert_null (post_carrier_get_error (pair.client));
  g_assert_null (before);   /* the old transient is gone */
  g_assert_nonnull (transient_of (pair.client));
  post_contract_wait_count (&pair.peer.n_received, 1 + n, 5000, "the messages queued while dormant");
  g_assert_cmpuint (pair.peer.n_incoming, ==, 2);
  g_assert_cmpuint (pair.peer.carriers->len, ==, 2);
  second = pair.peer.carriers->pdata[1];
  g_assert_cmpint (post_carrier_get_state (second), ==, POST_CARRIER_STATE_ACTIVE);
  if (post_contract_has (POST_STACK_CAP_ORDERED))
    assert_numbered (&pair.peer, 1, n);
  post_contract_wait_count (&pair.watch.n_sent, 1 + n, 5000, "sent for the queued messages");
  g_assert_cmpuint (pair.watch.n_send_error, ==, 0);
  g_assert_cmpuint (pair.watch.n_closed, ==, 0);
  post_contract_pair_close (&pair);
}

/* A DORMANT carrier that the application closes ends without sending its
 * queue, each queued message failing with POST_ERROR_CLOSED; an abort
 * likewise. */
static void
test_close_while_dormant (void)
{
  PostContractPair pair = { 0 };

  if (!post_contract_is_connected ())
    {
      post_contract_unsupported ("connectionless: a carrier never goes DORMANT (see after-peer-abort)");
      g_assert_false (post_contract_has (POST_STACK_CAP_RELIABLE));
      return;
    }
  post_contract_pair_open (&pair, NULL, NULL);
  post_carrier_abort (pair.peer.carriers->pdata[0]);
  post_contract_wait_state (pair.client, POST_CARRIER_STATE_DORMANT, 5000);
  send_numbered (pair.client, 3);
  post_carrier_close (pair.client);
  post_contract_wait_count (&pair.watch.n_closed, 1, 2000, "closed after a close while dormant");
  g_assert_cmpint (post_carrier_get_state (pair.client), ==, POST_CARRIER_STATE_CLOSED);
  g_assert_cmpuint (pair.watch.n_send_error, ==, 3);
  post_contract_spin (100);
  g_assert_cmpuint (pair.peer.n_incoming, ==, 1);   /* no reconnection */
  post_contract_pair_close (&pair);
}

void
post_contract_add_dormant_cases (void)
{
  post_contract_add ("dormant/after-peer-abort", test_after_peer_abort);
  post_contract_add ("dormant/close-while-dormant", test_close_while_dormant);
}
