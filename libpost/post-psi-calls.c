/* post-psi-calls.c: the core's calls into a stack, PostPsi's wrappers of
 * the virtual functions of PostPsiClass (the class itself, its state and
 * what stacks call are in post-psi.c)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "post-stacks-private.h"

static gboolean
check_open (PostPsi  *self,
            GError  **error)
{
  PostStack *stack = post_psi_get_stack (self);

  if (post_psi_is_closed (self))
    {
      g_set_error (error, POST_ERROR, POST_ERROR_CLOSED,
                   "The %s instance is closed",
                   stack ? post_stack_get_name (stack) : "stack");
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_vfunc (PostPsi     *self,
             gconstpointer vfunc,
             const char  *what,
             GError     **error)
{
  PostStack *stack = post_psi_get_stack (self);

  if (vfunc == NULL)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_NOT_SUPPORTED,
                   "Stack %s does not support %s",
                   stack ? post_stack_get_name (stack) : G_OBJECT_TYPE_NAME (self),
                   what);
      return FALSE;
    }
  return check_open (self, error);
}

/**
 * post_psi_connect_async:
 * @self: a #PostPsi
 * @remote: the fully resolved remote address
 * @local: (nullable): the local address to bind to
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when connected or failed
 * @user_data: data for @callback
 *
 * Opens the transport actively.
 */
void
post_psi_connect_async (PostPsi             *self,
                        GSocketAddress      *remote,
                        GSocketAddress      *local,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  PostPsiClass *klass;
  GError *error = NULL;

  g_return_if_fail (POST_IS_PSI (self));
  g_return_if_fail (G_IS_SOCKET_ADDRESS (remote));

  klass = POST_PSI_GET_CLASS (self);
  if (!check_vfunc (self, klass->connect_async, "active open", &error))
    {
      g_task_report_error (self, callback, user_data, post_psi_connect_async, error);
      return;
    }
  klass->connect_async (self, remote, local, cancellable, callback, user_data);
}

/**
 * post_psi_connect_finish:
 * @self: a #PostPsi
 * @result: the result passed to the callback
 * @error: return location for an error
 *
 * Finishes post_psi_connect_async(). The stack's own errors are in the
 * %POST_ERROR domain: %POST_ERROR_NOT_SUPPORTED when the stack cannot open
 * actively, %POST_ERROR_CLOSED when the instance was closed,
 * %G_IO_ERROR_CANCELLED when @cancellable was triggered, and otherwise
 * what the stack reports (%POST_ERROR_CONNECTION_REFUSED,
 * %POST_ERROR_TIMED_OUT, a failed handshake...).
 *
 * Returns: %TRUE when the transport is open
 */
gboolean
post_psi_connect_finish (PostPsi       *self,
                         GAsyncResult  *result,
                         GError       **error)
{
  g_return_val_if_fail (POST_IS_PSI (self), FALSE);

  if (g_async_result_is_tagged (result, post_psi_connect_async))
    return g_task_propagate_boolean (G_TASK (result), error);
  return POST_PSI_GET_CLASS (self)->connect_finish (self, result, error);
}

/**
 * post_psi_listen:
 * @self: a #PostPsi
 * @local: the local address to listen on
 * @error: return location for an error
 *
 * Opens the transport passively; accepted transports are announced with
 * the #PostPsi::accepted signal.
 *
 * Returns: %TRUE on success
 */
gboolean
post_psi_listen (PostPsi         *self,
                 GSocketAddress  *local,
                 GError         **error)
{
  PostPsiClass *klass;

  g_return_val_if_fail (POST_IS_PSI (self), FALSE);
  g_return_val_if_fail (G_IS_SOCKET_ADDRESS (local), FALSE);

  klass = POST_PSI_GET_CLASS (self);
  if (!check_vfunc (self, klass->listen, "passive open", error))
    return FALSE;
  return klass->listen (self, local, error);
}

/**
 * post_psi_can_listen_unconnected:
 * @self: a #PostPsi
 *
 * Whether the stack can serve every remote from one listening instance
 * (connectionless message stacks such as `udp`), see
 * post_psi_listen_unconnected().
 *
 * Returns: %TRUE if the stack implements the unconnected passive open
 */
gboolean
post_psi_can_listen_unconnected (PostPsi *self)
{
  g_return_val_if_fail (POST_IS_PSI (self), FALSE);

  return POST_PSI_GET_CLASS (self)->listen_unconnected != NULL;
}

/**
 * post_psi_listen_unconnected:
 * @self: a #PostPsi
 * @local: the local address to listen on (for a multicast group, the
 *   group and port to join)
 * @error: return location for an error
 *
 * Opens a connectionless transport passively without a transport per
 * remote: the instance itself receives what every remote sends
 * (post_psi_receive_message() gives the source of each message) and sends
 * to the destination given with each message.  Responders answer through
 * it (draft Figure 4) and remote-less sinks receive through it; nothing is
 * announced with #PostPsi::accepted.
 *
 * Returns: %TRUE on success
 */
gboolean
post_psi_listen_unconnected (PostPsi         *self,
                             GSocketAddress  *local,
                             GError         **error)
{
  PostPsiClass *klass;

  g_return_val_if_fail (POST_IS_PSI (self), FALSE);
  g_return_val_if_fail (G_IS_SOCKET_ADDRESS (local), FALSE);

  klass = POST_PSI_GET_CLASS (self);
  if (!check_vfunc (self, klass->listen_unconnected, "unconnected passive open", error))
    return FALSE;
  return klass->listen_unconnected (self, local, error);
}

/**
 * post_psi_read:
 * @self: a #PostPsi
 * @buffer: (array length=size) (element-type guint8) (out caller-allocates): where to read to
 * @size: the size of @buffer
 * @error: return location for an error
 *
 * Reads from a byte-stream instance without blocking.
 *
 * Returns: the number of bytes read, 0 at the end of the stream, or -1
 */
gssize
post_psi_read (PostPsi  *self,
               guint8   *buffer,
               gsize     size,
               GError  **error)
{
  PostPsiClass *klass;

  g_return_val_if_fail (POST_IS_PSI (self), -1);

  klass = POST_PSI_GET_CLASS (self);
  if (!check_vfunc (self, klass->read, "byte-stream reads", error))
    return -1;
  return klass->read (self, buffer, size, error);
}

/**
 * post_psi_write:
 * @self: a #PostPsi
 * @vectors: (array length=n_vectors): the data to write
 * @n_vectors: the number of vectors
 * @error: return location for an error
 *
 * Writes to a byte-stream instance without blocking.
 *
 * Returns: the number of bytes written, or -1
 */
gssize
post_psi_write (PostPsi              *self,
                const GOutputVector  *vectors,
                gsize                 n_vectors,
                GError              **error)
{
  PostPsiClass *klass;

  g_return_val_if_fail (POST_IS_PSI (self), -1);

  klass = POST_PSI_GET_CLASS (self);
  if (!check_vfunc (self, klass->write, "byte-stream writes", error))
    return -1;
  return klass->write (self, vectors, n_vectors, error);
}

/**
 * post_psi_send_message:
 * @self: a #PostPsi
 * @content: the message's bytes
 * @message: (nullable): the message, for its properties
 * @destination: (nullable): where to send it, for unconnected instances
 * @error: return location for an error
 *
 * Sends one message on a message-preserving instance without blocking.
 *
 * Returns: %TRUE when the message was handed to the network
 */
gboolean
post_psi_send_message (PostPsi         *self,
                       GBytes          *content,
                       PostMessage     *message,
                       GSocketAddress  *destination,
                       GError         **error)
{
  PostPsiClass *klass;

  g_return_val_if_fail (POST_IS_PSI (self), FALSE);
  g_return_val_if_fail (content != NULL, FALSE);

  klass = POST_PSI_GET_CLASS (self);
  if (!check_vfunc (self, klass->send_message, "message sends", error))
    return FALSE;
  return klass->send_message (self, content, message, destination, error);
}

/**
 * post_psi_send_messages:
 * @self: a #PostPsi
 * @messages: (array length=n_messages): the messages, in their order
 * @n_messages: how many; at least 1
 * @error: return location for the error of the first message not taken
 *
 * Sends several messages on a message-preserving instance without
 * blocking, in one system call where the stack can (its send_messages
 * vfunc: sendmmsg(), UDP GSO); otherwise one post_psi_send_message() each.
 * When it returns fewer than @n_messages, @error says what became of the
 * first one not taken: `G_IO_ERROR_WOULD_BLOCK` when nothing more can go
 * now, or why that message alone failed.
 *
 * Returns: how many of @messages, from the first, were handed to the network
 */
guint
post_psi_send_messages (PostPsi                 *self,
                        const PostPsiOutMessage *messages,
                        guint                    n_messages,
                        GError                 **error)
{
  PostPsiClass *klass;

  g_return_val_if_fail (POST_IS_PSI (self), 0);
  g_return_val_if_fail (messages != NULL && n_messages > 0, 0);

  klass = POST_PSI_GET_CLASS (self);
  if (klass->send_messages != NULL)
    return klass->send_messages (self, messages, n_messages, error);
  for (guint i = 0; i < n_messages; i++)
    if (!post_psi_send_message (self, messages[i].content, messages[i].message,
                                messages[i].destination, error))
      return i;
  return n_messages;
}

/**
 * post_psi_receive_message:
 * @self: a #PostPsi
 * @source: (out) (optional) (transfer full) (nullable): the sender
 * @error: return location for an error
 *
 * Receives one message from a message-preserving instance without blocking.
 *
 * Returns: (transfer full) (nullable): the message, or %NULL
 */
GBytes *
post_psi_receive_message (PostPsi         *self,
                          GSocketAddress **source,
                          GError         **error)
{
  PostPsiClass *klass;

  g_return_val_if_fail (POST_IS_PSI (self), NULL);

  klass = POST_PSI_GET_CLASS (self);
  if (!check_vfunc (self, klass->receive_message, "message receives", error))
    return NULL;
  return klass->receive_message (self, source, error);
}

/**
 * post_psi_can_send_parts:
 * @self: a #PostPsi
 *
 * Whether the stack carries a message in parts: it implements
 * post_psi_send_message_part() and post_psi_receive_message_part() (sctp,
 * with SCTP's explicit end of record).  The core then hands it the parts
 * of a message sent with post_carrier_send_partial_async() as they come,
 * instead of gathering them into one message first, and delivers what
 * arrives of a message before its end to partial receives.
 *
 * Returns: %TRUE if the stack takes messages in parts
 */
gboolean
post_psi_can_send_parts (PostPsi *self)
{
  PostPsiClass *klass;

  g_return_val_if_fail (POST_IS_PSI (self), FALSE);

  klass = POST_PSI_GET_CLASS (self);
  return klass->send_message_part != NULL && klass->receive_message_part != NULL;
}

/**
 * post_psi_send_message_part:
 * @self: a #PostPsi
 * @data: (array length=size) (element-type guint8): the next bytes of the message
 * @size: the size of @data
 * @message: (nullable): the message the bytes belong to, the same for all
 *   of its parts (%NULL: an anonymous message)
 * @end_of_message: whether these bytes end the message
 * @error: return location for an error
 *
 * Hands the next bytes of a message to a stack that carries messages in
 * parts (post_psi_can_send_parts()), without blocking.  The message ends
 * when a call with @end_of_message took all of its @data.
 *
 * Returns: how many bytes of @data the stack took, or -1 with
 *   `G_IO_ERROR_WOULD_BLOCK` when none (or another error)
 */
gssize
post_psi_send_message_part (PostPsi       *self,
                            const guint8  *data,
                            gsize          size,
                            PostMessage   *message,
                            gboolean       end_of_message,
                            GError       **error)
{
  PostPsiClass *klass;

  g_return_val_if_fail (POST_IS_PSI (self), -1);
  g_return_val_if_fail (data != NULL || size == 0, -1);

  klass = POST_PSI_GET_CLASS (self);
  if (!check_vfunc (self, klass->send_message_part, "message sends in parts", error))
    return -1;
  return klass->send_message_part (self, data, size, message, end_of_message, error);
}

/**
 * post_psi_receive_message_part:
 * @self: a #PostPsi
 * @source: (out) (optional) (transfer full) (nullable): the sender
 * @end_of_message: (out): whether the bytes returned end their message
 * @error: return location for an error
 *
 * Receives the next bytes of the message arriving on an instance that
 * carries messages in parts (post_psi_can_send_parts()), without blocking.
 *
 * Returns: (transfer full) (nullable): the bytes, or %NULL: with
 *   `G_IO_ERROR_WOULD_BLOCK` when none wait, without an error at the end
 *   of the peer's input
 */
GBytes *
post_psi_receive_message_part (PostPsi         *self,
                               GSocketAddress **source,
                               gboolean        *end_of_message,
                               GError         **error)
{
  PostPsiClass *klass;

  g_return_val_if_fail (POST_IS_PSI (self), NULL);
  g_return_val_if_fail (end_of_message != NULL, NULL);

  *end_of_message = FALSE;
  klass = POST_PSI_GET_CLASS (self);
  if (!check_vfunc (self, klass->receive_message_part, "message receives in parts", error))
    return NULL;
  return klass->receive_message_part (self, source, end_of_message, error);
}

/**
 * post_psi_set_interest:
 * @self: a #PostPsi
 * @condition: `G_IO_IN`, `G_IO_OUT`, both, or 0
 *
 * Tells the stack which readiness the core waits for.
 */
void
post_psi_set_interest (PostPsi      *self,
                       GIOCondition  condition)
{
  PostPsiClass *klass;

  g_return_if_fail (POST_IS_PSI (self));

  klass = POST_PSI_GET_CLASS (self);
  if (post_psi_is_closed (self) || klass->set_interest == NULL)
    return;
  klass->set_interest (self, condition);
}

/**
 * post_psi_shutdown_send:
 * @self: a #PostPsi
 * @error: return location for an error
 *
 * Ends the sending direction while receiving goes on.
 *
 * Returns: %TRUE on success
 */
gboolean
post_psi_shutdown_send (PostPsi  *self,
                        GError  **error)
{
  PostPsiClass *klass;

  g_return_val_if_fail (POST_IS_PSI (self), FALSE);

  klass = POST_PSI_GET_CLASS (self);
  if (!check_vfunc (self, klass->shutdown_send, "half close", error))
    return FALSE;
  return klass->shutdown_send (self, error);
}

/**
 * post_psi_can_fork:
 * @self: a #PostPsi
 *
 * Tells whether the stack implements [vfunc@Post.Psi.fork_async], so that
 * post_psi_fork_async() can open another stream of the same transport (a
 * multistreaming stack such as quic or sctp). The core forks on a new
 * transport otherwise.
 *
 * Returns: whether the instance can open new streams to its peer
 */
gboolean
post_psi_can_fork (PostPsi *self)
{
  g_return_val_if_fail (POST_IS_PSI (self), FALSE);

  return POST_PSI_GET_CLASS (self)->fork_async != NULL;
}

/**
 * post_psi_fork_async:
 * @self: a #PostPsi
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the stream is open or failed
 * @user_data: data for @callback
 *
 * Opens a new stream to the peer on a multistreaming instance.
 */
typedef void (*ForkVfunc) (PostPsi *, GCancellable *, GAsyncReadyCallback, gpointer);

/* fork_async or fork_source_async, both finished by post_psi_fork_finish() */
static void
fork_call (PostPsi             *self,
           ForkVfunc            vfunc,
           const char          *what,
           GCancellable        *cancellable,
           GAsyncReadyCallback  callback,
           gpointer             user_data)
{
  GError *error = NULL;

  if (!check_vfunc (self, vfunc, what, &error))
    {
      g_task_report_error (self, callback, user_data, post_psi_fork_async, error);
      return;
    }
  vfunc (self, cancellable, callback, user_data);
}

void
post_psi_fork_async (PostPsi             *self,
                     GCancellable        *cancellable,
                     GAsyncReadyCallback  callback,
                     gpointer             user_data)
{
  g_return_if_fail (POST_IS_PSI (self));

  fork_call (self, POST_PSI_GET_CLASS (self)->fork_async, "forking a stream",
             cancellable, callback, user_data);
}

/**
 * post_psi_can_fork_source:
 * @self: a #PostPsi
 *
 * Tells whether the stack implements [vfunc@Post.Psi.fork_source_async]:
 * it can open a unidirectional stream of the same transport (quic).
 *
 * Returns: whether post_psi_fork_source_async() can open one
 */
gboolean
post_psi_can_fork_source (PostPsi *self)
{
  g_return_val_if_fail (POST_IS_PSI (self), FALSE);

  return POST_PSI_GET_CLASS (self)->fork_source_async != NULL;
}

/**
 * post_psi_fork_source_async:
 * @self: a #PostPsi
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the stream is open or failed
 * @user_data: data for @callback
 *
 * Opens a new unidirectional stream to the peer on a multistreaming
 * instance; finish it with post_psi_fork_finish().  The new instance's
 * configuration has `direction` unidirectional-send.
 */
void
post_psi_fork_source_async (PostPsi             *self,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_return_if_fail (POST_IS_PSI (self));

  fork_call (self, POST_PSI_GET_CLASS (self)->fork_source_async, "forking a unidirectional stream",
             cancellable, callback, user_data);
}

/**
 * post_psi_fork_finish:
 * @self: a #PostPsi
 * @result: the result passed to the callback
 * @error: return location for an error
 *
 * Finishes post_psi_fork_async(): the new instance is another stream of
 * the transport of @self, owned by the caller. Fails with
 * %POST_ERROR_NOT_SUPPORTED on a stack that cannot fork (see
 * post_psi_can_fork()), or with what the stack reports, such as a peer
 * that refuses more streams.
 *
 * Returns: (transfer full): the instance of the new stream
 */
PostPsi *
post_psi_fork_finish (PostPsi       *self,
                      GAsyncResult  *result,
                      GError       **error)
{
  g_return_val_if_fail (POST_IS_PSI (self), NULL);

  if (g_async_result_is_tagged (result, post_psi_fork_async))
    return g_task_propagate_pointer (G_TASK (result), error);
  return POST_PSI_GET_CLASS (self)->fork_finish (self, result, error);
}

/**
 * post_psi_get_acked_offset:
 * @self: a #PostPsi
 *
 * Byte streams: gets how many of the bytes written to the instance so far
 * the peer's transport has acknowledged, from which the core emits the
 * `acked` event of each message. A stack that cannot tell (it does not
 * implement [vfunc@Post.Psi.get_acked_offset]) returns
 * %POST_PSI_ACKED_UNKNOWN.
 *
 * Returns: how many of the bytes written so far the peer acknowledged, or
 *   %POST_PSI_ACKED_UNKNOWN
 */
guint64
post_psi_get_acked_offset (PostPsi *self)
{
  PostPsiClass *klass;

  g_return_val_if_fail (POST_IS_PSI (self), POST_PSI_ACKED_UNKNOWN);

  klass = POST_PSI_GET_CLASS (self);
  if (klass->get_acked_offset == NULL || post_psi_is_closed (self))
    return POST_PSI_ACKED_UNKNOWN;
  return klass->get_acked_offset (self);
}

/**
 * post_psi_get_sent_offset:
 * @self: a #PostPsi
 *
 * Byte streams: gets how many of the bytes written to the instance so far
 * the stack has handed to the network, from which the core emits the
 * `sent` event of each message. A stack whose writes go out at once
 * returns %POST_PSI_ACKED_UNKNOWN.
 *
 * Returns: how many of the bytes written so far the stack handed to the
 *   network, or %POST_PSI_ACKED_UNKNOWN when every write does so at once
 */
guint64
post_psi_get_sent_offset (PostPsi *self)
{
  PostPsiClass *klass;

  g_return_val_if_fail (POST_IS_PSI (self), POST_PSI_ACKED_UNKNOWN);

  klass = POST_PSI_GET_CLASS (self);
  if (klass->get_sent_offset == NULL || post_psi_is_closed (self))
    return POST_PSI_ACKED_UNKNOWN;
  return klass->get_sent_offset (self);
}

/**
 * post_psi_is_send_complete:
 * @self: a #PostPsi
 *
 * Whether everything written, and the end of the sending direction
 * (post_psi_shutdown_send()), has reached the peer, so that closing now
 * loses nothing.  A graceful close waits for it (bounded) before the
 * carrier reports #PostCarrier::closed: an application that exits then
 * must not cut off a stack that keeps its unacknowledged data in user
 * space, as QUIC does.  Stacks whose kernel goes on sending after close
 * (tcp) do not implement [vfunc@Post.Psi.is_send_complete]: the default
 * is %TRUE.  A closed instance is complete.
 *
 * Returns: %TRUE when nothing written is left to deliver
 */
gboolean
post_psi_is_send_complete (PostPsi *self)
{
  PostPsiClass *klass;

  g_return_val_if_fail (POST_IS_PSI (self), TRUE);

  klass = POST_PSI_GET_CLASS (self);
  if (klass->is_send_complete == NULL || post_psi_is_closed (self))
    return TRUE;
  return klass->is_send_complete (self);
}

/**
 * post_psi_update_path:
 * @self: a #PostPsi
 * @path: the path to fill
 *
 * Fills @path with what the stack measures.
 */
void
post_psi_update_path (PostPsi  *self,
                      PostPath *path)
{
  const char *interface;
  PostPsiClass *klass;

  g_return_if_fail (POST_IS_PSI (self));
  g_return_if_fail (POST_IS_PATH (path));

  interface = post_psi_get_interface (self);
  if (interface != NULL)
    post_path_set_interface (path, interface);
  klass = POST_PSI_GET_CLASS (self);
  if (klass->update_path != NULL && !post_psi_is_closed (self))
    klass->update_path (self, path);
}

/**
 * post_psi_get_max_message_size:
 * @self: a #PostPsi
 *
 * Gets the largest message the instance can carry in its current state
 * (such as a datagram stack's path MTU or the peer's limit); the core
 * fails larger messages with %POST_ERROR_MESSAGE_TOO_LARGE. Without a
 * [vfunc@Post.Psi.get_max_message_size] it is the stack's static limit.
 *
 * Returns: the largest message the instance can carry now, 0 for no limit
 */
gsize
post_psi_get_max_message_size (PostPsi *self)
{
  PostStack *stack;
  PostPsiClass *klass;

  g_return_val_if_fail (POST_IS_PSI (self), 0);

  klass = POST_PSI_GET_CLASS (self);
  if (klass->get_max_message_size != NULL)
    return klass->get_max_message_size (self);
  stack = post_psi_get_stack (self);
  return stack ? post_stack_get_max_message_size (stack) : 0;
}

/**
 * post_psi_migrate:
 * @self: a #PostPsi
 * @new_local: the local address to move to (port 0 for any port)
 * @error: return location for a #GError
 *
 * Connection migration: moves the instance's transport, and that of every
 * instance sharing its connection (the other streams of a QUIC
 * connection), to @new_local without ending it, towards the same remote.
 * The core calls it when the local address or interface in use goes away
 * (draft 2.8) and the stack declares %POST_STACK_CAP_MIGRATION.  On
 * success the instances' addresses are updated and #PostPsi::path-changed
 * was emitted on each of them.
 *
 * Returns: %TRUE when the transport moved; %FALSE with
 *   %POST_ERROR_NOT_SUPPORTED when the stack cannot migrate, or another
 *   error when this migration failed (the transport is unchanged)
 */
gboolean
post_psi_migrate (PostPsi         *self,
                  GSocketAddress  *new_local,
                  GError         **error)
{
  PostPsiClass *klass;

  g_return_val_if_fail (POST_IS_PSI (self), FALSE);
  g_return_val_if_fail (G_IS_SOCKET_ADDRESS (new_local), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  klass = POST_PSI_GET_CLASS (self);
  if (!check_vfunc (self, klass->migrate, "connection migration", error))
    return FALSE;
  return klass->migrate (self, new_local, error);
}

/**
 * post_psi_get_max_datagram_size:
 * @self: a #PostPsi
 *
 * How large a message can be to go as one unreliable datagram beside the
 * instance's stream (post_psi_send_datagram()).
 *
 * Returns: the largest content in bytes, 0 when the instance cannot send
 *   datagrams now (not negotiated, not supported, or closed)
 */
gsize
post_psi_get_max_datagram_size (PostPsi *self)
{
  PostPsiClass *klass;

  g_return_val_if_fail (POST_IS_PSI (self), 0);

  klass = POST_PSI_GET_CLASS (self);
  if (klass->get_max_datagram_size == NULL || klass->send_datagram == NULL
      || post_psi_is_closed (self))
    return 0;
  return klass->get_max_datagram_size (self);
}

/**
 * post_psi_send_datagram:
 * @self: a #PostPsi
 * @content: the message's content, at most post_psi_get_max_datagram_size()
 * @deadline: monotonic time (g_get_monotonic_time()) by which it must be
 *   sent, or -1
 * @id: the core's number for it, given back in #PostPsi::datagram-event
 * @error: return location for an error
 *
 * Queues @content as one unreliable datagram, outside the byte stream and
 * not framed.  The instance reports its fate with #PostPsi::datagram-event
 * (never from inside this call): first one of %POST_DATAGRAM_SENT,
 * %POST_DATAGRAM_EXPIRED or %POST_DATAGRAM_LOST, then after SENT perhaps
 * %POST_DATAGRAM_ACKED or %POST_DATAGRAM_LOST.  A datagram is never
 * retransmitted.
 *
 * Returns: %TRUE when queued; %FALSE with `G_IO_ERROR_WOULD_BLOCK` when
 *   the instance's queue is full (retry on `G_IO_OUT`), or another error
 */
gboolean
post_psi_send_datagram (PostPsi  *self,
                        GBytes   *content,
                        gint64    deadline,
                        guint64   id,
                        GError  **error)
{
  PostPsiClass *klass;

  g_return_val_if_fail (POST_IS_PSI (self), FALSE);
  g_return_val_if_fail (content != NULL, FALSE);

  klass = POST_PSI_GET_CLASS (self);
  if (!check_vfunc (self, klass->send_datagram, "datagrams", error))
    return FALSE;
  return klass->send_datagram (self, content, deadline, id, error);
}

/**
 * post_psi_set_send_priority:
 * @self: a #PostPsi
 * @priority: the niceness of the message written next (lower is more
 *   important)
 *
 * Tells a multistreaming stack how important the bytes the core writes
 * next are, so that it serves the streams of a connection in that order.
 * Stacks with one stream per instance ignore it.
 */
void
post_psi_set_send_priority (PostPsi *self,
                            guint    priority)
{
  PostPsiClass *klass;

  g_return_if_fail (POST_IS_PSI (self));

  klass = POST_PSI_GET_CLASS (self);
  if (klass->set_send_priority != NULL && !post_psi_is_closed (self))
    klass->set_send_priority (self, priority);
}

/**
 * post_psi_push:
 * @self: a #PostPsi
 *
 * Tells a byte stream that what was written so far must leave now, ending
 * its packet (an immediate message): a stack that gathers writes into
 * packets does not wait for more, nor puts later bytes in the same packet.
 */
void
post_psi_push (PostPsi *self)
{
  PostPsiClass *klass;

  g_return_if_fail (POST_IS_PSI (self));

  klass = POST_PSI_GET_CLASS (self);
  if (klass->push != NULL && !post_psi_is_closed (self))
    klass->push (self);
}
