/* post-transient-private.h: the transient engine, and what it needs of its owner
 *
 * Layer "transient" of docs/architecture.md: it may include only the headers of its
 * own layer and the layers below (tools/include-graph.py --check).
 * Nothing here is installed or exported.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "post-selection-private.h"
#define POST_INSIDE
#include "post-transient.h"
#undef POST_INSIDE

G_BEGIN_DECLS

/* The carrier that owns a transient, as a handle (post-carrier.h declares
 * the type; this layer does not include it) */
typedef struct _PostCarrier PostCarrier;

typedef enum {
  POST_DEMAND_NONE,
  POST_DEMAND_COMPLETE,
  POST_DEMAND_PARTIAL,
} PostDemand;


/* ---- What the transient needs of its owner ---------------------------------
 * The transient is one layer below the carrier: it declares here what it
 * asks of the carrier that owns it, and post-carrier*.c implement it (a
 * PostCarrier is only a handle to the transient: it never includes the
 * carrier's headers).
 *
 * The transient asks its carrier what receive demand there is, delivers to
 * it, and reports send events and its end. */
PostDemand      _post_carrier_peek_demand        (PostCarrier       *self,
                                                  gsize             *min_length,
                                                  gsize             *max_length);
gsize           _post_carrier_get_inbox_size     (PostCarrier       *self);
void            _post_carrier_deliver_error      (PostCarrier       *self,
                                                  const GError      *error);
void            _post_carrier_deliver            (PostCarrier       *self,
                                                  PostMessage       *handle,
                                                  GBytes            *data,
                                                  gboolean           end_of_message);
void            _post_carrier_emit_sent          (PostCarrier       *self,
                                                  PostMessage       *message);
gboolean        _post_carrier_wants_acked        (PostCarrier       *self);
void            _post_carrier_emit_soft_error    (PostCarrier       *self,
                                                  const GError      *error);
void            _post_carrier_emit_acked         (PostCarrier       *self,
                                                  PostMessage       *message);
void            _post_carrier_emit_expired       (PostCarrier       *self,
                                                  PostMessage       *message);
void            _post_carrier_emit_send_error    (PostCarrier       *self,
                                                  PostMessage       *message,
                                                  const GError      *error);
/* The transient's PSI ended: @error is NULL for an orderly end (both
 * directions closed), else why it failed.  @peer_closed: the peer ended it. */
gboolean        _post_carrier_should_go_dormant  (PostCarrier       *self,
                                                  PostTransient     *transient,
                                                  const GError      *error);
void            _post_carrier_transient_ended    (PostCarrier       *self,
                                                  PostTransient     *transient,
                                                  const GError      *error,
                                                  gboolean           peer_closed);
PostPath       *_post_carrier_path_for_psi        (PostCarrier   *self,
                                                   PostPsi       *psi);
void            _post_carrier_transient_path_changed (PostCarrier   *self,
                                                      PostTransient *transient);

void            _post_carrier_control_frame      (PostCarrier       *self,
                                                  PostTransient     *transient,
                                                  guint8             type,
                                                  guint8             flags,
                                                  GBytes            *body,
                                                  gboolean           first);
void            _post_carrier_first_message      (PostCarrier       *self,
                                                  PostTransient     *transient);

/* ---- The transient (post-transient.c) ------------------------------------- */
PostTransient  *_post_transient_new_pending      (PostCarrier       *carrier,
                                                  PostConfiguration *configuration);
void            _post_transient_attach           (PostTransient     *self,
                                                  PostPsi           *psi,
                                                  PostPath          *path);
gboolean        _post_transient_is_attached      (PostTransient     *self);
/* Moves every queued, not yet started send of @from to @self. */
void            _post_transient_take_queue       (PostTransient     *self,
                                                  PostTransient     *from);
gboolean        _post_transient_enqueue          (PostTransient     *self,
                                                  PostMessage       *message,
                                                  GBytes            *content,
                                                  gboolean           end_of_message,
                                                  gboolean           part,
                                                  GTask             *task,
                                                  GSocketAddress    *destination,
                                                  gboolean           check_limit,
                                                  GError           **error);
void            _post_transient_flush            (PostTransient     *self,
                                                  GTask             *task);
gsize           _post_transient_get_queued_bytes (PostTransient     *self);
gboolean        _post_transient_send_queue_full  (PostTransient     *self);
/* inbox + message being assembled + undecoded input */
gsize           _post_transient_get_receive_bytes (PostTransient    *self);
/* A send or flush task whose cancellable was cancelled: returns
 * G_IO_ERROR_CANCELLED if nothing of it was written yet (a send) or it is
 * still waiting (a flush); otherwise it goes on and completes normally. */
void            _post_transient_cancel_send      (PostTransient     *self,
                                                  GTask             *task);
void            _post_transient_cancel_flush     (PostTransient     *self,
                                                  GTask             *task);
void            _post_transient_pump_receive     (PostTransient     *self);
/* Reads once without waiting for the PSI to say it is readable (a freshly
 * accepted transport often has data, or its peer's end, waiting). */
void            _post_transient_try_read         (PostTransient     *self);
/* Graceful: drain the queue, end the sending direction, wait (bounded) for
 * the peer's end, then close. */
void            _post_transient_close            (PostTransient     *self);
void            _post_transient_abort            (PostTransient     *self,
                                                  const GError      *error);
void            _post_transient_fail_queue       (PostTransient     *self,
                                                  const GError      *error);
PostStackCapabilities _post_transient_get_capabilities (PostTransient *self);
/* Control frames of libpost's framing (forks on stacks without streams) */
gboolean        _post_transient_speaks_control   (PostTransient     *self);
gboolean        _post_transient_has_seen_frame   (PostTransient     *self);
gboolean        _post_transient_send_control     (PostTransient     *self,
                                                  guint8             type,
                                                  guint8             flags,
                                                  const guint8      *body,
                                                  gsize              body_length);
/* 0-RTT: the idempotent messages at the head of the queue, framed, up to
 * @limit bytes (NULL if none); they count as sent once a PSI that took them
 * is attached, else _post_transient_return_early_data() requeues them. */
GBytes         *_post_transient_take_early_data  (PostTransient     *self,
                                                  gsize              limit);
void            _post_transient_return_early_data (PostTransient    *self);

G_END_DECLS
