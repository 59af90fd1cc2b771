/* post-carrier-stream.c: PostCarrierStream, a carrier as a GIOStream
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

/**
 * PostCarrierStream:
 *
 * A [class@Gio.IOStream] over a [class@Post.Carrier], so that code written
 * for GIO streams — [class@Gio.DataInputStream], json-glib's parser,
 * libsoup — reads and writes a carrier.
 *
 * It is meant for carriers in stream framing
 * (%POST_FRAMING_STREAM, [method@Post.Configuration.set_framing]): each
 * direction is one message.  The input stream reads the peer's direction
 * as it arrives ([method@Post.Carrier.receive_partial_async]) and ends
 * (a read returns 0) with the peer's FIN; a direction cut short fails the
 * read with %POST_ERROR_TRUNCATED (on tls a FIN without close_notify),
 * never a clean end.  The output stream sends what is written as the parts
 * of one message ([method@Post.Carrier.send_partial_async]); a write
 * completes once its bytes were handed to the network, so the carrier's
 * send queue bounds what is in flight.  Closing the output stream ends the
 * direction (a FIN); closing the #GIOStream closes the output stream, then
 * the carrier, gracefully ([method@Post.Carrier.close_async]).  On a
 * carrier in message framing the input reads the first message and ends
 * with it, and the output sends one message.
 *
 * Errors are the carrier's: the #POST_ERROR domain (a closed carrier is
 * %POST_ERROR_CLOSED), and %G_IO_ERROR_CANCELLED for a cancelled call.
 * The asynchronous calls never block.  The synchronous ones
 * (g_input_stream_read(), g_output_stream_write(), …) run the carrier's
 * #GMainContext until they complete, dispatching its other sources
 * meanwhile, and must be called from the thread that made the stream
 * with post_carrier_stream_new() (the one that runs that context), or from
 * within a callback of that context; from any other thread they fail with
 * %G_IO_ERROR_FAILED, whether or not the context is running at that moment.  They are there for code that only knows
 * synchronous streams; prefer the asynchronous ones.
 *
 * When the carrier loses its transport (it goes
 * %POST_CARRIER_STATE_DORMANT), the stream is cut: a byte stream cannot go
 * on over a new transport, since what the peer received of it is not
 * known.  Reads and writes then fail with %POST_ERROR_CONNECTION_RESET (or
 * the carrier's own error), and closing the stream closes the carrier.  A
 * write queued at that moment completes as the carrier's sends do: when it
 * is re-established or closed.
 *
 * The stream holds a reference to its carrier.  Dropping the last
 * reference to an open stream ends its direction and closes the carrier
 * gracefully, without waiting.
 */
#include "config.h"

#include "post-carrier-stream.h"
#include "post-carrier-input-stream.h"
#include "post-carrier-output-stream.h"
#include "post-carrier-private.h"

struct _PostCarrierStream
{
  GIOStream parent_instance;

  PostCarrier   *carrier;   /* (owned) */
  GThread       *thread;    /* (owned) the one that made the stream */
  GInputStream  *input;     /* (owned) */
  GOutputStream *output;    /* (owned) */
  gboolean       disposing;
};

G_DEFINE_FINAL_TYPE (PostCarrierStream, post_carrier_stream, G_TYPE_IO_STREAM)

enum
{
  PROP_0,
  PROP_CARRIER,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

/* ---- synchronous calls over the asynchronous ones ---------------------------------------- */

gboolean
_post_carrier_stream_sync_begin (PostCarrier  *carrier,
                                 GThread      *thread,
                                 GError      **error)
{
  GMainContext *context = _post_carrier_get_context (carrier);

  /* Not "whoever can acquire it now": a thread that slipped in between two
   * iterations of the owner's loop would then run the owner's sources and
   * keep its loop waiting until the call completed. */
  if ((!g_main_context_is_owner (context) && g_thread_self () != thread)
      || !g_main_context_acquire (context))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                           "A synchronous call on a carrier's stream must come from the thread "
                           "that runs the carrier's main context");
      return FALSE;
    }
  return TRUE;
}

gssize
_post_carrier_stream_sync_end (PostCarrier       *carrier,
                               PostStreamSyncOp  *op,
                               GError           **error)
{
  GMainContext *context = _post_carrier_get_context (carrier);

  while (!op->done)
    g_main_context_iteration (context, TRUE);
  g_main_context_release (context);
  if (op->error != NULL)
    {
      g_propagate_error (error, op->error);
      return -1;
    }
  return op->size;
}

gboolean
_post_carrier_stream_check (PostCarrier  *carrier,
                            GError      **error)
{
  const GError *cause;

  if (post_carrier_get_state (carrier) != POST_CARRIER_STATE_DORMANT)
    return TRUE;
  /* A byte stream cannot go on over another transport: what the peer
   * received of it is not known */
  cause = post_carrier_get_error (carrier);
  g_set_error (error, POST_ERROR, POST_ERROR_CONNECTION_RESET,
               "The carrier's transport was lost, and its stream with it%s%s",
               cause ? ": " : "", cause ? cause->message : "");
  return FALSE;
}

/* ---- GIOStream ---------------------------------------------------------------------------- */

static GInputStream *
post_carrier_stream_get_input_stream (GIOStream *stream)
{
  return POST_CARRIER_STREAM (stream)->input;
}

static GOutputStream *
post_carrier_stream_get_output_stream (GIOStream *stream)
{
  return POST_CARRIER_STREAM (stream)->output;
}

static void
carrier_closed_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (!post_carrier_close_finish (POST_CARRIER (source), result, &error))
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
output_closed_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  PostCarrierStream *self = g_task_get_source_object (task);
  GError *error = NULL;

  if (!g_output_stream_close_finish (G_OUTPUT_STREAM (source), result, &error))
    {
      /* The carrier still closes; the first error is the answer */
      post_carrier_close (self->carrier);
      g_task_return_error (task, error);
      return;
    }
  post_carrier_close_async (self->carrier, g_task_get_cancellable (task), carrier_closed_cb,
                            g_steal_pointer (&task));
}

static void
post_carrier_stream_close_async (GIOStream           *stream,
                                 int                  io_priority,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  PostCarrierStream *self = POST_CARRIER_STREAM (stream);
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, post_carrier_stream_close_async);
  switch (post_carrier_get_state (self->carrier))
    {
    case POST_CARRIER_STATE_DORMANT:
      /* the stream was cut already (reads and writes said so) */
      post_carrier_close (self->carrier);
      G_GNUC_FALLTHROUGH;
    case POST_CARRIER_STATE_CLOSED:
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
      return;
    default:
      break;
    }
  if (g_output_stream_is_closed (self->output))
    post_carrier_close_async (self->carrier, cancellable, carrier_closed_cb, task);
  else
    g_output_stream_close_async (self->output, io_priority, cancellable, output_closed_cb, task);
}

static gboolean
post_carrier_stream_close_finish (GIOStream     *stream,
                                  GAsyncResult  *result,
                                  GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, stream), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
sync_closed_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  PostStreamSyncOp *op = user_data;

  op->size = post_carrier_stream_close_finish (G_IO_STREAM (source), result, &op->error) ? 0 : -1;
  op->done = TRUE;
}

static gboolean
post_carrier_stream_close (GIOStream     *stream,
                           GCancellable  *cancellable,
                           GError       **error)
{
  PostCarrierStream *self = POST_CARRIER_STREAM (stream);
  PostStreamSyncOp op = { 0, };

  if (self->disposing)
    {
      /* The last reference went without a close: GIOStream closes it from
       * dispose, which must not run the main context.  The end of the
       * direction is queued and the carrier closes gracefully behind it. */
      if (!g_output_stream_is_closed (self->output)
          && post_carrier_get_state (self->carrier) != POST_CARRIER_STATE_DORMANT)
        _post_carrier_output_stream_end (self->output);
      post_carrier_close (self->carrier);
      return TRUE;
    }
  if (!_post_carrier_stream_sync_begin (self->carrier, self->thread, error))
    return FALSE;
  post_carrier_stream_close_async (stream, G_PRIORITY_DEFAULT, cancellable, sync_closed_cb, &op);
  return _post_carrier_stream_sync_end (self->carrier, &op, error) == 0;
}

/* ---- GObject ------------------------------------------------------------------------------ */

static void
post_carrier_stream_constructed (GObject *object)
{
  PostCarrierStream *self = POST_CARRIER_STREAM (object);

  G_OBJECT_CLASS (post_carrier_stream_parent_class)->constructed (object);
  g_assert (self->carrier != NULL);
  self->thread = g_thread_ref (g_thread_self ());
  self->input = _post_carrier_input_stream_new (self->carrier, self->thread);
  self->output = _post_carrier_output_stream_new (self->carrier, self->thread);
}

static void
post_carrier_stream_get_property (GObject    *object,
                                  guint       prop_id,
                                  GValue     *value,
                                  GParamSpec *pspec)
{
  PostCarrierStream *self = POST_CARRIER_STREAM (object);

  switch (prop_id)
    {
    case PROP_CARRIER:
      g_value_set_object (value, self->carrier);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
post_carrier_stream_set_property (GObject      *object,
                                  guint         prop_id,
                                  const GValue *value,
                                  GParamSpec   *pspec)
{
  PostCarrierStream *self = POST_CARRIER_STREAM (object);

  switch (prop_id)
    {
    case PROP_CARRIER:
      self->carrier = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
post_carrier_stream_dispose (GObject *object)
{
  PostCarrierStream *self = POST_CARRIER_STREAM (object);

  self->disposing = TRUE;
  G_OBJECT_CLASS (post_carrier_stream_parent_class)->dispose (object);
}

static void
post_carrier_stream_finalize (GObject *object)
{
  PostCarrierStream *self = POST_CARRIER_STREAM (object);

  g_clear_object (&self->input);
  g_clear_object (&self->output);
  g_clear_object (&self->carrier);
  g_clear_pointer (&self->thread, g_thread_unref);
  G_OBJECT_CLASS (post_carrier_stream_parent_class)->finalize (object);
}

static void
post_carrier_stream_class_init (PostCarrierStreamClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GIOStreamClass *stream_class = G_IO_STREAM_CLASS (klass);

  object_class->constructed = post_carrier_stream_constructed;
  object_class->get_property = post_carrier_stream_get_property;
  object_class->set_property = post_carrier_stream_set_property;
  object_class->dispose = post_carrier_stream_dispose;
  object_class->finalize = post_carrier_stream_finalize;
  stream_class->get_input_stream = post_carrier_stream_get_input_stream;
  stream_class->get_output_stream = post_carrier_stream_get_output_stream;
  stream_class->close_fn = post_carrier_stream_close;
  stream_class->close_async = post_carrier_stream_close_async;
  stream_class->close_finish = post_carrier_stream_close_finish;

  /**
   * PostCarrierStream:carrier: (getter get_carrier)
   *
   * The carrier this stream reads and writes.
   */
  properties[PROP_CARRIER] =
    g_param_spec_object ("carrier", NULL, NULL, POST_TYPE_CARRIER,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
post_carrier_stream_init (PostCarrierStream *self)
{
}

/**
 * post_carrier_stream_new:
 * @carrier: a carrier (not a listener or a responder), best in stream
 *   framing
 *
 * Makes a #GIOStream that reads and writes @carrier, as described for
 * #PostCarrierStream.  The carrier may still be establishing: what is
 * written meanwhile is queued, as with any send.
 *
 * Returns: (transfer full) (type PostCarrierStream): the stream
 */
GIOStream *
post_carrier_stream_new (PostCarrier *carrier)
{
  g_return_val_if_fail (POST_IS_CARRIER (carrier), NULL);
  g_return_val_if_fail (post_carrier_get_role (carrier) != POST_CARRIER_ROLE_LISTENER
                        && post_carrier_get_role (carrier) != POST_CARRIER_ROLE_RESPONDER, NULL);

  return g_object_new (POST_TYPE_CARRIER_STREAM, "carrier", carrier, NULL);
}

/**
 * post_carrier_stream_get_carrier: (get-property carrier)
 * @self: a #PostCarrierStream
 *
 * Gives the carrier the stream reads and writes.
 *
 * Returns: (transfer none): the carrier
 */
PostCarrier *
post_carrier_stream_get_carrier (PostCarrierStream *self)
{
  g_return_val_if_fail (POST_IS_CARRIER_STREAM (self), NULL);
  return self->carrier;
}
