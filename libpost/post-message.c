/* post-message.c: PostMessage, the unit of communication
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "post-values-private.h"

/**
 * PostMessage:
 *
 * A message (draft section 2.2): content plus the properties that tell the
 * stack how to treat it — lifetime, niceness, antecedents, idempotence and
 * immediacy.
 *
 * An outgoing message can be changed until it is queued on a carrier; its
 * setters then fail with %POST_ERROR_IMMUTABLE.  Its #PostMessage::sent,
 * #PostMessage::acked and #PostMessage::expired signals report what
 * happened to it; the same events are also emitted on the carrier, whose
 * handlers serve as carrier-wide defaults (`OnSent`, `OnAcked`,
 * `OnExpired` in the draft).  A stack that cannot report an event says so
 * in [method@Post.Carrier.get_capabilities].
 *
 * A received message holds what arrived.  When it was received in parts
 * (post_carrier_receive_partial_async()) the same #PostMessage is the
 * handle of every part, and post_message_is_complete() tells whether the
 * last part has arrived.
 *
 * Once the application's handler returns, a received message that it did
 * not keep (no reference, signal handler, weak reference or data attached)
 * may be reset and reused for a later message of the same carrier: keep a
 * reference to use a message after the callback that received it.
 */

struct _PostMessage
{
  GObject         parent_instance;

  GBytes         *content;          /* (owned) */
  gint64          lifetime;         /* µs, 0 = infinite */
  guint           niceness;
  GPtrArray      *antecedents;      /* (owned) (element-type PostMessage) (nullable) */
  gint64          deadline;         /* monotonic µs, 0 = none; set when queued */
  guint64         sequence;
  GSocketAddress *remote_address;   /* (owned) (nullable); received messages */
  GVariant       *metadata;         /* (owned) (nullable): a{sv} */

  guint           idempotent : 1;
  guint           immediate : 1;
  guint           outgoing : 1;
  guint           queued : 1;
  guint           complete : 1;
  guint           sent : 1;
  guint           acked : 1;
  guint           expired : 1;
  guint           failed : 1;
  guint           unreliable : 1;   /* RFC 9622 msgReliable false */
};

G_DEFINE_FINAL_TYPE (PostMessage, post_message, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_CONTENT,
  PROP_LIFETIME,
  PROP_NICENESS,
  PROP_IDEMPOTENT,
  PROP_IMMEDIATE,
  PROP_COMPLETE,
  PROP_SENT,
  PROP_ACKED,
  PROP_EXPIRED,
  PROP_REMOTE_ADDRESS,
  PROP_RELIABLE,
  PROP_METADATA,
  N_PROPS
};

enum {
  SIGNAL_SENT,
  SIGNAL_ACKED,
  SIGNAL_EXPIRED,
  SIGNAL_SEND_ERROR,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static GBytes *
empty_bytes (void)
{
  return g_bytes_new_static ("", 0);
}

static void
post_message_finalize (GObject *object)
{
  PostMessage *self = POST_MESSAGE (object);

  g_clear_pointer (&self->content, g_bytes_unref);
  g_clear_pointer (&self->antecedents, g_ptr_array_unref);
  g_clear_object (&self->remote_address);
  g_clear_pointer (&self->metadata, g_variant_unref);

  G_OBJECT_CLASS (post_message_parent_class)->finalize (object);
}

static void
post_message_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  PostMessage *self = POST_MESSAGE (object);

  switch (prop_id)
    {
    case PROP_CONTENT:
      g_value_set_boxed (value, self->content);
      break;
    case PROP_LIFETIME:
      g_value_set_int64 (value, self->lifetime);
      break;
    case PROP_NICENESS:
      g_value_set_uint (value, self->niceness);
      break;
    case PROP_IDEMPOTENT:
      g_value_set_boolean (value, self->idempotent);
      break;
    case PROP_RELIABLE:
      g_value_set_boolean (value, !self->unreliable);
      break;
    case PROP_IMMEDIATE:
      g_value_set_boolean (value, self->immediate);
      break;
    case PROP_COMPLETE:
      g_value_set_boolean (value, self->complete);
      break;
    case PROP_SENT:
      g_value_set_boolean (value, self->sent);
      break;
    case PROP_ACKED:
      g_value_set_boolean (value, self->acked);
      break;
    case PROP_EXPIRED:
      g_value_set_boolean (value, self->expired);
      break;
    case PROP_REMOTE_ADDRESS:
      g_value_set_object (value, self->remote_address);
      break;
    case PROP_METADATA:
      g_value_set_variant (value, self->metadata);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
warn_if_error (GError *error)
{
  if (error != NULL)
    {
      g_warning ("%s", error->message);
      g_error_free (error);
    }
}

static void
post_message_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  PostMessage *self = POST_MESSAGE (object);
  GError *error = NULL;

  switch (prop_id)
    {
    case PROP_CONTENT:
      if (g_value_get_boxed (value) != NULL)
        post_message_set_content (self, g_value_get_boxed (value), &error);
      break;
    case PROP_LIFETIME:
      post_message_set_lifetime (self, g_value_get_int64 (value), &error);
      break;
    case PROP_NICENESS:
      post_message_set_niceness (self, g_value_get_uint (value), &error);
      break;
    case PROP_IDEMPOTENT:
      post_message_set_idempotent (self, g_value_get_boolean (value), &error);
      break;
    case PROP_RELIABLE:
      post_message_set_reliable (self, g_value_get_boolean (value), &error);
      break;
    case PROP_IMMEDIATE:
      post_message_set_immediate (self, g_value_get_boolean (value), &error);
      break;
    case PROP_METADATA:
      post_message_set_metadata (self, g_value_get_variant (value), &error);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
  warn_if_error (error);
}

static void
post_message_class_init (PostMessageClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = post_message_finalize;
  object_class->get_property = post_message_get_property;
  object_class->set_property = post_message_set_property;

  /**
   * PostMessage:content:
   *
   * The message's bytes (for a message received in parts: the latest part).
   */
  properties[PROP_CONTENT] =
    g_param_spec_boxed ("content", NULL, NULL, G_TYPE_BYTES,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * PostMessage:lifetime:
   *
   * How long, in microseconds from when it is queued, the message is worth
   * delivering; 0 for ever.  A message whose lifetime passes before it is
   * transmitted is dropped and #PostMessage::expired fires.  On a stack
   * with partial reliability (sctp's PR-SCTP), an unreliable message
   * (#PostMessage:reliable %FALSE) whose lifetime passes after it was
   * transmitted but before the peer acknowledged it is abandoned by the
   * stack: #PostMessage::expired fires then, after #PostMessage::sent.
   */
  properties[PROP_LIFETIME] =
    g_param_spec_int64 ("lifetime", NULL, NULL, 0, G_MAXINT64, 0,
                        G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * PostMessage:niceness:
   *
   * The message's priority class: 0 (the default) is the most important;
   * messages of niceness n+1 yield to those of niceness n on the same carrier.
   */
  properties[PROP_NICENESS] =
    g_param_spec_uint ("niceness", NULL, NULL, 0, G_MAXUINT, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * PostMessage:idempotent:
   *
   * The message is safe to receive more than once, so it may travel as
   * 0-RTT data.
   */
  properties[PROP_IDEMPOTENT] =
    g_param_spec_boolean ("idempotent", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * PostMessage:reliable:
   *
   * RFC 9622 `msgReliable`: whether the message must arrive (the default).
   * A message that need not, and has a lifetime, travels as an unreliable
   * datagram where the carrier's stack offers them for it
   * (%POST_STACK_CAP_PER_MSG_RELIABILITY; QUIC DATAGRAM frames): it is
   * never retransmitted, and expires when its lifetime passes before it
   * could be sent.  Otherwise (no such stack, no lifetime, or larger than
   * the datagrams the peer accepts) it is sent reliably, which is never a
   * worse service.  An application that needs per-message reliability
   * requires the selection property `per-msg-reliability`, so that only
   * stacks that offer it are chosen.  (RFC 9622 makes changing
   * `msgReliable` on a connection without `perMsgReliability` an error;
   * libpost takes the documented soft fallback above instead, so that a
   * message prepared for any carrier can be sent on every carrier.)
   */
  properties[PROP_RELIABLE] =
    g_param_spec_boolean ("reliable", NULL, NULL, TRUE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * PostMessage:immediate:
   *
   * Send the message at once, in its own packet when possible, instead of
   * waiting to combine it with others.
   */
  properties[PROP_IMMEDIATE] =
    g_param_spec_boolean ("immediate", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * PostMessage:complete:
   *
   * Whether the whole message is here (always, for outgoing messages).
   */
  properties[PROP_COMPLETE] =
    g_param_spec_boolean ("complete", NULL, NULL, TRUE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * PostMessage:was-sent: (getter is_sent)
   *
   * The message was handed to the network (the #PostMessage::sent signal
   * tells when).  Named `was-sent` so that, in bindings, it clashes
   * neither with that signal nor with post_message_is_sent().
   */
  properties[PROP_SENT] =
    g_param_spec_boolean ("was-sent", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * PostMessage:was-acked: (getter is_acked)
   *
   * The peer's transport acknowledged the message (stacks with
   * %POST_STACK_CAP_EVENT_ACKED).  Acknowledgements are tracked for a
   * message that has a handler for #PostMessage::acked or `notify::was-acked`,
   * or whose carrier has one for #PostCarrier::acked, when it is sent;
   * otherwise this stays %FALSE.
   */
  properties[PROP_ACKED] =
    g_param_spec_boolean ("was-acked", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * PostMessage:has-expired: (getter is_expired)
   *
   * The message's lifetime passed before it could be sent, or before the
   * peer acknowledged it on a stack that abandons it then (the
   * #PostMessage::expired signal tells when).
   */
  properties[PROP_EXPIRED] =
    g_param_spec_boolean ("has-expired", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * PostMessage:remote-address:
   *
   * For a received message: the address it came from, when known.
   */
  properties[PROP_REMOTE_ADDRESS] =
    g_param_spec_object ("remote-address", NULL, NULL, G_TYPE_SOCKET_ADDRESS,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * PostMessage:metadata:
   *
   * Typed metadata of the message for the framers of its carrier, a
   * dictionary (`a{sv}`) of named values, or %NULL for none: on an
   * outgoing message, what a framer reads when it frames it (an HTTP
   * framer's method, target and header fields, say); on a received one,
   * what the framer that decoded it found.  Only framers read and write
   * it: a carrier without one (stream mode, message stacks) and
   * [class@Post.LengthPrefixFramer] do not send it.  docs/framing.md,
   * "Typed messages", lists the keys of the framers libpost ships.
   */
  properties[PROP_METADATA] =
    g_param_spec_variant ("metadata", NULL, NULL, G_VARIANT_TYPE_VARDICT, NULL,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * PostMessage::sent:
   * @self: the message
   *
   * The message was handed to the network.
   */
  signals[SIGNAL_SENT] =
    g_signal_new ("sent", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /**
   * PostMessage::acked:
   * @self: the message
   *
   * The peer's transport acknowledged every byte of the message.
   */
  signals[SIGNAL_ACKED] =
    g_signal_new ("acked", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /**
   * PostMessage::expired:
   * @self: the message
   *
   * The message's lifetime passed before it was transmitted (or one of its
   * antecedents expired); it was dropped.  On a stack with partial
   * reliability (sctp), also an unreliable message the stack abandoned
   * because its lifetime passed before the peer acknowledged it: then it
   * comes after #PostMessage::sent, and the message did not arrive.
   */
  signals[SIGNAL_EXPIRED] =
    g_signal_new ("expired", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
  /**
   * PostMessage::send-error:
   * @self: the message
   * @error: what went wrong
   *
   * The message could not be sent (the carrier closed or failed first, or
   * the stack cannot carry it).
   */
  signals[SIGNAL_SEND_ERROR] =
    g_signal_new ("send-error", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_ERROR);
}

static void
post_message_init (PostMessage *self)
{
  self->complete = TRUE;
  self->outgoing = TRUE;
}

/**
 * post_message_new:
 * @content: (nullable): the message's bytes
 *
 * Creates an outgoing message with the default properties: no lifetime,
 * niceness 0, not idempotent, not immediate, reliable.
 *
 * Returns: (transfer full): a new #PostMessage
 */
PostMessage *
post_message_new (GBytes *content)
{
  PostMessage *self = g_object_new (POST_TYPE_MESSAGE, NULL);

  self->content = content ? g_bytes_ref (content) : empty_bytes ();
  return self;
}

/**
 * post_message_new_from_data:
 * @data: (array length=size) (element-type guint8) (nullable): the bytes
 * @size: how many
 *
 * Creates an outgoing message whose content is a copy of the @size bytes
 * at @data, with the default properties (no lifetime limit, niceness 0,
 * reliable, neither idempotent nor immediate). @data may be %NULL only
 * when @size is 0.
 *
 * Returns: (transfer full): a new message holding a copy of @data
 */
PostMessage *
post_message_new_from_data (const void *data,
                            gsize       size)
{
  g_autoptr(GBytes) bytes = g_bytes_new (data, size);

  return post_message_new (bytes);
}

/**
 * post_message_new_from_string:
 * @text: a string; its terminating NUL is not part of the message
 *
 * Creates an outgoing message whose content is the bytes of @text, a
 * convenience for text protocols; the message holds a copy.
 *
 * Returns: (transfer full): a new message holding @text
 */
PostMessage *
post_message_new_from_string (const char *text)
{
  g_return_val_if_fail (text != NULL, NULL);

  return post_message_new_from_data (text, strlen (text));
}

PostMessage *
_post_message_new_received (GBytes         *content,
                            gboolean        complete,
                            guint64         sequence,
                            GSocketAddress *remote_address)
{
  return _post_message_new_received_reusing (NULL, content, complete, sequence, remote_address);
}

PostMessage *
_post_message_new_received_reusing (PostMessage   **spare,
                                    GBytes         *content,
                                    gboolean        complete,
                                    guint64         sequence,
                                    GSocketAddress *remote_address)
{
  PostMessage *self = spare != NULL ? g_steal_pointer (spare) : NULL;

  if (self == NULL)
    self = g_object_new (POST_TYPE_MESSAGE, NULL);
  self->outgoing = FALSE;
  self->queued = TRUE;   /* received messages are read-only */
  self->content = content ? g_bytes_ref (content) : empty_bytes ();
  self->complete = complete;
  self->sequence = sequence;
  if (remote_address != NULL)
    self->remote_address = g_object_ref (remote_address);
  return self;
}

/* Whether nothing can tell @self from a new object once it is reset:
 * the caller holds the only reference, and no handler, weak reference or
 * data is attached to it (all of which live in the instance's qdata or
 * the signal system's handler lists). */
static gboolean
is_unobserved (PostMessage *self)
{
  static guint notify_id;

  if (g_atomic_int_get (&G_OBJECT (self)->ref_count) != 1
      || ((gsize) G_OBJECT (self)->qdata & ~(gsize) 7) != 0)   /* (flag bits aside) */
    return FALSE;
  if (G_UNLIKELY (notify_id == 0))
    notify_id = g_signal_lookup ("notify", G_TYPE_OBJECT);
  /* Two look-ups cover every handler, blocked or not: those of notify
   * (of any detail), and those without a detail, of any signal, which
   * include all of the message's own signals (none of them is detailed). */
  return g_signal_handler_find (self, G_SIGNAL_MATCH_ID, notify_id, 0, NULL, NULL, NULL) == 0
         && g_signal_handler_find (self, G_SIGNAL_MATCH_DETAIL, 0, 0, NULL, NULL, NULL) == 0;
}

void
_post_message_release_received (PostMessage **spare,
                                PostMessage  *self)
{
  if (self == NULL)
    return;
  if (*spare != NULL || self->outgoing || !is_unobserved (self))
    {
      g_object_unref (self);
      return;
    }
  /* Kept for the next message received: a GObject's construction and
   * destruction cost more than the rest of a hop's bookkeeping. */
  g_clear_pointer (&self->content, g_bytes_unref);
  g_clear_object (&self->remote_address);
  g_clear_pointer (&self->metadata, g_variant_unref);
  self->sequence = 0;
  self->complete = TRUE;
  *spare = self;
}

void
_post_message_set_received_part (PostMessage *self,
                                 GBytes      *part,
                                 gboolean     complete)
{
  g_return_if_fail (!self->outgoing);

  g_bytes_unref (self->content);
  self->content = g_bytes_ref (part);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONTENT]);
  if (self->complete != (guint) !!complete)
    {
      self->complete = !!complete;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_COMPLETE]);
    }
}

static gboolean
check_mutable (PostMessage  *self,
               GError      **error)
{
  if (self->queued)
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_IMMUTABLE,
                           self->outgoing
                           ? "The message was already queued for sending and can no longer change"
                           : "A received message cannot be changed");
      return FALSE;
    }
  return TRUE;
}

/**
 * post_message_get_content:
 * @self: a #PostMessage
 *
 * Gets the content of the message. For a message received in parts it is
 * the latest part. The bytes belong to the message; take a reference with
 * g_bytes_ref() to keep them.
 *
 * Returns: (transfer none): the message's bytes
 */
GBytes *
post_message_get_content (PostMessage *self)
{
  g_return_val_if_fail (POST_IS_MESSAGE (self), NULL);
  return self->content;
}

/**
 * post_message_set_content:
 * @self: a #PostMessage
 * @content: the new bytes
 * @error: return location for an error
 *
 * Replaces the content of an outgoing message; the message takes a
 * reference to @content.
 *
 * Fails with %POST_ERROR_IMMUTABLE once the message is queued on a
 * carrier, and for a received message.
 *
 * Returns: %TRUE, or %FALSE if the message was already queued
 */
gboolean
post_message_set_content (PostMessage  *self,
                          GBytes       *content,
                          GError      **error)
{
  g_return_val_if_fail (POST_IS_MESSAGE (self), FALSE);
  g_return_val_if_fail (content != NULL, FALSE);

  if (!check_mutable (self, error))
    return FALSE;
  if (self->content != content)
    {
      g_bytes_unref (self->content);
      self->content = g_bytes_ref (content);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONTENT]);
    }
  return TRUE;
}

/**
 * post_message_get_size:
 * @self: a #PostMessage
 *
 * Gets the size of the message's content (for a message received in parts,
 * of the latest part).
 *
 * Returns: the size of the content in bytes
 */
gsize
post_message_get_size (PostMessage *self)
{
  g_return_val_if_fail (POST_IS_MESSAGE (self), 0);
  return g_bytes_get_size (self->content);
}

/**
 * post_message_is_complete:
 * @self: a #PostMessage
 *
 * Tells whether the last part of a received message has arrived. A message
 * received with post_carrier_receive_partial_async(), or one larger than
 * the configuration's `recv-msg-max-len`, arrives in parts, each handed
 * out on the same #PostMessage.
 *
 * Returns: whether the whole message has arrived (always %TRUE for
 *   outgoing messages)
 */
gboolean
post_message_is_complete (PostMessage *self)
{
  g_return_val_if_fail (POST_IS_MESSAGE (self), FALSE);
  return self->complete;
}

/**
 * post_message_get_lifetime:
 * @self: a #PostMessage
 *
 * Gets how long, from when it is queued, the message is worth delivering;
 * a message whose lifetime passes before it is transmitted is dropped and
 * #PostMessage::expired is emitted. See #PostMessage:lifetime.
 *
 * Returns: the lifetime in microseconds, or %POST_MESSAGE_LIFETIME_INFINITE
 */
gint64
post_message_get_lifetime (PostMessage *self)
{
  g_return_val_if_fail (POST_IS_MESSAGE (self), 0);
  return self->lifetime;
}

/**
 * post_message_set_lifetime:
 * @self: a #PostMessage
 * @lifetime_us: microseconds, or %POST_MESSAGE_LIFETIME_INFINITE
 * @error: return location for an error
 *
 * Sets how long, from when it is queued, the message is worth delivering
 * (draft section 2.2); 0 means for ever. A message whose lifetime passes
 * before it is transmitted is dropped and #PostMessage::expired is
 * emitted.
 *
 * Fails with %POST_ERROR_IMMUTABLE once the message is queued, and with
 * %POST_ERROR_INVALID_ARGUMENT for a negative lifetime.
 *
 * Returns: %TRUE, or %FALSE if the message was already queued or the
 *   lifetime is negative
 */
gboolean
post_message_set_lifetime (PostMessage  *self,
                           gint64        lifetime_us,
                           GError      **error)
{
  g_return_val_if_fail (POST_IS_MESSAGE (self), FALSE);

  if (!check_mutable (self, error))
    return FALSE;
  if (lifetime_us < 0)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                   "A lifetime cannot be negative (%" G_GINT64_FORMAT " µs)", lifetime_us);
      return FALSE;
    }
  if (self->lifetime != lifetime_us)
    {
      self->lifetime = lifetime_us;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LIFETIME]);
    }
  return TRUE;
}

/**
 * post_message_get_niceness:
 * @self: a #PostMessage
 *
 * Gets the message's priority class: messages of niceness n+1 yield to
 * those of niceness n on the same carrier (and, on quic, across the
 * streams of a connection).
 *
 * Returns: the niceness; 0 is the most important
 */
guint
post_message_get_niceness (PostMessage *self)
{
  g_return_val_if_fail (POST_IS_MESSAGE (self), 0);
  return self->niceness;
}

/**
 * post_message_set_niceness:
 * @self: a #PostMessage
 * @niceness: the priority class; 0 is the most important
 * @error: return location for an error
 *
 * Sets the message's priority class (draft section 2.2): messages of
 * niceness n+1 yield to those of niceness n queued on the same carrier.
 *
 * Fails with %POST_ERROR_IMMUTABLE once the message is queued.
 *
 * Returns: %TRUE, or %FALSE if the message was already queued
 */
gboolean
post_message_set_niceness (PostMessage  *self,
                           guint         niceness,
                           GError      **error)
{
  g_return_val_if_fail (POST_IS_MESSAGE (self), FALSE);

  if (!check_mutable (self, error))
    return FALSE;
  if (self->niceness != niceness)
    {
      self->niceness = niceness;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_NICENESS]);
    }
  return TRUE;
}

/**
 * post_message_get_idempotent:
 * @self: a #PostMessage
 *
 * Tells whether the message is marked idempotent: safe to receive more
 * than once, so that a resumed session may send it as 0-RTT early data,
 * which an attacker can replay.
 *
 * Returns: whether the message may be received more than once
 */
gboolean
post_message_get_idempotent (PostMessage *self)
{
  g_return_val_if_fail (POST_IS_MESSAGE (self), FALSE);
  return self->idempotent;
}

/**
 * post_message_set_idempotent:
 * @self: a #PostMessage
 * @idempotent: whether it is safe to receive the message more than once
 * @error: return location for an error
 *
 * Marks the message idempotent or not (draft section 2.2): an idempotent
 * message is safe to receive more than once, so it may travel as 0-RTT
 * early data of a resumed session, which an attacker can replay.
 *
 * Fails with %POST_ERROR_IMMUTABLE once the message is queued.
 *
 * Returns: %TRUE, or %FALSE if the message was already queued
 */
gboolean
post_message_set_idempotent (PostMessage  *self,
                             gboolean      idempotent,
                             GError      **error)
{
  g_return_val_if_fail (POST_IS_MESSAGE (self), FALSE);

  if (!check_mutable (self, error))
    return FALSE;
  if (self->idempotent != (guint) !!idempotent)
    {
      self->idempotent = !!idempotent;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_IDEMPOTENT]);
    }
  return TRUE;
}

/**
 * post_message_get_reliable:
 * @self: a #PostMessage
 *
 * Tells whether the message must arrive (RFC 9622 `msgReliable`, %TRUE by
 * default). An unreliable message with a lifetime travels as an unreliable
 * datagram where the stack offers them; see #PostMessage:reliable.
 *
 * Returns: whether the message must be delivered (RFC 9622 `msgReliable`)
 */
gboolean
post_message_get_reliable (PostMessage *self)
{
  g_return_val_if_fail (POST_IS_MESSAGE (self), TRUE);
  return !self->unreliable;
}

/**
 * post_message_set_reliable:
 * @self: a #PostMessage
 * @reliable: whether the message must be delivered
 * @error: return location for an error
 *
 * See #PostMessage:reliable: an unreliable message with a lifetime goes
 * as a datagram where the stack offers them, else reliably.
 *
 * Returns: %TRUE, or %FALSE if the message was already queued
 */
gboolean
post_message_set_reliable (PostMessage  *self,
                           gboolean      reliable,
                           GError      **error)
{
  g_return_val_if_fail (POST_IS_MESSAGE (self), FALSE);

  if (!check_mutable (self, error))
    return FALSE;
  if (self->unreliable != (guint) !reliable)
    {
      self->unreliable = !reliable;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RELIABLE]);
    }
  return TRUE;
}

/**
 * post_message_get_immediate:
 * @self: a #PostMessage
 *
 * Tells whether the message is sent at once, in a packet of its own where
 * the stack can, instead of waiting to be combined with later messages.
 *
 * Returns: whether the message is sent at once
 */
gboolean
post_message_get_immediate (PostMessage *self)
{
  g_return_val_if_fail (POST_IS_MESSAGE (self), FALSE);
  return self->immediate;
}

/**
 * post_message_set_immediate:
 * @self: a #PostMessage
 * @immediate: whether to send the message at once, on its own
 * @error: return location for an error
 *
 * Asks the carrier to send the message at once, ending its packet where
 * the stack can, instead of waiting to combine it with later messages.
 *
 * Fails with %POST_ERROR_IMMUTABLE once the message is queued.
 *
 * Returns: %TRUE, or %FALSE if the message was already queued
 */
gboolean
post_message_set_immediate (PostMessage  *self,
                            gboolean      immediate,
                            GError      **error)
{
  g_return_val_if_fail (POST_IS_MESSAGE (self), FALSE);

  if (!check_mutable (self, error))
    return FALSE;
  if (self->immediate != (guint) !!immediate)
    {
      self->immediate = !!immediate;
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_IMMEDIATE]);
    }
  return TRUE;
}

/**
 * post_message_get_antecedents:
 * @self: a #PostMessage
 *
 * Gets the messages added with post_message_add_antecedent(): those the
 * carrier must send before this one (draft section 2.2). The caller owns
 * the array, which holds a reference to each message.
 *
 * Returns: (transfer container) (element-type PostMessage): the messages
 *   that must be delivered before this one
 */
GPtrArray *
post_message_get_antecedents (PostMessage *self)
{
  GPtrArray *result;

  g_return_val_if_fail (POST_IS_MESSAGE (self), NULL);

  result = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; self->antecedents && i < self->antecedents->len; i++)
    g_ptr_array_add (result, g_object_ref (self->antecedents->pdata[i]));
  return result;
}

/* Whether @target is @message or one of its antecedents, transitively.
 * Iterative, and visiting each message once: antecedent graphs share
 * nodes (each message after the two before it has Fibonacci-many paths),
 * and chains can be long. */
static gboolean
depends_on (PostMessage *message,
            PostMessage *target)
{
  g_autoptr(GPtrArray) stack = NULL;
  g_autoptr(GHashTable) visited = NULL;

  if (message == target)
    return TRUE;
  if (message->antecedents == NULL || message->antecedents->len == 0)
    return FALSE;

  stack = g_ptr_array_new ();
  visited = g_hash_table_new (NULL, NULL);
  g_ptr_array_add (stack, message);
  g_hash_table_add (visited, message);
  while (stack->len > 0)
    {
      PostMessage *m = g_ptr_array_steal_index_fast (stack, stack->len - 1);

      for (guint i = 0; m->antecedents && i < m->antecedents->len; i++)
        {
          PostMessage *a = m->antecedents->pdata[i];

          if (a == target)
            return TRUE;
          if (g_hash_table_add (visited, a))
            g_ptr_array_add (stack, a);
        }
    }
  return FALSE;
}

/**
 * post_message_add_antecedent:
 * @self: a #PostMessage
 * @antecedent: a message that must be delivered before @self
 * @error: return location for an error
 *
 * Makes @self depend on @antecedent: on a carrier, @self is not sent before
 * @antecedent, and if @antecedent expires or fails, so does @self (it is
 * dropped with the `expired` event).  @antecedent must be sent (queued on
 * a carrier) before @self: sending @self while an antecedent was never
 * queued fails at once with %POST_ERROR_INVALID_ARGUMENT rather than wait
 * for ever, and sending it after an antecedent failed fails at once with
 * %POST_ERROR_EXPIRED.
 *
 * Returns: %TRUE, or %FALSE if the message was already queued or the
 *   dependency would form a cycle
 */
gboolean
post_message_add_antecedent (PostMessage  *self,
                             PostMessage  *antecedent,
                             GError      **error)
{
  g_return_val_if_fail (POST_IS_MESSAGE (self), FALSE);
  g_return_val_if_fail (POST_IS_MESSAGE (antecedent), FALSE);

  if (!check_mutable (self, error))
    return FALSE;
  if (!antecedent->outgoing || depends_on (antecedent, self))
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                           antecedent->outgoing
                           ? "The antecedent depends on this message: that would be a cycle"
                           : "Only outgoing messages can be antecedents");
      return FALSE;
    }
  if (self->antecedents == NULL)
    self->antecedents = g_ptr_array_new_with_free_func (g_object_unref);
  g_ptr_array_add (self->antecedents, g_object_ref (antecedent));
  return TRUE;
}

/**
 * post_message_is_outgoing:
 * @self: a #PostMessage
 *
 * Tells whether @self was made by the application to be sent or was
 * received from the peer.
 *
 * Returns: %TRUE for a message to send, %FALSE for a received one
 */
gboolean
post_message_is_outgoing (PostMessage *self)
{
  g_return_val_if_fail (POST_IS_MESSAGE (self), FALSE);
  return self->outgoing;
}

/**
 * post_message_is_sent: (get-property was-sent)
 * @self: a #PostMessage
 *
 * Tells whether the message was handed to the network: its
 * #PostMessage::sent signal was emitted.
 *
 * Returns: whether the message was handed to the network
 */
gboolean
post_message_is_sent (PostMessage *self)
{
  g_return_val_if_fail (POST_IS_MESSAGE (self), FALSE);
  return self->sent;
}

/**
 * post_message_is_acked: (get-property was-acked)
 * @self: a #PostMessage
 *
 * Tells whether the peer's transport acknowledged the message (see
 * #PostMessage:was-acked for when acknowledgements are tracked).
 *
 * Returns: whether the peer's transport acknowledged the message
 */
gboolean
post_message_is_acked (PostMessage *self)
{
  g_return_val_if_fail (POST_IS_MESSAGE (self), FALSE);
  return self->acked;
}

/**
 * post_message_is_expired: (get-property has-expired)
 * @self: a #PostMessage
 *
 * Tells whether the message's lifetime passed before it was sent (or
 * before it was acknowledged, see #PostMessage::expired): its
 * #PostMessage::expired signal was emitted.
 *
 * Returns: whether the message expired (before it was sent, or before it
 *   was acknowledged on a stack that abandoned it)
 */
gboolean
post_message_is_expired (PostMessage *self)
{
  g_return_val_if_fail (POST_IS_MESSAGE (self), FALSE);
  return self->expired;
}

/**
 * post_message_get_sequence:
 * @self: a #PostMessage
 *
 * Gets the message's number in its direction of its carrier, which orders
 * messages in logs and replies.
 *
 * Returns: the message's number on its carrier, counting from 1 in each
 *   direction; 0 before it is queued, and for a message received as an
 *   unreliable datagram (#PostMessage:reliable), which has no place in the
 *   order of the carrier's stream
 */
guint64
post_message_get_sequence (PostMessage *self)
{
  g_return_val_if_fail (POST_IS_MESSAGE (self), 0);
  return self->sequence;
}

/**
 * post_message_get_remote_address:
 * @self: a #PostMessage
 *
 * Gets the address a received message came from, which tells the senders
 * of a sink or a udp listener apart. Outgoing messages have none. The
 * address belongs to the message.
 *
 * Returns: (transfer none) (nullable): where a received message came from
 */
GSocketAddress *
post_message_get_remote_address (PostMessage *self)
{
  g_return_val_if_fail (POST_IS_MESSAGE (self), NULL);
  return self->remote_address;
}

/**
 * post_message_get_metadata: (get-property metadata)
 * @self: a #PostMessage
 *
 * Gets the message's typed metadata (#PostMessage:metadata): a dictionary
 * of type `a{sv}` that the framers of a carrier read when they frame an
 * outgoing message, and that the framer which decoded a received message
 * filled in.  The value belongs to the message.
 *
 * Returns: (transfer none) (nullable): the metadata (`a{sv}`), or %NULL
 *   when the message has none
 */
GVariant *
post_message_get_metadata (PostMessage *self)
{
  g_return_val_if_fail (POST_IS_MESSAGE (self), NULL);
  return self->metadata;
}

/* Stores @metadata (NULL, or a{sv}; a floating reference is sunk) and
 * notifies when it changed. */
static void
store_metadata (PostMessage *self,
                GVariant    *metadata)
{
  g_autoptr(GVariant) old = g_steal_pointer (&self->metadata);

  self->metadata = metadata != NULL ? g_variant_ref_sink (metadata) : NULL;
  if (old != self->metadata
      && (old == NULL || self->metadata == NULL || !g_variant_equal (old, self->metadata)))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_METADATA]);
}

/**
 * post_message_set_metadata: (set-property metadata)
 * @self: a #PostMessage
 * @metadata: (nullable): a dictionary of type `a{sv}`, or %NULL for none
 * @error: return location for an error
 *
 * Sets the typed metadata that the carrier's framers read when they frame
 * the message (#PostMessage:metadata), replacing what it had.  A floating
 * @metadata is sunk, so `g_variant_new_parsed ("{'http-method': <'GET'>}")`
 * can be passed as it is; a value of another type than `a{sv}` is a
 * programming error.
 *
 * Fails with %POST_ERROR_IMMUTABLE once the message is queued, and for a
 * received message.
 *
 * Returns: %TRUE, or %FALSE if the message was already queued
 */
gboolean
post_message_set_metadata (PostMessage  *self,
                           GVariant     *metadata,
                           GError      **error)
{
  g_return_val_if_fail (POST_IS_MESSAGE (self), FALSE);
  g_return_val_if_fail (metadata == NULL || g_variant_is_of_type (metadata, G_VARIANT_TYPE_VARDICT),
                        FALSE);

  if (!check_mutable (self, error))
    {
      if (metadata != NULL)
        g_variant_unref (g_variant_ref_sink (metadata));
      return FALSE;
    }
  store_metadata (self, metadata);
  return TRUE;
}

/**
 * post_message_lookup_metadata_value:
 * @self: a #PostMessage
 * @key: the name of an entry of #PostMessage:metadata
 * @expected_type: (nullable): the type the value must have, or %NULL for any
 *
 * Looks up one entry of the message's metadata, as g_variant_lookup_value()
 * does in its dictionary.
 *
 * Returns: (transfer full) (nullable): the value of @key, or %NULL when the
 *   message has no metadata, no entry @key, or one of another type than
 *   @expected_type
 */
GVariant *
post_message_lookup_metadata_value (PostMessage        *self,
                                    const char         *key,
                                    const GVariantType *expected_type)
{
  g_return_val_if_fail (POST_IS_MESSAGE (self), NULL);
  g_return_val_if_fail (key != NULL, NULL);

  if (self->metadata == NULL)
    return NULL;
  return g_variant_lookup_value (self->metadata, key, expected_type);
}

/**
 * post_message_lookup_metadata: (skip)
 * @self: a #PostMessage
 * @key: the name of an entry of #PostMessage:metadata
 * @format_string: a GVariant format string for its value, as g_variant_get()
 *   takes
 * @...: the locations to unpack the value into
 *
 * Looks up one entry of the message's metadata and unpacks it, as
 * g_variant_lookup() does: `post_message_lookup_metadata (message,
 * "http-status", "u", &status)`.  Nothing is unpacked when the entry is
 * missing or its value does not match @format_string.
 *
 * Returns: %TRUE if @key was found with a value of that format
 */
gboolean
post_message_lookup_metadata (PostMessage *self,
                              const char  *key,
                              const char  *format_string,
                              ...)
{
  g_autoptr(GVariant) value = NULL;
  va_list ap;

  g_return_val_if_fail (POST_IS_MESSAGE (self), FALSE);
  g_return_val_if_fail (key != NULL && format_string != NULL, FALSE);

  if (self->metadata == NULL)
    return FALSE;
  value = g_variant_lookup_value (self->metadata, key, NULL);
  if (value == NULL || !g_variant_check_format_string (value, format_string, FALSE))
    return FALSE;
  va_start (ap, format_string);
  g_variant_get_va (value, format_string, NULL, &ap);
  va_end (ap);
  return TRUE;
}

/* The metadata a framer decoded for a received message (NULL for none;
 * a floating reference is sunk). */
void
_post_message_set_received_metadata (PostMessage *self,
                                     GVariant    *metadata)
{
  g_return_if_fail (!self->outgoing);
  g_return_if_fail (metadata == NULL || g_variant_is_of_type (metadata, G_VARIANT_TYPE_VARDICT));

  store_metadata (self, metadata);
}

gboolean
_post_message_mark_queued (PostMessage  *self,
                           guint64       sequence,
                           GError      **error)
{
  if (!self->outgoing)
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                           "A received message cannot be sent as it is; "
                           "create a new message from its content");
      return FALSE;
    }
  if (self->queued)
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_PENDING,
                           "The message was already queued for sending");
      return FALSE;
    }
  self->queued = TRUE;
  self->sequence = sequence;
  if (self->lifetime > 0)
    self->deadline = g_get_monotonic_time () + self->lifetime;
  return TRUE;
}

/* The send that marked it queued failed at once (a full queue, say): the
 * message was never queued and may be sent again. */
void
_post_message_unmark_queued (PostMessage *self)
{
  self->queued = FALSE;
  self->sequence = 0;
  self->deadline = 0;
}

gint64
_post_message_get_deadline (PostMessage *self)
{
  return self->deadline;
}

/* A message handed to a stack that does not report sent events
 * (no POST_STACK_CAP_EVENT_SENT): sent for its successors, no event. */
void
_post_message_set_sent_quietly (PostMessage *self)
{
  self->sent = TRUE;
}

void
_post_message_emit_sent (PostMessage *self)
{
  if (self->sent)
    return;
  self->sent = TRUE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SENT]);
  g_signal_emit (self, signals[SIGNAL_SENT], 0);
}

void
_post_message_emit_acked (PostMessage *self)
{
  if (self->acked)
    return;
  self->acked = TRUE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ACKED]);
  g_signal_emit (self, signals[SIGNAL_ACKED], 0);
}

void
_post_message_emit_expired (PostMessage *self)
{
  if (self->expired)
    return;
  self->expired = TRUE;
  self->failed = TRUE;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_EXPIRED]);
  g_signal_emit (self, signals[SIGNAL_EXPIRED], 0);
}

/* Returns whether it was emitted: a message fails once (a message sent in
 * parts has many items, each of which may fail). */
gboolean
_post_message_emit_send_error (PostMessage  *self,
                               const GError *error)
{
  if (self->failed)
    return FALSE;
  self->failed = TRUE;
  g_signal_emit (self, signals[SIGNAL_SEND_ERROR], 0, error);
  return TRUE;
}

/* When @self is queued: each antecedent must be queued already (on any
 * carrier), or @self would wait for it for ever; and none may have failed. */
gboolean
_post_message_check_antecedents (PostMessage  *self,
                                 GError      **error)
{
  for (guint i = 0; self->antecedents && i < self->antecedents->len; i++)
    {
      PostMessage *a = self->antecedents->pdata[i];

      if (!a->queued)
        {
          g_set_error_literal (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                               "An antecedent of the message was never sent: send each "
                               "antecedent before the messages that depend on it");
          return FALSE;
        }
      if (a->failed)
        {
          g_set_error_literal (error, POST_ERROR, POST_ERROR_EXPIRED,
                               "An antecedent of the message expired or failed");
          return FALSE;
        }
    }
  return TRUE;
}

/* Whether every antecedent has been sent; *failed is set when one of them
 * expired or failed, in which case this message can never be sent. */
gboolean
_post_message_antecedents_sent (PostMessage *self,
                                gboolean    *failed)
{
  *failed = FALSE;
  for (guint i = 0; self->antecedents && i < self->antecedents->len; i++)
    {
      PostMessage *a = self->antecedents->pdata[i];

      if (a->failed)
        {
          *failed = TRUE;
          return FALSE;
        }
      if (!a->sent)
        return FALSE;
    }
  return TRUE;
}

gboolean
_post_message_wants_acked (PostMessage *self)
{
  /* (looked up once: this runs for every message sent) */
  static guint notify_id;
  static gsize acked_quark;

  /* (g_signal_handler_find(), not g_signal_has_handler_pending(): these
   * signals have no class closure to look for, and this is the cheaper) */
  if (g_signal_handler_find (self, G_SIGNAL_MATCH_ID, signals[SIGNAL_ACKED], 0, NULL, NULL, NULL) != 0)
    return TRUE;
  if (g_once_init_enter (&acked_quark))
    {
      notify_id = g_signal_lookup ("notify", G_TYPE_OBJECT);
      g_once_init_leave (&acked_quark, g_quark_from_static_string ("was-acked"));
    }
  return g_signal_handler_find (self, G_SIGNAL_MATCH_ID | G_SIGNAL_MATCH_DETAIL, notify_id,
                                (GQuark) acked_quark, NULL, NULL, NULL) != 0;
}
