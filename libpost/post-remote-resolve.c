/* post-remote-resolve.c: resolving a PostRemote one level down and all the
 * way (draft section 3.3, Figure 8)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "post-remote-private.h"

#include <string.h>

/*
 * One level of resolution (draft Figure 8):
 *
 *   URI     → one remote: NAME, or ADDRESS when the host is an IP literal
 *   NAME    → one ADDRESS remote per address; IPv4 and IPv6 are looked up
 *             concurrently (two GResolver lookups) and combined, IPv6
 *             first; it fails only if both lookups fail
 *   ADDRESS → itself
 *
 * Every remote returned keeps the port and stack hint of the one it came
 * from, and remembers it as its parent.
 */

typedef struct {
  PostRemote *remote;       /* (owned) */
  GList *v6;                /* (owned) (element-type GInetAddress) */
  GList *v4;                /* (owned) (element-type GInetAddress) */
  GError *v6_error;         /* (owned) (nullable) */
  GError *v4_error;         /* (owned) (nullable) */
  guint pending;
} ResolveData;

static void
resolve_data_free (ResolveData *data)
{
  g_clear_object (&data->remote);
  g_resolver_free_addresses (data->v6);
  g_resolver_free_addresses (data->v4);
  g_clear_error (&data->v6_error);
  g_clear_error (&data->v4_error);
  g_free (data);
}

static GPtrArray *
new_remote_array (void)
{
  return g_ptr_array_new_with_free_func (g_object_unref);
}

static void
append_addresses (GPtrArray  *result,
                  PostRemote *parent,
                  GList      *addresses)
{
  for (GList *l = addresses; l != NULL; l = l->next)
    {
      g_autoptr(GSocketAddress) address = g_inet_socket_address_new (l->data, parent->port);
      g_autoptr(PostRemote) child = _post_remote_new_child (parent, parent->hostname, address);
      gboolean seen = FALSE;

      for (guint i = 0; i < result->len && !seen; i++)
        seen = post_remote_equal (result->pdata[i], child);

      if (!seen)
        g_ptr_array_add (result, g_steal_pointer (&child));
    }
}

static void
lookup_cb (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data,
           gboolean      v6)
{
  g_autoptr(GTask) task = user_data;
  ResolveData *data = g_task_get_task_data (task);
  GError *error = NULL;
  GList *addresses;
  g_autoptr(GPtrArray) remotes = NULL;

  addresses = g_resolver_lookup_by_name_with_flags_finish (G_RESOLVER (source), result, &error);
  if (v6)
    {
      data->v6 = addresses;
      data->v6_error = error;
    }
  else
    {
      data->v4 = addresses;
      data->v4_error = error;
    }

  if (--data->pending > 0)
    return;

  if (g_task_return_error_if_cancelled (task))
    return;

  if (data->v6 == NULL && data->v4 == NULL)
    {
      GError *cause = data->v4_error != NULL ? data->v4_error : data->v6_error;

      g_task_return_new_error (task, POST_ERROR, POST_ERROR_RESOLVE,
                               "could not resolve ‘%s’: %s",
                               data->remote->hostname,
                               cause != NULL ? cause->message : "no addresses");
      return;
    }

  remotes = new_remote_array ();
  append_addresses (remotes, data->remote, data->v6);
  append_addresses (remotes, data->remote, data->v4);
  g_task_return_pointer (task, g_steal_pointer (&remotes), (GDestroyNotify) g_ptr_array_unref);
}

static void
lookup_v6_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  lookup_cb (source, result, user_data, TRUE);
}

static void
lookup_v4_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  lookup_cb (source, result, user_data, FALSE);
}

static void
lookup_service_cb (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  PostRemote *self = g_task_get_source_object (task);
  GError *error = NULL;
  GList *targets = g_resolver_lookup_service_finish (G_RESOLVER (source), result, &error);
  GPtrArray *remotes;

  if (targets == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_task_return_error (task, error);
      else
        {
          g_task_return_new_error (task, POST_ERROR, POST_ERROR_RESOLVE,
                                   "cannot resolve the service ‘%s’: %s", self->canonical,
                                   error->message);
          g_error_free (error);
        }
      return;
    }
  /* (GResolver sorted them as RFC 2782 says: priority, then weight) */
  remotes = new_remote_array ();
  for (GList *l = targets; l != NULL; l = l->next)
    {
      const char *host = g_srv_target_get_hostname (l->data);

      /* A target of "." says the service is decidedly not offered */
      if (g_strcmp0 (host, ".") == 0 || _post_endpoint_check_host (host) != NULL)
        continue;
      g_ptr_array_add (remotes, g_object_new (POST_TYPE_REMOTE,
                                              "hostname", host,
                                              "port", (guint) g_srv_target_get_port (l->data),
                                              "stack", self->stack,
                                              "parent", self,
                                              "alpn", self->alpn,
                                              NULL));
    }
  g_resolver_free_targets (targets);
  if (remotes->len == 0)
    {
      g_ptr_array_unref (remotes);
      g_task_return_new_error (task, POST_ERROR, POST_ERROR_RESOLVE,
                               "the service ‘%s’ is not offered (no usable SRV target)",
                               self->canonical);
      return;
    }
  g_task_return_pointer (task, remotes, (GDestroyNotify) g_ptr_array_unref);
}

/**
 * post_remote_resolve_async:
 * @self: a remote
 * @cancellable: (nullable): a cancellable
 * @callback: (scope async): called when done
 * @user_data: data for @callback
 *
 * Resolves @self one level down (draft Figure 8): a URI gives one remote
 * at NAME level (or ADDRESS level for an IP literal), a URI with an
 * application scheme such as `https` one remote at URI level per
 * candidate stack (`tls://host:443`, `quic://host:443`) with the ALPN ids
 * the scheme implies for it ([property@Post.Remote:alpn]); a name gives one
 * remote per address, looking up IPv6 and IPv4 at once and failing only
 * if both fail; a DNS SRV service (#PostRemote:service) gives one remote
 * at NAME level per target, in RFC 2782's order; an address gives itself.
 * Each new remote keeps the port
 * and stack hint of @self and has @self as its parent.
 */
void
post_remote_resolve_async (PostRemote          *self,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(GResolver) resolver = NULL;
  ResolveData *data;

  g_return_if_fail (POST_IS_REMOTE (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, post_remote_resolve_async);
  g_task_set_name (task, "[libpost] post_remote_resolve_async");

  if (self->level == POST_REMOTE_LEVEL_ADDRESS)
    {
      GPtrArray *remotes = new_remote_array ();

      g_ptr_array_add (remotes, g_object_ref (self));
      g_task_return_pointer (task, remotes, (GDestroyNotify) g_ptr_array_unref);
      return;
    }

  if (self->level == POST_REMOTE_LEVEL_URI)
    {
      GPtrArray *remotes;

      if (self->hostname == NULL)
        {
          g_task_return_new_error (task, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                                   "invalid URI ‘%s’", self->uri);
          return;
        }

      remotes = new_remote_array ();
      if (self->scheme != NULL)
        {
          /* The recursive step: the scheme's candidate stacks */
          for (const PostSchemeCandidate *c = self->scheme->candidates; c->stack != NULL; c++)
            {
              g_autofree char *uri = strchr (self->hostname, ':') != NULL
                                     ? g_strdup_printf ("%s://[%s]:%u", c->stack, self->hostname, self->port)
                                     : g_strdup_printf ("%s://%s:%u", c->stack, self->hostname, self->port);

              g_ptr_array_add (remotes, g_object_new (POST_TYPE_REMOTE,
                                                      "uri", uri,
                                                      "stack", c->stack,
                                                      "hostname", self->hostname,
                                                      "port", (guint) self->port,
                                                      "parent", self,
                                                      "alpn", c->alpn,
                                                      NULL));
            }
          g_task_return_pointer (task, remotes, (GDestroyNotify) g_ptr_array_unref);
          return;
        }
      /* An IP literal becomes an ADDRESS remote in constructed() */
      g_ptr_array_add (remotes, _post_remote_new_child (self, self->hostname, NULL));
      g_task_return_pointer (task, remotes, (GDestroyNotify) g_ptr_array_unref);
      return;
    }

  if (self->service != NULL)
    {
      resolver = g_resolver_get_default ();
      g_resolver_lookup_service_async (resolver, self->service, self->service_protocol,
                                       self->hostname, cancellable, lookup_service_cb,
                                       g_steal_pointer (&task));
      return;
    }

  data = g_new0 (ResolveData, 1);
  data->remote = g_object_ref (self);
  data->pending = 2;
  g_task_set_task_data (task, data, (GDestroyNotify) resolve_data_free);

  resolver = g_resolver_get_default ();
  g_resolver_lookup_by_name_with_flags_async (resolver, self->hostname,
                                              G_RESOLVER_NAME_LOOKUP_FLAGS_IPV6_ONLY,
                                              cancellable, lookup_v6_cb,
                                              g_object_ref (task));
  g_resolver_lookup_by_name_with_flags_async (resolver, self->hostname,
                                              G_RESOLVER_NAME_LOOKUP_FLAGS_IPV4_ONLY,
                                              cancellable, lookup_v4_cb,
                                              g_object_ref (task));
}

/**
 * post_remote_resolve_finish:
 * @self: a remote
 * @result: the result passed to the callback
 * @error: return location for an error
 *
 * Finishes [method@Post.Remote.resolve_async]. A name that resolves to
 * nothing fails with %POST_ERROR_RESOLVE, naming the host.
 *
 * Returns: (transfer full) (element-type PostRemote): the remotes one
 *   level down, or %NULL on error
 */
GPtrArray *
post_remote_resolve_finish (PostRemote    *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (POST_IS_REMOTE (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == post_remote_resolve_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/*
 * Full resolution walks the tree of Figure 8 depth first, one level at a
 * time with post_remote_resolve_async(), collecting the ADDRESS leaves;
 * a branch that fails is skipped as long as another gives addresses.  The
 * leaves are then ordered as RFC 8305 section 4 asks: IPv6 first, then
 * alternating families, each family keeping its own order.
 */

typedef struct {
  GQueue pending;        /* (owned) (element-type PostRemote): still to resolve */
  GPtrArray *addresses;  /* (owned) (element-type PostRemote) */
  GError *error;         /* (owned) (nullable): the first failure */
} ResolveFullyData;

static void
resolve_fully_data_free (ResolveFullyData *data)
{
  g_queue_clear_full (&data->pending, g_object_unref);
  g_clear_pointer (&data->addresses, g_ptr_array_unref);
  g_clear_error (&data->error);
  g_free (data);
}

static GSocketFamily
remote_family (PostRemote *remote)
{
  if (remote->address == NULL)
    return G_SOCKET_FAMILY_INVALID;
  return g_socket_address_get_family (remote->address);
}

static GPtrArray *
interleave_families (GPtrArray *remotes)
{
  GPtrArray *result = new_remote_array ();
  g_autoptr(GPtrArray) v6 = g_ptr_array_new ();
  g_autoptr(GPtrArray) v4 = g_ptr_array_new ();
  g_autoptr(GPtrArray) other = g_ptr_array_new ();
  guint i6 = 0, i4 = 0;

  for (guint i = 0; i < remotes->len; i++)
    {
      PostRemote *remote = remotes->pdata[i];

      switch (remote_family (remote))
        {
        case G_SOCKET_FAMILY_IPV6:
          g_ptr_array_add (v6, remote);
          break;
        case G_SOCKET_FAMILY_IPV4:
          g_ptr_array_add (v4, remote);
          break;
        default:
          g_ptr_array_add (other, remote);
          break;
        }
    }

  while (i6 < v6->len || i4 < v4->len)
    {
      if (i6 < v6->len)
        g_ptr_array_add (result, g_object_ref (v6->pdata[i6++]));
      if (i4 < v4->len)
        g_ptr_array_add (result, g_object_ref (v4->pdata[i4++]));
    }
  for (guint i = 0; i < other->len; i++)
    g_ptr_array_add (result, g_object_ref (other->pdata[i]));

  return result;
}

static void resolve_fully_next (GTask *task);

static void
resolve_fully_step_cb (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  ResolveFullyData *data = g_task_get_task_data (task);
  g_autoptr(GPtrArray) children = NULL;
  g_autoptr(GError) error = NULL;

  children = post_remote_resolve_finish (POST_REMOTE (source), result, &error);
  if (children == NULL)
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        {
          g_task_return_error (task, g_steal_pointer (&error));
          return;
        }
      if (data->error == NULL)
        data->error = g_steal_pointer (&error);
    }
  else
    {
      g_autoptr(GPtrArray) addresses = g_ptr_array_new ();
      g_autoptr(GPtrArray) ordered = NULL;

      /* Depth first, in order: push the children at the queue's head */
      for (guint i = children->len; i > 0; i--)
        {
          PostRemote *child = children->pdata[i - 1];

          if (child->level == POST_REMOTE_LEVEL_ADDRESS)
            continue;
          g_queue_push_head (&data->pending, g_object_ref (child));
        }
      for (guint i = 0; i < children->len; i++)
        {
          PostRemote *child = children->pdata[i];

          if (child->level == POST_REMOTE_LEVEL_ADDRESS)
            g_ptr_array_add (addresses, child);
        }
      /* The families alternate within one name's addresses; the names
       * (an SRV service's targets) keep their order */
      ordered = interleave_families (addresses);
      for (guint i = 0; i < ordered->len; i++)
        g_ptr_array_add (data->addresses, g_object_ref (ordered->pdata[i]));
    }

  resolve_fully_next (task);
}

static void
resolve_fully_next (GTask *task)
{
  ResolveFullyData *data = g_task_get_task_data (task);
  g_autoptr(PostRemote) next = g_queue_pop_head (&data->pending);

  if (next != NULL)
    {
      post_remote_resolve_async (next, g_task_get_cancellable (task),
                                 resolve_fully_step_cb, g_object_ref (task));
      return;
    }

  if (data->addresses->len == 0)
    {
      if (data->error != NULL)
        g_task_return_error (task, g_steal_pointer (&data->error));
      else
        g_task_return_new_error (task, POST_ERROR, POST_ERROR_RESOLVE,
                                 "‘%s’ resolved to no addresses",
                                 POST_REMOTE (g_task_get_source_object (task))->canonical);
      return;
    }

  g_task_return_pointer (task, g_ptr_array_ref (data->addresses),
                         (GDestroyNotify) g_ptr_array_unref);
}

/**
 * post_remote_resolve_fully_async:
 * @self: a remote
 * @cancellable: (nullable): a cancellable
 * @callback: (scope async): called when done
 * @user_data: data for @callback
 *
 * Resolves @self down to ADDRESS level, level by level as
 * [method@Post.Remote.resolve_async] does. The addresses come ordered for
 * racing as RFC 8305 asks: IPv6 first, then alternating families.
 */
void
post_remote_resolve_fully_async (PostRemote          *self,
                                 GCancellable        *cancellable,
                                 GAsyncReadyCallback  callback,
                                 gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  ResolveFullyData *data;

  g_return_if_fail (POST_IS_REMOTE (self));
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, post_remote_resolve_fully_async);
  g_task_set_name (task, "[libpost] post_remote_resolve_fully_async");

  data = g_new0 (ResolveFullyData, 1);
  g_queue_init (&data->pending);
  data->addresses = new_remote_array ();
  g_task_set_task_data (task, data, (GDestroyNotify) resolve_fully_data_free);

  if (self->level == POST_REMOTE_LEVEL_ADDRESS)
    g_ptr_array_add (data->addresses, g_object_ref (self));
  else
    g_queue_push_tail (&data->pending, g_object_ref (self));

  resolve_fully_next (task);
}

/**
 * post_remote_resolve_fully_finish:
 * @self: a remote
 * @result: the result passed to the callback
 * @error: return location for an error
 *
 * Finishes [method@Post.Remote.resolve_fully_async].
 *
 * Returns: (transfer full) (element-type PostRemote): remotes at ADDRESS
 *   level, in the order to try them, or %NULL on error
 */
GPtrArray *
post_remote_resolve_fully_finish (PostRemote    *self,
                                  GAsyncResult  *result,
                                  GError       **error)
{
  g_return_val_if_fail (POST_IS_REMOTE (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == post_remote_resolve_fully_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
