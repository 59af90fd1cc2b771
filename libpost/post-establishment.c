/* post-establishment.c: establishment of an initiated carrier (draft 4.5)
 *
 * Resolve the remote (after asking the proxy resolver, post-proxy.c), gather
 * locals, rank the candidates (policy, interface preferences, the
 * association's history, equal-rank groups) and race them (post-racer.c),
 * under the configuration's conn-timeout.  One entry point,
 * _post_establishment_start(): the carrier calls it for an initiated
 * carrier, for the re-establishment of a DORMANT one
 * (post_carrier_establish_async()) and after a path loss; a carrier of
 * post_association_initiate() gets there the same way.
 *
 * Layer "selection and racing": the carrier and the association are above.
 * What establishment needs of them comes in the request: the association
 * as a handle for the attempts' PSIs, its history through a function
 * (PostEstablishmentHistoryFunc), the carrier's queued 0-RTT data through
 * PostEarlyDataFunc, and the outcome goes back through PostEstablishedFunc.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "post-selection-private.h"

struct _PostEstablishment
{
  PostCarrierRole               role;
  PostLocal                    *local;          /* (owned) (nullable) */
  PostRemote                   *remote;         /* (owned) */
  PostConfiguration            *configuration;  /* (owned) */
  PostAssociation              *association;    /* (owned) (nullable) */
  PostEstablishmentHistoryFunc  history;        /* (nullable) */
  gconstpointer                 log_carrier;    /* (unowned) (nullable) named in the logs */
  GObject                      *early_source;   /* (owned) (nullable) */
  PostEarlyDataFunc             take_early_data;
  PostEstablishedFunc           done;
  PostEarlyDataReturnFunc       return_early_data;
  gpointer                      user_data;
  GDestroyNotify                notify;

  GPtrArray    *stacks;         /* (owned) (element-type PostStack) */
  GCancellable *cancellable;    /* (owned) */
  GSource      *timeout_source; /* (owned) (nullable) */
  char         *attempts_text;  /* (owned) (nullable) what the race tries,
                                   for the timeout's message */
  GPtrArray    *proxies;        /* (owned) (nullable) (element-type PostProxyBranch):
                                   the proxy resolver's branches; NULL: direct only */
  char         *unresolved;     /* (owned) (nullable) why the remote's name gave no
                                   address, when proxies may still reach it */
  GPtrArray    *leaves;         /* (owned) (nullable) (element-type PostRemote): the
                                   resolved remotes the addresses come from, when an
                                   application scheme gave them stacks and ALPN */
  gboolean      reported;       /* done() was called, or the establishment was
                                   forgotten: nothing is reported any more */
};

static void
establishment_clear (PostEstablishment *self)
{
  _post_source_clear (&self->timeout_source);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->stacks, g_ptr_array_unref);
  g_clear_pointer (&self->proxies, g_ptr_array_unref);
  g_free (self->unresolved);
  g_clear_pointer (&self->leaves, g_ptr_array_unref);
  g_free (self->attempts_text);
  g_clear_object (&self->local);
  g_clear_object (&self->remote);
  g_clear_object (&self->configuration);
  g_clear_object (&self->association);
  g_clear_object (&self->early_source);
  if (self->notify != NULL)
    self->notify (self->user_data);
}

/* The end of every path through an establishment (the asynchronous step
 * under way holds the reference): it is freed, and with it the user data
 * (the carrier). */
static void
establishment_free (PostEstablishment *self)
{
  g_rc_box_release_full (self, (GDestroyNotify) establishment_clear);
}

/* Reports how the establishment ended, once: @psi (nullable) won as
 * @winner, or @error.  The timeout goes first. */
static void
report (PostEstablishment *self,
        PostPsi           *psi,
        PostCandidate     *winner,
        GError            *error)
{
  g_autoptr(GError) owned = error;

  _post_source_clear (&self->timeout_source);
  if (self->reported)
    return;
  self->reported = TRUE;
  self->done (psi, winner, error, self->user_data);
}

gboolean
_post_inet_address_equal (GSocketAddress *a,
                          GSocketAddress *b)
{
  return a != NULL && b != NULL && G_IS_INET_SOCKET_ADDRESS (a) && G_IS_INET_SOCKET_ADDRESS (b)
         && g_inet_address_equal (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (a)),
                                  g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (b)));
}

/* The stacks of an application scheme's candidates (https: tls, quic),
 * each as if the remote named it, in the scheme's order; those the
 * configuration, the policy or the plugins rule out are left out, and only
 * when all are does establishment fail, with the first one's reason. */
static GPtrArray *
rank_scheme_stacks (const PostEstablishmentRequest  *request,
                    GError                         **error)
{
  g_auto(GStrv) names = _post_remote_dup_scheme_stacks (request->remote);
  GPtrArray *stacks = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GError) first_error = NULL;

  for (guint i = 0; names[i] != NULL; i++)
    {
      g_autoptr(GError) local_error = NULL;
      g_autoptr(GPtrArray) ranked = _post_selection_rank_stacks (post_registry_get_default (),
                                                                 request->configuration, names[i],
                                                                 request->role, &local_error);

      if (ranked == NULL)
        {
          g_debug ("%s: no %s candidate: %s", post_remote_get_uri (request->remote), names[i],
                   local_error->message);
          if (first_error == NULL)
            first_error = g_steal_pointer (&local_error);
          continue;
        }
      for (guint j = 0; j < ranked->len; j++)
        if (!g_ptr_array_find (stacks, ranked->pdata[j], NULL))
          g_ptr_array_add (stacks, g_object_ref (ranked->pdata[j]));
    }
  if (stacks->len == 0)
    {
      g_propagate_error (error, g_steal_pointer (&first_error));
      g_ptr_array_unref (stacks);
      return NULL;
    }
  return stacks;
}

static void
race_done_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  PostEstablishment *self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(PostPsi) psi = NULL;
  PostCandidate *winner = NULL;

  psi = _post_racer_run_finish (result, &winner, &error);
  if (self->reported)
    {
      /* Forgotten (its wait was cancelled, the carrier went DORMANT), or
       * timed out: what it took as early data goes back to the queue. */
      if (psi != NULL)
        post_psi_close (psi, TRUE);
      self->return_early_data (self->user_data);
      establishment_free (self);
      return;
    }
  /* Messages offered as 0-RTT data to the failed attempts queue again. */
  if (psi == NULL)
    self->return_early_data (self->user_data);
  report (self, psi, winner, g_steal_pointer (&error));
  establishment_free (self);
}

/* The association's history (draft section 3): 3 for the last winner's
 * stack, remote address and gathered local; 2 stack and address; 1 stack. */
static gint
candidate_priority (PostEstablishment *self,
                    PostCandidate     *candidate)
{
  const char *last_stack = NULL;
  GSocketAddress *last_address = NULL;
  GSocketAddress *last_local = NULL;

  if (self->association == NULL || self->history == NULL)
    return 0;
  self->history (self->association, &last_stack, &last_address, &last_local);
  if (last_stack != NULL && g_strcmp0 (last_stack, post_stack_get_name (candidate->stack)) == 0)
    {
      gint priority = 1;

      if (_post_inet_address_equal (last_address, candidate->remote_address))
        priority++;
      if (last_local != NULL && _post_inet_address_equal (last_local, candidate->local_address))
        priority++;
      return priority;
    }
  return 0;
}

/* Gathering locals (draft 4.5) for @remote: one local per usable interface
 * routing there (post_path_monitor_gather_locals()).  Skipped — the kernel
 * then picks the source — when the application bound a local or named
 * its interface (every attempt is then bound to that interface), for
 * loopback remotes, and when nothing can differ: no interface preference
 * and at most one interface routes to @remote.  Returns an empty array
 * when not gathering. */
static GPtrArray *
gather_locals (PostEstablishment *self,
               GSocketAddress    *remote)
{
  GPtrArray *none = g_ptr_array_new_with_free_func (g_object_unref);
  g_auto(GStrv) preferences = NULL;
  PostPathMonitor *monitor;

  if (self->local != NULL
      && (post_local_get_address (self->local) != NULL || post_local_get_port (self->local) != 0
          || post_local_get_interface (self->local) != NULL))
    return none;
  if (!G_IS_INET_SOCKET_ADDRESS (remote)
      || g_inet_address_get_is_loopback (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote))))
    return none;
  monitor = post_path_monitor_get_default ();
  if (!post_path_monitor_is_available (monitor))
    return none;
  preferences = post_configuration_list_interface_preferences (self->configuration);
  if (preferences[0] == NULL && _post_path_monitor_count_routes (monitor, remote) < 2)
    return none;
  g_ptr_array_unref (none);
  return post_path_monitor_gather_locals (monitor, remote,
                                          post_configuration_get_use_temporary_local_address (self->configuration));
}

/* The candidates from @first on came from @leaf (nullable): when an
 * application scheme led there, they get its ALPN ids and the step for the
 * attempt report. */
static void
scheme_candidates (GPtrArray  *candidates,
                   guint       first,
                   PostRemote *leaf)
{
  g_autofree char *step = leaf != NULL ? _post_remote_describe_scheme_step (leaf) : NULL;

  if (step == NULL)
    return;
  for (guint i = first; i < candidates->len; i++)
    {
      PostCandidate *candidate = candidates->pdata[i];

      candidate->step = g_strdup (step);
      candidate->alpn = g_strdupv ((char **) post_remote_get_alpn (leaf));
    }
}

/* Adds to @candidate's step (when a scheme gave it one) what was made of
 * the scheme's ALPN ids. */
static void G_GNUC_PRINTF (2, 3)
amend_step (PostCandidate *candidate,
            const char    *format,
            ...)
{
  g_autofree char *what = NULL;
  char *step;
  va_list args;

  if (candidate->step == NULL || candidate->alpn == NULL)
    return;
  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);
  step = g_strdup_printf ("%s; %s", candidate->step, what);
  g_free (candidate->step);
  candidate->step = step;
}

/* The rest of establishment once the remote is resolved to @addresses
 * (element-type GSocketAddress, in RFC 8305 order): candidates, ranking,
 * the race. */
static void
race_addresses (PostEstablishment *self,
                GPtrArray         *addresses)
{
  g_autoptr(GPtrArray) candidates = NULL;
  g_autoptr(GPtrArray) locals = NULL;
  g_autoptr(GPtrArray) explained = NULL;
  g_autoptr(GPtrArray) ranked_order = NULL;
  g_autoptr(GString) blocked = g_string_new (NULL);
  gboolean gathered = FALSE;

  /* Candidates: stack × remote address × local, best stack first,
   * addresses in RFC 8305 order, gathered locals best route first; then
   * the policy ranks them and what worked last time on this association
   * goes first. */
  candidates = g_ptr_array_new_with_free_func ((GDestroyNotify) _post_candidate_free);
  locals = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);
  /* (without direct:// in the proxy resolver's answer, nothing is direct) */
  if (!_post_proxy_branches_have_direct (self->proxies))
    addresses = NULL;
  for (guint r = 0; addresses != NULL && r < addresses->len; r++)
    {
      g_ptr_array_add (locals, gather_locals (self, addresses->pdata[r]));
      gathered |= ((GPtrArray *) locals->pdata[r])->len > 0;
    }
  for (guint s = 0; s < self->stacks->len; s++)
    {
      PostStack *stack = self->stacks->pdata[s];

      for (guint r = 0; addresses != NULL && r < addresses->len; r++)
        {
          GSocketAddress *address = addresses->pdata[r];
          GPtrArray *gathered_locals = locals->pdata[r];
          g_autoptr(GSocketAddress) local_address = NULL;
          PostRemote *leaf = self->leaves != NULL ? self->leaves->pdata[r] : NULL;
          guint first = candidates->len;

          if (address == NULL)
            continue;
          /* An application scheme (https) gave this address one stack */
          if (leaf != NULL && post_remote_get_stack (leaf) != NULL
              && g_strcmp0 (post_remote_get_stack (leaf), post_stack_get_name (stack)) != 0)
            continue;
          if (gathered_locals->len > 0)
            {
              for (guint l = 0; l < gathered_locals->len; l++)
                {
                  PostCandidate *candidate = _post_candidate_new (stack, address, gathered_locals->pdata[l]);

                  candidate->interface = _post_path_monitor_interface_of (post_path_monitor_get_default (),
                                                                          gathered_locals->pdata[l]);
                  candidate->gathered = TRUE;
                  g_ptr_array_add (candidates, candidate);
                }
              scheme_candidates (candidates, first, leaf);
              continue;
            }
          if (self->local != NULL
              && (post_local_get_address (self->local) != NULL || post_local_get_port (self->local) != 0))
            {
              local_address = post_local_to_socket_address (self->local,
                                                            g_socket_address_get_family (address));
              if (local_address == NULL)
                continue;  /* the local's address is of the other family */
            }
          {
            PostCandidate *candidate = _post_candidate_new (stack, address, local_address);

            if (self->local != NULL)
              candidate->interface = g_strdup (post_local_get_interface (self->local));
            g_ptr_array_add (candidates, candidate);
          }
          scheme_candidates (candidates, first, leaf);
        }
    }
  for (guint i = 0; i < candidates->len; i++)
    ((PostCandidate *) candidates->pdata[i])->carrier = self->log_carrier;   /* (for the logs) */
  /* Policy (policy/): drop what it rules out, order the rest by score.
   * With gathered locals the scores are kept to find equal ranks. */
  if (gathered)
    _post_selection_rank_candidates_full (NULL, _post_policy_get_app_id (NULL), self->configuration,
                                          self->remote, self->role, candidates, &explained, blocked);
  else
    _post_selection_rank_candidates (candidates, self->configuration, self->remote, self->role, blocked);
  if (explained != NULL)
    {
      /* (not g_ptr_array_copy(): it would copy the free function) */
      ranked_order = g_ptr_array_sized_new (candidates->len);
      for (guint i = 0; i < candidates->len; i++)
        g_ptr_array_add (ranked_order, candidates->pdata[i]);
    }
  /* Proxies (post-proxy.c): the branches in the resolver's order, the
   * direct candidates where it says direct:// */
  if (self->proxies != NULL)
    {
      g_autoptr(GString) notes = g_string_new (self->unresolved);
      GPtrArray *merged = _post_proxy_merge_candidates (self->proxies, candidates, self->stacks,
                                                        self->remote, self->local, self->configuration,
                                                        self->role, notes);

      g_ptr_array_unref (candidates);
      candidates = merged;
      for (guint i = 0; i < candidates->len; i++)
        ((PostCandidate *) candidates->pdata[i])->carrier = self->log_carrier;
      /* (the policy's removals alone: the error below says so) */
      if (candidates->len == 0 && notes->len > 0 && blocked->len > 0)
        g_string_append_printf (notes, "\n  blocked by the policy:%s", blocked->str);
      if (candidates->len == 0 && notes->len > 0)
        {
          report (self, NULL, NULL, g_error_new (POST_ERROR, POST_ERROR_NO_CANDIDATES,
                                                 "Nothing to try for %s:%s",
                                                 post_remote_get_uri (self->remote) != NULL
                                                 ? post_remote_get_uri (self->remote)
                                                 : _post_remote_get_canonical (self->remote),
                                                 notes->str));
          establishment_free (self);
          return;
        }
    }
  /* The policy removed every candidate: say which rule, where */
  if (candidates->len == 0 && blocked->len > 0)
    {
      report (self, NULL, NULL, g_error_new (POST_ERROR, POST_ERROR_NO_CANDIDATES,
                                             "The policy blocked every candidate for %s:%s",
                                             post_remote_get_uri (self->remote) != NULL
                                             ? post_remote_get_uri (self->remote)
                                             : _post_remote_get_canonical (self->remote),
                                             blocked->str));
      establishment_free (self);
      return;
    }
  /* Stable move of the association's previous winner to the front. */
  {
    g_autoptr(GPtrArray) ordered = g_ptr_array_new_with_free_func ((GDestroyNotify) _post_candidate_free);

    for (gint prio = 3; prio >= 0; prio--)
      for (guint i = 0; i < candidates->len; i++)
        if (candidates->pdata[i] != NULL && candidate_priority (self, candidates->pdata[i]) == prio)
          {
            g_ptr_array_add (ordered, candidates->pdata[i]);
            candidates->pdata[i] = NULL;
          }
    g_ptr_array_set_free_func (candidates, NULL);
    g_clear_pointer (&candidates, g_ptr_array_unref);
    candidates = g_steal_pointer (&ordered);
  }
  /* Equal rank: neighbours with the same stack, remote address, policy
   * score and history, over different locals; the racer starts them
   * together. */
  if (explained != NULL)
    {
      g_autoptr(GHashTable) scores = g_hash_table_new (NULL, NULL);
      guint group = 0;

      for (guint i = 0; i < explained->len && i < candidates->len; i++)
        {
          /* explained is in ranked order; before the history move, the
           * kept candidates were in the same order */
          g_hash_table_insert (scores, ranked_order->pdata[i],
                               GINT_TO_POINTER (post_policy_candidate_get_score (explained->pdata[i])));
        }
      for (guint i = 0; i < candidates->len; i++)
        {
          PostCandidate *candidate = candidates->pdata[i];
          PostCandidate *previous = i > 0 ? candidates->pdata[i - 1] : NULL;

          if (previous != NULL && previous->stack == candidate->stack
              && previous->gathered && candidate->gathered
              && _post_inet_address_equal (previous->remote_address, candidate->remote_address)
              && g_hash_table_lookup (scores, previous) == g_hash_table_lookup (scores, candidate)
              && candidate_priority (self, previous) == candidate_priority (self, candidate))
            {
              if (previous->group == 0)
                previous->group = ++group;
              candidate->group = previous->group;
            }
        }
    }

  /* The ALPN ids an application scheme implies for each candidate's stack
   * (https: h2 and http/1.1 on tls, h3 on quic), unless the application
   * named its own: on the configuration the policy gave the candidate. */
  {
    g_auto(GStrv) own = post_configuration_get_alpn (self->configuration);

    /* The attempt report says what is offered, not only what the scheme
     * implies */
    if (own[0] != NULL)
      {
        g_autofree char *ids = g_strjoinv (", ", own);

        for (guint i = 0; i < candidates->len; i++)
          amend_step (candidates->pdata[i], "the configuration's own ALPN %s instead", ids);
      }
    for (guint i = 0; own[0] == NULL && i < candidates->len; i++)
      {
        PostCandidate *candidate = candidates->pdata[i];
        PostConfiguration *base;
        g_autoptr(PostConfiguration) copy = NULL;
        g_auto(GStrv) spoken = NULL;

        if (candidate->alpn == NULL)
          continue;
        /* A configuration that frames by ALPN offers only what it speaks */
        spoken = _post_configuration_filter_alpn (self->configuration, (const char * const *) candidate->alpn);
        if (spoken != NULL && !g_strv_equal ((const char * const *) spoken,
                                             (const char * const *) candidate->alpn))
          {
            g_autofree char *ids = g_strjoinv (", ", spoken);

            amend_step (candidate, "offered %s, the ids the configuration frames", ids);
          }
        if (spoken != NULL)
          {
            g_strfreev (candidate->alpn);
            candidate->alpn = g_steal_pointer (&spoken);
          }
        base = candidate->configuration != NULL ? candidate->configuration : self->configuration;
        copy = post_configuration_copy (base);
        if (!post_configuration_set_alpn (copy, (const char * const *) candidate->alpn, NULL))
          continue;
        post_configuration_freeze (copy);
        g_set_object (&candidate->configuration, copy);
      }
  }

  /* What the timeout names if nothing answers in time */
  {
    GString *text = g_string_new (NULL);

    for (guint i = 0; i < candidates->len && i < 4; i++)
      {
        g_autofree char *what = _post_candidate_describe (candidates->pdata[i]);

        g_string_append_printf (text, "%s%s", i > 0 ? ", " : "", what);
      }
    if (candidates->len > 4)
      g_string_append_printf (text, " and %u more", candidates->len - 4);
    g_free (self->attempts_text);
    self->attempts_text = g_string_free (text, FALSE);
  }
  _post_racer_run_with_context_async (candidates, self->configuration, self->local,
                                      self->association, self->early_source, self->take_early_data,
                                      post_configuration_get_attempt_delay (self->configuration),
                                      self->cancellable, race_done_cb, self);
}

static void
resolve_done_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  PostEstablishment *self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) remotes = NULL;
  g_autoptr(GPtrArray) addresses = NULL;

  remotes = post_remote_resolve_fully_finish (POST_REMOTE (source), result, &error);
  if (self->reported)
    {
      establishment_free (self);   /* stopped meanwhile */
      return;
    }
  if (remotes == NULL && self->proxies != NULL && self->proxies->len > 1
      && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      /* A name only the proxy can resolve: its branches go on. */
      self->unresolved = g_strdup_printf ("\n  direct: %s", error->message);
      addresses = g_ptr_array_new ();
      race_addresses (self, addresses);
      return;
    }
  if (remotes == NULL)
    {
      report (self, NULL, NULL, g_steal_pointer (&error));
      establishment_free (self);
      return;
    }

  addresses = g_ptr_array_sized_new (remotes->len);
  if (_post_remote_get_scheme (self->remote) != NULL)
    self->leaves = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint r = 0; r < remotes->len; r++)
    {
      GSocketAddress *address = post_remote_get_address (remotes->pdata[r]);

      if (address != NULL)
        {
          g_ptr_array_add (addresses, address);
          if (self->leaves != NULL)
            g_ptr_array_add (self->leaves, g_object_ref (remotes->pdata[r]));
        }
    }
  race_addresses (self, addresses);
}

static gboolean
establish_timeout_cb (gpointer user_data)
{
  PostEstablishment *self = user_data;
  GError *error;

  g_clear_pointer (&self->timeout_source, g_source_unref);
  /* Say what was tried: the remote's name alone does not tell a wrong
   * address, a blocked port or a peer answering from elsewhere apart. */
  if (self->attempts_text != NULL && *self->attempts_text != '\0')
    error = g_error_new (POST_ERROR, POST_ERROR_TIMED_OUT,
                         "Establishment timed out: no answer within %u ms (conn-timeout) from %s",
                         post_configuration_get_conn_timeout (self->configuration), self->attempts_text);
  else
    error = g_error_new (POST_ERROR, POST_ERROR_TIMED_OUT,
                         "Establishment timed out after %u ms (conn-timeout), still resolving %s",
                         post_configuration_get_conn_timeout (self->configuration),
                         post_remote_get_uri (self->remote));
  /* What is under way ends (cancelled) and is freed then; the carrier
   * learns now. */
  g_rc_box_acquire (self);
  g_cancellable_cancel (self->cancellable);
  report (self, NULL, NULL, error);
  establishment_free (self);
  return G_SOURCE_REMOVE;
}

static void
resolve_remote (PostEstablishment *self)
{
  GSocketAddress *literal;

  if (!_post_proxy_branches_have_direct (self->proxies))
    {
      /* Only proxies: the name is the proxy's to resolve, not ours. */
      GPtrArray *none = g_ptr_array_new ();

      race_addresses (self, none);
      g_ptr_array_unref (none);
      return;
    }
  literal = _post_remote_get_literal_address (self->remote);
  if (literal != NULL)
    {
      /* Nothing to look up (an address, or a URI with an IP literal): what
       * post_remote_resolve_fully_async() would give, without its main-loop
       * round trip. */
      GPtrArray *addresses = g_ptr_array_new ();

      g_ptr_array_add (addresses, literal);
      race_addresses (self, addresses);
      g_ptr_array_unref (addresses);
      return;
    }
  post_remote_resolve_fully_async (self->remote, self->cancellable, resolve_done_cb, self);
}

static void
proxies_gathered_cb (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  PostEstablishment *self = user_data;
  g_autoptr(GError) error = NULL;

  self->proxies = _post_proxy_gather_finish (result, &error);
  if (self->reported)
    {
      establishment_free (self);   /* stopped meanwhile */
      return;
    }
  if (error != NULL)
    {
      report (self, NULL, NULL, g_steal_pointer (&error));
      establishment_free (self);
      return;
    }
  resolve_remote (self);
}

PostEstablishment *
_post_establishment_start (const PostEstablishmentRequest  *request,
                           PostEstablishedFunc              done,
                           PostEarlyDataReturnFunc          return_early_data,
                           gpointer                         user_data,
                           GDestroyNotify                   notify,
                           GError                         **error)
{
  PostEstablishment *self;
  GPtrArray *stacks;
  const char *hint;
  guint timeout;
  gboolean reported;

  /* A local that names an interface the host does not have: say so now,
   * rather than as one failure per attempt. */
  if (request->local != NULL && post_local_get_interface (request->local) != NULL
      && post_psi_check_interface (post_local_get_interface (request->local), error) == 0)
    {
      g_prefix_error (error, "Cannot establish a carrier: ");
      if (notify != NULL)
        notify (user_data);
      return NULL;
    }

  hint = post_remote_get_stack (request->remote);
  if (hint == NULL && request->local != NULL)
    hint = post_local_get_stack (request->local);
  if (hint == NULL && _post_remote_get_scheme (request->remote) != NULL)
    stacks = rank_scheme_stacks (request, error);
  else
    stacks = _post_selection_rank_stacks (post_registry_get_default (), request->configuration,
                                          hint, request->role, error);
  if (stacks == NULL)
    {
      /* @user_data is ours either way: no establishment will release it */
      if (notify != NULL)
        notify (user_data);
      return NULL;
    }

  self = g_rc_box_new0 (PostEstablishment);
  self->role = request->role;
  self->local = request->local ? g_object_ref (request->local) : NULL;
  self->remote = g_object_ref (request->remote);
  self->configuration = g_object_ref (request->configuration);
  self->association = request->association ? g_object_ref (request->association) : NULL;
  self->history = request->history;
  self->log_carrier = request->log_carrier;
  self->early_source = request->early_source ? g_object_ref (request->early_source) : NULL;
  self->take_early_data = request->take_early_data;
  self->done = done;
  self->return_early_data = return_early_data;
  self->user_data = user_data;
  self->notify = notify;
  self->stacks = stacks;
  self->cancellable = g_cancellable_new ();
  timeout = post_configuration_get_conn_timeout (self->configuration);
  if (timeout > 0)
    {
      self->timeout_source = g_timeout_source_new (timeout);
      g_source_set_callback (self->timeout_source, establish_timeout_cb, self, NULL);
      g_source_set_static_name (self->timeout_source, "[libpost] establishment timeout");
      g_source_attach (self->timeout_source, request->context);
    }

  /* Which proxies lead to the remote, if any (post-proxy.c), then the
   * remote's addresses.  A literal address is raced at once, and may end
   * there (the policy blocked every candidate): the reference held here
   * keeps @self valid until then. */
  g_rc_box_acquire (self);
  if (_post_proxy_wanted (self->configuration, self->remote, stacks))
    _post_proxy_gather_async (self->configuration, self->remote, stacks, self->cancellable,
                              proxies_gathered_cb, self);
  else
    resolve_remote (self);
  reported = self->reported;
  establishment_free (self);
  return reported ? NULL : self;
}

void
_post_establishment_cancel (PostEstablishment *self)
{
  g_cancellable_cancel (self->cancellable);
}

void
_post_establishment_forget (PostEstablishment *self)
{
  _post_source_clear (&self->timeout_source);
  self->reported = TRUE;
}
