/* post-carrier-send.c: PostCarrier: sending, and the send events from the transient
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "post-carrier-private.h"

/* ---- sending -------------------------------------------------------------------- */

static gboolean
send_internal (PostCarrier     *self,
               PostMessage     *message,
               GBytes          *content,
               gboolean         end_of_message,
               GTask           *task,
               GSocketAddress  *destination,
               gboolean         check_limit,
               GError         **error)
{
  if (!_post_carrier_check_usable (self, TRUE, error))
    return FALSE;
  if (message != NULL && (!_post_message_check_antecedents (message, error)
                          || !_post_message_mark_queued (message, ++self->send_sequence, error)))
    return FALSE;
  if (!_post_transient_enqueue (self->transient, message, content, end_of_message, FALSE,
                                task, destination, check_limit, error))
    {
      /* Refused (a full queue, a message the stack cannot carry): it was
       * never queued, and may be sent again. */
      if (message != NULL)
        _post_message_unmark_queued (message);
      return FALSE;
    }
  return TRUE;
}

gboolean
_post_carrier_send_to (PostCarrier     *self,
                       PostMessage     *message,
                       GSocketAddress  *destination,
                       GTask           *task,
                       GError         **error)
{
  /* Replies of a responder: the role check is the responder's business. */
  if (self->state == POST_CARRIER_STATE_CLOSED || self->state == POST_CARRIER_STATE_CLOSING)
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_CLOSED,
                           "The source of the message is gone: its carrier is closed");
      return FALSE;
    }
  if (!_post_message_check_antecedents (message, error)
      || !_post_message_mark_queued (message, ++self->send_sequence, error))
    return FALSE;
  if (!_post_transient_enqueue (self->transient, message, post_message_get_content (message),
                                TRUE, FALSE, task, destination, task == NULL, error))
    {
      _post_message_unmark_queued (message);
      return FALSE;
    }
  return TRUE;
}

static void
send_cancelled (GTask    *task,
                gpointer  user_data)
{
  PostCarrier *self = user_data;

  if (self->transient != NULL)
    _post_transient_cancel_send (self->transient, task);
}

/**
 * post_carrier_send_async:
 * @self: a #PostCarrier
 * @message: the message to send
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the message was handed to the
 *   network, or failed
 * @user_data: data for @callback
 *
 * Sends a complete message.  While the carrier is establishing it is
 * queued.  The callback's timing paces the sender: it runs only once the
 * message is in the network, so a receiver that stops reading slows it.
 *
 * This call does not fail with %POST_ERROR_WOULD_BLOCK: a message sent
 * while the send queue is full (`send-queue-limit`) is queued, its
 * callback waits, and the carrier stops reading from the network until
 * the queue drains below its limit.  So a ready function that answers
 * every message with post_carrier_send_async() (an echo) is paced by its
 * peer: a peer that stops reading stops it, instead of the queue growing.
 * (docs/framing.md, "Back-pressure", says how to avoid a deadlock.)
 *
 * Cancelling @cancellable while the message is still queued, none of it
 * written, takes it off the queue: the call completes with
 * %G_IO_ERROR_CANCELLED and the message emits #PostMessage::send-error
 * with it.  Once any of it was written it cannot be taken back (draft
 * 4.2): it is sent whole and the call completes normally, as a partial
 * GIO write does.  The carrier stays usable either way.
 */
void
post_carrier_send_async (PostCarrier         *self,
                         PostMessage         *message,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  GError *error = NULL;

  g_return_if_fail (POST_IS_CARRIER (self));
  g_return_if_fail (POST_IS_MESSAGE (message));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, post_carrier_send_async);
  /* A message that went is reported sent, cancelled or not. */
  g_task_set_check_cancellable (task, FALSE);
  if (_post_carrier_return_if_cancelled (task))
    return;
  if (!send_internal (self, message, post_message_get_content (message), TRUE, task, NULL,
                      FALSE, &error))
    g_task_return_error (task, error);
  else
    _post_task_watch_cancel (task, send_cancelled, self);
}

/**
 * post_carrier_send_finish:
 * @self: a #PostCarrier
 * @result: the result passed to the callback
 * @error: return location for an error
 *
 * Finishes post_carrier_send_async(). Fails with %POST_ERROR_EXPIRED when
 * the message's lifetime passed before it could be sent,
 * %POST_ERROR_MESSAGE_TOO_LARGE, %POST_ERROR_WRONG_ROLE on a sink,
 * %POST_ERROR_CLOSED, the error that ended the carrier, or
 * %G_IO_ERROR_CANCELLED when it was cancelled before any of it was
 * written.
 *
 * Returns: %TRUE when the message was handed to the network
 */
gboolean
post_carrier_send_finish (PostCarrier   *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * post_carrier_send:
 * @self: a #PostCarrier
 * @message: the message to send
 * @error: return location for an error
 *
 * Queues a complete message without a callback; its events arrive as
 * signals on @message and on the carrier.
 *
 * Returns: %TRUE if queued; %FALSE with %POST_ERROR_WOULD_BLOCK when the
 *   send queue is full, or another error
 */
gboolean
post_carrier_send (PostCarrier  *self,
                   PostMessage  *message,
                   GError      **error)
{
  g_return_val_if_fail (POST_IS_CARRIER (self), FALSE);
  g_return_val_if_fail (POST_IS_MESSAGE (message), FALSE);

  return send_internal (self, message, post_message_get_content (message), TRUE, NULL, NULL,
                        TRUE, error);
}

/**
 * post_carrier_send_bytes:
 * @self: a #PostCarrier
 * @content: the message's bytes
 * @error: return location for an error
 *
 * Queues a message with default properties and no events: the cheapest
 * way to send.  Small messages are coalesced into few writes.
 *
 * Returns: %TRUE if queued; %FALSE with %POST_ERROR_WOULD_BLOCK when the
 *   send queue is full, or another error
 */
gboolean
post_carrier_send_bytes (PostCarrier  *self,
                         GBytes       *content,
                         GError      **error)
{
  g_return_val_if_fail (POST_IS_CARRIER (self), FALSE);
  g_return_val_if_fail (content != NULL, FALSE);

  return send_internal (self, NULL, content, TRUE, NULL, NULL, TRUE, error);
}

/**
 * post_carrier_send_partial_async:
 * @self: a #PostCarrier
 * @message: the handle of the whole message; the same for every part
 * @part: the next bytes of the message
 * @end_of_message: whether @part is the last
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the part was handed to the network
 * @user_data: data for @callback
 *
 * Sends a message in parts (draft 2.2), for content whose size is not
 * known or too large to hold.  Until the last part is sent, other messages
 * on this carrier wait behind it.  In stream mode the end of the message
 * ends the sending direction (a FIN on TCP).  @message's own content is
 * not sent; its properties apply to every part.
 *
 * The peer receives one message on every stack.  Where the carrier has
 * %POST_STACK_CAP_PARTIAL_MESSAGES (byte streams in libpost's framing, and
 * sctp, which hands each part to the stack with SCTP's explicit end of
 * record) each part leaves as it is given, a part's callback runs once it
 * was handed to the network, and the message has no size limit; aborting
 * the carrier before the last part makes the message an error at the
 * peer, never a shorter message.  On a stack that keeps
 * message boundaries itself without it (udp, dtls) the parts are gathered
 * and leave as one datagram with the last part: a part's callback runs once it joined the
 * datagram, the last one's once the datagram was sent.  What is gathered is
 * bounded by the stack's largest message: the part that would make the
 * message larger fails with %POST_ERROR_MESSAGE_TOO_LARGE, the message is
 * dropped (its `send-error` fires), and its later parts fail with the same
 * error, up to the one that ends it; the carrier goes on.
 *
 * Like post_carrier_send_async(), this does not fail when the send queue
 * is full: the part is queued and the carrier stops reading until the
 * queue drains.  Cancelling @cancellable while the part is queued, none of
 * it written, takes the part off the queue (%G_IO_ERROR_CANCELLED); the
 * message stays open, without a #PostMessage::send-error, so the part can
 * be sent again or others follow.  A part already being written is sent
 * and completes normally.
 */
void
post_carrier_send_partial_async (PostCarrier         *self,
                                 PostMessage         *message,
                                 GBytes              *part,
                                 gboolean             end_of_message,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  GError *error = NULL;
  gboolean first;

  g_return_if_fail (POST_IS_CARRIER (self));
  g_return_if_fail (POST_IS_MESSAGE (message));
  g_return_if_fail (part != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, post_carrier_send_partial_async);
  g_task_set_check_cancellable (task, FALSE);
  if (_post_carrier_return_if_cancelled (task))
    return;
  if (!_post_carrier_check_usable (self, TRUE, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  first = post_message_get_sequence (message) == 0;
  if (first && (!_post_message_check_antecedents (message, &error)
                || !_post_message_mark_queued (message, ++self->send_sequence, &error)))
    {
      g_task_return_error (task, error);
      return;
    }
  if (!_post_transient_enqueue (self->transient, message, part, end_of_message, TRUE, task, NULL,
                                FALSE, &error))
    {
      if (first)
        _post_message_unmark_queued (message);
      g_task_return_error (task, error);
    }
  else
    _post_task_watch_cancel (task, send_cancelled, self);
}

/**
 * post_carrier_send_partial_finish:
 * @self: a #PostCarrier
 * @result: the result passed to the callback
 * @error: return location for an error
 *
 * Finishes post_carrier_send_partial_async(). Fails as
 * post_carrier_send_finish() does, and with %POST_ERROR_MESSAGE_TOO_LARGE
 * when the parts gathered for a datagram stack exceed its largest message.
 *
 * Returns: %TRUE when the part was handed to the network
 */
gboolean
post_carrier_send_partial_finish (PostCarrier   *self,
                                  GAsyncResult  *result,
                                  GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
flush_cancelled (GTask    *task,
                 gpointer  user_data)
{
  PostCarrier *self = user_data;

  if (self->transient != NULL)
    _post_transient_cancel_flush (self->transient, task);
}

/**
 * post_carrier_flush_async:
 * @self: a #PostCarrier
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when everything queued before this call
 *   was handed to the network
 * @user_data: data for @callback
 *
 * Waits until the send queue has drained up to this call.  Cancelling
 * @cancellable completes the wait with %G_IO_ERROR_CANCELLED; what is
 * queued is still sent.
 */
void
post_carrier_flush_async (PostCarrier         *self,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  GError *error = NULL;

  g_return_if_fail (POST_IS_CARRIER (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, post_carrier_flush_async);
  g_task_set_check_cancellable (task, TRUE);
  if (_post_carrier_return_if_cancelled (task))
    return;
  if (!_post_carrier_check_usable (self, TRUE, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  _post_transient_flush (self->transient, task);
  _post_task_watch_cancel (task, flush_cancelled, self);
}

/**
 * post_carrier_flush_finish:
 * @self: a #PostCarrier
 * @result: the result passed to the callback
 * @error: return location for an error
 *
 * Finishes post_carrier_flush_async(): once it succeeds, every message
 * queued before the call was handed to the network. Fails with
 * %G_IO_ERROR_CANCELLED (what was queued is still sent), or with the error
 * that closed the carrier meanwhile.
 *
 * Returns: %TRUE when the queue drained
 */
gboolean
post_carrier_flush_finish (PostCarrier   *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- events from the transient ---------------------------------------------------- */

void
_post_carrier_emit_sent (PostCarrier *self,
                         PostMessage *message)
{
  _post_message_emit_sent (message);
  g_signal_emit (self, _post_carrier_signals[CARRIER_SIGNAL_SENT], 0, message);
}

void
_post_carrier_emit_soft_error (PostCarrier  *self,
                               const GError *error)
{
  if (post_configuration_get_soft_error_notify (self->configuration) == POST_PREFERENCE_PROHIBIT)
    return;
  if (self->parent != NULL)
    g_signal_emit (self->parent, _post_carrier_signals[CARRIER_SIGNAL_SOFT_ERROR], 0, error);
  g_signal_emit (self, _post_carrier_signals[CARRIER_SIGNAL_SOFT_ERROR], 0, error);
}

gboolean
_post_carrier_wants_acked (PostCarrier *self)
{
  /* (no class closure: g_signal_handler_find() is the cheaper check) */
  return g_signal_handler_find (self, G_SIGNAL_MATCH_ID, _post_carrier_signals[CARRIER_SIGNAL_ACKED],
                                0, NULL, NULL, NULL) != 0;
}

void
_post_carrier_emit_acked (PostCarrier *self,
                          PostMessage *message)
{
  _post_message_emit_acked (message);
  g_signal_emit (self, _post_carrier_signals[CARRIER_SIGNAL_ACKED], 0, message);
}

void
_post_carrier_emit_expired (PostCarrier *self,
                            PostMessage *message)
{
  _post_message_emit_expired (message);
  g_signal_emit (self, _post_carrier_signals[CARRIER_SIGNAL_EXPIRED], 0, message);
}

void
_post_carrier_emit_send_error (PostCarrier  *self,
                               PostMessage  *message,
                               const GError *error)
{
  if (_post_message_emit_send_error (message, error))
    g_signal_emit (self, _post_carrier_signals[CARRIER_SIGNAL_SEND_ERROR], 0, message, error);
}
