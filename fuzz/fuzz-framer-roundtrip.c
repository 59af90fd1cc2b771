/* fuzz-framer-roundtrip.c: PostLengthPrefixFramer, encode then decode
 *
 * The input describes messages and how each is cut into parts (as partial
 * sends cut them); they are encoded, the wire bytes are decoded again in
 * chunks whose sizes the input also chooses, and what comes out must be
 * the same messages, byte for byte, with their boundaries.
 *
 * Input: seed byte, then records of [part count byte][per part: length
 * byte, that many payload bytes].  A part count byte with its top bit set
 * also puts a control frame (docs/framing.md; its type and body length from
 * the count byte) before the message: it must vanish in decoding, the
 * messages around it intact.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "fuzz-common.h"

#include <string.h>

FUZZ_DEFINE_DEFAULT_INITIALIZE ()

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  g_autoptr(PostFramer) encoder = post_length_prefix_framer_new ();
  g_autoptr(PostFramer) decoder = post_length_prefix_framer_new ();
  g_autoptr(GByteArray) wire = g_byte_array_new ();
  g_autoptr(GPtrArray) sent = g_ptr_array_new_with_free_func ((GDestroyNotify) g_byte_array_unref);
  g_autoptr(GPtrArray) received = g_ptr_array_new_with_free_func ((GDestroyNotify) g_byte_array_unref);
  g_autoptr(GByteArray) pending = g_byte_array_new ();
  g_autoptr(GByteArray) current = NULL;
  guint32 state;
  gsize i = 1, offset = 0;

  if (size < 1)
    return 0;
  state = data[0];

  /* Encode */
  while (i < size)
    {
      guint8 count = data[i++];
      guint parts = 1 + count % 4;
      GByteArray *message = g_byte_array_new ();

      if (count & 0x80)
        {
          guint8 control[8] = { 0x7f, 0xff, 0xff, 0xff, 1 + ((count >> 2) & 0x1f), 0, 0, 0 };
          gsize body = MIN ((gsize) (count & 0x0c), size - i);

          control[7] = (guint8) body;
          g_byte_array_append (wire, control, sizeof control);
          g_byte_array_append (wire, data + i, body);
          i += body;
        }

      g_ptr_array_add (sent, message);
      for (guint p = 0; p < parts; p++)
        {
          g_autoptr(GByteArray) header = g_byte_array_new ();
          g_autoptr(GByteArray) trailer = g_byte_array_new ();
          g_autoptr(GError) error = NULL;
          gsize length = i < size ? data[i++] : 0;

          length = MIN (length, size - i);
          FUZZ_ASSERT (post_framer_encode (encoder, NULL, length, p == parts - 1, header, trailer, &error));
          FUZZ_ASSERT (error == NULL);
          g_byte_array_append (wire, header->data, header->len);
          g_byte_array_append (wire, data + i, length);
          g_byte_array_append (wire, trailer->data, trailer->len);
          g_byte_array_append (message, data + i, length);
          i += length;
        }
    }

  /* Decode in chunks */
  while (offset < wire->len || offset == 0)
    {
      gsize want = fuzz_next (&state) % 32;   /* MIN() evaluates twice */
      gsize n = MIN (wire->len - offset, want);
      gboolean end = offset + n == wire->len;

      if (n > 0)
        g_byte_array_append (pending, wire->data + offset, n);
      offset += n;
      for (guint rounds = 0;; rounds++)
        {
          g_autoptr(GError) error = NULL;
          PostFrameChunk chunk;

          FUZZ_ASSERT (rounds < 1024 * 1024);
          memset (&chunk, 0xa5, sizeof chunk);
          FUZZ_ASSERT (post_framer_decode (decoder, pending->data, pending->len, end, &chunk, &error));
          FUZZ_ASSERT (error == NULL);
          FUZZ_ASSERT (chunk.consumed <= pending->len);
          if (chunk.consumed == 0 && chunk.payload_length == 0)
            break;
          if (chunk.message_start)
            {
              FUZZ_ASSERT (current == NULL);
              current = g_byte_array_new ();
            }
          if (chunk.payload_length > 0)
            {
              FUZZ_ASSERT (current != NULL);
              FUZZ_ASSERT (chunk.payload_offset + chunk.payload_length <= chunk.consumed);
              g_byte_array_append (current, pending->data + chunk.payload_offset, chunk.payload_length);
            }
          if (chunk.message_end)
            {
              FUZZ_ASSERT (current != NULL);
              g_ptr_array_add (received, g_steal_pointer (&current));
            }
          g_byte_array_remove_range (pending, 0, chunk.consumed);
        }
      if (wire->len == 0)
        break;
    }

  FUZZ_ASSERT (current == NULL);
  FUZZ_ASSERT (pending->len == 0);
  FUZZ_ASSERT (received->len == sent->len);
  for (guint m = 0; m < sent->len; m++)
    {
      GByteArray *a = sent->pdata[m], *b = received->pdata[m];

      FUZZ_ASSERT (a->len == b->len);
      FUZZ_ASSERT (a->len == 0 || memcmp (a->data, b->data, a->len) == 0);
    }
  return 0;
}
