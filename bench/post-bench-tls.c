/* post-bench-tls.c: the tls case of post-bench, (t)
 *
 * Two measurements over 127.0.0.1, in one run:
 *
 * (i) Bulk: 64 KiB messages one way over TLS 1.3 for a fixed time, MB/s
 *     (10^6 bytes of payload) from the first send to the receipt of the
 *     last message, with the receiver in a second thread.
 *       libpost:  a `tls` carrier (post_carrier_send_bytes, flushing when
 *                 the bounded queue is full) on the measuring thread's main
 *                 context, to a libpost `tls` listener whose accepted
 *                 carrier counts messages on its own main context.
 *       raw:      GnuTLS directly over blocking sockets, written with the
 *                 same care: the same priority string as the tls stack's
 *                 default (so the same TLS 1.3 suite and group), the same
 *                 certificate, libpost's framing (4-byte big-endian header,
 *                 top bit "final"), each message corked into full 16 KiB
 *                 records and handed to the kernel in one write
 *                 (gnutls_record_cork/uncork, as the tls stack batches its
 *                 records), and a receiver thread that takes records with
 *                 gnutls_record_recv() and parses the frames.
 *     Rounds alternate between the two (the order rotates); the figure is
 *     the median over the rounds, and the ratio is taken within each round
 *     (median and range printed).
 *
 * (iv) Message rate: the same with 64-byte messages, msg/s, against raw
 *     GnuTLS sending each framed message as one record in one write (one
 *     gnutls_record_send() per message, uncorked: what a one-record-per-
 *     message application does), the receiver as in (i).
 *
 * (iii) Handshakes per second, full and resumed: 1000 / the median time
 *     to the first response of (ii), against the same loop on raw GnuTLS
 *     over blocking sockets in the same run (a server thread with session
 *     tickets, a client that verifies the certificate as libpost does and
 *     resumes with the ticket of the connection before).  (ii) and the raw
 *     loop run in 5 alternating rounds (the order rotates), so that the
 *     ratio is taken within each round (median and range printed): on a
 *     shared machine the load changes within a run.
 *
 * (ii) Time to first response: from post_carrier_initiate() to the arrival
 *     of the reply, for a client that sends one 64-byte request which a
 *     libpost tls echo listener (in another thread) sends back:
 *       full:     no session cache (`tls.session-cache` "none"): a full
 *                 handshake with certificate verification every time;
 *       resumed:  the association's newest ticket; the request is not
 *                 idempotent, so it waits for the handshake's end;
 *       0-RTT:    the same, with the request marked idempotent: it goes as
 *                 TLS 1.3 early data with the ClientHello.
 *     The three kinds are interleaved connection by connection; each
 *     connection's security flags are checked (a "resumed" one that was
 *     not, or early data that was refused, is counted and reported).  The
 *     median and the 10th–90th percentiles over N connections are printed.
 *
 * The certificates (an ECDSA P-256 CA and a server certificate for
 * localhost/127.0.0.1) are made with certtool in a temporary directory at
 * startup, which is removed when the case ends.  Every blocking call has a
 * timeout (TLS_IO_TIMEOUT_S), and every wait a deadline.  The libpost side
 * (bulk run, first-response timing) and the alternation of rounds are
 * post-bench-secure.c's, shared with the quic case, and the frame parser
 * post-bench-util.c's; this file holds the raw GnuTLS baseline.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>
#include "post-bench-tls.h"
#include "post-bench-secure.h"
#include "post-bench-json.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <gnutls/gnutls.h>

#define TLS_BULK_SIZE    POST_BENCH_BULK_SIZE
#define TLS_RECORD       16384
#define TLS_BATCH        16
#define TLS_SMALL_SIZE   64
#define TLS_IO_TIMEOUT_S POST_BENCH_IO_TIMEOUT_S
/* The tls stack's default priority (plugins/tcp-tls/post-tls-psi.c). */
#define TLS_PRIORITY     "NORMAL:-VERS-ALL:+VERS-TLS1.3"

/* ---- (i) bulk on raw GnuTLS over blocking sockets ---------------------------------------- */

static void
set_timeouts (int fd)
{
  struct timeval tv = { .tv_sec = TLS_IO_TIMEOUT_S };

  setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt (fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

/* A blocking handshake; FALSE with *note on failure. */
static gboolean
handshake (gnutls_session_t session, const char *who, char **note)
{
  int ret;

  do
    ret = gnutls_handshake (session);
  while (ret < 0 && !gnutls_error_is_fatal (ret));
  if (ret < 0 && *note == NULL)
    *note = g_strdup_printf ("%s handshake: %s", who, gnutls_strerror (ret));
  return ret >= 0;
}

/* A listening TCP socket on 127.0.0.1 (its address in *@sin), or -1 with
 * *note. */
static int
raw_listen (struct sockaddr_in *sin, char **note)
{
  socklen_t len = sizeof *sin;
  int fd = socket (AF_INET, SOCK_STREAM, 0);

  memset (sin, 0, sizeof *sin);
  sin->sin_family = AF_INET;
  sin->sin_addr.s_addr = htonl (INADDR_LOOPBACK);
  if (fd < 0 ||
      bind (fd, (struct sockaddr *) sin, sizeof *sin) < 0 ||
      listen (fd, 16) < 0 ||
      getsockname (fd, (struct sockaddr *) sin, &len) < 0)
    {
      *note = g_strdup_printf ("listen: %s", g_strerror (errno));
      if (fd >= 0)
        close (fd);
      return -1;
    }
  set_timeouts (fd);
  return fd;
}

/* A session on @fd with the stack's priority and @cred: a server
 * (GNUTLS_SERVER, the bench's certificate) or a client (GNUTLS_CLIENT,
 * trusting the bench's CA and verifying the server as 127.0.0.1, as
 * libpost's client does); NULL when GnuTLS refuses. */
static gnutls_session_t
raw_session (unsigned int                     flags,
             gnutls_certificate_credentials_t cred,
             int                              fd)
{
  gnutls_session_t session = NULL;

  if (gnutls_init (&session, flags) < 0)
    return NULL;
  if (gnutls_priority_set_direct (session, TLS_PRIORITY, NULL) < 0 ||
      gnutls_credentials_set (session, GNUTLS_CRD_CERTIFICATE, cred) < 0)
    {
      gnutls_deinit (session);
      return NULL;
    }
  if (flags & GNUTLS_CLIENT)
    gnutls_session_set_verify_cert (session, "127.0.0.1", 0);
  gnutls_transport_set_int (session, fd);
  return session;
}

/* Credentials with the bench's server certificate (NULL on failure). */
static gnutls_certificate_credentials_t
raw_server_credentials (void)
{
  gnutls_certificate_credentials_t cred = NULL;
  g_autofree char *cert = post_bench_cert_path ("server.pem");
  g_autofree char *key = post_bench_cert_path ("server.key");

  gnutls_certificate_allocate_credentials (&cred);
  if (gnutls_certificate_set_x509_key_file (cred, cert, key, GNUTLS_X509_FMT_PEM) < 0)
    {
      gnutls_certificate_free_credentials (cred);
      return NULL;
    }
  return cred;
}

/* Credentials that trust the bench's CA (NULL on failure). */
static gnutls_certificate_credentials_t
raw_client_credentials (void)
{
  gnutls_certificate_credentials_t cred = NULL;
  g_autofree char *ca = post_bench_cert_path ("ca.pem");

  gnutls_certificate_allocate_credentials (&cred);
  if (gnutls_certificate_set_x509_trust_file (cred, ca, GNUTLS_X509_FMT_PEM) <= 0)
    {
      gnutls_certificate_free_credentials (cred);
      return NULL;
    }
  return cred;
}

typedef struct {
  int      listen_fd;
  gsize    size;       /* of the messages */
  guint64  messages;
  gint64   t_last;
  gboolean bad;
  char    *error;   /* (owned) (nullable) */
} RawServer;

static gpointer
raw_server_thread (gpointer data)
{
  RawServer *s = data;
  gnutls_certificate_credentials_t cred = NULL;
  gnutls_session_t session = NULL;
  g_autofree guint8 *buffer = g_malloc (TLS_RECORD * 4);
  PostBenchParser parser = { .expected = s->size };
  int fd;
  ssize_t n;

  fd = accept (s->listen_fd, NULL, NULL);
  if (fd < 0)
    {
      s->error = g_strdup_printf ("accept: %s", g_strerror (errno));
      return NULL;
    }
  set_timeouts (fd);
  if ((cred = raw_server_credentials ()) == NULL || (session = raw_session (GNUTLS_SERVER, cred, fd)) == NULL)
    {
      s->error = g_strdup ("cannot set up the GnuTLS server");
      goto out;
    }
  if (!handshake (session, "server", &s->error))
    goto out;
  while ((n = gnutls_record_recv (session, buffer, TLS_RECORD * 4)) != 0)
    {
      guint64 before = parser.messages;

      if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
        {
          if (errno == EAGAIN || errno == EWOULDBLOCK)
            {
              s->error = g_strdup_printf ("no data within %d s", TLS_IO_TIMEOUT_S);
              break;
            }
          continue;
        }
      if (n < 0)
        {
          if (n != GNUTLS_E_PREMATURE_TERMINATION)
            s->error = g_strdup_printf ("receive: %s", gnutls_strerror (n));
          break;
        }
      post_bench_parser_feed (&parser, buffer, n);
      if (parser.messages != before)
        s->t_last = g_get_monotonic_time ();
    }
  s->messages = parser.messages;
  s->bad = parser.bad;

out:
  if (session != NULL)
    gnutls_deinit (session);
  if (cred != NULL)
    gnutls_certificate_free_credentials (cred);
  close (fd);
  return NULL;
}

/* One framed message of @size bytes: a bulk one corked into full records
 * handed to the kernel in one write, a small one as one record (one
 * write).  FALSE with *note on failure. */
static gboolean
send_raw_message (gnutls_session_t session, const guint8 *frame, gsize size, char **note)
{
  ssize_t ret;

  if (size < TLS_BULK_SIZE)
    {
      ret = gnutls_record_send (session, frame, 4 + size);
      if (ret < 0)
        *note = g_strdup_printf ("send: %s", gnutls_strerror (ret));
      return ret >= 0;
    }
  gnutls_record_cork (session);
  for (gsize off = 0; off < 4 + size && *note == NULL; )
    {
      ret = gnutls_record_send (session, frame + off, MIN (TLS_RECORD, 4 + size - off));
      if (ret < 0)
        *note = g_strdup_printf ("send: %s", gnutls_strerror (ret));
      else
        off += ret;
    }
  ret = gnutls_record_uncork (session, GNUTLS_RECORD_WAIT);
  if (ret < 0 && *note == NULL)
    *note = g_strdup_printf ("send: %s", gnutls_strerror (ret));
  return *note == NULL;
}

/* MB/s for bulk messages, msg/s for small ones, or a negative value with
 * *note set.  *suite gets the negotiated parameters the first time. */
static double
bulk_raw (gsize size, double seconds, char **suite, char **note)
{
  RawServer s = { .listen_fd = -1, .size = size };
  struct sockaddr_in sin;
  gnutls_certificate_credentials_t cred = NULL;
  gnutls_session_t session = NULL;
  g_autofree guint8 *frame = post_bench_make_frame (size);
  GThread *thread = NULL;
  guint64 sent = 0;
  gint64 t0, end;
  double rate = -1;
  int fd = -1;

  if ((s.listen_fd = raw_listen (&sin, note)) < 0)
    goto out;
  thread = g_thread_new ("tls-raw-receiver", raw_server_thread, &s);

  fd = socket (AF_INET, SOCK_STREAM, 0);
  if (fd < 0)
    {
      *note = g_strdup_printf ("socket: %s", g_strerror (errno));
      goto out;
    }
  set_timeouts (fd);
  if (connect (fd, (struct sockaddr *) &sin, sizeof sin) < 0)
    {
      *note = g_strdup_printf ("connect: %s", g_strerror (errno));
      goto out;
    }
  if ((cred = raw_client_credentials ()) == NULL || (session = raw_session (GNUTLS_CLIENT, cred, fd)) == NULL)
    {
      *note = g_strdup ("cannot set up the GnuTLS client");
      goto out;
    }
  if (!handshake (session, "client", note))
    goto out;
  if (*suite == NULL)
    {
      char *desc = gnutls_session_get_desc (session);

      *suite = g_strdup (desc);
      gnutls_free (desc);
    }

  t0 = g_get_monotonic_time ();
  end = t0 + (gint64) (seconds * G_USEC_PER_SEC);
  while (*note == NULL && g_get_monotonic_time () < end)
    for (int i = 0; i < TLS_BATCH && *note == NULL; i++)
      if (send_raw_message (session, frame, size, note))
        sent++;
  gnutls_bye (session, GNUTLS_SHUT_WR);
  shutdown (fd, SHUT_WR);
  g_thread_join (g_steal_pointer (&thread));
  if (*note == NULL && s.error != NULL)
    *note = g_strdup_printf ("receiver: %s", s.error);
  else if (*note == NULL && s.messages != sent)
    *note = g_strdup_printf ("sent %" G_GUINT64_FORMAT " but received %" G_GUINT64_FORMAT, sent, s.messages);
  else if (*note == NULL && s.bad)
    *note = g_strdup ("the receiver saw bad frames");
  else if (*note == NULL && s.t_last > t0 && size == TLS_BULK_SIZE)
    rate = (double) sent * TLS_BULK_SIZE / 1e6 / ((s.t_last - t0) / 1e6);
  else if (*note == NULL && s.t_last > t0)
    rate = (double) sent / ((s.t_last - t0) / 1e6);

out:
  if (fd >= 0)
    shutdown (fd, SHUT_RDWR);   /* a receiver still waiting wakes up */
  if (s.listen_fd >= 0)
    shutdown (s.listen_fd, SHUT_RDWR);
  if (thread != NULL)
    g_thread_join (thread);
  if (session != NULL)
    gnutls_deinit (session);
  if (cred != NULL)
    gnutls_certificate_free_credentials (cred);
  if (fd >= 0)
    close (fd);
  if (s.listen_fd >= 0)
    close (s.listen_fd);
  g_free (s.error);
  return rate;
}

/* ---- (iii) raw GnuTLS handshakes: full and resumed, to a request's echo ------------------ */

#define TLS_REQUEST 64

typedef struct {
  int      listen_fd;
  guint    n_connections;
  char    *error;   /* (owned) (nullable) */
} RawEcho;

/* Serves n_connections one after the other: handshake (with session
 * tickets, as the tls stack's listener), echo of one request, close. */
static gpointer
raw_echo_thread (gpointer data)
{
  RawEcho *s = data;
  gnutls_certificate_credentials_t cred = raw_server_credentials ();
  gnutls_datum_t ticket_key = { NULL, 0 };

  if (cred == NULL || gnutls_session_ticket_key_generate (&ticket_key) < 0)
    s->error = g_strdup ("cannot set up the GnuTLS server");
  for (guint i = 0; s->error == NULL && i < s->n_connections; i++)
    {
      gnutls_session_t session;
      guint8 request[TLS_REQUEST];
      int one = 1;
      int fd = accept (s->listen_fd, NULL, NULL);
      ssize_t n;

      if (fd < 0)
        {
          s->error = g_strdup_printf ("accept: %s", g_strerror (errno));
          break;
        }
      set_timeouts (fd);
      setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
      session = raw_session (GNUTLS_SERVER, cred, fd);
      if (session == NULL || gnutls_session_ticket_enable_server (session, &ticket_key) < 0)
        s->error = g_strdup ("cannot set up the GnuTLS server session");
      else if (handshake (session, "server", &s->error))
        {
          do
            n = gnutls_record_recv (session, request, sizeof request);
          while (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED);
          if (n > 0)
            n = gnutls_record_send (session, request, n);
          if (n < 0)
            s->error = g_strdup_printf ("server: %s", gnutls_strerror (n));
          gnutls_bye (session, GNUTLS_SHUT_WR);
        }
      if (session != NULL)
        gnutls_deinit (session);
      close (fd);
    }
  gnutls_free (ticket_key.data);
  if (cred != NULL)
    gnutls_certificate_free_credentials (cred);
  return NULL;
}

/* One connection: ms from connect() to the echo of a 64-byte request, or
 * a negative value with *note.  @ticket: the session to resume (empty: a
 * full handshake), replaced by the one this connection got. */
static double
raw_first_response (const struct sockaddr_in       *sin,
                    gnutls_certificate_credentials_t cred,
                    gnutls_datum_t                  *ticket,
                    gboolean                        *resumed,
                    char                           **note)
{
  guint8 request[TLS_REQUEST], reply[TLS_REQUEST];
  gnutls_session_t session = NULL;
  gint64 t0 = g_get_monotonic_time ();
  double ms = -1;
  gsize got = 0;
  int one = 1;
  int fd = socket (AF_INET, SOCK_STREAM, 0);

  memset (request, 'r', sizeof request);
  if (fd < 0 || connect (fd, (const struct sockaddr *) sin, sizeof *sin) < 0)
    {
      *note = g_strdup_printf ("connect: %s", g_strerror (errno));
      goto out;
    }
  set_timeouts (fd);
  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  if ((session = raw_session (GNUTLS_CLIENT, cred, fd)) == NULL ||
      (ticket->size > 0 && gnutls_session_set_data (session, ticket->data, ticket->size) < 0))
    {
      *note = g_strdup ("cannot set up the GnuTLS client");
      goto out;
    }
  if (!handshake (session, "client", note))
    goto out;
  if (gnutls_record_send (session, request, sizeof request) < 0)
    {
      *note = g_strdup ("client: the request could not be sent");
      goto out;
    }
  while (got < sizeof reply)
    {
      ssize_t n = gnutls_record_recv (session, reply + got, sizeof reply - got);

      if (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED)
        continue;
      if (n <= 0)
        {
          *note = g_strdup_printf ("client: %s", n == 0 ? "the server closed" : gnutls_strerror (n));
          goto out;
        }
      got += n;
    }
  ms = (g_get_monotonic_time () - t0) / 1000.0;
  *resumed = gnutls_session_is_resumed (session);
  /* The server's ticket came before the echo. */
  gnutls_free (ticket->data);
  ticket->data = NULL;
  ticket->size = 0;
  if (gnutls_session_get_data2 (session, ticket) < 0)
    ticket->size = 0;
  gnutls_bye (session, GNUTLS_SHUT_WR);

out:
  if (session != NULL)
    gnutls_deinit (session);
  if (fd >= 0)
    close (fd);
  return ms;
}

/* @n full and @n resumed handshakes to the echo of a request on raw GnuTLS
 * over blocking sockets, interleaved: their times (ms) go to @times. */
static void
raw_handshakes (guint      n,
                GArray    *times[2],
                GPtrArray *notes)
{
  RawEcho s = { .listen_fd = -1, .n_connections = 2 * n + 1 };
  struct sockaddr_in sin;
  gnutls_certificate_credentials_t cred = raw_client_credentials ();
  gnutls_datum_t ticket = { NULL, 0 }, none = { NULL, 0 };
  GThread *thread = NULL;
  char *note = NULL;
  guint not_resumed = 0;

  if (cred == NULL || (s.listen_fd = raw_listen (&sin, &note)) < 0)
    goto out;
  thread = g_thread_new ("tls-raw-echo", raw_echo_thread, &s);
  /* The first connection brings the first ticket. */
  for (guint i = 0; i < 2 * n + 1 && note == NULL; i++)
    {
      gboolean resume = i % 2 == 0 && i > 0, resumed = FALSE;
      double ms = raw_first_response (&sin, cred, resume ? &ticket : &none, &resumed, &note);

      if (!resume && none.size > 0)
        {
          /* A full handshake's ticket is the next resumption's. */
          gnutls_free (ticket.data);
          ticket = none;
          none = (gnutls_datum_t) { NULL, 0 };
        }
      if (ms < 0 || i == 0)
        continue;
      if (resume && !resumed)
        not_resumed++;
      g_array_append_val (times[resume ? 1 : 0], ms);
    }

out:
  if (s.listen_fd >= 0)
    shutdown (s.listen_fd, SHUT_RDWR);
  if (thread != NULL)
    g_thread_join (thread);
  if (s.listen_fd >= 0)
    close (s.listen_fd);
  if (note == NULL && s.error != NULL)
    note = g_strdup_printf ("raw echo server: %s", s.error);
  if (note != NULL)
    g_ptr_array_add (notes, g_strdup_printf ("raw GnuTLS handshakes: %s", note));
  if (not_resumed > 0)
    g_ptr_array_add (notes, g_strdup_printf ("raw GnuTLS: %u of %u resumptions were full handshakes",
                                             not_resumed, n));
  g_free (note);
  g_free (s.error);
  gnutls_free (ticket.data);
  gnutls_free (none.data);
  if (cred != NULL)
    gnutls_certificate_free_credentials (cred);
}

/* The median of @times (ms) as handshakes per second (0: none). */
static double
per_second (GArray *times)
{
  g_autoptr(GArray) copy = g_array_copy (times);
  double ms = post_bench_median ((double *) (void *) copy->data, copy->len);

  return ms > 0 ? 1000 / ms : 0;
}

/* (ii) and the raw loop in POST_BENCH_ROUNDS alternating rounds of
 * @n_connections / POST_BENCH_ROUNDS connections of each kind: every time
 * goes to @first and @raw, and each round's libpost/raw ratio of
 * handshakes per second (full, resumed) to @ratios. */
static void
handshakes_run (PostBenchFirstResponse *first,
                GArray                 *raw[2],
                PostBenchSeries        *ratios,
                guint                   n_connections,
                GMainContext           *context,
                GPtrArray              *notes)
{
  static const PostBenchHsKind hs[2] = { POST_BENCH_HS_FULL, POST_BENCH_HS_RESUMED };
  guint per_round = MAX (n_connections / POST_BENCH_ROUNDS, 4);

  memset (first, 0, sizeof *first);
  memset (ratios, 0, sizeof *ratios);
  for (int k = 0; k < POST_BENCH_N_HS; k++)
    first->times[k] = g_array_new (FALSE, FALSE, sizeof (double));
  for (guint round = 0; round < POST_BENCH_ROUNDS; round++)
    {
      PostBenchFirstResponse lp = { 0 };
      GArray *rw[2] = { g_array_new (FALSE, FALSE, sizeof (double)), g_array_new (FALSE, FALSE, sizeof (double)) };

      for (guint j = 0; j < 2; j++)
        if ((round + j) % 2 == 0)
          post_bench_first_response_run (&lp, "tls", per_round, context, notes);
        else
          raw_handshakes (per_round, rw, notes);
      first->n_connections += lp.n_connections;
      for (int k = 0; k < POST_BENCH_N_HS; k++)
        {
          g_array_append_vals (first->times[k], lp.times[k]->data, lp.times[k]->len);
          first->unexpected[k] += lp.unexpected[k];
        }
      for (guint k = 0; k < 2; k++)
        {
          double l = per_second (lp.times[hs[k]]), r = per_second (rw[k]);

          g_array_append_vals (raw[k], rw[k]->data, rw[k]->len);
          if (l > 0 && r > 0)
            {
              ratios->values[k][ratios->n_values[k]] = l / r;
              ratios->n_values[k]++;
            }
          g_array_unref (rw[k]);
        }
      for (int k = 0; k < POST_BENCH_N_HS; k++)
        g_array_unref (lp.times[k]);
    }
}

/* Handshakes per second (1000 / the median time to the first response)
 * of libpost's tls carriers (@first, before
 * post_bench_first_response_print() frees its times) against the raw
 * loop (@raw), with the median and range of the per-round ratios
 * (@ratios), printed and as JSON case t-handshakes. */
static void
handshakes_print (PostBenchFirstResponse *first,
                  GArray                 *raw[2],
                  PostBenchSeries        *ratios,
                  double                  seconds)
{
  static const PostBenchHsKind hs[2] = { POST_BENCH_HS_FULL, POST_BENCH_HS_RESUMED };
  static const char *const kinds[2] = { "full", "resumed" };
  double lp[2], rw[2], median[2] = { 0, 0 };
  gboolean met = TRUE;
  ToolJson *json;

  g_print ("    (iii) handshakes per second to a 64 B echo (1000 / median ms), against raw GnuTLS\n"
           "          (blocking sockets, session tickets, the same certificates and verification;\n"
           "          libpost/raw: median and range of %d alternating rounds)\n", POST_BENCH_ROUNDS);
  for (guint k = 0; k < 2; k++)
    {
      guint n = ratios->n_values[k];

      lp[k] = per_second (first->times[hs[k]]);
      rw[k] = per_second (raw[k]);
      /* post_bench_median() sorts: the range is the first and the last. */
      if (n > 0)
        median[k] = post_bench_median (ratios->values[k], n);
      met = met && n > 0 && median[k] >= 0.9;
      g_print ("        %-8s libpost %8.0f /s (%.2f ms)   raw GnuTLS %8.0f /s (%.2f ms, %u)   "
               "libpost/raw %.2f× (rounds %.2f–%.2f, %u of %d)\n",
               kinds[k], lp[k], lp[k] > 0 ? 1000 / lp[k] : 0, rw[k], rw[k] > 0 ? 1000 / rw[k] : 0, raw[k]->len,
               median[k], n > 0 ? ratios->values[k][0] : 0, n > 0 ? ratios->values[k][n - 1] : 0, n,
               POST_BENCH_ROUNDS);
    }
  json = post_bench_json_begin ("t-handshakes", "tls handshakes to a 64 B echo, per second", "1/s");
  tool_json_double (json, "seconds", seconds, "%g");
  tool_json_int (json, "connections", raw[0]->len);
  tool_json_int (json, "rounds", POST_BENCH_ROUNDS);
  post_bench_json_figures (json);
  post_bench_json_value (json, "libpost_full", lp[0] > 0, lp[0]);
  post_bench_json_value (json, "libpost_resumed", lp[1] > 0, lp[1]);
  post_bench_json_begin_baselines (json);
  for (guint k = 0; k < 2; k++)
    {
      g_autofree char *name = g_strdup_printf ("raw GnuTLS %s handshake", kinds[k]);
      guint n = ratios->n_values[k];

      post_bench_json_baseline (json, name, rw[k] > 0, rw[k], median[k], n > 0 ? ratios->values[k][0] : 0,
                                n > 0 ? ratios->values[k][n - 1] : 0, n);
    }
  post_bench_json_end_baselines (json);
  post_bench_json_target (json, "≥ 0.9× raw GnuTLS, full and resumed (median of per-round ratios)",
                          ratios->n_values[0] > 0 && ratios->n_values[1] > 0, met);
  post_bench_json_end (json);
}

/* ---- the case ------------------------------------------------------------------------ */

typedef struct {
  GMainContext *context;
  gsize         size;    /* of the messages */
  char        **suite;   /* (out) the raw run's negotiated parameters */
} Bulk;

/* libpost (0) or raw GnuTLS (1). */
static double
run_bulk (guint which, double seconds, gpointer user_data, char **note)
{
  Bulk *b = user_data;

  if (which == 0)
    return post_bench_bulk_libpost ("tls", b->size, seconds, b->context, note);
  return bulk_raw (b->size, seconds, b->suite, note);
}

double
post_bench_tls_run (double seconds)
{
  static const char * const names[2] = { "libpost", "raw GnuTLS" };
  static const char * const labels[2] = { "libpost tls carrier", "raw GnuTLS, blocking sockets" };
  g_autoptr(GMainContext) context = NULL;
  PostBenchSeries bulk, messages, ratios;
  PostBenchFirstResponse first;
  double per_round = seconds / POST_BENCH_ROUNDS;
  g_autofree char *suite = NULL;
  g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func (g_free);
  guint n_connections = (guint) CLAMP (seconds * 50, 20, 500);
  GArray *raw[2] = { g_array_new (FALSE, FALSE, sizeof (double)), g_array_new (FALSE, FALSE, sizeof (double)) };
  double ratio;

  g_print ("\n(t) tls over 127.0.0.1: bulk against raw GnuTLS, and time to first response\n");
  if (!post_bench_certs_prepare ("post-bench-tls"))
    return 0;

  context = post_bench_context_new ();
  g_main_context_push_thread_default (context);
  post_bench_series_run (&bulk, "bulk", names, per_round, run_bulk,
                         &(Bulk) { context, POST_BENCH_BULK_SIZE, &suite }, notes);
  post_bench_series_run (&messages, "message rate", names, per_round, run_bulk,
                         &(Bulk) { context, TLS_SMALL_SIZE, &suite }, notes);
  handshakes_run (&first, raw, &ratios, n_connections, context, notes);
  post_bench_context_drain (context);
  g_main_context_pop_thread_default (context);

  /* The table */
  g_print ("    %s (priority %s), ECDSA P-256 certificates\n",
           suite != NULL ? suite : "TLS 1.3", TLS_PRIORITY);
  g_print ("    (i) bulk, %d KiB messages one way, MB/s (median of %d alternating rounds of %.2f s)\n",
           POST_BENCH_BULK_SIZE / 1024, POST_BENCH_ROUNDS, per_round);
  ratio = post_bench_series_print (&bulk, labels, "libpost/raw ratio", 1, "MB/s");
  post_bench_series_json (&bulk, "t-bulk", "tls bulk, 64 KiB messages one way", "MB/s",
                          "raw GnuTLS, blocking sockets", seconds, POST_BENCH_BULK_SIZE, 0.95);
  g_print ("    (iv) %d-byte messages one way, msg/s (median of %d alternating rounds of %.2f s);\n"
           "         raw GnuTLS: one record, one write per message\n",
           TLS_SMALL_SIZE, POST_BENCH_ROUNDS, per_round);
  post_bench_series_print (&messages, labels, "libpost/raw ratio", 0, "msg/s");
  post_bench_series_json (&messages, "t-messages", "tls, 64 B messages one way", "msg/s",
                          "raw GnuTLS, one record per message", seconds, TLS_SMALL_SIZE, 1.0);
  handshakes_print (&first, raw, &ratios, seconds);
  post_bench_first_response_print (&first, "(ii) tls time to first response", "t-first-response");
  post_bench_print_notes (notes);
  post_bench_certs_remove ();
  g_array_unref (raw[0]);
  g_array_unref (raw[1]);
  return ratio;
}
