/* post-selection.c: choosing the stacks that fit a configuration
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "post-private.h"

#include <string.h>

/*
 * This is the seam for the policy engine (issue: keyfile policy).
 *
 * Today selection is a pure function of the loaded stacks, the
 * configuration, the URI scheme and the role:
 *
 *   1. candidates: the configuration's `stacks` list if set (each name
 *      must be loaded), narrowed to the URI scheme when there is one;
 *      otherwise every loaded stack with a rank above NONE;
 *   2. filter: each REQUIRE'd property must be among the stack's
 *      effective capabilities, each PROHIBIT'ed one absent, and
 *      listeners and responders need LISTEN;
 *   3. score: +1 per PREFER'ed property present, -1 per AVOID'ed one;
 *   4. order: score, then the position in the `stacks` list, then rank,
 *      then name.
 *
 * Each candidate is a Candidate with its score and the reasons it was
 * rejected, so that a policy can add terms (path properties, history,
 * system policy) and the error can say exactly what no stack met.
 */

typedef struct {
  PostStack *stack;        /* (owned) */
  int score;
  guint list_position;     /* in the configuration's stacks list, or G_MAXUINT */
  GPtrArray *reasons;      /* (owned) (element-type utf8): empty if acceptable */
} Candidate;

static void
candidate_free (Candidate *candidate)
{
  g_clear_object (&candidate->stack);
  g_clear_pointer (&candidate->reasons, g_ptr_array_unref);
  g_free (candidate);
}

static Candidate *
candidate_new (PostStack *stack,
               guint      list_position)
{
  Candidate *candidate = g_new0 (Candidate, 1);

  candidate->stack = g_object_ref (stack);
  candidate->list_position = list_position;
  candidate->reasons = g_ptr_array_new_with_free_func (g_free);

  return candidate;
}

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
    caps |= POST_STACK_CAP_PRESERVE_MSG_BOUNDARIES;

  caps |= CORE_CAPABILITIES;

  /* Fork opens a stream, or a new transient to a peer that listens */
  if (caps & (POST_STACK_CAP_LISTEN | POST_STACK_CAP_MULTISTREAMING))
    caps |= POST_STACK_CAP_FORK;

  return caps;
}

static gboolean
role_needs_listen (PostCarrierRole role)
{
  return role == POST_CARRIER_ROLE_LISTENER || role == POST_CARRIER_ROLE_RESPONDER;
}

static const char *
role_to_string (PostCarrierRole role)
{
  return role == POST_CARRIER_ROLE_RESPONDER ? "responder" : "listener";
}

static void
evaluate_candidate (Candidate         *candidate,
                    PostConfiguration *configuration,
                    PostCarrierRole    role)
{
  PostStackCapabilities caps = _post_selection_effective_capabilities (candidate->stack, configuration);

  if (role_needs_listen (role) && !(caps & POST_STACK_CAP_LISTEN))
    g_ptr_array_add (candidate->reasons,
                     g_strdup_printf ("cannot listen (needed by a %s)", role_to_string (role)));

  for (guint i = 0; i < POST_SELECTION_LAST; i++)
    {
      PostPreference preference = post_configuration_get_preference (configuration, i);
      gboolean has = (caps & selection_capabilities[i]) != 0;
      const char *nick = post_selection_property_to_nick (i);

      switch (preference)
        {
        case POST_PREFERENCE_REQUIRE:
          if (!has)
            g_ptr_array_add (candidate->reasons,
                             g_strdup_printf ("lacks %s (required)", nick));
          break;
        case POST_PREFERENCE_PROHIBIT:
          if (has)
            g_ptr_array_add (candidate->reasons,
                             g_strdup_printf ("has %s (prohibited)", nick));
          break;
        case POST_PREFERENCE_PREFER:
          if (has)
            candidate->score++;
          break;
        case POST_PREFERENCE_AVOID:
          if (has)
            candidate->score--;
          break;
        case POST_PREFERENCE_NO_PREFERENCE:
        default:
          break;
        }
    }
}

static int
compare_candidates (gconstpointer a,
                    gconstpointer b)
{
  const Candidate *ca = *(const Candidate * const *) a;
  const Candidate *cb = *(const Candidate * const *) b;
  guint ra, rb;

  if (ca->score != cb->score)
    return ca->score > cb->score ? -1 : 1;

  if (ca->list_position != cb->list_position)
    return ca->list_position < cb->list_position ? -1 : 1;

  ra = post_stack_get_rank (ca->stack);
  rb = post_stack_get_rank (cb->stack);
  if (ra != rb)
    return ra > rb ? -1 : 1;

  return strcmp (post_stack_get_name (ca->stack), post_stack_get_name (cb->stack));
}

static char *
loaded_stack_names (GPtrArray *stacks)
{
  GString *names = g_string_new (NULL);

  for (guint i = 0; i < stacks->len; i++)
    {
      if (i > 0)
        g_string_append (names, ", ");
      g_string_append (names, post_stack_get_name (stacks->pdata[i]));
    }
  if (stacks->len == 0)
    g_string_append (names, "none");

  return g_string_free (names, FALSE);
}

/* Builds the candidate list (step 1 above), or fails naming the stack
 * that is not loaded or not allowed. */
static GPtrArray *
collect_candidates (PostRegistry       *registry,
                    PostConfiguration  *configuration,
                    const char         *stack_hint,
                    GError            **error)
{
  g_autoptr(GPtrArray) loaded = post_registry_list_stacks (registry);
  g_autoptr(GPtrArray) candidates = g_ptr_array_new_with_free_func ((GDestroyNotify) candidate_free);
  const char * const *allowed = post_configuration_get_stacks (configuration);

  if (stack_hint != NULL && post_registry_lookup_stack (registry, stack_hint) == NULL)
    {
      g_autofree char *names = loaded_stack_names (loaded);

      g_set_error (error, POST_ERROR, POST_ERROR_NO_STACK,
                   "no plugin provides stack ‘%s’ (loaded: %s)", stack_hint, names);
      return NULL;
    }

  if (allowed != NULL)
    {
      for (guint i = 0; allowed[i] != NULL; i++)
        {
          PostStack *stack = post_registry_lookup_stack (registry, allowed[i]);

          if (stack == NULL)
            {
              g_autofree char *names = loaded_stack_names (loaded);

              g_set_error (error, POST_ERROR, POST_ERROR_NO_STACK,
                           "stack ‘%s’ is not loaded (loaded: %s)", allowed[i], names);
              return NULL;
            }

          if (stack_hint == NULL || strcmp (stack_hint, allowed[i]) == 0)
            g_ptr_array_add (candidates, candidate_new (stack, i));
        }

      if (stack_hint != NULL && candidates->len == 0)
        {
          g_autofree char *list = g_strjoinv (", ", (char **) allowed);

          g_set_error (error, POST_ERROR, POST_ERROR_NO_STACK,
                       "stack ‘%s’ named by the URI is not among the configuration's stacks (%s)",
                       stack_hint, list);
          return NULL;
        }
    }
  else if (stack_hint != NULL)
    {
      /* Named explicitly: even a stack of rank NONE may be used */
      g_ptr_array_add (candidates,
                       candidate_new (post_registry_lookup_stack (registry, stack_hint), G_MAXUINT));
    }
  else
    {
      for (guint i = 0; i < loaded->len; i++)
        if (post_stack_get_rank (loaded->pdata[i]) > POST_RANK_NONE)
          g_ptr_array_add (candidates, candidate_new (loaded->pdata[i], G_MAXUINT));
    }

  return g_steal_pointer (&candidates);
}

GPtrArray *
_post_selection_rank_stacks (PostRegistry       *registry,
                             PostConfiguration  *configuration,
                             const char         *stack_hint,
                             PostCarrierRole     role,
                             GError            **error)
{
  g_autoptr(GPtrArray) candidates = NULL;
  g_autoptr(GPtrArray) accepted = NULL;
  g_autoptr(GString) rejections = NULL;
  GPtrArray *result;

  g_return_val_if_fail (POST_IS_REGISTRY (registry), NULL);
  g_return_val_if_fail (POST_IS_CONFIGURATION (configuration), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (stack_hint != NULL && *stack_hint == '\0')
    stack_hint = NULL;

  candidates = collect_candidates (registry, configuration, stack_hint, error);
  if (candidates == NULL)
    return NULL;

  if (candidates->len == 0)
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_NO_STACK,
                           "no stack satisfies the configuration: no stack is loaded "
                           "(check POST_PLUGIN_PATH and the plugin directory)");
      return NULL;
    }

  accepted = g_ptr_array_new ();
  rejections = g_string_new (NULL);
  for (guint i = 0; i < candidates->len; i++)
    {
      Candidate *candidate = candidates->pdata[i];

      evaluate_candidate (candidate, configuration, role);
      if (candidate->reasons->len == 0)
        {
          g_ptr_array_add (accepted, candidate);
          continue;
        }

      g_string_append_printf (rejections, "%s%s ",
                              rejections->len > 0 ? "; " : "",
                              post_stack_get_name (candidate->stack));
      for (guint j = 0; j < candidate->reasons->len; j++)
        g_string_append_printf (rejections, "%s%s", j > 0 ? ", " : "",
                                (const char *) candidate->reasons->pdata[j]);
    }

  if (accepted->len == 0)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_NO_STACK,
                   "no stack satisfies the configuration: %s", rejections->str);
      return NULL;
    }

  g_ptr_array_sort (accepted, compare_candidates);

  result = g_ptr_array_new_full (accepted->len, g_object_unref);
  for (guint i = 0; i < accepted->len; i++)
    g_ptr_array_add (result, g_object_ref (((Candidate *) accepted->pdata[i])->stack));

  return result;
}
