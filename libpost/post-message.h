/* post-message.h: PostMessage, the unit of communication
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

/**
 * POST_MESSAGE_OVERHEAD:
 *
 * What holding one message costs beyond its bytes, as the send queue's
 * limit (`send-queue-limit`) and the receive read-ahead count it: each
 * queued or received message counts as its bytes plus this many, so that
 * a flood of empty messages is bounded like any other.
 */
#define POST_MESSAGE_OVERHEAD 128

#define POST_TYPE_MESSAGE (post_message_get_type ())
POST_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PostMessage, post_message, POST, MESSAGE, GObject)

/**
 * POST_MESSAGE_LIFETIME_INFINITE:
 *
 * The lifetime of a message that never expires (the default).
 */
#define POST_MESSAGE_LIFETIME_INFINITE ((gint64) 0)

POST_AVAILABLE_IN_ALL
PostMessage  *post_message_new               (GBytes        *content);
POST_AVAILABLE_IN_ALL
PostMessage  *post_message_new_from_data     (const void    *data,
                                              gsize          size);
POST_AVAILABLE_IN_ALL
PostMessage  *post_message_new_from_string   (const char    *text);

POST_AVAILABLE_IN_ALL
GBytes       *post_message_get_content       (PostMessage   *self);
POST_AVAILABLE_IN_ALL
gboolean      post_message_set_content       (PostMessage   *self,
                                              GBytes        *content,
                                              GError       **error);
POST_AVAILABLE_IN_ALL
gsize         post_message_get_size          (PostMessage   *self);
POST_AVAILABLE_IN_ALL
gboolean      post_message_is_complete       (PostMessage   *self);

POST_AVAILABLE_IN_ALL
gint64        post_message_get_lifetime      (PostMessage   *self);
POST_AVAILABLE_IN_ALL
gboolean      post_message_set_lifetime      (PostMessage   *self,
                                              gint64         lifetime_us,
                                              GError       **error);
POST_AVAILABLE_IN_ALL
guint         post_message_get_niceness      (PostMessage   *self);
POST_AVAILABLE_IN_ALL
gboolean      post_message_set_niceness      (PostMessage   *self,
                                              guint          niceness,
                                              GError       **error);
POST_AVAILABLE_IN_ALL
gboolean      post_message_get_idempotent    (PostMessage   *self);
POST_AVAILABLE_IN_ALL
gboolean      post_message_set_idempotent    (PostMessage   *self,
                                              gboolean       idempotent,
                                              GError       **error);
POST_AVAILABLE_IN_ALL
gboolean      post_message_get_reliable      (PostMessage   *self);
POST_AVAILABLE_IN_ALL
gboolean      post_message_set_reliable      (PostMessage   *self,
                                              gboolean       reliable,
                                              GError       **error);
POST_AVAILABLE_IN_ALL
gboolean      post_message_get_immediate     (PostMessage   *self);
POST_AVAILABLE_IN_ALL
gboolean      post_message_set_immediate     (PostMessage   *self,
                                              gboolean       immediate,
                                              GError       **error);
POST_AVAILABLE_IN_ALL
GPtrArray    *post_message_get_antecedents   (PostMessage   *self);
POST_AVAILABLE_IN_ALL
gboolean      post_message_add_antecedent    (PostMessage   *self,
                                              PostMessage   *antecedent,
                                              GError       **error);

POST_AVAILABLE_IN_ALL
gboolean      post_message_is_outgoing       (PostMessage   *self);
POST_AVAILABLE_IN_ALL
gboolean      post_message_is_sent           (PostMessage   *self);
POST_AVAILABLE_IN_ALL
gboolean      post_message_is_acked          (PostMessage   *self);
POST_AVAILABLE_IN_ALL
gboolean      post_message_is_expired        (PostMessage   *self);
POST_AVAILABLE_IN_ALL
guint64       post_message_get_sequence      (PostMessage   *self);
POST_AVAILABLE_IN_ALL
GSocketAddress *post_message_get_remote_address (PostMessage *self);

POST_AVAILABLE_IN_ALL
GVariant     *post_message_get_metadata      (PostMessage   *self);
POST_AVAILABLE_IN_ALL
gboolean      post_message_set_metadata      (PostMessage   *self,
                                              GVariant      *metadata,
                                              GError       **error);
POST_AVAILABLE_IN_ALL
GVariant     *post_message_lookup_metadata_value (PostMessage        *self,
                                                  const char         *key,
                                                  const GVariantType *expected_type);
POST_AVAILABLE_IN_ALL
gboolean      post_message_lookup_metadata   (PostMessage   *self,
                                              const char    *key,
                                              const char    *format_string,
                                              ...);

G_END_DECLS
