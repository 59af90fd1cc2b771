/* post-bench-udp.c: udp datagrams per second, libpost against GIO
 *
 * One case, self-contained: 64-byte datagrams one way over 127.0.0.1 for
 * a fixed time, sent as fast as the sender can and counted where they
 * arrive, with the receiver in a second thread, in both directions of a
 * libpost association:
 *
 * - forward: a `udp` source carrier (a connected socket;
 *   post_carrier_send_bytes, flushing when the bounded queue is full) to a
 *   `udp` sink carrier (an unconnected socket) on its own GMainContext;
 * - reverse: the carrier a `udp` listener accepted (it sends on the
 *   listener's socket) to the connected client carrier that opened it, on
 *   its own GMainContext.
 *
 * Baseline for both: a connected GIO GSocket sending with g_socket_send()
 * to a GSocket that a thread reads with g_socket_receive() (both
 * blocking, no main loop).  UDP drops what the receiver cannot take, so
 * the figure is datagrams *received* per second; what was sent is printed
 * too.  Each round runs the three in an order rotated from round to round;
 * a ratio is taken within each round, and the median of those is printed
 * with its range.
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

typedef enum {
  UDP_BENCH_GIO,
  UDP_BENCH_FORWARD,
  UDP_BENCH_REVERSE,
  UDP_BENCH_N_KINDS
} UdpBenchKind;

typedef struct
{
  UdpBenchKind       kind;
  GSocketAddress    *address;    /* (owned) where the receiver listens */
  volatile gint      stop;
  guint64            received;
  GMutex             lock;
  GCond              cond;
  gboolean           ready;
  GMainContext      *context;    /* (owned) (nullable) the libpost receiver's */
  GSocketAddress    *listener;   /* (owned) (nullable) reverse: where to connect */
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

  if (r->kind == UDP_BENCH_REVERSE)
    {
      g_autoptr(PostConfiguration) config = udp_configuration ();
      g_autoptr(PostRemote) remote = post_remote_new_for_address (r->listener);
      g_autoptr(PostCarrier) client = NULL;
      g_autoptr(GBytes) hello = g_bytes_new_static ("hello", 5);

      g_main_context_push_thread_default (r->context);
      client = post_carrier_initiate (NULL, remote, config);
      post_carrier_ready (client, count_message, r, NULL);
      /* The listener accepts a carrier for it on its first datagram. */
      if (!post_carrier_send_bytes (client, hello, &error))
        g_error ("post-bench: udp client: %s", error->message);
      while (post_carrier_get_state (client) == POST_CARRIER_STATE_ESTABLISHING)
        g_main_context_iteration (r->context, TRUE);
      announce (r, post_carrier_get_local_address (client));
      while (!g_atomic_int_get (&r->stop))
        g_main_context_iteration (r->context, TRUE);
      post_carrier_abort (client);
      g_main_context_pop_thread_default (r->context);
    }
  else if (r->kind == UDP_BENCH_FORWARD)
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

static gboolean
take_incoming (PostCarrier  *listener,
               PostCarrier  *carrier,
               PostCarrier **peer)
{
  if (*peer == NULL)
    *peer = g_object_ref (carrier);
  return TRUE;
}

/* Sends 64-byte messages on @carrier as fast as the queue takes them until
 * @end, running the default main context between bursts.  Returns how many
 * were queued; what is still queued at the end is dropped. */
static guint64
libpost_send_until (PostCarrier *carrier,
                    GBytes      *bytes,
                    gint64       end)
{
  guint64 sent = 0;

  while (g_get_monotonic_time () < end)
    {
      for (guint i = 0; i < 256; i++)
        {
          if (post_carrier_send_bytes (carrier, bytes, NULL))
            sent++;
          else
            break;
        }
      g_main_context_iteration (NULL, FALSE);
    }
  post_carrier_abort (carrier);
  return sent;
}

/* One round: returns datagrams received per second; *sent_rate gets the
 * sender's rate. */
static double
run_round (UdpBenchKind  kind,
           double        seconds,
           double       *sent_rate)
{
  Receiver r = { 0 };
  GThread *thread;
  guint8 payload[UDP_BENCH_SIZE];
  guint64 sent = 0;
  gint64 start, end;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(PostCarrier) peer = NULL;

  memset (payload, 'x', sizeof payload);
  bytes = g_bytes_new_static (payload, sizeof payload);
  r.kind = kind;
  g_mutex_init (&r.lock);
  g_cond_init (&r.cond);
  if (kind != UDP_BENCH_GIO)
    r.context = g_main_context_new ();
  if (kind == UDP_BENCH_REVERSE)
    {
      g_autoptr(PostConfiguration) config = udp_configuration ();
      g_autoptr(PostLocal) local = post_local_new_from_uri ("udp://127.0.0.1:0", NULL);

      listener = post_carrier_listen (local, config, &error);
      if (listener == NULL)
        g_error ("post-bench: udp listener: %s", error->message);
      g_signal_connect (listener, "incoming", G_CALLBACK (take_incoming), &peer);
      r.listener = g_object_ref (post_carrier_get_local_address (listener));
    }
  thread = g_thread_new ("udp-receiver", receiver_thread, &r);
  g_mutex_lock (&r.lock);
  while (!r.ready)
    g_cond_wait (&r.cond, &r.lock);
  g_mutex_unlock (&r.lock);

  if (kind == UDP_BENCH_FORWARD)
    {
      g_autoptr(PostConfiguration) config = udp_configuration ();
      g_autoptr(PostRemote) remote = post_remote_new_for_address (r.address);
      g_autoptr(PostCarrier) source = post_carrier_new_source (NULL, remote, config);

      while (post_carrier_get_state (source) == POST_CARRIER_STATE_ESTABLISHING)
        g_main_context_iteration (NULL, TRUE);
      start = g_get_monotonic_time ();
      end = start + (gint64) (seconds * G_USEC_PER_SEC);
      sent = libpost_send_until (source, bytes, end);
    }
  else if (kind == UDP_BENCH_REVERSE)
    {
      while (peer == NULL)
        g_main_context_iteration (NULL, TRUE);
      start = g_get_monotonic_time ();
      end = start + (gint64) (seconds * G_USEC_PER_SEC);
      sent = libpost_send_until (peer, bytes, end);
      post_carrier_abort (listener);
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
  g_clear_object (&r.listener);
  g_clear_pointer (&r.context, g_main_context_unref);
  g_mutex_clear (&r.lock);
  g_cond_clear (&r.cond);
  return r.received / ((end - start) / (double) G_USEC_PER_SEC);
}

/* One direction's figures, printed and (with --json) as a case of its own;
 * sorts the arrays.  Returns the median of the per-round ratios. */
static double
report (const char *id,
        const char *name,
        double      seconds,
        const char *label,
        double     *received,
        double     *sent,
        double     *gio,
        double     *gio_sent)
{
  double ratios[UDP_BENCH_ROUNDS], ratio, median, median_sent, median_gio, median_gio_sent;
  ToolJson *json;

  for (guint i = 0; i < UDP_BENCH_ROUNDS; i++)
    ratios[i] = gio[i] > 0 ? received[i] / gio[i] : 0;
  ratio = post_bench_median (ratios, UDP_BENCH_ROUNDS);   /* sorts them */
  median = post_bench_median (received, UDP_BENCH_ROUNDS);
  median_sent = post_bench_median (sent, UDP_BENCH_ROUNDS);
  median_gio = post_bench_median (gio, UDP_BENCH_ROUNDS);
  median_gio_sent = post_bench_median (gio_sent, UDP_BENCH_ROUNDS);
  g_print ("    %-30s: %12.0f msg/s received (%12.0f sent), %.2f× GIO (rounds %.2f–%.2f)\n",
           label, median, median_sent, ratio, ratios[0], ratios[UDP_BENCH_ROUNDS - 1]);

  json = post_bench_json_begin (id, name, "msg/s");
  tool_json_double (json, "seconds", seconds, "%g");
  tool_json_int (json, "rounds", UDP_BENCH_ROUNDS);
  tool_json_int (json, "message_size", UDP_BENCH_SIZE);
  post_bench_json_figures (json);
  post_bench_json_value (json, "libpost", TRUE, median);
  post_bench_json_value (json, "libpost_sent", TRUE, median_sent);
  post_bench_json_begin_baselines (json);
  /* the median of the per-round ratios, as printed, and their range */
  post_bench_json_baseline (json, "GIO GSocket", TRUE, median_gio, ratio,
                            ratios[0], ratios[UDP_BENCH_ROUNDS - 1], UDP_BENCH_ROUNDS);
  post_bench_json_end_baselines (json);
  post_bench_json_value (json, "baseline_sent", TRUE, median_gio_sent);
  post_bench_json_target (json, "≥ 1.5× GIO", TRUE, ratio >= 1.5);
  post_bench_json_end (json);
  return ratio;
}

double
post_bench_udp_run (double seconds)
{
  double received[UDP_BENCH_N_KINDS][UDP_BENCH_ROUNDS];
  double sent[UDP_BENCH_N_KINDS][UDP_BENCH_ROUNDS];
  double gio[UDP_BENCH_ROUNDS], gio_sent[UDP_BENCH_ROUNDS];
  double per_round = seconds / UDP_BENCH_ROUNDS;
  double ratio;

  for (guint i = 0; i < UDP_BENCH_ROUNDS; i++)
    for (guint k = 0; k < UDP_BENCH_N_KINDS; k++)
      {
        UdpBenchKind kind = (i + k) % UDP_BENCH_N_KINDS;

        received[kind][i] = run_round (kind, per_round, &sent[kind][i]);
      }

  g_print ("\n(u) udp, %d B datagrams one way, received per second "
           "(median of %d rotated rounds of %.2f s; ratios per round)\n",
           UDP_BENCH_SIZE, UDP_BENCH_ROUNDS, per_round);
  /* report() sorts what it is given: the baseline goes as copies. */
  memcpy (gio, received[UDP_BENCH_GIO], sizeof gio);
  memcpy (gio_sent, sent[UDP_BENCH_GIO], sizeof gio_sent);
  ratio = report ("u", "udp, 64 B datagrams one way (source → sink), received", seconds,
                  "libpost udp source → udp sink", received[UDP_BENCH_FORWARD],
                  sent[UDP_BENCH_FORWARD], gio, gio_sent);
  memcpy (gio, received[UDP_BENCH_GIO], sizeof gio);
  memcpy (gio_sent, sent[UDP_BENCH_GIO], sizeof gio_sent);
  report ("u-reverse", "udp, 64 B datagrams one way (accepted → client), received", seconds,
          "libpost accepted → udp client", received[UDP_BENCH_REVERSE],
          sent[UDP_BENCH_REVERSE], gio, gio_sent);
  g_print ("    %-30s: %12.0f msg/s received (%12.0f sent)\n", "GIO GSocket → GSocket",
           post_bench_median (received[UDP_BENCH_GIO], UDP_BENCH_ROUNDS),
           post_bench_median (sent[UDP_BENCH_GIO], UDP_BENCH_ROUNDS));
  return ratio;
}
