/* fuzz-http-framer.c: PostHttpFramer's decoder on arbitrary bytes
 *
 * The first input byte chooses the side (bit 0: a server decoding
 * requests; a client decoding responses), what a client asked before the
 * input arrives (bits 1-2: 0-3 pipelined GETs, bit 3: then a HEAD, bit 4:
 * then an Upgrade: websocket request with RFC 6455's sample key, whose
 * 101 the framer checks and hands over on), and seeds how the rest is cut
 * into the chunks a carrier would read; unconsumed bytes are fed again
 * with the next chunk.  Checked: consumed <= size, body bytes within the
 * consumed ones, message starts (each with a head in its metadata: method
 * and target, or status) and ends paired, no loop without progress, errors
 * in POST_ERROR; and the whole input fed at once gives the same transcript
 * (heads, body bytes, ends, the error) as the chunked one.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "fuzz-common.h"

#include <string.h>

FUZZ_DEFINE_DEFAULT_INITIALIZE ()

/* Frames a request for @method with @fields (NULL-terminated pairs) */
static void
ask (PostFramer *framer,
     const char *method,
     const char *const *fields)
{
  g_autoptr(PostMessage) message = post_message_new (NULL);
  g_autoptr(GByteArray) header = g_byte_array_new ();
  g_autoptr(GByteArray) trailer = g_byte_array_new ();
  g_autoptr(GError) error = NULL;
  GVariantBuilder headers, metadata;

  g_variant_builder_init (&headers, G_VARIANT_TYPE ("a(ss)"));
  g_variant_builder_add (&headers, "(ss)", "Host", "fuzz");
  for (guint i = 0; fields != NULL && fields[i] != NULL; i += 2)
    g_variant_builder_add (&headers, "(ss)", fields[i], fields[i + 1]);
  g_variant_builder_init (&metadata, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&metadata, "{sv}", "http-method", g_variant_new_string (method));
  g_variant_builder_add (&metadata, "{sv}", "http-target", g_variant_new_string ("/"));
  g_variant_builder_add (&metadata, "{sv}", "http-headers", g_variant_builder_end (&headers));
  FUZZ_ASSERT (post_message_set_metadata (message, g_variant_builder_end (&metadata), NULL));
  FUZZ_ASSERT (post_framer_encode (framer, message, 0, TRUE, header, trailer, &error));
}

static GString *
run (const guint8 *data,
     gsize         size,
     guint8        flags,
     guint32       state)
{
  static const char *const upgrade[] = { "Upgrade", "websocket", "Connection", "Upgrade",
                                         "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==",
                                         "Sec-WebSocket-Version", "13", NULL };
  gboolean server = (flags & 1) != 0;
  g_autoptr(PostFramer) framer = post_http_framer_new (server ? POST_HTTP_ROLE_SERVER : POST_HTTP_ROLE_CLIENT);
  g_autoptr(GByteArray) pending = g_byte_array_new ();
  GString *out = g_string_new (NULL);
  gboolean in_message = FALSE, eof = FALSE;
  gsize offset = 0;

  if (!server)
    {
      for (guint i = 0; i < ((flags >> 1) & 3); i++)
        ask (framer, "GET", NULL);
      if (flags & 8)
        ask (framer, "HEAD", NULL);
      if (flags & 16)
        ask (framer, "GET", upgrade);
    }
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

          FUZZ_ASSERT (rounds < 1024 * 1024);
          if (!post_framer_decode (framer, pending->data, pending->len, eof, &chunk, &error))
            {
              FUZZ_ASSERT (error != NULL && error->domain == POST_ERROR);
              FUZZ_ASSERT (error->code == POST_ERROR_PROTOCOL || error->code == POST_ERROR_TRUNCATED);
              FUZZ_ASSERT (g_utf8_validate (error->message, -1, NULL));
              g_string_append_printf (out, "!%d %s", error->code, error->message);
              return out;
            }
          FUZZ_ASSERT (chunk.consumed <= pending->len);
          FUZZ_ASSERT (chunk.payload_data == NULL);
          FUZZ_ASSERT (chunk.payload_length == 0
                       || (chunk.payload_offset <= chunk.consumed
                           && chunk.payload_length <= chunk.consumed - chunk.payload_offset));
          if (chunk.message_start)
            {
              g_autoptr(GVariant) fields = NULL;
              const char *method = NULL;
              guint status = 0;

              FUZZ_ASSERT (!in_message && chunk.metadata != NULL);
              FUZZ_ASSERT (server ? g_variant_lookup (chunk.metadata, "http-method", "&s", &method)
                                  : g_variant_lookup (chunk.metadata, "http-status", "u", &status));
              fields = g_variant_lookup_value (chunk.metadata, "http-headers", G_VARIANT_TYPE ("a(ss)"));
              FUZZ_ASSERT (fields != NULL);
              in_message = TRUE;
              g_string_append_printf (out, "<%s %u>", method != NULL ? method : "", status);
            }
          if (chunk.metadata != NULL && !chunk.message_start)
            g_string_append (out, "[trailers]");
          g_clear_pointer (&chunk.metadata, g_variant_unref);
          if (chunk.payload_length > 0)
            {
              FUZZ_ASSERT (in_message);
              g_string_append_len (out, (const char *) pending->data + chunk.payload_offset,
                                   (gssize) chunk.payload_length);
            }
          if (chunk.message_end)
            {
              FUZZ_ASSERT (in_message);
              in_message = FALSE;
              g_string_append (out, "[end]");
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
