/* test-udp.c: carriers over the `udp` stack on loopback: echo, listener
 * demultiplexing, idle peers, the responder, sinks, bursts, sizes, garbage
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>
#include <string.h>

#include "post-test-util.h"

#define N_PEERS 3

/* ---- harness ------------------------------------------------------------- */

#define wait_until_count(count, target, what) post_test_wait_count ((count), (target), (what), 10)
#define spin_ms post_test_spin

/* udp is unreliable: RFC 9622's defaults (reliability, preserve-order and
 * congestion-control required) exclude it, so ask for what it is. */
static PostConfiguration *
udp_configuration (void)
{
  PostConfiguration *config = post_configuration_new ();
  const char *stacks[] = { "udp", NULL };

  g_assert_true (post_configuration_set_preference (config, POST_SELECTION_RELIABILITY,
                                                    POST_PREFERENCE_NO_PREFERENCE, NULL));
  g_assert_true (post_configuration_set_preference (config, POST_SELECTION_PRESERVE_ORDER,
                                                    POST_PREFERENCE_NO_PREFERENCE, NULL));
  g_assert_true (post_configuration_set_preference (config, POST_SELECTION_CONGESTION_CONTROL,
                                                    POST_PREFERENCE_NO_PREFERENCE, NULL));
  g_assert_true (post_configuration_set_stacks (config, stacks, NULL));
  return config;
}

static PostRemote *
remote_for (PostCarrier *server)
{
  GInetSocketAddress *address = G_INET_SOCKET_ADDRESS (post_carrier_get_local_address (server));
  g_autofree char *uri = g_strdup_printf ("udp://127.0.0.1:%u",
                                          g_inet_socket_address_get_port (address));
  g_autoptr(GError) error = NULL;
  PostRemote *remote = post_remote_new_from_uri (uri, &error);

  g_assert_no_error (error);
  return remote;
}

static PostLocal *
loopback_local (void)
{
  g_autoptr(GError) error = NULL;
  PostLocal *local = post_local_new_from_uri ("udp://127.0.0.1:0", &error);

  g_assert_no_error (error);
  return local;
}

typedef struct
{
  GPtrArray  *accepted;      /* (element-type PostCarrier) */
  GPtrArray  *received;      /* (element-type utf8) "peer-index:payload" or payloads */
  guint       n_received;
  guint       n_closed;
  GError     *closed_error;  /* (owned) (nullable) the first close error */
  gboolean    echo;
} Server;

static void
server_init (Server *s, gboolean echo)
{
  memset (s, 0, sizeof *s);
  s->accepted = g_ptr_array_new_with_free_func (g_object_unref);
  s->received = g_ptr_array_new_with_free_func (g_free);
  s->echo = echo;
}

static void
server_clear (Server *s)
{
  for (guint i = 0; i < s->accepted->len; i++)
    post_carrier_abort (s->accepted->pdata[i]);
  g_clear_pointer (&s->accepted, g_ptr_array_unref);
  g_clear_pointer (&s->received, g_ptr_array_unref);
  g_clear_error (&s->closed_error);
}

static char *
message_text (PostMessage *message)
{
  gsize size;
  const char *data = g_bytes_get_data (post_message_get_content (message), &size);

  return size > 0 ? g_strndup (data, size) : g_strdup ("");
}

static gboolean
server_ready (PostCarrier *carrier,
              PostMessage *message,
              gpointer     user_data)
{
  Server *s = user_data;
  guint index = 0;
  g_autofree char *text = message_text (message);

  g_assert_true (post_message_is_complete (message));
  g_ptr_array_find (s->accepted, carrier, &index);
  g_ptr_array_add (s->received, g_strdup_printf ("%u:%s", index, text));
  /* The message's remote is the carrier's. */
  g_assert_true (g_socket_address_get_family (post_message_get_remote_address (message))
                 == g_socket_address_get_family (post_carrier_get_remote_address (carrier)));
  if (s->echo)
    {
      g_autoptr(PostMessage) reply = post_message_new (post_message_get_content (message));

      g_assert_true (post_carrier_send (carrier, reply, NULL));
    }
  s->n_received++;
  return TRUE;
}

static void
server_closed (PostCarrier  *carrier,
               const GError *error,
               Server       *s)
{
  if (error != NULL && s->closed_error == NULL)
    s->closed_error = g_error_copy (error);
  s->n_closed++;
}

static gboolean
server_incoming (PostCarrier *listener,
                 PostCarrier *carrier,
                 Server      *s)
{
  g_assert_cmpint (post_carrier_get_role (carrier), ==, POST_CARRIER_ROLE_CARRIER);
  g_assert_cmpstr (post_carrier_get_stack_name (carrier), ==, "udp");
  g_ptr_array_add (s->accepted, g_object_ref (carrier));
  g_signal_connect (carrier, "closed", G_CALLBACK (server_closed), s);
  post_carrier_ready (carrier, server_ready, s, NULL);
  return TRUE;
}

static PostCarrier *
server_listen (Server            *s,
               PostConfiguration *config)
{
  g_autoptr(PostLocal) local = loopback_local ();
  g_autoptr(GError) error = NULL;
  PostCarrier *listener = post_carrier_listen (local, config, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (post_carrier_get_stack_name (listener), ==, "udp");
  g_signal_connect (listener, "incoming", G_CALLBACK (server_incoming), s);
  return listener;
}

typedef struct
{
  GPtrArray *texts;  /* (element-type utf8) */
  guint      count;
} Inbox;

static gboolean
inbox_ready (PostCarrier *carrier,
             PostMessage *message,
             gpointer     user_data)
{
  Inbox *inbox = user_data;

  g_ptr_array_add (inbox->texts, message_text (message));
  inbox->count++;
  return TRUE;
}

static void
count_cb (PostMessage *message,
          guint       *count)
{
  (*count)++;
}

/* ---- echo -------------------------------------------------------------------- */

static void
test_udp_echo (void)
{
  g_autoptr(PostConfiguration) config = udp_configuration ();
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostCarrier) client = NULL;
  g_autoptr(PostRemote) remote = NULL;
  g_autoptr(PostMessage) hello = post_message_new_from_string ("hello over udp");
  Inbox inbox = { g_ptr_array_new_with_free_func (g_free), 0 };
  PostStackCapabilities caps;
  guint sent = 0, acked = 0;
  Server s;

  server_init (&s, TRUE);
  listener = server_listen (&s, config);
  caps = post_carrier_get_capabilities (listener);
  g_assert_true (caps & POST_STACK_CAP_PRESERVE_MSG_BOUNDARIES);
  g_assert_true (caps & POST_STACK_CAP_EVENT_SENT);
  g_assert_true (caps & POST_STACK_CAP_MULTICAST);
  g_assert_false (caps & POST_STACK_CAP_EVENT_ACKED);
  g_assert_false (caps & POST_STACK_CAP_RELIABLE);
  g_assert_false (caps & POST_STACK_CAP_ORDERED);
  g_assert_false (caps & POST_STACK_CAP_BYTE_STREAM);
  g_assert_false (caps & POST_STACK_CAP_CONGESTION_CONTROL);

  remote = remote_for (listener);
  client = post_carrier_initiate (NULL, remote, config);
  g_signal_connect (hello, "sent", G_CALLBACK (count_cb), &sent);
  g_signal_connect (hello, "acked", G_CALLBACK (count_cb), &acked);
  g_assert_true (post_carrier_send (client, hello, NULL));
  post_carrier_ready (client, inbox_ready, &inbox, NULL);
  wait_until_count (&inbox.count, 1, "the echo");

  g_assert_cmpstr (inbox.texts->pdata[0], ==, "hello over udp");
  g_assert_cmpstr (post_carrier_get_stack_name (client), ==, "udp");
  g_assert_cmpuint (sent, ==, 1);
  g_assert_cmpuint (acked, ==, 0);   /* never claimed */
  g_assert_false (post_carrier_get_capabilities (client) & POST_STACK_CAP_EVENT_ACKED);
  g_assert_true (post_carrier_get_capabilities (client) & POST_STACK_CAP_EVENT_EXPIRED);
  g_assert_cmpuint (s.accepted->len, ==, 1);

  /* Several messages keep their boundaries, one datagram each. */
  for (guint i = 0; i < 5; i++)
    {
      g_autofree char *text = g_strdup_printf ("message %u", i);
      g_autoptr(PostMessage) m = post_message_new_from_string (text);

      g_assert_true (post_carrier_send (client, m, NULL));
    }
  wait_until_count (&inbox.count, 6, "five echoes");
  for (guint i = 0; i < 5; i++)
    g_assert_true (g_str_has_prefix (inbox.texts->pdata[i + 1], "message "));

  post_carrier_abort (client);
  post_carrier_close (listener);
  server_clear (&s);
  g_ptr_array_unref (inbox.texts);
}

/* A message whose lifetime passes before it is sent expires: real for udp
 * too (the core's queue), while acked stays unclaimed. */
static void
test_udp_expired (void)
{
  g_autoptr(PostConfiguration) config = udp_configuration ();
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostCarrier) client = NULL;
  g_autoptr(PostRemote) remote = NULL;
  g_autoptr(PostMessage) late = post_message_new_from_string ("too late");
  guint expired = 0;
  Server s;

  server_init (&s, FALSE);
  listener = server_listen (&s, config);
  remote = remote_for (listener);
  client = post_carrier_initiate (NULL, remote, config);
  g_assert_true (post_message_set_lifetime (late, 1, NULL));   /* 1 µs */
  g_signal_connect (late, "expired", G_CALLBACK (count_cb), &expired);
  g_usleep (1000);
  g_assert_true (post_carrier_send (client, late, NULL));
  wait_until_count (&expired, 1, "the expired event");
  g_assert_true (post_message_is_expired (late));
  g_assert_false (post_message_is_sent (late));

  post_carrier_abort (client);
  post_carrier_close (listener);
  server_clear (&s);
}

/* ---- listener demultiplexing ---------------------------------------------------- */

static void
test_udp_listener_demux (void)
{
  g_autoptr(PostConfiguration) config = udp_configuration ();
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostRemote) remote = NULL;
  PostCarrier *clients[N_PEERS];
  Server s;

  server_init (&s, FALSE);
  listener = server_listen (&s, config);
  remote = remote_for (listener);
  for (guint i = 0; i < N_PEERS; i++)
    {
      clients[i] = post_carrier_initiate (NULL, remote, config);
      for (guint j = 0; j < 3; j++)
        {
          g_autofree char *text = g_strdup_printf ("client%u-%u", i, j);
          g_autoptr(PostMessage) m = post_message_new_from_string (text);

          g_assert_true (post_carrier_send (clients[i], m, NULL));
        }
    }
  wait_until_count (&s.n_received, N_PEERS * 3, "nine datagrams");
  spin_ms (50);

  /* One accepted carrier per remote (address, port); each got exactly its
   * remote's messages. */
  g_assert_cmpuint (s.accepted->len, ==, N_PEERS);
  g_assert_cmpuint (s.n_received, ==, N_PEERS * 3);
  for (guint a = 0; a < N_PEERS; a++)
    {
      PostCarrier *carrier = s.accepted->pdata[a];
      GSocketAddress *from = post_carrier_get_remote_address (carrier);
      int client = -1;
      guint got = 0;

      for (guint i = 0; i < N_PEERS; i++)
        if (g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (from))
            == g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (post_carrier_get_local_address (clients[i]))))
          client = (int) i;
      g_assert_cmpint (client, >=, 0);
      for (guint k = 0; k < s.received->len; k++)
        {
          g_autofree char *prefix = g_strdup_printf ("%u:", a);
          g_autofree char *expect = g_strdup_printf ("%u:client%d-", a, client);
          const char *line = s.received->pdata[k];

          if (g_str_has_prefix (line, prefix))
            {
              g_assert_true (g_str_has_prefix (line, expect));
              got++;
            }
        }
      g_assert_cmpuint (got, ==, 3);
    }

  /* A reply from an accepted carrier goes back to its remote only. */
  {
    Inbox inbox = { g_ptr_array_new_with_free_func (g_free), 0 };
    g_autoptr(PostMessage) answer = post_message_new_from_string ("just for you");
    PostCarrier *target = s.accepted->pdata[1];
    guint port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (post_carrier_get_remote_address (target)));
    int which = -1;
    Inbox others = { g_ptr_array_new_with_free_func (g_free), 0 };

    for (guint i = 0; i < N_PEERS; i++)
      {
        guint p = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (post_carrier_get_local_address (clients[i])));

        if (p == port)
          {
            which = (int) i;
            post_carrier_ready (clients[i], inbox_ready, &inbox, NULL);
          }
        else
          post_carrier_ready (clients[i], inbox_ready, &others, NULL);
      }
    g_assert_cmpint (which, >=, 0);
    g_assert_true (post_carrier_send (target, answer, NULL));
    wait_until_count (&inbox.count, 1, "the answer");
    spin_ms (50);
    g_assert_cmpuint (others.count, ==, 0);
    for (guint i = 0; i < N_PEERS; i++)
      post_carrier_ready (clients[i], NULL, NULL, NULL);
    g_ptr_array_unref (inbox.texts);
    g_ptr_array_unref (others.texts);
  }

  /* Closing the listener stops accepting; accepted carriers go on. */
  post_carrier_close (listener);
  {
    for (guint i = 0; i < N_PEERS; i++)
      {
        g_autoptr(PostMessage) m = post_message_new_from_string ("after-close");

        g_assert_true (post_carrier_send (clients[i], m, NULL));
      }
    wait_until_count (&s.n_received, N_PEERS * 4, "datagrams after the listener closed");
    g_assert_cmpuint (s.accepted->len, ==, N_PEERS);
  }

  for (guint i = 0; i < N_PEERS; i++)
    {
      post_carrier_abort (clients[i]);
      g_object_unref (clients[i]);
    }
  server_clear (&s);
}

/* ---- idle peers ------------------------------------------------------------------ */

static void
test_udp_peer_idle_timeout (void)
{
  g_autoptr(PostConfiguration) config = udp_configuration ();
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostCarrier) client = NULL;
  g_autoptr(PostRemote) remote = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PostMessage) first = post_message_new_from_string ("first");
  g_autoptr(PostMessage) again = post_message_new_from_string ("again");
  gint64 start;
  Server s;

  g_assert_true (post_configuration_set_option (config, "udp.peer-idle-timeout",
                                                g_variant_new_uint32 (200), &error));
  g_assert_no_error (error);
  server_init (&s, FALSE);
  listener = server_listen (&s, config);
  remote = remote_for (listener);
  client = post_carrier_initiate (NULL, remote, config);
  start = g_get_monotonic_time ();
  g_assert_true (post_carrier_send (client, first, NULL));
  wait_until_count (&s.n_received, 1, "the first datagram");
  wait_until_count (&s.n_closed, 1, "the idle peer's expiry");
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 190 * 1000);
  g_assert_error (s.closed_error, POST_ERROR, POST_ERROR_TIMED_OUT);
  g_assert_nonnull (strstr (s.closed_error->message, "udp.peer-idle-timeout"));
  g_assert_cmpint (post_carrier_get_state (s.accepted->pdata[0]), ==, POST_CARRIER_STATE_CLOSED);

  /* The same remote's next datagram is a new carrier. */
  g_assert_true (post_carrier_send (client, again, NULL));
  wait_until_count (&s.n_received, 2, "the datagram after expiry");
  g_assert_cmpuint (s.accepted->len, ==, 2);
  g_assert_cmpstr (s.received->pdata[1], ==, "1:again");

  post_carrier_abort (client);
  post_carrier_close (listener);
  server_clear (&s);
}

/* ---- a bounded listener ----------------------------------------------------------- */

/* `udp.max-peers` bounds the peer carriers a listener keeps: spoofed
 * sources cannot make it hold memory without limit. A new remote beyond the
 * limit evicts the peer that was silent longest (both ways), whose carrier
 * closes with POST_ERROR_CONNECTION_RESET; the others stay. */
static void
test_udp_max_peers (void)
{
  g_autoptr(PostConfiguration) config = udp_configuration ();
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostRemote) remote = NULL;
  g_autoptr(GError) error = NULL;
  PostCarrier *clients[5];
  Server s;

  g_assert_false (post_configuration_set_option (config, "udp.max-peers", g_variant_new_int32 (-1), &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_true (post_configuration_set_option (config, "udp.max-peers", g_variant_new_uint32 (3), &error));
  g_assert_no_error (error);
  server_init (&s, FALSE);
  listener = server_listen (&s, config);
  remote = remote_for (listener);

  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(PostMessage) hello = post_message_new_from_string ("hello");

      clients[i] = post_carrier_initiate (NULL, remote, config);
      g_assert_true (post_carrier_send (clients[i], hello, NULL));
      wait_until_count (&s.n_received, i + 1, "a client's first datagram");
    }
  /* Client 0 speaks again: client 1 is the idlest now. */
  {
    g_autoptr(PostMessage) again = post_message_new_from_string ("again");

    g_assert_true (post_carrier_send (clients[0], again, NULL));
    wait_until_count (&s.n_received, 4, "client 0's second datagram");
  }
  g_assert_cmpuint (s.n_closed, ==, 0);

  for (guint i = 3; i < 5; i++)
    {
      g_autoptr(PostMessage) hello = post_message_new_from_string ("hello");

      clients[i] = post_carrier_initiate (NULL, remote, config);
      g_assert_true (post_carrier_send (clients[i], hello, NULL));
      wait_until_count (&s.n_received, i + 2, "a new client's datagram");
      wait_until_count (&s.n_closed, i - 2, "the idlest peer's eviction");
    }
  g_assert_cmpuint (s.accepted->len, ==, 5);
  g_assert_error (s.closed_error, POST_ERROR, POST_ERROR_CONNECTION_RESET);
  g_assert_nonnull (strstr (s.closed_error->message, "udp.max-peers"));
  /* Clients 1 and 2 were evicted, in that order; 0, 3 and 4 remain. */
  g_assert_cmpint (post_carrier_get_state (s.accepted->pdata[1]), ==, POST_CARRIER_STATE_CLOSED);
  g_assert_cmpint (post_carrier_get_state (s.accepted->pdata[2]), ==, POST_CARRIER_STATE_CLOSED);
  g_assert_cmpint (post_carrier_get_state (s.accepted->pdata[0]), ==, POST_CARRIER_STATE_ACTIVE);
  g_assert_cmpint (post_carrier_get_state (s.accepted->pdata[3]), ==, POST_CARRIER_STATE_ACTIVE);
  g_assert_cmpint (post_carrier_get_state (s.accepted->pdata[4]), ==, POST_CARRIER_STATE_ACTIVE);

  /* An evicted remote that writes again is a new carrier (and evicts the
   * idlest, client 0). */
  {
    g_autoptr(PostMessage) back = post_message_new_from_string ("back");

    g_assert_true (post_carrier_send (clients[1], back, NULL));
    wait_until_count (&s.n_received, 7, "the evicted remote's new datagram");
    wait_until_count (&s.n_closed, 3, "client 0's eviction");
    g_assert_cmpuint (s.accepted->len, ==, 6);
    g_assert_cmpint (post_carrier_get_state (s.accepted->pdata[0]), ==, POST_CARRIER_STATE_CLOSED);
    g_assert_cmpint (post_carrier_get_state (s.accepted->pdata[5]), ==, POST_CARRIER_STATE_ACTIVE);
  }

  for (guint i = 0; i < 5; i++)
    {
      post_carrier_abort (clients[i]);
      g_object_unref (clients[i]);
    }
  post_carrier_close (listener);
  server_clear (&s);
}

/* ---- responder ------------------------------------------------------------------- */

typedef struct
{
  guint     n_requests;
  GPtrArray *sources;  /* (element-type GSocketAddress) */
} Responder;

static void
respond_cb (PostCarrier *responder,
            PostMessage *message,
            PostReply   *reply,
            gpointer     user_data)
{
  Responder *r = user_data;
  g_autofree char *text = message_text (message);
  g_autofree char *answer = g_strdup_printf ("re:%s", text);
  g_autoptr(PostMessage) m = post_message_new_from_string (answer);
  g_autoptr(GError) error = NULL;

  g_assert_nonnull (post_reply_get_remote_address (reply));
  g_assert_true (g_socket_address_get_family (post_reply_get_remote_address (reply)) == G_SOCKET_FAMILY_IPV4);
  g_ptr_array_add (r->sources, g_object_ref (post_reply_get_remote_address (reply)));
  g_assert_true (post_reply_send (reply, m, &error));
  g_assert_no_error (error);
  r->n_requests++;
}

static void
test_udp_responder (void)
{
  g_autoptr(PostConfiguration) config = udp_configuration ();
  g_autoptr(PostLocal) local = loopback_local ();
  g_autoptr(PostCarrier) responder = NULL;
  g_autoptr(PostRemote) remote = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) transients = NULL;
  PostCarrier *clients[N_PEERS];
  Inbox inboxes[N_PEERS];
  Responder r = { 0, g_ptr_array_new_with_free_func (g_object_unref) };
  guint incoming = 0;

  responder = post_carrier_respond (local, config, respond_cb, &r, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (post_carrier_get_role (responder), ==, POST_CARRIER_ROLE_RESPONDER);
  g_assert_cmpstr (post_carrier_get_stack_name (responder), ==, "udp");
  g_signal_connect_swapped (responder, "incoming", G_CALLBACK (count_cb), &incoming);
  remote = remote_for (responder);

  for (guint i = 0; i < N_PEERS; i++)
    {
      inboxes[i].texts = g_ptr_array_new_with_free_func (g_free);
      inboxes[i].count = 0;
      clients[i] = post_carrier_initiate (NULL, remote, config);
      post_carrier_ready (clients[i], inbox_ready, &inboxes[i], NULL);
      for (guint j = 0; j < 2; j++)
        {
          g_autofree char *text = g_strdup_printf ("c%u-%u", i, j);
          g_autoptr(PostMessage) m = post_message_new_from_string (text);

          g_assert_true (post_carrier_send (clients[i], m, NULL));
        }
    }
  for (guint i = 0; i < N_PEERS; i++)
    wait_until_count (&inboxes[i].count, 2, "the replies");

  for (guint i = 0; i < N_PEERS; i++)
    for (guint j = 0; j < 2; j++)
      {
        g_autofree char *prefix = g_strdup_printf ("re:c%u-", i);

        g_assert_true (g_str_has_prefix (inboxes[i].texts->pdata[j], prefix));
      }
  g_assert_cmpuint (r.n_requests, ==, N_PEERS * 2);
  /* No carrier per remote: one transient, no incoming carriers. */
  g_assert_cmpuint (incoming, ==, 0);
  transients = post_carrier_get_transients (responder);
  g_assert_cmpuint (transients->len, ==, 1);
  /* Sending on a responder itself is the reply's business. */
  {
    g_autoptr(PostMessage) m = post_message_new_from_string ("x");

    g_assert_false (post_carrier_send (responder, m, &error));
    g_assert_error (error, POST_ERROR, POST_ERROR_WRONG_ROLE);
    g_clear_error (&error);
  }

  for (guint i = 0; i < N_PEERS; i++)
    {
      post_carrier_abort (clients[i]);
      g_object_unref (clients[i]);
      g_ptr_array_unref (inboxes[i].texts);
    }
  post_carrier_close (responder);
  g_assert_cmpint (post_carrier_get_state (responder), !=, POST_CARRIER_STATE_ACTIVE);
  g_ptr_array_unref (r.sources);
}

/* ---- a burst in one main-loop iteration ---------------------------------------- */

#define BURST_EQUAL   64     /* equal-sized: one GSO run where the kernel can */
#define BURST_MIXED   32     /* sizes that differ: sendmmsg() */

typedef struct
{
  GPtrArray      *texts;          /* (element-type utf8) */
  GSocketAddress *expect_remote;  /* (unowned) every message's remote */
  guint           count;
} BurstInbox;

static char *
address_text (GSocketAddress *address)
{
  GInetSocketAddress *inet = G_INET_SOCKET_ADDRESS (address);
  g_autofree char *ip = g_inet_address_to_string (g_inet_socket_address_get_address (inet));

  return g_strdup_printf ("%s:%u", ip, g_inet_socket_address_get_port (inet));
}

static gboolean
burst_ready (PostCarrier *carrier,
             PostMessage *message,
             gpointer     user_data)
{
  BurstInbox *inbox = user_data;
  g_autofree char *got = address_text (post_message_get_remote_address (message));
  g_autofree char *want = address_text (inbox->expect_remote);

  g_assert_true (post_message_is_complete (message));
  g_assert_cmpstr (got, ==, want);
  g_ptr_array_add (inbox->texts, message_text (message));
  inbox->count++;
  return TRUE;
}

/* Message @i of a burst: "b<i>-" and a letter of its own up to its size
 * (100 bytes for the equal ones, then 1 + 37 i). */
static char *
burst_text (guint i)
{
  gsize size = i < BURST_EQUAL ? 100 : 1 + 37 * (i - BURST_EQUAL);
  g_autofree char *head = g_strdup_printf ("b%03u-", i);
  GString *text = g_string_new (head);

  while (text->len < MAX (size, strlen (head)))
    g_string_append_c (text, 'a' + i % 26);
  return g_string_free (text, FALSE);
}

/* Sends the whole burst on @carrier without running the main loop, so
 * that the stack gets it in one write; counts the sent events. */
static void
send_burst (PostCarrier *carrier,
            guint       *sent)
{
  for (guint i = 0; i < BURST_EQUAL + BURST_MIXED; i++)
    {
      g_autofree char *text = burst_text (i);
      g_autoptr(PostMessage) m = post_message_new_from_string (text);

      g_signal_connect (m, "sent", G_CALLBACK (count_cb), sent);
      g_assert_true (post_carrier_send (carrier, m, NULL));
    }
}

/* Each message of the burst arrived once, whole, in a message of its own. */
static void
check_burst (GPtrArray *texts,
             guint      first)
{
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  g_assert_cmpuint (texts->len - first, ==, BURST_EQUAL + BURST_MIXED);
  for (guint i = first; i < texts->len; i++)
    g_assert_true (g_hash_table_add (seen, g_strdup (texts->pdata[i])));
  for (guint i = 0; i < BURST_EQUAL + BURST_MIXED; i++)
    {
      g_autofree char *text = burst_text (i);

      g_assert_true (g_hash_table_contains (seen, text));
    }
}

/* A burst of datagrams queued in one main-loop iteration (which the stack
 * sends with GSO and sendmmsg(), and reads with recvmmsg() and GRO) both
 * ways between a client and a listener on a wildcard address: every
 * datagram arrives whole in its own message, from the right remote, and
 * leaves from the address the client wrote to (its connected socket drops
 * anything else); each message's sent event fires once. */
static void
test_udp_burst (void)
{
  g_autoptr(PostConfiguration) config = udp_configuration ();
  g_autoptr(PostLocal) any = post_local_new_from_uri ("udp://0.0.0.0:0", NULL);
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostCarrier) client = NULL;
  g_autoptr(PostRemote) remote = NULL;
  g_autoptr(PostMessage) hello = post_message_new_from_string ("hello");
  g_autoptr(GError) error = NULL;
  g_autofree char *arrival = NULL;
  g_autofree char *listener_port = NULL;
  BurstInbox at_server = { g_ptr_array_new_with_free_func (g_free), NULL, 0 };
  BurstInbox at_client = { g_ptr_array_new_with_free_func (g_free), NULL, 0 };
  PostCarrier *peer;
  guint sent = 0;
  Server s;

  server_init (&s, FALSE);
  listener = post_carrier_listen (any, config, &error);
  g_assert_no_error (error);
  g_signal_connect (listener, "incoming", G_CALLBACK (server_incoming), &s);
  remote = remote_for (listener);
  client = post_carrier_initiate (NULL, remote, config);
  g_assert_true (post_carrier_send (client, hello, NULL));
  wait_until_count (&s.n_received, 1, "the first datagram");
  g_assert_cmpuint (s.accepted->len, ==, 1);
  peer = s.accepted->pdata[0];

  /* The peer's local address is where the client wrote to, not 0.0.0.0. */
  arrival = address_text (post_carrier_get_local_address (peer));
  listener_port = g_strdup_printf ("127.0.0.1:%u", g_inet_socket_address_get_port (
                                     G_INET_SOCKET_ADDRESS (post_carrier_get_local_address (listener))));
  g_assert_cmpstr (arrival, ==, listener_port);

  /* Client to listener. */
  at_server.expect_remote = post_carrier_get_local_address (client);
  post_carrier_ready (peer, burst_ready, &at_server, NULL);
  send_burst (client, &sent);
  wait_until_count (&at_server.count, BURST_EQUAL + BURST_MIXED, "the burst at the listener");
  check_burst (at_server.texts, 0);
  wait_until_count (&sent, BURST_EQUAL + BURST_MIXED, "the client's sent events");

  /* Listener's peer to client. */
  sent = 0;
  at_client.expect_remote = post_carrier_get_remote_address (client);
  post_carrier_ready (client, burst_ready, &at_client, NULL);
  send_burst (peer, &sent);
  wait_until_count (&at_client.count, BURST_EQUAL + BURST_MIXED, "the burst at the client");
  check_burst (at_client.texts, 0);
  wait_until_count (&sent, BURST_EQUAL + BURST_MIXED, "the peer's sent events");
  spin_ms (50);
  g_assert_cmpuint (sent, ==, BURST_EQUAL + BURST_MIXED);
  g_assert_cmpuint (at_client.count, ==, BURST_EQUAL + BURST_MIXED);
  g_assert_cmpuint (at_server.count, ==, BURST_EQUAL + BURST_MIXED);

  post_carrier_abort (client);
  post_carrier_close (listener);
  server_clear (&s);
  g_ptr_array_unref (at_server.texts);
  g_ptr_array_unref (at_client.texts);
}

/* ---- remote-less sink ---------------------------------------------------------- */

static void
test_udp_sink (void)
{
  g_autoptr(PostConfiguration) config = udp_configuration ();
  g_autoptr(PostLocal) local = loopback_local ();
  g_autoptr(PostCarrier) sink = NULL;
  g_autoptr(PostRemote) remote = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GHashTable) ports = g_hash_table_new (NULL, NULL);
  PostCarrier *sources[2];
  Inbox inbox = { g_ptr_array_new_with_free_func (g_free), 0 };

  sink = post_carrier_new_sink (local, NULL, config, &error);
  g_assert_no_error (error);
  g_assert_cmpint (post_carrier_get_role (sink), ==, POST_CARRIER_ROLE_SINK);
  remote = remote_for (sink);
  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(PostMessage) m = post_message_new_from_string (i == 0 ? "from a" : "from b");

      sources[i] = post_carrier_new_source (NULL, remote, config);
      g_assert_true (post_carrier_send (sources[i], m, NULL));
    }
  post_carrier_ready (sink, inbox_ready, &inbox, NULL);
  wait_until_count (&inbox.count, 2, "both sources");
  {
    g_autoptr(PostMessage) m = post_message_new_from_string ("x");

    g_assert_false (post_carrier_send (sink, m, &error));
    g_assert_error (error, POST_ERROR, POST_ERROR_WRONG_ROLE);
    g_clear_error (&error);
  }

  for (guint i = 0; i < 2; i++)
    {
      post_carrier_abort (sources[i]);
      g_object_unref (sources[i]);
    }
  post_carrier_close (sink);
  g_ptr_array_unref (inbox.texts);
}

/* ---- message size ------------------------------------------------------------------- */

typedef struct
{
  guint   count;
  GError *error;
} SendResult;

static void
send_done (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  SendResult *r = user_data;

  post_carrier_send_finish (POST_CARRIER (source), result, &r->error);
  r->count++;
}

static void
test_udp_oversize (void)
{
  g_autoptr(PostConfiguration) config = udp_configuration ();
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostCarrier) client = NULL;
  g_autoptr(PostRemote) remote = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) huge = g_bytes_new_take (g_malloc0 (70000), 70000);
  g_autoptr(PostMessage) early = post_message_new (huge);
  g_autoptr(PostMessage) late = post_message_new (huge);
  g_autoptr(PostMessage) small = post_message_new_from_string ("still fine");
  g_autoptr(GPtrArray) transients = NULL;
  SendResult early_result = { 0, NULL };
  gsize max;
  Server s;

  server_init (&s, FALSE);
  listener = server_listen (&s, config);
  remote = remote_for (listener);
  client = post_carrier_initiate (NULL, remote, config);

  /* Queued before the stack is known: fails when sent. */
  post_carrier_send_async (client, early, NULL, send_done, &early_result);
  wait_until_count (&early_result.count, 1, "the early oversize send");
  g_assert_error (early_result.error, POST_ERROR, POST_ERROR_MESSAGE_TOO_LARGE);
  g_clear_error (&early_result.error);

  /* Once established, the send is refused at once. */
  transients = post_carrier_get_transients (client);
  max = post_psi_get_max_message_size (post_transient_get_psi (transients->pdata[0]));
  g_assert_cmpuint (max, >, 1000);
  g_assert_cmpuint (max, <=, 65507);
  g_assert_false (post_carrier_send (client, late, &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_MESSAGE_TOO_LARGE);
  g_assert_nonnull (strstr (error->message, "udp"));

  /* The carrier goes on. */
  g_assert_true (post_carrier_send (client, small, NULL));
  wait_until_count (&s.n_received, 1, "the small message");
  g_assert_cmpstr (s.received->pdata[0], ==, "0:still fine");
  g_assert_cmpint (post_carrier_get_state (client), ==, POST_CARRIER_STATE_ACTIVE);

  /* The largest message that fits goes through whole. */
  {
    g_autoptr(GBytes) biggest = g_bytes_new_take (g_malloc0 (max), max);
    g_autoptr(PostMessage) m = post_message_new (biggest);

    g_assert_true (post_carrier_send (client, m, NULL));
    wait_until_count (&s.n_received, 2, "the largest message");
  }

  post_carrier_abort (client);
  post_carrier_close (listener);
  server_clear (&s);
}

/* ---- garbage and ICMP errors ---------------------------------------------------------- */

static void
test_udp_garbage (void)
{
  g_autoptr(PostConfiguration) config = udp_configuration ();
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostCarrier) client = NULL;
  g_autoptr(PostRemote) remote = NULL;
  g_autoptr(GSocket) raw = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  guint8 junk[512];
  Inbox void_inbox = { g_ptr_array_new_with_free_func (g_free), 0 };
  Server s;

  server_init (&s, FALSE);
  listener = server_listen (&s, config);
  remote = remote_for (listener);
  raw = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);
  g_assert_no_error (error);
  g_assert_true (g_socket_bind (raw, any, FALSE, &error));

  /* Random bytes and an empty datagram at the listener: each is a message
   * (udp cannot tell garbage), nothing breaks. */
  for (guint i = 0; i < sizeof junk; i++)
    junk[i] = (guint8) g_random_int ();
  g_assert_cmpint (g_socket_send_to (raw, post_carrier_get_local_address (listener),
                                     (const char *) junk, sizeof junk, NULL, &error), ==, sizeof junk);
  g_assert_cmpint (g_socket_send_to (raw, post_carrier_get_local_address (listener),
                                     "", 0, NULL, &error), ==, 0);
  wait_until_count (&s.n_received, 2, "the garbage datagrams");
  g_assert_cmpuint (s.accepted->len, ==, 1);
  g_assert_cmpstr (s.received->pdata[1], ==, "0:");

  /* A client whose remote is gone: ICMP port unreachable is soft. */
  client = post_carrier_initiate (NULL, remote, config);
  {
    g_autoptr(PostMessage) m = post_message_new_from_string ("one");
    SendResult r = { 0, NULL };

    post_carrier_send_async (client, m, NULL, send_done, &r);
    wait_until_count (&r.count, 1, "the first send");
    g_assert_no_error (r.error);
  }
  wait_until_count (&s.n_received, 3, "the client's datagram");
  post_carrier_close (listener);
  for (guint i = 0; i < s.accepted->len; i++)
    post_carrier_abort (s.accepted->pdata[i]);
  spin_ms (20);
  post_carrier_ready (client, inbox_ready, &void_inbox, NULL);
  for (guint i = 0; i < 5; i++)
    {
      g_autoptr(PostMessage) m = post_message_new_from_string ("into the void");
      SendResult r = { 0, NULL };

      post_carrier_send_async (client, m, NULL, send_done, &r);
      wait_until_count (&r.count, 1, "a send into the void");
      g_assert_no_error (r.error);
      spin_ms (10);
    }
  g_assert_cmpint (post_carrier_get_state (client), ==, POST_CARRIER_STATE_ACTIVE);

  /* Garbage straight at the client from a stranger is filtered by the
   * connected socket. */
  g_assert_cmpint (g_socket_send_to (raw, post_carrier_get_local_address (client),
                                     (const char *) junk, 100, NULL, &error), ==, 100);
  spin_ms (50);
  g_assert_cmpint (post_carrier_get_state (client), ==, POST_CARRIER_STATE_ACTIVE);

  post_carrier_abort (client);
  server_clear (&s);
  g_ptr_array_unref (void_inbox.texts);
}

/* ---- IPv6 ------------------------------------------------------------------------------ */

static void
test_udp_ipv6 (void)
{
  g_autoptr(PostConfiguration) config = udp_configuration ();
  g_autoptr(GError) error = NULL;
  g_autoptr(PostLocal) local = post_local_new_from_uri ("udp://[::1]:0", &error);
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostCarrier) client = NULL;
  g_autoptr(PostRemote) remote = NULL;
  g_autofree char *uri = NULL;
  Inbox inbox = { g_ptr_array_new_with_free_func (g_free), 0 };
  Server s;

  g_assert_no_error (error);
  server_init (&s, TRUE);
  listener = post_carrier_listen (local, config, &error);
  if (listener == NULL)
    {
      g_test_skip ("no IPv6 loopback here");
      server_clear (&s);
      g_ptr_array_unref (inbox.texts);
      return;
    }
  g_signal_connect (listener, "incoming", G_CALLBACK (server_incoming), &s);
  uri = g_strdup_printf ("udp://[::1]:%u",
                         g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (post_carrier_get_local_address (listener))));
  remote = post_remote_new_from_uri (uri, &error);
  g_assert_no_error (error);
  client = post_carrier_initiate (NULL, remote, config);
  post_carrier_ready (client, inbox_ready, &inbox, NULL);
  {
    g_autoptr(PostMessage) m = post_message_new_from_string ("v6");

    g_assert_true (post_carrier_send (client, m, NULL));
  }
  wait_until_count (&inbox.count, 1, "the IPv6 echo");
  g_assert_cmpstr (inbox.texts->pdata[0], ==, "v6");

  post_carrier_abort (client);
  post_carrier_close (listener);
  server_clear (&s);
  g_ptr_array_unref (inbox.texts);
}

/* The RFC 9622 defaults (reliability required...) do not veto udp when the
 * URI names it; an explicit requirement of the application does, with an
 * error that says why. */
static void
test_udp_defaults_exclude (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostLocal) local = loopback_local ();
  g_autoptr(PostCarrier) listener = post_carrier_listen (local, NULL, &error);
  g_autoptr(PostConfiguration) strict = post_configuration_new ();
  g_autoptr(PostCarrier) refused = NULL;

  g_assert_no_error (error);
  g_assert_nonnull (listener);
  g_assert_cmpstr (post_carrier_get_stack_name (listener), ==, "udp");
  post_carrier_close (listener);

  g_assert_true (post_configuration_set_preference (strict, POST_SELECTION_RELIABILITY,
                                                    POST_PREFERENCE_REQUIRE, NULL));
  refused = post_carrier_listen (local, strict, &error);
  g_assert_null (refused);
  g_assert_error (error, POST_ERROR, POST_ERROR_NO_STACK);
  g_assert_nonnull (strstr (error->message, "reliability"));
}


static void
count_soft_error (PostCarrier  *carrier,
                  const GError *error,
                  guint        *count)
{
  g_assert_nonnull (error);
  g_test_message ("soft error: %s", error->message);
  (*count)++;
}

static guint16
closed_udp_port (void)
{
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                            G_SOCKET_PROTOCOL_UDP, NULL);
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  g_assert_true (g_socket_bind (socket, any, FALSE, NULL));
  bound = g_socket_get_local_address (socket, NULL);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

/* RFC 9622 soft-error-notify: ICMP port unreachable reaches the carrier as
 * a soft error and the carrier goes on; prohibit silences it. */
static void
soft_error_case (PostPreference preference,
                 guint          expected_min)
{
  g_autoptr(PostConfiguration) config = udp_configuration ();
  g_autofree char *uri = g_strdup_printf ("udp://127.0.0.1:%u", closed_udp_port ());
  g_autoptr(PostRemote) remote = post_remote_new_from_uri (uri, NULL);
  g_autoptr(PostCarrier) client = NULL;
  guint soft = 0;

  g_assert_true (post_configuration_set_soft_error_notify (config, preference, NULL));
  client = post_carrier_initiate (NULL, remote, config);
  g_signal_connect (client, "soft-error", G_CALLBACK (count_soft_error), &soft);
  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(PostMessage) m = post_message_new_from_string ("anyone?");

      g_assert_true (post_carrier_send (client, m, NULL));
      spin_ms (100);
    }
  if (expected_min > 0)
    wait_until_count (&soft, expected_min, "a soft error");
  else
    g_assert_cmpuint (soft, ==, 0);
  g_assert_cmpint (post_carrier_get_state (client), ==, POST_CARRIER_STATE_ACTIVE);
  g_assert_true (post_carrier_get_capabilities (client) & POST_STACK_CAP_SOFT_ERROR_NOTIFY);
  post_carrier_abort (client);
}

static void
test_udp_soft_error (void)
{
  soft_error_case (POST_PREFERENCE_REQUIRE, 1);
  soft_error_case (POST_PREFERENCE_PROHIBIT, 0);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/udp/echo", test_udp_echo);
  g_test_add_func ("/udp/expired", test_udp_expired);
  g_test_add_func ("/udp/listener-demux", test_udp_listener_demux);
  g_test_add_func ("/udp/peer-idle-timeout", test_udp_peer_idle_timeout);
  g_test_add_func ("/udp/max-peers", test_udp_max_peers);
  g_test_add_func ("/udp/responder", test_udp_responder);
  g_test_add_func ("/udp/sink", test_udp_sink);
  g_test_add_func ("/udp/burst", test_udp_burst);
  g_test_add_func ("/udp/oversize", test_udp_oversize);
  g_test_add_func ("/udp/garbage", test_udp_garbage);
  g_test_add_func ("/udp/ipv6", test_udp_ipv6);
  g_test_add_func ("/udp/soft-error", test_udp_soft_error);
  g_test_add_func ("/udp/defaults-exclude", test_udp_defaults_exclude);

  return g_test_run ();
}
