/* post-carrier-private.h: carrier, association and reply: the top layer's internals
 *
 * Layer "carrier and association" of docs/architecture.md: it may include only the headers of its
 * own layer and the layers below (tools/include-graph.py --check).
 * Nothing here is installed or exported.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "post-transient-private.h"
#define POST_INSIDE
#include "post-reply.h"
#include "post-carrier.h"
#include "post-association.h"
#include "post-carrier-stream.h"
#undef POST_INSIDE

G_BEGIN_DECLS

/* ---- PostAssociation ---------------------------------------------------- */
void            _post_association_add_carrier     (PostAssociation   *self,
                                                   PostCarrier       *carrier);
void            _post_association_remove_carrier  (PostAssociation   *self,
                                                   PostCarrier       *carrier);
PostPath       *_post_association_ensure_path     (PostAssociation   *self,
                                                   PostPsi           *psi);
void            _post_association_record_success  (PostAssociation   *self,
                                                   const char        *stack_name,
                                                   GSocketAddress    *remote_address,
                                                   GSocketAddress    *local_address);
GSocketAddress *_post_association_get_last_address (PostAssociation  *self);
/* The local address the last winner was bound to by gathering, or NULL */
GSocketAddress *_post_association_get_last_local_address (PostAssociation *self);

/* ---- PostCarrier -------------------------------------------------------- */
/* A carrier around an accepted or forked PSI (passive open). */
PostCarrier    *_post_carrier_new_accepted       (PostCarrier       *parent,
                                                  PostPsi           *psi);

PostCarrier    *_post_carrier_initiate_on_association (PostAssociation *association);
/* Sends @message to @destination (NULL: the carrier's remote) without role
 * checks: how a PostReply answers. */
gboolean        _post_carrier_send_to            (PostCarrier       *self,
                                                  PostMessage       *message,
                                                  GSocketAddress    *destination,
                                                  GTask             *task,
                                                  GError           **error);

/* ---- PostReply ---------------------------------------------------------- */
PostReply      *_post_reply_new                  (PostCarrier       *target,
                                                  GSocketAddress    *destination);

/* ---- PostCarrierStream (post-carrier-stream.c) ------------------------------ */
/* The main context a carrier was created in (post-carrier.c) */
GMainContext   *_post_carrier_get_context        (PostCarrier       *self);
/* A synchronous stream call: begin acquires the carrier's context (or
 * fails: only @thread, the one that made the stream, or the thread that is
 * running the context may make it), the asynchronous call's callback fills
 * the op, end runs the context until it is done and releases it. */
typedef struct
{
  gboolean  done;
  gssize    size;
  GError   *error;
} PostStreamSyncOp;
gboolean        _post_carrier_stream_sync_begin  (PostCarrier       *carrier,
                                                  GThread           *thread,
                                                  GError           **error);
gssize          _post_carrier_stream_sync_end    (PostCarrier       *carrier,
                                                  PostStreamSyncOp  *op,
                                                  GError           **error);
/* FALSE, with %POST_ERROR_CONNECTION_RESET, once the carrier lost the
 * transport its stream was on (DORMANT) */
gboolean        _post_carrier_stream_check       (PostCarrier       *carrier,
                                                  GError           **error);


G_END_DECLS
