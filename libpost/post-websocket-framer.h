/* post-websocket-framer.h: PostWebSocketFramer, WebSocket (RFC 6455) framing
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(POST_INSIDE) && !defined(POST_COMPILATION)
# error "Only <post.h> can be included directly."
#endif

#include "post-framer.h"

G_BEGIN_DECLS

/**
 * POST_WEBSOCKET_DEFAULT_MAX_MESSAGE_SIZE:
 *
 * The default of #PostWebSocketFramer:max-message-size: 16 MiB.
 */
#define POST_WEBSOCKET_DEFAULT_MAX_MESSAGE_SIZE (G_GUINT64_CONSTANT (16) * 1024 * 1024)

#define POST_TYPE_WEBSOCKET_FRAMER (post_websocket_framer_get_type ())
POST_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PostWebSocketFramer, post_websocket_framer, POST, WEBSOCKET_FRAMER, PostFramer)

POST_AVAILABLE_IN_ALL
PostFramer        *post_websocket_framer_new      (PostWebSocketRole    role,
                                                   const char          *host,
                                                   const char          *resource);
POST_AVAILABLE_IN_ALL
PostWebSocketRole  post_websocket_framer_get_role (PostWebSocketFramer *self);
POST_AVAILABLE_IN_ALL
gboolean           post_websocket_framer_get_open (PostWebSocketFramer *self);
POST_AVAILABLE_IN_ALL
char              *post_websocket_compute_accept  (const char          *key);

G_END_DECLS
