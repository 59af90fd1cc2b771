/* post-carrier-input-stream.c: the input half of a PostCarrierStream
 *
 * Reading is post_carrier_receive_partial_async() for at most the bytes
 * asked: the peer's message (in stream framing, all of its direction,
 * ended by its FIN) read as it arrives.  The end of that message is the
 * end of the stream (a read of 0 bytes); an error of the carrier —
 * %POST_ERROR_TRUNCATED for a stream cut short, %POST_ERROR_CONNECTION_RESET
 * — is the read's error, so that a transfer cut off never looks complete.
 * A synchronous read runs the carrier's main context until it completes
 * (post-carrier-stream.c).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "post-carrier-input-stream.h"
#include "post-carrier-private.h"

#include <string.h>

struct _PostCarrierInputStream
{
  GInputStream parent_instance;

  PostCarrier *carrier;   /* (owned) */
  GThread     *thread;    /* (owned) the one whose synchronous calls are allowed */
  gboolean     ended;     /* the peer's message is complete: reads return 0 */
};

G_DEFINE_FINAL_TYPE (PostCarrierInputStream, _post_carrier_input_stream, G_TYPE_INPUT_STREAM)

typedef struct
{
  void  *buffer;
  gsize  count;
} ReadData;

static void
part_received_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  PostCarrierInputStream *self = g_task_get_source_object (task);
  ReadData *data = g_task_get_task_data (task);
  g_autoptr(GBytes) part = NULL;
  g_autoptr(PostMessage) message = NULL;
  GError *error = NULL;
  gboolean end = FALSE;
  gsize size = 0;

  part = post_carrier_receive_partial_finish (POST_CARRIER (source), result, &message, &end, &error);
  if (part == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  if (end)
    self->ended = TRUE;
  {
    const guint8 *bytes = g_bytes_get_data (part, &size);

    g_assert (size <= data->count);
    if (size > 0)
      memcpy (data->buffer, bytes, size);
  }
  g_task_return_int (task, (gssize) size);
}

static void
post_carrier_input_stream_read_async (GInputStream        *stream,
                                      void                *buffer,
                                      gsize                count,
                                      int                  io_priority,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  PostCarrierInputStream *self = POST_CARRIER_INPUT_STREAM (stream);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  ReadData *data = g_new0 (ReadData, 1);
  GError *error = NULL;

  g_task_set_source_tag (task, post_carrier_input_stream_read_async);
  g_task_set_priority (task, io_priority);
  data->buffer = buffer;
  data->count = MIN (count, (gsize) G_MAXSSIZE);
  g_task_set_task_data (task, data, g_free);
  if (self->ended || data->count == 0)
    {
      g_task_return_int (task, 0);
      return;
    }
  if (!_post_carrier_stream_check (self->carrier, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  post_carrier_receive_partial_async (self->carrier, 1, data->count, cancellable,
                                      part_received_cb, g_steal_pointer (&task));
}

static gssize
post_carrier_input_stream_read_finish (GInputStream  *stream,
                                       GAsyncResult  *result,
                                       GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, stream), -1);
  return g_task_propagate_int (G_TASK (result), error);
}

static void
read_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  PostStreamSyncOp *op = user_data;

  op->size = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &op->error);
  op->done = TRUE;
}

static gssize
post_carrier_input_stream_read (GInputStream  *stream,
                                void          *buffer,
                                gsize          count,
                                GCancellable  *cancellable,
                                GError       **error)
{
  PostCarrierInputStream *self = POST_CARRIER_INPUT_STREAM (stream);
  PostStreamSyncOp op = { 0, };

  if (!_post_carrier_stream_sync_begin (self->carrier, self->thread, error))
    return -1;
  post_carrier_input_stream_read_async (stream, buffer, count, G_PRIORITY_DEFAULT, cancellable,
                                        read_done_cb, &op);
  return _post_carrier_stream_sync_end (self->carrier, &op, error);
}

static gboolean
post_carrier_input_stream_close (GInputStream  *stream,
                                 GCancellable  *cancellable,
                                 GError       **error)
{
  /* Closing the input does not close the carrier (GIOStream's close does) */
  return TRUE;
}

/* (not GInputStream's default, which would run close_fn in a thread) */
static void
post_carrier_input_stream_close_async (GInputStream        *stream,
                                       int                  io_priority,
                                       GCancellable        *cancellable,
                                       GAsyncReadyCallback  callback,
                                       gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (stream, cancellable, callback, user_data);

  g_task_set_source_tag (task, post_carrier_input_stream_close_async);
  g_task_return_boolean (task, TRUE);
}

static gboolean
post_carrier_input_stream_close_finish (GInputStream  *stream,
                                        GAsyncResult  *result,
                                        GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, stream), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
post_carrier_input_stream_finalize (GObject *object)
{
  PostCarrierInputStream *self = POST_CARRIER_INPUT_STREAM (object);

  g_clear_object (&self->carrier);
  g_clear_pointer (&self->thread, g_thread_unref);
  G_OBJECT_CLASS (_post_carrier_input_stream_parent_class)->finalize (object);
}

static void
_post_carrier_input_stream_class_init (PostCarrierInputStreamClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GInputStreamClass *input_class = G_INPUT_STREAM_CLASS (klass);

  object_class->finalize = post_carrier_input_stream_finalize;
  input_class->read_fn = post_carrier_input_stream_read;
  input_class->read_async = post_carrier_input_stream_read_async;
  input_class->read_finish = post_carrier_input_stream_read_finish;
  input_class->close_fn = post_carrier_input_stream_close;
  input_class->close_async = post_carrier_input_stream_close_async;
  input_class->close_finish = post_carrier_input_stream_close_finish;
}

static void
_post_carrier_input_stream_init (PostCarrierInputStream *self)
{
}

GInputStream *
_post_carrier_input_stream_new (PostCarrier *carrier,
                                GThread     *thread)
{
  PostCarrierInputStream *self = g_object_new (POST_TYPE_CARRIER_INPUT_STREAM, NULL);

  self->carrier = g_object_ref (carrier);
  self->thread = g_thread_ref (thread);
  return G_INPUT_STREAM (self);
}
