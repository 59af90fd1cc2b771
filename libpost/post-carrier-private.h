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
#include "post-refused-peers-private.h"
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

/* ---- PostCarrier internals (post-carrier*.c) ------------------------------
 * A carrier is implemented by post-carrier.c (the object, starting
 * establishment (post-establishment.c), accessors), post-carrier-close.c
 * (closing, and the end of a transport), post-carrier-listener.c
 * (listening and accepting), post-carrier-send.c (sending),
 * post-carrier-receive.c (receiving and the inbox), post-carrier-paths.c
 * (paths and migration) and post-carrier-fork.c (forking and the fork
 * control frames).  What they share is here; the other units of this layer
 * use only the functions. */

typedef struct
{
  GTask   *task;      /* (owned) */
  gboolean partial;
  gsize    min_length;
  gsize    max_length;
} ReceiveRequest;

typedef struct
{
  PostMessage *handle;  /* (owned) */
  GBytes      *data;    /* (owned) */
  gsize        offset;
  gboolean     end;
} InboxEntry;

/* Forks without streams (docs/framing.md, "Forking with control frames"):
 * post-carrier-fork.c */
#define FORK_TOKEN_SIZE           16

typedef struct _ForkToken ForkToken;
typedef struct _ForkOut ForkOut;

/* A listener's one handle for the carriers it accepted, cleared when the
 * listener is disposed (g_rc_box).  A weak pointer from each carrier made
 * every accept and every close cost O(carriers): GLib keeps an object's
 * weak references in one array, grown by a realloc at each addition and
 * scanned at each removal. */
typedef struct {
  PostCarrier *listener;   /* (nullable) (unowned) */
} PostCarrierLink;

struct _PostCarrier
{
  GObject             parent_instance;

  PostCarrierRole     role;
  PostCarrierState    state;
  PostLocal          *local;           /* (owned) (nullable) */
  PostRemote         *remote;          /* (owned) (nullable) */
  PostConfiguration  *configuration;   /* (owned) frozen */
  PostAssociation    *association;     /* (owned) (nullable) listeners have none */
  PostTransient      *transient;       /* (owned) (nullable) */
  PostPsi            *listen_psi;      /* (owned) (nullable) listener, responder, sink */
  GMainContext       *context;         /* (owned) */
  GError             *error;           /* (owned) (nullable) why closed or dormant */
  char               *stack_name;      /* (owned) (nullable) */

  /* Accepted carriers of a responder or remote-less sink deliver to it. */
  PostCarrier        *parent;          /* (unowned) (nullable) */
  GHashTable         *children;        /* (owned) (nullable) (element-type PostCarrier) */
  PostReply          *reply;           /* (owned) (nullable) a responder child's reply handle */

  /* establishment */
  PostEstablishment  *establishment;         /* (nullable) the one under way, until it
                                                reports (post-establishment.c) */
  GSource            *establish_source;      /* (owned) (nullable) */
  GQueue              establish_tasks;       /* (element-type GTask) */
  gint64              initiate_time;
  gint64              establishment_time;
  gboolean            close_requested;
  gboolean            passive;         /* accepted or forked by the peer */
  guint               path_watch;      /* path monitor subscription, 0 if none */

  /* receiving */
  GQueue              requests;        /* (element-type ReceiveRequest) */
  GQueue              inbox;           /* (element-type InboxEntry) */
  gsize               inbox_bytes;     /* bytes, plus POST_MESSAGE_OVERHEAD an entry */
  PostReadyFunc       ready_func;
  gpointer            ready_data;
  GDestroyNotify      ready_notify;
  PostRespondFunc     respond_func;
  gpointer            respond_data;
  GDestroyNotify      respond_notify;

  /* closing */
  GQueue              close_tasks;     /* (element-type GTask) */
  gulong              accepted_id;
  gboolean            fork_watch;   /* its transient's fork requests are its own */
  guint64             send_sequence;

  /* forks without streams, with control frames */
  PostCarrierLink    *listener_link;   /* (owned) (nullable) to the listener that accepted it */
  PostCarrierLink    *accepted_link;   /* (owned) (nullable) listener: its carriers' link to it */
  GHashTable         *fork_tokens;     /* (owned) (nullable) listener: token → ForkToken */
  GHashTable         *held_children;   /* (owned) (nullable) listener: transports held
                                          until their first frame (refs) */
  GHashTable         *forks_out;       /* (owned) (nullable) token → ForkOut: forks we open */
  PostRefusedPeers   *refused_peers;   /* (owned) (nullable) listener of a stack without
                                          POST_STACK_CAP_REFUSAL: remotes it refused */
  guint               n_fork_tokens;   /* its tokens at the listener */
  ForkOut            *fork_wait;       /* (unowned) (nullable) T: the fork it answers */
  gboolean            held;            /* held by its listener, not announced yet */
  gboolean            held_fork;       /* ... and its first frame was FORK */
  guint8              held_token[FORK_TOKEN_SIZE];
  GSource            *held_timeout;    /* (owned) (nullable) */
  GSource            *held_idle;       /* (owned) (nullable) */
  gboolean            held_ended;      /* its transport ended while held: closed once
                                          announced (so the closed signal is seen) */
  GError             *held_end_error;  /* (owned) (nullable) */
};

enum {
  CARRIER_SIGNAL_INCOMING,
  CARRIER_SIGNAL_CLOSED,
  CARRIER_SIGNAL_SENT,
  CARRIER_SIGNAL_ACKED,
  CARRIER_SIGNAL_EXPIRED,
  CARRIER_SIGNAL_SEND_ERROR,
  CARRIER_SIGNAL_PATH_CHANGED,
  CARRIER_SIGNAL_PATH_ADDED,
  CARRIER_SIGNAL_PATH_REMOVED,
  CARRIER_SIGNAL_SOFT_ERROR,
  CARRIER_SIGNAL_RECEIVE_ERROR,
  CARRIER_N_SIGNALS
};
extern guint _post_carrier_signals[CARRIER_N_SIGNALS];

/* ---- what the carrier's files share (post-carrier*.c) ------------------- */
/* post-carrier.c: the object, establishment, accessors, closing */
PostCarrier    *_post_carrier_new                (PostCarrierRole   role,
                                                  PostLocal        *local,
                                                  PostRemote       *remote,
                                                  PostConfiguration *configuration);
PostCarrier    *_post_carrier_initiate_with_role (PostCarrierRole   role,
                                                  PostLocal        *local,
                                                  PostRemote       *remote,
                                                  PostConfiguration *configuration,
                                                  PostAssociation  *association);
void            _post_carrier_set_state          (PostCarrier      *self,
                                                  PostCarrierState  state);
void            _post_carrier_set_stack_name     (PostCarrier      *self,
                                                  const char       *name);
const char     *_post_carrier_role_name          (PostCarrierRole   role);
gboolean        _post_carrier_can_receive_role   (PostCarrier      *self);
gboolean        _post_carrier_check_usable       (PostCarrier      *self,
                                                  gboolean          sending,
                                                  GError          **error);
gboolean        _post_carrier_return_if_cancelled (GTask            *task);
/* The transport @psi won (or was accepted): the carrier is ACTIVE on it. */
void            _post_carrier_activate           (PostCarrier      *self,
                                                  PostPsi          *psi,
                                                  PostCandidate    *winner);
void            _post_carrier_start_establishment (PostCarrier      *self);
/* Completes the waits of post_carrier_establish_async() (@error NULL: ACTIVE) */
void            _post_carrier_complete_establish_tasks (PostCarrier  *self,
                                                        const GError *error);
void            _post_carrier_detach_transient   (PostCarrier      *self);
/* post-carrier-close.c */
void            _post_carrier_set_closed         (PostCarrier      *self,
                                                  const GError     *error);
/* post-carrier-listener.c */
void            _post_carrier_psi_fork_request_cb (PostPsi          *psi,
                                                   PostPsi          *forked,
                                                   PostCarrier      *self);
/* post-carrier-receive.c */
void            _post_carrier_receive_request_free (ReceiveRequest   *request);
void            _post_carrier_inbox_entry_free   (InboxEntry       *entry);
void            _post_carrier_drain_requests_after_close (PostCarrier      *self);
/* post-carrier-paths.c */
void            _post_carrier_start_path_watch   (PostCarrier      *self,
                                                  PostPsi          *psi);
void            _post_carrier_stop_path_watch    (PostCarrier      *self);
/* post-carrier-fork.c */
/* post-carrier-listener.c: refuses a carrier nobody accepted */
void            _post_carrier_refuse_child       (PostCarrier      *listener,
                                                  PostCarrier      *child);
void            _post_carrier_accept_maybe_fork  (PostCarrier      *self,
                                                  PostCarrier      *child);
void            _post_carrier_schedule_held      (PostCarrier      *child);
void            _post_carrier_clear_source_free  (GSource          *source);
void            _post_carrier_fork_state_closed  (PostCarrier      *self,
                                                  const GError     *error);
const guint8   *_post_carrier_fork_wait_token    (PostCarrier      *self);
void            _post_carrier_send_fork_control  (PostCarrier      *self,
                                                  guint8            type,
                                                  guint8            flags,
                                                  const guint8     *token);


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


/* The listener that accepted @self, if it is still there. */
static inline PostCarrier *
_post_carrier_get_listener (PostCarrier *self)
{
  return self->listener_link != NULL ? self->listener_link->listener : NULL;
}

G_END_DECLS
