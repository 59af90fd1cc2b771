/* post-framer.h: PostFramer, message framing over byte streams (draft 4.2)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(POST_INSIDE) && !defined(POST_COMPILATION)
# error "Only <post.h> can be included directly."
#endif

#include <gio/gio.h>
#include "post-version.h"
#include "post-enums.h"
#include "post-message.h"

G_BEGIN_DECLS

#define POST_TYPE_FRAMER (post_framer_get_type ())
POST_AVAILABLE_IN_ALL
G_DECLARE_DERIVABLE_TYPE (PostFramer, post_framer, POST, FRAMER, GObject)

/**
 * PostFrameChunk:
 * @consumed: how many input bytes the framer used up (header, payload and
 *   trailer); 0 with @payload_length 0 (and neither @message_start nor
 *   @message_end) asks for more input
 * @payload_offset: where the message payload starts within the input
 * @payload_length: how many payload bytes start at @payload_offset (or at
 *   @payload_data); they lie within the consumed bytes unless
 *   @payload_data is set
 * @message_start: these bytes begin a new message
 * @message_end: the message ends with these bytes
 * @message_length: when @message_start is set, the message's total length if
 *   the framing tells it, or -1
 * @metadata: (nullable) (transfer full): typed metadata the framer decoded,
 *   a dictionary of type `a{sv}` (a floating reference is fine:
 *   post_framer_decode() sinks it), or %NULL.  Set with @message_start it
 *   becomes the received message's #PostMessage:metadata; set later in
 *   the same message (trailer fields, say) its entries are added to it,
 *   replacing those of the same name; set between messages, before the
 *   next chunk with @message_start, it goes to the next message.  The
 *   caller of post_framer_decode() owns it.
 * @payload_data: (nullable): where the payload is when it is not in the
 *   input as it arrived: @payload_length bytes that the framer holds (it
 *   decoded or unmasked them, or a stack of framers gathered them), valid
 *   until the framer's next call; %NULL (the default) for `data +
 *   payload_offset`
 *
 * What one call of [vfunc@Post.Framer.decode] found. Payload bytes are
 * reported as they arrive, so a message need not be held whole in memory:
 * the carrier gathers them for complete receives and hands them out as they
 * come for partial ones.
 */
typedef struct {
  gsize         consumed;
  gsize         payload_offset;
  gsize         payload_length;
  gboolean      message_start;
  gboolean      message_end;
  gint64        message_length;
  GVariant     *metadata;
  const guint8 *payload_data;
} PostFrameChunk;

/**
 * PostFramerClass:
 * @parent_class: the parent class
 * @encode: appends to @header the bytes that go before @length payload bytes
 *   (the whole message, or one part of a partial message with @end_of_message
 *   telling whether it is the last), and to @trailer the bytes that go after
 *   them. The payload itself is written by the carrier without copying.
 * @decode: parses @data (@size bytes of input that the previous calls did not
 *   consume); @end_of_stream says the peer has ended the stream. Returns
 *   %FALSE with an error for input that violates the framing (the carrier is
 *   then aborted with %POST_ERROR_PROTOCOL) or for a stream that ended in the
 *   middle of a message (%POST_ERROR_TRUNCATED).
 * @reset: forgets any partial state
 * @start: (nullable): the carrier's transport is established; @initiator
 *   says whether this end opened it (a client) or accepted it (a server).
 *   A framer that speaks first (a handshake) queues its bytes here with
 *   post_framer_send_raw().  Called once, before anything is framed or
 *   decoded; not called for a framer that takes over by
 *   post_framer_replace().
 * @transform_payload: (nullable): rewrites in place the @length payload
 *   bytes that the last @encode call framed (a WebSocket client masks
 *   them).  With it the carrier copies each payload before writing it;
 *   without it (the default) the payload is written as the application
 *   gave it.
 *
 * A framer turns messages into bytes and back on byte-stream stacks. The
 * carrier creates one instance of each of the configuration's framer types
 * for each transient, so instances may keep parsing state.  @encode may
 * read the message's #PostMessage:metadata; @decode may report metadata in
 * its chunk (#PostFrameChunk).
 */
struct _PostFramerClass
{
  GObjectClass parent_class;

  gboolean (*encode) (PostFramer      *self,
                      PostMessage     *message,
                      gsize            length,
                      gboolean         end_of_message,
                      GByteArray      *header,
                      GByteArray      *trailer,
                      GError         **error);
  gboolean (*decode) (PostFramer      *self,
                      const guint8    *data,
                      gsize            size,
                      gboolean         end_of_stream,
                      PostFrameChunk  *chunk,
                      GError         **error);
  void     (*reset)  (PostFramer      *self);
  void     (*start)  (PostFramer      *self,
                      gboolean         initiator);
  void     (*transform_payload) (PostFramer *self,
                                 guint8     *payload,
                                 gsize       length);

  /*< private >*/
  gpointer padding[6];
};

POST_AVAILABLE_IN_ALL
gboolean  post_framer_encode  (PostFramer      *self,
                               PostMessage     *message,
                               gsize            length,
                               gboolean         end_of_message,
                               GByteArray      *header,
                               GByteArray      *trailer,
                               GError         **error);
POST_AVAILABLE_IN_ALL
gboolean  post_framer_decode  (PostFramer      *self,
                               const guint8    *data,
                               gsize            size,
                               gboolean         end_of_stream,
                               PostFrameChunk  *chunk,
                               GError         **error);
POST_AVAILABLE_IN_ALL
void      post_framer_reset   (PostFramer      *self);
POST_AVAILABLE_IN_ALL
void      post_framer_replace (PostFramer          *self,
                               PostFramer          *replacement,
                               PostFramerDirection  directions);
POST_AVAILABLE_IN_ALL
void      post_framer_send_raw (PostFramer *self,
                                GBytes     *bytes);
POST_AVAILABLE_IN_ALL
void      post_framer_start_passthrough (PostFramer          *self,
                                         PostFramerDirection  directions);

G_END_DECLS
