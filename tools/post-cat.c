/* post-cat.c: netcat for libpost
 *
 *   post-cat [OPTION…] URI             send stdin, print what comes back
 *   post-cat --listen [OPTION…] URI    accept carriers, print what arrives
 *   post-cat --listen --sink URI       receive from any remote (a multicast
 *                                      group: udp://239.1.2.3:5000), print
 *
 * udp:// and dtls:// URIs (and --stack udp/dtls) lift RFC 9622's default
 * requirements of reliability, order and congestion control, which
 * datagram stacks do not meet: naming the stack is the choice.
 *
 * By default each line of input is one message (without its newline) and
 * each message received is printed on a line of its own.  With --stream the
 * carrier uses stream framing: standard input is sent as one message that
 * ends when the input does, and received bytes are printed as they are.
 *
 * After the end of input the client flushes, then waits until every line
 * sent got a reply (an echo server), the peer closes, or --wait seconds
 * pass without a reply; then it closes gracefully and exits 0.  On any
 * failure it prints one line "post-cat: <error>" on stderr and exits 1.
 *
 * tls://, dtls:// and quic:// URIs: --ca FILE trusts the certificates of FILE (PEM) instead of
 * the system store; --pin DIGEST pins a public key (the SHA-256 of its
 * SubjectPublicKeyInfo, 64 hex digits or 44 base64 characters, optionally
 * after "sha256/"); --cert FILE --key FILE give the listener (or a client)
 * its certificate and key in PEM; --psk-file FILE holds pre-shared keys,
 * one "IDENTITY:HEXKEY" a line (at least 16 bytes; '#' starts a comment):
 * a listener accepts all of them, a client uses the first.  --idempotent
 * marks the lines idempotent, so that they may go as 0-RTT early data when
 * the session is resumed (the first line is read before connecting; over
 * quic:// they go in 0-RTT packets), and
 * --session-cache disk keeps session tickets under $XDG_CACHE_HOME so that
 * the next post-cat resumes.  -v tells whether the session was resumed and
 * whether early data was accepted.
 *
 * --fork N (client, line mode): once the carrier is established it is
 * forked N times (draft 2.1): on a multistreaming stack (quic://,
 * sctp://) each fork is another stream of the same connection or
 * association, on others a new
 * transport to the same remote on the same association, which a libpost
 * peer receives as a fork request of the first carrier too on tcp:// and
 * tls:// (libpost's framing announces it with control frames; not with
 * --stream, udp:// or dtls://, where the peer's listener gets an ordinary
 * carrier).  A listener accepts forks either way (with --echo it echoes on
 * them).  The lines of
 * standard input are dealt round-robin over the N+1 carriers (line 1 on
 * the first, line 2 on the first fork, ...), and every reply is printed as
 * it arrives, so replies of different carriers may interleave.  -v tells
 * each carrier opened (its number, whether it shares the first one's
 * transport, and whether the peer received it as a fork request) and every change of a carrier's local or remote address
 * (migration).
 *
 * Proxies: tcp:// and tls:// carriers go through the proxies the system's
 * proxy settings name (g_proxy_resolver_get_default(): GNOME's settings or
 * libproxy through glib-networking, the flatpak portal); --proxy URI uses
 * that proxy instead (socks5://, socks4a://, socks4://, http:// CONNECT,
 * USER:PASSWORD@ in the URI when it asks for them), --proxy direct:// none.
 * TLS still verifies the remote's name.  -v says which proxy carried the
 * carrier and what it was asked for.
 *
 * Choosing: --alpn PROTOCOL (repeatable) offers ALPN protocol ids (RFC 7301)
 * on tls://, dtls:// and quic:// (a server that checks ALPN, as every
 * HTTP/3 server does, refuses a client that offers none it knows); -4 and
 * -6 use only IPv4 or IPv6 addresses; --local ADDRESS[:PORT] binds the
 * client to that address and port (a listener takes its own from the URI);
 * --connect-timeout SECONDS fails an establishment that takes longer; -o
 * FAMILY.OPTION=VALUE sets a stack option (post-policy options lists them;
 * VALUE is GVariant text such as 30000, uint32 7 or 'never', a bare word a
 * string) and is checked against what the loaded stacks declare.
 *
 * --json tells what -v tells as JSON on stderr, one object a line, each
 * with an "event" member (docs/man/post-cat.1 has the schema); a failure
 * is then the event "error" instead of the "post-cat: <error>" line.
 *
 * --framer http|websocket (a client): HTTP/1.1 or WebSocket instead of
 * lines, in tools/post-cat-http.c (its comment says how).
 *
 * sctp:// URIs: the port is the UDP port that carries SCTP (RFC 6951,
 * default 9899); --sctp-port N names the SCTP port inside it (option
 * sctp.port; default: the same number), as usrsctp's example programs
 * listen on SCTP port 7 (echo) or 9 (discard) over UDP port 9899.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>
#include <gio/gunixinputstream.h>
#include "tool-json.h"
#include "post-cat-http.h"
#include <glib-unix.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_SIZE 65536

static gboolean opt_listen;
static gboolean opt_echo;
static gboolean opt_once;
static gboolean opt_stream;
static gboolean opt_verbose;
static gboolean opt_sink;
static char *opt_stack;
static int opt_wait = 2;
static char **opt_ca;
static char **opt_pin;
static char *opt_cert;
static char *opt_key;
static char *opt_psk_file;
static gboolean opt_idempotent;
static char *opt_session_cache;
static int opt_fork;
static int opt_sctp_port = -1;
static char *opt_proxy;
static char **opt_alpn;
static gboolean opt_ipv4;
static gboolean opt_ipv6;
static char *opt_local;
static double opt_connect_timeout;
static char **opt_options;
static gboolean opt_json;
static gboolean opt_version;
static char *opt_framer;

static GOptionEntry entries[] = {
  { "listen", 'l', 0, G_OPTION_ARG_NONE, &opt_listen, "Listen on URI and accept carriers", NULL },
  { "echo", 'e', 0, G_OPTION_ARG_NONE, &opt_echo, "With --listen: echo every message back", NULL },
  { "once", '1', 0, G_OPTION_ARG_NONE, &opt_once, "With --listen: exit when the first carrier closes", NULL },
  { "stream", 's', 0, G_OPTION_ARG_NONE, &opt_stream, "Stream framing: all of stdin is one message", NULL },
  { "stack", 'S', 0, G_OPTION_ARG_STRING, &opt_stack, "Use only the stack NAME", "NAME" },
  { "wait", 'w', 0, G_OPTION_ARG_INT, &opt_wait, "After end of input, wait at most SECONDS of silence for replies (default 2; 0: until the peer closes)", "SECONDS" },
  { "sink", 0, 0, G_OPTION_ARG_NONE, &opt_sink, "With --listen: receive from every remote as one sink (multicast: a group URI such as udp://239.1.2.3:5000)", NULL },
  { "verbose", 'v', 0, G_OPTION_ARG_NONE, &opt_verbose, "Tell on stderr what was chosen", NULL },
  { "ca", 0, 0, G_OPTION_ARG_FILENAME_ARRAY, &opt_ca, "tls: trust the certificates in FILE (PEM) instead of the system store (repeatable)", "FILE" },
  { "pin", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_pin, "tls: pin a public key: the SHA-256 of its SubjectPublicKeyInfo, 64 hex digits or base64 (optionally after sha256/) (repeatable)", "DIGEST" },
  { "cert", 0, 0, G_OPTION_ARG_FILENAME, &opt_cert, "tls: our certificate (PEM), with --key", "FILE" },
  { "key", 0, 0, G_OPTION_ARG_FILENAME, &opt_key, "tls: the private key of --cert (PEM)", "FILE" },
  { "psk-file", 0, 0, G_OPTION_ARG_FILENAME, &opt_psk_file, "tls: pre-shared keys, one IDENTITY:HEXKEY a line (a client uses the first)", "FILE" },
  { "idempotent", 'i', 0, G_OPTION_ARG_NONE, &opt_idempotent, "Mark the lines idempotent: they may be sent as 0-RTT early data (and replayed)", NULL },
  { "session-cache", 0, 0, G_OPTION_ARG_STRING, &opt_session_cache, "tls: where session tickets are kept: memory (default), disk (resume across runs) or none", "MODE" },
  { "fork", 'f', 0, G_OPTION_ARG_INT, &opt_fork, "Fork the carrier N times (quic, sctp: N more streams on the one connection or association; other stacks: N more transports) and deal the lines round-robin over all of them", "N" },
  { "sctp-port", 0, 0, G_OPTION_ARG_INT, &opt_sctp_port, "sctp: the SCTP port inside the UDP datagrams (default: the URI's port)", "PORT" },
  { "alpn", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_alpn, "tls, dtls, quic: offer the ALPN protocol id PROTOCOL, such as h3 or h2 (repeatable, most preferred first)", "PROTOCOL" },
  { "ipv4", '4', 0, G_OPTION_ARG_NONE, &opt_ipv4, "Use IPv4 addresses only", NULL },
  { "ipv6", '6', 0, G_OPTION_ARG_NONE, &opt_ipv6, "Use IPv6 addresses only", NULL },
  { "local", 0, 0, G_OPTION_ARG_STRING, &opt_local, "Client: send from ADDRESS (an IP literal; [ADDRESS]:PORT for IPv6 with a port)", "ADDRESS[:PORT]" },
  { "connect-timeout", 0, 0, G_OPTION_ARG_DOUBLE, &opt_connect_timeout, "Client: fail when establishment takes more than SECONDS (default: no limit)", "SECONDS" },
  { "option", 'o', 0, G_OPTION_ARG_STRING_ARRAY, &opt_options, "Set the stack option FAMILY.OPTION (post-policy options lists them) to VALUE, GVariant text or a bare word (repeatable)", "FAMILY.OPTION=VALUE" },
  { "json", 0, 0, G_OPTION_ARG_NONE, &opt_json, "Tell what -v tells as JSON on stderr, one object a line (see post-cat(1))", NULL },
  { "version", 0, 0, G_OPTION_ARG_NONE, &opt_version, "Print the version and exit", NULL },
  { "framer", 0, 0, G_OPTION_ARG_STRING, &opt_framer, "Client: speak HTTP/1.1 (http:// or https:// URI: GET it, print the body) or WebSocket (ws://, wss://: each line a text message)", "http|websocket" },
  { "proxy", 0, 0, G_OPTION_ARG_STRING, &opt_proxy, "tcp, tls: go through the proxy URI (socks5://HOST:PORT, socks4a://, http://, with USER:PASSWORD@ if it asks) instead of the system's proxy settings; direct:// for none", "URI" },
  { NULL }
};

static GMainLoop *loop;
static int status = EXIT_SUCCESS;
static gboolean failed;

/* client state */
static PostCarrier *client;            /* (owned) (nullable) */
static GInputStream *input;            /* (owned) stdin */
static GDataInputStream *lines;        /* (owned) (nullable) */
static GBytes *pending;                /* (owned) (nullable) a line waiting for room */
static PostMessage *stream_out;        /* (owned) (nullable) the --stream message */
static guint64 n_sent, n_received;
static gboolean input_done, peer_done, closing;
static gboolean client_closed;          /* the peer closed; --stream: its data may still wait in the inbox */
static guint wait_id;
static GPtrArray *forks;               /* (owned) (nullable) --fork: the forked carriers */
static guint next_carrier;             /* --fork: round-robin position, 0 is the client */
static gint forks_pending;             /* --fork: forks not finished yet */

/* listener state */
static PostCarrier *listener;          /* (owned) (nullable) */
static GHashTable *carriers;           /* (owned) PostCarrier → itself */

/* ---- --json: one object a line on stderr ----------------------------------
 *
 * json_begin ("event"), then members, then json_end () prints the line
 * (tool-json.h escapes the strings). */

static ToolJson *json_line;

static void
json_begin (const char *event)
{
  json_line = tool_json_new ();
  tool_json_begin_object (json_line, NULL);
  tool_json_string (json_line, "event", event);
}

static void json_str (const char *key, const char *value) { tool_json_string (json_line, key, value); }
static void json_uint (const char *key, guint64 value) { tool_json_int (json_line, key, (gint64) value); }
static void json_int (const char *key, gint64 value) { tool_json_int (json_line, key, value); }
static void json_bool (const char *key, gboolean value) { tool_json_bool (json_line, key, value); }
static void json_null (const char *key) { tool_json_null (json_line, key); }
static void json_object_begin (const char *key) { tool_json_begin_object (json_line, key); }
static void json_object_end (void) { tool_json_end_object (json_line); }

/* milliseconds with three decimals */
static void
json_ms (const char *key, gint64 microseconds)
{
  tool_json_double (json_line, key, microseconds / 1000.0, "%.3f");
}

static void
json_end (void)
{
  g_autofree char *text = NULL;

  tool_json_end_object (json_line);
  text = tool_json_free (g_steal_pointer (&json_line));
  fprintf (stderr, "%s\n", text);
  fflush (stderr);
}

/* Prints "post-cat: <error>" as one line, whatever the message holds
 * (with --json the event "error"). */
static void
fail (const char *prefix, const GError *error)
{
  if (!failed)
    {
      g_auto(GStrv) lines = g_strsplit (error ? error->message : "failed", "\n", -1);
      g_autofree char *message = NULL;

      for (char **l = lines; *l != NULL; l++)
        g_strstrip (*l);
      message = g_strjoinv (" ", lines);
      if (opt_json)
        {
          g_autofree char *full = g_strconcat (prefix ? prefix : "", message, NULL);

          json_begin ("error");
          json_str ("message", full);
          json_str ("domain", error != NULL ? g_quark_to_string (error->domain) : NULL);
          if (error != NULL)
            json_int ("code", error->code);
          json_end ();
        }
      else
        g_printerr ("post-cat: %s%s\n", prefix ? prefix : "", message);
    }
  failed = TRUE;
  status = EXIT_FAILURE;
  g_main_loop_quit (loop);
}

static char *
address_string (GSocketAddress *address)
{
  if (address == NULL)
    return g_strdup ("?");
  return g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (address));
}

static void
print_bytes (GBytes *bytes, gboolean newline)
{
  gsize size;
  const char *data = g_bytes_get_data (bytes, &size);

  if (size > 0)
    fwrite (data, 1, size, stdout);
  if (newline)
    fputc ('\n', stdout);
  fflush (stdout);
}

/* ---- security (tls://) ----------------------------------------------------- */

/* "encrypted, session resumed: yes, early data: accepted[, ALPN h3]", or
 * NULL for a cleartext carrier. */
static char *
describe_security (PostCarrier *carrier)
{
  PostSecurityFlags flags = post_carrier_get_security_flags (carrier);
  const char *early = "none";
  const char *alpn;

  if (!(flags & POST_SECURITY_ENCRYPTED))
    return NULL;
  if (flags & POST_SECURITY_EARLY_DATA_ACCEPTED)
    early = "accepted";
  else if (flags & POST_SECURITY_EARLY_DATA_SENT)
    early = "rejected, resent after the handshake";
  alpn = post_carrier_get_negotiated_protocol (carrier);
  return g_strdup_printf ("encrypted%s, session resumed: %s, early data: %s%s%s%s",
                          (flags & POST_SECURITY_PSK) ? ", pre-shared key" : "",
                          (flags & POST_SECURITY_RESUMED) ? "yes" : "no", early,
                          (flags & POST_SECURITY_FAST_OPEN) ? ", TCP Fast Open tried" : "",
                          alpn != NULL ? ", ALPN " : "", alpn != NULL ? alpn : "");
}

/* --json: the member "security", null for a cleartext carrier */
static void
json_security (PostCarrier *carrier)
{
  PostSecurityFlags flags = post_carrier_get_security_flags (carrier);

  if (!(flags & POST_SECURITY_ENCRYPTED))
    {
      json_null ("security");
      return;
    }
  json_object_begin ("security");
  json_bool ("encrypted", TRUE);
  json_bool ("pre_shared_key", (flags & POST_SECURITY_PSK) != 0);
  json_bool ("resumed", (flags & POST_SECURITY_RESUMED) != 0);
  json_str ("early_data", (flags & POST_SECURITY_EARLY_DATA_ACCEPTED) ? "accepted"
                          : (flags & POST_SECURITY_EARLY_DATA_SENT) ? "rejected" : "none");
  json_bool ("fast_open", (flags & POST_SECURITY_FAST_OPEN) != 0);
  json_str ("alpn", post_carrier_get_negotiated_protocol (carrier));
  json_object_end ();
}

typedef struct {
  char   *identity;
  GBytes *key;
} Psk;

static void
psk_free (Psk *psk)
{
  g_free (psk->identity);
  g_bytes_unref (psk->key);
  g_free (psk);
}

/* --psk-file: "IDENTITY:HEXKEY" lines; blank lines and '#' comments are
 * skipped.  The identity is what precedes the last ':'.  Never prints a key. */
static GPtrArray *
load_psk_file (const char *path, GError **error)
{
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GPtrArray) psks = g_ptr_array_new_with_free_func ((GDestroyNotify) psk_free);

  if (!g_file_get_contents (path, &contents, NULL, error))
    return NULL;
  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      char *line = g_strstrip (lines[i]);
      char *colon = strrchr (line, ':');
      gsize hex_len;
      GByteArray *key;
      Psk *psk;

      if (*line == '\0' || *line == '#')
        continue;
      hex_len = colon != NULL ? strlen (colon + 1) : 0;
      if (colon == NULL || colon == line || hex_len < 32 || hex_len % 2 != 0)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       "%s:%u: expected IDENTITY:HEXKEY with a key of at least 16 bytes (32 hex digits)",
                       path, i + 1);
          return NULL;
        }
      key = g_byte_array_sized_new (hex_len / 2);
      for (const char *h = colon + 1; *h != '\0'; h += 2)
        {
          int hi = g_ascii_xdigit_value (h[0]), lo = g_ascii_xdigit_value (h[1]);

          if (hi < 0 || lo < 0)
            {
              g_byte_array_unref (key);
              g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           "%s:%u: the key is not in hex", path, i + 1);
              return NULL;
            }
          g_byte_array_append (key, (guint8[]) { (guint8) (hi << 4 | lo) }, 1);
        }
      psk = g_new0 (Psk, 1);
      psk->identity = g_strndup (line, colon - line);
      psk->key = g_byte_array_free_to_bytes (key);
      g_ptr_array_add (psks, psk);
    }
  if (psks->len == 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, "%s holds no pre-shared key", path);
      return NULL;
    }
  return g_steal_pointer (&psks);
}

/* --ca, --pin, --session-cache */
static gboolean
configure_security (PostConfiguration *configuration, GError **error)
{
  if (opt_ca != NULL && opt_ca[0] != NULL)
    {
      if (!post_configuration_set_use_system_trust (configuration, FALSE, error))
        return FALSE;
      for (guint i = 0; opt_ca[i] != NULL; i++)
        if (!post_configuration_add_trust_anchor_file (configuration, opt_ca[i], error))
          return FALSE;
    }
  for (guint i = 0; opt_pin != NULL && opt_pin[i] != NULL; i++)
    if (!post_configuration_add_pinned_key (configuration, opt_pin[i], error))
      return FALSE;
  if (opt_session_cache != NULL)
    {
      const char *modes[] = { "memory", "disk", "none", NULL };

      if (!g_strv_contains (modes, opt_session_cache))
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       "--session-cache is memory, disk or none, not ‘%s’", opt_session_cache);
          return FALSE;
        }
      if (!post_configuration_set_option (configuration, "tls.session-cache",
                                          g_variant_new_string (opt_session_cache), error))
        return FALSE;
    }
  return TRUE;
}

/* --cert/--key, and for a listener every key of --psk-file, on @local. */
static gboolean
configure_local (PostLocal *local, GPtrArray *psks, GError **error)
{
  if (opt_cert != NULL &&
      !post_local_set_identity_from_files (local, opt_cert, opt_key, error))
    return FALSE;
  for (guint i = 0; psks != NULL && i < psks->len; i++)
    {
      Psk *psk = psks->pdata[i];

      if (!post_local_add_pre_shared_key (local, psk->identity, psk->key, error))
        return FALSE;
    }
  return TRUE;
}

/* -4, -6, and for a client --local, on @local */
static gboolean
choose_local_address (PostLocal *local, GError **error)
{
  GSocketFamily family = opt_ipv4 ? G_SOCKET_FAMILY_IPV4
                         : opt_ipv6 ? G_SOCKET_FAMILY_IPV6 : G_SOCKET_FAMILY_INVALID;
  GInetAddress *address;

  if (opt_local != NULL)
    {
      g_autoptr(PostLocal) given = NULL;
      g_autofree char *text = NULL;

      /* A bare IPv6 literal holds colons: bracket it, so that its last
       * group is not read as a port */
      if (g_hostname_is_ip_address (opt_local) && strchr (opt_local, ':') != NULL)
        text = g_strdup_printf ("[%s]", opt_local);
      else
        text = g_strdup (opt_local);
      given = post_local_new_from_uri (text, error);
      if (given == NULL)
        {
          g_prefix_error (error, "--local %s: ", opt_local);
          return FALSE;
        }
      if ((post_local_get_address (given) != NULL
           && !post_local_set_address (local, post_local_get_address (given), error))
          || !post_local_set_port (local, post_local_get_port (given), error)
          || (post_local_get_interface (given) != NULL
              && !post_local_set_interface (local, post_local_get_interface (given), error)))
        return FALSE;
    }
  if (family == G_SOCKET_FAMILY_INVALID)
    return TRUE;
  address = post_local_get_address (local);
  if (address == NULL)
    {
      /* The any-address of that family: a candidate of the other family
       * has no local address to go from, and is not tried */
      g_autoptr(GInetAddress) any = g_inet_address_new_any (family);

      return post_local_set_address (local, any, error);
    }
  if (g_inet_address_get_family (address) != family)
    {
      g_autofree char *text = g_inet_address_to_string (address);

      g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                   "%s is not an %s address (%s)", text, opt_ipv4 ? "IPv4" : "IPv6",
                   opt_ipv4 ? "-4" : "-6");
      return FALSE;
    }
  return TRUE;
}

/* -o FAMILY.OPTION=VALUE: VALUE is GVariant text (30000, uint32 7,
 * 'never', true), else a bare word taken as a string, as in the policy
 * files; post_configuration_set_option() checks it against what the loaded
 * stacks declare. */
static gboolean
configure_options (PostConfiguration *configuration, GError **error)
{
  for (guint i = 0; opt_options != NULL && opt_options[i] != NULL; i++)
    {
      const char *equals = strchr (opt_options[i], '=');
      g_autofree char *key = NULL;
      g_autoptr(GVariant) value = NULL;

      if (equals == NULL || equals == opt_options[i])
        {
          g_set_error (error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       "-o %s: expected FAMILY.OPTION=VALUE, such as tcp.user-timeout=30000",
                       opt_options[i]);
          return FALSE;
        }
      key = g_strndup (opt_options[i], equals - opt_options[i]);
      g_strstrip (key);
      value = g_variant_parse (NULL, equals + 1, NULL, NULL, NULL);
      if (value == NULL)
        value = g_variant_ref_sink (g_variant_new_string (equals + 1));
      if (!post_configuration_set_option (configuration, key, value, error))
        {
          g_prefix_error (error, "-o %s: ", opt_options[i]);
          return FALSE;
        }
    }
  return TRUE;
}

/* ---- client: closing ----------------------------------------------------- */

static void
on_close_done (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  if (!post_carrier_close_finish (POST_CARRIER (source), result, &error))
    fail (NULL, error);
  g_main_loop_quit (loop);
}

static void
close_client (void)
{
  if (closing)
    return;
  closing = TRUE;
  g_clear_handle_id (&wait_id, g_source_remove);
  for (guint i = 0; forks != NULL && i < forks->len; i++)
    post_carrier_close (forks->pdata[i]);
  post_carrier_close_async (client, NULL, on_close_done, NULL);
}

static gboolean
on_wait_expired (gpointer user_data)
{
  wait_id = 0;
  close_client ();
  return G_SOURCE_REMOVE;
}

/* Once the input is sent: close when the replies are in, else (re)arm the
 * silence timer. */
static void
maybe_finish (void)
{
  if (!input_done || closing)
    return;
  if (opt_stream ? peer_done : n_received >= n_sent)
    {
      close_client ();
      return;
    }
  g_clear_handle_id (&wait_id, g_source_remove);
  if (opt_wait > 0)
    wait_id = g_timeout_add_seconds ((guint) opt_wait, on_wait_expired, NULL);
}

static void
on_client_closed (PostCarrier *carrier, const GError *error, gpointer user_data)
{
  if (error != NULL)
    fail (NULL, error);
  else if (opt_stream && !peer_done)
    client_closed = TRUE;      /* what the peer sent last is still in the inbox: the receive drains it */
  else
    g_main_loop_quit (loop);   /* our close, or the peer's */
}

/* ---- client: receiving --------------------------------------------------- */

static gboolean
on_client_message (PostCarrier *carrier, PostMessage *message, gpointer user_data)
{
  print_bytes (post_message_get_content (message), TRUE);
  n_received++;
  maybe_finish ();
  return TRUE;
}

static void receive_stream_chunk (PostCarrier *carrier);

static void
on_stream_chunk (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PostCarrier *carrier = POST_CARRIER (source);
  g_autoptr(GError) error = NULL;
  g_autoptr(PostMessage) message = NULL;
  g_autoptr(GBytes) chunk = NULL;
  gboolean end = FALSE;

  chunk = post_carrier_receive_partial_finish (carrier, result, &message, &end, &error);
  if (chunk == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) &&
          !g_error_matches (error, POST_ERROR, POST_ERROR_CLOSED))
        fail (NULL, error);
      else if (client_closed)
        g_main_loop_quit (loop);   /* the inbox is drained */
      return;
    }
  print_bytes (chunk, FALSE);
  if (end)
    {
      peer_done = TRUE;
      if (client_closed)
        g_main_loop_quit (loop);
      else
        maybe_finish ();
    }
  else
    receive_stream_chunk (carrier);
}

static void
receive_stream_chunk (PostCarrier *carrier)
{
  post_carrier_receive_partial_async (carrier, 1, CHUNK_SIZE, NULL, on_stream_chunk, NULL);
}

/* ---- client: sending standard input -------------------------------------- */

static void read_input (void);

static void
on_flushed (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  if (!post_carrier_flush_finish (POST_CARRIER (source), result, &error))
    {
      fail (NULL, error);
      return;
    }
  if (pending != NULL || !input_done)
    read_input ();       /* room again: retry the pending line, go on */
  else
    maybe_finish ();
}

/* Queue @line; when the queue is full, wait for a flush and retry. */
static gboolean
send_line (GBytes *line)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostMessage) message = post_message_new (line);
  PostCarrier *target = client;
  guint n_carriers = 1 + (forks != NULL && forks_pending == 0 ? forks->len : 0);

  /* --fork: round-robin over the carrier and its forks (once all exist). */
  if (next_carrier % n_carriers > 0)
    target = forks->pdata[next_carrier % n_carriers - 1];
  /* Idempotent: may go as 0-RTT early data, which an attacker can replay. */
  if (opt_idempotent)
    post_message_set_idempotent (message, TRUE, NULL);
  if (post_carrier_send (target, message, &error))
    {
      n_sent++;
      next_carrier = (next_carrier + 1) % n_carriers;
      return TRUE;
    }
  if (!g_error_matches (error, POST_ERROR, POST_ERROR_WOULD_BLOCK))
    {
      fail (NULL, error);
      return FALSE;
    }
  pending = g_bytes_ref (line);
  post_carrier_flush_async (target, NULL, on_flushed, NULL);
  return FALSE;
}

static void
on_line (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  gsize length;
  char *line = g_data_input_stream_read_line_finish (lines, result, &length, &error);
  g_autoptr(GBytes) bytes = NULL;

  if (line == NULL && error != NULL)
    {
      fail ("standard input: ", error);
      return;
    }
  if (line == NULL)
    {
      input_done = TRUE;
      post_carrier_flush_async (client, NULL, on_flushed, NULL);
      return;
    }
  bytes = g_bytes_new_take (line, length);
  if (send_line (bytes))
    read_input ();
}

static void
on_part_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  if (!post_carrier_send_partial_finish (POST_CARRIER (source), result, &error))
    fail (NULL, error);
  else if (input_done)
    maybe_finish ();
  else
    read_input ();
}

static void
on_input_chunk (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) chunk = g_input_stream_read_bytes_finish (input, result, &error);

  if (chunk == NULL)
    {
      fail ("standard input: ", error);
      return;
    }
  input_done = g_bytes_get_size (chunk) == 0;   /* the end of input ends the message */
  post_carrier_send_partial_async (client, stream_out, chunk, input_done,
                                   NULL, on_part_sent, NULL);
}

static void
read_input (void)
{
  if (opt_stream)
    {
      g_input_stream_read_bytes_async (input, CHUNK_SIZE, G_PRIORITY_DEFAULT, NULL,
                                       on_input_chunk, NULL);
      return;
    }
  if (pending != NULL)
    {
      g_autoptr(GBytes) line = g_steal_pointer (&pending);

      if (!send_line (line))
        return;
      if (input_done)
        {
          post_carrier_flush_async (client, NULL, on_flushed, NULL);
          return;
        }
    }
  g_data_input_stream_read_line_async (lines, G_PRIORITY_DEFAULT, NULL, on_line, NULL);
}

/* ---- client: --fork, and -v path changes ------------------------------------ */

/* -v: tells when a carrier's local or remote address changes (migration);
 * path-changed also fires for new measurements, which are not told. */
static void
on_path_changed (PostCarrier *carrier, PostPath *path, gpointer user_data)
{
  g_autofree char *local = address_string (post_path_get_local_address (path));
  g_autofree char *remote = address_string (post_path_get_remote_address (path));
  g_autofree char *now = g_strdup_printf ("%s to %s", local, remote);
  const char *before = g_object_get_data (G_OBJECT (carrier), "post-cat-path");

  if (g_strcmp0 (before, now) == 0)
    return;
  if (before != NULL && opt_json)
    {
      json_begin ("path-changed");
      json_uint ("carrier", GPOINTER_TO_UINT (user_data));
      json_str ("local", local);
      json_str ("remote", remote);
      json_str ("interface", post_path_get_interface (path));
      json_end ();
    }
  else if (before != NULL)
    g_printerr ("post-cat: carrier %u: path changed: now from %s%s%s\n", GPOINTER_TO_UINT (user_data), now,
                post_path_get_interface (path) != NULL ? " on " : "",
                post_path_get_interface (path) != NULL ? post_path_get_interface (path) : "");
  g_object_set_data_full (G_OBJECT (carrier), "post-cat-path", g_steal_pointer (&now), g_free);
}

static void
watch_path (PostCarrier *carrier, guint number)
{
  g_autofree char *local = address_string (post_carrier_get_local_address (carrier));
  g_autofree char *remote = address_string (post_carrier_get_remote_address (carrier));

  g_object_set_data_full (G_OBJECT (carrier), "post-cat-path",
                          g_strdup_printf ("%s to %s", local, remote), g_free);
  g_signal_connect (carrier, "path-changed", G_CALLBACK (on_path_changed), GUINT_TO_POINTER (number));
}

static void
on_fork_closed (PostCarrier *carrier, const GError *error, gpointer user_data)
{
  if (error != NULL)
    fail ("fork: ", error);
}

static void
on_forked (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostCarrier) forked = post_carrier_fork_finish (POST_CARRIER (source), result, &error);
  guint number = GPOINTER_TO_UINT (user_data);

  forks_pending--;
  if (forked == NULL)
    {
      fail ("--fork: ", error);
      return;
    }
  if (opt_verbose)
    {
      g_autofree char *local = address_string (post_carrier_get_local_address (forked));
      g_autofree char *first = address_string (post_carrier_get_local_address (client));
      gboolean same = g_strcmp0 (local, first) == 0;

      gboolean request = (post_carrier_get_capabilities (forked) & POST_STACK_CAP_FORK_REQUEST) != 0;

      if (opt_json)
        {
          g_autofree char *remote = address_string (post_carrier_get_remote_address (forked));

          json_begin ("forked");
          json_uint ("carrier", number + 1);
          json_uint ("carriers", opt_fork + 1);
          json_str ("stack", post_carrier_get_stack_name (forked));
          json_str ("local", local);
          json_str ("remote", remote);
          json_bool ("same_transport", same);
          json_bool ("fork_request", !same && request);
          json_end ();
        }
      else
        g_printerr ("post-cat: carrier %u of %d: forked via stack %s from %s, %s\n", number + 1, opt_fork + 1,
                    post_carrier_get_stack_name (forked), local,
                    same ? "a new stream of the first carrier's connection"
                    : request ? "a new transport, received by the peer as a fork request of the first carrier"
                    : "a new transport, an ordinary carrier at the peer's listener");
      watch_path (forked, number + 1);
    }
  g_signal_connect (forked, "closed", G_CALLBACK (on_fork_closed), NULL);
  post_carrier_ready (forked, on_client_message, NULL, NULL);
  g_ptr_array_index (forks, number - 1) = g_steal_pointer (&forked);
  /* With --idempotent the input is already being read (the lines read
   * meanwhile went to the first carrier); the next ones are dealt over all. */
  if (forks_pending == 0 && !failed && !opt_idempotent)
    read_input ();
}

/* --fork N: N forks of @carrier; the input is read once all are there. */
static void
start_forks (PostCarrier *carrier)
{
  forks = g_ptr_array_new_full (opt_fork, g_object_unref);
  g_ptr_array_set_size (forks, opt_fork);
  forks_pending = opt_fork;
  if (opt_json)
    {
      json_begin ("forking");
      json_uint ("carriers", opt_fork + 1);
      json_end ();
    }
  else if (opt_verbose)
    g_printerr ("post-cat: carrier 1 of %d: the first\n", opt_fork + 1);
  for (int i = 1; i <= opt_fork; i++)
    post_carrier_fork_async (carrier, NULL, on_forked, GUINT_TO_POINTER (i));
}

static void
on_established (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PostCarrier *carrier = POST_CARRIER (source);
  g_autoptr(GError) error = NULL;

  if (!post_carrier_establish_finish (carrier, result, &error))
    {
      fail (NULL, error);
      return;
    }
  if (opt_verbose)
    {
      g_autofree char *local = address_string (post_carrier_get_local_address (carrier));
      g_autofree char *remote = address_string (post_carrier_get_remote_address (carrier));

      g_autofree char *security = describe_security (carrier);

      if (opt_json)
        {
          GProxyAddress *proxy = post_carrier_get_proxy (carrier);

          json_begin ("connected");
          json_str ("stack", post_carrier_get_stack_name (carrier));
          json_str ("local", local);
          json_str ("remote", remote);
          json_ms ("ready_ms", post_carrier_get_establishment_time (carrier));
          json_security (carrier);
          if (proxy != NULL)
            {
              /* (the proxy's URI may hold a password: not printed) */
              json_object_begin ("proxy");
              json_str ("protocol", g_proxy_address_get_protocol (proxy));
              json_str ("address", remote);
              json_str ("destination_host", g_proxy_address_get_destination_hostname (proxy));
              json_uint ("destination_port", g_proxy_address_get_destination_port (proxy));
              json_object_end ();
            }
          else
            {
              json_null ("proxy");
            }
          json_end ();
        }
      else
        {
          g_printerr ("post-cat: connected via stack %s from %s to %s, ready in %.1f ms\n",
                      post_carrier_get_stack_name (carrier), local, remote,
                      post_carrier_get_establishment_time (carrier) / 1000.0);
          if (security != NULL)
            g_printerr ("post-cat: security: %s\n", security);
          if (post_carrier_get_proxy (carrier) != NULL)
            {
              GProxyAddress *proxy = post_carrier_get_proxy (carrier);

              /* (the proxy's URI may hold a password: not printed) */
              g_printerr ("post-cat: through the %s proxy %s, asked for %s port %u\n",
                          g_proxy_address_get_protocol (proxy), remote,
                          g_proxy_address_get_destination_hostname (proxy),
                          g_proxy_address_get_destination_port (proxy));
            }
        }
    }
  if (opt_verbose)
    watch_path (carrier, 1);
  if (opt_stream)
    receive_stream_chunk (carrier);
  else
    post_carrier_ready (carrier, on_client_message, NULL, NULL);
  if (opt_fork > 0)
    {
      start_forks (carrier);
      return;   /* the input is read once the forks are there */
    }
  if (!opt_idempotent || opt_stream)
    read_input ();   /* else it started before the carrier (on_first_line) */
}

/* Creates the carrier: with --psk-file on an association holding the first
 * key (draft 3.1.5), else with post_carrier_initiate(). */
static gboolean
start_client (const char *uri, PostConfiguration *configuration)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostRemote) remote = post_remote_new_from_uri (uri, &error);
  g_autoptr(PostLocal) local = NULL;
  g_autoptr(GPtrArray) psks = NULL;

  if (remote == NULL ||
      (opt_psk_file != NULL && (psks = load_psk_file (opt_psk_file, &error)) == NULL))
    {
      fail (NULL, error);
      return FALSE;
    }
  if (opt_cert != NULL)
    {
      local = post_local_new ();
      if (!configure_local (local, NULL, &error))
        {
          fail (NULL, error);
          return FALSE;
        }
    }
  if (opt_ipv4 || opt_ipv6)
    {
      /* A remote given as an address of the other family has no candidate:
       * say so rather than "nothing to try" */
      g_autoptr(GInetAddress) address = post_remote_get_hostname (remote) != NULL
                                        ? g_inet_address_new_from_string (post_remote_get_hostname (remote))
                                        : NULL;

      if (address != NULL
          && g_inet_address_get_family (address) != (opt_ipv4 ? G_SOCKET_FAMILY_IPV4 : G_SOCKET_FAMILY_IPV6))
        {
          g_set_error (&error, G_OPTION_ERROR, G_OPTION_ERROR_BAD_VALUE,
                       "%s: the remote %s is not an %s address", opt_ipv4 ? "-4" : "-6",
                       post_remote_get_hostname (remote), opt_ipv4 ? "IPv4" : "IPv6");
          fail (NULL, error);
          return FALSE;
        }
    }
  if (opt_local != NULL || opt_ipv4 || opt_ipv6)
    {
      if (local == NULL)
        local = post_local_new ();
      if (!choose_local_address (local, &error))
        {
          fail (NULL, error);
          return FALSE;
        }
    }
  if (psks != NULL)
    {
      g_autoptr(PostAssociation) association = post_association_new (local, remote, configuration);
      Psk *psk = psks->pdata[0];

      if (!post_association_set_pre_shared_key (association, psk->identity, psk->key, &error))
        {
          fail (NULL, error);
          return FALSE;
        }
      client = post_association_initiate (association);
    }
  else
    client = post_carrier_initiate (local, remote, configuration);
  g_signal_connect (client, "closed", G_CALLBACK (on_client_closed), NULL);
  post_carrier_establish_async (client, NULL, on_established, NULL);
  return TRUE;
}

typedef struct {
  char              *uri;
  PostConfiguration *configuration;
} Deferred;

/* --idempotent: the first line is read before the carrier is created, so
 * that it is queued in time to go as early data. */
static void
on_first_line (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Deferred *deferred = user_data;
  g_autoptr(GError) error = NULL;
  gsize length;
  char *line = g_data_input_stream_read_line_finish (lines, result, &length, &error);
  gboolean started;

  if (line == NULL && error != NULL)
    fail ("standard input: ", error);
  started = error == NULL && start_client (deferred->uri, deferred->configuration);
  g_free (deferred->uri);
  g_object_unref (deferred->configuration);
  g_free (deferred);
  if (!started)
    {
      g_free (line);
      return;
    }
  if (line == NULL)
    {
      input_done = TRUE;
      post_carrier_flush_async (client, NULL, on_flushed, NULL);
      return;
    }
  {
    g_autoptr(GBytes) bytes = g_bytes_new_take (line, length);

    if (send_line (bytes))
      read_input ();
  }
}

static gboolean
run_client (const char *uri, PostConfiguration *configuration)
{
  input = g_unix_input_stream_new (STDIN_FILENO, FALSE);
  if (opt_stream)
    stream_out = post_message_new_from_data ("", 0);
  else
    lines = g_data_input_stream_new (input);

  if (opt_idempotent && !opt_stream)
    {
      Deferred *deferred = g_new0 (Deferred, 1);

      deferred->uri = g_strdup (uri);
      deferred->configuration = g_object_ref (configuration);
      g_data_input_stream_read_line_async (lines, G_PRIORITY_DEFAULT, NULL, on_first_line, deferred);
      return TRUE;
    }
  return start_client (uri, configuration);
}

/* ---- listener ------------------------------------------------------------- */

static void
on_echo_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  if (!post_carrier_send_finish (POST_CARRIER (source), result, &error) &&
      !g_error_matches (error, POST_ERROR, POST_ERROR_CLOSED))
    g_printerr ("post-cat: echo: %s\n", error->message);
}

/* Both directions have ended once our final part is out: close. */
static void
on_echo_part_sent (GObject *source, GAsyncResult *result, gpointer user_data)
{
  g_autoptr(GError) error = NULL;

  if (!post_carrier_send_partial_finish (POST_CARRIER (source), result, &error) &&
      !g_error_matches (error, POST_ERROR, POST_ERROR_CLOSED))
    g_printerr ("post-cat: echo: %s\n", error->message);
  if (GPOINTER_TO_INT (user_data))
    post_carrier_close (POST_CARRIER (source));
}

static gboolean
on_listen_message (PostCarrier *carrier, PostMessage *message, gpointer user_data)
{
  GBytes *content = post_message_get_content (message);

  print_bytes (content, TRUE);
  if (opt_echo)
    {
      g_autoptr(PostMessage) echo = post_message_new (content);

      post_carrier_send_async (carrier, echo, NULL, on_echo_sent, NULL);
    }
  return TRUE;
}

static void listen_stream_chunk (PostCarrier *carrier);

/* --stream: the carrier's input is over (its end, or an error).  With
 * --once, a carrier closed before that waited for it (on_carrier_closed). */
static void
listen_stream_ended (PostCarrier *carrier)
{
  g_object_set_data (G_OBJECT (carrier), "post-cat-ended", GINT_TO_POINTER (TRUE));
  if (opt_once && g_object_get_data (G_OBJECT (carrier), "post-cat-closed") != NULL)
    g_main_loop_quit (loop);
}

/* Stream mode: print (and echo) each chunk; end our direction when the
 * peer ends its, so that the peer knows we are done. */
static void
on_listen_chunk (GObject *source, GAsyncResult *result, gpointer user_data)
{
  PostCarrier *carrier = POST_CARRIER (source);
  PostMessage *out = g_object_get_data (source, "post-cat-out");
  g_autoptr(GError) error = NULL;
  g_autoptr(PostMessage) message = NULL;
  g_autoptr(GBytes) chunk = NULL;
  gboolean end = FALSE;

  chunk = post_carrier_receive_partial_finish (carrier, result, &message, &end, &error);
  if (chunk == NULL)
    {
      /* The closed signal tells the rest; with --once it may have waited
       * for this receive to drain the inbox. */
      listen_stream_ended (carrier);
      return;
    }
  print_bytes (chunk, FALSE);
  if (end)
    listen_stream_ended (carrier);
  if (opt_echo || end)
    {
      g_autoptr(GBytes) part = opt_echo ? g_bytes_ref (chunk) : g_bytes_new (NULL, 0);

      post_carrier_send_partial_async (carrier, out, part, end, NULL, on_echo_part_sent,
                                       GINT_TO_POINTER (end));
    }
  if (!end)
    listen_stream_chunk (carrier);
}

static void
listen_stream_chunk (PostCarrier *carrier)
{
  post_carrier_receive_partial_async (carrier, 1, CHUNK_SIZE, NULL, on_listen_chunk, NULL);
}

static void
on_carrier_closed (PostCarrier *carrier, const GError *error, gpointer user_data)
{
  if (error != NULL && opt_once)
    fail (NULL, error);
  else if (error != NULL && opt_json)
    {
      json_begin ("carrier-error");
      json_str ("message", error->message);
      json_end ();
    }
  else if (error != NULL)
    g_printerr ("post-cat: %s\n", error->message);
  else if (opt_json)
    {
      json_begin ("carrier-closed");
      json_end ();
    }
  else if (opt_verbose)
    g_printerr ("post-cat: carrier closed\n");
  if (opt_once && error == NULL && opt_stream
      && g_object_get_data (G_OBJECT (carrier), "post-cat-ended") == NULL)
    {
      /* Closed by the peer with its last data still in the inbox: the
       * pending receive prints it, then ends the run. */
      g_object_set_data (G_OBJECT (carrier), "post-cat-closed", GINT_TO_POINTER (TRUE));
      return;
    }
  g_hash_table_remove (carriers, carrier);
  if (opt_once)
    g_main_loop_quit (loop);
}

static gboolean
on_incoming (PostCarrier *self, PostCarrier *carrier, gpointer user_data)
{
  if (opt_verbose)
    {
      g_autofree char *remote = address_string (post_carrier_get_remote_address (carrier));
      g_autofree char *security = describe_security (carrier);

      if (opt_json)
        {
          json_begin ("accepted");
          json_bool ("fork", self != listener);
          json_str ("stack", post_carrier_get_stack_name (carrier));
          json_str ("remote", remote);
          json_security (carrier);
          json_end ();
        }
      else
        g_printerr ("post-cat: accepted a %s from %s via stack %s%s%s%s\n",
                    self == listener ? "carrier" : "fork of a carrier", remote, post_carrier_get_stack_name (carrier),
                    security != NULL ? " (" : "", security != NULL ? security : "",
                    security != NULL ? ")" : "");
    }
  g_hash_table_add (carriers, g_object_ref (carrier));
  g_signal_connect (carrier, "closed", G_CALLBACK (on_carrier_closed), NULL);
  /* The peer may fork it (another stream of a quic connection). */
  g_signal_connect (carrier, "incoming", G_CALLBACK (on_incoming), NULL);
  if (opt_stream)
    {
      g_object_set_data_full (G_OBJECT (carrier), "post-cat-out",
                              post_message_new_from_data ("", 0), g_object_unref);
      listen_stream_chunk (carrier);
    }
  else
    post_carrier_ready (carrier, on_listen_message, NULL, NULL);
  return TRUE;
}

static gboolean
run_listener (const char *uri, PostConfiguration *configuration)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostLocal) local = post_local_new_from_uri (uri, &error);
  g_autoptr(GPtrArray) psks = NULL;

  if (local != NULL && opt_psk_file != NULL)
    {
      psks = load_psk_file (opt_psk_file, &error);
      if (psks == NULL)
        g_clear_object (&local);
    }
  if (local != NULL && !configure_local (local, psks, &error))
    g_clear_object (&local);
  if (local != NULL && !choose_local_address (local, &error))
    g_clear_object (&local);
  if (local != NULL && opt_sink)
    listener = post_carrier_new_sink (local, NULL, configuration, &error);
  else if (local != NULL)
    listener = post_carrier_listen (local, configuration, &error);
  if (listener == NULL)
    {
      fail (NULL, error);
      return FALSE;
    }
  if (opt_sink)
    {
      /* One carrier receives what every remote (or the group) sends. */
      post_carrier_ready (listener, on_listen_message, NULL, NULL);
      if (opt_verbose)
        {
          g_autofree char *address = address_string (post_carrier_get_local_address (listener));

          if (opt_json)
            {
              json_begin ("receiving");
              json_str ("local", address);
              json_str ("stack", post_carrier_get_stack_name (listener));
              json_end ();
            }
          else
            g_printerr ("post-cat: receiving on %s via stack %s\n", address,
                        post_carrier_get_stack_name (listener));
        }
      return TRUE;
    }
  carriers = g_hash_table_new_full (NULL, NULL, g_object_unref, NULL);
  g_signal_connect (listener, "incoming", G_CALLBACK (on_incoming), NULL);
  if (opt_verbose)
    {
      g_autofree char *address = address_string (post_carrier_get_local_address (listener));

      if (opt_json)
        {
          json_begin ("listening");
          json_str ("local", address);
          json_str ("stack", post_carrier_get_stack_name (listener));
          json_end ();
        }
      else
        g_printerr ("post-cat: listening on %s via stack %s\n", address,
                    post_carrier_get_stack_name (listener));
    }
  return TRUE;
}

/* ---- main ----------------------------------------------------------------- */

static gboolean
on_signal (gpointer user_data)
{
  status = 128 + GPOINTER_TO_INT (user_data);
  g_main_loop_quit (loop);
  return G_SOURCE_CONTINUE;
}

int
main (int argc, char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PostConfiguration) configuration = NULL;
  gboolean ok;

  setlocale (LC_ALL, "");
  context = g_option_context_new ("URI");
  g_option_context_set_summary (context,
      "Send standard input over a libpost carrier and print what comes back,\n"
      "or with --listen print what arrives.  URI is like tcp://127.0.0.1:7000.");
  g_option_context_add_main_entries (context, entries, NULL);
  loop = g_main_loop_new (NULL, FALSE);

  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fail (NULL, error);
      return EXIT_FAILURE;
    }
  if (opt_version)
    {
      g_print ("post-cat %s\n", POST_VERSION_S);
      return EXIT_SUCCESS;
    }
  if (opt_json)
    opt_verbose = TRUE;   /* the same events, as JSON */
  if (argc != 2)
    {
      g_printerr ("post-cat: expected one URI (see --help)\n");
      return EXIT_FAILURE;
    }
  if ((opt_echo || opt_once || opt_sink) && !opt_listen)
    {
      g_printerr ("post-cat: --echo, --once and --sink need --listen\n");
      return EXIT_FAILURE;
    }
  if (opt_fork < 0 || (opt_fork > 0 && (opt_listen || opt_stream)))
    {
      g_printerr ("post-cat: --fork takes a count of 0 or more, for a client in line mode (not --listen or --stream)\n");
      return EXIT_FAILURE;
    }
  if (opt_sink && (opt_echo || opt_stream))
    {
      g_printerr ("post-cat: a sink cannot --echo, and --stream needs a carrier\n");
      return EXIT_FAILURE;
    }
  if (opt_ipv4 && opt_ipv6)
    {
      g_printerr ("post-cat: -4 and -6 exclude each other\n");
      return EXIT_FAILURE;
    }
  if (opt_listen && (opt_local != NULL || opt_connect_timeout != 0))
    {
      g_printerr ("post-cat: --local and --connect-timeout are for a client (a listener's address is its URI)\n");
      return EXIT_FAILURE;
    }
  if (opt_connect_timeout < 0 || opt_connect_timeout * 1000 > G_MAXUINT
      || (opt_connect_timeout > 0 && opt_connect_timeout < 0.001))
    {
      g_printerr ("post-cat: --connect-timeout takes a number of seconds from 0.001 to %u\n",
                  G_MAXUINT / 1000);
      return EXIT_FAILURE;
    }

  configuration = post_configuration_new ();
  if (opt_stack != NULL)
    {
      const char *stacks[] = { opt_stack, NULL };

      if (!post_configuration_set_stacks (configuration, stacks, &error))
        {
          fail (NULL, error);
          return EXIT_FAILURE;
        }
    }
  if (g_str_has_prefix (argv[1], "udp://") || g_str_has_prefix (argv[1], "dtls://")
      || g_strcmp0 (opt_stack, "udp") == 0 || g_strcmp0 (opt_stack, "dtls") == 0)
    {
      /* Datagram stacks are unreliable and unordered by nature. */
      post_configuration_set_preference (configuration, POST_SELECTION_RELIABILITY,
                                         POST_PREFERENCE_NO_PREFERENCE, NULL);
      post_configuration_set_preference (configuration, POST_SELECTION_PRESERVE_ORDER,
                                         POST_PREFERENCE_NO_PREFERENCE, NULL);
      post_configuration_set_preference (configuration, POST_SELECTION_CONGESTION_CONTROL,
                                         POST_PREFERENCE_NO_PREFERENCE, NULL);
    }
  if (opt_proxy != NULL)
    {
      g_autofree char *scheme = g_uri_parse_scheme (opt_proxy);

      if (g_strcmp0 (scheme, "direct") == 0)
        post_configuration_set_enable_proxy (configuration, FALSE, NULL);
      else if (scheme == NULL || !g_uri_is_valid (opt_proxy, G_URI_FLAGS_NONE, NULL))
        {
          g_printerr ("post-cat: --proxy takes a proxy URI such as socks5://127.0.0.1:1080, not ‘%s’\n",
                      opt_proxy);
          return EXIT_FAILURE;
        }
      else
        {
          g_autoptr(GProxyResolver) resolver = g_simple_proxy_resolver_new (opt_proxy, NULL);

          post_configuration_set_proxy_resolver (configuration, resolver, NULL);
        }
    }
  if (opt_sctp_port >= 0)
    {
      if (opt_sctp_port > 65535
          || !post_configuration_set_option (configuration, "sctp.port",
                                             g_variant_new_uint32 (opt_sctp_port), &error))
        {
          if (error == NULL)
            g_set_error (&error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                         "--sctp-port %d is not a port", opt_sctp_port);
          fail (NULL, error);
          return EXIT_FAILURE;
        }
    }
  if ((opt_cert == NULL) != (opt_key == NULL))
    {
      g_printerr ("post-cat: --cert and --key go together\n");
      return EXIT_FAILURE;
    }
  if (opt_alpn != NULL
      && !post_configuration_set_alpn (configuration, (const char * const *) opt_alpn, &error))
    {
      fail ("--alpn: ", error);
      return EXIT_FAILURE;
    }
  if (opt_connect_timeout > 0
      && !post_configuration_set_conn_timeout (configuration, (guint) (opt_connect_timeout * 1000 + 0.5),
                                               &error))
    {
      fail ("--connect-timeout: ", error);
      return EXIT_FAILURE;
    }
  if (!configure_security (configuration, &error) || !configure_options (configuration, &error))
    {
      fail (NULL, error);
      return EXIT_FAILURE;
    }
  if (opt_stream &&
      !post_configuration_set_framing (configuration, POST_FRAMING_STREAM, &error))
    {
      fail (NULL, error);
      return EXIT_FAILURE;
    }
  if (opt_framer != NULL
      && (opt_listen || opt_stream || opt_fork > 0 || opt_idempotent || opt_json || opt_psk_file != NULL
          || opt_cert != NULL || opt_local != NULL || opt_ipv4 || opt_ipv6))
    {
      g_printerr ("post-cat: --framer is for a client, without --listen, --stream, --fork, --idempotent, "
                  "--json, --psk-file, --cert, --local, -4 or -6\n");
      return EXIT_FAILURE;
    }
  if (opt_framer != NULL && !post_cat_framer_configure (opt_framer, argv[1], configuration, &error))
    {
      fail ("--framer: ", error);
      return EXIT_FAILURE;
    }

  g_unix_signal_add (SIGINT, on_signal, GINT_TO_POINTER (SIGINT));
  g_unix_signal_add (SIGTERM, on_signal, GINT_TO_POINTER (SIGTERM));

  if (opt_framer != NULL)
    {
      int framer_status = post_cat_framer_run (loop, opt_framer, argv[1], configuration, opt_verbose,
                                                  opt_wait);

      if (status == EXIT_SUCCESS)   /* (a signal set its own) */
        status = framer_status;
      ok = FALSE;
    }
  else
    ok = opt_listen ? run_listener (argv[1], configuration)
                    : run_client (argv[1], configuration);
  if (ok)
    g_main_loop_run (loop);

  g_clear_handle_id (&wait_id, g_source_remove);
  if (client != NULL)
    {
      g_signal_handlers_disconnect_by_func (client, on_client_closed, NULL);
      if (post_carrier_get_state (client) != POST_CARRIER_STATE_CLOSED)
        post_carrier_abort (client);
    }
  if (listener != NULL)
    post_carrier_close (listener);
  if (carriers != NULL)
    {
      GHashTableIter iter;
      gpointer carrier;

      g_hash_table_iter_init (&iter, carriers);
      while (g_hash_table_iter_next (&iter, &carrier, NULL))
        g_signal_handlers_disconnect_by_func (carrier, on_carrier_closed, NULL);
      g_hash_table_iter_init (&iter, carriers);
      while (g_hash_table_iter_next (&iter, &carrier, NULL))
        post_carrier_abort (carrier);
    }
  g_clear_pointer (&carriers, g_hash_table_unref);
  for (guint i = 0; forks != NULL && i < forks->len; i++)
    if (forks->pdata[i] != NULL)
      {
        g_signal_handlers_disconnect_by_func (forks->pdata[i], on_fork_closed, NULL);
        if (post_carrier_get_state (forks->pdata[i]) != POST_CARRIER_STATE_CLOSED)
          post_carrier_abort (forks->pdata[i]);
      }
  g_clear_pointer (&forks, g_ptr_array_unref);
  g_clear_object (&client);
  g_clear_object (&listener);
  g_clear_object (&lines);
  g_clear_object (&input);
  g_clear_object (&stream_out);
  g_clear_pointer (&pending, g_bytes_unref);
  g_main_loop_unref (loop);
  g_free (opt_stack);
  g_strfreev (opt_ca);
  g_strfreev (opt_pin);
  g_free (opt_cert);
  g_free (opt_key);
  g_free (opt_psk_file);
  g_free (opt_session_cache);
  g_free (opt_proxy);
  g_strfreev (opt_alpn);
  g_free (opt_local);
  g_strfreev (opt_options);
  g_free (opt_framer);
  return status;
}
