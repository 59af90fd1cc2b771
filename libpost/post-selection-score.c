/* post-selection-score.c: what the policy makes of a configuration, and the
 * score of one candidate under it
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "post-selection-score-private.h"

#include <string.h>

/*
 * Scoring one candidate (ranking is post-selection.c's)
 * =================================================
 *
 *
 *   - the effective configuration: the application's, overridden by the
 *     matching rules in order (vendor < system < user < application
 *     files; file name; position).  A rule's value replaces the
 *     application's unless the application holds a hard value (require or
 *     prohibit, an option it set, a stack list it gave) — then the
 *     application wins, unless the key is mandatory.  A mandatory key can
 *     only be replaced by a later mandatory one;
 *   - each selection property: require / prohibit remove the candidate
 *     when its stack lacks / has the capability; prefer / avoid add /
 *     subtract WEIGHT when it has it;
 *   - the `stacks`, `interface` and `pvd` preference sets: prohibit
 *     removes, require removes every candidate matching no required
 *     entry, prefer / avoid add / subtract WEIGHT;
 *   - `score=N` of each matching rule is added.
 *
 * Every term is recorded with where it came from (the application, or a
 * rule's file:line), which `post-policy explain` prints.  With no policy
 * rules and no path preferences in the configuration, step 2 returns at
 * once and step 1 is the plain capability match.
 */

#define WEIGHT 10

/* The capability each PostSelectionProperty asks for */
static const PostStackCapabilities selection_capabilities[POST_SELECTION_LAST] = {
  [POST_SELECTION_RELIABILITY] = POST_STACK_CAP_RELIABLE,
  [POST_SELECTION_PRESERVE_MSG_BOUNDARIES] = POST_STACK_CAP_PRESERVE_MSG_BOUNDARIES,
  [POST_SELECTION_PER_MSG_RELIABILITY] = POST_STACK_CAP_PER_MSG_RELIABILITY,
  [POST_SELECTION_PRESERVE_ORDER] = POST_STACK_CAP_ORDERED,
  [POST_SELECTION_ZERO_RTT_MSG] = POST_STACK_CAP_ZERO_RTT,
  [POST_SELECTION_MULTISTREAMING] = POST_STACK_CAP_MULTISTREAMING,
  [POST_SELECTION_CONGESTION_CONTROL] = POST_STACK_CAP_CONGESTION_CONTROL,
  [POST_SELECTION_KEEP_ALIVE] = POST_STACK_CAP_KEEP_ALIVE,
  [POST_SELECTION_MULTIPATH] = POST_STACK_CAP_MULTIPATH,
  [POST_SELECTION_SECURE] = POST_STACK_CAP_SECURE,
  [POST_SELECTION_FORK] = POST_STACK_CAP_FORK,
};

/* What libpost's core provides over every stack (post-transient.c) */
#define CORE_CAPABILITIES (POST_STACK_CAP_MSG_NICENESS |   \
                           POST_STACK_CAP_MSG_ANTECEDENTS | \
                           POST_STACK_CAP_MSG_LIFETIME |   \
                           POST_STACK_CAP_EVENT_EXPIRED |  \
                           POST_STACK_CAP_MSG_IMMEDIATE)

PostStackCapabilities
_post_selection_effective_capabilities (PostStack         *stack,
                                        PostConfiguration *configuration)
{
  PostStackCapabilities caps;

  g_return_val_if_fail (POST_IS_STACK (stack), POST_STACK_CAP_NONE);
  g_return_val_if_fail (configuration == NULL || POST_IS_CONFIGURATION (configuration),
                        POST_STACK_CAP_NONE);

  caps = post_stack_get_capabilities (stack);

  /* A framer gives byte streams message boundaries */
  if ((caps & POST_STACK_CAP_BYTE_STREAM) &&
      (configuration == NULL ||
       post_configuration_get_framing (configuration) == POST_FRAMING_AUTO))
    caps |= POST_STACK_CAP_PRESERVE_MSG_BOUNDARIES | POST_STACK_CAP_EMPTY_MESSAGES
            | POST_STACK_CAP_PARTIAL_MESSAGES;

  caps |= CORE_CAPABILITIES;

  /* Fork opens a stream, or a new transient to a peer that listens */
  if (caps & (POST_STACK_CAP_LISTEN | POST_STACK_CAP_MULTISTREAMING))
    caps |= POST_STACK_CAP_FORK;

  /* ... which arrives as a fork request when libpost's own framing carries
   * the control frames for it (docs/framing.md, "Forking with control
   * frames"); stream framing or another framer is what a foreign peer
   * speaks, and a message stack has no framing to carry them. */
  if ((caps & POST_STACK_CAP_BYTE_STREAM) && (caps & POST_STACK_CAP_LISTEN)
      && !(caps & POST_STACK_CAP_MULTISTREAMING)
      && (configuration == NULL
          || (post_configuration_get_framing (configuration) == POST_FRAMING_AUTO
              && _post_configuration_has_own_framing (configuration))))
    caps |= POST_STACK_CAP_FORK_REQUEST;

  return caps;
}

gboolean
_post_selection_role_needs_listen (PostCarrierRole role)
{
  return role == POST_CARRIER_ROLE_LISTENER || role == POST_CARRIER_ROLE_RESPONDER;
}

static const char *
role_to_string (PostCarrierRole role)
{
  return role == POST_CARRIER_ROLE_RESPONDER ? "responder" : "listener";
}

/* ---- the policy applied to one query --------------------------------------- */

typedef struct {
  const PolicyAction *action;
  gboolean locked;
} Slot;


void
_post_selection_applied_clear (PostSelectionApplied *applied)
{
  g_clear_object (&applied->configuration);
  g_clear_pointer (&applied->origins, g_hash_table_unref);
  g_clear_pointer (&applied->stack_levels, g_hash_table_unref);
  g_clear_pointer (&applied->scores, g_ptr_array_unref);
  g_clear_pointer (&applied->notes, g_ptr_array_unref);
}

static gboolean
is_hard (PostPreference preference)
{
  return preference == POST_PREFERENCE_REQUIRE || preference == POST_PREFERENCE_PROHIBIT;
}

static char *
slot_key (const PolicyAction *action)
{
  switch (action->kind)
    {
    case POLICY_ACTION_STACK:
      return g_strconcat ("stacks:", action->name, NULL);
    case POLICY_ACTION_INTERFACE:
      return g_strconcat ("interface:", action->name, NULL);
    case POLICY_ACTION_PVD:
      return g_strconcat ("pvd:", action->name, NULL);
    case POLICY_ACTION_PREFERENCE:
    case POLICY_ACTION_TEMPORARY:
    case POLICY_ACTION_SOFT_ERROR:
    case POLICY_ACTION_DIRECTION:
    case POLICY_ACTION_KEEP_ALIVE_TIMEOUT:
    case POLICY_ACTION_OPTION:
    case POLICY_ACTION_SCORE:
    default:
      return g_strdup (action->key);
    }
}

static char *
action_text (const PolicyAction *action)
{
  switch (action->kind)
    {
    case POLICY_ACTION_STACK:
    case POLICY_ACTION_INTERFACE:
    case POLICY_ACTION_PVD:
      return g_strdup_printf ("%s=%s:%s", action->key, action->name,
                              post_preference_to_nick (action->value));
    case POLICY_ACTION_OPTION:
      {
        g_autofree char *value = g_variant_print (action->option, FALSE);

        return g_strdup_printf ("%s=%s", action->key, value);
      }
    case POLICY_ACTION_DIRECTION:
      {
        GEnumClass *klass = g_type_class_ref (POST_TYPE_DIRECTION);
        GEnumValue *value = g_enum_get_value (klass, action->value);
        char *text = g_strdup_printf ("%s=%s", action->key, value ? value->value_nick : "?");

        g_type_class_unref (klass);
        return text;
      }
    case POLICY_ACTION_SCORE:
      return g_strdup_printf ("score=%d", action->value);
    case POLICY_ACTION_KEEP_ALIVE_TIMEOUT:
      return g_strdup_printf ("keep-alive-timeout=%u", (guint) action->value);
    case POLICY_ACTION_PREFERENCE:
    case POLICY_ACTION_TEMPORARY:
    case POLICY_ACTION_SOFT_ERROR:
    default:
      return g_strdup_printf ("%s=%s", action->key, post_preference_to_nick (action->value));
    }
}

static void
note_yield (PostSelectionApplied *applied,
            const PolicyAction   *action,
            const char           *what)
{
  g_autofree char *text = action_text (action);
  g_autofree char *origin = _post_policy_action_origin (action);

  g_ptr_array_add (applied->notes,
                   g_strdup_printf ("kept the application's %s over %s (%s; not mandatory)",
                                    what, text, origin));
}

static void
ensure_copy (PostSelectionApplied *applied,
             PostConfiguration    *configuration)
{
  if (applied->changed)
    return;
  g_object_unref (applied->configuration);
  applied->configuration = post_configuration_copy (configuration);
  applied->changed = TRUE;
}

/* TRUE when the application's hard @current value (require or prohibit)
 * stays over the slot's rule, which is not mandatory; noted for explain */
static gboolean
yield_to_hard (PostSelectionApplied *applied,
               const Slot           *slot,
               PostPreference        current)
{
  g_autofree char *what = NULL;

  if (slot->locked || !is_hard (current))
    return FALSE;
  what = g_strdup_printf ("%s=%s", slot->action->key, post_preference_to_nick (current));
  note_yield (applied, slot->action, what);
  return TRUE;
}

/* Applies one winning policy value to the effective configuration */
static void
apply_slot (PostSelectionApplied *applied,
            PostConfiguration    *app,
            const Slot           *slot)
{
  const PolicyAction *action = slot->action;
  PostPreference current;

  switch (action->kind)
    {
    case POLICY_ACTION_PREFERENCE:
      current = post_configuration_get_preference (app, action->property);
      if (current == (PostPreference) action->value)
        break;
      if (yield_to_hard (applied, slot, current))
        return;
      ensure_copy (applied, app);
      post_configuration_set_preference (applied->configuration, action->property, action->value, NULL);
      break;

    case POLICY_ACTION_TEMPORARY:
    case POLICY_ACTION_SOFT_ERROR:
      current = action->kind == POLICY_ACTION_TEMPORARY
                ? post_configuration_get_use_temporary_local_address (app)
                : post_configuration_get_soft_error_notify (app);
      if (current == (PostPreference) action->value)
        break;
      if (yield_to_hard (applied, slot, current))
        return;
      ensure_copy (applied, app);
      if (action->kind == POLICY_ACTION_TEMPORARY)
        post_configuration_set_use_temporary_local_address (applied->configuration, action->value, NULL);
      else
        post_configuration_set_soft_error_notify (applied->configuration, action->value, NULL);
      break;

    case POLICY_ACTION_DIRECTION:
      if (post_configuration_get_direction (app) == (PostDirection) action->value)
        break;
      if (!slot->locked && post_configuration_get_direction (app) != POST_DIRECTION_BIDIRECTIONAL)
        {
          note_yield (applied, action, "direction");
          return;
        }
      ensure_copy (applied, app);
      post_configuration_set_direction (applied->configuration, action->value, NULL);
      break;

    case POLICY_ACTION_KEEP_ALIVE_TIMEOUT:
      {
        guint current_ms = post_configuration_get_keep_alive_timeout (app);

        if (current_ms == (guint) action->value)
          break;
        /* An application's own timeout (0 is the unset default) wins. */
        if (!slot->locked && current_ms != 0)
          {
            g_autofree char *what = g_strdup_printf ("keep-alive-timeout=%u", current_ms);

            note_yield (applied, action, what);
            return;
          }
        ensure_copy (applied, app);
        post_configuration_set_keep_alive_timeout (applied->configuration, action->value, NULL);
      }
      break;

    case POLICY_ACTION_OPTION:
      {
        GVariant *value = post_configuration_get_option (app, action->key);

        if (value != NULL && g_variant_equal (value, action->option))
          break;
        if (!slot->locked && value != NULL)
          {
            note_yield (applied, action, action->key);
            return;
          }
        ensure_copy (applied, app);
        post_configuration_set_option (applied->configuration, action->key, action->option, NULL);
      }
      break;

    case POLICY_ACTION_INTERFACE:
    case POLICY_ACTION_PVD:
      current = action->kind == POLICY_ACTION_INTERFACE
                ? post_configuration_get_interface_preference (app, action->name)
                : post_configuration_get_pvd_preference (app, action->name);
      if (current == (PostPreference) action->value)
        break;
      if (!slot->locked && is_hard (current))
        {
          g_autofree char *what = g_strdup_printf ("%s=%s:%s", action->key, action->name,
                                                   post_preference_to_nick (current));

          note_yield (applied, action, what);
          return;
        }
      ensure_copy (applied, app);
      if (action->kind == POLICY_ACTION_INTERFACE)
        post_configuration_set_interface_preference (applied->configuration, action->name, action->value, NULL);
      else
        post_configuration_set_pvd_preference (applied->configuration, action->name, action->value, NULL);
      break;

    case POLICY_ACTION_STACK:
      /* A stack list the application gave is hard for membership */
      if (!slot->locked && post_configuration_get_stacks (app) != NULL
          && (action->value == POST_PREFERENCE_REQUIRE || action->value == POST_PREFERENCE_PROHIBIT))
        {
          note_yield (applied, action, "stack list");
          return;
        }
      g_hash_table_replace (applied->stack_levels, action->name, (gpointer) action);
      break;

    case POLICY_ACTION_SCORE:
    default:
      g_assert_not_reached ();
    }

  g_hash_table_replace (applied->origins, slot_key (action), (gpointer) action);
}

void
_post_selection_apply_policy (PolicySnapshot       *snapshot,
                              const PolicyQuery    *query,
                              const PostPathInfo   *path,
                              PostConfiguration    *app,
                              PostSelectionApplied *applied)
{
  g_autoptr(GHashTable) slots = NULL;
  g_autoptr(GPtrArray) order = NULL;

  applied->configuration = g_object_ref (app);
  applied->changed = FALSE;
  /* No rules (the common case): nothing applies, and the empty tables
   * stay NULL (readers check) rather than being made for every query. */
  if (snapshot->rules->len == 0)
    return;
  slots = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  order = g_ptr_array_new ();
  applied->origins = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  applied->stack_levels = g_hash_table_new (g_str_hash, g_str_equal);
  applied->scores = g_ptr_array_new ();
  applied->notes = g_ptr_array_new_with_free_func (g_free);

  for (guint r = 0; r < snapshot->rules->len; r++)
    {
      PolicyRule *rule = snapshot->rules->pdata[r];

      if (!_post_policy_rule_matches (rule, query, path))
        continue;
      for (guint a = 0; a < rule->actions->len; a++)
        {
          PolicyAction *action = rule->actions->pdata[a];
          g_autofree char *key = NULL;
          Slot *slot;

          if (action->kind == POLICY_ACTION_SCORE)
            {
              g_ptr_array_add (applied->scores, action);
              continue;
            }
          key = slot_key (action);
          slot = g_hash_table_lookup (slots, key);
          if (slot == NULL)
            {
              slot = g_new0 (Slot, 1);
              g_hash_table_insert (slots, g_strdup (key), slot);
              g_ptr_array_add (order, slot);
            }
          else if (slot->locked && !action->mandatory)
            {
              g_autofree char *text = action_text (action);
              g_autofree char *origin = _post_policy_action_origin (action);
              g_autofree char *lock = _post_policy_action_origin (slot->action);

              g_ptr_array_add (applied->notes,
                               g_strdup_printf ("ignored %s (%s): mandatory at %s", text, origin, lock));
              continue;
            }
          slot->action = action;
          slot->locked = slot->locked || action->mandatory;
        }
    }

  for (guint i = 0; i < order->len; i++)
    apply_slot (applied, app, order->pdata[i]);
  if (applied->changed)
    post_configuration_freeze (applied->configuration);
}

/* ---- scoring one candidate -------------------------------------------------- */


void
_post_selection_verdict_clear (PostSelectionVerdict *verdict)
{
  g_clear_pointer (&verdict->reasons, g_ptr_array_unref);
  g_clear_pointer (&verdict->removals, g_ptr_array_unref);
}

static const PolicyAction *
action_of (PostSelectionApplied *applied,
           const char           *key)
{
  return applied->origins != NULL ? g_hash_table_lookup (applied->origins, key) : NULL;
}

static char *
origin_of (PostSelectionApplied *applied,
           const char           *key)
{
  const PolicyAction *action = action_of (applied, key);

  return action != NULL ? _post_policy_action_origin (action) : NULL;
}

/* A removal names the rule and the file:line of the key that removed the
 * candidate (@action; NULL when the application asked for it): the error
 * of an establishment the policy blocked is made of these texts. */
static void
remove_candidate (PostSelectionVerdict *verdict,
                  const char           *what,
                  const char           *level,
                  const PolicyAction   *action)
{
  char *text = action != NULL
               ? g_strdup_printf ("%s (%s by rule ‘%s’ at %s:%u)", what, level,
                                  action->rule->name, action->rule->file, action->line)
               : g_strdup_printf ("%s (%s)", what, level);

  verdict->removed = TRUE;
  g_ptr_array_add (verdict->removals, text);
  if (verdict->blame == NULL)
    verdict->blame = action;
}

static void
add_term (PostSelectionVerdict *verdict,
          int                   delta,
          const char           *what,
          const char           *origin)
{
  verdict->score += delta;
  g_ptr_array_add (verdict->reasons,
                   g_strdup_printf ("%+d %s (%s)", delta, what, origin != NULL ? origin : "application"));
}

/* How an entry of a preference set names a path: a kind or an interface glob */
static gboolean
interface_entry_matches (const char         *name,
                         const PostPathInfo *path)
{
  PostInterfaceKind kind;

  if (path == NULL)
    return FALSE;
  if (post_interface_kind_from_nick (name, &kind))
    return path->kind == kind;
  return path->interface != NULL && g_pattern_match_simple (name, path->interface);
}

static void
score_preference_set (PostSelectionVerdict  *verdict,
                      PostSelectionApplied  *applied,
                      const char            *set_name,
                      char                 **names,
                      PostConfiguration     *configuration,
                      const PostPathInfo    *path)
{
  gboolean any_required = FALSE, required_met = FALSE;
  const PolicyAction *required_action = NULL;

  for (guint i = 0; names[i] != NULL; i++)
    {
      gboolean is_interface = strcmp (set_name, "interface") == 0;
      PostPreference level = is_interface
                             ? post_configuration_get_interface_preference (configuration, names[i])
                             : post_configuration_get_pvd_preference (configuration, names[i]);
      g_autofree char *key = g_strconcat (set_name, ":", names[i], NULL);
      g_autofree char *origin = origin_of (applied, key);
      g_autofree char *what = g_strdup_printf ("%s=%s:%s", set_name, names[i], post_preference_to_nick (level));
      gboolean matches = is_interface ? interface_entry_matches (names[i], path)
                                      : (path != NULL && g_strcmp0 (path->pvd, names[i]) == 0);

      switch (level)
        {
        case POST_PREFERENCE_REQUIRE:
          any_required = TRUE;
          required_met = required_met || matches;
          if (required_action == NULL)
            required_action = action_of (applied, key);
          break;
        case POST_PREFERENCE_PROHIBIT:
          if (matches)
            {
              g_autofree char *text = g_strdup_printf ("goes over %s %s", set_name, names[i]);

              remove_candidate (verdict, text, "prohibited", action_of (applied, key));
            }
          break;
        case POST_PREFERENCE_PREFER:
          if (matches)
            add_term (verdict, WEIGHT, what, origin);
          break;
        case POST_PREFERENCE_AVOID:
          if (matches)
            add_term (verdict, -WEIGHT, what, origin);
          break;
        case POST_PREFERENCE_NO_PREFERENCE:
        default:
          break;
        }
    }

  if (any_required && !required_met)
    {
      g_autofree char *text = g_strdup_printf ("goes over no required %s%s", set_name,
                                               path == NULL ? " (path unknown)" : "");

      remove_candidate (verdict, text, "required", required_action);
    }
}

static gboolean
stack_named_explicitly (PostConfiguration *configuration,
                        const PolicyQuery *query,
                        const char        *stack_name)
{
  const char * const *stacks = post_configuration_get_stacks (configuration);

  if (query->scheme != NULL && g_strcmp0 (query->scheme, stack_name) == 0)
    return TRUE;
  return stacks != NULL && g_strv_contains (stacks, stack_name);
}

/* Scores @stack (over @path when @path_known) under @applied. */
void
_post_selection_score_candidate (PostSelectionVerdict *verdict,
                                 PostSelectionApplied *applied,
                                 PostStack            *stack,
                                 PostCarrierRole       role,
                                 const PolicyQuery    *query,
                                 gboolean              path_known,
                                 const PostPathInfo   *path)
{
  PostConfiguration *configuration = applied->configuration;
  PostStackCapabilities caps = _post_selection_effective_capabilities (stack, configuration);
  const char *stack_name = post_stack_get_name (stack);
  const PolicyAction *stack_action = NULL;
  const PolicyAction *required_stack = NULL;
  GHashTableIter iter;
  gpointer value;

  verdict->score = 0;
  verdict->removed = FALSE;
  verdict->blame = NULL;
  verdict->reasons = g_ptr_array_new_with_free_func (g_free);
  verdict->removals = g_ptr_array_new_with_free_func (g_free);

  if (_post_selection_role_needs_listen (role) && !(caps & POST_STACK_CAP_LISTEN))
    {
      g_autofree char *text = g_strdup_printf ("cannot listen (needed by a %s)", role_to_string (role));

      verdict->removed = TRUE;
      g_ptr_array_add (verdict->removals, g_steal_pointer (&text));
    }

  for (guint i = 0; i < POST_SELECTION_LAST; i++)
    {
      PostPreference preference = post_configuration_get_preference (configuration, i);
      gboolean has = (caps & selection_capabilities[i]) != 0;
      const char *nick = post_selection_property_to_nick (i);
      g_autofree char *origin = NULL;
      g_autofree char *what = NULL;

      if (preference == POST_PREFERENCE_NO_PREFERENCE)
        continue;
      origin = origin_of (applied, nick);
      /* A stack the application names itself is not ruled out by a
       * default it never asked for. */
      if ((preference == POST_PREFERENCE_REQUIRE || preference == POST_PREFERENCE_PROHIBIT)
          && origin == NULL && !post_configuration_is_preference_explicit (configuration, i)
          && stack_named_explicitly (configuration, query, stack_name))
        continue;
      switch (preference)
        {
        case POST_PREFERENCE_REQUIRE:
          if (!has)
            {
              what = g_strdup_printf ("lacks %s", nick);
              remove_candidate (verdict, what, "required", action_of (applied, nick));
            }
          break;
        case POST_PREFERENCE_PROHIBIT:
          if (has)
            {
              what = g_strdup_printf ("has %s", nick);
              remove_candidate (verdict, what, "prohibited", action_of (applied, nick));
            }
          break;
        case POST_PREFERENCE_PREFER:
          if (has)
            {
              what = g_strdup_printf ("%s=prefer", nick);
              add_term (verdict, WEIGHT, what, origin);
            }
          break;
        case POST_PREFERENCE_AVOID:
          if (has)
            {
              what = g_strdup_printf ("%s=avoid", nick);
              add_term (verdict, -WEIGHT, what, origin);
            }
          break;
        case POST_PREFERENCE_NO_PREFERENCE:
        default:
          break;
        }
    }

  /* RFC 9622 `soft-error-notify`: only stacks that report soft errors can
   * satisfy a requirement; prohibit just silences the carrier's signal. */
  {
    PostPreference preference = post_configuration_get_soft_error_notify (configuration);
    gboolean has = (caps & POST_STACK_CAP_SOFT_ERROR_NOTIFY) != 0;
    g_autofree char *origin = origin_of (applied, "soft-error-notify");

    if (preference == POST_PREFERENCE_REQUIRE && !has)
      remove_candidate (verdict, "lacks soft-error-notify", "required",
                        action_of (applied, "soft-error-notify"));
    else if (preference == POST_PREFERENCE_PREFER && has)
      add_term (verdict, WEIGHT, "soft-error-notify=prefer", origin);
    else if (preference == POST_PREFERENCE_AVOID && has)
      add_term (verdict, -WEIGHT, "soft-error-notify=avoid", origin);
  }

  /* The policy's stack preferences */
  if (applied->stack_levels != NULL)
    {
      g_hash_table_iter_init (&iter, applied->stack_levels);
      while (g_hash_table_iter_next (&iter, NULL, &value))
        if (((const PolicyAction *) value)->value == POST_PREFERENCE_REQUIRE
            && (required_stack == NULL || strcmp (((const PolicyAction *) value)->name, required_stack->name) < 0))
          required_stack = value;
      stack_action = g_hash_table_lookup (applied->stack_levels, stack_name);
    }
  if (required_stack != NULL
      && (stack_action == NULL || stack_action->value != POST_PREFERENCE_REQUIRE))
    {
      remove_candidate (verdict, "is not a required stack", "required", required_stack);
    }
  if (stack_action != NULL)
    {
      g_autofree char *origin = _post_policy_action_origin (stack_action);
      g_autofree char *what = action_text (stack_action);

      if (stack_action->value == POST_PREFERENCE_PROHIBIT)
        remove_candidate (verdict, "is a stack", "prohibited", stack_action);
      else if (stack_action->value == POST_PREFERENCE_PREFER)
        add_term (verdict, WEIGHT, what, origin);
      else if (stack_action->value == POST_PREFERENCE_AVOID)
        add_term (verdict, -WEIGHT, what, origin);
    }

  /* Path preferences: only once the path is known */
  if (path_known)
    {
      g_auto(GStrv) interfaces = post_configuration_list_interface_preferences (configuration);
      g_auto(GStrv) pvds = post_configuration_list_pvd_preferences (configuration);

      score_preference_set (verdict, applied, "interface", interfaces, configuration, path);
      score_preference_set (verdict, applied, "pvd", pvds, configuration, path);
    }

  for (guint i = 0; applied->scores != NULL && i < applied->scores->len; i++)
    {
      const PolicyAction *action = applied->scores->pdata[i];
      g_autofree char *origin = _post_policy_action_origin (action);
      g_autofree char *what = g_strdup_printf ("score (rule %s%s%s)", action->rule->name,
                                               action->rule->description ? ": " : "",
                                               action->rule->description ? action->rule->description : "");

      add_term (verdict, action->value, what, origin);
    }

  /* The rules that applied without a score term or a removal here: the
   * options and settings they set, and preferences that did not touch
   * this candidate (post-policy explain used to say "no rule or
   * preference applies" for a candidate whose configuration a rule had
   * changed) */
  if (applied->origins != NULL)
    {
      /* (the keys, in order: the lines do not depend on the hash) */
      GList *keys = g_list_sort (g_hash_table_get_keys (applied->origins), (GCompareFunc) strcmp);
      g_autoptr(GPtrArray) options = NULL;
      guint n_reasons = verdict->reasons->len;

      for (GList *k = keys; k != NULL; k = k->next)
        {
          const PolicyAction *action = g_hash_table_lookup (applied->origins, k->data);
          g_autofree char *origin = _post_policy_action_origin (action);
          g_autofree char *needle = g_strconcat (origin, ")", NULL);
          g_autofree char *text = NULL;
          const char *effect = "";
          /* a term or removal told already names the origin and what it
           * is about (one line of `interface=` holds several entries) */
          const char *about = action->name != NULL ? action->name : action->key;
          gboolean told = FALSE;

          /* another stack's entry of `stacks=` is about that stack */
          if (action->kind == POLICY_ACTION_STACK && strcmp (action->name, stack_name) != 0)
            continue;
          for (guint r = 0; r < n_reasons && !told; r++)
            told = strstr (verdict->reasons->pdata[r], needle) != NULL
                   && (action->kind == POLICY_ACTION_STACK || strstr (verdict->reasons->pdata[r], about) != NULL);
          for (guint r = 0; r < verdict->removals->len && !told; r++)
            told = strstr (verdict->removals->pdata[r], needle) != NULL
                   && (action->kind == POLICY_ACTION_STACK || strstr (verdict->removals->pdata[r], about) != NULL);
          if (told)
            continue;
          switch (action->kind)
            {
            case POLICY_ACTION_OPTION:
              {
                gboolean read = FALSE;

                if (options == NULL)
                  options = post_stack_list_options (stack);
                for (guint o = 0; o < options->len && !read; o++)
                  read = strcmp (((const PostStackOption *) options->pdata[o])->key, action->key) == 0;
                if (!read)
                  effect = ": not read by this stack";
              }
              break;
            case POLICY_ACTION_PREFERENCE:
            case POLICY_ACTION_SOFT_ERROR:
            case POLICY_ACTION_STACK:
            case POLICY_ACTION_INTERFACE:
            case POLICY_ACTION_PVD:
              /* (no-preference takes an earlier rule's level back: it has
               * its effect without a term) */
              if (action->value != POST_PREFERENCE_NO_PREFERENCE)
                effect = ": no effect on this candidate";
              break;
            case POLICY_ACTION_TEMPORARY:
            case POLICY_ACTION_DIRECTION:
            case POLICY_ACTION_KEEP_ALIVE_TIMEOUT:
            case POLICY_ACTION_SCORE:
            default:
              break;
            }
          text = action_text (action);
          g_ptr_array_add (verdict->reasons,
                           g_strdup_printf ("set %s by rule %s (%s)%s", text, action->rule->name, origin, effect));
        }
      g_list_free (keys);
    }

  /* The removals come first in the reasons */
  for (guint i = 0; i < verdict->removals->len; i++)
    g_ptr_array_insert (verdict->reasons, i,
                        g_strdup_printf ("removed: %s", (const char *) verdict->removals->pdata[i]));
  for (guint i = 0; applied->notes != NULL && i < applied->notes->len; i++)
    g_ptr_array_add (verdict->reasons, g_strdup_printf ("note: %s", (const char *) applied->notes->pdata[i]));
}
