/* post-reply.c: PostReply, a responder's handle for answering one source
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "post-carrier-private.h"

/**
 * PostReply:
 *
 * What a responder (post_carrier_respond(), draft Figure 4) hands out with
 * each received message: a way to send replies back to the message's
 * source, without the application managing a carrier per remote.
 *
 * A reply handle stays usable while its source is connected; when the
 * source has gone, sending fails with %POST_ERROR_CLOSED.
 */

struct _PostReply
{
  GObject         parent_instance;

  GWeakRef        target;        /* PostCarrier that carries the replies */
  GSocketAddress *destination;   /* (owned) (nullable) for connectionless stacks */
};

G_DEFINE_FINAL_TYPE (PostReply, post_reply, G_TYPE_OBJECT)

static void
post_reply_finalize (GObject *object)
{
  PostReply *self = POST_REPLY (object);

  g_weak_ref_clear (&self->target);
  g_clear_object (&self->destination);

  G_OBJECT_CLASS (post_reply_parent_class)->finalize (object);
}

static void
post_reply_class_init (PostReplyClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = post_reply_finalize;
}

static void
post_reply_init (PostReply *self)
{
  g_weak_ref_init (&self->target, NULL);
}

PostReply *
_post_reply_new (PostCarrier    *target,
                 GSocketAddress *destination)
{
  PostReply *self = g_object_new (POST_TYPE_REPLY, NULL);

  g_weak_ref_set (&self->target, target);
  self->destination = destination ? g_object_ref (destination) : NULL;
  return self;
}

/**
 * post_reply_get_remote_address:
 * @self: a #PostReply
 *
 * Gets the address the request came from, to which
 * [method@Post.Reply.send_async] sends the replies. It belongs to @self.
 *
 * Returns: (transfer none) (nullable): where replies go
 */
GSocketAddress *
post_reply_get_remote_address (PostReply *self)
{
  g_autoptr(PostCarrier) target = NULL;

  g_return_val_if_fail (POST_IS_REPLY (self), NULL);

  if (self->destination != NULL)
    return self->destination;
  target = g_weak_ref_get (&self->target);
  return target ? post_carrier_get_remote_address (target) : NULL;
}

static gboolean
send_reply (PostReply    *self,
            PostMessage  *message,
            GTask        *task,
            GError      **error)
{
  g_autoptr(PostCarrier) target = g_weak_ref_get (&self->target);

  if (target == NULL)
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_CLOSED,
                           "The source of the message is gone: its carrier is closed");
      return FALSE;
    }
  return _post_carrier_send_to (target, message, self->destination, task, error);
}

/**
 * post_reply_send:
 * @self: a #PostReply
 * @message: the reply
 * @error: return location for an error
 *
 * Queues @message to the source of the message this reply handle came with.
 *
 * Returns: %TRUE if queued
 */
gboolean
post_reply_send (PostReply    *self,
                 PostMessage  *message,
                 GError      **error)
{
  g_return_val_if_fail (POST_IS_REPLY (self), FALSE);
  g_return_val_if_fail (POST_IS_MESSAGE (message), FALSE);

  return send_reply (self, message, NULL, error);
}

/**
 * post_reply_send_async:
 * @self: a #PostReply
 * @message: the reply
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the reply was handed to the network
 * @user_data: data for @callback
 *
 * Sends @message to the source of the message this reply handle came with.
 */
void
post_reply_send_async (PostReply           *self,
                       PostMessage         *message,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  GError *error = NULL;

  g_return_if_fail (POST_IS_REPLY (self));
  g_return_if_fail (POST_IS_MESSAGE (message));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, post_reply_send_async);
  if (!send_reply (self, message, task, &error))
    g_task_return_error (task, error);
}

/**
 * post_reply_send_finish:
 * @self: a #PostReply
 * @result: the result passed to the callback
 * @error: return location for an error
 *
 * Finishes [method@Post.Reply.send_async]. Fails with %POST_ERROR_CLOSED
 * when the responder was closed, or with the error of sending on the
 * responder, as post_carrier_send_finish() would.
 *
 * Returns: %TRUE when the reply was handed to the network
 */
gboolean
post_reply_send_finish (PostReply     *self,
                        GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
