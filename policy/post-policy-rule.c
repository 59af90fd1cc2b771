/* post-policy-rule.c: parsing and matching the rules of policy files
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "post-policy-private.h"

#include <netdb.h>
#include <string.h>

/*
 * A policy file is a GKeyFile; each group is a rule.  GKeyFile knows no
 * line numbers, so the text is scanned first (scan_file()): that finds the
 * line of each group and key, and the problems GKeyFile would either
 * reject without saying where (a line that is no group, key or comment)
 * or accept silently (a group or key given twice: the rule is then
 * ambiguous and is ignored).  A file with a syntax error is ignored; a
 * rule with an unknown key, a bad value or a conflict is ignored; the
 * rest applies.
 */

#define SCORE_LIMIT 1000

void
_post_policy_problem_free (PolicyProblem *problem)
{
  if (problem == NULL)
    return;
  g_free (problem->file);
  g_free (problem->group);
  g_free (problem->key);
  g_free (problem->message);
  g_free (problem);
}

char *
_post_policy_problem_to_string (const PolicyProblem *problem)
{
  GString *text = g_string_new (problem->file);

  g_string_append_printf (text, ":%u: ", problem->line);
  if (problem->group != NULL)
    g_string_append_printf (text, "[%s] ", problem->group);
  if (problem->key != NULL)
    g_string_append_printf (text, "%s: ", problem->key);
  g_string_append (text, problem->message);
  return g_string_free (text, FALSE);
}

static void add_problem (GPtrArray  *problems,
                         const char *file,
                         guint       line,
                         const char *group,
                         const char *key,
                         const char *format,
                         ...) G_GNUC_PRINTF (6, 7);

static void
add_problem (GPtrArray  *problems,
             const char *file,
             guint       line,
             const char *group,
             const char *key,
             const char *format,
             ...)
{
  PolicyProblem *problem = g_new0 (PolicyProblem, 1);
  va_list args;

  problem->file = g_strdup (file);
  problem->line = line;
  problem->group = g_strdup (group);
  problem->key = g_strdup (key);
  va_start (args, format);
  problem->message = g_strdup_vprintf (format, args);
  va_end (args);
  g_ptr_array_add (problems, problem);
}

static void
action_free (PolicyAction *action)
{
  g_free (action->key);
  g_free (action->name);
  g_clear_pointer (&action->option, g_variant_unref);
  g_free (action);
}

void
_post_policy_rule_free (PolicyRule *rule)
{
  if (rule == NULL)
    return;
  g_free (rule->file);
  g_free (rule->name);
  g_free (rule->description);
  g_free (rule->app_file_id);
  g_strfreev (rule->hosts);
  g_clear_pointer (&rule->ports, g_array_unref);
  g_strfreev (rule->services);
  g_clear_pointer (&rule->service_ports, g_array_unref);
  g_strfreev (rule->schemes);
  g_strfreev (rule->apps);
  g_strfreev (rule->interfaces);
  g_clear_pointer (&rule->actions, g_ptr_array_unref);
  g_clear_pointer (&rule->raw, g_ptr_array_unref);
  g_free (rule);
}

char *
_post_policy_action_origin (const PolicyAction *action)
{
  return g_strdup_printf ("%s:%u", action->rule->file, action->line);
}

/* ---- scanning the text ---------------------------------------------------- */

typedef struct {
  GHashTable *group_lines;      /* group → first line */
  GHashTable *key_lines;        /* "group\nkey" → first line */
  GHashTable *conflicting;      /* groups given twice, or with a key given twice */
} FileIndex;

static void
file_index_clear (FileIndex *index)
{
  g_clear_pointer (&index->group_lines, g_hash_table_unref);
  g_clear_pointer (&index->key_lines, g_hash_table_unref);
  g_clear_pointer (&index->conflicting, g_hash_table_unref);
}

/* FALSE if the file cannot be read as a key file at all */
static gboolean
scan_file (const char *path,
           const char *contents,
           gsize       length,
           FileIndex  *index,
           GPtrArray  *problems)
{
  g_auto(GStrv) lines = NULL;
  g_autofree char *group = NULL;
  g_autofree char *text = g_strndup (contents, length);
  gboolean ok = TRUE;

  index->group_lines = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  index->key_lines = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  index->conflicting = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  lines = g_strsplit (text, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *line = lines[i];
      guint number = i + 1;
      const char *equals;

      while (g_ascii_isspace (*line))
        line++;
      if (*line == '\0' || *line == '#')
        continue;

      if (*line == '[')
        {
          const char *end = strrchr (line, ']');
          g_autofree char *trailing = NULL;

          trailing = end != NULL ? g_strstrip (g_strdup (end + 1)) : NULL;
          if (end == NULL || end == line + 1 || (trailing != NULL && *trailing != '\0'))
            {
              add_problem (problems, path, number, NULL, NULL,
                           "malformed group header ‘%s’: expected [NAME]", g_strchomp (lines[i]));
              ok = FALSE;
              continue;
            }
          g_free (group);
          group = g_strndup (line + 1, end - line - 1);
          if (g_hash_table_contains (index->group_lines, group))
            {
              add_problem (problems, path, number, group, NULL,
                           "rule given twice (first at line %u); both are ignored",
                           GPOINTER_TO_UINT (g_hash_table_lookup (index->group_lines, group)));
              g_hash_table_add (index->conflicting, g_strdup (group));
            }
          else
            g_hash_table_insert (index->group_lines, g_strdup (group), GUINT_TO_POINTER (number));
          continue;
        }

      equals = strchr (line, '=');
      if (equals == NULL || equals == line)
        {
          add_problem (problems, path, number, group, NULL,
                       "‘%s’ is no KEY=VALUE, [RULE] or # comment line", g_strchomp (lines[i]));
          ok = FALSE;
          continue;
        }
      if (group == NULL)
        {
          g_autofree char *key = g_strchomp (g_strndup (line, equals - line));

          add_problem (problems, path, number, NULL, key, "key before the first [rule] group");
          ok = FALSE;
          continue;
        }

      {
        g_autofree char *key = g_strchomp (g_strndup (line, equals - line));
        g_autofree char *id = g_strconcat (group, "\n", key, NULL);

        if (g_hash_table_contains (index->key_lines, id))
          {
            add_problem (problems, path, number, group, key,
                         "key given twice in the rule (first at line %u); the rule is ignored",
                         GPOINTER_TO_UINT (g_hash_table_lookup (index->key_lines, id)));
            g_hash_table_add (index->conflicting, g_strdup (group));
          }
        else
          g_hash_table_insert (index->key_lines, g_steal_pointer (&id), GUINT_TO_POINTER (number));
      }
    }

  return ok;
}

static guint
key_line (FileIndex  *index,
          const char *group,
          const char *key)
{
  g_autofree char *id = g_strconcat (group, "\n", key, NULL);
  guint line = GPOINTER_TO_UINT (g_hash_table_lookup (index->key_lines, id));

  return line != 0 ? line : GPOINTER_TO_UINT (g_hash_table_lookup (index->group_lines, group));
}

/* ---- values --------------------------------------------------------------- */

typedef struct {
  const char *path;
  const char *group;
  const char *key;
  guint       line;
  GPtrArray  *problems;
  gboolean    failed;
} Context;

static void bad_value (Context    *ctx,
                       const char *format,
                       ...) G_GNUC_PRINTF (2, 3);

static void
bad_value (Context    *ctx,
           const char *format,
           ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);
  add_problem (ctx->problems, ctx->path, ctx->line, ctx->group, ctx->key, "%s; the rule is ignored", message);
  ctx->failed = TRUE;
}

static GStrv
get_list (GKeyFile *keyfile,
          Context  *ctx)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) raw = g_key_file_get_string_list (keyfile, ctx->group, ctx->key, NULL, &error);
  GStrvBuilder *builder;
  GStrv result;

  if (raw == NULL)
    {
      bad_value (ctx, "%s", error->message);
      return NULL;
    }

  builder = g_strv_builder_new ();
  for (guint i = 0; raw[i] != NULL; i++)
    {
      g_strstrip (raw[i]);
      if (*raw[i] != '\0')
        g_strv_builder_add (builder, raw[i]);
    }
  result = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);

  if (result[0] == NULL)
    {
      bad_value (ctx, "empty list");
      g_strfreev (result);
      return NULL;
    }
  return result;
}

static gboolean
parse_uint (const char *text,
            guint64     max,
            guint64    *out)
{
  return g_ascii_string_to_unsigned (text, 10, 0, max, out, NULL);
}

static gboolean
parse_port_range (const char      *text,
                  PolicyPortRange *range)
{
  const char *dash = strchr (text, '-');
  guint64 low, high;

  if (dash == NULL)
    {
      if (!parse_uint (text, 65535, &low) || low == 0)
        return FALSE;
      range->low = range->high = low;
      return TRUE;
    }
  {
    g_autofree char *first = g_strndup (text, dash - text);

    if (!parse_uint (first, 65535, &low) || !parse_uint (dash + 1, 65535, &high)
        || low == 0 || low > high)
      return FALSE;
  }
  range->low = low;
  range->high = high;
  return TRUE;
}

/* A few services, for hosts without /etc/services */
static const struct { const char *name; guint16 port; } known_services[] = {
  { "http", 80 }, { "https", 443 }, { "domain", 53 }, { "dns", 53 }, { "ssh", 22 },
  { "smtp", 25 }, { "submission", 587 }, { "imap", 143 }, { "imaps", 993 },
  { "pop3", 110 }, { "pop3s", 995 }, { "ntp", 123 }, { "domain-s", 853 },
  { "xmpp-client", 5222 }, { "sip", 5060 }, { "sips", 5061 },
};

static gboolean
service_port (const char *name,
              guint16    *port)
{
  struct servent result, *entry = NULL;
  char buffer[1024];

  for (guint i = 0; i < G_N_ELEMENTS (known_services); i++)
    if (strcmp (known_services[i].name, name) == 0)
      {
        *port = known_services[i].port;
        return TRUE;
      }
  if (getservbyname_r (name, NULL, &result, buffer, sizeof buffer, &entry) == 0 && entry != NULL)
    {
      *port = g_ntohs (entry->s_port);
      return TRUE;
    }
  return FALSE;
}

/* [a-z0-9-]+ */
static gboolean
is_simple_name (const char *name)
{
  if (*name == '\0')
    return FALSE;
  for (const char *p = name; *p != '\0'; p++)
    if (!g_ascii_islower (*p) && !g_ascii_isdigit (*p) && *p != '-' && *p != '_')
      return FALSE;
  return TRUE;
}

/* `family.option`, as PostConfiguration accepts */
static gboolean
is_option_key (const char *key)
{
  gsize component = 0;
  guint n_components = 1;

  for (const char *p = key; *p != '\0'; p++)
    {
      if (*p == '.')
        {
          if (component == 0)
            return FALSE;
          component = 0;
          n_components++;
        }
      else if (g_ascii_islower (*p) || g_ascii_isdigit (*p) || *p == '-')
        component++;
      else
        return FALSE;
    }
  return component > 0 && n_components >= 2;
}

static PolicyAction *
add_action (PolicyRule       *rule,
            Context          *ctx,
            PolicyActionKind  kind)
{
  PolicyAction *action = g_new0 (PolicyAction, 1);

  action->kind = kind;
  action->key = g_strdup (ctx->key);
  action->line = ctx->line;
  action->rule = rule;
  g_ptr_array_add (rule->actions, action);
  return action;
}

static gboolean
get_level (GKeyFile       *keyfile,
           Context        *ctx,
           PostPreference *level)
{
  g_autofree char *text = g_key_file_get_string (keyfile, ctx->group, ctx->key, NULL);

  if (text != NULL)
    g_strstrip (text);
  if (text == NULL || !post_preference_from_nick (text, level))
    {
      bad_value (ctx, "‘%s’ is no level (require, prefer, no-preference, avoid, prohibit)",
                 text != NULL ? text : "");
      return FALSE;
    }
  return TRUE;
}

/* `NAME:LEVEL;…` into one action per entry */
static void
parse_preference_set (GKeyFile         *keyfile,
                      Context          *ctx,
                      PolicyRule       *rule,
                      PolicyActionKind  kind)
{
  g_auto(GStrv) entries = get_list (keyfile, ctx);
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  if (entries == NULL)
    return;
  for (guint i = 0; entries[i] != NULL; i++)
    {
      const char *colon = strrchr (entries[i], ':');
      g_autofree char *name = colon ? g_strstrip (g_strndup (entries[i], colon - entries[i])) : NULL;
      g_autofree char *level_text = colon ? g_strstrip (g_strdup (colon + 1)) : NULL;
      PostPreference level;
      PolicyAction *action;
      gpointer previous;

      if (colon == NULL || *name == '\0' || !post_preference_from_nick (level_text, &level))
        {
          bad_value (ctx, "‘%s’ is no NAME:LEVEL entry (levels: require, prefer, "
                     "no-preference, avoid, prohibit)", entries[i]);
          return;
        }
      if (kind == POLICY_ACTION_STACK && !is_simple_name (name))
        {
          bad_value (ctx, "‘%s’ is no stack name", name);
          return;
        }
      if (g_hash_table_lookup_extended (seen, name, NULL, &previous))
        {
          if (GPOINTER_TO_INT (previous) != (int) level)
            {
              bad_value (ctx, "‘%s’ is both %s and %s", name,
                         post_preference_to_nick (GPOINTER_TO_INT (previous)),
                         post_preference_to_nick (level));
              return;
            }
          continue;
        }
      action = add_action (rule, ctx, kind);
      action->name = g_steal_pointer (&name);
      action->value = level;
      g_hash_table_insert (seen, action->name, GINT_TO_POINTER (level));
    }
}

static void
parse_mtu (GKeyFile   *keyfile,
           Context    *ctx,
           PolicyRule *rule)
{
  g_autofree char *text = g_key_file_get_string (keyfile, ctx->group, ctx->key, NULL);
  const char *number = text;
  guint64 value, high;
  const char *dash;

  if (text == NULL)
    {
      bad_value (ctx, "no value");
      return;
    }
  g_strstrip (text);
  rule->has_mtu = TRUE;
  rule->mtu_min = 0;
  rule->mtu_max = G_MAXUINT;

  if (g_str_has_prefix (text, "<=") || g_str_has_prefix (text, ">="))
    number = text + 2;
  else if (*text == '<' || *text == '>')
    number = text + 1;
  while (g_ascii_isspace (*number))
    number++;

  dash = number == text ? strchr (text, '-') : NULL;
  if (dash != NULL)
    {
      g_autofree char *first = g_strndup (text, dash - text);

      if (!parse_uint (first, G_MAXUINT, &value) || !parse_uint (dash + 1, G_MAXUINT, &high) || value > high)
        goto bad;
      rule->mtu_min = value;
      rule->mtu_max = high;
      return;
    }
  if (!parse_uint (number, G_MAXUINT - 1, &value) || value == 0)
    goto bad;
  if (g_str_has_prefix (text, "<="))
    rule->mtu_max = value;
  else if (g_str_has_prefix (text, ">="))
    rule->mtu_min = value;
  else if (*text == '<')
    rule->mtu_max = value - 1;
  else if (*text == '>')
    rule->mtu_min = value + 1;
  else
    rule->mtu_min = rule->mtu_max = value;
  return;

bad:
  bad_value (ctx, "‘%s’ is no MTU condition (N, N-M, <N, <=N, >N or >=N)", text);
}

/* A key that sets a configuration setting: parsed by the setting's type
 * in the table (post-configuration.c) */
static const PolicyActionKind setting_actions[] = {
  [POST_SETTING_KEY_SELECTION] = POLICY_ACTION_PREFERENCE,
  [POST_SETTING_KEY_TEMPORARY] = POLICY_ACTION_TEMPORARY,
  [POST_SETTING_KEY_SOFT_ERROR] = POLICY_ACTION_SOFT_ERROR,
  [POST_SETTING_KEY_DIRECTION] = POLICY_ACTION_DIRECTION,
  [POST_SETTING_KEY_KEEP_ALIVE_TIMEOUT] = POLICY_ACTION_KEEP_ALIVE_TIMEOUT,
  [POST_SETTING_KEY_STACKS] = POLICY_ACTION_STACK,
  [POST_SETTING_KEY_INTERFACE] = POLICY_ACTION_INTERFACE,
  [POST_SETTING_KEY_PVD] = POLICY_ACTION_PVD,
};

static void
parse_setting (GKeyFile          *keyfile,
               Context           *ctx,
               PolicyRule        *rule,
               const PostSetting *setting)
{
  PolicyActionKind kind = setting_actions[setting->key];

  switch (setting->type)
    {
    case POST_SETTING_PREFERENCE:
      {
        PostPreference level;
        PostSelectionProperty property;

        if (!get_level (keyfile, ctx, &level))
          return;
        if (setting->key == POST_SETTING_KEY_SELECTION)
          {
            PolicyAction *action = add_action (rule, ctx, kind);

            post_selection_property_from_nick (setting->name, &property);
            action->property = property;
            action->value = level;
          }
        else
          add_action (rule, ctx, kind)->value = level;
      }
      return;
    case POST_SETTING_ENUM:
      {
        g_autofree char *text = g_key_file_get_string (keyfile, ctx->group, ctx->key, NULL);
        GEnumClass *klass = g_type_class_ref (setting->gtype ());
        GEnumValue *value = text ? g_enum_get_value_by_nick (klass, g_strstrip (text)) : NULL;

        if (value == NULL)
          {
            g_autoptr(GString) nicks = g_string_new (NULL);

            for (guint i = 0; i < klass->n_values; i++)
              g_string_append_printf (nicks, "%s%s", i > 0 ? ", " : "", klass->values[i].value_nick);
            bad_value (ctx, "‘%s’ is no %s (%s)", text != NULL ? text : "", setting->what, nicks->str);
          }
        else
          add_action (rule, ctx, kind)->value = value->value;
        g_type_class_unref (klass);
      }
      return;
    case POST_SETTING_UINT:
      {
        g_autofree char *text = g_key_file_get_string (keyfile, ctx->group, ctx->key, NULL);
        guint64 number;

        /* As the configuration's setter takes it: the table's range */
        if (text == NULL
            || !g_ascii_string_to_unsigned (g_strstrip (text), 10, setting->min, setting->max,
                                            &number, NULL))
          bad_value (ctx, "‘%s’ is no %s (%s, %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT ")",
                     text != NULL ? text : "", setting->what, setting->unit,
                     setting->min, setting->max);
        else
          add_action (rule, ctx, kind)->value = (int) number;
      }
      return;
    case POST_SETTING_PREFERENCE_SET:
    case POST_SETTING_STRV:
      parse_preference_set (keyfile, ctx, rule, kind);
      return;
    case POST_SETTING_UINT64:
    case POST_SETTING_BOOLEAN:
    case POST_SETTING_GTYPE:
    case POST_SETTING_OBJECT:
      break;
    }
  g_return_if_reached ();
}

static void
parse_key (GKeyFile   *keyfile,
           Context    *ctx,
           PolicyRule *rule)
{
  const char *key = ctx->key;
  const PostSetting *setting;

  if (strcmp (key, "description") == 0)
    {
      rule->description = g_key_file_get_string (keyfile, ctx->group, key, NULL);
    }
  else if (strcmp (key, "mandatory") == 0)
    {
      /* handled once every action is known */
    }
  else if (strcmp (key, "match-host") == 0)
    {
      rule->hosts = get_list (keyfile, ctx);
      for (guint i = 0; rule->hosts != NULL && rule->hosts[i] != NULL; i++)
        {
          char *lower = g_ascii_strdown (rule->hosts[i], -1);

          g_free (rule->hosts[i]);
          rule->hosts[i] = lower;
        }
    }
  else if (strcmp (key, "match-port") == 0)
    {
      g_auto(GStrv) list = get_list (keyfile, ctx);

      rule->ports = g_array_new (FALSE, FALSE, sizeof (PolicyPortRange));
      for (guint i = 0; list != NULL && list[i] != NULL; i++)
        {
          PolicyPortRange range;

          if (!parse_port_range (list[i], &range))
            {
              bad_value (ctx, "‘%s’ is no port (1-65535) or port range (N-M)", list[i]);
              return;
            }
          g_array_append_val (rule->ports, range);
        }
    }
  else if (strcmp (key, "match-service") == 0)
    {
      rule->services = get_list (keyfile, ctx);
      rule->service_ports = g_array_new (FALSE, FALSE, sizeof (PolicyPortRange));
      for (guint i = 0; rule->services != NULL && rule->services[i] != NULL; i++)
        {
          PolicyPortRange range;
          guint16 port;

          if (!service_port (rule->services[i], &port))
            {
              bad_value (ctx, "unknown service ‘%s’ (not in /etc/services)", rule->services[i]);
              return;
            }
          range.low = range.high = port;
          g_array_append_val (rule->service_ports, range);
        }
    }
  else if (strcmp (key, "match-scheme") == 0)
    {
      rule->schemes = get_list (keyfile, ctx);
      for (guint i = 0; rule->schemes != NULL && rule->schemes[i] != NULL; i++)
        if (!is_simple_name (rule->schemes[i]))
          {
            bad_value (ctx, "‘%s’ is no URI scheme", rule->schemes[i]);
            return;
          }
    }
  else if (strcmp (key, "match-app") == 0)
    rule->apps = get_list (keyfile, ctx);
  else if (strcmp (key, "match-interface") == 0)
    rule->interfaces = get_list (keyfile, ctx);
  else if (strcmp (key, "match-interface-kind") == 0)
    {
      g_auto(GStrv) list = get_list (keyfile, ctx);

      for (guint i = 0; list != NULL && list[i] != NULL; i++)
        {
          PostInterfaceKind kind;

          if (!post_interface_kind_from_nick (list[i], &kind))
            {
              bad_value (ctx, "‘%s’ is no interface kind (loopback, wired, wifi, cellular, vpn, "
                         "other, unknown)", list[i]);
              return;
            }
          rule->kinds |= 1u << kind;
        }
    }
  else if (strcmp (key, "match-metered") == 0)
    {
      g_autoptr(GError) error = NULL;
      gboolean metered = g_key_file_get_boolean (keyfile, ctx->group, key, &error);

      if (error != NULL)
        bad_value (ctx, "expected true or false");
      else
        rule->metered = metered;
    }
  else if (strcmp (key, "match-mtu") == 0)
    parse_mtu (keyfile, ctx, rule);
  else if ((setting = _post_configuration_find_setting (key)) != NULL
           && setting->key != POST_SETTING_KEY_NONE)
    parse_setting (keyfile, ctx, rule, setting);
  else if (strcmp (key, "score") == 0)
    {
      g_autofree char *text = g_key_file_get_string (keyfile, ctx->group, key, NULL);
      gint64 score;

      if (text == NULL
          || !g_ascii_string_to_signed (g_strstrip (text), 10, -SCORE_LIMIT, SCORE_LIMIT, &score, NULL))
        bad_value (ctx, "‘%s’ is no score (an integer from -%d to %d)",
                   text != NULL ? text : "", SCORE_LIMIT, SCORE_LIMIT);
      else
        add_action (rule, ctx, POLICY_ACTION_SCORE)->value = (int) score;
    }
  else if (strchr (key, '.') != NULL)
    {
      g_autofree char *text = g_key_file_get_value (keyfile, ctx->group, key, NULL);
      g_autoptr(GError) parse_error = NULL;
      g_autoptr(GError) check_error = NULL;
      GVariant *value;

      if (!is_option_key (key))
        {
          bad_value (ctx, "‘%s’ is no option key (family.option, in lower-case letters, "
                     "digits and ‘-’)", key);
          return;
        }
      g_strstrip (text);
      /* g_variant_parse() returns a full reference, g_variant_new_string()
       * a floating one: take_ref owns both without adding a reference */
      value = g_variant_parse (NULL, text, NULL, NULL, &parse_error);
      if (value == NULL)
        value = g_variant_new_string (text);   /* a bare word is a string */
      g_variant_take_ref (value);
      /* Checked against the options the loaded stacks declare, so that
       * `post-policy check` and loading name file:line of a bad value */
      if (!post_registry_check_option (post_registry_get_default (), key, value, NULL, &check_error))
        {
          if (parse_error != NULL)
            bad_value (ctx, "%s (it was read as a string: as GVariant text, %s)",
                       check_error->message, parse_error->message);
          else
            bad_value (ctx, "%s", check_error->message);
          g_variant_unref (value);
          return;
        }
      add_action (rule, ctx, POLICY_ACTION_OPTION)->option = value;
    }
  else
    {
      add_problem (ctx->problems, ctx->path, ctx->line, ctx->group, key,
                   "unknown key; the rule is ignored (see docs/policy.md)");
      ctx->failed = TRUE;
    }
}

static gboolean
key_is_action (const char *key)
{
  return strcmp (key, "description") != 0 && strcmp (key, "mandatory") != 0
         && !g_str_has_prefix (key, "match-");
}

static void
parse_mandatory (GKeyFile   *keyfile,
                 Context    *ctx,
                 PolicyRule *rule)
{
  g_autofree char *text = g_key_file_get_string (keyfile, ctx->group, "mandatory", NULL);
  g_auto(GStrv) keys = NULL;

  if (text == NULL)
    return;
  g_strstrip (text);
  if (g_ascii_strcasecmp (text, "true") == 0 || g_ascii_strcasecmp (text, "false") == 0)
    {
      gboolean all = g_ascii_strcasecmp (text, "true") == 0;

      for (guint i = 0; i < rule->actions->len; i++)
        ((PolicyAction *) rule->actions->pdata[i])->mandatory = all;
      return;
    }

  keys = get_list (keyfile, ctx);
  for (guint k = 0; keys != NULL && keys[k] != NULL; k++)
    {
      gboolean found = FALSE;

      for (guint i = 0; i < rule->actions->len; i++)
        {
          PolicyAction *action = rule->actions->pdata[i];

          if (strcmp (action->key, keys[k]) == 0)
            action->mandatory = found = TRUE;
        }
      if (!found)
        {
          bad_value (ctx, "‘%s’ is not set by this rule%s", keys[k],
                     key_is_action (keys[k]) ? "" : " (only settings can be mandatory, not matches)");
          return;
        }
    }
}

/* Whether keys[@i] is the first of its name in @keys */
static gboolean
key_is_first (GStrv keys,
              guint i)
{
  for (guint j = 0; j < i; j++)
    if (strcmp (keys[j], keys[i]) == 0)
      return FALSE;
  return TRUE;
}

static PolicyRule *
parse_rule (GKeyFile   *keyfile,
            FileIndex  *index,
            const char *path,
            const char *group,
            const char *app_file_id,
            GPtrArray  *problems)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) keys = g_key_file_get_keys (keyfile, group, NULL, &error);
  PolicyRule *rule = g_new0 (PolicyRule, 1);
  Context ctx = { path, group, NULL, 0, problems, FALSE };

  rule->file = g_strdup (path);
  rule->name = g_strdup (group);
  rule->line = GPOINTER_TO_UINT (g_hash_table_lookup (index->group_lines, group));
  rule->app_file_id = g_strdup (app_file_id);
  rule->metered = -1;
  rule->actions = g_ptr_array_new_with_free_func ((GDestroyNotify) action_free);
  rule->raw = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; keys != NULL && keys[i] != NULL; i++)
    {
      g_autofree char *raw = NULL;

      /* GKeyFile lists a key given twice twice (with the last value each
       * time); scan_file() reported it and the rule is ignored, and parsing
       * it again would replace (and leak) what the first pass stored */
      if (!key_is_first (keys, i))
        continue;

      raw = g_key_file_get_value (keyfile, group, keys[i], NULL);
      ctx.key = keys[i];
      ctx.line = key_line (index, group, keys[i]);
      if (strchr (keys[i], '[') != NULL)
        {
          add_problem (problems, path, ctx.line, group, keys[i],
                       "localized keys have no meaning in policy; the rule is ignored");
          ctx.failed = TRUE;
          continue;
        }
      parse_key (keyfile, &ctx, rule);
      g_ptr_array_add (rule->raw, g_strdup_printf ("%s=%s", keys[i], raw != NULL ? raw : ""));
    }

  if (!ctx.failed && g_key_file_has_key (keyfile, group, "mandatory", NULL))
    {
      ctx.key = "mandatory";
      ctx.line = key_line (index, group, "mandatory");
      parse_mandatory (keyfile, &ctx, rule);
    }

  if (!ctx.failed && rule->actions->len == 0)
    {
      add_problem (problems, path, rule->line, group, NULL,
                   "the rule matches but sets nothing; it is ignored");
      ctx.failed = TRUE;
    }

  if (ctx.failed || g_hash_table_contains (index->conflicting, group))
    {
      _post_policy_rule_free (rule);
      return NULL;
    }
  return rule;
}

GPtrArray *
_post_policy_parse_file (const char *path,
                         const char *contents,
                         gsize       length,
                         const char *app_file_id,
                         GPtrArray  *problems)
{
  g_autoptr(GKeyFile) keyfile = g_key_file_new ();
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) groups = NULL;
  GPtrArray *rules = g_ptr_array_new_with_free_func ((GDestroyNotify) _post_policy_rule_free);
  FileIndex index = { NULL, };

  if (!g_utf8_validate_len (contents, length, NULL))
    {
      add_problem (problems, path, 1, NULL, NULL, "not UTF-8 text; the file is ignored");
      return rules;
    }
  if (!scan_file (path, contents, length, &index, problems))
    {
      add_problem (problems, path, 1, NULL, NULL, "syntax errors; the file is ignored");
      file_index_clear (&index);
      return rules;
    }
  if (!g_key_file_load_from_data (keyfile, contents, length, G_KEY_FILE_NONE, &error))
    {
      add_problem (problems, path, 1, NULL, NULL, "%s; the file is ignored", error->message);
      file_index_clear (&index);
      return rules;
    }

  groups = g_key_file_get_groups (keyfile, NULL);
  for (guint i = 0; groups[i] != NULL; i++)
    {
      PolicyRule *rule = parse_rule (keyfile, &index, path, groups[i], app_file_id, problems);

      if (rule != NULL)
        g_ptr_array_add (rules, rule);
    }

  file_index_clear (&index);
  return rules;
}

/* ---- matching ------------------------------------------------------------- */

gboolean
_post_policy_rule_needs_path (const PolicyRule *rule)
{
  if (rule->interfaces != NULL || rule->kinds != 0 || rule->metered >= 0 || rule->has_mtu)
    return TRUE;
  for (guint i = 0; i < rule->actions->len; i++)
    {
      PolicyAction *action = rule->actions->pdata[i];

      if (action->kind == POLICY_ACTION_INTERFACE || action->kind == POLICY_ACTION_PVD
          || action->kind == POLICY_ACTION_TEMPORARY)
        return TRUE;
    }
  return FALSE;
}

static gboolean
rule_has_path_matchers (const PolicyRule *rule)
{
  return rule->interfaces != NULL || rule->kinds != 0 || rule->metered >= 0 || rule->has_mtu;
}

static gboolean
match_globs (GStrv       globs,
             const char *text,
             gboolean    fold_case)
{
  g_autofree char *lower = NULL;

  if (text == NULL)
    return FALSE;
  if (fold_case)
    text = lower = g_ascii_strdown (text, -1);
  for (guint i = 0; globs[i] != NULL; i++)
    if (g_pattern_match_simple (globs[i], text))
      return TRUE;
  return FALSE;
}

static gboolean
match_ports (GArray  *ranges,
             guint16  port)
{
  if (port == 0)
    return FALSE;
  for (guint i = 0; i < ranges->len; i++)
    {
      PolicyPortRange *range = &g_array_index (ranges, PolicyPortRange, i);

      if (port >= range->low && port <= range->high)
        return TRUE;
    }
  return FALSE;
}

gboolean
_post_policy_rule_matches (const PolicyRule   *rule,
                           const PolicyQuery  *query,
                           const PostPathInfo *path)
{
  if (rule->app_file_id != NULL && g_strcmp0 (rule->app_file_id, query->app_id) != 0)
    return FALSE;
  if (rule->apps != NULL && !match_globs (rule->apps, query->app_id, FALSE))
    return FALSE;
  if (rule->hosts != NULL && !match_globs (rule->hosts, query->host, TRUE))
    return FALSE;
  if (rule->ports != NULL && !match_ports (rule->ports, query->port))
    return FALSE;
  if (rule->schemes != NULL
      && (query->scheme == NULL || !g_strv_contains ((const char * const *) rule->schemes, query->scheme)))
    return FALSE;
  if (rule->services != NULL
      && !(query->scheme != NULL && g_strv_contains ((const char * const *) rule->services, query->scheme))
      && !match_ports (rule->service_ports, query->port))
    return FALSE;

  if (!rule_has_path_matchers (rule))
    return TRUE;
  if (path == NULL)
    return FALSE;
  if (rule->interfaces != NULL && !match_globs (rule->interfaces, path->interface, FALSE))
    return FALSE;
  if (rule->kinds != 0 && !(rule->kinds & (1u << path->kind)))
    return FALSE;
  if (rule->metered >= 0 && (rule->metered != 0) != (path->metered != FALSE))
    return FALSE;
  if (rule->has_mtu && (path->mtu == 0 || path->mtu < rule->mtu_min || path->mtu > rule->mtu_max))
    return FALSE;
  return TRUE;
}

void
_post_policy_rule_dump (const PolicyRule *rule,
                        GString          *out)
{
  g_string_append_printf (out, "# %s:%u%s%s\n", rule->file, rule->line,
                          rule->app_file_id ? ", only for application " : "",
                          rule->app_file_id ? rule->app_file_id : "");
  g_string_append_printf (out, "[%s]\n", rule->name);
  for (guint i = 0; i < rule->raw->len; i++)
    g_string_append_printf (out, "%s\n", (const char *) rule->raw->pdata[i]);
}
