/* post-bench-count.c: fixed libpost workloads for instruction counts
 *
 *   post-bench-count pingpong N   N round trips of a 64-byte immediate
 *                                 message on one tcp carrier (2 N hops)
 *   post-bench-count setup N      N tcp set-ups + graceful closes, one at
 *                                 a time
 *
 * The same code paths as post-bench's (b) and (d) on the libpost side (the
 * listener echoes in a second thread), but a fixed amount of work instead
 * of a fixed time, so that a run under callgrind counts instructions that
 * can be compared across commits:
 *
 *   valgrind --tool=callgrind --separate-threads=yes \
 *     _build/bench/post-bench-count pingpong 2000
 *
 * Per hop (or per set-up) is the difference between two runs with
 * different N divided by the difference of hops (set-ups): that removes
 * the fixed cost of start-up and shut-down.  Nothing is timed here.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>
#include "post-bench-util.h"

#include <stdlib.h>
#include <string.h>

#define SMALL_SIZE 64

typedef struct {
  GBytes  *payload;
  guint    left;
  gboolean failed;
} Count;

static gboolean
send_one (PostCarrier *carrier, Count *c)
{
  g_autoptr(PostMessage) message = post_message_new (c->payload);

  post_message_set_immediate (message, TRUE, NULL);
  if (!post_carrier_send (carrier, message, NULL))
    c->failed = TRUE;
  return !c->failed;
}

static gboolean
on_reply (PostCarrier *carrier, PostMessage *message, gpointer user_data)
{
  Count *c = user_data;

  if (post_message_get_size (message) != SMALL_SIZE)
    c->failed = TRUE;
  if (--c->left == 0 || c->failed)
    return FALSE;
  return send_one (carrier, c);
}

int
main (int argc, char **argv)
{
  PostBenchServer s = { .stack = "tcp", .size = SMALL_SIZE };
  g_autoptr(GMainContext) context = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(PostConfiguration) configuration = post_configuration_new ();
  g_autoptr(PostRemote) remote = NULL;
  g_autoptr(GError) error = NULL;
  gboolean setup;
  guint n;
  GThread *thread;
  int status = EXIT_SUCCESS;

  if (argc != 3 || (strcmp (argv[1], "pingpong") != 0 && strcmp (argv[1], "setup") != 0)
      || (n = (guint) strtoul (argv[2], NULL, 10)) == 0)
    {
      g_printerr ("usage: %s pingpong|setup N\n", argv[0]);
      return 2;
    }
  setup = strcmp (argv[1], "setup") == 0;
  s.echo = !setup;
  s.accept_only = setup;

  context = post_bench_context_new ();
  s.client_context = context;
  g_main_context_push_thread_default (context);
  thread = post_bench_server_start (&s);
  if (s.error != NULL)
    {
      g_printerr ("listen: %s\n", s.error);
      status = EXIT_FAILURE;
      goto out;
    }
  remote = post_bench_server_remote (&s);
  if (!post_configuration_set_stacks (configuration, (const char *[]) { "tcp", NULL }, &error))
    {
      g_printerr ("%s\n", error->message);
      status = EXIT_FAILURE;
      goto out;
    }

  if (setup)
    {
      for (guint i = 0; i < n; i++)
        {
          g_autoptr(PostCarrier) c = post_carrier_initiate (NULL, remote, configuration);

          if (!post_bench_carrier_run (c, post_carrier_establish_async, post_carrier_establish_finish,
                                       context, cancellable, &error) ||
              !post_bench_carrier_run (c, post_carrier_close_async, post_carrier_close_finish,
                                       context, cancellable, &error))
            {
              g_printerr ("set-up %u: %s\n", i, error->message);
              status = EXIT_FAILURE;
              break;
            }
        }
      post_bench_wait_for_count (context, &s.accepted, n, POST_BENCH_IO_TIMEOUT_S * G_USEC_PER_SEC);
      if ((guint) g_atomic_int_get (&s.accepted) != n)
        status = EXIT_FAILURE;
      g_print ("%u set-ups, %d accepted\n", n, g_atomic_int_get (&s.accepted));
    }
  else
    {
      g_autoptr(PostCarrier) carrier = post_carrier_initiate (NULL, remote, configuration);
      guint8 payload[SMALL_SIZE];
      Count c = { NULL };

      memset (payload, 'x', sizeof payload);
      c.payload = g_bytes_new (payload, sizeof payload);
      c.left = n;
      if (!post_bench_carrier_run (carrier, post_carrier_establish_async, post_carrier_establish_finish,
                                   context, cancellable, &error))
        {
          g_printerr ("establish: %s\n", error->message);
          status = EXIT_FAILURE;
        }
      else
        {
          gint64 deadline = g_get_monotonic_time () + 600 * G_USEC_PER_SEC;

          post_carrier_ready (carrier, on_reply, &c, NULL);
          if (send_one (carrier, &c))
            while (c.left > 0 && !c.failed && g_get_monotonic_time () < deadline)
              g_main_context_iteration (context, TRUE);
          if (c.left > 0 || c.failed || g_atomic_int_get (&s.bad))
            status = EXIT_FAILURE;
          g_print ("%u round trips, %u left%s\n", n, c.left, c.failed ? ", failed" : "");
          g_clear_error (&error);
          post_bench_carrier_run (carrier, post_carrier_close_async, post_carrier_close_finish,
                                  context, cancellable, &error);
        }
      g_bytes_unref (c.payload);
    }

out:
  post_bench_server_stop (&s, thread);
  post_bench_context_drain (context);
  g_main_context_pop_thread_default (context);
  return status;
}
