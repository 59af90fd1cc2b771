/* post-remote.c: PostRemote, the far end of an association
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "post-remote-private.h"

#include <stdlib.h>
#include <string.h>

/**
 * PostRemote:
 *
 * The far end of an association, at one of three levels of resolution
 * (draft section 3.3, Figure 8):
 *
 * - %POST_REMOTE_LEVEL_URI: an identifier such as `tls://example.com:443`;
 * - %POST_REMOTE_LEVEL_NAME: a host name and a port;
 * - %POST_REMOTE_LEVEL_ADDRESS: a network address and a port.
 *
 * [method@Post.Remote.resolve_async] goes one level down and
 * [method@Post.Remote.resolve_fully_async] all the way; each remote it
 * returns remembers the one it came from ([method@Post.Remote.get_parent])
 * and keeps its port and stack hint. Carriers accept remotes at any level.
 *
 * A URI scheme names the stack to use (`tcp`, `tls`, `udp`, `dtls`,
 * `sctp`, `quic`); a remote without one lets the library choose.
 *
 * A well-known application scheme resolves recursively, as the draft's
 * example of a Remote does: the scheme gives the default port and the
 * candidate stacks, each a child at URI level with the ALPN ids it
 * implies ([method@Post.Remote.get_alpn]).  `https://example.com` resolves
 * into `tls://example.com:443` (ALPN `h2`, `http/1.1`) and
 * `quic://example.com:443` (ALPN `h3`), which a carrier races; `http`
 * and `ws` give `tcp` on port 80, `wss` `tls` on 443 (`http/1.1`), `imaps`
 * `tls` on 993 (`imap`) and `pop3s` `tls` on 995 (`pop3`).  Such a URI may
 * have a path and a query: they are kept in [property@Post.Remote:uri] for
 * the application and take no part in the connection.
 *
 * Remotes are immutable: every property is set at construction.
 */

G_DEFINE_FINAL_TYPE (PostRemote, post_remote, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_LEVEL,
  PROP_URI,
  PROP_HOSTNAME,
  PROP_PORT,
  PROP_STACK,
  PROP_ADDRESS,
  PROP_PARENT,
  PROP_SERVICE,
  PROP_SERVICE_PROTOCOL,
  PROP_ALPN,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static gboolean
check_hostname (const char  *host,
                GError     **error)
{
  g_autofree char *why = host != NULL && *host != '\0' ? _post_endpoint_check_host (host) : g_strdup ("the host is empty");

  if (why == NULL)
    return TRUE;
  g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT, "invalid remote: %s", why);
  return FALSE;
}

/* ---- canonical form ------------------------------------------------------ */

static char *
compute_canonical (PostRemote *self)
{
  GString *string = g_string_new (NULL);

  if (self->stack != NULL)
    g_string_append_printf (string, "%s://", self->stack);
  else if (self->scheme != NULL)
    g_string_append_printf (string, "%s://", self->scheme->name);

  if (self->address != NULL && G_IS_INET_SOCKET_ADDRESS (self->address))
    {
      g_autofree char *text = _post_inet_socket_address_to_string (G_INET_SOCKET_ADDRESS (self->address), TRUE);
      g_string_append (string, text);
    }
  else if (self->address != NULL)
    {
      g_autofree char *text = g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (self->address));
      g_string_append (string, text);
    }
  else
    {
      g_autofree char *lower = g_ascii_strdown (self->hostname != NULL ? self->hostname : "", -1);
      g_autoptr(GInetAddress) literal = NULL;
      guint32 scope_id = 0;

      /* A URI holding an IP literal: the same text as its ADDRESS child */
      literal = _post_inet_address_parse (self->hostname, &scope_id, NULL);
      if (literal != NULL)
        {
          g_autoptr(GSocketAddress) address = g_object_new (G_TYPE_INET_SOCKET_ADDRESS,
                                                            "address", literal,
                                                            "port", (guint) self->port,
                                                            "scope-id", scope_id,
                                                            NULL);
          g_autofree char *text = _post_inet_socket_address_to_string (G_INET_SOCKET_ADDRESS (address), TRUE);

          g_string_append (string, text);
          /* (an application scheme resolves into stacks first) */
          if (self->level == POST_REMOTE_LEVEL_URI && self->scheme == NULL)
            self->literal = g_steal_pointer (&address);
          return g_string_free (string, FALSE);
        }

      if (self->service != NULL)
        g_string_append_printf (string, "_%s._%s.%s", self->service, self->service_protocol, lower);
      else if (strchr (lower, ':') != NULL)
        g_string_append_printf (string, "[%s]:%u", lower, self->port);
      else
        g_string_append_printf (string, "%s:%u", lower, self->port);
    }

  return g_string_free (string, FALSE);
}

/* ---- GObject ------------------------------------------------------------- */

static void
post_remote_constructed (GObject *object)
{
  PostRemote *self = POST_REMOTE (object);

  G_OBJECT_CLASS (post_remote_parent_class)->constructed (object);

  /* Constructed by g_object_new() with a URI alone, as bindings do */
  if (self->uri != NULL && self->hostname == NULL && self->address == NULL)
    {
      g_autoptr(GError) error = NULL;

      if (!_post_endpoint_parse_uri (self->uri, FALSE, &self->stack,
                                     &self->hostname, &self->port, &error))
        g_warning ("%s", error->message);
    }

  /* An IP literal is an address already (below the URI level) */
  if (self->uri == NULL && self->address == NULL && self->hostname != NULL)
    {
      g_autoptr(GInetAddress) inet = NULL;
      guint32 scope_id = 0;

      inet = _post_inet_address_parse (self->hostname, &scope_id, NULL);
      if (inet != NULL)
        self->address = g_object_new (G_TYPE_INET_SOCKET_ADDRESS,
                                      "address", inet,
                                      "port", (guint) self->port,
                                      "scope-id", scope_id,
                                      NULL);
    }

  if (self->address != NULL && G_IS_INET_SOCKET_ADDRESS (self->address))
    self->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (self->address));

  /* Only `://` makes a scheme, as in _post_endpoint_parse_uri(): `http:80`
   * is the host "http" and port 80, not an http URL */
  if (self->uri != NULL && self->stack == NULL && strstr (self->uri, "://") != NULL)
    {
      /* not g_uri_peek_scheme(): it interns what it finds, for good, and
       * a bare "host:port" gives the host as the scheme, so every name
       * given would stay in memory (GLib never frees interned strings) */
      g_autofree char *scheme = g_uri_parse_scheme (self->uri);

      self->scheme = _post_scheme_lookup (scheme);
    }

  if (self->uri != NULL)
    self->level = POST_REMOTE_LEVEL_URI;
  else if (self->address != NULL)
    self->level = POST_REMOTE_LEVEL_ADDRESS;
  else
    self->level = POST_REMOTE_LEVEL_NAME;

  self->canonical = compute_canonical (self);
}

static void
post_remote_finalize (GObject *object)
{
  PostRemote *self = POST_REMOTE (object);

  g_clear_pointer (&self->uri, g_free);
  g_clear_pointer (&self->hostname, g_free);
  g_clear_pointer (&self->stack, g_free);
  g_clear_object (&self->address);
  g_clear_object (&self->parent);
  g_clear_pointer (&self->canonical, g_free);
  g_clear_object (&self->literal);
  g_clear_pointer (&self->service, g_free);
  g_clear_pointer (&self->service_protocol, g_free);
  g_clear_object (&self->proxy);
  g_clear_pointer (&self->alpn, g_strfreev);

  G_OBJECT_CLASS (post_remote_parent_class)->finalize (object);
}

static void
post_remote_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  PostRemote *self = POST_REMOTE (object);

  switch (prop_id)
    {
    case PROP_LEVEL:
      g_value_set_enum (value, self->level);
      break;
    case PROP_URI:
      g_value_set_string (value, self->uri);
      break;
    case PROP_HOSTNAME:
      g_value_set_string (value, self->hostname);
      break;
    case PROP_PORT:
      g_value_set_uint (value, self->port);
      break;
    case PROP_STACK:
      g_value_set_string (value, self->stack);
      break;
    case PROP_ADDRESS:
      g_value_set_object (value, self->address);
      break;
    case PROP_PARENT:
      g_value_set_object (value, self->parent);
      break;
    case PROP_SERVICE:
      g_value_set_string (value, self->service);
      break;
    case PROP_SERVICE_PROTOCOL:
      g_value_set_string (value, self->service_protocol);
      break;
    case PROP_ALPN:
      g_value_set_boxed (value, self->alpn);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
post_remote_set_property (GObject      *object,
                          guint         prop_id,
                          const GValue *value,
                          GParamSpec   *pspec)
{
  PostRemote *self = POST_REMOTE (object);

  switch (prop_id)
    {
    case PROP_URI:
      self->uri = g_value_dup_string (value);
      break;
    case PROP_HOSTNAME:
      self->hostname = g_value_dup_string (value);
      break;
    case PROP_PORT:
      self->port = (guint16) g_value_get_uint (value);
      break;
    case PROP_STACK:
      self->stack = g_value_dup_string (value);
      break;
    case PROP_ADDRESS:
      self->address = g_value_dup_object (value);
      break;
    case PROP_PARENT:
      self->parent = g_value_dup_object (value);
      break;
    case PROP_SERVICE:
      self->service = g_value_dup_string (value);
      break;
    case PROP_SERVICE_PROTOCOL:
      self->service_protocol = g_value_dup_string (value);
      break;
    case PROP_ALPN:
      self->alpn = g_value_dup_boxed (value);
      if (self->alpn != NULL && self->alpn[0] == NULL)
        g_clear_pointer (&self->alpn, g_strfreev);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
post_remote_class_init (PostRemoteClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->constructed = post_remote_constructed;
  object_class->finalize = post_remote_finalize;
  object_class->get_property = post_remote_get_property;
  object_class->set_property = post_remote_set_property;

  /**
   * PostRemote:level: (getter get_level)
   *
   * How far the remote is resolved.
   */
  properties[PROP_LEVEL] =
    g_param_spec_enum ("level", NULL, NULL,
                       POST_TYPE_REMOTE_LEVEL, POST_REMOTE_LEVEL_NAME,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * PostRemote:uri: (getter get_uri)
   *
   * The identifier the remote was made from, at URI level; %NULL otherwise.
   */
  properties[PROP_URI] =
    g_param_spec_string ("uri", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * PostRemote:hostname: (getter get_hostname)
   *
   * The host name (or IP literal) of the remote. Resolved remotes keep
   * the name they were resolved from, for TLS server name indication.
   */
  properties[PROP_HOSTNAME] =
    g_param_spec_string ("hostname", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * PostRemote:port: (getter get_port)
   *
   * The port.
   */
  properties[PROP_PORT] =
    g_param_spec_uint ("port", NULL, NULL,
                       0, G_MAXUINT16, 0,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * PostRemote:stack: (getter get_stack)
   *
   * The stack named by the URI scheme, or %NULL to let the library choose.
   */
  properties[PROP_STACK] =
    g_param_spec_string ("stack", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * PostRemote:address: (getter get_address)
   *
   * The network address, at ADDRESS level; %NULL otherwise.
   */
  properties[PROP_ADDRESS] =
    g_param_spec_object ("address", NULL, NULL,
                         G_TYPE_SOCKET_ADDRESS,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * PostRemote:parent: (getter get_parent)
   *
   * The remote this one was resolved from, if any.
   */
  properties[PROP_PARENT] =
    g_param_spec_object ("parent", NULL, NULL,
                         POST_TYPE_REMOTE,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * PostRemote:service: (getter get_service)
   *
   * At NAME level, a DNS SRV service (RFC 2782) of the domain
   * #PostRemote:hostname names, such as `xmpp-client`: resolving the
   * remote looks up its targets, each a remote at NAME level with its own
   * host and port, in the order RFC 2782 gives them (priority, then
   * weight).  %NULL for a plain host name.
   */
  properties[PROP_SERVICE] =
    g_param_spec_string ("service", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * PostRemote:service-protocol:
   *
   * The protocol of #PostRemote:service, such as `tcp` or `udp`.
   */
  properties[PROP_SERVICE_PROTOCOL] =
    g_param_spec_string ("service-protocol", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * PostRemote:alpn: (getter get_alpn)
   *
   * The ALPN protocol ids that an application scheme implies for this
   * remote's stack: `h2` and `http/1.1` for the `tls` child of an `https`
   * URI, `h3` for its `quic` child.  Resolved remotes keep them; a carrier
   * offers them on that candidate unless its configuration names ALPN ids
   * itself ([method@Post.Configuration.set_alpn]).  %NULL when no scheme
   * implied any.
   */
  properties[PROP_ALPN] =
    g_param_spec_boxed ("alpn", NULL, NULL,
                        G_TYPE_STRV,
                        G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
post_remote_init (PostRemote *self)
{
}

/* ---- construction -------------------------------------------------------- */

/**
 * post_remote_new_from_uri:
 * @uri: an identifier: `tcp://127.0.0.1:7000`, `tls://example.com:443`,
 *   `udp://[::1]:5353`, or `host:port` and `[v6%scope]:port` without a scheme
 * @error: return location for an error
 *
 * Creates a remote at URI level. The scheme, if any, names the stack to
 * use (`tcp`, `tls`, `udp`, `dtls`, `sctp` or `quic`); whether a plugin
 * provides it is checked when a carrier is established.
 *
 * A URI with an unknown scheme, user information, a path, query or
 * fragment, an empty host, a host that (percent-decoded) holds a control
 * character, a space or a delimiter such as `/`, `;` or `:` outside an
 * IPv6 literal, or a missing or zero port fails with
 * %POST_ERROR_INVALID_ARGUMENT. The canonical form of a remote made from
 * a URI (post_remote_to_string()) parses back to an equal remote.
 *
 * Returns: (transfer full): a new remote, or %NULL on error
 */
PostRemote *
post_remote_new_from_uri (const char  *uri,
                          GError     **error)
{
  g_autofree char *stack = NULL;
  g_autofree char *host = NULL;
  guint16 port = 0;
  g_autoptr(GError) local_error = NULL;
  guint32 scope_id;
  g_autoptr(GInetAddress) literal = NULL;

  g_return_val_if_fail (uri != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!_post_endpoint_parse_uri (uri, FALSE, &stack, &host, &port, error))
    return NULL;

  /* Reject a scoped literal whose scope is unknown now, not at resolution */
  literal = _post_inet_address_parse (host, &scope_id, &local_error);
  if (local_error != NULL)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                   "invalid URI ‘%s’: %s", uri, local_error->message);
      return NULL;
    }

  return g_object_new (POST_TYPE_REMOTE,
                       "uri", uri,
                       "stack", stack,
                       "hostname", host,
                       "port", (guint) port,
                       NULL);
}

/**
 * post_remote_new:
 * @hostname: a host name or an IP literal
 * @port: the port
 *
 * Creates a remote at NAME level, or at ADDRESS level when @hostname is an
 * IP literal. The library chooses the stack.
 *
 * Returns: (transfer full): a new remote
 */
PostRemote *
post_remote_new (const char *hostname,
                 guint16     port)
{
  g_return_val_if_fail (hostname != NULL && *hostname != '\0', NULL);

  return g_object_new (POST_TYPE_REMOTE,
                       "hostname", hostname,
                       "port", (guint) port,
                       NULL);
}

/**
 * post_remote_new_for_address:
 * @address: a network address with a port
 *
 * Creates a remote at ADDRESS level. The library chooses the stack.
 *
 * Returns: (transfer full): a new remote
 */
PostRemote *
post_remote_new_for_address (GSocketAddress *address)
{
  g_return_val_if_fail (G_IS_SOCKET_ADDRESS (address), NULL);

  return g_object_new (POST_TYPE_REMOTE,
                       "address", address,
                       NULL);
}

static gboolean
check_stack_hint (const char  *stack,
                  GError     **error)
{
  if (stack == NULL || _post_endpoint_is_known_scheme (stack))
    return TRUE;
  g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
               "‘%s’ names no stack libpost knows (tcp, tls, udp, dtls, sctp, quic)", stack);
  return FALSE;
}

/**
 * post_remote_new_for_connectable:
 * @connectable: what GIO would connect to: a #GNetworkAddress, a
 *   #GNetworkService (DNS SRV) or a #GInetSocketAddress
 * @stack: (nullable): the stack to use, as a URI scheme would name it; %NULL
 *   for the connectable's own scheme if it names a stack, else the
 *   library's choice
 * @error: return location for an error
 *
 * Creates a remote from a #GSocketConnectable, as #GSocketClient takes
 * them, so that code written for GIO names its peers the same way.  A
 * #GNetworkAddress (g_network_address_parse(), g_network_address_new())
 * gives a remote at NAME level, or, when it came from a URL with an
 * application scheme (g_network_address_parse_uri() of
 * `https://example.com/`), the remote that URL gives
 * ([ctor@Post.Remote.new_from_uri]: its candidate stacks with their ALPN
 * ids, the scheme's port when the URL has none); a #GInetSocketAddress one
 * at ADDRESS level;
 * a #GNetworkService (g_network_service_new()) a remote whose resolution
 * looks up the domain's SRV records (#PostRemote:service), each target
 * raced in the order RFC 2782 gives.
 *
 * A #GProxyAddress (what a #GProxyAddressEnumerator gives) names its
 * destination and the proxy to reach it through: the remote is the
 * destination (#PostRemote:hostname and port, at NAME level) and every
 * carrier to it goes through that proxy and no other way
 * (post_remote_get_proxy()); only stacks with #PostStack:proxy-support
 * (tcp, tls) can reach it.  A destination protocol that is an application
 * scheme (`https`, as #GProxyAddressEnumerator names a URL's) gives the
 * first of its candidates a proxy can carry, with its ALPN ids (https:
 * tls with h2 and http/1.1).  Any other kind of connectable fails with
 * %POST_ERROR_NOT_SUPPORTED rather than being connected to directly; an
 * unknown @stack fails with %POST_ERROR_INVALID_ARGUMENT.
 *
 * Returns: (transfer full): a new remote, or %NULL with @error set
 */
PostRemote *
post_remote_new_for_connectable (GSocketConnectable  *connectable,
                                 const char          *stack,
                                 GError             **error)
{
  const char *scheme = NULL;

  g_return_val_if_fail (G_IS_SOCKET_CONNECTABLE (connectable), NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!check_stack_hint (stack, error))
    return NULL;
  if (G_IS_NETWORK_ADDRESS (connectable))
    scheme = g_network_address_get_scheme (G_NETWORK_ADDRESS (connectable));
  else if (G_IS_NETWORK_SERVICE (connectable))
    scheme = g_network_service_get_scheme (G_NETWORK_SERVICE (connectable));
  if (stack == NULL && scheme != NULL && _post_endpoint_is_known_scheme (scheme))
    stack = scheme;

  if (G_IS_PROXY_ADDRESS (connectable))
    {
      GProxyAddress *proxy = G_PROXY_ADDRESS (connectable);
      const char *hostname = g_proxy_address_get_destination_hostname (proxy);
      const char *protocol = g_proxy_address_get_destination_protocol (proxy);
      const PostScheme *app_scheme = NULL;
      const PostSchemeCandidate *app_candidate = NULL;
      PostRemote *remote;

      if (stack == NULL && protocol != NULL && _post_endpoint_is_known_scheme (protocol))
        stack = protocol;
      /* GProxyAddressEnumerator names the URI's scheme (https): through a
       * proxy that is the scheme's first candidate a proxy can carry
       * (tls, with its ALPN ids) */
      if (stack == NULL && protocol != NULL && (app_scheme = _post_scheme_lookup (protocol)) != NULL)
        for (const PostSchemeCandidate *c = app_scheme->candidates; c->stack != NULL; c++)
          if (g_str_equal (c->stack, "tcp") || g_str_equal (c->stack, "tls"))
            {
              app_candidate = c;
              stack = c->stack;
              break;
            }
      if (!check_hostname (hostname, error))
        return NULL;
      if (g_proxy_address_get_destination_port (proxy) == 0)
        {
          g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                       "invalid remote: the proxy's destination %s has no port", hostname);
          return NULL;
        }
      remote = g_object_new (POST_TYPE_REMOTE,
                             "hostname", hostname,
                             "port", (guint) g_proxy_address_get_destination_port (proxy),
                             "stack", stack,
                             "alpn", app_candidate != NULL ? app_candidate->alpn : NULL,
                             NULL);
      remote->proxy = g_object_ref (proxy);
      if (app_candidate != NULL)
        remote->scheme = app_scheme;   /* (for the attempt report's step) */
      return remote;
    }
  if (G_IS_INET_SOCKET_ADDRESS (connectable))
    return g_object_new (POST_TYPE_REMOTE,
                         "address", connectable,
                         "stack", stack,
                         NULL);
  if (G_IS_NETWORK_ADDRESS (connectable))
    {
      const char *hostname = g_network_address_get_hostname (G_NETWORK_ADDRESS (connectable));
      guint16 port = g_network_address_get_port (G_NETWORK_ADDRESS (connectable));

      if (!check_hostname (hostname, error))
        return NULL;
      /* g_network_address_parse_uri ("https://example.com/", 0): the
       * application scheme resolves as the same URI would */
      if (stack == NULL && scheme != NULL && _post_scheme_lookup (scheme) != NULL)
        {
          g_autofree char *lower = g_ascii_strdown (scheme, -1);
          g_autofree char *uri = g_uri_join (G_URI_FLAGS_NONE, lower, NULL, hostname,
                                             port != 0 ? port : -1, "", NULL, NULL);

          return post_remote_new_from_uri (uri, error);
        }
      return g_object_new (POST_TYPE_REMOTE,
                           "hostname", hostname,
                           "port", (guint) port,
                           "stack", stack,
                           NULL);
    }
  if (G_IS_NETWORK_SERVICE (connectable))
    {
      GNetworkService *service = G_NETWORK_SERVICE (connectable);
      const char *domain = g_network_service_get_domain (service);

      if (!check_hostname (domain, error))
        return NULL;
      return g_object_new (POST_TYPE_REMOTE,
                           "hostname", domain,
                           "service", g_network_service_get_service (service),
                           "service-protocol", g_network_service_get_protocol (service),
                           "stack", stack,
                           NULL);
    }
  g_set_error (error, POST_ERROR, POST_ERROR_NOT_SUPPORTED,
               "A %s cannot be a remote: only network addresses, network services and "
               "internet socket addresses can", G_OBJECT_TYPE_NAME (connectable));
  return NULL;
}

/* A remote one level below @parent. */
PostRemote *
_post_remote_new_child (PostRemote     *parent,
                        const char     *hostname,
                        GSocketAddress *address)
{
  return g_object_new (POST_TYPE_REMOTE,
                       "hostname", hostname,
                       "port", (guint) parent->port,
                       "stack", parent->stack,
                       "address", address,
                       "parent", parent,
                       "alpn", parent->alpn,
                       NULL);
}

/* ---- accessors ----------------------------------------------------------- */

/**
 * post_remote_get_level:
 * @self: a remote
 *
 * Gets how far the remote is resolved: a URI, a host name and port, or a
 * network address (draft section 3.3, Figure 8).
 *
 * Returns: how far @self is resolved
 */
PostRemoteLevel
post_remote_get_level (PostRemote *self)
{
  g_return_val_if_fail (POST_IS_REMOTE (self), POST_REMOTE_LEVEL_URI);
  return self->level;
}

/**
 * post_remote_is_resolved:
 * @self: a remote
 *
 * Tells whether the remote is fully resolved, at
 * %POST_REMOTE_LEVEL_ADDRESS, so that a carrier can use it without a
 * resolution step.
 *
 * Returns: %TRUE if @self is at ADDRESS level
 */
gboolean
post_remote_is_resolved (PostRemote *self)
{
  g_return_val_if_fail (POST_IS_REMOTE (self), FALSE);
  return self->level == POST_REMOTE_LEVEL_ADDRESS;
}

/**
 * post_remote_get_uri:
 * @self: a remote
 *
 * Gets the URI the remote was made from with
 * [ctor@Post.Remote.new_from_uri]; remotes at the name and address levels
 * have none. The string belongs to @self.
 *
 * Returns: (nullable): the URI @self was made from, at URI level
 */
const char *
post_remote_get_uri (PostRemote *self)
{
  g_return_val_if_fail (POST_IS_REMOTE (self), NULL);
  return self->uri;
}

/**
 * post_remote_get_service: (get-property service)
 * @self: a remote
 *
 * Gives the DNS SRV service whose targets @self stands for, if it was made
 * from a #GNetworkService (post_remote_new_for_connectable()).
 *
 * Returns: (nullable): the service name, such as `xmpp-client`, or %NULL
 */
const char *
post_remote_get_service (PostRemote *self)
{
  g_return_val_if_fail (POST_IS_REMOTE (self), NULL);
  return self->service;
}

/**
 * post_remote_get_proxy:
 * @self: a remote
 *
 * Gives the proxy that is the only way to @self, when it was made from a
 * #GProxyAddress (post_remote_new_for_connectable()).  Other remotes go
 * through the proxies the configuration's #GProxyResolver names, if any.
 *
 * Returns: (transfer none) (nullable): the proxy and destination, or %NULL
 */
GProxyAddress *
post_remote_get_proxy (PostRemote *self)
{
  g_return_val_if_fail (POST_IS_REMOTE (self), NULL);
  return self->proxy;
}

/**
 * post_remote_get_hostname:
 * @self: a remote
 *
 * Gets the host part of the remote: the name to resolve, or the IP literal
 * of a URI such as `tcp://192.0.2.1:7000`. Secure stacks use it as the
 * server name to verify. The string belongs to @self.
 *
 * Returns: (nullable): the host name or IP literal; resolved remotes keep
 *   the name they came from; %NULL for a remote made from an address
 */
const char *
post_remote_get_hostname (PostRemote *self)
{
  g_return_val_if_fail (POST_IS_REMOTE (self), NULL);
  return self->hostname;
}

/**
 * post_remote_get_port:
 * @self: a remote
 *
 * Gets the remote port, which the remote's URI or its constructor gave and
 * which resolved remotes keep (a DNS SRV target has the port of its
 * record).
 *
 * Returns: the port
 */
guint16
post_remote_get_port (PostRemote *self)
{
  g_return_val_if_fail (POST_IS_REMOTE (self), 0);
  return self->port;
}

/**
 * post_remote_get_stack:
 * @self: a remote
 *
 * Gets the stack hint of the remote: the stack that its URI's scheme names
 * (`tls` for `tls://example.com:443`), which resolved remotes keep. The
 * string belongs to @self.
 *
 * Returns: (nullable): the stack named by the URI scheme, or %NULL when
 *   the library chooses
 */
const char *
post_remote_get_stack (PostRemote *self)
{
  g_return_val_if_fail (POST_IS_REMOTE (self), NULL);
  return self->stack;
}

/**
 * post_remote_get_alpn:
 * @self: a remote
 *
 * Gets the ALPN protocol ids that an application scheme implies for the
 * remote's stack ([property@Post.Remote:alpn]), such as `h3` for the
 * `quic` child of `https://example.com`.  The array belongs to @self.
 *
 * Returns: (nullable) (array zero-terminated=1) (transfer none): the ids,
 *   or %NULL when no application scheme implied any
 */
const char * const *
post_remote_get_alpn (PostRemote *self)
{
  g_return_val_if_fail (POST_IS_REMOTE (self), NULL);
  return (const char * const *) self->alpn;
}

/**
 * post_remote_get_address:
 * @self: a remote
 *
 * Gets the socket address of a remote at %POST_REMOTE_LEVEL_ADDRESS (its
 * port included); remotes at the URI and name levels have none until
 * resolved with [method@Post.Remote.resolve_async]. It belongs to @self.
 *
 * Returns: (transfer none) (nullable): the network address, at ADDRESS level
 */
GSocketAddress *
post_remote_get_address (PostRemote *self)
{
  g_return_val_if_fail (POST_IS_REMOTE (self), NULL);
  return self->address;
}

/**
 * post_remote_get_parent:
 * @self: a remote
 *
 * Gets the remote that [method@Post.Remote.resolve_async] resolved @self
 * from, so that an address remembers its name and URI; %NULL for a remote
 * the application made. It belongs to @self.
 *
 * Returns: (transfer none) (nullable): the remote @self was resolved from
 */
PostRemote *
post_remote_get_parent (PostRemote *self)
{
  g_return_val_if_fail (POST_IS_REMOTE (self), NULL);
  return self->parent;
}

const char *
_post_remote_get_canonical (PostRemote *self)
{
  return self->canonical;
}

GSocketAddress *
_post_remote_get_literal_address (PostRemote *self)
{
  if (self->level == POST_REMOTE_LEVEL_ADDRESS)
    return self->address;
  if (self->level == POST_REMOTE_LEVEL_URI && self->hostname != NULL)
    return self->literal;
  return NULL;
}

/**
 * post_remote_to_string:
 * @self: a remote
 *
 * Returns the canonical form of @self: the stack (as a scheme, if any),
 * the address (at ADDRESS level) or the lower-cased host name, and the
 * port, such as `tcp://[::1]:7000` or `example.com:443`.
 *
 * Returns: (transfer full): the canonical text
 */
char *
post_remote_to_string (PostRemote *self)
{
  g_return_val_if_fail (POST_IS_REMOTE (self), NULL);
  return g_strdup (self->canonical);
}

/**
 * post_remote_hash:
 * @remote: (type PostRemote): a remote
 *
 * Hashes the canonical form, for `GHashTable`.
 *
 * Returns: the hash
 */
guint
post_remote_hash (gconstpointer remote)
{
  g_return_val_if_fail (POST_IS_REMOTE ((gpointer) remote), 0);
  return g_str_hash (((PostRemote *) remote)->canonical);
}

/**
 * post_remote_equal:
 * @a: (type PostRemote): a remote
 * @b: (type PostRemote): another remote
 *
 * Compares the canonical forms: the same stack, host name or address and
 * port are the same remote whatever the level.
 *
 * Returns: %TRUE if @a and @b are equal
 */
gboolean
post_remote_equal (gconstpointer a,
                   gconstpointer b)
{
  g_return_val_if_fail (POST_IS_REMOTE ((gpointer) a), FALSE);
  g_return_val_if_fail (POST_IS_REMOTE ((gpointer) b), FALSE);

  return strcmp (((PostRemote *) a)->canonical, ((PostRemote *) b)->canonical) == 0;
}

const char *
_post_remote_get_scheme (PostRemote *self)
{
  return self->scheme != NULL ? self->scheme->name : NULL;
}

char **
_post_remote_dup_scheme_stacks (PostRemote *self)
{
  GStrvBuilder *builder;
  char **stacks;

  if (self->scheme == NULL)
    return NULL;

  builder = g_strv_builder_new ();
  for (const PostSchemeCandidate *c = self->scheme->candidates; c->stack != NULL; c++)
    g_strv_builder_add (builder, c->stack);
  stacks = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);
  return stacks;
}

const char * const *
_post_remote_get_scheme_alpn (PostRemote  *self,
                              const char  *stack,
                              char       **step)
{
  PostRemote *origin = self;

  *step = NULL;
  while (origin != NULL && origin->scheme == NULL)
    origin = origin->parent;
  if (origin == NULL)
    return NULL;
  for (const PostSchemeCandidate *c = origin->scheme->candidates; c->stack != NULL; c++)
    if (g_strcmp0 (c->stack, stack) == 0)
      {
        g_autofree char *ids = c->alpn != NULL ? g_strjoinv (", ", (char **) c->alpn) : NULL;

        *step = ids != NULL
                ? g_strdup_printf ("%s://%s:%u gives %s with ALPN %s", origin->scheme->name,
                                   origin->hostname, origin->port, stack, ids)
                : g_strdup_printf ("%s://%s:%u gives %s", origin->scheme->name, origin->hostname,
                                   origin->port, stack);
        return c->alpn;
      }
  return NULL;
}

char *
_post_remote_describe_scheme_step (PostRemote *leaf)
{
  PostRemote *origin = leaf;

  while (origin != NULL && origin->scheme == NULL)
    origin = origin->parent;
  if (origin == NULL)
    return NULL;
  if (leaf->alpn != NULL)
    {
      g_autofree char *ids = g_strjoinv (", ", leaf->alpn);

      return g_strdup_printf ("%s://%s:%u gives %s with ALPN %s", origin->scheme->name,
                              origin->hostname, origin->port, leaf->stack, ids);
    }
  return g_strdup_printf ("%s://%s:%u gives %s", origin->scheme->name, origin->hostname,
                          origin->port, leaf->stack);
}
