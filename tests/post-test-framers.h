/* post-test-framers.h: framers for the tests, and what the framer tests
 * share: random messages with metadata, encoding them as a carrier does,
 * a decoder that feeds a framer as the carrier does, and the comparison of
 * what came out with what went in.  Used by test-framer-stack and the
 * contract suite (framing/ cases).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <post.h>

G_BEGIN_DECLS

/* A framer that carries metadata: each message part is
 *   flags (1 byte: 0x01 the last part, 0x02 metadata follows)
 *   payload length (4 bytes, network order)
 *   [metadata length (4 bytes), the a{sv} serialized in normal form]
 *   payload
 * Metadata goes on the first part of a message only.  Malformed input is
 * POST_ERROR_PROTOCOL, an end inside a message POST_ERROR_TRUNCATED. */
#define TEST_TYPE_TAG_FRAMER (test_tag_framer_get_type ())
G_DECLARE_FINAL_TYPE (TestTagFramer, test_tag_framer, TEST, TAG_FRAMER, PostFramer)

/* Newline-delimited messages that can hand over (post_framer_replace()):
 * decoding the line "SWITCH" makes it hand its input to a
 * PostLengthPrefixFramer after that line, the line "RAW" to pass-through;
 * encoding a message whose metadata has "switch" = "lpf" or "raw" hands
 * its output over after that message.  A line that begins with "MID" and
 * has not ended asks for the hand-over in the middle of a message (which
 * the carrier refuses). */
#define TEST_TYPE_SWITCH_FRAMER (test_switch_framer_get_type ())
G_DECLARE_FINAL_TYPE (TestSwitchFramer, test_switch_framer, TEST, SWITCH_FRAMER, PostFramer)

/* @n random outgoing messages: sizes from 0 to @max_size (some empty),
 * random bytes, and (when @with_metadata) random metadata on most. */
GPtrArray  *post_test_framers_messages (GRand    *rand,
                                        guint     n,
                                        gsize     max_size,
                                        gboolean  with_metadata);

/* The bytes @framer makes of @messages, as a carrier frames them: header,
 * payload, trailer; every third message of more than one byte in two
 * parts (when @parts). */
GByteArray *post_test_framers_encode   (PostFramer *framer,
                                        GPtrArray  *messages,
                                        gboolean    parts);

/* Feeds @framer as the carrier does: keeps what it did not consume, feeds
 * it again with what arrives next, gathers payload into messages (with
 * their metadata).  Returns FALSE with the framer's error. */
typedef struct
{
  PostFramer *framer;     /* (owned) */
  GByteArray *pending;    /* (owned) unconsumed input */
  GPtrArray  *messages;   /* (owned) (element-type GBytes) complete messages */
  GPtrArray  *metadata;   /* (owned) (element-type GVariant) each one's, or an empty a{sv} */
  GArray     *lengths;    /* (owned) (element-type gint64) message_length at each start */
  GByteArray *current;    /* (owned) (nullable) the message being gathered */
  GVariant   *current_metadata; /* (owned) (nullable) */
  guint       n_calls;    /* of post_framer_decode() */
} PostTestDeframer;

/* @framer: (transfer full) */
void        post_test_deframer_init    (PostTestDeframer *d,
                                        PostFramer       *framer);
gboolean    post_test_deframer_feed    (PostTestDeframer *d,
                                        const guint8     *data,
                                        gsize             size,
                                        gboolean          end_of_stream,
                                        GError          **error);
void        post_test_deframer_clear   (PostTestDeframer *d);

/* Feeds all of @wire to a new deframer of @framer in pieces whose sizes
 * @rand chooses between 1 and @max_piece (1: byte by byte), then the end
 * of the stream, and checks that what came out is @messages: contents and
 * metadata. */
void        post_test_framers_check_chunked (PostFramer *framer,
                                             GByteArray *wire,
                                             GPtrArray  *messages,
                                             GRand      *rand,
                                             guint       max_piece);

/* Asserts that @content and @metadata (nullable) are those of @sent. */
void        post_test_framers_assert_same (PostMessage *sent,
                                           GBytes      *content,
                                           GVariant    *metadata);

G_END_DECLS
