/* test-dtls.c: the `dtls` stack on loopback: echo with message boundaries
 * and the record size limit, verification errors, garbage and truncated
 * records (from a raw socket and through a relay that can forge the
 * peer's address), a lost first ClientHello recovered by retransmission,
 * pre-shared keys, and interop with gnutls-serv -u / gnutls-cli -u.
 *
 * Certificates are made at test time with certtool; the relay is a pair
 * of sockets in this process; gnutls peers are child processes, always
 * killed.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */

#include <post.h>

#include "post-test-util.h"
#include <string.h>
#include <unistd.h>
#include <signal.h>
#include <glib/gstdio.h>

#define WAIT_TIMEOUT_S 15

static char *dir;  /* the certificates */

/* ---- harness --------------------------------------------------------------- */

/* Datagram stacks are unreliable and unordered: ask for dtls by name. */
static PostConfiguration *
dtls_configuration (void)
{
  PostConfiguration *config = post_configuration_new ();
  const char *stacks[] = { "dtls", NULL };

  g_assert_true (post_configuration_set_preference (config, POST_SELECTION_RELIABILITY,
                                                    POST_PREFERENCE_NO_PREFERENCE, NULL));
  g_assert_true (post_configuration_set_preference (config, POST_SELECTION_PRESERVE_ORDER,
                                                    POST_PREFERENCE_NO_PREFERENCE, NULL));
  g_assert_true (post_configuration_set_preference (config, POST_SELECTION_CONGESTION_CONTROL,
                                                    POST_PREFERENCE_NO_PREFERENCE, NULL));
  g_assert_true (post_configuration_set_stacks (config, stacks, NULL));
  return config;
}

/* The client's: trust only the test CA. */
static PostConfiguration *
client_config (void)
{
  PostConfiguration *config = dtls_configuration ();

  post_test_trust_test_ca (config, dir);
  return config;
}

static GSocket *
udp_socket (guint16 port)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) a = g_inet_socket_address_new (lo, port);
  GSocket *s = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, &error);

  g_assert_no_error (error);
  g_assert_true (g_socket_bind (s, a, FALSE, &error));
  g_assert_no_error (error);
  g_socket_set_blocking (s, FALSE);
  return s;
}

static guint16
socket_port (GSocket *s)
{
  g_autoptr(GSocketAddress) a = g_socket_get_local_address (s, NULL);

  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (a));
}

/* ---- an echo server ------------------------------------------------------------- */

typedef struct {
  guint n_accepted;
  guint n_messages;
  GPtrArray *children;  /* (owned) */
  GPtrArray *texts;     /* (owned) what arrived, one string per message */
  gboolean echo;
} Server;

static gboolean
server_message_cb (PostCarrier *carrier,
                   PostMessage *message,
                   gpointer     user_data)
{
  Server *s = user_data;
  gsize size;
  const char *data = g_bytes_get_data (post_message_get_content (message), &size);

  g_ptr_array_add (s->texts, g_strndup (data, size));
  if (s->echo)
    {
      g_autoptr(PostMessage) reply = post_message_new (post_message_get_content (message));

      g_assert_true (post_carrier_send (carrier, reply, NULL));
    }
  s->n_messages++;
  return TRUE;
}

static gboolean
server_incoming_cb (PostCarrier *listener,
                    PostCarrier *carrier,
                    gpointer     user_data)
{
  Server *s = user_data;

  g_assert_cmpstr (post_carrier_get_stack_name (carrier), ==, "dtls");
  g_assert_true (post_carrier_get_security_flags (carrier) & POST_SECURITY_ENCRYPTED);
  s->n_accepted++;
  g_ptr_array_add (s->children, g_object_ref (carrier));
  post_carrier_ready (carrier, server_message_cb, s, NULL);
  return TRUE;
}

static PostCarrier *
server_listen (PostLocal *local,
               Server    *s)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostConfiguration) config = dtls_configuration ();
  PostCarrier *listener = post_carrier_listen (local, config, &error);

  g_assert_no_error (error);
  g_assert_nonnull (listener);
  g_assert_cmpstr (post_carrier_get_stack_name (listener), ==, "dtls");
  memset (s, 0, sizeof *s);
  s->echo = TRUE;
  s->children = g_ptr_array_new_with_free_func (g_object_unref);
  s->texts = g_ptr_array_new_with_free_func (g_free);
  g_signal_connect (listener, "incoming", G_CALLBACK (server_incoming_cb), s);
  return listener;
}

static void
server_clear (Server *s)
{
  for (guint i = 0; s->children && i < s->children->len; i++)
    post_carrier_abort (s->children->pdata[i]);
  g_clear_pointer (&s->children, g_ptr_array_unref);
  g_clear_pointer (&s->texts, g_ptr_array_unref);
}

/* ---- a client ------------------------------------------------------------------- */

typedef struct {
  guint done;
  GError *error;
  GPtrArray *texts;
  guint n_received;
} Client;

static void
established_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  Client *c = user_data;

  post_carrier_establish_finish (POST_CARRIER (source), result, &c->error);
  c->done = 1;
}

static gboolean
client_message_cb (PostCarrier *carrier,
                   PostMessage *message,
                   gpointer     user_data)
{
  Client *c = user_data;
  gsize size;
  const char *data = g_bytes_get_data (post_message_get_content (message), &size);

  g_ptr_array_add (c->texts, g_strndup (data, size));
  c->n_received++;
  return TRUE;
}

static PostAssociation *
association_for (const char        *host,
                 guint16            port,
                 PostConfiguration *config)
{
  g_autofree char *uri = g_strdup_printf ("dtls://%s:%u", host, port);
  g_autoptr(GError) error = NULL;
  g_autoptr(PostRemote) remote = post_remote_new_from_uri (uri, &error);

  g_assert_no_error (error);
  return post_association_new (NULL, remote, config);
}

/* Establishes a carrier of @association (waiting for the handshake). */
static PostCarrier *
connect_client (PostAssociation *association,
                Client          *c)
{
  PostCarrier *carrier = post_association_initiate (association);

  memset (c, 0, sizeof *c);
  c->texts = g_ptr_array_new_with_free_func (g_free);
  post_carrier_ready (carrier, client_message_cb, c, NULL);
  post_carrier_establish_async (carrier, NULL, established_cb, c);
  post_test_wait_count (&c->done, 1, "the DTLS handshake", WAIT_TIMEOUT_S);
  g_assert_no_error (c->error);
  g_assert_cmpstr (post_carrier_get_stack_name (carrier), ==, "dtls");
  return carrier;
}

static void
client_clear (Client *c)
{
  g_clear_pointer (&c->texts, g_ptr_array_unref);
  g_clear_error (&c->error);
}

static void
send_text (PostCarrier *carrier,
           const char  *text)
{
  g_autoptr(PostMessage) message = post_message_new_from_string (text);
  g_autoptr(GError) error = NULL;

  g_assert_true (post_carrier_send (carrier, message, &error));
  g_assert_no_error (error);
}

/* ---- echo ----------------------------------------------------------------------- */

static void
test_echo (void)
{
  g_autoptr(PostLocal) local = post_test_server_local ("dtls://127.0.0.1:0", dir, "server");
  g_autoptr(PostConfiguration) config = client_config ();
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostAssociation) association = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(GError) error = NULL;
  PostStackCapabilities caps;
  Server s;
  Client c;

  listener = server_listen (local, &s);
  caps = post_carrier_get_capabilities (listener);
  g_assert_true (caps & POST_STACK_CAP_SECURE);
  g_assert_true (caps & POST_STACK_CAP_PRESERVE_MSG_BOUNDARIES);
  g_assert_false (caps & POST_STACK_CAP_RELIABLE);
  g_assert_false (caps & POST_STACK_CAP_BYTE_STREAM);
  g_assert_false (caps & POST_STACK_CAP_EVENT_ACKED);

  association = association_for ("127.0.0.1", post_test_port_of (listener), config);
  carrier = connect_client (association, &c);
  g_assert_true (post_carrier_get_security_flags (carrier) & POST_SECURITY_ENCRYPTED);
  g_assert_false (post_carrier_get_security_flags (carrier) & POST_SECURITY_PSK);

  /* Three messages come back as three messages. */
  send_text (carrier, "one");
  send_text (carrier, "two, a bit longer");
  send_text (carrier, "three");
  post_test_wait_count (&c.n_received, 3, "the echoes", WAIT_TIMEOUT_S);
  g_assert_cmpuint (s.n_accepted, ==, 1);
  g_assert_cmpuint (s.n_messages, ==, 3);
  {
    gboolean seen[3] = { FALSE };

    /* unordered by contract (in order on loopback, but don't rely on it) */
    for (guint i = 0; i < 3; i++)
      {
        const char *t = c.texts->pdata[i];

        seen[0] |= g_str_equal (t, "one");
        seen[1] |= g_str_equal (t, "two, a bit longer");
        seen[2] |= g_str_equal (t, "three");
      }
    g_assert_true (seen[0] && seen[1] && seen[2]);
  }

  /* One record per message: the largest goes, one more byte does not. */
  {
    g_autoptr(GPtrArray) transients = post_carrier_get_transients (carrier);
    gsize max = post_psi_get_max_message_size (post_transient_get_psi (transients->pdata[0]));
    g_autoptr(GBytes) biggest = NULL;
    g_autoptr(GBytes) too_big = NULL;
    g_autoptr(PostMessage) m1 = NULL;
    g_autoptr(PostMessage) m2 = NULL;
    guint8 *fill = g_malloc (max + 1);

    g_test_message ("dtls max message size on loopback: %" G_GSIZE_FORMAT, max);
    g_assert_cmpuint (max, >, 1000);
    g_assert_cmpuint (max, <=, 16384);
    memset (fill, 'x', max + 1);
    biggest = g_bytes_new (fill, max);
    too_big = g_bytes_new_take (fill, max + 1);
    m1 = post_message_new (too_big);
    g_assert_false (post_carrier_send (carrier, m1, &error));
    g_assert_error (error, POST_ERROR, POST_ERROR_MESSAGE_TOO_LARGE);
    g_test_message ("%s", error->message);
    g_clear_error (&error);
    m2 = post_message_new (biggest);
    g_assert_true (post_carrier_send (carrier, m2, &error));
    post_test_wait_count (&c.n_received, 4, "the largest echo", WAIT_TIMEOUT_S);
    g_assert_cmpuint (strlen (c.texts->pdata[3]), ==, max);
  }

  /* A graceful close sends close_notify: the server's carrier ends (long
   * before udp.peer-idle-timeout would expire it). */
  post_carrier_close (carrier);
  for (guint i = 0; i < 100 && post_carrier_get_state (s.children->pdata[0]) != POST_CARRIER_STATE_CLOSED; i++)
    post_test_spin (20);
  g_assert_cmpint (post_carrier_get_state (s.children->pdata[0]), ==, POST_CARRIER_STATE_CLOSED);

  server_clear (&s);
  client_clear (&c);
  post_carrier_abort (listener);
}

/* ---- verification errors ------------------------------------------------------- */

static void
expect_failure (const char *cert,
                const char *host,
                int         code)
{
  g_autoptr(PostLocal) local = post_test_server_local ("dtls://127.0.0.1:0", dir, cert);
  g_autoptr(PostConfiguration) config = client_config ();
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostAssociation) association = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(PostMessage) message = post_message_new_from_string ("never");
  Server s;
  Client c = { 0 };

  listener = server_listen (local, &s);
  association = association_for (host, post_test_port_of (listener), config);
  carrier = post_association_initiate (association);
  post_carrier_send (carrier, message, NULL);
  post_carrier_establish_async (carrier, NULL, established_cb, &c);
  post_test_wait_count (&c.done, 1, cert, WAIT_TIMEOUT_S);
  g_assert_nonnull (c.error);
  g_test_message ("%s: %s", cert, c.error->message);
  g_assert_error (c.error, POST_ERROR, code);
  g_assert_cmpint (post_carrier_get_state (carrier), ==, POST_CARRIER_STATE_CLOSED);
  post_test_spin (50);
  g_assert_cmpuint (s.n_accepted, ==, 0);
  g_clear_error (&c.error);
  server_clear (&s);
  post_carrier_abort (listener);
}

static void
test_untrusted (void)
{
  expect_failure ("rogue", "127.0.0.1", POST_ERROR_TLS_UNKNOWN_AUTHORITY);
}

static void
test_name_mismatch (void)
{
  expect_failure ("wrongname", "127.0.0.1", POST_ERROR_TLS_NAME_MISMATCH);
}

/* ---- a relay between client and server ------------------------------------------- */

/* Forwards datagrams between a client (which connects to `front`) and the
 * server (which sees `back` as its peer).  It can drop ClientHellos, and
 * it remembers the last datagram each way so that tests can forge
 * truncated copies that come from the right address. */
typedef struct {
  GSocket *front;
  GSocket *back;
  GSocketAddress *server;   /* (owned) */
  GSocketAddress *client;   /* (owned) (nullable) learned */
  GSource *front_source;
  GSource *back_source;
  guint drop_client_hellos;
  guint dropped;
  guint n_client_hellos;
  GBytes *last_to_client;   /* (owned) (nullable) */
  GBytes *last_to_server;   /* (owned) (nullable) */
} Relay;

static gboolean
is_client_hello (const guint8 *data,
                 gssize        n)
{
  return n >= 25 && data[0] == 22 && data[13] == 1;
}

static gboolean
relay_front_cb (GSocket      *socket,
                GIOCondition  condition,
                gpointer      user_data)
{
  Relay *r = user_data;
  guint8 buffer[65536];

  for (;;)
    {
      GSocketAddress *from = NULL;
      gssize n = g_socket_receive_from (r->front, &from, (char *) buffer, sizeof buffer, NULL, NULL);

      if (n < 0)
        break;
      g_clear_object (&r->client);
      r->client = from;
      if (is_client_hello (buffer, n))
        {
          r->n_client_hellos++;
          if (r->dropped < r->drop_client_hellos)
            {
              r->dropped++;
              continue;
            }
        }
      g_clear_pointer (&r->last_to_server, g_bytes_unref);
      r->last_to_server = g_bytes_new (buffer, n);
      g_socket_send_to (r->back, r->server, (const char *) buffer, n, NULL, NULL);
    }
  return G_SOURCE_CONTINUE;
}

static gboolean
relay_back_cb (GSocket      *socket,
               GIOCondition  condition,
               gpointer      user_data)
{
  Relay *r = user_data;
  guint8 buffer[65536];

  for (;;)
    {
      gssize n = g_socket_receive (r->back, (char *) buffer, sizeof buffer, NULL, NULL);

      if (n < 0)
        break;
      if (r->client == NULL)
        continue;
      g_clear_pointer (&r->last_to_client, g_bytes_unref);
      r->last_to_client = g_bytes_new (buffer, n);
      g_socket_send_to (r->front, r->client, (const char *) buffer, n, NULL, NULL);
    }
  return G_SOURCE_CONTINUE;
}

static void
relay_start (Relay   *r,
             guint16  server_port)
{
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);

  memset (r, 0, sizeof *r);
  r->front = udp_socket (0);
  r->back = udp_socket (0);
  r->server = g_inet_socket_address_new (lo, server_port);
  r->front_source = g_socket_create_source (r->front, G_IO_IN, NULL);
  g_source_set_callback (r->front_source, (GSourceFunc) (void (*) (void)) relay_front_cb, r, NULL);
  g_source_attach (r->front_source, NULL);
  r->back_source = g_socket_create_source (r->back, G_IO_IN, NULL);
  g_source_set_callback (r->back_source, (GSourceFunc) (void (*) (void)) relay_back_cb, r, NULL);
  g_source_attach (r->back_source, NULL);
}

static void
relay_stop (Relay *r)
{
  g_source_destroy (r->front_source);
  g_source_unref (r->front_source);
  g_source_destroy (r->back_source);
  g_source_unref (r->back_source);
  g_clear_object (&r->front);
  g_clear_object (&r->back);
  g_clear_object (&r->server);
  g_clear_object (&r->client);
  g_clear_pointer (&r->last_to_client, g_bytes_unref);
  g_clear_pointer (&r->last_to_server, g_bytes_unref);
}

/* Sends @data as if from the server (to the client) or from the client. */
static void
relay_inject (Relay        *r,
              gboolean      to_client,
              const guint8 *data,
              gsize         size)
{
  g_autoptr(GError) error = NULL;

  if (to_client)
    g_socket_send_to (r->front, r->client, (const char *) data, size, NULL, &error);
  else
    g_socket_send_to (r->back, r->server, (const char *) data, size, NULL, &error);
  g_assert_no_error (error);
}

/* Garbage, a truncated copy and a forged copy of the last record, and
 * a record header claiming more than the datagram holds. */
static void
relay_inject_bad (Relay    *r,
                  gboolean  to_client)
{
  GBytes *last = to_client ? r->last_to_client : r->last_to_server;
  gsize size;
  const guint8 *record = g_bytes_get_data (last, &size);
  g_autofree guint8 *copy = g_memdup2 (record, size);
  guint8 junk[300];

  for (guint i = 0; i < sizeof junk; i++)
    junk[i] = (guint8) g_random_int ();
  relay_inject (r, to_client, junk, sizeof junk);
  junk[0] = 23;  /* application data, DTLS 1.2, then noise */
  junk[1] = 0xfe;
  junk[2] = 0xfd;
  relay_inject (r, to_client, junk, sizeof junk);
  g_assert_cmpuint (size, >, 20);
  relay_inject (r, to_client, record, size - 7);      /* truncated */
  relay_inject (r, to_client, record, 10);            /* a header cut short */
  copy[size - 1] ^= 0x55;
  copy[11] ^= 0x01;                                   /* a new sequence number, a bad tag */
  relay_inject (r, to_client, copy, size);
  relay_inject (r, to_client, record, size);          /* a replay */
}

static void
test_garbage (void)
{
  g_autoptr(PostLocal) local = post_test_server_local ("dtls://127.0.0.1:0", dir, "server");
  g_autoptr(PostConfiguration) config = client_config ();
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostAssociation) association = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(GSocket) raw = udp_socket (0);
  g_autoptr(GError) error = NULL;
  guint8 junk[512];
  Server s;
  Client c;
  Relay r;

  listener = server_listen (local, &s);
  relay_start (&r, post_test_port_of (listener));

  /* Garbage at the listener from a new remote: no carrier, no answer. */
  for (guint i = 0; i < sizeof junk; i++)
    junk[i] = (guint8) g_random_int ();
  g_socket_send_to (raw, post_carrier_get_local_address (listener), (const char *) junk, sizeof junk, NULL, &error);
  g_assert_no_error (error);
  g_socket_send_to (raw, post_carrier_get_local_address (listener), "", 0, NULL, &error);
  g_assert_no_error (error);
  post_test_spin (100);
  g_assert_cmpuint (s.n_accepted, ==, 0);
  {
    char buffer[64];

    g_assert_cmpint (g_socket_receive (raw, buffer, sizeof buffer, NULL, NULL), <, 0);
  }

  association = association_for ("127.0.0.1", socket_port (r.front), config);
  carrier = connect_client (association, &c);
  send_text (carrier, "before");
  post_test_wait_count (&c.n_received, 1, "the first echo", WAIT_TIMEOUT_S);

  /* Bad records at both ends, from the right addresses. */
  relay_inject_bad (&r, TRUE);
  relay_inject_bad (&r, FALSE);
  post_test_spin (200);
  g_assert_cmpint (post_carrier_get_state (carrier), ==, POST_CARRIER_STATE_ACTIVE);
  g_assert_cmpuint (c.n_received, ==, 1);
  g_assert_cmpuint (s.n_messages, ==, 1);

  /* ...and at the listener's port from another remote, the raw socket. */
  g_socket_send_to (raw, post_carrier_get_local_address (listener),
                    g_bytes_get_data (r.last_to_server, NULL), g_bytes_get_size (r.last_to_server) - 3,
                    NULL, &error);
  g_assert_no_error (error);

  send_text (carrier, "after");
  post_test_wait_count (&c.n_received, 2, "the echo after the garbage", WAIT_TIMEOUT_S);
  g_assert_cmpstr (c.texts->pdata[1], ==, "after");
  g_assert_cmpuint (s.n_accepted, ==, 1);
  g_assert_cmpuint (s.n_messages, ==, 2);
  g_assert_cmpint (post_carrier_get_state (s.children->pdata[0]), ==, POST_CARRIER_STATE_ACTIVE);

  post_carrier_abort (carrier);
  relay_stop (&r);
  server_clear (&s);
  client_clear (&c);
  post_carrier_abort (listener);
}

/* ---- loss ------------------------------------------------------------------------- */

static void
test_lost_client_hello (void)
{
  g_autoptr(PostLocal) local = post_test_server_local ("dtls://127.0.0.1:0", dir, "server");
  g_autoptr(PostConfiguration) config = client_config ();
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostAssociation) association = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  gint64 start;
  Server s;
  Client c;
  Relay r;

  listener = server_listen (local, &s);
  relay_start (&r, post_test_port_of (listener));
  r.drop_client_hellos = 1;
  association = association_for ("127.0.0.1", socket_port (r.front), config);
  start = g_get_monotonic_time ();
  carrier = connect_client (association, &c);
  g_test_message ("handshake with a lost ClientHello: %" G_GINT64_FORMAT " ms",
                  (g_get_monotonic_time () - start) / 1000);
  g_assert_cmpuint (r.dropped, ==, 1);
  /* dropped, resent on the timer, then again with the cookie */
  g_assert_cmpuint (r.n_client_hellos, >=, 3);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 500 * 1000);

  send_text (carrier, "made it");
  post_test_wait_count (&c.n_received, 1, "the echo", WAIT_TIMEOUT_S);
  g_assert_cmpstr (c.texts->pdata[0], ==, "made it");

  post_carrier_abort (carrier);
  relay_stop (&r);
  server_clear (&s);
  client_clear (&c);
  post_carrier_abort (listener);
}

/* ---- pre-shared keys ---------------------------------------------------------------- */

static void
test_psk (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostLocal) local = post_local_new_from_uri ("dtls://127.0.0.1:0", NULL);
  g_autoptr(PostConfiguration) config = dtls_configuration ();
  g_autoptr(GBytes) key = g_bytes_new_static ("0123456789abcdef0123456789abcdef", 32);
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostAssociation) association = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  Server s;
  Client c;

  g_assert_true (post_local_add_pre_shared_key (local, "client-1", key, &error));
  g_assert_no_error (error);
  listener = server_listen (local, &s);
  g_assert_true (post_configuration_set_use_system_trust (config, FALSE, NULL));
  association = association_for ("127.0.0.1", post_test_port_of (listener), config);
  g_assert_true (post_association_set_pre_shared_key (association, "client-1", key, &error));
  carrier = connect_client (association, &c);
  g_assert_true (post_carrier_get_security_flags (carrier) & POST_SECURITY_PSK);
  send_text (carrier, "psk");
  post_test_wait_count (&c.n_received, 1, "the echo", WAIT_TIMEOUT_S);
  g_assert_cmpstr (c.texts->pdata[0], ==, "psk");

  post_carrier_abort (carrier);
  server_clear (&s);
  client_clear (&c);
  post_carrier_abort (listener);
}

/* ---- interop ------------------------------------------------------------------------ */

static void
test_gnutls_serv (void)
{
  guint16 port = post_test_free_port (G_SOCKET_TYPE_DATAGRAM);
  g_autofree char *p = g_strdup_printf ("%u", port);
  g_autofree char *cert = post_test_certs_path (dir, "server.pem");
  g_autofree char *key = post_test_certs_path (dir, "server.key");
  g_autoptr(GSubprocess) peer = NULL;
  g_autoptr(PostConfiguration) config = client_config ();
  g_autoptr(PostAssociation) association = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  Client c;

  peer = post_test_spawn ((const char *[]) { "gnutls-serv", "-u", "--echo", "-p", p, "--x509certfile", cert,
                                   "--x509keyfile", key, NULL },
                G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  /* No need to wait for it: the ClientHello is resent until it answers. */
  association = association_for ("127.0.0.1", port, config);
  carrier = connect_client (association, &c);
  g_assert_true (post_carrier_get_security_flags (carrier) & POST_SECURITY_ENCRYPTED);
  send_text (carrier, "hello gnutls-serv");
  post_test_wait_count (&c.n_received, 1, "gnutls-serv's echo", WAIT_TIMEOUT_S);
  g_assert_cmpstr (c.texts->pdata[0], ==, "hello gnutls-serv");
  post_carrier_close (carrier);
  post_test_spin (50);
  client_clear (&c);
  post_test_kill (peer);
}

static void
test_gnutls_cli (void)
{
  g_autoptr(PostLocal) local = post_test_server_local ("dtls://127.0.0.1:0", dir, "server");
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(GSubprocess) peer = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *p = NULL;
  g_autofree char *ca = post_test_certs_path (dir, "ca.pem");
  gsize written;
  Server s;

  listener = server_listen (local, &s);
  s.echo = FALSE;
  p = g_strdup_printf ("%u", post_test_port_of (listener));
  peer = post_test_spawn ((const char *[]) { "gnutls-cli", "-u", "--x509cafile", ca, "--verify-hostname", "localhost",
                                   "-p", p, "127.0.0.1", NULL },
                G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_assert_true (g_output_stream_write_all (g_subprocess_get_stdin_pipe (peer), "inter\n", 6,
                                            &written, NULL, &error));
  g_output_stream_flush (g_subprocess_get_stdin_pipe (peer), NULL, NULL);
  post_test_wait_count (&s.n_messages, 1, "a message from gnutls-cli", WAIT_TIMEOUT_S);
  g_assert_cmpuint (s.n_accepted, ==, 1);
  g_assert_true (g_str_has_prefix (s.texts->pdata[0], "inter"));
  post_test_kill (peer);
  server_clear (&s);
  post_carrier_abort (listener);
}

int
main (int   argc,
      char *argv[])
{
  int ret;

  g_test_init (&argc, &argv, NULL);
  dir = post_test_certs_make ("post-dtls");

  g_test_add_func ("/dtls/echo", test_echo);
  g_test_add_func ("/dtls/untrusted", test_untrusted);
  g_test_add_func ("/dtls/name-mismatch", test_name_mismatch);
  g_test_add_func ("/dtls/garbage", test_garbage);
  g_test_add_func ("/dtls/lost-client-hello", test_lost_client_hello);
  g_test_add_func ("/dtls/psk", test_psk);
  g_test_add_func ("/dtls/interop/gnutls-serv", test_gnutls_serv);
  g_test_add_func ("/dtls/interop/gnutls-cli", test_gnutls_cli);

  ret = g_test_run ();
  post_test_certs_remove (dir);
  g_clear_pointer (&dir, g_free);
  return ret;
}
