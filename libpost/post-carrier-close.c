/* post-carrier-close.c: PostCarrier: closing, aborting, and the end of a transport (closed or DORMANT)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "post-carrier-private.h"

/* ---- closing ---------------------------------------------------------------------------- */

static void
complete_close_tasks (PostCarrier *self)
{
  GTask *task;

  while ((task = g_queue_pop_head (&self->close_tasks)) != NULL)
    {
      g_task_return_boolean (task, TRUE);
      g_object_unref (task);
    }
}

static void
close_children (PostCarrier *self)
{
  GList *children;

  if (self->children == NULL)
    return;
  children = g_hash_table_get_keys (self->children);
  for (GList *l = children; l != NULL; l = l->next)
    g_object_ref (l->data);
  for (GList *l = children; l != NULL; l = l->next)
    post_carrier_close (l->data);
  g_list_free_full (children, g_object_unref);
}

void
_post_carrier_set_closed (PostCarrier  *self,
                          const GError *error)
{
  g_autoptr(GError) closed_error = NULL;

  if (self->state == POST_CARRIER_STATE_CLOSED)
    return;

  g_object_ref (self);
  if (error != NULL && self->error == NULL)
    self->error = g_error_copy (error);
  if (self->listen_psi != NULL)
    post_psi_close (self->listen_psi, FALSE);
  _post_carrier_stop_path_watch (self);
  _post_carrier_set_state (self, POST_CARRIER_STATE_CLOSED);
  _post_carrier_fork_state_closed (self, error);
  closed_error = g_error_new_literal (POST_ERROR, POST_ERROR_CLOSED, "The carrier is closed");
  _post_carrier_complete_establish_tasks (self, error ? error : closed_error);
  _post_carrier_drain_requests_after_close (self);
  if (self->association != NULL)
    _post_association_remove_carrier (self->association, self);
  close_children (self);
  g_signal_emit (self, _post_carrier_signals[CARRIER_SIGNAL_CLOSED], 0, error);
  complete_close_tasks (self);
  if (self->ready_func != NULL)
    {
      self->ready_func = NULL;
      if (self->ready_notify != NULL)
        g_clear_pointer (&self->ready_data, self->ready_notify);
    }
  g_object_unref (self);
}

gboolean
_post_carrier_should_go_dormant (PostCarrier   *self,
                                 PostTransient *transient,
                                 const GError  *error)
{
  /* The transport of a carrier we initiated failed: the association keeps
   * what is needed to establish it again, so the carrier goes dormant
   * rather than closed.  Accepted carriers cannot reach their peer again. */
  return error != NULL && transient == self->transient
         && self->state == POST_CARRIER_STATE_ACTIVE && self->remote != NULL
         && !self->passive && !self->close_requested
         && self->association != NULL && self->listen_psi == NULL
         && self->fork_wait == NULL   /* a fork's transport not yet accepted fails its fork */
         && !g_error_matches (error, POST_ERROR, POST_ERROR_CLOSED)
         /* The peer said no (its listener refused the carrier): nothing to
          * establish again. */
         && !g_error_matches (error, POST_ERROR, POST_ERROR_CONNECTION_REFUSED);
}

void
_post_carrier_transient_ended (PostCarrier   *self,
                               PostTransient *transient,
                               const GError  *error,
                               gboolean       peer_closed)
{
  if (transient != self->transient || self->state == POST_CARRIER_STATE_CLOSED)
    return;
  if (self->held)
    {
      /* Not announced yet: it closes once it is, so that whoever gets it
       * sees it close (and can still receive what it sent). */
      self->held_ended = TRUE;
      if (error != NULL && self->held_end_error == NULL)
        self->held_end_error = g_error_copy (error);
      _post_carrier_schedule_held (self);
      return;
    }

  g_object_ref (self);
  if (_post_carrier_should_go_dormant (self, transient, error))
    {
      g_autoptr(PostTransient) fresh = _post_transient_new_pending (self, self->configuration);

      /* What was queued and not started waits for the next transient. */
      _post_transient_take_queue (fresh, transient);
      g_clear_error (&self->error);
      self->error = g_error_copy (error);
      _post_carrier_stop_path_watch (self);
      _post_carrier_detach_transient (self);
      self->transient = g_steal_pointer (&fresh);
      _post_carrier_set_state (self, POST_CARRIER_STATE_DORMANT);
      _post_carrier_drain_requests_after_close (self);
    }
  else
    _post_carrier_set_closed (self, error);
  g_object_unref (self);
}

/**
 * post_carrier_close:
 * @self: a #PostCarrier
 *
 * Closes the carrier gracefully: what is queued is still sent, the sending
 * direction ends, and the carrier waits briefly for the peer to end its
 * own, then emits #PostCarrier::closed.  A carrier still establishing is
 * closed once its queued messages are sent.  Closing a listener stops
 * accepting; closing a responder or sink also closes its per-remote
 * carriers.  Closing twice does nothing.
 */
void
post_carrier_close (PostCarrier *self)
{
  g_return_if_fail (POST_IS_CARRIER (self));

  if (self->state == POST_CARRIER_STATE_CLOSED || self->state == POST_CARRIER_STATE_CLOSING)
    return;
  g_object_ref (self);
  self->close_requested = TRUE;
  switch (self->state)
    {
    case POST_CARRIER_STATE_ESTABLISHING:
      /* Closed once established and drained (activate()). */
      if (self->establishment == NULL && self->establish_source == NULL)
        _post_carrier_set_closed (self, NULL);
      break;
    case POST_CARRIER_STATE_DORMANT:
      {
        g_autoptr(GError) error = g_error_new_literal (POST_ERROR, POST_ERROR_CLOSED,
                                                       "The carrier was closed while dormant");

        /* No transport to drain into: what waited for reactivation fails,
         * each message reporting send-error, rather than vanishing. */
        if (self->transient != NULL)
          _post_transient_fail_queue (self->transient, error);
        _post_carrier_set_closed (self, NULL);
      }
      break;
    case POST_CARRIER_STATE_ACTIVE:
    default:
      if (self->listen_psi != NULL || self->transient == NULL)
        _post_carrier_set_closed (self, NULL);
      else
        {
          _post_carrier_set_state (self, POST_CARRIER_STATE_CLOSING);
          _post_transient_close (self->transient);
        }
      break;
    }
  g_object_unref (self);
}

static void
close_cancelled (GTask    *task,
                 gpointer  user_data)
{
  PostCarrier *self = user_data;
  GList *link = g_queue_find (&self->close_tasks, task);

  if (link == NULL)
    return;
  g_queue_delete_link (&self->close_tasks, link);
  g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                           "The wait for the close was cancelled; the carrier still closes");
  g_object_unref (task);
}

/**
 * post_carrier_close_async:
 * @self: a #PostCarrier
 * @cancellable: (nullable): a #GCancellable (cancels the wait)
 * @callback: (scope async): called when the carrier is CLOSED
 * @user_data: data for @callback
 *
 * Closes the carrier gracefully, as post_carrier_close(), and reports when
 * it is done.  Cancelling @cancellable, before or during the call,
 * completes it with %G_IO_ERROR_CANCELLED, but the carrier closes all the
 * same (as a cancelled g_io_stream_close_async() leaves the stream closed).
 */
void
post_carrier_close_async (PostCarrier         *self,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (POST_IS_CARRIER (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, post_carrier_close_async);
  if (_post_carrier_return_if_cancelled (task))
    {
      post_carrier_close (self);
      return;
    }
  if (self->state == POST_CARRIER_STATE_CLOSED)
    {
      g_task_return_boolean (task, TRUE);
      return;
    }
  _post_task_watch_cancel (task, close_cancelled, self);
  g_queue_push_tail (&self->close_tasks, g_steal_pointer (&task));
  post_carrier_close (self);
}

/**
 * post_carrier_close_finish:
 * @self: a #PostCarrier
 * @result: the result passed to the callback
 * @error: return location for an error
 *
 * Finishes post_carrier_close_async(). Fails with %G_IO_ERROR_CANCELLED
 * when the call was cancelled (the carrier closes all the same), or with
 * the error that ended the carrier when it failed while draining its
 * queue.
 *
 * Returns: %TRUE once closed
 */
gboolean
post_carrier_close_finish (PostCarrier   *self,
                           GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * post_carrier_abort:
 * @self: a #PostCarrier
 *
 * Closes the carrier at once: queued messages are dropped (each reports
 * #PostMessage::send-error) and the transport is reset.
 */
void
post_carrier_abort (PostCarrier *self)
{
  g_autoptr(GError) error = NULL;

  g_return_if_fail (POST_IS_CARRIER (self));

  if (self->state == POST_CARRIER_STATE_CLOSED)
    return;
  g_object_ref (self);
  self->close_requested = TRUE;
  if (self->establishment != NULL)
    _post_establishment_cancel (self->establishment);
  error = g_error_new_literal (POST_ERROR, POST_ERROR_CLOSED, "The carrier was aborted");
  if (self->transient != NULL && _post_transient_is_attached (self->transient))
    _post_transient_abort (self->transient, error);
  else if (self->transient != NULL)
    _post_transient_fail_queue (self->transient, error);
  _post_carrier_set_closed (self, NULL);
  g_object_unref (self);
}
