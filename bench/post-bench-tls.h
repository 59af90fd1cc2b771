/* post-bench-tls.h: the tls case of post-bench (post-bench-tls.c)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

/* Runs the tls case for about @seconds of bulk transfer per implementation
 * (plus the handshakes) and prints its table.  Returns the libpost/raw
 * GnuTLS ratio of bulk throughput (median of the per-round ratios), or 0
 * when the case could not run. */
double post_bench_tls_run (double seconds);
