/* fuzz-framer.c: PostLengthPrefixFramer's decoder on arbitrary bytes
 *
 * The first input byte seeds how the rest is cut into the chunks a
 * carrier would read; the decoder is driven as the carrier drives it
 * (unconsumed bytes are fed again with the next chunk), and every result
 * is checked against the PostFrameChunk contract.  Control frames (the
 * escape header 7F FF FF FF, docs/framing.md) are decoded too: between
 * messages they are consumed whole and never reported as payload; inside a
 * message, or malformed, the decoder fails with a POST_ERROR.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "fuzz-common.h"

#include <string.h>

FUZZ_DEFINE_DEFAULT_INITIALIZE ()

/* Feeds @pending to @framer until it needs more; FALSE once it failed */
static gboolean
drain (PostFramer *framer,
       GByteArray *pending,
       gboolean    end_of_stream,
       gboolean   *in_message)
{
  for (guint rounds = 0;; rounds++)
    {
      g_autoptr(GError) error = NULL;
      PostFrameChunk chunk;

      FUZZ_ASSERT (rounds < 1024 * 1024);   /* no decoder loop without progress */
      memset (&chunk, 0xa5, sizeof chunk);
      if (!post_framer_decode (framer, pending->data, pending->len, end_of_stream, &chunk, &error))
        {
          FUZZ_ASSERT (error != NULL);
          FUZZ_ASSERT (error->domain == POST_ERROR);
          return FALSE;
        }
      FUZZ_ASSERT (error == NULL);
      FUZZ_ASSERT (chunk.consumed <= pending->len);
      FUZZ_ASSERT (chunk.payload_length == 0
                   || (chunk.payload_offset <= chunk.consumed
                       && chunk.payload_length <= chunk.consumed - chunk.payload_offset));
      if (chunk.consumed == 0 && chunk.payload_length == 0)
        {
          FUZZ_ASSERT (!chunk.message_start && !chunk.message_end);
          return TRUE;
        }
      if (!*in_message && !chunk.message_start)
        {
          /* Between messages, progress without a start is a control frame:
           * at least its 8-byte header, no payload, no end. */
          FUZZ_ASSERT (chunk.consumed >= 8);
          FUZZ_ASSERT (memcmp (pending->data, "\x7f\xff\xff\xff", 4) == 0);
          FUZZ_ASSERT (chunk.consumed == 8 + (((gsize) pending->data[6] << 8) | pending->data[7]));
          FUZZ_ASSERT (chunk.payload_length == 0 && !chunk.message_end);
        }
      if (chunk.message_start)
        {
          FUZZ_ASSERT (!*in_message);
          FUZZ_ASSERT (chunk.message_length >= -1);
          *in_message = TRUE;
        }
      if (chunk.payload_length > 0)
        FUZZ_ASSERT (*in_message);
      if (chunk.message_end)
        {
          FUZZ_ASSERT (*in_message);
          *in_message = FALSE;
        }
      g_byte_array_remove_range (pending, 0, chunk.consumed);
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(PostFramer) framer = NULL;

  if (size < 1)
    return 0;
  framer = post_length_prefix_framer_new ();
  fuzz_feed_framer (framer, data + 1, size - 1, data[0], drain);
  return 0;
}
