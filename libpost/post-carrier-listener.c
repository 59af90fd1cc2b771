/* post-carrier-listener.c: PostCarrier: listening and accepting (listeners, sinks, responders; passive open)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "post-carrier-private.h"

/* ---- passive open ---------------------------------------------------------- */

static void
child_closed_cb (PostCarrier  *child,
                 const GError *error,
                 PostCarrier  *parent)
{
  if (parent->children != NULL)
    g_hash_table_remove (parent->children, child);
}

PostCarrier *
_post_carrier_new_accepted (PostCarrier *parent,
                            PostPsi     *psi)
{
  PostCarrier *self;
  g_autoptr(PostRemote) remote = NULL;
  g_autoptr(PostLocal) local = NULL;
  gboolean owned = parent->role == POST_CARRIER_ROLE_RESPONDER
                   || (parent->role == POST_CARRIER_ROLE_SINK && parent->listen_psi != NULL);
  /* A sink that listens accepts sinks; a stream forked by the peer from a
   * sink or a source (one stream of a multistreaming connection, e.g. an
   * HTTP/3 control stream) is a carrier unless its direction says not. */
  PostCarrierRole role = parent->role == POST_CARRIER_ROLE_SINK && parent->listen_psi != NULL
                         ? POST_CARRIER_ROLE_SINK : POST_CARRIER_ROLE_CARRIER;

  if (post_psi_get_remote_address (psi) != NULL)
    remote = post_remote_new_for_address (post_psi_get_remote_address (psi));
  if (post_psi_get_local_address (psi) != NULL)
    local = post_local_new_for_address (post_psi_get_local_address (psi));

  /* An instance that only receives (its configuration's `direction` is
   * unidirectional-receive, e.g. a peer's unidirectional stream) is a sink. */
  if (post_configuration_get_direction (post_psi_get_configuration (psi))
      == POST_DIRECTION_UNIDIRECTIONAL_RECEIVE)
    role = POST_CARRIER_ROLE_SINK;
  /* One that only sends (post_carrier_fork_source_async()) is a source. */
  else if (post_configuration_get_direction (post_psi_get_configuration (psi))
           == POST_DIRECTION_UNIDIRECTIONAL_SEND)
    role = POST_CARRIER_ROLE_SOURCE;
  self = _post_carrier_new (role, local, remote, parent->configuration);
  self->passive = TRUE;
  if (remote != NULL)
    {
      self->association = parent->association
                          ? g_object_ref (parent->association)
                          : post_association_lookup (local, remote, self->configuration);
      _post_association_add_carrier (self->association, self);
    }
  if (owned)
    {
      /* The responder (or remote-less sink) owns its per-remote carriers;
       * their messages are delivered to it.  Set up before the transport is
       * attached: data may already be waiting. */
      self->parent = parent;
      if (parent->role == POST_CARRIER_ROLE_RESPONDER)
        self->reply = _post_reply_new (self, NULL);
      if (parent->children == NULL)
        parent->children = g_hash_table_new_full (NULL, NULL, g_object_unref, NULL);
      g_hash_table_add (parent->children, g_object_ref (self));
      g_signal_connect_object (self, "closed", G_CALLBACK (child_closed_cb), parent, 0);
    }
  _post_carrier_activate (self, psi, NULL);
  return self;
}

/* No handler of @listener's incoming signal accepted @child: the stack
 * refuses it on the wire (post_psi_refuse()), so that the initiator fails
 * with POST_ERROR_CONNECTION_REFUSED.  A stack that cannot tell the
 * initiator (no POST_STACK_CAP_REFUSAL: udp) gets the remote in the
 * listener's refused table instead: what it sends next is dropped rather
 * than offered again as a new carrier (psi_accepted_cb()). */
void
_post_carrier_refuse_child (PostCarrier *listener,
                            PostCarrier *child)
{
  PostPsi *psi = child->transient != NULL ? post_transient_get_psi (child->transient) : NULL;

  g_debug ("No handler accepted the incoming carrier; refusing it");
  if (psi != NULL)
    {
      PostStack *stack = post_psi_get_stack (psi);
      GSocketAddress *remote = post_psi_get_remote_address (psi);

      if (stack != NULL && remote != NULL
          && !(post_stack_get_capabilities (stack) & POST_STACK_CAP_REFUSAL))
        {
          if (listener->refused_peers == NULL)
            listener->refused_peers = _post_refused_peers_new ();
          _post_refused_peers_add (listener->refused_peers, remote, g_get_monotonic_time ());
        }
      post_psi_refuse (psi);
    }
  post_carrier_abort (child);
}

static void
accept_child (PostCarrier *self,
              PostPsi     *psi,
              PostCarrier *signal_target)
{
  g_autoptr(PostCarrier) child = NULL;
  gboolean accepted = FALSE;

  child = _post_carrier_new_accepted (self, psi);
  if (child->parent == NULL && self->role == POST_CARRIER_ROLE_LISTENER
      && child->transient != NULL && _post_transient_speaks_control (child->transient))
    {
      /* libpost's framing: it may be a fork of one of our carriers. */
      _post_carrier_accept_maybe_fork (self, child);
      return;
    }
  if (child->parent == NULL)
    {
      g_signal_emit (signal_target, _post_carrier_signals[CARRIER_SIGNAL_INCOMING], 0, child, &accepted);
      if (!accepted)
        {
          _post_carrier_refuse_child (self, child);
          return;
        }
    }
  /* Announced (its handlers are connected): what the peer sent already,
   * or its end, is read now rather than after one more poll. */
  if (child->transient != NULL && child->state == POST_CARRIER_STATE_ACTIVE)
    _post_transient_try_read (child->transient);
}

static void
psi_accepted_cb (PostPsi     *psi,
                 PostPsi     *accepted,
                 PostCarrier *self)
{
  if (self->state != POST_CARRIER_STATE_ACTIVE)
    {
      post_psi_close (accepted, TRUE);
      return;
    }
  if (self->refused_peers != NULL && post_psi_get_remote_address (accepted) != NULL
      && _post_refused_peers_check (self->refused_peers, post_psi_get_remote_address (accepted),
                                    g_get_monotonic_time ()))
    {
      /* A remote this listener refused, still sending (see
       * _post_carrier_refuse_child()). */
      post_psi_close (accepted, TRUE);
      return;
    }
  g_object_ref (self);
  accept_child (self, accepted, self);
  g_object_unref (self);
}

void
_post_carrier_transient_fork_request (PostCarrier *self,
                                      PostPsi     *psi,
                                      PostPsi     *forked)
{
  /* (only once active: what it asked for when it attached the transient) */
  if (self->fork_watch)
    _post_carrier_psi_fork_request_cb (psi, forked, self);
}

void
_post_carrier_psi_fork_request_cb (PostPsi     *psi,
                                   PostPsi     *forked,
                                   PostCarrier *self)
{
  g_autoptr(PostCarrier) child = NULL;
  gboolean accepted = FALSE;

  /* The peer forks any stream of the connection: the stack announces it on
   * one of them, which may be a source or a sink (unidirectional). */
  if (self->state != POST_CARRIER_STATE_ACTIVE
      || (self->role != POST_CARRIER_ROLE_CARRIER && self->role != POST_CARRIER_ROLE_SOURCE
          && self->role != POST_CARRIER_ROLE_SINK))
    {
      post_psi_close (forked, TRUE);
      return;
    }
  g_object_ref (self);
  child = _post_carrier_new_accepted (self, forked);
  g_signal_emit (self, _post_carrier_signals[CARRIER_SIGNAL_INCOMING], 0, child, &accepted);
  if (!accepted)
    post_carrier_abort (child);
  g_object_unref (self);
}

/* Security on by default, for listeners (initiated carriers get it from
 * _post_selection_rank_stacks(), where post-policy explain sees it too):
 * when a secure stack is available and neither the local's scheme (@hint)
 * nor the configuration's stacks list names a stack, and the configuration
 * does not allow cleartext, only secure stacks listen. */
static void
drop_cleartext_stacks (PostCarrier *self,
                       GPtrArray   *stacks,
                       const char  *hint)
{
  gboolean any_secure = FALSE;

  if ((hint != NULL && *hint != '\0') || post_configuration_get_stacks (self->configuration) != NULL
      || post_configuration_get_allow_cleartext (self->configuration))
    return;
  for (guint i = 0; i < stacks->len; i++)
    any_secure |= post_stack_has_capabilities (stacks->pdata[i], POST_STACK_CAP_SECURE);
  if (!any_secure)
    return;
  for (guint i = stacks->len; i > 0; i--)
    if (!post_stack_has_capabilities (stacks->pdata[i - 1], POST_STACK_CAP_SECURE))
      g_ptr_array_remove_index (stacks, i - 1);
}

static PostCarrier *
listen_with_role (PostCarrierRole     role,
                  PostLocal          *local,
                  PostConfiguration  *configuration,
                  GError            **error)
{
  g_autoptr(PostCarrier) self = NULL;
  g_autoptr(GPtrArray) stacks = NULL;
  g_autoptr(GError) first_error = NULL;
  g_autoptr(PostLocal) any_local = NULL;

  if (local == NULL)
    local = any_local = post_local_new ();
  if (post_local_get_interface (local) != NULL
      && post_psi_check_interface (post_local_get_interface (local), error) == 0)
    {
      g_autofree char *what = post_local_to_string (local);

      g_prefix_error (error, "Cannot listen on %s: ", what);
      return NULL;
    }

  self = _post_carrier_new (role, local, NULL, configuration);
  g_clear_object (&self->transient);  /* listeners have no transport of their own */
  stacks = _post_selection_rank_stacks (post_registry_get_default (), self->configuration,
                                        post_local_get_stack (local),
                                        role == POST_CARRIER_ROLE_SINK ? POST_CARRIER_ROLE_LISTENER : role,
                                        error);
  if (stacks == NULL)
    return NULL;
  /* A listener is secure by default when it has something to be secure
   * with: an identity or pre-shared keys on its local. */
  if (post_local_get_identity_pem (local, NULL, NULL)
      || post_local_lookup_pre_shared_key (local, NULL) != NULL)
    drop_cleartext_stacks (self, stacks, post_local_get_stack (local));

  for (guint i = 0; i < stacks->len; i++)
    {
      PostStack *stack = stacks->pdata[i];
      GSocketFamily families[2] = { G_SOCKET_FAMILY_IPV6, G_SOCKET_FAMILY_IPV4 };

      if (post_local_get_address (local) != NULL)
        families[0] = g_inet_address_get_family (post_local_get_address (local)), families[1] = G_SOCKET_FAMILY_INVALID;

      for (guint f = 0; f < G_N_ELEMENTS (families) && families[f] != G_SOCKET_FAMILY_INVALID; f++)
        {
          g_autoptr(GError) local_error = NULL;
          g_autoptr(GSocketAddress) address = post_local_to_socket_address (local, families[f]);
          g_autoptr(PostPsi) psi = NULL;

          if (address == NULL)
            continue;
          psi = post_stack_create_psi (stack, self->configuration);
          post_psi_set_context (psi, local, NULL);
          /* The stack binds to it (post_psi_bind_to_interface()). */
          post_psi_set_interface (psi, post_local_get_interface (local));
          /* A responder or remote-less sink on a connectionless stack is
           * served by the listening instance itself: every remote's
           * messages arrive on the carrier's own transient with their
           * source, and replies go back to that source, without a carrier
           * per remote. */
          if ((role == POST_CARRIER_ROLE_RESPONDER || role == POST_CARRIER_ROLE_SINK)
              && post_psi_can_listen_unconnected (psi))
            {
              if (!post_psi_listen_unconnected (psi, address, &local_error))
                {
                  if (first_error == NULL)
                    first_error = g_steal_pointer (&local_error);
                  continue;
                }
              _post_carrier_set_stack_name (self, post_stack_get_name (stack));
              self->state = POST_CARRIER_STATE_ACTIVE;
              self->establishment_time = g_get_monotonic_time () - self->initiate_time;
              self->transient = _post_transient_new_pending (self, self->configuration);
              _post_transient_attach (self->transient, psi, NULL);
              return g_steal_pointer (&self);
            }
          if (post_psi_listen (psi, address, &local_error))
            {
              self->listen_psi = g_steal_pointer (&psi);
              _post_carrier_set_stack_name (self, post_stack_get_name (stack));
              self->accepted_id = g_signal_connect (self->listen_psi, "accepted",
                                                    G_CALLBACK (psi_accepted_cb), self);
              self->state = POST_CARRIER_STATE_ACTIVE;
              self->establishment_time = g_get_monotonic_time () - self->initiate_time;
              return g_steal_pointer (&self);
            }
          if (first_error == NULL)
            first_error = g_steal_pointer (&local_error);
        }
    }

  if (first_error != NULL)
    {
      g_autofree char *what = post_local_to_string (local);

      g_set_error (error, first_error->domain, first_error->code,
                   "Cannot listen on %s: %s", what, first_error->message);
    }
  else
    g_set_error (error, POST_ERROR, POST_ERROR_NO_CANDIDATES,
                 "No local address to listen on");
  return NULL;
}

/**
 * post_carrier_listen:
 * @local: (nullable): where to listen; %NULL for any address on an
 *   ephemeral port
 * @configuration: (nullable): preferences, or %NULL
 * @error: return location for an error
 *
 * Creates a listener (a passive open, draft Figure 5).  Each carrier a
 * remote opens is offered by the #PostCarrier::incoming signal.  The stack
 * is the one @local's URI names, else the best that can listen and
 * satisfies @configuration.
 *
 * Returns: (transfer full): a new listener, or %NULL with @error set
 */
PostCarrier *
post_carrier_listen (PostLocal          *local,
                     PostConfiguration  *configuration,
                     GError            **error)
{
  g_return_val_if_fail (local == NULL || POST_IS_LOCAL (local), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return listen_with_role (POST_CARRIER_ROLE_LISTENER, local, configuration, error);
}

/**
 * post_carrier_new_sink:
 * @local: (nullable): the local endpoint
 * @remote: (nullable): the one remote to receive from, or %NULL to receive
 *   from any remote that opens a carrier to @local
 * @configuration: (nullable): preferences, or %NULL
 * @error: return location for an error
 *
 * Creates a carrier that only receives (draft 2.1).  With a @remote it is
 * initiated like any carrier; without one it listens on @local and delivers
 * what every remote sends, in arrival order, through the usual receive
 * calls.  Sending fails with %POST_ERROR_WRONG_ROLE.
 *
 * Returns: (transfer full): a new sink, or %NULL with @error set
 */
PostCarrier *
post_carrier_new_sink (PostLocal          *local,
                       PostRemote         *remote,
                       PostConfiguration  *configuration,
                       GError            **error)
{
  g_return_val_if_fail (local == NULL || POST_IS_LOCAL (local), NULL);
  g_return_val_if_fail (remote == NULL || POST_IS_REMOTE (remote), NULL);

  if (remote != NULL)
    return _post_carrier_initiate_with_role (POST_CARRIER_ROLE_SINK, local, remote, configuration, NULL);
  return listen_with_role (POST_CARRIER_ROLE_SINK, local, configuration, error);
}

/**
 * post_carrier_respond:
 * @local: (nullable): where to listen
 * @configuration: (nullable): preferences, or %NULL
 * @func: (scope notified) (closure user_data): called for each message
 * @user_data: data for @func
 * @notify: (nullable): frees @user_data when the responder is closed
 * @error: return location for an error
 *
 * Creates a responder (draft Figure 4): it receives messages from any
 * number of remotes and calls @func with each, with a [class@Post.Reply]
 * that sends answers back to the message's source.
 *
 * Returns: (transfer full): a new responder, or %NULL with @error set
 */
PostCarrier *
post_carrier_respond (PostLocal          *local,
                      PostConfiguration  *configuration,
                      PostRespondFunc     func,
                      gpointer            user_data,
                      GDestroyNotify      notify,
                      GError            **error)
{
  PostCarrier *self;

  g_return_val_if_fail (func != NULL, NULL);

  self = listen_with_role (POST_CARRIER_ROLE_RESPONDER, local, configuration, error);
  if (self == NULL)
    {
      if (notify != NULL)
        notify (user_data);
      return NULL;
    }
  self->respond_func = func;
  self->respond_data = user_data;
  self->respond_notify = notify;
  return self;
}
