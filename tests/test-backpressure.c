/* test-backpressure.c: a receiver that stops reading slows the sender down
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>
#include <string.h>

#include "post-test-util.h"

#define MESSAGE_SIZE (64 * 1024)
#define QUEUE_LIMIT  (256 * 1024)

typedef struct
{
  PostCarrier *server;
  guint        received;
  guint64      received_bytes;
  gboolean     flushed;
  guint        completions;
} State;

#define wait_for(flag, what) post_test_wait_flag ((flag), (what), 30)

#define spin post_test_spin

static gboolean
on_incoming (PostCarrier *listener,
             PostCarrier *carrier,
             State       *state)
{
  /* Accept, but do not receive. */
  state->server = g_object_ref (carrier);
  return TRUE;
}

static gboolean
count_ready (PostCarrier *carrier,
             PostMessage *message,
             gpointer     user_data)
{
  State *state = user_data;

  g_assert_true (post_message_is_complete (message));
  state->received++;
  state->received_bytes += post_message_get_size (message);
  return TRUE;
}

static void
flushed_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  State *state = user_data;
  g_autoptr(GError) error = NULL;

  g_assert_true (post_carrier_flush_finish (POST_CARRIER (source), result, &error));
  state->flushed = TRUE;
}

static void
sent_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  State *state = user_data;
  g_autoptr(GError) error = NULL;

  g_assert_true (post_carrier_send_finish (POST_CARRIER (source), result, &error));
  state->completions++;
}

static guint64
server_bytes_read (PostCarrier *server)
{
  g_autoptr(GPtrArray) transients = post_carrier_get_transients (server);

  g_assert_cmpuint (transients->len, ==, 1);
  return post_transient_get_bytes_received (transients->pdata[0]);
}

static void
setup (State        *state,
       PostCarrier **listener,
       PostCarrier **client)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostLocal) local = post_local_new_from_uri ("tcp://127.0.0.1:0", &error);
  g_autoptr(PostConfiguration) config = post_configuration_new ();
  g_autofree char *uri = NULL;
  g_autoptr(PostRemote) remote = NULL;

  g_assert_true (post_configuration_set_send_queue_limit (config, QUEUE_LIMIT, &error));
  g_assert_no_error (error);
  *listener = post_carrier_listen (local, config, &error);
  g_assert_no_error (error);
  g_signal_connect (*listener, "incoming", G_CALLBACK (on_incoming), state);
  uri = g_strdup_printf ("tcp://127.0.0.1:%u",
                         g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (post_carrier_get_local_address (*listener))));
  remote = post_remote_new_from_uri (uri, &error);
  g_assert_no_error (error);
  *client = post_carrier_initiate (NULL, remote, config);
}

static void
teardown (State       *state,
          PostCarrier *listener,
          PostCarrier *client)
{
  post_carrier_abort (client);
  if (state->server)
    post_carrier_abort (state->server);
  post_carrier_close (listener);
  g_clear_object (&state->server);
  g_object_unref (client);
  g_object_unref (listener);
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
test_send_queue_bounded (void)
{
  State state = { 0 };
  PostCarrier *listener, *client;
  guint8 *payload = g_malloc0 (MESSAGE_SIZE);
  g_autoptr(GBytes) bytes = g_bytes_new_take (payload, MESSAGE_SIZE);
  guint queued = 0;
  guint blocked_rounds = 0;
  guint64 read_while_stalled;

  setup (&state, &listener, &client);

  /* Keep offering messages for a while: the sender may only take what the
   * queue limit and the kernel's buffers hold, never more. */
  for (guint round = 0; round < 40; round++)
    {
      g_autoptr(GError) error = NULL;

      while (post_carrier_send_bytes (client, bytes, &error))
        {
          queued++;
          g_assert_cmpuint (queued, <, 100000);
        }
      g_assert_error (error, POST_ERROR, POST_ERROR_WOULD_BLOCK);
      g_assert_cmpuint (post_carrier_get_send_queue_size (client), <=, QUEUE_LIMIT + MESSAGE_SIZE + 64);
      blocked_rounds++;
      spin (10);
    }
  g_assert_nonnull (state.server);
  g_assert_cmpuint (blocked_rounds, ==, 40);

  /* What the sender took is bounded by its queue plus the kernel's socket
   * buffers on both sides (a few MiB on Linux), not by how long we tried. */
  g_test_message ("sender accepted %u messages (%.1f MiB) while the receiver did not read",
                  queued, queued * (double) MESSAGE_SIZE / (1 << 20));
  g_assert_cmpuint ((guint64) queued * MESSAGE_SIZE, <, 64 * 1024 * 1024);

  /* The receiver read no more than its small read-ahead. */
  read_while_stalled = server_bytes_read (state.server);
  g_test_message ("receiver read %" G_GUINT64_FORMAT " bytes without demand", read_while_stalled);
  g_assert_cmpuint (read_while_stalled, <=, 256 * 1024);

  /* A flush cannot complete while nobody reads... */
  post_carrier_flush_async (client, NULL, flushed_cb, &state);
  spin (200);
  g_assert_false (state.flushed);

  /* ...and does once the receiver reads; nothing is lost. */
  post_carrier_ready (state.server, count_ready, &state, NULL);
  wait_for (&state.flushed, "flush after the receiver resumed");
  while (state.received < queued)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (state.received, ==, queued);
  g_assert_cmpuint (state.received_bytes, ==, (guint64) queued * MESSAGE_SIZE);

  teardown (&state, listener, client);
}

static void
test_send_completions_slow_down (void)
{
  State state = { 0 };
  PostCarrier *listener, *client;
  guint8 *payload = g_malloc0 (MESSAGE_SIZE);
  g_autoptr(GBytes) bytes = g_bytes_new_take (payload, MESSAGE_SIZE);
  const guint total = 400;  /* 25 MiB: more than the kernel buffers hold */
  guint after_stall;

  setup (&state, &listener, &client);
  for (guint i = 0; i < total; i++)
    {
      g_autoptr(PostMessage) m = post_message_new (bytes);

      post_carrier_send_async (client, m, NULL, sent_cb, &state);
    }
  spin (300);
  after_stall = state.completions;
  g_test_message ("%u of %u sends completed while the receiver did not read", after_stall, total);
  g_assert_cmpuint (after_stall, <, total);
  g_assert_nonnull (state.server);

  post_carrier_ready (state.server, count_ready, &state, NULL);
  while (state.completions < total || state.received < total)
    g_main_context_iteration (NULL, TRUE);
  g_assert_cmpuint (state.received, ==, total);

  teardown (&state, listener, client);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/backpressure/send-queue-bounded", test_send_queue_bounded);
  g_test_add_func ("/backpressure/send-completions-slow-down", test_send_completions_slow_down);

  return g_test_run ();
}
