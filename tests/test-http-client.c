/* test-http-client.c: PostHttpClient against real servers on loopback:
 * https:// raced over tls+HTTP/1.1 and quic+HTTP/3 against ngtcp2's
 * gtlsserver (HTTP/3 only: quic wins) and nginx over tls (no HTTP/3: tls
 * wins), and http:// against nginx (tcp); the winner's stack, ALPN and
 * protocol are checked, and the bodies byte for byte.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <signal.h>
#include <glib/gstdio.h>
#include <string.h>
#include <post.h>

#include "post-test-util.h"

#define WAIT_TIMEOUT_S 30
#define BIG_SIZE       (3 * 1024 * 1024 + 12345)

static char *certs;    /* the test certificates */
static GBytes *big;

/* ---- one exchange, waited for ----------------------------------------------- */

typedef struct {
  guint        done;
  PostMessage *response;
  GBytes      *part;
  gboolean     end;
  GError      *error;
} Step;

static void
response_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Step *step = user_data;

  step->response = post_http_client_request_finish (POST_HTTP_CLIENT (source), result, &step->error);
  step->done++;
}

static void
part_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Step *step = user_data;

  step->part = post_http_client_read_body_finish (POST_HTTP_CLIENT (source), result, &step->end, &step->error);
  step->done++;
}

/* GET @target: the response (its status in *@status) and its whole body,
 * read part by part; no part is larger than POST_HTTP_CLIENT_READ_SIZE */
static PostMessage *
get (PostHttpClient *client,
     const char     *target,
     guint          *status,
     GBytes        **body)
{
  g_autoptr(PostMessage) request = post_message_new_from_data ("", 0);
  g_autoptr(GByteArray) all = g_byte_array_new ();
  Step step = { 0, };
  PostMessage *response;

  if (target != NULL)
    g_assert_true (post_message_set_metadata (request, g_variant_new_parsed ("{'http-target': <%s>}", target),
                                              NULL));
  post_http_client_request_async (client, request, NULL, response_cb, &step);
  post_test_wait_count (&step.done, 1, "the response's head", WAIT_TIMEOUT_S);
  g_assert_no_error (step.error);
  response = g_steal_pointer (&step.response);
  g_assert_true (post_message_lookup_metadata (response, "http-status", "u", status));
  for (;;)
    {
      step.done = 0;
      post_http_client_read_body_async (client, response, NULL, part_cb, &step);
      post_test_wait_count (&step.done, 1, "a part of the body", WAIT_TIMEOUT_S);
      g_assert_no_error (step.error);
      g_assert_cmpuint (g_bytes_get_size (step.part), <=, POST_HTTP_CLIENT_READ_SIZE);
      g_assert_true (g_bytes_get_size (step.part) > 0 || step.end);
      g_byte_array_append (all, g_bytes_get_data (step.part, NULL), g_bytes_get_size (step.part));
      g_clear_pointer (&step.part, g_bytes_unref);
      if (step.end)
        break;
    }
  *body = g_byte_array_free_to_bytes (g_steal_pointer (&all));
  return response;
}

static void
assert_body (GBytes *body,
             GBytes *expected)
{
  g_assert_cmpmem (g_bytes_get_data (body, NULL), g_bytes_get_size (body),
                   g_bytes_get_data (expected, NULL), g_bytes_get_size (expected));
}

static PostHttpClient *
client_for (const char *uri)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostRemote) remote = post_remote_new_from_uri (uri, &error);
  g_autoptr(PostConfiguration) config = post_test_client_config (certs);

  g_assert_no_error (error);
  /* Bodies (3 MiB) far larger than what a whole message may be: they
   * must stream, over HTTP/1.1 and HTTP/3 alike */
  g_assert_true (post_configuration_set_recv_msg_max_len (config, 256 * 1024, NULL));
  return post_http_client_new (remote, config);
}

/* The file twice and a missing one on one connection, then the winner */
static void
check_exchanges (PostHttpClient *client,
                 const char     *stack,
                 const char     *alpn,
                 const char     *version)
{
  PostCarrier *carrier;

  for (guint i = 0; i < 3; i++)
    {
      g_autoptr(PostMessage) response = NULL;
      g_autoptr(GBytes) body = NULL;
      const char *got_version = NULL;
      guint status = 0;

      response = get (client, i == 1 ? "/missing" : "/big.bin", &status, &body);
      g_assert_cmpuint (status, ==, i == 1 ? 404 : 200);
      g_assert_true (post_message_lookup_metadata (response, "http-version", "&s", &got_version));
      g_assert_cmpstr (got_version, ==, version);
      if (i != 1)
        {
          g_autofree char *length = post_test_http_header (response, "content-length");

          g_assert_cmpuint (g_ascii_strtoull (length, NULL, 10), ==, BIG_SIZE);
          assert_body (body, big);
        }
    }
  carrier = post_http_client_get_carrier (client);
  g_assert_nonnull (carrier);
  g_assert_cmpstr (post_carrier_get_stack_name (carrier), ==, stack);
  g_assert_cmpstr (post_carrier_get_negotiated_protocol (carrier), ==, alpn);
  g_assert_cmpstr (post_http_client_get_protocol (client), ==, alpn != NULL ? alpn : "http/1.1");
}

/* ---- https:// against gtlsserver: quic with h3 wins ---------------------------- */

static void
test_gtlsserver (void)
{
  g_autofree char *path = g_find_program_in_path ("gtlsserver");
  g_autofree char *htdocs = NULL;
  g_autofree char *file = NULL;
  g_autofree char *key = post_test_certs_path (certs, "server.key");
  g_autofree char *cert = post_test_certs_path (certs, "server.pem");
  g_autofree char *port_s = NULL;
  g_autofree char *uri = NULL;
  g_autoptr(GSubprocess) server = NULL;
  g_autoptr(PostHttpClient) client = NULL;
  g_autoptr(GError) error = NULL;
  guint16 port;

  if (path == NULL)
    {
      g_test_skip ("gtlsserver (ngtcp2-server) is not installed");
      return;
    }
  htdocs = g_dir_make_tmp ("post-http-client-XXXXXX", &error);
  g_assert_no_error (error);
  file = g_build_filename (htdocs, "big.bin", NULL);
  g_assert_true (g_file_set_contents (file, g_bytes_get_data (big, NULL), BIG_SIZE, &error));
  port = post_test_free_port (G_SOCKET_TYPE_DATAGRAM);
  port_s = g_strdup_printf ("%u", port);
  server = post_test_spawn ((const char *[]) { "gtlsserver", "-q", "-d", htdocs, "127.0.0.1", port_s,
                                               key, cert, NULL },
                            G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  post_test_wait_listening (server, G_SOCKET_TYPE_DATAGRAM, port, NULL, WAIT_TIMEOUT_S);

  /* Nothing listens on TCP: the tls candidate is refused, quic wins */
  uri = g_strdup_printf ("https://127.0.0.1:%u/", port);
  client = client_for (uri);
  g_assert_null (post_http_client_get_protocol (client));
  check_exchanges (client, "quic", "h3", "HTTP/3");

  post_http_client_close (client);
  post_test_kill (server);
  g_unlink (file);
  g_rmdir (htdocs);
}

/* ---- nginx: https:// over tls (no HTTP/3: tls wins), http:// over tcp ---------- */

static void
test_nginx (gconstpointer data)
{
  gboolean secure = GPOINTER_TO_INT (data);
  g_autoptr(PostHttpClient) client = NULL;
  g_autofree char *uri = NULL;
  PostTestNginx nginx;

  if (!post_test_nginx_available ())
    {
      g_test_skip ("nginx is not installed (nginx-light)");
      return;
    }
  post_test_nginx_init (&nginx, "post-http-client-nginx");
  post_test_nginx_add_file (&nginx, "big.bin", big);
  post_test_nginx_start (&nginx, secure ? certs : NULL);

  uri = g_strdup_printf ("%s://127.0.0.1:%u/", secure ? "https" : "http", nginx.port);
  client = client_for (uri);
  /* https: tls offers http/1.1 alone (no h2: the client would not speak it) */
  check_exchanges (client, secure ? "tls" : "tcp", secure ? "http/1.1" : NULL, "HTTP/1.1");

  post_http_client_close (client);
  post_test_nginx_clear (&nginx);
}

/* ---- a tls server that prefers h2: the client offers http/1.1 alone ---------- */

static void
test_no_h2 (void)
{
  guint16 port = post_test_free_port (G_SOCKET_TYPE_STREAM);
  g_autofree char *port_s = g_strdup_printf ("%u", port);
  g_autofree char *cert = post_test_certs_path (certs, "server.pem");
  g_autofree char *key = post_test_certs_path (certs, "server.key");
  g_autofree char *uri = g_strdup_printf ("https://127.0.0.1:%u/", port);
  g_autoptr(GSubprocess) peer = NULL;
  g_autoptr(PostHttpClient) client = NULL;
  g_autoptr(PostMessage) response = NULL;
  g_autoptr(GBytes) body = NULL;
  guint status = 0;

  /* gnutls-serv --http answers every GET with a page about the session */
  peer = post_test_spawn ((const char *[]) { "gnutls-serv", "--http", "-p", port_s, "--x509certfile", cert,
                                             "--x509keyfile", key, "--alpn", "h2", "--alpn", "http/1.1",
                                             NULL },
                          G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  post_test_wait_listening (peer, G_SOCKET_TYPE_STREAM, port, NULL, WAIT_TIMEOUT_S);
  client = client_for (uri);
  response = get (client, NULL, &status, &body);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpuint (g_bytes_get_size (body), >, 0);
  g_assert_cmpstr (post_carrier_get_negotiated_protocol (post_http_client_get_carrier (client)), ==, "http/1.1");
  post_http_client_close (client);
  post_test_kill (peer);
}

/* ---- the remote's path is the default target ---------------------------------- */

static void
test_defaults (void)
{
  g_autoptr(PostHttpClient) client = NULL;
  g_autoptr(PostMessage) response = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autofree char *uri = NULL;
  PostTestNginx nginx;
  guint status = 0;

  if (!post_test_nginx_available ())
    {
      g_test_skip ("nginx is not installed (nginx-light)");
      return;
    }
  post_test_nginx_init (&nginx, "post-http-client-nginx");
  post_test_nginx_add_file (&nginx, "big.bin", big);
  post_test_nginx_start (&nginx, NULL);
  uri = g_strdup_printf ("http://127.0.0.1:%u/big.bin", nginx.port);
  client = client_for (uri);
  response = get (client, NULL, &status, &body);
  g_assert_cmpuint (status, ==, 200);
  assert_body (body, big);
  post_http_client_close (client);
  post_test_nginx_clear (&nginx);
}

/* ---- nothing listens: the request fails with the establishment's error ------------ */

static void
test_refused (void)
{
  g_autoptr(PostHttpClient) client = NULL;
  g_autoptr(PostMessage) request = post_message_new_from_data ("", 0);
  g_autofree char *uri = NULL;
  Step step = { 0, };

  uri = g_strdup_printf ("https://127.0.0.1:%u/", post_test_free_port (G_SOCKET_TYPE_STREAM));
  client = client_for (uri);
  post_http_client_request_async (client, request, NULL, response_cb, &step);
  post_test_wait_count (&step.done, 1, "the failure", WAIT_TIMEOUT_S);
  g_assert_null (step.response);
  g_assert_nonnull (step.error);
  g_test_message ("%s", step.error->message);
  /* The report names the ALPN ids offered: those the client speaks */
  if (strstr (step.error->message, "gives tls with ALPN h2, http/1.1; offered http/1.1, the ids the "
                                   "configuration frames") == NULL)
    g_error ("the report does not say what tls offered: %s", step.error->message);
  g_assert_null (post_http_client_get_protocol (client));
  g_clear_error (&step.error);

  /* Later requests fail the same way, at once */
  step.done = 0;
  post_http_client_request_async (client, request, NULL, response_cb, &step);
  post_test_wait_count (&step.done, 1, "the second failure", WAIT_TIMEOUT_S);
  g_assert_nonnull (step.error);
  g_clear_error (&step.error);

  /* After close: POST_ERROR_CLOSED */
  post_http_client_close (client);
  step.done = 0;
  post_http_client_request_async (client, request, NULL, response_cb, &step);
  post_test_wait_count (&step.done, 1, "the closed client's answer", WAIT_TIMEOUT_S);
  g_assert_error (step.error, POST_ERROR, POST_ERROR_CLOSED);
  g_clear_error (&step.error);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  signal (SIGPIPE, SIG_IGN);
  g_test_init (&argc, &argv, NULL);
  if (!post_test_have_stack ("quic") || !post_test_have_stack ("tls"))
    {
      g_test_skip ("the quic and tls plugins are not built");
      return g_test_run ();
    }
  certs = post_test_certs_make ("post-http-client");
  big = post_test_random_bytes (BIG_SIZE, 4242);
  g_test_add_func ("/http-client/https/gtlsserver-h3", test_gtlsserver);
  g_test_add_data_func ("/http-client/https/nginx-tls", GINT_TO_POINTER (TRUE), test_nginx);
  g_test_add_data_func ("/http-client/http/nginx-tcp", GINT_TO_POINTER (FALSE), test_nginx);
  g_test_add_func ("/http-client/https/no-h2", test_no_h2);
  g_test_add_func ("/http-client/defaults", test_defaults);
  g_test_add_func ("/http-client/refused", test_refused);
  ret = g_test_run ();
  g_bytes_unref (big);
  post_test_certs_remove (certs);
  g_free (certs);
  return ret;
}
