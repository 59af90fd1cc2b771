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
 */

G_DEFINE_ABSTRACT_TYPE (PostFramer, post_framer, G_TYPE_OBJECT)

static void
post_framer_class_init (PostFramerClass *klass)
{
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
 * nothing.
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
  g_return_val_if_fail (POST_IS_FRAMER (self), FALSE);
  g_return_val_if_fail (chunk != NULL, FALSE);

  memset (chunk, 0, sizeof *chunk);
  chunk->message_length = -1;
  return POST_FRAMER_GET_CLASS (self)->decode (self, data, size, end_of_stream, chunk, error);
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
