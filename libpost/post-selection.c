/* post-selection.c: choosing the stacks and candidates that fit a
 * configuration and the policy
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "post-selection-score-private.h"

#include <string.h>

/*
 * Ranking
 * =======
 *
 * Establishment ranks twice, with the same scoring:
 *
 *  1. _post_selection_rank_stacks(), before resolving: the stacks that fit
 *     the configuration, the URI scheme, the role and the policy rules
 *     that need no remote or path (application, scheme); best first.
 *     Listeners stop here.
 *  2. _post_selection_rank_candidates(), once the remote is resolved: each
 *     candidate (stack × local × remote address) is scored again with every
 *     rule that matches it — host, port, service, and the path data of the
 *     candidate (interface, kind, metered, MTU) — and the list is reordered
 *     stably, so that equal scores keep the RFC 8305 address order.
 *
 * Scoring is post-selection-score.c's; every term is recorded with where
 * it came from, which `post-policy explain` prints.  With no policy rules
 * and no path preferences in the configuration, step 2 returns at once and
 * step 1 is the plain capability match.
 */

/* ---- step 1: stacks ------------------------------------------------------------ */

typedef struct {
  PostStack *stack;        /* (owned) */
  guint list_position;     /* in the configuration's stacks list, or G_MAXUINT */
  PostSelectionVerdict verdict;
} StackCandidate;

static void
stack_candidate_free (StackCandidate *candidate)
{
  g_clear_object (&candidate->stack);
  _post_selection_verdict_clear (&candidate->verdict);
  g_free (candidate);
}

static StackCandidate *
stack_candidate_new (PostStack *stack,
                     guint      list_position)
{
  StackCandidate *candidate = g_new0 (StackCandidate, 1);

  candidate->stack = g_object_ref (stack);
  candidate->list_position = list_position;
  return candidate;
}

static int
compare_stack_candidates (gconstpointer a,
                          gconstpointer b)
{
  const StackCandidate *ca = *(const StackCandidate * const *) a;
  const StackCandidate *cb = *(const StackCandidate * const *) b;
  guint ra, rb;

  if (ca->verdict.score != cb->verdict.score)
    return ca->verdict.score > cb->verdict.score ? -1 : 1;

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

/* The stacks to consider, or fails naming the stack that is not loaded or
 * not allowed. */
static GPtrArray *
collect_stacks (PostRegistry       *registry,
                PostConfiguration  *configuration,
                const char         *stack_hint,
                GError            **error)
{
  g_autoptr(GPtrArray) loaded = post_registry_list_stacks (registry);
  g_autoptr(GPtrArray) candidates = g_ptr_array_new_with_free_func ((GDestroyNotify) stack_candidate_free);
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
            g_ptr_array_add (candidates, stack_candidate_new (stack, i));
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
                       stack_candidate_new (post_registry_lookup_stack (registry, stack_hint), G_MAXUINT));
    }
  else
    {
      for (guint i = 0; i < loaded->len; i++)
        if (post_stack_get_rank (loaded->pdata[i]) > POST_RANK_NONE)
          g_ptr_array_add (candidates, stack_candidate_new (loaded->pdata[i], G_MAXUINT));
    }

  return g_steal_pointer (&candidates);
}

GPtrArray *
_post_selection_rank_stacks_with_policy (PostRegistry       *registry,
                                         PostPolicy         *policy,
                                         const char         *app_id,
                                         PostConfiguration  *configuration,
                                         const char         *stack_hint,
                                         PostCarrierRole     role,
                                         GPtrArray          *rejected,
                                         GError            **error)
{
  g_autoptr(GPtrArray) candidates = NULL;
  g_autoptr(GPtrArray) accepted = NULL;
  g_autoptr(GString) rejections = NULL;
  g_autoptr(PolicySnapshot) snapshot = NULL;
  PolicyQuery query = { app_id, NULL, 0, stack_hint, role };
  PostSelectionApplied applied = { NULL, };
  GPtrArray *result;

  g_return_val_if_fail (POST_IS_REGISTRY (registry), NULL);
  g_return_val_if_fail (POST_IS_CONFIGURATION (configuration), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (stack_hint != NULL && *stack_hint == '\0')
    stack_hint = query.scheme = NULL;

  candidates = collect_stacks (registry, configuration, stack_hint, error);
  if (candidates == NULL)
    return NULL;

  if (candidates->len == 0)
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_NO_STACK,
                           "no stack satisfies the configuration: no stack is loaded "
                           "(check POST_PLUGIN_PATH and the plugin directory)");
      return NULL;
    }

  /* Rules that need no remote and no path apply here already */
  snapshot = _post_policy_get_snapshot (policy);
  _post_selection_apply_policy (snapshot, &query, NULL, configuration, &applied);

  accepted = g_ptr_array_new ();
  rejections = g_string_new (NULL);
  for (guint i = 0; i < candidates->len; i++)
    {
      StackCandidate *candidate = candidates->pdata[i];

      _post_selection_score_candidate (&candidate->verdict, &applied, candidate->stack, role, &query, FALSE, NULL);
      if (!candidate->verdict.removed)
        {
          g_ptr_array_add (accepted, candidate);
          continue;
        }

      if (rejected != NULL)
        g_ptr_array_add (rejected,
                         _post_policy_candidate_new (candidate->stack, NULL, NULL, NULL,
                                                     applied.configuration, candidate->verdict.score,
                                                     TRUE, candidate->verdict.reasons));
      {
        g_autofree char *rule = candidate->verdict.blame != NULL
                                ? _post_policy_action_origin (candidate->verdict.blame) : NULL;

        _post_debug (NULL, post_stack_get_name (candidate->stack), rule, "policy: stack %s removed: %s",
                     post_stack_get_name (candidate->stack),
                     (const char *) candidate->verdict.removals->pdata[0]);
      }
      g_string_append_printf (rejections, "%s%s ",
                              rejections->len > 0 ? "; " : "",
                              post_stack_get_name (candidate->stack));
      for (guint j = 0; j < candidate->verdict.removals->len; j++)
        g_string_append_printf (rejections, "%s%s", j > 0 ? ", " : "",
                                (const char *) candidate->verdict.removals->pdata[j]);
    }

  /* Security is on by default: when a secure stack can serve and nothing
   * named a stack (no URI scheme, no stacks list) nor allowed cleartext,
   * cleartext stacks are not raced, so that a failed handshake never falls
   * back to cleartext.  (Listeners decide this in post-carrier-listener.c:
   * they are secure by default when their local has an identity.) */
  if (!_post_selection_role_needs_listen (role) && stack_hint == NULL
      && post_configuration_get_stacks (configuration) == NULL
      && !post_configuration_get_allow_cleartext (applied.configuration))
    {
      gboolean any_secure = FALSE;

      for (guint i = 0; i < accepted->len; i++)
        any_secure |= post_stack_has_capabilities (((StackCandidate *) accepted->pdata[i])->stack,
                                                   POST_STACK_CAP_SECURE);
      for (guint i = accepted->len; any_secure && i > 0; i--)
        {
          StackCandidate *candidate = accepted->pdata[i - 1];
          const char *why = "cleartext: security is on by default (name the stack, or allow "
                            "tls.allow-cleartext)";

          if (post_stack_has_capabilities (candidate->stack, POST_STACK_CAP_SECURE))
            continue;
          g_ptr_array_remove_index (accepted, i - 1);
          if (rejected != NULL)
            {
              g_autoptr(GPtrArray) reasons = g_ptr_array_new_with_free_func (g_free);

              g_ptr_array_add (reasons, g_strdup_printf ("removed: %s", why));
              g_ptr_array_add (rejected,
                               _post_policy_candidate_new (candidate->stack, NULL, NULL, NULL,
                                                           applied.configuration, 0, TRUE, reasons));
            }
        }
    }
  _post_selection_applied_clear (&applied);

  if (accepted->len == 0)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_NO_STACK,
                   "no stack satisfies the configuration: %s", rejections->str);
      return NULL;
    }

  g_ptr_array_sort (accepted, compare_stack_candidates);

  result = g_ptr_array_new_full (accepted->len, g_object_unref);
  for (guint i = 0; i < accepted->len; i++)
    g_ptr_array_add (result, g_object_ref (((StackCandidate *) accepted->pdata[i])->stack));

  return result;
}

GPtrArray *
_post_selection_rank_stacks (PostRegistry       *registry,
                             PostConfiguration  *configuration,
                             const char         *stack_hint,
                             PostCarrierRole     role,
                             GError            **error)
{
  return _post_selection_rank_stacks_with_policy (registry, NULL, _post_policy_get_app_id (NULL),
                                                  configuration, stack_hint, role, NULL, error);
}

/* ---- step 2: candidates ----------------------------------------------------------- */

typedef struct {
  PostCandidate *candidate;   /* (unowned) */
  guint position;
  PostPathInfo *path;         /* (owned) (nullable) */
  PostSelectionVerdict verdict;
} Ranked;

static int
compare_ranked (gconstpointer a,
                gconstpointer b)
{
  const Ranked *ra = a;
  const Ranked *rb = b;

  if (ra->verdict.removed != rb->verdict.removed)
    return ra->verdict.removed ? 1 : -1;
  if (ra->verdict.score != rb->verdict.score)
    return ra->verdict.score > rb->verdict.score ? -1 : 1;
  return ra->position < rb->position ? -1 : ra->position > rb->position;
}

static gboolean
configuration_has_path_preferences (PostConfiguration *configuration)
{
  g_auto(GStrv) interfaces = post_configuration_list_interface_preferences (configuration);
  g_auto(GStrv) pvds = post_configuration_list_pvd_preferences (configuration);

  return interfaces[0] != NULL || pvds[0] != NULL;
}

/* The rules applied for one (remote, local) address pair of a ranking */
typedef struct {
  GSocketAddress *remote_address;     /* (owned) (nullable) */
  GSocketAddress *local_address;      /* (owned) (nullable) */
  PostPathInfo *path;                 /* (owned) (nullable) */
  PostSelectionApplied applied;
} AppliedForAddress;

static void
applied_for_address_clear (AppliedForAddress *entry)
{
  g_clear_object (&entry->remote_address);
  g_clear_object (&entry->local_address);
  g_clear_pointer (&entry->path, post_path_info_free);
  _post_selection_applied_clear (&entry->applied);
}

static gboolean
socket_address_equal (GSocketAddress *a,
                      GSocketAddress *b)
{
  gssize size;

  if (a == b)
    return TRUE;
  if (a == NULL || b == NULL || G_OBJECT_TYPE (a) != G_OBJECT_TYPE (b))
    return FALSE;
  size = g_socket_address_get_native_size (a);
  if (size <= 0 || size != g_socket_address_get_native_size (b))
    return FALSE;
  {
    g_autofree guint8 *na = g_malloc (size);
    g_autofree guint8 *nb = g_malloc (size);

    return g_socket_address_to_native (a, na, size, NULL)
           && g_socket_address_to_native (b, nb, size, NULL)
           && memcmp (na, nb, size) == 0;
  }
}

/* The path monitor, as the path data source of every policy without one of
 * its own (the policy declares the seam, _post_policy_set_default_path_info_func(),
 * and never calls the monitor): netlink when it works, else
 * post_path_info_lookup(). */
static PostPathInfo *
monitor_path_info (GSocketAddress *local_address,
                   GSocketAddress *remote_address,
                   gpointer        user_data)
{
  PostPathMonitor *monitor = post_path_monitor_get_default ();

  if (post_path_monitor_is_available (monitor))
    return post_path_monitor_lookup_path (monitor, local_address, remote_address);
  return post_path_info_lookup (local_address, remote_address);
}

static void
install_path_source (void)
{
  static gsize installed;

  if (g_once_init_enter (&installed))
    {
      _post_policy_set_default_path_info_func (monitor_path_info, NULL);
      g_once_init_leave (&installed, 1);
    }
}

void
_post_selection_rank_candidates_full (PostPolicy         *policy,
                                      const char         *app_id,
                                      PostConfiguration  *configuration,
                                      PostRemote         *remote,
                                      PostCarrierRole     role,
                                      GPtrArray          *candidates,
                                      GPtrArray         **explained,
                                      GString            *blocked)
{
  g_autoptr(PolicySnapshot) snapshot = _post_policy_get_snapshot (policy);
  g_autoptr(GArray) ranked = NULL;
  g_autoptr(GArray) byaddress = NULL;
  PolicyQuery query = { app_id, NULL, 0, NULL, role };
  gboolean needs_path;
  guint kept = 0;

  g_return_if_fail (POST_IS_CONFIGURATION (configuration));
  g_return_if_fail (candidates != NULL);

  install_path_source ();
  /* Nothing to do: keep establishment as fast as without a policy */
  if (explained == NULL && snapshot->rules->len == 0 && !configuration_has_path_preferences (configuration))
    return;

  if (remote != NULL)
    {
      query.host = post_remote_get_hostname (remote);
      query.port = post_remote_get_port (remote);
      query.scheme = post_remote_get_stack (remote);
      if (query.host == NULL && post_remote_get_address (remote) != NULL)
        {
          GSocketAddress *address = post_remote_get_address (remote);

          if (G_IS_INET_SOCKET_ADDRESS (address))
            query.port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address));
        }
    }
  needs_path = snapshot->needs_path || configuration_has_path_preferences (configuration);

  ranked = g_array_sized_new (FALSE, TRUE, sizeof (Ranked), candidates->len);
  byaddress = g_array_new (FALSE, TRUE, sizeof (AppliedForAddress));
  g_array_set_clear_func (byaddress, (GDestroyNotify) applied_for_address_clear);
  for (guint i = 0; i < candidates->len; i++)
    {
      PostCandidate *candidate = candidates->pdata[i];
      Ranked entry = { candidate, i, NULL, { 0, } };
      g_autofree char *literal = NULL;
      AppliedForAddress *known = NULL;
      PolicyQuery candidate_query = query;

      /* A remote given as an address matches match-host by its literal */
      if (candidate_query.host == NULL && G_IS_INET_SOCKET_ADDRESS (candidate->remote_address))
        candidate_query.host = literal =
          g_inet_address_to_string (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (candidate->remote_address)));
      if (candidate_query.port == 0 && G_IS_INET_SOCKET_ADDRESS (candidate->remote_address))
        candidate_query.port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (candidate->remote_address));

      /* What applies depends on the addresses (the query's host and port,
       * the path), not on the stack: the candidates of one address pair
       * (one per stack) share one application of the rules. */
      for (guint k = 0; k < byaddress->len && known == NULL; k++)
        {
          AppliedForAddress *other = &g_array_index (byaddress, AppliedForAddress, k);

          if (socket_address_equal (other->remote_address, candidate->remote_address)
              && socket_address_equal (other->local_address, candidate->local_address))
            known = other;
        }
      if (known == NULL)
        {
          AppliedForAddress fresh = { NULL, };

          g_set_object (&fresh.remote_address, candidate->remote_address);
          g_set_object (&fresh.local_address, candidate->local_address);
          if (needs_path)
            fresh.path = _post_policy_lookup_path (policy, candidate->local_address, candidate->remote_address);
          _post_selection_apply_policy (snapshot, &candidate_query, fresh.path, configuration, &fresh.applied);
          g_array_append_val (byaddress, fresh);
          known = &g_array_index (byaddress, AppliedForAddress, byaddress->len - 1);
        }
      entry.path = known->path != NULL ? post_path_info_copy (known->path) : NULL;
      _post_selection_score_candidate (&entry.verdict, &known->applied, candidate->stack, role, &candidate_query,
                       needs_path, entry.path);
      if (known->applied.changed)
        g_set_object (&candidate->configuration, known->applied.configuration);
      g_array_append_val (ranked, entry);
    }

  g_array_sort (ranked, compare_ranked);

  if (explained != NULL)
    {
      *explained = g_ptr_array_new_with_free_func (g_object_unref);
      for (guint i = 0; i < ranked->len; i++)
        {
          Ranked *entry = &g_array_index (ranked, Ranked, i);
          PostCandidate *candidate = entry->candidate;

          g_ptr_array_add (*explained,
                           _post_policy_candidate_new (candidate->stack, candidate->remote_address,
                                                       candidate->local_address, entry->path,
                                                       candidate->configuration != NULL
                                                       ? candidate->configuration : configuration,
                                                       entry->verdict.score, entry->verdict.removed,
                                                       entry->verdict.reasons));
        }
    }

  /* Reorder @candidates in place; the removed ones are freed */
  {
    g_autoptr(GPtrArray) removed = g_ptr_array_new_with_free_func ((GDestroyNotify) _post_candidate_free);

    for (guint i = 0; i < ranked->len; i++)
      {
        Ranked *entry = &g_array_index (ranked, Ranked, i);

        if (entry->verdict.removed)
          {
            g_autofree char *what = _post_candidate_describe (entry->candidate);
            g_autofree char *rule = entry->verdict.blame != NULL
                                    ? _post_policy_action_origin (entry->verdict.blame) : NULL;

            _post_debug (entry->candidate->carrier, post_stack_get_name (entry->candidate->stack), rule,
                         "policy: %s removed: %s", what,
                         (const char *) entry->verdict.removals->pdata[0]);
            if (blocked != NULL)
              {
                g_string_append_printf (blocked, "\n  %s:", what);
                for (guint j = 0; j < entry->verdict.removals->len; j++)
                  g_string_append_printf (blocked, "%s %s", j > 0 ? ";" : "",
                                          (const char *) entry->verdict.removals->pdata[j]);
              }
            g_ptr_array_add (removed, entry->candidate);
          }
        else
          candidates->pdata[kept++] = entry->candidate;
        post_path_info_free (entry->path);
        _post_selection_verdict_clear (&entry->verdict);
      }
    g_ptr_array_set_free_func (candidates, NULL);
    g_ptr_array_set_size (candidates, kept);
    g_ptr_array_set_free_func (candidates, (GDestroyNotify) _post_candidate_free);
  }
}

void
_post_selection_rank_candidates (GPtrArray         *candidates,
                                 PostConfiguration *configuration,
                                 PostRemote        *remote,
                                 PostCarrierRole    role,
                                 GString           *blocked)
{
  _post_selection_rank_candidates_full (NULL, _post_policy_get_app_id (NULL), configuration,
                                        remote, role, candidates, NULL, blocked);
}

/* ---- Public entry points of the ranking ------------------------------------
 * Declared with the types they rank (post-stack.h, post-registry.h,
 * post-policy.h), implemented here: selection is the layer above them. */

/**
 * post_stack_get_carrier_capabilities:
 * @self: a #PostStack
 * @configuration: (nullable): the configuration a carrier would use
 *
 * What a carrier on this stack can do with @configuration: the stack's
 * own capabilities ([method@Post.Stack.get_capabilities]) plus what
 * libpost provides on top of every stack (message boundaries from a
 * framer on byte streams, niceness, lifetimes, antecedents, fork as a new
 * transport, and fork requests carried by its framing's control frames on
 * byte streams that listen).  This is what [method@Post.Carrier.get_capabilities]
 * returns once the stack is chosen, and what the contract suite
 * (`post-stack-check`) holds the stack to.
 *
 * Returns: the capabilities
 */
PostStackCapabilities
post_stack_get_carrier_capabilities (PostStack         *self,
                                     PostConfiguration *configuration)
{
  g_return_val_if_fail (POST_IS_STACK (self), POST_STACK_CAP_NONE);
  return _post_selection_effective_capabilities (self, configuration);
}

/**
 * post_registry_select_stacks:
 * @self: a registry
 * @configuration: the configuration to satisfy
 * @stack_hint: (nullable): a stack named by the remote's URI scheme
 * @role: the role of the carrier; listeners and responders need stacks
 *   that can listen (rank a sink without a remote as a listener)
 * @error: return location for an error
 *
 * The stacks usable for @configuration, best first: those that meet
 * every required property and none that is prohibited, ordered by how
 * many preferred (and how few avoided) properties they have, then by the
 * order of [property@Post.Configuration:stacks], then by rank and name.
 *
 * Returns: (transfer full) (element-type PostStack): the stacks, best
 *   first; %NULL with %POST_ERROR_NO_STACK and a message naming what each
 *   stack lacks when none fits
 */
GPtrArray *
post_registry_select_stacks (PostRegistry       *self,
                             PostConfiguration  *configuration,
                             const char         *stack_hint,
                             PostCarrierRole     role,
                             GError            **error)
{
  g_return_val_if_fail (POST_IS_REGISTRY (self), NULL);
  g_return_val_if_fail (POST_IS_CONFIGURATION (configuration), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return _post_selection_rank_stacks (self, configuration, stack_hint, role, error);
}

/**
 * post_policy_rank:
 * @self: a policy engine
 * @configuration: (nullable): the application's configuration, or %NULL
 *   for the defaults
 * @remote: the remote as the application gave it (for its host, port and
 *   scheme)
 * @addresses: (element-type GSocketAddress): its resolved addresses, in
 *   the order to try them
 * @local: (nullable): the local, if any
 * @role: the role of the carrier
 * @error: return location for an error
 *
 * Ranks the candidates of an initiate exactly as establishment does: the
 * stacks that satisfy the configuration and the policy, times the
 * addresses, scored and ordered.
 *
 * Returns: (transfer full) (element-type PostPolicyCandidate): the
 *   candidates, best first, followed by the removed ones, and last the
 *   stacks ruled out before any address is considered (they have no
 *   remote address); %NULL with %POST_ERROR_NO_STACK if no stack fits at all
 */
GPtrArray *
post_policy_rank (PostPolicy         *self,
                  PostConfiguration  *configuration,
                  PostRemote         *remote,
                  GPtrArray          *addresses,
                  PostLocal          *local,
                  PostCarrierRole     role,
                  GError            **error)
{
  g_autoptr(PostConfiguration) defaults = NULL;
  g_autoptr(GPtrArray) stacks = NULL;
  g_autoptr(GPtrArray) candidates = NULL;
  g_autoptr(GPtrArray) rejected = g_ptr_array_new_with_free_func (g_object_unref);
  GPtrArray *explained = NULL;
  const char *hint;
  const char *app_id;

  g_return_val_if_fail (POST_IS_POLICY (self), NULL);
  g_return_val_if_fail (configuration == NULL || POST_IS_CONFIGURATION (configuration), NULL);
  g_return_val_if_fail (POST_IS_REMOTE (remote), NULL);
  g_return_val_if_fail (addresses != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (configuration == NULL)
    configuration = defaults = post_configuration_new ();
  app_id = _post_policy_get_app_id (self);

  hint = post_remote_get_stack (remote);
  if (hint == NULL && local != NULL)
    hint = post_local_get_stack (local);
  stacks = _post_selection_rank_stacks_with_policy (post_registry_get_default (), self, app_id,
                                                    configuration, hint, role, rejected, error);
  if (stacks == NULL)
    return NULL;
  /* An application scheme (https) gives only its candidate stacks (tls,
   * quic), as establishment ranks them: the others are no candidates at
   * all, neither tried nor removed. */
  if (hint == NULL && _post_remote_get_scheme (remote) != NULL)
    {
      g_auto(GStrv) names = _post_remote_dup_scheme_stacks (remote);

      for (guint i = stacks->len; i > 0; i--)
        if (!g_strv_contains ((const char * const *) names, post_stack_get_name (stacks->pdata[i - 1])))
          g_ptr_array_remove_index (stacks, i - 1);
      for (guint i = rejected->len; i > 0; i--)
        {
          PostStack *stack = post_policy_candidate_get_stack (rejected->pdata[i - 1]);

          if (stack != NULL && !g_strv_contains ((const char * const *) names, post_stack_get_name (stack)))
            g_ptr_array_remove_index (rejected, i - 1);
        }
    }

  /* stack × address, as the carrier builds them */
  candidates = g_ptr_array_new_with_free_func ((GDestroyNotify) _post_candidate_free);
  for (guint s = 0; s < stacks->len; s++)
    for (guint r = 0; r < addresses->len; r++)
      {
        GSocketAddress *address = addresses->pdata[r];
        g_autoptr(GSocketAddress) local_address = NULL;

        if (local != NULL && (post_local_get_address (local) != NULL || post_local_get_port (local) != 0))
          {
            local_address = post_local_to_socket_address (local, g_socket_address_get_family (address));
            if (local_address == NULL)
              continue;
          }
        g_ptr_array_add (candidates, _post_candidate_new (stacks->pdata[s], address, local_address));
      }

  _post_selection_rank_candidates_full (self, app_id, configuration, remote, role,
                                        candidates, &explained, NULL);
  /* The stacks ruled out before resolving come last, without address */
  for (guint i = 0; i < rejected->len; i++)
    g_ptr_array_add (explained, g_object_ref (rejected->pdata[i]));
  return explained;
}

typedef struct {
  PostConfiguration *configuration;
  PostLocal *local;
} ExplainData;

static void
explain_data_free (ExplainData *data)
{
  g_clear_object (&data->configuration);
  g_clear_object (&data->local);
  g_free (data);
}

static void
explain_resolved_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ExplainData *data = g_task_get_task_data (task);
  g_autoptr(GPtrArray) remotes = NULL;
  g_autoptr(GPtrArray) addresses = NULL;
  GError *error = NULL;
  GPtrArray *ranked;

  remotes = post_remote_resolve_fully_finish (POST_REMOTE (source), result, &error);
  if (remotes == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  /* (an application scheme gives each address once per candidate stack) */
  addresses = g_ptr_array_new ();
  for (guint i = 0; i < remotes->len; i++)
    {
      GSocketAddress *address = post_remote_get_address (remotes->pdata[i]);
      gboolean seen = FALSE;

      for (guint j = 0; address != NULL && !seen && j < addresses->len; j++)
        seen = _post_inet_address_equal (addresses->pdata[j], address)
               && g_inet_socket_address_get_port (addresses->pdata[j])
                  == g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address));
      if (address != NULL && !seen)
        g_ptr_array_add (addresses, address);
    }

  ranked = post_policy_rank (g_task_get_source_object (task), data->configuration,
                             POST_REMOTE (source), addresses, data->local,
                             POST_CARRIER_ROLE_CARRIER, &error);
  if (ranked == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, ranked, (GDestroyNotify) g_ptr_array_unref);
}

/**
 * post_policy_explain_async:
 * @self: a policy engine
 * @remote: the remote to initiate to
 * @configuration: (nullable): the application's configuration
 * @local: (nullable): the local
 * @cancellable: (nullable): a cancellable
 * @callback: called when done
 * @user_data: data for @callback
 *
 * Resolves @remote fully, as an initiate would, and ranks the candidates
 * with [method@Post.Policy.rank]: what `post-policy explain` prints.
 */
void
post_policy_explain_async (PostPolicy          *self,
                           PostRemote          *remote,
                           PostConfiguration   *configuration,
                           PostLocal           *local,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  ExplainData *data;

  g_return_if_fail (POST_IS_POLICY (self));
  g_return_if_fail (POST_IS_REMOTE (remote));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, post_policy_explain_async);
  data = g_new0 (ExplainData, 1);
  data->configuration = configuration ? g_object_ref (configuration) : NULL;
  data->local = local ? g_object_ref (local) : NULL;
  g_task_set_task_data (task, data, (GDestroyNotify) explain_data_free);
  post_remote_resolve_fully_async (remote, cancellable, explain_resolved_cb, g_steal_pointer (&task));
}

/**
 * post_policy_explain_finish:
 * @self: a policy engine
 * @result: the result
 * @error: return location for an error
 *
 * Finishes post_policy_explain_async(). Fails with %POST_ERROR_RESOLVE
 * when the remote cannot be resolved, or %G_IO_ERROR_CANCELLED. The caller
 * owns the array, which holds a reference to each candidate.
 *
 * Returns: (transfer full) (element-type PostPolicyCandidate): the ranked
 *   candidates, best first, then the removed ones; %NULL on error
 */
GPtrArray *
post_policy_explain_finish (PostPolicy    *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
