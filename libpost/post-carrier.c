/* post-carrier.c: PostCarrier, where applications send and receive messages
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

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

static GParamSpec *properties[N_PROPS];
guint _post_carrier_signals[CARRIER_N_SIGNALS];

static void establish_cancelled (GTask *task, gpointer user_data);

/* ---- small helpers ------------------------------------------------------- */

/* The common start of every _async operation: a task whose cancellable
 * was cancelled before the call completes (from the main loop, as GTask
 * does) with G_IO_ERROR_CANCELLED; returns whether it did. */
gboolean
_post_carrier_return_if_cancelled (GTask *task)
{
  return g_task_return_error_if_cancelled (task);
}

const char *
_post_carrier_role_name (PostCarrierRole role)
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

gboolean
_post_carrier_can_receive_role (PostCarrier *self)
{
  return self->role == POST_CARRIER_ROLE_CARRIER || self->role == POST_CARRIER_ROLE_SINK;
}

gboolean
_post_carrier_check_usable (PostCarrier  *self,
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
                   "A %s cannot send%s", _post_carrier_role_name (self->role),
                   self->role == POST_CARRIER_ROLE_RESPONDER ? ": reply with the PostReply" : "");
      return FALSE;
    }
  if (!sending && !_post_carrier_can_receive_role (self))
    {
      g_set_error (error, POST_ERROR, POST_ERROR_WRONG_ROLE,
                   "A %s cannot receive%s", _post_carrier_role_name (self->role),
                   self->role == POST_CARRIER_ROLE_LISTENER ? ": accepted carriers arrive by the incoming signal" : "");
      return FALSE;
    }
  return TRUE;
}

void
_post_carrier_set_state (PostCarrier      *self,
                         PostCarrierState  state)
{
  if (self->state == state)
    return;
  self->state = state;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

/* ---- GObject ------------------------------------------------------------- */

void
_post_carrier_detach_transient (PostCarrier *self)
{
  if (self->transient == NULL)
    return;
  self->fork_watch = FALSE;
  g_object_run_dispose (G_OBJECT (self->transient));
  g_clear_object (&self->transient);
}

static void
post_carrier_dispose (GObject *object)
{
  PostCarrier *self = POST_CARRIER (object);

  if (self->establishment != NULL)
    _post_establishment_cancel (self->establishment);
  _post_source_clear (&self->establish_source);
  if (self->listen_psi != NULL)
    {
      g_clear_signal_handler (&self->accepted_id, self->listen_psi);
      post_psi_close (self->listen_psi, FALSE);
      g_clear_object (&self->listen_psi);
    }
  _post_carrier_stop_path_watch (self);
  _post_carrier_fork_state_closed (self, NULL);
  g_clear_pointer (&self->held_timeout, _post_carrier_clear_source_free);
  g_clear_pointer (&self->held_idle, _post_carrier_clear_source_free);
  g_clear_pointer (&self->forks_out, g_hash_table_unref);
  g_clear_pointer (&self->fork_tokens, g_hash_table_unref);
  g_clear_pointer (&self->held_children, g_hash_table_unref);
  g_clear_pointer (&self->refused_peers, _post_refused_peers_free);
  g_clear_pointer (&self->listener_link, g_rc_box_release);
  if (self->accepted_link != NULL)
    {
      /* Its carriers no longer see it. */
      self->accepted_link->listener = NULL;
      g_clear_pointer (&self->accepted_link, g_rc_box_release);
    }
  _post_carrier_detach_transient (self);
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

  g_queue_clear_full (&self->requests, (GDestroyNotify) _post_carrier_receive_request_free);
  g_queue_clear_full (&self->inbox, (GDestroyNotify) _post_carrier_inbox_entry_free);
  g_queue_clear_full (&self->establish_tasks, g_object_unref);
  g_queue_clear_full (&self->close_tasks, g_object_unref);
  g_clear_object (&self->local);
  g_clear_object (&self->remote);
  g_clear_object (&self->configuration);
  g_clear_error (&self->error);
  g_clear_error (&self->held_end_error);
  g_clear_pointer (&self->stack_name, g_free);
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
  _post_carrier_signals[CARRIER_SIGNAL_INCOMING] =
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
  _post_carrier_signals[CARRIER_SIGNAL_CLOSED] =
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
  _post_carrier_signals[CARRIER_SIGNAL_SENT] =
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
  _post_carrier_signals[CARRIER_SIGNAL_ACKED] =
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
  _post_carrier_signals[CARRIER_SIGNAL_EXPIRED] =
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
  _post_carrier_signals[CARRIER_SIGNAL_SEND_ERROR] =
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
  _post_carrier_signals[CARRIER_SIGNAL_PATH_CHANGED] =
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
  _post_carrier_signals[CARRIER_SIGNAL_PATH_ADDED] =
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
  _post_carrier_signals[CARRIER_SIGNAL_PATH_REMOVED] =
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
  _post_carrier_signals[CARRIER_SIGNAL_SOFT_ERROR] =
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
  _post_carrier_signals[CARRIER_SIGNAL_RECEIVE_ERROR] =
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

PostCarrier *
_post_carrier_new (PostCarrierRole    role,
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

void
_post_carrier_set_stack_name (PostCarrier *self,
                              const char  *name)
{
  if (g_strcmp0 (self->stack_name, name) == 0)
    return;
  g_free (self->stack_name);
  self->stack_name = g_strdup (name);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STACK_NAME]);
}

/* ---- establishment -------------------------------------------------------- */

void
_post_carrier_complete_establish_tasks (PostCarrier  *self,
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

/* The transport's security details change with the transport. */
static void
notify_peer_details (PostCarrier *self)
{
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PEER_CERTIFICATE]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PEER_CERTIFICATE_ERRORS]);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NEGOTIATED_PROTOCOL]);
}

void
_post_carrier_activate (PostCarrier   *self,
                        PostPsi       *psi,
                        PostCandidate *winner)
{
  PostPath *path = NULL;

  g_object_ref (self);
  _post_carrier_set_stack_name (self, post_stack_get_name (post_psi_get_stack (psi)));
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
  self->fork_watch = TRUE;   /* _post_carrier_transient_fork_request() */
  _post_carrier_set_state (self, POST_CARRIER_STATE_ACTIVE);
  _post_transient_attach (self->transient, psi, path);
  notify_peer_details (self);
  /* A fork's transport (offered): FORK(token) is its first frame. */
  if (_post_carrier_fork_wait_token (self) != NULL)
    _post_carrier_send_fork_control (self, 0x04 /* FORK */, 0, _post_carrier_fork_wait_token (self));
  _post_carrier_start_path_watch (self, psi);
  _post_carrier_complete_establish_tasks (self, NULL);
  if (self->close_requested && self->state == POST_CARRIER_STATE_ACTIVE)
    {
      _post_carrier_set_state (self, POST_CARRIER_STATE_CLOSING);
      _post_transient_close (self->transient);
    }
  g_object_unref (self);
}

static void
establishment_failed (PostCarrier *self,
                      GError      *error)
{
  g_autoptr(GError) owned = error;

  if (self->state == POST_CARRIER_STATE_CLOSED)
    return;
  g_object_ref (self);
  _post_debug (self, NULL, NULL, "Establishment of %s failed: %s",
               self->remote ? post_remote_get_uri (self->remote) : "carrier", error->message);
  _post_carrier_complete_establish_tasks (self, error);
  _post_transient_fail_queue (self->transient, error);
  _post_carrier_set_closed (self, error);
  g_object_unref (self);
}

/* The association's history for establishment (PostEstablishmentHistoryFunc) */
static void
association_history (PostAssociation  *association,
                     const char      **last_stack,
                     GSocketAddress  **last_address,
                     GSocketAddress  **last_local_address)
{
  *last_stack = post_association_get_last_stack (association);
  *last_address = _post_association_get_last_address (association);
  *last_local_address = _post_association_get_last_local_address (association);
}

/* The race ended without a transport for this carrier: the messages it
 * offered as 0-RTT data queue again (PostEarlyDataReturnFunc). */
static void
return_early_data (gpointer user_data)
{
  PostCarrier *self = user_data;

  if (self->transient != NULL && !_post_transient_is_attached (self->transient))
    _post_transient_return_early_data (self->transient);
}

/* How establishment ended (PostEstablishedFunc) */
static void
established_cb (PostPsi       *psi,
                PostCandidate *winner,
                const GError  *error,
                gpointer       user_data)
{
  PostCarrier *self = user_data;

  self->establishment = NULL;
  if (psi == NULL)
    {
      if (self->state != POST_CARRIER_STATE_CLOSED)
        establishment_failed (self, g_error_copy (error));
    }
  else if (self->state == POST_CARRIER_STATE_CLOSED)
    post_psi_close (psi, TRUE);
  else
    _post_carrier_activate (self, psi, winner);
}

/* Establishment (post-establishment.c): one at a time; from the idle after
 * initiate, post_carrier_establish_async() on a DORMANT carrier, or a path
 * loss. */
void
_post_carrier_start_establishment (PostCarrier *self)
{
  g_autoptr(GError) error = NULL;
  PostEstablishmentRequest request = { 0, };

  if (self->establishment != NULL || self->state == POST_CARRIER_STATE_CLOSED)
    return;

  request.role = self->role;
  request.local = self->local;
  request.remote = self->remote;
  request.configuration = self->configuration;
  request.association = self->association;
  request.history = association_history;
  request.log_carrier = self;
  request.early_source = G_OBJECT (self->transient);
  request.take_early_data = (PostEarlyDataFunc) _post_transient_take_early_data;
  request.context = self->context;
  self->initiate_time = g_get_monotonic_time ();
  self->establishment = _post_establishment_start (&request, established_cb, return_early_data,
                                                   g_object_ref (self), g_object_unref, &error);
  if (self->establishment == NULL && error != NULL)
    establishment_failed (self, g_steal_pointer (&error));
}

static gboolean
establish_idle_cb (gpointer user_data)
{
  PostCarrier *self = user_data;

  g_clear_pointer (&self->establish_source, g_source_unref);
  _post_carrier_start_establishment (self);
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

PostCarrier *
_post_carrier_initiate_with_role (PostCarrierRole    role,
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
  self = _post_carrier_new (role, local, remote, configuration);
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

  return _post_carrier_initiate_with_role (POST_CARRIER_ROLE_CARRIER, local, remote, configuration, NULL);
}

PostCarrier *
_post_carrier_initiate_on_association (PostAssociation *association)
{
  return _post_carrier_initiate_with_role (POST_CARRIER_ROLE_CARRIER, NULL,
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

  return _post_carrier_initiate_with_role (POST_CARRIER_ROLE_SOURCE, local, remote, configuration, NULL);
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
      /* (what is under way finishes for nothing: the carrier is closed) */
      if (self->establishment != NULL)
        _post_establishment_forget (g_steal_pointer (&self->establishment));
      establishment_failed (self, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                       "The establishment was cancelled"));
      return;
    }
  _post_source_clear (&self->establish_source);
  if (self->establishment != NULL)
    {
      /* Nothing more is reported to the carrier. */
      PostEstablishment *establishment = g_steal_pointer (&self->establishment);

      _post_establishment_forget (establishment);
      _post_establishment_cancel (establishment);
    }
  error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                               "The establishment was cancelled; "
                               "post_carrier_establish_async() starts it again");
  g_clear_error (&self->error);
  self->error = g_error_copy (error);
  _post_carrier_set_state (self, POST_CARRIER_STATE_DORMANT);
  _post_carrier_drain_requests_after_close (self);
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
  if (_post_carrier_return_if_cancelled (task))
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

        _post_carrier_check_usable (self, TRUE, &error);
        if (error == NULL)
          error = g_error_new_literal (POST_ERROR, POST_ERROR_CLOSED, "The carrier is closing");
        g_task_return_error (task, error);
        return;
      }
    case POST_CARRIER_STATE_DORMANT:
      {
        _post_carrier_set_state (self, POST_CARRIER_STATE_ESTABLISHING);
        _post_task_watch_cancel (task, establish_cancelled, self);
        g_queue_push_tail (&self->establish_tasks, g_steal_pointer (&task));
        _post_carrier_start_establishment (self);
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
