/* post-framer-stack.c: PostFramerStack, the framers of one carrier stacked
 * (RFC 9623 section 6)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "post-values-private.h"

/*
 * PostFramerStack is the framer a carrier uses when its configuration has
 * more than one framer, or one other than PostLengthPrefixFramer (whose
 * control frames need it alone): it runs the framers as a stack and acts
 * on their post_framer_replace() requests.  It is private: the application
 * configures the framers (post_configuration_add_framer_type()) and can get
 * an instance with post_configuration_create_framer().
 *
 * Layer 0 is nearest the transport, the last layer nearest the
 * application: the last framer added (RFC 9622 section 9.1.2.1, "the last
 * one added runs first when framing outbound messages, and last when
 * parsing inbound data").
 *
 * Encoding runs top-down: each layer frames the bytes of the layer above
 * (its header, the payload, its trailer) as one message part, so the
 * header of the whole is the bottom layer's header first, and the payload
 * is still written without a copy.
 *
 * Decoding runs bottom-up: layer 0 decodes the transport's bytes in place;
 * each layer above decodes the payload of the layer below, gathered in its
 * own input buffer (the message boundaries of a lower layer are not those
 * of the layer above: to it they are a byte stream).  One call returns at
 * most one chunk of the top layer: its payload is in the transport's bytes
 * (payload_offset) for a single layer, else in the top layer's buffer
 * (payload_data, valid until the next call).
 *
 * A layer whose decoder (or encoder) is NULL passes its direction through:
 * a framer that started pass-through.  A top layer passing its input
 * through makes the rest of the input one message, as stream mode does.
 */

#define POST_TYPE_FRAMER_STACK (post_framer_stack_get_type ())
G_DECLARE_FINAL_TYPE (PostFramerStack, post_framer_stack, POST, FRAMER_STACK, PostFramer)

typedef struct {
  PostFramer *decoder;          /* (owned) (nullable): NULL passes input through */
  PostFramer *encoder;          /* (owned) (nullable): NULL passes output through */
  GByteArray *input;            /* (owned) (nullable): above layer 0, what the layer below decoded */
  gsize       input_start;      /* consumed bytes at the head of input */
  gboolean    below_ended;      /* the layer below ended its output cleanly */
  gboolean    in_message;       /* decoding: a message is open */
  gboolean    out_in_message;   /* encoding: a message sent in parts is open */
  gboolean    through_started;  /* passing through: the message was started */
  gboolean    through_ended;    /* passing through: ... and ended */
  GVariant   *below_metadata;   /* (owned) (nullable): decoded below, for the next chunk */
} Layer;

struct _PostFramerStack
{
  PostFramer  parent_instance;

  GArray     *layers;           /* (element-type Layer) */
  GByteArray *header;           /* scratch: one layer's header */
  GByteArray *trailer;          /* scratch: one layer's trailer */
  GByteArray *all_header;       /* scratch: the headers of every layer */
  GByteArray *all_trailer;      /* scratch: the trailers of every layer */
  PostFramer *transformer;      /* (owned) (nullable) the encoder whose
                                 * transform_payload the last encode needs */
};

G_DEFINE_FINAL_TYPE (PostFramerStack, post_framer_stack, POST_TYPE_FRAMER)

/* The transport's bytes, as far as one decode call has consumed them. */
typedef struct {
  const guint8 *data;
  gsize         size;
  gsize         consumed;
  gboolean      end_of_stream;
} Input;

/* One chunk a layer produced. */
typedef struct {
  const guint8 *payload;
  gsize         length;
  gboolean      in_input;       /* payload is in the transport's bytes, at input_offset */
  gsize         input_offset;
  gboolean      start;
  gboolean      end;
  gint64        message_length;
  GVariant     *metadata;       /* (owned) (nullable) */
} Output;

typedef enum {
  STEP_PROGRESS,                /* the layer produced a chunk (or consumed input) */
  STEP_NEED_MORE,               /* the transport must deliver more */
  STEP_ENDED,                   /* the layer's output ended cleanly */
  STEP_ERROR,
} Step;

static void
layer_clear (Layer *layer)
{
  g_clear_object (&layer->decoder);
  g_clear_object (&layer->encoder);
  g_clear_pointer (&layer->input, g_byte_array_unref);
  g_clear_pointer (&layer->below_metadata, g_variant_unref);
}

/* Takes the layer's pending input replacement, if any: only at a message
 * boundary. */
static gboolean
take_input_replacement (Layer   *layer,
                        GError **error)
{
  PostFramer *replacement = NULL;

  if (layer->decoder == NULL
      || !_post_framer_take_replacement (layer->decoder, POST_FRAMER_DIRECTION_INPUT, &replacement))
    return TRUE;
  if (layer->in_message)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_PROTOCOL,
                   "The framer %s handed its input to %s in the middle of a message",
                   G_OBJECT_TYPE_NAME (layer->decoder),
                   replacement != NULL ? G_OBJECT_TYPE_NAME (replacement) : "pass-through");
      g_clear_object (&replacement);
      return FALSE;
    }
  g_debug ("Framer %s hands its input to %s", G_OBJECT_TYPE_NAME (layer->decoder),
           replacement != NULL ? G_OBJECT_TYPE_NAME (replacement) : "pass-through");
  g_object_unref (layer->decoder);
  layer->decoder = replacement;
  layer->through_started = FALSE;
  layer->through_ended = FALSE;
  return TRUE;
}

/* Takes the layer's pending output replacement, if any, between messages. */
static void
take_output_replacement (Layer *layer)
{
  PostFramer *replacement = NULL;

  if (layer->encoder == NULL || layer->out_in_message
      || !_post_framer_take_replacement (layer->encoder, POST_FRAMER_DIRECTION_OUTPUT, &replacement))
    return;
  g_debug ("Framer %s hands its output to %s", G_OBJECT_TYPE_NAME (layer->encoder),
           replacement != NULL ? G_OBJECT_TYPE_NAME (replacement) : "pass-through");
  g_object_unref (layer->encoder);
  layer->encoder = replacement;
}

/* Moves what the layers' framers queued with post_framer_send_raw() to
 * the stack's own queue, which the carrier takes: raw bytes go below every
 * framer. */
static void
collect_raw_from (PostFramerStack *self,
                  PostFramer      *framer)
{
  g_autoptr(GBytes) raw = framer != NULL ? _post_framer_take_raw (framer) : NULL;

  if (raw != NULL)
    post_framer_send_raw (POST_FRAMER (self), raw);
}

static void
collect_raw (PostFramerStack *self)
{
  for (guint i = 0; i < self->layers->len; i++)
    {
      Layer *layer = &g_array_index (self->layers, Layer, i);

      collect_raw_from (self, layer->decoder);
      if (layer->encoder != layer->decoder)
        collect_raw_from (self, layer->encoder);
    }
}

static void
consume (Layer *layer,
         guint  index,
         Input *input,
         gsize  n)
{
  if (index == 0)
    input->consumed += n;
  else
    layer->input_start += n;
}

/* A layer passing its input through: what arrives is one message, ended
 * by the end of what is below. */
static Step
step_through (Layer        *layer,
              guint         index,
              Input        *input,
              const guint8 *data,
              gsize         size,
              gboolean      ended,
              Output       *out)
{
  if (size > 0)
    {
      out->payload = data;
      out->length = size;
      out->in_input = index == 0;
      out->input_offset = input->consumed;
      out->start = !layer->through_started;
      layer->through_started = TRUE;
      consume (layer, index, input, size);
      return STEP_PROGRESS;
    }
  if (!ended)
    return STEP_NEED_MORE;
  if (layer->through_ended)
    return STEP_ENDED;
  out->start = !layer->through_started;
  out->end = TRUE;
  layer->through_started = layer->through_ended = TRUE;
  return STEP_PROGRESS;
}

/* Makes layer @index produce one chunk, pulling from the layers below as
 * it needs input. */
static Step
step (PostFramerStack  *self,
      guint             index,
      Input            *input,
      Output           *out,
      GError          **error)
{
  Layer *layer = &g_array_index (self->layers, Layer, index);

  for (;;)
    {
      const guint8 *data;
      gsize size;
      gboolean ended;
      Output below = { 0, };
      Step result;

      if (index == 0)
        {
          /* no offset on a NULL pointer (empty input): undefined */
          data = input->data != NULL ? input->data + input->consumed : NULL;
          size = input->size - input->consumed;
          ended = input->end_of_stream;
        }
      else
        {
          data = layer->input->data != NULL ? layer->input->data + layer->input_start : NULL;
          size = layer->input->len - layer->input_start;
          ended = layer->below_ended;
        }

      /* Asked for outside a decode (while encoding, say). */
      if (!take_input_replacement (layer, error))
        return STEP_ERROR;

      if (layer->decoder == NULL)
        {
          result = step_through (layer, index, input, data, size, ended, out);
          if (result == STEP_PROGRESS)
            {
              out->metadata = g_steal_pointer (&layer->below_metadata);
              return result;
            }
          if (result == STEP_ENDED || index == 0)
            return result;
        }
      else
        {
          PostFrameChunk chunk;

          if (!post_framer_decode (layer->decoder, data, size, ended, &chunk, error))
            return STEP_ERROR;
          if (chunk.consumed > size
              || (chunk.payload_data == NULL && chunk.payload_length > 0
                  && (chunk.payload_offset > chunk.consumed
                      || chunk.payload_length > chunk.consumed - chunk.payload_offset)))
            {
              g_clear_pointer (&chunk.metadata, g_variant_unref);
              g_set_error (error, POST_ERROR, POST_ERROR_FAILED,
                           "The framer %s reported more input than it was given",
                           G_OBJECT_TYPE_NAME (layer->decoder));
              return STEP_ERROR;
            }
          if (chunk.consumed > 0 || chunk.payload_length > 0 || chunk.message_start
              || chunk.message_end || chunk.metadata != NULL)
            {
              out->payload = chunk.payload_data != NULL ? chunk.payload_data
                                                        : data + chunk.payload_offset;
              out->length = chunk.payload_length;
              out->in_input = index == 0 && chunk.payload_data == NULL;
              out->input_offset = input->consumed + chunk.payload_offset;
              out->start = chunk.message_start;
              out->end = chunk.message_end;
              out->message_length = chunk.message_length;
              out->metadata = _post_framer_merge_metadata (layer->below_metadata, chunk.metadata);
              g_clear_pointer (&layer->below_metadata, g_variant_unref);
              g_clear_pointer (&chunk.metadata, g_variant_unref);
              consume (layer, index, input, chunk.consumed);
              if (chunk.message_start)
                layer->in_message = TRUE;
              if (chunk.message_end)
                layer->in_message = FALSE;
              if (!take_input_replacement (layer, error))
                {
                  g_clear_pointer (&out->metadata, g_variant_unref);
                  return STEP_ERROR;
                }
              /* Above the transport, consuming (a header) is no progress
               * the caller could see: it would take it for "need more". */
              if (index > 0 && out->length == 0 && !out->start && !out->end && out->metadata == NULL)
                continue;
              return STEP_PROGRESS;
            }
          if (ended && size == 0)
            return STEP_ENDED;
          if (ended)
            {
              /* A framer should have said so itself. */
              g_set_error (error, POST_ERROR, POST_ERROR_TRUNCATED,
                           "The stream ended with %" G_GSIZE_FORMAT " bytes that the "
                           "framer %s did not decode", size, G_OBJECT_TYPE_NAME (layer->decoder));
              return STEP_ERROR;
            }
          if (index == 0)
            return STEP_NEED_MORE;
        }

      /* Layer @index needs what the layer below decodes next. */
      result = step (self, index - 1, input, &below, error);
      switch (result)
        {
        case STEP_ERROR:
        case STEP_NEED_MORE:
          return result;
        case STEP_ENDED:
          layer->below_ended = TRUE;
          break;
        case STEP_PROGRESS:
        default:
          if (layer->input_start > 0
              && (layer->input_start == layer->input->len
                  || layer->input_start > layer->input->len / 2))
            {
              g_byte_array_remove_range (layer->input, 0, layer->input_start);
              layer->input_start = 0;
            }
          if (below.length > 0)
            g_byte_array_append (layer->input, below.payload, below.length);
          if (below.metadata != NULL)
            {
              GVariant *merged = _post_framer_merge_metadata (layer->below_metadata, below.metadata);

              g_clear_pointer (&layer->below_metadata, g_variant_unref);
              g_variant_unref (below.metadata);
              layer->below_metadata = merged;
            }
          break;
        }
    }
}

static gboolean
post_framer_stack_decode (PostFramer      *framer,
                          const guint8    *data,
                          gsize            size,
                          gboolean         end_of_stream,
                          PostFrameChunk  *chunk,
                          GError         **error)
{
  PostFramerStack *self = POST_FRAMER_STACK (framer);
  Input input = { data, size, 0, end_of_stream };
  Output out = { 0, };
  Step result;

  result = step (self, self->layers->len - 1, &input, &out, error);
  collect_raw (self);
  if (result == STEP_ERROR)
    return FALSE;
  chunk->consumed = input.consumed;
  if (result != STEP_PROGRESS)
    return TRUE;
  if (out.in_input)
    chunk->payload_offset = out.input_offset;
  else if (out.length > 0)
    chunk->payload_data = out.payload;
  chunk->payload_length = out.length;
  chunk->message_start = out.start;
  chunk->message_end = out.end;
  chunk->message_length = out.start ? out.message_length : -1;
  chunk->metadata = out.metadata;
  return TRUE;
}

static gboolean
post_framer_stack_encode (PostFramer   *framer,
                          PostMessage  *message,
                          gsize         length,
                          gboolean      end_of_message,
                          GByteArray   *header,
                          GByteArray   *trailer,
                          GError      **error)
{
  PostFramerStack *self = POST_FRAMER_STACK (framer);
  gsize inner = length;

  g_byte_array_set_size (self->all_header, 0);
  g_byte_array_set_size (self->all_trailer, 0);
  g_clear_object (&self->transformer);
  _post_framer_set_transforms (framer, FALSE);
  for (guint i = self->layers->len; i-- > 0;)
    {
      Layer *layer = &g_array_index (self->layers, Layer, i);

      take_output_replacement (layer);
      if (layer->encoder == NULL)
        continue;
      g_byte_array_set_size (self->header, 0);
      g_byte_array_set_size (self->trailer, 0);
      if (_post_framer_transforms_payload (layer->encoder))
        {
          /* It rewrites what it frames: only the payload itself. */
          if (inner != length || self->transformer != NULL)
            {
              g_set_error (error, POST_ERROR, POST_ERROR_NOT_SUPPORTED,
                           "The framer %s rewrites its payload and cannot frame the "
                           "output of another framer", G_OBJECT_TYPE_NAME (layer->encoder));
              return FALSE;
            }
          self->transformer = g_object_ref (layer->encoder);
        }
      if (!post_framer_encode (layer->encoder, message, inner, end_of_message,
                               self->header, self->trailer, error))
        {
          collect_raw (self);
          return FALSE;
        }
      layer->out_in_message = !end_of_message;
      /* Asked for during this encode: from the next message on. */
      take_output_replacement (layer);
      g_byte_array_prepend (self->all_header, self->header->data, self->header->len);
      g_byte_array_append (self->all_trailer, self->trailer->data, self->trailer->len);
      inner += self->header->len + self->trailer->len;
    }
  g_byte_array_append (header, self->all_header->data, self->all_header->len);
  g_byte_array_append (trailer, self->all_trailer->data, self->all_trailer->len);
  collect_raw (self);
  _post_framer_set_transforms (framer, self->transformer != NULL);
  return TRUE;
}

static void
post_framer_stack_transform_payload (PostFramer *framer,
                                     guint8     *payload,
                                     gsize       length)
{
  PostFramerStack *self = POST_FRAMER_STACK (framer);

  if (self->transformer != NULL)
    _post_framer_transform_payload (self->transformer, payload, length);
}

static void
post_framer_stack_start (PostFramer *framer,
                         gboolean    initiator)
{
  PostFramerStack *self = POST_FRAMER_STACK (framer);

  for (guint i = 0; i < self->layers->len; i++)
    {
      Layer *layer = &g_array_index (self->layers, Layer, i);

      if (layer->decoder != NULL)
        _post_framer_start (layer->decoder, initiator);
    }
  collect_raw (self);
}

static void
post_framer_stack_reset (PostFramer *framer)
{
  PostFramerStack *self = POST_FRAMER_STACK (framer);

  for (guint i = 0; i < self->layers->len; i++)
    {
      Layer *layer = &g_array_index (self->layers, Layer, i);

      if (layer->decoder != NULL)
        post_framer_reset (layer->decoder);
      if (layer->encoder != NULL && layer->encoder != layer->decoder)
        post_framer_reset (layer->encoder);
      if (layer->input != NULL)
        g_byte_array_set_size (layer->input, 0);
      layer->input_start = 0;
      layer->below_ended = FALSE;
      layer->in_message = FALSE;
      layer->out_in_message = FALSE;
      layer->through_started = FALSE;
      layer->through_ended = FALSE;
      g_clear_pointer (&layer->below_metadata, g_variant_unref);
    }
}

static void
post_framer_stack_finalize (GObject *object)
{
  PostFramerStack *self = POST_FRAMER_STACK (object);

  g_array_unref (self->layers);
  g_byte_array_unref (self->header);
  g_byte_array_unref (self->trailer);
  g_byte_array_unref (self->all_header);
  g_byte_array_unref (self->all_trailer);
  g_clear_object (&self->transformer);
  G_OBJECT_CLASS (post_framer_stack_parent_class)->finalize (object);
}

static void
post_framer_stack_class_init (PostFramerStackClass *klass)
{
  PostFramerClass *framer_class = POST_FRAMER_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = post_framer_stack_finalize;
  framer_class->encode = post_framer_stack_encode;
  framer_class->decode = post_framer_stack_decode;
  framer_class->reset = post_framer_stack_reset;
  framer_class->start = post_framer_stack_start;
  framer_class->transform_payload = post_framer_stack_transform_payload;
}

static void
post_framer_stack_init (PostFramerStack *self)
{
  self->layers = g_array_new (FALSE, TRUE, sizeof (Layer));
  g_array_set_clear_func (self->layers, (GDestroyNotify) layer_clear);
  self->header = g_byte_array_new ();
  self->trailer = g_byte_array_new ();
  self->all_header = g_byte_array_new ();
  self->all_trailer = g_byte_array_new ();
  _post_framer_set_transforms (POST_FRAMER (self), FALSE);
}

PostFramer *
_post_framer_stack_new (const GType *types,
                        guint        n_types)
{
  PostFramerStack *self;

  g_return_val_if_fail (n_types > 0, NULL);

  self = g_object_new (POST_TYPE_FRAMER_STACK, NULL);
  g_array_set_size (self->layers, n_types);
  for (guint i = 0; i < n_types; i++)
    {
      Layer *layer = &g_array_index (self->layers, Layer, i);

      layer->decoder = g_object_new (types[i], NULL);
      layer->encoder = g_object_ref (layer->decoder);
      if (i > 0)
        layer->input = g_byte_array_new ();
    }
  return POST_FRAMER (self);
}
