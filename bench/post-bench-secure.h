/* post-bench-secure.h: helpers shared by the tls and quic benchmark cases
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "post-bench-util.h"

G_BEGIN_DECLS

/* The bulk messages (MB/s) and the first-response request of both cases. */
#define POST_BENCH_BULK_SIZE    (64 * 1024)
#define POST_BENCH_REQUEST_SIZE 64
/* Rounds of the alternating measurements (at most, in a PostBenchSeries). */
#define POST_BENCH_ROUNDS       5

/* A CA and a "server" certificate (localhost, 127.0.0.1) in a temporary
 * directory named after @prefix, removed at exit or by _remove(). */
gboolean           post_bench_certs_make           (const char    *prefix,
                                                    GError       **error);
char              *post_bench_cert_path            (const char    *name);
void               post_bench_certs_remove         (void);

/* A client configuration for @stack trusting the test CA only. */
PostConfiguration *post_bench_client_configuration (const char    *stack,
                                                    const char    *session_cache);

/* Prints the "skipped" line and returns FALSE when certtool is missing or
 * fails; else the certificates are made (see post_bench_certs_make()). */
gboolean           post_bench_certs_prepare        (const char    *prefix);

/* ---- bulk and message rate on a libpost carrier ---- */

/* @size-byte messages one way on a @stack carrier for @seconds: MB/s
 * (POST_BENCH_BULK_SIZE) or messages per second (other sizes), or a
 * negative value with *note set. */
double             post_bench_bulk_libpost         (const char    *stack,
                                                    gsize          size,
                                                    double         seconds,
                                                    GMainContext  *context,
                                                    char         **note);

/* ---- two implementations measured in alternating rounds ---- */

/* One run of implementation @which (0 or 1): a figure, or a negative value
 * with *note set. */
/* The same for a datagram stack (dtls, udp): messages received per second,
 * from the first send to the last arrival; what is lost is not waited for. */
double             post_bench_datagrams_libpost    (const char    *stack,
                                                    gsize          size,
                                                    double         seconds,
                                                    GMainContext  *context,
                                                    char         **note);
typedef double   (*PostBenchRunFunc)               (guint          which,
                                                    double         seconds,
                                                    gpointer       user_data,
                                                    char         **note);

typedef struct {
  double values[2][POST_BENCH_ROUNDS];
  guint  n_values[2];
  double ratios[POST_BENCH_ROUNDS];   /* 0 over 1, within a round */
  guint  n_ratios;
} PostBenchSeries;

/* POST_BENCH_ROUNDS rounds of both, the order rotating; a failed run adds
 * "@what round N, @names[which]: note" to @notes. */
void               post_bench_series_run           (PostBenchSeries *series,
                                                    const char    *what,
                                                    const char * const names[2],
                                                    double         per_round,
                                                    PostBenchRunFunc run,
                                                    gpointer       user_data,
                                                    GPtrArray     *notes);
/* The medians as "%10.*f @unit" under @labels, and the ratios' median and
 * range; returns that median ratio, or 0. */
double             post_bench_series_print         (PostBenchSeries *series,
                                                    const char * const labels[2],
                                                    const char    *ratio_label,
                                                    int            precision,
                                                    const char    *unit);

/* The series as a JSON line (post-bench-json.h), after _print() (which
 * sorts it): @names[0] is libpost, @names[1] the baseline; a target of
 * "≥ @target×" the baseline when @target > 0. */
void               post_bench_series_json          (PostBenchSeries *series,
                                                    const char    *id,
                                                    const char    *name,
                                                    const char    *unit,
                                                    const char    *baseline_name,
                                                    double         seconds,
                                                    gsize          size,
                                                    double         target);

/* ---- time to first response: full handshake, resumed, 0-RTT ---- */

typedef enum { POST_BENCH_HS_FULL, POST_BENCH_HS_RESUMED, POST_BENCH_HS_ZERO_RTT, POST_BENCH_N_HS } PostBenchHsKind;

typedef struct {
  guint   n_connections;
  GArray *times[POST_BENCH_N_HS];          /* (owned) of double, ms */
  guint   unexpected[POST_BENCH_N_HS];     /* connections not what the kind says */
} PostBenchFirstResponse;

/* @n_connections connections of each kind to a @stack echo listener,
 * interleaved; a failure ends the run with a note in @notes. */
void               post_bench_first_response_run   (PostBenchFirstResponse *fr,
                                                    const char    *stack,
                                                    guint          n_connections,
                                                    GMainContext  *context,
                                                    GPtrArray     *notes);
/* The table under "    @title (initiate → …)", and the JSON line of case
 * @id; frees the times. */
void               post_bench_first_response_print (PostBenchFirstResponse *fr,
                                                    const char    *title,
                                                    const char    *id);

/* "    note: …" for each of @notes. */
void               post_bench_print_notes          (GPtrArray     *notes);

G_END_DECLS
