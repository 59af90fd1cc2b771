/* post-http-framer.h: PostHttpFramer, HTTP/1.1 messages on byte streams
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(POST_INSIDE) && !defined(POST_COMPILATION)
# error "Only <post.h> can be included directly."
#endif

#include "post-enums.h"
#include "post-framer.h"

G_BEGIN_DECLS

/**
 * POST_HTTP_FRAMER_DEFAULT_MAX_PIPELINED:
 *
 * The default of [property@Post.HttpFramer:max-pipelined].
 */
#define POST_HTTP_FRAMER_DEFAULT_MAX_PIPELINED 64

#define POST_TYPE_HTTP_FRAMER (post_http_framer_get_type ())
POST_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PostHttpFramer, post_http_framer, POST, HTTP_FRAMER, PostFramer)

POST_AVAILABLE_IN_ALL
PostFramer   *post_http_framer_new               (PostHttpRole    role);
POST_AVAILABLE_IN_ALL
PostHttpRole  post_http_framer_get_role          (PostHttpFramer *self);
POST_AVAILABLE_IN_ALL
guint         post_http_framer_get_max_pipelined (PostHttpFramer *self);
POST_AVAILABLE_IN_ALL
void          post_http_framer_set_max_pipelined (PostHttpFramer *self,
                                                  guint           max_pipelined);

G_END_DECLS
