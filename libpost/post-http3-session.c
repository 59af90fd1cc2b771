/* post-http3-session.c: PostHttp3Session, HTTP/3 (RFC 9114) on a quic carrier
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * nghttp3 does the HTTP/3 framing and QPACK; this file moves its bytes
 * between it and the carriers of the QUIC connection, each of which is one
 * QUIC stream in stream framing (POST_FRAMING_STREAM: a direction is one
 * message, ended by the FIN):
 *
 *   the session's carrier       the connection's first bidirectional stream
 *                               (0); it carries nothing (a stream both of
 *                               whose directions ended closes its carrier,
 *                               which then cannot be forked any more) and
 *                               is the one the others are forked from
 *   post_carrier_fork_async     a request stream each (4, 8, …)
 *   post_carrier_fork_source    our control, QPACK encoder and decoder streams
 *   incoming (role SINK)        the peer's unidirectional streams
 *
 * nghttp3 wants QUIC stream ids; the carriers do not show theirs, so the
 * session numbers them as QUIC does (client bidirectional 0, 4, 8…; client
 * unidirectional 2, 6, 10; server unidirectional 3, 7, 11…) in the order
 * it opens or receives them.  The quic stack opens streams in the order
 * they are forked, so our own numbers are the real ones; those of the
 * peer's unidirectional streams only need the right type bits (nghttp3
 * reads the stream type from their first byte).
 *
 * Writing: after every input and every new request, nghttp3_conn_writev_stream
 * is drained; each chunk is copied into a GBytes and sent as a part of the
 * stream's one outgoing message (post_carrier_send_partial_async, the FIN
 * with the last), and acknowledged to nghttp3 at once (the copy, not
 * nghttp3, keeps it until QUIC has it acknowledged).
 *
 * Reading: a stream is read in parts of at most READ_MAX and fed to
 * nghttp3 (post-http3-callbacks.c has its callbacks).  A whole body is
 * held up to the carrier's recv-msg-max-len, beyond which the request
 * fails with POST_ERROR_MESSAGE_TOO_LARGE and its stream is cancelled
 * (H3_REQUEST_CANCELLED from a client, H3_EXCESSIVE_LOAD from a server);
 * a partial body (post_http3_session_request_partial_async) is not read
 * further while BODY_HIGH bytes of it wait for the application, so the
 * quic stack, which extends flow-control credit only for what the core
 * read, holds the peer to its window.
 *
 * Errors: nghttp3 refusing input (bad frames, invalid QPACK, a missing
 * control stream …) is a connection error: every pending request fails
 * with POST_ERROR_PROTOCOL naming nghttp3's error and the HTTP/3 error code
 * (nghttp3_err_infer_quic_app_error_code), and the carriers are aborted
 * with that code (carrier_abort_code: the quic PSI's abort-code property),
 * so the QUIC CONNECTION_CLOSE carries it.  A request stream failing (a
 * reset) fails its request alone.  Everything runs on the carrier's
 * GMainContext; no threads.
 */
#include "config.h"

#include <string.h>

#include "post-error.h"
#include "post-psi.h"
#include "post-transient.h"

#include "post-http3-session-private.h"

G_DEFINE_FINAL_TYPE (PostHttp3Session, post_http3_session, G_TYPE_OBJECT)

static void session_write (PostHttp3Session *self);
static void stream_receive (H3Stream *st);
static void stream_failed (PostHttp3Session *self, H3Stream *st, const GError *error);
static void open_sources (PostHttp3Session *self, PostCarrier *from);

enum { SIGNAL_REQUEST, SIGNAL_REQUEST_ERROR, N_SIGNALS };
static guint signals[N_SIGNALS];

static gboolean
unref_idle_cb (gpointer data)
{
  g_object_unref (data);
  return G_SOURCE_REMOVE;
}

typedef struct
{
  gulong handler;
} Hold;

/* Drops a reference on @carrier from an idle: the session lets go of
 * carriers from within the core's callbacks (a failed send's, a closed
 * signal), where the core still uses the carrier afterwards. */
static void
carrier_unref_later (PostCarrier *carrier)
{
  GSource *idle = g_idle_source_new ();

  g_source_set_callback (idle, unref_idle_cb, carrier, NULL);
  g_source_set_static_name (idle, "[post] HTTP/3 stream released");
  g_source_attach (idle, g_main_context_get_thread_default ());
  g_source_unref (idle);
}

static void
held_closed_cb (PostCarrier  *carrier,
                const GError *error,
                Hold         *hold)
{
  g_signal_handler_disconnect (carrier, hold->handler);
  carrier_unref_later (carrier);
}

/* The session lets go of @carrier (taking the reference), closing it when
 * @close (otherwise its last part's callback will): its last parts may
 * still be queued, and it is held until it closed, so that the core never
 * frees it under a send that fails. */
void
_post_http3_carrier_release (PostCarrier *carrier,
                             gboolean     close)
{
  Hold *hold;

  if (post_carrier_get_state (carrier) == POST_CARRIER_STATE_CLOSED)
    {
      carrier_unref_later (carrier);
      return;
    }
  hold = g_new0 (Hold, 1);
  hold->handler = g_signal_connect_data (carrier, "closed", G_CALLBACK (held_closed_cb), hold,
                                         (GClosureNotify) (void (*) (void)) g_free, 0);
  if (close)
    post_carrier_close (carrier);
}

/* Aborts @carrier with the application error code @code (0: libpost's
 * own) in its RESET_STREAM / STOP_SENDING and, when that ends the QUIC
 * connection, its CONNECTION_CLOSE: the quic plugin's PSIs have an
 * `abort-code` property for it. */
static void
carrier_abort_code (PostCarrier *carrier,
                    guint64      code)
{
  g_autoptr(GPtrArray) transients = code != 0 ? post_carrier_get_transients (carrier) : NULL;

  for (guint i = 0; transients != NULL && i < transients->len; i++)
    {
      PostPsi *psi = post_transient_get_psi (transients->pdata[i]);

      if (psi != NULL && g_object_class_find_property (G_OBJECT_GET_CLASS (psi), "abort-code") != NULL)
        g_object_set (psi, "abort-code", code, NULL);
    }
  post_carrier_abort (carrier);
}

static void
h3_stream_free (gpointer data)
{
  H3Stream *st = data;

  if (st->task != NULL)
    {
      g_task_return_new_error (st->task, POST_ERROR, POST_ERROR_CLOSED,
                               "The HTTP/3 session was closed before the response");
      g_clear_object (&st->task);
    }
  if (st->body_task != NULL)
    {
      g_task_return_new_error (st->body_task, POST_ERROR, POST_ERROR_CLOSED,
                               "The HTTP/3 session was closed before the end of the body");
      g_clear_object (&st->body_task);
    }
  if (st->response != NULL)
    {
      g_hash_table_remove (st->session->responses, st->response);
      g_clear_object (&st->response);
    }
  if (st->carrier != NULL && st->carrier != st->session->carrier)
    carrier_abort_code (st->carrier, st->session->abort_code);
  if (st->carrier != NULL)
    carrier_unref_later (g_steal_pointer (&st->carrier));
  g_clear_object (&st->out);
  g_clear_pointer (&st->body, g_bytes_unref);
  g_clear_pointer (&st->headers, g_ptr_array_unref);
  g_clear_pointer (&st->data, g_byte_array_unref);
  for (guint i = 0; i < G_N_ELEMENTS (st->pseudo); i++)
    g_free (st->pseudo[i]);
  g_free (st);
}

static H3Stream *
stream_add (PostHttp3Session *self,
            gint64            id,
            PostCarrier      *carrier)
{
  H3Stream *st = g_new0 (H3Stream, 1);

  st->id = id;
  st->session = self;
  st->carrier = carrier ? g_object_ref (carrier) : NULL;
  g_hash_table_insert (self->streams, &st->id, st);
  return st;
}

/* ---- the connection failing --------------------------------------------------- */

static void
session_fail (PostHttp3Session *self,
              GError           *error)
{
  GHashTableIter iter;
  H3Stream *st;
  GTask *task;

  if (self->error != NULL)
    {
      g_error_free (error);
      return;
    }
  self->error = error;
  g_debug ("HTTP/3: %s", error->message);
  g_cancellable_cancel (self->cancellable);
  while ((task = g_queue_pop_head (&self->waiting)) != NULL)
    {
      g_task_return_error (task, g_error_copy (error));
      g_object_unref (task);
    }
  g_hash_table_iter_init (&iter, self->streams);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &st))
    {
      if (st->task != NULL)
        {
          g_task_return_error (st->task, g_error_copy (error));
          g_clear_object (&st->task);
        }
      if (st->body_task != NULL)
        {
          g_task_return_error (st->body_task, g_error_copy (error));
          g_clear_object (&st->body_task);
        }
    }
  g_hash_table_remove_all (self->streams);
  carrier_abort_code (self->carrier, self->abort_code);
}

/* nghttp3 refused something: a connection error with its HTTP/3 code,
 * which the QUIC CONNECTION_CLOSE carries too. */
static void
session_fail_nghttp3 (PostHttp3Session *self,
                      int               rv,
                      const char       *what)
{
  guint64 code = nghttp3_err_infer_quic_app_error_code (rv);

  if (self->error == NULL)
    self->abort_code = code;
  session_fail (self, g_error_new (POST_ERROR, POST_ERROR_PROTOCOL,
                                   "HTTP/3 %s: %s (HTTP/3 error 0x%" G_GINT64_MODIFIER "x)",
                                   what, nghttp3_strerror (rv), code));
}

/* ---- moving bytes -------------------------------------------------------------- */

/* Both directions of a request stream are over: nghttp3 forgets it
 * (on_stream_close closes its carrier). */
static void
stream_check_done (PostHttp3Session *self,
                   gint64            id)
{
  H3Stream *st = g_hash_table_lookup (self->streams, &id);

  if (st != NULL && st->rx_end && st->fin_sent && st->complete && self->error == NULL)
    nghttp3_conn_close_stream (self->conn, id, NGHTTP3_H3_NO_ERROR);
}

static void
part_sent_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(PostHttp3Session) self = user_data;
  g_autoptr(GError) error = NULL;
  GHashTableIter iter;
  H3Stream *st;

  if (post_carrier_send_partial_finish (POST_CARRIER (source), result, &error) || self->error != NULL)
    return;
  /* a request stream fails alone (its peer reset it); one we gave up on
   * (its carrier aborted) no longer counts */
  g_hash_table_iter_init (&iter, self->streams);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &st))
    if (st->carrier == POST_CARRIER (source))
      {
        stream_failed (self, st, error);
        return;
      }
}

/* The FIN went: the carrier of a request stream has nothing more to do
 * (closing it earlier would fail the parts still queued). */
static void
last_part_sent_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  PostHttp3Session *self = user_data;
  gboolean in_use = POST_CARRIER (source) == self->carrier;
  GHashTableIter iter;
  H3Stream *st;

  /* still receiving (a client's request stream): on_stream_close drops it
   * later, and the response's end closes it */
  g_hash_table_iter_init (&iter, self->streams);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &st))
    if (st->carrier == POST_CARRIER (source))
      {
        in_use = TRUE;
        st->fin_done = TRUE;
      }
  part_sent_cb (source, result, user_data);
  if (!in_use)
    _post_http3_carrier_release (g_object_ref (POST_CARRIER (source)), TRUE);
}

/* nghttp3's output for a stream as parts to send: a body's bytes as
 * slices of its GBytes (no copy: a response of 1 GiB is not copied
 * again), frame headers and other small pieces copied together. */
static GPtrArray *
output_parts (H3Stream          *st,
              const nghttp3_vec *vec,
              nghttp3_ssize      n,
              gsize             *total)
{
  GPtrArray *parts = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  g_autoptr(GByteArray) chunk = g_byte_array_new ();
  gsize body_len = 0;
  const guint8 *body = st != NULL && st->body != NULL ? g_bytes_get_data (st->body, &body_len) : NULL;

  *total = 0;
  for (nghttp3_ssize i = 0; i < n; i++)
    {
      *total += vec[i].len;
      if (body != NULL && vec[i].len >= 4096 && vec[i].base >= body
          && vec[i].base + vec[i].len <= body + body_len)
        {
          if (chunk->len > 0)
            {
              g_ptr_array_add (parts, g_byte_array_free_to_bytes (g_steal_pointer (&chunk)));
              chunk = g_byte_array_new ();
            }
          g_ptr_array_add (parts, g_bytes_new_from_bytes (st->body, vec[i].base - body, vec[i].len));
        }
      else
        g_byte_array_append (chunk, vec[i].base, vec[i].len);
    }
  if (chunk->len > 0 || parts->len == 0)
    g_ptr_array_add (parts, g_byte_array_free_to_bytes (g_steal_pointer (&chunk)));
  return parts;
}

static void
session_write (PostHttp3Session *self)
{
  /* not from nghttp3's callbacks (a response submitted in the request
   * signal): received_cb writes once nghttp3 is done reading */
  if (self->writing || self->reading || self->error != NULL || !self->ready)
    return;
  self->writing = TRUE;
  while (self->error == NULL)
    {
      nghttp3_vec vec[16];
      int64_t stream_id = -1;
      int fin = 0;
      nghttp3_ssize n = nghttp3_conn_writev_stream (self->conn, &stream_id, &fin, vec, G_N_ELEMENTS (vec));
      g_autoptr(GPtrArray) parts = NULL;
      H3Stream *st;
      gsize total;
      int rv;

      if (n < 0)
        {
          session_fail_nghttp3 (self, (int) n, "cannot write");
          break;
        }
      if (stream_id < 0)
        break;
      st = g_hash_table_lookup (self->streams, &stream_id);
      parts = output_parts (st, vec, n, &total);
      if (st == NULL || st->carrier == NULL || (st->fin_sent && total == 0))
        {
          /* Nothing to put it on: tell nghttp3 it went, or it asks again. */
          nghttp3_conn_add_write_offset (self->conn, stream_id, total);
          if (st == NULL || st->carrier == NULL)
            break;
          continue;
        }
      if (st->out == NULL)
        st->out = post_message_new (NULL);
      for (guint i = 0; i < parts->len; i++)
        {
          gboolean last = fin != 0 && i + 1 == parts->len;

          post_carrier_send_partial_async (st->carrier, st->out, parts->pdata[i], last, NULL,
                                           last ? last_part_sent_cb : part_sent_cb, g_object_ref (self));
        }
      if (fin)
        st->fin_sent = TRUE;
      rv = nghttp3_conn_add_write_offset (self->conn, stream_id, total);
      if (rv == 0 && total > 0)
        rv = nghttp3_conn_add_ack_offset (self->conn, stream_id, total);
      if (rv != 0)
        {
          session_fail_nghttp3 (self, rv, "cannot write");
          break;
        }
      if (fin)
        stream_check_done (self, stream_id);
    }
  self->writing = FALSE;
}

typedef struct
{
  PostHttp3Session *session;   /* (owned) */
  gint64            id;
} ReceiveOp;

/* A request stream is over for us alone (the connection goes on): its
 * pending request fails with @error, nghttp3 forgets it and its carrier is
 * aborted with the HTTP/3 error @code. */
static void
stream_cancel (PostHttp3Session *self,
               H3Stream         *st,
               guint64           code,
               GError           *error)
{
  gint64 id = st->id;
  GTask *task = st->task != NULL ? g_steal_pointer (&st->task) : g_steal_pointer (&st->body_task);

  if (task != NULL)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
    }
  else if (self->server && error != NULL)
    {
      g_signal_emit (self, signals[SIGNAL_REQUEST_ERROR], 0, error);
      g_error_free (error);
    }
  else
    g_clear_error (&error);
  /* the application may have closed the session meanwhile */
  if (self->error != NULL || (st = g_hash_table_lookup (self->streams, &id)) == NULL)
    return;
  if (st->carrier != NULL)
    {
      /* taken first: aborting it fails its pending receive at once
       * (received_cb then sees a carrier that is no longer the stream's) */
      PostCarrier *carrier = g_steal_pointer (&st->carrier);

      carrier_abort_code (carrier, code);
      carrier_unref_later (carrier);
    }
  nghttp3_conn_shutdown_stream_read (self->conn, id);
  if (nghttp3_conn_close_stream (self->conn, id, code) != 0)
    g_hash_table_remove (self->streams, &id);   /* nghttp3 did not know it yet */
}

/* A stream's receiving failed (a reset, most likely): a request stream's
 * request fails alone, a critical stream's end fails the session. */
static void
stream_failed (PostHttp3Session *self,
               H3Stream         *st,
               const GError     *error)
{
  if ((st->id & 2) == 0)
    stream_cancel (self, st, NGHTTP3_H3_REQUEST_CANCELLED,
                   g_error_new (POST_ERROR, POST_ERROR_CONNECTION_RESET,
                                "HTTP/3: the request stream %" G_GINT64_FORMAT " failed: %s",
                                st->id, error ? error->message : "end of input"));
  else
    {
      if (self->error == NULL)
        self->abort_code = NGHTTP3_H3_CLOSED_CRITICAL_STREAM;
      session_fail (self, g_error_new (POST_ERROR, POST_ERROR_CONNECTION_RESET,
                                       "HTTP/3: stream %" G_GINT64_FORMAT " failed: %s",
                                       st->id, error ? error->message : "end of input"));
    }
}

/* Reads the stream on, or ends it when both directions are over. */
static void
stream_continue (PostHttp3Session *self,
                 gint64            id)
{
  H3Stream *st = g_hash_table_lookup (self->streams, &id);

  if (st == NULL || self->error != NULL)
    return;
  if (!st->rx_end)
    stream_receive (st);
  else
    stream_check_done (self, id);
}

static void
received_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  ReceiveOp *op = user_data;
  g_autoptr(PostHttp3Session) self = op->session;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  gboolean end = FALSE;
  H3Stream *st;
  gint64 id = op->id;
  nghttp3_ssize rv;
  gsize len = 0;
  const guint8 *data;

  g_free (op);
  bytes = post_carrier_receive_partial_finish (POST_CARRIER (source), result, NULL, &end, &error);
  if (self->error != NULL || (st = g_hash_table_lookup (self->streams, &id)) == NULL
      || st->carrier != POST_CARRIER (source))
    return;   /* given up (stream_cancel) */
  st->receiving = FALSE;
  if (bytes == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        stream_failed (self, st, error);
      return;
    }
  data = g_bytes_get_data (bytes, &len);
  self->reading = TRUE;
  rv = nghttp3_conn_read_stream (self->conn, id, data, len, end);
  self->reading = FALSE;
  if (rv < 0)
    {
      session_fail_nghttp3 (self, (int) rv, "input refused");
      return;
    }
  session_write (self);
  /* nghttp3's callbacks may have ended the stream meanwhile */
  if (self->error != NULL || (st = g_hash_table_lookup (self->streams, &id)) == NULL)
    return;
  if (end)
    st->rx_end = TRUE;
  if (st->too_large)
    {
      stream_cancel (self, st, self->server ? NGHTTP3_H3_EXCESSIVE_LOAD : NGHTTP3_H3_REQUEST_CANCELLED,
                     g_error_new (POST_ERROR, POST_ERROR_MESSAGE_TOO_LARGE,
                                  "HTTP/3: the %s body on stream %" G_GINT64_FORMAT
                                  " is larger than recv-msg-max-len (%" G_GSIZE_FORMAT " bytes)",
                                  self->server ? "request" : "response", id, self->max_len));
      return;
    }
  if (st->partial)
    _post_http3_stream_deliver_body (st);
  stream_continue (self, id);
}

static void
stream_receive (H3Stream *st)
{
  ReceiveOp *op;

  /* a partial body is not read further while BODY_HIGH bytes of it wait
   * for the application: the QUIC stream's credit is not extended, so the
   * peer can send no more than its window (post_http3_session_receive_partial_async
   * reads on) */
  if (st->receiving || st->carrier == NULL
      || (st->partial && st->data != NULL && st->data->len >= BODY_HIGH))
    return;
  st->receiving = TRUE;
  op = g_new0 (ReceiveOp, 1);
  op->session = g_object_ref (st->session);
  op->id = st->id;
  post_carrier_receive_partial_async (st->carrier, 1, READ_MAX, st->session->cancellable,
                                      received_cb, op);
}

static gboolean incoming_cb (PostCarrier *origin, PostCarrier *carrier, PostHttp3Session *self);

/* A stream the peer opened: its unidirectional streams (control, QPACK)
 * are sinks; on a server, its bidirectional ones are requests.  They are
 * numbered in the order they arrive.  Further streams of the connection
 * may be announced on any of them. */
static gboolean
adopt (PostHttp3Session *self,
       PostCarrier      *carrier)
{
  PostCarrierRole role = post_carrier_get_role (carrier);
  H3Stream *st;

  if (self->error != NULL)
    return FALSE;
  if (role == POST_CARRIER_ROLE_SINK)
    st = stream_add (self, self->server ? CLIENT_UNI (self->n_peer_uni++) : SERVER_UNI (self->n_peer_uni++),
                     carrier);
  else if (role == POST_CARRIER_ROLE_CARRIER && self->server)
    {
      st = stream_add (self, CLIENT_BIDI (self->n_peer_bidi++), carrier);
      /* Our control and QPACK streams are forked from the first request
       * stream (a sink cannot be forked). */
      if (self->n_uni == 0)
        open_sources (self, carrier);
    }
  else
    return FALSE;   /* HTTP/3 has no server-initiated bidirectional streams */
  g_signal_connect_object (carrier, "incoming", G_CALLBACK (incoming_cb), self, 0);
  stream_receive (st);
  return TRUE;
}

static gboolean
incoming_cb (PostCarrier      *origin,
             PostCarrier      *carrier,
             PostHttp3Session *self)
{
  return adopt (self, carrier);
}

/* ---- requests -------------------------------------------------------------------- */

static gboolean
skip_header (const char *name)
{
  /* Connection-specific fields are not allowed in HTTP/3 (RFC 9114 4.2). */
  static const char *const skip[] = { "connection", "keep-alive", "proxy-connection",
                                      "transfer-encoding", "upgrade", "host", NULL };

  return g_strv_contains (skip, name);
}

static void
nv_add (GArray *nva, const char *name, const char *value)
{
  nghttp3_nv nv = { (uint8_t *) name, (uint8_t *) value, strlen (name), strlen (value),
                    NGHTTP3_NV_FLAG_NONE };

  g_array_append_val (nva, nv);
}

/* The fields of @headers (a(ss), nullable), names lower-cased (kept in
 * @names), connection-specific ones left out; *@has_length tells whether
 * there was a content-length. */
static void
add_fields (GArray    *nva,
            GPtrArray *names,
            GVariant  *headers,
            gboolean  *has_length)
{
  GVariantIter iter;
  const char *name, *value;

  if (headers == NULL)
    return;
  g_variant_iter_init (&iter, headers);
  while (g_variant_iter_next (&iter, "(&s&s)", &name, &value))
    {
      char *lower = g_ascii_strdown (name, -1);

      g_ptr_array_add (names, lower);
      if (has_length != NULL && strcmp (lower, "content-length") == 0)
        *has_length = TRUE;
      if (!skip_header (lower))
        nv_add (nva, lower, value);
    }
}

static void
submit (PostHttp3Session *self,
        GTask            *task,
        PostCarrier      *carrier,
        gint64            id)
{
  PostMessage *request = g_task_get_task_data (task);
  g_autofree char *method = NULL, *target = NULL, *authority = NULL;
  g_autoptr(GVariant) headers = post_message_lookup_metadata_value (request, "http-headers",
                                                                    G_VARIANT_TYPE ("a(ss)"));
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GArray) nva = g_array_new (FALSE, FALSE, sizeof (nghttp3_nv));
  GBytes *content = post_message_get_content (request);
  PostRemote *remote = post_carrier_get_remote (self->carrier);
  H3Stream *st;
  int rv;

  if (!post_message_lookup_metadata (request, "http-method", "s", &method))
    method = g_strdup ("GET");
  if (!post_message_lookup_metadata (request, "http-target", "s", &target))
    target = g_strdup ("/");
  if (headers != NULL)
    {
      GVariantIter iter;
      const char *name, *value;

      g_variant_iter_init (&iter, headers);
      while (authority == NULL && g_variant_iter_next (&iter, "(&s&s)", &name, &value))
        if (g_ascii_strcasecmp (name, "host") == 0)
          authority = g_strdup (value);
    }
  if (authority == NULL && remote != NULL && post_remote_get_hostname (remote) != NULL)
    authority = post_remote_get_port (remote) != 0
                ? g_strdup_printf ("%s:%u", post_remote_get_hostname (remote), post_remote_get_port (remote))
                : g_strdup (post_remote_get_hostname (remote));
  if (authority == NULL)
    authority = g_strdup ("localhost");
  nv_add (nva, ":method", method);
  nv_add (nva, ":scheme", "https");
  nv_add (nva, ":authority", authority);
  nv_add (nva, ":path", target);
  add_fields (nva, names, headers, NULL);

  st = stream_add (self, id, carrier);
  st->task = g_object_ref (task);
  st->partial = g_task_get_source_tag (task) == post_http3_session_request_partial_async;
  if (content != NULL && g_bytes_get_size (content) > 0)
    st->body = g_bytes_ref (content);
  rv = nghttp3_conn_submit_request (self->conn, id, (const nghttp3_nv *) nva->data, nva->len,
                                    st->body != NULL ? &_post_http3_body_reader : NULL, st);
  if (rv != 0)
    {
      GTask *t = g_steal_pointer (&st->task);

      g_task_return_new_error (t, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                               "HTTP/3: the request cannot be sent: %s", nghttp3_strerror (rv));
      g_object_unref (t);
      g_hash_table_remove (self->streams, &id);
      return;
    }
  g_signal_connect_object (carrier, "incoming", G_CALLBACK (incoming_cb), self, 0);
  stream_receive (st);
  session_write (self);
}

typedef struct
{
  GTask *task;   /* (owned) */
  gint64 id;
} ForkOp;

static void
request_forked_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  ForkOp *op = user_data;
  g_autoptr(GTask) task = op->task;
  PostHttp3Session *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(PostCarrier) carrier = post_carrier_fork_finish (POST_CARRIER (source), result, &error);
  gint64 id = op->id;

  g_free (op);
  if (self->error != NULL)
    g_task_return_error (task, g_error_copy (self->error));
  else if (carrier == NULL)
    g_task_return_error (task, g_steal_pointer (&error));
  else
    submit (self, task, carrier, id);
  if (carrier != NULL && self->error != NULL)
    post_carrier_abort (carrier);
}

static void
request_start (PostHttp3Session *self,
               GTask            *task)
{
  ForkOp *op;

  op = g_new0 (ForkOp, 1);
  op->task = g_object_ref (task);
  op->id = CLIENT_BIDI (self->n_bidi++);
  post_carrier_fork_async (self->carrier, g_task_get_cancellable (task), request_forked_cb, op);
}

/* ---- our unidirectional streams ------------------------------------------------ */

static void
uni_forked_cb (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  ReceiveOp *op = user_data;
  g_autoptr(PostHttp3Session) self = op->session;
  g_autoptr(GError) error = NULL;
  g_autoptr(PostCarrier) carrier = post_carrier_fork_source_finish (POST_CARRIER (source), result, &error);
  gint64 id = op->id;
  GTask *task;
  int rv;

  g_free (op);
  if (self->error != NULL)
    {
      if (carrier != NULL)
        post_carrier_abort (carrier);
      return;
    }
  if (carrier == NULL)
    {
      session_fail (self, g_error_new (POST_ERROR, POST_ERROR_ESTABLISHMENT,
                                       "HTTP/3: cannot open a unidirectional stream: %s", error->message));
      return;
    }
  stream_add (self, id, carrier);
  if (++self->n_uni_ready < 3)
    return;
  rv = nghttp3_conn_bind_control_stream (self->conn, OUR_UNI (self, 0));
  if (rv == 0)
    rv = nghttp3_conn_bind_qpack_streams (self->conn, OUR_UNI (self, 1), OUR_UNI (self, 2));
  if (rv != 0)
    {
      session_fail_nghttp3 (self, rv, "cannot set up its streams");
      return;
    }
  self->ready = TRUE;
  while ((task = g_queue_pop_head (&self->waiting)) != NULL)
    {
      request_start (self, task);
      g_object_unref (task);
    }
  session_write (self);
}

/* Control, QPACK encoder, QPACK decoder: unidirectional streams 2, 6, 10
 * (a client's) or 3, 7, 11 (a server's), forked from @from. */
static void
open_sources (PostHttp3Session *self,
              PostCarrier      *from)
{
  for (guint i = 0; i < 3; i++)
    {
      ReceiveOp *op = g_new0 (ReceiveOp, 1);

      op->session = g_object_ref (self);
      op->id = OUR_UNI (self, self->n_uni++);
      post_carrier_fork_source_async (from, self->cancellable, uni_forked_cb, op);
    }
}

/* ---- the type ------------------------------------------------------------------------ */

/* on_end_stream (post-http3-callbacks.c): a whole request arrived */
void
_post_http3_session_emit_request (PostHttp3Session *self,
                                  PostMessage      *request)
{
  g_signal_emit (self, signals[SIGNAL_REQUEST], 0, request);
}

static void
post_http3_session_dispose (GObject *object)
{
  PostHttp3Session *self = POST_HTTP3_SESSION (object);
  GTask *task;

  g_cancellable_cancel (self->cancellable);
  while ((task = g_queue_pop_head (&self->waiting)) != NULL)
    {
      g_task_return_new_error (task, POST_ERROR, POST_ERROR_CLOSED, "The HTTP/3 session was closed");
      g_object_unref (task);
    }
  if (self->streams != NULL)
    g_hash_table_remove_all (self->streams);
  if (self->carrier != NULL)
    g_signal_handlers_disconnect_by_data (self->carrier, self);
  G_OBJECT_CLASS (post_http3_session_parent_class)->dispose (object);
}

static void
post_http3_session_finalize (GObject *object)
{
  PostHttp3Session *self = POST_HTTP3_SESSION (object);

  g_clear_pointer (&self->streams, g_hash_table_unref);
  g_clear_pointer (&self->requests, g_hash_table_unref);
  g_clear_pointer (&self->responses, g_hash_table_unref);
  g_clear_pointer (&self->conn, nghttp3_conn_del);
  g_clear_object (&self->carrier);
  g_clear_object (&self->cancellable);
  g_clear_error (&self->error);
  G_OBJECT_CLASS (post_http3_session_parent_class)->finalize (object);
}

static void
post_http3_session_class_init (PostHttp3SessionClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = post_http3_session_dispose;
  object_class->finalize = post_http3_session_finalize;

  /**
   * PostHttp3Session::request:
   * @self: a server session (post_http3_session_new_server())
   * @request: the request: metadata `http-method`, `http-target`,
   *   `http-headers` (with `host` from `:authority`), its content the body
   *
   * A whole request arrived; answer it with
   * post_http3_session_respond(), now or later.
   */
  signals[SIGNAL_REQUEST] =
    g_signal_new ("request", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, POST_TYPE_MESSAGE);

  /**
   * PostHttp3Session::request-error:
   * @self: a server session
   * @error: why
   *
   * A request failed before it was whole: its body is larger than the
   * carrier's `recv-msg-max-len` (%POST_ERROR_MESSAGE_TOO_LARGE; the
   * stream is reset with H3_EXCESSIVE_LOAD), or the client reset its
   * stream (%POST_ERROR_CONNECTION_RESET).  The connection goes on.
   */
  signals[SIGNAL_REQUEST_ERROR] =
    g_signal_new ("request-error", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
post_http3_session_init (PostHttp3Session *self)
{
  self->streams = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL, h3_stream_free);
  self->cancellable = g_cancellable_new ();
  self->n_bidi = 1;   /* stream 0 is the session's carrier */
  g_queue_init (&self->waiting);
  self->responses = g_hash_table_new (NULL, NULL);
}

/**
 * PostHttp3Session:
 *
 * HTTP/3 (RFC 9114) on a quic carrier, with nghttp3: requests and
 * responses are [class@Post.Message]s whose metadata holds the HTTP fields
 * (docs/framing.md, "HTTP/3") and whose content is the body.
 *
 * The carrier must be ACTIVE on the `quic` stack with stream framing
 * (%POST_FRAMING_STREAM) and the negotiated ALPN `h3`.  The session opens
 * the control and QPACK streams as sources forked from it
 * ([method@Post.Carrier.fork_source_async]), accepts the peer's as sinks,
 * and forks a new stream from the carrier for each request (the carrier's
 * own stream carries nothing: it stays open for the forks).  A server
 * session (post_http3_session_new_server()) emits each request as
 * #PostHttp3Session::request and answers with
 * post_http3_session_respond().  It lives on the carrier's #GMainContext.
 */

static PostHttp3Session *
session_new (PostCarrier  *carrier,
             gboolean      server,
             GError      **error)
{
  g_autoptr(PostHttp3Session) self = NULL;
  nghttp3_callbacks callbacks = { 0 };
  nghttp3_settings settings;
  const char *alpn;
  int rv;

  g_return_val_if_fail (POST_IS_CARRIER (carrier), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (g_strcmp0 (post_carrier_get_stack_name (carrier), "quic") != 0)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_NOT_SUPPORTED,
                   "HTTP/3 needs a quic carrier, not %s", post_carrier_get_stack_name (carrier));
      return NULL;
    }
  if (post_carrier_get_state (carrier) != POST_CARRIER_STATE_ACTIVE)
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_CLOSED, "HTTP/3 needs an ACTIVE carrier");
      return NULL;
    }
  alpn = post_carrier_get_negotiated_protocol (carrier);
  if (g_strcmp0 (alpn, "h3") != 0)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_NOT_SUPPORTED,
                   "The carrier negotiated the ALPN %s, not h3", alpn ? alpn : "(none)");
      return NULL;
    }
  if (post_configuration_get_framing (post_carrier_get_configuration (carrier)) != POST_FRAMING_STREAM)
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_NOT_SUPPORTED,
                           "HTTP/3 needs a carrier in stream framing (POST_FRAMING_STREAM)");
      return NULL;
    }

  self = g_object_new (POST_TYPE_HTTP3_SESSION, NULL);
  self->carrier = g_object_ref (carrier);
  self->server = server;
  self->max_len = post_configuration_get_recv_msg_max_len (post_carrier_get_configuration (carrier));
  _post_http3_callbacks_init (&callbacks);
  nghttp3_settings_default (&settings);
  rv = server ? nghttp3_conn_server_new (&self->conn, &callbacks, &settings, NULL, self)
              : nghttp3_conn_client_new (&self->conn, &callbacks, &settings, NULL, self);
  if (rv != 0)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_PROTOCOL, "nghttp3: %s", nghttp3_strerror (rv));
      return NULL;
    }
  return g_steal_pointer (&self);
}

/**
 * post_http3_session_new:
 * @carrier: an ACTIVE quic carrier whose negotiated ALPN is `h3`
 * @error: return location for an error
 *
 * Makes @carrier the first stream of an HTTP/3 client session.  Fails with
 * %POST_ERROR_NOT_SUPPORTED when the carrier is not on quic, did not
 * negotiate `h3` or is not in stream framing, and %POST_ERROR_CLOSED when it
 * is not ACTIVE.
 *
 * Returns: (transfer full): the session, or %NULL with @error set
 */
PostHttp3Session *
post_http3_session_new (PostCarrier  *carrier,
                        GError      **error)
{
  PostHttp3Session *self = session_new (carrier, FALSE, error);

  if (self == NULL)
    return NULL;
  g_signal_connect_object (carrier, "incoming", G_CALLBACK (incoming_cb), self, 0);
  open_sources (self, carrier);
  return self;
}

/**
 * post_http3_session_new_server:
 * @carrier: a quic carrier a listener accepted (any of the connection's
 *   streams: the first one the client sent on), ACTIVE, ALPN `h3`, in
 *   stream framing
 * @error: return location for an error
 *
 * The server side of HTTP/3 on @carrier's connection: every request the
 * client sends is emitted as #PostHttp3Session::request, answered with
 * post_http3_session_respond().  Fails as post_http3_session_new().
 *
 * Returns: (transfer full): the session, or %NULL with @error set
 */
PostHttp3Session *
post_http3_session_new_server (PostCarrier  *carrier,
                               GError      **error)
{
  PostHttp3Session *self = session_new (carrier, TRUE, error);

  if (self == NULL)
    return NULL;
  self->requests = g_hash_table_new_full (NULL, NULL, g_object_unref, NULL);
  adopt (self, carrier);
  return self;
}

/**
 * post_http3_session_respond:
 * @self: a server session
 * @request: a request #PostHttp3Session::request gave
 * @response: the response: metadata `http-status` (`u`, default 200),
 *   `http-headers` (`a(ss)`); its content is the body (a
 *   `content-length` field is added when there is none)
 * @error: return location for an error
 *
 * Answers @request.  Fails with %POST_ERROR_INVALID_ARGUMENT when @request
 * is not one of this session's unanswered requests, %POST_ERROR_CLOSED
 * when the session ended.
 *
 * Returns: %TRUE when the response is on its way
 */
gboolean
post_http3_session_respond (PostHttp3Session  *self,
                            PostMessage       *request,
                            PostMessage       *response,
                            GError           **error)
{
  g_autoptr(GVariant) headers = NULL;
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GArray) nva = g_array_new (FALSE, FALSE, sizeof (nghttp3_nv));
  g_autofree char *status_s = NULL, *length_s = NULL;
  GBytes *content;
  gboolean has_length = FALSE;
  guint32 status = 200;
  gint64 *id;
  H3Stream *st;
  int rv;

  g_return_val_if_fail (POST_IS_HTTP3_SESSION (self), FALSE);
  g_return_val_if_fail (POST_IS_MESSAGE (request) && POST_IS_MESSAGE (response), FALSE);

  if (self->error != NULL)
    {
      g_propagate_error (error, g_error_copy (self->error));
      return FALSE;
    }
  if (self->requests == NULL || (id = g_hash_table_lookup (self->requests, request)) == NULL
      || (st = g_hash_table_lookup (self->streams, id)) == NULL)
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                           "Not an unanswered request of this HTTP/3 session");
      return FALSE;
    }
  post_message_lookup_metadata (response, "http-status", "u", &status);
  status_s = g_strdup_printf ("%03u", status);
  nv_add (nva, ":status", status_s);
  headers = post_message_lookup_metadata_value (response, "http-headers", G_VARIANT_TYPE ("a(ss)"));
  add_fields (nva, names, headers, &has_length);
  content = post_message_get_content (response);
  if (content != NULL && g_bytes_get_size (content) > 0)
    st->body = g_bytes_ref (content);
  if (!has_length)
    {
      length_s = g_strdup_printf ("%" G_GSIZE_FORMAT, st->body ? g_bytes_get_size (st->body) : 0);
      nv_add (nva, "content-length", length_s);
    }
  rv = nghttp3_conn_submit_response (self->conn, st->id, (const nghttp3_nv *) nva->data, nva->len,
                                     st->body != NULL ? &_post_http3_body_reader : NULL);
  if (rv != 0)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                   "HTTP/3: the response cannot be sent: %s", nghttp3_strerror (rv));
      return FALSE;
    }
  g_hash_table_remove (self->requests, request);
  session_write (self);
  return TRUE;
}

/**
 * post_http3_session_get_carrier:
 * @self: a #PostHttp3Session
 *
 * Gets the carrier the session was made on.
 *
 * Returns: (transfer none): the carrier the session was made on
 */
PostCarrier *
post_http3_session_get_carrier (PostHttp3Session *self)
{
  g_return_val_if_fail (POST_IS_HTTP3_SESSION (self), NULL);
  return self->carrier;
}

/**
 * post_http3_session_request_async:
 * @self: a #PostHttp3Session
 * @request: the request: metadata `http-method` (default `GET`),
 *   `http-target` (default `/`), `http-headers` (`a(ss)`, a `host` field
 *   becomes `:authority`), its content the body
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called with the response
 * @user_data: data for @callback
 *
 * Sends @request on a new request stream and receives its response.
 */
static void
request_begin (PostHttp3Session    *self,
               PostMessage         *request,
               GCancellable        *cancellable,
               GAsyncReadyCallback  callback,
               gpointer             user_data,
               gpointer             source_tag)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (POST_IS_HTTP3_SESSION (self));
  g_return_if_fail (POST_IS_MESSAGE (request));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, g_object_ref (request), g_object_unref);
  if (self->error != NULL)
    {
      g_task_return_error (task, g_error_copy (self->error));
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    return;
  if (!self->ready)
    {
      g_queue_push_tail (&self->waiting, g_steal_pointer (&task));
      return;
    }
  request_start (self, task);
}

void
post_http3_session_request_async (PostHttp3Session    *self,
                                  PostMessage         *request,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  request_begin (self, request, cancellable, callback, user_data, post_http3_session_request_async);
}

/**
 * post_http3_session_request_finish:
 * @self: a #PostHttp3Session
 * @result: the result passed to the callback
 * @error: return location for an error
 *
 * Finishes post_http3_session_request_async().  The response's metadata
 * has `http-status` (`u`), `http-version` (`HTTP/3`) and `http-headers`
 * (`a(ss)`, names in lower case); its content is the body.  Fails with
 * %POST_ERROR_PROTOCOL when the peer broke HTTP/3 (the message names
 * nghttp3's error and the HTTP/3 error code; the connection is then
 * closed), %POST_ERROR_CONNECTION_RESET when the server reset the request.
 *
 * Returns: (transfer full): the response, or %NULL with @error set
 */
PostMessage *
post_http3_session_request_finish (PostHttp3Session  *self,
                                   GAsyncResult      *result,
                                   GError           **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * post_http3_session_close:
 * @self: a #PostHttp3Session
 *
 * Ends the session: pending requests fail with %POST_ERROR_CLOSED and the
 * session's streams are aborted; the carrier it was made on stays the
 * caller's to close.
 */
void
post_http3_session_close (PostHttp3Session *self)
{
  g_return_if_fail (POST_IS_HTTP3_SESSION (self));

  if (self->error == NULL)
    self->error = g_error_new_literal (POST_ERROR, POST_ERROR_CLOSED, "The HTTP/3 session was closed");
  g_cancellable_cancel (self->cancellable);
  g_hash_table_remove_all (self->streams);
}

/**
 * post_http3_session_request_partial_async:
 * @self: a #PostHttp3Session
 * @request: the request, as for post_http3_session_request_async()
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called with the response's head
 * @user_data: data for @callback
 *
 * Sends @request as post_http3_session_request_async() does, but completes
 * as soon as the response's header section is there: the response has
 * the same metadata and no content, and its body is read in parts with
 * post_http3_session_receive_partial_async().  The body is not bound by
 * `recv-msg-max-len`: the session holds at most 256 KiB of it that the
 * application has not taken, and beyond that does not read the stream, so
 * QUIC flow control stops the server.  Read the body to its end (or close
 * the session).
 */
void
post_http3_session_request_partial_async (PostHttp3Session    *self,
                                          PostMessage         *request,
                                          GCancellable        *cancellable,
                                          GAsyncReadyCallback  callback,
                                          gpointer             user_data)
{
  request_begin (self, request, cancellable, callback, user_data, post_http3_session_request_partial_async);
}

/**
 * post_http3_session_request_partial_finish:
 * @self: a #PostHttp3Session
 * @result: the result passed to the callback
 * @error: return location for an error
 *
 * Finishes post_http3_session_request_partial_async(), failing as
 * post_http3_session_request_finish() does.
 *
 * Returns: (transfer full): the response's head (no content), the handle
 *   for post_http3_session_receive_partial_async(), or %NULL with @error set
 */
PostMessage *
post_http3_session_request_partial_finish (PostHttp3Session  *self,
                                           GAsyncResult      *result,
                                           GError           **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * post_http3_session_receive_partial_async:
 * @self: a #PostHttp3Session
 * @response: a response post_http3_session_request_partial_finish() gave
 * @max_length: the most bytes to return (0: all that is there)
 * @cancellable: (nullable): a #GCancellable (checked when the call is made)
 * @callback: (scope async): called with the next part of the body
 * @user_data: data for @callback
 *
 * Receives the next part of @response's body: at least one byte, unless
 * the body ended.  One receive at a time per response.
 */
void
post_http3_session_receive_partial_async (PostHttp3Session    *self,
                                          PostMessage         *response,
                                          gsize                max_length,
                                          GCancellable        *cancellable,
                                          GAsyncReadyCallback  callback,
                                          gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  H3Stream *st;
  gint64 id;

  g_return_if_fail (POST_IS_HTTP3_SESSION (self));
  g_return_if_fail (POST_IS_MESSAGE (response));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, post_http3_session_receive_partial_async);
  if (self->error != NULL)
    {
      g_task_return_error (task, g_error_copy (self->error));
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    return;
  st = g_hash_table_lookup (self->responses, response);
  if (st == NULL || st->complete || st->body_task != NULL)
    {
      g_task_return_new_error (task, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                               st == NULL || st->complete
                               ? "Not a response of this HTTP/3 session whose body is still to come"
                               : "A receive of this response's body is already pending");
      return;
    }
  st->body_task = g_steal_pointer (&task);
  st->body_max = max_length;
  id = st->id;
  _post_http3_stream_deliver_body (st);
  stream_continue (self, id);
}

/**
 * post_http3_session_receive_partial_finish:
 * @self: a #PostHttp3Session
 * @result: the result passed to the callback
 * @end_of_message: (out) (optional): whether the part ends the body
 * @error: return location for an error
 *
 * Finishes post_http3_session_receive_partial_async().  Fails with
 * %POST_ERROR_CONNECTION_RESET when the server reset the stream,
 * %POST_ERROR_PROTOCOL when the connection failed (as
 * post_http3_session_request_finish()), %POST_ERROR_INVALID_ARGUMENT for
 * a response whose body already ended or is not this session's.
 *
 * Returns: (transfer full): the part (empty only at the end), or %NULL
 *   with @error set
 */
GBytes *
post_http3_session_receive_partial_finish (PostHttp3Session  *self,
                                           GAsyncResult      *result,
                                           gboolean          *end_of_message,
                                           GError           **error)
{
  GBytes *part;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  part = g_task_propagate_pointer (G_TASK (result), error);
  if (end_of_message != NULL)
    *end_of_message = part != NULL && g_object_get_data (G_OBJECT (result), "post-end") != NULL;
  return part;
}

/**
 * post_http3_session_get_receive_queue_size:
 * @self: a #PostHttp3Session
 *
 * How many body bytes the session holds that the application has not
 * taken: whole bodies being gathered (each at most `recv-msg-max-len`)
 * and the parts of partial ones not received yet (at most about 256 KiB
 * each).
 *
 * Returns: the size in bytes
 */
gsize
post_http3_session_get_receive_queue_size (PostHttp3Session *self)
{
  GHashTableIter iter;
  H3Stream *st;
  gsize size = 0;

  g_return_val_if_fail (POST_IS_HTTP3_SESSION (self), 0);

  g_hash_table_iter_init (&iter, self->streams);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &st))
    size += st->data != NULL ? st->data->len : 0;
  return size;
}
