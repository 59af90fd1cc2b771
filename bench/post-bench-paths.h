/* post-bench-paths.h: the path fallback case of post-bench (post-bench-paths.c)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

/* Runs the fallback case (time to a ready carrier when the first-ranked
 * address is blackholed, against GSocketClient) in a network namespace of
 * its own, prints its table and returns the libpost/GIO ratio of median
 * times (0 when it could not run: it needs root). */
double post_bench_paths_run (double seconds);
