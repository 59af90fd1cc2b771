/* post-base-private.h: helpers every layer may use
 *
 * Layer "base" of docs/architecture.md: it may include only the headers of its
 * own layer and the layers below (tools/include-graph.py --check).
 * Nothing here is installed or exported.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#ifndef POST_COMPILATION
# define POST_COMPILATION
#endif
#include <gio/gio.h>

#define POST_INSIDE
#include "post-version.h"
#include "post-enums.h"
#include "post-enum-types.h"
#include "post-error.h"
#undef POST_INSIDE

G_BEGIN_DECLS

/* Calls @func (@task, @user_data) from @task's main context once @task's
 * cancellable is cancelled (nothing without one).  @func must find out
 * whether @task is still pending (it may have returned meanwhile) and, if
 * so, return G_IO_ERROR_CANCELLED.  @user_data must live as long as @task
 * (the task's source object does). */
typedef void (*PostTaskCancelFunc) (GTask *task, gpointer user_data);
void            _post_task_watch_cancel          (GTask              *task,
                                                  PostTaskCancelFunc  func,
                                                  gpointer            user_data);

/* Destroys *@source, if any, drops the reference and sets it to NULL */
void            _post_source_clear               (GSource           **source);

G_END_DECLS
