/* post-transient.h: PostTransient, one carrier's binding to a stack instance
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(POST_INSIDE) && !defined(POST_COMPILATION)
# error "Only <post.h> can be included directly."
#endif

#include <gio/gio.h>
#include "post-version.h"
#include "post-path.h"
#include "post-psi.h"

G_BEGIN_DECLS

#define POST_TYPE_TRANSIENT (post_transient_get_type ())
POST_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PostTransient, post_transient, POST, TRANSIENT, GObject)

POST_AVAILABLE_IN_ALL
PostPsi         *post_transient_get_psi            (PostTransient *self);
POST_AVAILABLE_IN_ALL
const char      *post_transient_get_stack_name     (PostTransient *self);
POST_AVAILABLE_IN_ALL
GPtrArray       *post_transient_get_paths          (PostTransient *self);
POST_AVAILABLE_IN_ALL
guint64          post_transient_get_bytes_sent     (PostTransient *self);
POST_AVAILABLE_IN_ALL
guint64          post_transient_get_bytes_received (PostTransient *self);
POST_AVAILABLE_IN_ALL
guint64          post_transient_get_datagrams_dropped (PostTransient *self);

G_END_DECLS
