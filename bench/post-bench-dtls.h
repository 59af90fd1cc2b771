/* post-bench-dtls.h: the dtls case of post-bench (post-bench-dtls.c)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

/* Runs the dtls case for about @seconds per stack and prints its table.
 * Returns the dtls/udp ratio of 64-byte datagrams received per second
 * (median of the per-round ratios), or 0 when the case could not run. */
double post_bench_dtls_run (double seconds);
