/* post-carrier-receive.c: PostCarrier: receiving and the inbox
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "post-carrier-private.h"

void
_post_carrier_receive_request_free (ReceiveRequest *request)
{
  g_clear_object (&request->task);
  g_free (request);
}

void
_post_carrier_inbox_entry_free (InboxEntry *entry)
{
  g_clear_object (&entry->handle);
  g_clear_pointer (&entry->data, g_bytes_unref);
  g_free (entry);
}

static void
fail_receive_requests (PostCarrier  *self,
                       const GError *error)
{
  ReceiveRequest *request;

  while ((request = g_queue_pop_head (&self->requests)) != NULL)
    {
      g_task_return_error (request->task, g_error_copy (error));
      _post_carrier_receive_request_free (request);
    }
}

/* ---- receiving ----------------------------------------------------------------------- */

PostDemand
_post_carrier_peek_demand (PostCarrier *self,
                           gsize       *min_length,
                           gsize       *max_length)
{
  ReceiveRequest *request;

  *min_length = *max_length = 0;
  if (self->role == POST_CARRIER_ROLE_RESPONDER && self->parent == NULL)
    /* An unconnected responder: every message goes to its function. */
    return self->respond_func != NULL && self->state == POST_CARRIER_STATE_ACTIVE
           ? POST_DEMAND_COMPLETE : POST_DEMAND_NONE;
  if (self->parent != NULL)
    {
      if (self->parent->role == POST_CARRIER_ROLE_RESPONDER)
        return self->parent->state == POST_CARRIER_STATE_ACTIVE ? POST_DEMAND_COMPLETE
                                                                : POST_DEMAND_NONE;
      return _post_carrier_peek_demand (self->parent, min_length, max_length);
    }
  request = g_queue_peek_head (&self->requests);
  if (request != NULL)
    {
      if (!request->partial)
        return POST_DEMAND_COMPLETE;
      *min_length = request->min_length;
      *max_length = request->max_length;
      return POST_DEMAND_PARTIAL;
    }
  if (self->ready_func != NULL)
    return POST_DEMAND_COMPLETE;
  return POST_DEMAND_NONE;
}

gsize
_post_carrier_get_inbox_size (PostCarrier *self)
{
  if (self->parent != NULL && self->parent->role == POST_CARRIER_ROLE_SINK)
    return self->parent->inbox_bytes;
  return self->inbox_bytes;
}

/* Accepted (or forked by the peer): this end did not open the transport. */
gboolean
_post_carrier_is_passive (PostCarrier *self)
{
  return self->passive;
}

static void
complete_request (ReceiveRequest *request,
                  PostMessage    *handle,
                  GBytes         *data,
                  gboolean        end)
{
  if (request->partial)
    {
      g_task_set_task_data (request->task, g_object_ref (handle), g_object_unref);
      g_object_set_data (G_OBJECT (request->task), "post-end", GINT_TO_POINTER (end));
      g_task_return_pointer (request->task, g_bytes_ref (data), (GDestroyNotify) g_bytes_unref);
    }
  else
    g_task_return_pointer (request->task, g_object_ref (handle), g_object_unref);
}

void
_post_carrier_deliver (PostCarrier *self,
                       PostMessage *handle,
                       GBytes      *data,
                       gboolean     end_of_message)
{
  ReceiveRequest *request;

  if (self->role == POST_CARRIER_ROLE_RESPONDER && self->parent == NULL)
    {
      /* An unconnected responder (listen_with_role()): the reply goes to
       * the message's source through the responder's own transient. */
      if (self->respond_func != NULL && self->state == POST_CARRIER_STATE_ACTIVE)
        {
          g_autoptr(PostReply) reply =
            _post_reply_new (self, post_message_get_remote_address (handle));

          g_object_ref (self);
          self->respond_func (self, handle, reply, self->respond_data);
          g_object_unref (self);
        }
      return;
    }
  if (self->parent != NULL)
    {
      PostCarrier *parent = self->parent;

      if (parent->role == POST_CARRIER_ROLE_RESPONDER)
        {
          if (parent->respond_func != NULL && parent->state == POST_CARRIER_STATE_ACTIVE)
            {
              g_object_ref (parent);
              parent->respond_func (parent, handle, self->reply, parent->respond_data);
              g_object_unref (parent);
            }
          return;
        }
      _post_carrier_deliver (parent, handle, data, end_of_message);
      return;
    }

  request = g_queue_pop_head (&self->requests);
  if (request != NULL)
    {
      complete_request (request, handle, data, end_of_message);
      _post_carrier_receive_request_free (request);
      return;
    }
  if (self->ready_func != NULL)
    {
      PostReadyFunc func = self->ready_func;
      gboolean keep;

      g_object_ref (self);
      keep = func (self, handle, self->ready_data);
      if (!keep && self->ready_func == func)
        {
          self->ready_func = NULL;
          if (self->ready_notify != NULL)
            g_clear_pointer (&self->ready_data, self->ready_notify);
        }
      g_object_unref (self);
      return;
    }
  {
    InboxEntry *entry = g_new0 (InboxEntry, 1);

    entry->handle = g_object_ref (handle);
    entry->data = g_bytes_ref (data);
    entry->end = end_of_message;
    g_queue_push_tail (&self->inbox, entry);
    self->inbox_bytes += g_bytes_get_size (data) + POST_MESSAGE_OVERHEAD;
  }
}

/* A message that cannot be delivered (too large for a complete receive):
 * the receive waiting for it fails, or, for a ready function or a
 * responder, the receive-error signal tells. */
void
_post_carrier_deliver_error (PostCarrier  *self,
                             const GError *error)
{
  ReceiveRequest *request;

  if (self->parent != NULL && self->parent->role != POST_CARRIER_ROLE_RESPONDER)
    {
      _post_carrier_deliver_error (self->parent, error);
      return;
    }
  if (self->parent != NULL)
    {
      g_signal_emit (self->parent, _post_carrier_signals[CARRIER_SIGNAL_RECEIVE_ERROR], 0, error);
      return;
    }
  if (self->role != POST_CARRIER_ROLE_RESPONDER
      && (request = g_queue_pop_head (&self->requests)) != NULL)
    {
      g_task_return_error (request->task, g_error_copy (error));
      _post_carrier_receive_request_free (request);
      return;
    }
  g_signal_emit (self, _post_carrier_signals[CARRIER_SIGNAL_RECEIVE_ERROR], 0, error);
}

static void
kick_children (PostCarrier *self)
{
  GHashTableIter iter;
  gpointer child;

  if (self->children == NULL)
    return;
  g_hash_table_iter_init (&iter, self->children);
  while (g_hash_table_iter_next (&iter, &child, NULL))
    if (POST_CARRIER (child)->transient != NULL)
      _post_transient_pump_receive (POST_CARRIER (child)->transient);
}

static void
kick_receive (PostCarrier *self)
{
  if (self->transient != NULL)
    _post_transient_pump_receive (self->transient);
  kick_children (self);
}

/* Serves queued requests from the inbox; returns whether any remain. */
static void
serve_from_inbox (PostCarrier *self)
{
  ReceiveRequest *request;
  InboxEntry *entry;

  while ((request = g_queue_peek_head (&self->requests)) != NULL
         && (entry = g_queue_peek_head (&self->inbox)) != NULL)
    {
      gsize size = g_bytes_get_size (entry->data) - entry->offset;
      gsize take = size;
      g_autoptr(GBytes) piece = NULL;
      gboolean end;

      g_queue_pop_head (&self->requests);
      if (request->partial && request->max_length > 0)
        take = MIN (size, request->max_length);
      piece = g_bytes_new_from_bytes (entry->data, entry->offset, take);
      entry->offset += take;
      self->inbox_bytes -= take;
      end = entry->end && entry->offset == g_bytes_get_size (entry->data);
      _post_message_set_received_part (entry->handle, piece, end);
      complete_request (request, entry->handle, piece, end);
      _post_carrier_receive_request_free (request);
      if (entry->offset == g_bytes_get_size (entry->data))
        {
          self->inbox_bytes -= POST_MESSAGE_OVERHEAD;
          _post_carrier_inbox_entry_free (g_queue_pop_head (&self->inbox));
        }
    }
}

void
_post_carrier_drain_requests_after_close (PostCarrier *self)
{
  g_autoptr(GError) error = NULL;

  serve_from_inbox (self);
  if (g_queue_is_empty (&self->requests))
    return;
  if (self->error != NULL)
    error = g_error_copy (self->error);
  else
    error = g_error_new_literal (POST_ERROR, POST_ERROR_CLOSED,
                                 "The carrier is closed: no more messages will arrive");
  fail_receive_requests (self, error);
}

static void
receive_cancelled (GTask    *task,
                   gpointer  user_data)
{
  PostCarrier *self = user_data;

  for (GList *l = self->requests.head; l != NULL; l = l->next)
    {
      ReceiveRequest *request = l->data;

      if (request->task != task)
        continue;
      /* Nothing was taken for it: what arrives later goes to the next
       * request (or the inbox). */
      g_queue_delete_link (&self->requests, l);
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               "The receive was cancelled");
      _post_carrier_receive_request_free (request);
      if (self->state != POST_CARRIER_STATE_CLOSED)
        kick_receive (self);   /* less demand: the read interest follows */
      return;
    }
}

static void
queue_receive (PostCarrier  *self,
               GTask        *task,
               gboolean      partial,
               gsize         min_length,
               gsize         max_length)
{
  ReceiveRequest *request;
  GError *error = NULL;

  if (self->role != POST_CARRIER_ROLE_CARRIER && self->role != POST_CARRIER_ROLE_SINK)
    {
      _post_carrier_check_usable (self, FALSE, &error);
      g_task_return_error (task, error);
      return;
    }
  if (self->ready_func != NULL)
    {
      g_task_return_new_error (task, POST_ERROR, POST_ERROR_PENDING,
                               "A ready function already receives every message of this carrier");
      return;
    }

  request = g_new0 (ReceiveRequest, 1);
  request->task = g_object_ref (task);
  request->partial = partial;
  request->min_length = min_length;
  request->max_length = max_length;
  g_queue_push_tail (&self->requests, request);
  _post_task_watch_cancel (task, receive_cancelled, self);

  serve_from_inbox (self);
  if (self->state == POST_CARRIER_STATE_CLOSED || self->state == POST_CARRIER_STATE_DORMANT)
    {
      _post_carrier_drain_requests_after_close (self);
      return;
    }
  kick_receive (self);
}

/**
 * post_carrier_receive_async:
 * @self: a #PostCarrier
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called with the next message
 * @user_data: data for @callback
 *
 * Receives the next complete message (draft 2.2).  Requests are served in
 * the order they were made.  A complete message is delivered whole or not
 * at all: one larger than the configuration's `recv-msg-max-len` fails this
 * request with %POST_ERROR_MESSAGE_TOO_LARGE and is dropped (what is left
 * of it is read and discarded); the carrier goes on with the next message.
 * post_carrier_receive_partial_async() receives such a message in parts.
 * After a passive close, the messages that had arrived are still
 * delivered, then requests fail with %POST_ERROR_CLOSED.
 *
 * Cancelling @cancellable before a message was handed to this call
 * completes it with %G_IO_ERROR_CANCELLED; nothing is lost, the next
 * message goes to the next receive.  A message already handed to it is
 * returned even if @cancellable was cancelled since.
 */
void
post_carrier_receive_async (PostCarrier         *self,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (POST_IS_CARRIER (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, post_carrier_receive_async);
  /* A message taken for this call is returned: dropping it would lose it. */
  g_task_set_check_cancellable (task, FALSE);
  if (_post_carrier_return_if_cancelled (task))
    return;
  queue_receive (self, task, FALSE, 0, 0);
}

/**
 * post_carrier_receive_finish:
 * @self: a #PostCarrier
 * @result: the result passed to the callback
 * @error: return location for an error
 *
 * Finishes post_carrier_receive_async(); the caller owns the message.
 * Fails with %POST_ERROR_CLOSED after a passive close once the messages
 * that had arrived were delivered, %POST_ERROR_MESSAGE_TOO_LARGE for a
 * message larger than `recv-msg-max-len` (dropped; the carrier goes on),
 * %POST_ERROR_WRONG_ROLE on a source, the error that ended the carrier, or
 * %G_IO_ERROR_CANCELLED (nothing is lost).
 *
 * Returns: (transfer full): the message, or %NULL with @error set
 */
PostMessage *
post_carrier_receive_finish (PostCarrier   *self,
                             GAsyncResult  *result,
                             GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * post_carrier_receive_partial_async:
 * @self: a #PostCarrier
 * @min_length: the least number of bytes to return, unless the message ends first
 * @max_length: the most bytes to return at once, 0 for no limit
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called with the next part
 * @user_data: data for @callback
 *
 * Receives the next part of a message (draft 2.2): at least @min_length
 * bytes unless the message ends sooner, at most @max_length.  In stream
 * mode this is how a byte stream is read.  Cancellation works as for
 * post_carrier_receive_async(): no byte is lost.
 */
void
post_carrier_receive_partial_async (PostCarrier         *self,
                                    gsize                min_length,
                                    gsize                max_length,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (POST_IS_CARRIER (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, post_carrier_receive_partial_async);
  g_task_set_check_cancellable (task, FALSE);
  if (_post_carrier_return_if_cancelled (task))
    return;
  if (max_length > 0 && min_length > max_length)
    {
      g_task_return_new_error (task, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                               "min_length (%" G_GSIZE_FORMAT ") is larger than max_length (%"
                               G_GSIZE_FORMAT ")", min_length, max_length);
      return;
    }
  queue_receive (self, task, TRUE, min_length, max_length);
}

/**
 * post_carrier_receive_partial_finish:
 * @self: a #PostCarrier
 * @result: the result passed to the callback
 * @message: (out) (optional) (transfer full): the handle of the whole message
 * @end_of_message: (out) (optional): whether this part ends the message
 * @error: return location for an error
 *
 * Finishes post_carrier_receive_partial_async(): the caller owns the
 * part's bytes and, when asked for, the message they belong to (the same
 * #PostMessage for every part of one message). Fails as
 * post_carrier_receive_finish() does, with %POST_ERROR_TRUNCATED when the
 * peer closed in the middle of a message.
 *
 * Returns: (transfer full): the part's bytes, or %NULL with @error set
 */
GBytes *
post_carrier_receive_partial_finish (PostCarrier   *self,
                                     GAsyncResult  *result,
                                     PostMessage  **message,
                                     gboolean      *end_of_message,
                                     GError       **error)
{
  GBytes *data;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  data = g_task_propagate_pointer (G_TASK (result), error);
  if (message != NULL)
    *message = data ? g_object_ref (g_task_get_task_data (G_TASK (result))) : NULL;
  if (end_of_message != NULL)
    *end_of_message = data ? GPOINTER_TO_INT (g_object_get_data (G_OBJECT (result), "post-end")) : FALSE;
  return data;
}

/**
 * post_carrier_ready:
 * @self: a #PostCarrier
 * @func: (scope notified) (closure user_data) (nullable): called with each
 *   received message; %NULL stops receiving
 * @user_data: data for @func
 * @notify: (nullable): frees @user_data when @func is no longer used
 *
 * Receives every message and calls @func with it (draft `.Ready()`), until
 * @func returns %FALSE or is replaced.  Messages that arrived before are
 * delivered first.  Every message is complete: one larger than the
 * configuration's `recv-msg-max-len` is dropped and
 * #PostCarrier::receive-error tells.
 */
void
post_carrier_ready (PostCarrier    *self,
                    PostReadyFunc   func,
                    gpointer        user_data,
                    GDestroyNotify  notify)
{
  InboxEntry *entry;

  g_return_if_fail (POST_IS_CARRIER (self));

  if (func != NULL && !_post_carrier_can_receive_role (self))
    {
      g_critical ("A %s cannot receive", _post_carrier_role_name (self->role));
      if (notify != NULL)
        notify (user_data);
      return;
    }
  if (self->ready_notify != NULL)
    g_clear_pointer (&self->ready_data, self->ready_notify);
  self->ready_func = func;
  self->ready_data = user_data;
  self->ready_notify = notify;

  g_object_ref (self);
  while (self->ready_func == func && func != NULL
         && (entry = g_queue_pop_head (&self->inbox)) != NULL)
    {
      g_autoptr(GBytes) rest = g_bytes_new_from_bytes (entry->data, entry->offset,
                                                       g_bytes_get_size (entry->data) - entry->offset);

      self->inbox_bytes -= g_bytes_get_size (rest) + POST_MESSAGE_OVERHEAD;
      _post_message_set_received_part (entry->handle, rest, entry->end);
      if (!func (self, entry->handle, self->ready_data) && self->ready_func == func)
        {
          self->ready_func = NULL;
          if (self->ready_notify != NULL)
            g_clear_pointer (&self->ready_data, self->ready_notify);
        }
      _post_carrier_inbox_entry_free (entry);
    }
  if (self->state != POST_CARRIER_STATE_CLOSED)
    kick_receive (self);
  g_object_unref (self);
}
