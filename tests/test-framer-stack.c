/* test-framer-stack.c: stacks of framers (RFC 9623 section 6), framers
 * that hand over to another (post_framer_replace()) or start pass-through,
 * and typed metadata decoded by a framer: directly, over random chunkings
 * of the input, and end to end on carrier pairs over TCP loopback.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <post.h>
#include <string.h>
#include <sys/socket.h>

#include "post-test-framers.h"
#include "post-test-util.h"

#define WAIT_TIMEOUT_S 10
#define SEED 0x5eed1e55u

/* ---- helpers ------------------------------------------------------------- */

#define run_until(loop, flag, n) post_test_loop_until ((loop), (const guint *) (flag), (n), #flag, WAIT_TIMEOUT_S)

/* A configuration whose framers are @types, bottom first (G_TYPE_INVALID
 * ends the list). */
static PostConfiguration *
config_with_framers (const GType *types)
{
  PostConfiguration *config = post_configuration_new ();

  for (guint i = 0; types[i] != G_TYPE_INVALID; i++)
    g_assert_true (post_configuration_add_framer_type (config, types[i], NULL));
  return config;
}

static PostFramer *
framer_of (const GType *types)
{
  g_autoptr(PostConfiguration) config = config_with_framers (types);

  return post_configuration_create_framer (config);
}

static GByteArray *
wire_of (PostFramer  *framer,
         const char **lines,
         const char **switches)
{
  g_autoptr(GPtrArray) messages = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; lines[i] != NULL; i++)
    {
      PostMessage *message = post_message_new_from_string (lines[i]);

      if (switches != NULL && switches[i] != NULL)
        g_assert_true (post_message_set_metadata (message,
                         g_variant_new_parsed ("{'switch': <%s>}", switches[i]), NULL));
      g_ptr_array_add (messages, message);
    }
  return post_test_framers_encode (framer, messages, FALSE);
}

/* ---- the configuration's stack ------------------------------------------- */

static void
assert_types (PostConfiguration *config,
              const GType       *expected)
{
  guint n = 0;
  g_autofree GType *types = post_configuration_get_framer_types (config, &n);
  guint i;

  for (i = 0; expected[i] != G_TYPE_INVALID; i++)
    {
      g_assert_cmpuint (i, <, n);
      g_assert_cmpstr (g_type_name (types[i]), ==, g_type_name (expected[i]));
    }
  g_assert_cmpuint (n, ==, i);
  g_assert_true (types[n] == G_TYPE_INVALID);
  g_assert_true (post_configuration_get_framer_type (config) == expected[0]);
}

static void
test_configuration (void)
{
  g_autoptr(PostConfiguration) config = post_configuration_new ();
  g_autoptr(PostConfiguration) copy = NULL;
  g_autoptr(PostFramer) framer = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  /* The default: the length-prefix framer alone, made as it is. */
  assert_types (config, (GType[]) { POST_TYPE_LENGTH_PREFIX_FRAMER, G_TYPE_INVALID });
  framer = post_configuration_create_framer (config);
  g_assert_true (POST_IS_LENGTH_PREFIX_FRAMER (framer));
  g_clear_object (&framer);
  text = post_configuration_to_string (config);
  g_assert_null (strstr (text, "framer-stack="));
  g_clear_pointer (&text, g_free);

  /* The first framer added replaces the default, the next goes above it
   * (RFC 9622: the last added is nearest the application). */
  g_assert_true (post_configuration_add_framer_type (config, TEST_TYPE_TAG_FRAMER, &error));
  assert_types (config, (GType[]) { TEST_TYPE_TAG_FRAMER, G_TYPE_INVALID });
  g_assert_true (post_configuration_add_framer_type (config, POST_TYPE_LENGTH_PREFIX_FRAMER, &error));
  g_assert_true (post_configuration_add_framer_type (config, TEST_TYPE_SWITCH_FRAMER, &error));
  g_assert_no_error (error);
  assert_types (config, (GType[]) { TEST_TYPE_TAG_FRAMER, POST_TYPE_LENGTH_PREFIX_FRAMER,
                                    TEST_TYPE_SWITCH_FRAMER, G_TYPE_INVALID });
  text = post_configuration_to_string (config);
  g_assert_nonnull (strstr (text, "framer-type=TestTagFramer\n"
                                  "framer-stack=PostLengthPrefixFramer,TestSwitchFramer\n"));
  g_clear_pointer (&text, g_free);

  /* A stack is no length-prefix framer: no control frames. */
  framer = post_configuration_create_framer (config);
  g_assert_true (POST_IS_FRAMER (framer));
  g_assert_false (POST_IS_LENGTH_PREFIX_FRAMER (framer));
  g_clear_object (&framer);

  /* Copies keep the stack, and are equal. */
  copy = post_configuration_copy (config);
  assert_types (copy, (GType[]) { TEST_TYPE_TAG_FRAMER, POST_TYPE_LENGTH_PREFIX_FRAMER,
                                  TEST_TYPE_SWITCH_FRAMER, G_TYPE_INVALID });
  g_assert_true (post_configuration_equal (config, copy));
  g_assert_true (post_configuration_add_framer_type (copy, TEST_TYPE_TAG_FRAMER, &error));
  g_assert_false (post_configuration_equal (config, copy));

  /* Setting the framer type leaves it alone; adding then stacks on it. */
  g_assert_true (post_configuration_set_framer_type (config, POST_TYPE_LENGTH_PREFIX_FRAMER, &error));
  assert_types (config, (GType[]) { POST_TYPE_LENGTH_PREFIX_FRAMER, G_TYPE_INVALID });
  g_assert_true (post_configuration_add_framer_type (config, POST_TYPE_LENGTH_PREFIX_FRAMER, &error));
  assert_types (config, (GType[]) { POST_TYPE_LENGTH_PREFIX_FRAMER, POST_TYPE_LENGTH_PREFIX_FRAMER,
                                    G_TYPE_INVALID });
  framer = post_configuration_create_framer (config);
  g_assert_false (POST_IS_LENGTH_PREFIX_FRAMER (framer));
  g_clear_object (&framer);
  /* A custom framer alone is made into a stack too (it may hand over). */
  g_assert_true (post_configuration_set_framer_type (config, TEST_TYPE_SWITCH_FRAMER, &error));
  framer = post_configuration_create_framer (config);
  g_assert_false (TEST_IS_SWITCH_FRAMER (framer));
  g_clear_object (&framer);

  /* What is not a concrete framer is refused. */
  g_assert_false (post_configuration_add_framer_type (config, POST_TYPE_FRAMER, &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_false (post_configuration_add_framer_type (config, G_TYPE_OBJECT, &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  assert_types (config, (GType[]) { TEST_TYPE_SWITCH_FRAMER, G_TYPE_INVALID });

  /* Stream framing has no framer. */
  g_assert_true (post_configuration_set_framing (config, POST_FRAMING_STREAM, &error));
  g_assert_null (post_configuration_create_framer (config));

  /* Frozen: no more framers. */
  post_configuration_freeze (config);
  g_assert_false (post_configuration_add_framer_type (config, TEST_TYPE_TAG_FRAMER, &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_IMMUTABLE);
}

/* ---- stacked framing ----------------------------------------------------- */

static void
test_encode_layout (void)
{
  g_autoptr(PostFramer) framer = framer_of ((GType[]) { POST_TYPE_LENGTH_PREFIX_FRAMER,
                                                        POST_TYPE_LENGTH_PREFIX_FRAMER,
                                                        G_TYPE_INVALID });
  g_autoptr(GByteArray) header = g_byte_array_new ();
  g_autoptr(GByteArray) trailer = g_byte_array_new ();
  g_autoptr(PostMessage) message = post_message_new_from_string ("Hello!");
  static const guint8 expected[] = { 0x80, 0, 0, 10, 0x80, 0, 0, 6 };
  static const guint8 parts[] = { 0, 0, 0, 7, 0, 0, 0, 3 };

  /* The bottom framer frames the upper one's header and the payload. */
  g_byte_array_append (header, (const guint8 *) "x", 1);   /* appended to, not replaced */
  g_assert_true (post_framer_encode (framer, message, 6, TRUE, header, trailer, NULL));
  g_assert_cmpmem (header->data + 1, header->len - 1, expected, sizeof expected);
  g_assert_cmpuint (trailer->len, ==, 0);

  /* A part that does not end the message: neither layer's final bit. */
  g_byte_array_set_size (header, 0);
  g_assert_true (post_framer_encode (framer, message, 3, FALSE, header, trailer, NULL));
  g_assert_cmpmem (header->data, header->len, parts, sizeof parts);

  /* Trailers go outward: the line framer's newline, then the tag's nothing. */
  {
    g_autoptr(PostFramer) lines = framer_of ((GType[]) { TEST_TYPE_TAG_FRAMER,
                                                         TEST_TYPE_SWITCH_FRAMER, G_TYPE_INVALID });
    static const guint8 tag[] = { 0x01, 0, 0, 0, 7 };

    g_byte_array_set_size (header, 0);
    g_assert_true (post_framer_encode (lines, NULL, 6, TRUE, header, trailer, NULL));
    g_assert_cmpmem (header->data, header->len, tag, sizeof tag);
    g_assert_cmpmem (trailer->data, trailer->len, "\n", 1);
  }
}

/* Every framer of the library (the length-prefix framer), the test's, and
 * stacks of them, over random chunkings of their input: 1-byte pieces,
 * small and large ones. */
static void
test_chunked (void)
{
  GType lp = POST_TYPE_LENGTH_PREFIX_FRAMER, tag = TEST_TYPE_TAG_FRAMER;
  const GType types[][4] = {
    { lp, G_TYPE_INVALID },
    { lp, lp, G_TYPE_INVALID },
    { lp, lp, lp, G_TYPE_INVALID },
    { tag, G_TYPE_INVALID },
    { lp, tag, G_TYPE_INVALID },
    { tag, lp, G_TYPE_INVALID },
    { tag, tag, G_TYPE_INVALID },
  };
  g_autoptr(GRand) rand = g_rand_new_with_seed (SEED);

  for (guint s = 0; s < G_N_ELEMENTS (types); s++)
    {
      gboolean tagged = FALSE;

      for (guint i = 0; types[s][i] != G_TYPE_INVALID; i++)
        tagged = tagged || types[s][i] == TEST_TYPE_TAG_FRAMER;
      for (guint round = 0; round < 4; round++)
        {
          g_autoptr(PostFramer) encoder = framer_of (types[s]);
          g_autoptr(PostFramer) decoder = framer_of (types[s]);
          g_autoptr(GPtrArray) messages = post_test_framers_messages (rand, 24, 3000, tagged);
          g_autoptr(GByteArray) wire = post_test_framers_encode (encoder, messages, TRUE);
          /* byte by byte, then pieces of up to 7, 300 and 9000 bytes */
          static const guint max_piece[] = { 1, 7, 300, 9000 };

          g_test_message ("stack %u, pieces of up to %u bytes, %u wire bytes", s, max_piece[round], wire->len);
          post_test_framers_check_chunked (decoder, wire, messages, rand, max_piece[round]);
        }
    }
}

/* ---- hand-over and pass-through ------------------------------------------ */

static void
assert_lines (PostTestDeframer *d,
              const char      **expected)
{
  guint n = g_strv_length ((char **) expected);

  g_assert_cmpuint (d->messages->len, ==, n);
  for (guint i = 0; i < n; i++)
    {
      gsize size;
      const char *data = g_bytes_get_data (d->messages->pdata[i], &size);

      g_assert_cmpmem (data, size, expected[i], strlen (expected[i]));
    }
}

static void
feed_in_pieces (PostTestDeframer *d,
                GByteArray       *wire,
                gsize             piece)
{
  g_autoptr(GError) error = NULL;

  for (gsize off = 0; off < wire->len; off += piece)
    {
      g_assert_true (post_test_deframer_feed (d, wire->data + off, MIN (piece, wire->len - off),
                                              FALSE, &error));
      g_assert_no_error (error);
    }
  g_assert_true (post_test_deframer_feed (d, NULL, 0, TRUE, &error));
  g_assert_no_error (error);
}

/* The line "SWITCH" hands the input to a length-prefix framer, which
 * decodes what the line framer left: whole, and a byte at a time. */
static void
test_switch (void)
{
  static const char *lines[] = { "one", "SWITCH", "two", "three", "", NULL };
  static const char *switches[] = { NULL, "lpf", NULL, NULL, NULL };

  for (guint layout = 0; layout < 2; layout++)
    {
      GType types[3] = { TEST_TYPE_SWITCH_FRAMER, G_TYPE_INVALID, G_TYPE_INVALID };

      if (layout == 1)
        {
          /* inside a length-prefix framer: the upper layer hands over */
          types[0] = POST_TYPE_LENGTH_PREFIX_FRAMER;
          types[1] = TEST_TYPE_SWITCH_FRAMER;
        }
      for (gsize piece = 1; piece <= 4096; piece *= 64)
        {
          g_autoptr(PostFramer) encoder = framer_of (types);
          g_autoptr(GByteArray) wire = wire_of (encoder, lines, switches);
          PostTestDeframer d;

          /* After "SWITCH" the output is length-prefixed: "two" is 80 00 00 03 two. */
          if (layout == 0)
            {
              static const guint8 after[] = { 0x80, 0, 0, 3, 't', 'w', 'o' };

              g_assert_cmpmem (wire->data, 11, "one\nSWITCH\n", 11);
              g_assert_cmpmem (wire->data + 11, sizeof after, after, sizeof after);
            }
          post_test_deframer_init (&d, framer_of (types));
          feed_in_pieces (&d, wire, piece);
          assert_lines (&d, lines);
          post_test_deframer_clear (&d);
        }
    }
}

/* The line "RAW" starts pass-through: the rest of the input is one
 * message, ended by the end of the stream; the output is sent as it is. */
static void
test_passthrough (void)
{
  static const char *lines[] = { "one", "RAW", "the rest\nas it is", " and more", NULL };
  static const char *switches[] = { NULL, "raw", NULL, NULL };
  static const char *expected[] = { "one", "RAW", "the rest\nas it is and more", NULL };

  for (gsize piece = 1; piece <= 64; piece *= 8)
    {
      g_autoptr(PostFramer) encoder = framer_of ((GType[]) { TEST_TYPE_SWITCH_FRAMER, G_TYPE_INVALID });
      g_autoptr(GByteArray) wire = wire_of (encoder, lines, switches);
      PostTestDeframer d;

      g_assert_cmpmem (wire->data, wire->len, "one\nRAW\nthe rest\nas it is and more",
                       strlen ("one\nRAW\nthe rest\nas it is and more"));
      post_test_deframer_init (&d, framer_of ((GType[]) { TEST_TYPE_SWITCH_FRAMER, G_TYPE_INVALID }));
      feed_in_pieces (&d, wire, piece);
      assert_lines (&d, expected);
      post_test_deframer_clear (&d);
    }

  /* Nothing after the pass-through began: an empty last message. */
  {
    static const char *empty_rest[] = { "RAW", "", NULL };
    PostTestDeframer d;
    g_autoptr(GError) error = NULL;

    post_test_deframer_init (&d, framer_of ((GType[]) { TEST_TYPE_SWITCH_FRAMER, G_TYPE_INVALID }));
    g_assert_true (post_test_deframer_feed (&d, (const guint8 *) "RAW\n", 4, TRUE, &error));
    g_assert_no_error (error);
    assert_lines (&d, empty_rest);
    post_test_deframer_clear (&d);
  }
}

/* A hand-over in the middle of a message is refused. */
static void
test_mid_message (void)
{
  PostTestDeframer d;
  g_autoptr(GError) error = NULL;

  post_test_deframer_init (&d, framer_of ((GType[]) { TEST_TYPE_SWITCH_FRAMER, G_TYPE_INVALID }));
  g_assert_false (post_test_deframer_feed (&d, (const guint8 *) "MIDDLE of a line", 16, FALSE, &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_PROTOCOL);
  g_assert_nonnull (strstr (error->message, "middle of a message"));
  post_test_deframer_clear (&d);
}

/* A framer's errors come out of the stack as they are; leftovers at the
 * end are TRUNCATED. */
static void
test_errors (void)
{
  static const guint8 bad_flags[] = { 0x41, 0, 0, 0, 0 };
  static const guint8 bad_metadata[] = { 0x03, 0, 0, 0, 0, 0, 0, 0, 3, 'a', 'b', 'c' };
  static const guint8 cut[] = { 0x01, 0, 0, 0, 9, 'a' };
  struct { const guint8 *data; gsize size; gint code; } cases[] = {
    { bad_flags, sizeof bad_flags, POST_ERROR_PROTOCOL },
    { bad_metadata, sizeof bad_metadata, POST_ERROR_PROTOCOL },
    { cut, sizeof cut, POST_ERROR_TRUNCATED },
  };

  for (guint layout = 0; layout < 2; layout++)
    for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
      {
        GType types[3] = { TEST_TYPE_TAG_FRAMER, G_TYPE_INVALID, G_TYPE_INVALID };
        g_autoptr(GByteArray) wire = g_byte_array_new ();
        g_autoptr(GError) error = NULL;
        PostTestDeframer d;

        if (layout == 1)
          {
            /* the bad tag inside a length-prefixed chunk */
            guint32 be = GUINT32_TO_BE ((guint32) cases[i].size | 0x80000000u);

            types[0] = POST_TYPE_LENGTH_PREFIX_FRAMER;
            types[1] = TEST_TYPE_TAG_FRAMER;
            g_byte_array_append (wire, (const guint8 *) &be, 4);
          }
        g_byte_array_append (wire, cases[i].data, cases[i].size);
        post_test_deframer_init (&d, framer_of (types));
        if (post_test_deframer_feed (&d, wire->data, wire->len, FALSE, &error))
          g_assert_false (post_test_deframer_feed (&d, NULL, 0, TRUE, &error));
        g_assert_error (error, POST_ERROR, cases[i].code);
        g_test_message ("%s", error->message);
        post_test_deframer_clear (&d);
      }
}

/* An upper framer that only consumes headers (empty parts) from what the
 * framer below delivered: the stack goes on by itself, it does not look
 * like "need more" (found by fuzz-framer-stack: the end of the stream was
 * then taken for a clean one with a message open). */
static void
test_upper_consumes_only (void)
{
  static const guint8 tags[] = { 0x00, 0, 0, 0, 0,  0x00, 0, 0, 0, 0,  0x00, 0, 0, 0, 0,
                                 0x01, 0, 0, 0, 3, 'a', 'b', 'c' };
  static const char *expected[] = { "abc", NULL };

  for (guint truncated = 0; truncated < 2; truncated++)
    for (gsize piece = 1; piece <= 64; piece *= 4)
      {
        g_autoptr(GByteArray) wire = g_byte_array_new ();
        g_autoptr(GError) error = NULL;
        /* one length-prefixed chunk: the whole, or announced longer and cut
         * after the three empty parts */
        guint32 be = GUINT32_TO_BE (truncated ? 1000u : (guint32) sizeof tags | 0x80000000u);
        PostTestDeframer d;
        gboolean ok = TRUE;

        g_byte_array_append (wire, (const guint8 *) &be, 4);
        g_byte_array_append (wire, tags, truncated ? 15 : sizeof tags);
        post_test_deframer_init (&d, framer_of ((GType[]) { POST_TYPE_LENGTH_PREFIX_FRAMER,
                                                            TEST_TYPE_TAG_FRAMER, G_TYPE_INVALID }));
        for (gsize off = 0; ok && off < wire->len; off += piece)
          ok = post_test_deframer_feed (&d, wire->data + off, MIN (piece, wire->len - off), FALSE,
                                        &error);
        g_assert_no_error (error);
        ok = post_test_deframer_feed (&d, NULL, 0, TRUE, &error);
        if (truncated)
          {
            g_assert_false (ok);
            g_assert_error (error, POST_ERROR, POST_ERROR_TRUNCATED);
          }
        else
          {
            g_assert_no_error (error);
            assert_lines (&d, expected);
          }
        post_test_deframer_clear (&d);
      }
}

/* ---- end to end over tcp ------------------------------------------------- */

typedef struct {
  GMainLoop   *loop;
  PostCarrier *listener;
  PostCarrier *client;
  PostCarrier *server;
  GPtrArray   *server_got;    /* (element-type PostMessage) */
  GPtrArray   *client_got;
  guint        n_incoming;
  guint        n_server_got;
  guint        n_client_got;
  guint        n_sent_parts;
  guint        n_dropped;
  gboolean     dropped_had_metadata[4];
} Pair;

static gboolean
on_incoming (PostCarrier *listener,
             PostCarrier *carrier,
             Pair        *p)
{
  g_set_object (&p->server, carrier);
  p->n_incoming++;
  g_main_loop_quit (p->loop);
  return TRUE;
}

static void
received_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Pair *p = user_data;
  g_autoptr(GError) error = NULL;
  PostMessage *message = post_carrier_receive_finish (POST_CARRIER (source), result, &error);

  g_assert_no_error (error);
  if (POST_CARRIER (source) == p->server)
    {
      g_ptr_array_add (p->server_got, message);
      p->n_server_got++;
    }
  else
    {
      g_ptr_array_add (p->client_got, message);
      p->n_client_got++;
    }
  g_main_loop_quit (p->loop);
}

/* Looks at the message and keeps nothing: the carrier may reuse it. */
static void
received_drop_cb (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  Pair *p = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(PostMessage) message = post_carrier_receive_finish (POST_CARRIER (source), result, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (p->n_dropped, <, G_N_ELEMENTS (p->dropped_had_metadata));
  p->dropped_had_metadata[p->n_dropped++] = post_message_get_metadata (message) != NULL;
  g_main_loop_quit (p->loop);
}

static void
pair_start (Pair              *p,
            PostConfiguration *config)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostLocal) local = post_local_new_from_uri ("tcp://127.0.0.1:0", &error);
  g_autoptr(PostRemote) remote = NULL;
  g_autoptr(PostConfiguration) client_config = post_configuration_copy (config);

  memset (p, 0, sizeof *p);
  p->loop = g_main_loop_new (NULL, FALSE);
  p->server_got = g_ptr_array_new_with_free_func (g_object_unref);
  p->client_got = g_ptr_array_new_with_free_func (g_object_unref);
  p->listener = post_carrier_listen (local, config, &error);
  g_assert_no_error (error);
  g_signal_connect (p->listener, "incoming", G_CALLBACK (on_incoming), p);
  remote = post_remote_new_for_address (post_carrier_get_local_address (p->listener));
  g_assert_true (post_configuration_set_stacks (client_config, (const char *[]) { "tcp", NULL }, NULL));
  p->client = post_carrier_initiate (NULL, remote, client_config);
}

static void
pair_stop (Pair *p)
{
  g_signal_handlers_disconnect_by_data (p->listener, p);
  post_carrier_abort (p->client);
  if (p->server != NULL)
    post_carrier_abort (p->server);
  post_carrier_close (p->listener);
  g_clear_object (&p->client);
  g_clear_object (&p->server);
  g_clear_object (&p->listener);
  post_test_drain ();
  g_ptr_array_unref (p->server_got);
  g_ptr_array_unref (p->client_got);
  g_main_loop_unref (p->loop);
}

static void
send_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Pair *p = user_data;
  g_autoptr(GError) error = NULL;

  post_carrier_send_partial_finish (POST_CARRIER (source), result, &error);
  g_assert_no_error (error);
  p->n_sent_parts++;
  g_main_loop_quit (p->loop);
}

/* Metadata goes through a real carrier: decoded by the framer on one
 * side, on the received PostMessage on the other; whole messages, one sent
 * in parts, and with a framer stacked on the length-prefix framer. */
static void
test_tcp_metadata (void)
{
  for (guint layout = 0; layout < 2; layout++)
    {
      g_autoptr(PostConfiguration) config = NULL;
      g_autoptr(GRand) rand = g_rand_new_with_seed (SEED + layout);
      g_autoptr(GPtrArray) messages = post_test_framers_messages (rand, 12, 70000, TRUE);
      g_autoptr(PostMessage) in_parts = post_message_new (NULL);
      g_autoptr(GBytes) first = g_bytes_new_static ("first half, ", 12);
      g_autoptr(GBytes) second = g_bytes_new_static ("second half", 11);
      g_autoptr(PostMessage) reply = post_message_new_from_string ("reply");
      g_autoptr(GError) error = NULL;
      g_autofree char *reason = NULL;
      guint status = 0;
      Pair p;

      config = config_with_framers ((GType[]) { TEST_TYPE_TAG_FRAMER, G_TYPE_INVALID });
      if (layout == 1)
        {
          /* the tag framer on the length-prefix framer */
          g_assert_true (post_configuration_set_framer_type (config, POST_TYPE_LENGTH_PREFIX_FRAMER, NULL));
          g_assert_true (post_configuration_add_framer_type (config, TEST_TYPE_TAG_FRAMER, NULL));
        }
      pair_start (&p, config);

      for (guint i = 0; i < messages->len; i++)
        {
          g_assert_true (post_carrier_send (p.client, messages->pdata[i], &error));
          g_assert_no_error (error);
        }
      g_assert_true (post_message_set_metadata (in_parts,
                       g_variant_new_parsed ("{'http-reason': <'Parts'>}"), &error));
      post_carrier_send_partial_async (p.client, in_parts, first, FALSE, NULL, send_cb, &p);
      post_carrier_send_partial_async (p.client, in_parts, second, TRUE, NULL, send_cb, &p);

      run_until (p.loop, &p.n_incoming, 1);
      for (guint i = 0; i <= messages->len; i++)
        {
          post_carrier_receive_async (p.server, NULL, received_cb, &p);
          run_until (p.loop, &p.n_server_got, i + 1);
        }
      for (guint i = 0; i < messages->len; i++)
        {
          PostMessage *got = p.server_got->pdata[i];

          g_assert_false (post_message_is_outgoing (got));
          post_test_framers_assert_same (messages->pdata[i], post_message_get_content (got),
                                         post_message_get_metadata (got));
        }
      {
        PostMessage *got = p.server_got->pdata[messages->len];
        GBytes *content = post_message_get_content (got);

        g_assert_cmpmem (g_bytes_get_data (content, NULL), g_bytes_get_size (content),
                         "first half, second half", 23);
        g_assert_true (post_message_lookup_metadata (got, "http-reason", "s", &reason));
        g_assert_cmpstr (reason, ==, "Parts");
        /* A received message's metadata cannot be changed. */
        g_assert_false (post_message_set_metadata (got, NULL, &error));
        g_assert_error (error, POST_ERROR, POST_ERROR_IMMUTABLE);
        g_clear_error (&error);
      }

      /* And back. */
      g_assert_true (post_message_set_metadata (reply, g_variant_new_parsed ("{'http-status': <@u 101>}"),
                                                &error));
      g_assert_true (post_carrier_send (p.server, reply, &error));
      g_assert_no_error (error);
      post_carrier_receive_async (p.client, NULL, received_cb, &p);
      run_until (p.loop, &p.n_client_got, 1);
      g_assert_true (post_message_lookup_metadata (p.client_got->pdata[0], "http-status", "u", &status));
      g_assert_cmpuint (status, ==, 101);
      run_until (p.loop, &p.n_sent_parts, 2);

      /* Messages nobody kept are reused: one without metadata after one
       * with has none. */
      for (guint i = 0; i < 4; i++)
        {
          g_autoptr(PostMessage) message = post_message_new_from_string ("again");

          if (i % 2 == 0)
            g_assert_true (post_message_set_metadata (message, g_variant_new_parsed ("{'n': <%u>}", i),
                                                      NULL));
          g_assert_true (post_carrier_send (p.client, message, &error));
          post_carrier_receive_async (p.server, NULL, received_drop_cb, &p);
          run_until (p.loop, &p.n_dropped, i + 1);
          g_assert_true (p.dropped_had_metadata[i] == (i % 2 == 0));
        }

      pair_stop (&p);
    }
}

/* An upgrade on a real carrier: the client's "SWITCH" and the messages
 * after it leave together, so the server's line framer hands over input
 * it has already read; the server answers "SWITCH" and both sides go on
 * length-prefixed. */
static void
test_tcp_switch (void)
{
  static const char *from_client[] = { "hello", "SWITCH", "after one", "after\ntwo", NULL };
  static const char *from_server[] = { "SWITCH", "welcome\n", NULL };
  g_autoptr(PostConfiguration) config =
    config_with_framers ((GType[]) { TEST_TYPE_SWITCH_FRAMER, G_TYPE_INVALID });
  g_autoptr(GError) error = NULL;
  Pair p;

  pair_start (&p, config);
  for (guint i = 0; from_client[i] != NULL; i++)
    {
      g_autoptr(PostMessage) message = post_message_new_from_string (from_client[i]);

      if (i == 1)
        g_assert_true (post_message_set_metadata (message, g_variant_new_parsed ("{'switch': <'lpf'>}"),
                                                  NULL));
      g_assert_true (post_carrier_send (p.client, message, &error));
      g_assert_no_error (error);
    }
  run_until (p.loop, &p.n_incoming, 1);
  for (guint i = 0; from_client[i] != NULL; i++)
    {
      GBytes *content;

      post_carrier_receive_async (p.server, NULL, received_cb, &p);
      run_until (p.loop, &p.n_server_got, i + 1);
      content = post_message_get_content (p.server_got->pdata[i]);
      g_assert_cmpmem (g_bytes_get_data (content, NULL), g_bytes_get_size (content),
                       from_client[i], strlen (from_client[i]));
    }
  for (guint i = 0; from_server[i] != NULL; i++)
    {
      g_autoptr(PostMessage) message = post_message_new_from_string (from_server[i]);

      if (i == 0)
        g_assert_true (post_message_set_metadata (message, g_variant_new_parsed ("{'switch': <'lpf'>}"),
                                                  NULL));
      g_assert_true (post_carrier_send (p.server, message, &error));
      g_assert_no_error (error);
    }
  for (guint i = 0; from_server[i] != NULL; i++)
    {
      GBytes *content;

      post_carrier_receive_async (p.client, NULL, received_cb, &p);
      run_until (p.loop, &p.n_client_got, i + 1);
      content = post_message_get_content (p.client_got->pdata[i]);
      g_assert_cmpmem (g_bytes_get_data (content, NULL), g_bytes_get_size (content),
                       from_server[i], strlen (from_server[i]));
    }
  g_assert_cmpint (post_carrier_get_state (p.client), ==, POST_CARRIER_STATE_ACTIVE);
  g_assert_cmpint (post_carrier_get_state (p.server), ==, POST_CARRIER_STATE_ACTIVE);
  pair_stop (&p);
}

/* ---- a queue framed by a custom framer survives DORMANT ------------------ */

static void
received_hello_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  gboolean *got = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(PostMessage) message = post_carrier_receive_finish (POST_CARRIER (source), result, &error);
  GBytes *content;

  g_assert_no_error (error);
  content = post_message_get_content (message);
  g_assert_cmpmem (g_bytes_get_data (content, NULL), g_bytes_get_size (content), "hello", 5);
  *got = TRUE;
}

static void
establish_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  guint *done = user_data;
  g_autoptr(GError) error = NULL;

  g_assert_true (post_carrier_establish_finish (POST_CARRIER (source), result, &error));
  g_assert_no_error (error);
  (*done)++;
}

/* Accepts one connection on the non-blocking @listener, iterating the
 * default main context meanwhile. */
static GSocket *
accept_raw (GSocket *listener)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_TIMEOUT_S * G_USEC_PER_SEC;

  for (;;)
    {
      g_autoptr(GError) error = NULL;
      GSocket *accepted = g_socket_accept (listener, NULL, &error);

      if (accepted != NULL)
        return accepted;
      g_assert_error (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
}

/* Small anonymous messages (post_carrier_send_bytes()) are copied, framed,
 * into shared buffers; when the transport is lost with such buffers still
 * queued, the next transient frames their messages again with its own
 * framer instance.  They were split back by decoding them as the
 * length-prefix framing, which lost every message of any other framer:
 * here a newline framer, the peer resetting the first connection with
 * most of the queue unsent, and the second connection must carry a gapless
 * run of whole messages up to the last one sent. */
static void
test_dormant_requeue (void)
{
  g_autoptr(PostConfiguration) config =
    config_with_framers ((GType[]) { TEST_TYPE_SWITCH_FRAMER, G_TYPE_INVALID });
  g_autoptr(GSocket) listener = NULL;
  g_autoptr(GSocket) first = NULL;
  g_autoptr(GSocket) second = NULL;
  g_autoptr(GSocketAddress) any = NULL;
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(PostCarrier) client = NULL;
  g_autoptr(PostRemote) remote = NULL;
  g_autoptr(GString) received = g_string_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *uri = NULL;
  g_auto(GStrv) lines = NULL;
  guint established = 0, sent = 0, first_index;
  gboolean got_hello = FALSE;
  /* Messages near the coalescing limit (1 KiB), so that a few thousand
   * fill the buffers (tiny ones took 874,000, too slow under ASan) */
  g_autofree char *pad = g_strnfill (900, 'x');
  struct linger hard = { 1, 0 };

  listener = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  /* A small receive buffer, so that most of what the client sends stays
   * queued in it (accepted sockets inherit it) */
  g_assert_true (g_socket_set_option (listener, SOL_SOCKET, SO_RCVBUF, 4096, &error));
  any = g_inet_socket_address_new (loopback, 0);
  g_assert_true (g_socket_bind (listener, any, TRUE, &error));
  g_assert_true (g_socket_listen (listener, &error));
  g_assert_no_error (error);
  g_socket_set_blocking (listener, FALSE);
  bound = g_socket_get_local_address (listener, &error);
  uri = g_strdup_printf ("tcp://127.0.0.1:%u",
                         g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
  remote = post_remote_new_from_uri (uri, &error);
  g_assert_no_error (error);

  client = post_carrier_initiate (NULL, remote, config);
  first = accept_raw (listener);
  while (post_carrier_get_state (client) != POST_CARRIER_STATE_ACTIVE)
    g_main_context_iteration (NULL, TRUE);
  /* The peer speaks first: a reset before it sent anything would be a
   * refusal, which closes the carrier instead of making it DORMANT */
  g_assert_cmpint (g_socket_send (first, "hello\n", 6, NULL, &error), ==, 6);
  post_carrier_receive_async (client, NULL, received_hello_cb, &got_hello);
  while (!got_hello)
    g_main_context_iteration (NULL, TRUE);

  /* Fill the kernel's buffers and the carrier's queue */
  for (guint round = 0; round < 5; round++)
    {
      for (;;)
        {
          g_autofree char *text = g_strdup_printf ("m%06u%s", sent, pad);
          g_autoptr(GBytes) bytes = g_bytes_new (text, strlen (text));

          if (!post_carrier_send_bytes (client, bytes, &error))
            break;
          sent++;
          g_assert_cmpuint (sent, <, 2000000);
        }
      g_assert_error (error, POST_ERROR, POST_ERROR_WOULD_BLOCK);
      g_clear_error (&error);
      post_test_drain ();
    }
  g_test_message ("%u messages queued or sent before the reset, %" G_GSIZE_FORMAT " bytes queued", sent,
                  (gsize) post_carrier_get_send_queue_size (client));

  /* The peer resets the connection without reading */
  g_assert_cmpint (setsockopt (g_socket_get_fd (first), SOL_SOCKET, SO_LINGER, &hard, sizeof hard), ==, 0);
  g_assert_true (g_socket_close (first, &error));
  {
    guint id = post_test_watchdog (WAIT_TIMEOUT_S, "the reset");

    while (post_carrier_get_state (client) == POST_CARRIER_STATE_ACTIVE)
      g_main_context_iteration (NULL, TRUE);
    g_assert_cmpint (post_carrier_get_state (client), ==, POST_CARRIER_STATE_DORMANT);
    g_source_remove (id);
  }
  g_assert_cmpuint (post_carrier_get_send_queue_size (client), >, 0);

  /* Re-established: the queue goes out on the second connection */
  post_carrier_establish_async (client, NULL, establish_cb, &established);
  second = accept_raw (listener);
  g_socket_set_blocking (second, FALSE);
  {
    g_autofree char *last = g_strdup_printf ("m%06u%s\n", sent - 1, pad);
    /* a few MB: generous for valgrind */
    gint64 deadline = g_get_monotonic_time () + 12 * WAIT_TIMEOUT_S * G_USEC_PER_SEC;

    while (!g_str_has_suffix (received->str, last))
      {
        char buffer[65536];
        gssize n = g_socket_receive (second, buffer, sizeof buffer, NULL, &error);

        if (n > 0)
          g_string_append_len (received, buffer, n);
        else
          {
            g_assert_error (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK);
            g_clear_error (&error);
            g_assert_cmpint (g_get_monotonic_time (), <, deadline);
            g_main_context_iteration (NULL, FALSE);
            g_usleep (1000);
          }
      }
  }
  g_assert_cmpuint (established, ==, 1);

  /* Whole messages, no gap, in order, up to the last one sent */
  lines = g_strsplit (received->str, "\n", -1);
  g_assert_cmpuint (g_strv_length (lines), >=, 2);
  g_assert_true (lines[0][0] == 'm' && strlen (lines[0]) == 7 + 900);
  first_index = (guint) g_ascii_strtoull (lines[0] + 1, NULL, 10);
  g_test_message ("the second connection carried m%06u to m%06u", first_index, sent - 1);
  g_assert_cmpuint (first_index, <, sent - 1);
  for (guint i = 0; lines[i + 1] != NULL; i++)
    {
      g_autofree char *expected = g_strdup_printf ("m%06u%s", first_index + i, pad);

      g_assert_cmpstr (lines[i], ==, expected);
    }
  g_assert_cmpstr (lines[g_strv_length (lines) - 1], ==, "");
  post_carrier_abort (client);
  post_test_drain ();
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/framer-stack/configuration", test_configuration);
  g_test_add_func ("/framer-stack/encode-layout", test_encode_layout);
  g_test_add_func ("/framer-stack/chunked", test_chunked);
  g_test_add_func ("/framer-stack/switch", test_switch);
  g_test_add_func ("/framer-stack/passthrough", test_passthrough);
  g_test_add_func ("/framer-stack/mid-message", test_mid_message);
  g_test_add_func ("/framer-stack/errors", test_errors);
  g_test_add_func ("/framer-stack/upper-consumes-only", test_upper_consumes_only);
  g_test_add_func ("/framer-stack/tcp-metadata", test_tcp_metadata);
  g_test_add_func ("/framer-stack/tcp-switch", test_tcp_switch);
  g_test_add_func ("/framer-stack/dormant-requeue", test_dormant_requeue);

  return g_test_run ();
}
