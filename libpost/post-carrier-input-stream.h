/* post-carrier-input-stream.h: the input half of a PostCarrierStream (private)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include "post-carrier.h"

G_BEGIN_DECLS

#define POST_TYPE_CARRIER_INPUT_STREAM (_post_carrier_input_stream_get_type ())
G_DECLARE_FINAL_TYPE (PostCarrierInputStream, _post_carrier_input_stream, POST, CARRIER_INPUT_STREAM, GInputStream)

GInputStream *_post_carrier_input_stream_new (PostCarrier *carrier,
                                              GThread     *thread);

G_END_DECLS
