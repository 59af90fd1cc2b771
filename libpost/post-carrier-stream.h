/* post-carrier-stream.h: PostCarrierStream, a carrier as a GIOStream
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#if !defined(POST_INSIDE) && !defined(POST_COMPILATION)
# error "Only <post.h> can be included directly."
#endif

#include <gio/gio.h>
#include "post-version.h"
#include "post-carrier.h"

G_BEGIN_DECLS

#define POST_TYPE_CARRIER_STREAM (post_carrier_stream_get_type ())
POST_AVAILABLE_IN_ALL
G_DECLARE_FINAL_TYPE (PostCarrierStream, post_carrier_stream, POST, CARRIER_STREAM, GIOStream)

POST_AVAILABLE_IN_ALL
GIOStream   *post_carrier_stream_new         (PostCarrier       *carrier);
POST_AVAILABLE_IN_ALL
PostCarrier *post_carrier_stream_get_carrier (PostCarrierStream *self);

G_END_DECLS
