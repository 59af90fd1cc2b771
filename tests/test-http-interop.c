/* test-http-interop.c: PostHttpFramer against real HTTP/1.1 peers on
 * loopback: nginx (Debian's nginx-light) serving generated files to a
 * libpost client, and curl fetching from a libpost responder; both over
 * tcp and over tls (https with a certificate made by certtool for the
 * run, verified against its CA on both sides).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>

#include <glib/gstdio.h>
#include <string.h>

#include "post-test-util.h"

#define WAIT_TIMEOUT_S 30
#define BIG_SIZE (3 * 1024 * 1024 + 123)

#define run_until(flag, n) post_test_wait_count ((const guint *) (flag), (n), #flag, WAIT_TIMEOUT_S)

/* A message whose metadata is @first_key, its value, … (NULL-terminated)
 * and http-headers: @header, its value, then @extra_headers */
static PostMessage *
message_new (const char        *header_name,
             const char        *header_value,
             const char *const *extra_headers,
             const char        *first_key,
             ...)
{
  g_autoptr(PostMessage) message = post_message_new (NULL);
  g_autoptr(GError) error = NULL;
  GVariantBuilder headers, metadata;
  va_list args;

  g_variant_builder_init (&headers, G_VARIANT_TYPE ("a(ss)"));
  g_variant_builder_add (&headers, "(ss)", header_name, header_value);
  for (guint i = 0; extra_headers != NULL && extra_headers[i] != NULL; i += 2)
    g_variant_builder_add (&headers, "(ss)", extra_headers[i], extra_headers[i + 1]);
  g_variant_builder_init (&metadata, G_VARIANT_TYPE_VARDICT);
  va_start (args, first_key);
  for (const char *key = first_key; key != NULL; key = va_arg (args, const char *))
    g_variant_builder_add (&metadata, "{sv}", key, va_arg (args, GVariant *));
  va_end (args);
  g_variant_builder_add (&metadata, "{sv}", "http-headers", g_variant_builder_end (&headers));
  g_assert_true (post_message_set_metadata (message, g_variant_builder_end (&metadata), &error));
  g_assert_no_error (error);
  return g_steal_pointer (&message);
}

static PostMessage *
request_new (const char        *method,
             const char        *target,
             const char *const *extra_headers)
{
  return message_new ("Host", "127.0.0.1", extra_headers,
                      "http-method", g_variant_new_string (method),
                      "http-target", g_variant_new_string (target), NULL);
}

static guint
status_of (PostMessage *message)
{
  guint status = 0;

  g_assert_true (post_message_lookup_metadata (message, "http-status", "u", &status));
  return status;
}

/* ---- a libpost client against nginx ---------------------------------------- */

typedef struct {
  GPtrArray *received;    /* (element-type PostMessage) */
  GError    *error;
  guint      n_done;
  /* partial receives */
  GChecksum *checksum;
  gsize      partial_bytes;
  gboolean   partial_end;
  PostMessage *partial_message;
} Client;

static void
received_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Client *c = user_data;
  PostMessage *message = post_carrier_receive_finish (POST_CARRIER (source), result, &c->error);

  if (message != NULL)
    g_ptr_array_add (c->received, message);
  c->n_done++;
}

static void
partial_cb (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Client *c = user_data;
  g_autoptr(PostMessage) message = NULL;
  g_autoptr(GBytes) part = post_carrier_receive_partial_finish (POST_CARRIER (source), result, &message,
                                                                &c->partial_end, &c->error);

  if (part != NULL)
    {
      g_assert_cmpuint (g_bytes_get_size (part), <=, 256 * 1024);
      g_checksum_update (c->checksum, g_bytes_get_data (part, NULL), g_bytes_get_size (part));
      c->partial_bytes += g_bytes_get_size (part);
      g_set_object (&c->partial_message, message);
    }
  c->n_done++;
}

static char *certs;   /* the test certificates (post_test_certs_make()) */

/* nginx serving small.txt, empty.txt and big.bin (@big), over https with
 * the test certificates when @tls; or FALSE (the test skipped) without
 * nginx. */
static gboolean
nginx_start (PostTestNginx *nginx,
             GBytes        *big,
             gboolean       tls,
             const char    *identity)
{
  g_autoptr(GBytes) small = g_bytes_new_static ("hello from nginx\n", 17);
  g_autoptr(GBytes) empty = g_bytes_new_static ("", 0);

  if (!post_test_nginx_available ())
    {
      g_test_skip ("nginx is not installed (nginx-light)");
      return FALSE;
    }
  post_test_nginx_init (nginx, "libpost-nginx");
  nginx->identity = identity;
  post_test_nginx_add_file (nginx, "small.txt", small);
  post_test_nginx_add_file (nginx, "empty.txt", empty);
  post_test_nginx_add_file (nginx, "big.bin", big);
  post_test_nginx_start (nginx, tls ? certs : NULL);
  return TRUE;
}

/* A libpost client fetches nginx's files: over tcp, or over tls to
 * "localhost" (the name the certificate holds), verifying it against the
 * test CA. */
static void
test_nginx (gconstpointer data)
{
  gboolean tls = GPOINTER_TO_INT (data);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) big = post_test_random_bytes (BIG_SIZE, 12345);
  g_autoptr(PostConfiguration) config = NULL;
  g_autoptr(PostRemote) remote = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  g_autofree char *value = NULL;
  const char *targets[] = { "/small.txt", "/big.bin", "/chunked/big.bin", "/missing", "/empty.txt" };
  Client c = { 0, };
  PostTestNginx nginx;

  if (!nginx_start (&nginx, big, tls, NULL))
    return;
  config = post_test_http_config (tls ? "tls" : "tcp", tls ? certs : NULL);
  if (tls)
    remote = post_remote_new ("localhost", nginx.port);
  else
    {
      g_autoptr(GSocketAddress) address = g_inet_socket_address_new_from_string ("127.0.0.1", nginx.port);

      remote = post_remote_new_for_address (address);
    }
  carrier = post_carrier_initiate (NULL, remote, config);
  if (tls)
    {
      PostTestClient established;

      post_test_client_init (&established);
      post_carrier_establish_async (carrier, NULL, post_test_established_cb, &established);
      run_until (&established.done, 1);
      g_assert_no_error (established.error);
      post_test_client_clear (&established);
      g_assert_cmpstr (post_carrier_get_stack_name (carrier), ==, "tls");
      g_assert_cmpstr (post_carrier_get_negotiated_protocol (carrier), ==, "http/1.1");
    }
  c.received = g_ptr_array_new_with_free_func (g_object_unref);

  /* Five requests pipelined, then HEAD, each answered in order */
  for (guint i = 0; i < G_N_ELEMENTS (targets); i++)
    {
      g_autoptr(PostMessage) request = request_new ("GET", targets[i], NULL);

      g_assert_true (post_carrier_send (carrier, request, &error));
      g_assert_no_error (error);
    }
  {
    g_autoptr(PostMessage) request = request_new ("HEAD", "/big.bin", NULL);

    g_assert_true (post_carrier_send (carrier, request, &error));
    g_assert_no_error (error);
  }
  for (guint i = 0; i < G_N_ELEMENTS (targets) + 1; i++)
    {
      post_carrier_receive_async (carrier, NULL, received_cb, &c);
      run_until (&c.n_done, i + 1);
      g_assert_no_error (c.error);
    }

  /* /small.txt: with its Content-Length */
  g_assert_cmpuint (status_of (c.received->pdata[0]), ==, 200);
  value = post_test_http_header (c.received->pdata[0], "Content-Length");
  g_assert_cmpstr (value, ==, "17");
  g_clear_pointer (&value, g_free);
  {
    GBytes *body = post_message_get_content (c.received->pdata[0]);

    /* cmpmem: a message's content is not NUL-terminated */
    g_assert_cmpmem (g_bytes_get_data (body, NULL), g_bytes_get_size (body),
                     "hello from nginx\n", strlen ("hello from nginx\n"));
  }
  {
    const char *version = NULL, *reason = NULL;
    gboolean keep_alive = FALSE;

    g_assert_true (post_message_lookup_metadata (c.received->pdata[0], "http-version", "&s", &version));
    g_assert_cmpstr (version, ==, "HTTP/1.1");
    g_assert_true (post_message_lookup_metadata (c.received->pdata[0], "http-reason", "&s", &reason));
    g_assert_cmpstr (reason, ==, "OK");
    g_assert_true (post_message_lookup_metadata (c.received->pdata[0], "http-keep-alive", "b", &keep_alive));
    g_assert_true (keep_alive);
  }
  /* /big.bin, then the same bytes chunked */
  g_assert_cmpuint (status_of (c.received->pdata[1]), ==, 200);
  g_assert_true (g_bytes_equal (post_message_get_content (c.received->pdata[1]), big));
  g_assert_cmpuint (status_of (c.received->pdata[2]), ==, 200);
  value = post_test_http_header (c.received->pdata[2], "Transfer-Encoding");
  g_assert_cmpstr (value, ==, "chunked");
  g_clear_pointer (&value, g_free);
  g_assert_null (post_test_http_header (c.received->pdata[2], "Content-Length"));
  g_assert_true (g_bytes_equal (post_message_get_content (c.received->pdata[2]), big));
  /* 404 has nginx's page as its body; an empty file an empty body */
  g_assert_cmpuint (status_of (c.received->pdata[3]), ==, 404);
  g_assert_nonnull (strstr (g_bytes_get_data (post_message_get_content (c.received->pdata[3]), NULL), "404"));
  g_assert_cmpuint (status_of (c.received->pdata[4]), ==, 200);
  g_assert_cmpuint (g_bytes_get_size (post_message_get_content (c.received->pdata[4])), ==, 0);
  /* HEAD: the length of the file, no body, and the connection still in step */
  g_assert_cmpuint (status_of (c.received->pdata[5]), ==, 200);
  value = post_test_http_header (c.received->pdata[5], "Content-Length");
  g_assert_cmpuint (g_ascii_strtoull (value, NULL, 10), ==, BIG_SIZE);
  g_clear_pointer (&value, g_free);
  g_assert_cmpuint (g_bytes_get_size (post_message_get_content (c.received->pdata[5])), ==, 0);

  /* The chunked big file in parts of at most 256 KiB: never held whole */
  {
    g_autoptr(PostMessage) request = request_new ("GET", "/chunked/big.bin", NULL);
    g_autoptr(GChecksum) expected = g_checksum_new (G_CHECKSUM_SHA256);

    g_assert_true (post_carrier_send (carrier, request, &error));
    c.checksum = g_checksum_new (G_CHECKSUM_SHA256);
    c.n_done = 0;
    while (!c.partial_end)
      {
        guint before = c.n_done;

        post_carrier_receive_partial_async (carrier, 1, 256 * 1024, NULL, partial_cb, &c);
        run_until (&c.n_done, before + 1);
        g_assert_no_error (c.error);
      }
    g_assert_cmpuint (c.partial_bytes, ==, BIG_SIZE);
    g_checksum_update (expected, g_bytes_get_data (big, NULL), BIG_SIZE);
    g_assert_cmpstr (g_checksum_get_string (c.checksum), ==, g_checksum_get_string (expected));
    g_assert_cmpuint (status_of (c.partial_message), ==, 200);
    g_checksum_free (c.checksum);
    g_clear_object (&c.partial_message);
  }

  /* Connection: close: nginx says so, and closes */
  {
    g_autoptr(PostMessage) request = request_new ("GET", "/small.txt",
                                                  (const char *[]) { "Connection", "close", NULL });
    gboolean keep_alive = TRUE;

    g_assert_true (post_carrier_send (carrier, request, &error));
    c.n_done = 0;
    post_carrier_receive_async (carrier, NULL, received_cb, &c);
    run_until (&c.n_done, 1);
    g_assert_no_error (c.error);
    g_assert_true (post_message_lookup_metadata (g_ptr_array_index (c.received, c.received->len - 1),
                                                 "http-keep-alive", "b", &keep_alive));
    g_assert_false (keep_alive);
    value = post_test_http_header (g_ptr_array_index (c.received, c.received->len - 1), "Connection");
    g_assert_cmpstr (value, ==, "close");
  }

  post_carrier_close (carrier);
  post_test_nginx_clear (&nginx);
  g_ptr_array_unref (c.received);
}

/* Verification is on: a client that does not trust the test CA, and one
 * that trusts it but reaches nginx by a name its certificate does not
 * hold, fail the handshake with the error that says why. */
static void
test_nginx_tls_refused (void)
{
  g_autoptr(GBytes) big = post_test_random_bytes (1024, 1);
  struct {
    const char *identity;
    gboolean    trust;
    gint        code;
  } cases[] = {
    { "server", FALSE, POST_ERROR_TLS_UNKNOWN_AUTHORITY },
    { "wrongname", TRUE, POST_ERROR_TLS_NAME_MISMATCH },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(PostConfiguration) config = post_test_http_config ("tls", certs);
      g_autoptr(PostRemote) remote = NULL;
      g_autoptr(PostCarrier) carrier = NULL;
      g_autoptr(GError) error = NULL;
      PostTestClient c;
      PostTestNginx nginx;

      if (!nginx_start (&nginx, big, TRUE, cases[i].identity))
        return;
      if (!cases[i].trust)
        {
          /* https trusting the rogue (self-signed) certificate alone */
          g_autofree char *rogue = post_test_certs_path (certs, "rogue.pem");

          g_clear_object (&config);
          config = post_test_http_config ("tls", NULL);
          g_assert_true (post_configuration_set_use_system_trust (config, FALSE, &error));
          g_assert_true (post_configuration_add_trust_anchor_file (config, rogue, &error));
          g_assert_no_error (error);
        }
      remote = post_remote_new ("localhost", nginx.port);
      carrier = post_carrier_initiate (NULL, remote, config);
      post_test_client_init (&c);
      post_carrier_establish_async (carrier, NULL, post_test_established_cb, &c);
      run_until (&c.done, 1);
      g_test_message ("%s: %s", cases[i].identity, c.error != NULL ? c.error->message : "(no error)");
      g_assert_error (c.error, POST_ERROR, cases[i].code);
      post_test_client_clear (&c);
      post_test_nginx_clear (&nginx);
    }
}

/* ---- curl against a libpost responder --------------------------------------- */

typedef struct {
  GPtrArray *carriers;      /* (element-type PostCarrier) accepted */
  GPtrArray *requests;      /* (element-type PostMessage) received */
  GBytes    *big;
  guint      n_incoming;
} Server;

static void server_receive (Server *s, PostCarrier *carrier);

static PostMessage *
response_new (guint              status,
              const char *const *extra_headers)
{
  return message_new ("Server", "libpost-test", extra_headers,
                      "http-status", g_variant_new_uint32 (status), NULL);
}

static void
sent_part_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (post_carrier_send_partial_finish (POST_CARRIER (source), result, &error));
  g_assert_no_error (error);
}

static void
server_received_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  Server *s = user_data;
  PostCarrier *carrier = POST_CARRIER (source);
  g_autoptr(GError) error = NULL;
  g_autoptr(PostMessage) request = post_carrier_receive_finish (carrier, result, &error);
  const char *method = NULL, *target = NULL;
  gboolean keep_alive = TRUE;

  if (request == NULL)
    return;  /* curl closed the connection */
  g_ptr_array_add (s->requests, g_object_ref (request));
  g_assert_true (post_message_lookup_metadata (request, "http-method", "&s", &method));
  g_assert_true (post_message_lookup_metadata (request, "http-target", "&s", &target));
  g_assert_true (post_message_lookup_metadata (request, "http-keep-alive", "b", &keep_alive));

  if (strcmp (target, "/cl") == 0)
    {
      g_autoptr(PostMessage) response = response_new (200, (const char *[]) { "Content-Type", "text/plain", NULL });

      g_autoptr(GBytes) body = g_bytes_new_static ("sized body\n", 11);

      g_assert_true (post_message_set_content (response, body, NULL));
      g_assert_true (post_carrier_send (carrier, response, &error));
    }
  else if (strcmp (target, "/chunked") == 0)
    {
      /* the big body in parts: chunked on the wire */
      g_autoptr(PostMessage) response = response_new (200, NULL);
      gsize size = g_bytes_get_size (s->big);

      for (gsize offset = 0; offset < size; offset += 1024 * 1024)
        {
          g_autoptr(GBytes) part = g_bytes_new_from_bytes (s->big, offset, MIN (1024 * 1024, size - offset));

          post_carrier_send_partial_async (carrier, response, part, offset + 1024 * 1024 >= size,
                                           NULL, sent_part_cb, NULL);
        }
    }
  else if (strcmp (target, "/echo") == 0 && strcmp (method, "POST") == 0)
    {
      g_autoptr(PostMessage) response = response_new (201, NULL);

      g_assert_true (post_message_set_content (response, post_message_get_content (request), NULL));
      g_assert_true (post_carrier_send (carrier, response, &error));
    }
  else
    {
      g_autoptr(PostMessage) response = response_new (404, NULL);

      g_autoptr(GBytes) body = g_bytes_new_static ("no\n", 3);

      g_assert_true (post_message_set_content (response, body, NULL));
      g_assert_true (post_carrier_send (carrier, response, &error));
    }
  g_assert_no_error (error);
  if (keep_alive)
    server_receive (s, carrier);
  else
    post_carrier_close (carrier);
}

static void
server_receive (Server      *s,
                PostCarrier *carrier)
{
  post_carrier_receive_async (carrier, NULL, server_received_cb, s);
}

static gboolean
on_incoming (PostCarrier *listener,
             PostCarrier *carrier,
             Server      *s)
{
  s->n_incoming++;
  g_ptr_array_add (s->carriers, g_object_ref (carrier));
  server_receive (s, carrier);
  return TRUE;
}

/* Runs curl with @tls_args then @args while the main context runs the
 * responder */
static void
run_curl (const char *const   *tls_args,
          const char *const   *args,
          PostTestCommunicate *r)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();

  g_ptr_array_add (argv, (gpointer) "curl");
  for (guint i = 0; tls_args != NULL && tls_args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) tls_args[i]);
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) args[i]);
  g_ptr_array_add (argv, NULL);
  post_test_communicate ((const char *const *) argv->pdata, 0, r, WAIT_TIMEOUT_S);
  g_assert_no_error (r->error);
  if (r->status != 0)
    g_error ("curl failed (%d): %s", r->status, r->err);
}

/* curl fetches from a libpost responder: over tcp, or https to
 * "localhost" (resolved to the responder's 127.0.0.1) verifying the
 * responder's certificate against the test CA (--cacert). */
static void
test_curl (gconstpointer data)
{
  gboolean tls = GPOINTER_TO_INT (data);
  g_autoptr(GError) error = NULL;
  g_autoptr(PostLocal) local = NULL;
  g_autoptr(PostConfiguration) config = post_test_http_config (tls ? "tls" : "tcp", NULL);
  g_autofree char *ca = post_test_certs_path (certs, "ca.pem");
  g_autofree char *resolve = NULL;
  const char *tls_args[] = { "--cacert", ca, "--resolve", NULL, NULL };
  const char *scheme = tls ? "https" : "http";
  const char *host = tls ? "localhost" : "127.0.0.1";
  const char *const *targs;
  g_autoptr(PostCarrier) listener = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *out_cl = NULL, *out_chunked = NULL, *post_path = NULL;
  g_autofree char *url_cl = NULL, *url_chunked = NULL, *url_echo = NULL;
  g_autofree char *contents = NULL;
  gsize length;
  Server s = { 0, };
  PostTestCommunicate r = { 0, };
  guint port;

  g_autofree char *curl_path = g_find_program_in_path ("curl");

  if (curl_path == NULL)
    {
      g_test_skip ("curl is not installed");
      return;
    }
  if (tls)
    local = post_test_server_local ("tls://127.0.0.1:0", certs, "server");
  else
    local = post_local_new_from_uri ("tcp://127.0.0.1:0", &error);
  g_assert_no_error (error);
  s.carriers = g_ptr_array_new_with_free_func (g_object_unref);
  s.requests = g_ptr_array_new_with_free_func (g_object_unref);
  s.big = post_test_random_bytes (BIG_SIZE, 12345);
  listener = post_carrier_listen (local, config, &error);
  g_assert_no_error (error);
  g_signal_connect (listener, "incoming", G_CALLBACK (on_incoming), &s);
  port = post_test_port_of (listener);
  url_cl = g_strdup_printf ("%s://%s:%u/cl", scheme, host, port);
  url_chunked = g_strdup_printf ("%s://%s:%u/chunked", scheme, host, port);
  url_echo = g_strdup_printf ("%s://%s:%u/echo", scheme, host, port);
  resolve = g_strdup_printf ("localhost:%u:127.0.0.1", port);
  tls_args[3] = resolve;
  targs = tls ? tls_args : NULL;
  dir = g_dir_make_tmp ("libpost-curl-XXXXXX", &error);
  g_assert_no_error (error);
  out_cl = g_build_filename (dir, "cl", NULL);
  out_chunked = g_build_filename (dir, "chunked", NULL);
  post_path = g_build_filename (dir, "post", NULL);

  /* Two URLs, one connection (keep-alive): Content-Length, then chunked */
  run_curl (targs, (const char *[]) { "-sS", "--fail", "-w", "%{http_code} %{num_connects};",
                                      url_cl, "-o", out_cl, url_chunked, "-o", out_chunked, NULL }, &r);
  g_assert_cmpstr (r.out, ==, "200 1;200 0;");
  g_assert_cmpuint (s.n_incoming, ==, 1);
  g_assert_true (g_file_get_contents (out_cl, &contents, &length, NULL));
  g_assert_cmpstr (contents, ==, "sized body\n");
  g_clear_pointer (&contents, g_free);
  g_assert_true (g_file_get_contents (out_chunked, &contents, &length, NULL));
  g_assert_cmpmem (contents, length, g_bytes_get_data (s.big, NULL), g_bytes_get_size (s.big));
  g_clear_pointer (&contents, g_free);
  post_test_communicate_clear (&r);

  /* What curl says it got: the chunked framing and the headers */
  run_curl (targs, (const char *[]) { "-sS", "--fail", "-D", "-", "-o", "/dev/null", url_chunked, NULL }, &r);
  g_assert_nonnull (strstr (r.out, "HTTP/1.1 200 OK\r\n"));
  g_assert_nonnull (strstr (r.out, "Transfer-Encoding: chunked\r\n"));
  g_assert_nonnull (strstr (r.out, "Server: libpost-test\r\n"));
  post_test_communicate_clear (&r);

  /* POST with a body, and with Expect: 100-continue: the framer sends 100
   * Continue itself (curl would otherwise wait its 1 s and send anyway:
   * -v shows whether the 100 came) */
  g_assert_true (g_file_set_contents (post_path, "posted bytes", -1, NULL));
  {
    g_autofree char *data = g_strconcat ("@", post_path, NULL);

    run_curl (targs, (const char *[]) { "-sS", "--fail", "--data-binary", data, url_echo, NULL }, &r);
    g_assert_cmpstr (r.out, ==, "posted bytes");
    post_test_communicate_clear (&r);
    run_curl (targs, (const char *[]) { "-sS", "-v", "--fail", "--expect100-timeout", "20",
                                        "-H", "Expect: 100-continue", "-H", "Connection: close",
                                        "--data-binary", data, url_echo, NULL }, &r);
    g_assert_cmpstr (r.out, ==, "posted bytes");
    if (tls)
      {
        g_assert_nonnull (strstr (r.err, "ALPN: server accepted http/1.1"));
        g_assert_nonnull (strstr (r.err, "SSL certificate verify ok"));
      }
    g_assert_nonnull (strstr (r.err, "< HTTP/1.1 100 Continue"));
    g_assert_nonnull (strstr (r.err, "< HTTP/1.1 201 Created"));
    g_assert_nonnull (strstr (r.err, "< Connection: close"));
    post_test_communicate_clear (&r);
  }
  /* curl verifies: without the test CA, it refuses the responder */
  if (tls)
    {
      post_test_communicate ((const char *[]) { "curl", "-sS", "--resolve", resolve, url_cl, NULL }, 0, &r,
                             WAIT_TIMEOUT_S);
      g_assert_no_error (r.error);
      g_assert_cmpint (r.status, ==, 60);   /* CURLE_PEER_FAILED_VERIFICATION */
      post_test_communicate_clear (&r);
    }
  {
    PostMessage *last = g_ptr_array_index (s.requests, s.requests->len - 1);
    const char *method = NULL;
    g_autofree char *expect = post_test_http_header (last, "Expect");

    g_assert_true (post_message_lookup_metadata (last, "http-method", "&s", &method));
    g_assert_cmpstr (method, ==, "POST");
    g_assert_cmpstr (expect, ==, "100-continue");
  }

  post_carrier_close (listener);
  for (guint i = 0; i < s.carriers->len; i++)
    post_carrier_close (s.carriers->pdata[i]);
  for (guint i = 0; i < 50 && g_main_context_iteration (NULL, FALSE); i++)
    ;
  g_ptr_array_unref (s.carriers);
  g_ptr_array_unref (s.requests);
  g_bytes_unref (s.big);
  g_unlink (out_cl);
  g_unlink (out_chunked);
  g_unlink (post_path);
  g_rmdir (dir);
}

int
main (int    argc,
      char **argv)
{
  int ret;

  g_test_init (&argc, &argv, NULL);

  g_test_add_data_func ("/http-interop/nginx", GINT_TO_POINTER (FALSE), test_nginx);
  g_test_add_data_func ("/http-interop/nginx-tls", GINT_TO_POINTER (TRUE), test_nginx);
  g_test_add_func ("/http-interop/nginx-tls-refused", test_nginx_tls_refused);
  g_test_add_data_func ("/http-interop/curl", GINT_TO_POINTER (FALSE), test_curl);
  g_test_add_data_func ("/http-interop/curl-tls", GINT_TO_POINTER (TRUE), test_curl);

  certs = post_test_certs_make ("libpost-http-interop");
  ret = g_test_run ();
  post_test_certs_remove (certs);
  g_free (certs);
  return ret;
}
