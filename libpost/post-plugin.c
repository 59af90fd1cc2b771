/* post-plugin.c: finding, opening and checking stack plugins
 *
 * The registry (post-registry.c) owns what is loaded; this file knows
 * where plugins are, how their descriptor is found and checked, and how
 * the environment overrides ranks.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "post-private.h"

#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>

#define DESCRIPTOR_SYMBOL "post_plugin_descriptor"

/* As GIO does for GIO_EXTRA_MODULES: a setuid or setgid program must not
 * load code from directories its caller chose. */
gboolean
_post_plugin_environment_is_trusted (void)
{
  return getauxval (AT_SECURE) == 0;
}

static const char *
trusted_getenv (const char *variable)
{
  if (!_post_plugin_environment_is_trusted ())
    return NULL;
  return g_getenv (variable);
}

char **
_post_plugin_get_search_path (void)
{
  GStrvBuilder *builder = g_strv_builder_new ();
  const char *user_path = trusted_getenv ("POST_PLUGIN_PATH");
  const char *system_path = trusted_getenv ("POST_PLUGIN_SYSTEM_PATH");
  char **path;

  if (user_path != NULL)
    {
      g_auto(GStrv) dirs = g_strsplit (user_path, G_SEARCHPATH_SEPARATOR_S, -1);

      for (guint i = 0; dirs[i] != NULL; i++)
        if (*dirs[i] != '\0')
          g_strv_builder_add (builder, dirs[i]);
    }

  if (system_path == NULL)
    g_strv_builder_add (builder, POST_PLUGIN_DIR);
  else if (*system_path != '\0')
    g_strv_builder_add (builder, system_path);

  path = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);

  return path;
}

static gboolean
parse_rank (const char *text,
            guint      *rank)
{
  static const struct { const char *nick; guint rank; } nicks[] = {
    { "none", POST_RANK_NONE },
    { "marginal", POST_RANK_MARGINAL },
    { "secondary", POST_RANK_SECONDARY },
    { "primary", POST_RANK_PRIMARY },
  };
  guint64 number;

  for (guint i = 0; i < G_N_ELEMENTS (nicks); i++)
    {
      if (g_ascii_strcasecmp (text, nicks[i].nick) == 0)
        {
          *rank = nicks[i].rank;
          return TRUE;
        }
    }

  if (!g_ascii_string_to_unsigned (text, 10, 0, G_MAXUINT, &number, NULL))
    return FALSE;

  *rank = (guint) number;
  return TRUE;
}

/* POST_STACK_RANK=tcp:300,udp:0,quic:primary; the last entry for a name
 * wins.  Read once per process, so that malformed entries warn once. */
static GHashTable *
parse_rank_overrides (void)
{
  GHashTable *overrides = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  const char *value = trusted_getenv ("POST_STACK_RANK");
  g_auto(GStrv) entries = NULL;

  if (value == NULL || *value == '\0')
    return overrides;

  entries = g_strsplit (value, ",", -1);
  for (guint i = 0; entries[i] != NULL; i++)
    {
      char *entry = g_strstrip (entries[i]);
      char *colon = strrchr (entry, ':');
      guint rank;

      if (colon == NULL)
        {
          if (*entry != '\0')
            g_warning ("POST_STACK_RANK: ignoring ‘%s’: expected ‘name:rank’", entry);
          continue;
        }

      *colon = '\0';
      g_strstrip (entry);
      if (*entry == '\0' || !parse_rank (g_strstrip (colon + 1), &rank))
        {
          g_warning ("POST_STACK_RANK: ignoring ‘%s:%s’: expected ‘name:rank’ with a number "
                     "or none, marginal, secondary, primary", entry, colon + 1);
          continue;
        }

      g_hash_table_insert (overrides, g_strdup (entry), GUINT_TO_POINTER (rank + 1));
    }

  return overrides;
}

gboolean
_post_plugin_get_rank_override (const char *stack_name,
                                guint      *rank)
{
  static gsize initialized = 0;
  static GHashTable *overrides = NULL;
  gpointer value;

  g_return_val_if_fail (stack_name != NULL, FALSE);
  g_return_val_if_fail (rank != NULL, FALSE);

  if (g_once_init_enter (&initialized))
    {
      overrides = parse_rank_overrides ();
      g_once_init_leave (&initialized, 1);
    }

  /* Values are rank + 1 so that a rank of 0 is not NULL */
  value = g_hash_table_lookup (overrides, stack_name);
  if (value == NULL)
    return FALSE;

  *rank = GPOINTER_TO_UINT (value) - 1;
  return TRUE;
}

const PostPluginDescriptor *
_post_plugin_open (const char  *filename,
                   GModule    **module_out,
                   GError     **error)
{
  GModule *module;
  gpointer symbol = NULL;
  const PostPluginDescriptor *descriptor;

  g_return_val_if_fail (filename != NULL, NULL);
  g_return_val_if_fail (module_out != NULL, NULL);

  *module_out = NULL;

  module = g_module_open (filename, G_MODULE_BIND_LAZY | G_MODULE_BIND_LOCAL);
  if (module == NULL)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_PLUGIN,
                   "plugin %s cannot be opened: %s", filename, g_module_error ());
      return NULL;
    }

  if (!g_module_symbol (module, DESCRIPTOR_SYMBOL, &symbol) || symbol == NULL)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_PLUGIN,
                   "plugin %s is not a libpost plugin: it has no ‘%s’ symbol",
                   filename, DESCRIPTOR_SYMBOL);
      g_module_close (module);
      return NULL;
    }

  /* Nothing in the plugin is called before its ABI version is checked */
  descriptor = symbol;
  if (descriptor->abi_version != POST_PLUGIN_ABI_VERSION)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_PLUGIN,
                   "plugin %s was built for plugin ABI version %u, but this libpost "
                   "has version %u", filename, descriptor->abi_version,
                   (guint) POST_PLUGIN_ABI_VERSION);
      g_module_close (module);
      return NULL;
    }

  if (descriptor->name == NULL || *descriptor->name == '\0' || descriptor->init == NULL)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_PLUGIN,
                   "plugin %s has an incomplete descriptor (no name or no init function)",
                   filename);
      g_module_close (module);
      return NULL;
    }

  *module_out = module;
  return descriptor;
}
