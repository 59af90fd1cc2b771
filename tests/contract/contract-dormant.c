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
 * dormant/framed-requeue: small messages (post_carrier_send_bytes()) are
 * framed into shared send buffers; when the transport is lost with such
 * buffers queued, the next transient frames their messages again with its
 * own framer.  With a framer other than the length-prefix one (here the
 * tests' TestTagFramer), the peer's second carrier must receive a gapless,
 * ordered run of whole messages ending with the last one sent.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "post-contract.h"
#include "post-test-framers.h"

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

#define REQUEUE_SIZE 900   /* under the 1 KiB send-coalescing limit */
#define REQUEUE_SEED 0xd0a3u

static PostConfiguration *
with_tag_framer (PostConfiguration *config)
{
  g_assert_true (post_configuration_set_framer_type (config, TEST_TYPE_TAG_FRAMER, NULL));
  return config;
}

static gboolean
last_received_is (PostContractPeer *peer,
                  guint             index)
{
  g_autoptr(GBytes) expected = NULL;

  if (peer->messages->len == 0)
    return FALSE;
  expected = post_contract_pattern (REQUEUE_SIZE, REQUEUE_SEED + index);
  return g_bytes_equal (post_message_get_content (peer->messages->pdata[peer->messages->len - 1]),
                        expected);
}

static void
test_framed_requeue (void)
{
  PostContractPeer peer = { .echo = FALSE, .no_read = TRUE };
  PostContractWatch watch = { 0 };
  g_autoptr(PostConfiguration) server = NULL;
  g_autoptr(PostConfiguration) config = NULL;
  g_autoptr(PostCarrier) client = NULL;
  g_autoptr(PostMessage) hello = post_message_new_from_string ("hello");
  g_autoptr(PostMessage) hi = post_message_new_from_string ("hi");
  g_autoptr(GError) error = NULL;
  gsize queued;
  guint n_sent = 0, first;
  gint64 deadline;

  if (!post_contract_is_connected ())
    {
      post_contract_unsupported ("connectionless: a carrier never goes DORMANT, so nothing is re-framed "
                                 "(see after-peer-abort)");
      g_assert_false (post_contract_has (POST_STACK_CAP_RELIABLE));
      return;
    }
  if (!post_contract_has (POST_STACK_CAP_BYTE_STREAM))
    {
      post_contract_unsupported ("no POST_STACK_CAP_BYTE_STREAM: framers do not apply and queued "
                                 "messages keep their own boundaries (see after-peer-abort)");
      return;
    }

  server = with_tag_framer (post_contract_server_config ());
  config = with_tag_framer (post_contract_config ());
  post_contract_peer_start (&peer, server);
  client = post_contract_initiate (peer.listener, config);
  post_contract_watch (&watch, client, TRUE);
  /* (a quic peer learns of the carrier with its stream's first data) */
  g_assert_true (post_carrier_send (client, hello, &error));
  g_assert_no_error (error);
  post_contract_establish (client, 5000);
  post_contract_wait_count (&peer.n_incoming, 1, 5000, "the first carrier at the peer");
  /* The peer speaks first: a carrier reset before it heard anything was
   * refused, which closes it instead of making it DORMANT */
  g_assert_true (post_carrier_send (peer.carriers->pdata[0], hi, &error));
  g_assert_no_error (error);
  post_contract_wait_count (&watch.n_received, 1, 5000, "the peer's first message");

  /* The peer reads nothing: the kernel's buffers and the carrier's queue fill */
  post_contract_fill_until_blocked (client, REQUEUE_SIZE, REQUEUE_SEED, 300, 200000, &n_sent);
  queued = post_carrier_get_send_queue_size (client);
  g_assert_cmpuint (queued, >, 0);

  post_carrier_abort (peer.carriers->pdata[0]);
  post_contract_wait_state (client, POST_CARRIER_STATE_DORMANT, 5000);
  g_assert_cmpuint (post_carrier_get_send_queue_size (client), >, 0);

  /* The second carrier is read; the queue goes out on it */
  peer.no_read = FALSE;
  post_contract_establish (client, 5000);
  deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  while (!last_received_is (&peer, n_sent - 1))
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("%s: timed out waiting for the last message sent (%u) on the second carrier: "
                 "lost in the re-framing? the peer got %u messages", post_contract_stack ()->name,
                 n_sent - 1, peer.messages->len);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  post_contract_spin (50);
  g_assert_cmpuint (peer.carriers->len, ==, 2);
  g_assert_cmpuint (peer.messages->len, >, 0);
  g_assert_cmpuint (peer.messages->len, <=, n_sent);

  /* Whole messages, in order, without a gap, up to the last one sent */
  first = n_sent - peer.messages->len;
  for (guint i = 0; i < peer.messages->len; i++)
    {
      PostMessage *got = peer.messages->pdata[i];
      g_autoptr(GBytes) expected = post_contract_pattern (REQUEUE_SIZE, REQUEUE_SEED + first + i);

      g_assert_true (post_message_is_complete (got));
      g_assert_true (g_bytes_equal (post_message_get_content (got), expected));
    }
  g_test_message ("%s: %u messages sent, %" G_GSIZE_FORMAT " bytes queued at the reset; the second "
                  "carrier got messages %u to %u", post_contract_stack ()->name, n_sent, queued, first,
                  n_sent - 1);
  g_assert_cmpuint (watch.n_closed, ==, 0);

  g_signal_handlers_disconnect_by_data (client, &watch);
  post_carrier_abort (client);
  post_contract_watch_clear (&watch);
  post_contract_peer_stop (&peer);
}

void
post_contract_add_dormant_cases (void)
{
  post_contract_add ("dormant/after-peer-abort", test_after_peer_abort);
  post_contract_add ("dormant/close-while-dormant", test_close_while_dormant);
  post_contract_add ("dormant/framed-requeue", test_framed_requeue);
}
