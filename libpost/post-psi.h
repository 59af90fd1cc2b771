/* post-psi.h: PostPsi, the Protocol Stack Instance that plugins implement
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(POST_INSIDE) && !defined(POST_COMPILATION)
# error "Only <post.h> can be included directly."
#endif

#include <gio/gio.h>
#include "post-version.h"
#include "post-enums.h"
#include "post-stack.h"
#include "post-path.h"
#include "post-message.h"
#include "post-configuration.h"
#include "post-local.h"

G_BEGIN_DECLS

typedef struct _PostAssociation PostAssociation;

/**
 * PostPsiOutMessage:
 * @content: the message's bytes
 * @message: (nullable): the message, for its properties
 * @destination: (nullable): where it goes, for unconnected instances
 *
 * One message of post_psi_send_messages(), as post_psi_send_message()
 * takes it.
 */
typedef struct {
  GBytes         *content;
  PostMessage    *message;
  GSocketAddress *destination;
} PostPsiOutMessage;

#define POST_TYPE_PSI (post_psi_get_type ())
POST_AVAILABLE_IN_ALL
G_DECLARE_DERIVABLE_TYPE (PostPsi, post_psi, POST, PSI, GObject)

/**
 * POST_PSI_ACKED_UNKNOWN:
 *
 * What [vfunc@Post.Psi.get_acked_offset] returns when the stack cannot tell.
 */
#define POST_PSI_ACKED_UNKNOWN G_MAXUINT64

/**
 * PostPsiClass:
 * @parent_class: the parent class
 * @connect_async: active open towards @remote, bound to @local when it is
 *   not %NULL. Runs on the thread-default main context; never blocks.
 * @connect_finish: finishes @connect_async
 * @listen: passive open on @local; each accepted transport is announced
 *   with post_psi_emit_accepted()
 * @read: byte streams: reads up to @size bytes without blocking; returns 0
 *   at the end of the peer's stream, -1 with `G_IO_ERROR_WOULD_BLOCK` when
 *   nothing is there
 * @write: byte streams: writes from @vectors without blocking; returns the
 *   number of bytes taken, -1 with `G_IO_ERROR_WOULD_BLOCK` when none
 * @send_message: message stacks: sends @content as one message, to
 *   @destination when it is not %NULL (responders, unconnected transports);
 *   `G_IO_ERROR_WOULD_BLOCK` when it cannot now
 * @receive_message: message stacks: the next message, its sender in @source;
 *   %NULL with `G_IO_ERROR_WOULD_BLOCK` when none
 * @set_interest: arms (or disarms) readiness notification for @condition
 *   (`G_IO_IN`, `G_IO_OUT`); the stack reports readiness with
 *   post_psi_notify_ready()
 * @shutdown_send: ends the sending direction (a FIN) while receiving goes on
 * @close: releases the transport; @abort resets instead of closing gracefully
 * @fork_async: multistreaming stacks: opens a new stream to the peer, which
 *   is announced there with post_psi_emit_fork_request()
 * @fork_finish: finishes @fork_async (and @fork_source_async) and returns
 *   the new instance
 * @get_acked_offset: byte streams: how many bytes written so far the peer's
 *   transport has acknowledged, or %POST_PSI_ACKED_UNKNOWN
 * @update_path: fills @path with what the stack measures (MTU, RTT, loss, rate)
 * @get_max_message_size: the largest message this instance can carry now,
 *   0 for no limit
 * @get_early_data_limit: active open, called before @connect_async: how
 *   many bytes this instance could send as 0-RTT early data now (after
 *   post_psi_set_context()), 0 when it cannot; %NULL means 0
 * @set_early_data: active open, called before @connect_async: framed
 *   idempotent messages to send before the handshake completes.  Once
 *   called, the instance owns their delivery: early, or (when the peer
 *   rejects early data) again right after the handshake, exactly once
 * @get_security_flags: how the instance is secured ([flags@Post.SecurityFlags]);
 *   %NULL means %POST_SECURITY_NONE
 * @is_send_complete: whether everything written and the end of the sending
 *   direction reached the peer (see post_psi_is_send_complete()); %NULL
 *   means %TRUE (the kernel delivers what is left after close)
 * @listen_unconnected: connectionless message stacks: passive open on
 *   @local where the instance itself serves every remote, with no accepted
 *   instance per remote: receive_message gives each message with its
 *   source and send_message sends to a destination.  Responders and
 *   remote-less sinks use it when the stack provides it (see
 *   post_psi_can_listen_unconnected())
 * @migrate: connection migration: moves the instance's transport (and
 *   that of every instance sharing its connection, such as the other
 *   streams of a QUIC connection) to the local address @new_local (port
 *   0: any port) without ending it, towards the same remote; on success
 *   the stack has updated its addresses (post_psi_set_addresses()) and
 *   emitted #PostPsi::path-changed on each of those instances.  Returns
 *   %FALSE with %POST_ERROR_NOT_SUPPORTED when the stack cannot migrate
 *   (the default), or another error when this migration failed.  Stacks
 *   that implement it declare %POST_STACK_CAP_MIGRATION
 * @get_max_datagram_size: the largest message content this instance can
 *   send now as one unreliable datagram beside its stream (QUIC DATAGRAM
 *   frames, RFC 9221), 0 when none was negotiated; the core then sends
 *   unreliable messages on the stream.  %NULL means 0
 * @send_datagram: queues @content as one unreliable datagram, not framed
 *   and outside the byte stream, to go by @deadline (monotonic time in
 *   microseconds, or -1 for none).  The stack reports what became of it
 *   with post_psi_emit_datagram_event() and @id (a number the core chose),
 *   never from inside the call: first exactly one of
 *   %POST_DATAGRAM_SENT, %POST_DATAGRAM_EXPIRED (the deadline passed first)
 *   or %POST_DATAGRAM_LOST (it could not be sent), then after SENT at most
 *   one of %POST_DATAGRAM_ACKED or %POST_DATAGRAM_LOST.  It is never
 *   retransmitted.  `G_IO_ERROR_WOULD_BLOCK` when the stack's queue is full
 *   (the core waits for `G_IO_OUT`); a datagram whose id was not reported
 *   when the instance closes is forgotten.  The peer's datagrams are handed
 *   to the core with post_psi_deliver_datagram()
 * @set_send_priority: byte streams of a multistreaming stack: the
 *   niceness of the message whose bytes the core writes next (lower is
 *   more important); the stack prefers the streams of lower values when it
 *   fills packets.  %NULL: the stack has one stream, nothing to order
 * @push: byte streams: what was written so far must leave now and end
 *   its packet, without waiting for more (an immediate message, RFC 9622
 *   `msgImmediate`); the core calls it after the last byte of each
 *   immediate message.  %NULL: every write leaves at once in packets of its
 *   own (TCP with Nagle's algorithm off)
 * @get_peer_details: secure stacks, once the handshake is done: the
 *   peer's certificate chain in DER (leaf first; empty when the peer sent
 *   none, as with a pre-shared key), what the verification of it found in
 *   GIO's terms, and the ALPN protocol negotiated (%NULL for none).
 *   Returns %FALSE before the handshake and on cleartext stacks; %NULL
 *   means %FALSE.  The core hands them out as
 *   post_psi_get_peer_certificate() and post_psi_get_negotiated_protocol()
 * @get_sent_offset: byte streams that keep what is written in user space
 *   before they put it in packets (QUIC): how many of the bytes written so
 *   far have been handed to the network; the stack calls
 *   post_psi_notify_sent() (from the main loop) when it grows.  The core
 *   fires a message's `sent` (and completes its send) only then.  %NULL,
 *   or %POST_PSI_ACKED_UNKNOWN: a write hands its bytes to the network
 * @refuse: an accepted instance, or a fork request, that nobody accepted:
 *   tells the peer in the protocol's own way that it was refused (a TLS
 *   access_denied alert, a QUIC application close, an SCTP ABORT), so
 *   that the initiator fails with %POST_ERROR_CONNECTION_REFUSED, and
 *   releases the transport as @close does (the core does not call @close
 *   after it).  %NULL: @close with @abort (a TCP reset).  Stacks that
 *   implement it, or whose reset is a refusal, declare
 *   %POST_STACK_CAP_REFUSAL
 * @send_message_part: message stacks that carry a message in parts (SCTP's
 *   explicit EOR): hands the next @size bytes of the message @message to
 *   the stack without blocking; @end_of_message when they are its last
 *   (@size may then be 0).  Returns how many bytes it took (at least 1 when
 *   @size is not 0; fewer than @size leaves the message open, the core
 *   gives the rest next, before anything else on this instance), or -1
 *   with `G_IO_ERROR_WOULD_BLOCK` when it took none.  The first call of a
 *   message carries its properties; the peer must never see a message that
 *   was not ended (close() with one open makes it an error there).  A stack
 *   that implements it gets every message through it (a whole message is
 *   one part with @end_of_message), never through @send_message, and
 *   declares %POST_STACK_CAP_PARTIAL_MESSAGES; see post_psi_can_send_parts()
 * @receive_message_part: the receiving side of @send_message_part: the
 *   next bytes of the message being received, *@end_of_message telling
 *   whether they end it; %NULL with `G_IO_ERROR_WOULD_BLOCK` when nothing
 *   is there, %NULL without error at the end of input (between messages).
 *   Used instead of @receive_message when the stack implements it
 * @send_messages: message stacks that hand several messages to the network
 *   in one go (sendmmsg(), UDP GSO): sends @messages in their order without
 *   blocking and returns how many it took — all, or the first few.  When
 *   fewer, @error tells what became of the first one not taken:
 *   `G_IO_ERROR_WOULD_BLOCK` (nothing more can go now: the core offers it
 *   again on `G_IO_OUT`) or why it failed alone (the core goes on with the
 *   rest).  The core gives it what was queued during one main-loop
 *   iteration.  %NULL: the core calls @send_message for each (taken from
 *   the class padding, so older plugins are unaffected)
 * @fork_source_async: multistreaming stacks with unidirectional streams:
 *   opens a new unidirectional stream to the peer, an instance whose
 *   configuration's `direction` is unidirectional-send (the core makes its
 *   carrier a source); the peer announces it as a sink.  Finished by
 *   @fork_finish
 *
 * The interface every protocol stack implements. libpost's core does the
 * rest: framing byte streams into messages, queueing by niceness, lifetimes,
 * antecedents, back-pressure, racing and events.
 *
 * The core drives an instance from a single `GMainContext`, the one that
 * was thread-default when the instance was created; implementations must
 * attach their sources there and must not block.
 */
struct _PostPsiClass
{
  GObjectClass parent_class;

  void         (*connect_async)        (PostPsi              *self,
                                        GSocketAddress       *remote,
                                        GSocketAddress       *local,
                                        GCancellable         *cancellable,
                                        GAsyncReadyCallback   callback,
                                        gpointer              user_data);
  gboolean     (*connect_finish)       (PostPsi              *self,
                                        GAsyncResult         *result,
                                        GError              **error);
  gboolean     (*listen)               (PostPsi              *self,
                                        GSocketAddress       *local,
                                        GError              **error);
  gssize       (*read)                 (PostPsi              *self,
                                        guint8               *buffer,
                                        gsize                 size,
                                        GError              **error);
  gssize       (*write)                (PostPsi              *self,
                                        const GOutputVector  *vectors,
                                        gsize                 n_vectors,
                                        GError              **error);
  gboolean     (*send_message)         (PostPsi              *self,
                                        GBytes               *content,
                                        PostMessage          *message,
                                        GSocketAddress       *destination,
                                        GError              **error);
  GBytes      *(*receive_message)      (PostPsi              *self,
                                        GSocketAddress      **source,
                                        GError              **error);
  void         (*set_interest)         (PostPsi              *self,
                                        GIOCondition          condition);
  gboolean     (*shutdown_send)        (PostPsi              *self,
                                        GError              **error);
  void         (*close)                (PostPsi              *self,
                                        gboolean              abort);
  void         (*fork_async)           (PostPsi              *self,
                                        GCancellable         *cancellable,
                                        GAsyncReadyCallback   callback,
                                        gpointer              user_data);
  PostPsi     *(*fork_finish)          (PostPsi              *self,
                                        GAsyncResult         *result,
                                        GError              **error);
  guint64      (*get_acked_offset)     (PostPsi              *self);
  void         (*update_path)          (PostPsi              *self,
                                        PostPath             *path);
  gsize        (*get_max_message_size) (PostPsi              *self);
  gboolean     (*listen_unconnected)   (PostPsi              *self,
                                        GSocketAddress       *local,
                                        GError              **error);
  gsize        (*get_early_data_limit) (PostPsi              *self);
  void         (*set_early_data)       (PostPsi              *self,
                                        GBytes               *early_data);
  PostSecurityFlags (*get_security_flags) (PostPsi           *self);
  gboolean     (*is_send_complete)     (PostPsi              *self);
  gboolean     (*migrate)              (PostPsi              *self,
                                        GSocketAddress       *new_local,
                                        GError              **error);
  gsize        (*get_max_datagram_size) (PostPsi             *self);
  gboolean     (*send_datagram)        (PostPsi              *self,
                                        GBytes               *content,
                                        gint64                deadline,
                                        guint64               id,
                                        GError              **error);
  void         (*set_send_priority)    (PostPsi              *self,
                                        guint                 priority);
  void         (*push)                 (PostPsi              *self);
  guint64      (*get_sent_offset)      (PostPsi              *self);
  gboolean     (*get_peer_details)     (PostPsi              *self,
                                        GPtrArray           **chain,
                                        GTlsCertificateFlags *errors,
                                        char                **negotiated_protocol);
  void         (*refuse)               (PostPsi              *self);
  gssize       (*send_message_part)    (PostPsi              *self,
                                        const guint8         *data,
                                        gsize                 size,
                                        PostMessage          *message,
                                        gboolean              end_of_message,
                                        GError              **error);
  GBytes      *(*receive_message_part) (PostPsi              *self,
                                        GSocketAddress      **source,
                                        gboolean             *end_of_message,
                                        GError              **error);
  guint        (*send_messages)        (PostPsi                 *self,
                                        const PostPsiOutMessage *messages,
                                        guint                    n_messages,
                                        GError                 **error);
  void         (*fork_source_async)    (PostPsi              *self,
                                        GCancellable         *cancellable,
                                        GAsyncReadyCallback   callback,
                                        gpointer              user_data);
};

/* Used by the core and by stacks alike. */
POST_AVAILABLE_IN_ALL
PostStack         *post_psi_get_stack              (PostPsi         *self);
POST_AVAILABLE_IN_ALL
PostConfiguration *post_psi_get_configuration      (PostPsi         *self);
POST_AVAILABLE_IN_ALL
GMainContext      *post_psi_get_context            (PostPsi         *self);
POST_AVAILABLE_IN_ALL
GSocketAddress    *post_psi_get_local_address      (PostPsi         *self);
POST_AVAILABLE_IN_ALL
GSocketAddress    *post_psi_get_remote_address     (PostPsi         *self);
POST_AVAILABLE_IN_ALL
const char        *post_psi_get_interface          (PostPsi         *self);
POST_AVAILABLE_IN_ALL
gboolean           post_psi_is_closed              (PostPsi         *self);
POST_AVAILABLE_IN_ALL
void               post_psi_set_context            (PostPsi         *self,
                                                    PostLocal       *local,
                                                    PostAssociation *association);
POST_AVAILABLE_IN_ALL
PostLocal         *post_psi_get_local              (PostPsi         *self);
POST_AVAILABLE_IN_ALL
PostAssociation   *post_psi_get_association        (PostPsi         *self);
POST_AVAILABLE_IN_ALL
PostSecurityFlags  post_psi_get_security_flags     (PostPsi         *self);
POST_AVAILABLE_IN_ALL
GTlsCertificate   *post_psi_get_peer_certificate   (PostPsi         *self);
POST_AVAILABLE_IN_ALL
GTlsCertificateFlags post_psi_get_peer_certificate_errors (PostPsi  *self);
POST_AVAILABLE_IN_ALL
const char        *post_psi_get_negotiated_protocol (PostPsi        *self);
POST_AVAILABLE_IN_ALL
void               post_psi_set_first_message_deadline (PostPsi     *self,
                                                        gint64       deadline);
POST_AVAILABLE_IN_ALL
gint64             post_psi_get_first_message_deadline (PostPsi     *self);
POST_AVAILABLE_IN_ALL
gboolean           post_psi_has_first_message      (PostPsi         *self);

/* Called by the core. */
POST_AVAILABLE_IN_ALL
void               post_psi_connect_async          (PostPsi              *self,
                                                    GSocketAddress       *remote,
                                                    GSocketAddress       *local,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
POST_AVAILABLE_IN_ALL
gboolean           post_psi_connect_finish         (PostPsi              *self,
                                                    GAsyncResult         *result,
                                                    GError              **error);
POST_AVAILABLE_IN_ALL
gboolean           post_psi_listen                 (PostPsi              *self,
                                                    GSocketAddress       *local,
                                                    GError              **error);
POST_AVAILABLE_IN_ALL
gboolean           post_psi_can_listen_unconnected (PostPsi              *self);
POST_AVAILABLE_IN_ALL
gboolean           post_psi_listen_unconnected     (PostPsi              *self,
                                                    GSocketAddress       *local,
                                                    GError              **error);
POST_AVAILABLE_IN_ALL
gssize             post_psi_read                   (PostPsi              *self,
                                                    guint8               *buffer,
                                                    gsize                 size,
                                                    GError              **error);
POST_AVAILABLE_IN_ALL
gssize             post_psi_write                  (PostPsi              *self,
                                                    const GOutputVector  *vectors,
                                                    gsize                 n_vectors,
                                                    GError              **error);
POST_AVAILABLE_IN_ALL
gboolean           post_psi_send_message           (PostPsi              *self,
                                                    GBytes               *content,
                                                    PostMessage          *message,
                                                    GSocketAddress       *destination,
                                                    GError              **error);
POST_AVAILABLE_IN_ALL
guint              post_psi_send_messages          (PostPsi                 *self,
                                                    const PostPsiOutMessage *messages,
                                                    guint                    n_messages,
                                                    GError                 **error);
POST_AVAILABLE_IN_ALL
GBytes            *post_psi_receive_message        (PostPsi              *self,
                                                    GSocketAddress      **source,
                                                    GError              **error);
POST_AVAILABLE_IN_ALL
gboolean           post_psi_can_send_parts         (PostPsi              *self);
POST_AVAILABLE_IN_ALL
gssize             post_psi_send_message_part      (PostPsi              *self,
                                                    const guint8         *data,
                                                    gsize                 size,
                                                    PostMessage          *message,
                                                    gboolean              end_of_message,
                                                    GError              **error);
POST_AVAILABLE_IN_ALL
GBytes            *post_psi_receive_message_part   (PostPsi              *self,
                                                    GSocketAddress      **source,
                                                    gboolean             *end_of_message,
                                                    GError              **error);
POST_AVAILABLE_IN_ALL
void               post_psi_set_interest           (PostPsi              *self,
                                                    GIOCondition          condition);
POST_AVAILABLE_IN_ALL
gboolean           post_psi_shutdown_send          (PostPsi              *self,
                                                    GError              **error);
POST_AVAILABLE_IN_ALL
void               post_psi_close                  (PostPsi              *self,
                                                    gboolean              abort);
POST_AVAILABLE_IN_ALL
void               post_psi_refuse                 (PostPsi              *self);
POST_AVAILABLE_IN_ALL
gboolean           post_psi_can_fork               (PostPsi              *self);
POST_AVAILABLE_IN_ALL
void               post_psi_fork_async             (PostPsi              *self,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
POST_AVAILABLE_IN_ALL
PostPsi           *post_psi_fork_finish            (PostPsi              *self,
                                                    GAsyncResult         *result,
                                                    GError              **error);
POST_AVAILABLE_IN_ALL
gboolean           post_psi_can_fork_source        (PostPsi              *self);
POST_AVAILABLE_IN_ALL
void               post_psi_fork_source_async      (PostPsi              *self,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
POST_AVAILABLE_IN_ALL
guint64            post_psi_get_acked_offset       (PostPsi              *self);
POST_AVAILABLE_IN_ALL
gboolean           post_psi_is_send_complete       (PostPsi              *self);
POST_AVAILABLE_IN_ALL
void               post_psi_update_path            (PostPsi              *self,
                                                    PostPath             *path);
POST_AVAILABLE_IN_ALL
gsize              post_psi_get_max_message_size   (PostPsi              *self);
POST_AVAILABLE_IN_ALL
gsize              post_psi_get_early_data_limit   (PostPsi              *self);
POST_AVAILABLE_IN_ALL
void               post_psi_set_early_data         (PostPsi              *self,
                                                    GBytes               *early_data);
POST_AVAILABLE_IN_ALL
GBytes            *post_psi_get_early_data         (PostPsi              *self);
POST_AVAILABLE_IN_ALL
gboolean           post_psi_migrate                (PostPsi              *self,
                                                    GSocketAddress       *new_local,
                                                    GError              **error);
POST_AVAILABLE_IN_ALL
gsize              post_psi_get_max_datagram_size  (PostPsi              *self);
POST_AVAILABLE_IN_ALL
gboolean           post_psi_send_datagram          (PostPsi              *self,
                                                    GBytes               *content,
                                                    gint64                deadline,
                                                    guint64               id,
                                                    GError              **error);
POST_AVAILABLE_IN_ALL
void               post_psi_set_send_priority      (PostPsi              *self,
                                                    guint                 priority);
POST_AVAILABLE_IN_ALL
void               post_psi_push                   (PostPsi              *self);
POST_AVAILABLE_IN_ALL
guint64            post_psi_get_sent_offset        (PostPsi              *self);

/* Called by stacks. */
POST_AVAILABLE_IN_ALL
void               post_psi_set_addresses          (PostPsi         *self,
                                                    GSocketAddress  *local_address,
                                                    GSocketAddress  *remote_address);
POST_AVAILABLE_IN_ALL
void               post_psi_set_interface          (PostPsi         *self,
                                                    const char      *interface);
POST_AVAILABLE_IN_ALL
void               post_psi_set_proxy              (PostPsi         *self,
                                                    GProxyAddress   *proxy);
POST_AVAILABLE_IN_ALL
GProxyAddress     *post_psi_get_proxy              (PostPsi         *self);
POST_AVAILABLE_IN_ALL
void               post_psi_proxy_handshake_async  (PostPsi              *self,
                                                    GSocket              *socket,
                                                    GCancellable         *cancellable,
                                                    GAsyncReadyCallback   callback,
                                                    gpointer              user_data);
POST_AVAILABLE_IN_ALL
gboolean           post_psi_proxy_handshake_finish (PostPsi              *self,
                                                    GAsyncResult         *result,
                                                    GError              **error);
POST_AVAILABLE_IN_ALL
gboolean           post_psi_bind_to_interface      (PostPsi         *self,
                                                    int              fd,
                                                    gboolean         listening,
                                                    GError         **error);
POST_AVAILABLE_IN_ALL
guint              post_psi_check_interface        (const char      *interface,
                                                    GError         **error);
POST_AVAILABLE_IN_ALL
void               post_psi_notify_ready           (PostPsi         *self,
                                                    GIOCondition     condition);
POST_AVAILABLE_IN_ALL
void               post_psi_notify_sent            (PostPsi              *self);
POST_AVAILABLE_IN_ALL
void               post_psi_emit_accepted          (PostPsi         *self,
                                                    PostPsi         *accepted);
POST_AVAILABLE_IN_ALL
void               post_psi_emit_fork_request      (PostPsi         *self,
                                                    PostPsi         *forked);
POST_AVAILABLE_IN_ALL
void               post_psi_emit_path_changed      (PostPsi         *self);
POST_AVAILABLE_IN_ALL
void               post_psi_emit_soft_error        (PostPsi         *self,
                                                    const GError    *error);
POST_AVAILABLE_IN_ALL
void               post_psi_emit_datagram_event    (PostPsi          *self,
                                                    guint64           id,
                                                    PostDatagramEvent event);
POST_AVAILABLE_IN_ALL
void               post_psi_emit_message_expired   (PostPsi         *self,
                                                    PostMessage     *message);
POST_AVAILABLE_IN_ALL
gboolean           post_psi_deliver_datagram       (PostPsi         *self,
                                                    GBytes          *content);

G_END_DECLS
