/* post-bench-util.c: helpers shared by every case of post-bench:
 * statistics, waiting on the measuring thread's main context, and libpost's
 * default framing as the baselines write and parse it.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "post-bench-util.h"

#include <stdlib.h>
#include <string.h>

/* ---- statistics --------------------------------------------------------------- */

int
post_bench_compare_doubles (gconstpointer a, gconstpointer b)
{
  double x = *(const double *) a, y = *(const double *) b;

  return x < y ? -1 : x > y;
}

/* The @p-th percentile (0..100) of @n sorted values, nearest rank. */
double
post_bench_percentile (const double *sorted, guint n, double p)
{
  guint rank = (guint) (p / 100.0 * (n - 1) + 0.5);

  return n == 0 ? 0 : sorted[MIN (rank, n - 1)];
}

double
post_bench_median (double *values, guint n)
{
  qsort (values, n, sizeof (double), post_bench_compare_doubles);
  if (n == 0)
    return 0;
  return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

/* ---- the measuring thread's main context ----------------------------------------- */

gboolean
post_bench_tick (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

void
post_bench_waiter_cb (GObject *source, GAsyncResult *result, gpointer user_data)
{
  ((PostBenchWaiter *) user_data)->result = g_object_ref (result);
}

/* Iterates @context until the operation completes.  Past
 * POST_BENCH_IO_TIMEOUT_S it cancels @cancellable (a 100 ms ticker on
 * @context notices the deadline), after which the operation completes with
 * an error. */
GAsyncResult *
post_bench_waiter_wait (PostBenchWaiter *w, GMainContext *context, GCancellable *cancellable)
{
  gint64 deadline = g_get_monotonic_time () + POST_BENCH_IO_TIMEOUT_S * G_USEC_PER_SEC;

  while (w->result == NULL)
    {
      g_main_context_iteration (context, TRUE);
      if (w->result == NULL && g_get_monotonic_time () >= deadline)
        g_cancellable_cancel (cancellable);
    }
  return w->result;
}

/* Iterates @context until the atomic *@counter reaches @target or
 * @timeout_us passes; a 1 ms ticker notices the other thread's increments. */
void
post_bench_wait_for_count (GMainContext *context, gint *counter, guint64 target, gint64 timeout_us)
{
  gint64 deadline = g_get_monotonic_time () + timeout_us;
  GSource *ticker = g_timeout_source_new (1);

  g_source_set_callback (ticker, post_bench_tick, NULL, NULL);
  g_source_attach (ticker, context);
  while ((guint64) g_atomic_int_get (counter) < target && g_get_monotonic_time () < deadline)
    g_main_context_iteration (context, TRUE);
  g_source_destroy (ticker);
  g_source_unref (ticker);
}

gboolean
post_bench_quit_loop (gpointer loop)
{
  g_main_loop_quit (loop);
  return G_SOURCE_REMOVE;
}

/* The measuring thread's context for libpost and GIO async alike. */
GMainContext *
post_bench_context_new (void)
{
  GMainContext *context = g_main_context_new ();
  GSource *ticker = g_timeout_source_new (100);   /* wakes the waits to check their deadlines */

  g_source_set_callback (ticker, post_bench_tick, NULL, NULL);
  g_source_attach (ticker, context);
  g_source_unref (ticker);
  return context;
}

void
post_bench_context_drain (GMainContext *context)
{
  while (g_main_context_iteration (context, FALSE))
    ;
}

/* ---- libpost's default framing ------------------------------------------------------- */

guint8 *
post_bench_make_frame (gsize size)
{
  guint8 *frame = g_malloc (4 + size);
  guint32 word = GUINT32_TO_BE ((guint32) size | POST_BENCH_FINAL_BIT);

  memcpy (frame, &word, 4);
  memset (frame + 4, 'x', size);
  return frame;
}

void
post_bench_parser_feed (PostBenchParser *p, const guint8 *data, gsize size)
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
          p->final = (word & POST_BENCH_FINAL_BIT) != 0;
          p->remaining = word & ~POST_BENCH_FINAL_BIT;
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
              if (p->length != p->expected)
                p->bad = TRUE;
              p->messages++;
              p->length = 0;
            }
        }
    }
}
