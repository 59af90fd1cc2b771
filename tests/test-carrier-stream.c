/* test-carrier-stream.c: PostCarrierStream, a carrier as a GIOStream, with
 * GIO's own stream code on top: g_output_stream_splice_async() as an echo
 * server, GDataInputStream reading lines, the synchronous calls, a peer
 * that aborts, cancellation, closing, and the wrong thread.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>
#include <string.h>

#include "post-test-util.h"

#define N_LINES 3000

typedef struct
{
  PostCarrier *listener;
  GPtrArray   *streams;        /* (element-type GIOStream) the server's */
  PostConfiguration *config;   /* the client's: stream framing */
  char        *certs;
  gboolean     abort_after_hello;
} Fixture;

static PostConfiguration *
stream_config (PostConfiguration *base)
{
  PostConfiguration *config = base ? base : post_configuration_new ();

  g_assert_true (post_configuration_set_framing (config, POST_FRAMING_STREAM, NULL));
  return config;
}

static void
spliced_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  /* the echo ends with the client's direction; errors only in the reset case */
  g_output_stream_splice_finish (G_OUTPUT_STREAM (source), result, &error);
}

static gboolean
incoming_cb (PostCarrier *listener,
             PostCarrier *carrier,
             Fixture     *fx)
{
  GIOStream *stream = post_carrier_stream_new (carrier);

  g_ptr_array_add (fx->streams, stream);
  if (fx->abort_after_hello)
    {
      g_assert_true (g_output_stream_write_all (g_io_stream_get_output_stream (stream),
                                                "hello", 5, NULL, NULL, NULL));
      /* (the write completed: the bytes were handed to the network) */
      post_carrier_abort (carrier);
      return TRUE;
    }
  /* GIO's splice is the whole echo server */
  g_output_stream_splice_async (g_io_stream_get_output_stream (stream),
                                g_io_stream_get_input_stream (stream),
                                G_OUTPUT_STREAM_SPLICE_CLOSE_SOURCE | G_OUTPUT_STREAM_SPLICE_CLOSE_TARGET,
                                G_PRIORITY_DEFAULT, NULL, spliced_cb, fx);
  return TRUE;
}

static void
fixture_set_up (Fixture       *fx,
                gconstpointer  data)
{
  const char *scheme = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(PostLocal) local = NULL;
  g_autofree char *uri = g_strdup_printf ("%s://127.0.0.1:0", scheme);
  g_autoptr(PostConfiguration) server_config = stream_config (NULL);

  fx->streams = g_ptr_array_new_with_free_func (g_object_unref);
  if (g_str_equal (scheme, "tls"))
    {
      fx->certs = post_test_certs_make ("post-stream-");
      local = post_test_server_local (uri, fx->certs, "server");
      fx->config = stream_config (post_test_client_config (fx->certs));
    }
  else
    {
      local = post_local_new_from_uri (uri, &error);
      g_assert_no_error (error);
      fx->config = stream_config (NULL);
    }
  fx->listener = post_carrier_listen (local, server_config, &error);
  g_assert_no_error (error);
  g_signal_connect (fx->listener, "incoming", G_CALLBACK (incoming_cb), fx);
}

static void
fixture_tear_down (Fixture       *fx,
                   gconstpointer  data)
{
  post_carrier_close (fx->listener);
  g_clear_object (&fx->listener);
  g_clear_pointer (&fx->streams, g_ptr_array_unref);
  g_clear_object (&fx->config);
  if (fx->certs != NULL)
    post_test_certs_remove (fx->certs);
  g_clear_pointer (&fx->certs, g_free);
  post_test_spin (20);
}

static GIOStream *
client_stream (Fixture    *fx,
               const char *scheme)
{
  g_autoptr(PostCarrier) carrier = post_test_initiate (scheme, post_test_port_of (fx->listener),
                                                       fx->config);

  return post_carrier_stream_new (carrier);
}

static GBytes *
lines (guint n)
{
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < n; i++)
    g_string_append_printf (text, "line %u of the transfer, with some padding to make it longer\n", i);
  return g_string_free_to_bytes (text);
}

/* ---- echo through GIO's splice, read back with GDataInputStream ---------------------------- */

typedef struct
{
  guint     n_lines;
  gboolean  written;
  gboolean  ended;
  GError   *error;
  GDataInputStream *data;
} LineReader;

static void
line_read_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  LineReader *r = user_data;
  g_autofree char *expected = NULL;
  gsize length;
  g_autofree char *line = g_data_input_stream_read_line_finish (r->data, result, &length, &r->error);

  if (line == NULL)
    {
      r->ended = TRUE;
      return;
    }
  expected = g_strdup_printf ("line %u of the transfer, with some padding to make it longer", r->n_lines);
  g_assert_cmpstr (line, ==, expected);
  r->n_lines++;
  g_data_input_stream_read_line_async (r->data, G_PRIORITY_DEFAULT, NULL, line_read_cb, r);
}

static void
written_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  LineReader *r = user_data;
  g_autoptr(GError) error = NULL;

  g_assert_true (g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error));
  g_assert_no_error (error);
  /* the end of our direction: the server's splice ends and closes its output */
  g_output_stream_close (G_OUTPUT_STREAM (source), NULL, &error);
  g_assert_no_error (error);
  r->written = TRUE;
}

static void
test_splice_echo (Fixture       *fx,
                  gconstpointer  data)
{
  g_autoptr(GIOStream) stream = client_stream (fx, data);
  g_autoptr(GBytes) text = lines (N_LINES);
  LineReader r = { 0, };

  r.data = g_data_input_stream_new (g_io_stream_get_input_stream (stream));
  g_output_stream_write_all_async (g_io_stream_get_output_stream (stream),
                                   g_bytes_get_data (text, NULL), g_bytes_get_size (text),
                                   G_PRIORITY_DEFAULT, NULL, written_cb, &r);
  g_data_input_stream_read_line_async (r.data, G_PRIORITY_DEFAULT, NULL, line_read_cb, &r);
  post_test_wait_count ((guint *) &r.ended, TRUE, "the echo's end", 30);
  g_assert_no_error (r.error);
  g_assert_true (r.written);
  g_assert_cmpuint (r.n_lines, ==, N_LINES);
  g_assert_cmpuint (fx->streams->len, ==, 1);
  g_object_unref (r.data);
  g_assert_true (g_io_stream_close (stream, NULL, NULL));
  g_assert_cmpint (post_carrier_get_state (post_carrier_stream_get_carrier (POST_CARRIER_STREAM (stream))),
                   ==, POST_CARRIER_STATE_CLOSED);
}

/* ---- the synchronous calls run the context (the server's too) --------------------------------- */

static void
test_sync (Fixture       *fx,
           gconstpointer  data)
{
  g_autoptr(GIOStream) stream = client_stream (fx, data);
  g_autoptr(GBytes) text = lines (200);
  g_autoptr(GError) error = NULL;
  gsize size = g_bytes_get_size (text), got = 0;
  g_autofree char *buffer = g_malloc (size + 1);
  gsize n;

  g_assert_true (g_output_stream_write_all (g_io_stream_get_output_stream (stream),
                                            g_bytes_get_data (text, NULL), size, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_output_stream_close (g_io_stream_get_output_stream (stream), NULL, &error));
  g_assert_no_error (error);
  /* until the echo's end: read_all stops at 0 */
  g_assert_true (g_input_stream_read_all (g_io_stream_get_input_stream (stream), buffer, size + 1,
                                          &got, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (buffer, got, g_bytes_get_data (text, NULL), size);
  n = g_input_stream_read (g_io_stream_get_input_stream (stream), buffer, 1, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (n, ==, 0);
}

/* ---- a peer that aborts: an error, never a clean end ----------------------------------------- */

typedef struct
{
  GString *got;
  GError  *error;
  gboolean done;
  char     buffer[64];
} Reader;

static void
read_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Reader *r = user_data;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &r->error);

  if (n <= 0)
    {
      r->done = TRUE;
      return;
    }
  g_string_append_len (r->got, r->buffer, n);
  g_input_stream_read_async (G_INPUT_STREAM (source), r->buffer, sizeof r->buffer, G_PRIORITY_DEFAULT,
                             NULL, read_cb, r);
}

static void
test_peer_aborts (Fixture       *fx,
                  gconstpointer  data)
{
  g_autoptr(GIOStream) stream = NULL;
  Reader r = { g_string_new (NULL), NULL, FALSE, { 0, } };

  fx->abort_after_hello = TRUE;
  stream = client_stream (fx, data);
  g_input_stream_read_async (g_io_stream_get_input_stream (stream), r.buffer, sizeof r.buffer,
                             G_PRIORITY_DEFAULT, NULL, read_cb, &r);
  post_test_wait_count ((guint *) &r.done, TRUE, "the read after the abort", 20);
  g_assert_cmpstr (r.got->str, ==, "hello");
  g_assert_nonnull (r.error);
  g_assert_true (r.error->domain == POST_ERROR);
  g_test_message ("after the abort: %s", r.error->message);
  g_clear_error (&r.error);
  g_string_free (r.got, TRUE);
}

/* ---- cancellation, then the stream goes on ---------------------------------------------------- */

static gboolean
cancel_cb (gpointer data)
{
  g_cancellable_cancel (data);
  return G_SOURCE_REMOVE;
}

static void
cancelled_read_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  Reader *r = user_data;

  g_assert_cmpint (g_input_stream_read_finish (G_INPUT_STREAM (source), result, &r->error), ==, -1);
  r->done = TRUE;
}

static void
test_cancel (Fixture       *fx,
             gconstpointer  data)
{
  g_autoptr(GIOStream) stream = client_stream (fx, data);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  Reader r = { g_string_new (NULL), NULL, FALSE, { 0, } };
  char echo[4];
  gsize got = 0;

  /* nothing was written, so only the cancellation ends this read */
  g_input_stream_read_async (g_io_stream_get_input_stream (stream), r.buffer, sizeof r.buffer,
                             G_PRIORITY_DEFAULT, cancellable, cancelled_read_cb, &r);
  g_timeout_add (50, cancel_cb, cancellable);
  post_test_wait_count ((guint *) &r.done, TRUE, "the cancelled read", 20);
  g_assert_error (r.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_clear_error (&r.error);
  g_string_free (r.got, TRUE);

  g_assert_true (g_output_stream_write_all (g_io_stream_get_output_stream (stream), "ping", 4,
                                            NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_input_stream_read_all (g_io_stream_get_input_stream (stream), echo, 4, &got,
                                          NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (echo, got, "ping", 4);
}

/* ---- the synchronous calls from a thread that does not own the context ------------------------ */

typedef struct
{
  GIOStream *stream;
  GError    *error;
  gboolean   done;
} ThreadRead;

static gboolean
thread_done_cb (gpointer data)
{
  ((ThreadRead *) data)->done = TRUE;
  return G_SOURCE_REMOVE;
}

static gpointer
read_in_thread (gpointer data)
{
  ThreadRead *t = data;
  char byte;

  g_assert_cmpint (g_input_stream_read (g_io_stream_get_input_stream (t->stream), &byte, 1, NULL,
                                        &t->error), ==, -1);
  g_idle_add (thread_done_cb, t);
  return NULL;
}

static void
test_wrong_thread (Fixture       *fx,
                   gconstpointer  data)
{
  g_autoptr(GIOStream) stream = client_stream (fx, data);
  ThreadRead t = { stream, NULL, FALSE };
  GThread *thread;

  /* Nobody runs the context while we wait for the thread: it could take it,
   * but it is not the stream's thread, so it fails at once instead of
   * blocking (and running our sources) until the peer writes */
  thread = g_thread_new ("reader", read_in_thread, &t);
  g_thread_join (thread);
  g_assert_error (t.error, G_IO_ERROR, G_IO_ERROR_FAILED);
  g_clear_error (&t.error);
  post_test_wait_count ((guint *) &t.done, TRUE, "the thread's idle callback", 20);

  /* The same while the main thread runs the context */
  t.done = FALSE;
  thread = g_thread_new ("reader", read_in_thread, &t);
  post_test_wait_count ((guint *) &t.done, TRUE, "the thread's read", 20);
  g_thread_join (thread);
  g_assert_error (t.error, G_IO_ERROR, G_IO_ERROR_FAILED);
  g_clear_error (&t.error);
}

int
main (int argc, char **argv)
{
  const char *schemes[] = { "tcp", "tls" };

  g_test_init (&argc, &argv, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (schemes); i++)
    {
      g_autofree char *splice = g_strdup_printf ("/carrier-stream/%s/splice-echo", schemes[i]);
      g_autofree char *sync = g_strdup_printf ("/carrier-stream/%s/sync", schemes[i]);
      g_autofree char *aborts = g_strdup_printf ("/carrier-stream/%s/peer-aborts", schemes[i]);
      g_autofree char *cancel = g_strdup_printf ("/carrier-stream/%s/cancel", schemes[i]);

      g_test_add (splice, Fixture, schemes[i], fixture_set_up, test_splice_echo, fixture_tear_down);
      g_test_add (sync, Fixture, schemes[i], fixture_set_up, test_sync, fixture_tear_down);
      g_test_add (aborts, Fixture, schemes[i], fixture_set_up, test_peer_aborts, fixture_tear_down);
      g_test_add (cancel, Fixture, schemes[i], fixture_set_up, test_cancel, fixture_tear_down);
    }
  g_test_add ("/carrier-stream/tcp/wrong-thread", Fixture, "tcp", fixture_set_up, test_wrong_thread,
              fixture_tear_down);
  return g_test_run ();
}
