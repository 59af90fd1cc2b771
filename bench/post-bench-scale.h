/* post-bench-scale.h: (n), (m) many concurrent tcp carriers or quic
 * connections on one listener
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* 100, 1,000, 10,000: the open carriers at which it measures. */
extern const guint post_bench_scale_steps[3];

/* Runs the case on @stack ("tcp" or "quic") up to @max carriers (the
 * steps up to @max); @self is this executable, spawned as the clients'
 * process. */
void               post_bench_scale_run            (const char    *self,
                                                    const char    *stack,
                                                    guint          max);
/* `post-bench --scale-child PORT MAX`: the tcp clients' process. */
int                post_bench_scale_child          (int            argc,
                                                    char         **argv);
/* `post-bench --scale-child-quic PORT MAX CA`: the quic clients' process
 * (post-bench-scale-quic.c). */
int                post_bench_scale_child_quic     (int            argc,
                                                    char         **argv);

/* The line protocol between the listener and its clients' process:
 * commands and answers, one a line. */
typedef struct {
  char   buffer[4096];
  gsize  have;
} PostBenchLineReader;

/* A whole line already read (without its newline), or FALSE. */
gboolean           post_bench_line_take            (PostBenchLineReader *r,
                                                    char          *line,
                                                    gsize          size);
/* One read() from @fd into @r: its result (0 at EOF). */
gssize             post_bench_line_fill            (PostBenchLineReader *r,
                                                    int            fd);
void               post_bench_write_line           (int            fd,
                                                    const char    *format,
                                                    ...) G_GNUC_PRINTF (2, 3);
/* Raises RLIMIT_NOFILE to @needed (or as far as the hard limit goes). */
gboolean           post_bench_raise_nofile         (guint64        needed);

G_END_DECLS
