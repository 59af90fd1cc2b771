/* contract-message.c: message properties (draft 3.1) and send events.
 *
 * - Lifetime: a message whose lifetime passes while it is queued is
 *   dropped with the expired event (EVENT_EXPIRED, MSG_LIFETIME).
 * - Niceness: queued together before the carrier is ACTIVE, a message of
 *   lower niceness leaves first (MSG_NICENESS).
 * - Antecedents: a successor leaves after its antecedent whatever their
 *   niceness; a successor whose antecedent was never sent fails at once
 *   with POST_ERROR_INVALID_ARGUMENT; one whose antecedent expired expires
 *   too (MSG_ANTECEDENTS).
 * - Immediate: an immediate message is written at once (its sent event
 *   fires before post_carrier_send() returns) while others wait for the
 *   coalescing write; on stacks that run over UDP, counted through a relay,
 *   each immediate message leaves in a packet of its own (MSG_IMMEDIATE).
 *   TCP carries no packet boundaries a test can honestly observe through a
 *   relay: there the check is that the message was written at once (the
 *   tcp stack keeps Nagle's algorithm off).
 * - Idempotent and 0-RTT: on a stack with ZERO_RTT, a second carrier on the
 *   same association offers its idempotent message as early data (the
 *   security flags tell), never a non-idempotent one.
 * - Events: sent only where EVENT_SENT, acked only where EVENT_ACKED, and
 *   acked only once the peer has the data: through a relay that blackholes
 *   the client's packets, no acked comes.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "post-contract.h"

#include <string.h>

static PostMessage *
text_message (const char *text,
              guint       niceness)
{
  PostMessage *m = post_message_new_from_string (text);
  g_autoptr(GError) error = NULL;

  g_assert_true (post_message_set_niceness (m, niceness, &error));
  g_assert_no_error (error);
  return m;
}

static void
assert_text (PostMessage *message,
             const char  *text)
{
  GBytes *content = post_message_get_content (message);

  g_assert_cmpmem (g_bytes_get_data (content, NULL), g_bytes_get_size (content),
                   text, strlen (text));
}

static void
send_ok (PostCarrier *carrier,
         PostMessage *message)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (post_carrier_send (carrier, message, &error));
  g_assert_no_error (error);
}

/* ---- lifetime ----------------------------------------------------------------- */

static void
test_lifetime (void)
{
  PostContractPeer peer = { .echo = FALSE };
  PostContractWatch watch = { 0 };
  g_autoptr(PostCarrier) client = NULL;
  g_autoptr(PostMessage) dead = post_message_new_from_string ("dead");
  g_autoptr(PostMessage) live = post_message_new_from_string ("live");
  g_autoptr(GError) error = NULL;
  PostContractAsync a = { 0 };

  g_assert_true (post_contract_has (POST_STACK_CAP_MSG_LIFETIME | POST_STACK_CAP_EVENT_EXPIRED));
  post_contract_peer_start (&peer, NULL);
  client = post_contract_initiate (peer.listener, NULL);
  post_contract_watch (&watch, client, FALSE);

  /* Queued while establishing with a lifetime of 1 µs, which has passed
   * (the sleep makes sure) before any write can happen. */
  g_assert_true (post_message_set_lifetime (dead, 1, &error));
  g_assert_no_error (error);
  post_carrier_send_async (client, dead, NULL, post_contract_async_cb, &a);
  send_ok (client, live);
  g_usleep (2000);

  post_contract_async_wait (&a, 5000, "the expired message's send");
  g_assert_false (post_carrier_send_finish (client, a.result, &error));
  post_contract_assert_error (error, POST_ERROR_EXPIRED);
  post_contract_async_clear (&a);
  g_assert_true (post_message_is_expired (dead));
  g_assert_false (post_message_is_sent (dead));
  g_assert_cmpuint (watch.n_expired, ==, 1);

  post_contract_wait_count (&peer.n_received, 1, 5000, "the live message");
  post_contract_spin (100);
  g_assert_cmpuint (peer.n_received, ==, 1);
  assert_text (peer.messages->pdata[0], "live");

  post_contract_unwatch (&watch, client);
  post_contract_watch_clear (&watch);
  post_carrier_abort (client);
  post_contract_peer_stop (&peer);
}

/* ---- niceness and antecedents ---------------------------------------------------- */

static void
test_niceness (void)
{
  PostContractPeer peer = { .echo = FALSE };
  g_autoptr(PostCarrier) client = NULL;
  g_autoptr(PostMessage) lazy1 = text_message ("lazy-1", 5);
  g_autoptr(PostMessage) lazy2 = text_message ("lazy-2", 5);
  g_autoptr(PostMessage) urgent1 = text_message ("urgent-1", 0);
  g_autoptr(PostMessage) urgent2 = text_message ("urgent-2", 0);
  const char *order[] = { "urgent-1", "urgent-2", "lazy-1", "lazy-2" };

  g_assert_true (post_contract_has (POST_STACK_CAP_MSG_NICENESS));
  post_contract_peer_start (&peer, NULL);
  client = post_contract_initiate (peer.listener, NULL);
  /* All queued before the carrier is ACTIVE: the order is the queue's. */
  g_assert_cmpint (post_carrier_get_state (client), ==, POST_CARRIER_STATE_ESTABLISHING);
  send_ok (client, lazy1);
  send_ok (client, lazy2);
  send_ok (client, urgent1);
  send_ok (client, urgent2);

  post_contract_wait_count (&peer.n_received, 4, 5000, "the four messages");
  for (guint i = 0; i < 4; i++)
    assert_text (peer.messages->pdata[i], order[i]);

  post_carrier_abort (client);
  post_contract_peer_stop (&peer);
}

static void
test_antecedents (void)
{
  PostContractPeer peer = { .echo = FALSE };
  PostContractWatch watch = { 0 };
  g_autoptr(PostCarrier) client = NULL;
  g_autoptr(PostMessage) first = text_message ("first", 5);
  g_autoptr(PostMessage) second = text_message ("second", 0);
  g_autoptr(PostMessage) other = text_message ("other", 0);
  g_autoptr(PostMessage) never = post_message_new_from_string ("never sent");
  g_autoptr(PostMessage) orphan = post_message_new_from_string ("orphan");
  g_autoptr(PostMessage) dead = post_message_new_from_string ("dead");
  g_autoptr(PostMessage) heir = post_message_new_from_string ("heir");
  g_autoptr(GError) error = NULL;
  PostContractAsync a = { 0 };

  g_assert_true (post_contract_has (POST_STACK_CAP_MSG_ANTECEDENTS));
  post_contract_peer_start (&peer, NULL);
  client = post_contract_initiate (peer.listener, NULL);
  post_contract_watch (&watch, client, FALSE);

  /* "second" is more important than "first" but depends on it. */
  g_assert_true (post_message_add_antecedent (second, first, &error));
  /* An antecedent that is never sent: the successor fails at once. */
  g_assert_true (post_message_add_antecedent (orphan, never, &error));
  /* An antecedent that expires: its successor expires with it. */
  g_assert_true (post_message_set_lifetime (dead, 1, &error));
  g_assert_true (post_message_add_antecedent (heir, dead, &error));
  g_assert_no_error (error);

  send_ok (client, first);
  send_ok (client, second);
  send_ok (client, other);

  g_assert_false (post_carrier_send (client, orphan, &error));
  post_contract_assert_error (error, POST_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  post_carrier_send_async (client, orphan, NULL, post_contract_async_cb, &a);
  post_contract_async_wait (&a, 1000, "the send of a message whose antecedent was never sent");
  g_assert_false (post_carrier_send_finish (client, a.result, &error));
  post_contract_assert_error (error, POST_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  post_contract_async_clear (&a);

  send_ok (client, dead);
  post_carrier_send_async (client, heir, NULL, post_contract_async_cb, &a);
  g_usleep (2000);

  post_contract_async_wait (&a, 5000, "the send of the expired message's successor");
  g_assert_false (post_carrier_send_finish (client, a.result, &error));
  post_contract_assert_error (error, POST_ERROR_EXPIRED);
  post_contract_async_clear (&a);
  g_assert_true (post_message_is_expired (dead));
  g_assert_true (post_message_is_expired (heir));
  g_assert_cmpuint (watch.n_expired, ==, 2);

  post_contract_wait_count (&peer.n_received, 3, 5000, "first, other and second");
  post_contract_spin (100);
  g_assert_cmpuint (peer.n_received, ==, 3);
  /* "other" (niceness 0) may overtake "first" (5); "second" never does. */
  {
    gint at_first = -1, at_second = -1;

    for (guint i = 0; i < 3; i++)
      {
        GBytes *content = post_message_get_content (peer.messages->pdata[i]);

        if (g_bytes_get_size (content) == 5 && memcmp (g_bytes_get_data (content, NULL), "first", 5) == 0)
          at_first = i;
        if (g_bytes_get_size (content) == 6 && memcmp (g_bytes_get_data (content, NULL), "second", 6) == 0)
          at_second = i;
      }
    g_assert_cmpint (at_first, >=, 0);
    g_assert_cmpint (at_second, >, at_first);
  }

  post_contract_unwatch (&watch, client);
  post_contract_watch_clear (&watch);
  post_carrier_abort (client);
  post_contract_peer_stop (&peer);
}

/* ---- immediate ------------------------------------------------------------------- */

#define N_IMMEDIATE    5
#define IMMEDIATE_SIZE 300

static void
test_immediate (void)
{
  PostContractPeer peer = { .echo = FALSE };
  g_autoptr(PostContractRelay) relay = NULL;
  g_autoptr(PostCarrier) client = NULL;
  g_autoptr(PostConfiguration) config = post_contract_config ();
  g_autoptr(PostMessage) ordinary = post_message_new_from_string ("ordinary");
  g_autoptr(GError) error = NULL;
  gboolean over_udp;
  guint before;

  g_assert_true (post_contract_has (POST_STACK_CAP_MSG_IMMEDIATE));
  post_contract_peer_start (&peer, NULL);
  over_udp = post_contract_listener_is_udp (peer.listener);
  if (over_udp)
    {
      g_autoptr(PostRemote) remote = NULL;

      relay = post_contract_relay_new (peer.listener);
      remote = post_contract_relay_remote (relay);
      client = post_carrier_initiate (NULL, remote, config);
    }
  else
    client = post_contract_initiate (peer.listener, config);
  post_contract_establish (client, 5000);
  /* Whatever the handshake left (tickets, acknowledgements) goes first. */
  send_ok (client, ordinary);
  post_contract_wait_count (&peer.n_received, 1, 5000, "the first message");
  post_contract_spin (200);

  /* An ordinary message waits for the coalescing write... */
  {
    g_autoptr(PostMessage) later = post_message_new_from_string ("later");

    send_ok (client, later);
    g_assert_false (post_message_is_sent (later));
  }
  post_contract_wait_count (&peer.n_received, 2, 5000, "the second message");
  post_contract_spin (100);

  /* ...an immediate one is written before post_carrier_send() returns. */
  before = relay != NULL ? relay->to_server->len : 0;
  for (guint i = 0; i < N_IMMEDIATE; i++)
    {
      g_autoptr(GBytes) content = post_contract_pattern (IMMEDIATE_SIZE, 10 + i);
      g_autoptr(PostMessage) m = post_message_new (content);

      g_assert_true (post_message_set_immediate (m, TRUE, &error));
      send_ok (client, m);
      g_assert_true (post_message_is_sent (m) || !post_contract_has (POST_STACK_CAP_EVENT_SENT));
    }
  post_contract_wait_count (&peer.n_received, 2 + N_IMMEDIATE, 5000, "the immediate messages");
  for (guint i = 0; i < N_IMMEDIATE; i++)
    g_assert_cmpuint (g_bytes_get_size (post_message_get_content (peer.messages->pdata[2 + i])),
                      ==, IMMEDIATE_SIZE);

  if (relay != NULL)
    {
      guint n = post_contract_relay_count_to_server (relay, before, IMMEDIATE_SIZE);

      g_test_message ("%s runs over UDP: %u datagrams of at least %u bytes carried %u immediate "
                      "messages", post_contract_stack ()->name, n, IMMEDIATE_SIZE, N_IMMEDIATE);
      /* One packet each: five in one packet would be one datagram. */
      g_assert_cmpuint (n, >=, N_IMMEDIATE);
    }
  else
    g_test_message ("%s runs over TCP: each immediate message is written at once (TCP_NODELAY "
                    "is always on); segments are not counted", post_contract_stack ()->name);

  post_carrier_abort (client);
  post_contract_peer_stop (&peer);
}

/* ---- events ---------------------------------------------------------------------- */

typedef struct
{
  guint    sent;
  guint    acked;
  gboolean acked_before_sent;
} MessageEvents;

static void
message_sent_cb (PostMessage   *message,
                 MessageEvents *events)
{
  events->sent++;
}

static void
message_acked_cb (PostMessage   *message,
                  MessageEvents *events)
{
  if (events->sent == 0 && post_contract_has (POST_STACK_CAP_EVENT_SENT))
    events->acked_before_sent = TRUE;
  events->acked++;
}

static void
track (PostMessage   *message,
       MessageEvents *events)
{
  g_signal_connect (message, "sent", G_CALLBACK (message_sent_cb), events);
  g_signal_connect (message, "acked", G_CALLBACK (message_acked_cb), events);
}

/* Iterates until *@flag or @ms passed; returns *@flag (for "does it
 * happen soon", never to assert a timing). */
static gboolean
spin_until (const gboolean *flag,
            guint           ms)
{
  gint64 end = g_get_monotonic_time () + ms * G_TIME_SPAN_MILLISECOND;

  while (!*flag && g_get_monotonic_time () < end)
    {
      if (!g_main_context_iteration (NULL, FALSE))
        g_usleep (1000);
    }
  return *flag;
}

static void
test_events (void)
{
  PostContractPeer peer = { .echo = FALSE };
  PostContractWatch watch = { 0 };
  g_autoptr(PostCarrier) client = NULL;
  g_autoptr(PostMessage) m = post_message_new_from_string ("tracked");
  g_autoptr(GError) error = NULL;
  MessageEvents events = { 0 };
  PostContractAsync a = { 0 };

  post_contract_peer_start (&peer, NULL);
  client = post_contract_initiate (peer.listener, NULL);
  post_contract_establish (client, 5000);
  post_contract_watch (&watch, client, FALSE);
  track (m, &events);

  post_carrier_send_async (client, m, NULL, post_contract_async_cb, &a);
  post_contract_async_wait (&a, 5000, "the send");
  g_assert_true (post_carrier_send_finish (client, a.result, &error));
  g_assert_no_error (error);
  post_contract_async_clear (&a);
  post_contract_wait_count (&peer.n_received, 1, 5000, "the message");

  if (post_contract_has (POST_STACK_CAP_EVENT_SENT))
    {
      /* The send completes once the message is in the network: sent came. */
      g_assert_cmpuint (events.sent, ==, 1);
      g_assert_cmpuint (watch.n_sent, ==, 1);
    }
  if (post_contract_has (POST_STACK_CAP_EVENT_ACKED))
    {
      post_contract_wait_count (&events.acked, 1, 5000, "the acked event");
      g_assert_false (events.acked_before_sent);
    }
  post_contract_spin (200);
  if (!post_contract_has (POST_STACK_CAP_EVENT_SENT) && !post_contract_has (POST_STACK_CAP_EVENT_ACKED))
    post_contract_unsupported ("no EVENT_SENT, no EVENT_ACKED: neither event comes");
  else if (!post_contract_has (POST_STACK_CAP_EVENT_SENT))
    post_contract_unsupported ("no EVENT_SENT: no sent event comes");
  else if (!post_contract_has (POST_STACK_CAP_EVENT_ACKED))
    post_contract_unsupported ("no EVENT_ACKED: no acked event comes");
  if (!post_contract_has (POST_STACK_CAP_EVENT_SENT))
    {
      g_assert_cmpuint (events.sent, ==, 0);
      g_assert_cmpuint (watch.n_sent, ==, 0);
    }
  if (!post_contract_has (POST_STACK_CAP_EVENT_ACKED))
    {
      g_assert_cmpuint (events.acked, ==, 0);
      g_assert_cmpuint (watch.n_acked, ==, 0);
      g_assert_false (post_message_is_acked (m));
    }
  else
    {
      g_assert_cmpuint (events.acked, ==, 1);
      g_assert_cmpuint (watch.n_acked, ==, 1);
    }
  g_assert_cmpuint (watch.n_expired, ==, 0);
  g_assert_cmpuint (watch.n_send_error, ==, 0);

  g_signal_handlers_disconnect_by_data (m, &events);
  post_contract_unwatch (&watch, client);
  post_contract_watch_clear (&watch);
  post_carrier_abort (client);
  post_contract_peer_stop (&peer);
}

/* A UDP-based stack: nothing reaches the peer, so nothing is acked, until
 * the relay lets the packets through again. */
static void
acked_through_blackhole (PostContractPeer *peer)
{
  g_autoptr(PostContractRelay) relay = post_contract_relay_new (peer->listener);
  g_autoptr(PostRemote) remote = post_contract_relay_remote (relay);
  g_autoptr(PostConfiguration) config = post_contract_config ();
  g_autoptr(PostCarrier) client = post_carrier_initiate (NULL, remote, config);
  g_autoptr(PostMessage) warm = post_message_new_from_string ("warm");
  g_autoptr(PostMessage) m = post_message_new_from_string ("into the void");
  MessageEvents warm_events = { 0 }, events = { 0 };

  post_contract_establish (client, 5000);
  track (warm, &warm_events);
  send_ok (client, warm);
  post_contract_wait_count (&warm_events.acked, 1, 5000, "the first message acked");

  relay->drop_to_server = TRUE;
  track (m, &events);
  send_ok (client, m);
  post_contract_wait_count (&events.sent, 1, 5000, "the message sent into the blackhole");
  post_contract_spin (500);
  g_test_message ("%s: %u datagrams blackholed, no acked event", post_contract_stack ()->name,
                  relay->n_dropped_to_server);
  g_assert_cmpuint (relay->n_dropped_to_server, >, 0);
  g_assert_cmpuint (events.acked, ==, 0);
  g_assert_cmpuint (peer->n_received, ==, 1);

  relay->drop_to_server = FALSE;
  post_contract_wait_count (&events.acked, 1, 15000, "acked once the path is back");
  post_contract_wait_count (&peer->n_received, 2, 5000, "the message at the peer");
  g_assert_false (events.acked_before_sent);

  g_signal_handlers_disconnect_by_data (warm, &warm_events);
  g_signal_handlers_disconnect_by_data (m, &events);
  post_carrier_abort (client);
}

#define CHUNK      (64 * 1024)
#define MAX_CHUNKS 4096

/* Sends CHUNK-byte messages with post_carrier_send_async() to a peer that
 * does not read until one does not complete (the send blocks: the
 * transport's buffers and windows are full); that send stays pending in
 * @pending.  Returns how many completed. */
static guint
fill_until_blocked (PostCarrier       *client,
                    PostContractAsync *pending,
                    MessageEvents     *events,
                    PostMessage      **last)
{
  guint n = 0;

  for (;;)
    {
      g_autoptr(GBytes) content = post_contract_pattern (CHUNK, n);
      g_autoptr(PostMessage) m = post_message_new (content);

      g_assert_cmpuint (n, <, MAX_CHUNKS);
      if (events != NULL)
        track (m, &events[n]);
      post_carrier_send_async (client, m, NULL, post_contract_async_cb, pending);
      if (!spin_until (&pending->done, 300))
        return n;
      g_assert_true (post_carrier_send_finish (client, pending->result, NULL));
      post_contract_async_clear (pending);
      if (last != NULL)
        g_set_object (last, m);
      n++;
    }
}

static gint
index_of (GPtrArray  *messages,
          const char *text)
{
  for (guint i = 0; i < messages->len; i++)
    {
      GBytes *content = post_message_get_content (messages->pdata[i]);

      if (g_bytes_get_size (content) == strlen (text)
          && memcmp (g_bytes_get_data (content, NULL), text, strlen (text)) == 0)
        return i;
    }
  return -1;
}

/* Niceness on an ACTIVE carrier: queued while the transport is blocked (a
 * peer that does not read), a message of lower niceness overtakes one of
 * higher niceness queued before it. */
static void
test_niceness_blocked (void)
{
  PostContractPeer peer = { .echo = FALSE, .no_read = TRUE };
  g_autoptr(PostCarrier) client = NULL;
  g_autoptr(PostMessage) lazy = text_message ("lazy", 5);
  g_autoptr(PostMessage) urgent = text_message ("urgent", 0);
  PostContractAsync pending = { 0 };
  guint n;

  post_contract_peer_start (&peer, NULL);
  if (!post_contract_has (POST_STACK_CAP_RELIABLE))
    {
      /* Nothing holds a datagram back: message/niceness (queued before
       * the carrier is ACTIVE) is the deterministic check here. */
      g_test_message ("%s has no flow control that blocks a sender: message/niceness checks "
                      "the order", post_contract_stack ()->name);
      post_contract_peer_stop (&peer);
      return;
    }
  client = post_contract_initiate (peer.listener, NULL);
  post_contract_establish (client, 5000);
  n = fill_until_blocked (client, &pending, NULL, NULL);
  send_ok (client, lazy);
  send_ok (client, urgent);
  g_assert_false (post_message_is_sent (lazy));
  g_assert_false (post_message_is_sent (urgent));

  post_contract_peer_read (&peer);
  post_contract_async_wait (&pending, 15000, "the blocked send, once the peer reads");
  post_contract_async_clear (&pending);
  post_contract_wait_count (&peer.n_received, n + 3, 15000, "every message");
  g_test_message ("%s: %u messages before the send blocked; urgent at %d, lazy at %d",
                  post_contract_stack ()->name, n, index_of (peer.messages, "urgent"),
                  index_of (peer.messages, "lazy"));
  g_assert_cmpint (index_of (peer.messages, "urgent"), >, 0);
  g_assert_cmpint (index_of (peer.messages, "urgent"), <, index_of (peer.messages, "lazy"));

  post_carrier_abort (client);
  post_contract_peer_stop (&peer);
}

/* A TCP-based stack, to a peer that does not read: the kernel holds what
 * was sent in its send queue, unacknowledged, once the peer's window is
 * closed; the acked event waits until the peer reads. */
static void
acked_with_slow_peer (PostContractPeer *peer)
{
  g_autoptr(PostCarrier) client = post_contract_initiate (peer->listener, NULL);
  g_autoptr(PostMessage) last = NULL;
  MessageEvents *events = g_new0 (MessageEvents, MAX_CHUNKS);
  PostContractAsync a = { 0 };
  guint n = 0, last_index = 0;

  post_contract_establish (client, 5000);
  n = fill_until_blocked (client, &a, events, &last);
  g_assert_nonnull (last);
  last_index = n - 1;
  g_test_message ("%s: %u messages of %u bytes sent to a peer that does not read before the "
                  "send blocked", post_contract_stack ()->name, n, CHUNK);
  post_contract_spin (300);
  g_assert_cmpuint (events[last_index].sent, ==, 1);
  g_assert_cmpuint (events[last_index].acked, ==, 0);
  g_assert_false (post_message_is_acked (last));

  post_contract_peer_read (peer);
  post_contract_async_wait (&a, 15000, "the blocked send, once the peer reads");
  post_contract_async_clear (&a);
  post_contract_wait_count (&events[last_index].acked, 1, 15000, "acked once the peer reads");
  for (guint i = 0; i <= n; i++)
    g_assert_false (events[i].acked_before_sent);

  /* The carrier holds the other messages: after the abort, no event comes. */
  post_carrier_abort (client);
  g_signal_handlers_disconnect_by_data (last, &events[last_index]);
  g_free (events);
}

static void
test_acked_real (void)
{
  PostContractPeer peer = { .echo = FALSE };

  post_contract_peer_start (&peer, NULL);
  if (!post_contract_has (POST_STACK_CAP_EVENT_ACKED))
    {
      g_autoptr(PostCarrier) client = post_contract_initiate (peer.listener, NULL);
      g_autoptr(PostMessage) m = post_message_new_from_string ("unacknowledged");
      MessageEvents events = { 0 };

      post_contract_unsupported ("no EVENT_ACKED: no acked event, also once the peer has the message");
      post_contract_establish (client, 5000);
      track (m, &events);
      send_ok (client, m);
      post_contract_wait_count (&peer.n_received, 1, 5000, "the message");
      post_contract_spin (200);
      g_assert_cmpuint (events.acked, ==, 0);
      g_signal_handlers_disconnect_by_data (m, &events);
      post_carrier_abort (client);
    }
  else if (post_contract_listener_is_udp (peer.listener))
    acked_through_blackhole (&peer);
  else
    {
      peer.no_read = TRUE;
      acked_with_slow_peer (&peer);
    }
  post_contract_peer_stop (&peer);
}

/* ---- idempotent messages and 0-RTT ---------------------------------------------------- */

/* A carrier of @association that sends @text (idempotent or not), queued
 * before establishment; returns its security flags once @peer has it. */
static PostSecurityFlags
round_on (PostAssociation  *association,
          PostContractPeer *peer,
          const char       *text,
          gboolean          idempotent)
{
  g_autoptr(PostCarrier) carrier = post_association_initiate (association);
  g_autoptr(PostMessage) m = post_message_new_from_string (text);
  g_autoptr(GError) error = NULL;
  guint before = peer->n_received;
  PostSecurityFlags flags;

  g_assert_true (post_message_set_idempotent (m, idempotent, &error));
  g_assert_no_error (error);
  send_ok (carrier, m);
  post_contract_establish (carrier, 5000);
  post_contract_wait_count (&peer->n_received, before + 1, 5000, text);
  /* A ticket comes after the handshake; a duplicate would come now. */
  post_contract_spin (200);
  g_assert_cmpuint (peer->n_received, ==, before + 1);
  assert_text (peer->messages->pdata[before], text);
  flags = post_carrier_get_security_flags (carrier);
  post_carrier_abort (carrier);
  return flags;
}

static void
test_zero_rtt (void)
{
  PostContractPeer peer = { .echo = FALSE };
  g_autoptr(PostConfiguration) config = post_contract_config ();
  g_autoptr(PostRemote) remote = NULL;
  g_autoptr(PostAssociation) association = NULL;
  PostSecurityFlags flags;

  post_contract_peer_start (&peer, NULL);
  remote = post_contract_remote_of (peer.listener);
  association = post_association_new (NULL, remote, config);
  /* Tickets are process-wide and keyed by the remote: an earlier case's
   * listener may have had this port, and its ticket would be tried here */
  post_association_forget_session_tickets (association);

  flags = round_on (association, &peer, "first", TRUE);
  g_assert_false (flags & POST_SECURITY_EARLY_DATA_SENT);   /* nothing to resume yet */
  flags = round_on (association, &peer, "not idempotent", FALSE);
  g_assert_false (flags & POST_SECURITY_EARLY_DATA_SENT);
  flags = round_on (association, &peer, "idempotent", TRUE);
  if (post_contract_has (POST_STACK_CAP_ZERO_RTT))
    {
      g_assert_true (post_contract_has (POST_STACK_CAP_MSG_IDEMPOTENT));
      g_assert_true (flags & POST_SECURITY_RESUMED);
      g_assert_true (flags & POST_SECURITY_EARLY_DATA_SENT);
      g_assert_true (flags & POST_SECURITY_EARLY_DATA_ACCEPTED);
    }
  else
    {
      post_contract_unsupported ("no ZERO_RTT: an idempotent message waits for the handshake");
      g_assert_false (post_contract_has (POST_STACK_CAP_MSG_IDEMPOTENT));
      g_assert_false (flags & POST_SECURITY_EARLY_DATA_SENT);
    }

  post_contract_peer_stop (&peer);
}

void
post_contract_add_message_cases (void)
{
  post_contract_add ("message/lifetime", test_lifetime);
  post_contract_add ("message/niceness", test_niceness);
  post_contract_add ("message/niceness-blocked", test_niceness_blocked);
  post_contract_add ("message/antecedents", test_antecedents);
  post_contract_add ("message/immediate", test_immediate);
  post_contract_add ("message/events", test_events);
  post_contract_add ("message/acked-real", test_acked_real);
  post_contract_add ("message/zero-rtt", test_zero_rtt);
}
