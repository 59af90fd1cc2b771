/* tool-json.h: JSON output for the tools (post-cat, post-paths,
 * post-policy), not part of the library
 *
 * GLib has no JSON writer (json-glib would be a dependency for a few
 * lines): this builds RFC 8259 text in a GString.  Objects and arrays
 * nest; inside an object every value has a key, inside an array none
 * (pass NULL).  Strings are escaped ('"', '\\', every control character)
 * and text that is not UTF-8 is made valid first, so the output parses
 * whatever a name, a message or a file holds.  Numbers are printed in the
 * C locale.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

typedef struct _ToolJson ToolJson;

ToolJson *tool_json_new          (void);
/* the text so far; frees @self */
char     *tool_json_free         (ToolJson   *self);

void      tool_json_begin_object (ToolJson   *self,
                                  const char *key);
void      tool_json_end_object   (ToolJson   *self);
void      tool_json_begin_array  (ToolJson   *self,
                                  const char *key);
void      tool_json_end_array    (ToolJson   *self);

/* a string; NULL gives null */
void      tool_json_string       (ToolJson   *self,
                                  const char *key,
                                  const char *value);
void      tool_json_int          (ToolJson   *self,
                                  const char *key,
                                  gint64      value);
void      tool_json_bool         (ToolJson   *self,
                                  const char *key,
                                  gboolean    value);
void      tool_json_double       (ToolJson   *self,
                                  const char *key,
                                  double      value,
                                  const char *format);
void      tool_json_null         (ToolJson   *self,
                                  const char *key);
/* a string array (NULL-terminated; NULL gives []) */
void      tool_json_strv         (ToolJson           *self,
                                  const char         *key,
                                  const char * const *values);

void      tool_json_append_string (GString    *out,
                                   const char *text);
