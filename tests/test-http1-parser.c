/* test-http1-parser.c: the incremental HTTP/1.1 parser (a private unit,
 * libpost/post-http1-parser.c, compiled into this test), rule by rule of
 * RFC 9112.  Every input is fed whole, byte by byte and in chunks of 2, 3,
 * 7 and 64 bytes, driven as a framer drives it (unconsumed bytes fed again
 * with the next chunk), and must give the same transcript or error.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "../libpost/post-http1-parser-private.h"

#include <string.h>

static const gsize chunkings[] = { 0, 1, 2, 3, 7, 64 };

typedef struct {
  gsize max_head;        /* 0: the default */
  guint max_fields;
  const char *methods[4]; /* the requests a response parser answers */
} Options;

/* A transcript: each head as <…>, body bytes as they are, each end as
 * [end …trailers].  Body bytes must lie within the consumed input. */
static void
describe_head (GString             *out,
               const PostHttp1Head *head)
{
  if (head->request)
    g_string_append_printf (out, "<%s %s 1.%u", head->method, head->target, head->version_minor);
  else
    g_string_append_printf (out, "<1.%u %u '%s'", head->version_minor, head->status, head->reason);
  g_string_append_printf (out, " cl=%" G_GINT64_FORMAT "%s%s%s%s%s", head->content_length,
                          head->chunked ? " chunked" : "", head->until_close ? " until-close" : "",
                          head->keep_alive ? " keep-alive" : "", head->expect_continue ? " expect" : "",
                          head->interim ? " interim" : "");
  for (guint i = 0; i < head->fields->len; i += 2)
    g_string_append_printf (out, "|%s=%s", (char *) head->fields->pdata[i],
                            (char *) head->fields->pdata[i + 1]);
  g_string_append (out, ">");
}

static char *
run (gboolean       requests,
     const Options *options,
     const char    *input,
     gsize          length,
     gsize          chunk,
     GError       **error)
{
  g_autoptr(PostHttp1Parser) parser = _post_http1_parser_new (requests);
  g_autoptr(GByteArray) pending = g_byte_array_new ();
  g_autoptr(GString) out = g_string_new (NULL);
  gsize offset = 0;
  gboolean eof = FALSE;

  if (options != NULL)
    {
      if (options->max_head > 0)
        _post_http1_parser_set_limits (parser, options->max_head, options->max_fields);
      for (guint i = 0; i < G_N_ELEMENTS (options->methods) && options->methods[i]; i++)
        _post_http1_parser_push_request (parser, options->methods[i]);
    }
  while (!eof)
    {
      gsize n = chunk == 0 ? length - offset : MIN (chunk, length - offset);

      g_byte_array_append (pending, (const guint8 *) input + offset, n);
      offset += n;
      eof = offset == length;
      for (guint rounds = 0;; rounds++)
        {
          PostHttp1Step step;

          g_assert_cmpuint (rounds, <, 1000000);
          if (!_post_http1_parser_feed (parser, pending->data, pending->len, eof, &step, error))
            return NULL;
          g_assert_cmpuint (step.consumed, <=, pending->len);
          g_assert_true (step.body_length == 0 || step.body_offset + step.body_length <= step.consumed);
          if (step.head)
            describe_head (out, _post_http1_parser_get_head (parser));
          g_string_append_len (out, (const char *) pending->data + step.body_offset, step.body_length);
          if (step.end)
            {
              const PostHttp1Head *head = _post_http1_parser_get_head (parser);

              g_string_append (out, "[end");
              for (guint i = 0; i < head->trailers->len; i += 2)
                g_string_append_printf (out, "|%s=%s", (char *) head->trailers->pdata[i],
                                        (char *) head->trailers->pdata[i + 1]);
              g_string_append (out, "]");
            }
          g_byte_array_remove_range (pending, 0, step.consumed);
          if (step.consumed == 0 && step.body_length == 0 && !step.end)
            break;
        }
    }
  g_assert_cmpuint (pending->len, ==, 0);
  g_assert_false (_post_http1_parser_in_message (parser));
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static void
check_full (gboolean       requests,
            const Options *options,
            const char    *input,
            gssize         length,
            const char    *expected)
{
  if (length < 0)
    length = strlen (input);
  for (guint i = 0; i < G_N_ELEMENTS (chunkings); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *got = run (requests, options, input, length, chunkings[i], &error);

      g_assert_no_error (error);
      g_assert_cmpstr (got, ==, expected);
    }
}

#define check(requests, input, expected) check_full ((requests), NULL, (input), strlen (input), (expected))

static void
check_error_full (gboolean       requests,
                  const Options *options,
                  const char    *input,
                  gssize         length,
                  gint           code,
                  const char    *message_part)
{
  if (length < 0)
    length = strlen (input);
  for (guint i = 0; i < G_N_ELEMENTS (chunkings); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *got = run (requests, options, input, length, chunkings[i], &error);

      g_assert_null (got);
      g_assert_error (error, POST_ERROR, code);
      if (strstr (error->message, message_part) == NULL)
        g_error ("“%s” does not contain “%s”", error->message, message_part);
    }
}

#define check_error(requests, input, message_part) \
  check_error_full ((requests), NULL, (input), strlen (input), POST_ERROR_PROTOCOL, (message_part))
#define check_truncated(requests, input) \
  check_error_full ((requests), NULL, (input), strlen (input), POST_ERROR_TRUNCATED, "ended in the middle")

/* ---- requests ------------------------------------------------------------ */

static void
test_request_simple (void)
{
  check (TRUE, "GET /index.html HTTP/1.1\r\nHost: example.org\r\nAccept: */*\r\n\r\n",
         "<GET /index.html 1.1 cl=0 keep-alive|Host=example.org|Accept=*/*>[end]");
  /* OWS around values is not part of them; an empty value is kept */
  check (TRUE, "GET / HTTP/1.1\r\nA:  x y \t\r\nB:\r\n\r\n",
         "<GET / 1.1 cl=0 keep-alive|A=x y|B=>[end]");
  /* HTTP/1.0 closes unless keep-alive is asked for */
  check (TRUE, "GET / HTTP/1.0\r\n\r\n", "<GET / 1.0 cl=0>[end]");
  check (TRUE, "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
         "<GET / 1.0 cl=0 keep-alive|Connection=Keep-Alive>[end]");
  check (TRUE, "OPTIONS * HTTP/1.1\r\nConnection: foo, close\r\n\r\n",
         "<OPTIONS * 1.1 cl=0|Connection=foo, close>[end]");
}

static void
test_request_body (void)
{
  check (TRUE, "POST /f HTTP/1.1\r\nContent-Length: 5\r\n\r\nhello",
         "<POST /f 1.1 cl=5 keep-alive|Content-Length=5>hello[end]");
  /* a list of equal values is one length (RFC 9112 6.3, 5) */
  check (TRUE, "POST /f HTTP/1.1\r\nContent-Length: 3, 3\r\nContent-Length: 3\r\n\r\nabc",
         "<POST /f 1.1 cl=3 keep-alive|Content-Length=3, 3|Content-Length=3>abc[end]");
  check (TRUE, "PUT /f HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 0\r\n\r\n",
         "<PUT /f 1.1 cl=0 keep-alive expect|Expect=100-Continue|Content-Length=0>[end]");
}

static void
test_request_chunked (void)
{
  check (TRUE,
         "POST /up HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"
         "5;name=value;other\r\nhello\r\n"
         "1 ; ext=\"quoted;x\"\r\n,\r\n"
         "06\r\n world\r\n"
         "0\r\nChecksum: abc\r\nOther: 1\r\n\r\n",
         "<POST /up 1.1 cl=-1 chunked keep-alive|Transfer-Encoding=gzip, chunked>"
         "hello, world[end|Checksum=abc|Other=1]");
  /* upper-case hexadecimal, an empty trailer section */
  check (TRUE, "POST / HTTP/1.1\r\nTransfer-Encoding: Chunked\r\n\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\n\r\n",
         "<POST / 1.1 cl=-1 chunked keep-alive|Transfer-Encoding=Chunked>abcdefghijklmnopqrstuvwxyz[end]");
}

static void
test_request_pipelined (void)
{
  check (TRUE,
         "\r\n\r\nGET /a HTTP/1.1\r\n\r\n"
         "POST /b HTTP/1.1\r\nContent-Length: 2\r\n\r\nxy"
         "\r\nGET /c HTTP/1.1\r\nConnection: close\r\n\r\n",
         "<GET /a 1.1 cl=0 keep-alive>[end]"
         "<POST /b 1.1 cl=2 keep-alive|Content-Length=2>xy[end]"
         "<GET /c 1.1 cl=0|Connection=close>[end]");
  check_error (TRUE, "GET /c HTTP/1.1\r\nConnection: close\r\n\r\nGET /d HTTP/1.1\r\n\r\n",
               "Data after the connection's last message");
}

static void
test_line_ends (void)
{
  /* a bare LF ends a head line (RFC 9112 2.2's MAY) */
  check (TRUE, "GET / HTTP/1.1\nHost: a\n\n", "<GET / 1.1 cl=0 keep-alive|Host=a>[end]");
  /* a bare CR never does */
  check_error (TRUE, "GET / HTTP/1.1\rHost: a\r\n\r\n", "A bare CR");
  check_error (TRUE, "GET / HTTP/1.1\r\nHost: a\rb\r\n\r\n", "A bare CR");
  check_error (TRUE, "GET / HTTP/1.1\r\nHost: a\r\n\r\r\n", "A bare CR");
  /* chunked framing takes CRLF only */
  check_error (TRUE, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\nx\r\n0\r\n\r\n",
               "chunk-size line not ended by CRLF");
  check_error (TRUE, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\n0\r\n\r\n",
               "not followed by CRLF");
  check_error (TRUE, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy\r\n0\r\n\r\n",
               "not followed by CRLF");
  check_error (TRUE, "\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\n\r\nGET / HTTP/1.1\r\n\r\n", "empty lines before");
}

static void
test_start_line_errors (void)
{
  check_error (TRUE, "GET /\r\n\r\n", "method SP target SP version");
  check_error (TRUE, "GET  / HTTP/1.1\r\n\r\n", "target is empty");
  check_error (TRUE, "GET / x HTTP/1.1\r\n\r\n", "does not end with an HTTP version");
  check_error (TRUE, "G(T / HTTP/1.1\r\n\r\n", "method is not a token");
  check_error (TRUE, "GET /\x7f HTTP/1.1\r\n\r\n", "0x7f in the request target");
  check_error (TRUE, "GET / HTTP/1.1 \r\n\r\n", "HTTP version");
  check_error (TRUE, "GET / http/1.1\r\n\r\n", "HTTP version");
  check_error (TRUE, "GET / HTTP/2.0\r\n\r\n", "HTTP/2.0 is not HTTP/1.x");
  check_error_full (TRUE, NULL, "GET / HTTP/1.1\r\nA: \0\r\n\r\n", 24, POST_ERROR_PROTOCOL, "0x00");
  check_error (FALSE, "HTTP/1.1 20 OK\r\n\r\n", "three digits");
  check_error (FALSE, "HTTP/1.1 2000 OK\r\n\r\n", "three digits");
  check_error (FALSE, "HTTP/1.1 099 Low\r\n\r\n", "not in 100");
  check_error (FALSE, "HTTP/1.1 600 High\r\n\r\n", "not in 100");
  check_error (FALSE, "HTTP/3.0 200 OK\r\n\r\n", "HTTP/3.0 is not HTTP/1.x");
  check_error (FALSE, "HTTP/1.1\r\n\r\n", "version SP status");
  check_error (FALSE, "HTTP/1.1 200 O\x01K\r\n\r\n", "0x01 in the reason phrase");
}

static void
test_field_errors (void)
{
  check_error (TRUE, "GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n", "obs-fold");
  check_error (TRUE, "GET / HTTP/1.1\r\n\tA: b\r\n\r\n", "between the start line and the first header field");
  check_error (TRUE, "GET / HTTP/1.1\r\nHost : a\r\n\r\n", "Whitespace between a field name and its colon");
  check_error (TRUE, "GET / HTTP/1.1\r\nHo st: a\r\n\r\n", "0x20 in a header field name");
  check_error (TRUE, "GET / HTTP/1.1\r\nHost\r\n\r\n", "without a colon");
  check_error (TRUE, "GET / HTTP/1.1\r\n: a\r\n\r\n", "without a name");
  check_error (TRUE, "GET / HTTP/1.1\r\nA: b\x01\r\n\r\n", "0x01 in the value of the header field A");
  check_error (TRUE, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA : b\r\n\r\n",
               "Whitespace between a field name");
  check_error (TRUE, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: b\r\n c\r\n\r\n",
               "trailer field line folded");
}

static void
test_limits (void)
{
  g_autoptr(GString) big = g_string_new ("GET / HTTP/1.1\r\n");
  g_autoptr(GString) many = g_string_new ("GET / HTTP/1.1\r\n");
  g_autofree char *expected = NULL;
  Options small = { 64, 2, { NULL } };

  /* 64 KiB by default: a header section just under it passes, over it fails */
  g_string_append_printf (big, "X: %0*d\r\n\r\n", 64 * 1024 - 23, 0);
  g_assert_cmpuint (big->len, ==, 64 * 1024);
  expected = g_strdup_printf ("<GET / 1.1 cl=0 keep-alive|X=%0*d>[end]", 64 * 1024 - 23, 0);
  check_full (TRUE, NULL, big->str, big->len, expected);
  g_string_insert_c (big, 20, '0');
  check_error_full (TRUE, NULL, big->str, big->len, POST_ERROR_PROTOCOL,
                    "header section is larger than 65536 bytes");

  for (guint i = 0; i <= POST_HTTP1_DEFAULT_MAX_FIELDS; i++)
    g_string_append_printf (many, "F%u: v\r\n", i);
  g_string_append (many, "\r\n");
  check_error_full (TRUE, NULL, many->str, many->len, POST_ERROR_PROTOCOL, "More than 128 header fields");

  check_full (TRUE, &small, "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\n\r\n", -1,
              "<GET / 1.1 cl=0 keep-alive|A=1|B=2>[end]");
  check_error_full (TRUE, &small, "GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n", -1,
                    POST_ERROR_PROTOCOL, "More than 2 header fields");
  check_error_full (TRUE, &small, "GET /0123456789012345678901234567890123456789012345678 HTTP/1.1\r\n\r\n",
                    -1, POST_ERROR_PROTOCOL, "larger than 64 bytes");
  /* the trailer section has the same limits, counted on its own */
  check_error_full (TRUE, &small, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n",
                    -1, POST_ERROR_PROTOCOL, "More than 2 trailer fields");
}

static void
test_content_length_errors (void)
{
  check_error (TRUE, "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", "differ");
  check_error (TRUE, "POST / HTTP/1.1\r\nContent-Length: 5, 6\r\n\r\n", "differ");
  check_error (TRUE, "POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", "invalid Content-Length");
  check_error (TRUE, "POST / HTTP/1.1\r\nContent-Length: 0x10\r\n\r\n", "invalid Content-Length");
  check_error (TRUE, "POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", "invalid Content-Length");
  check_error (TRUE, "POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n", "invalid Content-Length");
  check_error (FALSE, "HTTP/1.1 200 OK\r\nContent-Length: 1 2\r\n\r\n", "invalid Content-Length");
}

static void
test_smuggling (void)
{
  check_error (TRUE, "POST / HTTP/1.1\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
               "Both Transfer-Encoding and Content-Length");
  check_error (FALSE, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n",
               "Both Transfer-Encoding and Content-Length");
  check_error (TRUE, "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", "does not end with chunked (gzip)");
  check_error (TRUE, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n", "before another coding");
  check_error (TRUE, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
               "applies chunked twice");
  check_error (TRUE, "POST / HTTP/1.1\r\nTransfer-Encoding: ,\r\n\r\n", "invalid Transfer-Encoding");
  check_error (TRUE, "POST / HTTP/1.1\r\nTransfer-Encoding: chun\"ked\r\n\r\n", "invalid Transfer-Encoding");
  check_error (TRUE, "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", "in an HTTP/1.0 message");
}

static void
test_chunk_errors (void)
{
  const char *head = "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n";
  const char *bodies[][2] = {
    { "10000000000000000\r\n", "overflows" },
    { "8000000000000000\r\n", "overflows" },
    { "\r\n", "without a hexadecimal size" },
    { "zz\r\n", "without a hexadecimal size" },
    { "1x\r\nx\r\n", "0x78 after a chunk size" },
    { "1;a\x01\r\nx\r\n", "0x01 in a chunk extension" },
    { "-1\r\n", "without a hexadecimal size" },
  };
  g_autoptr(GString) ext = g_string_new (head);

  for (guint i = 0; i < G_N_ELEMENTS (bodies); i++)
    {
      g_autofree char *input = g_strconcat (head, bodies[i][0], NULL);

      check_error (TRUE, input, bodies[i][1]);
    }
  /* the largest size parses (then the stream is cut short) */
  {
    g_autofree char *input = g_strconcat (head, "7fffffffffffffff\r\nabc", NULL);

    check_truncated (TRUE, input);
  }
  g_string_append (ext, "1;");
  for (guint i = 0; i < POST_HTTP1_MAX_CHUNK_LINE; i++)
    g_string_append_c (ext, 'e');
  g_string_append (ext, "\r\nx\r\n0\r\n\r\n");
  check_error (TRUE, ext->str, "chunk-size line longer than 4096");
}

static void
test_truncated (void)
{
  check_truncated (TRUE, "GET / HTTP/1.1\r\nHost:");
  check_truncated (TRUE, "GET / HT");
  check_truncated (TRUE, "POST / HTTP/1.1\r\nContent-Length: 10\r\n\r\nabc");
  check_truncated (TRUE, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab");
  check_truncated (TRUE, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nabcde\r");
  check_truncated (TRUE, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n5");
  check_truncated (TRUE, "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\nA: b\r\n");
  check_truncated (FALSE, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nab");
  /* the end between messages, or after empty lines only, is clean */
  check (TRUE, "", "");
  check (TRUE, "\r\n", "");
  check (TRUE, "GET / HTTP/1.1\r\n\r\n", "<GET / 1.1 cl=0 keep-alive>[end]");
}

/* ---- responses ----------------------------------------------------------- */

static void
test_response_bodies (void)
{
  Options head_first = { 0, 0, { "HEAD", "GET", NULL } };
  Options only_head = { 0, 0, { "HEAD", NULL } };

  check (FALSE, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\nabc",
         "<1.1 200 'OK' cl=3 keep-alive|Content-Length=3>abc[end]");
  /* without a length, a response's body ends with the stream */
  check (FALSE, "HTTP/1.1 200 OK\r\n\r\nuntil the end",
         "<1.1 200 'OK' cl=-1 until-close>until the end[end]");
  /* a coding that is not chunked last: until the end too (RFC 9112 6.3, 4) */
  check (FALSE, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n",
         "<1.1 200 'OK' cl=-1 until-close|Transfer-Encoding=chunked, gzip>0\r\n\r\n[end]");
  check (FALSE, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
         "HTTP/1.0 404 Not Found\r\nContent-Length: 1\r\n\r\nx",
         "<1.1 200 'OK' cl=-1 chunked keep-alive|Transfer-Encoding=chunked>abc[end]"
         "<1.0 404 'Not Found' cl=1|Content-Length=1>x[end]");
  /* a reason phrase may be empty or absent */
  check (FALSE, "HTTP/1.1 200 \r\nContent-Length: 0\r\n\r\nHTTP/1.1 201\r\nContent-Length: 0\r\n\r\n",
         "<1.1 200 '' cl=0 keep-alive|Content-Length=0>[end]"
         "<1.1 201 '' cl=0 keep-alive|Content-Length=0>[end]");
  /* the response to HEAD has no body, whatever its Content-Length */
  check_full (FALSE, &head_first,
              "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nab", -1,
              "<1.1 200 'OK' cl=0 keep-alive|Content-Length=100>[end]"
              "<1.1 200 'OK' cl=2 keep-alive|Content-Length=2>ab[end]");
  check_full (FALSE, &only_head, "HTTP/1.1 404 Nope\r\nTransfer-Encoding: chunked\r\n\r\n", -1,
              "<1.1 404 'Nope' cl=0 keep-alive|Transfer-Encoding=chunked>[end]");
}

static void
test_response_no_body (void)
{
  /* 1xx are interim: the final response follows (and answers the request) */
  check (FALSE, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </s>\r\n\r\n"
         "HTTP/1.1 204 No Content\r\nContent-Length: 5\r\n\r\n"
         "HTTP/1.1 304 Not Modified\r\n\r\n",
         "<1.1 100 'Continue' cl=0 keep-alive interim>[end]"
         "<1.1 103 'Early Hints' cl=0 keep-alive interim|Link=</s>>[end]"
         "<1.1 204 'No Content' cl=0 keep-alive|Content-Length=5>[end]"
         "<1.1 304 'Not Modified' cl=0 keep-alive>[end]");
  /* after 101 the stream is another protocol */
  check_error (FALSE, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\r\n\x81\x00",
               "Data after 101 Switching Protocols");
}

static void
test_large_body (void)
{
  const gsize size = 3 * 1024 * 1024 + 17;
  g_autoptr(PostHttp1Parser) parser = _post_http1_parser_new (FALSE);
  g_autofree char *head = g_strdup_printf ("HTTP/1.1 200 OK\r\nContent-Length: %" G_GSIZE_FORMAT "\r\n\r\n", size);
  g_autofree guint8 *block = g_malloc (65536);
  PostHttp1Step step;
  gsize body = 0;
  guint64 sum = 0, expected_sum = 0;

  /* The head alone: then the body in 64 KiB reads, each reported where it lies */
  g_assert_true (_post_http1_parser_feed (parser, (const guint8 *) head, strlen (head), FALSE, &step, NULL));
  g_assert_true (step.head);
  g_assert_cmpuint (step.consumed, ==, strlen (head));
  g_assert_cmpint (_post_http1_parser_get_head (parser)->content_length, ==, size);
  while (body < size)
    {
      gsize n = MIN (65536, size - body);

      for (gsize i = 0; i < n; i++)
        {
          block[i] = (guint8) ((body + i) * 7);
          expected_sum += block[i];
        }
      g_assert_true (_post_http1_parser_feed (parser, block, n, FALSE, &step, NULL));
      g_assert_cmpuint (step.consumed, ==, n);
      g_assert_cmpuint (step.body_offset, ==, 0);
      g_assert_cmpuint (step.body_length, ==, n);
      for (gsize i = 0; i < n; i++)
        sum += block[i];
      body += n;
      g_assert_true (step.end == (body == size));
    }
  g_assert_cmpuint (sum, ==, expected_sum);
  g_assert_false (_post_http1_parser_in_message (parser));
}

static void
test_after_error (void)
{
  g_autoptr(PostHttp1Parser) parser = _post_http1_parser_new (TRUE);
  g_autoptr(GError) error = NULL;
  PostHttp1Step step;

  g_assert_false (_post_http1_parser_feed (parser, (const guint8 *) "BAD\r\n", 5, FALSE, &step, &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_PROTOCOL);
  g_clear_error (&error);
  g_assert_false (_post_http1_parser_feed (parser, (const guint8 *) "GET / HTTP/1.1\r\n\r\n", 18, FALSE, &step, &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_PROTOCOL);
  g_clear_error (&error);
  _post_http1_parser_reset (parser);
  g_assert_true (_post_http1_parser_feed (parser, (const guint8 *) "GET / HTTP/1.1\r\n\r\n", 18, FALSE, &step, &error));
  g_assert_no_error (error);
  g_assert_true (step.head && step.end);
  g_assert_cmpstr (_post_http1_head_get_field (_post_http1_parser_get_head (parser), "host"), ==, NULL);
  g_assert_true (_post_http1_is_token ("Content-Type", -1));
  g_assert_false (_post_http1_is_token ("Content Type", -1));
  g_assert_false (_post_http1_is_token ("", -1));
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/http1-parser/request/simple", test_request_simple);
  g_test_add_func ("/http1-parser/request/body", test_request_body);
  g_test_add_func ("/http1-parser/request/chunked", test_request_chunked);
  g_test_add_func ("/http1-parser/request/pipelined", test_request_pipelined);
  g_test_add_func ("/http1-parser/line-ends", test_line_ends);
  g_test_add_func ("/http1-parser/errors/start-line", test_start_line_errors);
  g_test_add_func ("/http1-parser/errors/fields", test_field_errors);
  g_test_add_func ("/http1-parser/errors/limits", test_limits);
  g_test_add_func ("/http1-parser/errors/content-length", test_content_length_errors);
  g_test_add_func ("/http1-parser/errors/smuggling", test_smuggling);
  g_test_add_func ("/http1-parser/errors/chunks", test_chunk_errors);
  g_test_add_func ("/http1-parser/errors/truncated", test_truncated);
  g_test_add_func ("/http1-parser/errors/after-error", test_after_error);
  g_test_add_func ("/http1-parser/response/bodies", test_response_bodies);
  g_test_add_func ("/http1-parser/response/no-body", test_response_no_body);
  g_test_add_func ("/http1-parser/response/large-body", test_large_body);

  return g_test_run ();
}
