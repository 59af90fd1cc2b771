/* post-http-framer.c: PostHttpFramer, HTTP/1.1 messages on byte streams
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#include "post-values-private.h"
#include "post-http1-parser-private.h"
#include "post-websocket-framer.h"

/**
 * PostHttpFramer:
 *
 * HTTP/1.1 (RFC 9112) as a [class@Post.Framer]: each request and each
 * response is a message, its body the message's content and its head the
 * message's [property@Post.Message:metadata], a dictionary (`a{sv}`) with
 *
 * | key | type | |
 * | --- | --- | --- |
 * | `http-method` | `s` | requests: the method (`GET`) |
 * | `http-target` | `s` | requests: the request target (`/index.html`) |
 * | `http-status` | `u` | responses: the status code (`200`) |
 * | `http-reason` | `s` | responses: the reason phrase (`OK`) |
 * | `http-version` | `s` | `HTTP/1.1` or `HTTP/1.0` |
 * | `http-headers` | `a(ss)` | the header fields, in order, names as sent |
 * | `http-keep-alive` | `b` | received: whether more messages may follow on the connection |
 * | `http-trailers` | `a(ss)` | received: the trailer fields of a chunked body |
 *
 * Set it on a configuration with post_configuration_set_framer_type()
 * (`POST_TYPE_HTTP_FRAMER`) on tcp or tls.
 *
 * ## Sending
 *
 * A message sent whole gets a `Content-Length` (a request without a body
 * whose method does not take one, `GET` say, gets none); a message sent in
 * parts (post_carrier_send_partial_async()) is sent with
 * `Transfer-Encoding: chunked`, each non-empty part a chunk, so a body
 * need never be in memory whole — unless its `http-headers` give a
 * `Content-Length`, which the parts must then add up to.  Framing is the
 * framer's: a `Transfer-Encoding` in `http-headers` fails the send with
 * %POST_ERROR_INVALID_ARGUMENT, as do header names that are not tokens,
 * values holding CR, LF or NUL, a request without `Host`, or a body on a
 * response that has none (1xx, 204, 304, a response to `HEAD`).  A request
 * needs `http-method` and `http-target`; a response's status defaults to
 * 200 and its reason phrase to the usual one.
 *
 * ## Receiving
 *
 * The head of a message arrives as the metadata of its first part, the
 * body as the message's content, reported as it arrives: a partial
 * receive gets a body of any size without its being held
 * ([method@Post.Carrier.receive_partial_async]).  Interim responses (1xx)
 * are messages too, without a body.  Malformed heads, header sections over
 * 64 KiB or 128 fields, request smuggling (Content-Length with
 * Transfer-Encoding) and the like fail the carrier with
 * %POST_ERROR_PROTOCOL; a stream that ends inside a message with
 * %POST_ERROR_TRUNCATED.
 *
 * ## Roles, keep-alive, pipelining, 100-continue
 *
 * [property@Post.HttpFramer:role] says which side the framer speaks; the
 * default, %POST_HTTP_ROLE_AUTO, makes a carrier that initiates the client
 * and a carrier a listener accepts the server (told by
 * [vfunc@Post.Framer.start]); a framer used on its own is the client if it
 * sends first and the server if it receives first.
 *
 * Connections are persistent (HTTP/1.1): a response to a request with
 * `Connection: close` (or an HTTP/1.0 request without keep-alive) gets
 * `Connection: close`, and the received message says `http-keep-alive`
 * false: the application then closes the carrier after the exchange.  A
 * response to an HTTP/1.0 request sent in parts is delimited by the close
 * instead of chunked.
 *
 * At most [property@Post.HttpFramer:max-pipelined] requests may wait for
 * their responses: on a client, sending one more fails with
 * %POST_ERROR_WOULD_BLOCK; on a server, a client pipelining more fails the
 * carrier with %POST_ERROR_PROTOCOL.  Responses go out in the order of the
 * requests they answer, so send them in that order.
 *
 * A server framer answers a request carrying `Expect: 100-continue` and a
 * body with `HTTP/1.1 100 Continue` itself (post_framer_send_raw()), as
 * soon as its head arrives, so that the client sends the body; a client that sent `Expect: 100-continue`
 * receives the `100` response as a message.
 *
 * ## Upgrade to WebSocket
 *
 * A client whose request asks for `Upgrade: websocket` (with
 * `Connection: Upgrade`, `Sec-WebSocket-Version: 13` and a
 * `Sec-WebSocket-Key`) receives the server's `101 Switching Protocols` as
 * a message with its header fields, once the framer has checked its
 * `Sec-WebSocket-Accept` against the key; after it, the carrier's framer
 * is a [class@Post.WebSocketFramer] in both directions
 * (post_framer_replace()).  Until the answer, the client sends nothing
 * else.  A `101` to a request that asked for no upgrade, or a wrong
 * accept, fails the carrier with %POST_ERROR_PROTOCOL; after a `101` to
 * another protocol, any further input is not HTTP/1.1 and fails it too.
 */

typedef struct {
  char     *method;      /* (owned) */
  guint     minor;
  gboolean  keep_alive;
} Pending;

typedef struct {
  gboolean chunked;      /* the parts are chunks */
  gboolean counted;      /* the application's Content-Length counts them */
  guint64  remaining;
} Open;

struct _PostHttpFramer
{
  PostFramer       parent_instance;

  PostHttpRole     role;
  guint            max_pipelined;
  PostHttp1Parser *parser;       /* (owned) (nullable) until the role is known */
  GQueue           answering;    /* server: (element-type Pending) requests not yet answered */
  guint            outstanding;  /* client: requests without their final response */
  char            *upgrade;      /* client: (owned) (nullable) the Upgrade asked for, until answered */
  char            *ws_key;       /* client: (owned) (nullable) its Sec-WebSocket-Key (Upgrade: websocket) */
  guint            upgrade_ahead; /* client: final responses due before the upgrade's answer */
  GHashTable      *open;         /* (owned) PostMessage (ref) → Open: messages sent in parts */
};

enum {
  PROP_0,
  PROP_ROLE,
  PROP_MAX_PIPELINED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

G_DEFINE_FINAL_TYPE (PostHttpFramer, post_http_framer, POST_TYPE_FRAMER)

static void
pending_free (Pending *pending)
{
  g_free (pending->method);
  g_free (pending);
}

static void
settle_role (PostHttpFramer *self,
             PostHttpRole    role)
{
  if (self->role == POST_HTTP_ROLE_AUTO)
    self->role = role;
  if (self->parser == NULL)
    self->parser = _post_http1_parser_new (self->role == POST_HTTP_ROLE_SERVER);
}

static const char *
default_reason (guint status)
{
  static const struct { guint status; const char *reason; } reasons[] = {
    { 100, "Continue" }, { 101, "Switching Protocols" }, { 103, "Early Hints" },
    { 200, "OK" }, { 201, "Created" }, { 202, "Accepted" }, { 204, "No Content" },
    { 206, "Partial Content" }, { 301, "Moved Permanently" }, { 302, "Found" },
    { 303, "See Other" }, { 304, "Not Modified" }, { 307, "Temporary Redirect" },
    { 308, "Permanent Redirect" }, { 400, "Bad Request" }, { 401, "Unauthorized" },
    { 403, "Forbidden" }, { 404, "Not Found" }, { 405, "Method Not Allowed" },
    { 408, "Request Timeout" }, { 411, "Length Required" }, { 413, "Content Too Large" },
    { 414, "URI Too Long" }, { 417, "Expectation Failed" }, { 431, "Request Header Fields Too Large" },
    { 500, "Internal Server Error" }, { 501, "Not Implemented" }, { 502, "Bad Gateway" },
    { 503, "Service Unavailable" }, { 505, "HTTP Version Not Supported" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (reasons); i++)
    if (reasons[i].status == status)
      return reasons[i].reason;
  return "";
}

static gboolean
invalid (GError     **error,
         const char  *format,
         ...) G_GNUC_PRINTF (2, 3);

static gboolean
invalid (GError     **error,
         const char  *format,
         ...)
{
  va_list args;

  va_start (args, format);
  g_propagate_error (error, g_error_new_valist (POST_ERROR, POST_ERROR_INVALID_ARGUMENT, format, args));
  va_end (args);
  return FALSE;
}

/* What the application's header fields say about framing */
typedef struct {
  gboolean    has_host;
  gboolean    has_connection;
  gint64      content_length;  /* -1: none */
  const char *upgrade;         /* the Upgrade field's value, or NULL */
  const char *ws_key;          /* the Sec-WebSocket-Key field's value, or NULL */
} HeaderScan;

static gboolean
append_headers (GString     *head,
                GVariant    *headers,
                HeaderScan  *scan,
                GError     **error)
{
  GVariantIter iter;
  const char *name, *value;

  scan->content_length = -1;
  if (headers == NULL)
    return TRUE;
  g_variant_iter_init (&iter, headers);
  while (g_variant_iter_next (&iter, "(&s&s)", &name, &value))
    {
      if (!_post_http1_is_token (name, -1))
        return invalid (error, "“%s” is not a valid HTTP header field name", name);
      for (const char *p = value; *p != '\0'; p++)
        if (*p == '\r' || *p == '\n')
          return invalid (error, "The value of the HTTP header field %s holds CR or LF", name);
      if (g_ascii_strcasecmp (name, "Transfer-Encoding") == 0)
        return invalid (error, "The HTTP framer chooses the Transfer-Encoding itself; do not set it");
      if (g_ascii_strcasecmp (name, "Content-Length") == 0)
        {
          guint64 length;

          if (!g_ascii_string_to_unsigned (value, 10, 0, G_MAXINT64, &length, NULL)
              || scan->content_length >= 0)
            return invalid (error, "An invalid or repeated Content-Length (%s)", value);
          scan->content_length = (gint64) length;
        }
      scan->has_host |= g_ascii_strcasecmp (name, "Host") == 0;
      scan->has_connection |= g_ascii_strcasecmp (name, "Connection") == 0;
      if (g_ascii_strcasecmp (name, "Upgrade") == 0)
        scan->upgrade = value;
      if (g_ascii_strcasecmp (name, "Sec-WebSocket-Key") == 0)
        scan->ws_key = value;
      g_string_append_printf (head, "%s: %s\r\n", name, value);
    }
  return TRUE;
}

static gboolean
method_takes_body (const char *method)
{
  return strcmp (method, "POST") == 0 || strcmp (method, "PUT") == 0 || strcmp (method, "PATCH") == 0;
}

static const char *
lookup_string (PostMessage *message,
               const char  *key)
{
  GVariant *metadata = message != NULL ? post_message_get_metadata (message) : NULL;
  const char *value = NULL;

  if (metadata != NULL)
    g_variant_lookup (metadata, key, "&s", &value);
  return value;
}

/* The head of the first part of @message; fills @open for the parts */
static gboolean
encode_head (PostHttpFramer  *self,
             PostMessage     *message,
             gsize            length,
             gboolean         end_of_message,
             GString         *head,
             Open            *open,
             GError         **error)
{
  g_autoptr(GVariant) headers = NULL;
  const char *version = lookup_string (message, "http-version");
  const char *method = lookup_string (message, "http-method");
  gboolean client, no_body = FALSE, interim = FALSE, close_delimited = FALSE;
  Pending *answered = NULL;
  HeaderScan scan = { FALSE, FALSE, -1, NULL, NULL };
  guint status = 200;

  if (self->role == POST_HTTP_ROLE_AUTO && message != NULL && method == NULL
      && (post_message_get_metadata (message) == NULL
          || !g_variant_lookup (post_message_get_metadata (message), "http-status", "u", &status)))
    return invalid (error, "An HTTP message needs http-method (a request) or http-status (a response) "
                           "in its metadata");
  settle_role (self, method != NULL ? POST_HTTP_ROLE_CLIENT : POST_HTTP_ROLE_SERVER);
  client = self->role == POST_HTTP_ROLE_CLIENT;
  if (version != NULL && strcmp (version, "HTTP/1.1") != 0 && strcmp (version, "HTTP/1.0") != 0)
    return invalid (error, "The HTTP framer speaks HTTP/1.1 and HTTP/1.0, not %s", version);
  if (message != NULL)
    headers = post_message_lookup_metadata_value (message, "http-headers", G_VARIANT_TYPE ("a(ss)"));

  if (client)
    {
      const char *target = lookup_string (message, "http-target");

      if (method == NULL || target == NULL)
        return invalid (error, "An HTTP request needs http-method and http-target in its metadata");
      if (!_post_http1_is_token (method, -1))
        return invalid (error, "“%s” is not a valid HTTP method", method);
      for (const char *p = target; *p != '\0'; p++)
        if ((guint8) *p <= 0x20 || (guint8) *p >= 0x7f)
          return invalid (error, "The HTTP request target holds an invalid character 0x%02x", (guint8) *p);
      if (*target == '\0')
        return invalid (error, "The HTTP request target is empty");
      if (self->upgrade != NULL)
        return invalid (error, "An HTTP request after one asking for an upgrade (%s), before its answer",
                        self->upgrade);
      if (self->outstanding >= self->max_pipelined)
        {
          g_set_error (error, POST_ERROR, POST_ERROR_WOULD_BLOCK,
                       "%u HTTP requests are waiting for their responses (max-pipelined)",
                       self->outstanding);
          return FALSE;
        }
      g_string_append_printf (head, "%s %s %s\r\n", method, target, version ? version : "HTTP/1.1");
    }
  else
    {
      const char *reason = lookup_string (message, "http-reason");
      GVariant *metadata = message != NULL ? post_message_get_metadata (message) : NULL;

      if (metadata != NULL)
        g_variant_lookup (metadata, "http-status", "u", &status);
      if (status < 100 || status > 599)
        return invalid (error, "The HTTP status %u is not in 100–599", status);
      if (reason != NULL)
        for (const char *p = reason; *p != '\0'; p++)
          if (*p == '\r' || *p == '\n')
            return invalid (error, "The HTTP reason phrase holds CR or LF");
      interim = status < 200;
      answered = g_queue_peek_head (&self->answering);
      if (answered == NULL && !interim)
        return invalid (error, "An HTTP response with no request to answer");
      no_body = interim || status == 204 || status == 304
                || (answered != NULL && strcmp (answered->method, "HEAD") == 0);
      if (version == NULL)
        version = answered != NULL && answered->minor == 0 ? "HTTP/1.0" : "HTTP/1.1";
      g_string_append_printf (head, "%s %u %s\r\n", version, status, reason ? reason : default_reason (status));
    }

  if (!append_headers (head, headers, &scan, error))
    return FALSE;
  if (client && !scan.has_host && (version == NULL || strcmp (version, "HTTP/1.1") == 0))
    return invalid (error, "An HTTP/1.1 request needs a Host header field (in http-headers)");
  if (client && _post_http1_list_has_token (scan.upgrade, "websocket") && scan.ws_key == NULL)
    return invalid (error, "An HTTP request with Upgrade: websocket needs a Sec-WebSocket-Key");

  if (no_body)
    {
      if (length > 0 || !end_of_message)
        return invalid (error, "An HTTP %u response%s has no body", status,
                        status < 200 || status == 204 || status == 304 ? "" : " to HEAD");
    }
  else if (scan.content_length >= 0)
    {
      if ((guint64) length > (guint64) scan.content_length
          || (end_of_message && (guint64) length != (guint64) scan.content_length))
        return invalid (error, "The HTTP body is %" G_GSIZE_FORMAT "%s bytes, its Content-Length %"
                        G_GINT64_FORMAT, length, end_of_message ? "" : " or more", scan.content_length);
      open->counted = TRUE;
      open->remaining = (guint64) scan.content_length;  /* encode_part() counts this part */
    }
  else if (end_of_message)
    {
      if (!client || length > 0 || method_takes_body (method))
        g_string_append_printf (head, "Content-Length: %" G_GSIZE_FORMAT "\r\n", length);
    }
  else if (!client && answered != NULL && answered->minor == 0)
    close_delimited = TRUE;
  else
    {
      g_string_append (head, "Transfer-Encoding: chunked\r\n");
      open->chunked = TRUE;
    }
  if (!client && !scan.has_connection && answered != NULL && (!answered->keep_alive || close_delimited))
    g_string_append (head, "Connection: close\r\n");
  g_string_append (head, "\r\n");

  /* Nothing can fail past here */
  if (client)
    {
      _post_http1_parser_push_request (self->parser, method);
      if (scan.upgrade != NULL)
        {
          self->upgrade = g_strdup (scan.upgrade);
          self->ws_key = _post_http1_list_has_token (scan.upgrade, "websocket") ? g_strdup (scan.ws_key) : NULL;
          self->upgrade_ahead = self->outstanding;
        }
      self->outstanding++;
    }
  else if (!interim)
    pending_free (g_queue_pop_head (&self->answering));
  return TRUE;
}

/* The chunk framing of @length bytes of a message sent in parts */
static gboolean
encode_part (Open        *open,
             gsize        length,
             gboolean     end_of_message,
             GString     *head,
             GByteArray  *trailer,
             GError     **error)
{
  if (open->counted)
    {
      if ((guint64) length > open->remaining
          || (end_of_message && (guint64) length != open->remaining))
        return invalid (error, "The HTTP body's parts do not add up to its Content-Length "
                        "(%" G_GUINT64_FORMAT " bytes left, a part of %" G_GSIZE_FORMAT "%s)",
                        open->remaining, length, end_of_message ? ", the last" : "");
      open->remaining -= length;
    }
  if (open->chunked && length > 0)
    {
      g_string_append_printf (head, "%" G_GSIZE_MODIFIER "x\r\n", length);
      g_byte_array_append (trailer, (const guint8 *) "\r\n", 2);
    }
  if (open->chunked && end_of_message)
    g_byte_array_append (trailer, (const guint8 *) "0\r\n\r\n", 5);
  return TRUE;
}

static gboolean
post_http_framer_encode (PostFramer   *framer,
                         PostMessage  *message,
                         gsize         length,
                         gboolean      end_of_message,
                         GByteArray   *header,
                         GByteArray   *trailer,
                         GError      **error)
{
  PostHttpFramer *self = POST_HTTP_FRAMER (framer);
  g_autoptr(GString) head = g_string_new (NULL);
  Open *open = message != NULL ? g_hash_table_lookup (self->open, message) : NULL;
  Open first = { FALSE, FALSE, 0 };
  gsize trailer_len = trailer->len;

  if (open == NULL)
    {
      if (!encode_head (self, message, length, end_of_message, head, &first, error))
        return FALSE;
      open = &first;
    }
  if (!encode_part (open, length, end_of_message, head, trailer, error))
    {
      g_byte_array_set_size (trailer, trailer_len);
      return FALSE;
    }
  if (open == &first && !end_of_message && message != NULL)
    g_hash_table_insert (self->open, g_object_ref (message), g_memdup2 (&first, sizeof first));
  else if (open != &first && end_of_message)
    g_hash_table_remove (self->open, message);
  g_byte_array_append (header, (const guint8 *) head->str, head->len);
  return TRUE;
}

/* A string of a received head as UTF-8 (obs-text is taken as ISO-8859-1) */
static GVariant *
text_variant (const char *text)
{
  g_autofree char *converted = NULL;

  if (g_utf8_validate (text, -1, NULL))
    return g_variant_new_string (text);
  converted = g_convert (text, -1, "UTF-8", "ISO-8859-1", NULL, NULL, NULL);
  return g_variant_new_string (converted != NULL ? converted : "");
}

static GVariant *
fields_variant (GPtrArray *fields)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(ss)"));
  for (guint i = 0; i + 1 < fields->len; i += 2)
    g_variant_builder_add (&builder, "(s@s)", (const char *) fields->pdata[i],
                           text_variant (fields->pdata[i + 1]));
  return g_variant_builder_end (&builder);
}

static GVariant *
head_metadata (const PostHttp1Head *head)
{
  GVariantBuilder builder;
  char version[] = "HTTP/1.x";

  version[7] = (char) ('0' + head->version_minor);
  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  if (head->request)
    {
      g_variant_builder_add (&builder, "{sv}", "http-method", g_variant_new_string (head->method));
      g_variant_builder_add (&builder, "{sv}", "http-target", g_variant_new_string (head->target));
    }
  else
    {
      g_variant_builder_add (&builder, "{sv}", "http-status", g_variant_new_uint32 (head->status));
      g_variant_builder_add (&builder, "{sv}", "http-reason", text_variant (head->reason));
    }
  g_variant_builder_add (&builder, "{sv}", "http-version", g_variant_new_string (version));
  g_variant_builder_add (&builder, "{sv}", "http-headers", fields_variant (head->fields));
  g_variant_builder_add (&builder, "{sv}", "http-keep-alive", g_variant_new_boolean (head->keep_alive));
  return g_variant_builder_end (&builder);
}

static void
clear_upgrade (PostHttpFramer *self)
{
  g_clear_pointer (&self->upgrade, g_free);
  g_clear_pointer (&self->ws_key, g_free);
  self->upgrade_ahead = 0;
}

/* A client's 101 Switching Protocols: the answer to the request that asked
 * for an upgrade, or a protocol error.  To websocket (its
 * Sec-WebSocket-Accept checked), the framer hands both directions over to
 * a PostWebSocketFramer after this message; to anything else, the parser
 * takes whatever follows for an error. */
static gboolean
take_switch (PostHttpFramer       *self,
             const PostHttp1Head  *head,
             GError              **error)
{
  const char *problem = NULL;

  if (self->upgrade == NULL || self->upgrade_ahead > 0)
    problem = "the request it answers asked for no upgrade";
  else if (self->ws_key != NULL)
    problem = _post_websocket_check_upgrade (head, self->ws_key);
  if (problem != NULL)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_PROTOCOL, "HTTP/1.1 101 Switching Protocols: %s", problem);
      return FALSE;
    }
  if (self->ws_key != NULL)
    {
      g_autoptr(PostFramer) websocket = g_object_new (POST_TYPE_WEBSOCKET_FRAMER,
                                                      "role", POST_WEBSOCKET_ROLE_CLIENT,
                                                      "open", TRUE, NULL);

      post_framer_replace (POST_FRAMER (self), websocket, POST_FRAMER_DIRECTION_BOTH);
    }
  if (self->outstanding > 0)
    self->outstanding--;
  clear_upgrade (self);
  return TRUE;
}

static gboolean
take_head (PostHttpFramer       *self,
           const PostHttp1Head  *head,
           PostFrameChunk       *chunk,
           GError              **error)
{
  if (head->request)
    {
      Pending *pending;

      if (g_queue_get_length (&self->answering) >= self->max_pipelined)
        {
          g_set_error (error, POST_ERROR, POST_ERROR_PROTOCOL,
                       "The client pipelined more than %u HTTP requests before reading the responses",
                       self->max_pipelined);
          return FALSE;
        }
      pending = g_new0 (Pending, 1);
      pending->method = g_strdup (head->method);
      pending->minor = head->version_minor;
      pending->keep_alive = head->keep_alive;
      g_queue_push_tail (&self->answering, pending);
      if (head->expect_continue && (head->chunked || head->content_length > 0))
        {
          static const char continue_line[] = "HTTP/1.1 100 Continue\r\n\r\n";
          g_autoptr(GBytes) bytes = g_bytes_new_static (continue_line, sizeof continue_line - 1);

          post_framer_send_raw (POST_FRAMER (self), bytes);
        }
    }
  else if (head->status == 101)
    {
      if (!take_switch (self, head, error))
        return FALSE;
    }
  else if (!head->interim && self->outstanding > 0)
    {
      self->outstanding--;
      if (self->upgrade != NULL && self->upgrade_ahead > 0)
        self->upgrade_ahead--;
      else if (self->upgrade != NULL)
        clear_upgrade (self);   /* the server did not switch: HTTP/1.1 goes on */
    }
  chunk->message_start = TRUE;
  chunk->message_length = head->chunked || head->until_close ? -1 : head->content_length;
  chunk->metadata = g_variant_ref_sink (head_metadata (head));
  return TRUE;
}

/* HTTP/1.1 clients speak first: the end that opened the transport is the
 * client, whatever comes first (a receive may decode before the first
 * request is framed). */
static void
post_http_framer_start (PostFramer *framer,
                        gboolean    initiator)
{
  settle_role (POST_HTTP_FRAMER (framer), initiator ? POST_HTTP_ROLE_CLIENT : POST_HTTP_ROLE_SERVER);
}

static gboolean
post_http_framer_decode (PostFramer      *framer,
                         const guint8    *data,
                         gsize            size,
                         gboolean         end_of_stream,
                         PostFrameChunk  *chunk,
                         GError         **error)
{
  PostHttpFramer *self = POST_HTTP_FRAMER (framer);
  PostHttp1Step step;

  settle_role (self, POST_HTTP_ROLE_SERVER);
  if (!_post_http1_parser_feed (self->parser, data, size, end_of_stream, &step, error))
    return FALSE;
  chunk->consumed = step.consumed;
  chunk->payload_offset = step.body_offset;
  chunk->payload_length = step.body_length;
  if (step.head && !take_head (self, _post_http1_parser_get_head (self->parser), chunk, error))
    return FALSE;
  if (step.end)
    {
      const PostHttp1Head *head = _post_http1_parser_get_head (self->parser);

      chunk->message_end = TRUE;
      if (head != NULL && head->trailers->len > 0 && chunk->metadata == NULL)
        {
          GVariantBuilder builder;

          g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
          g_variant_builder_add (&builder, "{sv}", "http-trailers", fields_variant (head->trailers));
          chunk->metadata = g_variant_ref_sink (g_variant_builder_end (&builder));
        }
    }
  return TRUE;
}

static void
post_http_framer_reset (PostFramer *framer)
{
  PostHttpFramer *self = POST_HTTP_FRAMER (framer);

  if (self->parser != NULL)
    _post_http1_parser_reset (self->parser);
  g_queue_clear_full (&self->answering, (GDestroyNotify) pending_free);
  g_hash_table_remove_all (self->open);
  self->outstanding = 0;
  clear_upgrade (self);
}

static void
post_http_framer_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  PostHttpFramer *self = POST_HTTP_FRAMER (object);

  switch (prop_id)
    {
    case PROP_ROLE:
      g_value_set_enum (value, self->role);
      break;
    case PROP_MAX_PIPELINED:
      g_value_set_uint (value, self->max_pipelined);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
post_http_framer_set_property (GObject      *object,
                               guint         prop_id,
                               const GValue *value,
                               GParamSpec   *pspec)
{
  PostHttpFramer *self = POST_HTTP_FRAMER (object);

  switch (prop_id)
    {
    case PROP_ROLE:
      self->role = g_value_get_enum (value);
      break;
    case PROP_MAX_PIPELINED:
      post_http_framer_set_max_pipelined (self, g_value_get_uint (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
post_http_framer_finalize (GObject *object)
{
  PostHttpFramer *self = POST_HTTP_FRAMER (object);

  g_clear_pointer (&self->parser, _post_http1_parser_free);
  g_queue_clear_full (&self->answering, (GDestroyNotify) pending_free);
  clear_upgrade (self);
  g_hash_table_unref (self->open);
  G_OBJECT_CLASS (post_http_framer_parent_class)->finalize (object);
}

static void
post_http_framer_class_init (PostHttpFramerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  PostFramerClass *framer_class = POST_FRAMER_CLASS (klass);

  object_class->get_property = post_http_framer_get_property;
  object_class->set_property = post_http_framer_set_property;
  object_class->finalize = post_http_framer_finalize;
  framer_class->encode = post_http_framer_encode;
  framer_class->decode = post_http_framer_decode;
  framer_class->reset = post_http_framer_reset;
  framer_class->start = post_http_framer_start;

  /**
   * PostHttpFramer:role: (getter get_role)
   *
   * Which side of HTTP/1.1 the framer speaks; %POST_HTTP_ROLE_AUTO
   * decides at the first message.
   */
  properties[PROP_ROLE] =
    g_param_spec_enum ("role", NULL, NULL, POST_TYPE_HTTP_ROLE, POST_HTTP_ROLE_AUTO,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * PostHttpFramer:max-pipelined: (getter get_max_pipelined) (setter set_max_pipelined)
   *
   * How many requests may wait for their responses at once (at least 1).
   */
  properties[PROP_MAX_PIPELINED] =
    g_param_spec_uint ("max-pipelined", NULL, NULL, 1, G_MAXUINT, POST_HTTP_FRAMER_DEFAULT_MAX_PIPELINED,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
post_http_framer_init (PostHttpFramer *self)
{
  self->max_pipelined = POST_HTTP_FRAMER_DEFAULT_MAX_PIPELINED;
  g_queue_init (&self->answering);
  self->open = g_hash_table_new_full (g_direct_hash, g_direct_equal, g_object_unref, g_free);
}

/**
 * post_http_framer_new:
 * @role: the side it speaks, or %POST_HTTP_ROLE_AUTO
 *
 * Creates an HTTP/1.1 framer.  A carrier creates its own from the
 * configuration's framer type (with %POST_HTTP_ROLE_AUTO); this is for
 * using one directly.
 *
 * Returns: (transfer full): a new HTTP framer
 */
PostFramer *
post_http_framer_new (PostHttpRole role)
{
  return g_object_new (POST_TYPE_HTTP_FRAMER, "role", role, NULL);
}

/**
 * post_http_framer_get_role:
 * @self: a #PostHttpFramer
 *
 * Gets the side of HTTP/1.1 the framer speaks.
 *
 * Returns: the side the framer speaks (still %POST_HTTP_ROLE_AUTO before
 *   its first message when it was created so)
 */
PostHttpRole
post_http_framer_get_role (PostHttpFramer *self)
{
  g_return_val_if_fail (POST_IS_HTTP_FRAMER (self), POST_HTTP_ROLE_AUTO);
  return self->role;
}

/**
 * post_http_framer_get_max_pipelined:
 * @self: a #PostHttpFramer
 *
 * Gets how many requests may wait for their responses at once.
 *
 * Returns: how many requests may wait for their responses
 */
guint
post_http_framer_get_max_pipelined (PostHttpFramer *self)
{
  g_return_val_if_fail (POST_IS_HTTP_FRAMER (self), 0);
  return self->max_pipelined;
}

/**
 * post_http_framer_set_max_pipelined:
 * @self: a #PostHttpFramer
 * @max_pipelined: at least 1
 *
 * Sets how many requests may wait for their responses.
 */
void
post_http_framer_set_max_pipelined (PostHttpFramer *self,
                                    guint           max_pipelined)
{
  g_return_if_fail (POST_IS_HTTP_FRAMER (self));
  g_return_if_fail (max_pipelined >= 1);

  if (self->max_pipelined == max_pipelined)
    return;
  self->max_pipelined = max_pipelined;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_PIPELINED]);
}
