/* test-sctp.c: the sctp stack (plugins/sctp) on loopback: messages and
 * their boundaries, streams (fork, refusal), no threads, the listener
 * against an INIT flood and bad input, selection, and interoperation with
 * Debian's usrsctp example programs (libusrsctp-examples)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <usrsctp.h>

#include "post-test-util.h"

#define EXAMPLES_DIR "/usr/lib/usrsctp"

/* ---- helpers ------------------------------------------------------------------ */

static PostConfiguration *
sctp_config (void)
{
  PostConfiguration *config = post_configuration_new ();
  const char *stacks[] = { "sctp", NULL };

  g_assert_true (post_configuration_set_stacks (config, stacks, NULL));
  return config;
}

static PostCarrier *
sctp_listen (PostTestEcho      *echo,
             PostConfiguration *config)
{
  g_autoptr(PostLocal) local = post_local_new_from_uri ("sctp://127.0.0.1:0", NULL);
  g_autoptr(PostConfiguration) own = config ? NULL : sctp_config ();

  return post_test_echo_listen (echo, local, config ? config : own, "sctp");
}

static PostCarrier *
sctp_connect (guint16            port,
              PostConfiguration *config,
              PostTestClient    *c)
{
  g_autoptr(PostConfiguration) own = config ? NULL : sctp_config ();
  PostCarrier *carrier = post_test_initiate ("sctp", port, config ? config : own);

  post_carrier_establish_async (carrier, NULL, post_test_established_cb, c);
  post_test_wait_count (&c->done, 1, "the sctp establishment", 10);
  g_assert_no_error (c->error);
  g_assert_cmpstr (post_carrier_get_stack_name (carrier), ==, "sctp");
  post_carrier_ready (carrier, post_test_client_message_cb, c, NULL);
  g_signal_connect (carrier, "closed", G_CALLBACK (post_test_client_closed_cb), c);
  return carrier;
}

/* A new client of the listener on @port gets @text echoed. */
static void
assert_serves (guint16     port,
               const char *text)
{
  PostTestClient c;
  g_autoptr(PostCarrier) carrier = NULL;

  post_test_client_init (&c);
  carrier = sctp_connect (port, NULL, &c);
  post_test_send_and_wait (carrier, &c, text, 10);
  g_assert_cmpstr (c.received->str, ==, text);
  post_carrier_abort (carrier);
  post_test_client_clear (&c);
}

/* Messages received, one GBytes each, in order. */
typedef struct {
  GPtrArray *messages;
  guint      n;
} Collect;

static gboolean
collect_cb (PostCarrier *carrier,
            PostMessage *message,
            gpointer     user_data)
{
  Collect *c = user_data;

  g_ptr_array_add (c->messages, g_bytes_ref (post_message_get_content (message)));
  c->n++;
  return TRUE;
}

static gint
compare_names (gconstpointer a,
               gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

/* The names of the process's threads, sorted, joined with commas. */
static char *
thread_names (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/task", 0, NULL);
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  const char *tid;

  g_assert_nonnull (dir);
  while ((tid = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_strdup_printf ("/proc/self/task/%s/comm", tid);
      char *comm = NULL;

      if (g_file_get_contents (path, &comm, NULL, NULL))
        g_ptr_array_add (names, g_strstrip (comm));
    }
  g_ptr_array_sort (names, compare_names);
  g_ptr_array_add (names, NULL);
  return g_strjoinv (",", (char **) names->pdata);
}

static guint
count_named (const char *all,
             const char *name)
{
  g_auto(GStrv) names = g_strsplit (all, ",", -1);
  guint n = 0;

  for (guint i = 0; names[i] != NULL; i++)
    n += g_strcmp0 (names[i], name) == 0;
  return n;
}

/* The threads of the process that are not GLib's worker ("gmain").  A new
 * thread has its parent's name until it names itself: wait (a bounded
 * while) until only the main thread has the program's name. */
static char *
non_glib_threads (void)
{
  g_autofree char *main_name = NULL;
  g_autofree char *all = NULL;
  g_auto(GStrv) names = NULL;
  g_autoptr(GString) out = g_string_new (NULL);
  gint64 deadline = g_get_monotonic_time () + 2 * G_USEC_PER_SEC;

  g_assert_true (g_file_get_contents ("/proc/self/comm", &main_name, NULL, NULL));
  g_strstrip (main_name);
  for (;;)
    {
      g_free (all);
      all = thread_names ();
      if (count_named (all, main_name) == 1 || g_get_monotonic_time () > deadline)
        break;
      g_usleep (1000);
    }
  names = g_strsplit (all, ",", -1);

  for (guint i = 0; names[i] != NULL; i++)
    if (g_strcmp0 (names[i], "gmain") != 0 && g_strcmp0 (names[i], "pool-spawner") != 0)
      g_string_append_printf (out, "%s%s", out->len ? "," : "", names[i]);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static guint
count_fds (void)
{
  g_autoptr(GDir) dir = g_dir_open ("/proc/self/fd", 0, NULL);
  guint n = 0;

  g_assert_nonnull (dir);
  while (g_dir_read_name (dir) != NULL)
    n++;
  return n;
}

/* CRC32c (Castagnoli), as SCTP checksums its packets (RFC 9260 appendix A). */
static guint32
crc32c (const guint8 *data,
        gsize         len)
{
  guint32 crc = 0xffffffff;

  for (gsize i = 0; i < len; i++)
    {
      crc ^= data[i];
      for (int k = 0; k < 8; k++)
        crc = (crc >> 1) ^ (0x82f63b78 & (0u - (crc & 1)));
    }
  return ~crc;
}

static void
sctp_set_checksum (guint8 *packet,
                   gsize   len)
{
  guint32 crc;

  memset (packet + 8, 0, 4);
  crc = crc32c (packet, len);
  /* The checksum goes in the common header least significant byte first. */
  packet[8] = crc & 0xff;
  packet[9] = (crc >> 8) & 0xff;
  packet[10] = (crc >> 16) & 0xff;
  packet[11] = (crc >> 24) & 0xff;
}

/* An SCTP packet holding one INIT chunk from @src_port to @dst_port. */
static gsize
make_init (guint8  *packet,
           guint16  src_port,
           guint16  dst_port,
           guint32  tag)
{
  guint16 v16;
  guint32 v32;

  memset (packet, 0, 32);
  v16 = htons (src_port); memcpy (packet, &v16, 2);
  v16 = htons (dst_port); memcpy (packet + 2, &v16, 2);
  /* verification tag 0 (an INIT), checksum below */
  packet[12] = 1;                                  /* INIT */
  packet[13] = 0;
  v16 = htons (20); memcpy (packet + 14, &v16, 2); /* chunk length */
  v32 = htonl (tag); memcpy (packet + 16, &v32, 4); /* initiate tag */
  v32 = htonl (65536); memcpy (packet + 20, &v32, 4); /* a_rwnd */
  v16 = htons (10); memcpy (packet + 24, &v16, 2); /* outbound streams */
  v16 = htons (10); memcpy (packet + 26, &v16, 2); /* inbound streams */
  v32 = htonl (tag ^ 0x5a5a5a5a); memcpy (packet + 28, &v32, 4); /* initial TSN */
  sctp_set_checksum (packet, 32);
  return 32;
}

static int
udp_socket_on (const char *ip)
{
  struct sockaddr_in sa = { .sin_family = AF_INET };
  int fd = socket (AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

  g_assert_cmpint (fd, >=, 0);
  g_assert_cmpint (inet_pton (AF_INET, ip, &sa.sin_addr), ==, 1);
  g_assert_cmpint (bind (fd, (struct sockaddr *) &sa, sizeof sa), ==, 0);
  return fd;
}

static void
udp_send_to (int           fd,
             guint16       port,
             const guint8 *data,
             gsize         len)
{
  struct sockaddr_in to = { .sin_family = AF_INET, .sin_port = htons (port),
                            .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };

  g_assert_cmpint (sendto (fd, data, len, 0, (struct sockaddr *) &to, sizeof to), ==, (gssize) len);
}

/* The type of the first chunk of the next datagram on @fd, 0 when none
 * came (after the context ran for @ms). */
static guint
udp_first_chunk (int   fd,
                 guint ms)
{
  guint8 buffer[2048];
  gint64 deadline = g_get_monotonic_time () + (gint64) ms * 1000;

  while (g_get_monotonic_time () < deadline)
    {
      gssize n = recv (fd, buffer, sizeof buffer, 0);

      if (n >= 13)
        return buffer[12];
      g_main_context_iteration (NULL, FALSE);
      g_usleep (1000);
    }
  return 0;
}

/* ---- lifetimes after the hand-off ------------------------------------------------ */

/* A UDP relay between one client and the listener that can cut both ways
 * (a blackhole): the client's UDP socket is connected to the relay's
 * front, the relay's back talks to the listener. */
typedef struct {
  GSocket        *front;
  GSocket        *back;
  GSocketAddress *server;
  GSocketAddress *client;
  GSource        *front_source;
  GSource        *back_source;
  gboolean        blackhole;
  guint           n_dropped;
} Relay;

static gboolean
relay_front_cb (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  Relay *r = user_data;
  guint8 buffer[65536];
  GSocketAddress *from = NULL;
  gssize n = g_socket_receive_from (socket, &from, (char *) buffer, sizeof buffer, NULL, NULL);

  if (n > 0)
    {
      g_clear_object (&r->client);
      r->client = g_steal_pointer (&from);
      if (r->blackhole)
        r->n_dropped++;
      else
        g_socket_send_to (r->back, r->server, (char *) buffer, n, NULL, NULL);
    }
  g_clear_object (&from);
  return G_SOURCE_CONTINUE;
}

static gboolean
relay_back_cb (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  Relay *r = user_data;
  guint8 buffer[65536];
  gssize n = g_socket_receive (socket, (char *) buffer, sizeof buffer, NULL, NULL);

  if (n > 0 && r->client != NULL)
    {
      if (r->blackhole)
        r->n_dropped++;
      else
        g_socket_send_to (r->front, r->client, (char *) buffer, n, NULL, NULL);
    }
  return G_SOURCE_CONTINUE;
}

static GSocket *
relay_socket (void)
{
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  GSocket *socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                  G_SOCKET_PROTOCOL_UDP, NULL);

  g_assert_nonnull (socket);
  g_socket_set_blocking (socket, FALSE);
  g_assert_true (g_socket_bind (socket, any, TRUE, NULL));
  return socket;
}

static void
relay_init (Relay *r, guint16 server_port)
{
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);

  memset (r, 0, sizeof *r);
  r->front = relay_socket ();
  r->back = relay_socket ();
  r->server = g_inet_socket_address_new (lo, server_port);
  r->front_source = g_socket_create_source (r->front, G_IO_IN, NULL);
  g_source_set_callback (r->front_source, (GSourceFunc) (void (*) (void)) relay_front_cb, r, NULL);
  g_source_attach (r->front_source, NULL);
  r->back_source = g_socket_create_source (r->back, G_IO_IN, NULL);
  g_source_set_callback (r->back_source, (GSourceFunc) (void (*) (void)) relay_back_cb, r, NULL);
  g_source_attach (r->back_source, NULL);
}

static guint16
relay_port (Relay *r)
{
  g_autoptr(GSocketAddress) local = g_socket_get_local_address (r->front, NULL);

  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (local));
}

static void
relay_clear (Relay *r)
{
  g_source_destroy (r->front_source);
  g_source_unref (r->front_source);
  g_source_destroy (r->back_source);
  g_source_unref (r->back_source);
  g_clear_object (&r->front);
  g_clear_object (&r->back);
  g_clear_object (&r->server);
  g_clear_object (&r->client);
}

typedef struct {
  GPtrArray *sent;       /* PostMessage, unowned: identities only */
  GPtrArray *expired;
} Fates;

static void
fate_sent_cb (PostCarrier *carrier, PostMessage *message, gpointer user_data)
{
  g_ptr_array_add (((Fates *) user_data)->sent, message);
}

static void
fate_expired_cb (PostCarrier *carrier, PostMessage *message, gpointer user_data)
{
  g_ptr_array_add (((Fates *) user_data)->expired, message);
}

static PostMessage *
lifetime_message (const char *text, gint64 lifetime)
{
  PostMessage *message = post_message_new_from_string (text);

  g_assert_true (post_message_set_reliable (message, FALSE, NULL));
  g_assert_true (post_message_set_lifetime (message, lifetime, NULL));
  return message;
}

static gboolean
collected (Collect *got, const char *text)
{
  for (guint i = 0; i < got->messages->len; i++)
    {
      gsize size;
      const char *data = g_bytes_get_data (got->messages->pdata[i], &size);

      if (size == strlen (text) && memcmp (data, text, size) == 0)
        return TRUE;
    }
  return FALSE;
}

/* PR-SCTP's timed reliability after the hand-off: messages with a short
 * lifetime sent while the path is a blackhole were taken by usrsctp (sent)
 * and are abandoned when their lifetime passes: each fires `expired` once
 * and never arrives.  Messages with a lifetime on a working path arrive
 * and never expire; every message either arrives or expires. */
static void
test_expired_after_hand_off (void)
{
  enum { N_LIVE = 3, N_DEAD = 5 };
  PostTestEcho echo = { 0 };
  Relay relay;
  Fates fates = { g_ptr_array_new (), g_ptr_array_new () };
  Collect got = { g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref), 0 };
  g_autoptr(PostCarrier) listener = sctp_listen (&echo, NULL);
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(PostConfiguration) config = sctp_config ();
  g_autoptr(GPtrArray) live = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) dead = g_ptr_array_new_with_free_func (g_object_unref);
  PostTestClient c;

  relay_init (&relay, post_test_port_of (listener));
  /* The SCTP port is the listener's; the UDP port the relay's. */
  g_assert_true (post_configuration_set_option (config, "sctp.port",
                                                g_variant_new_uint32 (post_test_port_of (listener)), NULL));
  post_test_client_init (&c);
  carrier = post_test_initiate ("sctp", relay_port (&relay), config);
  post_carrier_establish_async (carrier, NULL, post_test_established_cb, &c);
  post_test_wait_count (&c.done, 1, "establishment through the relay", 10);
  g_assert_no_error (c.error);
  g_assert_true (post_carrier_get_capabilities (carrier) & POST_STACK_CAP_EVENT_EXPIRED);
  g_assert_true (post_carrier_get_capabilities (carrier) & POST_STACK_CAP_MSG_LIFETIME);
  post_carrier_ready (carrier, collect_cb, &got, NULL);
  g_signal_connect (carrier, "sent", G_CALLBACK (fate_sent_cb), &fates);
  g_signal_connect (carrier, "expired", G_CALLBACK (fate_expired_cb), &fates);

  /* A working path: messages with a lifetime arrive (echoed back). */
  for (guint i = 0; i < N_LIVE; i++)
    {
      g_autofree char *text = g_strdup_printf ("live %u", i);

      g_ptr_array_add (live, lifetime_message (text, 5 * G_USEC_PER_SEC));
      g_assert_true (post_carrier_send (carrier, live->pdata[i], NULL));
    }
  post_test_wait_count (&got.n, N_LIVE, "the echoes of the live messages", 10);

  /* A blackhole: messages of 100 ms are handed off, then abandoned. */
  relay.blackhole = TRUE;
  for (guint i = 0; i < N_DEAD; i++)
    {
      g_autofree char *text = g_strdup_printf ("dead %u", i);

      g_ptr_array_add (dead, lifetime_message (text, 100 * 1000));
      g_assert_true (post_carrier_send (carrier, dead->pdata[i], NULL));
    }
  post_test_wait_count (&fates.expired->len, N_DEAD, "the abandoned messages' expired", 30);
  g_test_message ("%u sent, %u expired, %u datagrams blackholed",
                  fates.sent->len, fates.expired->len, relay.n_dropped);
  g_assert_cmpuint (relay.n_dropped, >, 0);
  relay.blackhole = FALSE;

  /* The association goes on; nothing abandoned arrives after all. */
  g_ptr_array_add (live, post_message_new_from_string ("after"));
  g_assert_true (post_carrier_send (carrier, live->pdata[N_LIVE], NULL));
  post_test_wait_count (&got.n, N_LIVE + 1, "the echo of the message after", 20);
  post_test_spin (300);
  g_assert_cmpint (post_carrier_get_state (carrier), ==, POST_CARRIER_STATE_ACTIVE);
  g_assert_cmpuint (echo.n_messages, ==, N_LIVE + 1);
  g_assert_cmpuint (got.n, ==, N_LIVE + 1);
  for (guint i = 0; i < N_DEAD; i++)
    {
      g_autofree char *text = g_strdup_printf ("dead %u", i);
      PostMessage *m = dead->pdata[i];
      guint n_expired = 0;

      g_assert_false (collected (&got, text));
      g_assert_true (post_message_is_sent (m));   /* usrsctp took it */
      g_assert_true (post_message_is_expired (m));
      for (guint k = 0; k < fates.expired->len; k++)
        n_expired += fates.expired->pdata[k] == m;
      g_assert_cmpuint (n_expired, ==, 1);
    }
  for (guint i = 0; i <= N_LIVE; i++)
    {
      g_autofree char *text = i < N_LIVE ? g_strdup_printf ("live %u", i) : g_strdup ("after");

      g_assert_true (collected (&got, text));
      g_assert_false (post_message_is_expired (live->pdata[i]));
    }
  g_assert_cmpuint (fates.expired->len, ==, N_DEAD);

  post_carrier_abort (carrier);
  relay_clear (&relay);
  post_test_echo_clear (&echo);
  post_carrier_close (listener);
  g_ptr_array_unref (got.messages);
  g_ptr_array_unref (fates.sent);
  g_ptr_array_unref (fates.expired);
  post_test_client_clear (&c);
}

/* ---- messages ------------------------------------------------------------------- */

/* One SCTP message per message, whatever its size: the echo comes back in
 * the same pieces (sizes from one byte to several packets and beyond what
 * usrsctp hands over in one read: partial delivery). */
static void
test_boundaries (void)
{
  static const gsize sizes[] = { 1, 7, 1200, 1500, 9000, 65536, 70001, 200000 };
  PostTestEcho echo = { 0 };
  PostTestClient c;
  Collect got = { g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref), 0 };
  g_autoptr(PostCarrier) listener = sctp_listen (&echo, NULL);
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(PostConfiguration) config = sctp_config ();

  post_test_client_init (&c);
  carrier = post_test_initiate ("sctp", post_test_port_of (listener), config);
  post_carrier_establish_async (carrier, NULL, post_test_established_cb, &c);
  post_test_wait_count (&c.done, 1, "establishment", 10);
  g_assert_no_error (c.error);
  g_assert_true (post_carrier_get_capabilities (carrier) & POST_STACK_CAP_PRESERVE_MSG_BOUNDARIES);
  g_assert_false (post_carrier_get_capabilities (carrier) & POST_STACK_CAP_BYTE_STREAM);
  post_carrier_ready (carrier, collect_cb, &got, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autofree guint8 *data = g_malloc (sizes[i]);
      g_autoptr(GBytes) bytes = NULL;

      for (gsize k = 0; k < sizes[i]; k++)
        data[k] = (guint8) (k * 7 + i);
      bytes = g_bytes_new_take (g_steal_pointer (&data), sizes[i]);
      g_assert_true (post_carrier_send_bytes (carrier, bytes, NULL));
    }
  post_test_wait_count (&got.n, G_N_ELEMENTS (sizes), "the echoes", 20);
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      gsize size;
      const guint8 *data = g_bytes_get_data (got.messages->pdata[i], &size);

      g_assert_cmpuint (size, ==, sizes[i]);
      for (gsize k = 0; k < size; k++)
        if (data[k] != (guint8) (k * 7 + i))
          g_error ("message %u differs at byte %" G_GSIZE_FORMAT, i, k);
    }
  post_carrier_abort (carrier);
  post_test_echo_clear (&echo);
  post_carrier_close (listener);
  g_ptr_array_unref (got.messages);
  post_test_client_clear (&c);
}

/* Message properties reach usrsctp as flags it takes (unordered when
 * order is not asked for, PR-SCTP for unreliable messages, SACK-IMMEDIATELY
 * for immediate ones, stream priorities from niceness): on a clean
 * loopback every message arrives, each whole. */
static void
test_message_properties (void)
{
  PostTestEcho echo = { 0 };
  g_autoptr(PostCarrier) listener = sctp_listen (&echo, NULL);
  g_autoptr(PostConfiguration) config = sctp_config ();
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(GHashTable) seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  Collect got = { g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref), 0 };
  PostTestClient c;
  guint n_sent = 0;

  g_assert_true (post_configuration_set_preference (config, POST_SELECTION_PRESERVE_ORDER,
                                                    POST_PREFERENCE_NO_PREFERENCE, NULL));
  post_test_client_init (&c);
  carrier = post_test_initiate ("sctp", post_test_port_of (listener), config);
  post_carrier_establish_async (carrier, NULL, post_test_established_cb, &c);
  post_test_wait_count (&c.done, 1, "establishment", 10);
  g_assert_no_error (c.error);
  post_carrier_ready (carrier, collect_cb, &got, NULL);
  for (guint i = 0; i < 40; i++)
    {
      g_autofree char *text = g_strdup_printf ("message %u", i);
      g_autoptr(PostMessage) m = post_message_new_from_string (text);

      switch (i % 4)
        {
        case 0:   /* unreliable, timed */
          g_assert_true (post_message_set_reliable (m, FALSE, NULL));
          g_assert_true (post_message_set_lifetime (m, 5 * G_USEC_PER_SEC, NULL));
          break;
        case 1:   /* unreliable, no retransmission */
          g_assert_true (post_message_set_reliable (m, FALSE, NULL));
          break;
        case 2:
          g_assert_true (post_message_set_immediate (m, TRUE, NULL));
          break;
        default:
          g_assert_true (post_message_set_niceness (m, i % 7, NULL));
          break;
        }
      g_assert_true (post_carrier_send (carrier, m, NULL));
      n_sent++;
    }
  post_test_wait_count (&got.n, n_sent, "the echoes", 20);
  for (guint i = 0; i < got.messages->len; i++)
    {
      gsize size;
      const char *data = g_bytes_get_data (got.messages->pdata[i], &size);

      g_hash_table_add (seen, g_strndup (data, size));
    }
  for (guint i = 0; i < n_sent; i++)
    {
      g_autofree char *text = g_strdup_printf ("message %u", i);

      g_assert_true (g_hash_table_contains (seen, text));
    }
  post_carrier_abort (carrier);
  post_test_echo_clear (&echo);
  post_carrier_close (listener);
  g_ptr_array_unref (got.messages);
  post_test_client_clear (&c);
}

/* No size limit: a message goes to usrsctp in parts as its send buffer
 * (1 MiB) frees (explicit EOR) and arrives in pieces from the partial
 * delivery point on; a 3 MiB one comes back whole, and the next one too. */
static void
test_large (void)
{
  static const gsize sizes[] = { 3 * 1024 * 1024, 5 };
  PostTestEcho echo = { 0 };
  PostTestClient c;
  Collect got = { g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref), 0 };
  g_autoptr(PostCarrier) listener = sctp_listen (&echo, NULL);
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PostConfiguration) config = sctp_config ();

  post_test_client_init (&c);
  carrier = post_test_initiate ("sctp", post_test_port_of (listener), config);
  post_carrier_establish_async (carrier, NULL, post_test_established_cb, &c);
  post_test_wait_count (&c.done, 1, "establishment", 10);
  g_assert_no_error (c.error);
  g_assert_true (post_carrier_get_capabilities (carrier) & POST_STACK_CAP_PARTIAL_MESSAGES);
  post_carrier_ready (carrier, collect_cb, &got, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      g_autofree guint8 *data = g_malloc (sizes[i]);
      g_autoptr(GBytes) bytes = NULL;

      for (gsize k = 0; k < sizes[i]; k++)
        data[k] = (guint8) (k * 13 + i);
      bytes = g_bytes_new_take (g_steal_pointer (&data), sizes[i]);
      g_assert_true (post_carrier_send_bytes (carrier, bytes, &error));
      g_assert_no_error (error);
    }
  post_test_wait_count (&got.n, G_N_ELEMENTS (sizes), "the echoes", 30);
  for (guint i = 0; i < G_N_ELEMENTS (sizes); i++)
    {
      gsize size;
      const guint8 *data = g_bytes_get_data (got.messages->pdata[i], &size);

      g_assert_cmpuint (size, ==, sizes[i]);
      for (gsize k = 0; k < size; k++)
        if (data[k] != (guint8) (k * 13 + i))
          g_error ("message %u differs at byte %" G_GSIZE_FORMAT, i, k);
    }
  post_carrier_abort (carrier);
  post_test_echo_clear (&echo);
  post_carrier_close (listener);
  g_ptr_array_unref (got.messages);
  post_test_client_clear (&c);
}

/* usrsctp runs without its timer and receive threads: after a connection,
 * a fork and a close the process has the threads it had before, plus the
 * one usrsctp 0.9.5 starts even in usrsctp_init_nothreads() ("SCTP
 * iterator", asleep; upstream pull request #472) — and GLib's own worker,
 * which the core uses for every stack. */
static void
test_no_threads (void)
{
  g_autofree char *before = non_glib_threads ();
  g_autofree char *expected = g_strdup_printf ("SCTP iterator,%s", before);
  g_autofree char *with = NULL;
  g_autofree char *after = NULL;
  PostTestEcho echo = { 0 };
  PostTestClient c;
  PostTestFork f = { 0 };
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostCarrier) carrier = NULL;

  listener = sctp_listen (&echo, NULL);
  post_test_client_init (&c);
  carrier = sctp_connect (post_test_port_of (listener), NULL, &c);
  post_test_send_and_wait (carrier, &c, "threads?", 10);
  post_carrier_fork_async (carrier, NULL, post_test_forked_cb, &f);
  post_test_wait_count (&f.done, 1, "the fork", 10);
  g_assert_no_error (f.error);
  with = non_glib_threads ();
  g_test_message ("threads before: %s; with associations: %s", before, with);
  g_assert_cmpstr (with, ==, expected);
  post_carrier_close (f.carrier);
  post_carrier_close (carrier);
  post_test_wait_count (&c.n_closed, 1, "the close", 10);
  after = non_glib_threads ();
  g_assert_cmpstr (after, ==, expected);
  g_clear_object (&f.carrier);
  g_clear_error (&f.error);
  post_test_echo_clear (&echo);
  post_carrier_close (listener);
  post_test_client_clear (&c);
}

/* ---- streams ------------------------------------------------------------------------ */

typedef struct {
  PostTestClient c[4];
  PostCarrier   *carriers[4];
} Forks;

/* Forks are streams of the one association: the peer gets fork requests
 * (not new carriers of its listener), and each stream's echo comes back on
 * its own carrier. */
static void
test_fork_streams (void)
{
  PostTestEcho echo = { 0 };
  g_autoptr(PostCarrier) listener = sctp_listen (&echo, NULL);
  Forks forks;
  g_autofree char *first_local = NULL;

  for (guint i = 0; i < 4; i++)
    post_test_client_init (&forks.c[i]);
  forks.carriers[0] = sctp_connect (post_test_port_of (listener), NULL, &forks.c[0]);
  post_test_send_and_wait (forks.carriers[0], &forks.c[0], "stream 0", 10);
  g_assert_true (post_carrier_get_capabilities (forks.carriers[0]) & POST_STACK_CAP_MULTISTREAMING);
  first_local = g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (post_carrier_get_local_address (forks.carriers[0])));
  for (guint i = 1; i < 4; i++)
    {
      PostTestFork f = { 0 };
      g_autofree char *local = NULL;
      g_autofree char *text = g_strdup_printf ("stream %u", i);

      post_carrier_fork_async (forks.carriers[0], NULL, post_test_forked_cb, &f);
      post_test_wait_count (&f.done, 1, "the fork", 10);
      g_assert_no_error (f.error);
      forks.carriers[i] = f.carrier;
      /* The same UDP socket: a stream, not a new transport. */
      local = g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (post_carrier_get_local_address (f.carrier)));
      g_assert_cmpstr (local, ==, first_local);
      post_carrier_ready (f.carrier, post_test_client_message_cb, &forks.c[i], NULL);
      g_signal_connect (f.carrier, "closed", G_CALLBACK (post_test_client_closed_cb), &forks.c[i]);
      post_test_send_and_wait (f.carrier, &forks.c[i], text, 10);
      g_assert_cmpstr (forks.c[i].received->str, ==, text);
    }
  /* One association: the listener accepted one carrier, the rest were forks. */
  g_assert_cmpuint (echo.children->len, ==, 4);
  g_assert_cmpuint (echo.n_accepted, ==, 4);
  /* A fork's graceful close ends its stream only: the others go on. */
  post_carrier_close (forks.carriers[2]);
  post_test_wait_count (&forks.c[2].n_closed, 1, "the fork's close", 10);
  g_assert_no_error (forks.c[2].close_error);
  g_string_truncate (forks.c[3].received, 0);
  post_test_send_and_wait (forks.carriers[3], &forks.c[3], "after", 10);
  g_assert_cmpstr (forks.c[3].received->str, ==, "after");
  g_string_truncate (forks.c[0].received, 0);
  post_test_send_and_wait (forks.carriers[0], &forks.c[0], "after", 10);
  for (guint i = 0; i < 4; i++)
    {
      post_carrier_abort (forks.carriers[i]);
      g_object_unref (forks.carriers[i]);
      post_test_client_clear (&forks.c[i]);
    }
  post_test_echo_clear (&echo);
  post_carrier_close (listener);
}

static void
part_sent_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  g_assert_true (post_carrier_send_partial_finish (POST_CARRIER (source), result, &error));
  g_assert_no_error (error);
  (*(guint *) user_data)++;
}

/* A message sent in parts goes to usrsctp part by part (explicit EOR).
 * Without I-DATA (RFC 8260) usrsctp sends nothing on another stream of the
 * association until it ends: a fork's message waits for it, then leaves.
 * A stream aborted in the middle of its message aborts the association
 * (SCTP cannot end one stream's message early): the other stream fails,
 * and the echo never gets the unfinished message. */
static void
test_parts_across_streams (void)
{
  PostTestEcho echo = { 0 };
  g_autoptr(PostCarrier) listener = sctp_listen (&echo, NULL);
  g_autoptr(PostMessage) whole = post_message_new (NULL);
  g_autoptr(PostMessage) cut = post_message_new (NULL);
  g_autoptr(GBytes) first = g_bytes_new_static ("first half, ", 12);
  g_autoptr(GBytes) end = g_bytes_new_static ("the end", 7);
  Forks forks;
  PostTestFork f = { 0 };
  guint parts = 0, echoed;

  for (guint i = 0; i < 2; i++)
    post_test_client_init (&forks.c[i]);
  forks.carriers[0] = sctp_connect (post_test_port_of (listener), NULL, &forks.c[0]);
  post_test_send_and_wait (forks.carriers[0], &forks.c[0], "stream 0", 10);
  post_carrier_fork_async (forks.carriers[0], NULL, post_test_forked_cb, &f);
  post_test_wait_count (&f.done, 1, "the fork", 10);
  g_assert_no_error (f.error);
  forks.carriers[1] = f.carrier;
  post_carrier_ready (f.carrier, post_test_client_message_cb, &forks.c[1], NULL);
  g_signal_connect (f.carrier, "closed", G_CALLBACK (post_test_client_closed_cb), &forks.c[1]);
  post_test_send_and_wait (f.carrier, &forks.c[1], "stream 1", 10);
  g_string_truncate (forks.c[0].received, 0);
  g_string_truncate (forks.c[1].received, 0);

  /* Stream 0 is in the middle of a message: stream 1's waits. */
  post_carrier_send_partial_async (forks.carriers[0], whole, first, FALSE, NULL, part_sent_cb, &parts);
  post_test_wait_count (&parts, 1, "the first part handed over", 10);
  g_assert_true (post_carrier_send_bytes (forks.carriers[1], g_bytes_new_static ("other", 5), NULL));
  post_test_spin (300);
  g_assert_cmpuint (forks.c[1].n_received, ==, 1);   /* "stream 1" only */
  g_assert_cmpuint (forks.c[0].n_received, ==, 1);
  /* ... until it ends. */
  post_carrier_send_partial_async (forks.carriers[0], whole, end, TRUE, NULL, part_sent_cb, &parts);
  post_test_wait_count (&forks.c[0].n_received, 2, "the message in parts, echoed", 10);
  post_test_wait_count (&forks.c[1].n_received, 2, "the fork's message, echoed", 10);
  g_assert_cmpstr (forks.c[0].received->str, ==, "first half, the end");
  g_assert_cmpstr (forks.c[1].received->str, ==, "other");

  /* The fork aborts in the middle of a message. */
  echoed = echo.n_messages;
  post_carrier_send_partial_async (forks.carriers[1], cut, first, FALSE, NULL, part_sent_cb, &parts);
  post_test_wait_count (&parts, 3, "the first part of the cut message", 10);
  post_test_spin (100);
  post_carrier_abort (forks.carriers[1]);
  /* The other stream's carrier lost its transport (it re-establishes, as
   * an initiator does), and so did the peer's carriers. */
  for (guint i = 0; i < 100 && post_carrier_get_state (forks.carriers[0]) == POST_CARRIER_STATE_ACTIVE; i++)
    post_test_spin (50);
  g_assert_cmpint (post_carrier_get_state (forks.carriers[0]), !=, POST_CARRIER_STATE_ACTIVE);
  for (guint i = 0; i < 100 && post_carrier_get_state (echo.children->pdata[0]) != POST_CARRIER_STATE_CLOSED; i++)
    post_test_spin (50);
  g_assert_cmpint (post_carrier_get_state (echo.children->pdata[0]), ==, POST_CARRIER_STATE_CLOSED);
  post_test_spin (200);
  g_assert_cmpuint (echo.n_messages, ==, echoed);

  for (guint i = 0; i < 2; i++)
    {
      post_carrier_abort (forks.carriers[i]);
      g_object_unref (forks.carriers[i]);
      post_test_client_clear (&forks.c[i]);
    }
  post_test_echo_clear (&echo);
  post_carrier_close (listener);
}

/* A peer that refuses a fork: the forked carrier closes with
 * POST_ERROR_CONNECTION_REFUSED once its first message reached the peer;
 * the first carrier goes on. */
static void
test_fork_refused (void)
{
  PostTestEcho echo = { .refuse_forks = TRUE };
  g_autoptr(PostCarrier) listener = sctp_listen (&echo, NULL);
  PostTestClient c, fc;
  PostTestFork f = { 0 };
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(PostMessage) m = post_message_new_from_string ("may I?");

  post_test_client_init (&c);
  post_test_client_init (&fc);
  carrier = sctp_connect (post_test_port_of (listener), NULL, &c);
  post_carrier_fork_async (carrier, NULL, post_test_forked_cb, &f);
  post_test_wait_count (&f.done, 1, "the fork", 10);
  g_assert_no_error (f.error);
  g_signal_connect (f.carrier, "closed", G_CALLBACK (post_test_client_closed_cb), &fc);
  post_carrier_ready (f.carrier, post_test_client_message_cb, &fc, NULL);
  g_assert_true (post_carrier_send (f.carrier, m, NULL));
  post_test_wait_count (&fc.n_closed, 1, "the refused fork's close", 10);
  g_assert_error (fc.close_error, POST_ERROR, POST_ERROR_CONNECTION_REFUSED);
  g_test_message ("%s", fc.close_error->message);
  g_assert_cmpuint (echo.n_forks_refused, ==, 1);
  g_assert_cmpuint (fc.n_received, ==, 0);
  post_test_send_and_wait (carrier, &c, "first goes on", 10);
  g_assert_cmpstr (c.received->str, ==, "first goes on");
  post_carrier_abort (carrier);
  g_clear_object (&f.carrier);
  post_test_echo_clear (&echo);
  post_carrier_close (listener);
  post_test_client_clear (&c);
  post_test_client_clear (&fc);
}

/* ---- the listener ------------------------------------------------------------------------ */

/* INITs from 200 source addresses: each gets an INIT ACK (a cookie) and
 * leaves nothing behind — no carrier offered, no association, no socket —
 * and a real client is served afterwards. */
static void
test_init_flood (void)
{
  PostTestEcho echo = { 0 };
  g_autoptr(PostCarrier) listener = sctp_listen (&echo, NULL);
  guint16 port = post_test_port_of (listener);
  struct sctpstat before = { 0 }, after = { 0 };
  guint fds_before, answered = 0;
  int fds[200];

  post_test_spin (50);
  usrsctp_get_stat (&before);
  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    {
      g_autofree char *ip = g_strdup_printf ("127.0.%u.%u", 1 + i / 250, 2 + i % 250);

      fds[i] = udp_socket_on (ip);
    }
  fds_before = count_fds ();
  for (guint round = 0; round < 5; round++)
    for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
      {
        guint8 packet[32];

        udp_send_to (fds[i], port, packet, make_init (packet, 5000 + round, port, 0x1000 + i * 8 + round));
      }
  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    if (udp_first_chunk (fds[i], 2000) == 2)   /* INIT ACK */
      answered++;
  usrsctp_get_stat (&after);
  g_test_message ("%u of %u sources got an INIT ACK; associations: %u → %u; fds %u → %u",
                  answered, (guint) G_N_ELEMENTS (fds), before.sctps_currestab, after.sctps_currestab,
                  fds_before, count_fds ());
  g_assert_cmpuint (answered, ==, G_N_ELEMENTS (fds));
  g_assert_cmpuint (echo.n_accepted, ==, 0);
  g_assert_cmpuint (after.sctps_currestab, ==, before.sctps_currestab);
  g_assert_cmpuint (after.sctps_passiveestab, ==, before.sctps_passiveestab);
  g_assert_cmpuint (count_fds (), ==, fds_before);
  for (guint i = 0; i < G_N_ELEMENTS (fds); i++)
    close (fds[i]);

  assert_serves (port, "served");
  g_assert_cmpuint (echo.n_accepted, ==, 1);
  post_test_echo_clear (&echo);
  post_carrier_close (listener);
}

/* Garbage, short, truncated and badly checksummed packets to a listener
 * cost nothing and get no answer (an INIT with a bad CRC32c is dropped
 * where the same INIT with a good one is answered: usrsctp verifies the
 * checksum); the listener goes on serving. */
static void
test_bad_input_listener (void)
{
  PostTestEcho echo = { 0 };
  g_autoptr(PostCarrier) listener = sctp_listen (&echo, NULL);
  guint16 port = post_test_port_of (listener);
  int fd = udp_socket_on ("127.0.0.1");
  guint8 packet[64];
  gsize len;

  /* garbage */
  for (guint i = 0; i < sizeof packet; i++)
    packet[i] = (guint8) g_random_int ();
  udp_send_to (fd, port, packet, sizeof packet);
  /* shorter than the common header */
  udp_send_to (fd, port, packet, 5);
  /* a bad checksum on an otherwise good INIT */
  len = make_init (packet, 4000, port, 0xabcdef);
  packet[9] ^= 0x55;
  udp_send_to (fd, port, packet, len);
  g_assert_cmpuint (udp_first_chunk (fd, 300), ==, 0);
  /* a chunk longer than the packet (truncated), with a good checksum */
  len = make_init (packet, 4001, port, 0xabcdee);
  packet[14] = 0; packet[15] = 60;
  sctp_set_checksum (packet, len);
  udp_send_to (fd, port, packet, len);
  /* a chunk length below the chunk header's */
  len = make_init (packet, 4002, port, 0xabcded);
  packet[14] = 0; packet[15] = 2;
  sctp_set_checksum (packet, len);
  udp_send_to (fd, port, packet, len);
  post_test_spin (200);
  while (recv (fd, packet, sizeof packet, 0) > 0)
    ;   /* an ABORT for the malformed ones is allowed */
  /* the good INIT is answered */
  len = make_init (packet, 4003, port, 0xabcdec);
  udp_send_to (fd, port, packet, len);
  g_assert_cmpuint (udp_first_chunk (fd, 2000), ==, 2);
  g_assert_cmpuint (echo.n_accepted, ==, 0);
  close (fd);

  assert_serves (port, "still serving");
  post_test_echo_clear (&echo);
  post_carrier_close (listener);
}

/* Packets forged into an established association (from the listener's UDP
 * port, with a raw socket: root only): garbage, a bad checksum, a good
 * checksum with the wrong verification tag, a truncated chunk.  The
 * carrier stays up and its messages go on. */
static void
test_bad_input_association (void)
{
  PostTestEcho echo = { 0 };
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  PostTestClient c;
  guint16 server_port, client_port;
  struct sockaddr_in to = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  guint8 datagram[8 + 64];
  int raw;

  raw = socket (AF_INET, SOCK_RAW, IPPROTO_UDP);
  if (raw < 0)
    {
      g_test_skip ("forging UDP packets needs a raw socket (root)");
      return;
    }
  listener = sctp_listen (&echo, NULL);
  server_port = post_test_port_of (listener);
  post_test_client_init (&c);
  carrier = sctp_connect (server_port, NULL, &c);
  post_test_send_and_wait (carrier, &c, "before", 10);
  client_port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (post_carrier_get_local_address (carrier)));

  for (guint kind = 0; kind < 4; kind++)
    {
      guint8 *sctp = datagram + 8;
      gsize len = 64;
      guint16 v16;

      for (gsize i = 0; i < len; i++)
        sctp[i] = (guint8) g_random_int ();
      if (kind >= 1)
        {
          /* SCTP ports of the association are unknown here; the wrong ones
           * or the wrong tag: usrsctp must drop either way. */
          len = make_init (sctp, server_port, client_port, 0x1234);
          sctp[12] = kind == 3 ? 0 : 6;   /* DATA (truncated below) or ABORT */
          memset (sctp + 4, 0x42, 4);     /* not the association's tag */
          if (kind == 3)
            {
              sctp[14] = 0; sctp[15] = 200;   /* longer than the packet */
            }
          sctp_set_checksum (sctp, len);
          if (kind == 1)
            sctp[10] ^= 0xff;              /* and a bad checksum */
        }
      v16 = htons (server_port); memcpy (datagram, &v16, 2);
      v16 = htons (client_port); memcpy (datagram + 2, &v16, 2);
      v16 = htons (8 + len); memcpy (datagram + 4, &v16, 2);
      memset (datagram + 6, 0, 2);        /* no UDP checksum (IPv4) */
      g_assert_cmpint (sendto (raw, datagram, 8 + len, 0, (struct sockaddr *) &to, sizeof to), ==,
                       (gssize) (8 + len));
    }
  close (raw);
  post_test_spin (200);
  g_assert_cmpint (post_carrier_get_state (carrier), ==, POST_CARRIER_STATE_ACTIVE);
  g_assert_cmpuint (c.n_closed, ==, 0);
  g_string_truncate (c.received, 0);
  post_test_send_and_wait (carrier, &c, "after", 10);
  g_assert_cmpstr (c.received->str, ==, "after");
  post_carrier_abort (carrier);
  post_test_echo_clear (&echo);
  post_carrier_close (listener);
  post_test_client_clear (&c);
}

typedef struct {
  guint   n_incoming;
  guint   n_closed;
  guint   n_received;
  GError *close_error;
  GPtrArray *children;
} AbortPeer;

static gboolean
abort_peer_message_cb (PostCarrier *carrier, PostMessage *message, gpointer user_data)
{
  ((AbortPeer *) user_data)->n_received++;
  return TRUE;
}

static void
abort_peer_closed_cb (PostCarrier *carrier, const GError *error, gpointer user_data)
{
  AbortPeer *p = user_data;

  p->n_closed++;
  if (error != NULL && p->close_error == NULL)
    p->close_error = g_error_copy (error);
}

static gboolean
abort_peer_incoming_cb (PostCarrier *listener, PostCarrier *carrier, gpointer user_data)
{
  AbortPeer *p = user_data;

  p->n_incoming++;
  g_ptr_array_add (p->children, g_object_ref (carrier));
  post_carrier_ready (carrier, abort_peer_message_cb, p, NULL);
  g_signal_connect (carrier, "closed", G_CALLBACK (abort_peer_closed_cb), p);
  return TRUE;
}

static gboolean
abort_now_cb (gpointer user_data)
{
  post_carrier_abort (user_data);
  return G_SOURCE_REMOVE;
}

/* The message is in usrsctp and its first packets are out, the rest waits
 * for the peer's SACKs: abort before the peer reads anything (a
 * high-priority idle runs before the peer's socket source). */
static void
abort_on_sent_cb (PostCarrier *carrier,
                  PostMessage *message,
                  gpointer     user_data)
{
  g_idle_add_full (G_PRIORITY_HIGH, abort_now_cb, g_object_ref (carrier), g_object_unref);
}

/* An ABORT in the middle of a large message: the peer's carrier closes
 * with POST_ERROR_CONNECTION_RESET, the part it had is not delivered as a
 * message, and the listener serves the next client. */
static void
test_abort_mid_message (void)
{
  AbortPeer p = { .children = g_ptr_array_new_with_free_func (g_object_unref) };
  g_autoptr(PostConfiguration) config = sctp_config ();
  g_autoptr(PostLocal) local = post_local_new_from_uri ("sctp://127.0.0.1:0", NULL);
  g_autoptr(PostCarrier) listener = post_carrier_listen (local, config, NULL);
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(GBytes) big = g_bytes_new_take (g_malloc0 (200000), 200000);
  g_autoptr(PostMessage) big_message = post_message_new (big);
  PostTestClient c;
  PostTestEcho echo = { 0 };

  g_assert_nonnull (listener);
  g_signal_connect (listener, "incoming", G_CALLBACK (abort_peer_incoming_cb), &p);
  post_test_client_init (&c);
  carrier = sctp_connect (post_test_port_of (listener), NULL, &c);
  post_test_wait_count (&p.n_incoming, 1, "the carrier at the listener", 10);
  g_signal_connect (carrier, "sent", G_CALLBACK (abort_on_sent_cb), NULL);
  g_assert_true (post_carrier_send (carrier, big_message, NULL));
  post_test_wait_count (&p.n_closed, 1, "the peer's close", 10);
  g_assert_error (p.close_error, POST_ERROR, POST_ERROR_CONNECTION_RESET);
  g_test_message ("%s", p.close_error->message);
  g_assert_cmpuint (p.n_received, ==, 0);
  g_clear_object (&carrier);
  post_test_client_clear (&c);

  /* The listener goes on. */
  g_signal_handlers_disconnect_by_data (listener, &p);
  post_carrier_close (listener);
  g_clear_object (&listener);
  listener = sctp_listen (&echo, NULL);
  assert_serves (post_test_port_of (listener), "next");
  post_test_echo_clear (&echo);
  post_carrier_close (listener);
  g_clear_error (&p.close_error);
  g_ptr_array_unref (p.children);
}

/* Nobody on the UDP port: refused at once (ICMP), not after a timeout;
 * a UDP port with no SCTP listener on the SCTP port: refused (ABORT). */
static void
test_refused (void)
{
  g_autoptr(PostConfiguration) config = sctp_config ();
  PostTestEcho echo = { 0 };
  g_autoptr(PostCarrier) listener = sctp_listen (&echo, NULL);
  guint16 ports[2] = { post_test_free_port (G_SOCKET_TYPE_DATAGRAM), post_test_port_of (listener) };

  for (guint i = 0; i < 2; i++)
    {
      g_autoptr(PostConfiguration) c = post_configuration_copy (config);
      g_autoptr(PostCarrier) carrier = NULL;
      PostTestClient client;

      if (i == 1)
        g_assert_true (post_configuration_set_option (c, "sctp.port", g_variant_new_uint32 (1), NULL));
      post_test_client_init (&client);
      carrier = post_test_initiate ("sctp", ports[i], c);
      post_carrier_establish_async (carrier, NULL, post_test_established_cb, &client);
      post_test_wait_count (&client.done, 1, "the refusal", 10);
      g_assert_error (client.error, POST_ERROR, POST_ERROR_CONNECTION_REFUSED);
      g_test_message ("%s", client.error->message);
      post_test_client_clear (&client);
    }
  post_test_echo_clear (&echo);
  post_carrier_close (listener);
}

/* ---- selection --------------------------------------------------------------------------------- */

/* With cleartext allowed and multistreaming, per-message reliability and
 * preserved boundaries preferred, sctp is the first candidate (it ties
 * with quic on the score and wins on rank); POST_STACK_RANK or the stacks
 * list change that. */
static void
test_selection (void)
{
  PostTestEcho echo = { 0 };
  g_autoptr(PostCarrier) listener = sctp_listen (&echo, NULL);
  g_autoptr(PostConfiguration) config = post_configuration_new ();
  g_autofree char *uri = g_strdup_printf ("127.0.0.1:%u", post_test_port_of (listener));
  g_autoptr(PostRemote) remote = post_remote_new_from_uri (uri, NULL);
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(PostStack) sctp = NULL;
  g_autoptr(GPtrArray) stacks = post_registry_list_stacks (post_registry_get_default ());
  PostTestClient c;

  for (guint i = 0; i < stacks->len; i++)
    if (g_strcmp0 (post_stack_get_name (stacks->pdata[i]), "sctp") == 0)
      sctp = g_object_ref (stacks->pdata[i]);
  g_assert_nonnull (sctp);
  g_assert_cmpuint (post_stack_get_rank (sctp), >, POST_RANK_SECONDARY);
  g_assert_cmpuint (post_stack_get_rank (sctp), <, POST_RANK_PRIMARY);
  g_assert_cmpuint (post_stack_get_default_port (sctp), ==, 9899);

  g_assert_true (post_configuration_set_allow_cleartext (config, TRUE, NULL));
  g_assert_true (post_configuration_set_preference (config, POST_SELECTION_MULTISTREAMING, POST_PREFERENCE_PREFER, NULL));
  g_assert_true (post_configuration_set_preference (config, POST_SELECTION_PER_MSG_RELIABILITY, POST_PREFERENCE_PREFER, NULL));
  g_assert_true (post_configuration_set_preference (config, POST_SELECTION_PRESERVE_MSG_BOUNDARIES, POST_PREFERENCE_PREFER, NULL));
  post_test_client_init (&c);
  carrier = post_carrier_initiate (NULL, remote, config);
  post_carrier_establish_async (carrier, NULL, post_test_established_cb, &c);
  post_test_wait_count (&c.done, 1, "establishment", 10);
  g_assert_no_error (c.error);
  g_assert_cmpstr (post_carrier_get_stack_name (carrier), ==, "sctp");
  post_carrier_abort (carrier);
  post_test_echo_clear (&echo);
  post_carrier_close (listener);
  post_test_client_clear (&c);
}

/* ---- paths -------------------------------------------------------------------------------------- */

static void
test_path (void)
{
  PostTestEcho echo = { 0 };
  g_autoptr(PostCarrier) listener = sctp_listen (&echo, NULL);
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(GPtrArray) transients = NULL;
  g_autoptr(GPtrArray) paths = NULL;
  PostTestClient c;

  post_test_client_init (&c);
  carrier = sctp_connect (post_test_port_of (listener), NULL, &c);
  post_test_send_and_wait (carrier, &c, "measure", 10);
  transients = post_carrier_get_transients (carrier);
  g_assert_cmpuint (transients->len, ==, 1);
  paths = post_transient_get_paths (transients->pdata[0]);
  g_assert_nonnull (paths);
  g_assert_cmpuint (paths->len, >=, 1);
  g_test_message ("path mtu %u, latency %" G_GUINT64_FORMAT " µs, rate %" G_GUINT64_FORMAT " bit/s",
                  post_path_get_mtu (paths->pdata[0]), post_path_get_latency (paths->pdata[0]),
                  post_path_get_data_rate (paths->pdata[0]));
  /* usrsctp's path MTU for AF_CONN, less nothing: what SCTP_STATUS says. */
  g_assert_cmpuint (post_path_get_mtu (paths->pdata[0]), >, 0);
  g_assert_cmpuint (post_path_get_data_rate (paths->pdata[0]), >, 0);
  post_carrier_abort (carrier);
  post_test_echo_clear (&echo);
  post_carrier_close (listener);
  post_test_client_clear (&c);
}

/* ---- interoperation with usrsctp's example programs --------------------------------------------- */

static gboolean
have_example (const char *name)
{
  g_autofree char *path = g_build_filename (EXAMPLES_DIR, name, NULL);

  if (g_file_test (path, G_FILE_TEST_IS_EXECUTABLE))
    return TRUE;
  g_test_skip ("usrsctp's example programs are not installed (libusrsctp-examples)");
  return FALSE;
}

/* libpost against usrsctp's echo_server (its own UDP encapsulation, SCTP
 * port 7): the echoes keep their boundaries. */
static void
test_interop_echo_server (void)
{
  guint16 udp_port = post_test_free_port (G_SOCKET_TYPE_DATAGRAM);
  g_autofree char *port_s = g_strdup_printf ("%u", udp_port);
  const char *argv[] = { EXAMPLES_DIR "/echo_server", port_s, NULL };
  g_autoptr(GSubprocess) server = NULL;
  g_autoptr(PostConfiguration) config = sctp_config ();
  g_autoptr(PostCarrier) carrier = NULL;
  Collect got = { g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref), 0 };
  static const char *lines[] = { "a", "bc", "def", "a longer message of its own" };
  gint64 deadline;

  if (!have_example ("echo_server"))
    return;
  server = post_test_spawn (argv, G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_assert_true (post_configuration_set_option (config, "sctp.port", g_variant_new_uint32 (7), NULL));
  /* The server may not be up yet: a refusal (ICMP) is retried. */
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  for (;;)
    {
      PostTestClient c;

      post_test_client_init (&c);
      carrier = post_test_initiate ("sctp", udp_port, config);
      post_carrier_establish_async (carrier, NULL, post_test_established_cb, &c);
      post_test_wait_count (&c.done, 1, "establishment with echo_server", 10);
      if (c.error == NULL)
        {
          post_test_client_clear (&c);
          break;
        }
      g_assert_error (c.error, POST_ERROR, POST_ERROR_CONNECTION_REFUSED);
      g_assert_cmpint (g_get_monotonic_time (), <, deadline);
      post_test_client_clear (&c);
      g_clear_object (&carrier);
      post_test_spin (50);
    }
  post_carrier_ready (carrier, collect_cb, &got, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (lines); i++)
    {
      g_autoptr(GBytes) line = g_bytes_new_static (lines[i], strlen (lines[i]));

      /* (transfer none): the carrier takes its own reference */
      g_assert_true (post_carrier_send_bytes (carrier, line, NULL));
    }
  post_test_wait_count (&got.n, G_N_ELEMENTS (lines), "the echoes of echo_server", 10);
  for (guint i = 0; i < G_N_ELEMENTS (lines); i++)
    {
      gsize size;
      const char *data = g_bytes_get_data (got.messages->pdata[i], &size);

      g_assert_cmpmem (data, size, lines[i], strlen (lines[i]));
    }
  post_carrier_close (carrier);
  post_test_spin (50);
  post_test_kill (server);
  g_ptr_array_unref (got.messages);
}

typedef struct {
  GString *out;
  guint    n_lines;
  gboolean eof;
} LineReader;

static void
read_line_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  LineReader *r = user_data;
  g_autofree char *line = g_data_input_stream_read_line_finish (G_DATA_INPUT_STREAM (source), result, NULL, NULL);

  if (line == NULL)
    {
      r->eof = TRUE;
      return;
    }
  /* usrsctp's client prints what it receives, other lines are its log. */
  if (line[0] != '\0' && !g_str_has_prefix (line, "[") && strstr (line, "SCTP") == NULL
      && strstr (line, "ddresses") == NULL && strstr (line, "Number of") == NULL
      && strstr (line, "handle_notification") == NULL)
    {
      g_string_append_printf (r->out, "%s|", line);
      r->n_lines++;
    }
  g_data_input_stream_read_line_async (G_DATA_INPUT_STREAM (source), G_PRIORITY_DEFAULT, NULL,
                                       read_line_cb, r);
}

/* usrsctp's client against a libpost listener that echoes: each line the
 * client sends is one message, and comes back as one. */
static void
test_interop_client (void)
{
  PostTestEcho echo = { 0 };
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(GSubprocess) client = NULL;
  g_autoptr(GDataInputStream) out = NULL;
  g_autofree char *port_s = NULL;
  g_autofree char *encaps_s = NULL;
  const char *argv[7];
  LineReader r = { g_string_new (NULL), 0, FALSE };
  GOutputStream *in;

  if (!have_example ("client"))
    return;
  listener = sctp_listen (&echo, NULL);
  port_s = g_strdup_printf ("%u", post_test_port_of (listener));
  encaps_s = g_strdup_printf ("%u", post_test_free_port (G_SOCKET_TYPE_DATAGRAM));
  /* client REMOTE_ADDR REMOTE_PORT LOCAL_PORT LOCAL_ENCAPS_PORT REMOTE_ENCAPS_PORT:
   * the SCTP port of our listener is its UDP port. */
  argv[0] = EXAMPLES_DIR "/client";
  argv[1] = "127.0.0.1";
  argv[2] = port_s;
  argv[3] = "0";
  argv[4] = encaps_s;
  argv[5] = port_s;
  argv[6] = NULL;
  client = post_test_spawn (argv, G_SUBPROCESS_FLAGS_STDIN_PIPE | G_SUBPROCESS_FLAGS_STDOUT_PIPE
                                  | G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  out = g_data_input_stream_new (g_subprocess_get_stdout_pipe (client));
  g_data_input_stream_read_line_async (out, G_PRIORITY_DEFAULT, NULL, read_line_cb, &r);
  in = g_subprocess_get_stdin_pipe (client);
  g_assert_true (g_output_stream_write_all (in, "first\nsecond line\n", 18, NULL, NULL, NULL));
  post_test_wait_count (&r.n_lines, 2, "the echoes at usrsctp's client", 20);
  g_assert_cmpstr (r.out->str, ==, "first|second line|");
  g_assert_cmpuint (echo.n_accepted, ==, 1);
  /* The client sends each line with its newline: two messages arrived. */
  g_assert_cmpuint (echo.n_messages, ==, 2);
  g_output_stream_close (in, NULL, NULL);
  post_test_wait_count ((guint *) &r.eof, 1, "the client's exit", 20);
  g_subprocess_wait (client, NULL, NULL);
  post_test_echo_clear (&echo);
  post_carrier_close (listener);
  g_string_free (r.out, TRUE);
}

int
main (int argc, char **argv)
{
  g_test_init (&argc, &argv, NULL);
  if (!post_test_have_stack ("sctp"))
    {
      g_test_message ("the sctp plugin was not built (no usrsctp)");
      return 77;
    }
  /* First, before anything else starts a thread of GLib's (subprocesses). */
  g_test_add_func ("/sctp/no-threads", test_no_threads);
  g_test_add_func ("/sctp/boundaries", test_boundaries);
  g_test_add_func ("/sctp/large", test_large);
  g_test_add_func ("/sctp/message-properties", test_message_properties);
  g_test_add_func ("/sctp/expired-after-hand-off", test_expired_after_hand_off);
  g_test_add_func ("/sctp/fork-streams", test_fork_streams);
  g_test_add_func ("/sctp/fork-refused", test_fork_refused);
  g_test_add_func ("/sctp/parts-across-streams", test_parts_across_streams);
  g_test_add_func ("/sctp/refused", test_refused);
  g_test_add_func ("/sctp/init-flood", test_init_flood);
  g_test_add_func ("/sctp/bad-input-listener", test_bad_input_listener);
  g_test_add_func ("/sctp/bad-input-association", test_bad_input_association);
  g_test_add_func ("/sctp/abort-mid-message", test_abort_mid_message);
  g_test_add_func ("/sctp/selection", test_selection);
  g_test_add_func ("/sctp/path", test_path);
  g_test_add_func ("/sctp/interop-echo-server", test_interop_echo_server);
  g_test_add_func ("/sctp/interop-client", test_interop_client);
  return g_test_run ();
}
