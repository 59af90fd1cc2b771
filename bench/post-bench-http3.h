/* post-bench-http3.h: the HTTP/3 case of post-bench, (h)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* A 1 GiB HTTP/3 download (32 MiB when @quick), libpost against the
 * ngtcp2 tools; prints the table and returns the libpost/ngtcp2-tools
 * ratio, or 0 when skipped. */
double post_bench_http3_run (gboolean quick);

G_END_DECLS
