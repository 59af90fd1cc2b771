/* post-test-framers.c: framers for the tests and what the framer tests
 * share (post-test-framers.h)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include "post-test-framers.h"

#include <string.h>

#define TAG_LAST     0x01
#define TAG_METADATA 0x02
#define TAG_HEADER   5
#define TAG_METADATA_MAX 65536

/* ---- TestTagFramer ------------------------------------------------------- */

struct _TestTagFramer
{
  PostFramer parent_instance;

  gboolean encoding_message;   /* a message sent in parts is open */
  gboolean in_message;
  gboolean in_body;
  gboolean last;
  guint32  remaining;
};

G_DEFINE_FINAL_TYPE (TestTagFramer, test_tag_framer, POST_TYPE_FRAMER)

static void
put_be32 (GByteArray *out,
          guint32     value)
{
  guint32 be = GUINT32_TO_BE (value);

  g_byte_array_append (out, (const guint8 *) &be, sizeof be);
}

static guint32
get_be32 (const guint8 *data)
{
  guint32 be;

  memcpy (&be, data, sizeof be);
  return GUINT32_FROM_BE (be);
}

static gboolean
test_tag_framer_encode (PostFramer   *framer,
                        PostMessage  *message,
                        gsize         length,
                        gboolean      end_of_message,
                        GByteArray   *header,
                        GByteArray   *trailer,
                        GError      **error)
{
  TestTagFramer *self = TEST_TAG_FRAMER (framer);
  GVariant *metadata = NULL;
  guint8 flags = end_of_message ? TAG_LAST : 0;

  if (length > G_MAXUINT32)
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_MESSAGE_TOO_LARGE, "Too large for a tag");
      return FALSE;
    }
  if (!self->encoding_message && message != NULL)
    metadata = post_message_get_metadata (message);
  if (metadata != NULL && g_variant_n_children (metadata) > 0)
    flags |= TAG_METADATA;
  else
    metadata = NULL;

  g_byte_array_append (header, &flags, 1);
  put_be32 (header, (guint32) length);
  if (metadata != NULL)
    {
      g_autoptr(GVariant) normal = g_variant_get_normal_form (metadata);

      put_be32 (header, (guint32) g_variant_get_size (normal));
      g_byte_array_append (header, g_variant_get_data (normal), g_variant_get_size (normal));
    }
  self->encoding_message = !end_of_message;
  return TRUE;
}

static gboolean
tag_need_more (TestTagFramer  *self,
               gsize           size,
               gboolean        end_of_stream,
               GError        **error)
{
  if (end_of_stream && (size > 0 || self->in_message))
    {
      g_set_error (error, POST_ERROR, POST_ERROR_TRUNCATED,
                   "The stream ended inside a tag (%" G_GSIZE_FORMAT " bytes of its header)", size);
      return FALSE;
    }
  return TRUE;
}

static gboolean
test_tag_framer_decode (PostFramer      *framer,
                        const guint8    *data,
                        gsize            size,
                        gboolean         end_of_stream,
                        PostFrameChunk  *chunk,
                        GError         **error)
{
  TestTagFramer *self = TEST_TAG_FRAMER (framer);
  gsize offset = 0;
  gsize take;

  if (!self->in_body)
    {
      GVariant *metadata = NULL;
      guint8 flags;

      if (size < TAG_HEADER)
        return tag_need_more (self, size, end_of_stream, error);
      flags = data[0];
      if ((flags & ~(TAG_LAST | TAG_METADATA)) != 0)
        {
          g_set_error (error, POST_ERROR, POST_ERROR_PROTOCOL, "Unknown tag flags 0x%02x", flags);
          return FALSE;
        }
      offset = TAG_HEADER;
      if (flags & TAG_METADATA)
        {
          g_autoptr(GBytes) bytes = NULL;
          guint32 metadata_length;

          if (self->in_message)
            {
              g_set_error_literal (error, POST_ERROR, POST_ERROR_PROTOCOL,
                                   "Metadata on a part that continues a message");
              return FALSE;
            }
          if (size < TAG_HEADER + 4)
            return tag_need_more (self, size, end_of_stream, error);
          metadata_length = get_be32 (data + TAG_HEADER);
          if (metadata_length > TAG_METADATA_MAX)
            {
              g_set_error (error, POST_ERROR, POST_ERROR_PROTOCOL,
                           "Metadata of %u bytes (at most %u)", metadata_length, TAG_METADATA_MAX);
              return FALSE;
            }
          if (size - (TAG_HEADER + 4) < metadata_length)
            return tag_need_more (self, size, end_of_stream, error);
          bytes = g_bytes_new (data + TAG_HEADER + 4, metadata_length);
          metadata = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE_VARDICT, bytes, FALSE));
          if (!g_variant_is_normal_form (metadata))
            {
              g_variant_unref (metadata);
              g_set_error_literal (error, POST_ERROR, POST_ERROR_PROTOCOL,
                                   "Metadata that is not an a{sv} in normal form");
              return FALSE;
            }
          offset += 4 + metadata_length;
        }
      self->in_body = TRUE;
      self->last = (flags & TAG_LAST) != 0;
      self->remaining = get_be32 (data + 1);
      chunk->metadata = metadata;
      if (!self->in_message)
        {
          self->in_message = TRUE;
          chunk->message_start = TRUE;
          chunk->message_length = self->last ? (gint64) self->remaining : -1;
        }
    }

  take = MIN (size - offset, (gsize) self->remaining);
  if (take == 0 && self->remaining > 0)
    {
      if (end_of_stream)
        {
          g_set_error (error, POST_ERROR, POST_ERROR_TRUNCATED,
                       "The stream ended inside a tag's payload (%u bytes missing)",
                       self->remaining);
          return FALSE;
        }
      chunk->consumed = offset;
      return TRUE;
    }
  chunk->consumed = offset + take;
  chunk->payload_offset = offset;
  chunk->payload_length = take;
  self->remaining -= take;
  if (self->remaining == 0)
    {
      self->in_body = FALSE;
      if (self->last)
        {
          chunk->message_end = TRUE;
          self->in_message = FALSE;
        }
    }
  return TRUE;
}

static void
test_tag_framer_reset (PostFramer *framer)
{
  TestTagFramer *self = TEST_TAG_FRAMER (framer);

  self->encoding_message = self->in_message = self->in_body = self->last = FALSE;
  self->remaining = 0;
}

static void
test_tag_framer_class_init (TestTagFramerClass *klass)
{
  PostFramerClass *framer_class = POST_FRAMER_CLASS (klass);

  framer_class->encode = test_tag_framer_encode;
  framer_class->decode = test_tag_framer_decode;
  framer_class->reset = test_tag_framer_reset;
}

static void
test_tag_framer_init (TestTagFramer *self)
{
}

/* ---- TestSwitchFramer ---------------------------------------------------- */

struct _TestSwitchFramer
{
  PostFramer  parent_instance;

  gboolean    in_message;
  GString    *line;          /* (owned) the first bytes of the current line */
  PostFramer *next;          /* (owned) (nullable) the length-prefix framer it hands over to */
};

G_DEFINE_FINAL_TYPE (TestSwitchFramer, test_switch_framer, POST_TYPE_FRAMER)

static PostFramer *
switch_next (TestSwitchFramer *self)
{
  if (self->next == NULL)
    self->next = post_length_prefix_framer_new ();
  return self->next;
}

static gboolean
test_switch_framer_encode (PostFramer   *framer,
                           PostMessage  *message,
                           gsize         length,
                           gboolean      end_of_message,
                           GByteArray   *header,
                           GByteArray   *trailer,
                           GError      **error)
{
  TestSwitchFramer *self = TEST_SWITCH_FRAMER (framer);
  const char *to = NULL;

  if (!end_of_message)
    return TRUE;
  g_byte_array_append (trailer, (const guint8 *) "\n", 1);
  if (message != NULL && post_message_lookup_metadata (message, "switch", "&s", &to))
    {
      if (g_str_equal (to, "lpf"))
        post_framer_replace (framer, switch_next (self), POST_FRAMER_DIRECTION_OUTPUT);
      else if (g_str_equal (to, "raw"))
        post_framer_start_passthrough (framer, POST_FRAMER_DIRECTION_OUTPUT);
    }
  return TRUE;
}

static gboolean
test_switch_framer_decode (PostFramer      *framer,
                           const guint8    *data,
                           gsize            size,
                           gboolean         end_of_stream,
                           PostFrameChunk  *chunk,
                           GError         **error)
{
  TestSwitchFramer *self = TEST_SWITCH_FRAMER (framer);
  const guint8 *nl = size > 0 ? memchr (data, '\n', size) : NULL;
  gsize length;

  if (size == 0)
    {
      if (end_of_stream && self->in_message)
        {
          g_set_error_literal (error, POST_ERROR, POST_ERROR_TRUNCATED,
                               "The stream ended in the middle of a line");
          return FALSE;
        }
      return TRUE;
    }
  length = nl != NULL ? (gsize) (nl - data) : size;
  if (!self->in_message)
    g_string_truncate (self->line, 0);
  if (self->line->len < 8)
    g_string_append_len (self->line, (const char *) data, MIN (length, 8 - self->line->len));

  chunk->message_start = !self->in_message;
  chunk->payload_length = length;
  chunk->consumed = length + (nl != NULL ? 1 : 0);
  chunk->message_end = nl != NULL;
  self->in_message = nl == NULL;

  if (nl != NULL && g_str_equal (self->line->str, "SWITCH"))
    post_framer_replace (framer, switch_next (self), POST_FRAMER_DIRECTION_INPUT);
  else if (nl != NULL && g_str_equal (self->line->str, "RAW"))
    post_framer_start_passthrough (framer, POST_FRAMER_DIRECTION_INPUT);
  else if (nl == NULL && g_str_has_prefix (self->line->str, "MID"))
    post_framer_replace (framer, switch_next (self), POST_FRAMER_DIRECTION_INPUT);
  return TRUE;
}

static void
test_switch_framer_finalize (GObject *object)
{
  TestSwitchFramer *self = TEST_SWITCH_FRAMER (object);

  g_string_free (self->line, TRUE);
  g_clear_object (&self->next);
  G_OBJECT_CLASS (test_switch_framer_parent_class)->finalize (object);
}

static void
test_switch_framer_class_init (TestSwitchFramerClass *klass)
{
  PostFramerClass *framer_class = POST_FRAMER_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = test_switch_framer_finalize;
  framer_class->encode = test_switch_framer_encode;
  framer_class->decode = test_switch_framer_decode;
}

static void
test_switch_framer_init (TestSwitchFramer *self)
{
  self->line = g_string_new (NULL);
}

/* ---- messages, encoding, decoding ---------------------------------------- */

static GVariant *
random_metadata (GRand *rand)
{
  static const char * const methods[] = { "GET", "POST", "HEAD", "" };
  GVariantBuilder builder;
  guint n = g_rand_int_range (rand, 0, 4);

  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&builder, "{sv}", "http-method",
                         g_variant_new_string (methods[g_rand_int_range (rand, 0, 4)]));
  g_variant_builder_add (&builder, "{sv}", "http-status",
                         g_variant_new_uint32 (g_rand_int_range (rand, 100, 600)));
  if (n > 0)
    {
      GVariantBuilder headers;

      g_variant_builder_init (&headers, G_VARIANT_TYPE ("a(ss)"));
      for (guint i = 0; i < n; i++)
        {
          g_autofree char *name = g_strdup_printf ("X-Header-%u", i);
          g_autofree char *value = g_strdup_printf ("value %u", g_rand_int (rand));

          g_variant_builder_add (&headers, "(ss)", name, value);
        }
      g_variant_builder_add (&builder, "{sv}", "http-headers", g_variant_builder_end (&headers));
    }
  return g_variant_builder_end (&builder);
}

GPtrArray *
post_test_framers_messages (GRand    *rand,
                            guint     n,
                            gsize     max_size,
                            gboolean  with_metadata)
{
  GPtrArray *messages = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < n; i++)
    {
      gsize size = i % 7 == 3 ? 0 : (gsize) g_rand_int_range (rand, 1, (gint32) max_size + 1);
      g_autofree guint8 *data = g_malloc (MAX (size, 1));
      PostMessage *message;

      for (gsize j = 0; j < size; j++)
        data[j] = (guint8) g_rand_int (rand);
      message = post_message_new_from_data (data, size);
      if (with_metadata && i % 4 != 1)
        g_assert_true (post_message_set_metadata (message, random_metadata (rand), NULL));
      g_ptr_array_add (messages, message);
    }
  return messages;
}

static void
encode_part (PostFramer   *framer,
             PostMessage  *message,
             const guint8 *payload,
             gsize         length,
             gboolean      end_of_message,
             GByteArray   *wire)
{
  g_autoptr(GByteArray) header = g_byte_array_new ();
  g_autoptr(GByteArray) trailer = g_byte_array_new ();
  g_autoptr(GError) error = NULL;

  g_assert_true (post_framer_encode (framer, message, length, end_of_message, header, trailer,
                                     &error));
  g_assert_no_error (error);
  g_byte_array_append (wire, header->data, header->len);
  g_byte_array_append (wire, payload, length);
  g_byte_array_append (wire, trailer->data, trailer->len);
}

GByteArray *
post_test_framers_encode (PostFramer *framer,
                          GPtrArray  *messages,
                          gboolean    parts)
{
  GByteArray *wire = g_byte_array_new ();

  for (guint i = 0; i < messages->len; i++)
    {
      PostMessage *message = messages->pdata[i];
      gsize size;
      const guint8 *data = g_bytes_get_data (post_message_get_content (message), &size);

      if (parts && i % 3 == 2 && size > 1)
        {
          encode_part (framer, message, data, size / 2, FALSE, wire);
          encode_part (framer, message, data + size / 2, size - size / 2, TRUE, wire);
        }
      else
        encode_part (framer, message, data, size, TRUE, wire);
    }
  return wire;
}

void
post_test_deframer_init (PostTestDeframer *d,
                         PostFramer       *framer)
{
  memset (d, 0, sizeof *d);
  d->framer = framer;
  d->pending = g_byte_array_new ();
  d->messages = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  d->metadata = g_ptr_array_new_with_free_func ((GDestroyNotify) g_variant_unref);
  d->lengths = g_array_new (FALSE, FALSE, sizeof (gint64));
}

void
post_test_deframer_clear (PostTestDeframer *d)
{
  g_clear_object (&d->framer);
  g_clear_pointer (&d->pending, g_byte_array_unref);
  g_clear_pointer (&d->messages, g_ptr_array_unref);
  g_clear_pointer (&d->metadata, g_ptr_array_unref);
  g_clear_pointer (&d->lengths, g_array_unref);
  g_clear_pointer (&d->current, g_byte_array_unref);
  g_clear_pointer (&d->current_metadata, g_variant_unref);
}

static void
add_metadata (PostTestDeframer *d,
              GVariant         *more)
{
  GVariantDict dict;
  GVariantIter iter;
  const char *key;
  GVariant *value;

  g_variant_dict_init (&dict, d->current_metadata);
  g_variant_iter_init (&iter, more);
  while (g_variant_iter_next (&iter, "{&sv}", &key, &value))
    {
      g_variant_dict_insert_value (&dict, key, value);
      g_variant_unref (value);
    }
  g_clear_pointer (&d->current_metadata, g_variant_unref);
  d->current_metadata = g_variant_ref_sink (g_variant_dict_end (&dict));
}

gboolean
post_test_deframer_feed (PostTestDeframer *d,
                         const guint8     *data,
                         gsize             size,
                         gboolean          end_of_stream,
                         GError          **error)
{
  if (size > 0)
    g_byte_array_append (d->pending, data, size);

  for (;;)
    {
      PostFrameChunk chunk;

      memset (&chunk, 0xa5, sizeof chunk);  /* decode must fill it all */
      d->n_calls++;
      if (!post_framer_decode (d->framer, d->pending->data, d->pending->len, end_of_stream,
                               &chunk, error))
        {
          g_assert_null (chunk.metadata);
          return FALSE;
        }
      g_assert_cmpuint (chunk.consumed, <=, d->pending->len);
      if (chunk.payload_length > 0 && chunk.payload_data == NULL)
        g_assert_cmpuint (chunk.payload_offset + chunk.payload_length, <=, chunk.consumed);
      if (chunk.consumed == 0 && chunk.payload_length == 0 && !chunk.message_start
          && !chunk.message_end && chunk.metadata == NULL)
        return TRUE;   /* needs more (or the end) */
      if (chunk.metadata != NULL)
        {
          g_assert_false (g_variant_is_floating (chunk.metadata));
          add_metadata (d, chunk.metadata);
          g_variant_unref (chunk.metadata);
        }
      if (chunk.message_start)
        {
          g_assert_null (d->current);
          d->current = g_byte_array_new ();
          g_array_append_val (d->lengths, chunk.message_length);
        }
      else
        g_assert_cmpint (chunk.message_length, ==, -1);
      if (chunk.payload_length > 0)
        {
          g_assert_nonnull (d->current);
          g_byte_array_append (d->current,
                               chunk.payload_data != NULL ? chunk.payload_data
                                                          : d->pending->data + chunk.payload_offset,
                               chunk.payload_length);
        }
      if (chunk.message_end)
        {
          g_assert_nonnull (d->current);
          g_ptr_array_add (d->messages, g_byte_array_free_to_bytes (g_steal_pointer (&d->current)));
          g_ptr_array_add (d->metadata, d->current_metadata != NULL
                                        ? g_steal_pointer (&d->current_metadata)
                                        : g_variant_ref_sink (g_variant_new_parsed ("@a{sv} {}")));
        }
      g_byte_array_remove_range (d->pending, 0, chunk.consumed);
    }
}

/* Whether every entry of @a is in @b with the same value. */
static gboolean
entries_in (GVariant *a,
            GVariant *b)
{
  GVariantIter iter;
  const char *key;
  GVariant *value;
  gboolean all = TRUE;

  g_variant_iter_init (&iter, a);
  while (all && g_variant_iter_next (&iter, "{&sv}", &key, &value))
    {
      g_autoptr(GVariant) other = g_variant_lookup_value (b, key, NULL);

      all = other != NULL && g_variant_equal (value, other);
      g_variant_unref (value);
    }
  return all;
}

void
post_test_framers_assert_same (PostMessage *sent,
                               GBytes      *content,
                               GVariant    *metadata)
{
  GVariant *expected = post_message_get_metadata (sent);

  g_assert_true (g_bytes_equal (post_message_get_content (sent), content));
  if (expected == NULL || g_variant_n_children (expected) == 0)
    g_assert_true (metadata == NULL || g_variant_n_children (metadata) == 0);
  else if (metadata == NULL || !entries_in (expected, metadata) || !entries_in (metadata, expected))
    {
      g_autofree char *want = g_variant_print (expected, TRUE);
      g_autofree char *got = metadata != NULL ? g_variant_print (metadata, TRUE) : g_strdup ("NULL");

      g_assert_cmpstr (got, ==, want);
    }
}

void
post_test_framers_check_chunked (PostFramer *framer,
                                 GByteArray *wire,
                                 GPtrArray  *messages,
                                 GRand      *rand,
                                 guint       max_piece)
{
  PostTestDeframer d;
  g_autoptr(GError) error = NULL;
  gsize offset = 0;

  post_test_deframer_init (&d, g_object_ref (framer));
  while (offset < wire->len)
    {
      gsize piece = (gsize) g_rand_int_range (rand, 1, (gint32) max_piece + 1);

      piece = MIN (piece, wire->len - offset);

      g_assert_true (post_test_deframer_feed (&d, wire->data + offset, piece, FALSE, &error));
      g_assert_no_error (error);
      offset += piece;
    }
  post_test_deframer_feed (&d, NULL, 0, TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (d.pending->len, ==, 0);
  g_assert_null (d.current);
  g_assert_cmpuint (d.messages->len, ==, messages->len);
  for (guint i = 0; i < messages->len; i++)
    post_test_framers_assert_same (messages->pdata[i], d.messages->pdata[i], d.metadata->pdata[i]);
  post_test_deframer_clear (&d);
}
