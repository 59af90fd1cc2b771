/* post-bench-udp.h: the udp case of post-bench (post-bench-udp.c)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

/* Runs the udp case for about @seconds in all, prints its table and
 * returns the libpost/GIO ratio of datagrams received per second. */
double post_bench_udp_run (double seconds);
