/* post-bench-sctp.c: sctp messages per second, libpost against raw usrsctp
 *
 * One case, self-contained: 64-byte and 16 KiB messages one way over
 * SCTP in UDP (RFC 6951) on 127.0.0.1 for a fixed time, counted where they
 * arrive, with the receiver in a second thread.  libpost: an `sctp`
 * carrier (post_carrier_send_bytes, flushing when the bounded queue is
 * full) to a listener's carrier on its own GMainContext.  Baseline: a raw
 * usrsctp loop written with the same care — blocking usrsctp_sendv() of
 * whole messages with SCTP_NODELAY from one thread, blocking
 * usrsctp_recvv() in another, and usrsctp's own UDP encapsulation on
 * loopback.  usrsctp is one per process and libpost's runs without
 * threads, so the baseline runs in a child process (post-bench
 * --sctp-raw-child SIZE SECONDS, which prints its rate).  Rounds alternate
 * between the two; the medians are compared.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>
#include <errno.h>
#include <string.h>
#include <stdlib.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <usrsctp.h>

#include "post-bench-sctp.h"
#include "post-bench-util.h"
#include "post-bench-json.h"

#define SCTP_BENCH_ROUNDS 3
#define SCTP_RAW_PORT     5001     /* the SCTP port inside the child */

static const gsize sctp_bench_sizes[] = { 64, 16384 };

typedef struct
{
  gsize          size;
  GMainContext  *context;     /* (owned) the receiver's */
  PostCarrier   *listener;    /* (owned) */
  volatile gint  stop;
  gint64         end;         /* what arrives after it is not counted */
  guint64        received;
  GMutex         lock;
  GCond          cond;
  guint16        port;
  gboolean       ready;
} Receiver;

static PostConfiguration *
sctp_configuration (void)
{
  PostConfiguration *config = post_configuration_new ();
  const char *stacks[] = { "sctp", NULL };

  post_configuration_set_stacks (config, stacks, NULL);
  /* Enough room to keep the sender busy between main-loop iterations. */
  post_configuration_set_send_queue_limit (config, 128 * 1024, NULL);
  return config;
}

static gboolean
count_message (PostCarrier *carrier, PostMessage *message, gpointer user_data)
{
  Receiver *r = user_data;

  if (g_get_monotonic_time () <= r->end)
    r->received++;
  return TRUE;
}

static gboolean
accept_cb (PostCarrier *listener, PostCarrier *carrier, gpointer user_data)
{
  post_carrier_ready (carrier, count_message, user_data, NULL);
  g_object_set_data_full (G_OBJECT (listener), "post-bench-carrier", g_object_ref (carrier), g_object_unref);
  return TRUE;
}

static gpointer
receiver_thread (gpointer data)
{
  Receiver *r = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(PostConfiguration) config = sctp_configuration ();
  g_autoptr(PostLocal) local = post_local_new_from_uri ("sctp://127.0.0.1:0", NULL);

  g_main_context_push_thread_default (r->context);
  r->listener = post_carrier_listen (local, config, &error);
  if (r->listener == NULL)
    g_error ("post-bench: sctp listener: %s", error->message);
  g_signal_connect (r->listener, "incoming", G_CALLBACK (accept_cb), r);
  g_mutex_lock (&r->lock);
  r->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (post_carrier_get_local_address (r->listener)));
  r->ready = TRUE;
  g_cond_signal (&r->cond);
  g_mutex_unlock (&r->lock);
  while (!g_atomic_int_get (&r->stop))
    g_main_context_iteration (r->context, TRUE);
  g_object_set_data (G_OBJECT (r->listener), "post-bench-carrier", NULL);
  post_carrier_abort (r->listener);
  g_clear_object (&r->listener);
  post_bench_context_drain (r->context);
  g_main_context_pop_thread_default (r->context);
  return NULL;
}

/* One libpost round: messages received per second. */
static double
run_libpost (gsize  size,
             double seconds)
{
  Receiver r = { 0 };
  GThread *thread;
  g_autofree guint8 *payload = g_malloc (size);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PostConfiguration) config = sctp_configuration ();
  g_autoptr(PostRemote) remote = NULL;
  g_autoptr(PostCarrier) carrier = NULL;
  g_autofree char *uri = NULL;
  guint64 sent = 0;
  gint64 start;

  memset (payload, 'x', size);
  bytes = g_bytes_new_static (payload, size);
  r.size = size;
  r.context = g_main_context_new ();
  r.end = G_MAXINT64;
  g_mutex_init (&r.lock);
  g_cond_init (&r.cond);
  thread = g_thread_new ("sctp-receiver", receiver_thread, &r);
  g_mutex_lock (&r.lock);
  while (!r.ready)
    g_cond_wait (&r.cond, &r.lock);
  g_mutex_unlock (&r.lock);

  uri = g_strdup_printf ("sctp://127.0.0.1:%u", r.port);
  remote = post_remote_new_from_uri (uri, NULL);
  carrier = post_carrier_initiate (NULL, remote, config);
  if (!post_bench_carrier_run (carrier, post_carrier_establish_async, post_carrier_establish_finish,
                               g_main_context_default (), NULL, &error))
    g_error ("post-bench: sctp: %s", error->message);
  start = g_get_monotonic_time ();
  r.end = start + (gint64) (seconds * G_USEC_PER_SEC);
  if (!post_bench_send_until (carrier, bytes, 64, r.end, g_main_context_default (), NULL, &sent, &error))
    g_error ("post-bench: sctp send: %s", error->message);
  /* What is still queued was sent too late to count. */
  post_carrier_abort (carrier);
  g_clear_object (&carrier);
  post_bench_context_drain (g_main_context_default ());
  g_usleep (20 * 1000);
  g_atomic_int_set (&r.stop, 1);
  g_main_context_wakeup (r.context);
  g_thread_join (thread);
  g_main_context_unref (r.context);
  g_mutex_clear (&r.lock);
  g_cond_clear (&r.cond);
  return r.received / seconds;
}

/* ---- the raw usrsctp baseline, in a child process ------------------------- */

typedef struct
{
  struct socket *listen_so;
  gsize          size;
  gint64         end;
  guint64        received;
} RawReceiver;

static gpointer
raw_receiver_thread (gpointer data)
{
  RawReceiver *r = data;
  struct socket *so = usrsctp_accept (r->listen_so, NULL, NULL);
  g_autofree guint8 *buffer = g_malloc (65536);

  if (so == NULL)
    g_error ("raw usrsctp: accept: %s", g_strerror (errno));
  for (;;)
    {
      struct sctp_rcvinfo info;
      socklen_t info_len = sizeof info;
      unsigned int info_type = 0;
      int flags = 0;
      ssize_t n = usrsctp_recvv (so, buffer, 65536, NULL, NULL, &info, &info_len, &info_type, &flags);

      if (n <= 0)
        break;
      if ((flags & MSG_EOR) && !(flags & MSG_NOTIFICATION) && g_get_monotonic_time () <= r->end)
        r->received++;
    }
  usrsctp_close (so);
  return NULL;
}

int
post_bench_sctp_raw_child (int    argc,
                           char **argv)
{
  gsize size = argc > 2 ? g_ascii_strtoull (argv[2], NULL, 10) : 64;
  double seconds = argc > 3 ? g_ascii_strtod (argv[3], NULL) : 1.0;
  guint16 udp_port = argc > 4 ? (guint16) g_ascii_strtoull (argv[4], NULL, 10) : 9899;
  struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons (SCTP_RAW_PORT),
                              .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  struct sctp_udpencaps encaps = { 0 };
  struct sctp_sndinfo info = { .snd_flags = SCTP_EOR };
  struct socket *listen_so, *so;
  RawReceiver r = { 0 };
  g_autofree guint8 *payload = g_malloc (size);
  GThread *thread;
  const int on = 1;
  const int raw_buffer = 1024 * 1024;
  gint64 start;

  memset (payload, 'x', size);
  usrsctp_init (udp_port, NULL, NULL);
  usrsctp_sysctl_set_sctp_blackhole (2);
  listen_so = usrsctp_socket (AF_INET, SOCK_STREAM, IPPROTO_SCTP, NULL, NULL, 0, NULL);
  /* The plugin's buffers (plugins/sctp: 1 MiB to send, a 1 MiB receive
   * window), which the accepted socket inherits */
  if (listen_so != NULL)
    {
      usrsctp_setsockopt (listen_so, SOL_SOCKET, SO_SNDBUF, &raw_buffer, sizeof raw_buffer);
      usrsctp_setsockopt (listen_so, SOL_SOCKET, SO_RCVBUF, &raw_buffer, sizeof raw_buffer);
    }
  if (listen_so == NULL || usrsctp_bind (listen_so, (struct sockaddr *) &addr, sizeof addr) < 0
      || usrsctp_listen (listen_so, 1) < 0)
    g_error ("raw usrsctp: listen: %s", g_strerror (errno));
  r.listen_so = listen_so;
  r.size = size;
  r.end = G_MAXINT64;
  thread = g_thread_new ("raw-receiver", raw_receiver_thread, &r);

  so = usrsctp_socket (AF_INET, SOCK_STREAM, IPPROTO_SCTP, NULL, NULL, 0, NULL);
  if (so == NULL)
    g_error ("raw usrsctp: socket: %s", g_strerror (errno));
  usrsctp_setsockopt (so, IPPROTO_SCTP, SCTP_NODELAY, &on, sizeof on);
  usrsctp_setsockopt (so, SOL_SOCKET, SO_SNDBUF, &raw_buffer, sizeof raw_buffer);
  usrsctp_setsockopt (so, SOL_SOCKET, SO_RCVBUF, &raw_buffer, sizeof raw_buffer);
  memcpy (&encaps.sue_address, &addr, sizeof addr);
  encaps.sue_address.ss_family = AF_INET;
  encaps.sue_port = htons (udp_port);
  /* The same encapsulation as libpost's: SCTP in UDP to the peer's port. */
  if (usrsctp_setsockopt (so, IPPROTO_SCTP, SCTP_REMOTE_UDP_ENCAPS_PORT, &encaps, sizeof encaps) < 0)
    g_error ("raw usrsctp: SCTP_REMOTE_UDP_ENCAPS_PORT: %s", g_strerror (errno));
  if (usrsctp_connect (so, (struct sockaddr *) &addr, sizeof addr) < 0)
    g_error ("raw usrsctp: connect: %s", g_strerror (errno));
  start = g_get_monotonic_time ();
  r.end = start + (gint64) (seconds * G_USEC_PER_SEC);
  while (g_get_monotonic_time () < r.end)
    if (usrsctp_sendv (so, payload, size, NULL, 0, &info, sizeof info, SCTP_SENDV_SNDINFO, 0) < 0)
      g_error ("raw usrsctp: send: %s", g_strerror (errno));
  usrsctp_shutdown (so, SHUT_WR);
  g_thread_join (thread);
  usrsctp_close (so);
  usrsctp_close (listen_so);
  g_print ("%.0f\n", r.received / seconds);
  return 0;
}

/* One raw round, in a child: messages received per second. */
static double
run_raw (const char *self,
         gsize       size,
         double      seconds)
{
  g_autofree char *size_s = g_strdup_printf ("%" G_GSIZE_FORMAT, size);
  g_autofree char *seconds_s = g_strdup_printf ("%.3f", seconds);
  g_autofree char *port_s = NULL;
  g_autofree char *out = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) probe = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_DATAGRAM, G_SOCKET_PROTOCOL_UDP, NULL);
  g_autoptr(GInetAddress) lo = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (lo, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GSubprocess) child = NULL;

  /* A UDP port that was free a moment ago, for usrsctp's encapsulation. */
  if (probe == NULL || !g_socket_bind (probe, any, FALSE, NULL)
      || (bound = g_socket_get_local_address (probe, NULL)) == NULL)
    g_error ("post-bench: no free UDP port");
  port_s = g_strdup_printf ("%u", g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
  g_socket_close (probe, NULL);
  child = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error,
                            self, "--sctp-raw-child", size_s, seconds_s, port_s, NULL);
  if (child == NULL || !g_subprocess_communicate_utf8 (child, NULL, NULL, &out, NULL, &error))
    g_error ("post-bench: raw usrsctp child: %s", error->message);
  if (!g_subprocess_get_successful (child) || out == NULL)
    g_error ("post-bench: the raw usrsctp child failed");
  return g_ascii_strtod (out, NULL);
}

double
post_bench_sctp_run (const char *self,
                     double      seconds)
{
  double per_round = seconds / SCTP_BENCH_ROUNDS / G_N_ELEMENTS (sctp_bench_sizes);
  double worst = G_MAXDOUBLE;

  g_print ("\n(s) sctp over UDP, messages one way, received per second "
           "(median of %d alternating rounds of %.2f s)\n", SCTP_BENCH_ROUNDS, per_round);
  for (guint k = 0; k < G_N_ELEMENTS (sctp_bench_sizes); k++)
    {
      double libpost[SCTP_BENCH_ROUNDS], raw[SCTP_BENCH_ROUNDS];
      gsize size = sctp_bench_sizes[k];
      double lp, rw, ratio;

      for (guint i = 0; i < SCTP_BENCH_ROUNDS; i++)
        {
          if (i % 2 == 0)
            {
              libpost[i] = run_libpost (size, per_round);
              raw[i] = run_raw (self, size, per_round);
            }
          else
            {
              raw[i] = run_raw (self, size, per_round);
              libpost[i] = run_libpost (size, per_round);
            }
        }
      lp = post_bench_median (libpost, SCTP_BENCH_ROUNDS);
      rw = post_bench_median (raw, SCTP_BENCH_ROUNDS);
      ratio = rw > 0 ? lp / rw : 0;
      worst = MIN (worst, ratio);
      g_print ("    %5" G_GSIZE_FORMAT " B  libpost sctp carrier : %10.0f msg/s (%7.1f MB/s)\n",
               size, lp, lp * size / 1e6);
      g_print ("    %5" G_GSIZE_FORMAT " B  raw usrsctp loop     : %10.0f msg/s (%7.1f MB/s)\n",
               size, rw, rw * size / 1e6);
      g_print ("    %5" G_GSIZE_FORMAT " B  libpost/raw ratio    : %.2f×\n", size, ratio);
      {
        g_autofree char *id = g_strdup_printf ("s-%" G_GSIZE_FORMAT, size);
        g_autofree char *name = g_strdup_printf ("sctp over UDP, %" G_GSIZE_FORMAT " B messages one way, received", size);
        ToolJson *json = post_bench_json_begin (id, name, "msg/s");

        tool_json_double (json, "seconds", per_round * SCTP_BENCH_ROUNDS, "%g");
        tool_json_int (json, "rounds", SCTP_BENCH_ROUNDS);
        tool_json_int (json, "message_size", size);
        post_bench_json_figures (json);
        post_bench_json_value (json, "libpost", lp > 0, lp);
        post_bench_json_begin_baselines (json);
        /* the ratio of the medians, as printed */
        post_bench_json_baseline (json, "raw usrsctp loop", rw > 0, rw, ratio, ratio, ratio, rw > 0 ? 1 : 0);
        post_bench_json_end_baselines (json);
        post_bench_json_end (json);
      }
    }
  return worst;
}
