/* contract-partial.c: messages sent in parts, and messages larger than
 * the receiver's recv-msg-max-len (draft 2.2).
 *
 * - A message sent in parts (post_carrier_send_partial_async()) is one
 *   message at the peer on every stack; on a stack that keeps message
 *   boundaries itself (no BYTE_STREAM: udp, dtls) the parts leave as one
 *   datagram, and a message that outgrows the stack's largest message fails
 *   with POST_ERROR_MESSAGE_TOO_LARGE, the carrier going on.  Byte streams
 *   (and message stacks without a limit) carry the same message whole.
 * - A message sent in many parts is one message at the peer.  On a stack
 *   with POST_STACK_CAP_PARTIAL_MESSAGES (byte streams through libpost's
 *   framing; sctp, explicit EOR) the parts leave as they are given: a
 *   partial receive at the peer gets the first bytes while the sender has
 *   not given the last part yet.  Without it (udp, dtls) nothing arrives
 *   before the last part.  A sender that aborts in the middle of such a
 *   message never makes it a complete message at the peer: where parts left
 *   already, the peer's receive fails; else nothing of it arrives.
 * - A complete receive, or a ready function, gets a message whole or not at
 *   all: one larger than recv-msg-max-len fails the receive with
 *   POST_ERROR_MESSAGE_TOO_LARGE (receive-error for a ready function), is
 *   dropped, and the next message arrives; partial receives get every byte.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "post-contract.h"

#include <string.h>

#define PART_SIZE 1000

static void
send_part (PostCarrier *carrier,
           PostMessage *message,
           GBytes      *part,
           gboolean     end,
           GError     **error)
{
  PostContractAsync a = { 0 };

  post_carrier_send_partial_async (carrier, message, part, end, NULL, post_contract_async_cb, &a);
  post_contract_async_wait (&a, 5000, "a part handed over");
  post_carrier_send_partial_finish (carrier, a.result, error);
  post_contract_async_clear (&a);
}

static GBytes *
slice (GBytes *all,
       gsize   offset,
       gsize   size)
{
  return g_bytes_new_from_bytes (all, offset, size);
}

static void
assert_bytes (GBytes     *got,
              const void *expected,
              gsize       size)
{
  g_assert_cmpuint (g_bytes_get_size (got), ==, size);
  g_assert_true (memcmp (g_bytes_get_data (got, NULL), expected, size) == 0);
}

static void
test_assembled (void)
{
  PostContractPeer peer = { .echo = FALSE };
  g_autoptr(PostCarrier) client = NULL;
  g_autoptr(PostMessage) message = post_message_new (NULL);
  g_autoptr(PostMessage) after = post_message_new_from_string ("after");
  g_autoptr(GBytes) all = post_contract_pattern (3 * PART_SIZE, 1);
  g_autoptr(GError) error = NULL;

  post_contract_peer_start (&peer, NULL);
  client = post_contract_initiate (peer.listener, NULL);
  post_contract_establish (client, 5000);

  /* Each part is awaited before the next, as a sender that produces the
   * content as it goes would: on message stacks a part is taken into the
   * datagram being gathered, the message leaves with the last. */
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(GBytes) part = slice (all, i * PART_SIZE, PART_SIZE);

      send_part (client, message, part, i == 2, &error);
      g_assert_no_error (error);
    }
  g_assert_true (post_carrier_send (client, after, &error));
  g_assert_no_error (error);

  post_contract_wait_count (&peer.n_received, 2, 5000, "the message sent in parts and the next one");
  post_contract_spin (100);
  g_assert_cmpuint (peer.n_received, ==, 2);
  g_assert_true (post_message_is_complete (peer.messages->pdata[0]));
  assert_bytes (post_message_get_content (peer.messages->pdata[0]),
                g_bytes_get_data (all, NULL), g_bytes_get_size (all));
  assert_bytes (post_message_get_content (peer.messages->pdata[1]), "after", 5);
  g_assert_true (post_message_is_sent (message));

  post_carrier_abort (client);
  post_contract_peer_stop (&peer);
}

static void
count_send_error (PostCarrier  *carrier,
                  PostMessage  *message,
                  const GError *error,
                  gpointer      user_data)
{
  (*(guint *) user_data)++;
}

/* The largest message of @carrier's current transport. */
static gsize
max_message_size (PostCarrier *carrier)
{
  g_autoptr(GPtrArray) transients = post_carrier_get_transients (carrier);

  g_assert_cmpuint (transients->len, ==, 1);
  return post_psi_get_max_message_size (post_transient_get_psi (transients->pdata[0]));
}

/* Parts of 16 KiB: on a message stack until the message outgrows its
 * largest message, on a byte stream 80 KiB. */
#define BIG_PART  (16 * 1024)
#define BIG_PARTS 5

static void
test_too_large (void)
{
  PostContractPeer peer = { .echo = FALSE };
  g_autoptr(PostCarrier) client = NULL;
  g_autoptr(PostMessage) message = post_message_new (NULL);
  g_autoptr(PostMessage) after = post_message_new_from_string ("after");
  g_autoptr(GBytes) all = NULL;
  g_autoptr(GError) error = NULL;
  gboolean datagrams = FALSE;
  guint n_send_error = 0;
  guint failed_at = 0;
  guint n_parts = BIG_PARTS;
  gsize max = 0;

  post_contract_peer_start (&peer, NULL);
  client = post_contract_initiate (peer.listener, NULL);
  post_contract_establish (client, 5000);
  g_signal_connect (client, "send-error", G_CALLBACK (count_send_error), &n_send_error);
  if (!post_contract_has (POST_STACK_CAP_BYTE_STREAM))
    max = max_message_size (client);
  datagrams = max > 0;
  if (datagrams)
    n_parts = max / BIG_PART + 2;
  all = post_contract_pattern (BIG_PART * n_parts, 2);

  for (guint i = 0; i < n_parts; i++)
    {
      g_autoptr(GBytes) part = slice (all, i * BIG_PART, BIG_PART);

      send_part (client, message, part, i == n_parts - 1, &error);
      if (error != NULL)
        {
          g_assert_true (datagrams);
          post_contract_assert_error (error, POST_ERROR_MESSAGE_TOO_LARGE);
          g_clear_error (&error);
          if (failed_at == 0)
            failed_at = i + 1;
        }
    }
  g_assert_true (post_carrier_send (client, after, &error));
  g_assert_no_error (error);

  if (datagrams)
    {
      g_test_message ("%s keeps message boundaries itself (one message on the wire, at most "
                      "%" G_GSIZE_FORMAT " bytes): the part that outgrows it fails, and so do the "
                      "later ones", post_contract_stack ()->name, max);
      /* It failed where the message outgrew the datagram, not before. */
      g_assert_cmpuint (failed_at, >=, 1);
      g_assert_cmpuint ((gsize) failed_at * BIG_PART, >, max);
      g_assert_cmpuint ((gsize) (failed_at - 1) * BIG_PART, <=, max);
      g_assert_cmpuint (n_send_error, ==, 1);
      g_assert_false (post_message_is_sent (message));
      /* Nothing of it arrives; the carrier goes on. */
      post_contract_wait_count (&peer.n_received, 1, 5000, "the message after the dropped one");
      post_contract_spin (100);
      g_assert_cmpuint (peer.n_received, ==, 1);
      assert_bytes (post_message_get_content (peer.messages->pdata[0]), "after", 5);
    }
  else
    {
      g_test_message ("%s has no message size limit: a message of any size goes in parts",
                      post_contract_stack ()->name);
      g_assert_cmpuint (failed_at, ==, 0);
      g_assert_cmpuint (n_send_error, ==, 0);
      post_contract_wait_count (&peer.n_received, 2, 5000, "the large message and the next one");
      g_assert_true (post_message_is_complete (peer.messages->pdata[0]));
      assert_bytes (post_message_get_content (peer.messages->pdata[0]),
                    g_bytes_get_data (all, NULL), g_bytes_get_size (all));
      assert_bytes (post_message_get_content (peer.messages->pdata[1]), "after", 5);
    }
  g_assert_cmpint (post_carrier_get_state (client), ==, POST_CARRIER_STATE_ACTIVE);

  post_carrier_abort (client);
  post_contract_peer_stop (&peer);
}

/* ---- messages in many parts, streamed or gathered ------------------------------ */

#define MANY_PARTS 100

static void
test_many_parts (void)
{
  PostContractPeer peer = { .echo = FALSE };
  g_autoptr(PostCarrier) client = NULL;
  g_autoptr(PostMessage) message = post_message_new (NULL);
  g_autoptr(PostMessage) after = post_message_new_from_string ("after");
  g_autoptr(GBytes) all = NULL;
  g_autoptr(GError) error = NULL;
  gsize part_size = 200;
  gsize max = 0;

  post_contract_peer_start (&peer, NULL);
  client = post_contract_initiate (peer.listener, NULL);
  post_contract_establish (client, 5000);
  if (!post_contract_has (POST_STACK_CAP_BYTE_STREAM))
    max = max_message_size (client);
  if (max > 0)
    part_size = MIN (part_size, max / MANY_PARTS);
  all = post_contract_pattern (part_size * MANY_PARTS, 7);

  for (guint i = 0; i < MANY_PARTS; i++)
    {
      g_autoptr(GBytes) part = slice (all, i * part_size, part_size);

      send_part (client, message, part, i == MANY_PARTS - 1, &error);
      g_assert_no_error (error);
    }
  g_assert_true (post_carrier_send (client, after, &error));
  g_assert_no_error (error);

  post_contract_wait_count (&peer.n_received, 2, 5000, "the message in many parts and the next one");
  post_contract_spin (100);
  g_assert_cmpuint (peer.n_received, ==, 2);
  g_assert_true (post_message_is_complete (peer.messages->pdata[0]));
  assert_bytes (post_message_get_content (peer.messages->pdata[0]),
                g_bytes_get_data (all, NULL), g_bytes_get_size (all));
  assert_bytes (post_message_get_content (peer.messages->pdata[1]), "after", 5);
  g_assert_true (post_message_is_sent (message));

  post_carrier_abort (client);
  post_contract_peer_stop (&peer);
}

/* What a partial receive on @carrier got so far. */
typedef struct
{
  PostContractAsync a;
  GCancellable     *cancel;   /* (owned) */
  gboolean          pending;  /* a receive is under way */
  GByteArray       *got;      /* (owned) */
  PostMessage      *handle;   /* (owned) (nullable) the message's handle */
  gboolean          end;
  GError           *error;    /* (owned) (nullable) */
} PartialReader;

static void
partial_start (PartialReader *r,
               PostCarrier   *carrier)
{
  post_contract_async_clear (&r->a);
  if (r->cancel == NULL)
    r->cancel = g_cancellable_new ();
  r->pending = TRUE;
  post_carrier_receive_partial_async (carrier, 1, 0, r->cancel, post_contract_async_cb, &r->a);
}

/* Finishes the partial receive that completed: returns FALSE on an error. */
static gboolean
partial_take (PartialReader *r,
              PostCarrier   *carrier)
{
  g_autoptr(GBytes) part = NULL;
  g_autoptr(PostMessage) handle = NULL;

  part = post_carrier_receive_partial_finish (carrier, r->a.result, &handle, &r->end, &r->error);
  post_contract_async_clear (&r->a);
  r->pending = FALSE;
  if (part == NULL)
    return FALSE;
  g_byte_array_append (r->got, g_bytes_get_data (part, NULL), g_bytes_get_size (part));
  if (r->handle == NULL)
    r->handle = g_object_ref (handle);
  g_assert_true (handle == r->handle);   /* one message */
  return TRUE;
}

static void
partial_clear (PartialReader *r)
{
  if (r->pending)
    {
      /* Withdrawn (its callback must not outlive @r). */
      g_cancellable_cancel (r->cancel);
      post_contract_async_wait (&r->a, 5000, "the withdrawn receive");
    }
  post_contract_async_clear (&r->a);
  g_clear_object (&r->cancel);
  g_clear_pointer (&r->got, g_byte_array_unref);
  g_clear_object (&r->handle);
  g_clear_error (&r->error);
}

/* The first part of a streamed message: larger than sctp's partial
 * delivery point (64 KiB), so that the peer's stack hands it over before
 * the message's end; where parts are gathered, a small one. */
#define STREAMED_FIRST (100 * 1000)
#define GATHERED_FIRST 1000
#define LAST_PART      1000

/* A client and the peer's carrier for it, which receives (no ready
 * function); "hello" made the peer accept it (a datagram stack's accepted
 * carrier appears with the first datagram). */
static PostCarrier *
start_receiving_peer (PostContractPeer *peer,
                      PostCarrier     **client)
{
  g_autoptr(PostMessage) hello = post_message_new_from_string ("hello");
  g_autoptr(PostMessage) got = NULL;
  g_autoptr(GError) error = NULL;
  PostContractAsync a = { 0 };
  PostCarrier *accepted;

  peer->no_read = TRUE;
  post_contract_peer_start (peer, NULL);
  *client = post_contract_initiate (peer->listener, NULL);
  post_contract_establish (*client, 5000);
  g_assert_true (post_carrier_send (*client, hello, &error));
  g_assert_no_error (error);
  post_contract_wait_count (&peer->n_incoming, 1, 5000, "the client at the peer");
  accepted = peer->carriers->pdata[0];
  post_carrier_receive_async (accepted, NULL, post_contract_async_cb, &a);
  post_contract_async_wait (&a, 5000, "the client's hello");
  got = post_carrier_receive_finish (accepted, a.result, &error);
  g_assert_no_error (error);
  post_contract_async_clear (&a);
  assert_bytes (post_message_get_content (got), "hello", 5);
  return accepted;
}

static void
test_streamed (void)
{
  PostContractPeer peer = { 0 };
  g_autoptr(PostCarrier) client = NULL;
  g_autoptr(PostMessage) message = post_message_new (NULL);
  g_autoptr(GBytes) all = NULL;
  g_autoptr(GBytes) first = NULL;
  g_autoptr(GBytes) last = NULL;
  g_autoptr(GError) error = NULL;
  PartialReader r = { .got = g_byte_array_new () };
  gboolean streamed = post_contract_has (POST_STACK_CAP_PARTIAL_MESSAGES);
  gsize first_size = streamed ? STREAMED_FIRST : GATHERED_FIRST;
  PostCarrier *accepted = start_receiving_peer (&peer, &client);

  all = post_contract_pattern (first_size + LAST_PART, 8);
  first = slice (all, 0, first_size);
  last = slice (all, first_size, LAST_PART);
  partial_start (&r, accepted);
  send_part (client, message, first, FALSE, &error);
  g_assert_no_error (error);

  if (streamed)
    {
      /* The last part is not given yet: what arrives left before it. */
      post_contract_async_wait (&r.a, 5000, "the first bytes, before the last part is given");
      g_assert_true (partial_take (&r, accepted));
      g_assert_no_error (r.error);
      g_assert_false (r.end);
      g_assert_false (post_message_is_complete (r.handle));
      g_assert_cmpuint (r.got->len, >, 0);
      g_test_message ("%s: %u bytes of the message arrived before its last part was given",
                      post_contract_stack ()->name, r.got->len);
    }
  else
    {
      /* Gathered: the message leaves with its last part. */
      post_contract_spin (300);
      g_assert_false (r.a.done);
      post_contract_unsupported ("no POST_STACK_CAP_PARTIAL_MESSAGES: the parts are gathered "
                                 "and leave as one datagram with the last; nothing arrived "
                                 "before it was given");
    }

  send_part (client, message, last, TRUE, &error);
  g_assert_no_error (error);
  while (!r.end)
    {
      if (!r.pending)
        partial_start (&r, accepted);
      post_contract_async_wait (&r.a, 5000, "the rest of the message");
      g_assert_true (partial_take (&r, accepted));
      g_assert_no_error (r.error);
    }
  g_assert_true (post_message_is_complete (r.handle));
  g_assert_cmpuint (r.got->len, ==, g_bytes_get_size (all));
  g_assert_true (memcmp (r.got->data, g_bytes_get_data (all, NULL), r.got->len) == 0);
  g_assert_true (post_message_is_sent (message));

  partial_clear (&r);
  post_carrier_abort (client);
  post_contract_peer_stop (&peer);
}

static void
test_abort_mid_message (void)
{
  PostContractPeer peer = { 0 };
  g_autoptr(PostCarrier) client = NULL;
  g_autoptr(PostMessage) message = post_message_new (NULL);
  g_autoptr(GBytes) first = NULL;
  g_autoptr(GError) error = NULL;
  PartialReader r = { .got = g_byte_array_new () };
  gboolean streamed = post_contract_has (POST_STACK_CAP_PARTIAL_MESSAGES);
  gsize first_size = streamed ? STREAMED_FIRST : GATHERED_FIRST;
  PostCarrier *accepted = start_receiving_peer (&peer, &client);

  first = post_contract_pattern (first_size, 9);
  partial_start (&r, accepted);
  send_part (client, message, first, FALSE, &error);
  g_assert_no_error (error);
  if (streamed)
    {
      post_contract_async_wait (&r.a, 5000, "the first bytes of the message");
      g_assert_true (partial_take (&r, accepted));
      g_assert_false (r.end);
      partial_start (&r, accepted);
    }

  /* The sender goes away in the middle of the message. */
  post_carrier_abort (client);

  if (streamed)
    {
      /* The peer's receive fails: what came of the message is never a
       * message (bytes that were in flight may arrive first). */
      for (;;)
        {
          post_contract_async_wait (&r.a, 5000, "the end of the unfinished message");
          if (!partial_take (&r, accepted))
            break;
          g_assert_false (r.end);
          partial_start (&r, accepted);
        }
      g_assert_nonnull (r.error);
      g_test_message ("%s: the unfinished message ended the peer's receive with: %s",
                      post_contract_stack ()->name, r.error->message);
      g_assert_false (post_message_is_complete (r.handle));
      g_assert_cmpuint (r.got->len, <=, first_size);
    }
  else
    {
      /* Nothing of it left: nothing arrives, or the receive fails (a
       * connected stack tells its peer of the abort). */
      post_contract_spin (300);
      if (r.a.done)
        {
          g_assert_false (partial_take (&r, accepted));
          g_assert_nonnull (r.error);
        }
      g_assert_cmpuint (r.got->len, ==, 0);
      post_contract_unsupported ("no POST_STACK_CAP_PARTIAL_MESSAGES: the parts given before "
                                 "the abort were gathered and never sent; nothing arrived");
    }

  partial_clear (&r);
  post_contract_peer_stop (&peer);
}

/* ---- recv-msg-max-len --------------------------------------------------------- */

#define RECV_MAX  4096
#define LARGE     10000

/* A client with recv-msg-max-len RECV_MAX, established to an echoing
 * peer, that sent a LARGE message and then "after"; both come back. */
static PostCarrier *
start_large_echo (PostContractPeer *peer,
                  GBytes           *large)
{
  g_autoptr(PostConfiguration) config = post_contract_config ();
  g_autoptr(PostMessage) big = post_message_new (large);
  g_autoptr(PostMessage) after = post_message_new_from_string ("after");
  g_autoptr(GError) error = NULL;
  PostCarrier *client;

  g_assert_true (post_configuration_set_recv_msg_max_len (config, RECV_MAX, &error));
  g_assert_no_error (error);
  post_contract_peer_start (peer, NULL);
  client = post_contract_initiate (peer->listener, config);
  post_contract_establish (client, 5000);
  g_assert_true (post_carrier_send (client, big, &error));
  g_assert_true (post_carrier_send (client, after, &error));
  g_assert_no_error (error);
  /* The peer has both (and echoed them) before the client asks. */
  post_contract_wait_count (&peer->n_received, 2, 5000, "the peer's two messages");
  return client;
}

static void
test_complete_too_large (void)
{
  PostContractPeer peer = { .echo = TRUE };
  g_autoptr(GBytes) large = post_contract_pattern (LARGE, 3);
  g_autoptr(PostCarrier) client = start_large_echo (&peer, large);
  g_autoptr(GError) error = NULL;
  g_autoptr(PostMessage) next = NULL;
  PostContractAsync a = { 0 };

  post_carrier_receive_async (client, NULL, post_contract_async_cb, &a);
  post_contract_async_wait (&a, 5000, "the receive of a too large message");
  g_assert_null (post_carrier_receive_finish (client, a.result, &error));
  post_contract_assert_error (error, POST_ERROR_MESSAGE_TOO_LARGE);
  g_clear_error (&error);
  post_contract_async_clear (&a);

  /* The carrier goes on: the next message arrives whole. */
  post_carrier_receive_async (client, NULL, post_contract_async_cb, &a);
  post_contract_async_wait (&a, 5000, "the message after the too large one");
  next = post_carrier_receive_finish (client, a.result, &error);
  g_assert_no_error (error);
  post_contract_async_clear (&a);
  g_assert_true (post_message_is_complete (next));
  assert_bytes (post_message_get_content (next), "after", 5);
  g_assert_cmpint (post_carrier_get_state (client), ==, POST_CARRIER_STATE_ACTIVE);

  post_carrier_abort (client);
  post_contract_peer_stop (&peer);
}

static void
count_receive_error (PostCarrier  *carrier,
                     const GError *error,
                     gpointer      user_data)
{
  g_assert_error (error, POST_ERROR, POST_ERROR_MESSAGE_TOO_LARGE);
  (*(guint *) user_data)++;
}

static void
test_ready_too_large (void)
{
  PostContractPeer peer = { .echo = TRUE };
  g_autoptr(GBytes) large = post_contract_pattern (LARGE, 4);
  g_autoptr(PostCarrier) client = start_large_echo (&peer, large);
  PostContractWatch watch = { 0 };
  guint n_receive_error = 0;

  g_signal_connect (client, "receive-error", G_CALLBACK (count_receive_error), &n_receive_error);
  post_contract_watch (&watch, client, TRUE);
  post_contract_wait_count (&watch.n_received, 1, 5000, "the message after the too large one");
  post_contract_spin (100);
  g_assert_cmpuint (n_receive_error, ==, 1);
  g_assert_cmpuint (watch.n_received, ==, 1);
  g_assert_true (post_message_is_complete (watch.messages->pdata[0]));
  assert_bytes (post_message_get_content (watch.messages->pdata[0]), "after", 5);

  g_signal_handlers_disconnect_by_data (client, &n_receive_error);
  post_contract_unwatch (&watch, client);
  post_contract_watch_clear (&watch);
  post_carrier_abort (client);
  post_contract_peer_stop (&peer);
}

static void
test_partial_gets_all (void)
{
  PostContractPeer peer = { .echo = TRUE };
  g_autoptr(GBytes) large = post_contract_pattern (LARGE, 5);
  g_autoptr(PostCarrier) client = start_large_echo (&peer, large);
  g_autoptr(GByteArray) got = g_byte_array_new ();
  g_autoptr(PostMessage) first = NULL;
  gboolean end = FALSE;
  guint parts = 0;

  while (!end)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) part = NULL;
      g_autoptr(PostMessage) handle = NULL;
      PostContractAsync a = { 0 };

      post_carrier_receive_partial_async (client, 1, RECV_MAX, NULL, post_contract_async_cb, &a);
      post_contract_async_wait (&a, 5000, "a part of the large message");
      part = post_carrier_receive_partial_finish (client, a.result, &handle, &end, &error);
      g_assert_no_error (error);
      post_contract_async_clear (&a);
      g_assert_cmpuint (g_bytes_get_size (part), <=, RECV_MAX);
      g_byte_array_append (got, g_bytes_get_data (part, NULL), g_bytes_get_size (part));
      if (first == NULL)
        first = g_object_ref (handle);
      g_assert_true (handle == first);   /* one message */
      parts++;
    }
  g_assert_cmpuint (parts, >=, 3);
  g_assert_cmpuint (got->len, ==, LARGE);
  g_assert_true (memcmp (got->data, g_bytes_get_data (large, NULL), LARGE) == 0);

  {
    g_autoptr(GError) error = NULL;
    g_autoptr(PostMessage) next = NULL;
    PostContractAsync a = { 0 };

    post_carrier_receive_async (client, NULL, post_contract_async_cb, &a);
    post_contract_async_wait (&a, 5000, "the message after the large one");
    next = post_carrier_receive_finish (client, a.result, &error);
    g_assert_no_error (error);
    post_contract_async_clear (&a);
    assert_bytes (post_message_get_content (next), "after", 5);
  }

  post_carrier_abort (client);
  post_contract_peer_stop (&peer);
}

/* An unreliable message with a lifetime (a QUIC DATAGRAM frame where the
 * stack has PER_MSG_RELIABILITY, the stream or datagram otherwise) larger
 * than recv-msg-max-len is not delivered to a complete receive either. */
static void
test_unreliable_too_large (void)
{
  PostContractPeer peer = { .echo = FALSE };
  g_autoptr(PostConfiguration) config = post_contract_config ();
  g_autoptr(PostCarrier) client = NULL;
  g_autoptr(GBytes) content = post_contract_pattern (500, 6);
  g_autoptr(PostMessage) big = post_message_new (content);
  g_autoptr(PostMessage) hello = post_message_new_from_string ("hello");
  g_autoptr(PostMessage) after = post_message_new_from_string ("after");
  g_autoptr(PostMessage) next = NULL;
  g_autoptr(GError) error = NULL;
  PostCarrier *accepted;
  PostContractAsync a = { 0 };

  g_assert_true (post_configuration_set_recv_msg_max_len (config, 100, &error));
  g_assert_true (post_message_set_reliable (big, FALSE, &error));
  g_assert_true (post_message_set_lifetime (big, 10 * G_USEC_PER_SEC, &error));
  g_assert_no_error (error);
  post_contract_peer_start (&peer, NULL);
  client = post_contract_initiate (peer.listener, config);
  post_contract_establish (client, 5000);
  g_assert_true (post_carrier_send (client, hello, &error));
  g_assert_no_error (error);
  post_contract_wait_count (&peer.n_received, 1, 5000, "the client's first message");
  accepted = peer.carriers->pdata[0];

  g_assert_true (post_carrier_send (accepted, big, &error));
  g_assert_no_error (error);
  post_carrier_receive_async (client, NULL, post_contract_async_cb, &a);
  post_contract_async_wait (&a, 5000, "the receive of a too large unreliable message");
  g_assert_null (post_carrier_receive_finish (client, a.result, &error));
  post_contract_assert_error (error, POST_ERROR_MESSAGE_TOO_LARGE);
  g_clear_error (&error);
  post_contract_async_clear (&a);

  g_assert_true (post_carrier_send (accepted, after, &error));
  g_assert_no_error (error);
  post_carrier_receive_async (client, NULL, post_contract_async_cb, &a);
  post_contract_async_wait (&a, 5000, "the message after it");
  next = post_carrier_receive_finish (client, a.result, &error);
  g_assert_no_error (error);
  post_contract_async_clear (&a);
  assert_bytes (post_message_get_content (next), "after", 5);

  post_carrier_abort (client);
  post_contract_peer_stop (&peer);
}

void
post_contract_add_partial_cases (void)
{
  post_contract_add ("partial/assembled", test_assembled);
  post_contract_add ("partial/too-large", test_too_large);
  post_contract_add ("partial/many-parts", test_many_parts);
  post_contract_add ("partial/streamed", test_streamed);
  post_contract_add ("partial/abort-mid-message", test_abort_mid_message);
  post_contract_add ("partial/complete-too-large", test_complete_too_large);
  post_contract_add ("partial/ready-too-large", test_ready_too_large);
  post_contract_add ("partial/partial-receive", test_partial_gets_all);
  post_contract_add ("partial/unreliable-too-large", test_unreliable_too_large);
}
