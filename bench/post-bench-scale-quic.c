/* post-bench-scale-quic.c: the clients' process of the quic scale case (m)
 *
 * `post-bench --scale-child-quic PORT MAX CA`: libpost quic carriers to
 * the listener of post-bench-scale.c on 127.0.0.1:PORT, trusting the CA
 * certificate at CA, driven by the same commands on stdin as the tcp
 * clients ("a N", "open N", "ping K", "quit"; answers on stdout), but
 * from a main loop: a QUIC handshake needs one.  Each carrier sends one
 * 64-byte request once established, because a listener only sees a QUIC
 * stream once it carries data; the listener echoes it.  At most
 * SCALE_QUIC_WINDOW connections are ahead of the listener's accepts.  The
 * ping-pong runs on the first carrier, timed here; that carrier lives on a
 * main context of its own, iterated alone during the pings, so that the
 * round trip is the listener's and not this process's polling of every
 * other connection's socket.  No idle timeout (the
 * connections are idle on purpose), no session cache (every handshake is
 * a full one, as a new client's).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>
#include "post-bench-scale.h"
#include "post-bench-util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <glib-unix.h>

#define SCALE_QUIC_WINDOW 64
#define SCALE_QUIC_SIZE   64
#define SCALE_FD_SPARE    256

typedef struct {
  GMainContext      *context;
  GMainContext      *ping_context;   /* (owned) the first carrier's */
  PostRemote        *remote;         /* (owned) */
  PostConfiguration *configuration;  /* (owned) */
  GPtrArray         *carriers;       /* (owned) */
  GBytes            *request;        /* (owned) */
  PostBenchLineReader reader;
  guint              max, target;
  guint              opened, established, acked;
  gboolean           failed, quit;
  /* the ping-pong on the first carrier */
  double            *rtts;           /* (owned) (nullable) */
  guint              pings, pinged;
  gboolean           first_echoed;   /* the first carrier's request came back */
  gint64             ping_t0;
  gboolean          *ping_done;      /* (nullable) set when the pings end */
} QuicClients;

static void open_more (QuicClients *c);

static gboolean
send_request (QuicClients *c, PostCarrier *carrier)
{
  g_autoptr(PostMessage) message = post_message_new (c->request);

  post_message_set_immediate (message, TRUE, NULL);
  return post_carrier_send (carrier, message, NULL);
}

static void
ping_done (QuicClients *c)
{
  guint n = c->pinged;

  qsort (c->rtts, n, sizeof (double), post_bench_compare_doubles);
  post_bench_write_line (STDOUT_FILENO, "rtt %.3f %.3f %.3f %u\n", post_bench_median (c->rtts, n),
                         post_bench_percentile (c->rtts, n, 10), post_bench_percentile (c->rtts, n, 90), n);
  g_clear_pointer (&c->rtts, g_free);
  c->pings = 0;
  if (c->ping_done != NULL)
    *c->ping_done = TRUE;
}

static void
ping_fail (QuicClients *c, const char *why)
{
  post_bench_write_line (STDOUT_FILENO, "rtt failed: %s\n", why);
  g_clear_pointer (&c->rtts, g_free);
  c->pings = 0;
  if (c->ping_done != NULL)
    *c->ping_done = TRUE;
}

/* Every carrier's receive handler: the echo of its request, or of a ping
 * on the first one. */
static gboolean
on_message (PostCarrier *carrier, PostMessage *message, gpointer user_data)
{
  QuicClients *c = user_data;

  if (carrier != g_ptr_array_index (c->carriers, 0))
    return TRUE;
  if (c->pings == 0)
    {
      c->first_echoed = TRUE;
      return TRUE;
    }
  c->rtts[c->pinged++] = (g_get_monotonic_time () - c->ping_t0) / 1.0;
  if (c->pinged == c->pings)
    ping_done (c);
  else
    {
      c->ping_t0 = g_get_monotonic_time ();
      if (!send_request (c, carrier))
        ping_fail (c, "the ping could not be sent");
    }
  return TRUE;
}

static void
established_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  QuicClients *c = user_data;
  PostCarrier *carrier = POST_CARRIER (source);
  g_autoptr(GError) error = NULL;

  if (c->failed)
    return;
  if (!post_carrier_establish_finish (carrier, result, &error) || !send_request (c, carrier))
    {
      post_bench_write_line (STDOUT_FILENO, "failed %u %s\n", c->established,
                             error != NULL ? error->message : "the request could not be sent");
      c->failed = TRUE;
      return;
    }
  post_carrier_ready (carrier, on_message, c, NULL);
  c->established++;
  if (c->established == c->target)
    post_bench_write_line (STDOUT_FILENO, "ok %u\n", c->established);
  open_more (c);
}

static gboolean
stop_waiting (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates the first carrier's context until *@flag, at most
 * POST_BENCH_IO_TIMEOUT_S; whether it came. */
static gboolean
ping_context_wait (QuicClients *c, gboolean *flag)
{
  GSource *deadline = g_timeout_source_new_seconds (POST_BENCH_IO_TIMEOUT_S);
  gboolean expired = FALSE;

  g_source_set_callback (deadline, stop_waiting, &expired, NULL);
  g_source_attach (deadline, c->ping_context);
  while (!*flag && !expired)
    g_main_context_iteration (c->ping_context, TRUE);
  g_source_destroy (deadline);
  g_source_unref (deadline);
  return *flag;
}

/* The first carrier, on its own context: established (and its request
 * echoed, so that the pings that follow are one at a time) before the
 * others. */
static gboolean
open_first (QuicClients *c)
{
  g_autoptr(GError) error = NULL;
  PostCarrier *carrier;
  gboolean ok;

  g_main_context_push_thread_default (c->ping_context);
  carrier = post_carrier_initiate (NULL, c->remote, c->configuration);
  g_ptr_array_add (c->carriers, carrier);
  c->opened++;
  ok = post_bench_carrier_run (carrier, post_carrier_establish_async, post_carrier_establish_finish,
                               c->ping_context, NULL, &error)
       && send_request (c, carrier);
  if (ok)
    {
      post_carrier_ready (carrier, on_message, c, NULL);
      ok = ping_context_wait (c, &c->first_echoed);
    }
  g_main_context_pop_thread_default (c->ping_context);
  if (!ok)
    {
      post_bench_write_line (STDOUT_FILENO, "failed 0 %s\n", error != NULL ? error->message : "no request sent");
      c->failed = TRUE;
      return FALSE;
    }
  c->established++;
  if (c->established == c->target)
    post_bench_write_line (STDOUT_FILENO, "ok %u\n", c->established);
  return TRUE;
}

static void
open_more (QuicClients *c)
{
  if (c->opened == 0 && c->target > 0 && !c->failed && !open_first (c))
    return;
  while (!c->failed && c->opened < c->target && c->opened - MIN (c->acked, c->opened) < SCALE_QUIC_WINDOW)
    {
      PostCarrier *carrier = post_carrier_initiate (NULL, c->remote, c->configuration);

      g_ptr_array_add (c->carriers, carrier);
      c->opened++;
      post_carrier_establish_async (carrier, NULL, established_cb, c);
    }
}

static void
command (QuicClients *c, const char *line)
{
  gboolean done = FALSE;
  guint n;

  if (sscanf (line, "a %u", &n) == 1)
    {
      c->acked = n;
      open_more (c);
    }
  else if (sscanf (line, "open %u", &n) == 1)
    {
      c->target = MIN (n, c->max);
      if (c->established == c->target)
        post_bench_write_line (STDOUT_FILENO, "ok %u\n", c->established);
      open_more (c);
    }
  else if (sscanf (line, "ping %u", &n) == 1 && n > 0 && c->established > 0 && c->pings == 0)
    {
      c->rtts = g_new (double, n);
      c->pings = n;
      c->pinged = 0;
      c->ping_t0 = g_get_monotonic_time ();
      /* Only the first carrier's context until the pings are done. */
      c->ping_done = &done;
      if (!send_request (c, g_ptr_array_index (c->carriers, 0)))
        ping_fail (c, "the ping could not be sent");
      else if (!ping_context_wait (c, &done))
        ping_fail (c, "no echo in time");
      c->ping_done = NULL;
    }
  else if (sscanf (line, "ping %u", &n) == 1)
    post_bench_write_line (STDOUT_FILENO, "rtt failed: no carrier\n");
  else if (strcmp (line, "quit") == 0)
    c->quit = TRUE;
}

static gboolean
stdin_readable (int fd, GIOCondition condition, gpointer user_data)
{
  QuicClients *c = user_data;
  char line[128];

  if (post_bench_line_fill (&c->reader, fd) <= 0)
    {
      c->quit = TRUE;
      return G_SOURCE_REMOVE;
    }
  while (!c->quit && post_bench_line_take (&c->reader, line, sizeof line))
    command (c, line);
  return G_SOURCE_CONTINUE;
}

int
post_bench_scale_child_quic (int argc, char **argv)
{
  QuicClients c = { .max = argc > 3 ? (guint) g_ascii_strtoull (argv[3], NULL, 10) : 0 };
  g_autofree char *uri = NULL;
  GSource *watch;

  if (argc < 5 || c.max == 0)
    {
      g_printerr ("usage: post-bench --scale-child-quic PORT MAX CA\n");
      return EXIT_FAILURE;
    }
  post_bench_raise_nofile (c.max + SCALE_FD_SPARE);
  c.context = post_bench_context_new ();
  c.ping_context = post_bench_context_new ();
  g_main_context_push_thread_default (c.context);
  uri = g_strdup_printf ("quic://127.0.0.1:%s", argv[2]);
  c.remote = post_remote_new_from_uri (uri, NULL);
  c.configuration = post_configuration_new ();
  post_configuration_set_stacks (c.configuration, (const char *[]) { "quic", NULL }, NULL);
  post_configuration_set_use_system_trust (c.configuration, FALSE, NULL);
  post_configuration_add_trust_anchor_file (c.configuration, argv[4], NULL);
  post_configuration_set_option (c.configuration, "tls.session-cache", g_variant_new_string ("none"), NULL);
  post_configuration_set_option (c.configuration, "quic.idle-timeout", g_variant_new_uint64 (0), NULL);
  c.carriers = g_ptr_array_new_with_free_func (g_object_unref);
  c.request = g_bytes_new_take (g_malloc0 (SCALE_QUIC_SIZE), SCALE_QUIC_SIZE);

  watch = g_unix_fd_source_new (STDIN_FILENO, G_IO_IN | G_IO_HUP | G_IO_ERR);
  g_source_set_callback (watch, G_SOURCE_FUNC (stdin_readable), &c, NULL);
  g_source_attach (watch, c.context);
  while (!c.quit)
    g_main_context_iteration (c.context, TRUE);
  g_source_destroy (watch);
  g_source_unref (watch);

  c.failed = TRUE;   /* establishments still running end quietly */
  for (guint i = 0; i < c.carriers->len; i++)
    post_carrier_abort (g_ptr_array_index (c.carriers, i));
  post_bench_context_drain (c.context);
  g_ptr_array_unref (c.carriers);
  g_object_unref (c.remote);
  g_object_unref (c.configuration);
  g_bytes_unref (c.request);
  g_free (c.rtts);
  post_bench_context_drain (c.ping_context);
  g_main_context_pop_thread_default (c.context);
  g_main_context_unref (c.context);
  g_main_context_unref (c.ping_context);
  return EXIT_SUCCESS;
}
