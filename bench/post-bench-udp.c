/* post-bench-udp.c: udp datagrams per second, libpost against GIO
 *
 * One case, self-contained: 64-byte datagrams one way over 127.0.0.1 for
 * a fixed time, sent as fast as the sender can and counted where they
 * arrive, with the receiver in a second thread.  libpost: a `udp` source
 * carrier (post_carrier_send_bytes, flushing when the bounded queue is
 * full) to a `udp` sink carrier on its own GMainContext.  Baseline: a
 * connected GIO GSocket sending with g_socket_send() to a GSocket that a
 * thread reads with g_socket_receive() (both blocking, no main loop).  UDP
 * drops what the receiver cannot take, so the figure is datagrams
 * *received* per second; what was sent is printed too.  Rounds alternate
 * between the two; the median of each is compared.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>
#include <string.h>

#include "post-bench-udp.h"
#include "post-bench-util.h"
#include "post-bench-json.h"

#define UDP_BENCH_SIZE   64
#define UDP_BENCH_ROUNDS 3

typedef struct
{
  gboolean           use_libpost;
  GSocketAddress    *address;    /* (owned) where the receiver listens */
  volatile gint      stop;
  guint64            received;
  GMutex             lock;
  GCond              cond;
  gboolean           ready;
  GMainContext      *context;    /* (owned) (nullable) the libpost receiver's */
} Receiver;

static PostConfiguration *
udp_configuration (void)
{
  PostConfiguration *config = post_configuration_new ();
  const char *stacks[] = { "udp", NULL };

  post_configuration_set_preference (config, POST_SELECTION_RELIABILITY, POST_PREFERENCE_NO_PREFERENCE, NULL);
  post_configuration_set_preference (config, POST_SELECTION_PRESERVE_ORDER, POST_PREFERENCE_NO_PREFERENCE, NULL);
  post_configuration_set_preference (config, POST_SELECTION_CONGESTION_CONTROL, POST_PREFERENCE_NO_PREFERENCE, NULL);
  post_configuration_set_stacks (config, stacks, NULL);
  /* Enough room to keep the sender busy between main-loop iterations. */
  post_configuration_set_send_queue_limit (config, 256 * 1024, NULL);
  return config;
}

static gboolean
count_message (PostCarrier *sink, PostMessage *message, gpointer user_data)
{
  Receiver *r = user_data;

  r->received++;
  return TRUE;
}

static void
announce (Receiver *r, GSocketAddress *address)
{
  g_mutex_lock (&r->lock);
  r->address = g_object_ref (address);
  r->ready = TRUE;
  g_cond_signal (&r->cond);
  g_mutex_unlock (&r->lock);
}

static gpointer
receiver_thread (gpointer data)
{
  Receiver *r = data;
  g_autoptr(GError) error = NULL;

  if (r->use_libpost)
    {
      g_autoptr(PostConfiguration) config = udp_configuration ();
      g_autoptr(PostLocal) local = post_local_new_from_uri ("udp://127.0.0.1:0", NULL);
      g_autoptr(PostCarrier) sink = NULL;

      g_main_context_push_thread_default (r->context);
      sink = post_carrier_new_sink (local, NULL, config, &error);
      if (sink == NULL)
        g_error ("post-bench: udp sink: %s", error->message);
      post_carrier_ready (sink, count_message, r, NULL);
      announce (r, post_carrier_get_local_address (sink));
      while (!g_atomic_int_get (&r->stop))
        g_main_context_iteration (r->context, TRUE);
      post_carrier_abort (sink);
      g_main_context_pop_thread_default (r->context);
    }
  else
    {
      g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
      g_autoptr(GSocketAddress) any = g_inet_socket_address_new (lo, 0);
      g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                                G_SOCKET_PROTOCOL_UDP, &error);
      g_autoptr(GSocketAddress) bound = NULL;
      char buffer[2048];

      if (socket == NULL || !g_socket_bind (socket, any, FALSE, &error))
        g_error ("post-bench: GIO receiver: %s", error->message);
      g_socket_set_timeout (socket, 1);
      bound = g_socket_get_local_address (socket, NULL);
      announce (r, bound);
      while (!g_atomic_int_get (&r->stop))
        {
          if (g_socket_receive (socket, buffer, sizeof buffer, NULL, NULL) >= 0)
            r->received++;
        }
    }
  return NULL;
}

static void
wake_receiver (Receiver *r)
{
  g_atomic_int_set (&r->stop, 1);
  if (r->context != NULL)
    g_main_context_wakeup (r->context);
}

/* One round: returns datagrams received per second; *sent_rate gets the
 * sender's rate. */
static double
run_round (gboolean  use_libpost,
           double    seconds,
           double   *sent_rate)
{
  Receiver r = { 0 };
  GThread *thread;
  guint8 payload[UDP_BENCH_SIZE];
  guint64 sent = 0;
  gint64 start, end;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;

  memset (payload, 'x', sizeof payload);
  bytes = g_bytes_new_static (payload, sizeof payload);
  r.use_libpost = use_libpost;
  g_mutex_init (&r.lock);
  g_cond_init (&r.cond);
  if (use_libpost)
    r.context = g_main_context_new ();
  thread = g_thread_new ("udp-receiver", receiver_thread, &r);
  g_mutex_lock (&r.lock);
  while (!r.ready)
    g_cond_wait (&r.cond, &r.lock);
  g_mutex_unlock (&r.lock);

  if (use_libpost)
    {
      g_autoptr(PostConfiguration) config = udp_configuration ();
      g_autoptr(PostRemote) remote = post_remote_new_for_address (r.address);
      g_autoptr(PostCarrier) source = post_carrier_new_source (NULL, remote, config);

      while (post_carrier_get_state (source) == POST_CARRIER_STATE_ESTABLISHING)
        g_main_context_iteration (NULL, TRUE);
      start = g_get_monotonic_time ();
      end = start + (gint64) (seconds * G_USEC_PER_SEC);
      while (g_get_monotonic_time () < end)
        {
          for (guint i = 0; i < 256; i++)
            {
              if (post_carrier_send_bytes (source, bytes, NULL))
                sent++;
              else
                break;
            }
          g_main_context_iteration (NULL, FALSE);
        }
      /* What is still queued was not sent in time: drop it. */
      post_carrier_abort (source);
    }
  else
    {
      g_autoptr(GSocket) socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM,
                                                G_SOCKET_PROTOCOL_UDP, &error);

      if (socket == NULL || !g_socket_connect (socket, r.address, NULL, &error))
        g_error ("post-bench: GIO sender: %s", error->message);
      start = g_get_monotonic_time ();
      end = start + (gint64) (seconds * G_USEC_PER_SEC);
      while (g_get_monotonic_time () < end)
        for (guint i = 0; i < 256; i++)
          if (g_socket_send (socket, (const char *) payload, sizeof payload, NULL, NULL) > 0)
            sent++;
    }
  end = g_get_monotonic_time ();
  g_usleep (50 * 1000);   /* let the receiver drain its socket */
  wake_receiver (&r);
  g_thread_join (thread);

  *sent_rate = sent / ((end - start) / (double) G_USEC_PER_SEC);
  g_clear_object (&r.address);
  g_clear_pointer (&r.context, g_main_context_unref);
  g_mutex_clear (&r.lock);
  g_cond_clear (&r.cond);
  return r.received / ((end - start) / (double) G_USEC_PER_SEC);
}

double
post_bench_udp_run (double seconds)
{
  double libpost[UDP_BENCH_ROUNDS], gio[UDP_BENCH_ROUNDS];
  double libpost_sent[UDP_BENCH_ROUNDS], gio_sent[UDP_BENCH_ROUNDS];
  double per_round = seconds / UDP_BENCH_ROUNDS;
  double ratio, ratios[UDP_BENCH_ROUNDS];
  ToolJson *json;

  for (guint i = 0; i < UDP_BENCH_ROUNDS; i++)
    {
      if (i % 2 == 0)
        {
          libpost[i] = run_round (TRUE, per_round, &libpost_sent[i]);
          gio[i] = run_round (FALSE, per_round, &gio_sent[i]);
        }
      else
        {
          gio[i] = run_round (FALSE, per_round, &gio_sent[i]);
          libpost[i] = run_round (TRUE, per_round, &libpost_sent[i]);
        }
    }
  for (guint i = 0; i < UDP_BENCH_ROUNDS; i++)
    ratios[i] = gio[i] > 0 ? libpost[i] / gio[i] : 0;
  post_bench_median (ratios, UDP_BENCH_ROUNDS);   /* sorts them */
  qsort (libpost, UDP_BENCH_ROUNDS, sizeof (double), (GCompareFunc) post_bench_compare_doubles);
  qsort (gio, UDP_BENCH_ROUNDS, sizeof (double), (GCompareFunc) post_bench_compare_doubles);
  qsort (libpost_sent, UDP_BENCH_ROUNDS, sizeof (double), (GCompareFunc) post_bench_compare_doubles);
  qsort (gio_sent, UDP_BENCH_ROUNDS, sizeof (double), (GCompareFunc) post_bench_compare_doubles);
  ratio = gio[UDP_BENCH_ROUNDS / 2] > 0 ? libpost[UDP_BENCH_ROUNDS / 2] / gio[UDP_BENCH_ROUNDS / 2] : 0;

  g_print ("\n(u) udp, %d B datagrams one way, received per second "
           "(median of %d alternating rounds of %.2f s)\n",
           UDP_BENCH_SIZE, UDP_BENCH_ROUNDS, per_round);
  g_print ("    libpost udp source → udp sink : %12.0f msg/s received (%12.0f sent)\n",
           libpost[UDP_BENCH_ROUNDS / 2], libpost_sent[UDP_BENCH_ROUNDS / 2]);
  g_print ("    GIO GSocket → GSocket         : %12.0f msg/s received (%12.0f sent)\n",
           gio[UDP_BENCH_ROUNDS / 2], gio_sent[UDP_BENCH_ROUNDS / 2]);
  g_print ("    libpost/GIO ratio             : %.2f×\n", ratio);

  json = post_bench_json_begin ("u", "udp, 64 B datagrams one way, received", "msg/s");
  tool_json_double (json, "seconds", seconds, "%g");
  tool_json_int (json, "rounds", UDP_BENCH_ROUNDS);
  tool_json_int (json, "message_size", UDP_BENCH_SIZE);
  post_bench_json_figures (json);
  post_bench_json_value (json, "libpost", TRUE, libpost[UDP_BENCH_ROUNDS / 2]);
  post_bench_json_value (json, "libpost_sent", TRUE, libpost_sent[UDP_BENCH_ROUNDS / 2]);
  post_bench_json_begin_baselines (json);
  /* the ratio of the medians, as printed; the range is the per-round ratios' */
  post_bench_json_baseline (json, "GIO GSocket", TRUE, gio[UDP_BENCH_ROUNDS / 2], ratio,
                            ratios[0], ratios[UDP_BENCH_ROUNDS - 1], UDP_BENCH_ROUNDS);
  post_bench_json_end_baselines (json);
  post_bench_json_value (json, "baseline_sent", TRUE, gio_sent[UDP_BENCH_ROUNDS / 2]);
  post_bench_json_target (json, "≥ 1.5× GIO", TRUE, ratio >= 1.5);
  post_bench_json_end (json);
  return ratio;
}
