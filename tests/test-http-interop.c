/* test-http-interop.c: PostHttpFramer against real HTTP/1.1 peers on
 * loopback: nginx (Debian's nginx-light) serving generated files to a
 * libpost client, and curl fetching from a libpost responder.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>

#define WAIT_TIMEOUT_S 30
#define BIG_SIZE (3 * 1024 * 1024 + 123)

static gboolean
timeout_cb (gpointer user_data)
{
  g_error ("Timed out after %d s waiting for %s", WAIT_TIMEOUT_S, (const char *) user_data);
  return G_SOURCE_REMOVE;
}

static void
run_until_ (const guint *flag,
            guint        at_least,
            const char  *what)
{
  guint id = g_timeout_add_seconds (WAIT_TIMEOUT_S, timeout_cb, (gpointer) what);

  while (*flag < at_least)
    g_main_context_iteration (NULL, TRUE);
  g_source_remove (id);
}
#define run_until(flag, n) run_until_ ((const guint *) (flag), (n), #flag)

static guint16
free_port (void)
{
  g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                            G_SOCKET_PROTOCOL_TCP, NULL);
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;

  g_assert_true (g_socket_bind (socket, any, FALSE, NULL));
  bound = g_socket_get_local_address (socket, NULL);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
}

static GBytes *
make_big (void)
{
  guint8 *data = g_malloc (BIG_SIZE);
  guint32 state = 12345;

  for (gsize i = 0; i < BIG_SIZE; i++)
    {
      state = state * 1103515245u + 12345u;
      data[i] = state >> 24;
    }
  return g_bytes_new_take (data, BIG_SIZE);
}

static PostConfiguration *
http_configuration (void)
{
  g_autoptr(PostConfiguration) config = post_configuration_new ();
  g_autoptr(GError) error = NULL;

  g_assert_true (post_configuration_set_framer_type (config, POST_TYPE_HTTP_FRAMER, &error));
  g_assert_no_error (error);
  g_assert_true (post_configuration_set_stacks (config, (const char *[]) { "tcp", NULL }, NULL));
  return g_steal_pointer (&config);
}

/* The first header field @name (case-insensitive) of @message, or NULL */
static char *
header (PostMessage *message,
        const char  *name)
{
  g_autoptr(GVariant) headers = post_message_lookup_metadata_value (message, "http-headers",
                                                                    G_VARIANT_TYPE ("a(ss)"));
  GVariantIter iter;
  const char *n, *v;

  g_assert_nonnull (headers);
  g_variant_iter_init (&iter, headers);
  while (g_variant_iter_next (&iter, "(&s&s)", &n, &v))
    if (g_ascii_strcasecmp (n, name) == 0)
      return g_strdup (v);
  return NULL;
}

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

static GSubprocess *
start_nginx (const char *dir,
             guint16     port)
{
  g_autofree char *www = g_build_filename (dir, "www", NULL);
  g_autofree char *conf_path = g_build_filename (dir, "nginx.conf", NULL);
  g_autofree char *log = g_build_filename (dir, "error.log", NULL);
  g_autofree char *conf = g_strdup_printf (
    "daemon off;\nmaster_process off;\nworker_processes 1;\n"
    "error_log %s/error.log;\npid %s/nginx.pid;\n"
    "events { worker_connections 64; }\n"
    "http {\n"
    "  access_log off;\n"
    "  client_body_temp_path %s/tmp; proxy_temp_path %s/tmp; fastcgi_temp_path %s/tmp;\n"
    "  uwsgi_temp_path %s/tmp; scgi_temp_path %s/tmp;\n"
    "  default_type application/octet-stream;\n"
    "  gzip off;\n"
    "  server {\n"
    "    listen 127.0.0.1:%u;\n"
    "    root %s;\n"
    /* sub_filter drops the Content-Length: these responses are chunked */
    "    location /chunked/ { alias %s/; sub_filter_types *; sub_filter '@@libpost-never@@' 'x';"
    " sub_filter_once off; }\n"
    "  }\n"
    "}\n", dir, dir, dir, dir, dir, dir, dir, port, www, www);
  g_autoptr(GError) error = NULL;
  GSubprocess *nginx;

  g_assert_true (g_file_set_contents (conf_path, conf, -1, &error));
  nginx = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE, &error,
                            "nginx", "-p", dir, "-c", conf_path, "-e", log, NULL);
  g_assert_no_error (error);
  /* Ready once it accepts */
  for (guint i = 0; i < 200; i++)
    {
      g_autoptr(GSocketClient) client = g_socket_client_new ();
      g_autoptr(GSocketConnection) connection = g_socket_client_connect_to_host (client, "127.0.0.1", port,
                                                                                 NULL, NULL);

      if (connection != NULL)
        return nginx;
      g_usleep (50 * 1000);
    }
  {
    g_autofree char *text = NULL;

    g_file_get_contents (log, &text, NULL, NULL);
    g_error ("nginx did not start on port %u: %s", port, text ? text : "(no log)");
  }
  return NULL;
}

static void
test_nginx (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *www = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GBytes) big = make_big ();
  g_autoptr(GSubprocess) nginx = NULL;
  g_autoptr(PostConfiguration) config = NULL;
  g_autoptr(PostRemote) remote = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  g_autofree char *value = NULL;
  const char *targets[] = { "/small.txt", "/big.bin", "/chunked/big.bin", "/missing", "/empty.txt" };
  Client c = { 0, };
  guint16 port;

  g_autofree char *nginx_path = g_find_program_in_path ("nginx");

  if (nginx_path == NULL && !g_file_test ("/usr/sbin/nginx", G_FILE_TEST_EXISTS))
    {
      g_test_skip ("nginx is not installed (nginx-light)");
      return;
    }
  dir = g_dir_make_tmp ("libpost-nginx-XXXXXX", &error);
  g_assert_no_error (error);
  www = g_build_filename (dir, "www", NULL);
  g_assert_cmpint (g_mkdir (www, 0700), ==, 0);
  path = g_build_filename (dir, "tmp", NULL);
  g_assert_cmpint (g_mkdir (path, 0700), ==, 0);
  g_free (path);
  path = g_build_filename (www, "small.txt", NULL);
  g_assert_true (g_file_set_contents (path, "hello from nginx\n", -1, NULL));
  g_free (path);
  path = g_build_filename (www, "empty.txt", NULL);
  g_assert_true (g_file_set_contents (path, "", 0, NULL));
  g_free (path);
  path = g_build_filename (www, "big.bin", NULL);
  g_assert_true (g_file_set_contents (path, g_bytes_get_data (big, NULL), BIG_SIZE, NULL));

  port = free_port ();
  {
    g_autofree char *sbin = g_find_program_in_path ("nginx");

    if (sbin == NULL)
      g_setenv ("PATH", "/usr/sbin:/usr/bin:/bin", TRUE);
  }
  nginx = start_nginx (dir, port);

  config = http_configuration ();
  address = g_inet_socket_address_new_from_string ("127.0.0.1", port);
  remote = post_remote_new_for_address (address);
  carrier = post_carrier_initiate (NULL, remote, config);
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
  value = header (c.received->pdata[0], "Content-Length");
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
  value = header (c.received->pdata[2], "Transfer-Encoding");
  g_assert_cmpstr (value, ==, "chunked");
  g_clear_pointer (&value, g_free);
  g_assert_null (header (c.received->pdata[2], "Content-Length"));
  g_assert_true (g_bytes_equal (post_message_get_content (c.received->pdata[2]), big));
  /* 404 has nginx's page as its body; an empty file an empty body */
  g_assert_cmpuint (status_of (c.received->pdata[3]), ==, 404);
  g_assert_nonnull (strstr (g_bytes_get_data (post_message_get_content (c.received->pdata[3]), NULL), "404"));
  g_assert_cmpuint (status_of (c.received->pdata[4]), ==, 200);
  g_assert_cmpuint (g_bytes_get_size (post_message_get_content (c.received->pdata[4])), ==, 0);
  /* HEAD: the length of the file, no body, and the connection still in step */
  g_assert_cmpuint (status_of (c.received->pdata[5]), ==, 200);
  value = header (c.received->pdata[5], "Content-Length");
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
    value = header (g_ptr_array_index (c.received, c.received->len - 1), "Connection");
    g_assert_cmpstr (value, ==, "close");
  }

  post_carrier_close (carrier);
  g_subprocess_send_signal (nginx, SIGTERM);
  g_assert_true (g_subprocess_wait (nginx, NULL, NULL));
  g_ptr_array_unref (c.received);
  {
    g_autofree char *command = g_strdup_printf ("rm -rf '%s'", dir);

    g_assert_true (g_spawn_command_line_sync (command, NULL, NULL, NULL, NULL));
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

typedef struct {
  guint  done;
  char  *out;
  char  *err;
  gint   status;
} Run;

static void
communicated_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Run *r = user_data;
  g_autoptr(GError) error = NULL;

  g_assert_true (g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result, &r->out, &r->err, &error));
  g_assert_no_error (error);
  r->status = g_subprocess_get_exit_status (G_SUBPROCESS (source));
  r->done = 1;
}

/* Runs curl with @argv while the main context runs the responder */
static void
run_curl (const char *const *argv,
          Run                *r)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) curl = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                                                   &error);

  g_assert_no_error (error);
  g_subprocess_communicate_utf8_async (curl, NULL, NULL, communicated_cb, r);
  run_until (&r->done, 1);
  if (r->status != 0)
    g_error ("curl failed (%d): %s", r->status, r->err);
}

static void
run_clear (Run *r)
{
  g_clear_pointer (&r->out, g_free);
  g_clear_pointer (&r->err, g_free);
  r->done = 0;
}

static void
test_curl (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostLocal) local = post_local_new_from_uri ("tcp://127.0.0.1:0", &error);
  g_autoptr(PostConfiguration) config = http_configuration ();
  g_autoptr(PostCarrier) listener = NULL;
  g_autofree char *dir = NULL;
  g_autofree char *out_cl = NULL, *out_chunked = NULL, *post_path = NULL;
  g_autofree char *url_cl = NULL, *url_chunked = NULL, *url_echo = NULL;
  g_autofree char *contents = NULL;
  gsize length;
  Server s = { 0, };
  Run r = { 0, };
  guint port;

  g_autofree char *curl_path = g_find_program_in_path ("curl");

  if (curl_path == NULL)
    {
      g_test_skip ("curl is not installed");
      return;
    }
  g_assert_no_error (error);
  s.carriers = g_ptr_array_new_with_free_func (g_object_unref);
  s.requests = g_ptr_array_new_with_free_func (g_object_unref);
  s.big = make_big ();
  listener = post_carrier_listen (local, config, &error);
  g_assert_no_error (error);
  g_signal_connect (listener, "incoming", G_CALLBACK (on_incoming), &s);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (post_carrier_get_local_address (listener)));
  url_cl = g_strdup_printf ("http://127.0.0.1:%u/cl", port);
  url_chunked = g_strdup_printf ("http://127.0.0.1:%u/chunked", port);
  url_echo = g_strdup_printf ("http://127.0.0.1:%u/echo", port);
  dir = g_dir_make_tmp ("libpost-curl-XXXXXX", &error);
  g_assert_no_error (error);
  out_cl = g_build_filename (dir, "cl", NULL);
  out_chunked = g_build_filename (dir, "chunked", NULL);
  post_path = g_build_filename (dir, "post", NULL);

  /* Two URLs, one connection (keep-alive): Content-Length, then chunked */
  run_curl ((const char *[]) { "curl", "-sS", "--fail", "-w", "%{http_code} %{num_connects};",
                               url_cl, "-o", out_cl, url_chunked, "-o", out_chunked, NULL }, &r);
  g_assert_cmpstr (r.out, ==, "200 1;200 0;");
  g_assert_cmpuint (s.n_incoming, ==, 1);
  g_assert_true (g_file_get_contents (out_cl, &contents, &length, NULL));
  g_assert_cmpstr (contents, ==, "sized body\n");
  g_clear_pointer (&contents, g_free);
  g_assert_true (g_file_get_contents (out_chunked, &contents, &length, NULL));
  g_assert_cmpmem (contents, length, g_bytes_get_data (s.big, NULL), g_bytes_get_size (s.big));
  g_clear_pointer (&contents, g_free);
  run_clear (&r);

  /* What curl says it got: the chunked framing and the headers */
  run_curl ((const char *[]) { "curl", "-sS", "--fail", "-D", "-", "-o", "/dev/null", url_chunked, NULL }, &r);
  g_assert_nonnull (strstr (r.out, "HTTP/1.1 200 OK\r\n"));
  g_assert_nonnull (strstr (r.out, "Transfer-Encoding: chunked\r\n"));
  g_assert_nonnull (strstr (r.out, "Server: libpost-test\r\n"));
  run_clear (&r);

  /* POST with a body, and with Expect: 100-continue: the framer sends 100
   * Continue itself (curl would otherwise wait its 1 s and send anyway:
   * -v shows whether the 100 came) */
  g_assert_true (g_file_set_contents (post_path, "posted bytes", -1, NULL));
  {
    g_autofree char *data = g_strconcat ("@", post_path, NULL);

    run_curl ((const char *[]) { "curl", "-sS", "--fail", "--data-binary", data, url_echo, NULL }, &r);
    g_assert_cmpstr (r.out, ==, "posted bytes");
    run_clear (&r);
    run_curl ((const char *[]) { "curl", "-sS", "-v", "--fail", "--expect100-timeout", "20",
                                 "-H", "Expect: 100-continue", "-H", "Connection: close",
                                 "--data-binary", data, url_echo, NULL }, &r);
    g_assert_cmpstr (r.out, ==, "posted bytes");
    g_assert_nonnull (strstr (r.err, "< HTTP/1.1 100 Continue"));
    g_assert_nonnull (strstr (r.err, "< HTTP/1.1 201 Created"));
    g_assert_nonnull (strstr (r.err, "< Connection: close"));
    run_clear (&r);
  }
  {
    PostMessage *last = g_ptr_array_index (s.requests, s.requests->len - 1);
    const char *method = NULL;
    g_autofree char *expect = header (last, "Expect");

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
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/http-interop/nginx", test_nginx);
  g_test_add_func ("/http-interop/curl", test_curl);

  return g_test_run ();
}
