/* test-http-framer.c: PostHttpFramer used directly: the heads and chunk
 * framing it encodes from message metadata, the metadata it decodes, its
 * errors, roles and pipelining limit.  (On the wire against nginx and curl:
 * test-http-interop.c.)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>

#include <string.h>

static PostMessage *
message_with (const char *first_key,
              ...)
{
  g_autoptr(PostMessage) message = post_message_new (NULL);
  GVariantBuilder builder;
  const char *key;
  va_list args;

  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  va_start (args, first_key);
  for (key = first_key; key != NULL; key = va_arg (args, const char *))
    g_variant_builder_add (&builder, "{sv}", key, va_arg (args, GVariant *));
  va_end (args);
  g_assert_true (post_message_set_metadata (message, g_variant_builder_end (&builder), NULL));
  return g_steal_pointer (&message);
}

static GVariant *
headers (const char *first,
         ...)
{
  GVariantBuilder builder;
  va_list args;

  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(ss)"));
  va_start (args, first);
  for (const char *name = first; name != NULL; name = va_arg (args, const char *))
    g_variant_builder_add (&builder, "(ss)", name, va_arg (args, const char *));
  va_end (args);
  return g_variant_builder_end (&builder);
}

static PostMessage *
request (const char *method,
         const char *target)
{
  return message_with ("http-method", g_variant_new_string (method),
                       "http-target", g_variant_new_string (target),
                       "http-headers", headers ("Host", "example.org", NULL), NULL);
}

/* Encodes and returns header + "<length>" + trailer, or NULL with @error */
static char *
encode (PostFramer   *framer,
        PostMessage  *message,
        gsize         length,
        gboolean      end,
        GError      **error)
{
  g_autoptr(GByteArray) header = g_byte_array_new ();
  g_autoptr(GByteArray) trailer = g_byte_array_new ();

  if (!post_framer_encode (framer, message, length, end, header, trailer, error))
    {
      g_assert_cmpuint (header->len, ==, 0);
      return NULL;
    }
  return g_strdup_printf ("%.*s<%" G_GSIZE_FORMAT ">%.*s", (int) header->len, (char *) header->data,
                          length, (int) trailer->len, (char *) trailer->data);
}

static void
check_encode (PostFramer  *framer,
              PostMessage *message,
              gsize        length,
              gboolean     end,
              const char  *expected)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *got = encode (framer, message, length, end, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (got, ==, expected);
}

static void
check_encode_error (PostFramer  *framer,
                    PostMessage *message,
                    gsize        length,
                    gboolean     end,
                    gint         code,
                    const char  *part)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *got = encode (framer, message, length, end, &error);

  g_assert_null (got);
  g_assert_error (error, POST_ERROR, code);
  if (strstr (error->message, part) == NULL)
    g_error ("“%s” does not contain “%s”", error->message, part);
}

/* Decodes @input whole; returns the metadata of the first message */
static GVariant *
decode (PostFramer *framer,
        const char *input,
        GString    *body,
        GError    **error)
{
  gsize size = strlen (input), offset = 0;
  GVariant *first = NULL;

  for (;;)
    {
      PostFrameChunk chunk;

      if (!post_framer_decode (framer, (const guint8 *) input + offset, size - offset, FALSE, &chunk, error))
        {
          g_clear_pointer (&first, g_variant_unref);
          return NULL;
        }
      if (chunk.metadata != NULL && first == NULL)
        first = chunk.metadata;
      else
        g_clear_pointer (&chunk.metadata, g_variant_unref);
      if (body != NULL)
        g_string_append_len (body, input + offset + chunk.payload_offset, chunk.payload_length);
      offset += chunk.consumed;
      if (chunk.consumed == 0 && chunk.payload_length == 0 && !chunk.message_start && !chunk.message_end)
        return first;
    }
}

static void
test_client_encode (void)
{
  g_autoptr(PostFramer) framer = post_http_framer_new (POST_HTTP_ROLE_AUTO);
  g_autoptr(PostMessage) get = request ("GET", "/x?y=1");
  g_autoptr(PostMessage) post = request ("POST", "/up");
  g_autoptr(PostMessage) parts = request ("PUT", "/big");
  g_autoptr(PostMessage) sized = message_with ("http-method", g_variant_new_string ("PUT"),
                                               "http-target", g_variant_new_string ("/sized"),
                                               "http-headers", headers ("Host", "h", "Content-Length", "5", NULL),
                                               NULL);

  g_assert_cmpint (post_http_framer_get_role (POST_HTTP_FRAMER (framer)), ==, POST_HTTP_ROLE_AUTO);
  check_encode (framer, get, 0, TRUE, "GET /x?y=1 HTTP/1.1\r\nHost: example.org\r\n\r\n<0>");
  g_assert_cmpint (post_http_framer_get_role (POST_HTTP_FRAMER (framer)), ==, POST_HTTP_ROLE_CLIENT);
  check_encode (framer, post, 0, TRUE, "POST /up HTTP/1.1\r\nHost: example.org\r\nContent-Length: 0\r\n\r\n<0>");
  /* parts: chunked, an empty part is nothing, the last ends with 0 CRLF CRLF */
  check_encode (framer, parts, 3, FALSE,
                "PUT /big HTTP/1.1\r\nHost: example.org\r\nTransfer-Encoding: chunked\r\n\r\n3\r\n<3>\r\n");
  check_encode (framer, parts, 0, FALSE, "<0>");
  check_encode (framer, parts, 300, FALSE, "12c\r\n<300>\r\n");
  check_encode (framer, parts, 0, TRUE, "<0>0\r\n\r\n");
  /* parts with the application's Content-Length: counted, not chunked */
  check_encode (framer, sized, 2, FALSE, "PUT /sized HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n<2>");
  check_encode_error (framer, sized, 4, FALSE, POST_ERROR_INVALID_ARGUMENT, "do not add up");
  check_encode_error (framer, sized, 2, TRUE, POST_ERROR_INVALID_ARGUMENT, "do not add up");
  check_encode (framer, sized, 3, TRUE, "<3>");
}

static void
test_client_errors (void)
{
  g_autoptr(PostFramer) framer = post_http_framer_new (POST_HTTP_ROLE_CLIENT);
  g_autoptr(PostMessage) no_host = message_with ("http-method", g_variant_new_string ("GET"),
                                                 "http-target", g_variant_new_string ("/"), NULL);
  g_autoptr(PostMessage) te = message_with ("http-method", g_variant_new_string ("GET"),
                                            "http-target", g_variant_new_string ("/"),
                                            "http-headers", headers ("Host", "h", "Transfer-Encoding", "chunked", NULL),
                                            NULL);
  g_autoptr(PostMessage) crlf = message_with ("http-method", g_variant_new_string ("GET"),
                                              "http-target", g_variant_new_string ("/"),
                                              "http-headers", headers ("Host", "h\r\nX: injected", NULL), NULL);
  g_autoptr(PostMessage) bad_name = message_with ("http-method", g_variant_new_string ("GET"),
                                                  "http-target", g_variant_new_string ("/"),
                                                  "http-headers", headers ("Ho st", "h", NULL), NULL);
  g_autoptr(PostMessage) bad_target = request ("GET", "/a b");
  g_autoptr(PostMessage) bad_method = request ("G(T", "/");
  g_autoptr(PostMessage) bad_version = message_with ("http-method", g_variant_new_string ("GET"),
                                                     "http-target", g_variant_new_string ("/"),
                                                     "http-version", g_variant_new_string ("HTTP/2"), NULL);
  g_autoptr(PostMessage) plain = post_message_new (NULL);

  check_encode_error (framer, no_host, 0, TRUE, POST_ERROR_INVALID_ARGUMENT, "needs a Host");
  check_encode_error (framer, te, 0, TRUE, POST_ERROR_INVALID_ARGUMENT, "Transfer-Encoding");
  check_encode_error (framer, crlf, 0, TRUE, POST_ERROR_INVALID_ARGUMENT, "CR or LF");
  check_encode_error (framer, bad_name, 0, TRUE, POST_ERROR_INVALID_ARGUMENT, "not a valid HTTP header field name");
  check_encode_error (framer, bad_target, 0, TRUE, POST_ERROR_INVALID_ARGUMENT, "invalid character 0x20");
  check_encode_error (framer, bad_method, 0, TRUE, POST_ERROR_INVALID_ARGUMENT, "not a valid HTTP method");
  check_encode_error (framer, bad_version, 0, TRUE, POST_ERROR_INVALID_ARGUMENT, "not HTTP/2");
  check_encode_error (framer, plain, 3, TRUE, POST_ERROR_INVALID_ARGUMENT, "needs http-method and http-target");
  check_encode_error (framer, NULL, 3, TRUE, POST_ERROR_INVALID_ARGUMENT, "needs http-method and http-target");
}

static void
test_client_pipelining (void)
{
  g_autoptr(PostFramer) framer = post_http_framer_new (POST_HTTP_ROLE_CLIENT);
  g_autoptr(PostMessage) get = request ("GET", "/");
  g_autoptr(PostMessage) head = request ("HEAD", "/");
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) metadata = NULL;
  g_autoptr(GString) body = g_string_new (NULL);
  g_autofree char *got = NULL;
  guint status = 0;

  post_http_framer_set_max_pipelined (POST_HTTP_FRAMER (framer), 2);
  g_assert_cmpuint (post_http_framer_get_max_pipelined (POST_HTTP_FRAMER (framer)), ==, 2);
  g_free (encode (framer, head, 0, TRUE, NULL));
  g_free (encode (framer, get, 0, TRUE, NULL));
  check_encode_error (framer, get, 0, TRUE, POST_ERROR_WOULD_BLOCK, "2 HTTP requests are waiting");
  /* the response to HEAD has no body although it says 5 bytes: the next
   * response follows at once; an interim response does not count */
  metadata = decode (framer, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", body, &error);
  g_assert_no_error (error);
  g_assert_true (g_variant_lookup (metadata, "http-status", "u", &status));
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpuint (body->len, ==, 0);
  g_clear_pointer (&metadata, g_variant_unref);
  got = encode (framer, get, 0, TRUE, &error);
  g_assert_no_error (error);
  g_clear_pointer (&got, g_free);
  metadata = decode (framer, "HTTP/1.1 100 Continue\r\n\r\n", NULL, &error);
  g_assert_no_error (error);
  check_encode_error (framer, get, 0, TRUE, POST_ERROR_WOULD_BLOCK, "waiting");
}

static PostMessage *
upgrade_request (const char *upgrade)
{
  return message_with ("http-method", g_variant_new_string ("GET"),
                       "http-target", g_variant_new_string ("/chat"),
                       "http-headers", headers ("Host", "h", "Upgrade", upgrade, "Connection", "Upgrade",
                                                "Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==",
                                                "Sec-WebSocket-Version", "13", NULL), NULL);
}

/* A client's upgrade: 101 only to the request that asked, with the
 * Sec-WebSocket-Accept its key calls for; nothing sent between the request
 * and its answer; a refusal keeps HTTP/1.1 going; after a 101 to another
 * protocol, the rest is not HTTP.  (The hand-over to PostWebSocketFramer
 * itself needs a carrier: test-websocket.c /websocket/http-upgrade.) */
static void
test_client_upgrade (void)
{
  static const char *ok_101 = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                              "Connection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
  static const char *bad_101 = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                               "Connection: Upgrade\r\nSec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n";
  g_autoptr(PostMessage) get = request ("GET", "/");
  g_autoptr(PostMessage) ws = upgrade_request ("websocket");
  g_autoptr(PostMessage) other = upgrade_request ("foo/2");
  g_autoptr(PostMessage) no_key = message_with ("http-method", g_variant_new_string ("GET"),
                                                "http-target", g_variant_new_string ("/"),
                                                "http-headers", headers ("Host", "h", "Upgrade", "websocket", NULL),
                                                NULL);
  guint status = 0;

  /* the accept that answers the key: the 101 is a message, with its fields */
  {
    g_autoptr(PostFramer) framer = post_http_framer_new (POST_HTTP_ROLE_CLIENT);
    g_autoptr(GError) error = NULL;
    g_autoptr(GVariant) metadata = NULL;
    g_autoptr(GVariant) fields = NULL;
    g_autofree char *got = NULL;

    check_encode_error (framer, no_key, 0, TRUE, POST_ERROR_INVALID_ARGUMENT, "Sec-WebSocket-Key");
    got = encode (framer, ws, 0, TRUE, &error);
    g_assert_no_error (error);
    check_encode_error (framer, get, 0, TRUE, POST_ERROR_INVALID_ARGUMENT, "before its answer");
    metadata = decode (framer, ok_101, NULL, &error);
    g_assert_no_error (error);
    g_assert_true (g_variant_lookup (metadata, "http-status", "u", &status));
    g_assert_cmpuint (status, ==, 101);
    fields = g_variant_lookup_value (metadata, "http-headers", G_VARIANT_TYPE ("a(ss)"));
    g_assert_nonnull (fields);
    g_assert_cmpuint (g_variant_n_children (fields), ==, 3);
  }
  /* another accept; a 101 nobody asked for (behind a GET answered) */
  {
    g_autoptr(PostFramer) framer = post_http_framer_new (POST_HTTP_ROLE_CLIENT);
    g_autoptr(GError) error = NULL;
    g_autofree char *got = encode (framer, ws, 0, TRUE, &error);

    g_assert_null (decode (framer, bad_101, NULL, &error));
    g_assert_error (error, POST_ERROR, POST_ERROR_PROTOCOL);
    g_assert_nonnull (strstr (error->message, "Sec-WebSocket-Accept"));
  }
  {
    g_autoptr(PostFramer) framer = post_http_framer_new (POST_HTTP_ROLE_CLIENT);
    g_autoptr(GError) error = NULL;
    g_autofree char *got = encode (framer, get, 0, TRUE, &error);

    g_assert_null (decode (framer, ok_101, NULL, &error));
    g_assert_error (error, POST_ERROR, POST_ERROR_PROTOCOL);
    g_assert_nonnull (strstr (error->message, "asked for no upgrade"));
  }
  /* a GET, then the upgrade: the GET's answer does not end the upgrade;
   * the server refuses it (400) and HTTP/1.1 goes on */
  {
    g_autoptr(PostFramer) framer = post_http_framer_new (POST_HTTP_ROLE_CLIENT);
    g_autoptr(GError) error = NULL;
    g_autofree char *a = encode (framer, get, 0, TRUE, &error);
    g_autofree char *b = encode (framer, ws, 0, TRUE, &error);
    g_autoptr(GVariant) first = decode (framer, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", NULL, &error);
    g_autoptr(GVariant) second = NULL;

    g_assert_no_error (error);
    check_encode_error (framer, get, 0, TRUE, POST_ERROR_INVALID_ARGUMENT, "before its answer");
    second = decode (framer, "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n", NULL, &error);
    g_assert_no_error (error);
    check_encode (framer, get, 0, TRUE, "GET / HTTP/1.1\r\nHost: example.org\r\n\r\n<0>");
  }
  /* 101 to another protocol: no hand-over, and what follows is not HTTP */
  {
    g_autoptr(PostFramer) framer = post_http_framer_new (POST_HTTP_ROLE_CLIENT);
    g_autoptr(GError) error = NULL;
    g_autofree char *got = encode (framer, other, 0, TRUE, &error);
    g_autoptr(GVariant) metadata = decode (framer, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo/2\r\n"
                                           "Connection: Upgrade\r\n\r\n", NULL, &error);

    g_assert_no_error (error);
    g_assert_nonnull (metadata);
    g_assert_null (decode (framer, "HTTP/1.1 200 OK\r\n\r\n", NULL, &error));
    g_assert_error (error, POST_ERROR, POST_ERROR_PROTOCOL);
    g_assert_nonnull (strstr (error->message, "Data after 101"));
  }
}

static void
test_server (void)
{
  g_autoptr(PostFramer) framer = post_http_framer_new (POST_HTTP_ROLE_AUTO);
  g_autoptr(PostMessage) ok = message_with ("http-status", g_variant_new_uint32 (200), NULL);
  g_autoptr(PostMessage) teapot = message_with ("http-status", g_variant_new_uint32 (418),
                                                "http-reason", g_variant_new_string ("I'm a teapot"), NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) metadata = NULL;
  g_autoptr(GVariant) fields = NULL;
  g_autoptr(GString) body = g_string_new (NULL);
  const char *method = NULL, *target = NULL, *version = NULL;
  gboolean keep_alive = TRUE;

  /* a response with nothing to answer */
  check_encode_error (framer, ok, 0, TRUE, POST_ERROR_INVALID_ARGUMENT, "no request to answer");
  g_assert_cmpint (post_http_framer_get_role (POST_HTTP_FRAMER (framer)), ==, POST_HTTP_ROLE_SERVER);

  metadata = decode (framer, "POST /form HTTP/1.1\r\nHost: h\r\nX-A: 1\r\nX-A: caf\xe9\r\nContent-Length: 3\r\n\r\nabc",
                     body, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (body->str, ==, "abc");
  g_assert_true (g_variant_lookup (metadata, "http-method", "&s", &method));
  g_assert_cmpstr (method, ==, "POST");
  g_assert_true (g_variant_lookup (metadata, "http-target", "&s", &target));
  g_assert_cmpstr (target, ==, "/form");
  g_assert_true (g_variant_lookup (metadata, "http-version", "&s", &version));
  g_assert_cmpstr (version, ==, "HTTP/1.1");
  g_assert_true (g_variant_lookup (metadata, "http-keep-alive", "b", &keep_alive));
  g_assert_true (keep_alive);
  fields = g_variant_lookup_value (metadata, "http-headers", G_VARIANT_TYPE ("a(ss)"));
  g_assert_nonnull (fields);
  {
    g_autofree char *printed = g_variant_print (fields, FALSE);

    /* obs-text is taken as ISO-8859-1 */
    g_assert_cmpstr (printed, ==, "[('Host', 'h'), ('X-A', '1'), ('X-A', 'café'), ('Content-Length', '3')]");
  }
  check_encode (framer, teapot, 2, TRUE, "HTTP/1.1 418 I'm a teapot\r\nContent-Length: 2\r\n\r\n<2>");

  /* HEAD: no body may be sent; HTTP/1.0 without keep-alive: Connection: close,
   * and parts delimited by the close */
  g_clear_pointer (&metadata, g_variant_unref);
  metadata = decode (framer, "HEAD / HTTP/1.1\r\nHost: h\r\n\r\nGET / HTTP/1.0\r\n\r\n", NULL, &error);
  g_assert_no_error (error);
  check_encode_error (framer, ok, 4, TRUE, POST_ERROR_INVALID_ARGUMENT, "response to HEAD has no body");
  check_encode (framer, ok, 0, TRUE, "HTTP/1.1 200 OK\r\n\r\n<0>");
  check_encode (framer, ok, 4, FALSE, "HTTP/1.0 200 OK\r\nConnection: close\r\n\r\n<4>");
}

static void
test_server_errors (void)
{
  g_autoptr(PostFramer) framer = post_http_framer_new (POST_HTTP_ROLE_SERVER);
  g_autoptr(PostFramer) smuggled = post_http_framer_new (POST_HTTP_ROLE_SERVER);
  g_autoptr(PostFramer) client = post_http_framer_new (POST_HTTP_ROLE_CLIENT);
  g_autoptr(PostMessage) no_content = message_with ("http-status", g_variant_new_uint32 (204), NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) metadata = NULL;

  g_object_set (framer, "max-pipelined", 2, NULL);
  metadata = decode (framer, "GET /1 HTTP/1.1\r\nHost: h\r\n\r\nGET /2 HTTP/1.1\r\nHost: h\r\n\r\n"
                             "GET /3 HTTP/1.1\r\nHost: h\r\n\r\n", NULL, &error);
  g_assert_null (metadata);
  g_assert_error (error, POST_ERROR, POST_ERROR_PROTOCOL);
  g_assert_nonnull (strstr (error->message, "pipelined more than 2"));
  g_clear_error (&error);

  metadata = decode (smuggled, "POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n"
                               "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", NULL, &error);
  g_assert_error (error, POST_ERROR, POST_ERROR_PROTOCOL);
  g_assert_nonnull (strstr (error->message, "smuggling"));
  g_clear_error (&error);

  /* a client framer takes responses only */
  metadata = decode (client, "GET / HTTP/1.1\r\n\r\n", NULL, &error);
  g_assert_error (error, POST_ERROR, POST_ERROR_PROTOCOL);
  g_clear_error (&error);

  g_clear_object (&framer);
  framer = post_http_framer_new (POST_HTTP_ROLE_SERVER);
  metadata = decode (framer, "GET / HTTP/1.1\r\nHost: h\r\n\r\n", NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&metadata, g_variant_unref);
  check_encode_error (framer, no_content, 1, TRUE, POST_ERROR_INVALID_ARGUMENT, "204 response has no body");
  check_encode (framer, no_content, 0, TRUE, "HTTP/1.1 204 No Content\r\n\r\n<0>");
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/http-framer/client/encode", test_client_encode);
  g_test_add_func ("/http-framer/client/errors", test_client_errors);
  g_test_add_func ("/http-framer/client/pipelining", test_client_pipelining);
  g_test_add_func ("/http-framer/client/upgrade", test_client_upgrade);
  g_test_add_func ("/http-framer/server", test_server);
  g_test_add_func ("/http-framer/server/errors", test_server_errors);

  return g_test_run ();
}
