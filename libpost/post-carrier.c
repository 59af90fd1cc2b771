/* post-carrier.c: PostCarrier, where applications send and receive messages
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

#include "post-carrier-private.h"

/**
 * PostCarrier:
 *
 * A message carrier (draft section 2.1): the application's handle for
 * sending and receiving [class@Post.Message]s to and from a remote,
 * whatever protocol stack carries them.
 *
 * Carriers are created by an active open, post_carrier_initiate() (or
 * post_association_initiate()), by a passive open, post_carrier_listen()
 * whose #PostCarrier::incoming signal hands out accepted carriers, or in
 * one of the special roles: a source (post_carrier_new_source()) only
 * sends, a sink (post_carrier_new_sink()) only receives, and a responder
 * (post_carrier_respond()) receives from many remotes and answers each
 * message through a [class@Post.Reply].
 *
 * ## Life cycle
 *
 * ```
 *   initiate ──► ESTABLISHING ──► ACTIVE ──► CLOSING ──► CLOSED
 *                     │             │  ▲                   ▲
 *                     │             ▼  │ establish_async    │
 *                     │          DORMANT ──────────────────┤ close/abort
 *                     └────────── (establishment error) ───┘
 * ```
 *
 * A carrier exists before any transport does: messages sent while it is
 * ESTABLISHING are queued and go out once it is ACTIVE.  Establishment
 * resolves the remote, ranks the stacks that satisfy the configuration and
 * races candidates (RFC 8305); post_carrier_establish_async() reports how it
 * ended.  When the transport of an initiated carrier fails, the carrier
 * becomes DORMANT: its association and its queued messages stay, and
 * post_carrier_establish_async() re-establishes it.  A carrier whose peer
 * closes it, that the application closes, or that cannot be re-established
 * (an accepted carrier whose transport failed) becomes CLOSED and emits
 * #PostCarrier::closed; every later operation fails with %POST_ERROR_CLOSED.
 *
 * ## Receiving is a pull
 *
 * post_carrier_receive_async() asks for one complete message,
 * post_carrier_receive_partial_async() for a part of at least `min` and at
 * most `max` bytes, and post_carrier_ready() installs a function that gets
 * every message.  Without any of these the carrier reads only a small
 * read-ahead and then leaves data in the kernel, so the peer is slowed down
 * (back-pressure) instead of memory growing.
 *
 * ## Sending is bounded
 *
 * post_carrier_send_async() completes when the message was handed to the
 * network; post_carrier_send() and post_carrier_send_bytes() queue without
 * a callback and fail with %POST_ERROR_WOULD_BLOCK once the queue holds
 * the configuration's `send-queue-limit`; post_carrier_flush_async() waits
 * until everything queued so far is handed over.
 */

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

/* Forks without streams (docs/framing.md, "Forking with control frames") */
#define FORK_TOKEN_SIZE           16
#define FORK_TOKENS_PER_CARRIER   32     /* pending forks of one carrier, either way */
#define FORK_TOKENS_PER_LISTENER  1024   /* tokens a listener holds for all its carriers */
#define FORK_HELD_PER_LISTENER    64     /* new transports waiting for their first frame */
#define FORK_TOKEN_LIFETIME_MS    30000  /* without a conn-timeout */

typedef struct _ForkToken ForkToken;
typedef struct _ForkOut ForkOut;

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
  GCancellable       *establish_cancellable; /* (owned) (nullable) */
  GSource            *establish_source;      /* (owned) (nullable) */
  GSource            *timeout_source;        /* (owned) (nullable) */
  char               *attempts_text;         /* (owned) (nullable) what the race tries,
                                                for the timeout's message */
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
  gulong              fork_id;
  guint64             send_sequence;

  /* forks without streams, with control frames */
  PostCarrier        *listener;        /* (nullable) weak: the listener that accepted it */
  GHashTable         *fork_tokens;     /* (owned) (nullable) listener: token → ForkToken */
  GHashTable         *held_children;   /* (owned) (nullable) listener: transports held
                                          until their first frame (refs) */
  GHashTable         *forks_out;       /* (owned) (nullable) token → ForkOut: forks we open */
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

G_DEFINE_FINAL_TYPE (PostCarrier, post_carrier, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_ROLE,
  PROP_STATE,
  PROP_LOCAL,
  PROP_REMOTE,
  PROP_CONFIGURATION,
  PROP_ASSOCIATION,
  PROP_STACK_NAME,
  PROP_PEER_CERTIFICATE,
  PROP_PEER_CERTIFICATE_ERRORS,
  PROP_NEGOTIATED_PROTOCOL,
  N_PROPS
};

enum {
  SIGNAL_INCOMING,
  SIGNAL_CLOSED,
  SIGNAL_SENT,
  SIGNAL_ACKED,
  SIGNAL_EXPIRED,
  SIGNAL_SEND_ERROR,
  SIGNAL_PATH_CHANGED,
  SIGNAL_PATH_ADDED,
  SIGNAL_PATH_REMOVED,
  SIGNAL_SOFT_ERROR,
  SIGNAL_RECEIVE_ERROR,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void start_establishment (PostCarrier *self);
static void fork_state_closed (PostCarrier *self, const GError *error);
static void clear_source_free (GSource *source);
static void send_fork_control (PostCarrier *self, guint8 type, guint8 flags, const guint8 *token);
static const guint8 *fork_wait_token (PostCarrier *self);
static void drain_requests_after_close (PostCarrier *self);
static void establish_cancelled (GTask *task, gpointer user_data);
static void set_closed (PostCarrier *self, const GError *error);

/* ---- small helpers ------------------------------------------------------- */

static void
receive_request_free (ReceiveRequest *request)
{
  g_clear_object (&request->task);
  g_free (request);
}

static void
inbox_entry_free (InboxEntry *entry)
{
  g_clear_object (&entry->handle);
  g_clear_pointer (&entry->data, g_bytes_unref);
  g_free (entry);
}

static void
clear_source (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}

/* The common start of every _async operation: a task whose cancellable
 * was cancelled before the call completes (from the main loop, as GTask
 * does) with G_IO_ERROR_CANCELLED; returns whether it did. */
static gboolean
return_if_cancelled (GTask *task)
{
  return g_task_return_error_if_cancelled (task);
}

static const char *
role_name (PostCarrierRole role)
{
  switch (role)
    {
    case POST_CARRIER_ROLE_CARRIER:   return "carrier";
    case POST_CARRIER_ROLE_LISTENER:  return "listener";
    case POST_CARRIER_ROLE_SOURCE:    return "source";
    case POST_CARRIER_ROLE_SINK:      return "sink";
    case POST_CARRIER_ROLE_RESPONDER: return "responder";
    default:                          return "carrier";
    }
}

static gboolean
can_send_role (PostCarrier *self)
{
  return self->role == POST_CARRIER_ROLE_CARRIER || self->role == POST_CARRIER_ROLE_SOURCE;
}

static gboolean
can_receive_role (PostCarrier *self)
{
  return self->role == POST_CARRIER_ROLE_CARRIER || self->role == POST_CARRIER_ROLE_SINK;
}

static gboolean
check_usable (PostCarrier  *self,
              gboolean      sending,
              GError      **error)
{
  if (self->state == POST_CARRIER_STATE_CLOSED
      || (sending && (self->state == POST_CARRIER_STATE_CLOSING || self->close_requested)))
    {
      if (self->error != NULL && self->state == POST_CARRIER_STATE_CLOSED)
        g_set_error (error, POST_ERROR, POST_ERROR_CLOSED,
                     "The carrier is closed: %s", self->error->message);
      else
        g_set_error_literal (error, POST_ERROR, POST_ERROR_CLOSED,
                             self->state == POST_CARRIER_STATE_CLOSED
                             ? "The carrier is closed"
                             : "The carrier is closing");
      return FALSE;
    }
  if (sending && !can_send_role (self))
    {
      g_set_error (error, POST_ERROR, POST_ERROR_WRONG_ROLE,
                   "A %s cannot send%s", role_name (self->role),
                   self->role == POST_CARRIER_ROLE_RESPONDER ? ": reply with the PostReply" : "");
      return FALSE;
    }
  if (!sending && !can_receive_role (self))
    {
      g_set_error (error, POST_ERROR, POST_ERROR_WRONG_ROLE,
                   "A %s cannot receive%s", role_name (self->role),
                   self->role == POST_CARRIER_ROLE_LISTENER ? ": accepted carriers arrive by the incoming signal" : "");
      return FALSE;
    }
  return TRUE;
}

static void
set_state (PostCarrier      *self,
           PostCarrierState  state)
{
  if (self->state == state)
    return;
  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

/* ---- GObject ------------------------------------------------------------- */

static void
stop_path_watch (PostCarrier *self)
{
  if (self->path_watch != 0)
    _post_path_monitor_unwatch (post_path_monitor_get_default (), self->path_watch);
  self->path_watch = 0;
}

static void
detach_transient (PostCarrier *self)
{
  if (self->transient == NULL)
    return;
  if (self->fork_id != 0)
    g_clear_signal_handler (&self->fork_id, post_transient_get_psi (self->transient));
  g_object_run_dispose (G_OBJECT (self->transient));
  g_clear_object (&self->transient);
}

static void
post_carrier_dispose (GObject *object)
{
  PostCarrier *self = POST_CARRIER (object);

  if (self->establish_cancellable != NULL)
    g_cancellable_cancel (self->establish_cancellable);
  clear_source (&self->establish_source);
  clear_source (&self->timeout_source);
  if (self->listen_psi != NULL)
    {
      g_clear_signal_handler (&self->accepted_id, self->listen_psi);
      post_psi_close (self->listen_psi, FALSE);
      g_clear_object (&self->listen_psi);
    }
  stop_path_watch (self);
  fork_state_closed (self, NULL);
  g_clear_pointer (&self->held_timeout, clear_source_free);
  g_clear_pointer (&self->held_idle, clear_source_free);
  g_clear_pointer (&self->forks_out, g_hash_table_unref);
  g_clear_pointer (&self->fork_tokens, g_hash_table_unref);
  g_clear_pointer (&self->held_children, g_hash_table_unref);
  if (self->listener != NULL)
    {
      g_object_remove_weak_pointer (G_OBJECT (self->listener), (gpointer *) &self->listener);
      self->listener = NULL;
    }
  detach_transient (self);
  if (self->association != NULL)
    {
      _post_association_remove_carrier (self->association, self);
      g_clear_object (&self->association);
    }
  g_clear_pointer (&self->children, g_hash_table_unref);
  g_clear_object (&self->reply);
  if (self->ready_notify != NULL)
    g_clear_pointer (&self->ready_data, self->ready_notify);
  self->ready_func = NULL;
  if (self->respond_notify != NULL)
    g_clear_pointer (&self->respond_data, self->respond_notify);
  self->respond_func = NULL;

  G_OBJECT_CLASS (post_carrier_parent_class)->dispose (object);
}

static void
post_carrier_finalize (GObject *object)
{
  PostCarrier *self = POST_CARRIER (object);

  g_queue_clear_full (&self->requests, (GDestroyNotify) receive_request_free);
  g_queue_clear_full (&self->inbox, (GDestroyNotify) inbox_entry_free);
  g_queue_clear_full (&self->establish_tasks, g_object_unref);
  g_queue_clear_full (&self->close_tasks, g_object_unref);
  g_clear_object (&self->establish_cancellable);
  g_clear_object (&self->local);
  g_clear_object (&self->remote);
  g_clear_object (&self->configuration);
  g_clear_error (&self->error);
  g_clear_error (&self->held_end_error);
  g_clear_pointer (&self->stack_name, g_free);
  g_clear_pointer (&self->attempts_text, g_free);
  g_clear_pointer (&self->context, g_main_context_unref);

  G_OBJECT_CLASS (post_carrier_parent_class)->finalize (object);
}

static void
post_carrier_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  PostCarrier *self = POST_CARRIER (object);

  switch (prop_id)
    {
    case PROP_ROLE:
      g_value_set_enum (value, self->role);
      break;
    case PROP_STATE:
      g_value_set_enum (value, self->state);
      break;
    case PROP_LOCAL:
      g_value_set_object (value, self->local);
      break;
    case PROP_REMOTE:
      g_value_set_object (value, self->remote);
      break;
    case PROP_CONFIGURATION:
      g_value_set_object (value, self->configuration);
      break;
    case PROP_ASSOCIATION:
      g_value_set_object (value, self->association);
      break;
    case PROP_STACK_NAME:
      g_value_set_string (value, self->stack_name);
      break;
    case PROP_PEER_CERTIFICATE:
      g_value_set_object (value, post_carrier_get_peer_certificate (self));
      break;
    case PROP_PEER_CERTIFICATE_ERRORS:
      g_value_set_flags (value, post_carrier_get_peer_certificate_errors (self));
      break;
    case PROP_NEGOTIATED_PROTOCOL:
      g_value_set_string (value, post_carrier_get_negotiated_protocol (self));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
post_carrier_class_init (PostCarrierClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = post_carrier_dispose;
  object_class->finalize = post_carrier_finalize;
  object_class->get_property = post_carrier_get_property;

  /**
   * PostCarrier:role:
   *
   * What the carrier can do: see [enum@Post.CarrierRole].
   */
  properties[PROP_ROLE] =
    g_param_spec_enum ("role", NULL, NULL, POST_TYPE_CARRIER_ROLE, POST_CARRIER_ROLE_CARRIER,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * PostCarrier:state:
   *
   * Where the carrier is in its life cycle.
   */
  properties[PROP_STATE] =
    g_param_spec_enum ("state", NULL, NULL, POST_TYPE_CARRIER_STATE, POST_CARRIER_STATE_ESTABLISHING,
                       G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * PostCarrier:local:
   *
   * The local endpoint, if one was given or learned.
   */
  properties[PROP_LOCAL] =
    g_param_spec_object ("local", NULL, NULL, POST_TYPE_LOCAL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * PostCarrier:remote:
   *
   * The remote endpoint; %NULL for listeners, responders and remote-less sinks.
   */
  properties[PROP_REMOTE] =
    g_param_spec_object ("remote", NULL, NULL, POST_TYPE_REMOTE,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * PostCarrier:configuration:
   *
   * The carrier's configuration, frozen.
   */
  properties[PROP_CONFIGURATION] =
    g_param_spec_object ("configuration", NULL, NULL, POST_TYPE_CONFIGURATION,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * PostCarrier:association:
   *
   * The association the carrier belongs to.
   */
  properties[PROP_ASSOCIATION] =
    g_param_spec_object ("association", NULL, NULL, POST_TYPE_ASSOCIATION,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * PostCarrier:stack-name:
   *
   * The name of the stack that carries the carrier, once chosen.
   */
  properties[PROP_STACK_NAME] =
    g_param_spec_string ("stack-name", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * PostCarrier:peer-certificate:
   *
   * The certificate the peer presented on the carrier's secure transport,
   * as [property@Gio.TlsConnection:peer-certificate]; notified when the
   * carrier becomes ACTIVE.
   */
  properties[PROP_PEER_CERTIFICATE] =
    g_param_spec_object ("peer-certificate", NULL, NULL, G_TYPE_TLS_CERTIFICATE,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * PostCarrier:peer-certificate-errors:
   *
   * What the verification of [property@Post.Carrier:peer-certificate]
   * found, as [property@Gio.TlsConnection:peer-certificate-errors];
   * notified when the carrier becomes ACTIVE.
   */
  properties[PROP_PEER_CERTIFICATE_ERRORS] =
    g_param_spec_flags ("peer-certificate-errors", NULL, NULL, G_TYPE_TLS_CERTIFICATE_FLAGS, 0,
                        G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * PostCarrier:negotiated-protocol:
   *
   * The application protocol ALPN negotiated on the carrier's secure
   * transport, as [property@Gio.TlsConnection:negotiated-protocol];
   * notified when the carrier becomes ACTIVE.
   */
  properties[PROP_NEGOTIATED_PROTOCOL] =
    g_param_spec_string ("negotiated-protocol", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * PostCarrier::incoming:
   * @self: a listener, or a carrier whose peer forked it
   * @carrier: the new carrier
   *
   * A remote opened a carrier to a listener, or the peer forked this
   * carrier (a fork request, draft 2.1).  Return %TRUE to accept it (and
   * keep a reference to @carrier); when no handler accepts, it is closed
   * and the peer's fork fails with %POST_ERROR_CONNECTION_REFUSED.
   *
   * Fork requests arrive here on stacks with %POST_STACK_CAP_FORK_REQUEST:
   * a new stream, or on tcp and tls with libpost's framing a new transport
   * that the listener matched to this carrier by the token the peer
   * announced on it (docs/framing.md); the listener's own signal never sees
   * such a transport.  On the side that initiated the carrier, a fork
   * request is the peer's fork of its accepted carrier, whose transport
   * libpost opened here.  Without the capability the peer's forks are
   * ordinary carriers at the listener.
   *
   * Returns: %TRUE to accept
   */
  signals[SIGNAL_INCOMING] =
    g_signal_new ("incoming", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, g_signal_accumulator_true_handled, NULL, NULL,
                  G_TYPE_BOOLEAN, 1, POST_TYPE_CARRIER);
  /**
   * PostCarrier::closed:
   * @self: the carrier
   * @error: (nullable): why, or %NULL for an orderly close (either side's)
   *
   * The carrier is closed: the peer closed it (passive close), the
   * application did, establishment failed, or the transport failed and
   * cannot be re-established.
   */
  signals[SIGNAL_CLOSED] =
    g_signal_new ("closed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_ERROR);
  /**
   * PostCarrier::sent:
   * @self: the carrier
   * @message: the message
   *
   * A message was handed to the network: the carrier-wide `OnSent`
   * handler, emitted after the message's own #PostMessage::sent.
   */
  signals[SIGNAL_SENT] =
    g_signal_new ("sent", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, POST_TYPE_MESSAGE);
  /**
   * PostCarrier::acked:
   * @self: the carrier
   * @message: the message
   *
   * The peer's transport acknowledged a message (`OnAcked`).  Only stacks
   * with %POST_STACK_CAP_EVENT_ACKED emit it.
   */
  signals[SIGNAL_ACKED] =
    g_signal_new ("acked", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, POST_TYPE_MESSAGE);
  /**
   * PostCarrier::expired:
   * @self: the carrier
   * @message: the message
   *
   * A message's lifetime passed before it was sent, so it was dropped
   * (`OnExpired`); on a stack with partial reliability (sctp), also an
   * unreliable message the stack abandoned after #PostCarrier::sent
   * because its lifetime passed before the peer acknowledged it.
   */
  signals[SIGNAL_EXPIRED] =
    g_signal_new ("expired", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, POST_TYPE_MESSAGE);
  /**
   * PostCarrier::send-error:
   * @self: the carrier
   * @message: the message
   * @error: why it was not sent
   *
   * A message could not be sent.
   */
  signals[SIGNAL_SEND_ERROR] =
    g_signal_new ("send-error", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 2, POST_TYPE_MESSAGE, G_TYPE_ERROR);
  /**
   * PostCarrier::path-changed:
   * @self: the carrier
   * @path: the path in use now
   *
   * The carrier's path changed (addresses, interface or measurements),
   * for instance when its connection migrated to another local address or
   * the peer's address changed (%POST_STACK_CAP_MIGRATION).
   */
  signals[SIGNAL_PATH_CHANGED] =
    g_signal_new ("path-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, POST_TYPE_PATH);
  /**
   * PostCarrier::path-added:
   * @self: the carrier
   * @path: a path that became available (its local address and remote)
   *
   * A new local address appeared on a running interface that could reach
   * the carrier's remote: another path it could use (draft 2.8).
   */
  signals[SIGNAL_PATH_ADDED] =
    g_signal_new ("path-added", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, POST_TYPE_PATH);
  /**
   * PostCarrier::path-removed:
   * @self: the carrier
   * @path: the path that went away
   *
   * The interface or the local address of the carrier's active path
   * disappeared (or the interface went down).  The carrier then moves:
   * with the option `path.on-loss` set to `'reestablish'` (the default) it
   * establishes again at once, over what is left, keeping its queue; with
   * `'dormant'` it goes DORMANT until post_carrier_establish_async().
   * On a stack that migrates connections (%POST_STACK_CAP_MIGRATION, such
   * as quic) an initiated carrier first moves its connection to another
   * local address and stays ACTIVE: #PostCarrier::path-changed then
   * carries the new path (also on the carriers sharing the connection),
   * and `path.on-loss` applies only when no other local address works.
   */
  signals[SIGNAL_PATH_REMOVED] =
    g_signal_new ("path-removed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, POST_TYPE_PATH);
  /**
   * PostCarrier::soft-error:
   * @self: the carrier
   * @error: what the network reported
   *
   * The network reported an error that does not end the carrier, such as
   * an ICMP port unreachable for an earlier datagram (RFC 9622 `SoftError`).
   * Only stacks with %POST_STACK_CAP_SOFT_ERROR_NOTIFY report them; a
   * configuration whose `soft-error-notify` is prohibit silences it.
   */
  signals[SIGNAL_SOFT_ERROR] =
    g_signal_new ("soft-error", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_ERROR);

  /**
   * PostCarrier::receive-error:
   * @self: the carrier
   * @error: why a message could not be delivered
   *
   * A received message could not be delivered to a post_carrier_ready()
   * function or a responder (RFC 9622 `ReceiveError`): one larger than the
   * configuration's `recv-msg-max-len` (%POST_ERROR_MESSAGE_TOO_LARGE),
   * which is dropped whole while the carrier goes on.  A pending
   * post_carrier_receive_async() gets the error instead.
   */
  signals[SIGNAL_RECEIVE_ERROR] =
    g_signal_new ("receive-error", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL,
                  G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
post_carrier_init (PostCarrier *self)
{
  self->context = g_main_context_ref_thread_default ();
  g_queue_init (&self->requests);
  g_queue_init (&self->inbox);
  g_queue_init (&self->establish_tasks);
  g_queue_init (&self->close_tasks);
}

static PostCarrier *
carrier_new (PostCarrierRole    role,
             PostLocal         *local,
             PostRemote        *remote,
             PostConfiguration *configuration)
{
  PostCarrier *self = g_object_new (POST_TYPE_CARRIER, NULL);

  self->role = role;
  /* RFC 9622 `direction`: a unidirectional carrier is a source or a sink. */
  if (role == POST_CARRIER_ROLE_CARRIER && configuration != NULL)
    {
      switch (post_configuration_get_direction (configuration))
        {
        case POST_DIRECTION_UNIDIRECTIONAL_SEND:
          self->role = POST_CARRIER_ROLE_SOURCE;
          break;
        case POST_DIRECTION_UNIDIRECTIONAL_RECEIVE:
          self->role = POST_CARRIER_ROLE_SINK;
          break;
        case POST_DIRECTION_BIDIRECTIONAL:
        default:
          break;
        }
    }
  self->local = local ? g_object_ref (local) : NULL;
  self->remote = remote ? g_object_ref (remote) : NULL;
  self->configuration = configuration ? g_object_ref (configuration)
                                      : _post_configuration_dup_default ();
  /* A source (post_carrier_new_source()) tells its stack that it only
   * sends, as a configuration with `direction` unidirectional-send would:
   * the PSI interface knows no roles, and a multistreaming stack then
   * opens a unidirectional stream, which the peer accepts as a sink. */
  if (role == POST_CARRIER_ROLE_SOURCE
      && post_configuration_get_direction (self->configuration) != POST_DIRECTION_UNIDIRECTIONAL_SEND)
    {
      PostConfiguration *send_only = post_configuration_copy (self->configuration);

      post_configuration_set_direction (send_only, POST_DIRECTION_UNIDIRECTIONAL_SEND, NULL);
      g_object_unref (self->configuration);
      self->configuration = send_only;
    }
  post_configuration_freeze (self->configuration);
  if (self->local != NULL)
    _post_local_freeze (self->local);
  self->transient = _post_transient_new_pending (self, self->configuration);
  self->initiate_time = g_get_monotonic_time ();
  return self;
}

static void
set_stack_name (PostCarrier *self,
                const char  *name)
{
  if (g_strcmp0 (self->stack_name, name) == 0)
    return;
  g_free (self->stack_name);
  self->stack_name = g_strdup (name);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STACK_NAME]);
}

/* ---- establishment -------------------------------------------------------- */

static void
complete_establish_tasks (PostCarrier  *self,
                          const GError *error)
{
  GTask *task;

  while ((task = g_queue_pop_head (&self->establish_tasks)) != NULL)
    {
      if (error != NULL)
        g_task_return_error (task, g_error_copy (error));
      else
        g_task_return_boolean (task, TRUE);
      g_object_unref (task);
    }
}

static void
fail_receive_requests (PostCarrier  *self,
                       const GError *error)
{
  ReceiveRequest *request;

  while ((request = g_queue_pop_head (&self->requests)) != NULL)
    {
      g_task_return_error (request->task, g_error_copy (error));
      receive_request_free (request);
    }
}

static void
psi_fork_request_cb (PostPsi     *psi,
                     PostPsi     *forked,
                     PostCarrier *self);

static void start_path_watch (PostCarrier *self, PostPsi *psi);

/* The transport's security details change with the transport. */
static void
notify_peer_details (PostCarrier *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PEER_CERTIFICATE]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PEER_CERTIFICATE_ERRORS]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NEGOTIATED_PROTOCOL]);
}

static void
activate (PostCarrier   *self,
          PostPsi       *psi,
          PostCandidate *winner)
{
  PostPath *path = NULL;

  g_object_ref (self);
  set_stack_name (self, post_stack_get_name (post_psi_get_stack (psi)));
  self->establishment_time = g_get_monotonic_time () - self->initiate_time;
  if (self->association != NULL)
    {
      path = _post_association_ensure_path (self->association, psi);
      _post_association_record_success (self->association,
                                        post_stack_get_name (post_psi_get_stack (psi)),
                                        post_psi_get_remote_address (psi),
                                        winner != NULL && winner->gathered
                                        ? winner->local_address : NULL);
    }
  g_clear_error (&self->error);
  self->fork_id = g_signal_connect (psi, "fork-request", G_CALLBACK (psi_fork_request_cb), self);
  set_state (self, POST_CARRIER_STATE_ACTIVE);
  _post_transient_attach (self->transient, psi, path);
  notify_peer_details (self);
  /* A fork's transport (offered): FORK(token) is its first frame. */
  if (fork_wait_token (self) != NULL)
    send_fork_control (self, 0x04 /* FORK */, 0, fork_wait_token (self));
  start_path_watch (self, psi);
  complete_establish_tasks (self, NULL);
  if (self->close_requested && self->state == POST_CARRIER_STATE_ACTIVE)
    {
      set_state (self, POST_CARRIER_STATE_CLOSING);
      _post_transient_close (self->transient);
    }
  g_object_unref (self);
}

static void
establishment_failed (PostCarrier *self,
                      GError      *error)
{
  g_autoptr(GError) owned = error;

  clear_source (&self->timeout_source);
  if (self->state == POST_CARRIER_STATE_CLOSED)
    return;
  g_object_ref (self);
  g_debug ("Establishment of %s failed: %s",
           self->remote ? post_remote_get_uri (self->remote) : "carrier", error->message);
  complete_establish_tasks (self, error);
  _post_transient_fail_queue (self->transient, error);
  set_closed (self, error);
  g_object_unref (self);
}

typedef struct
{
  PostCarrier  *carrier;     /* (owned) */
  GPtrArray    *stacks;      /* (owned) (element-type PostStack) */
  GCancellable *cancellable; /* (owned) the establishment's; if it is no longer
                                the carrier's, the establishment was stopped */
  GPtrArray    *proxies;     /* (owned) (nullable) (element-type PostProxyBranch):
                                the proxy resolver's branches; NULL: direct only */
  char         *unresolved;  /* (owned) (nullable) why the remote's name gave no
                                address, when proxies may still reach it */
} EstablishData;

static void
establish_data_free (EstablishData *data)
{
  g_clear_object (&data->cancellable);
  g_clear_object (&data->carrier);
  g_clear_pointer (&data->stacks, g_ptr_array_unref);
  g_clear_pointer (&data->proxies, g_ptr_array_unref);
  g_free (data->unresolved);
  g_free (data);
}

static void
race_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  EstablishData *data = user_data;
  PostCarrier *self = data->carrier;
  g_autoptr(GError) error = NULL;
  g_autoptr(PostPsi) psi = NULL;
  PostCandidate *winner = NULL;

  psi = _post_racer_run_finish (result, &winner, &error);
  if (data->cancellable != self->establish_cancellable)
    {
      /* A stopped establishment (its wait was cancelled, the carrier went
       * DORMANT): what it took as early data goes back to the queue. */
      if (psi != NULL)
        post_psi_close (psi, TRUE);
      if (self->transient != NULL && !_post_transient_is_attached (self->transient))
        _post_transient_return_early_data (self->transient);
      establish_data_free (data);
      return;
    }
  g_clear_object (&self->establish_cancellable);
  clear_source (&self->timeout_source);
  if (psi == NULL)
    {
      /* Messages offered as 0-RTT data to the failed attempts queue again. */
      if (self->transient != NULL)
        _post_transient_return_early_data (self->transient);
      if (self->state != POST_CARRIER_STATE_CLOSED)
        establishment_failed (self, g_steal_pointer (&error));
    }
  else if (self->state == POST_CARRIER_STATE_CLOSED)
    post_psi_close (psi, TRUE);
  else
    activate (self, psi, winner);
  establish_data_free (data);
}

static gboolean
inet_address_equal (GSocketAddress *a,
                    GSocketAddress *b)
{
  return a != NULL && b != NULL && G_IS_INET_SOCKET_ADDRESS (a) && G_IS_INET_SOCKET_ADDRESS (b)
         && g_inet_address_equal (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (a)),
                                  g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (b)));
}

/* The association's history (draft section 3): 3 for the last winner's
 * stack, remote address and gathered local; 2 stack and address; 1 stack. */
static gint
candidate_priority (PostCarrier   *self,
                    PostCandidate *candidate)
{
  const char *last_stack;
  GSocketAddress *last_address;
  GSocketAddress *last_local;

  if (self->association == NULL)
    return 0;
  last_stack = post_association_get_last_stack (self->association);
  last_address = _post_association_get_last_address (self->association);
  last_local = _post_association_get_last_local_address (self->association);
  if (last_stack != NULL && g_strcmp0 (last_stack, post_stack_get_name (candidate->stack)) == 0)
    {
      gint priority = 1;

      if (inet_address_equal (last_address, candidate->remote_address))
        priority++;
      if (last_local != NULL && inet_address_equal (last_local, candidate->local_address))
        priority++;
      return priority;
    }
  return 0;
}

/* Gathering locals (draft 4.5) for @remote: one local per usable interface
 * routing there (post_path_monitor_gather_locals()).  Skipped — the kernel
 * then picks the source — when the application bound a local or named
 * its interface (every attempt is then bound to that interface), for
 * loopback remotes, and when nothing can differ: no interface preference
 * and at most one interface routes to @remote.  Returns an empty array
 * when not gathering. */
static GPtrArray *
gather_locals (PostCarrier    *self,
               GSocketAddress *remote)
{
  GPtrArray *none = g_ptr_array_new_with_free_func (g_object_unref);
  g_auto(GStrv) preferences = NULL;
  PostPathMonitor *monitor;

  if (self->local != NULL
      && (post_local_get_address (self->local) != NULL || post_local_get_port (self->local) != 0
          || post_local_get_interface (self->local) != NULL))
    return none;
  if (!G_IS_INET_SOCKET_ADDRESS (remote)
      || g_inet_address_get_is_loopback (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote))))
    return none;
  monitor = post_path_monitor_get_default ();
  if (!post_path_monitor_is_available (monitor))
    return none;
  preferences = post_configuration_list_interface_preferences (self->configuration);
  if (preferences[0] == NULL && _post_path_monitor_count_routes (monitor, remote) < 2)
    return none;
  g_ptr_array_unref (none);
  return post_path_monitor_gather_locals (monitor, remote,
                                          post_configuration_get_use_temporary_local_address (self->configuration));
}

/* The rest of establishment once the remote is resolved to @addresses
 * (element-type GSocketAddress, in RFC 8305 order): candidates, ranking,
 * the race.  Takes @data. */
static void
race_addresses (EstablishData *data,
                GPtrArray     *addresses)
{
  PostCarrier *self = data->carrier;
  g_autoptr(GPtrArray) candidates = NULL;
  g_autoptr(GPtrArray) locals = NULL;
  g_autoptr(GPtrArray) explained = NULL;
  g_autoptr(GPtrArray) ranked_order = NULL;
  g_autoptr(GString) blocked = g_string_new (NULL);
  gboolean gathered = FALSE;

  /* Candidates: stack × remote address × local, best stack first,
   * addresses in RFC 8305 order, gathered locals best route first; then
   * the policy ranks them and what worked last time on this association
   * goes first. */
  candidates = g_ptr_array_new_with_free_func ((GDestroyNotify) _post_candidate_free);
  locals = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  /* (without direct:// in the proxy resolver's answer, nothing is direct) */
  if (!_post_proxy_branches_have_direct (data->proxies))
    addresses = NULL;
  for (guint r = 0; addresses != NULL && r < addresses->len; r++)
    {
      g_ptr_array_add (locals, gather_locals (self, addresses->pdata[r]));
      gathered |= ((GPtrArray *) locals->pdata[r])->len > 0;
    }
  for (guint s = 0; s < data->stacks->len; s++)
    {
      PostStack *stack = data->stacks->pdata[s];

      for (guint r = 0; addresses != NULL && r < addresses->len; r++)
        {
          GSocketAddress *address = addresses->pdata[r];
          GPtrArray *gathered_locals = locals->pdata[r];
          g_autoptr(GSocketAddress) local_address = NULL;

          if (address == NULL)
            continue;
          if (gathered_locals->len > 0)
            {
              for (guint l = 0; l < gathered_locals->len; l++)
                {
                  PostCandidate *candidate = _post_candidate_new (stack, address, gathered_locals->pdata[l]);

                  candidate->interface = _post_path_monitor_interface_of (post_path_monitor_get_default (),
                                                                          gathered_locals->pdata[l]);
                  candidate->gathered = TRUE;
                  g_ptr_array_add (candidates, candidate);
                }
              continue;
            }
          if (self->local != NULL
              && (post_local_get_address (self->local) != NULL || post_local_get_port (self->local) != 0))
            {
              local_address = post_local_to_socket_address (self->local,
                                                            g_socket_address_get_family (address));
              if (local_address == NULL)
                continue;  /* the local's address is of the other family */
            }
          {
            PostCandidate *candidate = _post_candidate_new (stack, address, local_address);

            if (self->local != NULL)
              candidate->interface = g_strdup (post_local_get_interface (self->local));
            g_ptr_array_add (candidates, candidate);
          }
        }
    }
  /* Policy (policy/): drop what it rules out, order the rest by score.
   * With gathered locals the scores are kept to find equal ranks. */
  if (gathered)
    _post_selection_rank_candidates_full (NULL, _post_policy_get_app_id (NULL), self->configuration,
                                          self->remote, self->role, candidates, &explained, blocked);
  else
    _post_selection_rank_candidates (candidates, self->configuration, self->remote, self->role, blocked);
  if (explained != NULL)
    {
      /* (not g_ptr_array_copy(): it would copy the free function) */
      ranked_order = g_ptr_array_sized_new (candidates->len);
      for (guint i = 0; i < candidates->len; i++)
        g_ptr_array_add (ranked_order, candidates->pdata[i]);
    }
  /* Proxies (post-proxy.c): the branches in the resolver's order, the
   * direct candidates where it says direct:// */
  if (data->proxies != NULL)
    {
      g_autoptr(GString) notes = g_string_new (data->unresolved);
      GPtrArray *merged = _post_proxy_merge_candidates (data->proxies, candidates, data->stacks,
                                                        self->remote, self->local, self->configuration,
                                                        self->role, notes);

      g_ptr_array_unref (candidates);
      candidates = merged;
      /* (the policy's removals alone: the error below says so) */
      if (candidates->len == 0 && notes->len > 0 && blocked->len > 0)
        g_string_append_printf (notes, "\n  blocked by the policy:%s", blocked->str);
      if (candidates->len == 0 && notes->len > 0)
        {
          establishment_failed (self, g_error_new (POST_ERROR, POST_ERROR_NO_CANDIDATES,
                                                   "Nothing to try for %s:%s",
                                                   post_remote_get_uri (self->remote) != NULL
                                                   ? post_remote_get_uri (self->remote)
                                                   : _post_remote_get_canonical (self->remote),
                                                   notes->str));
          g_clear_object (&self->establish_cancellable);
          establish_data_free (data);
          return;
        }
    }
  /* The policy removed every candidate: say which rule, where */
  if (candidates->len == 0 && blocked->len > 0)
    {
      establishment_failed (self, g_error_new (POST_ERROR, POST_ERROR_NO_CANDIDATES,
                                               "The policy blocked every candidate for %s:%s",
                                               post_remote_get_uri (self->remote) != NULL
                                               ? post_remote_get_uri (self->remote)
                                               : _post_remote_get_canonical (self->remote),
                                               blocked->str));
      g_clear_object (&self->establish_cancellable);
      establish_data_free (data);
      return;
    }
  /* Stable move of the association's previous winner to the front. */
  {
    g_autoptr(GPtrArray) ordered = g_ptr_array_new_with_free_func ((GDestroyNotify) _post_candidate_free);

    for (gint prio = 3; prio >= 0; prio--)
      for (guint i = 0; i < candidates->len; i++)
        if (candidates->pdata[i] != NULL && candidate_priority (self, candidates->pdata[i]) == prio)
          {
            g_ptr_array_add (ordered, candidates->pdata[i]);
            candidates->pdata[i] = NULL;
          }
    g_ptr_array_set_free_func (candidates, NULL);
    g_clear_pointer (&candidates, g_ptr_array_unref);
    candidates = g_steal_pointer (&ordered);
  }
  /* Equal rank: neighbours with the same stack, remote address, policy
   * score and history, over different locals; the racer starts them
   * together. */
  if (explained != NULL)
    {
      g_autoptr(GHashTable) scores = g_hash_table_new (NULL, NULL);
      guint group = 0;

      for (guint i = 0; i < explained->len && i < candidates->len; i++)
        {
          /* explained is in ranked order; before the history move, the
           * kept candidates were in the same order */
          g_hash_table_insert (scores, ranked_order->pdata[i],
                               GINT_TO_POINTER (post_policy_candidate_get_score (explained->pdata[i])));
        }
      for (guint i = 0; i < candidates->len; i++)
        {
          PostCandidate *candidate = candidates->pdata[i];
          PostCandidate *previous = i > 0 ? candidates->pdata[i - 1] : NULL;

          if (previous != NULL && previous->stack == candidate->stack
              && previous->gathered && candidate->gathered
              && inet_address_equal (previous->remote_address, candidate->remote_address)
              && g_hash_table_lookup (scores, previous) == g_hash_table_lookup (scores, candidate)
              && candidate_priority (self, previous) == candidate_priority (self, candidate))
            {
              if (previous->group == 0)
                previous->group = ++group;
              candidate->group = previous->group;
            }
        }
    }

  /* What the timeout names if nothing answers in time */
  {
    GString *text = g_string_new (NULL);

    for (guint i = 0; i < candidates->len && i < 4; i++)
      {
        g_autofree char *what = _post_candidate_describe (candidates->pdata[i]);

        g_string_append_printf (text, "%s%s", i > 0 ? ", " : "", what);
      }
    if (candidates->len > 4)
      g_string_append_printf (text, " and %u more", candidates->len - 4);
    g_free (self->attempts_text);
    self->attempts_text = g_string_free (text, FALSE);
  }
  _post_racer_run_with_context_async (candidates, self->configuration, self->local,
                                      self->association, G_OBJECT (self->transient),
                                      (PostEarlyDataFunc) _post_transient_take_early_data,
                                      post_configuration_get_attempt_delay (self->configuration),
                                      self->establish_cancellable, race_done_cb, data);
}

static void
resolve_done_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  EstablishData *data = user_data;
  PostCarrier *self = data->carrier;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) remotes = NULL;
  g_autoptr(GPtrArray) addresses = NULL;

  remotes = post_remote_resolve_fully_finish (POST_REMOTE (source), result, &error);
  if (data->cancellable != self->establish_cancellable)
    {
      establish_data_free (data);   /* stopped meanwhile */
      return;
    }
  if (remotes == NULL && data->proxies != NULL && data->proxies->len > 1
      && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      /* A name only the proxy can resolve: its branches go on. */
      data->unresolved = g_strdup_printf ("\n  direct: %s", error->message);
      addresses = g_ptr_array_new ();
      race_addresses (data, addresses);
      return;
    }
  if (remotes == NULL)
    {
      if (self->state != POST_CARRIER_STATE_CLOSED)
        establishment_failed (self, g_steal_pointer (&error));
      g_clear_object (&self->establish_cancellable);
      establish_data_free (data);
      return;
    }

  addresses = g_ptr_array_sized_new (remotes->len);
  for (guint r = 0; r < remotes->len; r++)
    {
      GSocketAddress *address = post_remote_get_address (remotes->pdata[r]);

      if (address != NULL)
        g_ptr_array_add (addresses, address);
    }
  race_addresses (data, addresses);
}

static gboolean
establish_timeout_cb (gpointer user_data)
{
  PostCarrier *self = user_data;
  g_autoptr(GError) error = NULL;

  g_clear_pointer (&self->timeout_source, g_source_unref);
  /* Say what was tried: the remote's name alone does not tell a wrong
   * address, a blocked port or a peer answering from elsewhere apart. */
  if (self->attempts_text != NULL && *self->attempts_text != '\0')
    error = g_error_new (POST_ERROR, POST_ERROR_TIMED_OUT,
                         "Establishment timed out: no answer within %u ms (conn-timeout) from %s",
                         post_configuration_get_conn_timeout (self->configuration), self->attempts_text);
  else
    error = g_error_new (POST_ERROR, POST_ERROR_TIMED_OUT,
                         "Establishment timed out after %u ms (conn-timeout), still resolving %s",
                         post_configuration_get_conn_timeout (self->configuration),
                         post_remote_get_uri (self->remote));
  g_object_ref (self);
  if (self->establish_cancellable != NULL)
    g_cancellable_cancel (self->establish_cancellable);
  establishment_failed (self, g_steal_pointer (&error));
  g_object_unref (self);
  return G_SOURCE_REMOVE;
}

/* Security on by default, for listeners (initiated carriers get it from
 * _post_selection_rank_stacks(), where post-policy explain sees it too):
 * when a secure stack is available and neither the local's scheme (@hint)
 * nor the configuration's stacks list names a stack, and the configuration
 * does not allow cleartext, only secure stacks listen. */
static void
drop_cleartext_stacks (PostCarrier *self,
                       GPtrArray   *stacks,
                       const char  *hint)
{
  gboolean any_secure = FALSE;

  if ((hint != NULL && *hint != '\0') || post_configuration_get_stacks (self->configuration) != NULL
      || post_configuration_get_allow_cleartext (self->configuration))
    return;
  for (guint i = 0; i < stacks->len; i++)
    any_secure |= post_stack_has_capabilities (stacks->pdata[i], POST_STACK_CAP_SECURE);
  if (!any_secure)
    return;
  for (guint i = stacks->len; i > 0; i--)
    if (!post_stack_has_capabilities (stacks->pdata[i - 1], POST_STACK_CAP_SECURE))
      g_ptr_array_remove_index (stacks, i - 1);
}

static void proxies_gathered_cb (GObject *source, GAsyncResult *result, gpointer user_data);
static void resolve_remote (EstablishData *data);

static void
start_establishment (PostCarrier *self)
{
  g_autoptr(GError) error = NULL;
  GPtrArray *stacks;
  EstablishData *data;
  guint timeout;
  const char *hint;

  if (self->establish_cancellable != NULL || self->state == POST_CARRIER_STATE_CLOSED)
    return;

  /* A local that names an interface the host does not have: say so now,
   * rather than as one failure per attempt. */
  if (self->local != NULL && post_local_get_interface (self->local) != NULL
      && post_psi_check_interface (post_local_get_interface (self->local), &error) == 0)
    {
      g_prefix_error (&error, "Cannot establish a carrier: ");
      establishment_failed (self, g_steal_pointer (&error));
      return;
    }

  hint = post_remote_get_stack (self->remote);
  if (hint == NULL && self->local != NULL)
    hint = post_local_get_stack (self->local);
  stacks = _post_selection_rank_stacks (post_registry_get_default (), self->configuration,
                                        hint, self->role, &error);
  if (stacks == NULL)
    {
      establishment_failed (self, g_steal_pointer (&error));
      return;
    }

  self->initiate_time = g_get_monotonic_time ();
  g_clear_pointer (&self->attempts_text, g_free);
  self->establish_cancellable = g_cancellable_new ();
  timeout = post_configuration_get_conn_timeout (self->configuration);
  if (timeout > 0)
    {
      self->timeout_source = g_timeout_source_new (timeout);
      g_source_set_callback (self->timeout_source, establish_timeout_cb, self, NULL);
      g_source_set_static_name (self->timeout_source, "[libpost] establishment timeout");
      g_source_attach (self->timeout_source, self->context);
    }

  data = g_new0 (EstablishData, 1);
  data->carrier = g_object_ref (self);
  data->stacks = stacks;
  data->cancellable = g_object_ref (self->establish_cancellable);
  /* Which proxies lead to the remote, if any (post-proxy.c), then the
   * remote's addresses. */
  if (_post_proxy_wanted (self->configuration, self->remote, stacks))
    _post_proxy_gather_async (self->configuration, self->remote, stacks, self->establish_cancellable,
                              proxies_gathered_cb, data);
  else
    resolve_remote (data);
}

static void
resolve_remote (EstablishData *data)
{
  PostCarrier *self = data->carrier;
  GSocketAddress *literal;

  if (!_post_proxy_branches_have_direct (data->proxies))
    {
      /* Only proxies: the name is the proxy's to resolve, not ours. */
      GPtrArray *none = g_ptr_array_new ();

      race_addresses (data, none);
      g_ptr_array_unref (none);
      return;
    }
  literal = _post_remote_get_literal_address (self->remote);
  if (literal != NULL)
    {
      /* Nothing to look up (an address, or a URI with an IP literal): what
       * post_remote_resolve_fully_async() would give, without its main-loop
       * round trip. */
      GPtrArray *addresses = g_ptr_array_new ();

      g_ptr_array_add (addresses, literal);
      race_addresses (data, addresses);
      g_ptr_array_unref (addresses);
      return;
    }
  post_remote_resolve_fully_async (self->remote, self->establish_cancellable,
                                   resolve_done_cb, data);
}

static void
proxies_gathered_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  EstablishData *data = user_data;
  PostCarrier *self = data->carrier;
  g_autoptr(GError) error = NULL;

  data->proxies = _post_proxy_gather_finish (result, &error);
  if (data->cancellable != self->establish_cancellable)
    {
      establish_data_free (data);   /* stopped meanwhile */
      return;
    }
  if (error != NULL)
    {
      if (self->state != POST_CARRIER_STATE_CLOSED)
        establishment_failed (self, g_steal_pointer (&error));
      g_clear_object (&self->establish_cancellable);
      establish_data_free (data);
      return;
    }
  resolve_remote (data);
}

static gboolean
establish_idle_cb (gpointer user_data)
{
  PostCarrier *self = user_data;

  g_clear_pointer (&self->establish_source, g_source_unref);
  start_establishment (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_establishment (PostCarrier *self)
{
  if (self->establish_source != NULL)
    return;
  /* Start from the main loop, so the application can connect signals and
   * queue messages first. */
  self->establish_source = g_idle_source_new ();
  g_source_set_priority (self->establish_source, G_PRIORITY_DEFAULT);
  g_source_set_callback (self->establish_source, establish_idle_cb, self, NULL);
  g_source_set_static_name (self->establish_source, "[libpost] establish");
  g_source_attach (self->establish_source, self->context);
}

static PostCarrier *
initiate_with_role (PostCarrierRole    role,
                    PostLocal         *local,
                    PostRemote        *remote,
                    PostConfiguration *configuration,
                    PostAssociation   *association)
{
  PostCarrier *self;

  if (association != NULL)
    {
      local = post_association_get_local (association);
      configuration = post_association_get_configuration (association);
    }
  self = carrier_new (role, local, remote, configuration);
  self->association = association ? g_object_ref (association)
                                  : post_association_lookup (local, remote, self->configuration);
  _post_association_add_carrier (self->association, self);
  schedule_establishment (self);
  return self;
}

/**
 * post_carrier_initiate:
 * @local: (nullable): the local endpoint, or %NULL to let the library choose
 * @remote: the remote to talk to
 * @configuration: (nullable): preferences, or %NULL for the defaults
 *
 * Creates a carrier to @remote (an active open, draft Figure 5).  The
 * carrier is returned at once, ESTABLISHING; establishment starts from the
 * thread-default main context.  Messages sent now are queued until it is
 * ACTIVE.  The carrier joins the association for @local, @remote and
 * @configuration, which is created if there is none.
 *
 * Returns: (transfer full): a new carrier
 */
PostCarrier *
post_carrier_initiate (PostLocal         *local,
                       PostRemote        *remote,
                       PostConfiguration *configuration)
{
  g_return_val_if_fail (local == NULL || POST_IS_LOCAL (local), NULL);
  g_return_val_if_fail (POST_IS_REMOTE (remote), NULL);
  g_return_val_if_fail (configuration == NULL || POST_IS_CONFIGURATION (configuration), NULL);

  return initiate_with_role (POST_CARRIER_ROLE_CARRIER, local, remote, configuration, NULL);
}

PostCarrier *
_post_carrier_initiate_on_association (PostAssociation *association)
{
  return initiate_with_role (POST_CARRIER_ROLE_CARRIER, NULL,
                             post_association_get_remote (association), NULL, association);
}

/**
 * post_carrier_new_source:
 * @local: (nullable): the local endpoint, or %NULL
 * @remote: where to send
 * @configuration: (nullable): preferences, or %NULL
 *
 * Creates a carrier that only sends (draft 2.1), for instance to a
 * multicast group.  Receiving on it fails with %POST_ERROR_WRONG_ROLE.
 *
 * Returns: (transfer full): a new source
 */
PostCarrier *
post_carrier_new_source (PostLocal         *local,
                         PostRemote        *remote,
                         PostConfiguration *configuration)
{
  g_return_val_if_fail (local == NULL || POST_IS_LOCAL (local), NULL);
  g_return_val_if_fail (POST_IS_REMOTE (remote), NULL);

  return initiate_with_role (POST_CARRIER_ROLE_SOURCE, local, remote, configuration, NULL);
}

/* ---- passive open ---------------------------------------------------------- */

static void
child_closed_cb (PostCarrier  *child,
                 const GError *error,
                 PostCarrier  *parent)
{
  if (parent->children != NULL)
    g_hash_table_remove (parent->children, child);
}

PostCarrier *
_post_carrier_new_accepted (PostCarrier *parent,
                            PostPsi     *psi)
{
  PostCarrier *self;
  g_autoptr(PostRemote) remote = NULL;
  g_autoptr(PostLocal) local = NULL;
  gboolean owned = parent->role == POST_CARRIER_ROLE_RESPONDER
                   || (parent->role == POST_CARRIER_ROLE_SINK && parent->listen_psi != NULL);
  PostCarrierRole role = parent->role == POST_CARRIER_ROLE_SINK ? POST_CARRIER_ROLE_SINK
                                                                : POST_CARRIER_ROLE_CARRIER;

  if (post_psi_get_remote_address (psi) != NULL)
    remote = post_remote_new_for_address (post_psi_get_remote_address (psi));
  if (post_psi_get_local_address (psi) != NULL)
    local = post_local_new_for_address (post_psi_get_local_address (psi));

  /* An instance that only receives (its configuration's `direction` is
   * unidirectional-receive, e.g. a peer's unidirectional stream) is a sink. */
  if (post_configuration_get_direction (post_psi_get_configuration (psi))
      == POST_DIRECTION_UNIDIRECTIONAL_RECEIVE)
    role = POST_CARRIER_ROLE_SINK;
  self = carrier_new (role, local, remote, parent->configuration);
  self->passive = TRUE;
  if (remote != NULL)
    {
      self->association = parent->association
                          ? g_object_ref (parent->association)
                          : post_association_lookup (local, remote, self->configuration);
      _post_association_add_carrier (self->association, self);
    }
  if (owned)
    {
      /* The responder (or remote-less sink) owns its per-remote carriers;
       * their messages are delivered to it.  Set up before the transport is
       * attached: data may already be waiting. */
      self->parent = parent;
      if (parent->role == POST_CARRIER_ROLE_RESPONDER)
        self->reply = _post_reply_new (self, NULL);
      if (parent->children == NULL)
        parent->children = g_hash_table_new_full (NULL, NULL, g_object_unref, NULL);
      g_hash_table_add (parent->children, g_object_ref (self));
      g_signal_connect_object (self, "closed", G_CALLBACK (child_closed_cb), parent, 0);
    }
  activate (self, psi, NULL);
  return self;
}

/* ---- forking without streams: control frames ------------------------------------------- */

/* A fork on a byte stream without streams is a new transport T.  Between two
 * libpost peers speaking libpost's framing, control frames on the carrier C
 * and on T make it a fork request of C at the peer (docs/framing.md,
 * "Forking with control frames"):
 *
 *   opener (initiated C)                   acceptor (C accepted by listener L)
 *   FORK-OFFER(token)   on C   ──►         token registered at L
 *                       on C   ◄──         FORK-READY(token)
 *   opens T, FORK(token) first on T ──►    L holds T, matches the token:
 *                                          C's incoming signal decides
 *                       on T   ◄──         FORK-ACCEPTED (or FORK-REFUSED, close)
 *
 *   The acceptor forks: it registers a token at L and sends
 *   FORK-INVITE(token) on C; the opener opens T, C's incoming signal
 *   decides there, and T's first frame is FORK(token) (accepted) or T is
 *   dropped and FORK-REFUSED(token) goes on C. */

enum
{
  FORK_CONTROL_OFFER    = 0x01,
  FORK_CONTROL_READY    = 0x02,
  FORK_CONTROL_INVITE   = 0x03,
  FORK_CONTROL_FORK     = 0x04,
  FORK_CONTROL_ACCEPTED = 0x05,
  FORK_CONTROL_REFUSED  = 0x06,
};

/* FORK-REFUSED's flags: not the application's answer but a limit, a
 * listener gone or a transport that could not be opened. */
#define FORK_REFUSED_UNABLE 0x01

struct _ForkToken
{
  guint8        token[FORK_TOKEN_SIZE];
  gboolean      invite;
  PostCarrier  *carrier;     /* (unowned) the accepted carrier; the entry goes with it */
  PostCarrier  *listener;    /* (unowned) owns the entry */
  GInetAddress *peer;        /* (owned) (nullable) the carrier's remote address */
  GTask        *task;        /* (owned) (nullable) invite: the carrier's fork_async */
  GSource      *timeout;     /* (owned) */
};

struct _ForkOut
{
  guint8        token[FORK_TOKEN_SIZE];
  gboolean      invite;      /* answering the peer's FORK-INVITE */
  gboolean      ready;       /* FORK-READY came: T is being opened */
  PostCarrier  *origin;      /* (unowned) the carrier forked; owns the entry */
  GTask        *task;        /* (owned) (nullable) offer: the fork_async */
  PostCarrier  *forked;      /* (owned) (nullable) T */
  GSource      *timeout;     /* (owned) (nullable) */
};

static guint
token_hash (gconstpointer key)
{
  guint32 h;

  memcpy (&h, key, sizeof h);   /* random bytes */
  return h;
}

static gboolean
token_equal (gconstpointer a,
             gconstpointer b)
{
  return memcmp (a, b, FORK_TOKEN_SIZE) == 0;
}

static gboolean
make_token (guint8 *token)
{
  gsize done = 0;

  while (done < FORK_TOKEN_SIZE)
    {
      gssize n = getrandom (token + done, FORK_TOKEN_SIZE - done, 0);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      done += n;
    }
  return TRUE;
}

static guint
fork_lifetime_ms (PostCarrier *self)
{
  guint ms = post_configuration_get_conn_timeout (self->configuration);

  return ms > 0 ? ms : FORK_TOKEN_LIFETIME_MS;
}

static GSource *
fork_timeout_new (guint        ms,
                  GSourceFunc  func,
                  gpointer     data,
                  GMainContext *context)
{
  GSource *source = g_timeout_source_new (ms);

  g_source_set_callback (source, func, data, NULL);
  g_source_set_static_name (source, "[libpost] fork timeout");
  g_source_attach (source, context);
  return source;
}

static void
send_fork_control (PostCarrier  *self,
                   guint8        type,
                   guint8        flags,
                   const guint8 *token)
{
  if (self->transient == NULL
      || !_post_transient_send_control (self->transient, type, flags, token,
                                        token != NULL ? FORK_TOKEN_SIZE : 0))
    g_debug ("Cannot send fork control frame %u: the carrier no longer sends", type);
}

static void
fail_protocol (PostCarrier *self,
               const char  *what)
{
  g_autoptr(GError) error = g_error_new (POST_ERROR, POST_ERROR_PROTOCOL,
                                         "The peer's data violates the framing: %s", what);

  if (self->transient != NULL && _post_transient_is_attached (self->transient))
    _post_transient_abort (self->transient, error);
}

/* ---- at the listener: tokens and held transports ---- */

static void
clear_source_free (GSource *source)
{
  g_source_destroy (source);
  g_source_unref (source);
}

static void
unref_when_closed_cb (PostCarrier  *carrier,
                      const GError *error,
                      gpointer      user_data)
{
  g_signal_handlers_disconnect_by_func (carrier, unref_when_closed_cb, user_data);
  g_object_unref (carrier);
}

/* Closes @self gracefully, keeping it alive until it has closed (what it
 * queued, such as FORK-REFUSED, still goes out). */
static void
close_kept (PostCarrier *self)
{
  if (self->state != POST_CARRIER_STATE_CLOSED)
    {
      g_signal_connect (g_object_ref (self), "closed", G_CALLBACK (unref_when_closed_cb), NULL);
      post_carrier_close (self);
    }
}

static void
fork_token_free (ForkToken *t)
{
  g_clear_pointer (&t->timeout, clear_source_free);
  g_clear_object (&t->peer);
  if (t->task != NULL)
    {
      g_task_set_task_data (t->task, NULL, NULL);
      g_clear_object (&t->task);
    }
  g_free (t);
}

static void release_held_without_tokens (PostCarrier *listener);

/* Removes @t from its listener; an invite's fork_async fails with @error. */
static void
fork_token_drop (ForkToken    *t,
                 const GError *error)
{
  PostCarrier *listener = t->listener;
  g_autoptr(GTask) task = t->task ? g_object_ref (t->task) : NULL;

  if (t->carrier != NULL && t->carrier->n_fork_tokens > 0)
    t->carrier->n_fork_tokens--;
  g_hash_table_remove (listener->fork_tokens, t->token);   /* frees t */
  if (task != NULL && error != NULL)
    g_task_return_error (task, g_error_copy (error));
  release_held_without_tokens (listener);
}

static gboolean
fork_token_timeout_cb (gpointer data)
{
  ForkToken *t = data;
  g_autoptr(GError) error =
    g_error_new (POST_ERROR, POST_ERROR_TIMED_OUT,
                 "The peer did not open the fork within %u ms", fork_lifetime_ms (t->listener));

  g_clear_pointer (&t->timeout, g_source_unref);
  fork_token_drop (t, error);
  return G_SOURCE_REMOVE;
}

static ForkToken *
register_token (PostCarrier   *listener,
                PostCarrier   *carrier,
                const guint8  *token,
                gboolean       invite,
                GError       **error)
{
  ForkToken *t;
  GSocketAddress *remote;

  if (listener->fork_tokens == NULL)
    listener->fork_tokens = g_hash_table_new_full (token_hash, token_equal, NULL,
                                                   (GDestroyNotify) fork_token_free);
  if (carrier->n_fork_tokens >= FORK_TOKENS_PER_CARRIER
      || g_hash_table_size (listener->fork_tokens) >= FORK_TOKENS_PER_LISTENER)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_WOULD_BLOCK,
                   "Too many forks are pending (at most %u per carrier, %u per listener)",
                   FORK_TOKENS_PER_CARRIER, FORK_TOKENS_PER_LISTENER);
      return NULL;
    }
  if (g_hash_table_contains (listener->fork_tokens, token))
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_PROTOCOL, "A fork token was used twice");
      return NULL;
    }
  t = g_new0 (ForkToken, 1);
  memcpy (t->token, token, FORK_TOKEN_SIZE);
  t->invite = invite;
  t->carrier = carrier;
  t->listener = listener;
  remote = post_psi_get_remote_address (post_transient_get_psi (carrier->transient));
  if (G_IS_INET_SOCKET_ADDRESS (remote))
    t->peer = g_object_ref (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote)));
  t->timeout = fork_timeout_new (fork_lifetime_ms (listener), fork_token_timeout_cb, t,
                                 listener->context);
  carrier->n_fork_tokens++;
  g_hash_table_insert (listener->fork_tokens, t->token, t);
  return t;
}

/* The tokens of @carrier go with it (its invites fail with @error). */
static void
drop_carrier_tokens (PostCarrier  *carrier,
                     const GError *error)
{
  PostCarrier *listener = carrier->listener;
  GHashTableIter iter;
  ForkToken *t;
  g_autoptr(GPtrArray) mine = NULL;

  if (listener == NULL || listener->fork_tokens == NULL || carrier->n_fork_tokens == 0)
    return;
  mine = g_ptr_array_new ();
  g_hash_table_iter_init (&iter, listener->fork_tokens);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &t))
    if (t->carrier == carrier)
      g_ptr_array_add (mine, t);
  for (guint i = 0; i < mine->len; i++)
    fork_token_drop (mine->pdata[i], error);
}

static gboolean
tokens_for_peer (PostCarrier    *listener,
                 GSocketAddress *remote)
{
  GHashTableIter iter;
  ForkToken *t;

  if (listener->fork_tokens == NULL || !G_IS_INET_SOCKET_ADDRESS (remote))
    return FALSE;
  g_hash_table_iter_init (&iter, listener->fork_tokens);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &t))
    if (t->peer != NULL
        && g_inet_address_equal (t->peer, g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote))))
      return TRUE;
  return FALSE;
}

static void note_listener (PostCarrier *self, PostCarrier *child);
static gboolean held_timeout_cb (gpointer data);
static gboolean held_idle_cb (gpointer data);

static void
unhold (PostCarrier *child)
{
  PostCarrier *listener = child->listener;

  if (!child->held)
    return;
  child->held = FALSE;
  g_clear_pointer (&child->held_timeout, clear_source_free);
  g_clear_pointer (&child->held_idle, clear_source_free);
  if (listener != NULL && listener->held_children != NULL)
    g_hash_table_remove (listener->held_children, child);   /* drops its reference */
}

static void
move_to_association (PostCarrier     *self,
                     PostAssociation *association)
{
  if (self->association == association)
    return;
  if (self->association != NULL)
    {
      _post_association_remove_carrier (self->association, self);
      g_clear_object (&self->association);
    }
  if (association != NULL)
    {
      self->association = g_object_ref (association);
      _post_association_add_carrier (association, self);
    }
}

/* An accepted transport offered by the listener's incoming signal, as
 * before control frames: an ordinary carrier. */
static void
announce_child (PostCarrier *listener,
                PostCarrier *child)
{
  gboolean accepted = FALSE;

  g_signal_emit (listener, signals[SIGNAL_INCOMING], 0, child, &accepted);
  if (!accepted)
    {
      g_debug ("No handler accepted the incoming carrier; closing it");
      post_carrier_abort (child);
      return;
    }
  /* Announced (its handlers are connected): what the peer sent already,
   * or its end, is read now rather than after one more poll. */
  if (child->transient != NULL && child->state == POST_CARRIER_STATE_ACTIVE)
    _post_transient_try_read (child->transient);
}

/* A held transport whose first frame was FORK(@token). */
static void
match_fork (PostCarrier  *listener,
            PostCarrier  *child,
            const guint8 *token)
{
  ForkToken *t = listener->fork_tokens ? g_hash_table_lookup (listener->fork_tokens, token) : NULL;
  PostCarrier *original;
  gboolean accepted = FALSE;

  if (t == NULL || t->carrier == NULL || t->carrier->state != POST_CARRIER_STATE_ACTIVE)
    {
      /* Nobody announced it here: not a fork of one of our carriers (and
       * no carrier is announced for it). */
      g_debug ("A new transport presented an unknown fork token; closing it");
      post_carrier_abort (child);
      return;
    }
  original = g_object_ref (t->carrier);
  move_to_association (child, original->association);
  if (t->invite)
    {
      /* Our own fork, which the peer accepted: the fork_async's result. */
      g_autoptr(GTask) task = g_steal_pointer (&t->task);

      g_task_set_task_data (task, NULL, NULL);
      fork_token_drop (t, NULL);
      g_task_return_pointer (task, g_object_ref (child), g_object_unref);
      if (child->transient != NULL && child->state == POST_CARRIER_STATE_ACTIVE)
        _post_transient_try_read (child->transient);
      g_object_unref (original);
      return;
    }
  fork_token_drop (t, NULL);
  /* The peer's fork request of @original, as a stream's would be. */
  g_signal_emit (original, signals[SIGNAL_INCOMING], 0, child, &accepted);
  if (!accepted)
    {
      g_debug ("No handler accepted the fork request; refusing it");
      send_fork_control (child, FORK_CONTROL_REFUSED, 0, token);
      close_kept (child);
    }
  else
    {
      /* (A control frame: it goes before whatever the handler sent.) */
      send_fork_control (child, FORK_CONTROL_ACCEPTED, 0, NULL);
      if (child->transient != NULL && child->state == POST_CARRIER_STATE_ACTIVE)
        _post_transient_try_read (child->transient);
    }
  g_object_unref (original);
}

/* A held transport that ended while held closes now that it is decided
 * (what it received stays receivable). */
static void
finish_held_end (PostCarrier *child)
{
  g_autoptr(GError) error = NULL;

  if (!child->held_ended)
    return;
  child->held_ended = FALSE;
  error = g_steal_pointer (&child->held_end_error);
  if (child->state != POST_CARRIER_STATE_CLOSED)
    set_closed (child, error);
}

/* Decides about a held transport once its first frame came (or it waited
 * long enough, or ended, or no fork can be coming any more). */
static void
process_held (PostCarrier *child,
              gboolean     force)
{
  PostCarrier *listener = child->listener;
  g_autoptr(PostCarrier) keep = g_object_ref (child);
  gboolean seen;

  if (!child->held)
    return;
  if (listener == NULL || listener->state != POST_CARRIER_STATE_ACTIVE
      || child->state == POST_CARRIER_STATE_CLOSED)
    {
      unhold (child);
      post_carrier_abort (child);
      return;
    }
  if (child->held_fork)
    {
      guint8 token[FORK_TOKEN_SIZE];

      memcpy (token, child->held_token, FORK_TOKEN_SIZE);
      unhold (child);
      match_fork (listener, child, token);
      finish_held_end (child);
      return;
    }
  seen = _post_transient_has_seen_frame (child->transient);
  if (child->held_ended && !seen && tokens_for_peer (listener, post_carrier_get_remote_address (child)))
    {
      /* A fork's transport that ended before saying anything (its fork
       * was refused or cancelled): nothing to announce. */
      unhold (child);
      finish_held_end (child);
      return;
    }
  if (force || seen || child->held_ended
      || !tokens_for_peer (listener, post_carrier_get_remote_address (child)))
    {
      unhold (child);
      announce_child (listener, child);
      finish_held_end (child);
    }
}

static gboolean
held_idle_cb (gpointer data)
{
  PostCarrier *child = data;

  g_clear_pointer (&child->held_idle, g_source_unref);
  process_held (child, FALSE);
  return G_SOURCE_REMOVE;
}

static gboolean
held_timeout_cb (gpointer data)
{
  PostCarrier *child = data;

  g_clear_pointer (&child->held_timeout, g_source_unref);
  process_held (child, TRUE);
  return G_SOURCE_REMOVE;
}

static void
schedule_held (PostCarrier *child)
{
  if (!child->held || child->held_idle != NULL)
    return;
  child->held_idle = g_idle_source_new ();
  g_source_set_priority (child->held_idle, G_PRIORITY_DEFAULT);
  g_source_set_callback (child->held_idle, held_idle_cb, child, NULL);
  g_source_set_static_name (child->held_idle, "[libpost] held transport");
  g_source_attach (child->held_idle, child->context);
}

/* A token went: held transports from addresses no fork can come from any
 * more are ordinary carriers after all. */
static void
release_held_without_tokens (PostCarrier *listener)
{
  GHashTableIter iter;
  PostCarrier *child;

  if (listener->held_children == NULL)
    return;
  g_hash_table_iter_init (&iter, listener->held_children);
  while (g_hash_table_iter_next (&iter, (gpointer *) &child, NULL))
    if (!tokens_for_peer (listener, post_carrier_get_remote_address (child)))
      schedule_held (child);
}

/* The listener accepted @psi with libpost's framing: the transport may be
 * a fork of one of its carriers (its first frame then says FORK), or an
 * ordinary carrier.  What has arrived is read before deciding; a
 * transport from an address with a fork pending waits (bounded) for its
 * first frame. */
static void
accept_maybe_fork (PostCarrier *self,
                   PostCarrier *child)
{
  note_listener (self, child);
  if (self->held_children == NULL)
    self->held_children = g_hash_table_new_full (NULL, NULL, g_object_unref, NULL);
  if (g_hash_table_size (self->held_children) >= FORK_HELD_PER_LISTENER)
    {
      announce_child (self, child);
      return;
    }
  child->held = TRUE;
  g_hash_table_add (self->held_children, g_object_ref (child));
  _post_transient_try_read (child->transient);
  if (!child->held)
    return;
  if (child->held_fork || child->held_ended
      || _post_transient_has_seen_frame (child->transient)
      || !tokens_for_peer (self, post_carrier_get_remote_address (child)))
    {
      process_held (child, FALSE);
      return;
    }
  g_debug ("A new transport from an address with a fork pending: waiting for its first frame");
  child->held_timeout = fork_timeout_new (fork_lifetime_ms (self), held_timeout_cb, child,
                                          child->context);
}

/* An ordinary carrier accepted by a listener, announced without waiting
 * (it can still fork, and the peer's forks of it arrive as fork requests). */
static void
note_listener (PostCarrier *self,
               PostCarrier *child)
{
  if (child->listener == NULL)
    {
      child->listener = self;
      g_object_add_weak_pointer (G_OBJECT (self), (gpointer *) &child->listener);
    }
}

/* ---- at the opener ---- */

static void
fork_out_free (ForkOut *f)
{
  g_clear_pointer (&f->timeout, clear_source_free);
  if (f->task != NULL)
    {
      g_task_set_task_data (f->task, NULL, NULL);
      g_clear_object (&f->task);
    }
  if (f->forked != NULL)
    {
      f->forked->fork_wait = NULL;
      g_clear_object (&f->forked);
    }
  g_free (f);
}

/* Ends @f: its fork_async returns @result or @error; with @error, T is aborted. */
static void
fork_out_finish (ForkOut      *f,
                 PostCarrier  *result,
                 const GError *error)
{
  g_autoptr(GTask) task = f->task ? g_object_ref (f->task) : NULL;
  g_autoptr(PostCarrier) forked = f->forked ? g_object_ref (f->forked) : NULL;

  PostCarrier *origin = f->origin;
  guint8 token[FORK_TOKEN_SIZE];
  gboolean withdraw = error != NULL && !f->invite;

  if (task != NULL)
    g_task_set_task_data (task, NULL, NULL);
  memcpy (token, f->token, FORK_TOKEN_SIZE);
  g_hash_table_remove (origin->forks_out, f->token);   /* frees f */
  /* An offer that ends unanswered: the peer forgets its token. */
  if (withdraw && origin->state == POST_CARRIER_STATE_ACTIVE)
    send_fork_control (origin, FORK_CONTROL_REFUSED, FORK_REFUSED_UNABLE, token);
  if (forked != NULL)
    forked->fork_wait = NULL;
  if (error != NULL && forked != NULL)
    post_carrier_abort (forked);
  if (task != NULL)
    {
      if (error != NULL)
        g_task_return_error (task, g_error_copy (error));
      else
        g_task_return_pointer (task, g_object_ref (result), g_object_unref);
    }
}

static void
fail_forks_out (PostCarrier  *self,
                const GError *error)
{
  GHashTableIter iter;
  ForkOut *f;
  g_autoptr(GPtrArray) all = NULL;

  if (self->forks_out == NULL || g_hash_table_size (self->forks_out) == 0)
    return;
  all = g_ptr_array_new ();
  g_hash_table_iter_init (&iter, self->forks_out);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &f))
    g_ptr_array_add (all, f);
  for (guint i = 0; i < all->len; i++)
    fork_out_finish (all->pdata[i], NULL, error);
}

static gboolean
fork_out_timeout_cb (gpointer data)
{
  ForkOut *f = data;
  g_autoptr(GError) error =
    g_error_new (POST_ERROR, POST_ERROR_TIMED_OUT,
                 "The peer did not answer the fork within %u ms (conn-timeout)",
                 fork_lifetime_ms (f->origin));

  g_clear_pointer (&f->timeout, g_source_unref);
  fork_out_finish (f, NULL, error);
  return G_SOURCE_REMOVE;
}

static ForkOut *
fork_out_new (PostCarrier  *self,
              const guint8 *token,
              gboolean      invite,
              GTask        *task)
{
  ForkOut *f = g_new0 (ForkOut, 1);

  memcpy (f->token, token, FORK_TOKEN_SIZE);
  f->invite = invite;
  f->origin = self;
  f->task = task ? g_object_ref (task) : NULL;
  f->timeout = fork_timeout_new (fork_lifetime_ms (self), fork_out_timeout_cb, f, self->context);
  if (self->forks_out == NULL)
    self->forks_out = g_hash_table_new_full (token_hash, token_equal, NULL,
                                             (GDestroyNotify) fork_out_free);
  g_hash_table_insert (self->forks_out, f->token, f);
  if (task != NULL)
    g_task_set_task_data (task, f, NULL);
  return f;
}

static void
fork_transport_established_cb (GObject      *source,
                               GAsyncResult *result,
                               gpointer      user_data)
{
  PostCarrier *forked = POST_CARRIER (source);
  ForkOut *f = forked->fork_wait;
  g_autoptr(GError) error = NULL;
  gboolean ok = post_carrier_establish_finish (forked, result, &error);

  g_object_unref (user_data);   /* our reference on forked, from open_fork_transport() */
  if (f == NULL)
    return;   /* finished meanwhile (cancelled, timed out, origin closed) */
  if (!ok)
    {
      if (f->invite)
        send_fork_control (f->origin, FORK_CONTROL_REFUSED, FORK_REFUSED_UNABLE, f->token);
      fork_out_finish (f, NULL, error);
      return;
    }
  if (f->invite)
    {
      PostCarrier *origin = f->origin;
      g_autoptr(PostCarrier) keep = g_object_ref (forked);
      guint8 token[FORK_TOKEN_SIZE];
      gboolean accepted = FALSE;

      /* The peer's fork request of origin: our incoming signal decides. */
      memcpy (token, f->token, FORK_TOKEN_SIZE);
      fork_out_finish (f, NULL, NULL);   /* no task; forked stays */
      g_signal_emit (origin, signals[SIGNAL_INCOMING], 0, forked, &accepted);
      if (!accepted)
        {
          g_debug ("No handler accepted the fork request; refusing it");
          send_fork_control (origin, FORK_CONTROL_REFUSED, 0, token);
          post_carrier_abort (forked);
          return;
        }
      send_fork_control (forked, FORK_CONTROL_FORK, 0, token);
      if (forked->transient != NULL && forked->state == POST_CARRIER_STATE_ACTIVE)
        _post_transient_try_read (forked->transient);
    }
  /* An offer: the fork completes with FORK-ACCEPTED on T. */
}

static void
open_fork_transport (ForkOut *f)
{
  PostCarrier *forked = _post_carrier_initiate_on_association (f->origin->association);

  f->ready = TRUE;
  f->forked = forked;   /* owns it */
  forked->fork_wait = f;
  post_carrier_establish_async (forked, NULL, fork_transport_established_cb, g_object_ref (forked));
}

static void
fork_cancelled (GTask    *task,
                gpointer  user_data)
{
  ForkOut *f = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  if (f == NULL || f->task != task)
    return;
  error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "The fork was cancelled");
  fork_out_finish (f, NULL, error);
}

static void
invite_cancelled (GTask    *task,
                  gpointer  user_data)
{
  ForkToken *t = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  if (t == NULL || t->task != task)
    return;
  error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED, "The fork was cancelled");
  fork_token_drop (t, error);
}

/* Forks @self with control frames; returns FALSE (the task untouched) when
 * this carrier cannot. */
static gboolean
fork_with_control (PostCarrier *self,
                   GTask       *task)
{
  guint8 token[FORK_TOKEN_SIZE];
  g_autoptr(GError) error = NULL;

  if (self->transient == NULL || !_post_transient_speaks_control (self->transient))
    return FALSE;
  if (!make_token (token))
    {
      g_task_return_new_error (task, POST_ERROR, POST_ERROR_FAILED,
                               "The system gives no randomness for a fork token");
      return TRUE;
    }
  if (!self->passive && self->remote != NULL && self->association != NULL)
    {
      if (self->forks_out != NULL && g_hash_table_size (self->forks_out) >= FORK_TOKENS_PER_CARRIER)
        {
          g_task_return_new_error (task, POST_ERROR, POST_ERROR_WOULD_BLOCK,
                                   "Too many forks of this carrier are pending (at most %u)",
                                   FORK_TOKENS_PER_CARRIER);
          return TRUE;
        }
      fork_out_new (self, token, FALSE, task);
      _post_task_watch_cancel (task, fork_cancelled, NULL);
      send_fork_control (self, FORK_CONTROL_OFFER, 0, token);
      return TRUE;
    }
  if (self->passive && self->listener != NULL)
    {
      ForkToken *t;

      if (self->listener->state != POST_CARRIER_STATE_ACTIVE)
        {
          g_task_return_new_error (task, POST_ERROR, POST_ERROR_NOT_SUPPORTED,
                                   "The listener that accepted this carrier is closed: "
                                   "the peer's transport for the fork could not arrive");
          return TRUE;
        }
      t = register_token (self->listener, self, token, TRUE, &error);
      if (t == NULL)
        {
          g_task_return_error (task, g_steal_pointer (&error));
          return TRUE;
        }
      t->task = g_object_ref (task);
      g_task_set_task_data (task, t, NULL);
      _post_task_watch_cancel (task, invite_cancelled, NULL);
      send_fork_control (self, FORK_CONTROL_INVITE, 0, token);
      return TRUE;
    }
  return FALSE;
}

static ForkOut *
lookup_fork_out (PostCarrier  *self,
                 const guint8 *token)
{
  return self->forks_out != NULL ? g_hash_table_lookup (self->forks_out, token) : NULL;
}

static void
handle_offer (PostCarrier  *self,
              const guint8 *token)
{
  g_autoptr(GError) error = NULL;

  if (!self->passive || self->listener == NULL || self->listener->state != POST_CARRIER_STATE_ACTIVE
      || self->role != POST_CARRIER_ROLE_CARRIER)
    {
      send_fork_control (self, FORK_CONTROL_REFUSED, FORK_REFUSED_UNABLE, token);
      return;
    }
  if (register_token (self->listener, self, token, FALSE, &error) == NULL)
    {
      g_debug ("Refusing the peer's fork: %s", error->message);
      send_fork_control (self, FORK_CONTROL_REFUSED, FORK_REFUSED_UNABLE, token);
      return;
    }
  send_fork_control (self, FORK_CONTROL_READY, 0, token);
}

static void
handle_invite (PostCarrier  *self,
               const guint8 *token)
{
  if (self->passive || self->remote == NULL || self->association == NULL
      || self->role != POST_CARRIER_ROLE_CARRIER || lookup_fork_out (self, token) != NULL
      || (self->forks_out != NULL && g_hash_table_size (self->forks_out) >= FORK_TOKENS_PER_CARRIER))
    {
      send_fork_control (self, FORK_CONTROL_REFUSED, FORK_REFUSED_UNABLE, token);
      return;
    }
  open_fork_transport (fork_out_new (self, token, TRUE, NULL));
}

static void
handle_refused (PostCarrier  *self,
                const guint8 *token,
                guint8        flags)
{
  g_autoptr(GError) error =
    g_error_new_literal (POST_ERROR, POST_ERROR_CONNECTION_REFUSED,
                         (flags & FORK_REFUSED_UNABLE)
                         ? "The peer could not take the fork (a limit, or no transport for it)"
                         : "The peer refused the fork request");
  ForkOut *f;

  /* On T: the answer to our offer. */
  if (self->fork_wait != NULL)
    {
      fork_out_finish (self->fork_wait, NULL, error);
      return;
    }
  if (token == NULL)
    return;
  /* On C: our offer could not be registered. */
  if ((f = lookup_fork_out (self, token)) != NULL)
    {
      fork_out_finish (f, NULL, error);
      return;
    }
  /* On C: the peer refused (or could not open) the fork we invited. */
  if (self->listener != NULL && self->listener->fork_tokens != NULL)
    {
      ForkToken *t = g_hash_table_lookup (self->listener->fork_tokens, token);

      /* (An offer's token: the peer withdrew it.) */
      if (t != NULL && t->carrier == self)
        fork_token_drop (t, t->invite ? error : NULL);
    }
}

void
_post_carrier_first_message (PostCarrier   *self,
                             PostTransient *transient)
{
  if (transient == self->transient && self->held)
    schedule_held (self);
}

void
_post_carrier_control_frame (PostCarrier   *self,
                             PostTransient *transient,
                             guint8         type,
                             guint8         flags,
                             GBytes        *body,
                             gboolean       first)
{
  gsize size = g_bytes_get_size (body);
  const guint8 *token = size == FORK_TOKEN_SIZE ? g_bytes_get_data (body, NULL) : NULL;

  if (transient != self->transient || self->state == POST_CARRIER_STATE_CLOSED)
    return;
  if (type > FORK_CONTROL_REFUSED)
    {
      g_debug ("Skipping a control frame of unknown type %u (%" G_GSIZE_FORMAT " bytes)", type, size);
      return;
    }
  if ((type == FORK_CONTROL_ACCEPTED && size != 0) || (type != FORK_CONTROL_ACCEPTED && token == NULL))
    {
      fail_protocol (self, "a fork control frame of the wrong size");
      return;
    }
  g_object_ref (self);
  switch (type)
    {
    case FORK_CONTROL_OFFER:
      handle_offer (self, token);
      break;
    case FORK_CONTROL_READY:
      {
        ForkOut *f = lookup_fork_out (self, token);

        if (f != NULL && !f->ready && !f->invite)
          open_fork_transport (f);
        break;
      }
    case FORK_CONTROL_INVITE:
      handle_invite (self, token);
      break;
    case FORK_CONTROL_FORK:
      if (!first || !self->held)
        {
          fail_protocol (self, "FORK is only the first frame of a new transport at a listener");
          break;
        }
      self->held_fork = TRUE;
      memcpy (self->held_token, token, FORK_TOKEN_SIZE);
      schedule_held (self);
      break;
    case FORK_CONTROL_ACCEPTED:
      if (self->fork_wait != NULL && !self->fork_wait->invite)
        fork_out_finish (self->fork_wait, self, NULL);
      break;
    case FORK_CONTROL_REFUSED:
    default:
      handle_refused (self, token, flags);
      break;
    }
  g_object_unref (self);
}

/* @self closes: its pending forks and tokens go. */
static void
fork_state_closed (PostCarrier  *self,
                   const GError *error)
{
  g_autoptr(GError) closed = g_error_new (POST_ERROR, POST_ERROR_CLOSED,
                                          "The carrier closed before its fork was answered%s%s",
                                          error ? ": " : "", error ? error->message : "");

  if (self->fork_wait != NULL)
    {
      g_autoptr(GError) refused =
        g_error_new (POST_ERROR, POST_ERROR_CONNECTION_REFUSED,
                     "The peer closed the fork's transport before accepting it%s%s",
                     error ? ": " : "", error ? error->message : "");

      fork_out_finish (self->fork_wait, NULL, refused);
    }
  fail_forks_out (self, closed);
  drop_carrier_tokens (self, closed);
  if (self->held)
    schedule_held (self);
  if (self->role == POST_CARRIER_ROLE_LISTENER)
    {
      /* A listener: its tokens and held transports go with it. */
      if (self->fork_tokens != NULL)
        {
          GHashTableIter iter;
          ForkToken *t;
          g_autoptr(GPtrArray) all = g_ptr_array_new ();

          g_hash_table_iter_init (&iter, self->fork_tokens);
          while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &t))
            g_ptr_array_add (all, t);
          for (guint i = 0; i < all->len; i++)
            fork_token_drop (all->pdata[i], closed);
        }
      if (self->held_children != NULL)
        {
          GHashTableIter iter;
          PostCarrier *child;
          g_autoptr(GPtrArray) all = g_ptr_array_new_with_free_func (g_object_unref);

          g_hash_table_iter_init (&iter, self->held_children);
          while (g_hash_table_iter_next (&iter, (gpointer *) &child, NULL))
            g_ptr_array_add (all, g_object_ref (child));
          for (guint i = 0; i < all->len; i++)
            {
              unhold (all->pdata[i]);
              post_carrier_abort (all->pdata[i]);
            }
        }
    }
}

static const guint8 *
fork_wait_token (PostCarrier *self)
{
  return self->fork_wait != NULL && !self->fork_wait->invite ? self->fork_wait->token : NULL;
}

static void
accept_child (PostCarrier *self,
              PostPsi     *psi,
              PostCarrier *signal_target)
{
  g_autoptr(PostCarrier) child = NULL;
  gboolean accepted = FALSE;

  child = _post_carrier_new_accepted (self, psi);
  if (child->parent == NULL && self->role == POST_CARRIER_ROLE_LISTENER
      && child->transient != NULL && _post_transient_speaks_control (child->transient))
    {
      /* libpost's framing: it may be a fork of one of our carriers. */
      accept_maybe_fork (self, child);
      return;
    }
  if (child->parent == NULL)
    {
      g_signal_emit (signal_target, signals[SIGNAL_INCOMING], 0, child, &accepted);
      if (!accepted)
        {
          g_debug ("No handler accepted the incoming carrier; closing it");
          post_carrier_abort (child);
          return;
        }
    }
  /* Announced (its handlers are connected): what the peer sent already,
   * or its end, is read now rather than after one more poll. */
  if (child->transient != NULL && child->state == POST_CARRIER_STATE_ACTIVE)
    _post_transient_try_read (child->transient);
}

static void
psi_accepted_cb (PostPsi     *psi,
                 PostPsi     *accepted,
                 PostCarrier *self)
{
  if (self->state != POST_CARRIER_STATE_ACTIVE)
    {
      post_psi_close (accepted, TRUE);
      return;
    }
  g_object_ref (self);
  accept_child (self, accepted, self);
  g_object_unref (self);
}

static void
psi_fork_request_cb (PostPsi     *psi,
                     PostPsi     *forked,
                     PostCarrier *self)
{
  g_autoptr(PostCarrier) child = NULL;
  gboolean accepted = FALSE;

  if (self->state != POST_CARRIER_STATE_ACTIVE || self->role != POST_CARRIER_ROLE_CARRIER)
    {
      post_psi_close (forked, TRUE);
      return;
    }
  g_object_ref (self);
  child = _post_carrier_new_accepted (self, forked);
  g_signal_emit (self, signals[SIGNAL_INCOMING], 0, child, &accepted);
  if (!accepted)
    post_carrier_abort (child);
  g_object_unref (self);
}

static PostCarrier *
listen_with_role (PostCarrierRole     role,
                  PostLocal          *local,
                  PostConfiguration  *configuration,
                  GError            **error)
{
  g_autoptr(PostCarrier) self = NULL;
  g_autoptr(GPtrArray) stacks = NULL;
  g_autoptr(GError) first_error = NULL;
  g_autoptr(PostLocal) any_local = NULL;

  if (local == NULL)
    local = any_local = post_local_new ();
  if (post_local_get_interface (local) != NULL
      && post_psi_check_interface (post_local_get_interface (local), error) == 0)
    {
      g_autofree char *what = post_local_to_string (local);

      g_prefix_error (error, "Cannot listen on %s: ", what);
      return NULL;
    }

  self = carrier_new (role, local, NULL, configuration);
  g_clear_object (&self->transient);  /* listeners have no transport of their own */
  stacks = _post_selection_rank_stacks (post_registry_get_default (), self->configuration,
                                        post_local_get_stack (local),
                                        role == POST_CARRIER_ROLE_SINK ? POST_CARRIER_ROLE_LISTENER : role,
                                        error);
  if (stacks == NULL)
    return NULL;
  /* A listener is secure by default when it has something to be secure
   * with: an identity or pre-shared keys on its local. */
  if (post_local_get_identity_pem (local, NULL, NULL)
      || post_local_lookup_pre_shared_key (local, NULL) != NULL)
    drop_cleartext_stacks (self, stacks, post_local_get_stack (local));

  for (guint i = 0; i < stacks->len; i++)
    {
      PostStack *stack = stacks->pdata[i];
      GSocketFamily families[2] = { G_SOCKET_FAMILY_IPV6, G_SOCKET_FAMILY_IPV4 };

      if (post_local_get_address (local) != NULL)
        families[0] = g_inet_address_get_family (post_local_get_address (local)), families[1] = G_SOCKET_FAMILY_INVALID;

      for (guint f = 0; f < G_N_ELEMENTS (families) && families[f] != G_SOCKET_FAMILY_INVALID; f++)
        {
          g_autoptr(GError) local_error = NULL;
          g_autoptr(GSocketAddress) address = post_local_to_socket_address (local, families[f]);
          g_autoptr(PostPsi) psi = NULL;

          if (address == NULL)
            continue;
          psi = post_stack_create_psi (stack, self->configuration);
          post_psi_set_context (psi, local, NULL);
          /* The stack binds to it (post_psi_bind_to_interface()). */
          post_psi_set_interface (psi, post_local_get_interface (local));
          /* A responder or remote-less sink on a connectionless stack is
           * served by the listening instance itself: every remote's
           * messages arrive on the carrier's own transient with their
           * source, and replies go back to that source, without a carrier
           * per remote. */
          if ((role == POST_CARRIER_ROLE_RESPONDER || role == POST_CARRIER_ROLE_SINK)
              && post_psi_can_listen_unconnected (psi))
            {
              if (!post_psi_listen_unconnected (psi, address, &local_error))
                {
                  if (first_error == NULL)
                    first_error = g_steal_pointer (&local_error);
                  continue;
                }
              set_stack_name (self, post_stack_get_name (stack));
              self->state = POST_CARRIER_STATE_ACTIVE;
              self->establishment_time = g_get_monotonic_time () - self->initiate_time;
              self->transient = _post_transient_new_pending (self, self->configuration);
              _post_transient_attach (self->transient, psi, NULL);
              return g_steal_pointer (&self);
            }
          if (post_psi_listen (psi, address, &local_error))
            {
              self->listen_psi = g_steal_pointer (&psi);
              set_stack_name (self, post_stack_get_name (stack));
              self->accepted_id = g_signal_connect (self->listen_psi, "accepted",
                                                    G_CALLBACK (psi_accepted_cb), self);
              self->state = POST_CARRIER_STATE_ACTIVE;
              self->establishment_time = g_get_monotonic_time () - self->initiate_time;
              return g_steal_pointer (&self);
            }
          if (first_error == NULL)
            first_error = g_steal_pointer (&local_error);
        }
    }

  if (first_error != NULL)
    {
      g_autofree char *what = post_local_to_string (local);

      g_set_error (error, first_error->domain, first_error->code,
                   "Cannot listen on %s: %s", what, first_error->message);
    }
  else
    g_set_error (error, POST_ERROR, POST_ERROR_NO_CANDIDATES,
                 "No local address to listen on");
  return NULL;
}

/**
 * post_carrier_listen:
 * @local: (nullable): where to listen; %NULL for any address on an
 *   ephemeral port
 * @configuration: (nullable): preferences, or %NULL
 * @error: return location for an error
 *
 * Creates a listener (a passive open, draft Figure 5).  Each carrier a
 * remote opens is offered by the #PostCarrier::incoming signal.  The stack
 * is the one @local's URI names, else the best that can listen and
 * satisfies @configuration.
 *
 * Returns: (transfer full): a new listener, or %NULL with @error set
 */
PostCarrier *
post_carrier_listen (PostLocal          *local,
                     PostConfiguration  *configuration,
                     GError            **error)
{
  g_return_val_if_fail (local == NULL || POST_IS_LOCAL (local), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return listen_with_role (POST_CARRIER_ROLE_LISTENER, local, configuration, error);
}

/**
 * post_carrier_new_sink:
 * @local: (nullable): the local endpoint
 * @remote: (nullable): the one remote to receive from, or %NULL to receive
 *   from any remote that opens a carrier to @local
 * @configuration: (nullable): preferences, or %NULL
 * @error: return location for an error
 *
 * Creates a carrier that only receives (draft 2.1).  With a @remote it is
 * initiated like any carrier; without one it listens on @local and delivers
 * what every remote sends, in arrival order, through the usual receive
 * calls.  Sending fails with %POST_ERROR_WRONG_ROLE.
 *
 * Returns: (transfer full): a new sink, or %NULL with @error set
 */
PostCarrier *
post_carrier_new_sink (PostLocal          *local,
                       PostRemote         *remote,
                       PostConfiguration  *configuration,
                       GError            **error)
{
  g_return_val_if_fail (local == NULL || POST_IS_LOCAL (local), NULL);
  g_return_val_if_fail (remote == NULL || POST_IS_REMOTE (remote), NULL);

  if (remote != NULL)
    return initiate_with_role (POST_CARRIER_ROLE_SINK, local, remote, configuration, NULL);
  return listen_with_role (POST_CARRIER_ROLE_SINK, local, configuration, error);
}

/**
 * post_carrier_respond:
 * @local: (nullable): where to listen
 * @configuration: (nullable): preferences, or %NULL
 * @func: (scope notified) (closure user_data): called for each message
 * @user_data: data for @func
 * @notify: (nullable): frees @user_data when the responder is closed
 * @error: return location for an error
 *
 * Creates a responder (draft Figure 4): it receives messages from any
 * number of remotes and calls @func with each, with a [class@Post.Reply]
 * that sends answers back to the message's source.
 *
 * Returns: (transfer full): a new responder, or %NULL with @error set
 */
PostCarrier *
post_carrier_respond (PostLocal          *local,
                      PostConfiguration  *configuration,
                      PostRespondFunc     func,
                      gpointer            user_data,
                      GDestroyNotify      notify,
                      GError            **error)
{
  PostCarrier *self;

  g_return_val_if_fail (func != NULL, NULL);

  self = listen_with_role (POST_CARRIER_ROLE_RESPONDER, local, configuration, error);
  if (self == NULL)
    {
      if (notify != NULL)
        notify (user_data);
      return NULL;
    }
  self->respond_func = func;
  self->respond_data = user_data;
  self->respond_notify = notify;
  return self;
}

/* ---- accessors --------------------------------------------------------------- */

/**
 * post_carrier_get_role:
 * @self: a #PostCarrier
 *
 * Gets what the carrier does: a bidirectional carrier, a listener, a
 * source, a sink or a responder (see [enum@Post.CarrierRole]); operations
 * that do not fit the role fail with %POST_ERROR_WRONG_ROLE.
 *
 * Returns: the carrier's role
 */
PostCarrierRole
post_carrier_get_role (PostCarrier *self)
{
  g_return_val_if_fail (POST_IS_CARRIER (self), POST_CARRIER_ROLE_CARRIER);
  return self->role;
}

/**
 * post_carrier_get_state:
 * @self: a #PostCarrier
 *
 * Gets where the carrier is in its life: ESTABLISHING, ACTIVE, DORMANT
 * (its transport failed; post_carrier_establish_async() brings it back) or
 * CLOSED (see [enum@Post.CarrierState]).
 *
 * Returns: the carrier's state
 */
PostCarrierState
post_carrier_get_state (PostCarrier *self)
{
  g_return_val_if_fail (POST_IS_CARRIER (self), POST_CARRIER_STATE_CLOSED);
  return self->state;
}

/**
 * post_carrier_get_association:
 * @self: a #PostCarrier
 *
 * Gets the association the carrier belongs to (draft section 2.3), which
 * holds its configuration, endpoints and long-lived state such as session
 * tickets; its forks and later carriers to the same remote share it. It
 * belongs to @self.
 *
 * Returns: (transfer none) (nullable): the carrier's association (draft
 *   `.Association()`); %NULL for listeners
 */
PostAssociation *
post_carrier_get_association (PostCarrier *self)
{
  g_return_val_if_fail (POST_IS_CARRIER (self), NULL);
  return self->association;
}

/**
 * post_carrier_get_local:
 * @self: a #PostCarrier
 *
 * Gets the local endpoint the carrier was made with (for a listener, the
 * one it listens on); %NULL means any. It belongs to @self.
 *
 * Returns: (transfer none) (nullable): the local endpoint
 */
PostLocal *
post_carrier_get_local (PostCarrier *self)
{
  g_return_val_if_fail (POST_IS_CARRIER (self), NULL);
  return self->local;
}

/**
 * post_carrier_get_remote:
 * @self: a #PostCarrier
 *
 * Gets the remote endpoint the carrier was made with (for an accepted
 * carrier, one made from the peer's address). It belongs to @self.
 *
 * Returns: (transfer none) (nullable): the remote endpoint
 */
PostRemote *
post_carrier_get_remote (PostCarrier *self)
{
  g_return_val_if_fail (POST_IS_CARRIER (self), NULL);
  return self->remote;
}

/**
 * post_carrier_get_configuration:
 * @self: a #PostCarrier
 *
 * Gets the configuration the carrier follows; it is frozen, and belongs to
 * @self.
 *
 * Returns: (transfer none): the carrier's (frozen) configuration
 */
PostConfiguration *
post_carrier_get_configuration (PostCarrier *self)
{
  g_return_val_if_fail (POST_IS_CARRIER (self), NULL);
  return self->configuration;
}

/**
 * post_carrier_get_transients:
 * @self: a #PostCarrier
 *
 * The transients serving the carrier now (draft `.Transients()`), for
 * logging and debugging.
 *
 * Returns: (transfer container) (element-type PostTransient): the transients
 */
GPtrArray *
post_carrier_get_transients (PostCarrier *self)
{
  GPtrArray *result;

  g_return_val_if_fail (POST_IS_CARRIER (self), NULL);

  result = g_ptr_array_new_with_free_func (g_object_unref);
  if (self->transient != NULL && _post_transient_is_attached (self->transient)
      && self->state != POST_CARRIER_STATE_CLOSED)
    g_ptr_array_add (result, g_object_ref (self->transient));
  return result;
}

/**
 * post_carrier_get_stack_name:
 * @self: a #PostCarrier
 *
 * Gets the name of the stack that carries the carrier, such as `tls`, once
 * establishment chose it (%NULL while establishing). The string belongs to
 * @self.
 *
 * Returns: (nullable): the name of the stack carrying the carrier, once chosen
 */
const char *
post_carrier_get_stack_name (PostCarrier *self)
{
  g_return_val_if_fail (POST_IS_CARRIER (self), NULL);
  return self->stack_name;
}

/**
 * post_carrier_get_security_flags:
 * @self: a #PostCarrier
 *
 * How the carrier's current transport is secured: whether it is
 * encrypted, whether its session was resumed from the association's
 * tickets, whether early (0-RTT) data was sent and accepted.
 *
 * Returns: the flags; %POST_SECURITY_NONE without a transport or on a
 *   cleartext stack
 */
static PostPsi *current_psi (PostCarrier *self);

PostSecurityFlags
post_carrier_get_security_flags (PostCarrier *self)
{
  PostPsi *psi;

  g_return_val_if_fail (POST_IS_CARRIER (self), POST_SECURITY_NONE);

  psi = current_psi (self);
  return psi != NULL ? post_psi_get_security_flags (psi) : POST_SECURITY_NONE;
}

/**
 * post_carrier_get_peer_certificate:
 * @self: a #PostCarrier
 *
 * Gets the certificate the peer presented on the carrier's secure
 * transport (tls, dtls, quic), as
 * [method@Gio.TlsConnection.get_peer_certificate] does: the server's on a
 * carrier that was initiated, the client's on an accepted carrier whose
 * peer presented one.  Its [property@Gio.TlsCertificate:issuer] chain is
 * linked as the peer sent it.  It is made by GIO's TLS backend
 * (glib-networking), %NULL without one.
 *
 * Returns: (transfer none) (nullable): the peer's certificate; %NULL
 *   before the carrier is ACTIVE, on a cleartext stack, and when the peer
 *   presented none (a pre-shared key)
 */
GTlsCertificate *
post_carrier_get_peer_certificate (PostCarrier *self)
{
  PostPsi *psi;

  g_return_val_if_fail (POST_IS_CARRIER (self), NULL);
  psi = self->listen_psi == NULL ? current_psi (self) : NULL;
  return psi != NULL ? post_psi_get_peer_certificate (psi) : NULL;
}

/**
 * post_carrier_get_peer_certificate_errors:
 * @self: a #PostCarrier
 *
 * Gets what the verification of the peer's certificate found, as
 * [method@Gio.TlsConnection.get_peer_certificate_errors] does.  Since
 * verification is on by default, this is nonzero only on a carrier whose
 * verification callback
 * ([method@Post.Configuration.set_accept_certificate_func]) accepted the
 * peer despite them.
 *
 * Returns: the errors, 0 when none were found or nothing was verified
 */
GTlsCertificateFlags
post_carrier_get_peer_certificate_errors (PostCarrier *self)
{
  PostPsi *psi;

  g_return_val_if_fail (POST_IS_CARRIER (self), 0);
  psi = self->listen_psi == NULL ? current_psi (self) : NULL;
  return psi != NULL ? post_psi_get_peer_certificate_errors (psi) : 0;
}

/**
 * post_carrier_get_negotiated_protocol:
 * @self: a #PostCarrier
 *
 * Gets the application protocol ALPN negotiated on the carrier's secure
 * transport, one of those given with
 * [method@Post.Configuration.set_alpn], as
 * [method@Gio.TlsConnection.get_negotiated_protocol] does.
 *
 * Returns: (nullable): the protocol id; %NULL before the carrier is
 *   ACTIVE, on a cleartext stack, and when ALPN agreed on none
 */
const char *
post_carrier_get_negotiated_protocol (PostCarrier *self)
{
  PostPsi *psi;

  g_return_val_if_fail (POST_IS_CARRIER (self), NULL);
  psi = self->listen_psi == NULL ? current_psi (self) : NULL;
  return psi != NULL ? post_psi_get_negotiated_protocol (psi) : NULL;
}

/**
 * post_carrier_get_capabilities:
 * @self: a #PostCarrier
 *
 * What the carrier can do on its stack: the stack's own capabilities plus
 * what libpost provides on top (framing, niceness, lifetimes).  Before the
 * stack is chosen, %POST_STACK_CAP_NONE.
 *
 * Returns: the capabilities
 */
PostStackCapabilities
post_carrier_get_capabilities (PostCarrier *self)
{
  PostStack *stack = NULL;

  g_return_val_if_fail (POST_IS_CARRIER (self), POST_STACK_CAP_NONE);

  if (self->listen_psi != NULL)
    stack = post_psi_get_stack (self->listen_psi);
  else if (self->transient != NULL && _post_transient_is_attached (self->transient))
    return _post_transient_get_capabilities (self->transient);
  return stack ? _post_selection_effective_capabilities (stack, self->configuration)
               : POST_STACK_CAP_NONE;
}

static PostPsi *
current_psi (PostCarrier *self)
{
  if (self->listen_psi != NULL)
    return self->listen_psi;
  if (self->transient != NULL)
    return post_transient_get_psi (self->transient);
  return NULL;
}

/**
 * post_carrier_get_local_address:
 * @self: a #PostCarrier
 *
 * Gets the local address of the carrier's transport once it is
 * established, or the address a listener is bound to, with the port the
 * system chose when it was 0. It belongs to @self.
 *
 * Returns: (transfer none) (nullable): the local transport address in use
 *   (a listener's bound address, with its real port)
 */
GSocketAddress *
post_carrier_get_local_address (PostCarrier *self)
{
  PostPsi *psi;

  g_return_val_if_fail (POST_IS_CARRIER (self), NULL);
  psi = current_psi (self);
  return psi ? post_psi_get_local_address (psi) : NULL;
}

/**
 * post_carrier_get_remote_address:
 * @self: a #PostCarrier
 *
 * Gets the peer's address on the carrier's transport once it is
 * established. It may change when the transport migrates
 * (%POST_STACK_CAP_MIGRATION), which #PostCarrier::path-changed announces.
 * It belongs to @self.
 *
 * Returns: (transfer none) (nullable): the remote transport address in use
 */
GSocketAddress *
post_carrier_get_remote_address (PostCarrier *self)
{
  PostPsi *psi;

  g_return_val_if_fail (POST_IS_CARRIER (self), NULL);
  psi = current_psi (self);
  return psi ? post_psi_get_remote_address (psi) : NULL;
}

/**
 * post_carrier_get_error:
 * @self: a #PostCarrier
 *
 * Gets the error that closed the carrier or made it DORMANT, such as
 * %POST_ERROR_CONNECTION_RESET or %POST_ERROR_TIMED_OUT; %NULL for a
 * carrier that is open or was closed gracefully. The error belongs to
 * @self.
 *
 * Returns: (nullable): why the carrier is closed or dormant, if it failed
 */
const GError *
post_carrier_get_error (PostCarrier *self)
{
  g_return_val_if_fail (POST_IS_CARRIER (self), NULL);
  return self->error;
}

/**
 * post_carrier_get_establishment_time:
 * @self: a #PostCarrier
 *
 * Gets how long the establishment of an initiated carrier took, from its
 * start to the carrier becoming ACTIVE, as `post-cat -v` prints it; 0
 * while it is establishing.
 *
 * Returns: microseconds from the start of establishment to ACTIVE, or 0
 */
gint64
post_carrier_get_establishment_time (PostCarrier *self)
{
  g_return_val_if_fail (POST_IS_CARRIER (self), 0);
  return self->establishment_time;
}

/**
 * post_carrier_get_send_queue_size:
 * @self: a #PostCarrier
 *
 * The framed bytes queued and not yet handed to the network.  The
 * configuration's `send-queue-limit` counts these and, for each queued
 * message, %POST_MESSAGE_OVERHEAD bytes more (what it costs to hold), so
 * that a flood of empty messages fills the queue too.
 *
 * Returns: how many bytes are queued and not yet handed to the network
 */
gsize
post_carrier_get_send_queue_size (PostCarrier *self)
{
  g_return_val_if_fail (POST_IS_CARRIER (self), 0);
  return self->transient ? _post_transient_get_queued_bytes (self->transient) : 0;
}

GMainContext *
_post_carrier_get_context (PostCarrier *self)
{
  return self->context;
}

/**
 * post_carrier_get_receive_queue_size:
 * @self: a #PostCarrier
 *
 * What the carrier holds of received data not yet delivered to the
 * application: its inbox of messages read ahead (each counted as its bytes
 * plus %POST_MESSAGE_OVERHEAD), the message being assembled and the input
 * not yet decoded.  Without receive demand this stays bounded (64 KiB plus
 * one read and one message): the carrier stops reading and the peer is
 * flow-controlled, however small its messages (docs/framing.md,
 * "Back-pressure").  For a sink, the inbox is the sink's.
 *
 * Returns: the receive queue's size in bytes, as the carrier accounts it
 */
gsize
post_carrier_get_receive_queue_size (PostCarrier *self)
{
  g_return_val_if_fail (POST_IS_CARRIER (self), 0);
  if (self->transient != NULL && _post_transient_is_attached (self->transient))
    return _post_transient_get_receive_bytes (self->transient);
  return _post_carrier_get_inbox_size (self);
}

/* ---- establishment API --------------------------------------------------------- */

/* The last wait for an establishment was cancelled: stop it, the carrier
 * goes DORMANT (see post_carrier_establish_async()). */
static void
stop_establishment (PostCarrier *self)
{
  g_autoptr(GError) error = NULL;

  if (self->close_requested)
    {
      establishment_failed (self, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                       "The establishment was cancelled"));
      return;
    }
  clear_source (&self->establish_source);
  clear_source (&self->timeout_source);
  if (self->establish_cancellable != NULL)
    {
      /* The racer's callback sees a cancellable that is no longer ours. */
      g_autoptr(GCancellable) cancellable = g_steal_pointer (&self->establish_cancellable);

      g_cancellable_cancel (cancellable);
    }
  error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               "The establishment was cancelled; "
                               "post_carrier_establish_async() starts it again");
  g_clear_error (&self->error);
  self->error = g_error_copy (error);
  set_state (self, POST_CARRIER_STATE_DORMANT);
  drain_requests_after_close (self);
}

static void
establish_cancelled (GTask    *task,
                     gpointer  user_data)
{
  PostCarrier *self = user_data;
  GList *link = g_queue_find (&self->establish_tasks, task);

  if (link == NULL)
    return;   /* it completed meanwhile */
  g_object_ref (self);
  g_queue_delete_link (&self->establish_tasks, link);
  /* Stopped first, so that the callback sees the carrier DORMANT. */
  if (g_queue_is_empty (&self->establish_tasks) && self->state == POST_CARRIER_STATE_ESTABLISHING)
    stop_establishment (self);
  g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_CANCELLED,
                           "The establishment was cancelled");
  g_object_unref (task);
  g_object_unref (self);
}

/**
 * post_carrier_establish_async:
 * @self: a #PostCarrier
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called when the carrier is ACTIVE or failed
 * @user_data: data for @callback
 *
 * Waits until the carrier is ACTIVE.  On a DORMANT carrier this
 * re-establishes it through its association.
 *
 * Cancelling @cancellable completes the call with %G_IO_ERROR_CANCELLED
 * (promptly, from the main loop).  If it was the last call waiting and the
 * carrier is still ESTABLISHING, the establishment stops and the carrier
 * becomes DORMANT: nothing is attempted any more, messages queued meanwhile
 * stay queued, post_carrier_get_error() says it was cancelled, and a later
 * post_carrier_establish_async() tries again (post_carrier_close() closes
 * it; a carrier that was asked to close becomes CLOSED instead).  A
 * @cancellable cancelled before the call only completes the call, with
 * %G_IO_ERROR_CANCELLED; the carrier is left as it is.
 */
void
post_carrier_establish_async (PostCarrier         *self,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;

  g_return_if_fail (POST_IS_CARRIER (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, post_carrier_establish_async);
  /* A carrier that became ACTIVE is reported ACTIVE, even if the
   * cancellable was cancelled in between. */
  g_task_set_check_cancellable (task, FALSE);
  if (return_if_cancelled (task))
    return;
  switch (self->state)
    {
    case POST_CARRIER_STATE_ACTIVE:
      g_task_return_boolean (task, TRUE);
      return;
    case POST_CARRIER_STATE_CLOSED:
    case POST_CARRIER_STATE_CLOSING:
      {
        GError *error = NULL;

        check_usable (self, TRUE, &error);
        if (error == NULL)
          error = g_error_new_literal (POST_ERROR, POST_ERROR_CLOSED, "The carrier is closing");
        g_task_return_error (task, error);
        return;
      }
    case POST_CARRIER_STATE_DORMANT:
      {
        set_state (self, POST_CARRIER_STATE_ESTABLISHING);
        _post_task_watch_cancel (task, establish_cancelled, self);
        g_queue_push_tail (&self->establish_tasks, g_steal_pointer (&task));
        start_establishment (self);
        return;
      }
    case POST_CARRIER_STATE_ESTABLISHING:
    default:
      _post_task_watch_cancel (task, establish_cancelled, self);
      g_queue_push_tail (&self->establish_tasks, g_steal_pointer (&task));
      return;
    }
}

/**
 * post_carrier_establish_finish:
 * @self: a #PostCarrier
 * @result: the result passed to the callback
 * @error: return location for an error
 *
 * Finishes post_carrier_establish_async(). Fails with the establishment
 * error: %POST_ERROR_ESTABLISHMENT when every attempt failed (its message
 * lists each attempt), %POST_ERROR_NO_STACK or %POST_ERROR_NO_CANDIDATES
 * when nothing could be tried, %POST_ERROR_RESOLVE, %POST_ERROR_TIMED_OUT
 * after `conn-timeout`, %POST_ERROR_CLOSED for a closed carrier, or
 * %G_IO_ERROR_CANCELLED.
 *
 * Returns: %TRUE when the carrier is ACTIVE; otherwise %FALSE with the
 *   establishment error (which lists each attempt when all failed)
 */
gboolean
post_carrier_establish_finish (PostCarrier   *self,
                               GAsyncResult  *result,
                               GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}

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
  if (!check_usable (self, TRUE, error))
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
  if (return_if_cancelled (task))
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
 * The peer receives one message on every stack.  On a stack that keeps
 * message boundaries itself (udp, dtls: no
 * %POST_STACK_CAP_BYTE_STREAM) the parts are gathered and leave as one
 * datagram with the last part: a part's callback runs once it joined the
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
  if (return_if_cancelled (task))
    return;
  if (!check_usable (self, TRUE, &error))
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
  if (return_if_cancelled (task))
    return;
  if (!check_usable (self, TRUE, &error))
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
  g_signal_emit (self, signals[SIGNAL_SENT], 0, message);
}

void
_post_carrier_emit_soft_error (PostCarrier  *self,
                               const GError *error)
{
  if (post_configuration_get_soft_error_notify (self->configuration) == POST_PREFERENCE_PROHIBIT)
    return;
  if (self->parent != NULL)
    g_signal_emit (self->parent, signals[SIGNAL_SOFT_ERROR], 0, error);
  g_signal_emit (self, signals[SIGNAL_SOFT_ERROR], 0, error);
}

gboolean
_post_carrier_wants_acked (PostCarrier *self)
{
  return g_signal_has_handler_pending (self, signals[SIGNAL_ACKED], 0, TRUE);
}

void
_post_carrier_emit_acked (PostCarrier *self,
                          PostMessage *message)
{
  _post_message_emit_acked (message);
  g_signal_emit (self, signals[SIGNAL_ACKED], 0, message);
}

void
_post_carrier_emit_expired (PostCarrier *self,
                            PostMessage *message)
{
  _post_message_emit_expired (message);
  g_signal_emit (self, signals[SIGNAL_EXPIRED], 0, message);
}

void
_post_carrier_emit_send_error (PostCarrier  *self,
                               PostMessage  *message,
                               const GError *error)
{
  if (_post_message_emit_send_error (message, error))
    g_signal_emit (self, signals[SIGNAL_SEND_ERROR], 0, message, error);
}

void
_post_carrier_transient_path_changed (PostCarrier   *self,
                                      PostTransient *transient)
{
  g_autoptr(GPtrArray) paths = post_transient_get_paths (transient);

  if (paths->len > 0)
    g_signal_emit (self, signals[SIGNAL_PATH_CHANGED], 0, paths->pdata[0]);
}

/* The path for @psi's current addresses: the association's (shared by its
 * carriers), or a path of its own.  For a transient whose instance moved
 * (connection migration, or the peer's). */
PostPath *
_post_carrier_path_for_psi (PostCarrier *self,
                            PostPsi     *psi)
{
  if (self->association != NULL)
    return g_object_ref (_post_association_ensure_path (self->association, psi));
  return _post_path_new_for_psi (psi);
}

/* ---- path events (draft 2.8) ---------------------------------------------------------- */

static gboolean
same_inet (GSocketAddress *socket_address,
           GInetAddress   *address)
{
  return socket_address != NULL && address != NULL && G_IS_INET_SOCKET_ADDRESS (socket_address)
         && g_inet_address_equal (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (socket_address)),
                                  address);
}

/* Connection migration (POST_STACK_CAP_MIGRATION): when the active path
 * went away, a stack that can move its transport to another local address
 * keeps the carrier ACTIVE (same transient, same instance).  The new local
 * is chosen as establishment chooses among gathered locals (draft 4.5:
 * post_path_monitor_gather_locals(), then the configuration's interface
 * preferences and prohibitions and the policy rank them), leaving out the
 * local that went away.  The instance's interface is set to the new one
 * before the call (the stack copies it to the instances sharing its
 * connection); on success the stack emitted path-changed on each of them,
 * which the transients turn into the carriers' path-changed.  Returns
 * FALSE (nothing changed) when the stack cannot migrate or no other local
 * works: the caller then does what path.on-loss says. */
static gboolean
migrate_path (PostCarrier *self,
              const char  *why)
{
  PostPathMonitor *monitor = post_path_monitor_get_default ();
  PostPsi *psi = self->transient != NULL ? post_transient_get_psi (self->transient) : NULL;
  g_autoptr(GPtrArray) locals = NULL;
  g_autoptr(GPtrArray) candidates = NULL;
  GSocketAddress *local, *remote;
  PostStack *stack;
  guint16 port = 0;

  if (self->state != POST_CARRIER_STATE_ACTIVE || psi == NULL || post_psi_is_closed (psi))
    return FALSE;
  stack = post_psi_get_stack (psi);
  if (stack == NULL || !post_stack_has_capabilities (stack, POST_STACK_CAP_MIGRATION))
    return FALSE;
  /* An address or an interface the application bound (or an accepted
   * carrier's address) stays. */
  if (self->passive || (self->local != NULL && (post_local_get_address (self->local) != NULL
                                                || post_local_get_interface (self->local) != NULL)))
    return FALSE;
  if (self->local != NULL)
    port = post_local_get_port (self->local);
  local = post_psi_get_local_address (psi);
  remote = post_psi_get_remote_address (psi);
  if (remote == NULL || !G_IS_INET_SOCKET_ADDRESS (remote) || !post_path_monitor_is_available (monitor))
    return FALSE;

  locals = post_path_monitor_gather_locals (monitor, remote,
                                            post_configuration_get_use_temporary_local_address (self->configuration));
  candidates = g_ptr_array_new_with_free_func ((GDestroyNotify) _post_candidate_free);
  for (guint i = 0; i < locals->len; i++)
    {
      GSocketAddress *candidate_local = locals->pdata[i];
      PostCandidate *candidate;

      if (inet_address_equal (candidate_local, local))
        continue;
      candidate = _post_candidate_new (stack, remote, candidate_local);
      candidate->interface = _post_path_monitor_interface_of (monitor, candidate_local);
      candidate->gathered = TRUE;
      g_ptr_array_add (candidates, candidate);
    }
  _post_selection_rank_candidates (candidates, self->configuration, self->remote, self->role, NULL);

  for (guint i = 0; i < candidates->len; i++)
    {
      PostCandidate *candidate = candidates->pdata[i];
      g_autoptr(GSocketAddress) new_local = NULL;
      g_autofree char *old_interface = g_strdup (post_psi_get_interface (psi));
      g_autofree char *text = NULL;
      g_autoptr(GError) error = NULL;

      new_local = g_inet_socket_address_new (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (candidate->local_address)),
                                             port);
      text = g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (new_local));
      post_psi_set_interface (psi, candidate->interface);
      if (post_psi_migrate (psi, new_local, &error))
        {
          g_debug ("Carrier to %s migrated to %s (%s): %s", post_remote_get_uri (self->remote),
                   text, candidate->interface ? candidate->interface : "?", why);
          return TRUE;
        }
      post_psi_set_interface (psi, old_interface);
      g_debug ("Carrier to %s cannot migrate to %s: %s", post_remote_get_uri (self->remote),
               text, error->message);
      if (g_error_matches (error, POST_ERROR, POST_ERROR_NOT_SUPPORTED) || post_psi_is_closed (psi))
        break;
    }
  return FALSE;
}

/* The active path went away: tell, then go dormant or establish again */
static void
path_lost (PostCarrier *self,
           const char  *why)
{
  g_autoptr(GPtrArray) paths = post_transient_get_paths (self->transient);
  g_autoptr(GError) error = NULL;
  GVariant *action = post_configuration_get_option (self->configuration, "path.on-loss");
  gboolean dormant = action != NULL && g_variant_is_of_type (action, G_VARIANT_TYPE_STRING)
                     && g_strcmp0 (g_variant_get_string (action, NULL), "dormant") == 0;

  g_object_ref (self);
  /* A stack that migrates keeps the carrier (and its watch) going: the old
   * path is removed, the new one came with path-changed. */
  if (migrate_path (self, why))
    {
      if (paths->len > 0)
        g_signal_emit (self, signals[SIGNAL_PATH_REMOVED], 0, paths->pdata[0]);
      g_object_unref (self);
      return;
    }
  stop_path_watch (self);
  g_debug ("Carrier to %s lost its path: %s", post_remote_get_uri (self->remote), why);
  if (paths->len > 0)
    g_signal_emit (self, signals[SIGNAL_PATH_REMOVED], 0, paths->pdata[0]);
  if (self->state == POST_CARRIER_STATE_ACTIVE && self->transient != NULL)
    {
      error = g_error_new (POST_ERROR, POST_ERROR_CONNECTION_RESET, "The path went away: %s", why);
      _post_transient_abort (self->transient, error);
      if (self->state == POST_CARRIER_STATE_DORMANT && !dormant)
        {
          set_state (self, POST_CARRIER_STATE_ESTABLISHING);
          start_establishment (self);
        }
    }
  g_object_unref (self);
}

static void
path_event_cb (PostPathMonitor     *monitor,
               const PostPathEvent *event,
               gpointer             user_data)
{
  PostCarrier *self = user_data;
  PostPsi *psi = self->transient != NULL ? post_transient_get_psi (self->transient) : NULL;
  GSocketAddress *local, *remote;
  const char *interface;

  if (self->state != POST_CARRIER_STATE_ACTIVE || psi == NULL)
    return;
  local = post_psi_get_local_address (psi);
  remote = post_psi_get_remote_address (psi);
  interface = post_psi_get_interface (psi);

  switch (event->type)
    {
    case POST_PATH_EVENT_ADDRESS_REMOVED:
      if (same_inet (local, event->address->address))
        {
          g_autofree char *text = g_inet_address_to_string (event->address->address);
          g_autofree char *why = g_strdup_printf ("the local address %s was removed", text);

          path_lost (self, why);
        }
      break;
    case POST_PATH_EVENT_INTERFACE_REMOVED:
    case POST_PATH_EVENT_INTERFACE_CHANGED:
      if (interface == NULL || g_strcmp0 (event->interface->name, interface) != 0)
        break;
      if (event->type == POST_PATH_EVENT_INTERFACE_REMOVED || !event->interface->running)
        {
          g_autofree char *why = g_strdup_printf ("the interface %s %s", interface,
                                                  event->type == POST_PATH_EVENT_INTERFACE_REMOVED
                                                  ? "was removed" : "went down");

          path_lost (self, why);
        }
      else
        _post_carrier_transient_path_changed (self, self->transient);
      break;
    case POST_PATH_EVENT_ADDRESS_ADDED:
      {
        GInetAddress *address = event->address->address;
        g_autoptr(GSocketAddress) new_local = NULL;
        g_autoptr(PostPath) path = NULL;

        if (remote == NULL || !G_IS_INET_SOCKET_ADDRESS (remote)
            || g_inet_address_get_family (address) != g_socket_address_get_family (remote)
            || g_inet_address_get_is_loopback (address) || g_inet_address_get_is_link_local (address)
            || (event->address->flags & POST_ADDRESS_FLAGS_DAD_FAILED))
          break;
        new_local = g_inet_socket_address_new (address, 0);
        path = post_path_new (new_local, remote);
        post_path_set_interface (path, event->address->interface);
        post_path_set_stack_name (path, self->stack_name);
        g_signal_emit (self, signals[SIGNAL_PATH_ADDED], 0, path);
      }
      break;
    case POST_PATH_EVENT_INTERFACE_ADDED:
    case POST_PATH_EVENT_DEFAULT_ROUTE_CHANGED:
    default:
      break;
    }
}

/* Carriers off the loopback watch their path: an initiated one moves to
 * another path (or goes dormant), an accepted one closes with the reason. */
static void
start_path_watch (PostCarrier *self,
                  PostPsi     *psi)
{
  GSocketAddress *remote = post_psi_get_remote_address (psi);
  PostPathMonitor *monitor;

  stop_path_watch (self);
  if (self->listen_psi != NULL || remote == NULL || !G_IS_INET_SOCKET_ADDRESS (remote)
      || g_inet_address_get_is_loopback (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote))))
    return;
  monitor = post_path_monitor_get_default ();
  if (post_path_monitor_is_available (monitor))
    self->path_watch = _post_path_monitor_watch (monitor, path_event_cb, self);
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
      receive_request_free (request);
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
      g_signal_emit (self->parent, signals[SIGNAL_RECEIVE_ERROR], 0, error);
      return;
    }
  if (self->role != POST_CARRIER_ROLE_RESPONDER
      && (request = g_queue_pop_head (&self->requests)) != NULL)
    {
      g_task_return_error (request->task, g_error_copy (error));
      receive_request_free (request);
      return;
    }
  g_signal_emit (self, signals[SIGNAL_RECEIVE_ERROR], 0, error);
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
      receive_request_free (request);
      if (entry->offset == g_bytes_get_size (entry->data))
        {
          self->inbox_bytes -= POST_MESSAGE_OVERHEAD;
          inbox_entry_free (g_queue_pop_head (&self->inbox));
        }
    }
}

static void
drain_requests_after_close (PostCarrier *self)
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
      receive_request_free (request);
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
      check_usable (self, FALSE, &error);
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
      drain_requests_after_close (self);
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
  if (return_if_cancelled (task))
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
  if (return_if_cancelled (task))
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

  if (func != NULL && !can_receive_role (self))
    {
      g_critical ("A %s cannot receive", role_name (self->role));
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
      inbox_entry_free (entry);
    }
  if (self->state != POST_CARRIER_STATE_CLOSED)
    kick_receive (self);
  g_object_unref (self);
}

/* ---- forking ------------------------------------------------------------------------- */

static void
fork_stream_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  PostCarrier *self = g_task_get_source_object (task);
  GError *error = NULL;
  g_autoptr(PostPsi) psi = post_psi_fork_finish (POST_PSI (source), result, &error);

  if (psi == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task, _post_carrier_new_accepted (self, psi), g_object_unref);
}

static void
fork_established_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (!post_carrier_establish_finish (POST_CARRIER (source), result, &error))
    {
      post_carrier_abort (POST_CARRIER (source));
      g_task_return_error (task, error);
      return;
    }
  g_task_return_pointer (task, g_object_ref (source), g_object_unref);
}

/**
 * post_carrier_fork_async:
 * @self: an ACTIVE carrier
 * @cancellable: (nullable): a #GCancellable
 * @callback: (scope async): called with the new carrier
 * @user_data: data for @callback
 *
 * Creates a new carrier to the same remote on the same association (draft
 * 2.1).  With %POST_STACK_CAP_FORK_REQUEST the peer receives it as a fork
 * request of this carrier, through this carrier's peer's
 * #PostCarrier::incoming signal, and either side can fork:
 *
 * - on a multistreaming stack (quic, sctp) it is a new stream of the same
 *   transport;
 * - on a byte stream without streams (tcp, tls) using libpost's framing
 *   (%POST_FRAMING_AUTO with #PostLengthPrefixFramer) it is a new transport
 *   of the same stack, announced with control frames (docs/framing.md,
 *   "Forking with control frames"): the call completes once the peer
 *   accepted the fork request.  When the accepting side of a carrier forks,
 *   it asks the initiating side to open the transport, and completes with
 *   the carrier of that transport once it arrived at the listener that
 *   accepted this carrier (which must still be open).
 *
 * The peer must accept the fork request: a peer that refuses it (no
 * #PostCarrier::incoming handler returns %TRUE) makes the fork fail with
 * %POST_ERROR_CONNECTION_REFUSED (on tcp and tls), or closes the new carrier
 * with it once its first data reached the peer (quic).  A peer that never
 * answers makes it fail with %POST_ERROR_TIMED_OUT after the
 * configuration's `conn-timeout`; at most 32 forks of one carrier may be
 * pending at once (more fail with %POST_ERROR_WOULD_BLOCK, or at the peer's
 * side with %POST_ERROR_CONNECTION_REFUSED).  On the quic stack a fork
 * beyond the peer's limit on streams waits until the peer allows another
 * one (or @cancellable is cancelled).
 *
 * Without %POST_STACK_CAP_FORK_REQUEST (stream framing or another framer on
 * tcp and tls, where the peer may not be libpost; udp and dtls) the fork is
 * a new transport that the peer's listener receives as an ordinary
 * carrier, and only the initiating side can fork: on an accepted carrier
 * the call fails with %POST_ERROR_NOT_SUPPORTED.  Sources, sinks,
 * responders and listeners cannot fork (draft 2.1): that fails with
 * %POST_ERROR_WRONG_ROLE.
 *
 * Cancelling @cancellable completes the call with %G_IO_ERROR_CANCELLED;
 * a fork being established is aborted, one that completed meanwhile is
 * dropped (the peer sees it end).
 */
void
post_carrier_fork_async (PostCarrier         *self,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  GError *error = NULL;
  PostPsi *psi;

  g_return_if_fail (POST_IS_CARRIER (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, post_carrier_fork_async);
  if (return_if_cancelled (task))
    return;

  if (self->role != POST_CARRIER_ROLE_CARRIER)
    {
      g_task_return_new_error (task, POST_ERROR, POST_ERROR_WRONG_ROLE,
                               "A %s cannot be forked", role_name (self->role));
      return;
    }
  if (!check_usable (self, TRUE, &error))
    {
      g_task_return_error (task, error);
      return;
    }
  if (self->state != POST_CARRIER_STATE_ACTIVE)
    {
      g_task_return_new_error (task, POST_ERROR, POST_ERROR_NOT_SUPPORTED,
                               "Only an active carrier can be forked");
      return;
    }

  psi = post_transient_get_psi (self->transient);
  if (post_psi_can_fork (psi))
    {
      post_psi_fork_async (psi, cancellable, fork_stream_cb, g_steal_pointer (&task));
      return;
    }
  /* Both peers speak libpost's framing: a fork request of this carrier
   * at the peer, whichever side forks. */
  if (self->role == POST_CARRIER_ROLE_CARRIER && fork_with_control (self, task))
    return;
  if (!self->passive && self->remote != NULL && self->association != NULL
      && post_stack_has_capabilities (post_psi_get_stack (psi), POST_STACK_CAP_LISTEN))
    {
      /* Initiated by us: a new transport of the same stack to the same
       * remote, on the same association; the peer's listener accepts it. */
      g_autoptr(PostCarrier) forked = _post_carrier_initiate_on_association (self->association);

      post_carrier_establish_async (forked, cancellable, fork_established_cb, g_steal_pointer (&task));
      return;
    }
  g_task_return_new_error (task, POST_ERROR, POST_ERROR_NOT_SUPPORTED,
                           "Stack %s cannot fork this carrier: it has no streams, and only "
                           "the side that initiated a carrier can open another transport",
                           post_stack_get_name (post_psi_get_stack (psi)));
}

/**
 * post_carrier_fork_finish:
 * @self: a #PostCarrier
 * @result: the result passed to the callback
 * @error: return location for an error
 *
 * Finishes post_carrier_fork_async(). The new carrier, owned by the
 * caller, goes to the same remote on the same association. Fails with
 * %POST_ERROR_CONNECTION_REFUSED when the peer refused the fork,
 * %POST_ERROR_TIMED_OUT when it never answered, %POST_ERROR_WOULD_BLOCK
 * when too many forks are pending, %POST_ERROR_WRONG_ROLE for a listener,
 * or %G_IO_ERROR_CANCELLED.
 *
 * Returns: (transfer full): the new carrier, or %NULL with @error set
 */
PostCarrier *
post_carrier_fork_finish (PostCarrier   *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

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

static void
set_closed (PostCarrier  *self,
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
  stop_path_watch (self);
  set_state (self, POST_CARRIER_STATE_CLOSED);
  fork_state_closed (self, error);
  closed_error = g_error_new_literal (POST_ERROR, POST_ERROR_CLOSED, "The carrier is closed");
  complete_establish_tasks (self, error ? error : closed_error);
  drain_requests_after_close (self);
  if (self->association != NULL)
    _post_association_remove_carrier (self->association, self);
  close_children (self);
  g_signal_emit (self, signals[SIGNAL_CLOSED], 0, error);
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
         && !g_error_matches (error, POST_ERROR, POST_ERROR_CLOSED);
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
      schedule_held (self);
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
      stop_path_watch (self);
      detach_transient (self);
      self->transient = g_steal_pointer (&fresh);
      set_state (self, POST_CARRIER_STATE_DORMANT);
      drain_requests_after_close (self);
    }
  else
    set_closed (self, error);
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
      if (self->establish_cancellable == NULL && self->establish_source == NULL)
        set_closed (self, NULL);
      break;
    case POST_CARRIER_STATE_DORMANT:
      {
        g_autoptr(GError) error = g_error_new_literal (POST_ERROR, POST_ERROR_CLOSED,
                                                       "The carrier was closed while dormant");

        /* No transport to drain into: what waited for reactivation fails,
         * each message reporting send-error, rather than vanishing. */
        if (self->transient != NULL)
          _post_transient_fail_queue (self->transient, error);
        set_closed (self, NULL);
      }
      break;
    case POST_CARRIER_STATE_ACTIVE:
    default:
      if (self->listen_psi != NULL || self->transient == NULL)
        set_closed (self, NULL);
      else
        {
          set_state (self, POST_CARRIER_STATE_CLOSING);
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
  if (return_if_cancelled (task))
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
  if (self->establish_cancellable != NULL)
    g_cancellable_cancel (self->establish_cancellable);
  error = g_error_new_literal (POST_ERROR, POST_ERROR_CLOSED, "The carrier was aborted");
  if (self->transient != NULL && _post_transient_is_attached (self->transient))
    _post_transient_abort (self->transient, error);
  else if (self->transient != NULL)
    _post_transient_fail_queue (self->transient, error);
  set_closed (self, NULL);
  g_object_unref (self);
}

/* ---- what a carrier went through ------------------------------------------- */

/**
 * post_carrier_get_proxy:
 * @self: a carrier
 *
 * Tells whether @self went through a proxy, and which: the winning
 * candidate's (see #PostConfiguration:proxy-resolver).  Its
 * #GProxyAddress:destination-hostname and port name the remote the proxy
 * was asked for; its address and port are the proxy's, as
 * post_carrier_get_remote_address() gives them.
 *
 * Returns: (transfer none) (nullable): the proxy, or %NULL for a direct
 *   carrier or one not established yet
 */
GProxyAddress *
post_carrier_get_proxy (PostCarrier *self)
{
  g_autoptr(GPtrArray) transients = NULL;
  PostPsi *psi;

  g_return_val_if_fail (POST_IS_CARRIER (self), NULL);

  transients = post_carrier_get_transients (self);
  if (transients == NULL || transients->len == 0)
    return NULL;
  psi = post_transient_get_psi (transients->pdata[0]);
  return psi != NULL ? post_psi_get_proxy (psi) : NULL;
}
