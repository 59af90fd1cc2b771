/* post-bench-json.h: `post-bench --json`, one JSON object per case
 *
 * With --json, stdout carries one JSON object per line (JSON Lines), one for
 * each measurement of a case, and the human-readable tables go to stderr.
 * Every object has the same frame so that runs can be compared by a script:
 *
 *   "case"        the case's id ("a", "b", …, "t-bulk", "scale-tcp", …)
 *   "name"        what it measures, as the table says
 *   "unit"        of "libpost" and the baseline's "value"
 *   "parameters"  what the run was given (seconds, sizes, rounds, …)
 *   "libpost"     the libpost figure (a number; null if every round failed)
 *   "baselines"   (when the case has any) an array of
 *                 { "name", "value", "ratio": { "median", "min", "max", "n" } }
 *   "target"      (when the case has one) { "text", "met" }
 *   plus the case's own fields, then
 *   "loadavg"     /proc/loadavg's 1, 5 and 15 minute averages at the end of
 *                 the case, "commit" (git describe of the source tree at
 *                 build time, or null), "time" (UTC, ISO 8601).
 *
 * Built on tools/tool-json.c's writer (GLib has none).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "tool-json.h"

G_BEGIN_DECLS

/* From here on stdout carries the JSON lines and g_print() goes to stderr
 * (@tables_to_stderr FALSE: both stay on stdout, for a child whose parent
 * sorts them). */
void          post_bench_json_enable      (gboolean       tables_to_stderr);
gboolean      post_bench_json_enabled     (void);

/* A case's object, its "case", "name" and "unit" written, and "parameters"
 * left open: add them, then post_bench_json_figures() closes it. */
ToolJson     *post_bench_json_begin       (const char    *id,
                                           const char    *name,
                                           const char    *unit);
/* Ends "parameters"; the figures follow. */
void          post_bench_json_figures     (ToolJson      *json);
/* A figure, or null when @ok is FALSE. */
void          post_bench_json_value       (ToolJson      *json,
                                           const char    *key,
                                           gboolean       ok,
                                           double         value);
/* "baselines" is an array: open it, add each, close it. */
void          post_bench_json_begin_baselines (ToolJson  *json);
/* One baseline: its figure (@ok FALSE: null) and the libpost/baseline
 * ratio's median and range over @n rounds (@n 0: no ratio). */
void          post_bench_json_baseline    (ToolJson      *json,
                                           const char    *name,
                                           gboolean       ok,
                                           double         value,
                                           double         ratio,
                                           double         ratio_min,
                                           double         ratio_max,
                                           guint          n);
void          post_bench_json_end_baselines (ToolJson    *json);
/* "target": { "text": @text, "met": @met } (@known FALSE: "met" is null). */
void          post_bench_json_target      (ToolJson      *json,
                                           const char    *text,
                                           gboolean       known,
                                           gboolean       met);
/* Adds "loadavg", "commit" and "time", closes the object and, with
 * --json, prints it as one line on stdout.  Frees @json. */
void          post_bench_json_end         (ToolJson      *json);
/* A JSON line that a child process printed: copied to stdout as it is. */
void          post_bench_json_forward     (const char    *line);

G_END_DECLS
