/* contract-backpressure.c: a slow consumer slows its peer down, both ways,
 * and memory stays bounded (docs/framing.md, "Back-pressure").
 *
 * - A flood of empty messages to a peer that does not receive: the
 *   receiver's accounted receive queue (post_carrier_get_receive_queue_size)
 *   stays bounded, since each message counts POST_MESSAGE_OVERHEAD; once it
 *   receives, every message arrives (reliable stacks) or some were dropped
 *   (unreliable ones), none invented.
 * - The send queue's limit counts empty messages too: it fills, and
 *   post_carrier_send() fails with POST_ERROR_WOULD_BLOCK.
 * - A ready function that echoes with post_carrier_send_async() to a peer
 *   that sends and does not read: the echoing carrier's send queue stays
 *   bounded, it stops reading (so the peer's sending blocks, on stacks with
 *   flow control), and once the peer reads, every echo arrives, in order,
 *   nothing lost or duplicated.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "post-contract.h"

#define WAIT_MS        5000
#define QUEUE_LIMIT    (64 * 1024)
/* What a carrier without receive demand may hold: its 64 KiB read-ahead,
 * one 64 KiB read not yet decoded, and the message that crossed the line. */
#define RECEIVE_BOUND  (64 * 1024 + 64 * 1024 + 64 * 1024)

static PostConfiguration *
limited_config (void)
{
  PostConfiguration *config = post_contract_config ();
  g_autoptr(GError) error = NULL;

  g_assert_true (post_configuration_set_send_queue_limit (config, QUEUE_LIMIT, &error));
  g_assert_no_error (error);
  return config;
}

static gsize
peer_receive_queue (PostContractPeer *peer)
{
  gsize most = 0;

  for (guint i = 0; i < peer->carriers->len; i++)
    most = MAX (most, post_carrier_get_receive_queue_size (peer->carriers->pdata[i]));
  return most;
}

static void
iterate_pending (void)
{
  for (guint i = 0; i < 64 && g_main_context_iteration (NULL, FALSE); i++)
    ;
}

/* ---- empty messages to a peer that does not receive --------------------------- */

#define N_EMPTY 100000

/* A stack that cannot carry empty messages says so, clearly, on every
 * way of sending one. */
static void
check_empty_refused (PostCarrier *carrier)
{
  g_autoptr(GBytes) empty = g_bytes_new (NULL, 0);
  g_autoptr(PostMessage) m = post_message_new (empty);
  g_autoptr(GError) error = NULL;
  PostContractAsync a = { 0 };

  post_contract_unsupported ("no POST_STACK_CAP_EMPTY_MESSAGES: checked that an empty message "
                             "fails with POST_ERROR_NOT_SUPPORTED, and flooded with 1-byte "
                             "messages instead");
  g_assert_false (post_carrier_send_bytes (carrier, empty, &error));
  post_contract_assert_error (error, POST_ERROR_NOT_SUPPORTED);
  g_clear_error (&error);
  g_assert_false (post_carrier_send (carrier, m, &error));
  post_contract_assert_error (error, POST_ERROR_NOT_SUPPORTED);
  g_clear_error (&error);
  post_carrier_send_async (carrier, m, NULL, post_contract_async_cb, &a);
  post_contract_async_wait (&a, WAIT_MS, "an empty send_async");
  g_assert_false (post_carrier_send_finish (carrier, a.result, &error));
  post_contract_assert_error (error, POST_ERROR_NOT_SUPPORTED);
  post_contract_async_clear (&a);
}

static void
test_empty_flood_receive (void)
{
  PostContractPeer peer = { .echo = FALSE, .no_read = TRUE };
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(GBytes) empty = NULL;
  gboolean can_empty = post_contract_has (POST_STACK_CAP_EMPTY_MESSAGES);
  gsize most = 0;
  guint sent = 0;

  post_contract_peer_start (&peer, NULL);
  carrier = post_contract_initiate (peer.listener, NULL);
  post_contract_establish (carrier, WAIT_MS);
  if (!can_empty)
    check_empty_refused (carrier);
  empty = can_empty ? g_bytes_new (NULL, 0) : g_bytes_new_static ("x", 1);

  while (sent < N_EMPTY)
    {
      g_autoptr(GError) error = NULL;

      if (post_carrier_send_bytes (carrier, empty, &error))
        {
          if (++sent % 1000 == 0)
            {
              iterate_pending ();
              most = MAX (most, peer_receive_queue (&peer));
            }
          continue;
        }
      post_contract_assert_error (error, POST_ERROR_WOULD_BLOCK);
      {
        PostContractAsync a = { 0 };

        /* Paced: the queue drains into the network (the kernel's buffers
         * hold these few bytes however little the peer reads). */
        post_carrier_flush_async (carrier, NULL, post_contract_async_cb, &a);
        post_contract_async_wait (&a, WAIT_MS, "the send queue to drain");
        post_contract_async_clear (&a);
      }
    }
  {
    PostContractAsync a = { 0 };

    post_carrier_flush_async (carrier, NULL, post_contract_async_cb, &a);
    post_contract_async_wait (&a, WAIT_MS, "the last empty messages to go");
    post_contract_async_clear (&a);
  }
  /* What the receiver holds once it read all it will without demand. */
  post_contract_spin (200);
  most = MAX (most, peer_receive_queue (&peer));
  g_test_message ("%s: %u empty messages sent; the receiver held at most %" G_GSIZE_FORMAT
                  " bytes (bound %u)", post_contract_stack ()->name, sent, most, RECEIVE_BOUND);
  g_assert_cmpuint (peer.carriers->len, >=, 1);
  g_assert_cmpuint (most, <=, RECEIVE_BOUND);
  g_assert_cmpuint (peer.n_received, ==, 0);

  post_contract_peer_read (&peer);
  if (post_contract_has (POST_STACK_CAP_RELIABLE))
    {
      post_contract_wait_count (&peer.n_received, N_EMPTY, 30000, "every empty message");
      post_contract_spin (50);
      g_assert_cmpuint (peer.n_received, ==, N_EMPTY);
    }
  else
    {
      /* Unreliable: what did not fit was dropped (the udp plugin's peer
       * queue, the kernel's socket buffer), never held without bound. */
      post_contract_wait_count (&peer.n_received, 1, WAIT_MS, "some empty messages");
      post_contract_spin (300);
      g_test_message ("%s: %u of %u empty messages arrived, the rest was dropped",
                      post_contract_stack ()->name, peer.n_received, N_EMPTY);
      g_assert_cmpuint (peer.n_received, <=, N_EMPTY);
    }
  g_assert_cmpuint (peer.bytes->len, ==, can_empty ? 0 : peer.n_received);
  for (guint i = 0; i < peer.messages->len; i++)
    g_assert_cmpuint (g_bytes_get_size (post_message_get_content (peer.messages->pdata[i])), ==,
                      g_bytes_get_size (empty));

  post_carrier_abort (carrier);
  post_contract_peer_stop (&peer);
}

/* ---- the send queue counts empty messages -------------------------------------- */

static void
test_empty_flood_send (void)
{
  PostContractPeer peer = { .echo = FALSE };
  PostContractWatch watch = { 0 };
  g_autoptr(PostConfiguration) config = limited_config ();
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(PostCarrier) anonymous = NULL;
  g_autoptr(GBytes) empty = g_bytes_new (NULL, 0);
  g_autoptr(GError) error = NULL;
  gboolean can_empty = post_contract_has (POST_STACK_CAP_EMPTY_MESSAGES);
  guint n_messages = 0, n_bytes = 0;

  post_contract_peer_start (&peer, NULL);
  /* Not established yet (the main loop has not run): nothing drains, so
   * the queue fills; each empty message counts POST_MESSAGE_OVERHEAD. */
  carrier = post_contract_initiate (peer.listener, config);
  post_contract_watch (&watch, carrier, FALSE);
  for (;;)
    {
      g_autoptr(PostMessage) m = post_message_new (empty);

      if (!post_carrier_send (carrier, m, &error))
        break;
      n_messages++;
      g_assert_cmpuint (n_messages, <=, QUEUE_LIMIT / POST_MESSAGE_OVERHEAD + 1);
    }
  post_contract_assert_error (error, POST_ERROR_WOULD_BLOCK);
  g_clear_error (&error);
  /* Anonymous empty messages are copied, framed, into a shared buffer:
   * they cost their framing, and fill the queue too. */
  anonymous = post_contract_initiate (peer.listener, config);
  for (;;)
    {
      if (!post_carrier_send_bytes (anonymous, empty, &error))
        break;
      n_bytes++;
      g_assert_cmpuint (n_bytes, <=, QUEUE_LIMIT);
    }
  post_contract_assert_error (error, POST_ERROR_WOULD_BLOCK);
  g_clear_error (&error);
  g_test_message ("%s: the queue was full after %u empty messages (%u with "
                  "post_carrier_send_bytes)", post_contract_stack ()->name, n_messages, n_bytes);

  post_contract_establish (carrier, WAIT_MS);
  if (!can_empty)
    {
      /* Queued before the stack was known: each fails, none vanishes. */
      post_contract_unsupported ("no POST_STACK_CAP_EMPTY_MESSAGES: the empty messages queued "
                                 "before establishment each failed with a send-error");
      post_contract_wait_count (&watch.n_send_error, n_messages, WAIT_MS,
                                "the empty messages to fail");
      g_assert_cmpuint (watch.n_sent, ==, 0);
    }
  else if (post_contract_has (POST_STACK_CAP_RELIABLE))
    {
      /* (both carriers reach the same peer) */
      post_contract_wait_count (&peer.n_received, n_messages + n_bytes, 30000,
                                "the queued empty messages");
      post_contract_spin (50);
      g_assert_cmpuint (peer.n_received, ==, n_messages + n_bytes);
    }
  else
    {
      post_contract_wait_count (&peer.n_received, 1, WAIT_MS, "some queued empty messages");
      g_assert_cmpuint (peer.n_received, <=, n_messages + n_bytes);
    }
  g_assert_cmpuint (peer.bytes->len, ==, 0);

  post_carrier_abort (carrier);
  post_carrier_abort (anonymous);
  post_contract_watch_clear (&watch);
  post_contract_peer_stop (&peer);
}

/* ---- an echo with send_async to a peer that does not read --------------------------- */

typedef struct
{
  guint   n_received;
  guint   n_echoed;       /* echo sends completed */
  guint   n_echo_failed;
  gsize   most_queued;    /* the largest send queue seen */
  GString *bytes;         /* what arrived, concatenated */
} Echoer;

static void
echo_sent_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Echoer *echoer = user_data;
  g_autoptr(GError) error = NULL;

  if (post_carrier_send_finish (POST_CARRIER (source), result, &error))
    echoer->n_echoed++;
  else
    echoer->n_echo_failed++;
}

static gboolean
echo_cb (PostCarrier *carrier,
         PostMessage *message,
         gpointer     user_data)
{
  Echoer *echoer = user_data;
  GBytes *content = post_message_get_content (message);
  g_autoptr(PostMessage) echo = post_message_new (content);

  echoer->n_received++;
  g_string_append_len (echoer->bytes, g_bytes_get_data (content, NULL), g_bytes_get_size (content));
  /* As post-cat --echo does: no pacing of its own. */
  post_carrier_send_async (carrier, echo, NULL, echo_sent_cb, echoer);
  echoer->most_queued = MAX (echoer->most_queued, post_carrier_get_send_queue_size (carrier));
  return TRUE;
}

static void
test_echo_async (void)
{
  PostContractPeer peer = { .echo = FALSE, .no_read = TRUE };
  g_autoptr(PostConfiguration) config = limited_config ();
  g_autoptr(PostConfiguration) peer_config = post_contract_server_config ();
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(PostMessage) hello = post_message_new_from_string ("hello");
  g_autoptr(GError) error = NULL;
  gboolean reliable = post_contract_has (POST_STACK_CAP_RELIABLE);
  gsize chunk = reliable ? 16 * 1024 : 1000;
  Echoer echoer = { 0 };
  PostCarrier *flooder;
  guint n_flood = 0;

  echoer.bytes = g_string_new (NULL);
  g_assert_true (post_configuration_set_send_queue_limit (peer_config, QUEUE_LIMIT, &error));
  g_assert_no_error (error);
  post_contract_peer_start (&peer, peer_config);
  carrier = post_contract_initiate (peer.listener, config);
  post_contract_establish (carrier, WAIT_MS);
  g_assert_true (post_carrier_send (carrier, hello, &error));
  g_assert_no_error (error);
  post_contract_wait_count (&peer.carriers->len, 1, WAIT_MS, "the peer's carrier");
  flooder = peer.carriers->pdata[0];
  post_carrier_ready (carrier, echo_cb, &echoer, NULL);

  if (reliable)
    {
      /* The flooder's sending blocks: the echoer stopped reading because
       * its own queue, which the flooder does not read, is full. */
      post_contract_fill_until_blocked (flooder, chunk, 100, 300, 100000, &n_flood);
      g_test_message ("%s: the flooder blocked after %u messages; the echoer queued at most %"
                      G_GSIZE_FORMAT " bytes (limit %u) and holds %" G_GSIZE_FORMAT
                      " received", post_contract_stack ()->name, n_flood, echoer.most_queued,
                      QUEUE_LIMIT, post_carrier_get_receive_queue_size (carrier));
      g_assert_cmpuint (post_carrier_get_receive_queue_size (carrier), <=, RECEIVE_BOUND);
    }
  else
    {
      post_contract_unsupported ("no flow control: the flooder is not slowed down; checked "
                                 "that the echoer's queue stays bounded");
      for (n_flood = 0; n_flood < 300; n_flood++)
        {
          g_autoptr(GBytes) content = post_contract_pattern (chunk, 100 + n_flood);

          if (!post_carrier_send_bytes (flooder, content, &error))
            {
              PostContractAsync a = { 0 };

              post_contract_assert_error (error, POST_ERROR_WOULD_BLOCK);
              g_clear_error (&error);
              post_carrier_flush_async (flooder, NULL, post_contract_async_cb, &a);
              post_contract_async_wait (&a, WAIT_MS, "the flooder's queue to drain");
              post_contract_async_clear (&a);
              n_flood--;
            }
        }
      post_contract_spin (300);
    }
  g_assert_cmpuint (echoer.most_queued, <=, QUEUE_LIMIT + 2 * (chunk + 2 * POST_MESSAGE_OVERHEAD));

  /* The peer reads: every echo arrives (after its hello), in order. */
  post_contract_peer_read (&peer);
  if (reliable)
    {
      post_contract_wait_count (&echoer.n_echoed, n_flood, 30000, "every echo to be sent");
      post_contract_wait_count (&peer.n_received, 1 + n_flood, 30000, "every echo to arrive");
      post_contract_spin (50);
      g_assert_cmpuint (echoer.n_received, ==, n_flood);
      g_assert_cmpuint (echoer.n_echo_failed, ==, 0);
      g_assert_cmpuint (peer.n_received, ==, 1 + n_flood);
      g_assert_cmpuint (peer.bytes->len, ==, 5 + (gsize) n_flood * chunk);
      for (guint i = 0; i < n_flood; i++)
        {
          g_autoptr(GBytes) expected = post_contract_pattern (chunk, 100 + i);

          g_assert_true (g_bytes_equal (expected, post_message_get_content (peer.messages->pdata[1 + i])));
        }
    }
  else
    {
      post_contract_spin (300);
      g_assert_cmpuint (echoer.n_received, <=, n_flood);
      g_assert_cmpuint (peer.n_received, <=, 1 + echoer.n_received);
    }

  post_carrier_abort (carrier);
  post_contract_peer_stop (&peer);
  g_string_free (echoer.bytes, TRUE);
}

/* ---- unreliable messages to a peer that does not receive ------------------------- */

#define N_UNRELIABLE 2000

static guint64
datagrams_dropped (PostCarrier *carrier)
{
  g_autoptr(GPtrArray) transients = post_carrier_get_transients (carrier);
  guint64 n = 0;

  for (guint i = 0; i < transients->len; i++)
    n += post_transient_get_datagrams_dropped (transients->pdata[i]);
  return n;
}

static void
test_unreliable_flood (void)
{
  PostContractPeer peer = { .echo = FALSE, .no_read = TRUE };
  g_autoptr(PostCarrier) carrier = NULL;
  /* Unreliable messages with a lifetime leave a byte stream as the stack's
   * datagrams (QUIC DATAGRAM frames) on stacks that offer per-message
   * reliability; everywhere else they go as any message. */
  gboolean datagrams = post_contract_has (POST_STACK_CAP_PER_MSG_RELIABILITY
                                          | POST_STACK_CAP_BYTE_STREAM);
  guint64 dropped;
  gsize most;

  post_contract_peer_start (&peer, NULL);
  carrier = post_contract_initiate (peer.listener, NULL);
  post_contract_establish (carrier, WAIT_MS);
  {
    /* A reliable message first: on quic the peer's carrier is its first
     * stream, which datagrams alone do not open. */
    g_autoptr(PostMessage) hello = post_message_new_from_string ("hello");
    g_autoptr(GError) error = NULL;

    g_assert_true (post_carrier_send (carrier, hello, &error));
    g_assert_no_error (error);
    post_contract_wait_count (&peer.carriers->len, 1, WAIT_MS, "the peer's carrier");
  }
  for (guint i = 0; i < N_UNRELIABLE; i++)
    {
      g_autoptr(GBytes) content = post_contract_pattern (1000, i);
      g_autoptr(PostMessage) m = post_message_new (content);
      g_autoptr(GError) error = NULL;

      g_assert_true (post_message_set_reliable (m, FALSE, &error));
      g_assert_true (post_message_set_lifetime (m, 10 * G_USEC_PER_SEC, &error));
      g_assert_no_error (error);
      while (!post_carrier_send (carrier, m, &error))
        {
          PostContractAsync a = { 0 };

          post_contract_assert_error (error, POST_ERROR_WOULD_BLOCK);
          g_clear_error (&error);
          post_carrier_flush_async (carrier, NULL, post_contract_async_cb, &a);
          post_contract_async_wait (&a, 20000, "the send queue to drain");
          post_contract_async_clear (&a);
        }
      if (i % 100 == 0)
        iterate_pending ();
    }
  post_contract_spin (300);
  g_assert_cmpuint (peer.carriers->len, >=, 1);
  most = peer_receive_queue (&peer);
  dropped = datagrams_dropped (peer.carriers->pdata[0]);
  g_test_message ("%s: %u unreliable messages to a peer that does not receive: it holds %"
                  G_GSIZE_FORMAT " bytes and dropped %" G_GUINT64_FORMAT " datagrams",
                  post_contract_stack ()->name, N_UNRELIABLE, most, dropped);
  g_assert_cmpuint (most, <=, RECEIVE_BOUND);
  if (datagrams)
    /* More than the read-ahead holds came as datagrams: dropped, counted. */
    g_assert_cmpuint (dropped, >, 0);
  else
    {
      post_contract_unsupported ("no unreliable datagrams beside the stream: unreliable "
                                 "messages travel as any message, and libpost drops none");
      g_assert_cmpuint (dropped, ==, 0);
    }

  post_contract_peer_read (&peer);
  post_contract_wait_count (&peer.n_received, 1, WAIT_MS, "the messages held");
  if (!datagrams && post_contract_has (POST_STACK_CAP_RELIABLE))
    post_contract_wait_count (&peer.n_received, 1 + N_UNRELIABLE, 30000, "every message");
  post_contract_spin (300);
  g_assert_cmpuint (peer.n_received + datagrams_dropped (peer.carriers->pdata[0]), <=,
                    1 + N_UNRELIABLE);

  post_carrier_abort (carrier);
  post_contract_peer_stop (&peer);
}

void
post_contract_add_backpressure_cases (void)
{
  post_contract_add ("backpressure/empty-flood-receive", test_empty_flood_receive);
  post_contract_add ("backpressure/empty-flood-send", test_empty_flood_send);
  post_contract_add ("backpressure/echo-async", test_echo_async);
  post_contract_add ("backpressure/unreliable-flood", test_unreliable_flood);
}
