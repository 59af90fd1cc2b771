/* test-quic-datagram.c: messages with reliable=FALSE and a lifetime as
 * QUIC DATAGRAM frames (RFC 9221) on a quic carrier: delivered whole on the
 * carrier (stream) they were sent on, sent / acked / expired events, the
 * fallbacks to the stream (datagrams turned off, reliable or lifetime-less
 * messages, too large), datagrams for a stream the peer does not know, and
 * niceness across the streams of one connection.
 *
 * A message received as a datagram has sequence 0 (it has no place in the
 * stream's order); one received on the stream has its number (>= 1): that
 * is how these tests tell which way a message travelled.
 *
 * Certificates are made at test time with certtool in a temporary
 * directory; everything runs on 127.0.0.1.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <post.h>
#include <string.h>
#include <signal.h>

#include "post-test-util.h"

#define WAIT_TIMEOUT_S 15
#define LONG_LIFETIME  (30 * G_USEC_PER_SEC)
#define BIG_SIZE       (2 * 1024 * 1024)

static char *dir;  /* the certificates */

/* ---- helpers ------------------------------------------------------------- */

/* An unreliable message with a lifetime: a datagram candidate. */
static PostMessage *
unreliable_message (const char *text,
                    gint64      lifetime_us)
{
  PostMessage *message = post_message_new_from_string (text);
  g_autoptr(GError) error = NULL;

  g_assert_true (post_message_set_reliable (message, FALSE, &error));
  if (lifetime_us > 0)
    g_assert_true (post_message_set_lifetime (message, lifetime_us, &error));
  g_assert_no_error (error);
  return message;
}

/* ---- the server: records how and where each message arrived -------------- */

typedef struct _Server Server;

typedef struct {
  Server      *server;
  PostCarrier *carrier;  /* (owned) */
  char         tag;      /* the first byte of the first message on it */
} Child;

struct _Server {
  GPtrArray *children;   /* (element-type Child) */
  gboolean   echo;       /* echo datagrams back as datagrams */
  guint      n_carriers;
  guint      n_stream;   /* messages received on the stream (sequence >= 1) */
  guint      n_dgram;    /* messages received as datagrams (sequence 0) */
  guint      n_misrouted;
  guint      n_big;
  GString   *big_order;  /* the tag of each big message, in order of arrival */
  GString   *received;   /* every message's text, in arrival order, ';'-separated */
};

static void
child_free (Child *child)
{
  post_carrier_abort (child->carrier);
  g_object_unref (child->carrier);
  g_free (child);
}

static gboolean
server_message_cb (PostCarrier *carrier,
                   PostMessage *message,
                   gpointer     user_data)
{
  Child *child = user_data;
  Server *server = child->server;
  gsize size;
  const char *data = g_bytes_get_data (post_message_get_content (message), &size);

  g_assert_true (post_message_is_complete (message));
  g_assert_cmpuint (size, >, 0);
  if (child->tag == 0)
    child->tag = data[0];
  else if (data[0] != child->tag)
    server->n_misrouted++;
  if (size >= BIG_SIZE)
    {
      g_string_append_c (server->big_order, data[0]);
      server->n_big++;
      return TRUE;
    }
  g_string_append_len (server->received, data, size);
  g_string_append_c (server->received, ';');
  if (post_message_get_sequence (message) == 0)
    {
      server->n_dgram++;
      if (server->echo)
        {
          g_autoptr(PostMessage) reply = post_message_new (post_message_get_content (message));

          g_assert_true (post_message_set_reliable (reply, FALSE, NULL));
          g_assert_true (post_message_set_lifetime (reply, LONG_LIFETIME, NULL));
          g_assert_true (post_carrier_send (carrier, reply, NULL));
        }
    }
  else
    server->n_stream++;
  return TRUE;
}

static gboolean
server_incoming_cb (PostCarrier *listener,
                    PostCarrier *carrier,
                    gpointer     user_data)
{
  Server *server = user_data;
  Child *child = g_new0 (Child, 1);

  child->server = server;
  child->carrier = g_object_ref (carrier);
  g_ptr_array_add (server->children, child);
  server->n_carriers++;
  post_carrier_ready (carrier, server_message_cb, child, NULL);
  /* A stream the peer forks arrives as an incoming carrier of this one. */
  g_signal_connect (carrier, "incoming", G_CALLBACK (server_incoming_cb), server);
  return TRUE;
}

static PostCarrier *
server_listen (Server            *server,
               PostConfiguration *config)
{
  g_autoptr(PostLocal) local = post_test_server_local ("quic://127.0.0.1:0", dir, "server");
  g_autoptr(GError) error = NULL;
  PostCarrier *listener = post_carrier_listen (local, config, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (post_carrier_get_stack_name (listener), ==, "quic");
  server->children = g_ptr_array_new_with_free_func ((GDestroyNotify) child_free);
  server->big_order = g_string_new (NULL);
  server->received = g_string_new (NULL);
  g_signal_connect (listener, "incoming", G_CALLBACK (server_incoming_cb), server);
  return listener;
}

static void
server_clear (Server *server)
{
  g_clear_pointer (&server->children, g_ptr_array_unref);
  g_string_free (server->big_order, TRUE);
  g_string_free (server->received, TRUE);
}

/* ---- the client ------------------------------------------------------------ */

typedef struct {
  guint    done;
  GError  *error;
  guint    n_received;
  guint    n_dgram;      /* received as datagrams */
  guint    n_misrouted;
  char     tag;
} Client;

/* Per message: what happened to it, in order ("s" sent, "a" acked, "x"
 * expired, "e" send error), and counters over all of them. */
typedef struct {
  guint n_sent, n_acked, n_expired, n_errors, n_resolved;
} Events;

static void
established_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  Client *c = user_data;

  post_carrier_establish_finish (POST_CARRIER (source), result, &c->error);
  c->done = 1;
}

static gboolean
client_message_cb (PostCarrier *carrier,
                   PostMessage *message,
                   gpointer     user_data)
{
  Client *c = user_data;
  const char *data = g_bytes_get_data (post_message_get_content (message), NULL);

  c->n_received++;
  if (data[0] != c->tag)
    c->n_misrouted++;
  if (post_message_get_sequence (message) == 0)
    c->n_dgram++;
  return TRUE;
}

static void
string_free (gpointer string)
{
  g_string_free (string, TRUE);
}

static GString *
message_log (PostMessage *message)
{
  GString *log = g_object_get_data (G_OBJECT (message), "log");

  if (log == NULL)
    {
      log = g_string_new (NULL);
      g_object_set_data_full (G_OBJECT (message), "log", log, string_free);
    }
  return log;
}

static void
sent_cb (PostMessage *message,
         Events      *events)
{
  g_string_append_c (message_log (message), 's');
  events->n_sent++;
  events->n_resolved++;
}

static void
acked_cb (PostMessage *message,
          Events      *events)
{
  g_string_append_c (message_log (message), 'a');
  events->n_acked++;
}

static void
expired_cb (PostMessage *message,
            Events      *events)
{
  g_string_append_c (message_log (message), 'x');
  events->n_expired++;
  events->n_resolved++;
}

static void
send_error_cb (PostMessage  *message,
               const GError *error,
               Events       *events)
{
  g_string_append_c (message_log (message), 'e');
  events->n_errors++;
  events->n_resolved++;
}

static void
track (PostMessage *message,
       Events      *events,
       gboolean     want_acked)
{
  g_signal_connect (message, "sent", G_CALLBACK (sent_cb), events);
  if (want_acked)
    g_signal_connect (message, "acked", G_CALLBACK (acked_cb), events);
  g_signal_connect (message, "expired", G_CALLBACK (expired_cb), events);
  g_signal_connect (message, "send-error", G_CALLBACK (send_error_cb), events);
}

static const char *
log_of (PostMessage *message)
{
  GString *log = g_object_get_data (G_OBJECT (message), "log");

  return log != NULL ? log->str : "";
}

typedef struct {
  guint   done;
  GError *error;
} SendResult;

static void
sent_async_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  SendResult *r = user_data;

  if (!post_carrier_send_finish (POST_CARRIER (source), result, &r->error))
    g_assert_nonnull (r->error);
  r->done++;
}

static PostCarrier *
connect_client (guint16            port,
                PostConfiguration *config,
                Client            *c,
                GPtrArray         *before)
{
  PostCarrier *carrier = post_test_initiate ("quic", port, config);

  c->tag = 'A';
  for (guint i = 0; before != NULL && i < before->len; i++)
    g_assert_true (post_carrier_send (carrier, before->pdata[i], NULL));
  post_carrier_ready (carrier, client_message_cb, c, NULL);
  post_carrier_establish_async (carrier, NULL, established_cb, c);
  return carrier;
}

static PostCarrier *
fork_carrier (PostCarrier *carrier,
              Client      *c2)
{
  PostTestFork r = { 0 };

  post_carrier_fork_async (carrier, NULL, post_test_forked_cb, &r);
  post_test_wait_count (&r.done, 1, "the fork", WAIT_TIMEOUT_S);
  g_assert_no_error (r.error);
  c2->tag = 'B';
  post_carrier_ready (r.carrier, client_message_cb, c2, NULL);
  return r.carrier;
}

static void
send_text (PostCarrier *carrier,
           const char  *text)
{
  g_autoptr(PostMessage) message = post_message_new_from_string (text);

  g_assert_true (post_carrier_send (carrier, message, NULL));
}

/* ---- (a) datagrams on the carrier they were sent on ------------------------ */

#define N_DGRAMS 10

static void
test_echo (void)
{
  g_autoptr(PostConfiguration) config = post_test_client_config (dir);
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostCarrier) a = NULL;
  g_autoptr(PostCarrier) b = NULL;
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func (g_object_unref);
  Server server = { 0 };
  Client ca = { 0 }, cb = { 0 };
  Events events = { 0 };

  server.echo = TRUE;
  listener = server_listen (&server, NULL);
  a = connect_client (post_test_port_of (listener), config, &ca, NULL);
  post_test_wait_count (&ca.done, 1, "establishment", WAIT_TIMEOUT_S);
  g_assert_no_error (ca.error);
  g_assert_true (post_carrier_get_capabilities (a) & POST_STACK_CAP_PER_MSG_RELIABILITY);
  b = fork_carrier (a, &cb);

  /* The peer learns of each stream with its first bytes. */
  send_text (a, "A: stream");
  send_text (b, "B: stream");
  post_test_wait_count (&server.n_stream, 2, "the stream messages", WAIT_TIMEOUT_S);
  g_assert_cmpuint (server.n_carriers, ==, 2);

  for (guint i = 0; i < N_DGRAMS; i++)
    for (guint k = 0; k < 2; k++)
      {
        g_autofree char *text = g_strdup_printf ("%c: datagram %u", k ? 'B' : 'A', i);
        PostMessage *m = unreliable_message (text, LONG_LIFETIME);

        track (m, &events, TRUE);
        g_assert_true (post_carrier_send (k ? b : a, m, NULL));
        g_ptr_array_add (messages, m);
      }
  post_test_wait_count (&server.n_dgram, 2 * N_DGRAMS, "the datagrams", WAIT_TIMEOUT_S);
  g_assert_cmpuint (server.n_stream, ==, 2);
  g_assert_cmpuint (server.n_misrouted, ==, 0);
  /* Echoed as datagrams, each on its own carrier. */
  post_test_wait_count (&ca.n_dgram, N_DGRAMS, "the echoes on A", WAIT_TIMEOUT_S);
  post_test_wait_count (&cb.n_dgram, N_DGRAMS, "the echoes on B", WAIT_TIMEOUT_S);
  g_assert_cmpuint (ca.n_received, ==, N_DGRAMS);
  g_assert_cmpuint (cb.n_received, ==, N_DGRAMS);
  g_assert_cmpuint (ca.n_misrouted + cb.n_misrouted, ==, 0);

  /* Loopback loses nothing: every datagram was sent, then acknowledged. */
  post_test_wait_count (&events.n_acked, 2 * N_DGRAMS, "the acked events", WAIT_TIMEOUT_S);
  g_assert_cmpuint (events.n_sent, ==, 2 * N_DGRAMS);
  g_assert_cmpuint (events.n_expired + events.n_errors, ==, 0);
  for (guint i = 0; i < messages->len; i++)
    {
      g_assert_cmpstr (log_of (messages->pdata[i]), ==, "sa");
      g_assert_true (post_message_is_acked (messages->pdata[i]));
    }

  post_carrier_abort (b);
  post_carrier_abort (a);
  post_test_spin (20);
  server_clear (&server);
  post_carrier_abort (listener);
}

/* ---- (b) lifetimes: expired, never sent late ----------------------------------- */

static void
test_expiry (void)
{
  g_autoptr(PostConfiguration) config = post_test_client_config (dir);
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostCarrier) a = NULL;
  g_autoptr(GPtrArray) early = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) lasting = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) queued = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) flood = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) before = g_ptr_array_new ();
  g_autofree char *filler = g_strnfill (1000, 'f');
  Server server = { 0 };
  Client ca = { 0 };
  Events e_early = { 0 }, e_lasting = { 0 }, e_queued = { 0 }, e_flood = { 0 };
  SendResult r_late = { 0 }, r_lasting = { 0 };

  listener = server_listen (&server, NULL);

  /* Queued before the handshake, with a lifetime of 1 ms, and the main loop
   * only runs 20 ms later: the handshake cannot have finished, they
   * expire.  Those with a long lifetime behind them go as datagrams. */
  g_ptr_array_add (before, post_message_new_from_string ("A: stream"));
  for (guint i = 0; i < 5; i++)
    {
      PostMessage *m = unreliable_message ("A: too late", 1000);
      PostMessage *l = unreliable_message ("A: lasting", LONG_LIFETIME);

      track (m, &e_early, FALSE);
      track (l, &e_lasting, FALSE);
      g_ptr_array_add (early, m);
      g_ptr_array_add (lasting, l);
      g_ptr_array_add (before, m);
      g_ptr_array_add (before, l);
    }
  a = connect_client (post_test_port_of (listener), config, &ca, before);
  g_object_unref (before->pdata[0]);
  /* post_carrier_send_async() completes when the datagram's fate is known. */
  {
    g_autoptr(PostMessage) m = unreliable_message ("A: too late, async", 1000);

    post_carrier_send_async (a, m, NULL, sent_async_cb, &r_late);
  }
  g_usleep (20000);
  post_test_wait_count (&ca.done, 1, "establishment", WAIT_TIMEOUT_S);
  g_assert_no_error (ca.error);
  post_test_wait_count (&e_early.n_resolved, 5, "the expired events", WAIT_TIMEOUT_S);
  post_test_wait_count (&e_lasting.n_resolved, 5, "the sent events", WAIT_TIMEOUT_S);
  g_assert_cmpuint (e_early.n_expired, ==, 5);
  g_assert_cmpuint (e_early.n_sent + e_early.n_errors, ==, 0);
  g_assert_cmpuint (e_lasting.n_sent, ==, 5);
  g_assert_cmpuint (e_lasting.n_expired + e_lasting.n_errors, ==, 0);
  for (guint i = 0; i < early->len; i++)
    {
      g_assert_cmpstr (log_of (early->pdata[i]), ==, "x");
      g_assert_true (post_message_is_expired (early->pdata[i]));
    }
  post_test_wait_count (&server.n_dgram, 5, "the lasting datagrams", WAIT_TIMEOUT_S);
  g_assert_null (strstr (server.received->str, "too late"));
  post_test_wait_count (&r_late.done, 1, "the expired send", WAIT_TIMEOUT_S);
  g_assert_error (r_late.error, POST_ERROR, POST_ERROR_EXPIRED);
  {
    g_autoptr(PostMessage) m = unreliable_message ("A: lasting, async", LONG_LIFETIME);

    post_carrier_send_async (a, m, NULL, sent_async_cb, &r_lasting);
  }
  post_test_wait_count (&r_lasting.done, 1, "the datagram sent", WAIT_TIMEOUT_S);
  g_assert_no_error (r_lasting.error);
  post_test_wait_count (&server.n_dgram, 6, "the async datagram", WAIT_TIMEOUT_S);

  /* Handed to the stack at once (immediate), then the main loop waits
   * 20 ms: they expire in the stack's datagram queue, never sent late. */
  for (guint i = 0; i < 5; i++)
    {
      PostMessage *m = unreliable_message ("A: stale in the stack", 1000);

      g_assert_true (post_message_set_immediate (m, TRUE, NULL));
      track (m, &e_queued, FALSE);
      g_assert_true (post_carrier_send (a, m, NULL));
      g_ptr_array_add (queued, m);
    }
  g_usleep (20000);
  post_test_wait_count (&e_queued.n_resolved, 5, "the events of the queued datagrams", WAIT_TIMEOUT_S);
  g_assert_cmpuint (e_queued.n_expired, ==, 5);
  g_assert_cmpuint (e_queued.n_sent + e_queued.n_errors, ==, 0);

  /* A flood that congestion control cannot let through in its 10 ms
   * lifetime: each message is either sent or expired, exactly once. */
  for (guint i = 0; i < 2000; i++)
    {
      g_autofree char *text = g_strdup_printf ("A: flood %u %s", i, filler);
      PostMessage *m = unreliable_message (text, 10000);

      track (m, &e_flood, FALSE);
      g_assert_true (post_carrier_send (a, m, NULL));
      g_ptr_array_add (flood, m);
    }
  post_test_wait_count (&e_flood.n_resolved, flood->len, "the fate of every flooded datagram", WAIT_TIMEOUT_S);
  g_assert_cmpuint (e_flood.n_errors, ==, 0);
  g_assert_cmpuint (e_flood.n_sent + e_flood.n_expired, ==, flood->len);
  for (guint i = 0; i < flood->len; i++)
    {
      const char *log = log_of (flood->pdata[i]);

      g_assert_true (g_str_equal (log, "s") || g_str_equal (log, "x"));
    }
  g_test_message ("flood: %u sent, %u expired", e_flood.n_sent, e_flood.n_expired);
  post_test_spin (50);
  g_assert_cmpuint (e_flood.n_resolved, ==, flood->len);   /* nothing twice */
  g_clear_error (&r_late.error);
  g_assert_cmpuint (server.n_misrouted, ==, 0);
  g_assert_null (strstr (server.received->str, "stale"));

  post_carrier_abort (a);
  post_test_spin (20);
  server_clear (&server);
  post_carrier_abort (listener);
}

/* ---- (c) the listener turns datagrams off: all on the stream ------------------ */

static void
test_fallback (void)
{
  g_autoptr(PostConfiguration) config = post_test_client_config (dir);
  g_autoptr(PostConfiguration) server_config = post_configuration_new ();
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostCarrier) a = NULL;
  g_autoptr(GError) error = NULL;
  Server server = { 0 };
  Client ca = { 0 };
  Events events = { 0 };

  g_assert_true (post_configuration_set_option (server_config, "quic.datagrams",
                                                g_variant_new_boolean (FALSE), &error));
  g_assert_no_error (error);
  listener = server_listen (&server, server_config);
  a = connect_client (post_test_port_of (listener), config, &ca, NULL);
  post_test_wait_count (&ca.done, 1, "establishment", WAIT_TIMEOUT_S);
  g_assert_no_error (ca.error);
  send_text (a, "A: stream");
  for (guint i = 0; i < N_DGRAMS; i++)
    {
      g_autoptr(PostMessage) m = unreliable_message ("A: no datagrams here", LONG_LIFETIME);

      track (m, &events, TRUE);
      g_assert_true (post_carrier_send (a, m, NULL));
    }
  post_test_wait_count (&server.n_stream, N_DGRAMS + 1, "the messages on the stream", WAIT_TIMEOUT_S);
  post_test_wait_count (&events.n_acked, N_DGRAMS, "the acked events", WAIT_TIMEOUT_S);
  g_assert_cmpuint (server.n_dgram, ==, 0);
  g_assert_cmpuint (events.n_sent, ==, N_DGRAMS);
  g_assert_cmpuint (events.n_expired + events.n_errors, ==, 0);

  post_carrier_abort (a);
  post_test_spin (20);
  server_clear (&server);
  post_carrier_abort (listener);
}

/* ---- (d), (e) reliable, lifetime-less and too large messages: the stream ------- */

static void
test_stream_cases (void)
{
  g_autoptr(PostConfiguration) config = post_test_client_config (dir);
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostCarrier) a = NULL;
  g_autoptr(PostMessage) reliable = post_message_new_from_string ("A: reliable with a lifetime");
  g_autoptr(PostMessage) no_lifetime = unreliable_message ("A: unreliable without lifetime", 0);
  g_autoptr(PostMessage) large = NULL;
  g_autoptr(PostMessage) small = unreliable_message ("A: small datagram", LONG_LIFETIME);
  g_autofree char *large_text = g_strnfill (4000, 'L');
  Server server = { 0 };
  Client ca = { 0 };
  Events events = { 0 };

  large_text[0] = 'A';
  large = unreliable_message (large_text, LONG_LIFETIME);
  g_assert_true (post_message_set_lifetime (reliable, LONG_LIFETIME, NULL));
  g_assert_true (post_message_get_reliable (reliable));
  g_assert_false (post_message_get_reliable (no_lifetime));
  listener = server_listen (&server, NULL);
  a = connect_client (post_test_port_of (listener), config, &ca, NULL);
  post_test_wait_count (&ca.done, 1, "establishment", WAIT_TIMEOUT_S);
  g_assert_no_error (ca.error);

  track (reliable, &events, FALSE);
  track (no_lifetime, &events, FALSE);
  track (large, &events, FALSE);
  track (small, &events, FALSE);
  g_assert_true (post_carrier_send (a, reliable, NULL));
  g_assert_true (post_carrier_send (a, no_lifetime, NULL));
  g_assert_true (post_carrier_send (a, large, NULL));
  g_assert_true (post_carrier_send (a, small, NULL));
  post_test_wait_count (&server.n_stream, 3, "the stream messages", WAIT_TIMEOUT_S);
  post_test_wait_count (&server.n_dgram, 1, "the one datagram", WAIT_TIMEOUT_S);
  post_test_wait_count (&events.n_sent, 4, "the sent events", WAIT_TIMEOUT_S);
  g_assert_cmpuint (events.n_expired + events.n_errors, ==, 0);
  g_assert_nonnull (strstr (server.received->str, "A: reliable with a lifetime;"));
  g_assert_nonnull (strstr (server.received->str, "A: unreliable without lifetime;"));
  g_assert_nonnull (strstr (server.received->str, large_text));
  g_assert_nonnull (strstr (server.received->str, "A: small datagram;"));

  post_carrier_abort (a);
  post_test_spin (20);
  server_clear (&server);
  post_carrier_abort (listener);
}

/* ---- (f) datagrams for a stream the peer does not know ------------------------- */

static void
test_unknown_stream (void)
{
  g_autoptr(PostConfiguration) config = post_test_client_config (dir);
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostCarrier) a = NULL;
  g_autoptr(PostCarrier) b = NULL;
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func (g_object_unref);
  Server server = { 0 };
  Client ca = { 0 }, cb = { 0 };
  Events events = { 0 };

  listener = server_listen (&server, NULL);
  a = connect_client (post_test_port_of (listener), config, &ca, NULL);
  post_test_wait_count (&ca.done, 1, "establishment", WAIT_TIMEOUT_S);
  g_assert_no_error (ca.error);
  send_text (a, "A: stream");
  post_test_wait_count (&server.n_stream, 1, "the stream message", WAIT_TIMEOUT_S);

  /* A new stream that never carried a byte: the peer has not seen it, so
   * its datagrams reach no carrier (QUIC sent and acknowledged them; the
   * peer keeps a few in case the stream's first bytes come late, then
   * drops them). */
  b = fork_carrier (a, &cb);
  for (guint i = 0; i < N_DGRAMS; i++)
    {
      PostMessage *m = unreliable_message ("B: for an unknown stream", LONG_LIFETIME);

      track (m, &events, TRUE);
      g_assert_true (post_carrier_send (b, m, NULL));
      g_ptr_array_add (messages, m);
    }
  post_test_wait_count (&events.n_acked, N_DGRAMS, "the acked events", WAIT_TIMEOUT_S);

  /* The connection is unharmed: a datagram and a message on A arrive. */
  {
    g_autoptr(PostMessage) m = unreliable_message ("A: after the dropped ones", LONG_LIFETIME);

    g_assert_true (post_carrier_send (a, m, NULL));
    send_text (a, "A: stream again");
  }
  post_test_wait_count (&server.n_stream, 2, "the second stream message", WAIT_TIMEOUT_S);
  post_test_wait_count (&server.n_dgram, 1, "the datagram on A", WAIT_TIMEOUT_S);
  g_assert_null (strstr (server.received->str, "unknown stream"));
  g_assert_cmpuint (server.n_carriers, ==, 1);
  g_assert_cmpuint (post_carrier_get_state (a), ==, POST_CARRIER_STATE_ACTIVE);
  g_assert_cmpuint (post_carrier_get_state (b), ==, POST_CARRIER_STATE_ACTIVE);

  post_carrier_abort (b);
  post_carrier_abort (a);
  post_test_spin (20);
  server_clear (&server);
  post_carrier_abort (listener);
}

/* ---- (g) niceness across the streams of one connection ------------------------- */

static void
test_niceness (void)
{
  g_autoptr(PostConfiguration) config = post_test_client_config (dir);
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostCarrier) a = NULL;
  g_autoptr(PostCarrier) b = NULL;
  g_autoptr(PostMessage) nice = NULL;
  g_autoptr(PostMessage) urgent = NULL;
  g_autofree char *text_a = g_strnfill (BIG_SIZE, 'A');
  g_autofree char *text_b = g_strnfill (BIG_SIZE, 'B');
  Server server = { 0 };
  Client ca = { 0 }, cb = { 0 };

  listener = server_listen (&server, NULL);
  a = connect_client (post_test_port_of (listener), config, &ca, NULL);
  post_test_wait_count (&ca.done, 1, "establishment", WAIT_TIMEOUT_S);
  g_assert_no_error (ca.error);
  b = fork_carrier (a, &cb);
  send_text (a, "A: stream");
  send_text (b, "B: stream");
  post_test_wait_count (&server.n_stream, 2, "the stream messages", WAIT_TIMEOUT_S);

  /* Both at once; the first stream's message is the nicer one, and is
   * queued first: it must still finish last. */
  nice = post_message_new_from_string (text_a);
  urgent = post_message_new_from_string (text_b);
  g_assert_true (post_message_set_niceness (nice, 10, NULL));
  g_assert_true (post_carrier_send (a, nice, NULL));
  g_assert_true (post_carrier_send (b, urgent, NULL));
  post_test_wait_count (&server.n_big, 2, "the big messages", WAIT_TIMEOUT_S);
  g_assert_cmpstr (server.big_order->str, ==, "BA");

  /* And the other way round, on the same streams. */
  g_clear_object (&nice);
  g_clear_object (&urgent);
  g_string_truncate (server.big_order, 0);
  nice = post_message_new_from_string (text_b);
  urgent = post_message_new_from_string (text_a);
  g_assert_true (post_message_set_niceness (nice, 10, NULL));
  g_assert_true (post_carrier_send (b, nice, NULL));
  g_assert_true (post_carrier_send (a, urgent, NULL));
  post_test_wait_count (&server.n_big, 4, "the big messages again", WAIT_TIMEOUT_S);
  g_assert_cmpstr (server.big_order->str, ==, "AB");
  g_assert_cmpuint (server.n_misrouted, ==, 0);

  post_carrier_abort (b);
  post_carrier_abort (a);
  post_test_spin (20);
  server_clear (&server);
  post_carrier_abort (listener);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  signal (SIGPIPE, SIG_IGN);
  g_test_init (&argc, &argv, NULL);
  if (!post_test_have_stack ("quic"))
    {
      g_test_skip ("the quic plugin is not built");
      return g_test_run ();
    }
  dir = post_test_certs_make ("post-quic-dgram");

  g_test_add_func ("/quic/datagram/echo", test_echo);
  g_test_add_func ("/quic/datagram/expiry", test_expiry);
  g_test_add_func ("/quic/datagram/fallback", test_fallback);
  g_test_add_func ("/quic/datagram/stream-cases", test_stream_cases);
  g_test_add_func ("/quic/datagram/unknown-stream", test_unknown_stream);
  g_test_add_func ("/quic/datagram/niceness", test_niceness);

  ret = g_test_run ();
  post_test_certs_remove (dir);
  g_clear_pointer (&dir, g_free);
  return ret;
}
