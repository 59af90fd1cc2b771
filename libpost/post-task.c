/* post-task.c: helpers for GTask and GSource every layer uses
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "post-base-private.h"

/* ---- cancellation ---------------------------------------------------------- */

typedef struct
{
  GTask              *task;       /* (unowned) the source is destroyed with it */
  PostTaskCancelFunc  func;
  gpointer            user_data;
} CancelWatch;

static gboolean
task_cancelled_cb (GCancellable *cancellable,
                   gpointer      data)
{
  CancelWatch *watch = data;
  g_autoptr(GTask) task = g_object_ref (watch->task);

  watch->func (task, watch->user_data);
  return G_SOURCE_REMOVE;
}

static void
destroy_cancel_source (gpointer data)
{
  g_source_destroy (data);
  g_source_unref (data);
}

void
_post_task_watch_cancel (GTask              *task,
                         PostTaskCancelFunc  func,
                         gpointer            user_data)
{
  GCancellable *cancellable = g_task_get_cancellable (task);
  CancelWatch *watch;
  GSource *source;

  if (cancellable == NULL)
    return;
  /* A GCancellableSource rather than g_cancellable_connect(): the handler
   * runs from the main loop, never inside g_cancellable_cancel() (which an
   * application may call from a callback of ours, halfway through a queue
   * walk). */
  watch = g_new0 (CancelWatch, 1);
  watch->task = task;
  watch->func = func;
  watch->user_data = user_data;
  source = g_cancellable_source_new (cancellable);
  g_source_set_callback (source, G_SOURCE_FUNC (task_cancelled_cb), watch, g_free);
  g_source_set_static_name (source, "[libpost] cancellation");
  g_source_attach (source, g_task_get_context (task));
  g_object_set_data_full (G_OBJECT (task), "post-cancel-watch", source, destroy_cancel_source);
}

void
_post_source_clear (GSource **source)
{
  if (*source != NULL)
    {
      g_source_destroy (*source);
      g_clear_pointer (source, g_source_unref);
    }
}
