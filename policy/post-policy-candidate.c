/* post-policy-candidate.c: PostPolicyCandidate, one ranked candidate
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "post-policy-private.h"

/**
 * PostPolicyCandidate:
 *
 * One candidate of an establishment (a stack, a remote address and
 * perhaps a local one) as the ranking saw it: its score, whether it was
 * removed, and the reasons — each naming the rule (`file:line`) or the
 * application setting that raised, lowered or removed it.
 *
 * [method@Post.Policy.rank] returns them; establishment uses the same
 * ranking, so this is what an administrator reads to answer "why did it
 * pick that?" (`post-policy explain`).
 */
struct _PostPolicyCandidate
{
  GObject parent_instance;

  PostStack *stack;
  GSocketAddress *remote_address;
  GSocketAddress *local_address;
  PostPathInfo *path;
  PostConfiguration *configuration;
  int score;
  gboolean removed;
  GStrv reasons;
};

G_DEFINE_FINAL_TYPE (PostPolicyCandidate, post_policy_candidate, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_STACK,
  PROP_REMOTE_ADDRESS,
  PROP_LOCAL_ADDRESS,
  PROP_CONFIGURATION,
  PROP_SCORE,
  PROP_REMOVED,
  PROP_REASONS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
post_policy_candidate_finalize (GObject *object)
{
  PostPolicyCandidate *self = POST_POLICY_CANDIDATE (object);

  g_clear_object (&self->stack);
  g_clear_object (&self->remote_address);
  g_clear_object (&self->local_address);
  g_clear_pointer (&self->path, post_path_info_free);
  g_clear_object (&self->configuration);
  g_clear_pointer (&self->reasons, g_strfreev);

  G_OBJECT_CLASS (post_policy_candidate_parent_class)->finalize (object);
}

static void
post_policy_candidate_get_property (GObject    *object,
                                    guint       prop_id,
                                    GValue     *value,
                                    GParamSpec *pspec)
{
  PostPolicyCandidate *self = POST_POLICY_CANDIDATE (object);

  switch (prop_id)
    {
    case PROP_STACK:
      g_value_set_object (value, self->stack);
      break;
    case PROP_REMOTE_ADDRESS:
      g_value_set_object (value, self->remote_address);
      break;
    case PROP_LOCAL_ADDRESS:
      g_value_set_object (value, self->local_address);
      break;
    case PROP_CONFIGURATION:
      g_value_set_object (value, self->configuration);
      break;
    case PROP_SCORE:
      g_value_set_int (value, self->score);
      break;
    case PROP_REMOVED:
      g_value_set_boolean (value, self->removed);
      break;
    case PROP_REASONS:
      g_value_set_boxed (value, self->reasons);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
post_policy_candidate_class_init (PostPolicyCandidateClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = post_policy_candidate_finalize;
  object_class->get_property = post_policy_candidate_get_property;

  /**
   * PostPolicyCandidate:stack: (getter get_stack)
   *
   * The stack of the candidate.
   */
  properties[PROP_STACK] =
    g_param_spec_object ("stack", NULL, NULL, POST_TYPE_STACK,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * PostPolicyCandidate:remote-address: (getter get_remote_address)
   *
   * The remote address of the candidate.
   */
  properties[PROP_REMOTE_ADDRESS] =
    g_param_spec_object ("remote-address", NULL, NULL, G_TYPE_SOCKET_ADDRESS,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * PostPolicyCandidate:local-address: (getter get_local_address)
   *
   * The local address of the candidate, if it is bound.
   */
  properties[PROP_LOCAL_ADDRESS] =
    g_param_spec_object ("local-address", NULL, NULL, G_TYPE_SOCKET_ADDRESS,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * PostPolicyCandidate:configuration: (getter get_configuration)
   *
   * The effective configuration of the candidate: the application's with
   * the policy applied.  Its stack's PSI is created with it.
   */
  properties[PROP_CONFIGURATION] =
    g_param_spec_object ("configuration", NULL, NULL, POST_TYPE_CONFIGURATION,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * PostPolicyCandidate:score: (getter get_score)
   *
   * The score: candidates are tried highest first.
   */
  properties[PROP_SCORE] =
    g_param_spec_int ("score", NULL, NULL, G_MININT, G_MAXINT, 0,
                      G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * PostPolicyCandidate:removed: (getter is_removed)
   *
   * Whether a requirement or prohibition removed the candidate.
   */
  properties[PROP_REMOVED] =
    g_param_spec_boolean ("removed", NULL, NULL, FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * PostPolicyCandidate:reasons: (getter get_reasons)
   *
   * What raised, lowered or removed the candidate, one line each, such as
   * `+10 secure=prefer (/etc/post/policy.d/50-site.conf:4)`.
   */
  properties[PROP_REASONS] =
    g_param_spec_boxed ("reasons", NULL, NULL, G_TYPE_STRV,
                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
post_policy_candidate_init (PostPolicyCandidate *self)
{
}

PostPolicyCandidate *
_post_policy_candidate_new (PostStack         *stack,
                            GSocketAddress    *remote_address,
                            GSocketAddress    *local_address,
                            PostPathInfo      *path,
                            PostConfiguration *configuration,
                            int                score,
                            gboolean           removed,
                            GPtrArray         *reasons)
{
  PostPolicyCandidate *self = g_object_new (POST_TYPE_POLICY_CANDIDATE, NULL);

  self->stack = g_object_ref (stack);
  self->remote_address = remote_address ? g_object_ref (remote_address) : NULL;
  self->local_address = local_address ? g_object_ref (local_address) : NULL;
  self->path = path ? post_path_info_copy (path) : NULL;
  self->configuration = configuration ? g_object_ref (configuration) : NULL;
  self->score = score;
  self->removed = removed;
  if (reasons != NULL)
    {
      self->reasons = g_new0 (char *, reasons->len + 1);
      for (guint i = 0; i < reasons->len; i++)
        self->reasons[i] = g_strdup (reasons->pdata[i]);
    }
  else
    self->reasons = g_new0 (char *, 1);
  return self;
}

/**
 * post_policy_candidate_get_stack: (get-property stack)
 * @self: a candidate
 *
 * Gets the stack of the candidate; it belongs to @self.
 *
 * Returns: (transfer none): its stack
 */
PostStack *
post_policy_candidate_get_stack (PostPolicyCandidate *self)
{
  g_return_val_if_fail (POST_IS_POLICY_CANDIDATE (self), NULL);
  return self->stack;
}

/**
 * post_policy_candidate_get_remote_address: (get-property remote-address)
 * @self: a candidate
 *
 * Gets the remote address of the candidate, one of the resolved addresses
 * of the remote. It belongs to @self.
 *
 * Returns: (transfer none) (nullable): its remote address (%NULL when
 *   ranking stacks for a listener)
 */
GSocketAddress *
post_policy_candidate_get_remote_address (PostPolicyCandidate *self)
{
  g_return_val_if_fail (POST_IS_POLICY_CANDIDATE (self), NULL);
  return self->remote_address;
}

/**
 * post_policy_candidate_get_local_address: (get-property local-address)
 * @self: a candidate
 *
 * Gets the local address of the candidate, for a carrier bound to one or a
 * local address gathered on a multi-homed host. It belongs to @self.
 *
 * Returns: (transfer none) (nullable): its local address, if bound
 */
GSocketAddress *
post_policy_candidate_get_local_address (PostPolicyCandidate *self)
{
  g_return_val_if_fail (POST_IS_POLICY_CANDIDATE (self), NULL);
  return self->local_address;
}

/**
 * post_policy_candidate_get_path_info:
 * @self: a candidate
 *
 * Gets the path data (interface, kind, metered, MTU) that the path match
 * keys of the rules were evaluated against for this candidate. It belongs
 * to @self.
 *
 * Returns: (transfer none) (nullable): the path data the ranking used, or
 *   %NULL if it needed none or none was found
 */
const PostPathInfo *
post_policy_candidate_get_path_info (PostPolicyCandidate *self)
{
  g_return_val_if_fail (POST_IS_POLICY_CANDIDATE (self), NULL);
  return self->path;
}

/**
 * post_policy_candidate_get_configuration: (get-property configuration)
 * @self: a candidate
 *
 * Gets the configuration the candidate would be established with: the
 * application's, with what policy set on top of it. It belongs to @self.
 *
 * Returns: (transfer none) (nullable): the effective configuration
 */
PostConfiguration *
post_policy_candidate_get_configuration (PostPolicyCandidate *self)
{
  g_return_val_if_fail (POST_IS_POLICY_CANDIDATE (self), NULL);
  return self->configuration;
}

/**
 * post_policy_candidate_get_score: (get-property score)
 * @self: a candidate
 *
 * Gets the candidate's score: the sum of the preference terms and the
 * rules' `score` keys. Candidates are tried highest score first.
 *
 * Returns: its score
 */
int
post_policy_candidate_get_score (PostPolicyCandidate *self)
{
  g_return_val_if_fail (POST_IS_POLICY_CANDIDATE (self), 0);
  return self->score;
}

/**
 * post_policy_candidate_is_removed: (get-property removed)
 * @self: a candidate
 *
 * Tells whether the candidate was removed, by a requirement or prohibition
 * of the application or of a rule; a removed candidate is never tried, and
 * its reasons say why.
 *
 * Returns: %TRUE if a requirement or prohibition removed it
 */
gboolean
post_policy_candidate_is_removed (PostPolicyCandidate *self)
{
  g_return_val_if_fail (POST_IS_POLICY_CANDIDATE (self), FALSE);
  return self->removed;
}

/**
 * post_policy_candidate_get_reasons: (get-property reasons)
 * @self: a candidate
 *
 * Gets the reasons for the candidate's score or removal, one line each,
 * naming the rule (`file:line`) or the application setting, as
 * `post-policy explain` prints them. The array belongs to @self.
 *
 * Returns: (transfer none) (array zero-terminated=1): what decided its
 *   score or removal, one line each
 */
const char * const *
post_policy_candidate_get_reasons (PostPolicyCandidate *self)
{
  g_return_val_if_fail (POST_IS_POLICY_CANDIDATE (self), NULL);
  return (const char * const *) self->reasons;
}

/**
 * post_policy_candidate_to_string:
 * @self: a candidate
 *
 * Describes the candidate on one line: stack, addresses and path, such
 * as `tcp to 192.0.2.1:443 via wlan0 (wifi, mtu 1500)`.
 *
 * Returns: (transfer full): the text
 */
char *
post_policy_candidate_to_string (PostPolicyCandidate *self)
{
  GString *text;

  g_return_val_if_fail (POST_IS_POLICY_CANDIDATE (self), NULL);

  text = g_string_new (post_stack_get_name (self->stack));
  if (self->remote_address != NULL)
    {
      g_autofree char *remote = _post_socket_address_to_string (self->remote_address);

      g_string_append_printf (text, " to %s", remote);
    }
  if (self->local_address != NULL)
    {
      g_autofree char *local = _post_socket_address_to_string (self->local_address);

      g_string_append_printf (text, " from %s", local);
    }
  if (self->path != NULL && self->path->interface != NULL)
    {
      g_string_append_printf (text, " via %s (%s", self->path->interface,
                              post_interface_kind_to_nick (self->path->kind));
      if (self->path->metered)
        g_string_append (text, ", metered");
      if (self->path->mtu != 0)
        g_string_append_printf (text, ", mtu %u", self->path->mtu);
      g_string_append (text, ")");
    }
  return g_string_free (text, FALSE);
}
