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

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <gnutls/gnutls.h>

#define TLS_BULK_SIZE    POST_BENCH_BULK_SIZE
#define TLS_RECORD       16384
#define TLS_BATCH        16
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

typedef struct {
  int      listen_fd;
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
  g_autofree char *cert = post_bench_cert_path ("server.pem");
  g_autofree char *key = post_bench_cert_path ("server.key");
  g_autofree guint8 *buffer = g_malloc (TLS_RECORD * 4);
  PostBenchParser parser = { .expected = TLS_BULK_SIZE };
  int fd;
  ssize_t n;

  fd = accept (s->listen_fd, NULL, NULL);
  if (fd < 0)
    {
      s->error = g_strdup_printf ("accept: %s", g_strerror (errno));
      return NULL;
    }
  set_timeouts (fd);
  gnutls_certificate_allocate_credentials (&cred);
  if (gnutls_certificate_set_x509_key_file (cred, cert, key, GNUTLS_X509_FMT_PEM) < 0 ||
      gnutls_init (&session, GNUTLS_SERVER) < 0 ||
      gnutls_priority_set_direct (session, TLS_PRIORITY, NULL) < 0 ||
      gnutls_credentials_set (session, GNUTLS_CRD_CERTIFICATE, cred) < 0)
    {
      s->error = g_strdup ("cannot set up the GnuTLS server");
      goto out;
    }
  gnutls_transport_set_int (session, fd);
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
  gnutls_certificate_free_credentials (cred);
  close (fd);
  return NULL;
}

/* MB/s, or a negative value with *note set.  *suite gets the negotiated
 * parameters the first time. */
static double
bulk_raw (double seconds, char **suite, char **note)
{
  RawServer s = { .listen_fd = -1 };
  struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  socklen_t len = sizeof sin;
  gnutls_certificate_credentials_t cred = NULL;
  gnutls_session_t session = NULL;
  g_autofree char *ca = post_bench_cert_path ("ca.pem");
  g_autofree guint8 *frame = post_bench_make_frame (TLS_BULK_SIZE);
  GThread *thread = NULL;
  guint64 sent = 0;
  gint64 t0, end;
  double rate = -1;
  int fd = -1;

  s.listen_fd = socket (AF_INET, SOCK_STREAM, 0);
  if (s.listen_fd < 0 ||
      bind (s.listen_fd, (struct sockaddr *) &sin, sizeof sin) < 0 ||
      listen (s.listen_fd, 16) < 0 ||
      getsockname (s.listen_fd, (struct sockaddr *) &sin, &len) < 0)
    {
      *note = g_strdup_printf ("listen: %s", g_strerror (errno));
      goto out;
    }
  set_timeouts (s.listen_fd);
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
  gnutls_certificate_allocate_credentials (&cred);
  if (gnutls_certificate_set_x509_trust_file (cred, ca, GNUTLS_X509_FMT_PEM) <= 0 ||
      gnutls_init (&session, GNUTLS_CLIENT) < 0 ||
      gnutls_priority_set_direct (session, TLS_PRIORITY, NULL) < 0 ||
      gnutls_credentials_set (session, GNUTLS_CRD_CERTIFICATE, cred) < 0)
    {
      *note = g_strdup ("cannot set up the GnuTLS client");
      goto out;
    }
  gnutls_session_set_verify_cert (session, "127.0.0.1", 0);
  gnutls_transport_set_int (session, fd);
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
      {
        ssize_t ret;

        /* One message: full records, into the kernel in one write. */
        gnutls_record_cork (session);
        for (gsize off = 0; off < 4 + TLS_BULK_SIZE && *note == NULL; )
          {
            ret = gnutls_record_send (session, frame + off, MIN (TLS_RECORD, 4 + TLS_BULK_SIZE - off));
            if (ret < 0)
              *note = g_strdup_printf ("send: %s", gnutls_strerror (ret));
            else
              off += ret;
          }
        ret = gnutls_record_uncork (session, GNUTLS_RECORD_WAIT);
        if (ret < 0 && *note == NULL)
          *note = g_strdup_printf ("send: %s", gnutls_strerror (ret));
        if (*note == NULL)
          sent++;
      }
  gnutls_bye (session, GNUTLS_SHUT_WR);
  shutdown (fd, SHUT_WR);
  g_thread_join (g_steal_pointer (&thread));
  if (*note == NULL && s.error != NULL)
    *note = g_strdup_printf ("receiver: %s", s.error);
  else if (*note == NULL && s.messages != sent)
    *note = g_strdup_printf ("sent %" G_GUINT64_FORMAT " but received %" G_GUINT64_FORMAT, sent, s.messages);
  else if (*note == NULL && s.bad)
    *note = g_strdup ("the receiver saw bad frames");
  else if (*note == NULL && s.t_last > t0)
    rate = (double) sent * TLS_BULK_SIZE / 1e6 / ((s.t_last - t0) / 1e6);

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

/* ---- the case ------------------------------------------------------------------------ */

typedef struct {
  GMainContext *context;
  char        **suite;   /* (out) the raw run's negotiated parameters */
} Bulk;

/* libpost (0) or raw GnuTLS (1). */
static double
run_bulk (guint which, double seconds, gpointer user_data, char **note)
{
  Bulk *b = user_data;

  if (which == 0)
    return post_bench_bulk_libpost ("tls", POST_BENCH_BULK_SIZE, seconds, b->context, note);
  return bulk_raw (seconds, b->suite, note);
}

double
post_bench_tls_run (double seconds)
{
  static const char * const names[2] = { "libpost", "raw GnuTLS" };
  static const char * const labels[2] = { "libpost tls carrier", "raw GnuTLS, blocking sockets" };
  g_autoptr(GMainContext) context = NULL;
  PostBenchSeries bulk;
  PostBenchFirstResponse first;
  double per_round = seconds / POST_BENCH_ROUNDS;
  g_autofree char *suite = NULL;
  g_autoptr(GPtrArray) notes = g_ptr_array_new_with_free_func (g_free);
  guint n_connections = (guint) CLAMP (seconds * 50, 20, 500);
  double ratio;

  g_print ("\n(t) tls over 127.0.0.1: bulk against raw GnuTLS, and time to first response\n");
  if (!post_bench_certs_prepare ("post-bench-tls"))
    return 0;

  context = post_bench_context_new ();
  g_main_context_push_thread_default (context);
  post_bench_series_run (&bulk, "bulk", names, per_round, run_bulk, &(Bulk) { context, &suite }, notes);
  post_bench_first_response_run (&first, "tls", n_connections, context, notes);
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
  post_bench_first_response_print (&first, "(ii) tls time to first response", "t-first-response");
  post_bench_print_notes (notes);
  post_bench_certs_remove ();
  return ratio;
}
