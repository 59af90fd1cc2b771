/* post-cat-http.c: post-cat --framer http|websocket
 *
 *   post-cat --framer http http://HOST:PORT/PATH     print the body
 *   post-cat --framer http https://HOST:PORT/PATH
 *   post-cat --framer websocket ws://HOST:PORT/PATH  lines ↔ text messages
 *   post-cat --framer websocket wss://HOST:PORT/PATH
 *
 * http: one GET of the URI's path and query with PostHttpClient: an
 * http:// URI over tcp (HTTP/1.1), an https:// URI raced over tls with ALPN
 * http/1.1 and quic with ALPN h3, HTTP/1.1 or HTTP/3 by the ALPN that won.
 * The body goes to standard output as it arrives (parts of at most 64 KiB:
 * a body of any size is never held whole, over HTTP/1.1 or HTTP/3); -v tells the stack
 * and ALPN that won, then the status line and the header fields on
 * standard error.  A final status other than 2xx prints
 * "post-cat: URI: STATUS REASON" and exits 1 without printing the body.
 *
 * websocket: PostWebSocketFramer (RFC 6455) on tcp (ws://) or tls (wss://)
 * asks for the URI's resource with its Host.  Each line of standard input
 * is sent as a text message; each text or binary message received is
 * printed as a line.  At the end of input, once every line got a message
 * back (an echo server) or after --wait seconds without one, it sends a
 * close (1000) and exits 0 when the peer's close answers it; a close from
 * the peer ends the run too (-v tells its code and reason).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "post-cat-http.h"

#include <gio/gunixinputstream.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_SIZE 65536

static GMainLoop *loop;
static int status;
static gboolean verbose;
static gboolean finished;
static gboolean exchanged;            /* all done: the close may still report the peer's way of ending */
static PostCarrier *carrier;          /* (owned) */
static char *uri_text;                /* (owned) for messages */

/* http */
static PostHttpClient *client;        /* (owned) (nullable) */
static PostMessage *response;         /* (owned) (nullable) the response being read */
static guint close_timeout_id;

/* websocket */
static GDataInputStream *lines;       /* (owned) (nullable) */
static gboolean input_done, close_sent;
static guint64 n_sent, n_received;
static int wait_seconds;
static guint wait_id;

/* The Host and resource of the WebSocket opening handshake (from the URI) */
static char *ws_host;                 /* (owned) */
static char *ws_resource;             /* (owned) */

/* ---- the URI ------------------------------------------------------------- */

typedef struct {
  char *scheme;       /* lower case */
  char *authority;    /* HOST[:PORT] as the Host field gives it */
  char *target;       /* path and query, at least "/" */
} Target;

static void
target_clear (Target *target)
{
  g_free (target->scheme);
  g_free (target->authority);
  g_free (target->target);
}
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Target, target_clear)

static gboolean
parse_target (const char *uri,
              Target     *target,
              GError    **error)
{
  g_autoptr(GUri) parsed = g_uri_parse (uri, G_URI_FLAGS_ENCODED, error);
  const char *host, *path, *query;

  if (parsed == NULL)
    return FALSE;
  host = g_uri_get_host (parsed);
  if (host == NULL || *host == '\0')
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE, "%s has no host", uri);
      return FALSE;
    }
  target->scheme = g_ascii_strdown (g_uri_get_scheme (parsed), -1);
  /* An IPv6 literal is bracketed in a Host field as in the URI */
  target->authority = g_strdup_printf ("%s%s%s", strchr (host, ':') != NULL ? "[" : "", host,
                                       strchr (host, ':') != NULL ? "]" : "");
  if (g_uri_get_port (parsed) > 0)
    {
      char *with_port = g_strdup_printf ("%s:%d", target->authority, g_uri_get_port (parsed));

      g_free (target->authority);
      target->authority = with_port;
    }
  path = g_uri_get_path (parsed);
  query = g_uri_get_query (parsed);
  target->target = g_strconcat (*path != '\0' ? path : "/", query != NULL ? "?" : "",
                                query != NULL ? query : "", NULL);
  return TRUE;
}

/* ---- the WebSocket framer with the URI's Host and resource ---------------- */

/* A configuration makes its framers without parameters; this one hands its
 * place at once to a PostWebSocketFramer built with the URI's Host and
 * resource (docs/framing.md, "Hand-over and pass-through"), which sends its
 * opening handshake with the first message. */
#define POST_CAT_TYPE_WS_START (post_cat_ws_start_get_type ())
G_DECLARE_FINAL_TYPE (PostCatWsStart, post_cat_ws_start, POST_CAT, WS_START, PostFramer)

struct _PostCatWsStart
{
  PostFramer parent_instance;
};

G_DEFINE_FINAL_TYPE (PostCatWsStart, post_cat_ws_start, POST_TYPE_FRAMER)

static gboolean
post_cat_ws_start_encode (PostFramer *framer, PostMessage *message, gsize length,
                          gboolean end_of_message, GByteArray *header, GByteArray *trailer,
                          GError **error)
{
  /* Replaced from start(), before anything is framed */
  g_set_error_literal (error, POST_ERROR, POST_ERROR_NOT_SUPPORTED,
                       "The WebSocket framer was not handed over");
  return FALSE;
}

static gboolean
post_cat_ws_start_decode (PostFramer *framer, const guint8 *data, gsize size,
                          gboolean end_of_stream, PostFrameChunk *chunk, GError **error)
{
  return TRUE;   /* replaced before the first decode: nothing to do */
}

static void
post_cat_ws_start_start (PostFramer *framer,
                         gboolean    initiator)
{
  g_autoptr(PostFramer) ws = post_websocket_framer_new (POST_WEBSOCKET_ROLE_CLIENT, ws_host, ws_resource);

  post_framer_replace (framer, ws, POST_FRAMER_DIRECTION_BOTH);
}

static void
post_cat_ws_start_class_init (PostCatWsStartClass *klass)
{
  PostFramerClass *framer_class = POST_FRAMER_CLASS (klass);

  framer_class->encode = post_cat_ws_start_encode;
  framer_class->decode = post_cat_ws_start_decode;
  framer_class->start = post_cat_ws_start_start;
}

static void
post_cat_ws_start_init (PostCatWsStart *self)
{
}

/* ---- configuration -------------------------------------------------------- */

/**
 * post_cat_framer_configure:
 * @framer: `http` or `websocket`
 * @uri: the URI given
 * @configuration: post-cat's configuration, not frozen yet
 * @error: return location for an error
 *
 * Checks that @uri fits @framer; for websocket, sets the stack, ALPN
 * (unless --alpn named some) and framer on @configuration (for http,
 * PostHttpClient does).
 */
gboolean
post_cat_framer_configure (const char        *framer,
                           const char        *uri,
                           PostConfiguration *configuration,
                           GError           **error)
{
  g_auto(Target) target = { NULL, };
  g_auto(GStrv) alpn = post_configuration_get_alpn (configuration);
  const char *secure_scheme, *plain_scheme;
  gboolean secure;
  GType type;

  if (g_strcmp0 (framer, "http") == 0)
    {
      secure_scheme = "https", plain_scheme = "http";
      type = G_TYPE_INVALID;
    }
  else if (g_strcmp0 (framer, "websocket") == 0)
    {
      secure_scheme = "wss", plain_scheme = "ws";
      type = POST_CAT_TYPE_WS_START;
    }
  else
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--framer is http or websocket, not ‘%s’", framer);
      return FALSE;
    }
  if (!parse_target (uri, &target, error))
    return FALSE;
  secure = g_strcmp0 (target.scheme, secure_scheme) == 0;
  if (!secure && g_strcmp0 (target.scheme, plain_scheme) != 0)
    {
      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "--framer %s takes a %s:// or %s:// URI, not %s", framer, plain_scheme,
                   secure_scheme, uri);
      return FALSE;
    }
  g_free (ws_host);
  g_free (ws_resource);
  ws_host = g_strdup (target.authority);
  ws_resource = g_strdup (target.target);
  if (type == G_TYPE_INVALID)
    return TRUE;   /* http: PostHttpClient chooses stacks, ALPN and framing */
  if (post_configuration_get_stacks (configuration) == NULL)
    {
      /* HTTP/1.1 and WebSocket run over a byte stream: tcp or tls */
      const char *stacks[] = { secure ? "tls" : "tcp", NULL };

      if (!post_configuration_set_stacks (configuration, stacks, error))
        return FALSE;
    }
  if (secure && alpn[0] == NULL)
    {
      const char *ids[] = { "http/1.1", NULL };

      if (!post_configuration_set_alpn (configuration, ids, error))
        return FALSE;
    }
  return post_configuration_set_framer_type (configuration, type, error);
}

/* ---- common ----------------------------------------------------------------- */

static void
finish (int exit_status)
{
  if (finished)
    return;
  finished = TRUE;
  status = exit_status;
  g_main_loop_quit (loop);
}

/* Prints "post-cat: <error>" as one line, whatever the message holds */
static void
fail (const char *prefix, const char *message)
{
  if (!finished)
    {
      g_auto(GStrv) parts = g_strsplit (message, "\n", -1);
      g_autofree char *line = NULL;

      for (char **p = parts; *p != NULL; p++)
        g_strstrip (*p);
      line = g_strjoinv (" ", parts);
      g_printerr ("post-cat: %s%s\n", prefix != NULL ? prefix : "", line);
    }
  finish (EXIT_FAILURE);
}

static void
on_close_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  /* Everything was received: how the peer ends the connection (nginx
   * without close_notify, say) no longer matters */
  if (!post_carrier_close_finish (POST_CARRIER (source), result, &error))
    g_debug ("post-cat: closing: %s", error->message);
  finish (EXIT_SUCCESS);
}

/* The exchange is over: close gracefully, then exit 0. */
static void
close_and_finish (void)
{
  exchanged = TRUE;
  if (post_carrier_get_state (carrier) == POST_CARRIER_STATE_CLOSED)
    finish (EXIT_SUCCESS);
  else
    post_carrier_close_async (carrier, NULL, on_close_done, NULL);
}

static void
on_closed (PostCarrier *self, const GError *error, gpointer user_data)
{
  if (error != NULL && !exchanged)
    fail (NULL, error->message);
  else if (exchanged)
    finish (EXIT_SUCCESS);
}

/* An initiated carrier whose transport fails (a protocol error, a reset)
 * goes dormant rather than closed: for post-cat that is the end. */
static void
on_state (PostCarrier *self, GParamSpec *pspec, gpointer user_data)
{
  const GError *error = post_carrier_get_error (self);

  if (post_carrier_get_state (self) == POST_CARRIER_STATE_DORMANT && !exchanged)
    fail (NULL, error != NULL ? error->message : "the connection was lost");
}

static char *
address_string (GSocketAddress *address)
{
  return address != NULL ? g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (address))
                         : g_strdup ("?");
}

static void
tell_connected (void)
{
  g_autofree char *local = address_string (post_carrier_get_local_address (carrier));
  g_autofree char *remote = address_string (post_carrier_get_remote_address (carrier));
  const char *alpn = post_carrier_get_negotiated_protocol (carrier);

  g_printerr ("post-cat: connected via stack %s from %s to %s%s%s\n",
              post_carrier_get_stack_name (carrier), local, remote,
              alpn != NULL ? ", ALPN " : "", alpn != NULL ? alpn : "");
}

static void
write_out (GBytes *bytes, gboolean newline)
{
  gsize size;
  const char *data = g_bytes_get_data (bytes, &size);

  if (size > 0 && fwrite (data, 1, size, stdout) != size)
    fail ("standard output: ", g_strerror (errno));
  if (newline)
    fputc ('\n', stdout);
  fflush (stdout);
}

/* ---- http --------------------------------------------------------------------- */

/* -v: "HTTP/1.1 200 OK" and the header fields, as they came */
static void
print_head (PostMessage *message, guint code)
{
  const char *version = "HTTP/1.1", *reason = "";
  g_autoptr(GVariant) headers = post_message_lookup_metadata_value (message, "http-headers",
                                                                     G_VARIANT_TYPE ("a(ss)"));

  post_message_lookup_metadata (message, "http-version", "&s", &version);
  post_message_lookup_metadata (message, "http-reason", "&s", &reason);
  g_printerr ("%s %u%s%s\n", version, code, *reason != '\0' ? " " : "", reason);
  if (headers != NULL)
    {
      GVariantIter iter;
      const char *name, *value;

      g_variant_iter_init (&iter, headers);
      while (g_variant_iter_next (&iter, "(&s&s)", &name, &value))
        g_printerr ("%s: %s\n", name, value);
    }
  g_printerr ("\n");
}

static gboolean
on_close_timeout (gpointer user_data)
{
  close_timeout_id = 0;
  finish (EXIT_SUCCESS);
  return G_SOURCE_REMOVE;
}

/* The body is out: close, and exit once the carrier closed (at most 2 s) */
static void
close_client (void)
{
  PostCarrier *http_carrier = post_http_client_get_carrier (client);

  exchanged = TRUE;
  post_http_client_close (client);
  if (http_carrier == NULL || post_carrier_get_state (http_carrier) == POST_CARRIER_STATE_CLOSED)
    {
      finish (EXIT_SUCCESS);
      return;
    }
  g_signal_connect (http_carrier, "closed", G_CALLBACK (on_closed), NULL);
  close_timeout_id = g_timeout_add_seconds (2, on_close_timeout, NULL);
}

static void read_body (void);

static void
on_body (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  gboolean end = FALSE;
  g_autoptr(GBytes) part = post_http_client_read_body_finish (client, result, &end, &error);

  if (finished)
    return;
  if (part == NULL)
    {
      fail (NULL, error->message);
      return;
    }
  write_out (part, FALSE);
  if (end)
    close_client ();
  else
    read_body ();
}

static void
read_body (void)
{
  post_http_client_read_body_async (client, response, NULL, on_body, NULL);
}

static void
on_response (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  const char *reason = "";
  guint code = 0;

  response = post_http_client_request_finish (client, result, &error);
  if (response == NULL)
    {
      fail (NULL, error->message);
      return;
    }
  if (verbose)
    {
      carrier = g_object_ref (post_http_client_get_carrier (client));
      tell_connected ();
    }
  post_message_lookup_metadata (response, "http-status", "u", &code);
  post_message_lookup_metadata (response, "http-reason", "&s", &reason);
  if (verbose)
    print_head (response, code);
  if (code < 200 || code > 299)
    {
      g_autofree char *what = g_strdup_printf (": %u%s%s", code, *reason != '\0' ? " " : "", reason);

      fail (uri_text, what);
      return;
    }
  read_body ();
}

static void
start_http (PostRemote        *remote,
            PostConfiguration *configuration)
{
  g_autoptr(PostMessage) request = post_message_new_from_data ("", 0);

  /* PostHttpClient adds Host, the method (GET) and the target (the URI's) */
  post_message_set_metadata (request,
                             g_variant_new_parsed ("{'http-headers': <[('User-Agent', %s), ('Accept', '*/*')]>}",
                                                   "post-cat/" POST_VERSION_S),
                             NULL);
  client = post_http_client_new (remote, configuration);
  post_http_client_request_async (client, request, NULL, on_response, NULL);
}

/* ---- websocket --------------------------------------------------------------- */

static void read_line (void);
static void send_ws (const char *opcode, GBytes *content);

static void
on_line_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  if (!post_carrier_send_finish (carrier, result, &error))
    fail (NULL, error->message);
  else if (!input_done)
    read_line ();
}

static void maybe_close (void);

static gboolean
on_wait_expired (gpointer user_data)
{
  wait_id = 0;
  n_received = n_sent;   /* no more replies are waited for */
  maybe_close ();
  return G_SOURCE_REMOVE;
}

/* Once the input is sent: the close handshake (code 1000, the default)
 * when every line got its reply, else (re)arm the silence timer. */
static void
maybe_close (void)
{
  g_autoptr(GBytes) empty = NULL;

  if (!input_done || close_sent || finished)
    return;
  g_clear_handle_id (&wait_id, g_source_remove);
  if (n_received < n_sent)
    {
      if (wait_seconds > 0)
        wait_id = g_timeout_add_seconds ((guint) wait_seconds, on_wait_expired, NULL);
      return;
    }
  empty = g_bytes_new (NULL, 0);
  close_sent = TRUE;
  send_ws ("close", empty);
}

/* Sends @content as a message of @opcode ("text", "close") */
static void
send_ws (const char *opcode,
         GBytes     *content)
{
  g_autoptr(PostMessage) message = post_message_new (content);
  g_autoptr(GError) error = NULL;

  if (!post_message_set_metadata (message, g_variant_new_parsed ("{'websocket-opcode': <%s>}", opcode),
                                  &error))
    {
      fail (NULL, error->message);
      return;
    }
  post_carrier_send_async (carrier, message, NULL, on_line_sent, NULL);
}

static void
on_line (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  gsize length;
  char *line = g_data_input_stream_read_line_finish (lines, result, &length, &error);
  g_autoptr(GBytes) bytes = NULL;

  if (finished)
    {
      g_free (line);
      return;
    }
  if (line == NULL && error != NULL)
    {
      fail ("standard input: ", error->message);
      return;
    }
  if (line == NULL)
    {
      input_done = TRUE;
      maybe_close ();
      return;
    }
  bytes = g_bytes_new_take (line, length);
  n_sent++;
  send_ws ("text", bytes);
}

static void
read_line (void)
{
  g_data_input_stream_read_line_async (lines, G_PRIORITY_DEFAULT, NULL, on_line, NULL);
}

static gboolean
on_ws_message (PostCarrier *self, PostMessage *message, gpointer user_data)
{
  guint8 opcode = 0;

  post_message_lookup_metadata (message, "websocket-opcode", "y", &opcode);
  if (opcode == 1 || opcode == 2)
    {
      write_out (post_message_get_content (message), TRUE);
      n_received++;
      maybe_close ();
    }
  else if (opcode == 8)
    {
      guint16 code = 1005;
      const char *reason = "";

      post_message_lookup_metadata (message, "websocket-close-code", "q", &code);
      post_message_lookup_metadata (message, "websocket-close-reason", "&s", &reason);
      if (verbose)
        g_printerr ("post-cat: %s close: code %u%s%s\n", close_sent ? "the peer answered our" : "the peer sent a",
                    code, *reason != '\0' ? ", " : "", reason);
      /* Ours answered, or the framer answered the peer's: both sides are done */
      close_sent = TRUE;
      close_and_finish ();
      return FALSE;
    }
  return TRUE;
}

static void
start_websocket (void)
{
  g_autoptr(GInputStream) input = g_unix_input_stream_new (STDIN_FILENO, FALSE);

  lines = g_data_input_stream_new (input);
  post_carrier_ready (carrier, on_ws_message, NULL, NULL);
  read_line ();
}

/* ---- running ------------------------------------------------------------------ */

static void
on_established (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  if (!post_carrier_establish_finish (carrier, result, &error))
    {
      fail (NULL, error->message);
      return;
    }
  if (verbose)
    tell_connected ();
  start_websocket ();
}

/**
 * post_cat_framer_run:
 * @loop: post-cat's main loop (its signal handlers quit it)
 * @framer: `http` or `websocket`, as given to post_cat_framer_configure()
 * @uri: the URI
 * @configuration: the configuration post_cat_framer_configure() set up
 * @verbose: -v
 * @wait: --wait: websocket: after the end of input, wait at most so many
 *   seconds of silence for replies (0: until every line got one)
 *
 * Runs the client until the exchange is over or fails.
 *
 * Returns: the exit status
 */
int
post_cat_framer_run (GMainLoop         *main_loop,
                     const char        *framer,
                     const char        *uri,
                     PostConfiguration *configuration,
                     gboolean           be_verbose,
                     int                wait)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostRemote) remote = post_remote_new_from_uri (uri, &error);

  if (remote == NULL)
    {
      g_printerr ("post-cat: %s\n", error->message);
      return EXIT_FAILURE;
    }
  loop = main_loop;
  verbose = be_verbose;
  wait_seconds = wait;
  status = EXIT_FAILURE;     /* a signal ends the loop before anything finished */
  uri_text = g_strdup (uri);
  if (g_strcmp0 (framer, "http") == 0)
    start_http (remote, configuration);
  else
    {
      carrier = post_carrier_initiate (NULL, remote, configuration);
      g_signal_connect (carrier, "closed", G_CALLBACK (on_closed), NULL);
      g_signal_connect (carrier, "notify::state", G_CALLBACK (on_state), NULL);
      post_carrier_establish_async (carrier, NULL, on_established, NULL);
    }
  g_main_loop_run (loop);

  g_clear_handle_id (&wait_id, g_source_remove);
  g_clear_handle_id (&close_timeout_id, g_source_remove);
  if (client != NULL && post_http_client_get_carrier (client) != NULL)
    g_signal_handlers_disconnect_by_func (post_http_client_get_carrier (client), on_closed, NULL);
  if (carrier != NULL)
    {
      g_signal_handlers_disconnect_by_func (carrier, on_closed, NULL);
      g_signal_handlers_disconnect_by_func (carrier, on_state, NULL);
      if (post_carrier_get_state (carrier) != POST_CARRIER_STATE_CLOSED)
        post_carrier_abort (carrier);
    }
  g_clear_object (&client);
  g_clear_object (&carrier);
  g_clear_object (&response);
  g_clear_object (&lines);
  g_clear_pointer (&uri_text, g_free);
  g_clear_pointer (&ws_host, g_free);
  g_clear_pointer (&ws_resource, g_free);
  return status;
}
