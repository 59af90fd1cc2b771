/* post-http1-parser-private.h: an incremental HTTP/1.1 message parser
 *
 * Parses a stream of HTTP/1.1 requests or responses (RFC 9112) fed in
 * chunks of any size: the message heads are gathered internally (bounded by
 * the header section limit), the bodies are reported where they lie in the
 * input, never copied nor held, so a body of any size can pass through.
 *
 * Each call of _post_http1_parser_feed() takes at most one step: it
 * consumes head bytes (completing a head or not), or reports body bytes, or
 * ends a message, and says how many input bytes it used; the caller feeds
 * the unconsumed rest again with the next input.  A step that consumes
 * nothing and reports nothing asks for more input.
 *
 * Errors are POST_ERROR_PROTOCOL (the input violates RFC 9112, a limit was
 * exceeded) or POST_ERROR_TRUNCATED (the stream ended inside a message);
 * after an error the parser refuses everything until reset.
 *
 * Nothing here is installed or exported.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "post-base-private.h"

G_BEGIN_DECLS

/* The default limits: the header section (start line, field lines and
 * their line ends, or a trailer section) and its number of fields. */
#define POST_HTTP1_DEFAULT_MAX_HEAD   (64 * 1024)
#define POST_HTTP1_DEFAULT_MAX_FIELDS 128
/* The longest chunk-size line (with its chunk extensions) */
#define POST_HTTP1_MAX_CHUNK_LINE     4096

typedef struct _PostHttp1Parser PostHttp1Parser;

/* A parsed message head.  Strings are NUL-terminated (the parser refuses
 * NUL in a head) but may hold obs-text (bytes 0x80–0xFF), not UTF-8. */
typedef struct {
  gboolean   request;
  char      *method;          /* requests */
  char      *target;          /* requests */
  guint      status;          /* responses: 100–599 */
  char      *reason;          /* responses, possibly "" */
  guint      version_minor;   /* HTTP/1.x */
  GPtrArray *fields;          /* name, value, name, value, … (owned), in order */
  GPtrArray *trailers;        /* the same, of a chunked body's trailer section */
  gint64     content_length;  /* the body's length, -1 if not known in advance */
  gboolean   chunked;         /* the body is chunked */
  gboolean   until_close;     /* the body ends when the stream ends */
  gboolean   keep_alive;      /* more messages may follow this one */
  gboolean   expect_continue; /* a request with "Expect: 100-continue" */
  gboolean   interim;         /* a 1xx response: the final one follows */
} PostHttp1Head;

typedef struct {
  gsize    consumed;     /* input bytes used up */
  gsize    body_offset;  /* body bytes found at data + body_offset … */
  gsize    body_length;  /* … body_length of them, within the consumed bytes */
  gboolean head;         /* a head was completed: _post_http1_parser_get_head() */
  gboolean end;          /* the message ended */
} PostHttp1Step;

PostHttp1Parser     *_post_http1_parser_new          (gboolean          requests);
void                 _post_http1_parser_free         (PostHttp1Parser  *self);
void                 _post_http1_parser_set_limits   (PostHttp1Parser  *self,
                                                      gsize             max_head,
                                                      guint             max_fields);
void                 _post_http1_parser_push_request (PostHttp1Parser  *self,
                                                      const char       *method);
gboolean             _post_http1_parser_feed         (PostHttp1Parser  *self,
                                                      const guint8     *data,
                                                      gsize             size,
                                                      gboolean          end_of_stream,
                                                      PostHttp1Step    *step,
                                                      GError          **error);
const PostHttp1Head *_post_http1_parser_get_head     (PostHttp1Parser  *self);
gboolean             _post_http1_parser_in_message   (PostHttp1Parser  *self);
void                 _post_http1_parser_reset        (PostHttp1Parser  *self);

const char          *_post_http1_head_get_field      (const PostHttp1Head *head,
                                                      const char          *name);
/* Whether the comma-separated @list (a field value, nullable) holds
 * @token, ASCII case-insensitive. */
gboolean             _post_http1_list_has_token      (const char          *list,
                                                      const char          *token);
/* What is wrong with a server's 101 @head to a WebSocket opening handshake
 * with @key (Upgrade, Connection, Sec-WebSocket-Accept), or NULL
 * (post-websocket-framer.c). */
const char          *_post_websocket_check_upgrade   (const PostHttp1Head *head,
                                                      const char          *key);
gboolean             _post_http1_is_token            (const char          *text,
                                                      gssize               length);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (PostHttp1Parser, _post_http1_parser_free)

G_END_DECLS
