/* post-path.h: PostPath, what is known of one path through the network
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(POST_INSIDE) && !defined(POST_COMPILATION)
# error "Only <post.h> can be included directly."
#endif

#include <gio/gio.h>
#include "post-version.h"

G_BEGIN_DECLS

#define POST_TYPE_PATH (post_path_get_type ())
POST_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PostPath, post_path, POST, PATH, GObject)

/**
 * POST_PATH_UNKNOWN:
 *
 * The value of a numeric [class@Post.Path] property that no stack has measured.
 */
#define POST_PATH_UNKNOWN ((guint64) 0)

POST_AVAILABLE_IN_ALL
PostPath        *post_path_new                  (GSocketAddress *local_address,
                                                 GSocketAddress *remote_address);
POST_AVAILABLE_IN_ALL
GSocketAddress  *post_path_get_local_address    (PostPath       *self);
POST_AVAILABLE_IN_ALL
GSocketAddress  *post_path_get_remote_address   (PostPath       *self);
POST_AVAILABLE_IN_ALL
const char      *post_path_get_interface        (PostPath       *self);
POST_AVAILABLE_IN_ALL
const char      *post_path_get_stack_name       (PostPath       *self);
POST_AVAILABLE_IN_ALL
guint            post_path_get_mtu              (PostPath       *self);
POST_AVAILABLE_IN_ALL
guint64          post_path_get_latency          (PostPath       *self);
POST_AVAILABLE_IN_ALL
double           post_path_get_loss             (PostPath       *self);
POST_AVAILABLE_IN_ALL
guint64          post_path_get_data_rate        (PostPath       *self);
POST_AVAILABLE_IN_ALL
guint64          post_path_get_reserved_rate    (PostPath       *self);
POST_AVAILABLE_IN_ALL
const char * const *post_path_get_elements      (PostPath       *self);
POST_AVAILABLE_IN_ALL
gboolean         post_path_equal                (PostPath       *a,
                                                 PostPath       *b);

/* For stack implementations: applications only read paths. */
POST_AVAILABLE_IN_ALL
void             post_path_set_interface        (PostPath       *self,
                                                 const char     *interface);
POST_AVAILABLE_IN_ALL
void             post_path_set_stack_name       (PostPath       *self,
                                                 const char     *stack_name);
POST_AVAILABLE_IN_ALL
void             post_path_set_mtu              (PostPath       *self,
                                                 guint           mtu);
POST_AVAILABLE_IN_ALL
void             post_path_set_latency          (PostPath       *self,
                                                 guint64         latency_us);
POST_AVAILABLE_IN_ALL
void             post_path_set_loss             (PostPath       *self,
                                                 double          loss);
POST_AVAILABLE_IN_ALL
void             post_path_set_data_rate        (PostPath       *self,
                                                 guint64         bits_per_second);
POST_AVAILABLE_IN_ALL
void             post_path_set_reserved_rate    (PostPath       *self,
                                                 guint64         bits_per_second);
POST_AVAILABLE_IN_ALL
void             post_path_set_elements         (PostPath       *self,
                                                 const char * const *elements);

G_END_DECLS
