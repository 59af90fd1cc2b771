/* post-proxy.c: carriers through proxies (SOCKS, HTTP CONNECT) with GIO's GProxy
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "post-selection-private.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

/*
 * Proxies
 * =======
 *
 * A proxy is a branch of the candidate tree (RFC 9623 section 4.1, derived
 * endpoints): before the race, establishment asks the configuration's
 * GProxyResolver (g_proxy_resolver_get_default() unless one is set: GNOME's
 * settings, the flatpak portal or libproxy through glib-networking) which
 * proxies lead to the remote's URI, as GSocketClient does — except for a
 * literal loopback remote, which the default resolver is not asked about
 * (no proxy can reach this host's loopback; Chrome's and Firefox's
 * implicit `<-loopback>` rule) unless #PostConfiguration:proxy-loopback
 * says so, or the configuration names a resolver of its own.  The answer is an
 * ordered list; `direct://` in it stands for the direct candidates (every
 * stack, every resolved address, gathered locals), and each other entry for
 * a branch of candidates that connect to that proxy — one per stack that
 * declares #PostStack:proxy-support and per address of the proxy.  The
 * branches keep the resolver's order and are raced as any candidates are
 * (RFC 8305 staggering), so a dead proxy falls back to `direct://` when the
 * resolver lists it next.  When the list has no `direct://`, nothing
 * connects directly: the remote's name is not even looked up (the proxy
 * resolves it), and the stacks that cannot be proxied (udp, dtls, quic,
 * sctp) are left out rather than bypass the proxy.
 *
 * A proxied attempt connects TCP to the proxy, then runs GIO's own GProxy
 * for the protocol (g_proxy_get_default_for_protocol(): socks5, socks4a,
 * socks4, http) over a GSocketConnection on a duplicate of the socket's
 * descriptor, asking for the remote's host name and port; once the tunnel
 * stands the duplicate is closed and the stack goes on as if connected
 * directly: TLS runs end to end through the tunnel and verifies the
 * remote's name, never the proxy's.  Data sent in a SYN (TCP Fast Open)
 * would reach the proxy, so proxied TCP does not use it.
 */

/* ---- the handshake (for stacks) ------------------------------------------ */

typedef struct
{
  GProxy     *proxy;        /* (owned) */
  GIOStream  *connection;   /* (owned) on the duplicate descriptor */
} Handshake;

static void
handshake_free (Handshake *handshake)
{
  if (handshake->connection != NULL)
    g_io_stream_close (handshake->connection, NULL, NULL);   /* the duplicate only */
  g_clear_object (&handshake->connection);
  g_clear_object (&handshake->proxy);
  g_free (handshake);
}

/* "socks5://127.0.0.1:1080" for @proxy, without credentials */
char *
_post_proxy_describe (GProxyAddress *proxy)
{
  g_autofree char *address = _post_socket_address_to_string (G_SOCKET_ADDRESS (proxy));

  return g_strdup_printf ("%s://%s", g_proxy_address_get_protocol (proxy), address);
}

/* The destination as the messages name it: host:port, [v6]:port */
static char *
describe_destination (GProxyAddress *proxy)
{
  const char *host = g_proxy_address_get_destination_hostname (proxy);

  if (strchr (host, ':') != NULL)
    return g_strdup_printf ("[%s]:%u", host, g_proxy_address_get_destination_port (proxy));
  return g_strdup_printf ("%s:%u", host, g_proxy_address_get_destination_port (proxy));
}

/* A GProxy error, said in libpost's terms: which proxy, what it said. */
static GError *
proxy_error_new (GProxyAddress *proxy,
                 GError        *cause)
{
  g_autofree char *where = _post_proxy_describe (proxy);
  g_autofree char *destination = describe_destination (proxy);
  const char *what = NULL;
  int code = POST_ERROR_ESTABLISHMENT;
  GError *error;

  if (g_error_matches (cause, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return cause;
  if (cause->domain == G_IO_ERROR)
    switch (cause->code)
      {
      case G_IO_ERROR_PROXY_NEED_AUTH:
        what = "asks for credentials the proxy URI does not give";
        code = POST_ERROR_CONNECTION_REFUSED;
        break;
      case G_IO_ERROR_PROXY_AUTH_FAILED:
        what = "refused the credentials";
        code = POST_ERROR_CONNECTION_REFUSED;
        break;
      case G_IO_ERROR_PROXY_NOT_ALLOWED:
        what = "does not allow the connection";
        code = POST_ERROR_CONNECTION_REFUSED;
        break;
      case G_IO_ERROR_CONNECTION_REFUSED:
        what = "was refused by the destination";
        code = POST_ERROR_CONNECTION_REFUSED;
        break;
      case G_IO_ERROR_HOST_UNREACHABLE:
      case G_IO_ERROR_NETWORK_UNREACHABLE:
        what = "cannot reach the destination";
        break;
      case G_IO_ERROR_TIMED_OUT:
        what = "timed out";
        code = POST_ERROR_TIMED_OUT;
        break;
      case G_IO_ERROR_CONNECTION_CLOSED:
        what = "closed the connection";
        code = POST_ERROR_CONNECTION_RESET;
        break;
      default:
        break;
      }
  if (what != NULL)
    error = g_error_new (POST_ERROR, code, "The proxy %s %s (asked for %s): %s",
                         where, what, destination, cause->message);
  else
    error = g_error_new (POST_ERROR, code, "The proxy %s failed (asked for %s): %s",
                         where, destination, cause->message);
  g_error_free (cause);
  return error;
}

static void
proxy_connected_cb (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  PostPsi *psi = g_task_get_source_object (task);
  GError *error = NULL;
  g_autoptr(GIOStream) tunnel = g_proxy_connect_finish (G_PROXY (source), result, &error);

  if (tunnel == NULL)
    {
      g_task_return_error (task, proxy_error_new (post_psi_get_proxy (psi), error));
      return;
    }
  /* GIO's proxies hand back the stream they were given: the bytes that
   * follow on the socket are the destination's. */
  if (!g_log_writer_default_would_drop (G_LOG_LEVEL_DEBUG, G_LOG_DOMAIN))
    {
      g_autofree char *where = _post_proxy_describe (post_psi_get_proxy (psi));
      g_autofree char *destination = describe_destination (post_psi_get_proxy (psi));

      g_debug ("Tunnel through %s to %s stands", where, destination);
    }
  g_task_return_boolean (task, TRUE);
}

/**
 * post_psi_proxy_handshake_async:
 * @self: an instance with a proxy (post_psi_set_proxy())
 * @socket: its TCP socket, connected to the proxy
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the tunnel stands or failed
 * @user_data: data for @callback
 *
 * For stacks with #PostStack:proxy-support: asks the proxy to connect
 * to its destination, with GIO's implementation of the proxy's protocol
 * (g_proxy_get_default_for_protocol()), over a #GSocketConnection on a
 * duplicate of @socket's descriptor.  The handshake runs on @self's main
 * context and never blocks; it reads no byte past the proxy's answer, so
 * what follows on @socket is the destination's.
 *
 * A refusal fails with an error naming the proxy and why: credentials
 * missing or refused, the connection not allowed, or the destination
 * unreachable or refusing (%POST_ERROR_CONNECTION_REFUSED for those), a
 * protocol GIO does not implement with %POST_ERROR_NOT_SUPPORTED.
 */
void
post_psi_proxy_handshake_async (PostPsi             *self,
                                GSocket             *socket,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  GProxyAddress *address;
  Handshake *handshake;
  g_autoptr(GSocket) duplicate = NULL;
  GError *error = NULL;
  int fd;

  g_return_if_fail (POST_IS_PSI (self));
  g_return_if_fail (G_IS_SOCKET (socket));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, post_psi_proxy_handshake_async);
  g_task_set_name (task, "[libpost] proxy handshake");
  address = post_psi_get_proxy (self);
  if (address == NULL)
    {
      g_task_return_new_error (task, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                               "The instance has no proxy to go through");
      return;
    }

  handshake = g_new0 (Handshake, 1);
  g_task_set_task_data (task, handshake, (GDestroyNotify) handshake_free);
  handshake->proxy = g_proxy_get_default_for_protocol (g_proxy_address_get_protocol (address));
  if (handshake->proxy == NULL)
    {
      g_task_return_new_error (task, POST_ERROR, POST_ERROR_NOT_SUPPORTED,
                               "GIO implements no proxy protocol ‘%s’",
                               g_proxy_address_get_protocol (address));
      return;
    }

  fd = fcntl (g_socket_get_fd (socket), F_DUPFD_CLOEXEC, 3);
  if (fd < 0)
    {
      int saved = errno;

      g_task_return_new_error (task, G_IO_ERROR, g_io_error_from_errno (saved),
                               "Cannot talk to the proxy: %s", g_strerror (saved));
      return;
    }
  duplicate = g_socket_new_from_fd (fd, &error);
  if (duplicate == NULL)
    {
      close (fd);
      g_task_return_error (task, error);
      return;
    }
  handshake->connection = G_IO_STREAM (g_socket_connection_factory_create_connection (duplicate));

  g_main_context_push_thread_default (post_psi_get_context (self));
  g_proxy_connect_async (handshake->proxy, handshake->connection, address, cancellable,
                         proxy_connected_cb, g_steal_pointer (&task));
  g_main_context_pop_thread_default (post_psi_get_context (self));
}

/**
 * post_psi_proxy_handshake_finish:
 * @self: an instance
 * @result: the result given to the callback
 * @error: return location for an error
 *
 * Finishes post_psi_proxy_handshake_async().
 *
 * Returns: %TRUE when the tunnel to the destination stands
 */
gboolean
post_psi_proxy_handshake_finish (PostPsi       *self,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == post_psi_proxy_handshake_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* ---- gathering the branches ---------------------------------------------- */

struct _PostProxyBranch
{
  char      *shown;       /* (owned) (nullable): the proxy's URI without credentials; NULL: direct */
  char      *protocol;    /* (owned) (nullable) */
  char      *username;    /* (owned) (nullable) */
  char      *password;    /* (owned) (nullable) */
  char      *uri;         /* (owned) (nullable): as the resolver gave it */
  GPtrArray *addresses;   /* (owned) (element-type GInetSocketAddress) the proxy's */
  GError    *error;       /* (owned) (nullable): why it gives no candidate */
};

static void
branch_free (PostProxyBranch *branch)
{
  g_free (branch->shown);
  g_free (branch->protocol);
  g_free (branch->username);
  g_free (branch->password);
  g_free (branch->uri);
  g_clear_pointer (&branch->addresses, g_ptr_array_unref);
  g_clear_error (&branch->error);
  g_free (branch);
}

gboolean
_post_proxy_branches_have_direct (GPtrArray *branches)
{
  if (branches == NULL)
    return TRUE;
  for (guint i = 0; i < branches->len; i++)
    if (((PostProxyBranch *) branches->pdata[i])->shown == NULL)
      return TRUE;
  return FALSE;
}

typedef struct
{
  GPtrArray *branches;    /* (owned) (element-type PostProxyBranch) */
  guint      pending;
} Gather;

static void
gather_free (Gather *gather)
{
  g_clear_pointer (&gather->branches, g_ptr_array_unref);
  g_free (gather);
}

/* The URI the resolver is asked about: the remote's own, else what
 * GSocketClient asks for a host and port (`none://` is GIO's "a generic
 * socket"); IPv6 literals in brackets. */
static char *
destination_uri (PostRemote *remote,
                 const char *host,
                 guint16     port)
{
  const char *stack = post_remote_get_stack (remote);
  const char *uri = post_remote_get_uri (remote);

  /* (a remote made from a name has "host:port" there, no URI) */
  if (uri != NULL && g_uri_is_valid (uri, G_URI_FLAGS_NONE, NULL))
    return g_strdup (uri);
  if (strchr (host, ':') != NULL)
    return g_strdup_printf ("%s://[%s]:%u", stack != NULL ? stack : "none", host, port);
  return g_strdup_printf ("%s://%s:%u", stack != NULL ? stack : "none", host, port);
}

/* The destination's host as the proxy is asked for it, and its port. */
static char *
destination_host (PostRemote *remote,
                  guint16    *port)
{
  GSocketAddress *address = post_remote_get_address (remote);

  *port = post_remote_get_port (remote);
  if (post_remote_get_hostname (remote) != NULL)
    return g_strdup (post_remote_get_hostname (remote));
  if (address != NULL && G_IS_INET_SOCKET_ADDRESS (address))
    {
      *port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address));
      return g_inet_address_to_string (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address)));
    }
  return NULL;
}

static guint16
default_proxy_port (const char *protocol)
{
  /* as GIO's g_uri_get_default_scheme_port() gives them */
  if (g_str_has_prefix (protocol, "socks"))
    return 1080;
  if (g_str_equal (protocol, "https"))
    return 443;
  if (g_str_equal (protocol, "http"))
    return 80;
  return 0;
}

static void
gather_step_done (GTask *task)
{
  Gather *gather = g_task_get_task_data (task);

  if (--gather->pending > 0)
    return;
  g_task_return_pointer (task, g_steal_pointer (&gather->branches), (GDestroyNotify) g_ptr_array_unref);
}

typedef struct
{
  GTask           *task;     /* (owned) */
  PostProxyBranch *branch;   /* (unowned) held by the gather */
  guint16          port;
} LookupData;

static void
proxy_host_resolved_cb (GObject      *source,
                        GAsyncResult *result,
                        gpointer      user_data)
{
  LookupData *data = user_data;
  GError *error = NULL;
  GList *addresses = g_resolver_lookup_by_name_finish (G_RESOLVER (source), result, &error);

  if (addresses == NULL)
    {
      data->branch->error = g_error_new (POST_ERROR, POST_ERROR_RESOLVE,
                                         "cannot resolve the proxy %s: %s",
                                         data->branch->shown, error->message);
      g_error_free (error);
    }
  for (GList *l = addresses; l != NULL; l = l->next)
    g_ptr_array_add (data->branch->addresses, g_inet_socket_address_new (l->data, data->port));
  g_resolver_free_addresses (addresses);
  gather_step_done (data->task);
  g_object_unref (data->task);
  g_free (data);
}

/* One entry of the resolver's answer. */
static void
add_branch (GTask        *task,
            const char   *uri,
            GCancellable *cancellable)
{
  Gather *gather = g_task_get_task_data (task);
  PostProxyBranch *branch = g_new0 (PostProxyBranch, 1);
  g_autofree char *scheme = g_uri_parse_scheme (uri);
  g_autofree char *host = NULL;
  g_autoptr(GProxy) proxy = NULL;
  g_autoptr(GInetAddress) literal = NULL;
  g_autoptr(GError) error = NULL;
  int port = -1;

  if (scheme != NULL && g_ascii_strcasecmp (scheme, "direct") == 0)
    {
      /* (a second direct:// adds nothing) */
      if (!_post_proxy_branches_have_direct (gather->branches))
        g_ptr_array_add (gather->branches, branch);
      else
        g_free (branch);
      return;
    }
  g_ptr_array_add (gather->branches, branch);
  branch->uri = g_strdup (uri);
  branch->addresses = g_ptr_array_new_with_free_func (g_object_unref);
  if (scheme == NULL
      || !g_uri_split_with_user (uri, G_URI_FLAGS_HAS_PASSWORD, NULL, &branch->username,
                                 &branch->password, NULL, &host, &port, NULL, NULL, NULL, &error)
      || host == NULL || *host == '\0')
    {
      branch->shown = g_strdup ("(unparsable)");
      branch->error = g_error_new (POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                                   "the proxy resolver gave an invalid proxy URI%s%s",
                                   error != NULL ? ": " : "", error != NULL ? error->message : "");
      return;
    }
  branch->protocol = g_ascii_strdown (scheme, -1);
  if (port <= 0)
    port = default_proxy_port (branch->protocol);
  if (strchr (host, ':') != NULL)
    branch->shown = g_strdup_printf ("%s://[%s]:%d", branch->protocol, host, port);
  else
    branch->shown = g_strdup_printf ("%s://%s:%d", branch->protocol, host, port);
  proxy = g_proxy_get_default_for_protocol (branch->protocol);
  if (proxy == NULL)
    {
      branch->error = g_error_new (POST_ERROR, POST_ERROR_NOT_SUPPORTED,
                                   "the proxy %s: GIO implements no proxy protocol ‘%s’",
                                   branch->shown, branch->protocol);
      return;
    }
  if (port <= 0 || port > G_MAXUINT16)
    {
      branch->error = g_error_new (POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                                   "the proxy %s has no port", branch->shown);
      return;
    }
  literal = g_inet_address_new_from_string (host);
  if (literal != NULL)
    {
      g_ptr_array_add (branch->addresses, g_inet_socket_address_new (literal, port));
      return;
    }
  {
    LookupData *data = g_new0 (LookupData, 1);
    g_autoptr(GResolver) resolver = g_resolver_get_default ();

    data->task = g_object_ref (task);
    data->branch = branch;
    data->port = port;
    gather->pending++;
    g_resolver_lookup_by_name_async (resolver, host, cancellable, proxy_host_resolved_cb, data);
  }
}

static void
proxies_looked_up_cb (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;
  g_auto(GStrv) proxies = g_proxy_resolver_lookup_finish (G_PROXY_RESOLVER (source), result, &error);

  if (proxies == NULL)
    {
      const char *uri = g_task_get_task_data (task);

      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_task_return_error (task, error);
      else
        {
          /* Not a reason to go direct: the proxy may be the only way allowed. */
          g_task_return_new_error (task, POST_ERROR, POST_ERROR_RESOLVE,
                                   "Cannot tell which proxy leads to %s (%s): %s",
                                   uri, G_OBJECT_TYPE_NAME (source), error->message);
          g_error_free (error);
        }
      return;
    }
  {
    Gather *gather = g_new0 (Gather, 1);

    gather->branches = g_ptr_array_new_with_free_func ((GDestroyNotify) branch_free);
    gather->pending = 1;
    g_task_set_task_data (task, gather, (GDestroyNotify) gather_free);
    for (guint i = 0; proxies[i] != NULL; i++)
      add_branch (task, proxies[i], g_task_get_cancellable (task));
    gather_step_done (task);
  }
}

/* Whether @remote is a literal loopback address (127.0.0.0/8, ::1): no
 * proxy can reach this host's loopback interface for us, so the default
 * resolver is not asked about it unless the configuration says so
 * (#PostConfiguration:proxy-loopback).
 * A host name, even "localhost", is asked about: only the resolver knows
 * what it stands for. */
static gboolean
bypasses_default_resolver (PostConfiguration *configuration,
                           PostRemote        *remote)
{
  GSocketAddress *literal;

  if (post_configuration_get_proxy_resolver (configuration) != NULL
      || post_configuration_get_proxy_loopback (configuration))
    return FALSE;
  literal = _post_remote_get_literal_address (remote);
  return literal != NULL && G_IS_INET_SOCKET_ADDRESS (literal)
         && g_inet_address_get_is_loopback (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (literal)));
}

/* Whether establishment asks about proxies for @remote with @stacks. */
static gboolean
wants_proxies (PostConfiguration *configuration,
               PostRemote        *remote,
               GPtrArray         *stacks)
{
  gboolean any = FALSE;

  if (!post_configuration_get_enable_proxy (configuration) || post_remote_get_service (remote) != NULL
      || bypasses_default_resolver (configuration, remote))
    return FALSE;
  for (guint i = 0; i < stacks->len; i++)
    any |= post_stack_get_proxy_support (stacks->pdata[i]);
  return any;
}

static GProxyResolver *
get_resolver (PostConfiguration *configuration)
{
  GProxyResolver *resolver = post_configuration_get_proxy_resolver (configuration);

  return resolver != NULL ? resolver : g_proxy_resolver_get_default ();
}

/* (GSimpleProxyResolver has no is_supported, which
 * g_proxy_resolver_is_supported() would call regardless) */
static gboolean
resolver_is_supported (GProxyResolver *resolver)
{
  GProxyResolverInterface *iface = G_PROXY_RESOLVER_GET_IFACE (resolver);

  /* GIO's fallback without glib-networking answers direct:// to
   * everything: no need to ask it (and to wait a main-loop iteration) */
  if (g_str_equal (G_OBJECT_TYPE_NAME (resolver), "GDummyProxyResolver"))
    return FALSE;
  return iface->is_supported == NULL || iface->is_supported (resolver);
}

gboolean
_post_proxy_wanted (PostConfiguration *configuration,
                    PostRemote        *remote,
                    GPtrArray         *stacks)
{
  g_autofree char *host = NULL;
  guint16 port;

  if (post_remote_get_proxy (remote) != NULL)
    return TRUE;
  host = destination_host (remote, &port);
  return host != NULL && wants_proxies (configuration, remote, stacks)
         && resolver_is_supported (get_resolver (configuration));
}

void
_post_proxy_gather_async (PostConfiguration   *configuration,
                          PostRemote          *remote,
                          GPtrArray           *stacks,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (NULL, cancellable, callback, user_data);
  GProxyAddress *fixed = post_remote_get_proxy (remote);
  GProxyResolver *resolver;
  g_autofree char *host = NULL;
  g_autofree char *uri = NULL;
  guint16 port = 0;

  g_task_set_source_tag (task, _post_proxy_gather_async);
  g_task_set_name (task, "[libpost] proxy lookup");

  if (fixed != NULL)
    {
      /* A GProxyAddress remote: that proxy, and nothing else. */
      GPtrArray *branches = g_ptr_array_new_with_free_func ((GDestroyNotify) branch_free);
      PostProxyBranch *branch = g_new0 (PostProxyBranch, 1);

      branch->protocol = g_strdup (g_proxy_address_get_protocol (fixed));
      branch->username = g_strdup (g_proxy_address_get_username (fixed));
      branch->password = g_strdup (g_proxy_address_get_password (fixed));
      branch->uri = g_strdup (g_proxy_address_get_uri (fixed));
      branch->shown = _post_proxy_describe (fixed);
      branch->addresses = g_ptr_array_new_with_free_func (g_object_unref);
      g_ptr_array_add (branch->addresses,
                       g_inet_socket_address_new (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (fixed)),
                                                  g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (fixed))));
      g_ptr_array_add (branches, branch);
      g_task_return_pointer (task, branches, (GDestroyNotify) g_ptr_array_unref);
      return;
    }
  host = destination_host (remote, &port);
  resolver = get_resolver (configuration);
  if (host == NULL || !wants_proxies (configuration, remote, stacks)
      || !resolver_is_supported (resolver))
    {
      g_task_return_pointer (task, NULL, NULL);   /* direct only */
      return;
    }
  uri = destination_uri (remote, host, port);
  g_task_set_task_data (task, g_strdup (uri), g_free);
  g_proxy_resolver_lookup_async (resolver, uri, cancellable, proxies_looked_up_cb, g_steal_pointer (&task));
}

GPtrArray *
_post_proxy_gather_finish (GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/* ---- candidates ------------------------------------------------------------ */

GPtrArray *
_post_proxy_merge_candidates (GPtrArray         *branches,
                              GPtrArray         *direct,
                              GPtrArray         *stacks,
                              PostRemote        *remote,
                              PostLocal         *local,
                              PostConfiguration *configuration,
                              PostCarrierRole    role,
                              GString           *notes)
{
  GPtrArray *merged = g_ptr_array_new_with_free_func ((GDestroyNotify) _post_candidate_free);
  g_autofree char *host = NULL;
  guint16 port = 0;

  host = destination_host (remote, &port);
  for (guint b = 0; b < branches->len; b++)
    {
      PostProxyBranch *branch = branches->pdata[b];
      g_autoptr(GPtrArray) proxied = NULL;
      g_autoptr(GProxy) proxy = NULL;

      if (branch->shown == NULL)
        {
          /* direct:// — the direct candidates, as ranked */
          for (guint i = 0; direct != NULL && i < direct->len; i++)
            {
              g_ptr_array_add (merged, direct->pdata[i]);
              direct->pdata[i] = NULL;
            }
          continue;
        }
      if (branch->error != NULL)
        {
          g_string_append_printf (notes, "\n  %s", branch->error->message);
          continue;
        }
      proxy = g_proxy_get_default_for_protocol (branch->protocol);
      if (proxy != NULL && !g_proxy_supports_hostname (proxy) && post_remote_get_hostname (remote) != NULL
          && _post_remote_get_literal_address (remote) == NULL)
        {
          /* SOCKS4 takes an IPv4 address: the name would have to be
           * looked up here, which the proxy is there to do. */
          g_string_append_printf (notes, "\n  the proxy %s: %s takes addresses, not the name %s "
                                  "(socks4a or socks5 take names)", branch->shown, branch->protocol, host);
          continue;
        }
      proxied = g_ptr_array_new_with_free_func ((GDestroyNotify) _post_candidate_free);
      for (guint s = 0; s < stacks->len; s++)
        {
          PostStack *stack = stacks->pdata[s];
          g_autofree char *step = NULL;
          const char * const *alpn;

          if (!post_stack_get_proxy_support (stack))
            continue;
          /* https through the proxy is tls with the scheme's ALPN ids */
          alpn = _post_remote_get_scheme_alpn (remote, post_stack_get_name (stack), &step);
          for (guint a = 0; a < branch->addresses->len; a++)
            {
              GInetSocketAddress *at = branch->addresses->pdata[a];
              g_autoptr(GSocketAddress) local_address = NULL;
              g_autoptr(GSocketAddress) proxy_address = NULL;
              PostCandidate *candidate;

              if (local != NULL && (post_local_get_address (local) != NULL || post_local_get_port (local) != 0))
                {
                  local_address = post_local_to_socket_address (local, g_socket_address_get_family (G_SOCKET_ADDRESS (at)));
                  if (local_address == NULL)
                    continue;  /* the local's address is of the other family */
                }
              proxy_address = g_object_new (G_TYPE_PROXY_ADDRESS,
                                            "address", g_inet_socket_address_get_address (at),
                                            "port", g_inet_socket_address_get_port (at),
                                            "protocol", branch->protocol,
                                            "destination-protocol", post_stack_get_name (stack),
                                            "destination-hostname", host,
                                            "destination-port", (guint) port,
                                            "username", branch->username,
                                            "password", branch->password,
                                            "uri", branch->uri,
                                            NULL);
              candidate = _post_candidate_new (stack, G_SOCKET_ADDRESS (at), local_address);
              candidate->proxy = G_PROXY_ADDRESS (g_steal_pointer (&proxy_address));
              candidate->step = g_strdup (step);
              candidate->alpn = g_strdupv ((char **) alpn);
              if (local != NULL)
                candidate->interface = g_strdup (post_local_get_interface (local));
              g_ptr_array_add (proxied, candidate);
            }
        }
      /* The policy rules the proxied candidates as the direct ones:
       * nothing it prohibits gets through a proxy. */
      {
        g_autoptr(GString) blocked = g_string_new (NULL);

        _post_selection_rank_candidates (proxied, configuration, remote, role, blocked);
        if (blocked->len > 0)
          g_string_append_printf (notes, "\n  blocked by the policy:%s", blocked->str);
      }
      for (guint i = 0; i < proxied->len; i++)
        {
          g_ptr_array_add (merged, proxied->pdata[i]);
          proxied->pdata[i] = NULL;
        }
    }
  return merged;
}
