/* post-configuration-transport.c: PostConfiguration: stacks, framing, racing, timeouts, limits, options, connection properties
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include <string.h>

#define POST_CONFIGURATION_INTERNALS
#include "post-values-private.h"

/* ---- stacks and framing -------------------------------------------------- */

/**
 * post_configuration_get_stacks:
 * @self: a configuration
 *
 * Gets the stacks a carrier may use, as set with
 * [method@Post.Configuration.set_stacks]. The array belongs to @self and
 * stays valid until the stacks of @self are changed.
 *
 * Returns: (nullable) (transfer none) (array zero-terminated=1): the names
 *   of the stacks allowed, best first; %NULL when any stack may be used
 */
const char * const *
post_configuration_get_stacks (PostConfiguration *self)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), NULL);
  return (const char * const *) self->stacks;
}

/**
 * post_configuration_set_stacks:
 * @self: a configuration
 * @stacks: (nullable) (array zero-terminated=1): stack names, best first;
 *   %NULL (or an empty array) to allow every loaded stack
 * @error: return location for an error
 *
 * Restricts selection to the named stacks, and orders those that
 * satisfy the configuration equally. Names are checked against the
 * loaded stacks when a carrier is established.
 *
 * Returns: %TRUE on success; %FALSE with %POST_ERROR_INVALID_ARGUMENT
 *   for an empty or repeated name, or %POST_ERROR_IMMUTABLE
 */
gboolean
post_configuration_set_stacks (PostConfiguration   *self,
                               const char * const  *stacks,
                               GError             **error)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!_post_configuration_check_mutable (self, error))
    return FALSE;

  if (stacks != NULL && stacks[0] == NULL)
    stacks = NULL;

  for (guint i = 0; stacks != NULL && stacks[i] != NULL; i++)
    {
      if (*stacks[i] == '\0')
        {
          g_set_error_literal (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                               "a stack name in the stacks list is empty");
          return FALSE;
        }
      for (guint j = 0; j < i; j++)
        {
          if (strcmp (stacks[i], stacks[j]) == 0)
            {
              g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                           "the stack ‘%s’ appears twice in the stacks list", stacks[i]);
              return FALSE;
            }
        }
    }

  if (self->stacks == NULL && stacks == NULL)
    return TRUE;
  if (self->stacks != NULL && stacks != NULL &&
      g_strv_equal ((const char * const *) self->stacks, stacks))
    return TRUE;

  g_strfreev (self->stacks);
  self->stacks = g_strdupv ((char **) stacks);
  g_object_notify_by_pspec (G_OBJECT (self), _post_configuration_properties[PROP_STACKS]);

  return TRUE;
}

/**
 * post_configuration_get_framing:
 * @self: a configuration
 *
 * Gets the framing mode: how messages map onto the byte stream of a stack
 * such as tcp (a framer, the whole stream as one message per direction, or
 * the stack's own messages). See [enum@Post.FramingMode].
 *
 * Returns: how messages map onto byte streams
 */
PostFramingMode
post_configuration_get_framing (PostConfiguration *self)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), POST_FRAMING_AUTO);
  return self->framing;
}

/**
 * post_configuration_set_framing:
 * @self: a configuration
 * @mode: the framing mode
 * @error: return location for an error
 *
 * Chooses between framed messages and stream mode on byte-stream stacks.
 *
 * Returns: %TRUE on success; %FALSE with %POST_ERROR_IMMUTABLE if frozen
 */
gboolean
post_configuration_set_framing (PostConfiguration  *self,
                                PostFramingMode     mode,
                                GError            **error)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!_post_configuration_check_mutable (self, error))
    return FALSE;

  if (mode != POST_FRAMING_AUTO && mode != POST_FRAMING_STREAM)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                   "%d is not a framing mode", (int) mode);
      return FALSE;
    }

  if (self->framing == mode)
    return TRUE;

  self->framing = mode;
  g_object_notify_by_pspec (G_OBJECT (self), _post_configuration_properties[PROP_FRAMING]);

  return TRUE;
}

/**
 * post_configuration_get_framer_type:
 * @self: a configuration
 *
 * Gets the [class@Post.Framer] subclass that frames messages on byte
 * stream stacks in %POST_FRAMING_AUTO mode; each carrier makes an instance
 * of its own. [class@Post.LengthPrefixFramer] is the default.  When the
 * configuration has a stack of framers (post_configuration_add_framer_type()),
 * this is the one nearest the transport, whose framing is on the wire;
 * post_configuration_get_framer_types() gives them all.
 *
 * Returns: the [class@Post.Framer] subclass used on byte streams
 */
GType
post_configuration_get_framer_type (PostConfiguration *self)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), G_TYPE_INVALID);
  return self->framer_type;
}

/* Whether @self may change and @framer_type is a concrete framer. */
static gboolean
check_framer_type (PostConfiguration  *self,
                   GType               framer_type,
                   GError            **error)
{
  if (!_post_configuration_check_mutable (self, error))
    return FALSE;
  if (!g_type_is_a (framer_type, POST_TYPE_FRAMER) || G_TYPE_IS_ABSTRACT (framer_type))
    {
      g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                   "‘%s’ is not a concrete subtype of PostFramer",
                   framer_type != G_TYPE_INVALID ? g_type_name (framer_type) : "(invalid)");
      return FALSE;
    }
  return TRUE;
}

/**
 * post_configuration_set_framer_type:
 * @self: a configuration
 * @framer_type: an instantiable subtype of [class@Post.Framer]
 * @error: return location for an error
 *
 * Sets the framer each byte-stream carrier instantiates, as the only one:
 * framers added before with post_configuration_add_framer_type() are
 * removed.
 *
 * Returns: %TRUE on success; %FALSE with %POST_ERROR_INVALID_ARGUMENT if
 *   @framer_type is not a concrete framer, or %POST_ERROR_IMMUTABLE
 */
gboolean
post_configuration_set_framer_type (PostConfiguration  *self,
                                    GType               framer_type,
                                    GError            **error)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_framer_type (self, framer_type, error))
    return FALSE;

  self->framers_chosen = TRUE;
  g_clear_pointer (&self->upper_framers, g_array_unref);
  if (self->framer_type == framer_type)
    return TRUE;

  self->framer_type = framer_type;
  g_object_notify_by_pspec (G_OBJECT (self), _post_configuration_properties[PROP_FRAMER_TYPE]);

  return TRUE;
}

/**
 * post_configuration_add_framer_type:
 * @self: a configuration
 * @framer_type: an instantiable subtype of [class@Post.Framer]
 * @error: return location for an error
 *
 * Adds a framer to the configuration's stack of framers, RFC 9622's
 * `Preconnection.AddFramer()`: the last one added is nearest the
 * application, "runs first when framing outbound messages, and last when
 * parsing inbound data" (RFC 9622 section 9.1.2.1).  Each framer frames
 * what the framer above it produced (its header, the payload and its
 * trailer) as the payload of one message, and decodes for it: the framer
 * above gets the payload the one below found, as a byte stream.  The
 * first framer added to a configuration whose framer was never chosen
 * replaces the default [class@Post.LengthPrefixFramer]; to stack on that
 * one, set it first with post_configuration_set_framer_type().
 *
 * Each carrier makes an instance of each type (docs/framing.md, "Stacking
 * framers").  libpost's control frames (forks of tcp and tls carriers as
 * fork requests) need the length-prefix framer alone.
 *
 * Returns: %TRUE on success; %FALSE with %POST_ERROR_INVALID_ARGUMENT if
 *   @framer_type is not a concrete framer, or %POST_ERROR_IMMUTABLE
 */
gboolean
post_configuration_add_framer_type (PostConfiguration  *self,
                                    GType               framer_type,
                                    GError            **error)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_framer_type (self, framer_type, error))
    return FALSE;
  if (!self->framers_chosen)
    return post_configuration_set_framer_type (self, framer_type, error);

  if (self->upper_framers == NULL)
    self->upper_framers = g_array_new (FALSE, FALSE, sizeof (GType));
  g_array_append_val (self->upper_framers, framer_type);
  return TRUE;
}

/**
 * post_configuration_get_framer_types:
 * @self: a configuration
 * @n_types: (out) (optional): where to store the number of types
 *
 * Gets the configuration's stack of framers, the one nearest the transport
 * (post_configuration_get_framer_type()) first, the one nearest the
 * application (the last added) last.  Without a stack this is one type,
 * [class@Post.LengthPrefixFramer] by default.
 *
 * Returns: (array length=n_types zero-terminated=1) (transfer full): the
 *   framer types, bottom first, followed by %G_TYPE_INVALID
 */
GType *
post_configuration_get_framer_types (PostConfiguration *self,
                                     guint             *n_types)
{
  guint n;
  GType *types;

  g_return_val_if_fail (POST_IS_CONFIGURATION (self), NULL);

  n = 1 + (self->upper_framers != NULL ? self->upper_framers->len : 0);
  types = g_new0 (GType, n + 1);
  types[0] = self->framer_type;
  for (guint i = 1; i < n; i++)
    types[i] = g_array_index (self->upper_framers, GType, i - 1);
  if (n_types != NULL)
    *n_types = n;
  return types;
}

/**
 * post_configuration_create_framer:
 * @self: a configuration
 *
 * Creates the framer a byte-stream carrier of this configuration uses:
 * an instance of its framer type, or for a stack of framers
 * (post_configuration_add_framer_type()), or one other than
 * [class@Post.LengthPrefixFramer], a framer that runs them as a stack and
 * acts on post_framer_replace().  The carrier makes its own; this is for
 * code that frames or decodes bytes as such a carrier does (a test, a
 * tool that writes framed files).
 *
 * Returns: (transfer full) (nullable): a new framer, or %NULL in
 *   %POST_FRAMING_STREAM mode (no framer)
 */
PostFramer *
post_configuration_create_framer (PostConfiguration *self)
{
  g_autofree GType *types = NULL;
  guint n;

  g_return_val_if_fail (POST_IS_CONFIGURATION (self), NULL);

  if (self->framing == POST_FRAMING_STREAM)
    return NULL;
  if (_post_configuration_has_own_framing (self))
    return post_length_prefix_framer_new ();
  types = post_configuration_get_framer_types (self, &n);
  return _post_framer_stack_new (types, n);
}

/* Whether the framing is libpost's own, with control frames: the
 * length-prefix framer alone. */
gboolean
_post_configuration_has_own_framing (PostConfiguration *self)
{
  return (self->framer_type == G_TYPE_INVALID || self->framer_type == POST_TYPE_LENGTH_PREFIX_FRAMER)
         && (self->upper_framers == NULL || self->upper_framers->len == 0);
}

void
_post_configuration_set_alpn_framing (PostConfiguration *self,
                                      const char        *alpn,
                                      GType              framer_type)
{
  g_return_if_fail (POST_IS_CONFIGURATION (self));
  g_return_if_fail (!self->frozen);
  g_return_if_fail (alpn != NULL);
  g_return_if_fail (framer_type == G_TYPE_NONE || g_type_is_a (framer_type, POST_TYPE_FRAMER));

  if (self->alpn_framing == NULL)
    self->alpn_framing = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_hash_table_insert (self->alpn_framing, g_strdup (alpn), GSIZE_TO_POINTER (framer_type));
}

PostConfiguration *
_post_configuration_for_alpn (PostConfiguration *self,
                              const char        *alpn)
{
  PostConfiguration *derived;
  gpointer value;

  if (self->alpn_framing == NULL
      || !g_hash_table_lookup_extended (self->alpn_framing, alpn != NULL ? alpn : "", NULL, &value))
    return NULL;
  derived = post_configuration_copy (self);
  g_clear_pointer (&derived->alpn_framing, g_hash_table_unref);
  if ((GType) GPOINTER_TO_SIZE (value) == G_TYPE_NONE)
    derived->framing = POST_FRAMING_STREAM;
  else
    {
      derived->framing = POST_FRAMING_AUTO;
      derived->framer_type = (GType) GPOINTER_TO_SIZE (value);
      derived->framers_chosen = TRUE;
      g_clear_pointer (&derived->upper_framers, g_array_unref);
    }
  post_configuration_freeze (derived);
  return derived;
}

char **
_post_configuration_filter_alpn (PostConfiguration  *self,
                                 const char * const *ids)
{
  g_autoptr(GStrvBuilder) builder = NULL;
  guint n = 0;

  if (self->alpn_framing == NULL || ids == NULL)
    return NULL;
  builder = g_strv_builder_new ();
  for (guint i = 0; ids[i] != NULL; i++)
    if (g_hash_table_contains (self->alpn_framing, ids[i]))
      {
        g_strv_builder_add (builder, ids[i]);
        n++;
      }
  return n > 0 ? g_strv_builder_end (builder) : NULL;
}

/* ---- racing, timeouts and limits ----------------------------------------- */

/**
 * post_configuration_get_attempt_delay:
 * @self: a configuration
 *
 * Gets the time between the starts of two establishment attempts when
 * candidates are raced (Happy Eyeballs, RFC 8305): the next candidate
 * starts when this delay passes without the previous one succeeding. See
 * the [property@Post.Configuration:attempt-delay] property.
 *
 * Returns: the delay between establishment attempts, in milliseconds
 */
guint
post_configuration_get_attempt_delay (PostConfiguration *self)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), DEFAULT_ATTEMPT_DELAY_MS);
  return self->attempt_delay;
}

/**
 * post_configuration_set_attempt_delay:
 * @self: a configuration
 * @delay_ms: milliseconds between the starts of two attempts
 * @error: return location for an error
 *
 * Sets the racing delay (RFC 8305 "Connection Attempt Delay").
 *
 * Returns: %TRUE on success; %FALSE with %POST_ERROR_IMMUTABLE if frozen
 */
gboolean
post_configuration_set_attempt_delay (PostConfiguration  *self,
                                      guint               delay_ms,
                                      GError            **error)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!_post_configuration_check_mutable (self, error))
    return FALSE;

  if (self->attempt_delay == delay_ms)
    return TRUE;

  self->attempt_delay = delay_ms;
  g_object_notify_by_pspec (G_OBJECT (self), _post_configuration_properties[PROP_ATTEMPT_DELAY]);

  return TRUE;
}

/**
 * post_configuration_get_proxy_resolver: (get-property proxy-resolver)
 * @self: a configuration
 *
 * Gets the #GProxyResolver that establishment asks which proxies lead to a
 * remote, as set with [method@Post.Configuration.set_proxy_resolver];
 * %NULL means g_proxy_resolver_get_default() (GNOME's proxy settings, the
 * flatpak portal or libproxy). It belongs to @self.
 *
 * Returns: (transfer none) (nullable): the proxy resolver set, or %NULL
 *   for g_proxy_resolver_get_default()
 */
GProxyResolver *
post_configuration_get_proxy_resolver (PostConfiguration *self)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), NULL);
  return self->proxy_resolver;
}

/**
 * post_configuration_set_proxy_resolver: (set-property proxy-resolver)
 * @self: a configuration
 * @resolver: (nullable): a #GProxyResolver, or %NULL for
 *   g_proxy_resolver_get_default()
 * @error: return location for an error
 *
 * Sets the resolver asked which proxies lead to a remote, such as a
 * #GSimpleProxyResolver.  See #PostConfiguration:proxy-resolver.
 *
 * Returns: %TRUE on success; %FALSE with %POST_ERROR_IMMUTABLE if frozen
 */
gboolean
post_configuration_set_proxy_resolver (PostConfiguration  *self,
                                       GProxyResolver     *resolver,
                                       GError            **error)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  g_return_val_if_fail (resolver == NULL || G_IS_PROXY_RESOLVER (resolver), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!_post_configuration_check_mutable (self, error))
    return FALSE;
  if (g_set_object (&self->proxy_resolver, resolver))
    g_object_notify_by_pspec (G_OBJECT (self), _post_configuration_properties[PROP_PROXY_RESOLVER]);
  return TRUE;
}

/**
 * post_configuration_get_enable_proxy: (get-property enable-proxy)
 * @self: a configuration
 *
 * Gets whether establishment asks the proxy resolver which proxies lead to
 * the remote (%TRUE, the default, as #GSocketClient:enable-proxy); with
 * %FALSE carriers always connect directly. See
 * [property@Post.Configuration:enable-proxy].
 *
 * Returns: whether establishment asks the proxy resolver about proxies
 */
gboolean
post_configuration_get_enable_proxy (PostConfiguration *self)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), TRUE);
  return self->enable_proxy;
}

/**
 * post_configuration_set_enable_proxy: (set-property enable-proxy)
 * @self: a configuration
 * @enable: %FALSE to always connect directly
 * @error: return location for an error
 *
 * Turns proxies on (the default) or off.  See
 * #PostConfiguration:enable-proxy.
 *
 * Returns: %TRUE on success; %FALSE with %POST_ERROR_IMMUTABLE if frozen
 */
gboolean
post_configuration_set_enable_proxy (PostConfiguration  *self,
                                     gboolean            enable,
                                     GError            **error)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!_post_configuration_check_mutable (self, error))
    return FALSE;
  enable = !!enable;
  if (self->enable_proxy == enable)
    return TRUE;
  self->enable_proxy = enable;
  g_object_notify_by_pspec (G_OBJECT (self), _post_configuration_properties[PROP_ENABLE_PROXY]);
  return TRUE;
}

/**
 * post_configuration_get_proxy_loopback: (get-property proxy-loopback)
 * @self: a configuration
 *
 * Gets whether establishment asks the default proxy resolver about
 * literal loopback remotes too (%FALSE, the default: they are connected to
 * directly).  See [property@Post.Configuration:proxy-loopback].
 *
 * Returns: whether loopback remotes are looked up like any other
 */
gboolean
post_configuration_get_proxy_loopback (PostConfiguration *self)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  return self->proxy_loopback;
}

/**
 * post_configuration_set_proxy_loopback: (set-property proxy-loopback)
 * @self: a configuration
 * @ask: %TRUE to ask the default proxy resolver about loopback remotes too
 * @error: return location for an error
 *
 * Sets whether a remote that is a literal loopback address bypasses the
 * default proxy resolver (%FALSE, the default) or is looked up like any
 * other (%TRUE).  See #PostConfiguration:proxy-loopback.
 *
 * Returns: %TRUE on success; %FALSE with %POST_ERROR_IMMUTABLE if frozen
 */
gboolean
post_configuration_set_proxy_loopback (PostConfiguration  *self,
                                       gboolean            ask,
                                       GError            **error)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!_post_configuration_check_mutable (self, error))
    return FALSE;
  ask = !!ask;
  if (self->proxy_loopback == ask)
    return TRUE;
  self->proxy_loopback = ask;
  g_object_notify_by_pspec (G_OBJECT (self), _post_configuration_properties[PROP_PROXY_LOOPBACK]);
  return TRUE;
}

/**
 * post_configuration_get_conn_timeout:
 * @self: a configuration
 *
 * Gets how long establishment may take: when no candidate has succeeded
 * within this time, establishment fails with %POST_ERROR_TIMED_OUT. See
 * the [property@Post.Configuration:conn-timeout] property.
 *
 * Returns: the establishment timeout in milliseconds, 0 for none
 */
guint
post_configuration_get_conn_timeout (PostConfiguration *self)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), DEFAULT_CONN_TIMEOUT_MS);
  return self->conn_timeout;
}

/**
 * post_configuration_set_conn_timeout:
 * @self: a configuration
 * @timeout_ms: milliseconds establishment may take, 0 for no limit
 * @error: return location for an error
 *
 * Sets the establishment timeout (RFC 9622 `conn-timeout`).
 *
 * Returns: %TRUE on success; %FALSE with %POST_ERROR_IMMUTABLE if frozen
 */
gboolean
post_configuration_set_conn_timeout (PostConfiguration  *self,
                                     guint               timeout_ms,
                                     GError            **error)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!_post_configuration_check_mutable (self, error))
    return FALSE;

  if (self->conn_timeout == timeout_ms)
    return TRUE;

  self->conn_timeout = timeout_ms;
  g_object_notify_by_pspec (G_OBJECT (self), _post_configuration_properties[PROP_CONN_TIMEOUT]);

  return TRUE;
}

/**
 * post_configuration_get_keep_alive_timeout:
 * @self: a configuration
 *
 * Gets the RFC 9622 `keepAliveTimeout` as set. The time carriers actually
 * use, which depends on the `keep-alive` selection property too, is
 * post_configuration_get_effective_keep_alive_timeout().
 *
 * Returns: the `keep-alive-timeout` in milliseconds as set, 0 when disabled
 */
guint
post_configuration_get_keep_alive_timeout (PostConfiguration *self)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), 0);
  return self->keep_alive_timeout;
}

/**
 * post_configuration_set_keep_alive_timeout:
 * @self: a configuration
 * @timeout_ms: milliseconds of idleness before a keep-alive, 0 to disable
 * @error: return location for an error
 *
 * Sets RFC 9622 `keepAliveTimeout` (see #PostConfiguration:keep-alive-timeout).
 * Stacks round it to their own granularity (TCP counts whole seconds).
 *
 * Returns: %TRUE on success; %FALSE with %POST_ERROR_IMMUTABLE if frozen,
 *   or %POST_ERROR_INVALID_ARGUMENT above 24 hours
 */
gboolean
post_configuration_set_keep_alive_timeout (PostConfiguration  *self,
                                           guint               timeout_ms,
                                           GError            **error)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!_post_configuration_check_mutable (self, error))
    return FALSE;
  if (timeout_ms > MAX_KEEP_ALIVE_TIMEOUT_MS)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                   "A keep-alive timeout of %u ms is more than 24 hours (%u ms)",
                   timeout_ms, MAX_KEEP_ALIVE_TIMEOUT_MS);
      return FALSE;
    }

  if (self->keep_alive_timeout == timeout_ms)
    return TRUE;

  self->keep_alive_timeout = timeout_ms;
  g_object_notify_by_pspec (G_OBJECT (self), _post_configuration_properties[PROP_KEEP_ALIVE_TIMEOUT]);

  return TRUE;
}

/**
 * post_configuration_get_effective_keep_alive_timeout:
 * @self: a configuration
 *
 * What a stack that can send keep-alives does with @self: the
 * `keep-alive-timeout` when set; otherwise 30000 when the `keep-alive`
 * selection property is required or preferred; otherwise 0, no
 * keep-alives.  Stacks read this, not the raw property.
 *
 * Returns: milliseconds of idleness before a keep-alive, 0 for none
 */
guint
post_configuration_get_effective_keep_alive_timeout (PostConfiguration *self)
{
  PostPreference preference;

  g_return_val_if_fail (POST_IS_CONFIGURATION (self), 0);

  if (self->keep_alive_timeout > 0)
    return self->keep_alive_timeout;
  preference = self->preferences[POST_SELECTION_KEEP_ALIVE];
  if (preference == POST_PREFERENCE_REQUIRE || preference == POST_PREFERENCE_PREFER)
    return DEFAULT_KEEP_ALIVE_TIMEOUT_MS;
  return 0;
}

/**
 * post_configuration_get_send_queue_limit:
 * @self: a configuration
 *
 * Gets the bound of a carrier's send queue: once the queued messages take
 * this many bytes, post_carrier_send() fails with %POST_ERROR_WOULD_BLOCK
 * until the queue drains (wait with post_carrier_flush_async()).
 *
 * Returns: the bytes a carrier queues before it pushes back
 */
gsize
post_configuration_get_send_queue_limit (PostConfiguration *self)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), DEFAULT_SEND_QUEUE_LIMIT);
  return self->send_queue_limit;
}

/**
 * post_configuration_set_send_queue_limit:
 * @self: a configuration
 * @bytes: the limit, at least 64 KiB
 * @error: return location for an error
 *
 * Bounds each carrier's send queue: beyond it sending fails with
 * %POST_ERROR_WOULD_BLOCK until post_carrier_flush_async() completes.
 *
 * Returns: %TRUE on success; %FALSE with %POST_ERROR_INVALID_ARGUMENT
 *   below 64 KiB, or %POST_ERROR_IMMUTABLE
 */
gboolean
post_configuration_set_send_queue_limit (PostConfiguration  *self,
                                         gsize               bytes,
                                         GError            **error)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!_post_configuration_check_mutable (self, error))
    return FALSE;

  if (bytes < MIN_SEND_QUEUE_LIMIT)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                   "a send queue limit of %" G_GSIZE_FORMAT " bytes is below the minimum of %d",
                   bytes, MIN_SEND_QUEUE_LIMIT);
      return FALSE;
    }

  if (self->send_queue_limit == bytes)
    return TRUE;

  self->send_queue_limit = bytes;
  g_object_notify_by_pspec (G_OBJECT (self), _post_configuration_properties[PROP_SEND_QUEUE_LIMIT]);

  return TRUE;
}

/**
 * post_configuration_get_recv_msg_max_len:
 * @self: a configuration
 *
 * Gets the RFC 9622 `recv-msg-max-len`: a received message larger than
 * this is handed to the application in parts rather than held whole in
 * memory. See [method@Post.Configuration.set_recv_msg_max_len].
 *
 * Returns: the most bytes of one message held before it is handed out in parts
 */
gsize
post_configuration_get_recv_msg_max_len (PostConfiguration *self)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), DEFAULT_RECV_MSG_MAX_LEN);
  return self->recv_msg_max_len;
}

/**
 * post_configuration_set_recv_msg_max_len:
 * @self: a configuration
 * @bytes: the largest message to accept, at least 1
 * @error: return location for an error
 *
 * Bounds how much of one received message the carrier holds in memory
 * (RFC 9622 `recv-msg-max-len`): a larger message is handed out in parts,
 * even to post_carrier_receive_async(), whose result then says
 * post_message_is_complete() %FALSE; nothing is lost.
 *
 * Returns: %TRUE on success; %FALSE with %POST_ERROR_INVALID_ARGUMENT for
 *   0, or %POST_ERROR_IMMUTABLE
 */
gboolean
post_configuration_set_recv_msg_max_len (PostConfiguration  *self,
                                         gsize               bytes,
                                         GError            **error)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!_post_configuration_check_mutable (self, error))
    return FALSE;

  if (bytes == 0)
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                           "the maximum received message length must be at least 1 byte");
      return FALSE;
    }

  if (self->recv_msg_max_len == bytes)
    return TRUE;

  self->recv_msg_max_len = bytes;
  g_object_notify_by_pspec (G_OBJECT (self), _post_configuration_properties[PROP_RECV_MSG_MAX_LEN]);

  return TRUE;
}

/* ---- protocol-specific options ------------------------------------------- */

/* What checks an option's value (post-values-private.h): the stacks
 * layer's, installed when libpost is loaded (post-registry.c). */
static PostOptionCheckFunc option_check_func;

void
_post_configuration_set_option_check_func (PostOptionCheckFunc func)
{
  g_atomic_pointer_set (&option_check_func, func);
}

/* `family.option`: [a-z0-9-]+(\.[a-z0-9-]+)+ */
static gboolean
option_key_is_valid (const char *key)
{
  gsize component = 0;
  guint n_components = 1;

  for (const char *p = key; *p != '\0'; p++)
    {
      if (*p == '.')
        {
          if (component == 0)
            return FALSE;
          component = 0;
          n_components++;
        }
      else if (g_ascii_islower (*p) || g_ascii_isdigit (*p) || *p == '-')
        component++;
      else
        return FALSE;
    }

  return component > 0 && n_components >= 2;
}

/**
 * post_configuration_get_option:
 * @self: a configuration
 * @key: a namespaced key such as `tcp.user-timeout`
 *
 * Looks up a protocol-specific option, set with
 * [method@Post.Configuration.set_option] or by policy. The value belongs
 * to @self; take a reference with g_variant_ref() to keep it beyond the
 * next change of @self.
 *
 * Returns: (transfer none) (nullable): the value of the option, or %NULL
 *   if it is not set
 */
GVariant *
post_configuration_get_option (PostConfiguration *self,
                               const char        *key)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), NULL);
  g_return_val_if_fail (key != NULL, NULL);

  return g_hash_table_lookup (self->options, key);
}

/**
 * post_configuration_set_option:
 * @self: a configuration
 * @key: a namespaced key `family.option`, such as `tcp.user-timeout` or
 *   `tls.ciphers`: lower-case letters, digits and `-`, in two or more
 *   parts joined by `.`
 * @value: (nullable): the value (a floating reference is sunk), or %NULL
 *   to unset the option
 * @error: return location for an error
 *
 * Sets a protocol-specific option. The stacks of the named family read
 * it; others ignore it.
 *
 * The value is checked against the options the loaded stacks declare
 * ([method@Post.Stack.add_options], listed by `post-policy options`): the
 * declared type (an integer of any type within the declared range is
 * stored in the declared integer type), range and choices; a key of a
 * family that a loaded stack knows must be declared. Keys of families no
 * loaded stack knows are stored unchecked.
 *
 * Returns: %TRUE on success; %FALSE with %POST_ERROR_INVALID_ARGUMENT for
 *   a malformed key, an unknown option of a loaded stack's family or an
 *   invalid value (the message names the option and what it expects), or
 *   %POST_ERROR_IMMUTABLE
 */
gboolean
post_configuration_set_option (PostConfiguration  *self,
                               const char         *key,
                               GVariant           *value,
                               GError            **error)
{
  g_autoptr(GVariant) owned = NULL;
  GVariant *old;

  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  g_return_val_if_fail (key != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (value != NULL)
    owned = g_variant_ref_sink (value);

  if (!_post_configuration_check_mutable (self, error))
    return FALSE;

  if (!option_key_is_valid (key))
    {
      g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                   "invalid option key ‘%s’: expected ‘family.option’ in "
                   "lower-case letters, digits and ‘-’, such as ‘tcp.user-timeout’", key);
      return FALSE;
    }

  if (owned == NULL)
    {
      g_hash_table_remove (self->options, key);
      return TRUE;
    }

  /* Against what the loaded stacks declare: a wrong type, a value out of
   * range or an unknown option of their family fails here, rather than
   * being ignored with a log line when a carrier is established */
  {
    PostOptionCheckFunc check = g_atomic_pointer_get (&option_check_func);
    GVariant *normalized = NULL;

    if (check != NULL)
      {
        if (!check (key, owned, &normalized, error))
          return FALSE;
        g_variant_unref (owned);
        owned = normalized;
      }
  }

  old = g_hash_table_lookup (self->options, key);
  if (old != NULL && g_variant_equal (old, owned))
    return TRUE;

  g_hash_table_replace (self->options, g_strdup (key), g_steal_pointer (&owned));

  return TRUE;
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/**
 * post_configuration_list_options:
 * @self: a configuration
 *
 * Lists the keys of the protocol-specific options set on @self, such as
 * `tcp.user-timeout`; look each up with
 * [method@Post.Configuration.get_option]. The caller owns the returned
 * array; free it with g_strfreev().
 *
 * Returns: (transfer full) (array zero-terminated=1): the keys of the
 *   options set, sorted
 */
char **
post_configuration_list_options (PostConfiguration *self)
{
  GHashTableIter iter;
  gpointer key;
  GPtrArray *keys;

  g_return_val_if_fail (POST_IS_CONFIGURATION (self), NULL);

  keys = g_ptr_array_new ();
  g_hash_table_iter_init (&iter, self->options);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (keys, g_strdup (key));
  g_ptr_array_sort (keys, compare_strings);
  g_ptr_array_add (keys, NULL);

  return (char **) g_ptr_array_free (keys, FALSE);
}

/* ---- connection properties that are no stack capability ----------------- */

static gboolean
check_preference (PostPreference   preference,
                  GError         **error)
{
  if ((guint) preference < G_N_ELEMENTS (_post_configuration_preference_nicks))
    return TRUE;
  g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
               "%d is not a preference", (int) preference);
  return FALSE;
}

/**
 * post_configuration_get_use_temporary_local_address: (get-property use-temporary-local-address)
 * @self: a configuration
 *
 * Gets the RFC 9622 `use-temporary-local-address` connection property:
 * whether temporary (RFC 8981 privacy) local addresses are wanted. No
 * preference means the RFC 9622 default: prefer for carriers, avoid for
 * listeners.
 *
 * Returns: whether temporary local addresses are wanted
 */
PostPreference
post_configuration_get_use_temporary_local_address (PostConfiguration *self)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), POST_PREFERENCE_NO_PREFERENCE);
  return self->use_temporary_local_address;
}

/**
 * post_configuration_set_use_temporary_local_address: (set-property use-temporary-local-address)
 * @self: a configuration
 * @preference: the preference
 * @error: return location for an error
 *
 * Sets RFC 9622 `use-temporary-local-address`.
 *
 * Returns: %TRUE on success; %FALSE with %POST_ERROR_IMMUTABLE or
 *   %POST_ERROR_INVALID_ARGUMENT
 */
gboolean
post_configuration_set_use_temporary_local_address (PostConfiguration  *self,
                                                    PostPreference      preference,
                                                    GError            **error)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!_post_configuration_check_mutable (self, error) || !check_preference (preference, error))
    return FALSE;
  if (self->use_temporary_local_address == preference)
    return TRUE;
  self->use_temporary_local_address = preference;
  g_object_notify_by_pspec (G_OBJECT (self), _post_configuration_properties[PROP_USE_TEMPORARY_LOCAL_ADDRESS]);
  return TRUE;
}

/**
 * post_configuration_get_soft_error_notify: (get-property soft-error-notify)
 * @self: a configuration
 *
 * Gets the RFC 9622 `soft-error-notify` connection property: whether the
 * application wants to hear of soft errors such as ICMP messages. It is
 * passed to the stacks.
 *
 * Returns: whether soft errors should be reported
 */
PostPreference
post_configuration_get_soft_error_notify (PostConfiguration *self)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), POST_PREFERENCE_NO_PREFERENCE);
  return self->soft_error_notify;
}

/**
 * post_configuration_set_soft_error_notify: (set-property soft-error-notify)
 * @self: a configuration
 * @preference: the preference
 * @error: return location for an error
 *
 * Sets RFC 9622 `soft-error-notify`.
 *
 * Returns: %TRUE on success; %FALSE with %POST_ERROR_IMMUTABLE or
 *   %POST_ERROR_INVALID_ARGUMENT
 */
gboolean
post_configuration_set_soft_error_notify (PostConfiguration  *self,
                                          PostPreference      preference,
                                          GError            **error)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!_post_configuration_check_mutable (self, error) || !check_preference (preference, error))
    return FALSE;
  if (self->soft_error_notify == preference)
    return TRUE;
  self->soft_error_notify = preference;
  g_object_notify_by_pspec (G_OBJECT (self), _post_configuration_properties[PROP_SOFT_ERROR_NOTIFY]);
  return TRUE;
}

/**
 * post_configuration_get_direction: (get-property direction)
 * @self: a configuration
 *
 * Gets whether the carriers made with @self send, receive or both (RFC
 * 9622 `direction`); a unidirectional carrier fails the operations of the
 * other direction with %POST_ERROR_WRONG_ROLE.
 *
 * Returns: the direction of the carriers
 */
PostDirection
post_configuration_get_direction (PostConfiguration *self)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), POST_DIRECTION_BIDIRECTIONAL);
  return self->direction;
}

/**
 * post_configuration_set_direction: (set-property direction)
 * @self: a configuration
 * @direction: the direction
 * @error: return location for an error
 *
 * Sets RFC 9622 `direction`.
 *
 * Returns: %TRUE on success; %FALSE with %POST_ERROR_IMMUTABLE or
 *   %POST_ERROR_INVALID_ARGUMENT
 */
gboolean
post_configuration_set_direction (PostConfiguration  *self,
                                  PostDirection       direction,
                                  GError            **error)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!_post_configuration_check_mutable (self, error))
    return FALSE;
  if ((guint) direction > POST_DIRECTION_UNIDIRECTIONAL_RECEIVE)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                   "%d is not a direction", (int) direction);
      return FALSE;
    }
  if (self->direction == direction)
    return TRUE;
  self->direction = direction;
  g_object_notify_by_pspec (G_OBJECT (self), _post_configuration_properties[PROP_DIRECTION]);
  return TRUE;
}

/* Preference-set names: interface names (globs allowed), kinds or PvD ids */
static gboolean
preference_set_name_is_valid (const char *name)
{
  if (name == NULL || *name == '\0' || strlen (name) > 255)
    return FALSE;
  for (const char *p = name; *p != '\0'; p++)
    if (g_ascii_isspace (*p) || *p == ':' || *p == ';' || *p == ',' || *p == '=')
      return FALSE;
  return TRUE;
}

static gboolean
set_preference_set_entry (PostConfiguration  *self,
                          guint               prop_id,
                          const char         *name,
                          PostPreference      preference,
                          gboolean            notify,
                          GError            **error)
{
  GHashTable *set = prop_id == PROP_INTERFACE ? self->interface_prefs : self->pvd_prefs;
  gpointer old;

  if (!_post_configuration_check_mutable (self, error) || !check_preference (preference, error))
    return FALSE;
  if (!preference_set_name_is_valid (name))
    {
      g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                   "invalid %s name ‘%s’", prop_id == PROP_INTERFACE ? "interface" : "PvD",
                   name != NULL ? name : "(null)");
      return FALSE;
    }

  if (g_hash_table_lookup_extended (set, name, NULL, &old) && GPOINTER_TO_INT (old) == (int) preference)
    return TRUE;
  if (preference == POST_PREFERENCE_NO_PREFERENCE)
    {
      if (!g_hash_table_remove (set, name))
        return TRUE;
    }
  else
    g_hash_table_replace (set, g_strdup (name), GINT_TO_POINTER (preference));

  if (notify)
    g_object_notify_by_pspec (G_OBJECT (self), _post_configuration_properties[prop_id]);
  return TRUE;
}

static char **
list_preference_set (GHashTable *set)
{
  GHashTableIter iter;
  gpointer key;
  GPtrArray *keys = g_ptr_array_new ();

  g_hash_table_iter_init (&iter, set);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (keys, g_strdup (key));
  g_ptr_array_sort (keys, compare_strings);
  g_ptr_array_add (keys, NULL);
  return (char **) g_ptr_array_free (keys, FALSE);
}

char **
_post_configuration_preference_set_to_strv (GHashTable *set)
{
  g_auto(GStrv) keys = list_preference_set (set);
  GStrvBuilder *builder = g_strv_builder_new ();
  char **result;

  for (guint i = 0; keys[i] != NULL; i++)
    {
      PostPreference preference = GPOINTER_TO_INT (g_hash_table_lookup (set, keys[i]));

      g_autofree char *entry = g_strdup_printf ("%s:%s", keys[i], _post_configuration_preference_nicks[preference]);

      g_strv_builder_add (builder, entry);
    }
  result = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);
  return result;
}

gboolean
_post_configuration_set_preference_set_from_strv (PostConfiguration   *self,
                                                  guint                prop_id,
                                                  const char * const  *entries,
                                                  GError             **error)
{
  GHashTable *set = prop_id == PROP_INTERFACE ? self->interface_prefs : self->pvd_prefs;
  g_autoptr(GHashTable) parsed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  if (!_post_configuration_check_mutable (self, error))
    return FALSE;

  for (guint i = 0; entries != NULL && entries[i] != NULL; i++)
    {
      const char *colon = strrchr (entries[i], ':');
      g_autofree char *name = colon ? g_strndup (entries[i], colon - entries[i]) : NULL;
      PostPreference preference;

      if (colon == NULL || !preference_set_name_is_valid (name)
          || !post_preference_from_nick (colon + 1, &preference))
        {
          g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                       "invalid preference set entry ‘%s’: expected NAME:LEVEL", entries[i]);
          return FALSE;
        }
      if (preference != POST_PREFERENCE_NO_PREFERENCE)
        g_hash_table_replace (parsed, g_steal_pointer (&name), GINT_TO_POINTER (preference));
    }

  g_hash_table_remove_all (set);
  _post_configuration_copy_preference_set (set, parsed);
  g_object_notify_by_pspec (G_OBJECT (self), _post_configuration_properties[prop_id]);
  return TRUE;
}

void
_post_configuration_copy_preference_set (GHashTable *to,
                                         GHashTable *from)
{
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, from);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_hash_table_replace (to, g_strdup (key), value);
}

void
_post_configuration_append_connection_properties (PostConfiguration *self,
                                                  GString           *string)
{
  static const char * const direction_nicks[] = {
    "bidirectional", "unidirectional-send", "unidirectional-receive",
  };

  if (self->use_temporary_local_address != POST_PREFERENCE_NO_PREFERENCE)
    g_string_append_printf (string, "\nuse-temporary-local-address=%s",
                            _post_configuration_preference_nicks[self->use_temporary_local_address]);
  if (self->soft_error_notify != POST_PREFERENCE_NO_PREFERENCE)
    g_string_append_printf (string, "\nsoft-error-notify=%s",
                            _post_configuration_preference_nicks[self->soft_error_notify]);
  if (self->direction != POST_DIRECTION_BIDIRECTIONAL)
    g_string_append_printf (string, "\ndirection=%s", direction_nicks[self->direction]);
  if (self->keep_alive_timeout != 0)
    g_string_append_printf (string, "\nkeep-alive-timeout=%u", self->keep_alive_timeout);
  if (g_hash_table_size (self->interface_prefs) > 0)
    {
      g_auto(GStrv) entries = _post_configuration_preference_set_to_strv (self->interface_prefs);
      g_autofree char *joined = g_strjoinv (";", entries);

      g_string_append_printf (string, "\ninterface=%s", joined);
    }
  if (g_hash_table_size (self->pvd_prefs) > 0)
    {
      g_auto(GStrv) entries = _post_configuration_preference_set_to_strv (self->pvd_prefs);
      g_autofree char *joined = g_strjoinv (";", entries);

      g_string_append_printf (string, "\npvd=%s", joined);
    }
}

/**
 * post_configuration_get_interface_preference:
 * @self: a configuration
 * @interface: an interface name or kind, as set
 *
 * Looks up one entry of the RFC 9622 `interface` preference set, as set
 * with [method@Post.Configuration.set_interface_preference] or the
 * [property@Post.Configuration:interface] property. @interface is compared
 * as written (an interface name, a glob or an interface kind nick); no
 * glob matching happens here.
 *
 * Returns: the preference of the `interface` set for @interface;
 *   %POST_PREFERENCE_NO_PREFERENCE if it has none
 */
PostPreference
post_configuration_get_interface_preference (PostConfiguration *self,
                                             const char        *interface)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), POST_PREFERENCE_NO_PREFERENCE);
  g_return_val_if_fail (interface != NULL, POST_PREFERENCE_NO_PREFERENCE);
  return GPOINTER_TO_INT (g_hash_table_lookup (self->interface_prefs, interface));
}

/**
 * post_configuration_set_interface_preference:
 * @self: a configuration
 * @interface: an interface name (`wlan0`, or a glob such as `wwan*`) or an
 *   interface kind (`wifi`, `cellular`, `wired`, `loopback`, `vpn`, `other`)
 * @preference: the preference; %POST_PREFERENCE_NO_PREFERENCE removes the entry
 * @error: return location for an error
 *
 * Sets one entry of the RFC 9622 `interface` preference set: paths over a
 * required interface are the only ones used, over a prohibited one never,
 * preferred ones rank higher and avoided ones lower.
 *
 * Returns: %TRUE on success; %FALSE with %POST_ERROR_INVALID_ARGUMENT or
 *   %POST_ERROR_IMMUTABLE
 */
gboolean
post_configuration_set_interface_preference (PostConfiguration  *self,
                                             const char         *interface,
                                             PostPreference      preference,
                                             GError            **error)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  return set_preference_set_entry (self, PROP_INTERFACE, interface, preference, TRUE, error);
}

/**
 * post_configuration_list_interface_preferences:
 * @self: a configuration
 *
 * Lists the interface names and kinds that have an entry in the RFC 9622
 * `interface` preference set; look each up with
 * [method@Post.Configuration.get_interface_preference]. The caller owns
 * the returned array; free it with g_strfreev().
 *
 * Returns: (transfer full) (array zero-terminated=1): the names in the
 *   `interface` preference set, sorted
 */
char **
post_configuration_list_interface_preferences (PostConfiguration *self)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), NULL);
  return list_preference_set (self->interface_prefs);
}

/**
 * post_configuration_get_pvd_preference:
 * @self: a configuration
 * @pvd: a provisioning domain identifier
 *
 * Looks up one entry of the RFC 9622 `pvd` preference set, as set with
 * [method@Post.Configuration.set_pvd_preference] or the
 * [property@Post.Configuration:pvd] property.
 *
 * Returns: the preference of the `pvd` set for @pvd;
 *   %POST_PREFERENCE_NO_PREFERENCE if it has none
 */
PostPreference
post_configuration_get_pvd_preference (PostConfiguration *self,
                                       const char        *pvd)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), POST_PREFERENCE_NO_PREFERENCE);
  g_return_val_if_fail (pvd != NULL, POST_PREFERENCE_NO_PREFERENCE);
  return GPOINTER_TO_INT (g_hash_table_lookup (self->pvd_prefs, pvd));
}

/**
 * post_configuration_set_pvd_preference:
 * @self: a configuration
 * @pvd: a provisioning domain identifier (RFC 7556), such as `pvd.example.com`
 * @preference: the preference; %POST_PREFERENCE_NO_PREFERENCE removes the entry
 * @error: return location for an error
 *
 * Sets one entry of the RFC 9622 `pvd` preference set.  Until a path
 * monitor reports provisioning domains, a path's PvD is unknown: requiring
 * one then rules every path out.
 *
 * Returns: %TRUE on success; %FALSE with %POST_ERROR_INVALID_ARGUMENT or
 *   %POST_ERROR_IMMUTABLE
 */
gboolean
post_configuration_set_pvd_preference (PostConfiguration  *self,
                                       const char         *pvd,
                                       PostPreference      preference,
                                       GError            **error)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  return set_preference_set_entry (self, PROP_PVD, pvd, preference, TRUE, error);
}

/**
 * post_configuration_list_pvd_preferences:
 * @self: a configuration
 *
 * Lists the provisioning domains that have an entry in the RFC 9622 `pvd`
 * preference set; look each up with
 * [method@Post.Configuration.get_pvd_preference]. The caller owns the
 * returned array; free it with g_strfreev().
 *
 * Returns: (transfer full) (array zero-terminated=1): the PvD identifiers
 *   in the `pvd` preference set, sorted
 */
char **
post_configuration_list_pvd_preferences (PostConfiguration *self)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), NULL);
  return list_preference_set (self->pvd_prefs);
}
