/* post-carrier-output-stream.h: the output half of a PostCarrierStream (private)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>
#include "post-carrier.h"

G_BEGIN_DECLS

#define POST_TYPE_CARRIER_OUTPUT_STREAM (_post_carrier_output_stream_get_type ())
G_DECLARE_FINAL_TYPE (PostCarrierOutputStream, _post_carrier_output_stream, POST, CARRIER_OUTPUT_STREAM, GOutputStream)

GOutputStream *_post_carrier_output_stream_new (PostCarrier *carrier,
                                                GThread     *thread);
/* Queues the end of the message, without waiting (the stream's dispose) */
void           _post_carrier_output_stream_end (GOutputStream *stream);

G_END_DECLS
