/* post-bench-quic.c: the quic case of post-bench, (q)
 *
 * Three measurements over 127.0.0.1, in one run:
 *
 * (i) Bulk: 64 KiB messages one way for a fixed time, MB/s (10^6 bytes of
 *     payload) from the first send to the receipt of the last message,
 *     with the receiver in a second thread:
 *       quic:  a libpost `quic` carrier (one bidirectional stream of a QUIC
 *              connection, ngtcp2 + GnuTLS) to a libpost `quic` listener;
 *       tls:   a libpost `tls` carrier (TLS 1.3 over TCP) to a libpost `tls`
 *              listener, written the same way.
 *     Both use post_carrier_send_bytes, flushing when the bounded queue is
 *     full, on the measuring thread's main context; the accepted carrier
 *     counts messages on its own main context.  Rounds alternate between
 *     the two (the order rotates); the figure is the median over the
 *     rounds, and the quic/tls ratio is taken within each round.
 *
 * (ii) Message rate: the same, with 64-byte messages (msg/s from the first
 *     send to the receipt of the last message), rounds alternating between
 *     quic and tls in the same way, the quic/tls ratio taken within each
 *     round.  It measures the per-message cost (framing, one stream write
 *     per batch, ngtcp2 packetization, one sendto() per packet) rather
 *     than the bytes.
 *
 * (iii) Time to first response over quic: from post_carrier_initiate() to
 *     the arrival of the reply, for a client that sends one 64-byte request
 *     which a libpost quic echo listener (in another thread) sends back:
 *       full:     no session cache (`tls.session-cache` "none");
 *       resumed:  the association's newest session ticket; the request is
 *                 not idempotent, so it waits for the handshake's end;
 *       0-RTT:    the same, the request marked idempotent: it goes in 0-RTT
 *                 packets with the Initial.
 *     The kinds are interleaved connection by connection, and each
 *     connection's security flags are checked: connections that were not
 *     what their kind says (not resumed, early data not accepted) are
 *     counted and printed next to the figure.
 *
 * The certificates are made with certtool in a temporary directory, as in
 * post-bench-tls.c.  Every wait has a deadline (Q_IO_TIMEOUT_S).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>
#include "post-bench-quic.h"
#include "post-bench-secure.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <glib/gstdio.h>

#define Q_BULK_SIZE    (64 * 1024)
#define Q_SMALL_SIZE   64
#define Q_REQUEST_SIZE 64
#define Q_ROUNDS       5
#define Q_BATCH        16
#define Q_IO_TIMEOUT_S 10

/* ---- a libpost listener (quic or tls), in its own thread ------------------------------------ */

typedef struct {
  const char   *stack;        /* "quic" or "tls" */
  gboolean      echo;         /* else count bulk messages */
  gsize         size;         /* of the counted messages */
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
  else if (post_message_get_size (message) != s->size)
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
  g_autofree char *uri = g_strdup_printf ("%s://127.0.0.1:0", s->stack);

  g_main_context_push_thread_default (s->context);
  local = post_local_new_from_uri (uri, &error);
  if (local != NULL &&
      post_local_set_identity_from_files (local, cert, key, &error) &&
      post_configuration_set_stacks (configuration, (const char *[]) { s->stack, NULL }, &error))
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
server_start (Server *s, const char *stack, gboolean echo, gsize size)
{
  GThread *thread;

  memset (s, 0, sizeof *s);
  s->stack = stack;
  s->echo = echo;
  s->size = size;
  s->context = g_main_context_new ();
  s->loop = g_main_loop_new (s->context, FALSE);
  s->carriers = g_ptr_array_new_with_free_func (g_object_unref);
  g_mutex_init (&s->lock);
  g_cond_init (&s->cond);
  thread = g_thread_new ("quic-bench-receiver", server_thread, s);
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
  g_autofree char *uri = g_strdup_printf ("%s://127.0.0.1:%u", s->stack, s->port);

  return post_remote_new_from_uri (uri, NULL);
}

/* ---- (i) bulk on a libpost carrier (quic or tls) ------------------------------------------------ */

/* @size-byte messages one way: MB/s (Q_BULK_SIZE) or messages per second
 * (other sizes), or a negative value with *note set. */
static double
bulk_libpost (const char *stack, gsize size, double seconds, GMainContext *context, char **note)
{
  Server s;
  GThread *thread = server_start (&s, stack, FALSE, size);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(PostConfiguration) config = post_bench_client_configuration (stack, "none");
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
    guint8 *data = g_malloc (size);

    memset (data, 'x', size);
    payload = g_bytes_new_take (data, size);
  }
  t0 = g_get_monotonic_time ();
  end = t0 + (gint64) (seconds * G_USEC_PER_SEC);
  while (*note == NULL && g_get_monotonic_time () < end)
    for (int i = 0; i < Q_BATCH && *note == NULL; i++)
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
  else if (*note == NULL && s.t_last > t0 && size == Q_BULK_SIZE)
    rate = (double) sent * Q_BULK_SIZE / 1e6 / ((s.t_last - t0) / 1e6);
  else if (*note == NULL && s.t_last > t0)
    rate = (double) sent / ((s.t_last - t0) / 1e6);

out:
  g_clear_object (&w.result);
  if (carrier != NULL)
    post_carrier_abort (carrier);
  server_stop (&s, thread);
  while (g_main_context_iteration (context, FALSE))
    ;
  return rate;
}

/* ---- (iii) time to first response ------------------------------------------------------ */

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
  guint8 payload[Q_REQUEST_SIZE];
  gint64 t0, deadline;
  Reply r = { 0 };
  PostBenchWaiter w = { NULL };
  double ms = -1;

  memset (payload, 'q', sizeof payload);
  t0 = g_get_monotonic_time ();
  deadline = t0 + Q_IO_TIMEOUT_S * G_USEC_PER_SEC;
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
                              : g_strdup_printf ("no reply within %d s", Q_IO_TIMEOUT_S);
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
post_bench_quic_run (double seconds)
{
  static const char *stacks[2] = { "quic", "tls" };
  g_autoptr(GError) error = NULL;
  g_autoptr(GMainContext) context = NULL;
  GSource *ticker;
  double rates[2][Q_ROUNDS], ratios[Q_ROUNDS];
  guint n_rates[2] = { 0, 0 }, n_ratios = 0;
  double msg_rates[2][Q_ROUNDS], msg_ratios[Q_ROUNDS];
  guint n_msg_rates[2] = { 0, 0 }, n_msg_ratios = 0;
  double per_round = seconds / Q_ROUNDS;
  GPtrArray *notes = g_ptr_array_new_with_free_func (g_free);
  guint n_connections = (guint) CLAMP (seconds * 50, 20, 500);
  GArray *times[N_HS];
  guint unexpected[N_HS] = { 0 };
  double ratio = 0;
  g_autofree char *certtool = g_find_program_in_path ("certtool");
  PostRegistry *registry = post_registry_get_default ();

  g_print ("\n(q) quic over 127.0.0.1: bulk and 64-byte message rate against the libpost tls carrier, and time to first response\n");
  if (post_registry_lookup_stack (registry, "quic") == NULL)
    {
      g_print ("    skipped: the quic plugin is not loaded\n");
      g_ptr_array_unref (notes);
      return 0;
    }
  if (certtool == NULL)
    {
      g_print ("    skipped: certtool (Debian package gnutls-bin) is not installed\n");
      g_ptr_array_unref (notes);
      return 0;
    }
  if (!post_bench_certs_make ("post-bench-quic", &error))
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
  for (guint round = 0; round < Q_ROUNDS; round++)
    {
      double r[2] = { -1, -1 };

      for (guint j = 0; j < 2; j++)
        {
          guint which = (round + j) % 2;
          char *note = NULL;

          r[which] = bulk_libpost (stacks[which], Q_BULK_SIZE, per_round, context, &note);
          if (note != NULL)
            g_ptr_array_add (notes, g_strdup_printf ("bulk round %u, %s: %s", round + 1, stacks[which], note));
          g_free (note);
        }
      for (guint k = 0; k < 2; k++)
        if (r[k] > 0)
          rates[k][n_rates[k]++] = r[k];
      if (r[0] > 0 && r[1] > 0)
        ratios[n_ratios++] = r[0] / r[1];
    }

  /* (ii) 64-byte message rate, alternating rounds */
  for (guint round = 0; round < Q_ROUNDS; round++)
    {
      double r[2] = { -1, -1 };

      for (guint j = 0; j < 2; j++)
        {
          guint which = (round + j) % 2;
          char *note = NULL;

          r[which] = bulk_libpost (stacks[which], Q_SMALL_SIZE, per_round, context, &note);
          if (note != NULL)
            g_ptr_array_add (notes, g_strdup_printf ("message rate round %u, %s: %s", round + 1, stacks[which], note));
          g_free (note);
        }
      for (guint k = 0; k < 2; k++)
        if (r[k] > 0)
          msg_rates[k][n_msg_rates[k]++] = r[k];
      if (r[0] > 0 && r[1] > 0)
        msg_ratios[n_msg_ratios++] = r[0] / r[1];
    }

  /* (iii) time to first response over quic, the kinds interleaved */
  {
    Server s;
    GThread *thread = server_start (&s, "quic", TRUE, Q_REQUEST_SIZE);
    g_autoptr(PostConfiguration) full = post_bench_client_configuration ("quic", "none");
    g_autoptr(PostConfiguration) resumable = post_bench_client_configuration ("quic", "memory");
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
  g_print ("    (i) bulk, %d KiB messages one way, MB/s (median of %d alternating rounds of %.2f s)\n",
           Q_BULK_SIZE / 1024, Q_ROUNDS, per_round);
  for (guint k = 0; k < 2; k++)
    if (n_rates[k] > 0)
      g_print ("        libpost %-4s carrier          : %10.1f MB/s\n", stacks[k], post_bench_median (rates[k], n_rates[k]));
    else
      g_print ("        libpost %-4s carrier          :     failed\n", stacks[k]);
  if (n_ratios > 0)
    {
      ratio = post_bench_median (ratios, n_ratios);
      g_print ("        quic/tls ratio                : %10.2f×  (rounds %.2f–%.2f, %u of %d)\n",
               ratio, ratios[0], ratios[n_ratios - 1], n_ratios, Q_ROUNDS);
    }
  g_print ("    (ii) %d-byte messages one way, msg/s (median of %d alternating rounds of %.2f s)\n",
           Q_SMALL_SIZE, Q_ROUNDS, per_round);
  for (guint k = 0; k < 2; k++)
    if (n_msg_rates[k] > 0)
      g_print ("        libpost %-4s carrier          : %10.0f msg/s\n", stacks[k],
               post_bench_median (msg_rates[k], n_msg_rates[k]));
    else
      g_print ("        libpost %-4s carrier          :     failed\n", stacks[k]);
  if (n_msg_ratios > 0)
    {
      double msg_ratio = post_bench_median (msg_ratios, n_msg_ratios);

      g_print ("        quic/tls ratio                : %10.2f×  (rounds %.2f–%.2f, %u of %d)\n",
               msg_ratio, msg_ratios[0], msg_ratios[n_msg_ratios - 1], n_msg_ratios, Q_ROUNDS);
    }
  g_print ("    (iii) quic time to first response (initiate → %d-byte echo back), ms, over %u connections each\n",
           Q_REQUEST_SIZE, n_connections);
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
