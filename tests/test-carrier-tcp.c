/* test-carrier-tcp.c: PostCarrier over the tcp stack, on loopback
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>
#include <string.h>

#include "post-test-util.h"

/* ---- harness ------------------------------------------------------------- */

typedef struct
{
  GMainContext *context;
  PostCarrier  *listener;
  GPtrArray    *accepted;   /* (element-type PostCarrier) */
  PostCarrier  *client;
  PostConfiguration *config;
  gboolean      echo;
  guint         closed_count;
} Fixture;

/* Iterate the main context until *flag becomes TRUE (or fail after 10 s). */
#define wait_for(flag, what) post_test_wait_flag ((flag), (what), 10)
#define wait_until_count(count, target, what) post_test_wait_count ((count), (target), (what), 10)

static gboolean
echo_ready (PostCarrier *carrier,
            PostMessage *message,
            gpointer     user_data)
{
  g_autoptr(PostMessage) reply = post_message_new (post_message_get_content (message));
  g_autoptr(GError) error = NULL;

  g_assert_true (post_carrier_send (carrier, reply, &error));
  g_assert_no_error (error);
  return TRUE;
}

static gboolean
on_incoming (PostCarrier *listener,
             PostCarrier *carrier,
             Fixture     *fx)
{
  g_assert_cmpint (post_carrier_get_role (carrier), ==, POST_CARRIER_ROLE_CARRIER);
  g_assert_cmpint (post_carrier_get_state (carrier), ==, POST_CARRIER_STATE_ACTIVE);
  g_ptr_array_add (fx->accepted, g_object_ref (carrier));
  if (fx->echo)
    post_carrier_ready (carrier, echo_ready, NULL, NULL);
  return TRUE;
}

static PostRemote *
remote_for (PostCarrier *listener)
{
  GInetSocketAddress *address = G_INET_SOCKET_ADDRESS (post_carrier_get_local_address (listener));
  g_autofree char *uri = g_strdup_printf ("tcp://127.0.0.1:%u",
                                          g_inet_socket_address_get_port (address));
  g_autoptr(GError) error = NULL;
  PostRemote *remote = post_remote_new_from_uri (uri, &error);

  g_assert_no_error (error);
  return remote;
}

static void
fixture_setup_config (Fixture           *fx,
                      PostConfiguration *config,
                      gboolean           echo)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostLocal) local = post_local_new_from_uri ("tcp://127.0.0.1:0", &error);
  g_autoptr(PostRemote) remote = NULL;

  g_assert_no_error (error);
  fx->accepted = g_ptr_array_new_with_free_func (g_object_unref);
  fx->config = config ? g_object_ref (config) : post_configuration_new ();
  fx->echo = echo;
  fx->listener = post_carrier_listen (local, fx->config, &error);
  g_assert_no_error (error);
  g_assert_nonnull (fx->listener);
  g_assert_cmpint (post_carrier_get_role (fx->listener), ==, POST_CARRIER_ROLE_LISTENER);
  g_assert_cmpstr (post_carrier_get_stack_name (fx->listener), ==, "tcp");
  g_signal_connect (fx->listener, "incoming", G_CALLBACK (on_incoming), fx);

  remote = remote_for (fx->listener);
  fx->client = post_carrier_initiate (NULL, remote, fx->config);
}

static void
fixture_setup (Fixture       *fx,
               gconstpointer  data)
{
  fixture_setup_config (fx, NULL, GPOINTER_TO_INT (data));
}

static void
fixture_teardown (Fixture       *fx,
                  gconstpointer  data)
{
  if (fx->client)
    post_carrier_abort (fx->client);
  for (guint i = 0; i < fx->accepted->len; i++)
    post_carrier_abort (fx->accepted->pdata[i]);
  post_carrier_close (fx->listener);
  g_clear_object (&fx->client);
  g_clear_object (&fx->listener);
  g_clear_pointer (&fx->accepted, g_ptr_array_unref);
  g_clear_object (&fx->config);
  /* Let pending sources run down. */
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
established_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (post_carrier_establish_finish (POST_CARRIER (source), result, &error));
  g_assert_no_error (error);
  *(gboolean *) user_data = TRUE;
}

static void
establish (PostCarrier *carrier)
{
  gboolean done = FALSE;

  post_carrier_establish_async (carrier, NULL, established_cb, &done);
  wait_for (&done, "establishment");
  g_assert_cmpint (post_carrier_get_state (carrier), ==, POST_CARRIER_STATE_ACTIVE);
}

typedef struct
{
  gboolean     done;
  PostMessage *message;
  GBytes      *data;
  gboolean     end;
  GError      *error;
} Received;

static void
received_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Received *r = user_data;

  r->message = post_carrier_receive_finish (POST_CARRIER (source), result, &r->error);
  r->done = TRUE;
}

static PostMessage *
receive_one (PostCarrier *carrier)
{
  Received r = { 0 };

  post_carrier_receive_async (carrier, NULL, received_cb, &r);
  wait_for (&r.done, "receive");
  g_assert_no_error (r.error);
  return r.message;
}

static void
partial_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Received *r = user_data;

  r->data = post_carrier_receive_partial_finish (POST_CARRIER (source), result, &r->message,
                                                 &r->end, &r->error);
  r->done = TRUE;
}

static void
assert_content (PostMessage *message,
                const char  *text)
{
  gsize size;
  const char *data = g_bytes_get_data (post_message_get_content (message), &size);

  g_assert_cmpmem (data, size, text, strlen (text));
}

/* ---- tests ------------------------------------------------------------------ */

static void
test_echo_framed (Fixture       *fx,
                  gconstpointer  data)
{
  const char *texts[] = { "Hello!", "", "a somewhat longer message with spaces", "x" };
  g_autoptr(GPtrArray) transients = NULL;
  g_autoptr(GPtrArray) paths = NULL;

  g_assert_cmpint (post_carrier_get_state (fx->client), ==, POST_CARRIER_STATE_ESTABLISHING);
  /* Sending before establishment queues. */
  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_autoptr(PostMessage) m = post_message_new_from_string (texts[i]);
      g_autoptr(GError) error = NULL;

      g_assert_true (post_carrier_send (fx->client, m, &error));
      g_assert_no_error (error);
    }
  establish (fx->client);
  g_assert_cmpstr (post_carrier_get_stack_name (fx->client), ==, "tcp");
  g_assert_true (post_carrier_get_capabilities (fx->client) & POST_STACK_CAP_PRESERVE_MSG_BOUNDARIES);
  g_assert_true (post_carrier_get_capabilities (fx->client) & POST_STACK_CAP_RELIABLE);
  g_assert_cmpint (post_carrier_get_establishment_time (fx->client), >, 0);

  for (guint i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      g_autoptr(PostMessage) m = receive_one (fx->client);

      assert_content (m, texts[i]);
      g_assert_true (post_message_is_complete (m));
      g_assert_false (post_message_is_outgoing (m));
      g_assert_cmpuint (post_message_get_sequence (m), ==, i + 1);
    }

  transients = post_carrier_get_transients (fx->client);
  g_assert_cmpuint (transients->len, ==, 1);
  g_assert_cmpstr (post_transient_get_stack_name (transients->pdata[0]), ==, "tcp");
  g_assert_cmpuint (post_transient_get_bytes_sent (transients->pdata[0]), >, 0);
  paths = post_transient_get_paths (transients->pdata[0]);
  g_assert_cmpuint (paths->len, ==, 1);
  g_assert_nonnull (post_path_get_remote_address (paths->pdata[0]));
  g_assert_cmpuint (post_path_get_mtu (paths->pdata[0]), >, 0);
}

static void
test_large_message (Fixture       *fx,
                    gconstpointer  data)
{
  gsize size = 3 * 1024 * 1024 + 17;
  guint8 *buf = g_malloc (size);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(PostMessage) m = NULL;
  g_autoptr(PostMessage) back = NULL;

  for (gsize i = 0; i < size; i++)
    buf[i] = (guint8) (i * 7 + (i >> 8));
  bytes = g_bytes_new_take (buf, size);
  m = post_message_new (bytes);
  post_carrier_send_async (fx->client, m, NULL, NULL, NULL);
  back = receive_one (fx->client);
  g_assert_true (g_bytes_equal (post_message_get_content (back), bytes));
}

typedef struct
{
  guint sent, acked, expired, send_errors;
  guint carrier_sent, carrier_acked, carrier_expired;
} Events;

static void count_cb (gpointer obj, guint *counter) { (*counter)++; }
static void count_error_cb (gpointer obj, GError *error, guint *counter) { g_assert_nonnull (error); (*counter)++; }
static void count_carrier_cb (gpointer obj, gpointer message, guint *counter) { (*counter)++; }

static void
test_events (Fixture       *fx,
             gconstpointer  data)
{
  Events ev = { 0 };
  g_autoptr(PostMessage) m = post_message_new_from_string ("tracked");
  g_autoptr(PostMessage) dead = post_message_new_from_string ("too late");
  g_autoptr(PostMessage) successor = post_message_new_from_string ("needs the dead one");
  g_autoptr(GError) error = NULL;

  g_signal_connect (m, "sent", G_CALLBACK (count_cb), &ev.sent);
  g_signal_connect (m, "acked", G_CALLBACK (count_cb), &ev.acked);
  g_signal_connect (fx->client, "sent", G_CALLBACK (count_carrier_cb), &ev.carrier_sent);
  g_signal_connect (fx->client, "acked", G_CALLBACK (count_carrier_cb), &ev.carrier_acked);
  g_signal_connect (fx->client, "expired", G_CALLBACK (count_carrier_cb), &ev.carrier_expired);
  g_signal_connect (dead, "expired", G_CALLBACK (count_cb), &ev.expired);

  /* A 1 µs lifetime passes before establishment ends: the message must
   * expire, never be sent, and its successor expire with it. */
  g_assert_true (post_message_set_lifetime (dead, 1, &error));
  g_assert_true (post_message_add_antecedent (successor, dead, &error));
  g_assert_true (post_carrier_send (fx->client, dead, &error));
  g_assert_true (post_carrier_send (fx->client, successor, &error));
  g_assert_true (post_carrier_send (fx->client, m, &error));
  g_assert_no_error (error);

  establish (fx->client);
  wait_until_count (&ev.acked, 1, "acked event");
  g_assert_cmpuint (ev.sent, ==, 1);
  g_assert_true (post_message_is_sent (m));
  g_assert_true (post_message_is_acked (m));
  g_assert_cmpuint (ev.expired, ==, 1);
  g_assert_true (post_message_is_expired (dead));
  g_assert_false (post_message_is_sent (dead));
  g_assert_true (post_message_is_expired (successor));
  g_assert_cmpuint (ev.carrier_expired, ==, 2);
  g_assert_cmpuint (ev.carrier_sent, ==, 1);
  g_assert_cmpuint (ev.carrier_acked, ==, 1);
  g_assert_true (post_carrier_get_capabilities (fx->client) & POST_STACK_CAP_EVENT_ACKED);

  /* Only the tracked message arrives. */
  {
    g_autoptr(PostMessage) back = receive_one (fx->client);
    assert_content (back, "tracked");
  }
}

/* Received messages the application did not keep are reused for later
 * ones; what it keeps, or observes (a weak pointer, a handler of any
 * signal, blocked or not), is never touched: it is finalized as before. */
typedef struct
{
  guint        count;
  PostMessage *kept;          /* (owned) message 0 */
  PostMessage *weak;          /* message 1, through a weak pointer */
  guint        destroyed;     /* handlers of messages 2 and 3 destroyed */
  gpointer     plain[3];      /* messages 4-6 (not kept: addresses only) */
  guint        notified;
} Reuse;

static void
reuse_notify_cb (GObject *object, GParamSpec *pspec, Reuse *r)
{
  r->notified++;
}

static void
reuse_destroyed (gpointer data, GClosure *closure)
{
  ((Reuse *) data)->destroyed++;
}

static gboolean
reuse_ready (PostCarrier *carrier,
             PostMessage *message,
             gpointer     user_data)
{
  Reuse *r = user_data;
  g_autofree char *expected = g_strdup_printf ("m%u", r->count);

  assert_content (message, expected);
  g_assert_false (post_message_is_outgoing (message));
  g_assert_cmpuint (post_message_get_sequence (message), ==, r->count + 1);
  switch (r->count)
    {
    case 0:
      r->kept = g_object_ref (message);
      break;
    case 1:
      r->weak = message;
      g_object_add_weak_pointer (G_OBJECT (message), (gpointer *) &r->weak);
      break;
    case 2:
      /* a handler of a signal a received message never emits */
      g_signal_connect_data (message, "expired", G_CALLBACK (reuse_notify_cb), r,
                             reuse_destroyed, 0);
      break;
    case 3:
      /* a blocked handler of a detailed notification */
      g_signal_handler_block (message,
                              g_signal_connect_data (message, "notify::content",
                                                     G_CALLBACK (reuse_notify_cb), r,
                                                     reuse_destroyed, 0));
      break;
    default:
      g_assert_true (message != r->kept);
      r->plain[r->count - 4] = message;
    }
  r->count++;
  return TRUE;
}

static void
test_received_reuse (Fixture       *fx,
                     gconstpointer  data)
{
  Reuse r = { 0 };

  post_carrier_ready (fx->client, reuse_ready, &r, NULL);
  establish (fx->client);
  for (guint i = 0; i < 7; i++)
    {
      g_autofree char *text = g_strdup_printf ("m%u", i);
      g_autoptr(PostMessage) m = post_message_new_from_string (text);
      g_autoptr(GError) error = NULL;

      g_assert_true (post_carrier_send (fx->client, m, &error));
      g_assert_no_error (error);
      /* One at a time, so that each is delivered on its own. */
      wait_until_count (&r.count, i + 1, "echo");
    }
  /* The kept message is intact; the observed ones were finalized when
   * released (weak pointer cleared, handlers destroyed), not reused. */
  assert_content (r.kept, "m0");
  g_assert_cmpuint (post_message_get_sequence (r.kept), ==, 1);
  g_assert_null (r.weak);
  g_assert_cmpuint (r.destroyed, ==, 2);
  g_assert_cmpuint (r.notified, ==, 0);
  /* Messages nobody kept are the same object, reset for each. */
  g_assert_true (r.plain[0] == r.plain[1] && r.plain[1] == r.plain[2]);
  g_clear_object (&r.kept);
}

static void
test_niceness_order (Fixture       *fx,
                     gconstpointer  data)
{
  /* Queued together before establishment, niceness 0 goes before 5. */
  const char *order[] = { "urgent-1", "urgent-2", "lazy-1", "lazy-2" };
  g_autoptr(GError) error = NULL;

  for (guint i = 0; i < 4; i++)
    {
      g_autoptr(PostMessage) m = post_message_new_from_string (i % 2 ? (i < 2 ? "urgent-2" : "lazy-2")
                                                                      : (i < 2 ? "lazy-1" : "urgent-1"));
      (void) m;
    }
  {
    g_autoptr(PostMessage) l1 = post_message_new_from_string ("lazy-1");
    g_autoptr(PostMessage) u1 = post_message_new_from_string ("urgent-1");
    g_autoptr(PostMessage) l2 = post_message_new_from_string ("lazy-2");
    g_autoptr(PostMessage) u2 = post_message_new_from_string ("urgent-2");

    post_message_set_niceness (l1, 5, NULL);
    post_message_set_niceness (l2, 5, NULL);
    g_assert_true (post_carrier_send (fx->client, l1, &error));
    g_assert_true (post_carrier_send (fx->client, u1, &error));
    g_assert_true (post_carrier_send (fx->client, l2, &error));
    g_assert_true (post_carrier_send (fx->client, u2, &error));
  }
  establish (fx->client);
  for (guint i = 0; i < 4; i++)
    {
      g_autoptr(PostMessage) m = receive_one (fx->client);
      assert_content (m, order[i]);
    }
}

static void
test_partial_receive (Fixture       *fx,
                      gconstpointer  data)
{
  g_autoptr(PostMessage) m = post_message_new_from_string ("0123456789abcdefghij");
  g_autoptr(PostMessage) handle = NULL;
  GString *gathered = g_string_new (NULL);
  gboolean end = FALSE;

  post_carrier_send (fx->client, m, NULL);
  while (!end)
    {
      Received r = { 0 };

      post_carrier_receive_partial_async (fx->client, 3, 7, NULL, partial_cb, &r);
      wait_for (&r.done, "partial receive");
      g_assert_no_error (r.error);
      g_assert_cmpuint (g_bytes_get_size (r.data), <=, 7);
      if (!r.end)
        g_assert_cmpuint (g_bytes_get_size (r.data), >=, 3);
      if (handle == NULL)
        handle = g_object_ref (r.message);
      g_assert_true (handle == r.message);  /* one handle for every part */
      g_string_append_len (gathered, g_bytes_get_data (r.data, NULL), g_bytes_get_size (r.data));
      end = r.end;
      g_test_message ("part %" G_GSIZE_FORMAT " end %d complete %d", g_bytes_get_size (r.data), r.end, post_message_is_complete (r.message));
      g_assert_cmpint (post_message_is_complete (r.message), ==, r.end);
      g_bytes_unref (r.data);
      g_object_unref (r.message);
    }
  g_assert_cmpstr (gathered->str, ==, "0123456789abcdefghij");
  g_string_free (gathered, TRUE);

  /* min > max is refused */
  {
    Received r = { 0 };

    post_carrier_receive_partial_async (fx->client, 10, 5, NULL, partial_cb, &r);
    wait_for (&r.done, "bad partial");
    g_assert_error (r.error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT);
    g_clear_error (&r.error);
  }
}

static void
send_partial_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (post_carrier_send_partial_finish (POST_CARRIER (source), result, &error));
  (*(guint *) user_data)++;
}

static void
test_partial_send (Fixture       *fx,
                   gconstpointer  data)
{
  /* A message sent in three parts arrives as one complete message; a
   * message queued meanwhile waits behind it. */
  g_autoptr(PostMessage) handle = post_message_new (NULL);
  g_autoptr(PostMessage) other = post_message_new_from_string ("after");
  g_autoptr(GBytes) p1 = g_bytes_new_static ("part one, ", 10);
  g_autoptr(GBytes) p2 = g_bytes_new_static ("part two, ", 10);
  g_autoptr(GBytes) p3 = g_bytes_new_static ("the end", 7);
  guint done = 0;

  establish (fx->client);
  post_carrier_send_partial_async (fx->client, handle, p1, FALSE, NULL, send_partial_done, &done);
  post_carrier_send (fx->client, other, NULL);
  post_carrier_send_partial_async (fx->client, handle, p2, FALSE, NULL, send_partial_done, &done);
  post_carrier_send_partial_async (fx->client, handle, p3, TRUE, NULL, send_partial_done, &done);
  {
    g_autoptr(PostMessage) m = receive_one (fx->client);
    assert_content (m, "part one, part two, the end");
  }
  {
    g_autoptr(PostMessage) m = receive_one (fx->client);
    assert_content (m, "after");
  }
  wait_until_count (&done, 3, "partial sends");
}

static void
on_closed (PostCarrier  *carrier,
           const GError *error,
           gpointer      user_data)
{
  GError **out = user_data;

  g_assert_null (*out);
  *out = error ? g_error_copy (error) : g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CLOSED, "orderly");
}

static void
test_passive_close (Fixture       *fx,
                    gconstpointer  data)
{
  PostCarrier *server;
  GError *server_closed = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PostMessage) last = post_message_new_from_string ("last words");
  g_autoptr(PostMessage) m = post_message_new_from_string ("x");

  establish (fx->client);
  wait_until_count (&fx->accepted->len, 1, "accept");
  server = fx->accepted->pdata[0];
  g_signal_connect (server, "closed", G_CALLBACK (on_closed), &server_closed);

  /* The client says something and closes: the server gets the message,
   * then a passive close with no error. */
  post_carrier_send (fx->client, last, NULL);
  post_carrier_close (fx->client);
  g_assert_cmpint (post_carrier_get_state (fx->client), ==, POST_CARRIER_STATE_CLOSING);
  {
    g_autoptr(PostMessage) got = receive_one (server);
    assert_content (got, "last words");
  }
  wait_for ((gboolean *) &server_closed, "passive close");
  g_assert_error (server_closed, G_IO_ERROR, G_IO_ERROR_CLOSED);  /* orderly: NULL error */
  g_clear_error (&server_closed);
  g_assert_cmpint (post_carrier_get_state (server), ==, POST_CARRIER_STATE_CLOSED);

  /* Use after close is an error, not a crash. */
  g_assert_false (post_carrier_send (server, m, &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_CLOSED);
  g_clear_error (&error);
  {
    Received r = { 0 };

    post_carrier_receive_async (server, NULL, received_cb, &r);
    wait_for (&r.done, "receive after close");
    g_assert_error (r.error, POST_ERROR, POST_ERROR_CLOSED);
    g_clear_error (&r.error);
  }
  post_carrier_close (server);  /* twice is harmless */
  post_carrier_abort (server);
}

static void
test_stream_mode (void)
{
  Fixture fx = { 0 };
  g_autoptr(PostConfiguration) config = post_configuration_new ();
  g_autoptr(PostMessage) handle = post_message_new (NULL);
  g_autoptr(GBytes) a = g_bytes_new_static ("stream ", 7);
  g_autoptr(GBytes) b = g_bytes_new_static ("of bytes", 8);
  PostCarrier *server;
  GString *got = g_string_new (NULL);
  gboolean end = FALSE;
  guint done = 0;

  g_assert_true (post_configuration_set_framing (config, POST_FRAMING_STREAM, NULL));
  fixture_setup_config (&fx, config, FALSE);
  g_assert_false (post_carrier_get_capabilities (fx.client) & POST_STACK_CAP_PRESERVE_MSG_BOUNDARIES);
  post_carrier_send_partial_async (fx.client, handle, a, FALSE, NULL, send_partial_done, &done);
  post_carrier_send_partial_async (fx.client, handle, b, TRUE, NULL, send_partial_done, &done);
  establish (fx.client);
  wait_until_count (&fx.accepted->len, 1, "accept");
  server = fx.accepted->pdata[0];

  /* The server reads the one stream message in parts; it ends with the FIN. */
  while (!end)
    {
      Received r = { 0 };

      post_carrier_receive_partial_async (server, 1, 4, NULL, partial_cb, &r);
      wait_for (&r.done, "stream read");
      g_assert_no_error (r.error);
      g_string_append_len (got, g_bytes_get_data (r.data, NULL), g_bytes_get_size (r.data));
      end = r.end;
      g_bytes_unref (r.data);
      g_object_unref (r.message);
    }
  g_assert_cmpstr (got->str, ==, "stream of bytes");
  g_string_free (got, TRUE);

  /* Half close: the server can still answer, on its own stream message. */
  {
    g_autoptr(PostMessage) reply = post_message_new_from_string ("reply");
    g_autoptr(PostMessage) back = NULL;
    g_autoptr(GError) error = NULL;

    g_assert_true (post_carrier_send (server, reply, &error));
    g_assert_no_error (error);
    post_carrier_close (server);
    back = receive_one (fx.client);  /* complete: waits for the server's FIN */
    assert_content (back, "reply");
    g_assert_true (post_message_is_complete (back));
  }
  fixture_teardown (&fx, NULL);
}

static void
test_roles (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostLocal) local = post_local_new_from_uri ("tcp://127.0.0.1:0", &error);
  g_autoptr(PostCarrier) sink = NULL;
  g_autoptr(PostCarrier) source = NULL;
  g_autoptr(PostCarrier) source2 = NULL;
  g_autoptr(PostRemote) remote = NULL;
  g_autoptr(PostMessage) m = post_message_new_from_string ("to the sink");
  g_autoptr(PostMessage) m2 = post_message_new_from_string ("from another source");
  g_autoptr(PostMessage) first = NULL;
  g_autoptr(PostMessage) second = NULL;

  /* A remote-less sink listens and receives from every source. */
  sink = post_carrier_new_sink (local, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (post_carrier_get_role (sink), ==, POST_CARRIER_ROLE_SINK);
  g_assert_false (post_carrier_send (sink, m, &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_WRONG_ROLE);
  g_clear_error (&error);

  remote = remote_for (sink);
  source = post_carrier_new_source (NULL, remote, NULL);
  source2 = post_carrier_new_source (NULL, remote, NULL);
  g_assert_cmpint (post_carrier_get_role (source), ==, POST_CARRIER_ROLE_SOURCE);
  g_assert_true (post_carrier_send (source, m, &error));
  g_assert_no_error (error);
  {
    Received r = { 0 };

    post_carrier_receive_async (source, NULL, received_cb, &r);
    wait_for (&r.done, "receive on source");
    g_assert_error (r.error, POST_ERROR, POST_ERROR_WRONG_ROLE);
    g_clear_error (&r.error);
  }
  first = receive_one (sink);
  assert_content (first, "to the sink");
  g_assert_true (post_carrier_send (source2, m2, &error));
  second = receive_one (sink);
  assert_content (second, "from another source");

  post_carrier_close (source);
  post_carrier_close (source2);
  post_carrier_close (sink);
  g_assert_cmpint (post_carrier_get_state (sink), ==, POST_CARRIER_STATE_CLOSED);
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
responder_func (PostCarrier *responder,
                PostMessage *message,
                PostReply   *reply,
                gpointer     user_data)
{
  g_autofree char *text = g_strdup_printf ("re: %.*s", (int) post_message_get_size (message),
                                           (const char *) g_bytes_get_data (post_message_get_content (message), NULL));
  g_autoptr(PostMessage) answer = post_message_new_from_string (text);
  g_autoptr(GError) error = NULL;

  g_assert_nonnull (post_reply_get_remote_address (reply));
  g_assert_true (post_reply_send (reply, answer, &error));
  g_assert_no_error (error);
  (*(guint *) user_data)++;
}

static void
test_responder (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostLocal) local = post_local_new_from_uri ("tcp://127.0.0.1:0", &error);
  g_autoptr(PostCarrier) responder = NULL;
  g_autoptr(PostRemote) remote = NULL;
  PostCarrier *clients[3];
  guint answered = 0;

  responder = post_carrier_respond (local, NULL, responder_func, &answered, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (post_carrier_get_role (responder), ==, POST_CARRIER_ROLE_RESPONDER);
  remote = remote_for (responder);
  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *text = g_strdup_printf ("client %u", i);
      g_autoptr(PostMessage) m = post_message_new_from_string (text);

      clients[i] = post_carrier_initiate (NULL, remote, NULL);
      post_carrier_send (clients[i], m, NULL);
    }
  for (guint i = 0; i < 3; i++)
    {
      g_autofree char *expect = g_strdup_printf ("re: client %u", i);
      g_autoptr(PostMessage) back = receive_one (clients[i]);

      assert_content (back, expect);
      post_carrier_close (clients[i]);
      g_object_unref (clients[i]);
    }
  g_assert_cmpuint (answered, ==, 3);
  post_carrier_close (responder);
  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
establish_fail_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  Received *r = user_data;

  g_assert_false (post_carrier_establish_finish (POST_CARRIER (source), result, &r->error));
  r->done = TRUE;
}

static guint16
closed_port (void)
{
  /* Bind a listening socket and close it: the port is then (very likely) closed. */
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                            G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  g_assert_true (g_socket_bind (socket, any, FALSE, NULL));
  bound = g_socket_get_local_address (socket, NULL);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

static void
test_unreachable (void)
{
  g_autofree char *uri = g_strdup_printf ("tcp://127.0.0.1:%u", closed_port ());
  g_autoptr(PostRemote) remote = post_remote_new_from_uri (uri, NULL);
  g_autoptr(PostCarrier) carrier = post_carrier_initiate (NULL, remote, NULL);
  g_autoptr(PostMessage) m = post_message_new_from_string ("never");
  GError *closed = NULL;
  guint send_errors = 0;
  Received r = { 0 };

  g_signal_connect (carrier, "closed", G_CALLBACK (on_closed), &closed);
  g_signal_connect (m, "send-error", G_CALLBACK (count_error_cb), &send_errors);
  post_carrier_send (carrier, m, NULL);
  post_carrier_establish_async (carrier, NULL, establish_fail_cb, &r);
  wait_for (&r.done, "refused");
  g_assert_error (r.error, POST_ERROR, POST_ERROR_CONNECTION_REFUSED);
  g_assert_nonnull (strstr (r.error->message, "127.0.0.1"));
  g_clear_error (&r.error);
  g_assert_cmpint (post_carrier_get_state (carrier), ==, POST_CARRIER_STATE_CLOSED);
  g_assert_nonnull (closed);
  g_assert_error (closed, POST_ERROR, POST_ERROR_CONNECTION_REFUSED);
  g_clear_error (&closed);
  g_assert_cmpuint (send_errors, ==, 1);
}

static void
test_selection_failure (void)
{
  g_autoptr(PostConfiguration) config = post_configuration_new ();
  g_autoptr(PostRemote) remote = post_remote_new_from_uri ("127.0.0.1:9", NULL);
  g_autoptr(PostCarrier) carrier = NULL;
  Received r = { 0 };

  /* tcp is not message-preserving on its own, and prohibit framing-based
   * boundaries by requiring per-message reliability: no stack fits (among
   * tcp and tls: quic offers per-message reliability with its DATAGRAM
   * frames). */
  g_assert_true (post_configuration_set_preference (config, POST_SELECTION_PER_MSG_RELIABILITY,
                                                    POST_PREFERENCE_REQUIRE, NULL));
  {
    const char *stacks[] = { "tcp", "tls", NULL };

    g_assert_true (post_configuration_set_stacks (config, stacks, NULL));
  }
  carrier = post_carrier_initiate (NULL, remote, config);
  post_carrier_establish_async (carrier, NULL, establish_fail_cb, &r);
  wait_for (&r.done, "selection");
  g_assert_error (r.error, POST_ERROR, POST_ERROR_NO_STACK);
  g_assert_nonnull (strstr (r.error->message, "per-msg-reliability"));
  g_clear_error (&r.error);

  /* A stack that no plugin provides (every URI scheme has a plugin now,
   * sctp too: the configuration's stacks list names one) */
  {
    g_autoptr(PostRemote) q = post_remote_new_from_uri ("127.0.0.1:443", NULL);
    g_autoptr(PostConfiguration) nosuch = post_configuration_new ();
    const char *stacks[] = { "nosuch", NULL };
    g_autoptr(PostCarrier) c = NULL;
    Received r2 = { 0 };

    g_assert_true (post_configuration_set_stacks (nosuch, stacks, NULL));
    c = post_carrier_initiate (NULL, q, nosuch);
    post_carrier_establish_async (c, NULL, establish_fail_cb, &r2);
    wait_for (&r2.done, "unknown stack");
    g_assert_error (r2.error, POST_ERROR, POST_ERROR_NO_STACK);
    g_assert_nonnull (strstr (r2.error->message, "nosuch"));
    g_clear_error (&r2.error);
  }
}

static void
test_bad_resolve (void)
{
  g_autoptr(PostRemote) remote = post_remote_new_from_uri ("tcp://no-such-host.invalid:80", NULL);
  g_autoptr(PostCarrier) carrier = post_carrier_initiate (NULL, remote, NULL);
  Received r = { 0 };

  post_carrier_establish_async (carrier, NULL, establish_fail_cb, &r);
  wait_for (&r.done, "resolution");
  g_assert_nonnull (r.error);
  g_assert_nonnull (strstr (r.error->message, "no-such-host.invalid"));
  g_clear_error (&r.error);
}

static void
test_abort_drops_queue (Fixture       *fx,
                        gconstpointer  data)
{
  g_autoptr(PostMessage) m = post_message_new_from_string ("dropped");
  guint errors = 0;
  GError *closed = NULL;

  g_signal_connect (m, "send-error", G_CALLBACK (count_error_cb), &errors);
  g_signal_connect (fx->client, "closed", G_CALLBACK (on_closed), &closed);
  post_carrier_send (fx->client, m, NULL);
  post_carrier_abort (fx->client);
  g_assert_cmpint (post_carrier_get_state (fx->client), ==, POST_CARRIER_STATE_CLOSED);
  g_assert_cmpuint (errors, ==, 1);
  g_assert_nonnull (closed);
  g_clear_error (&closed);
}

static void
state_changed_cb (GObject    *object,
                  GParamSpec *pspec,
                  gboolean   *dormant)
{
  if (post_carrier_get_state (POST_CARRIER (object)) == POST_CARRIER_STATE_DORMANT)
    *dormant = TRUE;
}

static void
test_dormant (Fixture       *fx,
              gconstpointer  data)
{
  gboolean dormant = FALSE;
  g_autoptr(PostMessage) m = post_message_new_from_string ("after the reset");
  g_autoptr(GError) error = NULL;
  const GError *why;

  establish (fx->client);
  wait_until_count (&fx->accepted->len, 1, "accept");
  g_signal_connect (fx->client, "notify::state", G_CALLBACK (state_changed_cb), &dormant);

  /* The server says something first: a reset of a connection whose peer
   * never sent a byte is its listener's refusal (the carrier closes with
   * POST_ERROR_CONNECTION_REFUSED, contract refusal/listener), not a lost
   * transport. */
  {
    g_autoptr(PostMessage) hello = post_message_new_from_string ("hello");
    g_autoptr(PostMessage) got = NULL;

    g_assert_true (post_carrier_send (fx->accepted->pdata[0], hello, &error));
    g_assert_no_error (error);
    got = receive_one (fx->client);
    assert_content (got, "hello");
  }

  /* The server resets the connection: the client's association can
   * establish it again, so the carrier goes dormant, not closed. */
  post_carrier_abort (fx->accepted->pdata[0]);
  {
    Received r = { 0 };

    post_carrier_receive_async (fx->client, NULL, received_cb, &r);
    wait_for (&dormant, "dormant");
    wait_for (&r.done, "pending receive fails");
    g_assert_nonnull (r.error);
    g_clear_error (&r.error);
  }
  g_assert_cmpint (post_carrier_get_state (fx->client), ==, POST_CARRIER_STATE_DORMANT);
  why = post_carrier_get_error (fx->client);
  g_assert_nonnull (why);
  g_test_message ("dormant because: %s", why->message);

  /* Sending on a dormant carrier queues; establishing reactivates it. */
  g_assert_true (post_carrier_send (fx->client, m, &error));
  g_assert_no_error (error);
  establish (fx->client);
  wait_until_count (&fx->accepted->len, 2, "second accept");
  {
    g_autoptr(PostMessage) got = receive_one (fx->accepted->pdata[1]);
    assert_content (got, "after the reset");
  }
  g_assert_null (post_carrier_get_error (fx->client));
}


/* RFC 9622 direction: a unidirectional carrier is a source or a sink. */
static void
test_direction (Fixture       *fx,
                gconstpointer  data)
{
  g_autoptr(PostConfiguration) send_only = post_configuration_new ();
  g_autoptr(PostConfiguration) receive_only = post_configuration_new ();
  g_autoptr(PostRemote) remote = remote_for (fx->listener);
  g_autoptr(PostCarrier) sender = NULL;
  g_autoptr(PostCarrier) receiver = NULL;
  g_autoptr(PostMessage) m = post_message_new_from_string ("one way");
  g_autoptr(GError) error = NULL;

  g_assert_true (post_configuration_set_direction (send_only, POST_DIRECTION_UNIDIRECTIONAL_SEND, NULL));
  g_assert_true (post_configuration_set_direction (receive_only, POST_DIRECTION_UNIDIRECTIONAL_RECEIVE, NULL));
  sender = post_carrier_initiate (NULL, remote, send_only);
  receiver = post_carrier_initiate (NULL, remote, receive_only);
  g_assert_cmpint (post_carrier_get_role (sender), ==, POST_CARRIER_ROLE_SOURCE);
  g_assert_cmpint (post_carrier_get_role (receiver), ==, POST_CARRIER_ROLE_SINK);
  {
    Received r = { 0 };

    post_carrier_receive_async (sender, NULL, received_cb, &r);
    wait_for (&r.done, "receive on a send-only carrier");
    g_assert_error (r.error, POST_ERROR, POST_ERROR_WRONG_ROLE);
    g_clear_error (&r.error);
  }
  g_assert_false (post_carrier_send (receiver, m, &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_WRONG_ROLE);
  post_carrier_abort (sender);
  post_carrier_abort (receiver);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/carrier/tcp/echo-framed", Fixture, GINT_TO_POINTER (TRUE),
              fixture_setup, test_echo_framed, fixture_teardown);
  g_test_add ("/carrier/tcp/large-message", Fixture, GINT_TO_POINTER (TRUE),
              fixture_setup, test_large_message, fixture_teardown);
  g_test_add ("/carrier/tcp/events", Fixture, GINT_TO_POINTER (TRUE),
              fixture_setup, test_events, fixture_teardown);
  g_test_add ("/carrier/tcp/received-reuse", Fixture, GINT_TO_POINTER (TRUE),
              fixture_setup, test_received_reuse, fixture_teardown);
  g_test_add ("/carrier/tcp/niceness", Fixture, GINT_TO_POINTER (TRUE),
              fixture_setup, test_niceness_order, fixture_teardown);
  g_test_add ("/carrier/tcp/partial-receive", Fixture, GINT_TO_POINTER (TRUE),
              fixture_setup, test_partial_receive, fixture_teardown);
  g_test_add ("/carrier/tcp/partial-send", Fixture, GINT_TO_POINTER (TRUE),
              fixture_setup, test_partial_send, fixture_teardown);
  g_test_add ("/carrier/tcp/passive-close", Fixture, GINT_TO_POINTER (FALSE),
              fixture_setup, test_passive_close, fixture_teardown);
  g_test_add ("/carrier/tcp/abort", Fixture, GINT_TO_POINTER (FALSE),
              fixture_setup, test_abort_drops_queue, fixture_teardown);
  g_test_add ("/carrier/tcp/dormant", Fixture, GINT_TO_POINTER (FALSE),
              fixture_setup, test_dormant, fixture_teardown);
  g_test_add ("/carrier/tcp/direction", Fixture, GINT_TO_POINTER (FALSE),
              fixture_setup, test_direction, fixture_teardown);
  g_test_add_func ("/carrier/tcp/stream-mode", test_stream_mode);
  g_test_add_func ("/carrier/tcp/roles", test_roles);
  g_test_add_func ("/carrier/tcp/responder", test_responder);
  g_test_add_func ("/carrier/tcp/unreachable", test_unreachable);
  g_test_add_func ("/carrier/tcp/selection-failure", test_selection_failure);
  g_test_add_func ("/carrier/tcp/bad-resolve", test_bad_resolve);

  return g_test_run ();
}
