/* post-bench-util.c: helpers shared by every case of post-bench:
 * statistics, waiting on the measuring thread's main context (and running
 * a carrier's asynchronous operations on it), a libpost listener in its own
 * thread, the batched send loop on a libpost carrier, and libpost's default
 * framing as the baselines write and parse it.
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

gboolean
post_bench_carrier_run (PostCarrier *carrier, PostBenchCarrierAsync start, PostBenchCarrierFinish finish,
                        GMainContext *context, GCancellable *cancellable, GError **error)
{
  PostBenchWaiter w = { NULL };
  gboolean ok;

  start (carrier, cancellable, post_bench_waiter_cb, &w);
  ok = finish (carrier, post_bench_waiter_wait (&w, context, cancellable), error);
  g_object_unref (w.result);
  return ok;
}

gboolean
post_bench_send_until (PostCarrier *carrier, GBytes *payload, guint batch, gint64 end,
                       GMainContext *context, GCancellable *cancellable, guint64 *sent, GError **error)
{
  while (g_get_monotonic_time () < end)
    for (guint i = 0; i < batch; i++)
      {
        g_autoptr(GError) local_error = NULL;

        if (post_carrier_send_bytes (carrier, payload, &local_error))
          {
            (*sent)++;
            continue;
          }
        if (!g_error_matches (local_error, POST_ERROR, POST_ERROR_WOULD_BLOCK))
          {
            g_propagate_error (error, g_steal_pointer (&local_error));
            return FALSE;
          }
        if (!post_bench_carrier_run (carrier, post_carrier_flush_async, post_carrier_flush_finish,
                                     context, cancellable, error))
          return FALSE;
        i--;   /* retry */
      }
  return TRUE;
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

/* ---- a libpost listener in its own thread --------------------------------------------------- */

static gboolean
server_on_ready (PostCarrier *carrier, PostMessage *message, gpointer user_data)
{
  PostBenchServer *s = user_data;

  if (post_message_get_size (message) != s->size)
    g_atomic_int_set (&s->bad, 1);
  if (s->echo)
    {
      g_autoptr(PostMessage) reply = post_message_new (post_message_get_content (message));

      post_message_set_immediate (reply, TRUE, NULL);
      if (!post_carrier_send (carrier, reply, NULL))
        g_atomic_int_set (&s->bad, 1);
    }
  s->t_last = g_get_monotonic_time ();
  g_atomic_int_inc (&s->messages);
  return TRUE;
}

static void
server_on_closed (PostCarrier *carrier, const GError *error, gpointer user_data)
{
  PostBenchServer *s = user_data;

  g_ptr_array_remove_fast (s->carriers, carrier);   /* drops our reference */
  if (s->client_context != NULL)
    g_main_context_wakeup (s->client_context);
}

static gboolean
server_on_incoming (PostCarrier *listener, PostCarrier *carrier, gpointer user_data)
{
  PostBenchServer *s = user_data;

  g_ptr_array_add (s->carriers, g_object_ref (carrier));
  g_signal_connect (carrier, "closed", G_CALLBACK (server_on_closed), s);
  g_atomic_int_inc (&s->accepted);
  if (s->incoming != NULL)
    s->incoming (carrier, s->user_data);
  else if (!s->accept_only)
    post_carrier_ready (carrier, server_on_ready, s, NULL);
  return TRUE;
}

static gpointer
server_thread (gpointer data)
{
  PostBenchServer *s = data;
  g_autoptr(GError) error = NULL;
  g_autoptr(PostLocal) local = NULL;
  g_autoptr(PostConfiguration) configuration = post_configuration_new ();
  g_autoptr(PostCarrier) listener = NULL;
  g_autofree char *uri = g_strdup_printf ("%s://127.0.0.1:0", s->stack);

  g_main_context_push_thread_default (s->context);
  local = post_local_new_from_uri (uri, &error);
  if (local != NULL &&
      (s->cert == NULL || post_local_set_identity_from_files (local, s->cert, s->key, &error)) &&
      post_configuration_set_stacks (configuration, (const char *[]) { s->stack, NULL }, &error))
    {
      if (s->configure != NULL)
        s->configure (configuration);
      listener = post_carrier_listen (local, configuration, &error);
    }
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

  if (s->stop != NULL)
    s->stop (s->user_data);
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
  post_bench_context_drain (s->context);
  g_main_context_pop_thread_default (s->context);
  return NULL;
}

GThread *
post_bench_server_start (PostBenchServer *s)
{
  g_autofree char *name = g_strdup_printf ("%s-receiver", s->stack);
  GThread *thread;

  s->context = g_main_context_new ();
  s->loop = g_main_loop_new (s->context, FALSE);
  s->carriers = g_ptr_array_new_with_free_func (g_object_unref);
  g_mutex_init (&s->lock);
  g_cond_init (&s->cond);
  thread = g_thread_new (name, server_thread, s);
  g_mutex_lock (&s->lock);
  while (!s->started)
    g_cond_wait (&s->cond, &s->lock);
  g_mutex_unlock (&s->lock);
  return thread;
}

void
post_bench_server_stop (PostBenchServer *s, GThread *thread)
{
  g_main_context_invoke (s->context, post_bench_quit_loop, s->loop);
  g_thread_join (thread);
  g_ptr_array_unref (s->carriers);
  g_main_loop_unref (s->loop);
  g_main_context_unref (s->context);
  g_mutex_clear (&s->lock);
  g_cond_clear (&s->cond);
  g_free (s->error);
  g_free (s->cert);
  g_free (s->key);
}

PostRemote *
post_bench_server_remote (PostBenchServer *s)
{
  g_autofree char *uri = g_strdup_printf ("%s://127.0.0.1:%u", s->stack, s->port);

  return post_remote_new_from_uri (uri, NULL);
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
