/* test-websocket.c: PostWebSocketFramer (RFC 6455).  Its decoder fed bad
 * and good frames (whole and byte by byte); a libpost client against a
 * python3-websockets echo server and a python3-websockets client against a
 * libpost server, on loopback, over tcp (ws) and over tls (wss, a
 * certificate made for the run, verified with its name on both sides); a
 * libpost client given a masked server frame by a raw peer.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>
#include <stdio.h>
#include <string.h>

#include "post-test-util.h"

#define PYTHON "/usr/bin/python3"
#define HANDSHAKE "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n" \
                  "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"

static gboolean
have_python_websockets (void)
{
  const char *argv[] = { PYTHON, "-c", "import websockets", NULL };
  g_autoptr(GSubprocess) p = NULL;

  if (!g_file_test (PYTHON, G_FILE_TEST_IS_EXECUTABLE))
    return FALSE;
  p = g_subprocess_newv (argv, G_SUBPROCESS_FLAGS_STDERR_SILENCE, NULL);
  return p != NULL && g_subprocess_wait_check (p, NULL, NULL);
}

static void
test_accept (void)
{
  g_autofree char *accept = post_websocket_compute_accept ("dGhlIHNhbXBsZSBub25jZQ==");

  /* RFC 6455 section 1.3 */
  g_assert_cmpstr (accept, ==, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

/* A client frame: masked with a fixed key. */
static void
append_frame (GByteArray   *out,
              guint8        first,
              const guint8 *payload,
              gsize         length,
              gboolean      masked)
{
  static const guint8 key[4] = { 0x37, 0xfa, 0x21, 0x3d };
  guint8 h[14];
  gsize n = 0;

  h[n++] = first;
  if (length < 126)
    h[n++] = (guint8) length;
  else
    {
      h[n++] = 126;
      h[n++] = (guint8) (length >> 8);
      h[n++] = (guint8) length;
    }
  if (masked)
    {
      h[1] |= 0x80;
      memcpy (h + n, key, 4);
      n += 4;
    }
  g_byte_array_append (out, h, n);
  for (gsize i = 0; i < length; i++)
    {
      guint8 b = payload[i] ^ (masked ? key[i & 3] : 0);

      g_byte_array_append (out, &b, 1);
    }
}

/* Feeds @input to a server framer in pieces of @piece bytes (0: whole), as
 * a carrier does; returns the transcript: "<opcode" at a message start,
 * the payload, ">" at its end; NULL with @error on an error. */
static char *
feed (const GByteArray *input,
      gsize             piece,
      guint64           max_size,
      GError          **error)
{
  g_autoptr(PostFramer) framer = g_object_new (POST_TYPE_WEBSOCKET_FRAMER, "role", POST_WEBSOCKET_ROLE_SERVER,
                                               "max-message-size", max_size, NULL);
  g_autoptr(GString) out = g_string_new (NULL);
  gsize fed = 0, start = 0;

  for (;;)
    {
      PostFrameChunk chunk;
      gboolean eos;

      fed = piece == 0 ? input->len : MIN (input->len, MAX (fed, start) + piece);
      eos = fed == input->len;
      if (!post_framer_decode (framer, input->data + start, fed - start, eos, &chunk, error))
        return NULL;
      if (chunk.message_start)
        {
          guint8 opcode = 0;

          g_assert_nonnull (chunk.metadata);
          g_assert_true (g_variant_lookup (chunk.metadata, "websocket-opcode", "y", &opcode));
          g_string_append_printf (out, "<%u", opcode);
          if (opcode == 8)
            {
              guint16 code = 0;

              g_assert_true (g_variant_lookup (chunk.metadata, "websocket-close-code", "q", &code));
              g_string_append_printf (out, " %u ", code);
            }
        }
      g_clear_pointer (&chunk.metadata, g_variant_unref);
      if (chunk.payload_length > 0)
        g_string_append_len (out, (const char *) (chunk.payload_data != NULL ? chunk.payload_data
                                                                   : input->data + start + chunk.payload_offset),
                             (gssize) chunk.payload_length);
      if (chunk.message_end)
        g_string_append (out, ">");
      start += chunk.consumed;
      if (chunk.consumed == 0 && chunk.payload_length == 0 && !chunk.message_start && !chunk.message_end)
        {
          if (eos)
            break;
        }
    }
  g_assert_true (post_websocket_framer_get_open (POST_WEBSOCKET_FRAMER (framer)));
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static GByteArray *
request_with (void)
{
  GByteArray *a = g_byte_array_new ();

  g_byte_array_append (a, (const guint8 *) HANDSHAKE, strlen (HANDSHAKE));
  return a;
}

/* Good frames, every one fed whole and byte by byte. */
static void
test_decode_good (void)
{
  g_autoptr(GByteArray) in = request_with ();
  static const guint8 close_payload[] = { 0x03, 0xe8, 'b', 'y', 'e' };
  const gsize pieces[] = { 0, 1, 2, 5 };

  append_frame (in, 0x81, (const guint8 *) "h\xc3\xa9llo", 6, TRUE);     /* text, FIN */
  append_frame (in, 0x02, (const guint8 *) "ab", 2, TRUE);               /* binary, fragment */
  append_frame (in, 0x89, (const guint8 *) "ping", 4, TRUE);             /* ping in between */
  append_frame (in, 0x00, (const guint8 *) "", 0, TRUE);                 /* empty continuation */
  append_frame (in, 0x80, (const guint8 *) "cd", 2, TRUE);               /* last fragment */
  append_frame (in, 0x01, (const guint8 *) "\xe2\x82", 2, TRUE);         /* text split in a sequence */
  append_frame (in, 0x80, (const guint8 *) "\xac!", 2, TRUE);
  append_frame (in, 0x8A, (const guint8 *) "pong", 4, TRUE);             /* a pong, delivered */
  append_frame (in, 0x81, (const guint8 *) "", 0, TRUE);                 /* empty text */
  append_frame (in, 0x88, close_payload, sizeof close_payload, TRUE);
  for (guint i = 0; i < G_N_ELEMENTS (pieces); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *transcript = feed (in, pieces[i], 1000, &error);

      g_assert_no_error (error);
      g_assert_cmpstr (transcript, ==, "<1h\xc3\xa9llo><2abcd><1\xe2\x82\xac!><10pong><1><8 1000 bye>");
    }
}

typedef struct {
  const char *name;
  guint8      first;
  const char *payload;
  gsize       length;
  gboolean    masked;
  const char *expect;           /* in the error message */
} Bad;

static void
test_decode_bad (void)
{
  static const Bad bad[] = {
    { "unmasked client frame", 0x81, "hi", 2, FALSE, "not masked" },
    { "reserved bit", 0xC1, "hi", 2, TRUE, "1002" },
    { "reserved opcode", 0x83, "hi", 2, TRUE, "reserved opcode" },
    { "reserved control opcode", 0x8B, "", 0, TRUE, "reserved opcode" },
    { "fragmented ping", 0x09, "", 0, TRUE, "control frame" },
    { "continuation first", 0x80, "x", 1, TRUE, "continuation" },
    { "bad UTF-8", 0x81, "\xc3\x28", 2, TRUE, "1007" },
    { "surrogate", 0x81, "\xed\xa0\x80", 3, TRUE, "1007" },
    { "truncated sequence", 0x81, "\xe2\x82", 2, TRUE, "1007" },
    { "too large", 0x82, "0123456789abcdef0123", 20, TRUE, "1009" },
    { "close code 1005", 0x88, "\x03\xed", 2, TRUE, "status code 1005" },
    { "close one byte", 0x88, "\x03", 1, TRUE, "one byte" },
    { "long ping", 0x89, NULL, 126, TRUE, "longer than 125" },
  };
  static const guint8 zeros[200];
  const gsize pieces[] = { 0, 1 };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    for (guint k = 0; k < G_N_ELEMENTS (pieces); k++)
      {
        g_autoptr(GByteArray) in = request_with ();
        g_autoptr(GError) error = NULL;
        g_autofree char *transcript = NULL;

        g_test_message ("%s, pieces of %zu", bad[i].name, pieces[k]);
        append_frame (in, bad[i].first, bad[i].payload ? (const guint8 *) bad[i].payload : zeros,
                      bad[i].length, bad[i].masked);
        transcript = feed (in, pieces[k], 16, &error);
        g_assert_null (transcript);
        g_assert_error (error, POST_ERROR, POST_ERROR_PROTOCOL);
        g_assert_nonnull (strstr (error->message, bad[i].expect));
      }
}

/* A handshake that is not one gets 400 and an error. */
static void
test_bad_handshake (void)
{
  static const char *requests[] = {
    "POST / HTTP/1.1\r\nHost: x\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: short\r\nSec-WebSocket-Version: 13\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 8\r\n\r\n",
  };

  for (guint i = 0; i < G_N_ELEMENTS (requests); i++)
    {
      g_autoptr(PostFramer) framer = post_websocket_framer_new (POST_WEBSOCKET_ROLE_SERVER, NULL, NULL);
      g_autoptr(GError) error = NULL;
      PostFrameChunk chunk;

      g_assert_false (post_framer_decode (framer, (const guint8 *) requests[i], strlen (requests[i]),
                                          FALSE, &chunk, &error));
      g_assert_error (error, POST_ERROR, POST_ERROR_PROTOCOL);
    }
}

/* ---- real peers ---------------------------------------------------------------- */

typedef struct {
  GPtrArray   *got;             /* PostMessage */
  GError      *error;
  PostCarrier *server;
  guint        n_closed;
} State;

static void
received_cb (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  State *s = user_data;
  PostMessage *message = post_carrier_receive_finish (POST_CARRIER (source), result,
                                                      s->error == NULL ? &s->error : NULL);

  if (message != NULL)
    g_ptr_array_add (s->got, message);
}

static void
wait_for (State *s,
          guint  n)
{
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  while (s->got->len < n && s->error == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_no_error (s->error);
  g_assert_cmpuint (s->got->len, >=, n);
}

static PostMessage *
message_with (const char *text,
              gsize       length,
              const char *metadata)
{
  PostMessage *m = post_message_new_from_data (text, length);

  g_assert_true (post_message_set_metadata (m, g_variant_new_parsed (metadata), NULL));
  return m;
}

static void
check_message (PostMessage *m,
               guint8       opcode,
               const char  *data,
               gsize        length)
{
  GBytes *content = post_message_get_content (m);
  guint8 got = 0;

  g_assert_true (post_message_lookup_metadata (m, "websocket-opcode", "y", &got));
  g_assert_cmpuint (got, ==, opcode);
  g_assert_cmpmem (g_bytes_get_data (content, NULL), g_bytes_get_size (content), data, length);
}

static char *certs;   /* the test certificates (post_test_certs_make()) */

/* A WebSocket configuration over tcp, or over tls (@tls) trusting only the
 * test CA when @client. */
static PostConfiguration *
ws_config (gboolean tls,
           gboolean client)
{
  PostConfiguration *config = post_configuration_new ();

  g_assert_true (post_configuration_set_framer_type (config, POST_TYPE_WEBSOCKET_FRAMER, NULL));
  g_assert_true (post_configuration_set_stacks (config, (const char *[]) { tls ? "tls" : "tcp", NULL }, NULL));
  if (tls && client)
    post_test_trust_test_ca (config, certs);
  return config;
}

static void
sent_cb (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  post_carrier_send_partial_finish (POST_CARRIER (source), result, &error);
  g_assert_no_error (error);
}

/* Starts the python3-websockets echo server (ws, or wss with the test
 * certificate when @tls), its stdout in *@out; a client carrier to it with
 * @config: over tls to "localhost", the name its certificate holds. */
static GSubprocess *
start_python_server (gboolean           tls,
                     PostConfiguration *config,
                     GDataInputStream **out,
                     PostCarrier      **client)
{
  g_autofree char *script = g_test_build_filename (G_TEST_DIST, "websocket-peer.py", NULL);
  g_autofree char *cert = post_test_certs_path (certs, "server.pem");
  g_autofree char *key = post_test_certs_path (certs, "server.key");
  const char *argv[] = { PYTHON, "-u", script, "server", tls ? cert : NULL, key, NULL };
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  GSubprocess *peer;
  guint port = 0;

  peer = post_test_spawn (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  *out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (peer));
  line = g_data_input_stream_read_line (*out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_nonnull (line);
  g_assert_true (sscanf (line, "port %u", &port) == 1);
  if (tls)
    {
      g_autoptr(PostRemote) remote = post_remote_new ("localhost", (guint16) port);

      *client = post_carrier_initiate (NULL, remote, config);
    }
  else
    *client = post_test_initiate ("tcp", (guint16) port, config);
  return peer;
}

/* After the close handshake (a close 1000 "done" echoed): the TCP
 * connection ends (the server waits for our FIN before it reports the
 * close), and the server is stopped. */
static void
close_python_server (PostCarrier      *client,
                     GDataInputStream *out,
                     GSubprocess      *peer)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;

  post_carrier_close (client);
  line = g_data_input_stream_read_line (out, NULL, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (line, ==, "closed 1000 done");
  post_test_kill (peer);
}

/* libpost client, python3-websockets echo server (which pings first): ws,
 * or wss (@data) with the test certificate, the libpost client verifying
 * it and the name "localhost" against the test CA. */
static void
test_python_server (gconstpointer data)
{
  gboolean tls = GPOINTER_TO_INT (data);
  g_autoptr(GSubprocess) peer = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autoptr(PostConfiguration) config = NULL;
  g_autoptr(PostCarrier) client = NULL;
  g_autoptr(PostMessage) fragmented = post_message_new (NULL);
  g_autoptr(GBytes) part1 = g_bytes_new_static ("frag", 4);
  g_autoptr(GBytes) part2 = g_bytes_new_static ("mented", 6);
  g_autoptr(GError) error = NULL;
  State s = { g_ptr_array_new_with_free_func (g_object_unref), };

  if (!have_python_websockets ())
    {
      g_test_skip ("python3-websockets is not installed (./run deps)");
      return;
    }
  config = ws_config (tls, TRUE);
  peer = start_python_server (tls, config, &out, &client);
  {
    g_autoptr(PostMessage) text = message_with ("h\xc3\xa9llo", 6, "{'websocket-opcode': <'text'>}");
    g_autoptr(PostMessage) binary = message_with ("\0\1\2", 3, "{'websocket-opcode': <byte 2>}");
    g_autoptr(PostMessage) ping = message_with ("are you there", 13, "{'websocket-opcode': <'ping'>}");

    g_assert_true (post_carrier_send (client, text, &error));
    g_assert_true (post_carrier_send (client, binary, &error));
    g_assert_no_error (error);
    g_assert_true (post_message_set_metadata (fragmented, g_variant_new_parsed ("{'websocket-opcode': <'text'>}"),
                                              NULL));
    post_carrier_send_partial_async (client, fragmented, part1, FALSE, NULL, sent_cb, NULL);
    post_carrier_send_partial_async (client, fragmented, part2, TRUE, NULL, sent_cb, NULL);
    g_assert_true (post_carrier_send (client, ping, &error));
    g_assert_no_error (error);
  }
  for (guint i = 0; i < 4; i++)
    {
      post_carrier_receive_async (client, NULL, received_cb, &s);
      wait_for (&s, i + 1);
    }
  g_assert_cmpstr (post_carrier_get_stack_name (client), ==, tls ? "tls" : "tcp");
  /* The server answers our ping as it reads it, and echoes once it has
   * its own pong: the pong may come first. */
  for (guint i = 0, k = 0; i < 4; i++)
    {
      guint8 opcode = 0;

      g_assert_true (post_message_lookup_metadata (s.got->pdata[i], "websocket-opcode", "y", &opcode));
      if (opcode == 10)
        {
          check_message (s.got->pdata[i], 10, "are you there", 13);
          continue;
        }
      if (k == 0)
        check_message (s.got->pdata[i], 1, "h\xc3\xa9llo", 6);
      else if (k == 1)
        check_message (s.got->pdata[i], 2, "\0\1\2", 3);
      else
        check_message (s.got->pdata[i], 1, "fragmented", 10);
      k++;
    }
  {
    g_autoptr(PostMessage) close = message_with ("done", 4,
                                                 "{'websocket-opcode': <'close'>, 'websocket-close-code': <uint16 1000>}");
    guint16 code = 0;
    g_autofree char *reason = NULL;

    g_assert_true (post_carrier_send (client, close, &error));
    g_assert_no_error (error);
    post_carrier_receive_async (client, NULL, received_cb, &s);
    wait_for (&s, 5);
    check_message (s.got->pdata[4], 8, "done", 4);   /* the server echoes our close */
    g_assert_true (post_message_lookup_metadata (s.got->pdata[4], "websocket-close-code", "q", &code));
    g_assert_cmpuint (code, ==, 1000);
  }
  close_python_server (client, out, peer);
  g_ptr_array_unref (s.got);
}

/* An HTTP/1.1 client (PostHttpFramer) upgrades to WebSocket against the
 * python3-websockets server (ws, or wss with @data): its GET with Upgrade:
 * websocket gets the 101 as a message with the server's fields, the
 * framer checks the Sec-WebSocket-Accept and hands the carrier over to a
 * PostWebSocketFramer, and WebSocket messages flow on the same carrier. */
static void
test_http_upgrade (gconstpointer data)
{
  gboolean tls = GPOINTER_TO_INT (data);
  g_autoptr(GSubprocess) peer = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autoptr(PostConfiguration) config = post_configuration_new ();
  g_autoptr(PostCarrier) client = NULL;
  g_autoptr(PostMessage) upgrade = post_message_new (NULL);
  g_autoptr(GError) error = NULL;
  g_autofree char *key = NULL, *expected = NULL, *accept = NULL;
  State s = { g_ptr_array_new_with_free_func (g_object_unref), };
  guint8 nonce[16];
  guint status = 0;

  if (!have_python_websockets ())
    {
      g_test_skip ("python3-websockets is not installed (./run deps)");
      return;
    }
  g_assert_true (post_configuration_set_framer_type (config, POST_TYPE_HTTP_FRAMER, &error));
  g_assert_true (post_configuration_set_stacks (config, (const char *[]) { tls ? "tls" : "tcp", NULL }, &error));
  g_assert_no_error (error);
  if (tls)
    post_test_trust_test_ca (config, certs);
  peer = start_python_server (tls, config, &out, &client);

  for (guint i = 0; i < sizeof nonce; i++)
    nonce[i] = (guint8) g_random_int ();
  key = g_base64_encode (nonce, sizeof nonce);
  expected = post_websocket_compute_accept (key);
  g_assert_true (post_message_set_metadata (upgrade, g_variant_new_parsed (
    "{'http-method': <'GET'>, 'http-target': <'/chat'>, 'http-headers': <[('Host', 'localhost'), "
    "('Upgrade', 'websocket'), ('Connection', 'Upgrade'), ('Sec-WebSocket-Key', %s), "
    "('Sec-WebSocket-Version', '13')]>}", key), &error));
  g_assert_true (post_carrier_send (client, upgrade, &error));
  g_assert_no_error (error);
  post_carrier_receive_async (client, NULL, received_cb, &s);
  wait_for (&s, 1);
  g_assert_true (post_message_lookup_metadata (s.got->pdata[0], "http-status", "u", &status));
  g_assert_cmpuint (status, ==, 101);
  accept = post_test_http_header (s.got->pdata[0], "Sec-WebSocket-Accept");
  g_assert_cmpstr (accept, ==, expected);
  g_assert_cmpuint (g_bytes_get_size (post_message_get_content (s.got->pdata[0])), ==, 0);

  /* Handed over: the server's ping is answered under us, our text echoed */
  {
    g_autoptr(PostMessage) text = message_with ("upgraded", 8, "{'websocket-opcode': <'text'>}");
    g_autoptr(PostMessage) close = message_with ("done", 4,
                                                 "{'websocket-opcode': <'close'>, 'websocket-close-code': <uint16 1000>}");

    g_assert_true (post_carrier_send (client, text, &error));
    g_assert_no_error (error);
    post_carrier_receive_async (client, NULL, received_cb, &s);
    wait_for (&s, 2);
    check_message (s.got->pdata[1], 1, "upgraded", 8);
    g_assert_true (post_carrier_send (client, close, &error));
    g_assert_no_error (error);
    post_carrier_receive_async (client, NULL, received_cb, &s);
    wait_for (&s, 3);
    check_message (s.got->pdata[2], 8, "done", 4);
  }
  close_python_server (client, out, peer);
  g_ptr_array_unref (s.got);
}

static gboolean
on_incoming (PostCarrier *listener,
             PostCarrier *carrier,
             State       *s)
{
  g_set_object (&s->server, carrier);
  post_carrier_receive_async (carrier, NULL, received_cb, s);
  return TRUE;
}

/* python3-websockets client, libpost server: echoes, then closes 4001;
 * ws, or wss (@data) with the test certificate, which the python client
 * verifies (and the name "localhost") against the test CA. */
static void
test_python_client (gconstpointer data)
{
  gboolean tls = GPOINTER_TO_INT (data);
  g_autofree char *ca = post_test_certs_path (certs, "ca.pem");
  g_autoptr(PostConfiguration) config = NULL;
  g_autoptr(PostLocal) local = NULL;
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(GSubprocess) peer = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *port = NULL;
  g_autofree char *script = g_test_build_filename (G_TEST_DIST, "websocket-peer.py", NULL);
  PostTestCommunicate cr = { 0, };
  State s = { g_ptr_array_new_with_free_func (g_object_unref), };

  if (!have_python_websockets ())
    {
      g_test_skip ("python3-websockets is not installed (./run deps)");
      return;
    }
  config = ws_config (tls, FALSE);
  if (tls)
    local = post_test_server_local ("tls://127.0.0.1:0", certs, "server");
  else
    local = post_local_new_from_uri ("tcp://127.0.0.1:0", &error);
  g_assert_no_error (error);
  listener = post_carrier_listen (local, config, &error);
  g_assert_no_error (error);
  g_signal_connect (listener, "incoming", G_CALLBACK (on_incoming), &s);
  port = g_strdup_printf ("%u", post_test_port_of (listener));
  peer = post_test_spawn ((const char *[]) { PYTHON, script, "client", port, tls ? ca : NULL, NULL },
                          G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_communicate_utf8_async (peer, NULL, NULL, post_test_communicated_cb, &cr);
  for (guint i = 0; i < 2; i++)
    {
      guint8 opcode = 0;
      g_autoptr(PostMessage) echo = NULL;
      GBytes *content;

      wait_for (&s, i + 1);
      g_assert_true (post_message_lookup_metadata (s.got->pdata[i], "websocket-opcode", "y", &opcode));
      content = post_message_get_content (s.got->pdata[i]);
      echo = post_message_new (content);
      g_assert_true (post_message_set_metadata (echo, g_variant_new_parsed ("{'websocket-opcode': <@y %y>}",
                                                                            opcode), NULL));
      g_assert_true (post_carrier_send (s.server, echo, &error));
      g_assert_no_error (error);
      if (i == 0)
        post_carrier_receive_async (s.server, NULL, received_cb, &s);
    }
  {
    g_autoptr(PostMessage) close = message_with ("bye", 3,
                                                 "{'websocket-opcode': <byte 8>, 'websocket-close-code': <uint16 4001>}");
    guint16 code = 0;

    g_assert_true (post_carrier_send (s.server, close, &error));
    g_assert_no_error (error);
    post_carrier_receive_async (s.server, NULL, received_cb, &s);
    wait_for (&s, 3);
    g_assert_true (post_message_lookup_metadata (s.got->pdata[2], "websocket-close-code", "q", &code));
    g_assert_cmpuint (code, ==, 4001);
    post_carrier_close (s.server);
  }
  post_test_wait_count (&cr.done, 1, "the python client", 20);
  g_assert_no_error (cr.error);
  g_assert_cmpstr (cr.out, ==, "text h\xc3\xa9llo, world\nbinary 000102ff\nclosed 4001 bye\n");
  g_assert_true (g_subprocess_wait_check (peer, NULL, &error));
  g_assert_no_error (error);
  g_free (cr.out);
  g_clear_object (&s.server);
  g_ptr_array_unref (s.got);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/websocket/accept", test_accept);
  g_test_add_func ("/websocket/decode-good", test_decode_good);
  g_test_add_func ("/websocket/decode-bad", test_decode_bad);
  g_test_add_func ("/websocket/bad-handshake", test_bad_handshake);
  g_test_add_data_func ("/websocket/python-server", GINT_TO_POINTER (FALSE), test_python_server);
  g_test_add_data_func ("/websocket/python-client", GINT_TO_POINTER (FALSE), test_python_client);
  g_test_add_data_func ("/websocket/python-server-tls", GINT_TO_POINTER (TRUE), test_python_server);
  g_test_add_data_func ("/websocket/python-client-tls", GINT_TO_POINTER (TRUE), test_python_client);
  g_test_add_data_func ("/websocket/http-upgrade", GINT_TO_POINTER (FALSE), test_http_upgrade);
  g_test_add_data_func ("/websocket/http-upgrade-tls", GINT_TO_POINTER (TRUE), test_http_upgrade);
  certs = post_test_certs_make ("post-websocket");
  ret = g_test_run ();
  post_test_certs_remove (certs);
  g_free (certs);
  return ret;
}
