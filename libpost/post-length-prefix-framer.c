/* post-length-prefix-framer.c: the default framer
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "post-private.h"

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
 */

#define FINAL_BIT 0x80000000u
#define HEADER_SIZE 4

struct _PostLengthPrefixFramer
{
  PostFramer parent_instance;

  gboolean in_body;          /* a chunk header was read */
  gboolean in_message;       /* a message started and has not ended */
  gboolean chunk_final;      /* the current chunk ends its message */
  guint32  chunk_remaining;  /* payload bytes of the current chunk still to come */
  guint64  message_received; /* payload bytes of the current message so far */
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
}

static void
post_length_prefix_framer_class_init (PostLengthPrefixFramerClass *klass)
{
  PostFramerClass *framer_class = POST_FRAMER_CLASS (klass);

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
 * Returns: (transfer full): a new length-prefix framer
 */
PostFramer *
post_length_prefix_framer_new (void)
{
  return g_object_new (POST_TYPE_LENGTH_PREFIX_FRAMER, NULL);
}
