/* post-bench-sctp.h: the sctp case of post-bench (post-bench-sctp.c)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

/* Runs the sctp case for about @seconds in all (64-byte and 16 KiB
 * messages), prints its table and returns the lower libpost/raw usrsctp
 * ratio of messages received per second; @self is post-bench's path, run
 * again for the raw baseline. */
double post_bench_sctp_run       (const char *self,
                                  double      seconds);

/* post-bench --sctp-raw-child SIZE SECONDS UDP-PORT: the raw usrsctp
 * baseline; prints messages received per second. */
int    post_bench_sctp_raw_child (int         argc,
                                  char      **argv);
