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
 * timeout (TLS_IO_TIMEOUT_S), and every wait a deadline.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>
#include "post-bench-tls.h"
#include "post-bench-secure.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <glib/gstdio.h>
#include <gnutls/gnutls.h>

#define TLS_BULK_SIZE    (64 * 1024)
#define TLS_REQUEST_SIZE 64
#define TLS_ROUNDS       5
#define TLS_RECORD       16384
#define TLS_BATCH        16
#define TLS_IO_TIMEOUT_S 10
#define TLS_FINAL_BIT    0x80000000u
/* The tls stack's default priority (plugins/tcp-tls/post-tls-psi.c). */
#define TLS_PRIORITY     "NORMAL:-VERS-ALL:+VERS-TLS1.3"

/* ---- the libpost tls listener, in its own thread ------------------------------------ */

typedef struct {
  gboolean      echo;         /* else count bulk messages */
  GMainContext *context;      /* (owned) */
  GMainLoop    *loop;         /* (owned) */
  GMutex        lock;
  GCond         cond;
  gboolean      started;
  guint16       port;
  char         *error;        /* (owned) (nullable) */
  GPtrArray    *carriers;     /* (owned) accepted carriers */
  gint          messages;     /* atomic */
  gint          bad;          /* atomic */
  gint64        t_last;       /* written before messages is incremented */
} Server;

static gboolean
server_on_ready (PostCarrier *carrier, PostMessage *message, gpointer user_data)
{
  Server *s = user_data;

  if (s->echo)
    {
      g_autoptr(PostMessage) reply = post_message_new (post_message_get_content (message));

      post_message_set_immediate (reply, TRUE, NULL);
      if (!post_carrier_send (carrier, reply, NULL))
        g_atomic_int_set (&s->bad, 1);
    }
  else if (post_message_get_size (message) != TLS_BULK_SIZE)
    g_atomic_int_set (&s->bad, 1);
  s->t_last = g_get_monotonic_time ();
  g_atomic_int_inc (&s->messages);
  return TRUE;
}

static void
server_on_closed (PostCarrier *carrier, const GError *error, gpointer user_data)
{
  Server *s = user_data;

  g_ptr_array_remove_fast (s->carriers, carrier);
}

static gboolean
server_on_incoming (PostCarrier *listener, PostCarrier *carrier, gpointer user_data)
{
  Server *s = user_data;

  g_ptr_array_add (s->carriers, g_object_ref (carrier));
  g_signal_connect (carrier, "closed", G_CALLBACK (server_on_closed), s);
  post_carrier_ready (carrier, server_on_ready, s, NULL);
  return TRUE;
}

static gpointer
server_thread (gpointer data)
{
  Server *s = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(PostLocal) local = NULL;
  g_autoptr(PostConfiguration) configuration = post_configuration_new ();
  g_autoptr(PostCarrier) listener = NULL;
  g_autofree char *cert = post_bench_cert_path ("server.pem");
  g_autofree char *key = post_bench_cert_path ("server.key");

  g_main_context_push_thread_default (s->context);
  local = post_local_new_from_uri ("tls://127.0.0.1:0", &error);
  if (local != NULL &&
      post_local_set_identity_from_files (local, cert, key, &error) &&
      post_configuration_set_stacks (configuration, (const char *[]) { "tls", NULL }, &error))
    listener = post_carrier_listen (local, configuration, &error);
  if (listener != NULL)
    {
      GSocketAddress *address = post_carrier_get_local_address (listener);

      if (G_IS_INET_SOCKET_ADDRESS (address))
        s->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address));
      g_signal_connect (listener, "incoming", G_CALLBACK (server_on_incoming), s);
    }

  g_mutex_lock (&s->lock);
  if (listener == NULL)
    s->error = g_strdup (error->message);
  else if (s->port == 0)
    s->error = g_strdup ("the listener has no port");
  s->started = TRUE;
  g_cond_signal (&s->cond);
  g_mutex_unlock (&s->lock);

  if (s->error == NULL)
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

static GThread *
server_start (Server *s, gboolean echo)
{
  GThread *thread;

  memset (s, 0, sizeof *s);
  s->echo = echo;
  s->context = g_main_context_new ();
  s->loop = g_main_loop_new (s->context, FALSE);
  s->carriers = g_ptr_array_new_with_free_func (g_object_unref);
  g_mutex_init (&s->lock);
  g_cond_init (&s->cond);
  thread = g_thread_new ("tls-receiver", server_thread, s);
  g_mutex_lock (&s->lock);
  while (!s->started)
    g_cond_wait (&s->cond, &s->lock);
  g_mutex_unlock (&s->lock);
  return thread;
}

static void
server_stop (Server *s, GThread *thread)
{
  g_main_context_invoke (s->context, post_bench_quit_loop, s->loop);
  g_thread_join (thread);
  g_ptr_array_unref (s->carriers);
  g_main_loop_unref (s->loop);
  g_main_context_unref (s->context);
  g_mutex_clear (&s->lock);
  g_cond_clear (&s->cond);
  g_free (s->error);
}

static PostRemote *
server_remote (Server *s)
{
  g_autofree char *uri = g_strdup_printf ("tls://127.0.0.1:%u", s->port);

  return post_remote_new_from_uri (uri, NULL);
}

/* ---- (i) bulk on a libpost tls carrier ------------------------------------------------ */

/* MB/s, or a negative value with *note set. */
static double
bulk_libpost (double seconds, GMainContext *context, char **note)
{
  Server s;
  GThread *thread = server_start (&s, FALSE);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(PostConfiguration) config = post_bench_client_configuration ("tls", "none");
  g_autoptr(PostRemote) remote = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(GBytes) payload = NULL;
  guint64 sent = 0;
  gint64 t0, end;
  double rate = -1;
  PostBenchWaiter w = { NULL };

  if (s.error != NULL)
    {
      *note = g_strdup_printf ("listen: %s", s.error);
      server_stop (&s, thread);
      return -1;
    }
  remote = server_remote (&s);
  carrier = post_carrier_initiate (NULL, remote, config);
  post_carrier_establish_async (carrier, cancellable, post_bench_waiter_cb, &w);
  if (!post_carrier_establish_finish (carrier, post_bench_waiter_wait (&w, context, cancellable), &error))
    {
      *note = g_strdup_printf ("establish: %s", error->message);
      goto out;
    }
  g_clear_object (&w.result);

  {
    guint8 *data = g_malloc (TLS_BULK_SIZE);

    memset (data, 'x', TLS_BULK_SIZE);
    payload = g_bytes_new_take (data, TLS_BULK_SIZE);
  }
  t0 = g_get_monotonic_time ();
  end = t0 + (gint64) (seconds * G_USEC_PER_SEC);
  while (*note == NULL && g_get_monotonic_time () < end)
    for (int i = 0; i < TLS_BATCH && *note == NULL; i++)
      {
        if (post_carrier_send_bytes (carrier, payload, &error))
          {
            sent++;
            continue;
          }
        if (g_error_matches (error, POST_ERROR, POST_ERROR_WOULD_BLOCK))
          {
            g_clear_error (&error);
            post_carrier_flush_async (carrier, cancellable, post_bench_waiter_cb, &w);
            if (post_carrier_flush_finish (carrier, post_bench_waiter_wait (&w, context, cancellable), &error))
              {
                g_clear_object (&w.result);
                i--;   /* retry */
                continue;
              }
            g_clear_object (&w.result);
          }
        *note = g_strdup_printf ("send: %s", error->message);
      }
  /* Let the queue drain and the receiver count everything. */
  post_bench_wait_for_count (context, &s.messages, sent);
  if (*note == NULL && (guint64) g_atomic_int_get (&s.messages) != sent)
    *note = g_strdup_printf ("sent %" G_GUINT64_FORMAT " but received %d", sent, g_atomic_int_get (&s.messages));
  else if (*note == NULL && g_atomic_int_get (&s.bad))
    *note = g_strdup ("the receiver saw messages of the wrong size");
  else if (*note == NULL && s.t_last > t0)
    rate = (double) sent * TLS_BULK_SIZE / 1e6 / ((s.t_last - t0) / 1e6);

out:
  g_clear_object (&w.result);
  if (carrier != NULL)
    post_carrier_abort (carrier);
  server_stop (&s, thread);
  while (g_main_context_iteration (context, FALSE))
    ;
  return rate;
}

/* ---- (i) bulk on raw GnuTLS over blocking sockets ---------------------------------------- */

typedef struct {
  guint8   header[4];
  guint    header_have;
  gsize    remaining;
  gsize    length;
  gboolean final;
  gboolean in_payload;
  guint64  messages;
  gboolean bad;
} Parser;

/* libpost's frames: 4-byte big-endian header, top bit "final chunk". */
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
          p->final = (word & TLS_FINAL_BIT) != 0;
          p->remaining = word & ~TLS_FINAL_BIT;
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
              if (p->length != TLS_BULK_SIZE)
                p->bad = TRUE;
              p->messages++;
              p->length = 0;
            }
        }
    }
}

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
  Parser parser = { 0 };
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
      parser_feed (&parser, buffer, n);
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
  g_autofree guint8 *frame = g_malloc (4 + TLS_BULK_SIZE);
  guint32 word = GUINT32_TO_BE ((guint32) TLS_BULK_SIZE | TLS_FINAL_BIT);
  GThread *thread = NULL;
  guint64 sent = 0;
  gint64 t0, end;
  double rate = -1;
  int fd = -1;

  memcpy (frame, &word, 4);
  memset (frame + 4, 'x', TLS_BULK_SIZE);
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

/* ---- (ii) time to first response ------------------------------------------------------ */

typedef enum { HS_FULL, HS_RESUMED, HS_ZERO_RTT, N_HS } HsKind;

static const char *hs_names[N_HS] = {
  "full handshake",
  "resumed (ticket)",
  "0-RTT (early data)",
};

typedef struct {
  gint64  replied_at;
  GError *error;   /* (owned) (nullable) */
} Reply;

static gboolean
on_reply (PostCarrier *carrier, PostMessage *message, gpointer user_data)
{
  ((Reply *) user_data)->replied_at = g_get_monotonic_time ();
  return FALSE;
}

static void
on_reply_closed (PostCarrier *carrier, const GError *error, gpointer user_data)
{
  Reply *r = user_data;

  if (error != NULL && r->error == NULL)
    r->error = g_error_copy (error);
}

/* One connection: ms from initiate to the reply, or a negative value with
 * *note set; *flags gets the carrier's security flags. */
static double
first_response (PostRemote *remote, PostConfiguration *config, gboolean idempotent,
                GMainContext *context, PostSecurityFlags *flags, char **note)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(PostMessage) request = NULL;
  g_autoptr(GError) error = NULL;
  guint8 payload[TLS_REQUEST_SIZE];
  gint64 t0, deadline;
  Reply r = { 0 };
  PostBenchWaiter w = { NULL };
  double ms = -1;

  memset (payload, 'q', sizeof payload);
  t0 = g_get_monotonic_time ();
  deadline = t0 + TLS_IO_TIMEOUT_S * G_USEC_PER_SEC;
  carrier = post_carrier_initiate (NULL, remote, config);
  request = post_message_new_from_data (payload, sizeof payload);
  post_message_set_immediate (request, TRUE, NULL);
  if (idempotent)
    post_message_set_idempotent (request, TRUE, NULL);
  g_signal_connect (carrier, "closed", G_CALLBACK (on_reply_closed), &r);
  post_carrier_ready (carrier, on_reply, &r, NULL);
  if (!post_carrier_send (carrier, request, &error))
    {
      *note = g_strdup_printf ("send: %s", error->message);
      goto out;
    }
  while (r.replied_at == 0 && r.error == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (context, TRUE);
  if (r.replied_at == 0)
    {
      *note = r.error != NULL ? g_strdup (r.error->message)
                              : g_strdup_printf ("no reply within %d s", TLS_IO_TIMEOUT_S);
      goto out;
    }
  ms = (r.replied_at - t0) / 1000.0;
  *flags = post_carrier_get_security_flags (carrier);

  /* A graceful close, not timed: the next connection starts clean. */
  post_carrier_close_async (carrier, cancellable, post_bench_waiter_cb, &w);
  post_carrier_close_finish (carrier, post_bench_waiter_wait (&w, context, cancellable), NULL);
  g_clear_object (&w.result);

out:
  g_signal_handlers_disconnect_by_func (carrier, on_reply_closed, &r);
  if (post_carrier_get_state (carrier) != POST_CARRIER_STATE_CLOSED)
    post_carrier_abort (carrier);
  g_clear_error (&r.error);
  return ms;
}

/* ---- the case ------------------------------------------------------------------------ */

double
post_bench_tls_run (double seconds)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GMainContext) context = NULL;
  GSource *ticker;
  double libpost[TLS_ROUNDS], raw[TLS_ROUNDS], ratios[TLS_ROUNDS];
  guint n_libpost = 0, n_raw = 0, n_ratios = 0;
  double per_round = seconds / TLS_ROUNDS;
  g_autofree char *suite = NULL;
  GPtrArray *notes = g_ptr_array_new_with_free_func (g_free);
  guint n_connections = (guint) CLAMP (seconds * 50, 20, 500);
  GArray *times[N_HS];
  guint unexpected[N_HS] = { 0 };
  double ratio = 0;
  g_autofree char *certtool = g_find_program_in_path ("certtool");

  g_print ("\n(t) tls over 127.0.0.1: bulk against raw GnuTLS, and time to first response\n");
  if (certtool == NULL)
    {
      g_print ("    skipped: certtool (Debian package gnutls-bin) is not installed\n");
      g_ptr_array_unref (notes);
      return 0;
    }
  if (!post_bench_certs_make ("post-bench-tls", &error))
    {
      g_print ("    skipped: certtool could not make the certificates: %s\n", error->message);
      post_bench_certs_remove ();
      g_ptr_array_unref (notes);
      return 0;
    }

  context = g_main_context_new ();
  ticker = g_timeout_source_new (100);   /* wakes the waits to check their deadlines */
  g_source_set_callback (ticker, post_bench_tick, NULL, NULL);
  g_source_attach (ticker, context);
  g_source_unref (ticker);
  g_main_context_push_thread_default (context);

  /* (i) bulk, alternating rounds */
  for (guint round = 0; round < TLS_ROUNDS; round++)
    {
      double l = -1, r = -1;

      for (guint j = 0; j < 2; j++)
        {
          char *note = NULL;

          if ((round + j) % 2 == 0)
            l = bulk_libpost (per_round, context, &note);
          else
            r = bulk_raw (per_round, &suite, &note);
          if (note != NULL)
            g_ptr_array_add (notes, g_strdup_printf ("bulk round %u, %s: %s", round + 1,
                                                     (round + j) % 2 == 0 ? "libpost" : "raw GnuTLS", note));
          g_free (note);
        }
      if (l > 0)
        libpost[n_libpost++] = l;
      if (r > 0)
        raw[n_raw++] = r;
      if (l > 0 && r > 0)
        ratios[n_ratios++] = l / r;
    }

  /* (ii) time to first response, the three kinds interleaved */
  {
    Server s;
    GThread *thread = server_start (&s, TRUE);
    g_autoptr(PostConfiguration) full = post_bench_client_configuration ("tls", "none");
    g_autoptr(PostConfiguration) resumable = post_bench_client_configuration ("tls", "memory");
    g_autoptr(PostRemote) remote = NULL;
    PostSecurityFlags flags = 0;
    char *note = NULL;

    for (int k = 0; k < N_HS; k++)
      times[k] = g_array_new (FALSE, FALSE, sizeof (double));
    if (s.error != NULL)
      note = g_strdup_printf ("listen: %s", s.error);
    else
      {
        remote = server_remote (&s);
        /* A first connection for the association's first ticket. */
        first_response (remote, resumable, FALSE, context, &flags, &note);
      }
    for (guint i = 0; i < n_connections && note == NULL; i++)
      for (guint j = 0; j < N_HS && note == NULL; j++)
        {
          HsKind kind = (i + j) % N_HS;
          double ms;

          flags = 0;
          ms = first_response (remote, kind == HS_FULL ? full : resumable, kind == HS_ZERO_RTT,
                               context, &flags, &note);
          if (ms < 0)
            break;
          g_array_append_val (times[kind], ms);
          if ((kind == HS_FULL && (flags & POST_SECURITY_RESUMED)) ||
              (kind == HS_RESUMED && (!(flags & POST_SECURITY_RESUMED) || (flags & POST_SECURITY_EARLY_DATA_SENT))) ||
              (kind == HS_ZERO_RTT && !(flags & POST_SECURITY_EARLY_DATA_ACCEPTED)))
            unexpected[kind]++;
        }
    if (note != NULL)
      g_ptr_array_add (notes, g_strdup_printf ("first response: %s", note));
    g_free (note);
    server_stop (&s, thread);
  }
  while (g_main_context_iteration (context, FALSE))
    ;
  g_main_context_pop_thread_default (context);

  /* The table */
  g_print ("    %s (priority %s), ECDSA P-256 certificates\n",
           suite != NULL ? suite : "TLS 1.3", TLS_PRIORITY);
  g_print ("    (i) bulk, %d KiB messages one way, MB/s (median of %d alternating rounds of %.2f s)\n",
           TLS_BULK_SIZE / 1024, TLS_ROUNDS, per_round);
  if (n_libpost > 0)
    g_print ("        libpost tls carrier           : %10.1f MB/s\n", post_bench_median (libpost, n_libpost));
  else
    g_print ("        libpost tls carrier           :     failed\n");
  if (n_raw > 0)
    g_print ("        raw GnuTLS, blocking sockets  : %10.1f MB/s\n", post_bench_median (raw, n_raw));
  else
    g_print ("        raw GnuTLS, blocking sockets  :     failed\n");
  if (n_ratios > 0)
    {
      ratio = post_bench_median (ratios, n_ratios);
      g_print ("        libpost/raw ratio             : %10.2f×  (rounds %.2f–%.2f, %u of %d)\n",
               ratio, ratios[0], ratios[n_ratios - 1], n_ratios, TLS_ROUNDS);
    }
  g_print ("    (ii) time to first response (initiate → %d-byte echo back), ms, over %u connections each\n",
           TLS_REQUEST_SIZE, n_connections);
  g_print ("        %-29s : %10s %10s %10s\n", "", "median", "p10", "p90");
  for (int k = 0; k < N_HS; k++)
    {
      GArray *t = times[k];
      const double *sorted;

      g_array_sort (t, post_bench_compare_doubles);
      sorted = (const double *) (gpointer) t->data;
      if (t->len == 0)
        g_print ("        %-29s :     failed\n", hs_names[k]);
      else
        g_print ("        %-29s : %10.3f %10.3f %10.3f%s\n", hs_names[k],
                 t->len % 2 ? sorted[t->len / 2] : (sorted[t->len / 2 - 1] + sorted[t->len / 2]) / 2,
                 post_bench_percentile (sorted, t->len, 10), post_bench_percentile (sorted, t->len, 90),
                 t->len < n_connections ? "  (incomplete)" : "");
      if (unexpected[k] > 0)
        g_print ("        %-29s   %u of %u connections were not what the kind says\n", "", unexpected[k], t->len);
      g_array_unref (t);
    }
  for (guint i = 0; i < notes->len; i++)
    g_print ("    note: %s\n", (const char *) notes->pdata[i]);
  g_ptr_array_unref (notes);
  post_bench_certs_remove ();
  return ratio;
}
