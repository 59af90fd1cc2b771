/* post-bench.c: libpost against GIO and plain C sockets over loopback
 *
 * Four cases, each run on a libpost `tcp` carrier and on baselines, with the
 * receiver in a second thread:
 *
 *   (a) 64-byte messages one way, messages per second
 *   (b) ping-pong with 64-byte messages (immediate in libpost, TCP_NODELAY
 *       in the baselines): mean and median round trip in µs
 *   (c) bulk transfer of 64 KiB messages, MB/s (10^6 bytes)
 *   (d) connection set-up to ready plus graceful close, one connection at a
 *       time, per second:
 *       libpost:   post_carrier_initiate + establish_async + close_async on a
 *                  main loop, against a libpost listener on a main loop;
 *       GIO sync:  blocking g_socket_client_connect, shutdown, blocking wait
 *                  for the peer's EOF, close, against a blocking server thread;
 *       GIO async: g_socket_client_connect_async, then g_io_stream_close_async
 *                  with graceful disconnect (shutdown, wait for the peer's EOF
 *                  from a socket source, close) on a main loop, against a
 *                  server accepting from a GSocket source on a main loop that
 *                  waits for each connection's EOF and closes it;
 *       plain C:   socket + connect, shutdown, blocking wait for EOF, close,
 *                  against a blocking server thread.
 *
 * In (a)–(c) the GIO baseline is blocking GSocket calls and the C one
 * blocking send()/recv().  The baselines frame messages as libpost's default
 * framer does (a 4-byte big-endian header: top bit "final chunk", low 31 bits
 * the length), send each message with one call, and their receivers parse
 * the frames; every receiver counts and checks what it got, and a round whose
 * counts disagree counts as failed.  Rates run from the first send to the
 * receipt of the last message.
 *
 * Method.  A virtual machine drifts a lot from one second to the next, so the
 * implementations are not measured one after the other: each case runs in
 * N_ROUNDS rounds, each round runs every implementation once for
 * --seconds / N_ROUNDS (so --seconds stays the total per implementation and
 * case), and the order rotates from round to round.  A figure is the median
 * over the rounds; a ratio is computed within each round, and the median of
 * those per-round ratios is printed with their range.
 *
 * Every blocking call and every wait has a timeout (IO_TIMEOUT_S), and a
 * watchdog ends the process if one run still does not finish.  Nothing is
 * asserted: the figures are printed next to the project's targets.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>
#include "post-bench-udp.h"
#include "post-bench-tls.h"
#include "post-bench-quic.h"
#include "post-bench-dtls.h"
#include "post-bench-http3.h"
#ifdef POST_BENCH_SCTP
#include "post-bench-sctp.h"
#endif
#include "post-bench-paths.h"
#include "post-bench-util.h"
#include "post-bench-json.h"
#include "post-bench-scale.h"
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <locale.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define SMALL_SIZE   64
#define BULK_SIZE    (64 * 1024)
#define BATCH        64
#define N_ROUNDS     5
#define IO_TIMEOUT_S POST_BENCH_IO_TIMEOUT_S   /* any one blocking call or wait */
#define WATCHDOG_S   60   /* beyond the run's own duration */

typedef enum { CASE_MSGS, CASE_RTT, CASE_BULK, CASE_CONN, N_CASES } BenchCase;
typedef enum { IMPL_POST, IMPL_GIO, IMPL_GIO_ASYNC, IMPL_PLAIN, N_IMPLS } Impl;

static const char *impl_names[N_IMPLS] = { "libpost tcp", "GIO sync", "GIO async", "plain C" };

typedef struct {
  gboolean ok;
  double   value;     /* msgs/s, mean RTT µs, MB/s, connections/s */
  double   median;    /* RTT only */
  guint64  sent;
  guint64  received;
  char    *note;      /* (owned) (nullable) why the run failed */
} Result;

static double opt_seconds = 2.0;
static gboolean opt_quick;
static char *opt_cases;
static gboolean opt_json;
static int opt_scale_max = 10000;
static gint64 duration_us;   /* of one run: one implementation in one round */

static GOptionEntry entries[] = {
  { "seconds", 's', 0, G_OPTION_ARG_DOUBLE, &opt_seconds,
    "Run each case for SECONDS per implementation, over all rounds (default 2)", "SECONDS" },
  { "quick", 'q', 0, G_OPTION_ARG_NONE, &opt_quick, "Short runs (0.25 s per case), for CI", NULL },
  { "cases", 'c', 0, G_OPTION_ARG_STRING, &opt_cases, "Run only these cases (default abcduetqhsp: u udp, e dtls, t tls, q quic, h HTTP/3 download, s sctp, p path fallback; also n: scale, 10,000 tcp carriers; m: the same over quic)", "LETTERS" },
  { "scale-max", 0, 0, G_OPTION_ARG_INT, &opt_scale_max, "Case n (scale, not in the default set): up to N carriers (default 10000)", "N" },
  { "json", 'j', 0, G_OPTION_ARG_NONE, &opt_json, "One JSON object per case on stdout (JSON Lines), the tables on stderr", NULL },
  { NULL }
};

static void
result_fail (Result *r, const char *format, ...) G_GNUC_PRINTF (2, 3);
static void
result_fail (Result *r, const char *format, ...)
{
  va_list args;

  if (!r->ok && r->note != NULL)
    return;   /* keep the first reason */
  va_start (args, format);
  g_free (r->note);
  r->note = g_strdup_vprintf (format, args);
  va_end (args);
  r->ok = FALSE;
}

/* An asynchronous operation failed; post_bench_waiter_wait() cancels at its
 * deadline. */
static void
result_fail_async (Result *r, const char *what, const GError *error, GCancellable *cancellable)
{
  if (g_cancellable_is_cancelled (cancellable))
    result_fail (r, "%s: no result within %d s", what, IO_TIMEOUT_S);
  else
    result_fail (r, "%s: %s", what, error->message);
}

/* A round whose receiver did not get exactly what was sent does not count. */
static void
result_check_counts (Result *r)
{
  if (r->ok && r->sent != r->received)
    result_fail (r, "sent %" G_GUINT64_FORMAT " but received %" G_GUINT64_FORMAT,
                 r->sent, r->received);
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
  r->value = sum / rtts->len;
  r->median = post_bench_median ((double *) (gpointer) rtts->data, rtts->len);
  r->sent = rtts->len;
}

/* ---- the watchdog ----------------------------------------------------------- */

static char watchdog_message[256];
static gsize watchdog_length;

static void
watchdog_fired (int signum)
{
  gssize n = write (STDERR_FILENO, watchdog_message, watchdog_length);

  (void) signum;
  (void) n;
  _exit (EXIT_FAILURE);
}

static void
watchdog_arm (const char *what)
{
  unsigned int seconds = (unsigned int) (duration_us / G_USEC_PER_SEC) + WATCHDOG_S;

  g_snprintf (watchdog_message, sizeof watchdog_message,
              "\npost-bench: %s did not finish within %u s; giving up\n", what, seconds);
  watchdog_length = strlen (watchdog_message);
  alarm (seconds);
}

static void
watchdog_disarm (void)
{
  alarm (0);
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

/* Sends or receives all @size bytes; FALSE on an error or the peer's EOF.
 * (@data is only read when @sending.) */
static gboolean
conn_transfer_all (Conn *c, gboolean sending, guint8 *data, gsize size)
{
  while (size > 0)
    {
      gssize n = sending ? conn_send (c, data, size) : conn_recv (c, data, size);

      if (n <= 0)
        return FALSE;
      data += n;
      size -= n;
    }
  return TRUE;
}

static gboolean
conn_send_all (Conn *c, const guint8 *data, gsize size)
{
  return conn_transfer_all (c, TRUE, (guint8 *) data, size);
}

static gboolean
conn_recv_all (Conn *c, guint8 *data, gsize size)
{
  return conn_transfer_all (c, FALSE, data, size);
}

static void
conn_set_nodelay (Conn *c)
{
  if (c->socket != NULL)
    g_socket_set_option (c->socket, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  else
    setsockopt (c->fd, IPPROTO_TCP, TCP_NODELAY, &(int) { 1 }, sizeof (int));
}

/* Bounds every blocking call on the connection (connect, accept, send, recv). */
static void
conn_set_timeout (Conn *c)
{
  struct timeval tv = { .tv_sec = IO_TIMEOUT_S };

  if (c->socket != NULL)
    {
      g_socket_set_timeout (c->socket, IO_TIMEOUT_S);
      return;
    }
  setsockopt (c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt (c->fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
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
static gboolean
graceful_close (Conn *c)
{
  guint8 byte;
  gssize n;

  conn_shutdown_write (c);
  while ((n = conn_recv (c, &byte, 1)) > 0)
    ;
  return n == 0;
}

/* A GSocket listening on 127.0.0.1, on a port of the kernel's choice
 * (*@port): @blocking with IO_TIMEOUT_S for a blocking server thread, else
 * non-blocking for a server on a main loop. */
static GSocket *
gio_listen_loopback (gboolean blocking, guint16 *port, GError **error)
{
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GSocket) listener = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                                              G_SOCKET_PROTOCOL_TCP, error);

  if (listener == NULL)
    return NULL;
  if (blocking)
    g_socket_set_timeout (listener, IO_TIMEOUT_S);
  else
    g_socket_set_blocking (listener, FALSE);
  g_socket_set_listen_backlog (listener, 128);
  if (!g_socket_bind (listener, address, TRUE, error) ||
      !g_socket_listen (listener, error) ||
      (bound = g_socket_get_local_address (listener, error)) == NULL)
    return NULL;
  *port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  return g_steal_pointer (&listener);
}

/* ---- blocking baselines: GIO sync and plain C -------------------------------- */

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
    c->socket = g_socket_accept (s->listen_socket, NULL, NULL);
  else
    c->fd = accept (s->listen_fd, NULL, NULL);
  if (c->socket == NULL && c->fd < 0)
    return FALSE;
  conn_set_timeout (c);
  return TRUE;
}

static gpointer
base_server_thread (gpointer data)
{
  BaseServer *s = data;
  Conn c;

  if (s->kind == CASE_CONN)
    {
      /* Accept, wait for the client's end, close: one at a time. */
      while (base_accept (s, &c))
        {
          if (g_atomic_int_get (&s->stop))
            {
              conn_close (&c);
              break;
            }
          s->accepted++;
          if (!graceful_close (&c))
            s->bad = TRUE;
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
      PostBenchParser parser = { .expected = s->size };
      gssize n;

      while ((n = conn_recv (&c, buffer, buffer_size)) > 0)
        {
          guint64 before = parser.messages;

          post_bench_parser_feed (&parser, buffer, n);
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
      s->listen_socket = gio_listen_loopback (TRUE, &s->port, error);
      return s->listen_socket != NULL;
    }
  s->listen_fd = socket (AF_INET, SOCK_STREAM, 0);
  if (s->listen_fd >= 0)
    conn_set_timeout (&(Conn) { .fd = s->listen_fd });
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
  s->listen_fd = -1;
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
      if (c->socket == NULL)
        return FALSE;
      conn_set_timeout (c);
      return g_socket_connect (c->socket, address, NULL, NULL);
    }
  c->fd = socket (AF_INET, SOCK_STREAM, 0);
  if (c->fd < 0)
    return FALSE;
  conn_set_timeout (c);
  return connect (c->fd, (struct sockaddr *) &sin, sizeof sin) == 0;
}

/* (d) on a baseline: one blocking connect + graceful close after another. */
static void
run_baseline_connect (BaseServer *s, GThread *thread, Result *r)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, s->port);
  g_autoptr(GError) error = NULL;
  gint64 t0, end;
  Conn c;

  g_socket_client_set_timeout (client, IO_TIMEOUT_S);
  t0 = g_get_monotonic_time ();
  end = t0 + duration_us;
  while (g_get_monotonic_time () < end)
    {
      gboolean closed;

      if (s->gio)
        {
          g_autoptr(GSocketConnection) connection =
              g_socket_client_connect (client, G_SOCKET_CONNECTABLE (address), NULL, &error);

          if (connection == NULL)
            break;
          c.fd = -1;
          c.socket = g_socket_connection_get_socket (connection);
          closed = graceful_close (&c);
          c.socket = NULL;
          if (!g_io_stream_close (G_IO_STREAM (connection), NULL, &error))
            break;
        }
      else
        {
          if (!base_connect (s, &c))
            {
              g_set_error (&error, G_IO_ERROR, g_io_error_from_errno (errno), "connect: %s",
                           g_strerror (errno));
              conn_close (&c);
              break;
            }
          closed = graceful_close (&c);
          conn_close (&c);
        }
      if (!closed)
        {
          g_set_error_literal (&error, G_IO_ERROR, G_IO_ERROR_FAILED,
                               "no EOF from the server within the timeout");
          break;
        }
      r->sent++;
    }
  r->value = r->sent / ((g_get_monotonic_time () - t0) / 1e6);
  g_atomic_int_set (&s->stop, 1);
  base_connect (s, &c);   /* wakes the accept() */
  conn_close (&c);
  g_thread_join (thread);
  r->received = s->accepted;
  if (error != NULL)
    result_fail (r, "%s", error->message);
  if (s->bad)
    result_fail (r, "the server saw a connection end without EOF");
  result_check_counts (r);
}

/* Runs one case on a blocking baseline (GIO sync or plain C). */
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
      run_baseline_connect (&s, thread, r);
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
      g_autofree guint8 *frame = post_bench_make_frame (s.size);
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
      g_autofree guint8 *frame = post_bench_make_frame (s.size);

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

/* ---- GIO async, (d) only ------------------------------------------------------ */

/* The server: a GSocket source on a main loop in another thread accepts;
 * per connection another source waits for the EOF, then closes. */
typedef struct {
  GMainContext *context;    /* (owned) */
  GMainLoop    *loop;       /* (owned) */
  GSocket      *listener;   /* (owned) */
  GPtrArray    *sources;    /* (owned) one per open connection */
  guint16       port;
  gint          accepted;   /* atomic */
  gint          ended;      /* atomic: connections closed after the peer's EOF */
  gint          bad;        /* atomic */
} AsyncServer;

static gboolean
async_server_on_readable (GSocket *socket, GIOCondition condition, gpointer user_data)
{
  AsyncServer *s = user_data;
  g_autoptr(GError) error = NULL;
  gchar buffer[256];
  gssize n;

  (void) condition;
  while ((n = g_socket_receive (socket, buffer, sizeof buffer, NULL, &error)) > 0)
    ;
  if (n < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    return G_SOURCE_CONTINUE;
  if (n == 0)
    g_atomic_int_inc (&s->ended);
  else
    g_atomic_int_set (&s->bad, 1);
  g_socket_close (socket, NULL);
  g_ptr_array_remove_fast (s->sources, g_main_current_source ());
  return G_SOURCE_REMOVE;
}

static gboolean
async_server_on_incoming (GSocket *listener, GIOCondition condition, gpointer user_data)
{
  AsyncServer *s = user_data;

  (void) condition;
  for (;;)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GSocket) socket = g_socket_accept (listener, NULL, &error);
      GSource *source;

      if (socket == NULL)
        {
          if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
            return G_SOURCE_CONTINUE;
          g_atomic_int_set (&s->bad, 1);
          return G_SOURCE_REMOVE;
        }
      g_socket_set_blocking (socket, FALSE);
      source = g_socket_create_source (socket, G_IO_IN, NULL);
      g_source_set_callback (source, G_SOURCE_FUNC (async_server_on_readable), s, NULL);
      g_source_attach (source, s->context);
      g_ptr_array_add (s->sources, source);
      g_atomic_int_inc (&s->accepted);
    }
}

static void
source_destroy_and_unref (gpointer source)
{
  g_source_destroy (source);
  g_source_unref (source);
}

static gpointer
async_server_thread (gpointer data)
{
  AsyncServer *s = data;
  GSource *source;

  g_main_context_push_thread_default (s->context);
  source = g_socket_create_source (s->listener, G_IO_IN, NULL);
  g_source_set_callback (source, G_SOURCE_FUNC (async_server_on_incoming), s, NULL);
  g_source_attach (source, s->context);
  g_main_loop_run (s->loop);
  source_destroy_and_unref (source);
  g_ptr_array_set_size (s->sources, 0);   /* the sockets close as their sources go */
  while (g_main_context_iteration (s->context, FALSE))
    ;
  g_main_context_pop_thread_default (s->context);
  return NULL;
}

static gboolean
async_server_start (AsyncServer *s, GError **error)
{
  s->listener = gio_listen_loopback (FALSE, &s->port, error);
  return s->listener != NULL;
}

/* The client: connect_async, then a graceful close_async, one at a time, on
 * the measuring thread's context. */
static void
run_gio_async (Result *r)
{
  AsyncServer s = { 0 };
  g_autoptr(GMainContext) context = post_bench_context_new ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GSocketClient) client = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GError) error = NULL;
  GThread *thread;
  gint64 t0, end;

  r->ok = TRUE;
  s.context = g_main_context_new ();
  s.loop = g_main_loop_new (s.context, FALSE);
  s.sources = g_ptr_array_new_with_free_func (source_destroy_and_unref);
  if (!async_server_start (&s, &error))
    {
      result_fail (r, "listen: %s", error->message);
      goto out;
    }
  address = g_inet_socket_address_new (loopback, s.port);
  thread = g_thread_new ("gio-async-receiver", async_server_thread, &s);

  g_main_context_push_thread_default (context);
  client = g_socket_client_new ();
  t0 = g_get_monotonic_time ();
  end = t0 + duration_us;
  while (g_get_monotonic_time () < end)
    {
      g_autoptr(GSocketConnection) connection = NULL;
      PostBenchWaiter w = { NULL };
      gboolean closed;

      g_socket_client_connect_async (client, G_SOCKET_CONNECTABLE (address), cancellable,
                                     post_bench_waiter_cb, &w);
      connection = g_socket_client_connect_finish (client, post_bench_waiter_wait (&w, context, cancellable),
                                                   &error);
      g_clear_object (&w.result);
      if (connection == NULL)
        {
          result_fail_async (r, "connect", error, cancellable);
          break;
        }
      /* Shut down our side, wait for the peer's EOF from a socket source,
       * close: what libpost's graceful close does. */
      g_tcp_connection_set_graceful_disconnect (G_TCP_CONNECTION (connection), TRUE);
      g_io_stream_close_async (G_IO_STREAM (connection), G_PRIORITY_DEFAULT, cancellable,
                               post_bench_waiter_cb, &w);
      closed = g_io_stream_close_finish (G_IO_STREAM (connection),
                                         post_bench_waiter_wait (&w, context, cancellable), &error);
      g_clear_object (&w.result);
      if (!closed)
        {
          result_fail_async (r, "close", error, cancellable);
          break;
        }
      r->sent++;
    }
  r->value = r->sent / ((g_get_monotonic_time () - t0) / 1e6);
  /* Each close completed with the server's FIN, sent after it counted. */
  post_bench_wait_for_count (context, &s.ended, r->sent, G_USEC_PER_SEC);
  g_clear_object (&client);
  while (g_main_context_iteration (context, FALSE))
    ;
  g_main_context_pop_thread_default (context);

  g_main_context_invoke (s.context, post_bench_quit_loop, s.loop);
  g_thread_join (thread);
  r->received = g_atomic_int_get (&s.accepted);
  if (g_atomic_int_get (&s.bad))
    result_fail (r, "the server failed to accept or saw a connection end without EOF");
  else if ((guint64) g_atomic_int_get (&s.ended) < r->sent)
    result_fail (r, "the server saw %d of %" G_GUINT64_FORMAT " connections end",
                 g_atomic_int_get (&s.ended), r->sent);
  result_check_counts (r);

out:
  if (s.listener != NULL)
    g_socket_close (s.listener, NULL);
  g_clear_object (&s.listener);
  g_ptr_array_unref (s.sources);
  g_main_loop_unref (s.loop);
  g_main_context_unref (s.context);
}

/* ---- libpost ----------------------------------------------------------------- */

static gboolean
establish (PostCarrier *carrier, GMainContext *context, GCancellable *cancellable, GError **error)
{
  return post_bench_carrier_run (carrier, post_carrier_establish_async, post_carrier_establish_finish,
                                 context, cancellable, error);
}

static gboolean
close_carrier (PostCarrier *carrier, GMainContext *context, GCancellable *cancellable,
               GError **error)
{
  return post_bench_carrier_run (carrier, post_carrier_close_async, post_carrier_close_finish,
                                 context, cancellable, error);
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

  (void) message;
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
  PostBenchServer s = { .stack = "tcp", .echo = kind == CASE_RTT, .accept_only = kind == CASE_CONN };
  g_autoptr(GMainContext) context = post_bench_context_new ();
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(PostConfiguration) configuration = post_configuration_new ();
  g_autoptr(PostRemote) remote = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  g_autofree char *uri = NULL;
  GThread *thread;
  gint64 t0, end;

  r->ok = TRUE;
  s.size = kind == CASE_BULK ? BULK_SIZE : SMALL_SIZE;
  s.client_context = context;

  g_main_context_push_thread_default (context);
  thread = post_bench_server_start (&s);
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

          if (!establish (c, context, cancellable, &error) ||
              !close_carrier (c, context, cancellable, &error))
            {
              result_fail_async (r, "set-up + close", error, cancellable);
              break;
            }
          r->sent++;
        }
      r->value = r->sent / ((g_get_monotonic_time () - t0) / 1e6);
      post_bench_wait_for_count (context, &s.accepted, r->sent, G_USEC_PER_SEC);
      r->received = g_atomic_int_get (&s.accepted);
      result_check_counts (r);
      goto out;
    }

  carrier = post_carrier_initiate (NULL, remote, configuration);
  if (!establish (carrier, context, cancellable, &error))
    {
      result_fail_async (r, "establish", error, cancellable);
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
        while (!pp.done && g_get_monotonic_time () < pp.end + IO_TIMEOUT_S * G_USEC_PER_SEC)
          g_main_context_iteration (context, TRUE);
      /* The receiver counts an echo after sending it: let it catch up. */
      post_bench_wait_for_count (context, &s.messages, pp.rtts->len, G_USEC_PER_SEC);
      if (pp.error != NULL)
        result_fail (r, "%s", pp.error);
      else if (!pp.done)
        result_fail (r, "no reply within %d s", IO_TIMEOUT_S);
      else
        result_set_rtts (r, pp.rtts);
      r->received = g_atomic_int_get (&s.messages);
      if (g_atomic_int_get (&s.bad))
        result_fail (r, "the receiver saw messages of the wrong size");
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
      if (!post_bench_send_until (carrier, payload, BATCH, end, context, cancellable, &r->sent, &error))
        result_fail_async (r, "send", error, cancellable);
      /* Let the queue drain and the receiver count everything. */
      post_bench_wait_for_count (context, &s.messages, r->sent, IO_TIMEOUT_S * G_USEC_PER_SEC);
      r->received = g_atomic_int_get (&s.messages);
      if (s.t_last > t0 && r->received > 0)
        r->value = (double) r->received * (kind == CASE_BULK ? s.size / 1e6 : 1.0)
                   / ((s.t_last - t0) / 1e6);
      if (g_atomic_int_get (&s.bad))
        result_fail (r, "the receiver saw messages of the wrong size");
    }
  result_check_counts (r);
  g_clear_error (&error);
  if (!close_carrier (carrier, context, cancellable, &error))
    result_fail_async (r, "close", error, cancellable);

out:
  post_bench_server_stop (&s, thread);
  g_clear_object (&carrier);
  post_bench_context_drain (context);
  g_main_context_pop_thread_default (context);
}

/* ---- rounds and the tables ------------------------------------------------------ */

static const struct {
  const char *label;
  const char *unit;
  gboolean    lower_is_better;
  Impl        target_against;
  const char *target_name;
  double      target;
} cases[N_CASES] = {
  { "(a) 64 B messages, one way", "msg/s",         FALSE, IMPL_PLAIN,     "C",   1.0 },
  { "(b) ping-pong RTT, 64 B",    "µs mean / med", TRUE,  IMPL_PLAIN,     "C",   1.1 },
  { "(c) bulk, 64 KiB messages",  "MB/s",          FALSE, IMPL_PLAIN,     "C",   0.9 },
  { "(d) set-up + close",         "conn/s",        FALSE, IMPL_GIO_ASYNC,
    "GIO GSocketClient (async)", 1.0 },
};

static gboolean
case_selected (BenchCase kind)
{
  return opt_cases == NULL || strchr (opt_cases, 'a' + kind) != NULL;
}

static gboolean
impl_applies (BenchCase kind, Impl impl)
{
  return impl != IMPL_GIO_ASYNC || kind == CASE_CONN;
}

static void
run_one (BenchCase kind, Impl impl, guint round, Result *r)
{
  g_autofree char *what = g_strdup_printf ("%s on %s, round %u", cases[kind].label,
                                           impl_names[impl], round + 1);

  if (isatty (STDERR_FILENO))
    g_printerr ("  running %-60s\r", what);
  watchdog_arm (what);
  switch (impl)
    {
    case IMPL_POST:
      run_post (kind, r);
      break;
    case IMPL_GIO:
    case IMPL_PLAIN:
      run_baseline (impl == IMPL_GIO, kind, r);
      break;
    case IMPL_GIO_ASYNC:
      run_gio_async (r);
      break;
    case N_IMPLS:
    default:
      g_assert_not_reached ();
    }
  watchdog_disarm ();
}

typedef struct {
  guint  n;        /* rounds that succeeded */
  double value;    /* median over those rounds */
  double median;   /* RTT: median over rounds of the per-round medians */
} Summary;

typedef struct {
  guint  n;        /* rounds where both succeeded */
  double median, min, max;
} RatioSummary;

static Summary
summarize (const Result *rounds)
{
  double values[N_ROUNDS], medians[N_ROUNDS];
  Summary sum = { 0 };

  for (guint i = 0; i < N_ROUNDS; i++)
    if (rounds[i].ok)
      {
        values[sum.n] = rounds[i].value;
        medians[sum.n] = rounds[i].median;
        sum.n++;
      }
  if (sum.n > 0)
    {
      sum.value = post_bench_median (values, sum.n);
      sum.median = post_bench_median (medians, sum.n);
    }
  return sum;
}

static RatioSummary
summarize_ratio (const Result *a, const Result *b)
{
  double ratios[N_ROUNDS];
  RatioSummary sum = { 0 };

  for (guint i = 0; i < N_ROUNDS; i++)
    if (a[i].ok && b[i].ok && b[i].value > 0)
      ratios[sum.n++] = a[i].value / b[i].value;
  if (sum.n > 0)
    {
      sum.median = post_bench_median (ratios, sum.n);   /* sorts them */
      sum.min = ratios[0];
      sum.max = ratios[sum.n - 1];
    }
  return sum;
}

/* Prints @text padded to @width characters (not bytes: µ, × and – are wider). */
static void
print_cell (const char *text, int width, gboolean left)
{
  int pad = MAX (width - (int) g_utf8_strlen (text, -1), 0);

  if (left)
    g_print ("%s%*s", text, pad, "");
  else
    g_print ("%*s%s", pad, "", text);
}

static char *
format_value (BenchCase kind, Impl impl, const Summary *sum)
{
  if (!impl_applies (kind, impl))
    return g_strdup ("-");
  if (sum->n == 0)
    return g_strdup ("error");
  if (kind == CASE_RTT)
    return g_strdup_printf ("%.1f / %.1f%s", sum->value, sum->median,
                            sum->n < N_ROUNDS ? "*" : "");
  return g_strdup_printf ("%.0f%s", sum->value, sum->n < N_ROUNDS ? "*" : "");
}

static char *
format_ratio (const RatioSummary *sum)
{
  if (sum->n == 0)
    return g_strdup ("-");
  return g_strdup_printf ("%.2f× (%.2f–%.2f)%s", sum->median, sum->min, sum->max,
                          sum->n < N_ROUNDS ? "*" : "");
}

static void
print_tables (Result results[N_CASES][N_IMPLS][N_ROUNDS])
{
  static const Impl columns[] = { IMPL_POST, IMPL_GIO, IMPL_GIO_ASYNC, IMPL_PLAIN };
  static const Impl against[] = { IMPL_PLAIN, IMPL_GIO, IMPL_GIO_ASYNC };
  static const char *ratio_names[] = { "libpost/C", "libpost/GIO sync", "libpost/GIO async" };
  gboolean any_partial = FALSE, any_note = FALSE;

  print_cell ("case", 28, TRUE);
  print_cell ("unit", 14, TRUE);
  for (guint j = 0; j < G_N_ELEMENTS (columns); j++)
    print_cell (impl_names[columns[j]], 15, FALSE);
  g_print ("\n");
  for (int k = 0; k < N_CASES; k++)
    {
      if (!case_selected (k))
        continue;
      print_cell (cases[k].label, 28, TRUE);
      print_cell (cases[k].unit, 14, TRUE);
      for (guint j = 0; j < G_N_ELEMENTS (columns); j++)
        {
          Summary sum = summarize (results[k][columns[j]]);
          g_autofree char *cell = format_value (k, columns[j], &sum);

          any_partial |= impl_applies (k, columns[j]) && sum.n < N_ROUNDS;
          print_cell (cell, 15, FALSE);
        }
      g_print ("\n");
    }

  g_print ("\n");
  print_cell ("case", 28, TRUE);
  for (guint j = 0; j < G_N_ELEMENTS (against); j++)
    print_cell (ratio_names[j], 22, TRUE);
  g_print ("target\n");
  for (int k = 0; k < N_CASES; k++)
    {
      RatioSummary target = { 0 };
      const char *verdict;

      if (!case_selected (k))
        continue;
      print_cell (cases[k].label, 28, TRUE);
      for (guint j = 0; j < G_N_ELEMENTS (against); j++)
        {
          RatioSummary sum = { 0 };
          g_autofree char *cell = NULL;

          if (impl_applies (k, against[j]))
            sum = summarize_ratio (results[k][IMPL_POST], results[k][against[j]]);
          if (against[j] == cases[k].target_against)
            target = sum;
          cell = format_ratio (&sum);
          print_cell (cell, 22, TRUE);
        }
      if (target.n == 0)
        verdict = "-";
      else if (cases[k].lower_is_better ? target.median <= cases[k].target
                                        : target.median >= cases[k].target)
        verdict = "met";
      else
        verdict = "NOT met";
      g_print ("%s %.1f× %s: %s\n", cases[k].lower_is_better ? "≤" : "≥",
               cases[k].target, cases[k].target_name, verdict);
    }

  g_print ("\nFigures: medians over %d rounds (RTT: of the per-round mean / median).\n"
           "Ratios: median (min–max) of the ratios taken within each round; (b) uses the mean.\n"
           "GIO sync: blocking GSocket calls; in (d) blocking g_socket_client_connect and a\n"
           "  blocking server thread.  GIO async, (d) only: g_socket_client_connect_async and\n"
           "  a graceful g_io_stream_close_async on a main loop, server on a main loop.\n",
           N_ROUNDS);
  if (any_partial)
    g_print ("*: some rounds failed and were left out; see the notes.\n");

  for (int k = 0; k < N_CASES; k++)
    for (int i = 0; i < N_IMPLS; i++)
      for (guint round = 0; round < N_ROUNDS; round++)
        {
          const Result *r = &results[k][i][round];

          if (r->note == NULL)
            continue;
          if (!any_note)
            g_print ("\nnotes:\n");
          any_note = TRUE;
          g_print ("  %s on %s, round %u: %s\n", cases[k].label, impl_names[i], round + 1,
                   r->note);
        }
}

/* The cases (a)–(d) as JSON lines (post-bench-json.h). */
static void
json_cases (Result results[N_CASES][N_IMPLS][N_ROUNDS])
{
  static const char *ids[N_CASES] = { "a", "b", "c", "d" };
  static const gsize sizes[N_CASES] = { SMALL_SIZE, SMALL_SIZE, BULK_SIZE, 0 };

  for (int k = 0; k < N_CASES; k++)
    {
      Summary post = summarize (results[k][IMPL_POST]);
      RatioSummary target = { 0 };
      g_autofree char *target_text = NULL;
      ToolJson *json;

      if (!case_selected (k))
        continue;
      json = post_bench_json_begin (ids[k], cases[k].label, k == CASE_RTT ? "µs" : cases[k].unit);
      tool_json_double (json, "seconds", opt_seconds, "%g");
      tool_json_int (json, "rounds", N_ROUNDS);
      if (sizes[k] > 0)
        tool_json_int (json, "message_size", sizes[k]);
      post_bench_json_figures (json);
      /* (b): the mean RTT, as the ratio uses; the median beside it */
      post_bench_json_value (json, "libpost", post.n > 0, post.value);
      if (k == CASE_RTT)
        post_bench_json_value (json, "libpost_median", post.n > 0, post.median);
      post_bench_json_begin_baselines (json);
      for (int i = IMPL_GIO; i < N_IMPLS; i++)
        {
          Summary base;
          RatioSummary ratio;

          if (!impl_applies (k, i))
            continue;
          base = summarize (results[k][i]);
          ratio = summarize_ratio (results[k][IMPL_POST], results[k][i]);
          if ((Impl) i == cases[k].target_against)
            target = ratio;
          post_bench_json_baseline (json, impl_names[i], base.n > 0, base.value,
                                    ratio.median, ratio.min, ratio.max, ratio.n);
        }
      post_bench_json_end_baselines (json);
      target_text = g_strdup_printf ("%s %.2f× %s", cases[k].lower_is_better ? "≤" : "≥",
                                     cases[k].target, cases[k].target_name);
      post_bench_json_target (json, target_text, target.n > 0,
                              cases[k].lower_is_better ? target.median <= cases[k].target
                                                       : target.median >= cases[k].target);
      tool_json_int (json, "rounds_ok", post.n);
      post_bench_json_end (json);
    }
}

int
main (int argc, char **argv)
{
  static Result results[N_CASES][N_IMPLS][N_ROUNDS];
  g_autoptr(GOptionContext) context = g_option_context_new (NULL);
  g_autoptr(GError) error = NULL;
  struct sigaction action = { .sa_handler = watchdog_fired };

  /* The scale case's clients, run as a child (post-bench-scale.c). */
  if (argc > 1 && strcmp (argv[1], "--scale-child") == 0)
    return post_bench_scale_child (argc, argv);
  if (argc > 1 && strcmp (argv[1], "--scale-child-quic") == 0)
    return post_bench_scale_child_quic (argc, argv);
#ifdef POST_BENCH_SCTP
  /* The sctp case's raw usrsctp baseline, run as a child (post-bench-sctp.c). */
  if (argc > 1 && strcmp (argv[1], "--sctp-raw-child") == 0)
    return post_bench_sctp_raw_child (argc, argv);
#endif
  setlocale (LC_ALL, "");
  g_option_context_set_summary (context,
      "Measures a libpost tcp carrier against GIO GSockets and plain C sockets over loopback,\n"
      "in alternating rounds.");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("post-bench: %s\n", error->message);
      return EXIT_FAILURE;
    }
  if (opt_json)
    /* The path case's child prints its tables where the parent reads them. */
    post_bench_json_enable (g_getenv ("POST_BENCH_PATHS_CHILD") == NULL);
  if (opt_quick)
    opt_seconds = 0.25;
  if (opt_seconds <= 0)
    opt_seconds = 2.0;
  duration_us = (gint64) (opt_seconds * G_USEC_PER_SEC / N_ROUNDS);
  sigaction (SIGALRM, &action, NULL);

  g_print ("post-bench: %.2f s per case and implementation, in %d alternating rounds of %.2f s, "
           "over 127.0.0.1\n\n", opt_seconds, N_ROUNDS, opt_seconds / N_ROUNDS);
  for (int k = 0; k < N_CASES; k++)
    {
      Impl order[N_IMPLS];
      guint n = 0;

      if (!case_selected (k))
        continue;
      for (int i = 0; i < N_IMPLS; i++)
        if (impl_applies (k, i))
          order[n++] = i;
      /* Every round runs each implementation once, starting one further on. */
      for (guint round = 0; round < N_ROUNDS; round++)
        for (guint j = 0; j < n; j++)
          {
            Impl impl = order[(round + j) % n];

            run_one (k, impl, round, &results[k][impl][round]);
          }
    }
  if (isatty (STDERR_FILENO))
    g_printerr ("%-80s\r", "");

  if (case_selected (CASE_MSGS) || case_selected (CASE_RTT) || case_selected (CASE_BULK)
      || case_selected (CASE_CONN))
    {
      print_tables (results);
      json_cases (results);
    }

  /* (u) udp datagrams against GIO: a table of its own (post-bench-udp.c). */
  if (opt_cases == NULL || strchr (opt_cases, 'u') != NULL)
    post_bench_udp_run (opt_seconds);
  /* (t) tls bulk against raw GnuTLS, and handshake times (post-bench-tls.c). */
  if (opt_cases == NULL || strchr (opt_cases, 't') != NULL)
    post_bench_tls_run (opt_seconds);
  /* (e) dtls datagrams against the udp carrier (post-bench-dtls.c). */
  if (opt_cases == NULL || strchr (opt_cases, 'e') != NULL)
    post_bench_dtls_run (opt_seconds);
  /* (q) quic bulk and message rate against the tls carrier, and handshake times (post-bench-quic.c). */
  if (opt_cases == NULL || strchr (opt_cases, 'q') != NULL)
    post_bench_quic_run (opt_seconds);
  /* (h) a 1 GiB HTTP/3 download against gtlsclient from gtlsserver (post-bench-http3.c). */
  if (opt_cases == NULL || strchr (opt_cases, 'h') != NULL)
    post_bench_http3_run (opt_quick);
  /* (p) path fallback with a blackholed address against GSocketClient
   * (post-bench-paths.c; root only, in its own network namespace). */
  if (opt_cases == NULL || strchr (opt_cases, 'p') != NULL)
    post_bench_paths_run (opt_seconds);
#ifdef POST_BENCH_SCTP
  /* (s) sctp messages against a raw usrsctp loop (post-bench-sctp.c). */
  if (opt_cases == NULL || strchr (opt_cases, 's') != NULL)
    post_bench_sctp_run (argv[0], opt_seconds);
#endif
  /* (n) 100 to 10,000 idle tcp carriers on one listener (post-bench-scale.c):
   * only when asked for. */
  if (opt_cases != NULL && (strchr (opt_cases, 'n') != NULL || strchr (opt_cases, 'm') != NULL))
    {
      g_autofree char *self = g_file_read_link ("/proc/self/exe", NULL);

      /* (m) the same with quic connections (post-bench-scale-quic.c: the clients). */
      if (strchr (opt_cases, 'n') != NULL)
        post_bench_scale_run (self != NULL ? self : argv[0], "tcp", (guint) MAX (opt_scale_max, 100));
      if (strchr (opt_cases, 'm') != NULL)
        post_bench_scale_run (self != NULL ? self : argv[0], "quic", (guint) MAX (opt_scale_max, 100));
    }

  for (int k = 0; k < N_CASES; k++)
    for (int i = 0; i < N_IMPLS; i++)
      for (guint round = 0; round < N_ROUNDS; round++)
        g_free (results[k][i][round].note);
  g_free (opt_cases);
  return EXIT_SUCCESS;
}
