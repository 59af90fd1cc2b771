/* post-bench-scale.c: (n) many concurrent tcp carriers on one listener
 *
 * One libpost `tcp` listener on the measuring thread's main context holds
 * 100, then 1,000, then 10,000 concurrent carriers (`--scale-max` changes
 * the last step).  The clients are plain blocking sockets in a child
 * process (`post-bench --scale-child`, spawned from this binary), so that
 * what is measured is the listener alone: its process holds only the
 * accepted carriers, its memory is theirs, and it needs one descriptor per
 * carrier (RLIMIT_NOFILE is raised to what the steps need, in both
 * processes).  The child opens connections at most SCALE_WINDOW ahead of
 * the listener's accepts (the listener tells it how many it has accepted
 * on the child's stdin), so the listen backlog (128) never overflows and
 * no SYN waits for a retransmission.
 *
 * The listener runs with `tcp.max-carriers` 0 and
 * `tcp.first-message-timeout` 0 (no limits: the carriers are idle on
 * purpose) and echoes what arrives on any carrier, each carrier with a
 * ready handler as a server would.  At each step:
 *
 *   accept rate   carriers per second over the step (from the request to
 *                 the child to the last accept), and over the last
 *                 SCALE_RATE_WINDOW accepts of the step;
 *   RTT           a 64-byte ping-pong on the first carrier (the child
 *                 sends and times, the listener echoes), median, p10 and
 *                 p90 of SCALE_PINGS round trips;
 *   memory        the listener process's resident set (/proc/self/statm)
 *                 and its malloc heap in use (mallinfo2: uordblks +
 *                 hblkhd) before the first carrier and at the step; per
 *                 carrier: the delta over the carriers, and the marginal
 *                 figure over the step.  Measured before the step's pings,
 *                 so the carriers are idle: accepted, a ready handler,
 *                 nothing received.
 *
 * Not in the default set (`--cases n`): 10,000 connections take the
 * machine's loopback and a few seconds to a minute.  Every wait has a
 * deadline; a step that does not finish ends the case with a note.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>
#include "post-bench-scale.h"
#include "post-bench-json.h"
#include "post-bench-util.h"
#include "post-bench-secure.h"

#include <arpa/inet.h>
#include <errno.h>
#include <malloc.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <glib-unix.h>

#define SCALE_WINDOW       64      /* connections opened ahead of the accepts */
#define SCALE_ACK_EVERY    16      /* the listener reports its count this often */
#define SCALE_PINGS        1000
#define SCALE_SIZE         64
#define SCALE_RATE_WINDOW  100
#define SCALE_STEP_S       300     /* deadline of one step */
#define SCALE_FD_SPARE     256     /* descriptors beyond the carriers */
#define SCALE_MAX_STEPS    3

const guint post_bench_scale_steps[3] = { 100, 1000, 10000 };

/* ---- the child: plain sockets --------------------------------------------------- */

/* Commands on stdin, one a line: "a N" (the listener has accepted N),
 * "open N" (until N are open; answers "ok N"), "ping K" (K round trips on
 * the first connection; answers "rtt MEDIAN P10 P90" in µs), "quit". */

gboolean
post_bench_line_take (PostBenchLineReader *r, char *line, gsize size)
{
  char *nl = memchr (r->buffer, '\n', r->have);
  gsize len;

  if (nl == NULL)
    return FALSE;
  len = nl - r->buffer;
  memcpy (line, r->buffer, MIN (len, size - 1));
  line[MIN (len, size - 1)] = '\0';
  memmove (r->buffer, nl + 1, r->have - len - 1);
  r->have -= len + 1;
  return TRUE;
}

gssize
post_bench_line_fill (PostBenchLineReader *r, int fd)
{
  gssize n;

  if (r->have == sizeof r->buffer)
    r->have = 0;   /* an over-long line: dropped */
  do
    n = read (fd, r->buffer + r->have, sizeof r->buffer - r->have);
  while (n < 0 && errno == EINTR);
  if (n > 0)
    r->have += n;
  return n;
}

/* One line from @fd (blocking), without its newline; FALSE at EOF. */
static gboolean
read_line (PostBenchLineReader *r, int fd, char *line, gsize size)
{
  while (!post_bench_line_take (r, line, size))
    if (post_bench_line_fill (r, fd) <= 0)
      return FALSE;
  return TRUE;
}

void
post_bench_write_line (int fd, const char *format, ...)
{
  va_list args;
  g_autofree char *text = NULL;
  gsize off = 0, len;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  len = strlen (text);
  while (off < len)
    {
      gssize n = write (fd, text + off, len - off);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return;
      off += n;
    }
}

gboolean
post_bench_raise_nofile (guint64 needed)
{
  struct rlimit limit;

  if (getrlimit (RLIMIT_NOFILE, &limit) < 0)
    return FALSE;
  if (limit.rlim_cur >= needed)
    return TRUE;
  if (limit.rlim_max < needed)
    limit.rlim_max = needed;   /* root may raise the hard limit too */
  limit.rlim_cur = needed;
  if (setrlimit (RLIMIT_NOFILE, &limit) == 0)
    return TRUE;
  /* As far as the hard limit goes */
  getrlimit (RLIMIT_NOFILE, &limit);
  limit.rlim_cur = limit.rlim_max;
  setrlimit (RLIMIT_NOFILE, &limit);
  return FALSE;
}

static gboolean
io_all (int fd, gboolean sending, guint8 *data, gsize size)
{
  while (size > 0)
    {
      gssize n = sending ? send (fd, data, size, MSG_NOSIGNAL) : recv (fd, data, size, 0);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      data += n;
      size -= n;
    }
  return TRUE;
}

static double
now_us (void)
{
  struct timespec ts;

  clock_gettime (CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1e6 + ts.tv_nsec / 1e3;
}

static void
child_ping (int fd, guint count)
{
  g_autofree guint8 *frame = post_bench_make_frame (SCALE_SIZE);
  g_autofree guint8 *reply = g_malloc (4 + SCALE_SIZE);
  g_autofree double *rtts = g_new (double, count);
  guint n = 0;

  setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &(int) { 1 }, sizeof (int));
  for (; n < count; n++)
    {
      double t0 = now_us ();

      if (!io_all (fd, TRUE, frame, 4 + SCALE_SIZE) || !io_all (fd, FALSE, reply, 4 + SCALE_SIZE))
        break;
      rtts[n] = now_us () - t0;
    }
  if (n == 0)
    {
      post_bench_write_line (STDOUT_FILENO, "rtt failed %s\n", g_strerror (errno));
      return;
    }
  qsort (rtts, n, sizeof (double), post_bench_compare_doubles);
  post_bench_write_line (STDOUT_FILENO, "rtt %.3f %.3f %.3f %u\n", post_bench_median (rtts, n),
              post_bench_percentile (rtts, n, 10), post_bench_percentile (rtts, n, 90), n);
}

int
post_bench_scale_child (int argc, char **argv)
{
  struct sockaddr_in sin = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
  guint max = argc > 3 ? (guint) g_ascii_strtoull (argv[3], NULL, 10) : 0;
  g_autofree int *fds = NULL;
  PostBenchLineReader reader = { .have = 0 };
  guint opened = 0, acked = 0;
  char line[128];

  if (argc < 4 || max == 0)
    {
      g_printerr ("usage: post-bench --scale-child PORT MAX\n");
      return EXIT_FAILURE;
    }
  sin.sin_port = htons ((guint16) g_ascii_strtoull (argv[2], NULL, 10));
  post_bench_raise_nofile (max + SCALE_FD_SPARE);
  fds = g_new (int, max);
  while (read_line (&reader, STDIN_FILENO, line, sizeof line))
    {
      guint n;

      if (sscanf (line, "a %u", &n) == 1)
        acked = n;
      else if (sscanf (line, "open %u", &n) == 1)
        {
          n = MIN (n, max);
          while (opened < n)
            {
              int fd;

              if (opened - acked >= SCALE_WINDOW)
                {
                  guint k;

                  if (!read_line (&reader, STDIN_FILENO, line, sizeof line))
                    return EXIT_FAILURE;
                  if (sscanf (line, "a %u", &k) == 1)
                    acked = k;
                  continue;
                }
              fd = socket (AF_INET, SOCK_STREAM, 0);
              if (fd < 0 || connect (fd, (struct sockaddr *) &sin, sizeof sin) < 0)
                {
                  post_bench_write_line (STDOUT_FILENO, "failed %u %s\n", opened, g_strerror (errno));
                  if (fd >= 0)
                    close (fd);
                  break;
                }
              fds[opened++] = fd;
            }
          if (opened == n)
            post_bench_write_line (STDOUT_FILENO, "ok %u\n", opened);
        }
      else if (sscanf (line, "ping %u", &n) == 1 && opened > 0)
        child_ping (fds[0], n);
      else if (strcmp (line, "quit") == 0)
        break;
    }
  for (guint i = 0; i < opened; i++)
    close (fds[i]);
  return EXIT_SUCCESS;
}

/* ---- the listener ------------------------------------------------------------ */

typedef struct {
  GPtrArray *carriers;      /* (owned) accepted, a reference each */
  gint64    *accepted_at;   /* (owned) monotonic µs of each accept */
  guint      max;
  guint      accepted;
  guint      reported;      /* the count last written to the child */
  guint      closed;
  gboolean   bad;           /* an echo failed */
  int        to_child;      /* the child's stdin */
  int        from_child;    /* the child's stdout */
  gboolean   child_said;    /* its stdout became readable */
  PostBenchLineReader reader;
} Scale;

typedef struct {
  guint   carriers;
  gboolean ok;
  double  rate_step, rate_window;     /* carriers/s */
  double  rtt_median, rtt_p10, rtt_p90;   /* µs */
  gint64  rss, heap;                  /* bytes */
} Step;

static gboolean
scale_on_message (PostCarrier *carrier, PostMessage *message, gpointer user_data)
{
  Scale *s = user_data;
  g_autoptr(PostMessage) reply = post_message_new (post_message_get_content (message));

  post_message_set_immediate (reply, TRUE, NULL);
  if (!post_carrier_send (carrier, reply, NULL))
    s->bad = TRUE;
  return TRUE;
}

static void
scale_on_closed (PostCarrier *carrier, const GError *error, gpointer user_data)
{
  ((Scale *) user_data)->closed++;
}

static void
scale_report (Scale *s)
{
  post_bench_write_line (s->to_child, "a %u\n", s->accepted);
  s->reported = s->accepted;
}

static gboolean
scale_on_incoming (PostCarrier *listener, PostCarrier *carrier, gpointer user_data)
{
  Scale *s = user_data;

  if (s->accepted < s->max)
    s->accepted_at[s->accepted] = g_get_monotonic_time ();
  s->accepted++;
  g_ptr_array_add (s->carriers, g_object_ref (carrier));
  g_signal_connect (carrier, "closed", G_CALLBACK (scale_on_closed), s);
  post_carrier_ready (carrier, scale_on_message, s, NULL);
  if (s->accepted - s->reported >= SCALE_ACK_EVERY)
    scale_report (s);
  return TRUE;
}

static gboolean
scale_child_readable (int fd, GIOCondition condition, gpointer user_data)
{
  ((Scale *) user_data)->child_said = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates @context until the child answers (and, for "open", until
 * @accepts carriers are accepted), at most SCALE_STEP_S; the answer in
 * @line.  FALSE with *@note at the deadline or the child's EOF. */
static gboolean
scale_await (Scale *s, GMainContext *context, guint accepts, char *line, gsize size, char **note)
{
  gint64 deadline = g_get_monotonic_time () + SCALE_STEP_S * G_USEC_PER_SEC;
  gboolean answered = FALSE;

  /* The reader may hold a whole line already. */
  if (memchr (s->reader.buffer, '\n', s->reader.have) != NULL)
    answered = read_line (&s->reader, s->from_child, line, size);
  while (g_get_monotonic_time () < deadline)
    {
      if (!answered)
        {
          GSource *watch = g_unix_fd_source_new (s->from_child, G_IO_IN | G_IO_HUP | G_IO_ERR);

          s->child_said = FALSE;
          g_source_set_callback (watch, G_SOURCE_FUNC (scale_child_readable), s, NULL);
          g_source_attach (watch, context);
          while (!s->child_said && g_get_monotonic_time () < deadline)
            g_main_context_iteration (context, TRUE);
          g_source_destroy (watch);
          g_source_unref (watch);
          if (!s->child_said)
            break;
          if (!read_line (&s->reader, s->from_child, line, size))
            {
              *note = g_strdup ("the client process ended");
              return FALSE;
            }
          answered = TRUE;
        }
      if (s->accepted >= accepts)
        return TRUE;
      g_main_context_iteration (context, TRUE);
    }
  *note = g_strdup_printf ("%u of %u carriers accepted, %s within %d s", s->accepted, accepts,
                           answered ? "answered" : "no answer from the clients", SCALE_STEP_S);
  return FALSE;
}

static void
memory_now (gint64 *rss, gint64 *heap)
{
  g_autofree char *statm = NULL;
  unsigned long size = 0, resident = 0;
  struct mallinfo2 info = mallinfo2 ();

  if (g_file_get_contents ("/proc/self/statm", &statm, NULL, NULL))
    sscanf (statm, "%lu %lu", &size, &resident);
  *rss = (gint64) resident * sysconf (_SC_PAGESIZE);
  *heap = (gint64) (info.uordblks + info.hblkhd);
}

static GPid
scale_spawn_child (const char *self, const char *stack, guint16 port, guint max, int *to_child, int *from_child,
                   GError **error)
{
  g_autofree char *port_s = g_strdup_printf ("%u", port);
  g_autofree char *max_s = g_strdup_printf ("%u", max);
  g_autofree char *ca = post_bench_cert_path ("ca.pem");
  gboolean quic = g_str_equal (stack, "quic");
  const char *argv[] = { self, quic ? "--scale-child-quic" : "--scale-child", port_s, max_s, quic ? ca : NULL, NULL };
  GPid pid = 0;

  if (!g_spawn_async_with_pipes (NULL, (char **) argv, NULL, G_SPAWN_DO_NOT_REAP_CHILD, NULL, NULL,
                                 &pid, to_child, from_child, NULL, error))
    return 0;
  return pid;
}

static void
scale_print (const Step *steps, guint n, gint64 rss0, gint64 heap0)
{
  g_print ("    %9s %12s %12s %24s %14s %14s\n", "carriers", "accept/s", "accept/s",
           "RTT µs (1000 pings)", "RSS/carrier", "heap/carrier");
  g_print ("    %9s %12s %12s %24s %14s %14s\n", "", "(step)", "(last 100)",
           "median  p10  p90", "B (marginal)", "B (marginal)");
  for (guint i = 0; i < n; i++)
    {
      const Step *st = &steps[i];
      guint prev = i > 0 ? steps[i - 1].carriers : 0;
      gint64 prss = i > 0 ? steps[i - 1].rss : rss0, pheap = i > 0 ? steps[i - 1].heap : heap0;
      g_autofree char *rtt = g_strdup_printf ("%.1f %.1f %.1f", st->rtt_median, st->rtt_p10, st->rtt_p90);
      g_autofree char *rss = g_strdup_printf ("%" G_GINT64_FORMAT " (%" G_GINT64_FORMAT ")",
                                              (st->rss - rss0) / st->carriers, (st->rss - prss) / (st->carriers - prev));
      g_autofree char *heap = g_strdup_printf ("%" G_GINT64_FORMAT " (%" G_GINT64_FORMAT ")",
                                               (st->heap - heap0) / st->carriers, (st->heap - pheap) / (st->carriers - prev));

      g_print ("    %9u %12.0f %12.0f %24s %14s %14s\n", st->carriers, st->rate_step, st->rate_window,
               rtt, rss, heap);
    }
}

/* The RSS target per idle carrier (issue 15): 8 KiB on tcp, 32 KiB on quic. */
static gint64
memory_target (const char *stack)
{
  return g_str_equal (stack, "quic") ? 32768 : 8192;
}

static void
scale_json (const char *stack, const Step *steps, guint n, gint64 rss0, gint64 heap0, guint max,
            const char *note)
{
  g_autofree char *id = g_strdup_printf ("scale-%s", stack);
  g_autofree char *name = g_strdup_printf ("%s carriers held open on one libpost listener", stack);
  ToolJson *json = post_bench_json_begin (id, name, "bytes/carrier");
  const Step *first = n > 0 ? &steps[0] : NULL, *last = n > 0 ? &steps[n - 1] : NULL;
  double per_carrier = last != NULL ? (double) (last->rss - rss0) / last->carriers : 0;
  g_autofree char *mem_text = NULL;

  tool_json_begin_array (json, "steps");
  for (guint i = 0; i < SCALE_MAX_STEPS && post_bench_scale_steps[i] <= max; i++)
    tool_json_int (json, NULL, post_bench_scale_steps[i]);
  tool_json_end_array (json);
  tool_json_int (json, "pings", SCALE_PINGS);
  tool_json_int (json, "message_size", SCALE_SIZE);
  tool_json_int (json, "window", SCALE_WINDOW);
  tool_json_string (json, "stack", stack);
  tool_json_string (json, "clients", g_str_equal (stack, "quic")
                    ? "libpost quic carriers in a child process, one 64 B request echoed each"
                    : "plain blocking sockets in a child process");
  post_bench_json_figures (json);
  /* the headline: RSS per idle carrier at the largest step */
  post_bench_json_value (json, "libpost", last != NULL, per_carrier);
  tool_json_begin_array (json, "points");
  for (guint i = 0; i < n; i++)
    {
      const Step *st = &steps[i];
      guint prev = i > 0 ? steps[i - 1].carriers : 0;
      gint64 prss = i > 0 ? steps[i - 1].rss : rss0, pheap = i > 0 ? steps[i - 1].heap : heap0;

      tool_json_begin_object (json, NULL);
      tool_json_int (json, "carriers", st->carriers);
      tool_json_double (json, "accept_rate", st->rate_step, "%.1f");
      tool_json_double (json, "accept_rate_last_100", st->rate_window, "%.1f");
      tool_json_double (json, "rtt_median_us", st->rtt_median, "%.2f");
      tool_json_double (json, "rtt_p10_us", st->rtt_p10, "%.2f");
      tool_json_double (json, "rtt_p90_us", st->rtt_p90, "%.2f");
      tool_json_int (json, "rss_bytes", st->rss);
      tool_json_int (json, "heap_bytes", st->heap);
      tool_json_double (json, "rss_per_carrier", (double) (st->rss - rss0) / st->carriers, "%.0f");
      tool_json_double (json, "heap_per_carrier", (double) (st->heap - heap0) / st->carriers, "%.0f");
      tool_json_double (json, "rss_per_carrier_marginal", (double) (st->rss - prss) / (st->carriers - prev), "%.0f");
      tool_json_double (json, "heap_per_carrier_marginal", (double) (st->heap - pheap) / (st->carriers - prev), "%.0f");
      tool_json_end_object (json);
    }
  tool_json_end_array (json);
  tool_json_int (json, "rss_before", rss0);
  tool_json_int (json, "heap_before", heap0);
  mem_text = g_strdup_printf ("≤ %" G_GINT64_FORMAT " KiB RSS per idle carrier at %u", memory_target (stack) / 1024,
                              last != NULL ? last->carriers : max);
  post_bench_json_target (json, mem_text, last != NULL, per_carrier <= memory_target (stack));
  tool_json_begin_array (json, "targets");
  if (n >= 2)
    {
      double accept = first->rate_step / last->rate_step, rtt = last->rtt_median / first->rtt_median;

      tool_json_begin_object (json, NULL);
      tool_json_string (json, "text", "accept rate at the largest step within 1.2× of the first's");
      tool_json_double (json, "ratio", accept, "%.3f");
      tool_json_bool (json, "met", accept <= 1.2);
      tool_json_end_object (json);
      tool_json_begin_object (json, NULL);
      tool_json_string (json, "text", "RTT at the largest step within 1.2× of the first's");
      tool_json_double (json, "ratio", rtt, "%.3f");
      tool_json_bool (json, "met", rtt <= 1.2);
      tool_json_end_object (json);
    }
  tool_json_end_array (json);
  tool_json_string (json, "note", note);
  post_bench_json_end (json);
}

/* The listener: tcp with no limits, or quic with the bench's certificate,
 * no Retry, no idle timeout and room for every connection. */
static PostCarrier *
scale_listen (const char *stack, guint max, GError **error)
{
  g_autoptr(PostConfiguration) configuration = post_configuration_new ();
  g_autofree char *uri = g_strdup_printf ("%s://127.0.0.1:0", stack);
  g_autoptr(PostLocal) local = post_local_new_from_uri (uri, error);

  if (local == NULL || !post_configuration_set_stacks (configuration, (const char *[]) { stack, NULL }, error))
    return NULL;
  if (g_str_equal (stack, "quic"))
    {
      g_autofree char *cert = post_bench_cert_path ("server.pem");
      g_autofree char *key = post_bench_cert_path ("server.key");

      if (!post_local_set_identity_from_files (local, cert, key, error) ||
          !post_configuration_set_option (configuration, "quic.max-connections", g_variant_new_uint32 (max + 1), error) ||
          !post_configuration_set_option (configuration, "quic.max-connections-per-address",
                                          g_variant_new_uint32 (max + 1), error) ||
          !post_configuration_set_option (configuration, "quic.retry", g_variant_new_string ("never"), error) ||
          !post_configuration_set_option (configuration, "quic.idle-timeout", g_variant_new_uint64 (0), error))
        return NULL;
    }
  else if (!post_configuration_set_option (configuration, "tcp.max-carriers", g_variant_new_uint32 (0), error) ||
           !post_configuration_set_option (configuration, "tcp.first-message-timeout", g_variant_new_uint32 (0), error))
    return NULL;
  return post_carrier_listen (local, configuration, error);
}

void
post_bench_scale_run (const char *self, const char *stack, guint max)
{
  Scale s = { .to_child = -1, .from_child = -1 };
  Step steps[SCALE_MAX_STEPS] = { { 0 } };
  g_autoptr(GMainContext) context = post_bench_context_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(PostCarrier) listener = NULL;
  g_autofree char *note = NULL;
  guint16 port = 0;
  GPid child = 0;
  guint n = 0;
  gint64 rss0 = 0, heap0 = 0;
  char line[128];

  gboolean quic = g_str_equal (stack, "quic");

  if (quic)
    g_print ("\n(m) scale: up to %u idle quic connections on one libpost listener; clients are libpost\n"
             "    quic carriers in a child process (one 64-byte request echoed each: the listener\n"
             "    sees a stream once it carries data); RTT: 64-byte ping-pong on the first carrier\n", max);
  else
    g_print ("\n(n) scale: up to %u idle tcp carriers on one libpost listener; clients are plain\n"
             "    sockets in a child process; RTT: 64-byte ping-pong on the first carrier\n", max);
  if (quic && post_registry_lookup_stack (post_registry_get_default (), "quic") == NULL)
    {
      g_print ("    skipped: the quic plugin is not loaded\n");
      return;
    }
  if (quic && !post_bench_certs_prepare ("post-bench-scale"))
    return;
  if (!post_bench_raise_nofile (max + SCALE_FD_SPARE))
    {
      struct rlimit limit;

      getrlimit (RLIMIT_NOFILE, &limit);
      g_print ("    RLIMIT_NOFILE is %lu: at most %lu carriers\n", (unsigned long) limit.rlim_cur,
               (unsigned long) (limit.rlim_cur - SCALE_FD_SPARE));
      max = MIN (max, limit.rlim_cur - SCALE_FD_SPARE);
    }
  s.max = max;
  s.carriers = g_ptr_array_new_full (max, g_object_unref);
  s.accepted_at = g_new0 (gint64, max);

  g_main_context_push_thread_default (context);
  listener = scale_listen (stack, max, &error);
  if (listener == NULL)
    {
      g_print ("    failed: listen: %s\n", error->message);
      goto out;
    }
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (post_carrier_get_local_address (listener)));
  g_signal_connect (listener, "incoming", G_CALLBACK (scale_on_incoming), &s);
  child = scale_spawn_child (self, stack, port, max, &s.to_child, &s.from_child, &error);
  if (child == 0)
    {
      g_print ("    failed: the client process: %s\n", error->message);
      goto out;
    }

  post_bench_context_drain (context);
  memory_now (&rss0, &heap0);
  for (guint i = 0; i < SCALE_MAX_STEPS && post_bench_scale_steps[i] <= max; i++)
    {
      Step *st = &steps[i];
      guint target = post_bench_scale_steps[i], from = s.accepted;
      gint64 t0 = g_get_monotonic_time ();
      guint w = MIN (SCALE_RATE_WINDOW, target - from);
      guint pings_done = 0;

      post_bench_write_line (s.to_child, "open %u\n", target);
      if (!scale_await (&s, context, target, line, sizeof line, &note))
        break;
      if (!g_str_has_prefix (line, "ok "))
        {
          note = g_strdup_printf ("the clients: %s", line);
          break;
        }
      st->carriers = target;
      st->rate_step = (target - from) / ((s.accepted_at[target - 1] - t0) / 1e6);
      st->rate_window = w > 1 ? (w - 1) / ((s.accepted_at[target - 1] - s.accepted_at[target - w]) / 1e6) : 0;
      post_bench_context_drain (context);
      memory_now (&st->rss, &st->heap);

      post_bench_write_line (s.to_child, "ping %u\n", SCALE_PINGS);
      if (!scale_await (&s, context, 0, line, sizeof line, &note))
        break;
      if (sscanf (line, "rtt %lf %lf %lf %u", &st->rtt_median, &st->rtt_p10, &st->rtt_p90, &pings_done) != 4)
        {
          note = g_strdup_printf ("ping-pong: %s", line);
          break;
        }
      if (s.bad)
        {
          note = g_strdup ("an echo failed");
          break;
        }
      st->ok = TRUE;
      n++;
    }

  scale_print (steps, n, rss0, heap0);
  if (n >= 2)
    g_print ("    targets: ≤ %" G_GINT64_FORMAT " KiB RSS per idle carrier at %u: %s (%.0f B); accept rate at %u within 1.2× of\n"
             "    at %u: %s (%.2f×); RTT likewise: %s (%.2f×)\n", memory_target (stack) / 1024,
             steps[n - 1].carriers,
             (steps[n - 1].rss - rss0) / steps[n - 1].carriers <= memory_target (stack) ? "met" : "NOT met",
             (double) (steps[n - 1].rss - rss0) / steps[n - 1].carriers,
             steps[n - 1].carriers, steps[0].carriers,
             steps[0].rate_step / steps[n - 1].rate_step <= 1.2 ? "met" : "NOT met",
             steps[0].rate_step / steps[n - 1].rate_step,
             steps[n - 1].rtt_median / steps[0].rtt_median <= 1.2 ? "met" : "NOT met",
             steps[n - 1].rtt_median / steps[0].rtt_median);
  if (note != NULL)
    g_print ("    note: %s\n", note);
  scale_json (stack, steps, n, rss0, heap0, max, note);

out:
  if (s.to_child >= 0)
    {
      gint64 deadline = g_get_monotonic_time () + POST_BENCH_IO_TIMEOUT_S * G_USEC_PER_SEC;

      post_bench_write_line (s.to_child, "quit\n");
      close (s.to_child);
      /* The carriers see their peers' end and close. */
      while (s.closed < s.accepted && g_get_monotonic_time () < deadline)
        g_main_context_iteration (context, TRUE);
    }
  for (guint i = 0; i < s.carriers->len; i++)
    {
      PostCarrier *carrier = g_ptr_array_index (s.carriers, i);

      g_signal_handlers_disconnect_by_data (carrier, &s);
      if (post_carrier_get_state (carrier) != POST_CARRIER_STATE_CLOSED)
        post_carrier_abort (carrier);
    }
  g_ptr_array_unref (s.carriers);
  if (listener != NULL)
    post_carrier_close (listener);
  g_clear_object (&listener);
  post_bench_context_drain (context);
  g_main_context_pop_thread_default (context);
  if (s.from_child >= 0)
    close (s.from_child);
  if (child != 0)
    {
      waitpid (child, NULL, 0);
      g_spawn_close_pid (child);
    }
  g_free (s.accepted_at);
  if (quic)
    post_bench_certs_remove ();
}
