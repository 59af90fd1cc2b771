/* post-framer.c: PostFramer, message framing over byte streams
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "post-values-private.h"

/**
 * PostFramer:
 *
 * Turns messages into bytes and back on byte-stream stacks (draft section
 * 4.2).  Subclass it to speak an application protocol's framing, and set
 * the subclass's type on the [class@Post.Configuration] with
 * post_configuration_set_framer_type(); the carrier creates one instance per
 * transient.
 *
 * Decoding is incremental and tells how much input it consumed, so a
 * message of any size can be received in parts without being held whole,
 * and framing errors name what was wrong.
 *
 * A framer delivers typed messages through metadata: @encode reads the
 * outgoing message's #PostMessage:metadata, @decode reports what it found
 * in its chunk's `metadata` and the carrier puts it on the received
 * message.  Framers stack (RFC 9623 section 6): with
 * post_configuration_add_framer_type() a configuration holds several, the
 * output of each being the payload of the one below it.  A framer can
 * hand its place to another framer, or to nothing (pass-through), with
 * post_framer_replace(): after an HTTP upgrade the HTTP framer gives way to
 * a WebSocket framer, which decodes what the HTTP framer left unconsumed.
 * docs/framing.md, "Writing a `PostFramer`", has the rules.
 */

typedef struct
{
  PostFramer *input_replacement;   /* (owned) (nullable) */
  PostFramer *output_replacement;  /* (owned) (nullable) */
  guint       pending;             /* PostFramerDirection asked for, not yet taken */
  GByteArray *raw;                 /* (owned) (nullable): post_framer_send_raw(), not yet taken */
  gboolean    no_transform;        /* transform_payload has nothing to do (a stack says so) */
} PostFramerPrivate;

G_DEFINE_ABSTRACT_TYPE_WITH_PRIVATE (PostFramer, post_framer, G_TYPE_OBJECT)

static void
post_framer_dispose (GObject *object)
{
  PostFramerPrivate *priv = post_framer_get_instance_private (POST_FRAMER (object));

  g_clear_object (&priv->input_replacement);
  g_clear_object (&priv->output_replacement);
  g_clear_pointer (&priv->raw, g_byte_array_unref);
  G_OBJECT_CLASS (post_framer_parent_class)->dispose (object);
}

static void
post_framer_class_init (PostFramerClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = post_framer_dispose;
}

static void
post_framer_init (PostFramer *self)
{
}

/**
 * post_framer_encode:
 * @self: a #PostFramer
 * @message: (nullable): the message being sent, for its properties
 * @length: how many payload bytes follow the header
 * @end_of_message: whether these bytes end the message
 * @header: bytes to put before the payload are appended here
 * @trailer: bytes to put after the payload are appended here
 * @error: return location for an error
 *
 * Frames @length payload bytes of @message.
 *
 * Returns: %TRUE on success
 */
gboolean
post_framer_encode (PostFramer   *self,
                    PostMessage  *message,
                    gsize         length,
                    gboolean      end_of_message,
                    GByteArray   *header,
                    GByteArray   *trailer,
                    GError      **error)
{
  g_return_val_if_fail (POST_IS_FRAMER (self), FALSE);
  g_return_val_if_fail (header != NULL && trailer != NULL, FALSE);

  return POST_FRAMER_GET_CLASS (self)->encode (self, message, length, end_of_message,
                                               header, trailer, error);
}

/**
 * post_framer_decode:
 * @self: a #PostFramer
 * @data: (array length=size): input not yet consumed
 * @size: the size of @data
 * @end_of_stream: the peer ended the stream after @data
 * @chunk: (out caller-allocates): what was found
 * @error: return location for an error
 *
 * Parses input.  Call again with the unconsumed rest until it consumes
 * nothing.  The caller owns the chunk's `metadata` (never floating on
 * return) and must unref it.
 *
 * Returns: %TRUE on success, %FALSE for input that violates the framing
 */
gboolean
post_framer_decode (PostFramer      *self,
                    const guint8    *data,
                    gsize            size,
                    gboolean         end_of_stream,
                    PostFrameChunk  *chunk,
                    GError         **error)
{
  gboolean ok;

  g_return_val_if_fail (POST_IS_FRAMER (self), FALSE);
  g_return_val_if_fail (chunk != NULL, FALSE);

  memset (chunk, 0, sizeof *chunk);
  chunk->message_length = -1;
  ok = POST_FRAMER_GET_CLASS (self)->decode (self, data, size, end_of_stream, chunk, error);
  if (chunk->metadata != NULL)
    {
      g_variant_take_ref (chunk->metadata);
      if (!ok || !g_variant_is_of_type (chunk->metadata, G_VARIANT_TYPE_VARDICT))
        {
          if (ok)
            g_critical ("%s reported metadata of type %s, not a{sv}; it is ignored",
                        G_OBJECT_TYPE_NAME (self), g_variant_get_type_string (chunk->metadata));
          g_clear_pointer (&chunk->metadata, g_variant_unref);
        }
    }
  return ok;
}

/**
 * post_framer_reset:
 * @self: a #PostFramer
 *
 * Forgets any partial parsing state.
 */
void
post_framer_reset (PostFramer *self)
{
  g_return_if_fail (POST_IS_FRAMER (self));

  if (POST_FRAMER_GET_CLASS (self)->reset != NULL)
    POST_FRAMER_GET_CLASS (self)->reset (self);
}

/**
 * post_framer_replace:
 * @self: a #PostFramer
 * @replacement: (nullable) (transfer none): the framer that takes over, or
 *   %NULL for pass-through
 * @directions: the directions in which @replacement takes over
 *
 * Hands @self's place in its carrier's framers to @replacement (RFC 9623
 * section 6.1): how an HTTP framer gives way to a WebSocket framer after
 * an upgrade.  A framer calls it from its own vfuncs:
 *
 * - %POST_FRAMER_DIRECTION_INPUT: after the chunk that the current decode
 *   call returns (or, called elsewhere, before the next decode), the input
 *   @self did not consume goes to @replacement.  That must be a message
 *   boundary: the chunk ends a message, or none is open; otherwise the
 *   carrier fails with %POST_ERROR_PROTOCOL.
 * - %POST_FRAMER_DIRECTION_OUTPUT: every message framed after this call
 *   (a message is framed when it is queued) is framed by @replacement; the
 *   current encode call still frames its own.
 *
 * The two can happen at different times with the same @replacement: a
 * server's HTTP framer replaces its input when it decodes the upgrade
 * request and its output once it has framed the `101` response.
 * @replacement %NULL is RFC 9623's "start pass-through": @self leaves that
 * direction and the bytes pass through its place unchanged (with no framer
 * left, the rest of the input is one message, as in stream mode).
 *
 * Only a carrier acts on it (every configuration but one whose framer is
 * [class@Post.LengthPrefixFramer] alone, which never asks); a request that
 * was not taken yet is replaced by a later one for the same direction.
 */
void
post_framer_replace (PostFramer          *self,
                     PostFramer          *replacement,
                     PostFramerDirection  directions)
{
  PostFramerPrivate *priv;

  g_return_if_fail (POST_IS_FRAMER (self));
  g_return_if_fail (replacement == NULL || POST_IS_FRAMER (replacement));
  g_return_if_fail (replacement != self);
  g_return_if_fail ((directions & ~POST_FRAMER_DIRECTION_BOTH) == 0);

  priv = post_framer_get_instance_private (self);
  if (directions & POST_FRAMER_DIRECTION_INPUT)
    g_set_object (&priv->input_replacement, replacement);
  if (directions & POST_FRAMER_DIRECTION_OUTPUT)
    g_set_object (&priv->output_replacement, replacement);
  priv->pending |= directions;
}

/**
 * post_framer_start_passthrough:
 * @self: a #PostFramer
 * @directions: the directions in which @self stops framing
 *
 * RFC 9623's "start pass-through": @self leaves @directions, and the bytes
 * pass through its place unchanged; post_framer_replace() with no
 * replacement.
 */
void
post_framer_start_passthrough (PostFramer          *self,
                               PostFramerDirection  directions)
{
  post_framer_replace (self, NULL, directions);
}

/**
 * post_framer_send_raw:
 * @self: a #PostFramer
 * @bytes: the bytes to write
 *
 * For subclasses: queues @bytes to be written to the transport as they
 * are, outside any message and below every framer of the carrier, before
 * the messages queued after this call (but never inside a message being
 * sent in parts): a handshake that the framer speaks itself, the answer
 * to a keep-alive (a WebSocket pong).  Call it from the vfuncs (a framer
 * that speaks first does so from #PostFramerClass.start); the carrier
 * takes the bytes after each call.
 */
void
post_framer_send_raw (PostFramer *self,
                      GBytes     *bytes)
{
  PostFramerPrivate *priv;

  g_return_if_fail (POST_IS_FRAMER (self));
  g_return_if_fail (bytes != NULL);

  priv = post_framer_get_instance_private (self);
  if (priv->raw == NULL)
    priv->raw = g_byte_array_new ();
  g_byte_array_append (priv->raw, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes));
}

/* The bytes @self queued with post_framer_send_raw() (transfer full), or
 * NULL for none; they are forgotten. */
GBytes *
_post_framer_take_raw (PostFramer *self)
{
  PostFramerPrivate *priv = post_framer_get_instance_private (self);

  if (priv->raw == NULL)
    return NULL;
  return g_byte_array_free_to_bytes (g_steal_pointer (&priv->raw));
}

/* Calls the start vfunc, if any. */
void
_post_framer_start (PostFramer *self,
                    gboolean    initiator)
{
  if (POST_FRAMER_GET_CLASS (self)->start != NULL)
    POST_FRAMER_GET_CLASS (self)->start (self, initiator);
}

/* Whether @self rewrites payloads (its transform_payload vfunc). */
gboolean
_post_framer_transforms_payload (PostFramer *self)
{
  PostFramerPrivate *priv = post_framer_get_instance_private (self);

  return POST_FRAMER_GET_CLASS (self)->transform_payload != NULL && !priv->no_transform;
}

/* For a framer that forwards transform_payload (the stack): whether the
 * last encode needs it. */
void
_post_framer_set_transforms (PostFramer *self,
                             gboolean    transforms)
{
  PostFramerPrivate *priv = post_framer_get_instance_private (self);

  priv->no_transform = !transforms;
}

void
_post_framer_transform_payload (PostFramer *self,
                                guint8     *payload,
                                gsize       length)
{
  if (POST_FRAMER_GET_CLASS (self)->transform_payload != NULL)
    POST_FRAMER_GET_CLASS (self)->transform_payload (self, payload, length);
}

/* Whether @self asked to be replaced in @direction (one of INPUT or
 * OUTPUT); if so *replacement is what takes over (transfer full, NULL for
 * pass-through) and the request is forgotten. */
gboolean
_post_framer_take_replacement (PostFramer           *self,
                               PostFramerDirection   direction,
                               PostFramer          **replacement)
{
  PostFramerPrivate *priv = post_framer_get_instance_private (self);

  if ((priv->pending & direction) == 0)
    return FALSE;
  priv->pending &= ~direction;
  *replacement = g_steal_pointer ((direction == POST_FRAMER_DIRECTION_INPUT
                                   ? &priv->input_replacement : &priv->output_replacement));
  return TRUE;
}

/* @base (nullable) with the entries of @more (nullable) added, those of
 * @more winning and in @base's order, new ones after them: a new a{sv}
 * (transfer full), or NULL when both are NULL. */
GVariant *
_post_framer_merge_metadata (GVariant *base,
                             GVariant *more)
{
  GVariantBuilder builder;
  GVariantIter iter;
  const char *key;
  GVariant *value;

  if (more == NULL)
    return base != NULL ? g_variant_ref (base) : NULL;
  if (base == NULL)
    return g_variant_ref (more);
  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  g_variant_iter_init (&iter, base);
  while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
    {
      g_autoptr(GVariant) newer = g_variant_lookup_value (more, key, NULL);

      g_variant_builder_add (&builder, "{sv}", key, newer != NULL ? newer : value);
      g_variant_unref (value);
    }
  g_variant_iter_init (&iter, more);
  while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
    {
      g_autoptr(GVariant) older = g_variant_lookup_value (base, key, NULL);

      if (older == NULL)
        g_variant_builder_add (&builder, "{sv}", key, value);
      g_variant_unref (value);
    }
  return g_variant_ref_sink (g_variant_builder_end (&builder));
}
