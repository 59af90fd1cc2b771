/* post-carrier-paths.c: PostCarrier: paths and migration (draft 2.8)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "post-carrier-private.h"

void
_post_carrier_stop_path_watch (PostCarrier *self)
{
  if (self->path_watch != 0)
    _post_path_monitor_unwatch (post_path_monitor_get_default (), self->path_watch);
  self->path_watch = 0;
}

void
_post_carrier_transient_path_changed (PostCarrier   *self,
                                      PostTransient *transient)
{
  g_autoptr(GPtrArray) paths = post_transient_get_paths (transient);

  if (paths->len > 0)
    g_signal_emit (self, _post_carrier_signals[CARRIER_SIGNAL_PATH_CHANGED], 0, paths->pdata[0]);
}

/* The path for @psi's current addresses: the association's (shared by its
 * carriers), or a path of its own.  For a transient whose instance moved
 * (connection migration, or the peer's). */
PostPath *
_post_carrier_path_for_psi (PostCarrier *self,
                            PostPsi     *psi)
{
  if (self->association != NULL)
    return g_object_ref (_post_association_ensure_path (self->association, psi));
  return _post_path_new_for_psi (psi);
}

/* ---- path events (draft 2.8) ---------------------------------------------------------- */

static gboolean
same_inet (GSocketAddress *socket_address,
           GInetAddress   *address)
{
  return socket_address != NULL && address != NULL && G_IS_INET_SOCKET_ADDRESS (socket_address)
         && g_inet_address_equal (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (socket_address)),
                                  address);
}

/* Connection migration (POST_STACK_CAP_MIGRATION): when the active path
 * went away, a stack that can move its transport to another local address
 * keeps the carrier ACTIVE (same transient, same instance).  The new local
 * is chosen as establishment chooses among gathered locals (draft 4.5:
 * post_path_monitor_gather_locals(), then the configuration's interface
 * preferences and prohibitions and the policy rank them), leaving out the
 * local that went away.  The instance's interface is set to the new one
 * before the call (the stack copies it to the instances sharing its
 * connection); on success the stack emitted path-changed on each of them,
 * which the transients turn into the carriers' path-changed.  Returns
 * FALSE (nothing changed) when the stack cannot migrate or no other local
 * works: the caller then does what path.on-loss says. */
static gboolean
migrate_path (PostCarrier *self,
              const char  *why)
{
  PostPathMonitor *monitor = post_path_monitor_get_default ();
  PostPsi *psi = self->transient != NULL ? post_transient_get_psi (self->transient) : NULL;
  g_autoptr(GPtrArray) locals = NULL;
  g_autoptr(GPtrArray) candidates = NULL;
  GSocketAddress *local, *remote;
  PostStack *stack;
  guint16 port = 0;

  if (self->state != POST_CARRIER_STATE_ACTIVE || psi == NULL || post_psi_is_closed (psi))
    return FALSE;
  stack = post_psi_get_stack (psi);
  if (stack == NULL || !post_stack_has_capabilities (stack, POST_STACK_CAP_MIGRATION))
    return FALSE;
  /* An address or an interface the application bound (or an accepted
   * carrier's address) stays. */
  if (self->passive || (self->local != NULL && (post_local_get_address (self->local) != NULL
                                                || post_local_get_interface (self->local) != NULL)))
    return FALSE;
  if (self->local != NULL)
    port = post_local_get_port (self->local);
  local = post_psi_get_local_address (psi);
  remote = post_psi_get_remote_address (psi);
  if (remote == NULL || !G_IS_INET_SOCKET_ADDRESS (remote) || !post_path_monitor_is_available (monitor))
    return FALSE;

  locals = post_path_monitor_gather_locals (monitor, remote,
                                            post_configuration_get_use_temporary_local_address (self->configuration));
  candidates = g_ptr_array_new_with_free_func ((GDestroyNotify) _post_candidate_free);
  for (guint i = 0; i < locals->len; i++)
    {
      GSocketAddress *candidate_local = locals->pdata[i];
      PostCandidate *candidate;

      if (_post_inet_address_equal (candidate_local, local))
        continue;
      candidate = _post_candidate_new (stack, remote, candidate_local);
      candidate->interface = _post_path_monitor_interface_of (monitor, candidate_local);
      candidate->gathered = TRUE;
      g_ptr_array_add (candidates, candidate);
    }
  _post_selection_rank_candidates (candidates, self->configuration, self->remote, self->role, NULL);

  for (guint i = 0; i < candidates->len; i++)
    {
      PostCandidate *candidate = candidates->pdata[i];
      g_autoptr(GSocketAddress) new_local = NULL;
      g_autofree char *old_interface = g_strdup (post_psi_get_interface (psi));
      g_autofree char *text = NULL;
      g_autoptr(GError) error = NULL;

      new_local = g_inet_socket_address_new (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (candidate->local_address)),
                                             port);
      text = g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (new_local));
      post_psi_set_interface (psi, candidate->interface);
      if (post_psi_migrate (psi, new_local, &error))
        {
          g_debug ("Carrier to %s migrated to %s (%s): %s", post_remote_get_uri (self->remote),
                   text, candidate->interface ? candidate->interface : "?", why);
          return TRUE;
        }
      post_psi_set_interface (psi, old_interface);
      g_debug ("Carrier to %s cannot migrate to %s: %s", post_remote_get_uri (self->remote),
               text, error->message);
      if (g_error_matches (error, POST_ERROR, POST_ERROR_NOT_SUPPORTED) || post_psi_is_closed (psi))
        break;
    }
  return FALSE;
}

/* The active path went away: tell, then go dormant or establish again */
static void
path_lost (PostCarrier *self,
           const char  *why)
{
  g_autoptr(GPtrArray) paths = post_transient_get_paths (self->transient);
  g_autoptr(GError) error = NULL;
  GVariant *action = post_configuration_get_option (self->configuration, "path.on-loss");
  gboolean dormant = action != NULL && g_variant_is_of_type (action, G_VARIANT_TYPE_STRING)
                     && g_strcmp0 (g_variant_get_string (action, NULL), "dormant") == 0;

  g_object_ref (self);
  /* A stack that migrates keeps the carrier (and its watch) going: the old
   * path is removed, the new one came with path-changed. */
  if (migrate_path (self, why))
    {
      if (paths->len > 0)
        g_signal_emit (self, _post_carrier_signals[CARRIER_SIGNAL_PATH_REMOVED], 0, paths->pdata[0]);
      g_object_unref (self);
      return;
    }
  _post_carrier_stop_path_watch (self);
  g_debug ("Carrier to %s lost its path: %s", post_remote_get_uri (self->remote), why);
  if (paths->len > 0)
    g_signal_emit (self, _post_carrier_signals[CARRIER_SIGNAL_PATH_REMOVED], 0, paths->pdata[0]);
  if (self->state == POST_CARRIER_STATE_ACTIVE && self->transient != NULL)
    {
      error = g_error_new (POST_ERROR, POST_ERROR_CONNECTION_RESET, "The path went away: %s", why);
      _post_transient_abort (self->transient, error);
      if (self->state == POST_CARRIER_STATE_DORMANT && !dormant)
        {
          _post_carrier_set_state (self, POST_CARRIER_STATE_ESTABLISHING);
          _post_carrier_start_establishment (self);
        }
    }
  g_object_unref (self);
}

static void
path_event_cb (PostPathMonitor     *monitor,
               const PostPathEvent *event,
               gpointer             user_data)
{
  PostCarrier *self = user_data;
  PostPsi *psi = self->transient != NULL ? post_transient_get_psi (self->transient) : NULL;
  GSocketAddress *local, *remote;
  const char *interface;

  if (self->state != POST_CARRIER_STATE_ACTIVE || psi == NULL)
    return;
  local = post_psi_get_local_address (psi);
  remote = post_psi_get_remote_address (psi);
  interface = post_psi_get_interface (psi);

  switch (event->type)
    {
    case POST_PATH_EVENT_ADDRESS_REMOVED:
      if (same_inet (local, event->address->address))
        {
          g_autofree char *text = g_inet_address_to_string (event->address->address);
          g_autofree char *why = g_strdup_printf ("the local address %s was removed", text);

          path_lost (self, why);
        }
      break;
    case POST_PATH_EVENT_INTERFACE_REMOVED:
    case POST_PATH_EVENT_INTERFACE_CHANGED:
      if (interface == NULL || g_strcmp0 (event->interface->name, interface) != 0)
        break;
      if (event->type == POST_PATH_EVENT_INTERFACE_REMOVED || !event->interface->running)
        {
          g_autofree char *why = g_strdup_printf ("the interface %s %s", interface,
                                                  event->type == POST_PATH_EVENT_INTERFACE_REMOVED
                                                  ? "was removed" : "went down");

          path_lost (self, why);
        }
      else
        _post_carrier_transient_path_changed (self, self->transient);
      break;
    case POST_PATH_EVENT_ADDRESS_ADDED:
      {
        GInetAddress *address = event->address->address;
        g_autoptr(GSocketAddress) new_local = NULL;
        g_autoptr(PostPath) path = NULL;

        if (remote == NULL || !G_IS_INET_SOCKET_ADDRESS (remote)
            || g_inet_address_get_family (address) != g_socket_address_get_family (remote)
            || g_inet_address_get_is_loopback (address) || g_inet_address_get_is_link_local (address)
            || (event->address->flags & POST_ADDRESS_FLAGS_DAD_FAILED))
          break;
        new_local = g_inet_socket_address_new (address, 0);
        path = post_path_new (new_local, remote);
        post_path_set_interface (path, event->address->interface);
        post_path_set_stack_name (path, self->stack_name);
        g_signal_emit (self, _post_carrier_signals[CARRIER_SIGNAL_PATH_ADDED], 0, path);
      }
      break;
    case POST_PATH_EVENT_INTERFACE_ADDED:
    case POST_PATH_EVENT_DEFAULT_ROUTE_CHANGED:
    default:
      break;
    }
}

/* Carriers off the loopback watch their path: an initiated one moves to
 * another path (or goes dormant), an accepted one closes with the reason. */
void
_post_carrier_start_path_watch (PostCarrier *self,
                                PostPsi     *psi)
{
  GSocketAddress *remote = post_psi_get_remote_address (psi);
  PostPathMonitor *monitor;

  _post_carrier_stop_path_watch (self);
  if (self->listen_psi != NULL || remote == NULL || !G_IS_INET_SOCKET_ADDRESS (remote)
      || g_inet_address_get_is_loopback (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote))))
    return;
  monitor = post_path_monitor_get_default ();
  if (post_path_monitor_is_available (monitor))
    self->path_watch = _post_path_monitor_watch (monitor, path_event_cb, self);
}
