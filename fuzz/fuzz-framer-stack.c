/* fuzz-framer-stack.c: a carrier's stack of framers (post-framer-stack.c)
 * decoding arbitrary bytes
 *
 * The first input byte chooses the stack: the length-prefix framer on
 * itself (two or three deep), the tests' metadata-carrying TestTagFramer
 * alone, under or over the length-prefix framer, or the tests'
 * TestSwitchFramer, which hands its input over to a length-prefix framer
 * or to pass-through on the lines "SWITCH" and "RAW" (and in the middle of
 * a message, which must fail), all made by
 * post_configuration_create_framer() as a carrier makes them.  The second
 * byte seeds how the rest is cut into the chunks a carrier would read; the
 * stack is driven as the carrier drives it, and every result is checked
 * against the PostFrameChunk contract: consumed and payload bounds (payload
 * in the input or in payload_data), message start and end pairing,
 * metadata only of type a{sv} and never floating, no loop without progress,
 * errors in POST_ERROR, and a clean end leaves nothing open or unread.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "fuzz-common.h"
#include "post-test-framers.h"

#include <string.h>

FUZZ_DEFINE_DEFAULT_INITIALIZE ()

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
      if (!post_framer_decode (framer, pending->data, pending->len, end_of_stream, &chunk, &error))
        {
          FUZZ_ASSERT (error != NULL && error->domain == POST_ERROR);
          FUZZ_ASSERT (chunk.metadata == NULL);
          return FALSE;
        }
      FUZZ_ASSERT (error == NULL);
      FUZZ_ASSERT (chunk.consumed <= pending->len);
      FUZZ_ASSERT (chunk.payload_length == 0 || chunk.payload_data != NULL
                   || (chunk.payload_offset <= chunk.consumed
                       && chunk.payload_length <= chunk.consumed - chunk.payload_offset));
      if (chunk.payload_data != NULL)
        {
          /* readable, as the carrier copies it */
          volatile guint8 sum = 0;

          for (gsize i = 0; i < chunk.payload_length; i++)
            sum += chunk.payload_data[i];
          (void) sum;
        }
      if (chunk.metadata != NULL)
        {
          FUZZ_ASSERT (!g_variant_is_floating (chunk.metadata));
          FUZZ_ASSERT (g_variant_is_of_type (chunk.metadata, G_VARIANT_TYPE_VARDICT));
          g_clear_pointer (&chunk.metadata, g_variant_unref);
        }
      else if (chunk.consumed == 0 && chunk.payload_length == 0
               && !chunk.message_start && !chunk.message_end)
        return TRUE;
      if (chunk.message_start)
        {
          FUZZ_ASSERT (!*in_message);
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
  GType lp = POST_TYPE_LENGTH_PREFIX_FRAMER, tag = TEST_TYPE_TAG_FRAMER;
  const GType stacks[][4] = {
    { lp, lp, G_TYPE_INVALID },
    { lp, lp, lp, G_TYPE_INVALID },
    { tag, G_TYPE_INVALID },
    { lp, tag, G_TYPE_INVALID },
    { tag, lp, G_TYPE_INVALID },
    { TEST_TYPE_SWITCH_FRAMER, G_TYPE_INVALID },
    { lp, TEST_TYPE_SWITCH_FRAMER, G_TYPE_INVALID },
  };
  g_autoptr(PostConfiguration) config = NULL;
  g_autoptr(PostFramer) framer = NULL;
  const GType *types;

  if (size < 2)
    return 0;
  types = stacks[data[0] % G_N_ELEMENTS (stacks)];
  config = post_configuration_new ();
  FUZZ_ASSERT (post_configuration_set_framer_type (config, types[0], NULL));
  for (guint i = 1; types[i] != G_TYPE_INVALID; i++)
    FUZZ_ASSERT (post_configuration_add_framer_type (config, types[i], NULL));
  framer = post_configuration_create_framer (config);
  fuzz_feed_framer (framer, data + 2, size - 2, data[1], drain);
  return 0;
}
