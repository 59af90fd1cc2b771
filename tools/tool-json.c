/* tool-json.c: JSON output for the tools (tool-json.h)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "tool-json.h"

#include <math.h>

struct _ToolJson {
  GString *out;
  GArray  *first;    /* (element-type gboolean) per open level: nothing written in it yet */
};

ToolJson *
tool_json_new (void)
{
  ToolJson *self = g_new0 (ToolJson, 1);

  self->out = g_string_new (NULL);
  self->first = g_array_new (FALSE, FALSE, sizeof (gboolean));
  return self;
}

char *
tool_json_free (ToolJson *self)
{
  char *text = g_string_free (self->out, FALSE);

  g_array_unref (self->first);
  g_free (self);
  return text;
}

void
tool_json_append_string (GString    *out,
                         const char *text)
{
  g_autofree char *valid = g_utf8_make_valid (text, -1);

  g_string_append_c (out, '"');
  for (const char *p = valid; *p != '\0'; p++)
    {
      guchar c = (guchar) *p;

      switch (c)
        {
        case '"': g_string_append (out, "\\\""); break;
        case '\\': g_string_append (out, "\\\\"); break;
        case '\n': g_string_append (out, "\\n"); break;
        case '\r': g_string_append (out, "\\r"); break;
        case '\t': g_string_append (out, "\\t"); break;
        case '\b': g_string_append (out, "\\b"); break;
        case '\f': g_string_append (out, "\\f"); break;
        default:
          if (c < 0x20 || c == 0x7f)
            g_string_append_printf (out, "\\u%04x", c);
          else
            g_string_append_c (out, (char) c);
        }
    }
  g_string_append_c (out, '"');
}

/* the separator and the key of the next value */
static void
value_start (ToolJson   *self,
             const char *key)
{
  if (self->first->len > 0)
    {
      gboolean *first = &g_array_index (self->first, gboolean, self->first->len - 1);

      if (!*first)
        g_string_append_c (self->out, ',');
      *first = FALSE;
    }
  if (key != NULL)
    {
      tool_json_append_string (self->out, key);
      g_string_append_c (self->out, ':');
    }
}

static void
open_level (ToolJson   *self,
            const char *key,
            char        bracket)
{
  gboolean first = TRUE;

  value_start (self, key);
  g_string_append_c (self->out, bracket);
  g_array_append_val (self->first, first);
}

static void
close_level (ToolJson *self,
             char      bracket)
{
  g_return_if_fail (self->first->len > 0);
  g_array_set_size (self->first, self->first->len - 1);
  g_string_append_c (self->out, bracket);
}

void tool_json_begin_object (ToolJson *self, const char *key) { open_level (self, key, '{'); }
void tool_json_end_object (ToolJson *self) { close_level (self, '}'); }
void tool_json_begin_array (ToolJson *self, const char *key) { open_level (self, key, '['); }
void tool_json_end_array (ToolJson *self) { close_level (self, ']'); }

void
tool_json_string (ToolJson   *self,
                  const char *key,
                  const char *value)
{
  value_start (self, key);
  if (value == NULL)
    g_string_append (self->out, "null");
  else
    tool_json_append_string (self->out, value);
}

void
tool_json_int (ToolJson   *self,
               const char *key,
               gint64      value)
{
  value_start (self, key);
  g_string_append_printf (self->out, "%" G_GINT64_FORMAT, value);
}

void
tool_json_bool (ToolJson   *self,
                const char *key,
                gboolean    value)
{
  value_start (self, key);
  g_string_append (self->out, value ? "true" : "false");
}

/* @format: a printf format for one double, such as "%.3f"; in the C locale
 * whatever LC_NUMERIC says (JSON has no NaN or infinity: null then) */
void
tool_json_double (ToolJson   *self,
                  const char *key,
                  double      value,
                  const char *format)
{
  char buffer[G_ASCII_DTOSTR_BUF_SIZE];

  value_start (self, key);
  if (isfinite (value))
    g_string_append (self->out, g_ascii_formatd (buffer, sizeof buffer, format, value));
  else
    g_string_append (self->out, "null");
}

void
tool_json_null (ToolJson   *self,
                const char *key)
{
  value_start (self, key);
  g_string_append (self->out, "null");
}

void
tool_json_strv (ToolJson           *self,
                const char         *key,
                const char * const *values)
{
  tool_json_begin_array (self, key);
  for (guint i = 0; values != NULL && values[i] != NULL; i++)
    tool_json_string (self, NULL, values[i]);
  tool_json_end_array (self);
}
