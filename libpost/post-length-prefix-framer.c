/* post-length-prefix-framer.c: the default framer
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "post-values-private.h"

/**
 * PostLengthPrefixFramer:
 *
 * libpost's default framing on byte streams.
 *
 * ## Wire format
 *
 * A message is one or more *chunks*.  Each chunk is a 4-byte header in
 * network byte order followed by its payload:
 *
 * ```
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * +-+-------------------------------------------------------------+
 * |F|                 payload length (31 bits)                    |
 * +-+-------------------------------------------------------------+
 * |                 payload (length bytes) ...
 * ```
 *
 * `F` is set on the last chunk of a message.  A complete message sent at
 * once is a single chunk with `F` set (an empty message is the header
 * `0x80000000` alone); a message sent in parts, or one larger than
 * %POST_LENGTH_PREFIX_MAX_CHUNK, is several chunks of which only the last
 * has `F` set.  Nothing else is on the wire: no version, no padding.
 *
 * The header `7F FF FF FF` (`F` clear, length 2^31 − 1) is not a chunk but
 * the escape of a *control frame* (docs/framing.md, "Control frames"), which
 * libpost uses between messages to fork carriers on stacks without streams:
 *
 * ```
 * +---------------+---------------+---------------+---------------+
 * |  7F FF FF FF  (control escape)                                |
 * +---------------+---------------+---------------+---------------+
 * |     type      |     flags     |         body length           |
 * +---------------+---------------+---------------+---------------+
 * |                 body (body length bytes) ...
 * ```
 *
 * A control frame is valid only between messages; one inside a message, or
 * of type 0, fails the decode with %POST_ERROR_PROTOCOL.  Control frames
 * are never reported as payload: the carrier takes them from the framer
 * (unknown types are skipped).
 */

#define FINAL_BIT 0x80000000u
#define HEADER_SIZE 4
#define CONTROL_WORD 0x7fffffffu

struct _PostLengthPrefixFramer
{
  PostFramer parent_instance;

  gboolean in_body;          /* a chunk header was read */
  gboolean in_message;       /* a message started and has not ended */
  gboolean chunk_final;      /* the current chunk ends its message */
  guint32  chunk_remaining;  /* payload bytes of the current chunk still to come */
  guint64  message_received; /* payload bytes of the current message so far */

  /* The control frame the last decode consumed, until taken */
  gboolean control_pending;
  guint8   control_type;
  guint8   control_flags;
  GBytes  *control_body;     /* (owned) (nullable) */
};

G_DEFINE_FINAL_TYPE (PostLengthPrefixFramer, post_length_prefix_framer, POST_TYPE_FRAMER)

static gboolean
post_length_prefix_framer_encode (PostFramer   *framer,
                                  PostMessage  *message,
                                  gsize         length,
                                  gboolean      end_of_message,
                                  GByteArray   *header,
                                  GByteArray   *trailer,
                                  GError      **error)
{
  guint32 word;

  if (length > POST_LENGTH_PREFIX_MAX_CHUNK)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_MESSAGE_TOO_LARGE,
                   "A length-prefixed chunk carries at most %" G_GSIZE_FORMAT
                   " bytes, not %" G_GSIZE_FORMAT,
                   POST_LENGTH_PREFIX_MAX_CHUNK, length);
      return FALSE;
    }

  word = GUINT32_TO_BE ((guint32) length | (end_of_message ? FINAL_BIT : 0));
  g_byte_array_append (header, (const guint8 *) &word, sizeof word);
  return TRUE;
}

/* A control frame at @data (its escape already seen); between messages only. */
static gboolean
decode_control (PostLengthPrefixFramer  *self,
                const guint8            *data,
                gsize                    size,
                gboolean                 end_of_stream,
                PostFrameChunk          *chunk,
                GError                 **error)
{
  gsize body_length;

  if (self->in_message)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_PROTOCOL,
                   "A control frame inside a message (after %" G_GUINT64_FORMAT " bytes of it)",
                   self->message_received);
      return FALSE;
    }
  if (size >= POST_LENGTH_PREFIX_CONTROL_HEADER && data[4] == 0)
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_PROTOCOL,
                           "A control frame of type 0 (reserved)");
      return FALSE;
    }
  body_length = size >= POST_LENGTH_PREFIX_CONTROL_HEADER ? ((gsize) data[6] << 8) | data[7] : 0;
  if (size < POST_LENGTH_PREFIX_CONTROL_HEADER || size - POST_LENGTH_PREFIX_CONTROL_HEADER < body_length)
    {
      if (end_of_stream)
        {
          g_set_error (error, POST_ERROR, POST_ERROR_TRUNCATED,
                       "The peer ended the stream in the middle of a control frame "
                       "(%" G_GSIZE_FORMAT " bytes of it)", size);
          return FALSE;
        }
      return TRUE;  /* need more */
    }
  g_clear_pointer (&self->control_body, g_bytes_unref);
  self->control_pending = TRUE;
  self->control_type = data[4];
  self->control_flags = data[5];
  self->control_body = g_bytes_new (data + POST_LENGTH_PREFIX_CONTROL_HEADER, body_length);
  chunk->consumed = POST_LENGTH_PREFIX_CONTROL_HEADER + body_length;
  return TRUE;
}

static gboolean
post_length_prefix_framer_decode (PostFramer      *framer,
                                  const guint8    *data,
                                  gsize            size,
                                  gboolean         end_of_stream,
                                  PostFrameChunk  *chunk,
                                  GError         **error)
{
  PostLengthPrefixFramer *self = POST_LENGTH_PREFIX_FRAMER (framer);
  gsize offset = 0;
  gsize take;

  if (!self->in_body)
    {
      guint32 word;

      if (size < HEADER_SIZE)
        {
          if (end_of_stream && (size > 0 || self->in_message))
            {
              g_set_error (error, POST_ERROR, POST_ERROR_TRUNCATED,
                           "The peer ended the stream in the middle of a message "
                           "(%" G_GUINT64_FORMAT " bytes received, %" G_GSIZE_FORMAT
                           " bytes of a chunk header)",
                           self->message_received, size);
              return FALSE;
            }
          return TRUE;  /* need more */
        }

      memcpy (&word, data, sizeof word);
      word = GUINT32_FROM_BE (word);
      if (word == CONTROL_WORD)
        return decode_control (self, data, size, end_of_stream, chunk, error);
      self->in_body = TRUE;
      self->chunk_final = (word & FINAL_BIT) != 0;
      self->chunk_remaining = word & ~FINAL_BIT;
      if (!self->in_message)
        {
          self->in_message = TRUE;
          self->message_received = 0;
          chunk->message_start = TRUE;
          chunk->message_length = self->chunk_final ? (gint64) self->chunk_remaining : -1;
        }
      offset = HEADER_SIZE;
    }

  take = MIN (size - offset, (gsize) self->chunk_remaining);
  if (take == 0 && self->chunk_remaining > 0)
    {
      if (end_of_stream)
        {
          g_set_error (error, POST_ERROR, POST_ERROR_TRUNCATED,
                       "The peer ended the stream in the middle of a message "
                       "(%" G_GUINT64_FORMAT " bytes received, %u more announced)",
                       self->message_received, self->chunk_remaining);
          return FALSE;
        }
      chunk->consumed = offset;
      return TRUE;
    }

  chunk->consumed = offset + take;
  chunk->payload_offset = offset;
  chunk->payload_length = take;
  self->chunk_remaining -= take;
  self->message_received += take;

  if (self->chunk_remaining == 0)
    {
      self->in_body = FALSE;
      if (self->chunk_final)
        {
          chunk->message_end = TRUE;
          self->in_message = FALSE;
        }
    }
  return TRUE;
}

static void
post_length_prefix_framer_reset (PostFramer *framer)
{
  PostLengthPrefixFramer *self = POST_LENGTH_PREFIX_FRAMER (framer);

  self->in_body = FALSE;
  self->in_message = FALSE;
  self->chunk_final = FALSE;
  self->chunk_remaining = 0;
  self->message_received = 0;
  self->control_pending = FALSE;
  g_clear_pointer (&self->control_body, g_bytes_unref);
}

static void
post_length_prefix_framer_finalize (GObject *object)
{
  PostLengthPrefixFramer *self = POST_LENGTH_PREFIX_FRAMER (object);

  g_clear_pointer (&self->control_body, g_bytes_unref);
  G_OBJECT_CLASS (post_length_prefix_framer_parent_class)->finalize (object);
}

static void
post_length_prefix_framer_class_init (PostLengthPrefixFramerClass *klass)
{
  PostFramerClass *framer_class = POST_FRAMER_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = post_length_prefix_framer_finalize;
  framer_class->encode = post_length_prefix_framer_encode;
  framer_class->decode = post_length_prefix_framer_decode;
  framer_class->reset = post_length_prefix_framer_reset;
}

static void
post_length_prefix_framer_init (PostLengthPrefixFramer *self)
{
}

/**
 * post_length_prefix_framer_new:
 *
 * Creates the default framer of byte stream stacks: each message is
 * preceded by its length, with control frames for forking (docs/framing.md
 * has the wire format). A configuration uses it unless
 * [method@Post.Configuration.set_framer_type] names another framer.
 *
 * Returns: (transfer full): a new length-prefix framer
 */
PostFramer *
post_length_prefix_framer_new (void)
{
  return g_object_new (POST_TYPE_LENGTH_PREFIX_FRAMER, NULL);
}

/* Whether the last decode of @framer consumed a control frame; if so its
 * type, flags and body (transfer full) are returned and forgotten.  Only
 * PostLengthPrefixFramer has control frames. */
gboolean
_post_length_prefix_framer_take_control (PostFramer  *framer,
                                         guint8      *type,
                                         guint8      *flags,
                                         GBytes     **body)
{
  PostLengthPrefixFramer *self;

  if (!POST_IS_LENGTH_PREFIX_FRAMER (framer))
    return FALSE;
  self = POST_LENGTH_PREFIX_FRAMER (framer);
  if (!self->control_pending)
    return FALSE;
  self->control_pending = FALSE;
  *type = self->control_type;
  *flags = self->control_flags;
  *body = g_steal_pointer (&self->control_body);
  return TRUE;
}

/* Appends to @out the control frame of @type, @flags and @body (at most
 * POST_LENGTH_PREFIX_CONTROL_MAX_BODY bytes). */
void
_post_length_prefix_encode_control (GByteArray   *out,
                                    guint8        type,
                                    guint8        flags,
                                    const guint8 *body,
                                    gsize         body_length)
{
  guint32 word = GUINT32_TO_BE (CONTROL_WORD);
  guint8 rest[4] = { type, flags, (guint8) (body_length >> 8), (guint8) body_length };

  g_return_if_fail (type != 0 && body_length <= POST_LENGTH_PREFIX_CONTROL_MAX_BODY);
  g_byte_array_append (out, (const guint8 *) &word, sizeof word);
  g_byte_array_append (out, rest, sizeof rest);
  if (body_length > 0)
    g_byte_array_append (out, body, body_length);
}
