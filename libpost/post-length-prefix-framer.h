/* post-length-prefix-framer.h: the default framer
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
 * POST_LENGTH_PREFIX_MAX_CHUNK:
 *
 * The largest payload one length-prefixed chunk can carry (2^31 - 2 bytes:
 * the header `7F FF FF FF`, a length of 2^31 - 1 without `F`, is the escape
 * of a control frame); encoding a longer chunk fails with
 * %POST_ERROR_MESSAGE_TOO_LARGE.
 */
#define POST_LENGTH_PREFIX_MAX_CHUNK ((gsize) 0x7ffffffe)

#define POST_TYPE_LENGTH_PREFIX_FRAMER (post_length_prefix_framer_get_type ())
POST_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PostLengthPrefixFramer, post_length_prefix_framer, POST, LENGTH_PREFIX_FRAMER, PostFramer)

POST_AVAILABLE_IN_ALL
PostFramer *post_length_prefix_framer_new (void);

G_END_DECLS
