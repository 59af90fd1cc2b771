/* fuzz-websocket.c: PostWebSocketFramer's decoder on arbitrary bytes
 *
 * A server framer (the side that parses the opening handshake and masked
 * frames from a client) decodes the input after its first byte, which sets
 * the maximum message size (bits 0-3: 2^n bytes) and seeds how the rest is
 * cut into the chunks a carrier would read; unconsumed bytes are fed again
 * with the next chunk.  Checked: consumed <= size, payload within the
 * consumed bytes or in the framer's buffer, message starts (each with an
 * opcode in its metadata) and ends paired, no loop without progress, no
 * message over the limit, errors in POST_ERROR; and the whole input fed at
 * once gives the same transcript (messages, payload bytes, the error) as
 * the chunked one.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "fuzz-common.h"

#include <string.h>

FUZZ_DEFINE_DEFAULT_INITIALIZE ()

static GString *
run (const guint8 *data,
     gsize         size,
     guint8        flags,
     guint32       state)
{
  guint64 max_size = G_GUINT64_CONSTANT (1) << (flags & 0x0F);
  g_autoptr(PostFramer) framer = g_object_new (POST_TYPE_WEBSOCKET_FRAMER, "role", POST_WEBSOCKET_ROLE_SERVER,
                                               "max-message-size", max_size, NULL);
  g_autoptr(GByteArray) pending = g_byte_array_new ();
  GString *out = g_string_new (NULL);
  gboolean in_message = FALSE, eof = FALSE;
  guint64 length = 0;
  gsize offset = 0;

  while (!eof)
    {
      gsize want = state == 0 ? size : 1 + fuzz_next (&state) % 64;
      gsize n = MIN (size - offset, want);

      g_byte_array_append (pending, data + offset, n);
      offset += n;
      eof = offset == size;
      for (guint rounds = 0;; rounds++)
        {
          g_autoptr(GError) error = NULL;
          PostFrameChunk chunk;
          const guint8 *payload;

          FUZZ_ASSERT (rounds < 1024 * 1024);
          if (!post_framer_decode (framer, pending->data, pending->len, eof, &chunk, &error))
            {
              FUZZ_ASSERT (error != NULL && error->domain == POST_ERROR);
              FUZZ_ASSERT (error->code == POST_ERROR_PROTOCOL || error->code == POST_ERROR_TRUNCATED);
              FUZZ_ASSERT (g_utf8_validate (error->message, -1, NULL));
              FUZZ_ASSERT (chunk.metadata == NULL);
              g_string_append_printf (out, "!%d %s", error->code, error->message);
              return out;
            }
          FUZZ_ASSERT (chunk.consumed <= pending->len);
          FUZZ_ASSERT (chunk.payload_data != NULL || chunk.payload_length == 0
                       || (chunk.payload_offset <= chunk.consumed
                           && chunk.payload_length <= chunk.consumed - chunk.payload_offset));
          if (chunk.message_start)
            {
              guint8 opcode = 0;

              FUZZ_ASSERT (!in_message);
              FUZZ_ASSERT (chunk.metadata != NULL
                           && g_variant_lookup (chunk.metadata, "websocket-opcode", "y", &opcode));
              FUZZ_ASSERT (opcode == 1 || opcode == 2 || opcode == 8 || opcode == 10);
              in_message = TRUE;
              length = 0;
              g_string_append_printf (out, "<%u", opcode);
            }
          g_clear_pointer (&chunk.metadata, g_variant_unref);
          if (chunk.payload_length > 0)
            {
              FUZZ_ASSERT (in_message);
              length += chunk.payload_length;
              FUZZ_ASSERT (length <= MAX (max_size, 125));
              payload = chunk.payload_data != NULL ? chunk.payload_data : pending->data + chunk.payload_offset;
              g_string_append_len (out, (const char *) payload, (gssize) chunk.payload_length);
            }
          if (chunk.message_end)
            {
              FUZZ_ASSERT (in_message);
              in_message = FALSE;
              g_string_append (out, ">");
            }
          g_byte_array_remove_range (pending, 0, (guint) chunk.consumed);
          if (chunk.consumed == 0 && chunk.payload_length == 0 && !chunk.message_start && !chunk.message_end)
            break;
        }
    }
  FUZZ_ASSERT (!in_message && pending->len == 0);
  return out;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  return fuzz_chunked_equals_whole (data, size, run);
}
