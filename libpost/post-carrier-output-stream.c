/* post-carrier-output-stream.c: the output half of a PostCarrierStream
 *
 * The bytes written are the parts of one message, sent with
 * post_carrier_send_partial_async() under one handle: in stream framing
 * the whole sending direction, whose end (closing the stream) is the
 * end of the message — a FIN on TCP, a close_notify and FIN on tls.  A
 * write completes when its bytes were handed to the network, so the
 * carrier's send queue, not memory, bounds what a writer has in flight.
 * A synchronous write runs the carrier's main context until it completes
 * (post-carrier-stream.c).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "post-carrier-output-stream.h"
#include "post-carrier-private.h"

struct _PostCarrierOutputStream
{
  GOutputStream parent_instance;

  PostCarrier *carrier;   /* (owned) */
  GThread     *thread;    /* (owned) the one whose synchronous calls are allowed */
  PostMessage *message;   /* (owned) the handle of every part */
};

G_DEFINE_FINAL_TYPE (PostCarrierOutputStream, _post_carrier_output_stream, G_TYPE_OUTPUT_STREAM)

static void
part_sent_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (!post_carrier_send_partial_finish (POST_CARRIER (source), result, &error))
    g_task_return_error (task, error);
  else
    g_task_return_int (task, GPOINTER_TO_SIZE (g_task_get_task_data (task)));
}

static void
send_part (PostCarrierOutputStream *self,
           GBytes                  *part,
           gboolean                 end,
           GTask                   *task)
{
  post_carrier_send_partial_async (self->carrier, self->message, part, end,
                                   g_task_get_cancellable (task), part_sent_cb, task);
}

static void
post_carrier_output_stream_write_async (GOutputStream       *stream,
                                        const void          *buffer,
                                        gsize                count,
                                        int                  io_priority,
                                        GCancellable        *cancellable,
                                        GAsyncReadyCallback  callback,
                                        gpointer             user_data)
{
  PostCarrierOutputStream *self = POST_CARRIER_OUTPUT_STREAM (stream);
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr(GBytes) part = NULL;
  GError *error = NULL;

  g_task_set_source_tag (task, post_carrier_output_stream_write_async);
  g_task_set_priority (task, io_priority);
  if (!_post_carrier_stream_check (self->carrier, &error))
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  count = MIN (count, (gsize) G_MAXSSIZE);
  g_task_set_task_data (task, GSIZE_TO_POINTER (count), NULL);
  part = g_bytes_new (buffer, count);
  send_part (self, part, FALSE, task);
}

static gssize
post_carrier_output_stream_write_finish (GOutputStream  *stream,
                                         GAsyncResult   *result,
                                         GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, stream), -1);
  return g_task_propagate_int (G_TASK (result), error);
}

static void
flushed_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (!post_carrier_flush_finish (POST_CARRIER (source), result, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
post_carrier_output_stream_flush_async (GOutputStream       *stream,
                                        int                  io_priority,
                                        GCancellable        *cancellable,
                                        GAsyncReadyCallback  callback,
                                        gpointer             user_data)
{
  PostCarrierOutputStream *self = POST_CARRIER_OUTPUT_STREAM (stream);
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, post_carrier_output_stream_flush_async);
  post_carrier_flush_async (self->carrier, cancellable, flushed_cb, task);
}

static gboolean
post_carrier_output_stream_boolean_finish (GOutputStream  *stream,
                                           GAsyncResult   *result,
                                           GError        **error)
{
  g_return_val_if_fail (g_task_is_valid (result, stream), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
last_part_sent_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (!post_carrier_send_partial_finish (POST_CARRIER (source), result, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

/* Closing ends the message: an empty last part (the FIN in stream
 * framing), sent after everything written before it. */
static void
post_carrier_output_stream_close_async (GOutputStream       *stream,
                                        int                  io_priority,
                                        GCancellable        *cancellable,
                                        GAsyncReadyCallback  callback,
                                        gpointer             user_data)
{
  PostCarrierOutputStream *self = POST_CARRIER_OUTPUT_STREAM (stream);
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr(GBytes) empty = g_bytes_new_static ("", 0);
  GError *error = NULL;

  g_task_set_source_tag (task, post_carrier_output_stream_close_async);
  if (!_post_carrier_stream_check (self->carrier, &error))
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  post_carrier_send_partial_async (self->carrier, self->message, empty, TRUE,
                                   cancellable, last_part_sent_cb, task);
}

static void
sync_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  PostStreamSyncOp *op = user_data;

  if (g_task_get_source_tag (G_TASK (result)) == post_carrier_output_stream_write_async)
    op->size = post_carrier_output_stream_write_finish (G_OUTPUT_STREAM (source), result, &op->error);
  else
    op->size = post_carrier_output_stream_boolean_finish (G_OUTPUT_STREAM (source), result, &op->error)
               ? 0 : -1;
  op->done = TRUE;
}

/* The synchronous calls, over the asynchronous ones */
typedef enum
{
  SYNC_WRITE,
  SYNC_FLUSH,
  SYNC_CLOSE,
} SyncCall;

static gssize
run_sync (GOutputStream  *stream,
          SyncCall        call,
          const void     *buffer,
          gsize           count,
          GCancellable   *cancellable,
          GError        **error)
{
  PostCarrierOutputStream *self = POST_CARRIER_OUTPUT_STREAM (stream);
  PostStreamSyncOp op = { 0, };

  if (!_post_carrier_stream_sync_begin (self->carrier, self->thread, error))
    return -1;
  switch (call)
    {
    case SYNC_WRITE:
      post_carrier_output_stream_write_async (stream, buffer, count, G_PRIORITY_DEFAULT, cancellable,
                                              sync_done_cb, &op);
      break;
    case SYNC_FLUSH:
      post_carrier_output_stream_flush_async (stream, G_PRIORITY_DEFAULT, cancellable, sync_done_cb, &op);
      break;
    case SYNC_CLOSE:
      post_carrier_output_stream_close_async (stream, G_PRIORITY_DEFAULT, cancellable, sync_done_cb, &op);
      break;
    }
  return _post_carrier_stream_sync_end (self->carrier, &op, error);
}

static gssize
post_carrier_output_stream_write (GOutputStream  *stream,
                                  const void     *buffer,
                                  gsize           count,
                                  GCancellable   *cancellable,
                                  GError        **error)
{
  return run_sync (stream, SYNC_WRITE, buffer, count, cancellable, error);
}

static gboolean
post_carrier_output_stream_flush (GOutputStream  *stream,
                                  GCancellable   *cancellable,
                                  GError        **error)
{
  return run_sync (stream, SYNC_FLUSH, NULL, 0, cancellable, error) == 0;
}

static gboolean
post_carrier_output_stream_close (GOutputStream  *stream,
                                  GCancellable   *cancellable,
                                  GError        **error)
{
  return run_sync (stream, SYNC_CLOSE, NULL, 0, cancellable, error) == 0;
}

static void
post_carrier_output_stream_finalize (GObject *object)
{
  PostCarrierOutputStream *self = POST_CARRIER_OUTPUT_STREAM (object);

  g_clear_object (&self->message);
  g_clear_object (&self->carrier);
  g_clear_pointer (&self->thread, g_thread_unref);
  G_OBJECT_CLASS (_post_carrier_output_stream_parent_class)->finalize (object);
}

static void
_post_carrier_output_stream_class_init (PostCarrierOutputStreamClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GOutputStreamClass *output_class = G_OUTPUT_STREAM_CLASS (klass);

  object_class->finalize = post_carrier_output_stream_finalize;
  output_class->write_fn = post_carrier_output_stream_write;
  output_class->write_async = post_carrier_output_stream_write_async;
  output_class->write_finish = post_carrier_output_stream_write_finish;
  output_class->flush = post_carrier_output_stream_flush;
  output_class->flush_async = post_carrier_output_stream_flush_async;
  output_class->flush_finish = post_carrier_output_stream_boolean_finish;
  output_class->close_fn = post_carrier_output_stream_close;
  output_class->close_async = post_carrier_output_stream_close_async;
  output_class->close_finish = post_carrier_output_stream_boolean_finish;
}

static void
_post_carrier_output_stream_init (PostCarrierOutputStream *self)
{
}

void
_post_carrier_output_stream_end (GOutputStream *stream)
{
  PostCarrierOutputStream *self = POST_CARRIER_OUTPUT_STREAM (stream);
  g_autoptr(GBytes) empty = g_bytes_new_static ("", 0);

  post_carrier_send_partial_async (self->carrier, self->message, empty, TRUE, NULL, NULL, NULL);
}

GOutputStream *
_post_carrier_output_stream_new (PostCarrier *carrier,
                                 GThread     *thread)
{
  PostCarrierOutputStream *self = g_object_new (POST_TYPE_CARRIER_OUTPUT_STREAM, NULL);
  g_autoptr(GBytes) nothing = g_bytes_new_static ("", 0);

  self->carrier = g_object_ref (carrier);
  self->thread = g_thread_ref (thread);
  self->message = post_message_new (nothing);
  return G_OUTPUT_STREAM (self);
}
