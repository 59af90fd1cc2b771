/* post-bench.c: libpost against GIO and plain C sockets over loopback
 *
 * Four cases, each run on a libpost `tcp` carrier, on GIO GSockets and on
 * plain C sockets, with the receiver in a second thread:
 *
 *   (a) 64-byte messages one way, messages per second
 *   (b) ping-pong with 64-byte messages (immediate in libpost, TCP_NODELAY
 *       in the baselines): mean and median round trip in µs
 *   (c) bulk transfer of 64 KiB messages, MB/s (10^6 bytes)
 *   (d) connection set-up to ready plus close, per second
 *       (libpost: initiate + close; GIO: GSocketClient connect + close;
 *       C: socket + connect + close)
 *
 * The baselines frame messages as libpost's default framer does (a 4-byte
 * big-endian header: top bit "final chunk", low 31 bits the length), send
 * each message with one call, and their receivers parse the frames; every
 * receiver counts and checks what it got.  Rates run from the first send
 * to the receipt of the last message.  Nothing is asserted: the figures are
 * printed next to the project's targets.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define SMALL_SIZE 64
#define BULK_SIZE  (64 * 1024)
#define FINAL_BIT  0x80000000u
#define BATCH      64

typedef enum { CASE_MSGS, CASE_RTT, CASE_BULK, CASE_CONN, N_CASES } BenchCase;
typedef enum { IMPL_POST, IMPL_GIO, IMPL_PLAIN, N_IMPLS } Impl;

static const char *impl_names[N_IMPLS] = { "libpost tcp", "GIO GSocket", "plain C" };

typedef struct {
  gboolean ok;
  double   value;     /* msgs/s, mean RTT µs, MB/s, connections/s */
  double   median;    /* RTT only */
  guint64  sent;
  guint64  received;
  char    *note;      /* (owned) (nullable) an error or a count mismatch */
} Result;

static double opt_seconds = 2.0;
static gboolean opt_quick;
static char *opt_cases;
static gint64 duration_us;

static GOptionEntry entries[] = {
  { "seconds", 's', 0, G_OPTION_ARG_DOUBLE, &opt_seconds, "Run each case for SECONDS (default 2)", "SECONDS" },
  { "quick", 'q', 0, G_OPTION_ARG_NONE, &opt_quick, "Short runs (0.25 s per case), for CI", NULL },
  { "cases", 'c', 0, G_OPTION_ARG_STRING, &opt_cases, "Run only these cases (default abcd)", "LETTERS" },
  { NULL }
};

static void
result_fail (Result *r, const char *format, ...) G_GNUC_PRINTF (2, 3);
static void
result_fail (Result *r, const char *format, ...)
{
  va_list args;

  va_start (args, format);
  g_free (r->note);
  r->note = g_strdup_vprintf (format, args);
  va_end (args);
  r->ok = FALSE;
}

static void
result_check_counts (Result *r)
{
  if (r->ok && r->sent != r->received)
    {
      g_free (r->note);
      r->note = g_strdup_printf ("sent %" G_GUINT64_FORMAT " but received %" G_GUINT64_FORMAT,
                                 r->sent, r->received);
    }
}

static int
compare_doubles (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;
  return x < y ? -1 : x > y;
}

static void
result_set_rtts (Result *r, GArray *rtts)
{
  double sum = 0;

  if (rtts->len == 0)
    {
      result_fail (r, "no round trips");
      return;
    }
  for (guint i = 0; i < rtts->len; i++)
    sum += g_array_index (rtts, double, i);
  g_array_sort (rtts, compare_doubles);
  r->value = sum / rtts->len;
  r->median = g_array_index (rtts, double, rtts->len / 2);
  r->sent = r->received = rtts->len;
}

/* ---- framing shared by the baselines -------------------------------------- */

static guint8 *
make_frame (gsize size)
{
  guint8 *frame = g_malloc (4 + size);
  guint32 word = GUINT32_TO_BE ((guint32) size | FINAL_BIT);

  memcpy (frame, &word, 4);
  memset (frame + 4, 'x', size);
  return frame;
}

/* An incremental parser of length-prefixed frames, as a receiver needs. */
typedef struct {
  guint8  header[4];
  guint   header_have;
  gsize   remaining;    /* payload bytes left in the current chunk */
  gsize   length;       /* payload bytes of the current message so far */
  gboolean final;
  gboolean in_payload;
  gsize   expected;     /* every message must have this size */
  guint64 messages;
  gboolean bad;
} Parser;

static void
parser_feed (Parser *p, const guint8 *data, gsize size)
{
  while (size > 0)
    {
      if (!p->in_payload)
        {
          guint32 word;
          gsize n = MIN (4 - p->header_have, size);

          memcpy (p->header + p->header_have, data, n);
          p->header_have += n;
          data += n;
          size -= n;
          if (p->header_have < 4)
            return;
          memcpy (&word, p->header, 4);
          word = GUINT32_FROM_BE (word);
          p->header_have = 0;
          p->final = (word & FINAL_BIT) != 0;
          p->remaining = word & ~FINAL_BIT;
          p->in_payload = TRUE;
        }
      {
        gsize n = MIN (p->remaining, size);

        p->remaining -= n;
        p->length += n;
        data += n;
        size -= n;
      }
      if (p->remaining == 0)
        {
          p->in_payload = FALSE;
          if (p->final)
            {
              if (p->length != p->expected)
                p->bad = TRUE;
              p->messages++;
              p->length = 0;
            }
        }
    }
}

/* ---- one connection, as a plain fd or as a GSocket ------------------------ */

typedef struct {
  int      fd;        /* plain C */
  GSocket *socket;    /* (owned) (nullable) GIO */
} Conn;

static gssize
conn_send (Conn *c, const void *data, gsize size)
{
  if (c->socket != NULL)
    return g_socket_send (c->socket, data, size, NULL, NULL);
  return send (c->fd, data, size, MSG_NOSIGNAL);
}

static gssize
conn_recv (Conn *c, void *data, gsize size)
{
  if (c->socket != NULL)
    return g_socket_receive (c->socket, data, size, NULL, NULL);
  return recv (c->fd, data, size, 0);
}

static gboolean
conn_send_all (Conn *c, const guint8 *data, gsize size)
{
  while (size > 0)
    {
      gssize n = conn_send (c, data, size);

      if (n <= 0)
        return FALSE;
      data += n;
      size -= n;
    }
  return TRUE;
}

static gboolean
conn_recv_all (Conn *c, guint8 *data, gsize size)
{
  while (size > 0)
    {
      gssize n = conn_recv (c, data, size);

      if (n <= 0)
        return FALSE;
      data += n;
      size -= n;
    }
  return TRUE;
}

static void
conn_set_nodelay (Conn *c)
{
  if (c->socket != NULL)
    g_socket_set_option (c->socket, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  else
    setsockopt (c->fd, IPPROTO_TCP, TCP_NODELAY, &(int) { 1 }, sizeof (int));
}

static void
conn_close (Conn *c)
{
  if (c->socket != NULL)
    {
      g_socket_close (c->socket, NULL);
      g_clear_object (&c->socket);
    }
  else if (c->fd >= 0)
    close (c->fd);
  c->fd = -1;
}

static void
conn_shutdown_write (Conn *c)
{
  if (c->socket != NULL)
    g_socket_shutdown (c->socket, FALSE, TRUE, NULL);
  else
    shutdown (c->fd, SHUT_WR);
}

/* A close like libpost's graceful one: end our direction, wait for the
 * peer's end.  (Closing at once would let the client outrun the receiver
 * and overflow the listen backlog.) */
static void
graceful_close (Conn *c)
{
  guint8 byte;

  conn_shutdown_write (c);
  while (conn_recv (c, &byte, 1) > 0)
    ;
}

/* ---- baseline receivers ---------------------------------------------------- */

typedef struct {
  gboolean  gio;
  BenchCase kind;
  gsize     size;
  int       listen_fd;          /* plain */
  GSocket  *listen_socket;      /* (owned) GIO */
  guint16   port;
  gint      stop;               /* atomic: (d) ends */
  /* results, read after the join */
  guint64   messages;
  guint64   accepted;
  gint64    t_last;
  gboolean  bad;
} BaseServer;

static gboolean
base_accept (BaseServer *s, Conn *c)
{
  c->fd = -1;
  c->socket = NULL;
  if (s->gio)
    {
      c->socket = g_socket_accept (s->listen_socket, NULL, NULL);
      return c->socket != NULL;
    }
  c->fd = accept (s->listen_fd, NULL, NULL);
  return c->fd >= 0;
}

static gpointer
base_server_thread (gpointer data)
{
  BaseServer *s = data;
  Conn c;

  if (s->kind == CASE_CONN)
    {
      /* Accept, wait for the client's close, close: one at a time. */
      while (base_accept (s, &c))
        {
          guint8 byte;

          if (g_atomic_int_get (&s->stop))
            {
              conn_close (&c);
              break;
            }
          s->accepted++;
          while (conn_recv (&c, &byte, 1) > 0)
            ;
          conn_close (&c);
        }
      return NULL;
    }

  if (!base_accept (s, &c))
    {
      s->bad = TRUE;
      return NULL;
    }
  if (s->kind == CASE_RTT)
    {
      guint8 *frame = g_malloc (4 + s->size);

      conn_set_nodelay (&c);
      while (conn_recv_all (&c, frame, 4 + s->size))
        {
          s->messages++;
          if (!conn_send_all (&c, frame, 4 + s->size))
            break;
        }
      g_free (frame);
    }
  else
    {
      gsize buffer_size = 256 * 1024;
      guint8 *buffer = g_malloc (buffer_size);
      Parser parser = { .expected = s->size };
      gssize n;

      while ((n = conn_recv (&c, buffer, buffer_size)) > 0)
        {
          guint64 before = parser.messages;

          parser_feed (&parser, buffer, n);
          if (parser.messages != before)
            s->t_last = g_get_monotonic_time ();
        }
      s->messages = parser.messages;
      s->bad = parser.bad || n < 0;
      g_free (buffer);
    }
  conn_close (&c);
  return NULL;
}

static gboolean
base_server_start (BaseServer *s, GError **error)
{
  struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t len = sizeof sin;

  if (s->gio)
    {
      g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
      g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
      g_autoptr(GSocketAddress) bound = NULL;

      s->listen_socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                       G_SOCKET_PROTOCOL_TCP, error);
      if (s->listen_socket != NULL)
        g_socket_set_listen_backlog (s->listen_socket, 128);
      if (s->listen_socket == NULL ||
          !g_socket_bind (s->listen_socket, address, TRUE, error) ||
          !g_socket_listen (s->listen_socket, error) ||
          (bound = g_socket_get_local_address (s->listen_socket, error)) == NULL)
        return FALSE;
      s->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
      return TRUE;
    }
  s->listen_fd = socket (AF_INET, SOCK_STREAM, 0);
  if (s->listen_fd < 0 ||
      bind (s->listen_fd, (struct sockaddr *) &sin, sizeof sin) < 0 ||
      listen (s->listen_fd, 128) < 0 ||
      getsockname (s->listen_fd, (struct sockaddr *) &sin, &len) < 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno), "%s", g_strerror (errno));
      return FALSE;
    }
  s->port = ntohs (sin.sin_port);
  return TRUE;
}

static void
base_server_stop (BaseServer *s)
{
  /* shutdown() wakes a receiver still blocked in accept(). */
  if (s->listen_socket != NULL)
    {
      g_socket_shutdown (s->listen_socket, TRUE, TRUE, NULL);
      g_socket_close (s->listen_socket, NULL);
    }
  g_clear_object (&s->listen_socket);
  if (!s->gio && s->listen_fd >= 0)
    {
      shutdown (s->listen_fd, SHUT_RDWR);
      close (s->listen_fd);
    }
}

static gboolean
base_connect (BaseServer *s, Conn *c)
{
  struct sockaddr_in sin = {
    .sin_family = AF_INET,
    .sin_addr.s_addr = htonl (INADDR_LOOPBACK),
    .sin_port = htons (s->port),
  };

  c->fd = -1;
  c->socket = NULL;
  if (s->gio)
    {
      g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
      g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, s->port);

      c->socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                G_SOCKET_PROTOCOL_TCP, NULL);
      return c->socket != NULL && g_socket_connect (c->socket, address, NULL, NULL);
    }
  c->fd = socket (AF_INET, SOCK_STREAM, 0);
  return c->fd >= 0 && connect (c->fd, (struct sockaddr *) &sin, sizeof sin) == 0;
}

/* Runs one case on a baseline (GIO or plain C). */
static void
run_baseline (gboolean gio, BenchCase kind, Result *r)
{
  BaseServer s = { .gio = gio, .kind = kind, .listen_fd = -1 };
  g_autoptr(GError) error = NULL;
  GThread *thread;
  Conn c;
  gint64 t0, end;

  s.size = kind == CASE_BULK ? BULK_SIZE : SMALL_SIZE;
  r->ok = TRUE;
  if (!base_server_start (&s, &error))
    {
      result_fail (r, "listen: %s", error->message);
      base_server_stop (&s);
      return;
    }
  thread = g_thread_new ("receiver", base_server_thread, &s);

  if (kind == CASE_CONN)
    {
      g_autoptr(GSocketClient) client = g_socket_client_new ();
      g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
      g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, s.port);

      t0 = g_get_monotonic_time ();
      end = t0 + duration_us;
      while (g_get_monotonic_time () < end)
        {
          if (gio)
            {
              g_autoptr(GSocketConnection) connection =
                  g_socket_client_connect (client, G_SOCKET_CONNECTABLE (address), NULL, &error);

              if (connection == NULL)
                break;
              c.fd = -1;
              c.socket = g_socket_connection_get_socket (connection);
              graceful_close (&c);
              c.socket = NULL;
              g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
            }
          else
            {
              if (!base_connect (&s, &c))
                {
                  g_set_error (&error, G_IO_ERROR, g_io_error_from_errno (errno), "connect: %s",
                               g_strerror (errno));
                  conn_close (&c);
                  break;
                }
              graceful_close (&c);
              conn_close (&c);
            }
          r->sent++;
        }
      r->value = r->sent / ((g_get_monotonic_time () - t0) / 1e6);
      g_atomic_int_set (&s.stop, 1);
      if (base_connect (&s, &c))   /* wakes the accept() */
        conn_close (&c);
      else
        conn_close (&c);
      g_thread_join (thread);
      r->received = s.accepted;
      if (error != NULL)
        result_fail (r, "%s", error->message);
      result_check_counts (r);
      base_server_stop (&s);
      return;
    }

  if (!base_connect (&s, &c))
    {
      result_fail (r, "connect: %s", g_strerror (errno));
      conn_close (&c);
      base_server_stop (&s);   /* the receiver's accept fails and it ends */
      g_thread_join (thread);
      return;
    }

  if (kind == CASE_RTT)
    {
      g_autofree guint8 *frame = make_frame (s.size);
      g_autofree guint8 *reply = g_malloc (4 + s.size);
      g_autoptr(GArray) rtts = g_array_new (FALSE, FALSE, sizeof (double));

      conn_set_nodelay (&c);
      end = g_get_monotonic_time () + duration_us;
      for (gint64 now = g_get_monotonic_time (); now < end; )
        {
          gint64 t;

          if (!conn_send_all (&c, frame, 4 + s.size) || !conn_recv_all (&c, reply, 4 + s.size))
            {
              result_fail (r, "ping-pong failed");
              break;
            }
          t = g_get_monotonic_time ();
          g_array_append_val (rtts, (double) { (double) (t - now) });
          now = t;
        }
      conn_shutdown_write (&c);
      g_thread_join (thread);
      if (r->ok)
        result_set_rtts (r, rtts);
      r->received = s.messages;
    }
  else
    {
      g_autofree guint8 *frame = make_frame (s.size);

      t0 = g_get_monotonic_time ();
      end = t0 + duration_us;
      while (r->ok && g_get_monotonic_time () < end)
        for (int i = 0; i < BATCH; i++)
          {
            if (!conn_send_all (&c, frame, 4 + s.size))
              {
                result_fail (r, "send failed");
                break;
              }
            r->sent++;
          }
      conn_shutdown_write (&c);
      g_thread_join (thread);
      r->received = s.messages;
      if (s.bad)
        result_fail (r, "the receiver saw bad frames");
      if (s.t_last > t0)
        r->value = (double) s.messages * (kind == CASE_BULK ? s.size / 1e6 : 1.0)
                   / ((s.t_last - t0) / 1e6);
    }
  conn_close (&c);
  result_check_counts (r);
  base_server_stop (&s);
}

/* ---- libpost ----------------------------------------------------------------- */

typedef struct {
  BenchCase     kind;
  gsize         size;
  GMainContext *client_context;   /* to wake the measuring thread */
  GMainContext *context;          /* (owned) the receiver thread's */
  GMainLoop    *loop;             /* (owned) */
  GMutex        lock;
  GCond         cond;
  gboolean      started;
  guint16       port;
  char         *error;            /* (owned) (nullable) */
  GPtrArray    *carriers;         /* (owned) accepted carriers */
  gint          messages;         /* atomic */
  gint          accepted;         /* atomic */
  gint          bad;              /* atomic */
  gint64        t_last;           /* written before messages is incremented */
} PostServer;

static gboolean
post_server_on_ready (PostCarrier *carrier, PostMessage *message, gpointer user_data)
{
  PostServer *s = user_data;

  if (post_message_get_size (message) != s->size)
    g_atomic_int_set (&s->bad, 1);
  if (s->kind == CASE_RTT)
    {
      g_autoptr(PostMessage) echo = post_message_new (post_message_get_content (message));
      g_autoptr(GError) error = NULL;

      post_message_set_immediate (echo, TRUE, NULL);
      if (!post_carrier_send (carrier, echo, &error))
        g_atomic_int_set (&s->bad, 1);
    }
  s->t_last = g_get_monotonic_time ();
  g_atomic_int_inc (&s->messages);
  return TRUE;
}

static void
post_server_on_closed (PostCarrier *carrier, const GError *error, gpointer user_data)
{
  PostServer *s = user_data;

  g_ptr_array_remove_fast (s->carriers, carrier);   /* drops our reference */
  g_main_context_wakeup (s->client_context);
}

static gboolean
post_server_on_incoming (PostCarrier *listener, PostCarrier *carrier, gpointer user_data)
{
  PostServer *s = user_data;

  g_ptr_array_add (s->carriers, g_object_ref (carrier));
  g_signal_connect (carrier, "closed", G_CALLBACK (post_server_on_closed), s);
  g_atomic_int_inc (&s->accepted);
  if (s->kind != CASE_CONN)
    post_carrier_ready (carrier, post_server_on_ready, s, NULL);
  return TRUE;
}

static gpointer
post_server_thread (gpointer data)
{
  PostServer *s = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(PostLocal) local = NULL;
  g_autoptr(PostConfiguration) configuration = post_configuration_new ();
  g_autoptr(PostCarrier) listener = NULL;

  g_main_context_push_thread_default (s->context);
  local = post_local_new_from_uri ("tcp://127.0.0.1:0", &error);
  if (local != NULL &&
      post_configuration_set_stacks (configuration, (const char *[]) { "tcp", NULL }, &error))
    listener = post_carrier_listen (local, configuration, &error);
  if (listener != NULL)
    {
      GSocketAddress *address = post_carrier_get_local_address (listener);

      if (G_IS_INET_SOCKET_ADDRESS (address))
        s->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address));
      g_signal_connect (listener, "incoming", G_CALLBACK (post_server_on_incoming), s);
    }

  g_mutex_lock (&s->lock);
  if (listener == NULL)
    s->error = g_strdup (error->message);
  else if (s->port == 0)
    s->error = g_strdup ("the listener has no port");
  s->started = TRUE;
  g_cond_signal (&s->cond);
  g_mutex_unlock (&s->lock);

  if (listener != NULL && s->port != 0)
    g_main_loop_run (s->loop);

  for (guint i = 0; i < s->carriers->len; i++)
    {
      PostCarrier *carrier = g_ptr_array_index (s->carriers, i);

      g_signal_handlers_disconnect_by_data (carrier, s);
      post_carrier_abort (carrier);
    }
  g_ptr_array_set_size (s->carriers, 0);
  if (listener != NULL)
    post_carrier_close (listener);
  g_clear_object (&listener);
  while (g_main_context_iteration (s->context, FALSE))
    ;
  g_main_context_pop_thread_default (s->context);
  return NULL;
}

static gboolean
quit_loop (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

/* Waiting in the measuring thread, with its context running. */
typedef struct {
  GAsyncResult *result;   /* (owned) (nullable) */
} Waiter;

static void
waiter_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  Waiter *w = user_data;

  w->result = g_object_ref (result);
}

static GAsyncResult *
waiter_wait (Waiter *w, GMainContext *context)
{
  while (w->result == NULL)
    g_main_context_iteration (context, TRUE);
  return w->result;
}

static gboolean
tick (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

static gboolean
establish (PostCarrier *carrier, GMainContext *context, GError **error)
{
  Waiter w = { NULL };
  gboolean ok;

  post_carrier_establish_async (carrier, NULL, waiter_cb, &w);
  ok = post_carrier_establish_finish (carrier, waiter_wait (&w, context), error);
  g_object_unref (w.result);
  return ok;
}

static gboolean
close_carrier (PostCarrier *carrier, GMainContext *context, GError **error)
{
  Waiter w = { NULL };
  gboolean ok;

  post_carrier_close_async (carrier, NULL, waiter_cb, &w);
  ok = post_carrier_close_finish (carrier, waiter_wait (&w, context), error);
  g_object_unref (w.result);
  return ok;
}

typedef struct {
  GArray  *rtts;
  GBytes  *payload;
  gint64   sent_at;
  gint64   end;
  gboolean done;
  char    *error;   /* (owned) (nullable) */
} PingPong;

static gboolean
ping (PostCarrier *carrier, PingPong *pp)
{
  g_autoptr(PostMessage) message = post_message_new (pp->payload);
  g_autoptr(GError) error = NULL;

  post_message_set_immediate (message, TRUE, NULL);
  pp->sent_at = g_get_monotonic_time ();
  if (!post_carrier_send (carrier, message, &error))
    {
      pp->error = g_strdup (error->message);
      pp->done = TRUE;
      return FALSE;
    }
  return TRUE;
}

static gboolean
pong (PostCarrier *carrier, PostMessage *message, gpointer user_data)
{
  PingPong *pp = user_data;
  gint64 now = g_get_monotonic_time ();

  g_array_append_val (pp->rtts, (double) { (double) (now - pp->sent_at) });
  if (now >= pp->end)
    {
      pp->done = TRUE;
      return FALSE;
    }
  return ping (carrier, pp);
}

static void
run_post (BenchCase kind, Result *r)
{
  PostServer s = { .kind = kind };
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(PostConfiguration) configuration = post_configuration_new ();
  g_autoptr(PostRemote) remote = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  g_autofree char *uri = NULL;
  GSource *ticker;
  GThread *thread;
  gint64 t0, end, deadline;

  r->ok = TRUE;
  s.size = kind == CASE_BULK ? BULK_SIZE : SMALL_SIZE;
  s.client_context = context;
  s.context = g_main_context_new ();
  s.loop = g_main_loop_new (s.context, FALSE);
  s.carriers = g_ptr_array_new_with_free_func (g_object_unref);
  g_mutex_init (&s.lock);
  g_cond_init (&s.cond);

  g_main_context_push_thread_default (context);
  /* A 1 ms tick bounds every wait below, so no wake-up can be lost. */
  ticker = g_timeout_source_new (1);
  g_source_set_callback (ticker, tick, NULL, NULL);
  g_source_attach (ticker, context);

  thread = g_thread_new ("post-receiver", post_server_thread, &s);
  g_mutex_lock (&s.lock);
  while (!s.started)
    g_cond_wait (&s.cond, &s.lock);
  g_mutex_unlock (&s.lock);
  if (s.error != NULL)
    {
      result_fail (r, "listen: %s", s.error);
      goto out;
    }

  uri = g_strdup_printf ("tcp://127.0.0.1:%u", s.port);
  remote = post_remote_new_from_uri (uri, &error);
  if (remote == NULL ||
      !post_configuration_set_stacks (configuration, (const char *[]) { "tcp", NULL }, &error))
    {
      result_fail (r, "%s", error->message);
      goto out;
    }

  if (kind == CASE_CONN)
    {
      t0 = g_get_monotonic_time ();
      end = t0 + duration_us;
      while (g_get_monotonic_time () < end)
        {
          g_autoptr(PostCarrier) c = post_carrier_initiate (NULL, remote, configuration);

          if (!establish (c, context, &error) || !close_carrier (c, context, &error))
            {
              result_fail (r, "%s", error->message);
              break;
            }
          r->sent++;
        }
      r->value = r->sent / ((g_get_monotonic_time () - t0) / 1e6);
      deadline = g_get_monotonic_time () + G_USEC_PER_SEC;
      while ((guint64) g_atomic_int_get (&s.accepted) < r->sent && g_get_monotonic_time () < deadline)
        g_main_context_iteration (context, TRUE);
      r->received = g_atomic_int_get (&s.accepted);
      result_check_counts (r);
      goto out;
    }

  carrier = post_carrier_initiate (NULL, remote, configuration);
  if (!establish (carrier, context, &error))
    {
      result_fail (r, "establish: %s", error->message);
      goto out;
    }

  if (kind == CASE_RTT)
    {
      PingPong pp = { .rtts = g_array_new (FALSE, FALSE, sizeof (double)) };
      guint8 payload[SMALL_SIZE];

      memset (payload, 'x', sizeof payload);
      pp.payload = g_bytes_new (payload, sizeof payload);
      pp.end = g_get_monotonic_time () + duration_us;
      post_carrier_ready (carrier, pong, &pp, NULL);
      if (ping (carrier, &pp))
        while (!pp.done && g_get_monotonic_time () < pp.end + 5 * G_USEC_PER_SEC)
          g_main_context_iteration (context, TRUE);
      if (pp.error != NULL)
        result_fail (r, "%s", pp.error);
      else if (!pp.done)
        result_fail (r, "no reply within 5 s");
      else
        result_set_rtts (r, pp.rtts);
      r->received = g_atomic_int_get (&s.messages);
      g_array_unref (pp.rtts);
      g_bytes_unref (pp.payload);
      g_free (pp.error);
    }
  else
    {
      g_autofree guint8 *data = g_malloc (s.size);
      g_autoptr(GBytes) payload = NULL;

      memset (data, 'x', s.size);
      payload = g_bytes_new_take (g_steal_pointer (&data), s.size);
      t0 = g_get_monotonic_time ();
      end = t0 + duration_us;
      while (r->ok && g_get_monotonic_time () < end)
        for (int i = 0; i < BATCH; i++)
          {
            if (post_carrier_send_bytes (carrier, payload, &error))
              {
                r->sent++;
                continue;
              }
            if (g_error_matches (error, POST_ERROR, POST_ERROR_WOULD_BLOCK))
              {
                Waiter w = { NULL };

                g_clear_error (&error);
                post_carrier_flush_async (carrier, NULL, waiter_cb, &w);
                if (post_carrier_flush_finish (carrier, waiter_wait (&w, context), &error))
                  {
                    g_object_unref (w.result);
                    i--;   /* retry */
                    continue;
                  }
                g_object_unref (w.result);
              }
            result_fail (r, "send: %s", error->message);
            break;
          }
      /* Let the queue drain and the receiver count everything. */
      deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
      while ((guint64) g_atomic_int_get (&s.messages) < r->sent && g_get_monotonic_time () < deadline)
        g_main_context_iteration (context, TRUE);
      r->received = g_atomic_int_get (&s.messages);
      if (s.t_last > t0 && r->received > 0)
        r->value = (double) r->received * (kind == CASE_BULK ? s.size / 1e6 : 1.0)
                   / ((s.t_last - t0) / 1e6);
      if (g_atomic_int_get (&s.bad))
        result_fail (r, "the receiver saw messages of the wrong size");
      result_check_counts (r);
    }
  if (!close_carrier (carrier, context, &error) && r->ok)
    result_fail (r, "close: %s", error->message);

out:
  g_main_context_invoke (s.context, quit_loop, s.loop);
  g_thread_join (thread);
  g_source_destroy (ticker);
  g_source_unref (ticker);
  g_clear_object (&carrier);
  while (g_main_context_iteration (context, FALSE))
    ;
  g_main_context_pop_thread_default (context);
  g_ptr_array_unref (s.carriers);
  g_main_loop_unref (s.loop);
  g_main_context_unref (s.context);
  g_mutex_clear (&s.lock);
  g_cond_clear (&s.cond);
  g_free (s.error);
}

/* ---- the table ---------------------------------------------------------------- */

static const struct {
  const char *label;
  const char *unit;
  gboolean    lower_is_better;
  Impl        target_against;
  double      target;
} cases[N_CASES] = {
  { "(a) 64 B messages, one way", "msg/s", FALSE, IMPL_PLAIN, 1.0 },
  { "(b) ping-pong RTT, 64 B",    "µs",    TRUE,  IMPL_PLAIN, 1.1 },
  { "(c) bulk, 64 KiB messages",  "MB/s",  FALSE, IMPL_PLAIN, 0.9 },
  { "(d) set-up + close",         "conn/s", FALSE, IMPL_GIO,  1.0 },
};

static char *
format_value (BenchCase kind, const Result *r)
{
  if (!r->ok)
    return g_strdup (opt_cases != NULL && strchr (opt_cases, 'a' + kind) == NULL ? "skipped" : "error");
  if (kind == CASE_RTT)
    return g_strdup_printf ("%.1f (med %.1f)", r->value, r->median);
  if (kind == CASE_BULK)
    return g_strdup_printf ("%.0f", r->value);
  return g_strdup_printf ("%.0f", r->value);
}

static char *
format_ratio (const Result *a, const Result *b)
{
  if (!a->ok || !b->ok || b->value <= 0)
    return g_strdup ("-");
  return g_strdup_printf ("%.2f×", a->value / b->value);
}

int
main (int argc, char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new (NULL);
  g_autoptr(GError) error = NULL;
  Result results[N_CASES][N_IMPLS] = { { { 0 } } };
  gboolean any_note = FALSE;

  setlocale (LC_ALL, "");
  g_option_context_set_summary (context,
      "Measures a libpost tcp carrier against GIO GSockets and plain C sockets over loopback.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("post-bench: %s\n", error->message);
      return EXIT_FAILURE;
    }
  if (opt_quick)
    opt_seconds = 0.25;
  if (opt_seconds <= 0)
    opt_seconds = 2.0;
  duration_us = (gint64) (opt_seconds * G_USEC_PER_SEC);

  g_print ("post-bench: %.2f s per case and implementation, over 127.0.0.1\n\n", opt_seconds);
  for (int k = 0; k < N_CASES; k++)
    for (int i = 0; i < N_IMPLS; i++)
      {
        if (opt_cases != NULL && strchr (opt_cases, 'a' + k) == NULL)
          {
            result_fail (&results[k][i], "skipped");
            g_clear_pointer (&results[k][i].note, g_free);
            continue;
          }
        if (isatty (STDERR_FILENO))
          g_printerr ("  running %-28s on %-12s\r", cases[k].label, impl_names[i]);
        if (i == IMPL_POST)
          run_post (k, &results[k][i]);
        else
          run_baseline (i == IMPL_GIO, k, &results[k][i]);
      }
  if (isatty (STDERR_FILENO))
    g_printerr ("%-80s\r", "");

  g_print ("%-28s %-7s %19s %19s %19s %8s %8s  %s\n", "case", "unit",
           impl_names[IMPL_POST], impl_names[IMPL_GIO], impl_names[IMPL_PLAIN],
           "post/C", "post/GIO", "target");
  for (int k = 0; k < N_CASES; k++)
    {
      Result *row = results[k];
      g_autofree char *v0 = format_value (k, &row[IMPL_POST]);
      g_autofree char *v1 = format_value (k, &row[IMPL_GIO]);
      g_autofree char *v2 = format_value (k, &row[IMPL_PLAIN]);
      g_autofree char *r_c = format_ratio (&row[IMPL_POST], &row[IMPL_PLAIN]);
      g_autofree char *r_gio = format_ratio (&row[IMPL_POST], &row[IMPL_GIO]);
      const Result *against = &row[cases[k].target_against];
      const char *verdict = "-";
      g_autofree char *target = NULL;

      if (row[IMPL_POST].ok && against->ok && against->value > 0)
        {
          double ratio = row[IMPL_POST].value / against->value;
          gboolean met = cases[k].lower_is_better ? ratio <= cases[k].target
                                                  : ratio >= cases[k].target;
          verdict = met ? "met" : "NOT met";
        }
      target = g_strdup_printf ("%s %.1f× %s: %s",
                                cases[k].lower_is_better ? "≤" : "≥", cases[k].target,
                                cases[k].target_against == IMPL_PLAIN ? "C" : "GIO", verdict);
      g_print ("%-28s %-7s %19s %19s %19s %8s %8s  %s\n", cases[k].label, cases[k].unit,
               v0, v1, v2, r_c, r_gio, target);
    }

  for (int k = 0; k < N_CASES; k++)
    for (int i = 0; i < N_IMPLS; i++)
      {
        Result *r = &results[k][i];

        if (r->note != NULL)
          {
            if (!any_note)
              g_print ("\nnotes:\n");
            any_note = TRUE;
            g_print ("  %s on %s: %s\n", cases[k].label, impl_names[i], r->note);
          }
        g_free (r->note);
      }
  g_free (opt_cases);
  return EXIT_SUCCESS;
}
