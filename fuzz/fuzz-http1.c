/* fuzz-http1.c: the incremental HTTP/1.1 parser on arbitrary bytes
 *
 * The first input byte chooses requests or responses (bit 0), whether the
 * first response answers HEAD (bit 1), and seeds how the rest is cut into
 * the chunks a carrier would read.  The parser (libpost/post-http1-parser.c,
 * a private unit compiled in) is driven as a framer drives it: unconsumed
 * bytes are fed again with the next chunk.  Checked: consumed <= size, body
 * bytes within the consumed ones, heads and ends paired, a body of known
 * length delivers exactly that many bytes, no loop without progress, errors
 * in POST_ERROR; and the whole input fed at once gives the same transcript
 * (heads, body bytes, ends, the error) as the chunked one.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "fuzz-common.h"
#include "../libpost/post-http1-parser-private.h"

#include <string.h>

FUZZ_DEFINE_DEFAULT_INITIALIZE ()

static GString *
run (const guint8 *data,
     gsize         size,
     guint8        flags,
     guint32       state)
{
  g_autoptr(PostHttp1Parser) parser = _post_http1_parser_new ((flags & 1) != 0);
  g_autoptr(GByteArray) pending = g_byte_array_new ();
  GString *out = g_string_new (NULL);
  gboolean in_message = FALSE, eof = FALSE;
  guint64 body = 0;
  gint64 expected = -1;
  gsize offset = 0;

  if (flags & 2)
    _post_http1_parser_push_request (parser, "HEAD");
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
          PostHttp1Step step;

          FUZZ_ASSERT (rounds < 1024 * 1024);
          memset (&step, 0xa5, sizeof step);
          if (!_post_http1_parser_feed (parser, pending->data, pending->len, eof, &step, &error))
            {
              FUZZ_ASSERT (error != NULL && error->domain == POST_ERROR);
              FUZZ_ASSERT (error->code == POST_ERROR_PROTOCOL || error->code == POST_ERROR_TRUNCATED);
              FUZZ_ASSERT (g_utf8_validate (error->message, -1, NULL));
              g_string_append_printf (out, "!%d %s", error->code, error->message);
              return out;
            }
          FUZZ_ASSERT (step.consumed <= pending->len);
          FUZZ_ASSERT (step.body_length == 0
                       || (step.body_offset <= step.consumed
                           && step.body_length <= step.consumed - step.body_offset));
          if (step.head)
            {
              const PostHttp1Head *head = _post_http1_parser_get_head (parser);

              FUZZ_ASSERT (!in_message && head != NULL);
              FUZZ_ASSERT (head->request == ((flags & 1) != 0));
              FUZZ_ASSERT (head->fields->len % 2 == 0
                           && head->fields->len / 2 <= POST_HTTP1_DEFAULT_MAX_FIELDS);
              FUZZ_ASSERT (!(head->chunked && head->until_close));
              FUZZ_ASSERT (!head->request || !head->until_close);
              in_message = TRUE;
              body = 0;
              expected = head->chunked || head->until_close ? -1 : head->content_length;
              FUZZ_ASSERT (head->chunked || head->until_close || expected >= 0);
              g_string_append_printf (out, "<%s %s %u %" G_GINT64_FORMAT ">", head->method ? head->method : "",
                                      head->target ? head->target : "", head->status, head->content_length);
            }
          if (step.body_length > 0)
            {
              FUZZ_ASSERT (in_message);
              body += step.body_length;
              g_string_append_len (out, (const char *) pending->data + step.body_offset, step.body_length);
            }
          if (step.end)
            {
              FUZZ_ASSERT (in_message);
              FUZZ_ASSERT (expected < 0 || body == (guint64) expected);
              in_message = FALSE;
              g_string_append_printf (out, "[end %" G_GUINT64_FORMAT "]", body);
            }
          FUZZ_ASSERT (in_message == _post_http1_parser_in_message (parser) || !in_message);
          g_byte_array_remove_range (pending, 0, step.consumed);
          if (step.consumed == 0 && step.body_length == 0 && !step.end)
            break;
        }
    }
  /* A clean end leaves no message open and nothing unread */
  FUZZ_ASSERT (!in_message && pending->len == 0);
  return out;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data,
                        size_t         size)
{
  return fuzz_chunked_equals_whole (data, size, run);
}
