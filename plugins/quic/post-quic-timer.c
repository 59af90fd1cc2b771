/* post-quic-timer.c: QuicTimer, the connections' timers, one GSource per
 * main context for all of them
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 *
 * Each connection has one timer (ngtcp2_conn_get_expiry()).  A GSource of
 * its own per connection made every main-loop iteration prepare and check
 * every connection's source — at 1,000 idle connections on one listener a
 * round trip took 34 ms, mostly g_main_context_prepare/check and
 * g_source_ref.  Instead, the timers of one GMainContext are kept in a
 * GSequence ordered by their deadline, behind one source whose ready time
 * is the earliest deadline: arming is O(log n), an iteration sees one
 * source.  A timer belongs to the thread that runs its context (as the
 * connection does); only finding a context's source takes a lock.
 */

#include "post-quic-private.h"

typedef struct {
  GSource       source;
  GMainContext *context;   /* (unowned) its key in contexts */
  GSequence    *queue;     /* (element-type QuicTimer) armed, by deadline */
  guint64       serial;    /* arming order: ties, and re-arming while firing */
  guint         users;
} TimerSource;

struct _QuicTimer {
  TimerSource   *owner;
  GSequenceIter *iter;     /* (nullable) in owner->queue while armed */
  gint64         ready;    /* monotonic µs */
  guint64        serial;
  QuicTimerFunc  func;
  gpointer       data;
};

static GMutex      contexts_lock;
static GHashTable *contexts;   /* GMainContext -> TimerSource (unowned both) */

static int
timer_compare (gconstpointer a,
               gconstpointer b,
               gpointer      user_data)
{
  const QuicTimer *x = a, *y = b;

  if (x->ready != y->ready)
    return x->ready < y->ready ? -1 : 1;
  return x->serial < y->serial ? -1 : x->serial > y->serial;
}

static void
update_ready_time (TimerSource *ts)
{
  GSequenceIter *first = g_sequence_get_begin_iter (ts->queue);

  g_source_set_ready_time (&ts->source, g_sequence_iter_is_end (first)
                                        ? -1 : ((QuicTimer *) g_sequence_get (first))->ready);
}

static gboolean
timer_source_dispatch (GSource     *source,
                       GSourceFunc  callback,
                       gpointer     user_data)
{
  TimerSource *ts = (TimerSource *) source;
  gint64 now = g_source_get_time (source);
  guint64 limit = ts->serial;

  /* A timer armed again from a callback waits for the next dispatch. */
  g_source_ref (source);
  for (;;)
    {
      GSequenceIter *first = g_sequence_get_begin_iter (ts->queue);
      QuicTimer *t;

      if (g_sequence_iter_is_end (first))
        break;
      t = g_sequence_get (first);
      if (t->ready > now || t->serial > limit)
        break;
      g_sequence_remove (first);
      t->iter = NULL;
      t->func (t->data);
    }
  if (!g_source_is_destroyed (source))
    update_ready_time (ts);
  g_source_unref (source);
  return G_SOURCE_CONTINUE;
}

static void
timer_source_finalize (GSource *source)
{
  g_sequence_free (((TimerSource *) source)->queue);
}

static GSourceFuncs timer_source_funcs = { NULL, NULL, timer_source_dispatch, timer_source_finalize, NULL, NULL };

QuicTimer *
quic_timer_new (GMainContext  *context,
                QuicTimerFunc  func,
                gpointer       data)
{
  QuicTimer *t = g_new0 (QuicTimer, 1);
  TimerSource *ts;

  g_mutex_lock (&contexts_lock);
  if (contexts == NULL)
    contexts = g_hash_table_new (NULL, NULL);
  ts = g_hash_table_lookup (contexts, context);
  if (ts == NULL)
    {
      ts = (TimerSource *) g_source_new (&timer_source_funcs, sizeof (TimerSource));
      ts->context = context;
      ts->queue = g_sequence_new (NULL);
      g_source_set_static_name (&ts->source, "[post] quic timers");
      g_source_attach (&ts->source, context);
      g_hash_table_insert (contexts, context, ts);
    }
  ts->users++;
  g_mutex_unlock (&contexts_lock);
  t->owner = ts;
  t->func = func;
  t->data = data;
  return t;
}

void
quic_timer_set (QuicTimer *t,
                gint64     ready)
{
  TimerSource *ts = t->owner;

  if (t->iter != NULL && ready == t->ready)
    return;
  if (t->iter != NULL)
    {
      g_sequence_remove (t->iter);
      t->iter = NULL;
    }
  if (ready >= 0)
    {
      t->ready = ready;
      t->serial = ++ts->serial;
      t->iter = g_sequence_insert_sorted (ts->queue, t, timer_compare, NULL);
    }
  update_ready_time (ts);
}

void
quic_timer_free (QuicTimer *t)
{
  TimerSource *ts = t->owner;

  quic_timer_set (t, -1);
  g_mutex_lock (&contexts_lock);
  if (--ts->users == 0)
    {
      g_hash_table_remove (contexts, ts->context);
      g_source_destroy (&ts->source);
      g_source_unref (&ts->source);
    }
  g_mutex_unlock (&contexts_lock);
  g_free (t);
}
