/* post-bench-json.c: `post-bench --json` (post-bench-json.h)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "post-bench-json.h"
#include "post-bench-commit.h"

#include <stdio.h>
#include <unistd.h>

static gboolean json_enabled;

static void
print_to_stderr (const char *text)
{
  fputs (text, stderr);
}

void
post_bench_json_enable (gboolean tables_to_stderr)
{
  json_enabled = TRUE;
  if (tables_to_stderr)
    g_set_print_handler (print_to_stderr);
}

gboolean
post_bench_json_enabled (void)
{
  return json_enabled;
}

ToolJson *
post_bench_json_begin (const char *id, const char *name, const char *unit)
{
  ToolJson *json = tool_json_new ();

  tool_json_begin_object (json, NULL);
  tool_json_string (json, "case", id);
  tool_json_string (json, "name", name);
  tool_json_string (json, "unit", unit);
  tool_json_begin_object (json, "parameters");
  return json;
}

void
post_bench_json_figures (ToolJson *json)
{
  tool_json_end_object (json);
}

void
post_bench_json_value (ToolJson *json, const char *key, gboolean ok, double value)
{
  if (ok)
    tool_json_double (json, key, value, "%.6g");
  else
    tool_json_null (json, key);
}

void
post_bench_json_begin_baselines (ToolJson *json)
{
  tool_json_begin_array (json, "baselines");
}

void
post_bench_json_baseline (ToolJson *json, const char *name, gboolean ok, double value,
                          double ratio, double ratio_min, double ratio_max, guint n)
{
  tool_json_begin_object (json, NULL);
  tool_json_string (json, "name", name);
  post_bench_json_value (json, "value", ok, value);
  if (n > 0)
    {
      tool_json_begin_object (json, "ratio");
      tool_json_double (json, "median", ratio, "%.4f");
      tool_json_double (json, "min", ratio_min, "%.4f");
      tool_json_double (json, "max", ratio_max, "%.4f");
      tool_json_int (json, "n", n);
      tool_json_end_object (json);
    }
  else
    tool_json_null (json, "ratio");
  tool_json_end_object (json);
}

void
post_bench_json_end_baselines (ToolJson *json)
{
  tool_json_end_array (json);
}

void
post_bench_json_target (ToolJson *json, const char *text, gboolean known, gboolean met)
{
  tool_json_begin_object (json, "target");
  tool_json_string (json, "text", text);
  if (known)
    tool_json_bool (json, "met", met);
  else
    tool_json_null (json, "met");
  tool_json_end_object (json);
}

static void
add_loadavg (ToolJson *json)
{
  g_autofree char *text = NULL;
  double load[3];

  if (!g_file_get_contents ("/proc/loadavg", &text, NULL, NULL) ||
      sscanf (text, "%lf %lf %lf", &load[0], &load[1], &load[2]) != 3)
    {
      tool_json_null (json, "loadavg");
      return;
    }
  tool_json_begin_array (json, "loadavg");
  for (guint i = 0; i < 3; i++)
    tool_json_double (json, NULL, load[i], "%.2f");
  tool_json_end_array (json);
}

void
post_bench_json_end (ToolJson *json)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *time = g_date_time_format_iso8601 (now);
  g_autofree char *text = NULL;

  add_loadavg (json);
  tool_json_string (json, "commit", POST_BENCH_COMMIT[0] != '\0' ? POST_BENCH_COMMIT : NULL);
  tool_json_string (json, "time", time);
  tool_json_end_object (json);
  text = tool_json_free (json);
  if (json_enabled)
    post_bench_json_forward (text);
}

void
post_bench_json_forward (const char *line)
{
  fputs (line, stdout);
  fputc ('\n', stdout);
  fflush (stdout);
}
