/* test-quic-listener.c: the `quic` listener under pressure: address
 * validation with Retry (`quic.retry`; ngtcp2's gtlsclient against a
 * retrying listener, our client against gtlsserver --validate-addr, and
 * 0-RTT after a Retry), `quic.max-connections` and `quic.max-connections-per-address`, a flood of garbage UDP packets at a listener
 * with an established connection, the peer's stream limit (forks wait for
 * MAX_STREAMS credit, and honour their cancellable), a refused fork
 * request, and the validation of the listener's options.
 *
 * What the listener does that its API does not show (a Retry sent, the
 * connections it keeps) is observed through the plugin's debug messages
 * (log domain PostQuic), caught by a log handler; nothing here depends on
 * timing.  Certificates are made at test time with certtool; everything
 * runs on 127.0.0.1.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <post.h>
#include <string.h>
#include <signal.h>

#include "post-test-util.h"

#define WAIT_TIMEOUT_S 15

static char *dir;  /* the certificates */

/* ---- what the plugin says (log domain PostQuic) ------------------------------ */

typedef struct {
  guint retries_sent;      /* "sent a Retry" */
  guint retry_tokens;      /* "carries a valid Retry token" */
  guint retries_received;  /* client: "answered with a Retry" */
  guint accepted;          /* "accepted the Initial" */
  guint dropped;           /* "dropped the Initial" */
  guint refused;           /* "refusing" */
  gint  connections;       /* the listener's count in the last accept/drop line */
  GPtrArray *cids;         /* (element-type utf8) hex connection ids the listener registered */
  gboolean verbose;
} QuicLog;

static QuicLog qlog;

static void
quic_log_handler (const char     *domain,
                  GLogLevelFlags  level,
                  const char     *message,
                  gpointer        user_data)
{
  const char *p;

  if (strstr (message, "sent a Retry") != NULL)
    qlog.retries_sent++;
  if (strstr (message, "carries a valid Retry token") != NULL)
    qlog.retry_tokens++;
  if (strstr (message, "answered with a Retry") != NULL)
    qlog.retries_received++;
  if (strstr (message, "refusing") != NULL)
    qlog.refused++;
  if (strstr (message, "accepted the Initial") != NULL)
    qlog.accepted++;
  if (strstr (message, "dropped the Initial") != NULL)
    qlog.dropped++;
  if ((p = strstr (message, "the listener has ")) != NULL)
    qlog.connections = atoi (p + strlen ("the listener has "));
  if ((p = strstr (message, ": connection id ")) != NULL && qlog.cids != NULL)
    g_ptr_array_add (qlog.cids, g_strdup (p + strlen (": connection id ")));
  if ((level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL | G_LOG_LEVEL_WARNING)) != 0)
    g_log_default_handler (domain, level, message, user_data);
  else if (qlog.verbose)
    g_test_message ("%s: %s", domain, message);
}

static void
quic_log_reset (void)
{
  g_clear_pointer (&qlog.cids, g_ptr_array_unref);
  memset (&qlog, 0, sizeof qlog);
  qlog.cids = g_ptr_array_new_with_free_func (g_free);
  qlog.connections = -1;
}

/* ---- helpers ------------------------------------------------------------- */

static void
set_option (PostConfiguration *config,
            const char        *key,
            GVariant          *value)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (post_configuration_set_option (config, key, value, &error));
  g_assert_no_error (error);
}

/* An echo server (post-test-util.h) on a quic local of its own */
static PostCarrier *
echo_listen (PostConfiguration *config,
             PostTestEcho      *echo)
{
  g_autoptr(PostLocal) local = post_test_server_local ("quic://127.0.0.1:0", dir, "server");

  return post_test_echo_listen (echo, local, config, "quic");
}

/* Initiates a carrier, establishes it and checks one echo. */
static PostCarrier *
connect_echo (guint16            port,
              PostConfiguration *config,
              PostTestClient    *c,
              const char        *text)
{
  PostCarrier *carrier = post_test_initiate ("quic", port, config);
  g_autoptr(PostMessage) first = post_message_new_from_string (text);

  g_assert_true (post_carrier_send (carrier, first, NULL));
  post_carrier_ready (carrier, post_test_client_message_cb, c, NULL);
  g_signal_connect (carrier, "closed", G_CALLBACK (post_test_client_closed_cb), c);
  post_carrier_establish_async (carrier, NULL, post_test_established_cb, c);
  post_test_wait_count (&c->done, 1, "establishment", WAIT_TIMEOUT_S);
  g_assert_no_error (c->error);
  post_test_wait_count (&c->n_received, 1, "the first echo", WAIT_TIMEOUT_S);
  g_assert_cmpstr (c->received->str, ==, text);
  return carrier;
}

/* ---- options ---------------------------------------------------------------- */

/* The quic stack declares its options: a bad value fails when it is set
 * (naming the option), before any listener exists */
static void
expect_option_error (const char *key,
                     GVariant   *value)
{
  g_autoptr(PostConfiguration) config = post_configuration_new ();
  g_autoptr(GVariant) owned = g_variant_ref_sink (value);
  g_autoptr(GError) error = NULL;

  g_assert_false (post_configuration_set_option (config, key, owned, &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT);
  g_test_message ("set_option failed as expected: %s", error->message);
  g_assert_nonnull (strstr (error->message, key));
  g_assert_null (post_configuration_get_option (config, key));
}

static void
test_options (void)
{
  expect_option_error ("quic.retry", g_variant_new_string ("sometimes"));
  expect_option_error ("quic.retry", g_variant_new_boolean (TRUE));
  expect_option_error ("quic.retry-threshold", g_variant_new_string ("16"));
  expect_option_error ("quic.max-connections", g_variant_new_int32 (0));
  expect_option_error ("quic.max-connections", g_variant_new_int32 (-5));
  expect_option_error ("quic.new-token", g_variant_new_string ("yes"));
}

/* ---- Retry ------------------------------------------------------------------ */

/* `quic.retry` always: the client's first Initial gets a Retry, its second
 * carries the Retry token, the handshake completes and the echo works. */
static void
test_retry (void)
{
  g_autoptr(PostConfiguration) server_config = post_configuration_new ();
  g_autoptr(PostConfiguration) config = post_test_client_config (dir);
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  PostTestEcho echo = { 0 };
  PostTestClient c;

  quic_log_reset ();
  set_option (server_config, "quic.retry", g_variant_new_string ("always"));
  listener = echo_listen (server_config, &echo);
  post_test_client_init (&c);
  carrier = connect_echo (post_test_port_of (listener), config, &c, "after a retry");
  post_test_send_and_wait (carrier, &c, " and more", WAIT_TIMEOUT_S);
  g_assert_cmpstr (c.received->str, ==, "after a retry and more");
  g_assert_cmpuint (qlog.retries_sent, ==, 1);
  g_assert_cmpuint (qlog.retries_received, ==, 1);
  g_assert_cmpuint (qlog.retry_tokens, ==, 1);
  g_assert_cmpuint (qlog.accepted, ==, 1);
  g_assert_cmpuint (echo.n_accepted, ==, 1);

  post_carrier_abort (carrier);
  post_test_spin (20);
  post_test_echo_clear (&echo);
  post_carrier_abort (listener);
  post_test_client_clear (&c);
}

/* `quic.retry` never: no Retry even for a client without a token. */
static void
test_retry_never (void)
{
  g_autoptr(PostConfiguration) server_config = post_configuration_new ();
  g_autoptr(PostConfiguration) config = post_test_client_config (dir);
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  PostTestEcho echo = { 0 };
  PostTestClient c;

  quic_log_reset ();
  set_option (server_config, "quic.retry", g_variant_new_string ("never"));
  set_option (server_config, "quic.retry-threshold", g_variant_new_uint32 (0));
  listener = echo_listen (server_config, &echo);
  post_test_client_init (&c);
  carrier = connect_echo (post_test_port_of (listener), config, &c, "no retry");
  g_assert_cmpuint (qlog.retries_sent, ==, 0);
  g_assert_cmpuint (qlog.accepted, ==, 1);
  post_carrier_abort (carrier);
  post_test_spin (20);
  post_test_echo_clear (&echo);
  post_carrier_abort (listener);
  post_test_client_clear (&c);

  /* when-busy with a threshold of 0: every handshake is "busy". */
  {
    g_autoptr(PostConfiguration) busy_config = post_configuration_new ();
    g_autoptr(PostCarrier) busy = NULL;
    g_autoptr(PostCarrier) carrier2 = NULL;
    PostTestEcho echo2 = { 0 };
    PostTestClient c2;

    quic_log_reset ();
    set_option (busy_config, "quic.retry", g_variant_new_string ("when-busy"));
    set_option (busy_config, "quic.retry-threshold", g_variant_new_uint32 (0));
    busy = echo_listen (busy_config, &echo2);
    post_test_client_init (&c2);
    carrier2 = connect_echo (post_test_port_of (busy), config, &c2, "busy");
    g_assert_cmpuint (qlog.retries_sent, ==, 1);
    g_assert_cmpuint (qlog.retry_tokens, ==, 1);
    post_carrier_abort (carrier2);
    post_test_spin (20);
    post_test_echo_clear (&echo2);
    post_carrier_abort (busy);
    post_test_client_clear (&c2);
  }
}

/* One carrier of @association sends an idempotent @text before
 * establishment, gets its echo once; returns the carrier's flags. */
static PostSecurityFlags
resume_once (PostAssociation *association,
             PostTestEcho    *echo,
             const char      *text)
{
  g_autoptr(PostCarrier) carrier = post_association_initiate (association);
  g_autoptr(PostMessage) message = post_message_new_from_string (text);
  guint messages_before = echo->n_messages;
  PostSecurityFlags flags;
  PostTestClient c;

  post_test_client_init (&c);
  g_assert_true (post_message_set_idempotent (message, TRUE, NULL));
  g_assert_true (post_carrier_send (carrier, message, NULL));
  post_carrier_ready (carrier, post_test_client_message_cb, &c, NULL);
  post_carrier_establish_async (carrier, NULL, post_test_established_cb, &c);
  post_test_wait_count (&c.done, 1, "establishment", WAIT_TIMEOUT_S);
  g_assert_no_error (c.error);
  post_test_wait_count (&c.n_received, 1, "the echo", WAIT_TIMEOUT_S);
  g_assert_cmpstr (c.received->str, ==, text);
  flags = post_carrier_get_security_flags (carrier);
  for (guint i = 0; i < 100 && post_association_get_session_ticket_count (association) == 0; i++)
    post_test_spin (10);
  g_assert_cmpuint (post_association_get_session_ticket_count (association), >, 0);
  post_carrier_close (carrier);
  post_test_spin (20);
  g_assert_cmpuint (echo->n_messages, ==, messages_before + 1);   /* delivered once */
  post_test_client_clear (&c);
  return flags;
}

/* 0-RTT after a Retry: the listener issues no NEW_TOKEN tokens
 * (`quic.new-token` false) and retries every Initial, so the resumed
 * connection's Initial and 0-RTT packets are answered with a Retry; the
 * client sends them again with the token, and the early message is
 * delivered once. */
static void
test_retry_zero_rtt (void)
{
  g_autoptr(PostConfiguration) server_config = post_configuration_new ();
  g_autoptr(PostConfiguration) config = post_test_client_config (dir);
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostAssociation) association = NULL;
  g_autoptr(PostRemote) remote = NULL;
  g_autofree char *uri = NULL;
  PostSecurityFlags flags;
  PostTestEcho echo = { 0 };

  quic_log_reset ();
  set_option (server_config, "quic.retry", g_variant_new_string ("always"));
  set_option (server_config, "quic.new-token", g_variant_new_boolean (FALSE));
  listener = echo_listen (server_config, &echo);
  uri = g_strdup_printf ("quic://127.0.0.1:%u", post_test_port_of (listener));
  remote = post_remote_new_from_uri (uri, NULL);
  association = post_association_new (NULL, remote, config);

  flags = resume_once (association, &echo, "full, after a retry");
  g_assert_false (flags & POST_SECURITY_RESUMED);
  g_assert_cmpuint (qlog.retries_sent, ==, 1);

  flags = resume_once (association, &echo, "early, after a retry");
  g_assert_true (flags & POST_SECURITY_RESUMED);
  g_assert_true (flags & POST_SECURITY_EARLY_DATA_SENT);
  g_assert_cmpuint (qlog.retries_sent, ==, 2);
  g_assert_cmpuint (qlog.retries_received, ==, 2);
  g_assert_cmpuint (qlog.retry_tokens, ==, 2);
  g_test_message ("early data after the Retry %s", (flags & POST_SECURITY_EARLY_DATA_ACCEPTED) ? "accepted" : "refused and resent");

  post_test_echo_clear (&echo);
  post_carrier_abort (listener);
}

/* ngtcp2's gtlsclient against a listener that always retries: it follows
 * the Retry and completes the handshake. */
static void
test_gtlsclient_retry (void)
{
  g_autofree char *gtlsclient = g_find_program_in_path ("gtlsclient");
  g_autoptr(PostConfiguration) config = post_configuration_new ();
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(GSubprocess) client = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *port_s = NULL, *uri = NULL;
  PostTestCommunicate cr = { 0 };
  PostTestEcho echo = { 0 };

  if (gtlsclient == NULL)
    {
      g_test_skip ("gtlsclient (ngtcp2-client) is not installed");
      return;
    }
  quic_log_reset ();
  g_assert_true (post_configuration_set_alpn (config, (const char *[]) { "h3", NULL }, NULL));
  set_option (config, "quic.retry", g_variant_new_string ("always"));
  listener = echo_listen (config, &echo);
  port_s = g_strdup_printf ("%u", post_test_port_of (listener));
  uri = g_strdup_printf ("https://127.0.0.1:%u/", post_test_port_of (listener));
  client = g_subprocess_newv ((const char *[]) { gtlsclient, "--exit-on-first-stream-close", "--timeout=2s",
                                                 "127.0.0.1", port_s, uri, NULL },
                              G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8_async (client, NULL, NULL, post_test_communicated_cb, &cr);
  post_test_wait_count (&cr.done, 1, "gtlsclient", WAIT_TIMEOUT_S);
  g_assert_no_error (cr.error);
  if (strstr (cr.out, "Negotiated ALPN is h3") == NULL)
    g_test_message ("gtlsclient said:\n%s", cr.out);
  g_assert_nonnull (strstr (cr.out, "Negotiated ALPN is h3"));
  g_assert_cmpuint (qlog.retries_sent, >=, 1);
  g_assert_cmpuint (qlog.retry_tokens, >=, 1);
  g_free (cr.out);
  post_test_echo_clear (&echo);
  post_carrier_abort (listener);
}

/* Our client against ngtcp2's gtlsserver with address validation
 * (--validate-addr): it answers the first Initial with a Retry, which our
 * client follows, and the handshake completes. */
static void
test_gtlsserver_retry (void)
{
  g_autofree char *gtlsserver = g_find_program_in_path ("gtlsserver");
  g_autofree char *key = post_test_certs_path (dir, "server.key");
  g_autofree char *cert = post_test_certs_path (dir, "server.pem");
  g_autofree char *port_s = NULL;
  g_autoptr(GSubprocess) server = NULL;
  g_autoptr(PostConfiguration) config = post_test_client_config (dir);
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(GError) error = NULL;
  PostTestCommunicate cr = { 0 };
  guint16 port;
  PostTestClient c;

  if (gtlsserver == NULL)
    {
      g_test_skip ("gtlsserver (ngtcp2-server) is not installed");
      return;
    }
  quic_log_reset ();
  {
    /* A free UDP port for it. */
    g_autoptr(GSocket) s = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, NULL);
    g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
    g_autoptr(GSocketAddress) a = g_inet_socket_address_new (lo, 0);
    g_autoptr(GSocketAddress) bound = NULL;

    g_assert_true (g_socket_bind (s, a, TRUE, NULL));
    bound = g_socket_get_local_address (s, NULL);
    port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  }
  port_s = g_strdup_printf ("%u", port);
  server = g_subprocess_newv ((const char *[]) { gtlsserver, "-q", "--validate-addr", "127.0.0.1", port_s,
                                                 key, cert, NULL },
                              G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8_async (server, NULL, NULL, post_test_communicated_cb, &cr);
  post_test_spin (300);

  post_test_client_init (&c);
  g_assert_true (post_configuration_set_alpn (config, (const char *[]) { "h3", NULL }, NULL));
  carrier = post_test_initiate ("quic", port, config);
  post_carrier_establish_async (carrier, NULL, post_test_established_cb, &c);
  post_test_wait_count (&c.done, 1, "the handshake with gtlsserver --validate-addr", WAIT_TIMEOUT_S);
  g_assert_no_error (c.error);
  g_assert_true (post_carrier_get_security_flags (carrier) & POST_SECURITY_ENCRYPTED);
  g_assert_cmpuint (qlog.retries_received, ==, 1);
  post_test_spin (100);
  g_assert_true (post_carrier_get_state (carrier) == POST_CARRIER_STATE_ACTIVE);
  post_carrier_abort (carrier);
  post_test_spin (20);
  g_subprocess_force_exit (server);
  post_test_wait_count (&cr.done, 1, "gtlsserver to exit", WAIT_TIMEOUT_S);
  g_clear_error (&cr.error);
  g_free (cr.out);
  post_test_client_clear (&c);
}

/* ---- a flood of garbage -------------------------------------------------------- */

static void
put_varint (GByteArray *out,
            guint64     v)
{
  guint8 b[4];

  /* Two- or four-byte QUIC variable-length integers are enough here. */
  if (v < 16384)
    {
      b[0] = 0x40 | (v >> 8);
      b[1] = v & 0xff;
      g_byte_array_append (out, b, 2);
    }
  else
    {
      b[0] = 0x80 | ((v >> 24) & 0x3f);
      b[1] = (v >> 16) & 0xff;
      b[2] = (v >> 8) & 0xff;
      b[3] = v & 0xff;
      g_byte_array_append (out, b, 4);
    }
}

static void
put_random (GByteArray *out,
            gsize       n)
{
  for (gsize i = 0; i < n; i++)
    {
      guint8 b = g_random_int_range (0, 256);

      g_byte_array_append (out, &b, 1);
    }
}

static GByteArray *
hex_decode (const char *hex)
{
  GByteArray *out = g_byte_array_new ();

  for (gsize i = 0; hex[i] != '\0' && hex[i + 1] != '\0'; i += 2)
    {
      guint8 b = (g_ascii_xdigit_value (hex[i]) << 4) | g_ascii_xdigit_value (hex[i + 1]);

      g_byte_array_append (out, &b, 1);
    }
  return out;
}

/* One garbage packet of kind @kind (0..5); @cid is a connection id of the
 * established connection (for kind 4). */
static GByteArray *
garbage_packet (guint       kind,
                GByteArray *cid)
{
  GByteArray *p = g_byte_array_new ();
  guint8 b;

  switch (kind)
    {
    case 0:   /* random bytes */
      put_random (p, g_random_int_range (1, 1400));
      break;
    case 1:   /* a short header with a random DCID */
      b = 0x40 | g_random_int_range (0, 0x40);
      g_byte_array_append (p, &b, 1);
      put_random (p, 18 + g_random_int_range (20, 1200));
      break;
    case 2:   /* a long-header Initial, valid-looking, garbage inside */
    case 3:   /* ... truncated */
    case 5:   /* ... with a forged Retry token */
      {
        guint8 dcid_len = g_random_int_range (8, 21), scid_len = g_random_int_range (0, 21);
        guint8 head[5] = { 0xc0 | g_random_int_range (0, 4), 0, 0, 0, 1 };

        g_byte_array_append (p, head, 5);
        g_byte_array_append (p, &dcid_len, 1);
        put_random (p, dcid_len);
        g_byte_array_append (p, &scid_len, 1);
        put_random (p, scid_len);
        if (kind == 5)
          {
            guint8 magic = 0xb6;      /* NGTCP2_CRYPTO_TOKEN_MAGIC_RETRY */

            put_varint (p, 80);
            g_byte_array_append (p, &magic, 1);
            put_random (p, 79);
          }
        else
          put_varint (p, 0);          /* no token */
        put_varint (p, 1200);         /* length */
        put_random (p, 1200);
        if (kind == 3)
          g_byte_array_set_size (p, g_random_int_range (1, 6 + dcid_len + 1 + scid_len + 3));
      }
      break;
    default:  /* the established connection's DCID, a garbage payload */
      b = 0x40 | g_random_int_range (0, 0x40);
      g_byte_array_append (p, &b, 1);
      g_byte_array_append (p, cid->data, cid->len);
      put_random (p, g_random_int_range (20, 1200));
      break;
    }
  return p;
}

static void
test_garbage_flood (void)
{
  g_autoptr(PostConfiguration) config = post_test_client_config (dir);
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(GSocket) flood = NULL;
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) target = NULL;
  g_autoptr(GByteArray) cid = NULL;
  g_autoptr(GString) expected = g_string_new ("start");
  g_autoptr(GError) error = NULL;
  PostTestEcho echo = { 0 };
  guint sent_packets = 0, kinds[6] = { 0 };
  PostTestClient c;

  quic_log_reset ();
  listener = echo_listen (NULL, &echo);
  post_test_client_init (&c);
  carrier = connect_echo (post_test_port_of (listener), config, &c, "start");
  g_assert_cmpint (qlog.connections, ==, 1);
  g_assert_cmpuint (qlog.cids->len, >, 0);
  cid = hex_decode (qlog.cids->pdata[qlog.cids->len - 1]);   /* one the client may use */

  flood = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);
  g_assert_no_error (error);
  g_socket_set_blocking (flood, FALSE);
  target = g_inet_socket_address_new (lo, post_test_port_of (listener));

  /* 40 rounds of 100 packets, each round with one echo in the middle. */
  for (guint round = 0; round < 40; round++)
    {
      g_autofree char *text = g_strdup_printf (" %u", round);
      g_autoptr(PostMessage) message = post_message_new_from_string (text);

      g_assert_true (post_carrier_send (carrier, message, NULL));
      g_string_append (expected, text);
      for (guint i = 0; i < 100; i++)
        {
          guint kind = (round * 100 + i) % 6;
          g_autoptr(GByteArray) p = garbage_packet (kind, cid);

          if (g_socket_send_to (flood, target, (const char *) p->data, p->len, NULL, NULL) > 0)
            {
              sent_packets++;
              kinds[kind]++;
            }
          if (i % 10 == 0)
            g_main_context_iteration (NULL, FALSE);
        }
      post_test_wait_count (&c.n_received, round + 2, "an echo during the flood", WAIT_TIMEOUT_S);
    }
  post_test_send_and_wait (carrier, &c, " end", WAIT_TIMEOUT_S);
  g_string_append (expected, " end");
  post_test_spin (50);   /* the listener reads what is left of the flood */

  g_test_message ("sent %u garbage packets (%u random, %u short, %u Initial, %u truncated, %u with the DCID, "
                  "%u with a forged Retry token); the listener dropped %u Initials, refused %u and keeps %d connections",
                  sent_packets, kinds[0], kinds[1], kinds[2], kinds[3], kinds[4], kinds[5],
                  qlog.dropped, qlog.refused, qlog.connections);
  g_assert_cmpuint (sent_packets, >, 3000);
  g_assert_cmpstr (c.received->str, ==, expected->str);
  g_assert_cmpint (post_carrier_get_state (carrier), ==, POST_CARRIER_STATE_ACTIVE);
  g_assert_cmpuint (c.n_closed, ==, 0);
  /* No state for garbage: the Initials that passed the header checks were
   * dropped at once, and the listener still has its one connection. */
  g_assert_cmpuint (qlog.accepted, ==, 1);
  g_assert_cmpuint (qlog.dropped, >, 0);
  g_assert_cmpint (qlog.connections, ==, 1);
  /* Forged Retry tokens are refused (INVALID_TOKEN) before any state; a
   * loaded socket buffer may lose some of the flood, never more. */
  g_assert_cmpuint (qlog.refused, >, 0);
  g_assert_cmpuint (qlog.refused, <=, kinds[5]);
  g_assert_cmpuint (echo.n_accepted, ==, 1);

  post_carrier_abort (carrier);
  post_test_spin (20);
  post_test_echo_clear (&echo);
  post_carrier_abort (listener);
  post_test_client_clear (&c);
}

/* A listener that allows one connection (`quic.max-connections` 1) refuses
 * a second one with CONNECTION_REFUSED; the first goes on. */
static void
test_max_connections (void)
{
  g_autoptr(PostConfiguration) server_config = post_configuration_new ();
  g_autoptr(PostConfiguration) config = post_test_client_config (dir);
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(PostCarrier) second = NULL;
  PostTestEcho echo = { 0 };
  PostTestClient c, c2;

  quic_log_reset ();
  set_option (server_config, "quic.max-connections", g_variant_new_uint32 (1));
  listener = echo_listen (server_config, &echo);
  post_test_client_init (&c);
  post_test_client_init (&c2);
  carrier = connect_echo (post_test_port_of (listener), config, &c, "first");

  second = post_test_initiate ("quic", post_test_port_of (listener), config);
  post_carrier_establish_async (second, NULL, post_test_established_cb, &c2);
  post_test_wait_count (&c2.done, 1, "the refusal", WAIT_TIMEOUT_S);
  g_assert_error (c2.error, POST_ERROR, POST_ERROR_CONNECTION_REFUSED);
  g_test_message ("refused as expected: %s", c2.error->message);
  g_assert_cmpuint (qlog.refused, >=, 1);
  g_assert_cmpuint (echo.n_accepted, ==, 1);

  post_test_send_and_wait (carrier, &c, " still here", WAIT_TIMEOUT_S);
  g_assert_cmpstr (c.received->str, ==, "first still here");

  post_carrier_abort (second);
  post_carrier_abort (carrier);
  post_test_spin (20);
  post_test_echo_clear (&echo);
  post_carrier_abort (listener);
  post_test_client_clear (&c);
  post_test_client_clear (&c2);
}

/* `quic.max-connections-per-address` 2: a third connection from 127.0.0.1
 * is refused with CONNECTION_REFUSED, while one from 127.0.0.2 is still
 * served (one address cannot take the whole listener, quic.max-connections
 * being far away); the first two go on. */
static void
test_max_connections_per_address (void)
{
  g_autoptr(PostConfiguration) server_config = post_configuration_new ();
  g_autoptr(PostConfiguration) config = post_test_client_config (dir);
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostCarrier) first = NULL;
  g_autoptr(PostCarrier) second = NULL;
  g_autoptr(PostCarrier) third = NULL;
  g_autoptr(PostCarrier) other = NULL;
  g_autoptr(PostLocal) other_local = NULL;
  g_autoptr(PostRemote) remote = NULL;
  g_autofree char *uri = NULL;
  g_autoptr(GError) error = NULL;
  PostTestEcho echo = { 0 };
  PostTestClient c1, c2, c3, c4;

  expect_option_error ("quic.max-connections-per-address", g_variant_new_int32 (0));
  quic_log_reset ();
  set_option (server_config, "quic.max-connections-per-address", g_variant_new_uint32 (2));
  listener = echo_listen (server_config, &echo);
  post_test_client_init (&c1);
  post_test_client_init (&c2);
  post_test_client_init (&c3);
  post_test_client_init (&c4);
  first = connect_echo (post_test_port_of (listener), config, &c1, "first");
  second = connect_echo (post_test_port_of (listener), config, &c2, "second");

  third = post_test_initiate ("quic", post_test_port_of (listener), config);
  post_carrier_establish_async (third, NULL, post_test_established_cb, &c3);
  post_test_wait_count (&c3.done, 1, "the refusal", WAIT_TIMEOUT_S);
  g_assert_error (c3.error, POST_ERROR, POST_ERROR_CONNECTION_REFUSED);
  g_test_message ("refused as expected: %s", c3.error->message);
  g_assert_cmpuint (qlog.refused, >=, 1);
  g_assert_cmpuint (echo.n_accepted, ==, 2);

  /* Another address is served */
  other_local = post_local_new_from_uri ("quic://127.0.0.2:0", &error);
  g_assert_no_error (error);
  uri = g_strdup_printf ("quic://127.0.0.1:%u", post_test_port_of (listener));
  remote = post_remote_new_from_uri (uri, &error);
  g_assert_no_error (error);
  other = post_carrier_initiate (other_local, remote, config);
  {
    g_autoptr(PostMessage) hello = post_message_new_from_string ("other");

    g_assert_true (post_carrier_send (other, hello, NULL));
  }
  post_carrier_ready (other, post_test_client_message_cb, &c4, NULL);
  post_carrier_establish_async (other, NULL, post_test_established_cb, &c4);
  post_test_wait_count (&c4.done, 1, "the other address's establishment", WAIT_TIMEOUT_S);
  g_assert_no_error (c4.error);
  post_test_wait_count (&c4.n_received, 1, "the other address's echo", WAIT_TIMEOUT_S);
  g_assert_cmpstr (c4.received->str, ==, "other");
  g_assert_cmpuint (echo.n_accepted, ==, 3);

  post_test_send_and_wait (first, &c1, " still here", WAIT_TIMEOUT_S);
  g_assert_cmpstr (c1.received->str, ==, "first still here");

  post_carrier_abort (other);
  post_carrier_abort (third);
  post_carrier_abort (second);
  post_carrier_abort (first);
  post_test_spin (20);
  post_test_echo_clear (&echo);
  post_carrier_abort (listener);
  post_test_client_clear (&c1);
  post_test_client_clear (&c2);
  post_test_client_clear (&c3);
  post_test_client_clear (&c4);
}

/* ---- the peer's stream limit ---------------------------------------------------- */

/* The listener allows 3 bidirectional streams per connection
 * (`quic.max-streams`): the first carrier and two forks open at once, the
 * third and fourth forks wait (they do not fail) until earlier streams
 * close and the listener grants more with MAX_STREAMS; a waiting fork
 * whose cancellable is cancelled fails with G_IO_ERROR_CANCELLED. */
static void
test_stream_limit (void)
{
  g_autoptr(PostConfiguration) server_config = post_configuration_new ();
  g_autoptr(PostConfiguration) config = post_test_client_config (dir);
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  PostTestEcho echo = { 0 };
  PostTestFork r[5] = { { 0 } };
  PostTestClient c, fc[4];

  quic_log_reset ();
  set_option (server_config, "quic.max-streams", g_variant_new_uint32 (3));
  listener = echo_listen (server_config, &echo);
  post_test_client_init (&c);
  carrier = connect_echo (post_test_port_of (listener), config, &c, "stream 0");

  for (guint i = 0; i < 4; i++)
    {
      post_test_client_init (&fc[i]);
      post_carrier_fork_async (carrier, NULL, post_test_forked_cb, &r[i]);
    }
  post_carrier_fork_async (carrier, cancellable, post_test_forked_cb, &r[4]);
  post_test_wait_count (&r[0].done, 1, "the first fork", WAIT_TIMEOUT_S);
  post_test_wait_count (&r[1].done, 1, "the second fork", WAIT_TIMEOUT_S);
  for (guint i = 0; i < 2; i++)
    {
      g_autofree char *text = g_strdup_printf ("stream %u", i + 1);

      g_assert_no_error (r[i].error);
      post_carrier_ready (r[i].carrier, post_test_client_message_cb, &fc[i], NULL);
      post_test_send_and_wait (r[i].carrier, &fc[i], text, WAIT_TIMEOUT_S);
      g_assert_cmpstr (fc[i].received->str, ==, text);
    }
  /* Both forks' streams carried data both ways: the listener has seen its
   * limit reached, and the other forks still wait. */
  g_assert_cmpuint (echo.n_accepted, ==, 3);
  g_assert_cmpuint (r[2].done, ==, 0);
  g_assert_cmpuint (r[3].done, ==, 0);
  g_assert_cmpuint (r[4].done, ==, 0);

  /* Cancelled while waiting. */
  g_cancellable_cancel (cancellable);
  post_test_wait_count (&r[4].done, 1, "the cancelled fork", WAIT_TIMEOUT_S);
  g_assert_error (r[4].error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_cmpuint (r[2].done, ==, 0);

  /* Closing a stream gives the credit for one more. */
  post_carrier_close (r[0].carrier);
  post_test_wait_count (&r[2].done, 1, "the third fork, after a stream closed", WAIT_TIMEOUT_S);
  g_assert_no_error (r[2].error);
  g_assert_cmpuint (r[3].done, ==, 0);
  post_carrier_ready (r[2].carrier, post_test_client_message_cb, &fc[2], NULL);
  post_test_send_and_wait (r[2].carrier, &fc[2], "stream 3", WAIT_TIMEOUT_S);
  g_assert_cmpstr (fc[2].received->str, ==, "stream 3");

  post_carrier_close (r[1].carrier);
  post_test_wait_count (&r[3].done, 1, "the fourth fork, after another stream closed", WAIT_TIMEOUT_S);
  g_assert_no_error (r[3].error);
  post_carrier_ready (r[3].carrier, post_test_client_message_cb, &fc[3], NULL);
  post_test_send_and_wait (r[3].carrier, &fc[3], "stream 4", WAIT_TIMEOUT_S);
  g_assert_cmpstr (fc[3].received->str, ==, "stream 4");

  post_test_send_and_wait (carrier, &c, " still", WAIT_TIMEOUT_S);
  g_assert_cmpstr (c.received->str, ==, "stream 0 still");
  g_assert_cmpuint (echo.n_accepted, ==, 5);

  for (guint i = 0; i < 4; i++)
    {
      if (r[i].carrier != NULL)
        post_carrier_abort (r[i].carrier);
      g_clear_object (&r[i].carrier);
      post_test_client_clear (&fc[i]);
    }
  g_clear_error (&r[4].error);
  post_carrier_abort (carrier);
  post_test_spin (20);
  post_test_echo_clear (&echo);
  post_carrier_abort (listener);
  post_test_client_clear (&c);
}

/* ---- a refused fork ------------------------------------------------------------- */

/* The peer's carrier does not accept the fork request (its ::incoming
 * handler returns FALSE): the forked carrier closes with
 * POST_ERROR_CONNECTION_REFUSED, the first carrier goes on. */
static void
test_fork_refused (void)
{
  g_autoptr(PostConfiguration) config = post_test_client_config (dir);
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(PostMessage) message = post_message_new_from_string ("may I?");
  PostTestEcho echo = { 0 };
  PostTestFork r = { 0 };
  PostTestClient c, fc;

  quic_log_reset ();
  echo.refuse_forks = TRUE;
  listener = echo_listen (NULL, &echo);
  post_test_client_init (&c);
  post_test_client_init (&fc);
  carrier = connect_echo (post_test_port_of (listener), config, &c, "one");

  post_carrier_fork_async (carrier, NULL, post_test_forked_cb, &r);
  post_test_wait_count (&r.done, 1, "the fork", WAIT_TIMEOUT_S);
  g_assert_no_error (r.error);
  post_carrier_ready (r.carrier, post_test_client_message_cb, &fc, NULL);
  g_signal_connect (r.carrier, "closed", G_CALLBACK (post_test_client_closed_cb), &fc);
  /* The peer sees the fork request with the stream's first data. */
  g_assert_true (post_carrier_send (r.carrier, message, NULL));
  post_test_wait_count (&fc.n_closed, 1, "the refusal", WAIT_TIMEOUT_S);
  g_assert_error (fc.close_error, POST_ERROR, POST_ERROR_CONNECTION_REFUSED);
  g_test_message ("the fork failed as expected: %s", fc.close_error->message);
  g_assert_cmpuint (fc.n_received, ==, 0);
  g_assert_cmpuint (echo.n_forks_refused, ==, 1);
  g_assert_cmpuint (echo.n_accepted, ==, 1);

  /* The first carrier (and the connection) go on. */
  post_test_send_and_wait (carrier, &c, " two", WAIT_TIMEOUT_S);
  g_assert_cmpstr (c.received->str, ==, "one two");
  g_assert_cmpint (post_carrier_get_state (carrier), ==, POST_CARRIER_STATE_ACTIVE);
  g_assert_cmpuint (c.n_closed, ==, 0);

  g_clear_object (&r.carrier);
  post_carrier_abort (carrier);
  post_test_spin (20);
  post_test_echo_clear (&echo);
  post_carrier_abort (listener);
  post_test_client_clear (&c);
  post_test_client_clear (&fc);
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
  g_log_set_handler ("PostQuic", G_LOG_LEVEL_MASK | G_LOG_FLAG_FATAL | G_LOG_FLAG_RECURSION,
                     quic_log_handler, NULL);
  qlog.verbose = g_getenv ("POST_TEST_VERBOSE") != NULL;
  dir = post_test_certs_make ("post-quic-listener");

  g_test_add_func ("/quic/listener/options", test_options);
  g_test_add_func ("/quic/listener/retry", test_retry);
  g_test_add_func ("/quic/listener/retry-never-when-busy", test_retry_never);
  g_test_add_func ("/quic/listener/retry-zero-rtt", test_retry_zero_rtt);
  g_test_add_func ("/quic/listener/garbage-flood", test_garbage_flood);
  g_test_add_func ("/quic/listener/max-connections", test_max_connections);
  g_test_add_func ("/quic/listener/max-connections-per-address", test_max_connections_per_address);
  g_test_add_func ("/quic/listener/stream-limit", test_stream_limit);
  g_test_add_func ("/quic/listener/fork-refused", test_fork_refused);
  g_test_add_func ("/quic/interop/gtlsclient-retry", test_gtlsclient_retry);
  g_test_add_func ("/quic/interop/gtlsserver-retry", test_gtlsserver_retry);

  ret = g_test_run ();
  quic_log_reset ();
  g_clear_pointer (&qlog.cids, g_ptr_array_unref);
  post_test_certs_remove (dir);
  g_clear_pointer (&dir, g_free);
  return ret;
}
