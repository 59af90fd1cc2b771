/* post-websocket-framer.c: PostWebSocketFramer, WebSocket (RFC 6455) framing
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>
#include <sys/random.h>

#include "post-values-private.h"
#include "post-http1-parser-private.h"
#include "post-websocket-framer.h"

/**
 * PostWebSocketFramer:
 *
 * WebSocket (RFC 6455) over a byte stream (tcp, tls): each message is a
 * WebSocket message, text or binary, and the framer speaks the opening
 * handshake itself before the first frame.
 *
 * Use it as a carrier's framer by type
 * (`post_configuration_set_framer_type (config, POST_TYPE_WEBSOCKET_FRAMER,
 * NULL)`: role #POST_WEBSOCKET_ROLE_AUTO, resource `/`, host `localhost`),
 * or build one with post_websocket_framer_new() and hand over to it from
 * another framer with post_framer_replace() (RFC 9623 section 6.1).
 *
 * - The **client** sends `GET` with `Upgrade: websocket` and a random
 *   `Sec-WebSocket-Key` when the transport is established
 *   (#PostFramerClass.start), then checks the server's `101` and its
 *   `Sec-WebSocket-Accept`; it masks every frame with a fresh random key.
 * - The **server** parses the request, answers `101 Switching Protocols`
 *   (or `400 Bad Request`, and fails the carrier), and sends unmasked.
 *
 * Messages carry their kind in their metadata (#PostMessage:metadata):
 *
 * - `websocket-opcode` (`y`, or `s`: `"text"`, `"binary"`, `"close"`,
 *   `"ping"`, `"pong"` when sending): 1 text, 2 binary (the default when
 *   sending), 8 close, 9 ping, 10 pong.  A received message has it as `y`.
 * - `websocket-close-code` (`q`) and `websocket-close-reason` (`s`): a
 *   close message's status code and reason; when sending a close, the
 *   payload is the reason and the code comes from the metadata.
 *
 * A message sent in parts (post_carrier_send_partial_async()) becomes a
 * fragmented message: its first part's opcode, then continuation frames,
 * the last one with FIN; a fragmented message received is delivered in
 * parts as its frames arrive.  Text is validated as UTF-8 as it arrives.
 * A ping is answered with a pong at once and not delivered; a pong is
 * delivered as a message (opcode 10) unless it comes inside a fragmented
 * message, where it is dropped; a close is delivered as a message and answered with a close
 * of the same code unless this end sent one first.  Bad input fails the
 * carrier with %POST_ERROR_PROTOCOL naming the close code RFC 6455 gives
 * it: 1002 (reserved bits or opcodes, masking violations, bad control
 * frames, a bad close payload), 1007 (text that is not UTF-8), 1009 (a
 * message over #PostWebSocketFramer:max-message-size).
 */

enum { OP_CONTINUATION = 0, OP_TEXT = 1, OP_BINARY = 2, OP_CLOSE = 8, OP_PING = 9, OP_PONG = 10 };

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define MAX_CONTROL 125

typedef enum {
  HANDSHAKE_WAIT,               /* server: the request; client: start() */
  HANDSHAKE_SENT,               /* client: the GET went, the 101 is awaited */
  HANDSHAKE_DONE,
} Handshake;

struct _PostWebSocketFramer
{
  PostFramer         parent_instance;

  PostWebSocketRole  role;
  char              *host;
  char              *resource;
  guint64            max_message_size;

  Handshake          handshake;
  char              *key;            /* client: the Sec-WebSocket-Key sent */
  PostHttp1Parser   *parser;         /* (owned) (nullable): the handshake's */

  /* decoding */
  gboolean           in_frame;       /* a data frame's payload is being read */
  guint64            frame_left;     /* its payload bytes still to come */
  gboolean           frame_fin;
  gboolean           frame_masked;
  guint8             frame_mask[4];
  guint              mask_offset;
  gboolean           in_message;     /* a data message is open */
  guint8             message_opcode; /* OP_TEXT or OP_BINARY */
  guint64            message_size;
  guint8             utf8_tail[4];   /* text: an incomplete sequence carried over */
  guint              utf8_tail_len;
  GByteArray        *unmasked;       /* payload handed out as payload_data */
  gboolean           close_received;

  /* encoding */
  gboolean           out_in_message; /* a message sent in parts is open */
  gboolean           close_sent;
  guint8             out_mask[4];    /* the key of the last frame encoded */
  guint              out_mask_offset;
};

G_DEFINE_FINAL_TYPE (PostWebSocketFramer, post_websocket_framer, POST_TYPE_FRAMER)

enum {
  PROP_0,
  PROP_ROLE,
  PROP_HOST,
  PROP_RESOURCE,
  PROP_MAX_MESSAGE_SIZE,
  PROP_OPEN,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
random_bytes (guint8 *buffer,
              gsize   size)
{
  gsize done = 0;

  while (done < size)
    {
      gssize n = getrandom (buffer + done, size - done, 0);

      if (n > 0)
        done += (gsize) n;
      else if (n < 0 && errno != EINTR)
        g_error ("getrandom() failed: %s", g_strerror (errno));
    }
}

/**
 * post_websocket_compute_accept:
 * @key: a `Sec-WebSocket-Key` value
 *
 * The `Sec-WebSocket-Accept` value that answers @key (RFC 6455 section
 * 4.2.2): the base64 of the SHA-1 of @key and the WebSocket GUID.
 *
 * Returns: (transfer full): the value
 */
char *
post_websocket_compute_accept (const char *key)
{
  g_autoptr(GChecksum) sha1 = g_checksum_new (G_CHECKSUM_SHA1);
  guint8 digest[20];
  gsize len = sizeof digest;

  g_return_val_if_fail (key != NULL, NULL);

  g_checksum_update (sha1, (const guchar *) key, (gssize) strlen (key));
  g_checksum_update (sha1, (const guchar *) WS_GUID, (gssize) strlen (WS_GUID));
  g_checksum_get_digest (sha1, digest, &len);
  return g_base64_encode (digest, len);
}

static void
apply_mask (const guint8 mask[4],
            guint        offset,
            guint8      *data,
            gsize        length)
{
  for (gsize i = 0; i < length; i++)
    data[i] ^= mask[(offset + i) & 3];
}

/* Appends a frame header; with @mask (a client), its key after it. */
static void
append_frame_header (GByteArray   *out,
                     gboolean      fin,
                     guint8        opcode,
                     guint64       length,
                     const guint8 *mask)
{
  guint8 h[14];
  gsize n = 0;

  h[n++] = (fin ? 0x80 : 0) | opcode;
  if (length < 126)
    h[n++] = (guint8) length;
  else if (length <= G_MAXUINT16)
    {
      h[n++] = 126;
      h[n++] = (guint8) (length >> 8);
      h[n++] = (guint8) length;
    }
  else
    {
      h[n++] = 127;
      for (int i = 7; i >= 0; i--)
        h[n++] = (guint8) (length >> (8 * i));
    }
  if (mask != NULL)
    {
      h[1] |= 0x80;
      memcpy (h + n, mask, 4);
      n += 4;
    }
  g_byte_array_append (out, h, (guint) n);
}

/* Queues a control frame of our own (a pong, a close answer) below the
 * messages, masked by a client. */
static void
send_control (PostWebSocketFramer *self,
              guint8               opcode,
              const guint8        *payload,
              gsize                length)
{
  g_autoptr(GByteArray) frame = g_byte_array_new ();
  g_autoptr(GBytes) bytes = NULL;
  guint8 mask[4];
  gboolean client = self->role == POST_WEBSOCKET_ROLE_CLIENT;

  if (client)
    random_bytes (mask, sizeof mask);
  append_frame_header (frame, TRUE, opcode, length, client ? mask : NULL);
  g_byte_array_append (frame, payload, (guint) length);
  if (client)
    apply_mask (mask, 0, frame->data + frame->len - length, length);
  bytes = g_byte_array_free_to_bytes (g_steal_pointer (&frame));
  post_framer_send_raw (POST_FRAMER (self), bytes);
}

static gboolean
fail (GError    **error,
      guint       code,
      const char *format,
      ...) G_GNUC_PRINTF (3, 4);

static gboolean
fail (GError    **error,
      guint       code,
      const char *format,
      ...)
{
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, POST_ERROR, POST_ERROR_PROTOCOL, "WebSocket: %s (close code %u)", text, code);
  return FALSE;
}

/* ---- the opening handshake ------------------------------------------------ */

static void
send_request (PostWebSocketFramer *self)
{
  guint8 nonce[16];
  g_autoptr(GString) request = g_string_new (NULL);
  g_autoptr(GBytes) bytes = NULL;

  random_bytes (nonce, sizeof nonce);
  g_free (self->key);
  self->key = g_base64_encode (nonce, sizeof nonce);
  g_string_append_printf (request,
                          "GET %s HTTP/1.1\r\n"
                          "Host: %s\r\n"
                          "Upgrade: websocket\r\n"
                          "Connection: Upgrade\r\n"
                          "Sec-WebSocket-Key: %s\r\n"
                          "Sec-WebSocket-Version: 13\r\n"
                          "\r\n",
                          self->resource, self->host, self->key);
  bytes = g_string_free_to_bytes (g_steal_pointer (&request));
  post_framer_send_raw (POST_FRAMER (self), bytes);
  self->handshake = HANDSHAKE_SENT;
}

/* Whether the comma-separated @list holds @token (case-insensitive). */
static gboolean
check_request (PostWebSocketFramer *self,
               const PostHttp1Head *head,
               GError             **error)
{
  const char *key = _post_http1_head_get_field (head, "Sec-WebSocket-Key");
  const char *version = _post_http1_head_get_field (head, "Sec-WebSocket-Version");
  g_autofree char *accept = NULL;
  g_autoptr(GString) response = g_string_new (NULL);
  g_autoptr(GBytes) bytes = NULL;
  g_autofree guchar *decoded = NULL;
  gsize decoded_len = 0;
  const char *problem = NULL;

  if (g_strcmp0 (head->method, "GET") != 0 || head->version_minor < 1)
    problem = "the opening handshake is not a GET of HTTP/1.1";
  else if (!_post_http1_list_has_token (_post_http1_head_get_field (head, "Upgrade"), "websocket"))
    problem = "the request has no \"Upgrade: websocket\"";
  else if (!_post_http1_list_has_token (_post_http1_head_get_field (head, "Connection"), "upgrade"))
    problem = "the request has no \"Connection: Upgrade\"";
  else if (g_strcmp0 (version, "13") != 0)
    problem = "the request's Sec-WebSocket-Version is not 13";
  else if (key == NULL || strlen (key) != 24
           || (decoded = g_base64_decode (key, &decoded_len), decoded_len != 16))
    problem = "the request's Sec-WebSocket-Key is not 16 bytes in base64";
  if (problem != NULL)
    {
      static const char bad[] = "HTTP/1.1 400 Bad Request\r\n"
                                "Content-Length: 0\r\nConnection: close\r\n"
                                "Sec-WebSocket-Version: 13\r\n\r\n";

      bytes = g_bytes_new_static (bad, sizeof bad - 1);
      post_framer_send_raw (POST_FRAMER (self), bytes);
      return fail (error, 1002, "%s", problem);
    }
  accept = post_websocket_compute_accept (key);
  g_string_append_printf (response,
                          "HTTP/1.1 101 Switching Protocols\r\n"
                          "Upgrade: websocket\r\n"
                          "Connection: Upgrade\r\n"
                          "Sec-WebSocket-Accept: %s\r\n"
                          "\r\n", accept);
  bytes = g_string_free_to_bytes (g_steal_pointer (&response));
  post_framer_send_raw (POST_FRAMER (self), bytes);
  return TRUE;
}

/* What is wrong with the server's 101 @head to a client's opening
 * handshake with @key, or NULL: PostWebSocketFramer's own handshake and
 * PostHttpFramer's hand-over check the same. */
const char *
_post_websocket_check_upgrade (const PostHttp1Head *head,
                               const char          *key)
{
  g_autofree char *expected = post_websocket_compute_accept (key);

  if (!_post_http1_list_has_token (_post_http1_head_get_field (head, "Upgrade"), "websocket")
      || !_post_http1_list_has_token (_post_http1_head_get_field (head, "Connection"), "upgrade"))
    return "the server's 101 does not upgrade to websocket";
  if (g_strcmp0 (_post_http1_head_get_field (head, "Sec-WebSocket-Accept"), expected) != 0)
    return "the server's Sec-WebSocket-Accept does not answer our key";
  return NULL;
}

static gboolean
check_response (PostWebSocketFramer *self,
                const PostHttp1Head *head,
                GError             **error)
{
  const char *problem;

  if (head->status != 101)
    return fail (error, 1002, "the server answered the opening handshake with %u %s",
                 head->status, head->reason);
  if ((problem = _post_websocket_check_upgrade (head, self->key)) != NULL)
    return fail (error, 1002, "%s", problem);
  return TRUE;
}

/* Feeds the handshake's parser; TRUE with chunk->consumed set. */
static gboolean
decode_handshake (PostWebSocketFramer *self,
                  const guint8        *data,
                  gsize                size,
                  gboolean             end_of_stream,
                  PostFrameChunk      *chunk,
                  GError             **error)
{
  PostHttp1Step step;

  if (self->handshake == HANDSHAKE_WAIT && self->role == POST_WEBSOCKET_ROLE_CLIENT)
    {
      if (size == 0 && !end_of_stream)
        return TRUE;
      return fail (error, 1002, "the server spoke before the client's opening handshake");
    }
  if (self->parser == NULL)
    {
      self->parser = _post_http1_parser_new (self->role == POST_WEBSOCKET_ROLE_SERVER);
      if (self->role == POST_WEBSOCKET_ROLE_CLIENT)
        _post_http1_parser_push_request (self->parser, "GET");
    }
  if (size == 0 && end_of_stream && !_post_http1_parser_in_message (self->parser)
      && self->role == POST_WEBSOCKET_ROLE_SERVER)
    return TRUE;                        /* the client left without a word */
  if (!_post_http1_parser_feed (self->parser, data, size, end_of_stream, &step, error))
    return FALSE;
  chunk->consumed = step.consumed;
  if (!step.head)
    return TRUE;
  if (!(self->role == POST_WEBSOCKET_ROLE_SERVER
        ? check_request (self, _post_http1_parser_get_head (self->parser), error)
        : check_response (self, _post_http1_parser_get_head (self->parser), error)))
    return FALSE;
  g_clear_pointer (&self->parser, _post_http1_parser_free);
  self->handshake = HANDSHAKE_DONE;
  return TRUE;
}

/* ---- frames ---------------------------------------------------------------- */

/* Whether @tail (an incomplete sequence at the end of text) can still
 * become valid UTF-8: some continuation completes it. */
static gboolean
utf8_prefix_ok (const guint8 *tail,
                guint         len)
{
  static const guint8 candidates[] = { 0x80, 0x8F, 0x90, 0x9F, 0xA0, 0xBF };
  guint8 buffer[4];

  if (len == 0 || len > 3)
    return len == 0;
  for (guint c = 0; c < G_N_ELEMENTS (candidates); c++)
    for (guint total = len + 1; total <= 4; total++)
      {
        memcpy (buffer, tail, len);
        memset (buffer + len, candidates[c], total - len);
        if (g_utf8_validate_len ((const char *) buffer, total, NULL))
          return TRUE;
      }
  return FALSE;
}

/* Validates text payload as it arrives; @last ends the message.  On an
 * error *valid says how many of the bytes are whole characters before it
 * (delivered first, so that where the error comes does not depend on how
 * the input was cut). */
static gboolean
check_utf8 (PostWebSocketFramer *self,
            const guint8        *data,
            gsize                length,
            gboolean             last,
            gsize               *valid,
            GError             **error)
{
  const guint8 *start = data;
  const char *end = NULL;
  gsize take;

  *valid = 0;
  /* Complete the sequence carried over first. */
  while (self->utf8_tail_len > 0 && length > 0)
    {
      self->utf8_tail[self->utf8_tail_len++] = *data++;
      length--;
      if (g_utf8_validate_len ((const char *) self->utf8_tail, self->utf8_tail_len, NULL))
        self->utf8_tail_len = 0;
      else if (!utf8_prefix_ok (self->utf8_tail, self->utf8_tail_len))
        return fail (error, 1007, "a text message is not UTF-8");
    }
  if (!g_utf8_validate_len ((const char *) data, length, &end))
    {
      *valid = (gsize) ((const guint8 *) end - start);
      take = length - (gsize) ((const guint8 *) end - data);
      if (take > 3 || !utf8_prefix_ok ((const guint8 *) end, (guint) take))
        return fail (error, 1007, "a text message is not UTF-8");
      memcpy (self->utf8_tail, end, take);
      self->utf8_tail_len = (guint) take;
    }
  if (last && self->utf8_tail_len > 0)
    return fail (error, 1007, "a text message ends inside a UTF-8 sequence");
  return TRUE;
}

static GVariant *
opcode_metadata (guint8 opcode)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&builder, "{sv}", "websocket-opcode", g_variant_new_byte (opcode));
  return g_variant_builder_end (&builder);
}

/* A whole control frame at @payload (unmasked). */
static gboolean
handle_control (PostWebSocketFramer *self,
                guint8               opcode,
                guint8              *payload,
                gsize                length,
                PostFrameChunk      *chunk,
                GError             **error)
{
  GVariantBuilder builder;
  guint16 code = 1005;          /* none given */

  if (opcode == OP_PING)
    {
      if (!self->close_sent)
        send_control (self, OP_PONG, payload, length);
      return TRUE;
    }
  if (opcode == OP_PONG)
    {
      /* Delivered between messages; inside a fragmented one (where the
       * carrier cannot interleave a message) it is dropped. */
      if (self->in_message)
        return TRUE;
      chunk->metadata = opcode_metadata (OP_PONG);
      chunk->message_start = chunk->message_end = TRUE;
      chunk->payload_data = payload;
      chunk->payload_length = length;
      return TRUE;
    }
  /* Close: delivered as a message, between two others. */
  if (self->in_message)
    return fail (error, 1002, "a close frame came inside a fragmented message");
  if (length == 1)
    return fail (error, 1002, "a close frame's payload is one byte");
  if (length >= 2)
    {
      code = (guint16) ((payload[0] << 8) | payload[1]);
      if (code < 1000 || (code >= 1004 && code <= 1006) || (code >= 1012 && code < 3000)
          || code >= 5000)
        return fail (error, 1002, "a close frame has the invalid status code %u", code);
      if (!g_utf8_validate_len ((const char *) payload + 2, length - 2, NULL))
        return fail (error, 1007, "a close frame's reason is not UTF-8");
    }
  self->close_received = TRUE;
  if (!self->close_sent)
    {
      send_control (self, OP_CLOSE, payload, MIN (length, 2));
      self->close_sent = TRUE;
    }
  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&builder, "{sv}", "websocket-opcode", g_variant_new_byte (OP_CLOSE));
  g_variant_builder_add (&builder, "{sv}", "websocket-close-code", g_variant_new_uint16 (code));
  g_variant_builder_add (&builder, "{sv}", "websocket-close-reason",
                         g_variant_new_take_string (length > 2 ? g_strndup ((const char *) payload + 2, length - 2)
                                                               : g_strdup ("")));
  chunk->metadata = g_variant_builder_end (&builder);
  chunk->message_start = chunk->message_end = TRUE;
  if (length > 2)
    {
      chunk->payload_data = payload + 2;
      chunk->payload_length = length - 2;
    }
  return TRUE;
}

/* Parses one frame header at @data; TRUE with chunk->consumed 0 when more
 * input is needed. */
static gboolean
decode_frame_header (PostWebSocketFramer *self,
                     const guint8        *data,
                     gsize                size,
                     gboolean             end_of_stream,
                     PostFrameChunk      *chunk,
                     GError             **error)
{
  gsize need = 2;
  guint64 length;
  guint8 opcode;
  gboolean fin, masked;
  const guint8 *mask;

  if (size < 2)
    goto more;
  fin = (data[0] & 0x80) != 0;
  opcode = data[0] & 0x0F;
  masked = (data[1] & 0x80) != 0;
  length = data[1] & 0x7F;
  if (data[0] & 0x70)
    return fail (error, 1002, "a frame has reserved bits set (0x%02x), and no extension was negotiated",
                 data[0] & 0x70);
  if ((opcode > OP_BINARY && opcode < OP_CLOSE) || opcode > OP_PONG)
    return fail (error, 1002, "a frame has the reserved opcode 0x%x", opcode);
  if (self->role == POST_WEBSOCKET_ROLE_SERVER && !masked)
    return fail (error, 1002, "a client frame is not masked");
  if (self->role == POST_WEBSOCKET_ROLE_CLIENT && masked)
    return fail (error, 1002, "a server frame is masked");
  if (opcode >= OP_CLOSE && (!fin || length > MAX_CONTROL))
    return fail (error, 1002, "a control frame is fragmented or longer than 125 bytes");
  if (opcode == OP_CONTINUATION && !self->in_message)
    return fail (error, 1002, "a continuation frame without a message to continue");
  if ((opcode == OP_TEXT || opcode == OP_BINARY) && self->in_message)
    return fail (error, 1002, "a new data frame inside a fragmented message");
  if (self->close_received)
    return fail (error, 1002, "a frame after the peer's close frame");
  need += length == 126 ? 2 : length == 127 ? 8 : 0;
  need += masked ? 4 : 0;
  if (size < need)
    goto more;
  if (length == 126)
    {
      length = ((guint64) data[2] << 8) | data[3];
      if (length < 126)
        return fail (error, 1002, "a frame length is not in its shortest form");
    }
  else if (length == 127)
    {
      length = 0;
      for (guint i = 0; i < 8; i++)
        length = (length << 8) | data[2 + i];
      if (length >> 63)
        return fail (error, 1002, "a frame length has its top bit set");
      if (length <= G_MAXUINT16)
        return fail (error, 1002, "a frame length is not in its shortest form");
    }
  mask = masked ? data + need - 4 : NULL;

  if (opcode >= OP_CLOSE)
    {
      guint8 payload[MAX_CONTROL];

      if (size < need + length)
        goto more;
      memcpy (payload, data + need, length);
      if (mask != NULL)
        apply_mask (mask, 0, payload, length);
      g_byte_array_set_size (self->unmasked, 0);
      g_byte_array_append (self->unmasked, payload, (guint) length);
      chunk->consumed = need + length;
      return handle_control (self, opcode, self->unmasked->data, length, chunk, error);
    }

  if (self->message_size + length > self->max_message_size)
    return fail (error, 1009, "a message is longer than the %" G_GUINT64_FORMAT " bytes allowed",
                 self->max_message_size);
  self->message_size += length;
  self->in_frame = TRUE;
  self->frame_left = length;
  self->frame_fin = fin;
  self->frame_masked = masked;
  if (mask != NULL)
    memcpy (self->frame_mask, mask, 4);
  self->mask_offset = 0;
  chunk->consumed = need;
  if (opcode != OP_CONTINUATION)
    {
      self->in_message = TRUE;
      self->message_opcode = opcode;
      chunk->message_start = TRUE;
      chunk->metadata = opcode_metadata (opcode);
    }
  if (length == 0)
    {
      self->in_frame = FALSE;
      if (fin)
        {
          gsize valid;

          if (self->message_opcode == OP_TEXT && !check_utf8 (self, NULL, 0, TRUE, &valid, error))
            return FALSE;
          chunk->message_end = TRUE;
          self->in_message = FALSE;
          self->message_size = 0;
        }
    }
  return TRUE;

more:
  if (end_of_stream)
    {
      if (size == 0 && !self->in_message)
        return TRUE;            /* a clean end between messages */
      g_set_error_literal (error, POST_ERROR, POST_ERROR_TRUNCATED,
                           "WebSocket: the stream ended inside a frame or a fragmented message");
      return FALSE;
    }
  return TRUE;
}

/* How many bytes at the end of @data (@len bytes) begin a UTF-8 sequence
 * that has not ended there (0 if none) */
static gsize
utf8_incomplete_tail (const guint8 *data,
                      gsize         len)
{
  for (gsize i = 1; i <= MIN (len, (gsize) 3); i++)
    {
      guint8 b = data[len - i];
      gsize need;

      if ((b & 0xC0) == 0x80)
        continue;
      if (b < 0xC0)
        return 0;
      need = b >= 0xF0 ? 4 : b >= 0xE0 ? 3 : 2;
      return i < need ? i : 0;
    }
  return 0;
}

static gboolean
decode_payload (PostWebSocketFramer *self,
                const guint8        *data,
                gsize                size,
                gboolean             end_of_stream,
                PostFrameChunk      *chunk,
                GError             **error)
{
  gsize take = (gsize) MIN ((guint64) size, self->frame_left);
  const guint8 *payload = data;
  guint mask_offset = self->mask_offset;
  gboolean last;
  gsize valid;

  if (take == 0)
    {
      if (end_of_stream)
        {
          g_set_error_literal (error, POST_ERROR, POST_ERROR_TRUNCATED,
                               "WebSocket: the stream ended inside a frame");
          return FALSE;
        }
      return TRUE;
    }
  if (self->frame_masked)
    {
      g_byte_array_set_size (self->unmasked, 0);
      g_byte_array_append (self->unmasked, data, (guint) take);
      apply_mask (self->frame_mask, self->mask_offset, self->unmasked->data, take);
      self->mask_offset = (self->mask_offset + (guint) take) & 3;
      payload = self->unmasked->data;
      chunk->payload_data = payload;
    }
  else
    chunk->payload_offset = 0;
  /* Text cut inside the frame and inside a UTF-8 sequence: that
   * sequence's bytes wait for the next call, with those that complete it,
   * so that what is delivered before an error does not depend on where
   * the input was cut (fuzz-websocket). */
  if (self->message_opcode == OP_TEXT && take < self->frame_left && !end_of_stream)
    {
      gsize hold = utf8_incomplete_tail (payload, take);

      /* Only a sequence that is still whole so far: bytes before it that
       * end inside another sequence are invalid already, which the check
       * below reports on all of them. */
      if (hold > 0 && utf8_incomplete_tail (payload, take - hold) != 0)
        hold = 0;
      if (hold == take)
        {
          self->mask_offset = mask_offset;
          chunk->payload_data = NULL;
          return TRUE;   /* more input */
        }
      take -= hold;
      if (self->frame_masked)
        self->mask_offset = (mask_offset + (guint) take) & 3;
    }
  last = self->frame_left == take && self->frame_fin;
  if (self->message_opcode == OP_TEXT && !check_utf8 (self, payload, take, last, &valid, error))
    {
      if (valid == 0)
        return FALSE;
      /* The whole characters before the error first; the error next time. */
      g_clear_error (error);
      self->utf8_tail_len = 0;
      take = valid;
      self->mask_offset = (mask_offset + (guint) take) & 3;
      last = FALSE;
    }
  self->frame_left -= take;
  chunk->consumed = take;
  chunk->payload_length = take;
  if (self->frame_left == 0)
    {
      self->in_frame = FALSE;
      if (last)
        {
          chunk->message_end = TRUE;
          self->in_message = FALSE;
          self->message_size = 0;
        }
    }
  return TRUE;
}

static gboolean
post_websocket_framer_decode (PostFramer      *framer,
                              const guint8    *data,
                              gsize            size,
                              gboolean         end_of_stream,
                              PostFrameChunk  *chunk,
                              GError         **error)
{
  PostWebSocketFramer *self = POST_WEBSOCKET_FRAMER (framer);

  if (self->role == POST_WEBSOCKET_ROLE_AUTO)
    self->role = POST_WEBSOCKET_ROLE_SERVER;    /* decoding before start(): we were spoken to */
  if (self->handshake != HANDSHAKE_DONE)
    return decode_handshake (self, data, size, end_of_stream, chunk, error);
  if (self->in_frame)
    return decode_payload (self, data, size, end_of_stream, chunk, error);
  return decode_frame_header (self, data, size, end_of_stream, chunk, error);
}

/* ---- encoding ---------------------------------------------------------------- */

static gboolean
lookup_opcode (PostMessage *message,
               guint8      *opcode,
               GError     **error)
{
  static const char *const names[] = { [OP_TEXT] = "text", [OP_BINARY] = "binary",
                                       [OP_CLOSE] = "close", [OP_PING] = "ping",
                                       [OP_PONG] = "pong" };
  g_autoptr(GVariant) value = NULL;
  const char *name;

  *opcode = OP_BINARY;
  if (message == NULL
      || (value = post_message_lookup_metadata_value (message, "websocket-opcode", NULL)) == NULL)
    return TRUE;
  if (g_variant_is_of_type (value, G_VARIANT_TYPE_BYTE))
    {
      *opcode = g_variant_get_byte (value);
      if (*opcode < G_N_ELEMENTS (names) && names[*opcode] != NULL)
        return TRUE;
    }
  else if (g_variant_is_of_type (value, G_VARIANT_TYPE_STRING))
    {
      name = g_variant_get_string (value, NULL);
      for (guint i = 0; i < G_N_ELEMENTS (names); i++)
        if (names[i] != NULL && strcmp (names[i], name) == 0)
          {
            *opcode = (guint8) i;
            return TRUE;
          }
    }
  g_set_error_literal (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                       "The metadata \"websocket-opcode\" is not a WebSocket message opcode "
                       "(y 1, 2, 8, 9, 10 or s \"text\", \"binary\", \"close\", \"ping\", \"pong\")");
  return FALSE;
}

static gboolean
post_websocket_framer_encode (PostFramer   *framer,
                              PostMessage  *message,
                              gsize         length,
                              gboolean      end_of_message,
                              GByteArray   *header,
                              GByteArray   *trailer,
                              GError      **error)
{
  PostWebSocketFramer *self = POST_WEBSOCKET_FRAMER (framer);
  guint8 opcode = OP_CONTINUATION;
  guint8 code_bytes[2];
  gsize extra = 0;
  gboolean client;

  if (self->role == POST_WEBSOCKET_ROLE_AUTO)
    {
      /* Sending before start() or any input: we speak first, as a client. */
      self->role = POST_WEBSOCKET_ROLE_CLIENT;
      send_request (self);
    }
  client = self->role == POST_WEBSOCKET_ROLE_CLIENT;
  if (client && self->handshake == HANDSHAKE_WAIT)
    send_request (self);        /* a client that took over without start() */
  if (!client && self->handshake != HANDSHAKE_DONE)
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_WOULD_BLOCK,
                           "A WebSocket server cannot send before the client's opening handshake "
                           "has been received");
      return FALSE;
    }
  if (self->close_sent)
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_CLOSED,
                           "This WebSocket end sent its close frame: nothing can follow it");
      return FALSE;
    }
  if (!self->out_in_message)
    {
      if (!lookup_opcode (message, &opcode, error))
        return FALSE;
      if (opcode >= OP_CLOSE && (!end_of_message || length > MAX_CONTROL))
        {
          g_set_error_literal (error, POST_ERROR, POST_ERROR_MESSAGE_TOO_LARGE,
                               "A WebSocket control message (close, ping, pong) is sent whole, "
                               "in at most 125 bytes");
          return FALSE;
        }
      if (opcode == OP_CLOSE)
        {
          guint16 code = 1000;

          post_message_lookup_metadata (message, "websocket-close-code", "q", &code);
          if (length > MAX_CONTROL - 2)
            {
              g_set_error_literal (error, POST_ERROR, POST_ERROR_MESSAGE_TOO_LARGE,
                                   "A WebSocket close reason has at most 123 bytes");
              return FALSE;
            }
          code_bytes[0] = (guint8) (code >> 8);
          code_bytes[1] = (guint8) code;
          extra = 2;
          self->close_sent = TRUE;
        }
    }
  if (client)
    random_bytes (self->out_mask, sizeof self->out_mask);
  append_frame_header (header, end_of_message, opcode, length + extra, client ? self->out_mask : NULL);
  if (extra > 0)
    {
      g_byte_array_append (header, code_bytes, (guint) extra);
      if (client)
        apply_mask (self->out_mask, 0, header->data + header->len - extra, extra);
    }
  self->out_mask_offset = (guint) extra;
  self->out_in_message = !end_of_message;
  return TRUE;
}

static void
post_websocket_framer_transform_payload (PostFramer *framer,
                                         guint8     *payload,
                                         gsize       length)
{
  PostWebSocketFramer *self = POST_WEBSOCKET_FRAMER (framer);

  if (self->role == POST_WEBSOCKET_ROLE_CLIENT)
    apply_mask (self->out_mask, self->out_mask_offset, payload, length);
}

static void
post_websocket_framer_start (PostFramer *framer,
                             gboolean    initiator)
{
  PostWebSocketFramer *self = POST_WEBSOCKET_FRAMER (framer);

  if (self->role == POST_WEBSOCKET_ROLE_AUTO)
    self->role = initiator ? POST_WEBSOCKET_ROLE_CLIENT : POST_WEBSOCKET_ROLE_SERVER;
  if (self->role == POST_WEBSOCKET_ROLE_CLIENT && self->handshake == HANDSHAKE_WAIT)
    send_request (self);
}

static void
post_websocket_framer_reset (PostFramer *framer)
{
  PostWebSocketFramer *self = POST_WEBSOCKET_FRAMER (framer);

  self->in_frame = FALSE;
  self->in_message = FALSE;
  self->message_size = 0;
  self->utf8_tail_len = 0;
  self->out_in_message = FALSE;
}

/* ---- GObject ------------------------------------------------------------------ */

/**
 * post_websocket_framer_new:
 * @role: the side this end speaks
 * @host: (nullable): the `Host` of a client's request (default `localhost`)
 * @resource: (nullable): the resource a client asks for (default `/`)
 *
 * A WebSocket framer, for a framer that hands over to it
 * (post_framer_replace()); a configuration that names
 * %POST_TYPE_WEBSOCKET_FRAMER gets one with the defaults.
 *
 * Returns: (transfer full): the framer
 */
PostFramer *
post_websocket_framer_new (PostWebSocketRole  role,
                           const char        *host,
                           const char        *resource)
{
  return g_object_new (POST_TYPE_WEBSOCKET_FRAMER, "role", role,
                       "host", host, "resource", resource, NULL);
}

/**
 * post_websocket_framer_get_role:
 * @self: a #PostWebSocketFramer
 *
 * The side this framer speaks; %POST_WEBSOCKET_ROLE_AUTO until its carrier
 * tells it.
 *
 * Returns: the role
 */
PostWebSocketRole
post_websocket_framer_get_role (PostWebSocketFramer *self)
{
  g_return_val_if_fail (POST_IS_WEBSOCKET_FRAMER (self), POST_WEBSOCKET_ROLE_AUTO);
  return self->role;
}

/**
 * post_websocket_framer_get_open:
 * @self: a #PostWebSocketFramer
 *
 * Whether the opening handshake is complete.
 *
 * Returns: %TRUE once frames flow
 */
gboolean
post_websocket_framer_get_open (PostWebSocketFramer *self)
{
  g_return_val_if_fail (POST_IS_WEBSOCKET_FRAMER (self), FALSE);
  return self->handshake == HANDSHAKE_DONE;
}

static void
post_websocket_framer_set_property (GObject      *object,
                                    guint         prop_id,
                                    const GValue *value,
                                    GParamSpec   *pspec)
{
  PostWebSocketFramer *self = POST_WEBSOCKET_FRAMER (object);

  switch (prop_id)
    {
    case PROP_ROLE:
      self->role = g_value_get_enum (value);
      break;
    case PROP_HOST:
      g_free (self->host);
      self->host = g_value_dup_string (value);
      if (self->host == NULL)
        self->host = g_strdup ("localhost");
      break;
    case PROP_RESOURCE:
      g_free (self->resource);
      self->resource = g_value_dup_string (value);
      if (self->resource == NULL)
        self->resource = g_strdup ("/");
      break;
    case PROP_MAX_MESSAGE_SIZE:
      self->max_message_size = g_value_get_uint64 (value);
      break;
    case PROP_OPEN:
      if (g_value_get_boolean (value))
        self->handshake = HANDSHAKE_DONE;
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
post_websocket_framer_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  PostWebSocketFramer *self = POST_WEBSOCKET_FRAMER (object);

  switch (prop_id)
    {
    case PROP_ROLE:
      g_value_set_enum (value, self->role);
      break;
    case PROP_HOST:
      g_value_set_string (value, self->host);
      break;
    case PROP_RESOURCE:
      g_value_set_string (value, self->resource);
      break;
    case PROP_MAX_MESSAGE_SIZE:
      g_value_set_uint64 (value, self->max_message_size);
      break;
    case PROP_OPEN:
      g_value_set_boolean (value, self->handshake == HANDSHAKE_DONE);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
post_websocket_framer_finalize (GObject *object)
{
  PostWebSocketFramer *self = POST_WEBSOCKET_FRAMER (object);

  g_free (self->host);
  g_free (self->resource);
  g_free (self->key);
  g_clear_pointer (&self->parser, _post_http1_parser_free);
  g_byte_array_unref (self->unmasked);
  G_OBJECT_CLASS (post_websocket_framer_parent_class)->finalize (object);
}

static void
post_websocket_framer_class_init (PostWebSocketFramerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  PostFramerClass *framer_class = POST_FRAMER_CLASS (klass);

  object_class->set_property = post_websocket_framer_set_property;
  object_class->get_property = post_websocket_framer_get_property;
  object_class->finalize = post_websocket_framer_finalize;
  framer_class->encode = post_websocket_framer_encode;
  framer_class->decode = post_websocket_framer_decode;
  framer_class->reset = post_websocket_framer_reset;
  framer_class->start = post_websocket_framer_start;
  framer_class->transform_payload = post_websocket_framer_transform_payload;

  /**
   * PostWebSocketFramer:role:
   *
   * The side this end speaks; with %POST_WEBSOCKET_ROLE_AUTO the carrier
   * decides (#PostFramerClass.start).
   */
  properties[PROP_ROLE] =
    g_param_spec_enum ("role", NULL, NULL, POST_TYPE_WEB_SOCKET_ROLE, POST_WEBSOCKET_ROLE_AUTO,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * PostWebSocketFramer:host:
   *
   * The `Host` field of a client's opening handshake.
   */
  properties[PROP_HOST] =
    g_param_spec_string ("host", NULL, NULL, "localhost",
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * PostWebSocketFramer:resource:
   *
   * The request target of a client's opening handshake.
   */
  properties[PROP_RESOURCE] =
    g_param_spec_string ("resource", NULL, NULL, "/",
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  /**
   * PostWebSocketFramer:max-message-size:
   *
   * The longest message accepted from the peer, fragments added up; a
   * longer one fails the carrier with %POST_ERROR_PROTOCOL (close code
   * 1009).
   */
  properties[PROP_MAX_MESSAGE_SIZE] =
    g_param_spec_uint64 ("max-message-size", NULL, NULL, 0, G_MAXUINT64,
                         POST_WEBSOCKET_DEFAULT_MAX_MESSAGE_SIZE,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT | G_PARAM_STATIC_STRINGS);
  /**
   * PostWebSocketFramer:open:
   *
   * Whether the opening handshake is done.  Set it at construction when
   * another framer did the handshake and hands over to this one
   * (post_framer_replace()): frames flow from the first byte.
   */
  properties[PROP_OPEN] =
    g_param_spec_boolean ("open", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
post_websocket_framer_init (PostWebSocketFramer *self)
{
  self->host = g_strdup ("localhost");
  self->resource = g_strdup ("/");
  self->max_message_size = POST_WEBSOCKET_DEFAULT_MAX_MESSAGE_SIZE;
  self->unmasked = g_byte_array_new ();
}
