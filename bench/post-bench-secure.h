/* post-bench-secure.h: helpers shared by the tls and quic benchmark cases
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <post.h>

G_BEGIN_DECLS

/* Every blocking call and wait of these cases gives up after this long. */
#define POST_BENCH_IO_TIMEOUT_S 10

/* A CA and a "server" certificate (localhost, 127.0.0.1) in a temporary
 * directory named after @prefix, removed at exit or by _remove(). */
gboolean           post_bench_certs_make           (const char    *prefix,
                                                    GError       **error);
char              *post_bench_cert_path            (const char    *name);
void               post_bench_certs_remove         (void);

int                post_bench_compare_doubles      (gconstpointer  a,
                                                    gconstpointer  b);
double             post_bench_percentile           (const double  *sorted,
                                                    guint          n,
                                                    double         p);
double             post_bench_median               (double        *values,
                                                    guint          n);

gboolean           post_bench_tick                 (gpointer       user_data);
gboolean           post_bench_quit_loop            (gpointer       loop);

typedef struct {
  GAsyncResult *result;   /* (owned) (nullable) */
} PostBenchWaiter;

void               post_bench_waiter_cb            (GObject       *source,
                                                    GAsyncResult  *result,
                                                    gpointer       user_data);
/* Iterates @context until the operation completes; at the deadline it
 * cancels @cancellable. */
GAsyncResult      *post_bench_waiter_wait          (PostBenchWaiter *w,
                                                    GMainContext  *context,
                                                    GCancellable  *cancellable);
/* Iterates @context until the atomic *@counter reaches @target or the
 * deadline passes. */
void               post_bench_wait_for_count       (GMainContext  *context,
                                                    gint          *counter,
                                                    guint64        target);
/* A client configuration for @stack trusting the test CA only. */
PostConfiguration *post_bench_client_configuration (const char    *stack,
                                                    const char    *session_cache);

G_END_DECLS
