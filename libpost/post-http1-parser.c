/* post-http1-parser.c: an incremental HTTP/1.1 message parser (RFC 9112)
 *
 * What it accepts, section by section of RFC 9112:
 *
 * - 2.2: a line ends with CRLF; in a head a bare LF is accepted as a line
 *   end (the MAY of 2.2), a bare CR anywhere is an error.  Chunked framing
 *   (7.1) takes CRLF only: leniency there is what request smuggling feeds
 *   on.  Up to 8 empty lines before a start line are skipped (2.2).
 * - 3, 4: `method SP request-target SP HTTP-version` and
 *   `HTTP-version SP 3DIGIT [SP reason-phrase]`, single spaces; only
 *   HTTP/1.x; status 100–599.
 * - 5: `field-name ":" OWS field-value OWS`; the name a token, nothing
 *   between it and the colon (5.1); obs-fold (a line starting with
 *   whitespace) and whitespace between the start line and the first field
 *   (2.2) are errors; values hold no control character but HTAB.
 * - 6.1–6.3: Transfer-Encoding and Content-Length together are an error
 *   (smuggling), as is Transfer-Encoding in HTTP/1.0, a request's
 *   Transfer-Encoding not ending with chunked, chunked applied twice, and
 *   Content-Length values that differ or do not parse.  A response's body
 *   ends at the stream's end when no length frames it; responses to HEAD,
 *   1xx, 204 and 304 have none.
 * - 7.1: chunk sizes are hexadecimal without overflow, chunk extensions
 *   are skipped, the trailer section is parsed as header fields.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "post-http1-parser-private.h"

#include <string.h>

#define MAX_LEADING_EMPTY_LINES 8

typedef enum {
  ST_START,        /* before or in a start line */
  ST_FIELDS,       /* field lines of the head */
  ST_BODY,         /* a body of known length */
  ST_CHUNK_SIZE,   /* a chunk-size line */
  ST_CHUNK_DATA,   /* the data of a chunk */
  ST_CHUNK_END,    /* the CRLF after a chunk's data */
  ST_TRAILERS,     /* the trailer section */
  ST_UNTIL_CLOSE,  /* a body ended by the stream's end */
  ST_CLOSED,       /* after the connection's last message */
  ST_SWITCHED,     /* after 101 Switching Protocols */
  ST_FAILED,
} State;

struct _PostHttp1Parser
{
  gboolean      requests;
  gsize         max_head;
  guint         max_fields;
  State         state;
  GByteArray   *line;          /* the line being gathered */
  gsize         section_bytes; /* of the head or trailer section so far */
  guint         empty_lines;   /* skipped before the start line */
  guint64       remaining;     /* of the body or the chunk */
  guint         crlf_seen;     /* of the CRLF after a chunk's data */
  gboolean      have_head;
  PostHttp1Head head;
  GQueue        methods;       /* (owned) methods of the requests answered next */
};

static gboolean
is_tchar (guint8 c)
{
  return g_ascii_isalnum (c) || (c != '\0' && strchr ("!#$%&'*+-.^_`|~", c) != NULL);
}

gboolean
_post_http1_is_token (const char *text,
                      gssize      length)
{
  gsize n = length < 0 ? strlen (text) : (gsize) length;

  if (n == 0)
    return FALSE;
  for (gsize i = 0; i < n; i++)
    if (!is_tchar ((guint8) text[i]))
      return FALSE;
  return TRUE;
}

static gboolean
is_ows (guint8 c)
{
  return c == ' ' || c == '\t';
}

static void
clear_head (PostHttp1Head *head)
{
  g_clear_pointer (&head->method, g_free);
  g_clear_pointer (&head->target, g_free);
  g_clear_pointer (&head->reason, g_free);
  g_ptr_array_set_size (head->fields, 0);
  g_ptr_array_set_size (head->trailers, 0);
  head->status = 0;
  head->version_minor = 0;
  head->content_length = -1;
  head->chunked = head->until_close = head->keep_alive = FALSE;
  head->expect_continue = head->interim = FALSE;
}

PostHttp1Parser *
_post_http1_parser_new (gboolean requests)
{
  PostHttp1Parser *self = g_new0 (PostHttp1Parser, 1);

  self->requests = requests;
  self->max_head = POST_HTTP1_DEFAULT_MAX_HEAD;
  self->max_fields = POST_HTTP1_DEFAULT_MAX_FIELDS;
  self->line = g_byte_array_new ();
  self->head.fields = g_ptr_array_new_with_free_func (g_free);
  self->head.trailers = g_ptr_array_new_with_free_func (g_free);
  self->head.content_length = -1;
  g_queue_init (&self->methods);
  return self;
}

void
_post_http1_parser_free (PostHttp1Parser *self)
{
  if (self == NULL)
    return;
  clear_head (&self->head);
  g_ptr_array_unref (self->head.fields);
  g_ptr_array_unref (self->head.trailers);
  g_byte_array_unref (self->line);
  g_queue_clear_full (&self->methods, g_free);
  g_free (self);
}

/* Limits on each header (and trailer) section: its bytes, its fields. */
void
_post_http1_parser_set_limits (PostHttp1Parser *self,
                               gsize            max_head,
                               guint            max_fields)
{
  self->max_head = MAX (max_head, 64);
  self->max_fields = max_fields;
}

/* A response parser must know what each response answers (a response to
 * HEAD has no body): push each request's method as it is sent.  With none
 * pushed, a response is taken as answering a request other than HEAD. */
void
_post_http1_parser_push_request (PostHttp1Parser *self,
                                 const char      *method)
{
  g_queue_push_tail (&self->methods, g_strdup (method));
}

/* The head of the current (or last) message, NULL before the first. */
const PostHttp1Head *
_post_http1_parser_get_head (PostHttp1Parser *self)
{
  return self->have_head ? &self->head : NULL;
}

gboolean
_post_http1_parser_in_message (PostHttp1Parser *self)
{
  switch (self->state)
    {
    case ST_START:
      return self->line->len > 0;
    case ST_CLOSED:
    case ST_SWITCHED:
    case ST_FAILED:
      return FALSE;
    default:
      return TRUE;
    }
}

void
_post_http1_parser_reset (PostHttp1Parser *self)
{
  self->state = ST_START;
  g_byte_array_set_size (self->line, 0);
  self->section_bytes = 0;
  self->empty_lines = 0;
  self->remaining = 0;
  self->crlf_seen = 0;
  self->have_head = FALSE;
  clear_head (&self->head);
  g_queue_clear_full (&self->methods, g_free);
}

/* The first value of the field @name (case-insensitive), or NULL */
const char *
_post_http1_head_get_field (const PostHttp1Head *head,
                            const char          *name)
{
  for (guint i = 0; i + 1 < head->fields->len; i += 2)
    if (g_ascii_strcasecmp (head->fields->pdata[i], name) == 0)
      return head->fields->pdata[i + 1];
  return NULL;
}

static gboolean
fail (PostHttp1Parser  *self,
      GError          **error,
      gint              code,
      const char       *format,
      ...) G_GNUC_PRINTF (4, 5);

static gboolean
fail (PostHttp1Parser  *self,
      GError          **error,
      gint              code,
      const char       *format,
      ...)
{
  va_list args;

  self->state = ST_FAILED;
  va_start (args, format);
  g_propagate_error (error, g_error_new_valist (POST_ERROR, code, format, args));
  va_end (args);
  return FALSE;
}

/* Gathers input up to a LF into self->line (the LF stripped, a CR before
 * it kept).  Returns 1 when a line is complete, 0 when all of @data was
 * taken and the line goes on, -1 when the line would exceed @room. */
static int
gather_line (PostHttp1Parser *self,
             const guint8    *data,
             gsize            size,
             gsize            room,
             gsize           *taken)
{
  const guint8 *nl = memchr (data, '\n', size);
  gsize n = nl != NULL ? (gsize) (nl - data) + 1 : size;

  if (n > room || self->line->len > room - n)
    return -1;
  g_byte_array_append (self->line, data, n);
  *taken = n;
  if (nl == NULL)
    return 0;
  g_byte_array_set_size (self->line, self->line->len - 1);
  return 1;
}

static gboolean
parse_version (const guint8 *p,
               guint        *minor)
{
  if (memcmp (p, "HTTP/", 5) != 0 || !g_ascii_isdigit (p[5]) || p[6] != '.' || !g_ascii_isdigit (p[7]))
    return FALSE;
  *minor = p[7] - '0';
  return TRUE;
}

static gboolean
check_version (PostHttp1Parser  *self,
               const guint8     *p,
               gsize             length,
               GError          **error)
{
  if (length != 8 || !parse_version (p, &self->head.version_minor))
    return fail (self, error, POST_ERROR_PROTOCOL, "%s",
                 self->requests ? "The request line does not end with an HTTP version (HTTP/1.1)"
                                : "The status line does not start with an HTTP version (HTTP/1.1)");
  if (p[5] != '1')
    return fail (self, error, POST_ERROR_PROTOCOL,
                 "HTTP/%c.%c is not HTTP/1.x", p[5], p[7]);
  return TRUE;
}

static gboolean
parse_start_line (PostHttp1Parser  *self,
                  const guint8     *line,
                  gsize             length,
                  GError          **error)
{
  PostHttp1Head *head = &self->head;

  clear_head (head);
  self->have_head = TRUE;
  head->request = self->requests;
  if (self->requests)
    {
      const guint8 *sp1 = memchr (line, ' ', length);
      const guint8 *sp2 = sp1 != NULL ? memchr (sp1 + 1, ' ', length - (sp1 + 1 - line)) : NULL;

      if (sp2 == NULL)
        return fail (self, error, POST_ERROR_PROTOCOL,
                     "The request line is not “method SP target SP version”");
      if (!_post_http1_is_token ((const char *) line, sp1 - line))
        return fail (self, error, POST_ERROR_PROTOCOL,
                     "The request method is not a token");
      if (sp2 == sp1 + 1)
        return fail (self, error, POST_ERROR_PROTOCOL, "The request target is empty");
      for (const guint8 *p = sp1 + 1; p < sp2; p++)
        if (*p < 0x21 || *p > 0x7e)
          return fail (self, error, POST_ERROR_PROTOCOL,
                       "An invalid character 0x%02x in the request target", *p);
      if (!check_version (self, sp2 + 1, length - (sp2 + 1 - line), error))
        return FALSE;
      head->method = g_strndup ((const char *) line, sp1 - line);
      head->target = g_strndup ((const char *) sp1 + 1, sp2 - sp1 - 1);
    }
  else
    {
      if (length < 12 || line[8] != ' ')
        {
          if (length >= 8 && !check_version (self, line, 8, error))
            return FALSE;
          return fail (self, error, POST_ERROR_PROTOCOL,
                       "The status line is not “version SP status [SP reason]”");
        }
      if (!check_version (self, line, 8, error))
        return FALSE;
      if (!g_ascii_isdigit (line[9]) || !g_ascii_isdigit (line[10]) || !g_ascii_isdigit (line[11])
          || (length > 12 && line[12] != ' '))
        return fail (self, error, POST_ERROR_PROTOCOL, "The status code is not three digits");
      head->status = (line[9] - '0') * 100 + (line[10] - '0') * 10 + (line[11] - '0');
      if (head->status < 100 || head->status > 599)
        return fail (self, error, POST_ERROR_PROTOCOL,
                     "The status code %u is not in 100–599", head->status);
      for (gsize i = 13; i < length; i++)
        if (line[i] != '\t' && (line[i] < 0x20 || line[i] == 0x7f))
          return fail (self, error, POST_ERROR_PROTOCOL,
                       "An invalid character 0x%02x in the reason phrase", line[i]);
      head->reason = length > 13 ? g_strndup ((const char *) line + 13, length - 13) : g_strdup ("");
    }
  return TRUE;
}

static gboolean
parse_field_line (PostHttp1Parser  *self,
                  const guint8     *line,
                  gsize             length,
                  GPtrArray        *fields,
                  GError          **error)
{
  const char *what = fields == self->head.fields ? "header" : "trailer";
  const guint8 *colon, *value, *end;

  if (is_ows (line[0]))
    return fail (self, error, POST_ERROR_PROTOCOL,
                 fields->len == 0 && fields == self->head.fields
                 ? "Whitespace between the start line and the first header field"
                 : "A %s field line folded onto the next (obs-fold)", what);
  if (fields->len / 2 >= self->max_fields)
    return fail (self, error, POST_ERROR_PROTOCOL,
                 "More than %u %s fields", self->max_fields, what);
  colon = memchr (line, ':', length);
  if (colon == NULL)
    return fail (self, error, POST_ERROR_PROTOCOL, "A %s field line without a colon", what);
  if (colon == line)
    return fail (self, error, POST_ERROR_PROTOCOL, "A %s field line without a name", what);
  for (const guint8 *p = line; p < colon; p++)
    if (!is_tchar (*p))
      {
        if (is_ows (*p) && p + 1 == colon)
          return fail (self, error, POST_ERROR_PROTOCOL,
                       "Whitespace between a field name and its colon");
        return fail (self, error, POST_ERROR_PROTOCOL,
                     "An invalid character 0x%02x in a %s field name", *p, what);
      }
  value = colon + 1;
  end = line + length;
  while (value < end && is_ows (*value))
    value++;
  while (end > value && is_ows (end[-1]))
    end--;
  for (const guint8 *p = value; p < end; p++)
    if (*p != '\t' && (*p < 0x20 || *p == 0x7f))
      return fail (self, error, POST_ERROR_PROTOCOL,
                   "An invalid character 0x%02x in the value of the %s field %.*s",
                   *p, what, (int) (colon - line), (const char *) line);
  g_ptr_array_add (fields, g_strndup ((const char *) line, colon - line));
  g_ptr_array_add (fields, g_strndup ((const char *) value, end - value));
  return TRUE;
}

/* Calls @func on each element of the comma-separated lists of every field
 * @name, trimmed; empty elements are skipped (RFC 9110 5.6.1). */
typedef gboolean (*ListFunc) (const char *element, gsize length, gpointer data);

static gboolean
foreach_element (const PostHttp1Head *head,
                 const char          *name,
                 ListFunc             func,
                 gpointer             data)
{
  for (guint i = 0; i + 1 < head->fields->len; i += 2)
    {
      const char *p;

      if (g_ascii_strcasecmp (head->fields->pdata[i], name) != 0)
        continue;
      p = head->fields->pdata[i + 1];
      while (*p != '\0')
        {
          const char *comma = strchr (p, ',');
          const char *end = comma != NULL ? comma : p + strlen (p);
          const char *q = p;

          while (q < end && is_ows (*q))
            q++;
          while (end > q && is_ows (end[-1]))
            end--;
          if (end > q && !func (q, end - q, data))
            return FALSE;
          p = comma != NULL ? comma + 1 : end + strlen (end);
        }
    }
  return TRUE;
}

typedef struct {
  gint64   value;     /* -1 before the first */
  gboolean invalid;
  gboolean differ;
  guint    fields;
} LengthScan;

static gboolean
scan_length (const char *element,
             gsize       length,
             gpointer    data)
{
  LengthScan *scan = data;
  guint64 value = 0;

  for (gsize i = 0; i < length; i++)
    {
      if (!g_ascii_isdigit (element[i]) || value > (G_MAXINT64 - 9) / 10)
        {
          scan->invalid = TRUE;
          return FALSE;
        }
      value = value * 10 + (element[i] - '0');
    }
  if (scan->value >= 0 && (guint64) scan->value != value)
    {
      scan->differ = TRUE;
      return FALSE;
    }
  scan->value = (gint64) value;
  return TRUE;
}

typedef struct {
  guint    codings;
  guint    chunked;
  gboolean last_chunked;
  gboolean invalid;
  char    *last;      /* (owned) */
} CodingScan;

static gboolean
scan_coding (const char *element,
             gsize       length,
             gpointer    data)
{
  CodingScan *scan = data;
  const char *semi = memchr (element, ';', length);
  gsize n = semi != NULL ? (gsize) (semi - element) : length;

  while (n > 0 && is_ows (element[n - 1]))
    n--;
  if (!_post_http1_is_token (element, n))
    {
      scan->invalid = TRUE;
      return FALSE;
    }
  scan->codings++;
  scan->last_chunked = n == 7 && g_ascii_strncasecmp (element, "chunked", 7) == 0;
  scan->chunked += scan->last_chunked;
  g_free (scan->last);
  scan->last = g_strndup (element, n);
  return TRUE;
}

static gboolean
scan_connection (const char *element,
                 gsize       length,
                 gpointer    data)
{
  guint *flags = data;

  if (length == 5 && g_ascii_strncasecmp (element, "close", 5) == 0)
    *flags |= 1;
  if (length == 10 && g_ascii_strncasecmp (element, "keep-alive", 10) == 0)
    *flags |= 2;
  return TRUE;
}

static gboolean
has_field (const PostHttp1Head *head,
           const char          *name)
{
  return _post_http1_head_get_field (head, name) != NULL;
}

/* The head is complete: how its body is framed (RFC 9112 6.3) */
static gboolean
decide_framing (PostHttp1Parser  *self,
                GError          **error)
{
  PostHttp1Head *head = &self->head;
  LengthScan length = { -1, FALSE, FALSE, 0 };
  CodingScan coding = { 0, 0, FALSE, FALSE, NULL };
  gboolean has_te = has_field (head, "Transfer-Encoding");
  gboolean has_cl = has_field (head, "Content-Length");
  gboolean no_body = FALSE;
  guint connection = 0;
  const char *expect;
  g_autofree char *method = NULL;
  g_autofree char *last = NULL;

  foreach_element (head, "Content-Length", scan_length, &length);
  foreach_element (head, "Transfer-Encoding", scan_coding, &coding);
  last = coding.last;
  if (length.invalid || (has_cl && length.value < 0))
    return fail (self, error, POST_ERROR_PROTOCOL, "An invalid Content-Length");
  if (length.differ)
    return fail (self, error, POST_ERROR_PROTOCOL, "Content-Length values that differ");
  if (has_te && has_cl)
    return fail (self, error, POST_ERROR_PROTOCOL,
                 "Both Transfer-Encoding and Content-Length (a request smuggling attempt)");
  if (has_te && (coding.invalid || coding.codings == 0))
    return fail (self, error, POST_ERROR_PROTOCOL, "An invalid Transfer-Encoding");
  if (has_te && head->version_minor == 0)
    return fail (self, error, POST_ERROR_PROTOCOL, "Transfer-Encoding in an HTTP/1.0 message");
  if (coding.chunked > 1 || (coding.chunked == 1 && !coding.last_chunked && self->requests))
    return fail (self, error, POST_ERROR_PROTOCOL,
                 "A Transfer-Encoding that applies chunked twice or before another coding");

  foreach_element (head, "Connection", scan_connection, &connection);
  head->keep_alive = !(connection & 1) && (head->version_minor > 0 || (connection & 2));

  if (self->requests)
    {
      if (has_te && !coding.last_chunked)
        return fail (self, error, POST_ERROR_PROTOCOL,
                     "A request whose Transfer-Encoding does not end with chunked (%s)", last);
      head->chunked = has_te;
      head->content_length = has_te ? -1 : MAX (length.value, 0);
      expect = _post_http1_head_get_field (head, "Expect");
      head->expect_continue = head->version_minor > 0 && expect != NULL
                              && g_ascii_strcasecmp (expect, "100-continue") == 0;
    }
  else
    {
      if (head->status >= 200 || head->status == 101)
        method = g_queue_pop_head (&self->methods);
      head->interim = head->status < 200;
      no_body = head->status < 200 || head->status == 204 || head->status == 304
                || g_strcmp0 (method, "HEAD") == 0;
      if (no_body)
        head->content_length = 0;
      else if (has_te && coding.last_chunked)
        head->chunked = TRUE;
      else if (has_cl)
        head->content_length = length.value;
      else
        head->until_close = TRUE;
      if (head->until_close)
        head->keep_alive = FALSE;
      if (head->interim)
        head->keep_alive = TRUE;
    }
  return TRUE;
}

static void
finish_message (PostHttp1Parser *self,
                PostHttp1Step   *step)
{
  step->end = TRUE;
  self->section_bytes = 0;
  self->empty_lines = 0;
  if (!self->requests && self->head.status == 101)
    self->state = ST_SWITCHED;
  else
    self->state = self->head.keep_alive ? ST_START : ST_CLOSED;
}

static void
begin_body (PostHttp1Parser *self,
            PostHttp1Step   *step)
{
  step->head = TRUE;
  self->section_bytes = 0;
  if (self->head.chunked)
    self->state = ST_CHUNK_SIZE;
  else if (self->head.until_close)
    self->state = ST_UNTIL_CLOSE;
  else if (self->head.content_length > 0)
    {
      self->state = ST_BODY;
      self->remaining = (guint64) self->head.content_length;
    }
  else
    finish_message (self, step);
}

/* A complete line of a head or trailer section in self->line */
static gboolean
take_section_line (PostHttp1Parser  *self,
                   PostHttp1Step    *step,
                   GError          **error)
{
  guint8 *line = self->line->data;
  gsize length = self->line->len;

  if (length > 0 && line[length - 1] == '\r')
    length--;
  if (memchr (line, '\r', length) != NULL)
    return fail (self, error, POST_ERROR_PROTOCOL, "A bare CR in a message head");

  switch (self->state)
    {
    case ST_START:
      if (length == 0)
        {
          if (++self->empty_lines > MAX_LEADING_EMPTY_LINES)
            return fail (self, error, POST_ERROR_PROTOCOL,
                         "More than %d empty lines before a start line", MAX_LEADING_EMPTY_LINES);
          return TRUE;
        }
      if (!parse_start_line (self, line, length, error))
        return FALSE;
      self->state = ST_FIELDS;
      return TRUE;
    case ST_FIELDS:
      if (length > 0)
        return parse_field_line (self, line, length, self->head.fields, error);
      if (!decide_framing (self, error))
        return FALSE;
      begin_body (self, step);
      return TRUE;
    case ST_TRAILERS:
      if (length > 0)
        return parse_field_line (self, line, length, self->head.trailers, error);
      finish_message (self, step);
      return TRUE;
    default:
      g_assert_not_reached ();
    }
}

/* Head and trailer sections: lines until the section ends or input does */
static gboolean
feed_section (PostHttp1Parser  *self,
              const guint8     *data,
              gsize             size,
              gboolean          end_of_stream,
              PostHttp1Step    *step,
              GError          **error)
{
  while (step->consumed < size)
    {
      gsize taken = 0;
      int got = gather_line (self, data + step->consumed, size - step->consumed,
                             self->max_head - self->section_bytes, &taken);

      if (got < 0)
        return fail (self, error, POST_ERROR_PROTOCOL,
                     "The %s section is larger than %" G_GSIZE_FORMAT " bytes",
                     self->state == ST_TRAILERS ? "trailer" : "header", self->max_head);
      step->consumed += taken;
      if (got == 0)
        break;
      self->section_bytes += self->line->len + 1;
      if (!take_section_line (self, step, error))
        return FALSE;
      g_byte_array_set_size (self->line, 0);
      if (step->head || step->end)
        return TRUE;
    }
  if (end_of_stream && step->consumed == size && !step->head && !step->end
      && _post_http1_parser_in_message (self))
    return fail (self, error, POST_ERROR_TRUNCATED,
                 "The stream ended in the middle of a message %s (%" G_GSIZE_FORMAT " bytes of it)",
                 self->state == ST_TRAILERS ? "trailer section" : "head",
                 self->section_bytes + self->line->len);
  return TRUE;
}

static gboolean
parse_chunk_size (PostHttp1Parser  *self,
                  GError          **error)
{
  const guint8 *line = self->line->data;
  gsize length = self->line->len;
  guint64 size = 0;
  gsize i = 0;

  if (length == 0 || line[length - 1] != '\r')
    return fail (self, error, POST_ERROR_PROTOCOL, "A chunk-size line not ended by CRLF");
  length--;
  for (; i < length && g_ascii_isxdigit (line[i]); i++)
    {
      if (size > (G_MAXUINT64 >> 4) || ((size << 4) | g_ascii_xdigit_value (line[i])) > G_MAXINT64)
        return fail (self, error, POST_ERROR_PROTOCOL, "A chunk size that overflows");
      size = (size << 4) | g_ascii_xdigit_value (line[i]);
    }
  if (i == 0)
    return fail (self, error, POST_ERROR_PROTOCOL, "A chunk-size line without a hexadecimal size");
  while (i < length && is_ows (line[i]))
    i++;
  if (i < length && line[i] != ';')
    return fail (self, error, POST_ERROR_PROTOCOL,
                 "An invalid character 0x%02x after a chunk size", line[i]);
  for (; i < length; i++)
    if (line[i] != '\t' && (line[i] < 0x20 || line[i] == 0x7f))
      return fail (self, error, POST_ERROR_PROTOCOL,
                   "An invalid character 0x%02x in a chunk extension", line[i]);
  self->remaining = size;
  self->section_bytes = 0;
  self->state = size > 0 ? ST_CHUNK_DATA : ST_TRAILERS;
  return TRUE;
}

static gboolean
truncated (PostHttp1Parser  *self,
           GError          **error)
{
  return fail (self, error, POST_ERROR_TRUNCATED,
               "The stream ended in the middle of a message body");
}

/* Body bytes of a body of known length, or of a chunk */
static void
take_body (PostHttp1Parser *self,
           gsize            size,
           PostHttp1Step   *step)
{
  gsize take = (gsize) MIN ((guint64) size, self->remaining);

  step->body_offset = 0;
  step->body_length = take;
  step->consumed = take;
  self->remaining -= take;
}

/**
 * _post_http1_parser_feed:
 * @data: the input the previous steps did not consume
 * @end_of_stream: the stream ends after @data
 *
 * Takes one step; see the header.  Returns FALSE with an error for input
 * that violates HTTP/1.1 (POST_ERROR_PROTOCOL) or a stream that ended
 * inside a message (POST_ERROR_TRUNCATED).
 */
gboolean
_post_http1_parser_feed (PostHttp1Parser  *self,
                         const guint8     *data,
                         gsize             size,
                         gboolean          end_of_stream,
                         PostHttp1Step    *step,
                         GError          **error)
{
  memset (step, 0, sizeof *step);
  switch (self->state)
    {
    case ST_START:
    case ST_FIELDS:
    case ST_TRAILERS:
      return feed_section (self, data, size, end_of_stream, step, error);

    case ST_BODY:
    case ST_CHUNK_DATA:
      if (size == 0)
        return end_of_stream ? truncated (self, error) : TRUE;
      take_body (self, size, step);
      if (self->remaining == 0)
        {
          if (self->state == ST_BODY)
            finish_message (self, step);
          else
            {
              self->state = ST_CHUNK_END;
              self->crlf_seen = 0;
            }
        }
      return TRUE;

    case ST_CHUNK_END:
      while (step->consumed < size && self->crlf_seen < 2)
        {
          if (data[step->consumed] != "\r\n"[self->crlf_seen])
            return fail (self, error, POST_ERROR_PROTOCOL,
                         "A chunk's data is not followed by CRLF");
          self->crlf_seen++;
          step->consumed++;
        }
      if (self->crlf_seen == 2)
        self->state = ST_CHUNK_SIZE;
      else if (end_of_stream && step->consumed == size)
        return truncated (self, error);
      return TRUE;

    case ST_CHUNK_SIZE:
      {
        gsize taken = 0;
        int got = size > 0 ? gather_line (self, data, size, POST_HTTP1_MAX_CHUNK_LINE, &taken) : 0;

        if (got < 0)
          return fail (self, error, POST_ERROR_PROTOCOL,
                       "A chunk-size line longer than %d bytes", POST_HTTP1_MAX_CHUNK_LINE);
        step->consumed = taken;
        if (got == 0)
          return end_of_stream && taken == size ? truncated (self, error) : TRUE;
        if (!parse_chunk_size (self, error))
          return FALSE;
        g_byte_array_set_size (self->line, 0);
        return TRUE;
      }

    case ST_UNTIL_CLOSE:
      if (size > 0)
        {
          step->body_length = size;
          step->consumed = size;
        }
      else if (end_of_stream)
        {
          step->end = TRUE;
          self->state = ST_CLOSED;
        }
      return TRUE;

    case ST_CLOSED:
    case ST_SWITCHED:
      if (size == 0)
        return TRUE;
      return fail (self, error, POST_ERROR_PROTOCOL, "%s",
                   self->state == ST_SWITCHED
                   ? "Data after 101 Switching Protocols, which is not HTTP/1.1 any more"
                   : "Data after the connection's last message (Connection: close)");

    case ST_FAILED:
    default:
      g_set_error_literal (error, POST_ERROR, POST_ERROR_PROTOCOL,
                           "The HTTP/1.1 input already failed to parse");
      return FALSE;
    }
}

gboolean
_post_http1_list_has_token (const char *list,
                            const char *token)
{
  g_auto(GStrv) items = NULL;

  if (list == NULL)
    return FALSE;
  items = g_strsplit (list, ",", -1);
  for (guint i = 0; items[i] != NULL; i++)
    if (g_ascii_strcasecmp (g_strstrip (items[i]), token) == 0)
      return TRUE;
  return FALSE;
}
