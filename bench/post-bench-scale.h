/* post-bench-scale.h: (n) many concurrent tcp carriers on one listener
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* 100, 1,000, 10,000: the open carriers at which it measures. */
extern const guint post_bench_scale_steps[3];

/* Runs the case up to @max carriers (the steps up to @max); @self is this
 * executable, spawned as the clients' process. */
void               post_bench_scale_run            (const char    *self,
                                                    guint          max);
/* `post-bench --scale-child PORT MAX`: the clients' process. */
int                post_bench_scale_child          (int            argc,
                                                    char         **argv);

G_END_DECLS
