/* test-http3.c: PostHttp3Session against ngtcp2's gtlsserver (HTTP/3 with
 * nghttp3), started on a free loopback UDP port serving generated files
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

static char *dir;      /* the test certificates */
static char *htdocs;   /* gtlsserver's document root */
static GBytes *big;    /* htdocs/big.bin */

typedef struct
{
  guint        done;
  PostMessage *response;
  GError      *error;
} Response;

static void
response_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Response *r = user_data;

  r->response = post_http3_session_request_finish (POST_HTTP3_SESSION (source), result, &r->error);
  r->done++;
}

static void
response_clear (Response *r)
{
  g_clear_object (&r->response);
  g_clear_error (&r->error);
  r->done = 0;
}

static PostMessage *
get_request (const char *target)
{
  PostMessage *request = post_message_new (NULL);
  GVariantBuilder meta, headers;

  g_variant_builder_init (&headers, G_VARIANT_TYPE ("a(ss)"));
  g_variant_builder_add (&headers, "(ss)", "User-Agent", "libpost-test");
  g_variant_builder_init (&meta, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&meta, "{sv}", "http-method", g_variant_new_string ("GET"));
  g_variant_builder_add (&meta, "{sv}", "http-target", g_variant_new_string (target));
  g_variant_builder_add (&meta, "{sv}", "http-headers", g_variant_builder_end (&headers));
  g_assert_true (post_message_set_metadata (request, g_variant_builder_end (&meta), NULL));
  return request;
}

static GSubprocess *
start_gtlsserver (guint16 *port)
{
  g_autofree char *key = post_test_certs_path (dir, "server.key");
  g_autofree char *cert = post_test_certs_path (dir, "server.pem");
  g_autofree char *port_s = NULL;
  GSubprocess *server;

  *port = post_test_free_port (G_SOCKET_TYPE_DATAGRAM);
  port_s = g_strdup_printf ("%u", *port);
  server = post_test_spawn ((const char *[]) { "gtlsserver", "-q", "-d", htdocs, "127.0.0.1", port_s,
                                               key, cert, NULL },
                            G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  post_test_wait_listening (server, G_SOCKET_TYPE_DATAGRAM, *port, NULL, WAIT_TIMEOUT_S);
  return server;
}

/* A carrier to @port (ALPN h3, stream framing; @max_len the
 * recv-msg-max-len, 0 for the default). */
static PostCarrier *
establish_max (guint16 port,
               gsize   max_len)
{
  g_autoptr(PostConfiguration) config = post_test_client_config (dir);
  g_autoptr(GError) error = NULL;
  PostCarrier *carrier;
  PostTestClient c;

  if (max_len != 0)
    g_assert_true (post_configuration_set_recv_msg_max_len (config, max_len, &error));
  g_assert_true (post_configuration_set_alpn (config, (const char *[]) { "h3", NULL }, &error));
  g_assert_true (post_configuration_set_framing (config, POST_FRAMING_STREAM, &error));
  g_assert_no_error (error);
  post_test_client_init (&c);
  carrier = post_test_initiate ("quic", port, config);
  post_carrier_establish_async (carrier, NULL, post_test_established_cb, &c);
  post_test_wait_count (&c.done, 1, "the handshake with gtlsserver", WAIT_TIMEOUT_S);
  g_assert_no_error (c.error);
  g_assert_cmpstr (post_carrier_get_negotiated_protocol (carrier), ==, "h3");
  post_test_client_clear (&c);
  return carrier;
}

static PostCarrier *
establish (guint16 port)
{
  return establish_max (port, 0);
}

/* gtlsserver started, a carrier to it and a session on that, or NULL
 * (the test skipped) without gtlsserver. */
static PostHttp3Session *
gtlsserver_session_max (GSubprocess **server,
                        PostCarrier **carrier,
                        gsize         max_len)
{
  g_autofree char *path = g_find_program_in_path ("gtlsserver");
  g_autoptr(GError) error = NULL;
  PostHttp3Session *session;
  guint16 port;

  if (path == NULL)
    {
      g_test_skip ("gtlsserver (ngtcp2-server) is not installed");
      return NULL;
    }
  *server = start_gtlsserver (&port);
  *carrier = establish_max (port, max_len);
  session = post_http3_session_new (*carrier, &error);
  g_assert_no_error (error);
  return session;
}

static PostHttp3Session *
gtlsserver_session (GSubprocess **server,
                    PostCarrier **carrier)
{
  return gtlsserver_session_max (server, carrier, 0);
}

/* A file of a few MB, then a missing one, then the file again on the same
 * connection (a forked request stream each). */
static void
test_gtlsserver_download (void)
{
  g_autoptr(GSubprocess) server = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(PostHttp3Session) session = NULL;
  g_autofree char *length = NULL;
  GBytes *body;
  Response r = { 0 };
  guint32 status = 0;
  guint i;

  if ((session = gtlsserver_session (&server, &carrier)) == NULL)
    return;
  g_assert_true (post_http3_session_get_carrier (session) == carrier);

  for (i = 0; i < 2; i++)
    {
      g_autoptr(PostMessage) request = get_request ("/big.bin");
      g_autoptr(PostMessage) missing = get_request ("/no-such-file");

      post_http3_session_request_async (session, request, NULL, response_cb, &r);
      post_test_wait_count (&r.done, 1, "the response for /big.bin", WAIT_TIMEOUT_S);
      g_assert_no_error (r.error);
      g_assert_true (post_message_lookup_metadata (r.response, "http-status", "u", &status));
      g_assert_cmpuint (status, ==, 200);
      length = post_test_http_header (r.response, "content-length");
      g_assert_nonnull (length);
      g_assert_cmpuint (g_ascii_strtoull (length, NULL, 10), ==, BIG_SIZE);
      g_clear_pointer (&length, g_free);
      body = post_message_get_content (r.response);
      g_assert_true (g_bytes_equal (body, big));
      response_clear (&r);

      post_http3_session_request_async (session, missing, NULL, response_cb, &r);
      post_test_wait_count (&r.done, 1, "the response for /no-such-file", WAIT_TIMEOUT_S);
      g_assert_no_error (r.error);
      g_assert_true (post_message_lookup_metadata (r.response, "http-status", "u", &status));
      g_assert_cmpuint (status, ==, 404);
      response_clear (&r);
    }
  post_http3_session_close (session);
  post_carrier_abort (carrier);
  post_test_kill (server);
}

/* Several requests at once, before the control streams are even open. */
static void
test_gtlsserver_concurrent (void)
{
  g_autoptr(GSubprocess) server = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(PostHttp3Session) session = NULL;
  Response r[4] = { 0 };
  guint i;

  if ((session = gtlsserver_session (&server, &carrier)) == NULL)
    return;
  for (i = 0; i < G_N_ELEMENTS (r); i++)
    {
      g_autoptr(PostMessage) request = get_request (i % 2 ? "/small.txt" : "/big.bin");

      post_http3_session_request_async (session, request, NULL, response_cb, &r[i]);
    }
  for (i = 0; i < G_N_ELEMENTS (r); i++)
    {
      guint32 status = 0;
      GBytes *body;

      post_test_wait_count (&r[i].done, 1, "a response", WAIT_TIMEOUT_S);
      g_assert_no_error (r[i].error);
      g_assert_true (post_message_lookup_metadata (r[i].response, "http-status", "u", &status));
      g_assert_cmpuint (status, ==, 200);
      body = post_message_get_content (r[i].response);
      if (i % 2)
        g_assert_cmpmem (g_bytes_get_data (body, NULL), g_bytes_get_size (body), "hello, HTTP/3\n", 14);
      else
        g_assert_true (g_bytes_equal (body, big));
      response_clear (&r[i]);
    }
  post_http3_session_close (session);
  post_carrier_abort (carrier);
  post_test_kill (server);
}

/* A body larger than recv-msg-max-len (1 MiB) for a whole receive: that
 * request fails with POST_ERROR_MESSAGE_TOO_LARGE (its stream reset), the
 * connection goes on. */
static void
test_gtlsserver_too_large (void)
{
  g_autoptr(GSubprocess) server = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(PostHttp3Session) session = NULL;
  g_autoptr(PostMessage) request = get_request ("/big.bin");
  g_autoptr(PostMessage) small = get_request ("/small.txt");
  Response r = { 0 };
  GBytes *body;

  if ((session = gtlsserver_session_max (&server, &carrier, 1024 * 1024)) == NULL)
    return;
  post_http3_session_request_async (session, request, NULL, response_cb, &r);
  post_test_wait_count (&r.done, 1, "the response for /big.bin", WAIT_TIMEOUT_S);
  g_test_message ("%s", r.error ? r.error->message : "(no error)");
  g_assert_error (r.error, POST_ERROR, POST_ERROR_MESSAGE_TOO_LARGE);
  g_assert_null (r.response);
  g_assert_cmpuint (post_http3_session_get_receive_queue_size (session), ==, 0);
  response_clear (&r);

  post_http3_session_request_async (session, small, NULL, response_cb, &r);
  post_test_wait_count (&r.done, 1, "the response for /small.txt", WAIT_TIMEOUT_S);
  g_assert_no_error (r.error);
  body = post_message_get_content (r.response);
  g_assert_cmpmem (g_bytes_get_data (body, NULL), g_bytes_get_size (body), "hello, HTTP/3\n", 14);
  response_clear (&r);
  post_http3_session_close (session);
  post_carrier_abort (carrier);
  post_test_kill (server);
}

typedef struct
{
  guint      done;
  GBytes    *part;
  gboolean   end;
  GError    *error;
} Part;

static void
part_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Part *p = user_data;

  p->part = post_http3_session_receive_partial_finish (POST_HTTP3_SESSION (source), result, &p->end, &p->error);
  p->done++;
}

/* The file as partial messages of at most 16 KiB, with a receive limit
 * (64 KiB) far below its size: the SHA-256 of the parts is the file's, and
 * while the application does not read, the session holds a bounded part
 * of the body (the stream is not read, so its flow-control window stops
 * gtlsserver). */
static void
test_gtlsserver_partial (void)
{
  g_autoptr(GSubprocess) server = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(PostHttp3Session) session = NULL;
  g_autoptr(PostMessage) request = get_request ("/big.bin");
  g_autoptr(GChecksum) expected = g_checksum_new (G_CHECKSUM_SHA256);
  g_autoptr(GChecksum) got = g_checksum_new (G_CHECKSUM_SHA256);
  g_autoptr(GError) error = NULL;
  g_autofree char *length = NULL;
  Response r = { 0 };
  guint32 status = 0;
  gsize total = 0, held_max = 0;
  guint parts = 0;
  gboolean end = FALSE;

  if ((session = gtlsserver_session_max (&server, &carrier, 64 * 1024)) == NULL)
    return;
  post_http3_session_request_partial_async (session, request, NULL, response_cb, &r);
  post_test_wait_count (&r.done, 1, "the head for /big.bin", WAIT_TIMEOUT_S);
  g_assert_no_error (r.error);
  g_assert_true (post_message_lookup_metadata (r.response, "http-status", "u", &status));
  g_assert_cmpuint (status, ==, 200);
  length = post_test_http_header (r.response, "content-length");
  g_assert_cmpuint (g_ascii_strtoull (length, NULL, 10), ==, BIG_SIZE);
  g_assert_cmpuint (post_message_get_size (r.response), ==, 0);

  /* Nobody reads: the body does not pile up. */
  post_test_spin (1000);
  held_max = post_http3_session_get_receive_queue_size (session);
  g_test_message ("held without reading: %" G_GSIZE_FORMAT " bytes", held_max);
  g_assert_cmpuint (held_max, <=, 256 * 1024 + 64 * 1024);

  while (!end)
    {
      Part p = { 0 };

      post_http3_session_receive_partial_async (session, r.response, 16 * 1024, NULL, part_cb, &p);
      post_test_wait_count (&p.done, 1, "a part of the body", WAIT_TIMEOUT_S);
      g_assert_no_error (p.error);
      g_assert_cmpuint (g_bytes_get_size (p.part), <=, 16 * 1024);
      g_assert_true (g_bytes_get_size (p.part) > 0 || p.end);
      g_checksum_update (got, g_bytes_get_data (p.part, NULL), g_bytes_get_size (p.part));
      total += g_bytes_get_size (p.part);
      held_max = MAX (held_max, post_http3_session_get_receive_queue_size (session));
      end = p.end;
      parts++;
      g_bytes_unref (p.part);
    }
  g_test_message ("%u parts, at most %" G_GSIZE_FORMAT " bytes held", parts, held_max);
  g_assert_cmpuint (total, ==, BIG_SIZE);
  g_assert_cmpuint (held_max, <=, 256 * 1024 + 64 * 1024);
  g_checksum_update (expected, g_bytes_get_data (big, NULL), g_bytes_get_size (big));
  g_assert_cmpstr (g_checksum_get_string (got), ==, g_checksum_get_string (expected));

  /* The body ended: no more of it. */
  {
    Part p = { 0 };

    post_http3_session_receive_partial_async (session, r.response, 0, NULL, part_cb, &p);
    post_test_wait_count (&p.done, 1, "a receive after the end", WAIT_TIMEOUT_S);
    g_assert_error (p.error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT);
    g_clear_error (&p.error);
  }
  response_clear (&r);
  post_http3_session_close (session);
  post_carrier_abort (carrier);
  post_test_kill (server);
}

/* A libpost quic listener on a free port (ALPN h3, stream framing,
 * @max_len the recv-msg-max-len or 0 for the default) whose incoming
 * carriers go to @incoming. */
static PostCarrier *
h3_listen (gsize     max_len,
           GCallback incoming,
           gpointer  data)
{
  g_autoptr(PostLocal) local = post_test_server_local ("quic://127.0.0.1:0", dir, "server");
  g_autoptr(PostConfiguration) config = post_configuration_new ();
  g_autoptr(GError) error = NULL;
  PostCarrier *listener;

  g_assert_true (post_configuration_set_alpn (config, (const char *[]) { "h3", NULL }, &error));
  g_assert_true (post_configuration_set_framing (config, POST_FRAMING_STREAM, &error));
  if (max_len != 0)
    g_assert_true (post_configuration_set_recv_msg_max_len (config, max_len, &error));
  listener = post_carrier_listen (local, config, &error);
  g_assert_no_error (error);
  g_signal_connect (listener, "incoming", incoming, data);
  return listener;
}

/* Not h3: a libpost quic listener negotiates its default ALPN. */
static void
test_not_h3 (void)
{
  g_autoptr(PostLocal) local = post_test_server_local ("quic://127.0.0.1:0", dir, "server");
  g_autoptr(PostConfiguration) config = post_test_client_config (dir);
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(PostHttp3Session) session = NULL;
  g_autoptr(GError) error = NULL;
  PostTestEcho echo = { 0 };
  PostTestClient c;

  listener = post_test_echo_listen (&echo, local, NULL, "quic");
  g_assert_true (post_configuration_set_framing (config, POST_FRAMING_STREAM, &error));
  post_test_client_init (&c);
  carrier = post_test_initiate ("quic", post_test_port_of (listener), config);
  post_carrier_establish_async (carrier, NULL, post_test_established_cb, &c);
  post_test_wait_count (&c.done, 1, "the handshake", WAIT_TIMEOUT_S);
  g_assert_no_error (c.error);
  session = post_http3_session_new (carrier, &error);
  g_assert_error (error, POST_ERROR, POST_ERROR_NOT_SUPPORTED);
  g_assert_nonnull (strstr (error->message, "not h3"));
  g_assert_null (session);
  post_carrier_abort (carrier);
  post_test_client_clear (&c);
  post_test_echo_clear (&echo);
  post_carrier_abort (listener);
}

/* ---- a peer that breaks HTTP/3 ------------------------------------------------- */

/* A libpost quic listener (ALPN h3) that answers every request stream with
 * @reply and keeps every stream the client opens. */
typedef struct
{
  GPtrArray *kept;
  GBytes    *reply;
  char      *closed;   /* the first error a kept carrier closed with */
  guint      n_closed;   /* 1 once one closed with an error */
} BadPeer;

static void
bad_closed_cb (PostCarrier  *carrier,
               const GError *error,
               BadPeer      *peer)
{
  if (error != NULL && peer->closed == NULL)
    {
      peer->closed = g_strdup (error->message);
      peer->n_closed++;
    }
}

static gboolean
bad_incoming_cb (PostCarrier *parent,
                 PostCarrier *child,
                 BadPeer     *peer)
{
  g_ptr_array_add (peer->kept, g_object_ref (child));
  g_signal_connect (child, "incoming", G_CALLBACK (bad_incoming_cb), peer);
  g_signal_connect (child, "closed", G_CALLBACK (bad_closed_cb), peer);
  if (post_carrier_get_role (child) == POST_CARRIER_ROLE_CARRIER)
    g_assert_true (post_carrier_send_bytes (child, peer->reply, NULL));
  return TRUE;
}

typedef struct
{
  const char *name;
  const char *reply;
  gsize       len;
  const char *code;   /* the HTTP/3 error code in the message */
} BadCase;

static const BadCase bad_cases[] = {
  /* HEADERS whose field line names static table entry 100 (it has 99) */
  { "qpack", "\x01\x04\x00\x00\xff\x25", 6, "0x200" },
  /* DATA before any HEADERS on a request stream */
  { "frame-unexpected", "\x00\x01\x41", 3, "0x105" },
  /* a HEADERS frame cut by the end of the stream */
  { "truncated", "\x01\x10\x00\x00", 4, "0x106" },
};

static void
test_bad_peer (gconstpointer data)
{
  const BadCase *bad = data;
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(PostHttp3Session) session = NULL;
  g_autoptr(PostMessage) request = get_request ("/");
  g_autoptr(PostMessage) again = get_request ("/");
  g_autoptr(GError) error = NULL;
  BadPeer peer = { g_ptr_array_new_with_free_func (g_object_unref), g_bytes_new_static (bad->reply, bad->len),
                   NULL, 0 };
  Response r = { 0 };
  guint i;

  listener = h3_listen (0, G_CALLBACK (bad_incoming_cb), &peer);
  carrier = establish (post_test_port_of (listener));
  session = post_http3_session_new (carrier, &error);
  g_assert_no_error (error);
  post_http3_session_request_async (session, request, NULL, response_cb, &r);
  post_test_wait_count (&r.done, 1, "the broken response", WAIT_TIMEOUT_S);
  g_test_message ("%s: %s", bad->name, r.error ? r.error->message : "(no error)");
  g_assert_error (r.error, POST_ERROR, POST_ERROR_PROTOCOL);
  g_assert_nonnull (strstr (r.error->message, bad->code));
  g_assert_null (r.response);
  response_clear (&r);
  /* The connection is over: the next request fails at once. */
  post_http3_session_request_async (session, again, NULL, response_cb, &r);
  post_test_wait_count (&r.done, 1, "the next request", WAIT_TIMEOUT_S);
  g_assert_error (r.error, POST_ERROR, POST_ERROR_PROTOCOL);
  response_clear (&r);
  g_assert_cmpint (post_carrier_get_state (carrier), ==, POST_CARRIER_STATE_CLOSED);
  /* The peer learns the HTTP/3 error code from the CONNECTION_CLOSE. */
  post_test_wait_count (&peer.n_closed, 1, "the peer's carriers closing", WAIT_TIMEOUT_S);
  g_test_message ("peer: %s", peer.closed ? peer.closed : "(no error)");
  g_assert_nonnull (peer.closed);
  g_assert_nonnull (strstr (peer.closed, "closed by"));
  g_assert_nonnull (strstr (peer.closed, bad->code));
  g_free (peer.closed);
  for (i = 0; i < peer.kept->len; i++)
    post_carrier_abort (peer.kept->pdata[i]);
  g_ptr_array_unref (peer.kept);
  g_bytes_unref (peer.reply);
  post_carrier_abort (listener);
}

/* ---- a libpost HTTP/3 responder, fetched by gtlsclient ------------------------- */

typedef struct
{
  GPtrArray *sessions;   /* (owned) */
  guint      n_requests;
  GError    *request_error;
} Responder;

static void
respond_cb (PostHttp3Session *session,
            PostMessage      *request,
            Responder        *responder)
{
  g_autoptr(PostMessage) response = NULL;
  g_autofree char *method = NULL, *target = NULL;
  g_autoptr(GError) error = NULL;
  GVariantBuilder meta, headers;
  gboolean found;

  g_assert_true (post_message_lookup_metadata (request, "http-method", "s", &method));
  g_assert_true (post_message_lookup_metadata (request, "http-target", "s", &target));
  g_assert_cmpstr (method, ==, "GET");
  found = strcmp (target, "/big.bin") == 0;
  response = found ? post_message_new (big) : post_message_new_from_string ("not found\n");
  g_variant_builder_init (&headers, G_VARIANT_TYPE ("a(ss)"));
  g_variant_builder_add (&headers, "(ss)", "Content-Type", found ? "application/octet-stream" : "text/plain");
  g_variant_builder_init (&meta, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&meta, "{sv}", "http-status", g_variant_new_uint32 (found ? 200 : 404));
  g_variant_builder_add (&meta, "{sv}", "http-headers", g_variant_builder_end (&headers));
  g_assert_true (post_message_set_metadata (response, g_variant_builder_end (&meta), NULL));
  g_assert_true (post_http3_session_respond (session, request, response, &error));
  g_assert_no_error (error);
  /* a request is answered once */
  g_assert_false (post_http3_session_respond (session, request, response, &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT);
  responder->n_requests++;
}

static void
request_error_cb (PostHttp3Session *session,
                  const GError     *error,
                  Responder        *responder)
{
  g_clear_error (&responder->request_error);
  responder->request_error = g_error_copy (error);
}

static gboolean
responder_incoming_cb (PostCarrier *listener,
                       PostCarrier *carrier,
                       Responder   *responder)
{
  g_autoptr(GError) error = NULL;
  PostHttp3Session *session = post_http3_session_new_server (carrier, &error);

  g_assert_no_error (error);
  g_signal_connect (session, "request", G_CALLBACK (respond_cb), responder);
  g_signal_connect (session, "request-error", G_CALLBACK (request_error_cb), responder);
  g_ptr_array_add (responder->sessions, session);
  return TRUE;
}

/* gtlsclient downloads the file from a libpost responder and gets a 404
 * for a missing one. */
static void
test_gtlsclient_download (void)
{
  g_autofree char *gtlsclient = g_find_program_in_path ("gtlsclient");
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *download = NULL, *port_s = NULL, *uri = NULL, *missing = NULL, *path = NULL;
  g_autofree char *contents = NULL;
  gsize length = 0;
  Responder responder = { g_ptr_array_new_with_free_func (g_object_unref), 0, NULL };
  PostTestCommunicate cr = { 0 };

  if (gtlsclient == NULL)
    {
      g_test_skip ("gtlsclient (ngtcp2-client) is not installed");
      return;
    }
  listener = h3_listen (0, G_CALLBACK (responder_incoming_cb), &responder);
  download = g_dir_make_tmp ("post-http3-download-XXXXXX", &error);
  g_assert_no_error (error);
  port_s = g_strdup_printf ("%u", post_test_port_of (listener));
  uri = g_strdup_printf ("https://127.0.0.1:%s/big.bin", port_s);
  missing = g_strdup_printf ("https://127.0.0.1:%s/missing", port_s);
  post_test_communicate ((const char *[]) { gtlsclient, "--exit-on-all-streams-close", "--timeout=5s",
                                            "--no-quic-dump", "--no-http-dump",
                                            "--download", download, "127.0.0.1", port_s, uri, missing, NULL },
                         G_SUBPROCESS_FLAGS_STDERR_MERGE, &cr, WAIT_TIMEOUT_S);
  g_assert_no_error (cr.error);
  if (g_getenv ("POST_TEST_VERBOSE") != NULL || responder.n_requests != 2 || strstr (cr.out, ":status: 404") == NULL)
    g_test_message ("gtlsclient said:\n%s", cr.out);
  g_assert_cmpuint (responder.n_requests, ==, 2);
  g_assert_nonnull (strstr (cr.out, ":status: 200"));
  g_assert_nonnull (strstr (cr.out, ":status: 404"));
  path = g_build_filename (download, "big.bin", NULL);
  g_assert_true (g_file_get_contents (path, &contents, &length, &error));
  g_assert_no_error (error);
  g_assert_cmpmem (contents, length, g_bytes_get_data (big, NULL), g_bytes_get_size (big));
  g_unlink (path);
  g_clear_pointer (&path, g_free);
  path = g_build_filename (download, "missing", NULL);
  g_unlink (path);
  g_rmdir (download);
  post_test_communicate_clear (&cr);
  g_ptr_array_unref (responder.sessions);
  post_carrier_abort (listener);
}

/* A libpost responder whose recv-msg-max-len (64 KiB) a libpost client's
 * 3 MiB POST body passes: the responder's session tells it with
 * request-error (POST_ERROR_MESSAGE_TOO_LARGE) and resets the stream with
 * H3_EXCESSIVE_LOAD (0x107), which the client's request names; the next
 * request on the connection is answered. */
static void
test_server_too_large (void)
{
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(PostHttp3Session) session = NULL;
  g_autoptr(PostMessage) post = post_message_new (big);
  g_autoptr(PostMessage) missing = get_request ("/missing");
  g_autoptr(GError) error = NULL;
  Responder responder = { g_ptr_array_new_with_free_func (g_object_unref), 0, NULL };
  Response r = { 0 };
  guint32 status = 0;

  listener = h3_listen (64 * 1024, G_CALLBACK (responder_incoming_cb), &responder);
  carrier = establish (post_test_port_of (listener));
  session = post_http3_session_new (carrier, &error);
  g_assert_no_error (error);

  g_assert_true (post_message_set_metadata (post, g_variant_new_parsed ("{'http-method': <'POST'>, "
                                                                        "'http-target': <'/upload'>}"), NULL));
  post_http3_session_request_async (session, post, NULL, response_cb, &r);
  post_test_wait_count (&r.done, 1, "the response to the POST", WAIT_TIMEOUT_S);
  g_test_message ("client: %s", r.error ? r.error->message : "(no error)");
  g_assert_error (r.error, POST_ERROR, POST_ERROR_CONNECTION_RESET);
  g_assert_nonnull (strstr (r.error->message, "0x107"));
  response_clear (&r);
  g_assert_error (responder.request_error, POST_ERROR, POST_ERROR_MESSAGE_TOO_LARGE);
  g_test_message ("server: %s", responder.request_error->message);
  g_assert_cmpuint (responder.n_requests, ==, 0);

  post_http3_session_request_async (session, missing, NULL, response_cb, &r);
  post_test_wait_count (&r.done, 1, "the response for /missing", WAIT_TIMEOUT_S);
  g_assert_no_error (r.error);
  g_assert_true (post_message_lookup_metadata (r.response, "http-status", "u", &status));
  g_assert_cmpuint (status, ==, 404);
  g_assert_cmpuint (responder.n_requests, ==, 1);
  response_clear (&r);

  g_clear_error (&responder.request_error);
  post_http3_session_close (session);
  post_carrier_abort (carrier);
  g_ptr_array_unref (responder.sessions);
  post_carrier_abort (listener);
}

static void
make_htdocs (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  g_autofree char *small = NULL;

  htdocs = g_dir_make_tmp ("post-http3-XXXXXX", &error);
  g_assert_no_error (error);
  big = post_test_random_bytes (BIG_SIZE, 16);
  path = g_build_filename (htdocs, "big.bin", NULL);
  g_assert_true (g_file_set_contents (path, g_bytes_get_data (big, NULL), BIG_SIZE, &error));
  small = g_build_filename (htdocs, "small.txt", NULL);
  g_assert_true (g_file_set_contents (small, "hello, HTTP/3\n", -1, &error));
  g_assert_no_error (error);
}

static void
remove_htdocs (void)
{
  g_autofree char *path = g_build_filename (htdocs, "big.bin", NULL);
  g_autofree char *small = g_build_filename (htdocs, "small.txt", NULL);

  g_unlink (path);
  g_unlink (small);
  g_rmdir (htdocs);
  g_clear_pointer (&htdocs, g_free);
  g_clear_pointer (&big, g_bytes_unref);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  signal (SIGPIPE, SIG_IGN);
  g_test_init (&argc, &argv, NULL);
  if (!post_test_have_stack ("quic"))
    {
      g_test_skip ("the quic plugin is not built");
      return g_test_run ();
    }
  dir = post_test_certs_make ("post-http3");
  make_htdocs ();
  g_test_add_func ("/http3/gtlsserver/download", test_gtlsserver_download);
  g_test_add_func ("/http3/gtlsserver/concurrent", test_gtlsserver_concurrent);
  g_test_add_func ("/http3/gtlsserver/too-large", test_gtlsserver_too_large);
  g_test_add_func ("/http3/gtlsserver/partial", test_gtlsserver_partial);
  g_test_add_func ("/http3/gtlsclient/download", test_gtlsclient_download);
  g_test_add_func ("/http3/not-h3", test_not_h3);
  g_test_add_func ("/http3/server/too-large", test_server_too_large);
  for (guint i = 0; i < G_N_ELEMENTS (bad_cases); i++)
    {
      g_autofree char *path = g_strdup_printf ("/http3/bad-peer/%s", bad_cases[i].name);

      g_test_add_data_func (path, &bad_cases[i], test_bad_peer);
    }
  ret = g_test_run ();
  remove_htdocs ();
  post_test_certs_remove (dir);
  g_free (dir);
  return ret;
}
