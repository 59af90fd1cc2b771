/* test-framer.c: PostLengthPrefixFramer's wire format and incremental
 * decoding, and a custom PostFramer subclass used directly and end to end
 * on a carrier pair over TCP loopback.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <post.h>
#include <string.h>

#include "post-test-framers.h"
#include "post-test-util.h"

#define WAIT_TIMEOUT_S 10

/* ---- helpers ------------------------------------------------------------- */

#define run_until(loop, flag, n) post_test_loop_until ((loop), (const guint *) (flag), (n), #flag, WAIT_TIMEOUT_S)

/* The decoding harness that does what the carrier does (post-test-framers.h):
 * keep the bytes the framer did not consume, feed them again with what
 * arrives next, and gather the payload ranges it reports into messages. */
typedef PostTestDeframer Decoder;

static Decoder *
decoder_new (PostFramer *framer)
{
  Decoder *d = g_new0 (Decoder, 1);

  post_test_deframer_init (d, framer);
  return d;
}

static void
decoder_free (Decoder *d)
{
  post_test_deframer_clear (d);
  g_free (d);
}
G_DEFINE_AUTOPTR_CLEANUP_FUNC (Decoder, decoder_free)

static gboolean
decoder_feed (Decoder       *d,
              const void    *data,
              gsize          size,
              gboolean       end_of_stream,
              GError       **error)
{
  return post_test_deframer_feed (d, data, size, end_of_stream, error);
}

static void
assert_message (Decoder    *d,
                guint       index,
                const char *expected,
                gsize       expected_size)
{
  GBytes *bytes;
  gsize size;
  const guint8 *data;

  g_assert_cmpuint (index, <, d->messages->len);
  bytes = d->messages->pdata[index];
  data = g_bytes_get_data (bytes, &size);
  g_assert_cmpuint (size, ==, expected_size);
  if (size > 0)
    g_assert_cmpmem (data, size, expected, expected_size);
}

static GByteArray *
encode_lp (PostFramer *framer,
           const char *payload,
           gsize       length,
           gboolean    final,
           GByteArray *wire)
{
  g_autoptr(GByteArray) header = g_byte_array_new ();
  g_autoptr(GByteArray) trailer = g_byte_array_new ();
  g_autoptr(GError) error = NULL;

  g_assert_true (post_framer_encode (framer, NULL, length, final, header, trailer, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (header->len, ==, 4);
  g_assert_cmpuint (trailer->len, ==, 0);
  g_byte_array_append (wire, header->data, header->len);
  if (length > 0)
    g_byte_array_append (wire, (const guint8 *) payload, length);
  return wire;
}

/* ---- PostLengthPrefixFramer: encoding ---------------------------------------- */

static void
assert_header (gsize          length,
               gboolean       final,
               const guint8   expected[4])
{
  g_autoptr(PostFramer) framer = post_length_prefix_framer_new ();
  g_autoptr(PostMessage) message = post_message_new_from_string ("ignored");
  g_autoptr(GByteArray) header = g_byte_array_new ();
  g_autoptr(GByteArray) trailer = g_byte_array_new ();
  g_autoptr(GError) error = NULL;

  /* Appends to what is there. */
  g_byte_array_append (header, (const guint8 *) "AB", 2);
  g_assert_true (post_framer_encode (framer, message, length, final, header, trailer, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (header->len, ==, 6);
  g_assert_cmpmem (header->data, 2, "AB", 2);
  g_assert_cmpmem (header->data + 2, 4, expected, 4);
  g_assert_cmpuint (trailer->len, ==, 0);
}

static void
test_lp_encode (void)
{
  g_autoptr(PostFramer) framer = post_length_prefix_framer_new ();
  g_autoptr(GByteArray) header = g_byte_array_new ();
  g_autoptr(GByteArray) trailer = g_byte_array_new ();
  g_autoptr(GError) error = NULL;

  g_assert_true (POST_IS_FRAMER (framer));
  g_assert_true (POST_IS_LENGTH_PREFIX_FRAMER (framer));

  assert_header (5, TRUE, (const guint8[]) { 0x80, 0x00, 0x00, 0x05 });
  assert_header (5, FALSE, (const guint8[]) { 0x00, 0x00, 0x00, 0x05 });
  assert_header (0, TRUE, (const guint8[]) { 0x80, 0x00, 0x00, 0x00 });
  assert_header (0, FALSE, (const guint8[]) { 0x00, 0x00, 0x00, 0x00 });
  assert_header (0x01020304, TRUE, (const guint8[]) { 0x81, 0x02, 0x03, 0x04 });
  /* 2^31 − 1 without F (7F FF FF FF) is the control escape, not a chunk. */
  g_assert_cmpuint (POST_LENGTH_PREFIX_MAX_CHUNK, ==, 0x7ffffffe);
  assert_header (POST_LENGTH_PREFIX_MAX_CHUNK, TRUE, (const guint8[]) { 0xff, 0xff, 0xff, 0xfe });
  assert_header (POST_LENGTH_PREFIX_MAX_CHUNK, FALSE, (const guint8[]) { 0x7f, 0xff, 0xff, 0xfe });

  /* The message is optional (coalesced sends frame without one). */
  g_assert_true (post_framer_encode (framer, NULL, 3, TRUE, header, trailer, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (header->data, header->len, "\x80\x00\x00\x03", 4);
  g_byte_array_set_size (header, 0);

#if GLIB_SIZEOF_SIZE_T > 4
  /* One byte too many for a chunk: refused, nothing appended. */
  g_assert_false (post_framer_encode (framer, NULL, POST_LENGTH_PREFIX_MAX_CHUNK + 1, TRUE,
                                      header, trailer, &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_MESSAGE_TOO_LARGE);
  g_assert_nonnull (strstr (error->message, "2147483647"));
  g_clear_error (&error);
  g_assert_cmpuint (header->len, ==, 0);
  g_assert_false (post_framer_encode (framer, NULL, G_MAXSIZE, FALSE, header, trailer, &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_MESSAGE_TOO_LARGE);
  g_clear_error (&error);
  g_assert_cmpuint (header->len, ==, 0);
  g_assert_cmpuint (trailer->len, ==, 0);
#endif
}

/* ---- PostLengthPrefixFramer: control frames ------------------------------------ */

/* Control frames (7F FF FF FF, type, flags, 16-bit length, body) between
 * messages are consumed and never reported as payload or messages, however
 * the input is cut; inside a message, or of type 0, they violate the
 * framing; cut by the end of the stream they are truncated. */
static void
test_lp_control (void)
{
  const guint8 wire[] = {
    0x80, 0x00, 0x00, 0x02, 'h', 'i',
    0x7f, 0xff, 0xff, 0xff, 0x01, 0x00, 0x00, 0x03, 'a', 'b', 'c',   /* type 1, 3 bytes */
    0x7f, 0xff, 0xff, 0xff, 0x42, 0xff, 0x00, 0x00,                  /* unknown type, empty */
    0x80, 0x00, 0x00, 0x00,                                          /* an empty message */
    0x7f, 0xff, 0xff, 0xff, 0x05, 0x00, 0x00, 0x00,
  };
  g_autoptr(GError) error = NULL;

  for (gsize cut = 1; cut <= sizeof wire; cut++)
    {
      g_autoptr(Decoder) d = decoder_new (post_length_prefix_framer_new ());

      for (gsize off = 0; off < sizeof wire; off += cut)
        {
          g_assert_true (decoder_feed (d, wire + off, MIN (cut, sizeof wire - off), FALSE, &error));
          g_assert_no_error (error);
        }
      g_assert_true (decoder_feed (d, NULL, 0, TRUE, &error));
      g_assert_no_error (error);
      g_assert_cmpuint (d->messages->len, ==, 2);
      assert_message (d, 0, "hi", 2);
      assert_message (d, 1, "", 0);
      g_assert_cmpuint (d->pending->len, ==, 0);
    }

  /* One control frame alone: consumed whole, no payload, no message. */
  {
    g_autoptr(PostFramer) framer = post_length_prefix_framer_new ();
    PostFrameChunk chunk;

    g_assert_true (post_framer_decode (framer, wire + 6, 11, FALSE, &chunk, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (chunk.consumed, ==, 11);
    g_assert_cmpuint (chunk.payload_length, ==, 0);
    g_assert_false (chunk.message_start);
    g_assert_false (chunk.message_end);
    /* Only its first 10 bytes: more is needed. */
    g_assert_true (post_framer_decode (framer, wire + 6, 10, FALSE, &chunk, &error));
    g_assert_cmpuint (chunk.consumed, ==, 0);
    /* ... and the stream ends there: truncated. */
    g_assert_false (post_framer_decode (framer, wire + 6, 10, TRUE, &chunk, &error));
    g_assert_error (error, POST_ERROR, POST_ERROR_TRUNCATED);
    g_clear_error (&error);
  }

  /* Inside a message (after a chunk without F): a protocol violation. */
  {
    g_autoptr(Decoder) d = decoder_new (post_length_prefix_framer_new ());
    const guint8 inside[] = { 0x00, 0x00, 0x00, 0x01, 'x',
                              0x7f, 0xff, 0xff, 0xff, 0x01, 0x00, 0x00, 0x00 };

    g_assert_false (decoder_feed (d, inside, sizeof inside, FALSE, &error));
    g_assert_error (error, POST_ERROR, POST_ERROR_PROTOCOL);
    g_clear_error (&error);
  }

  /* Type 0 is reserved: a protocol violation. */
  {
    g_autoptr(Decoder) d = decoder_new (post_length_prefix_framer_new ());
    const guint8 zero[] = { 0x7f, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00 };

    g_assert_false (decoder_feed (d, zero, sizeof zero, FALSE, &error));
    g_assert_error (error, POST_ERROR, POST_ERROR_PROTOCOL);
    g_clear_error (&error);
  }

  /* FF FF FF FF is still a final chunk of 2^31 − 1 bytes: only the escape
   * without F is special. */
  {
    g_autoptr(PostFramer) framer = post_length_prefix_framer_new ();
    const guint8 big[] = { 0xff, 0xff, 0xff, 0xff, 'z' };
    PostFrameChunk chunk;

    g_assert_true (post_framer_decode (framer, big, sizeof big, FALSE, &chunk, &error));
    g_assert_no_error (error);
    g_assert_true (chunk.message_start);
    g_assert_cmpint (chunk.message_length, ==, 0x7fffffff);
    g_assert_cmpuint (chunk.payload_length, ==, 1);
  }
}

/* ---- PostLengthPrefixFramer: decoding ----------------------------------------- */

static void
test_lp_decode_one (void)
{
  g_autoptr(Decoder) d = decoder_new (post_length_prefix_framer_new ());
  g_autoptr(GError) error = NULL;
  const guint8 wire[] = { 0x80, 0x00, 0x00, 0x05, 'h', 'e', 'l', 'l', 'o' };
  PostFrameChunk chunk;

  /* Straight: one call consumes all, reports everything. */
  {
    g_autoptr(PostFramer) framer = post_length_prefix_framer_new ();

    g_assert_true (post_framer_decode (framer, wire, sizeof wire, FALSE, &chunk, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (chunk.consumed, ==, 9);
    g_assert_cmpuint (chunk.payload_offset, ==, 4);
    g_assert_cmpuint (chunk.payload_length, ==, 5);
    g_assert_true (chunk.message_start);
    g_assert_true (chunk.message_end);
    g_assert_cmpint (chunk.message_length, ==, 5);

    /* Nothing more: asks for input. */
    g_assert_true (post_framer_decode (framer, NULL, 0, FALSE, &chunk, &error));
    g_assert_cmpuint (chunk.consumed, ==, 0);
    g_assert_cmpuint (chunk.payload_length, ==, 0);
    g_assert_false (chunk.message_start);
    g_assert_false (chunk.message_end);
  }

  g_assert_true (decoder_feed (d, wire, sizeof wire, FALSE, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (d->messages->len, ==, 1);
  assert_message (d, 0, "hello", 5);
  g_assert_cmpint (g_array_index (d->lengths, gint64, 0), ==, 5);
  g_assert_cmpuint (d->pending->len, ==, 0);

  /* A clean end of stream: TRUE, nothing. */
  g_assert_true (decoder_feed (d, NULL, 0, TRUE, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (d->messages->len, ==, 1);
}

static void
test_lp_decode_start_length (void)
{
  g_autoptr(PostFramer) framer = post_length_prefix_framer_new ();
  g_autoptr(GError) error = NULL;
  PostFrameChunk chunk;
  const guint8 part1[] = { 0x80, 0x00, 0x00, 0x05, 'h', 'e' };
  const guint8 part2[] = { 'l', 'l', 'o', 0x00, 0x00 };

  /* Header and some payload. */
  g_assert_true (post_framer_decode (framer, part1, sizeof part1, FALSE, &chunk, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (chunk.consumed, ==, 6);
  g_assert_cmpuint (chunk.payload_offset, ==, 4);
  g_assert_cmpuint (chunk.payload_length, ==, 2);
  g_assert_true (chunk.message_start);
  g_assert_false (chunk.message_end);
  g_assert_cmpint (chunk.message_length, ==, 5);

  /* The rest; the following bytes (the start of a header) stay unconsumed. */
  g_assert_true (post_framer_decode (framer, part2, sizeof part2, FALSE, &chunk, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (chunk.consumed, ==, 3);
  g_assert_cmpuint (chunk.payload_offset, ==, 0);
  g_assert_cmpuint (chunk.payload_length, ==, 3);
  g_assert_false (chunk.message_start);
  g_assert_true (chunk.message_end);
  g_assert_cmpint (chunk.message_length, ==, -1);

  /* Half a header: needs more. */
  g_assert_true (post_framer_decode (framer, part2 + 3, 2, FALSE, &chunk, &error));
  g_assert_cmpuint (chunk.consumed, ==, 0);
  g_assert_cmpuint (chunk.payload_length, ==, 0);

  /* A non-final first chunk: the message's length is unknown. */
  {
    const guint8 wire[] = { 0x00, 0x00, 0x00, 0x02, 'a', 'b', 0x80, 0x00, 0x00, 0x01, 'c' };

    post_framer_reset (framer);
    g_assert_true (post_framer_decode (framer, wire, sizeof wire, FALSE, &chunk, &error));
    g_assert_cmpuint (chunk.consumed, ==, 6);
    g_assert_true (chunk.message_start);
    g_assert_false (chunk.message_end);
    g_assert_cmpint (chunk.message_length, ==, -1);
    g_assert_true (post_framer_decode (framer, wire + 6, sizeof wire - 6, FALSE, &chunk, &error));
    g_assert_cmpuint (chunk.consumed, ==, 5);
    g_assert_cmpuint (chunk.payload_offset, ==, 4);
    g_assert_cmpuint (chunk.payload_length, ==, 1);
    g_assert_false (chunk.message_start);  /* a continuation, not a new message */
    g_assert_true (chunk.message_end);
    g_assert_cmpint (chunk.message_length, ==, -1);
  }
  g_assert_no_error (error);
}

/* A stream of several messages: plain, empty, multi-chunk (with an empty
 * middle chunk), binary containing bytes that look like headers. */
static GByteArray *
build_stream (PostFramer *framer)
{
  GByteArray *wire = g_byte_array_new ();

  encode_lp (framer, "hello", 5, TRUE, wire);
  encode_lp (framer, NULL, 0, TRUE, wire);                       /* empty */
  encode_lp (framer, "abc", 3, FALSE, wire);                     /* partial ... */
  encode_lp (framer, NULL, 0, FALSE, wire);                      /* empty middle chunk */
  encode_lp (framer, "de", 2, FALSE, wire);
  encode_lp (framer, "f", 1, TRUE, wire);                        /* ... final */
  encode_lp (framer, "\x80\x00\x00\x01\x00", 5, TRUE, wire);     /* header-like payload */
  encode_lp (framer, NULL, 0, FALSE, wire);                      /* empty message in */
  encode_lp (framer, NULL, 0, TRUE, wire);                       /* two empty chunks */
  encode_lp (framer, "end", 3, TRUE, wire);
  return wire;
}

static void
assert_stream_messages (Decoder *d)
{
  g_assert_cmpuint (d->messages->len, ==, 6);
  assert_message (d, 0, "hello", 5);
  assert_message (d, 1, "", 0);
  assert_message (d, 2, "abcdef", 6);
  assert_message (d, 3, "\x80\x00\x00\x01\x00", 5);
  assert_message (d, 4, "", 0);
  assert_message (d, 5, "end", 3);
  g_assert_cmpuint (d->lengths->len, ==, 6);
  g_assert_cmpint (g_array_index (d->lengths, gint64, 0), ==, 5);
  g_assert_cmpint (g_array_index (d->lengths, gint64, 1), ==, 0);
  g_assert_cmpint (g_array_index (d->lengths, gint64, 2), ==, -1);
  g_assert_cmpint (g_array_index (d->lengths, gint64, 3), ==, 5);
  g_assert_cmpint (g_array_index (d->lengths, gint64, 4), ==, -1);
  g_assert_cmpint (g_array_index (d->lengths, gint64, 5), ==, 3);
  g_assert_null (d->current);
  g_assert_cmpuint (d->pending->len, ==, 0);
}

static void
test_lp_decode_several (void)
{
  g_autoptr(PostFramer) encoder = post_length_prefix_framer_new ();
  g_autoptr(GByteArray) wire = build_stream (encoder);
  g_autoptr(Decoder) d = decoder_new (post_length_prefix_framer_new ());
  g_autoptr(GError) error = NULL;

  g_assert_true (decoder_feed (d, wire->data, wire->len, FALSE, &error));
  g_assert_no_error (error);
  assert_stream_messages (d);
  g_assert_true (decoder_feed (d, NULL, 0, TRUE, &error));
  g_assert_no_error (error);
  assert_stream_messages (d);
}

static void
test_lp_decode_byte_by_byte (void)
{
  g_autoptr(PostFramer) encoder = post_length_prefix_framer_new ();
  g_autoptr(GByteArray) wire = build_stream (encoder);
  g_autoptr(GError) error = NULL;

  /* One byte at a time. */
  {
    g_autoptr(Decoder) d = decoder_new (post_length_prefix_framer_new ());

    for (guint i = 0; i < wire->len; i++)
      {
        g_assert_true (decoder_feed (d, wire->data + i, 1, FALSE, &error));
        g_assert_no_error (error);
        /* Never more than a header's worth is kept back. */
        g_assert_cmpuint (d->pending->len, <, 4);
      }
    assert_stream_messages (d);
    g_assert_true (decoder_feed (d, NULL, 0, TRUE, &error));
    g_assert_no_error (error);
  }

  /* Split in two at every boundary. */
  for (guint split = 0; split <= wire->len; split++)
    {
      g_autoptr(Decoder) d = decoder_new (post_length_prefix_framer_new ());

      g_assert_true (decoder_feed (d, wire->data, split, FALSE, &error));
      g_assert_true (decoder_feed (d, wire->data + split, wire->len - split, FALSE, &error));
      g_assert_no_error (error);
      assert_stream_messages (d);
    }

  /* The final chunk of the stream arrives together with the end of stream. */
  {
    g_autoptr(Decoder) d = decoder_new (post_length_prefix_framer_new ());

    g_assert_true (decoder_feed (d, wire->data, wire->len - 2, FALSE, &error));
    g_assert_true (decoder_feed (d, wire->data + wire->len - 2, 2, TRUE, &error));
    g_assert_no_error (error);
    assert_stream_messages (d);
  }
}

static void
test_lp_decode_multichunk_large (void)
{
  g_autoptr(PostFramer) encoder = post_length_prefix_framer_new ();
  g_autoptr(GByteArray) wire = g_byte_array_new ();
  g_autoptr(Decoder) d = decoder_new (post_length_prefix_framer_new ());
  g_autoptr(GError) error = NULL;
  g_autoptr(GByteArray) expected = g_byte_array_new ();
  gsize fed = 0;

  /* 10 chunks of 1000 bytes, fed in odd-sized pieces. */
  for (guint c = 0; c < 10; c++)
    {
      char part[1000];

      for (guint i = 0; i < sizeof part; i++)
        part[i] = (char) ('a' + (c * 7 + i) % 26);
      encode_lp (encoder, part, sizeof part, c == 9, wire);
      g_byte_array_append (expected, (const guint8 *) part, sizeof part);
    }
  while (fed < wire->len)
    {
      gsize n = MIN (wire->len - fed, 333);

      g_assert_true (decoder_feed (d, wire->data + fed, n, FALSE, &error));
      g_assert_no_error (error);
      fed += n;
    }
  g_assert_cmpuint (d->messages->len, ==, 1);
  assert_message (d, 0, (const char *) expected->data, expected->len);
  g_assert_cmpint (g_array_index (d->lengths, gint64, 0), ==, -1);
}

static void
test_lp_decode_empty (void)
{
  g_autoptr(PostFramer) framer = post_length_prefix_framer_new ();
  g_autoptr(GError) error = NULL;
  const guint8 wire[] = { 0x80, 0x00, 0x00, 0x00, 0x80, 0x00, 0x00, 0x00 };
  PostFrameChunk chunk;

  g_assert_true (post_framer_decode (framer, wire, sizeof wire, FALSE, &chunk, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (chunk.consumed, ==, 4);
  g_assert_cmpuint (chunk.payload_length, ==, 0);
  g_assert_true (chunk.message_start);
  g_assert_true (chunk.message_end);
  g_assert_cmpint (chunk.message_length, ==, 0);

  g_assert_true (post_framer_decode (framer, wire + 4, 4, TRUE, &chunk, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (chunk.consumed, ==, 4);
  g_assert_true (chunk.message_start);
  g_assert_true (chunk.message_end);

  /* The stream ends cleanly after an empty message. */
  g_assert_true (post_framer_decode (framer, NULL, 0, TRUE, &chunk, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (chunk.consumed, ==, 0);
  g_assert_false (chunk.message_start);
}

static void
test_lp_truncated (void)
{
  g_autoptr(GError) error = NULL;

  /* In the middle of a header. */
  {
    g_autoptr(Decoder) d = decoder_new (post_length_prefix_framer_new ());
    const guint8 wire[] = { 0x80, 0x00 };

    g_assert_true (decoder_feed (d, wire, sizeof wire, FALSE, &error));
    g_assert_false (decoder_feed (d, NULL, 0, TRUE, &error));
    g_assert_error (error, POST_ERROR, POST_ERROR_TRUNCATED);
    g_assert_nonnull (strstr (error->message, "2 bytes"));
    g_test_message ("mid-header: %s", error->message);
    g_clear_error (&error);
  }

  /* In the middle of the header of a second chunk of a message. */
  {
    g_autoptr(Decoder) d = decoder_new (post_length_prefix_framer_new ());
    const guint8 wire[] = { 0x00, 0x00, 0x00, 0x03, 'a', 'b', 'c', 0x80 };

    g_assert_false (decoder_feed (d, wire, sizeof wire, TRUE, &error));
    g_assert_error (error, POST_ERROR, POST_ERROR_TRUNCATED);
    g_assert_nonnull (strstr (error->message, "3 bytes received"));
    g_assert_nonnull (strstr (error->message, "1 bytes"));
    g_clear_error (&error);
  }

  /* Between two chunks of one message. */
  {
    g_autoptr(Decoder) d = decoder_new (post_length_prefix_framer_new ());
    const guint8 wire[] = { 0x00, 0x00, 0x00, 0x03, 'a', 'b', 'c' };

    g_assert_false (decoder_feed (d, wire, sizeof wire, TRUE, &error));
    g_assert_error (error, POST_ERROR, POST_ERROR_TRUNCATED);
    g_assert_nonnull (strstr (error->message, "3 bytes"));
    g_clear_error (&error);
  }

  /* In the middle of a body: 2 of 5 bytes arrived, 3 are missing. */
  {
    g_autoptr(Decoder) d = decoder_new (post_length_prefix_framer_new ());
    const guint8 wire[] = { 0x80, 0x00, 0x00, 0x05, 'h', 'e' };

    g_assert_true (decoder_feed (d, wire, sizeof wire, FALSE, &error));
    g_assert_no_error (error);
    g_assert_false (decoder_feed (d, NULL, 0, TRUE, &error));
    g_assert_error (error, POST_ERROR, POST_ERROR_TRUNCATED);
    g_assert_nonnull (strstr (error->message, "2 bytes"));
    g_assert_nonnull (strstr (error->message, "3 more"));
    g_test_message ("mid-body: %s", error->message);
    g_clear_error (&error);
  }

  /* Same, with the data and the end of stream together. */
  {
    g_autoptr(Decoder) d = decoder_new (post_length_prefix_framer_new ());
    const guint8 wire[] = { 0x80, 0x00, 0x00, 0x05, 'h', 'e' };

    g_assert_false (decoder_feed (d, wire, sizeof wire, TRUE, &error));
    g_assert_error (error, POST_ERROR, POST_ERROR_TRUNCATED);
    g_clear_error (&error);
  }

  /* Right after a header announcing a body. */
  {
    g_autoptr(Decoder) d = decoder_new (post_length_prefix_framer_new ());
    const guint8 wire[] = { 0x80, 0x00, 0x00, 0x05 };

    g_assert_false (decoder_feed (d, wire, sizeof wire, TRUE, &error));
    g_assert_error (error, POST_ERROR, POST_ERROR_TRUNCATED);
    g_assert_nonnull (strstr (error->message, "5 more"));
    g_clear_error (&error);
  }

  /* At a clean boundary: TRUE, nothing. */
  {
    g_autoptr(Decoder) d = decoder_new (post_length_prefix_framer_new ());
    const guint8 wire[] = { 0x80, 0x00, 0x00, 0x02, 'o', 'k' };

    g_assert_true (decoder_feed (d, NULL, 0, TRUE, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (d->messages->len, ==, 0);
    g_assert_true (decoder_feed (d, wire, sizeof wire, TRUE, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (d->messages->len, ==, 1);
    assert_message (d, 0, "ok", 2);
    g_assert_true (decoder_feed (d, NULL, 0, TRUE, &error));
    g_assert_cmpuint (d->messages->len, ==, 1);
  }
}

static void
test_lp_reset (void)
{
  g_autoptr(Decoder) d = decoder_new (post_length_prefix_framer_new ());
  g_autoptr(GError) error = NULL;
  const guint8 half[] = { 0x80, 0x00, 0x00, 0x09, 'x', 'x' };
  const guint8 whole[] = { 0x80, 0x00, 0x00, 0x02, 'o', 'k' };

  g_assert_true (decoder_feed (d, half, sizeof half, FALSE, &error));
  post_framer_reset (d->framer);
  g_clear_pointer (&d->current, g_byte_array_unref);
  g_byte_array_set_size (d->pending, 0);

  /* After a reset, a clean end is clean and a new message starts fresh. */
  g_assert_true (decoder_feed (d, whole, sizeof whole, TRUE, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (d->messages->len, ==, 1);
  assert_message (d, 0, "ok", 2);
}

/* ---- A custom framer: newline-delimited lines ---------------------------------- */

#define LINE_MAX_LENGTH 1024

#define TEST_TYPE_LINE_FRAMER (test_line_framer_get_type ())
G_DECLARE_FINAL_TYPE (TestLineFramer, test_line_framer, TEST, LINE_FRAMER, PostFramer)

struct _TestLineFramer
{
  PostFramer parent_instance;
};

G_DEFINE_FINAL_TYPE (TestLineFramer, test_line_framer, POST_TYPE_FRAMER)

/* For the end-to-end test: a sender that "forgets" its trailers puts raw,
 * unterminated bytes on the wire. */
static gboolean line_framer_omit_trailer = FALSE;
static guint line_framer_instances = 0;

static gboolean
test_line_framer_encode (PostFramer   *framer,
                         PostMessage  *message,
                         gsize         length,
                         gboolean      end_of_message,
                         GByteArray   *header,
                         GByteArray   *trailer,
                         GError      **error)
{
  if (end_of_message && !line_framer_omit_trailer)
    g_byte_array_append (trailer, (const guint8 *) "\n", 1);
  return TRUE;
}

static gboolean
test_line_framer_decode (PostFramer      *framer,
                         const guint8    *data,
                         gsize            size,
                         gboolean         end_of_stream,
                         PostFrameChunk  *chunk,
                         GError         **error)
{
  const guint8 *newline = size > 0 ? memchr (data, '\n', size) : NULL;

  if (newline != NULL)
    {
      gsize length = newline - data;

      if (length > LINE_MAX_LENGTH)
        goto too_long;
      chunk->consumed = length + 1;
      chunk->payload_offset = 0;
      chunk->payload_length = length;
      chunk->message_start = TRUE;
      chunk->message_end = TRUE;
      chunk->message_length = length;
      return TRUE;
    }
  if (size > LINE_MAX_LENGTH)
    goto too_long;
  if (end_of_stream && size > 0)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_TRUNCATED,
                   "The stream ended in a line (%" G_GSIZE_FORMAT " bytes without a newline)", size);
      return FALSE;
    }
  return TRUE;  /* need more */

too_long:
  g_set_error (error, POST_ERROR, POST_ERROR_PROTOCOL,
               "A line is longer than %d bytes", LINE_MAX_LENGTH);
  return FALSE;
}

static void
test_line_framer_class_init (TestLineFramerClass *klass)
{
  PostFramerClass *framer_class = POST_FRAMER_CLASS (klass);

  framer_class->encode = test_line_framer_encode;
  framer_class->decode = test_line_framer_decode;
  /* No reset: the framer keeps no state, and post_framer_reset() copes. */
}

static void
test_line_framer_init (TestLineFramer *self)
{
  line_framer_instances++;
}

static void
test_line_direct (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostMessage) message = post_message_new_from_string ("one");

  g_assert_true (g_type_is_a (TEST_TYPE_LINE_FRAMER, POST_TYPE_FRAMER));

  /* Encoding: no header, a newline trailer on the last part only. */
  {
    g_autoptr(PostFramer) framer = g_object_new (TEST_TYPE_LINE_FRAMER, NULL);
    g_autoptr(GByteArray) header = g_byte_array_new ();
    g_autoptr(GByteArray) trailer = g_byte_array_new ();

    g_assert_true (post_framer_encode (framer, message, 3, TRUE, header, trailer, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (header->len, ==, 0);
    g_assert_cmpmem (trailer->data, trailer->len, "\n", 1);
    g_byte_array_set_size (trailer, 0);
    g_assert_true (post_framer_encode (framer, message, 3, FALSE, header, trailer, &error));
    g_assert_cmpuint (trailer->len, ==, 0);
    post_framer_reset (framer);  /* no reset vfunc: harmless */
  }

  /* Several lines, one buffer, then byte by byte. */
  {
    const char *wire = "one\ntwo\n\nthree\n";
    g_autoptr(Decoder) all = decoder_new (g_object_new (TEST_TYPE_LINE_FRAMER, NULL));
    g_autoptr(Decoder) bytes = decoder_new (g_object_new (TEST_TYPE_LINE_FRAMER, NULL));

    g_assert_true (decoder_feed (all, wire, strlen (wire), TRUE, &error));
    g_assert_no_error (error);
    for (gsize i = 0; i < strlen (wire); i++)
      g_assert_true (decoder_feed (bytes, wire + i, 1, FALSE, &error));
    g_assert_true (decoder_feed (bytes, NULL, 0, TRUE, &error));
    g_assert_no_error (error);

    for (guint k = 0; k < 2; k++)
      {
        Decoder *d = k == 0 ? all : bytes;

        g_assert_cmpuint (d->messages->len, ==, 4);
        assert_message (d, 0, "one", 3);
        assert_message (d, 1, "two", 3);
        assert_message (d, 2, "", 0);
        assert_message (d, 3, "three", 5);
        g_assert_cmpint (g_array_index (d->lengths, gint64, 3), ==, 5);
      }
  }

  /* The longest line allowed, then one byte longer. */
  {
    g_autoptr(Decoder) d = decoder_new (g_object_new (TEST_TYPE_LINE_FRAMER, NULL));
    g_autofree char *line = g_strnfill (LINE_MAX_LENGTH, 'y');
    g_autofree char *longer = g_strnfill (LINE_MAX_LENGTH + 1, 'z');

    g_assert_true (decoder_feed (d, line, LINE_MAX_LENGTH, FALSE, &error));
    g_assert_cmpuint (d->messages->len, ==, 0);
    g_assert_true (decoder_feed (d, "\n", 1, FALSE, &error));
    g_assert_no_error (error);
    g_assert_cmpuint (d->messages->len, ==, 1);
    assert_message (d, 0, line, LINE_MAX_LENGTH);

    g_assert_false (decoder_feed (d, longer, LINE_MAX_LENGTH + 1, FALSE, &error));
    g_assert_error (error, POST_ERROR, POST_ERROR_PROTOCOL);
    g_clear_error (&error);
  }

  /* Too long even when the newline is there. */
  {
    g_autoptr(Decoder) d = decoder_new (g_object_new (TEST_TYPE_LINE_FRAMER, NULL));
    g_autofree char *longer = g_strnfill (2000, 'x');

    longer[1999] = '\n';
    g_assert_false (decoder_feed (d, longer, 2000, FALSE, &error));
    g_assert_error (error, POST_ERROR, POST_ERROR_PROTOCOL);
    g_clear_error (&error);
  }

  /* The stream ends in a line. */
  {
    g_autoptr(Decoder) d = decoder_new (g_object_new (TEST_TYPE_LINE_FRAMER, NULL));

    g_assert_true (decoder_feed (d, "ok\npart", 7, FALSE, &error));
    g_assert_cmpuint (d->messages->len, ==, 1);
    g_assert_false (decoder_feed (d, NULL, 0, TRUE, &error));
    g_assert_error (error, POST_ERROR, POST_ERROR_TRUNCATED);
    g_assert_nonnull (strstr (error->message, "4 bytes"));
    g_clear_error (&error);
  }
}

/* ---- end to end: the line framer on a carrier pair over TCP ------------------- */

typedef struct {
  GMainLoop         *loop;
  PostConfiguration *server_config;   /* (owned) */
  PostConfiguration *client_config;   /* (owned) */
  PostCarrier       *listener;        /* (owned) */
  PostCarrier       *client;          /* (owned) */
  PostCarrier       *server;          /* (owned) (nullable) the accepted carrier */

  guint              n_incoming;
  guint              n_received;
  guint              n_receive_errors;
  guint              n_server_closed;
  GPtrArray         *received;        /* (owned) (element-type PostMessage) */
  GError            *receive_error;   /* (owned) (nullable) */
  GError            *server_closed_error;  /* (owned) (nullable) */
  gboolean           server_closed_with_null;
} Pair;

static gboolean
on_incoming (PostCarrier *listener,
             PostCarrier *carrier,
             Pair        *p)
{
  p->n_incoming++;
  g_assert_null (p->server);
  p->server = g_object_ref (carrier);
  g_main_loop_quit (p->loop);
  return TRUE;
}

static void
on_server_closed (PostCarrier  *carrier,
                  const GError *error,
                  Pair         *p)
{
  p->n_server_closed++;
  if (error != NULL)
    {
      g_clear_error (&p->server_closed_error);
      p->server_closed_error = g_error_copy (error);
    }
  else
    p->server_closed_with_null = TRUE;
  g_main_loop_quit (p->loop);
}

static void
received_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Pair *p = user_data;
  g_autoptr(GError) error = NULL;
  PostMessage *message = post_carrier_receive_finish (POST_CARRIER (source), result, &error);

  if (message != NULL)
    {
      g_ptr_array_add (p->received, message);
      p->n_received++;
    }
  else
    {
      g_clear_error (&p->receive_error);
      p->receive_error = g_steal_pointer (&error);
      p->n_receive_errors++;
    }
  g_main_loop_quit (p->loop);
}

static void
test_line_end_to_end (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostLocal) local = post_local_new_from_uri ("tcp://127.0.0.1:0", &error);
  g_autoptr(PostRemote) remote = NULL;
  GSocketAddress *listen_address;
  Pair p = { 0, };
  guint instances_before = line_framer_instances;

  g_assert_no_error (error);
  p.loop = g_main_loop_new (NULL, FALSE);
  p.received = g_ptr_array_new_with_free_func (g_object_unref);

  p.server_config = post_configuration_new ();
  g_assert_true (post_configuration_set_framer_type (p.server_config, TEST_TYPE_LINE_FRAMER, &error));
  g_assert_no_error (error);
  g_assert_true (post_configuration_get_framer_type (p.server_config) == TEST_TYPE_LINE_FRAMER);
  p.client_config = post_configuration_copy (p.server_config);
  g_assert_true (post_configuration_get_framer_type (p.client_config) == TEST_TYPE_LINE_FRAMER);

  p.listener = post_carrier_listen (local, p.server_config, &error);
  g_assert_no_error (error);
  g_assert_nonnull (p.listener);
  g_signal_connect (p.listener, "incoming", G_CALLBACK (on_incoming), &p);
  listen_address = post_carrier_get_local_address (p.listener);
  g_assert_true (G_IS_INET_SOCKET_ADDRESS (listen_address));
  g_assert_cmpuint (g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (listen_address)), !=, 0);

  remote = post_remote_new_for_address (listen_address);
  /* The listener is plain tcp: a bare address would race only tls. */
  g_assert_true (post_configuration_set_stacks (p.client_config, (const char *[]) { "tcp", NULL }, NULL));
  p.client = post_carrier_initiate (NULL, remote, p.client_config);

  /* Queued while establishing, framed by the line framer once attached. */
  {
    g_autoptr(PostMessage) one = post_message_new_from_string ("one");
    g_autoptr(GBytes) two = g_bytes_new_static ("two", 3);

    g_assert_true (post_carrier_send (p.client, one, &error));
    g_assert_no_error (error);
    g_assert_true (post_carrier_send_bytes (p.client, two, &error));
    g_assert_no_error (error);
  }

  run_until (p.loop, &p.n_incoming, 1);
  g_assert_nonnull (p.server);
  g_signal_connect (p.server, "closed", G_CALLBACK (on_server_closed), &p);

  post_carrier_receive_async (p.server, NULL, received_cb, &p);
  run_until (p.loop, &p.n_received, 1);
  post_carrier_receive_async (p.server, NULL, received_cb, &p);
  run_until (p.loop, &p.n_received, 2);
  g_assert_cmpuint (p.n_receive_errors, ==, 0);
  {
    GBytes *c0 = post_message_get_content (p.received->pdata[0]);
    GBytes *c1 = post_message_get_content (p.received->pdata[1]);

    g_assert_cmpmem (g_bytes_get_data (c0, NULL), g_bytes_get_size (c0), "one", 3);
    g_assert_cmpmem (g_bytes_get_data (c1, NULL), g_bytes_get_size (c1), "two", 3);
    g_assert_true (post_message_is_complete (p.received->pdata[0]));
    g_assert_true (post_message_is_complete (p.received->pdata[1]));
    g_assert_false (post_message_is_outgoing (p.received->pdata[0]));
  }
  /* Each side's transient made its own instance of the custom framer. */
  g_assert_cmpuint (line_framer_instances - instances_before, >=, 2);
  g_assert_cmpint (post_carrier_get_state (p.client), ==, POST_CARRIER_STATE_ACTIVE);
  g_assert_cmpint (post_carrier_get_state (p.server), ==, POST_CARRIER_STATE_ACTIVE);

  /* Raw garbage: 2000 bytes without a newline. */
  post_carrier_receive_async (p.server, NULL, received_cb, &p);
  line_framer_omit_trailer = TRUE;
  {
    g_autofree char *garbage = g_strnfill (2000, 'x');
    g_autoptr(GBytes) bytes = g_bytes_new_take (g_steal_pointer (&garbage), 2000);

    g_assert_true (post_carrier_send_bytes (p.client, bytes, &error));
    g_assert_no_error (error);
  }

  run_until (p.loop, &p.n_server_closed, 1);
  line_framer_omit_trailer = FALSE;
  run_until (p.loop, &p.n_receive_errors, 1);

  g_assert_cmpuint (p.n_server_closed, ==, 1);
  g_assert_false (p.server_closed_with_null);
  g_assert_error (p.server_closed_error, POST_ERROR, POST_ERROR_PROTOCOL);
  g_test_message ("server closed: %s", p.server_closed_error->message);
  g_assert_nonnull (post_carrier_get_error (p.server));
  g_assert_error ((GError *) post_carrier_get_error (p.server), POST_ERROR, POST_ERROR_PROTOCOL);
  g_assert_cmpint (post_carrier_get_state (p.server), ==, POST_CARRIER_STATE_CLOSED);
  g_assert_cmpuint (p.n_received, ==, 2);
  g_assert_nonnull (p.receive_error);
  g_assert_true (p.receive_error->domain == POST_ERROR);
  g_test_message ("pending receive failed: %s", p.receive_error->message);

  /* Teardown. */
  g_signal_handlers_disconnect_by_data (p.listener, &p);
  g_signal_handlers_disconnect_by_data (p.server, &p);
  post_carrier_abort (p.client);
  post_carrier_close (p.listener);
  g_clear_object (&p.client);
  g_clear_object (&p.server);
  g_clear_object (&p.listener);
  post_test_drain ();
  g_clear_object (&p.server_config);
  g_clear_object (&p.client_config);
  g_ptr_array_unref (p.received);
  g_clear_error (&p.receive_error);
  g_clear_error (&p.server_closed_error);
  g_main_loop_unref (p.loop);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/framer/length-prefix/encode", test_lp_encode);
  g_test_add_func ("/framer/length-prefix/decode-one", test_lp_decode_one);
  g_test_add_func ("/framer/length-prefix/start-and-length", test_lp_decode_start_length);
  g_test_add_func ("/framer/length-prefix/several", test_lp_decode_several);
  g_test_add_func ("/framer/length-prefix/byte-by-byte", test_lp_decode_byte_by_byte);
  g_test_add_func ("/framer/length-prefix/multichunk", test_lp_decode_multichunk_large);
  g_test_add_func ("/framer/length-prefix/empty", test_lp_decode_empty);
  g_test_add_func ("/framer/length-prefix/truncated", test_lp_truncated);
  g_test_add_func ("/framer/length-prefix/reset", test_lp_reset);
  g_test_add_func ("/framer/length-prefix/control", test_lp_control);
  g_test_add_func ("/framer/custom/direct", test_line_direct);
  g_test_add_func ("/framer/custom/end-to-end", test_line_end_to_end);

  return g_test_run ();
}
