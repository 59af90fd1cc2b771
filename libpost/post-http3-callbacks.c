/* post-http3-callbacks.c: PostHttp3Session's nghttp3 callbacks
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * What nghttp3 found in a stream's input: header fields, body bytes, the
 * end of a header section or of the stream, and its being reset or
 * closed.  A whole body is gathered up to the carrier's recv-msg-max-len;
 * a partial one (post_http3_session_request_partial_async()) waits in
 * H3Stream.data for post_http3_session_receive_partial_async().
 */
#include "config.h"

#include <string.h>

#include "post-error.h"
#include "post-http3-session-private.h"

static PostMessage *received_message (H3Stream *st, GBytes *body);

/* The stream's H3Stream: nghttp3's stream user data once set, else by id
 * (a server learns of a request stream from nghttp3 only as it reads it). */
static H3Stream *
stream_of (gpointer conn_user_data,
           int64_t  stream_id,
           gpointer stream_user_data)
{
  PostHttp3Session *self = conn_user_data;

  return stream_user_data != NULL ? stream_user_data : g_hash_table_lookup (self->streams, &stream_id);
}

static int
on_recv_header (nghttp3_conn *conn, int64_t stream_id, int32_t token,
                nghttp3_rcbuf *name, nghttp3_rcbuf *value, uint8_t flags,
                void *conn_user_data, void *stream_user_data)
{
  H3Stream *st = stream_of (conn_user_data, stream_id, stream_user_data);
  nghttp3_vec n = nghttp3_rcbuf_get_buf (name);
  nghttp3_vec v = nghttp3_rcbuf_get_buf (value);
  g_autofree char *ns = g_strndup ((const char *) n.base, n.len);
  g_autofree char *vs = g_strndup ((const char *) v.base, v.len);

  if (st == NULL)
    return 0;
  if (token == NGHTTP3_QPACK_TOKEN__STATUS)
    {
      guint64 status;

      /* nghttp3 checked it is three digits */
      if (g_ascii_string_to_unsigned (vs, 10, 100, 999, &status, NULL))
        st->status = (guint) status;
      return 0;
    }
  if (ns[0] == ':')
    {
      static const int32_t tokens[] = { NGHTTP3_QPACK_TOKEN__METHOD, NGHTTP3_QPACK_TOKEN__PATH,
                                        NGHTTP3_QPACK_TOKEN__AUTHORITY, NGHTTP3_QPACK_TOKEN__SCHEME };

      for (guint i = 0; i < G_N_ELEMENTS (tokens); i++)
        if (token == tokens[i] && st->pseudo[i] == NULL)
          st->pseudo[i] = g_steal_pointer (&vs);
      return 0;
    }
  if (st->headers == NULL)
    st->headers = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  g_ptr_array_add (st->headers, g_variant_ref_sink (g_variant_new ("(ss)", ns, vs)));
  return 0;
}

static int
on_recv_data (nghttp3_conn *conn, int64_t stream_id, const uint8_t *data, size_t datalen,
              void *conn_user_data, void *stream_user_data)
{
  H3Stream *st = stream_of (conn_user_data, stream_id, stream_user_data);

  if (st == NULL || st->too_large)
    return 0;
  if (st->data == NULL)
    st->data = g_byte_array_new ();
  /* A whole body is held until its end: not beyond recv-msg-max-len
   * (received_cb then cancels the stream).  A partial one is bounded by
   * not reading the stream while BODY_HIGH bytes wait (stream_receive). */
  if (!st->partial && datalen > st->session->max_len - MIN (st->data->len, st->session->max_len))
    {
      st->too_large = TRUE;
      g_clear_pointer (&st->data, g_byte_array_unref);
      return 0;
    }
  g_byte_array_append (st->data, data, datalen);
  return 0;
}

/* Partial: the final response's head is there; the task returns the
 * response without content, its body follows with
 * post_http3_session_receive_partial_async(). */
static int
on_end_headers (nghttp3_conn *conn, int64_t stream_id, int fin,
                void *conn_user_data, void *stream_user_data)
{
  H3Stream *st = stream_of (conn_user_data, stream_id, stream_user_data);
  GTask *task;

  if (st == NULL || !st->partial || st->task == NULL || st->status < 200)
    return 0;
  task = g_steal_pointer (&st->task);
  st->response = received_message (st, NULL);
  g_hash_table_insert (st->session->responses, st->response, st);
  g_task_return_pointer (task, g_object_ref (st->response), g_object_unref);
  g_object_unref (task);
  return 0;
}

/* The message a stream received: a response (http-status) or, on a
 * server, a request (http-method, http-target, host from :authority),
 * with @body (nullable: none) as its content. */
static PostMessage *
received_message (H3Stream *st,
                  GBytes   *body)
{
  PostMessage *response = post_message_new (body);
  GVariantBuilder meta, headers;
  guint i;

  g_variant_builder_init (&headers, G_VARIANT_TYPE ("a(ss)"));
  if (st->session->server && st->pseudo[2] != NULL)
    g_variant_builder_add (&headers, "(ss)", "host", st->pseudo[2]);
  for (i = 0; st->headers != NULL && i < st->headers->len; i++)
    g_variant_builder_add_value (&headers, g_ptr_array_index (st->headers, i));
  g_variant_builder_init (&meta, G_VARIANT_TYPE_VARDICT);
  if (st->session->server)
    {
      g_variant_builder_add (&meta, "{sv}", "http-method", g_variant_new_string (st->pseudo[0] ? st->pseudo[0] : ""));
      g_variant_builder_add (&meta, "{sv}", "http-target", g_variant_new_string (st->pseudo[1] ? st->pseudo[1] : ""));
    }
  else
    g_variant_builder_add (&meta, "{sv}", "http-status", g_variant_new_uint32 (st->status));
  g_variant_builder_add (&meta, "{sv}", "http-version", g_variant_new_string ("HTTP/3"));
  g_variant_builder_add (&meta, "{sv}", "http-headers", g_variant_builder_end (&headers));
  post_message_set_metadata (response, g_variant_builder_end (&meta), NULL);
  return response;
}

static GBytes *
take_body (H3Stream *st)
{
  return st->data ? g_byte_array_free_to_bytes (g_steal_pointer (&st->data)) : g_bytes_new (NULL, 0);
}

static int
on_end_stream (nghttp3_conn *conn, int64_t stream_id, void *conn_user_data, void *stream_user_data)
{
  H3Stream *st = stream_of (conn_user_data, stream_id, stream_user_data);
  GTask *task;

  if (st == NULL || st->too_large)
    return 0;
  if (st->session->server && !st->complete)
    {
      /* A whole request: the application answers with
       * post_http3_session_respond(). */
      PostHttp3Session *self = st->session;
      g_autoptr(GBytes) body = take_body (st);
      g_autoptr(PostMessage) request = received_message (st, body);

      st->complete = TRUE;
      g_hash_table_insert (self->requests, g_object_ref (request), &st->id);
      _post_http3_session_emit_request (self, request);
      return 0;
    }
  if (st->partial && st->task == NULL)
    {
      /* the head was handed out: the body's end goes with its last part */
      st->body_end = TRUE;
      return 0;
    }
  if (st->task == NULL)
    return 0;
  st->complete = TRUE;
  task = g_steal_pointer (&st->task);
  if (st->status == 0)
    g_task_return_new_error (task, POST_ERROR, POST_ERROR_PROTOCOL,
                             "HTTP/3: the response on stream %" G_GINT64_FORMAT " had no :status",
                             st->id);
  else
    {
      g_autoptr(GBytes) body = take_body (st);

      g_task_return_pointer (task, received_message (st, body), g_object_unref);
    }
  g_object_unref (task);
  return 0;
}

static int
on_reset (nghttp3_conn *conn, int64_t stream_id, uint64_t app_error_code,
          void *conn_user_data, void *stream_user_data)
{
  H3Stream *st = stream_of (conn_user_data, stream_id, stream_user_data);
  GTask *task;

  if (st == NULL)
    return 0;
  task = st->task != NULL ? g_steal_pointer (&st->task) : g_steal_pointer (&st->body_task);
  if (task == NULL)
    return 0;
  g_task_return_new_error (task, POST_ERROR, POST_ERROR_CONNECTION_RESET,
                           "HTTP/3: the request stream was reset (HTTP/3 error 0x%" G_GINT64_MODIFIER "x)",
                           (guint64) app_error_code);
  g_object_unref (task);
  return 0;
}

static gboolean
request_is_stream (gpointer key,
                   gpointer value,
                   gpointer user_data)
{
  return *(gint64 *) value == *(gint64 *) user_data;
}

static int
on_stream_close (nghttp3_conn *conn, int64_t stream_id, uint64_t app_error_code,
                 void *conn_user_data, void *stream_user_data)
{
  PostHttp3Session *self = conn_user_data;
  H3Stream *st = stream_of (conn_user_data, stream_id, stream_user_data);

  if (st == NULL)
    return 0;
  on_reset (conn, stream_id, app_error_code, conn_user_data, stream_user_data);
  /* its carrier closes once its last part is sent (last_part_sent_cb),
   * or now when that happened before (a client's request) */
  if (st->carrier != NULL && st->carrier != self->carrier)
    _post_http3_carrier_release (g_steal_pointer (&st->carrier), st->fin_done);
  g_clear_object (&st->carrier);
  if (self->requests != NULL)
    g_hash_table_foreach_remove (self->requests, request_is_stream, &st->id);
  g_hash_table_remove (self->streams, &st->id);
  return 0;
}

static nghttp3_ssize
read_body (nghttp3_conn *conn, int64_t stream_id, nghttp3_vec *vec, size_t veccnt,
           uint32_t *pflags, void *conn_user_data, void *stream_user_data)
{
  H3Stream *st = stream_of (conn_user_data, stream_id, stream_user_data);
  gsize len = 0;

  *pflags |= NGHTTP3_DATA_FLAG_EOF;
  if (st == NULL || st->body == NULL || veccnt == 0)
    return 0;
  vec[0].base = (uint8_t *) g_bytes_get_data (st->body, &len);
  vec[0].len = len;
  return 1;
}

const nghttp3_data_reader _post_http3_body_reader = { read_body };

/* Partial: hands the pending receive what the body has, up to its
 * max_length, once there is some or the body ended. */
void
_post_http3_stream_deliver_body (H3Stream *st)
{
  GBytes *part;
  GTask *task;
  gsize len = st->data != NULL ? st->data->len : 0;
  gsize n = st->body_max != 0 ? MIN (st->body_max, len) : len;

  if (st->body_task == NULL || (len == 0 && !st->body_end))
    return;
  if (n == len)
    part = take_body (st);
  else
    {
      part = g_bytes_new (st->data->data, n);
      g_byte_array_remove_range (st->data, 0, n);
    }
  task = g_steal_pointer (&st->body_task);
  if (st->body_end && (st->data == NULL || st->data->len == 0))
    st->complete = TRUE;
  g_object_set_data (G_OBJECT (task), "post-end", GINT_TO_POINTER (st->complete));
  g_task_return_pointer (task, part, (GDestroyNotify) g_bytes_unref);
  g_object_unref (task);
}

void
_post_http3_callbacks_init (nghttp3_callbacks *callbacks)
{
  callbacks->recv_header = on_recv_header;
  callbacks->end_headers = on_end_headers;
  callbacks->recv_data = on_recv_data;
  callbacks->end_stream = on_end_stream;
  callbacks->reset_stream = on_reset;
  callbacks->stream_close = on_stream_close;
}
