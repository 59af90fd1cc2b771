/* post-bench-quic.h: the quic case of post-bench (post-bench-quic.c)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

/* Runs the quic case for about @seconds of bulk transfer per stack (plus
 * the handshakes) and prints its table.  Returns the quic/tls ratio of
 * bulk throughput over libpost carriers (median of the per-round ratios),
 * or 0 when the case could not run. */
double post_bench_quic_run (double seconds);
