/* post-local.c: PostLocal, the local endpoint
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "post-values-private.h"

#include <net/if.h>
#include <string.h>

/**
 * PostLocal:
 *
 * The local endpoint of an association (draft section 2.5): the interface,
 * address and port to use, a stack hint, and the identity (certificate and
 * private key) to present.
 *
 * Nothing set means "any": any interface, the any-address of each family,
 * an ephemeral port. A local can be changed until an association holds
 * it; from then on every setter fails with %POST_ERROR_IMMUTABLE.
 */
struct _PostLocal
{
  GObject parent_instance;

  char *interface;            /* (owned) (nullable) */
  GInetAddress *address;      /* (owned) (nullable) */
  guint32 scope_id;
  guint16 port;
  char *stack;                /* (owned) (nullable) */
  GTlsCertificate *identity;  /* (owned) (nullable) */
  GBytes *certificate_pem;    /* (owned) (nullable) chain, leaf first */
  GBytes *key_pem;            /* (owned) (nullable) secret: never logged */
  GHashTable *psks;           /* (owned) (nullable) (element-type utf8 GBytes) secrets */
  gboolean frozen;
  char *canonical;            /* (owned) (nullable): to_string(), once frozen */
};

G_DEFINE_FINAL_TYPE (PostLocal, post_local, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_INTERFACE,
  PROP_ADDRESS,
  PROP_PORT,
  PROP_STACK,
  PROP_IDENTITY,
  PROP_FROZEN,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static gboolean
check_mutable (PostLocal  *self,
               GError    **error)
{
  if (!self->frozen)
    return TRUE;

  g_set_error_literal (error, POST_ERROR, POST_ERROR_IMMUTABLE,
                       "the local endpoint is held by an association and can no longer change");
  return FALSE;
}

static void
post_local_finalize (GObject *object)
{
  PostLocal *self = POST_LOCAL (object);

  g_clear_pointer (&self->interface, g_free);
  g_clear_object (&self->address);
  g_clear_pointer (&self->stack, g_free);
  g_clear_object (&self->identity);
  g_clear_pointer (&self->certificate_pem, g_bytes_unref);
  g_clear_pointer (&self->key_pem, g_bytes_unref);
  g_clear_pointer (&self->psks, g_hash_table_unref);
  g_clear_pointer (&self->canonical, g_free);

  G_OBJECT_CLASS (post_local_parent_class)->finalize (object);
}

static void
post_local_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  PostLocal *self = POST_LOCAL (object);

  switch (prop_id)
    {
    case PROP_INTERFACE:
      g_value_set_string (value, self->interface);
      break;
    case PROP_ADDRESS:
      g_value_set_object (value, self->address);
      break;
    case PROP_PORT:
      g_value_set_uint (value, self->port);
      break;
    case PROP_STACK:
      g_value_set_string (value, self->stack);
      break;
    case PROP_IDENTITY:
      g_value_set_object (value, self->identity);
      break;
    case PROP_FROZEN:
      g_value_set_boolean (value, self->frozen);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
post_local_set_property (GObject      *object,
                         guint         prop_id,
                         const GValue *value,
                         GParamSpec   *pspec)
{
  PostLocal *self = POST_LOCAL (object);
  g_autoptr(GError) error = NULL;
  gboolean ok = TRUE;

  switch (prop_id)
    {
    case PROP_INTERFACE:
      ok = post_local_set_interface (self, g_value_get_string (value), &error);
      break;
    case PROP_ADDRESS:
      ok = post_local_set_address (self, g_value_get_object (value), &error);
      break;
    case PROP_PORT:
      ok = post_local_set_port (self, (guint16) g_value_get_uint (value), &error);
      break;
    case PROP_STACK:
      self->stack = g_value_dup_string (value);
      break;
    case PROP_IDENTITY:
      ok = post_local_set_identity (self, g_value_get_object (value), &error);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }

  if (!ok)
    g_warning ("Cannot set PostLocal:%s: %s", pspec->name, error->message);
}

static void
post_local_class_init (PostLocalClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = post_local_finalize;
  object_class->get_property = post_local_get_property;
  object_class->set_property = post_local_set_property;

  /**
   * PostLocal:interface: (getter get_interface) (setter set_interface)
   *
   * The name of the network interface to use, or %NULL for any.  Every
   * carrier made with the local — initiated, listening, a sink or a
   * responder — is bound to it, on every stack (`SO_BINDTODEVICE`).
   */
  properties[PROP_INTERFACE] =
    g_param_spec_string ("interface", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * PostLocal:address: (getter get_address) (setter set_address)
   *
   * The local address to bind, or %NULL for the any-address.
   */
  properties[PROP_ADDRESS] =
    g_param_spec_object ("address", NULL, NULL,
                         G_TYPE_INET_ADDRESS,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * PostLocal:port: (getter get_port) (setter set_port)
   *
   * The local port, 0 for an ephemeral one.
   */
  properties[PROP_PORT] =
    g_param_spec_uint ("port", NULL, NULL,
                       0, G_MAXUINT16, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * PostLocal:stack: (getter get_stack)
   *
   * The stack named by the URI scheme the local was made from, if any.
   */
  properties[PROP_STACK] =
    g_param_spec_string ("stack", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * PostLocal:identity: (getter get_identity) (setter set_identity)
   *
   * The certificate (with its private key) presented to peers by secure
   * stacks.
   */
  properties[PROP_IDENTITY] =
    g_param_spec_object ("identity", NULL, NULL,
                         G_TYPE_TLS_CERTIFICATE,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * PostLocal:frozen: (getter is_frozen)
   *
   * Whether an association holds the local, so that it can no longer change.
   */
  properties[PROP_FROZEN] =
    g_param_spec_boolean ("frozen", NULL, NULL,
                          FALSE,
                          G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
post_local_init (PostLocal *self)
{
}

/**
 * post_local_new:
 *
 * Creates a local endpoint that allows anything: any interface, any
 * address, an ephemeral port.
 *
 * Returns: (transfer full): a new local endpoint
 */
PostLocal *
post_local_new (void)
{
  return g_object_new (POST_TYPE_LOCAL, NULL);
}

/**
 * post_local_new_from_uri:
 * @uri: such as `tcp://127.0.0.1:0`, `udp://[::]:5000`, `tcp://:7000`
 *   (any address; a host of `*` means the same) or `127.0.0.1:0`
 * @error: return location for an error
 *
 * Creates a local endpoint from a URI. The host must be an IP literal, or
 * empty or `*` for the any-address; a scoped IPv6 literal such as
 * `[fe80::1%eth0]` also sets the interface. A missing port means an
 * ephemeral one. Errors are %POST_ERROR_INVALID_ARGUMENT.
 *
 * Returns: (transfer full): a new local endpoint, or %NULL on error
 */
PostLocal *
post_local_new_from_uri (const char  *uri,
                         GError     **error)
{
  g_autofree char *stack = NULL;
  g_autofree char *host = NULL;
  g_autoptr(GInetAddress) address = NULL;
  g_autoptr(GError) local_error = NULL;
  guint32 scope_id = 0;
  guint16 port = 0;
  PostLocal *self;

  g_return_val_if_fail (uri != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if (!_post_endpoint_parse_uri (uri, TRUE, &stack, &host, &port, error))
    return NULL;

  if (host != NULL)
    {
      address = _post_inet_address_parse (host, &scope_id, &local_error);
      if (local_error != NULL)
        {
          g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                       "invalid local URI ‘%s’: %s", uri, local_error->message);
          return NULL;
        }
      if (address == NULL)
        {
          g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                       "invalid local URI ‘%s’: ‘%s’ is not an IP address "
                       "(use an address, or `*` for any)", uri, host);
          return NULL;
        }
    }

  self = g_object_new (POST_TYPE_LOCAL, "stack", stack, NULL);
  self->address = g_steal_pointer (&address);
  self->port = port;
  self->scope_id = scope_id;
  if (scope_id != 0)
    {
      char name[IF_NAMESIZE];

      if (if_indextoname (scope_id, name) != NULL)
        self->interface = g_strdup (name);
    }

  return self;
}

/**
 * post_local_new_for_address:
 * @address: an internet socket address
 *
 * Creates a local endpoint for the address and port of @address.
 *
 * Returns: (transfer full): a new local endpoint
 */
PostLocal *
post_local_new_for_address (GSocketAddress *address)
{
  GInetSocketAddress *inet;
  PostLocal *self;

  g_return_val_if_fail (G_IS_INET_SOCKET_ADDRESS (address), NULL);

  inet = G_INET_SOCKET_ADDRESS (address);
  self = g_object_new (POST_TYPE_LOCAL, NULL);
  self->address = g_object_ref (g_inet_socket_address_get_address (inet));
  self->port = g_inet_socket_address_get_port (inet);
  if (g_inet_address_get_family (self->address) == G_SOCKET_FAMILY_IPV6)
    self->scope_id = g_inet_socket_address_get_scope_id (inet);

  return self;
}

void
_post_local_freeze (PostLocal *self)
{
  g_return_if_fail (POST_IS_LOCAL (self));

  if (self->frozen)
    return;

  self->frozen = TRUE;
  /* Frozen means final: the canonical text (part of the association key)
   * can be kept. */
  self->canonical = post_local_to_string (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FROZEN]);
}

const char *
_post_local_get_canonical (PostLocal *self)
{
  return self->canonical;
}

/**
 * post_local_is_frozen:
 * @self: a local endpoint
 *
 * Tells whether an association holds @self: a local can be changed until
 * then, and afterwards its setters fail with %POST_ERROR_IMMUTABLE.
 *
 * Returns: %TRUE if an association holds @self, so that it can no longer change
 */
gboolean
post_local_is_frozen (PostLocal *self)
{
  g_return_val_if_fail (POST_IS_LOCAL (self), FALSE);
  return self->frozen;
}

/**
 * post_local_get_interface:
 * @self: a local endpoint
 *
 * Gets the name of the interface carriers on this local use; %NULL lets
 * libpost choose. The string belongs to @self.
 *
 * Returns: (nullable): the interface name, or %NULL for any
 */
const char *
post_local_get_interface (PostLocal *self)
{
  g_return_val_if_fail (POST_IS_LOCAL (self), NULL);
  return self->interface;
}

/**
 * post_local_set_interface:
 * @self: a local endpoint
 * @interface: (nullable): an interface name, or %NULL for any
 * @error: return location for an error
 *
 * Sets the interface to use.  Every carrier made with @self is bound to
 * it: an initiated one sends and receives only through it (the kernel picks
 * a source address of that interface unless an address is set), a
 * listener, sink or responder accepts only what arrives there.  The name
 * is checked when a carrier uses it: an interface the host does not have
 * fails the establishment, or the listen, with %POST_ERROR_INVALID_ARGUMENT
 * naming it.
 *
 * Returns: %TRUE on success; %FALSE with %POST_ERROR_IMMUTABLE once an
 *   association holds @self
 */
gboolean
post_local_set_interface (PostLocal   *self,
                          const char  *interface,
                          GError     **error)
{
  g_return_val_if_fail (POST_IS_LOCAL (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_mutable (self, error))
    return FALSE;

  if (interface != NULL && *interface == '\0')
    interface = NULL;

  if (g_strcmp0 (self->interface, interface) == 0)
    return TRUE;

  g_free (self->interface);
  self->interface = g_strdup (interface);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_INTERFACE]);

  return TRUE;
}

/**
 * post_local_get_address:
 * @self: a local endpoint
 *
 * Gets the local address carriers bind to, as set with
 * [method@Post.Local.set_address] or from the local's URI; %NULL binds to
 * the any-address of each family. It belongs to @self.
 *
 * Returns: (transfer none) (nullable): the address, or %NULL for any
 */
GInetAddress *
post_local_get_address (PostLocal *self)
{
  g_return_val_if_fail (POST_IS_LOCAL (self), NULL);
  return self->address;
}

/**
 * post_local_set_address:
 * @self: a local endpoint
 * @address: (nullable): an address, or %NULL for any
 * @error: return location for an error
 *
 * Sets the address to bind.
 *
 * Returns: %TRUE on success; %FALSE with %POST_ERROR_IMMUTABLE once an
 *   association holds @self
 */
gboolean
post_local_set_address (PostLocal     *self,
                        GInetAddress  *address,
                        GError       **error)
{
  g_return_val_if_fail (POST_IS_LOCAL (self), FALSE);
  g_return_val_if_fail (address == NULL || G_IS_INET_ADDRESS (address), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_mutable (self, error))
    return FALSE;

  if (self->address == address ||
      (self->address != NULL && address != NULL && g_inet_address_equal (self->address, address)))
    return TRUE;

  g_set_object (&self->address, address);
  self->scope_id = 0;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ADDRESS]);

  return TRUE;
}

/**
 * post_local_get_port:
 * @self: a local endpoint
 *
 * Gets the local port carriers bind to; 0 lets the system choose an
 * ephemeral one (a listener must have one set).
 *
 * Returns: the port, 0 for an ephemeral one
 */
guint16
post_local_get_port (PostLocal *self)
{
  g_return_val_if_fail (POST_IS_LOCAL (self), 0);
  return self->port;
}

/**
 * post_local_set_port:
 * @self: a local endpoint
 * @port: a port, 0 for an ephemeral one
 * @error: return location for an error
 *
 * Sets the port to bind.
 *
 * Returns: %TRUE on success; %FALSE with %POST_ERROR_IMMUTABLE once an
 *   association holds @self
 */
gboolean
post_local_set_port (PostLocal  *self,
                     guint16     port,
                     GError    **error)
{
  g_return_val_if_fail (POST_IS_LOCAL (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_mutable (self, error))
    return FALSE;

  if (self->port == port)
    return TRUE;

  self->port = port;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PORT]);

  return TRUE;
}

/**
 * post_local_get_stack:
 * @self: a local endpoint
 *
 * Gets the stack named by the scheme of the local's URI (`tcp` for
 * `tcp://0.0.0.0:7000`), which a listener on the local uses; %NULL lets
 * libpost choose. The string belongs to @self.
 *
 * Returns: (nullable): the stack named by the URI scheme, if any
 */
const char *
post_local_get_stack (PostLocal *self)
{
  g_return_val_if_fail (POST_IS_LOCAL (self), NULL);
  return self->stack;
}

/**
 * post_local_get_identity:
 * @self: a local endpoint
 *
 * Gets the certificate, with its private key, that secure stacks present
 * for this local (a listener's server certificate, or a client
 * certificate), as set with [method@Post.Local.set_identity]. It belongs
 * to @self.
 *
 * Returns: (transfer none) (nullable): the certificate to present
 */
GTlsCertificate *
post_local_get_identity (PostLocal *self)
{
  g_return_val_if_fail (POST_IS_LOCAL (self), NULL);
  return self->identity;
}

/**
 * post_local_set_identity:
 * @self: a local endpoint
 * @identity: (nullable): a certificate with its private key
 * @error: return location for an error
 *
 * Sets the identity secure stacks present to peers.
 *
 * Returns: %TRUE on success; %FALSE with %POST_ERROR_IMMUTABLE once an
 *   association holds @self
 */
gboolean
post_local_set_identity (PostLocal        *self,
                         GTlsCertificate  *identity,
                         GError          **error)
{
  g_return_val_if_fail (POST_IS_LOCAL (self), FALSE);
  g_return_val_if_fail (identity == NULL || G_IS_TLS_CERTIFICATE (identity), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_mutable (self, error))
    return FALSE;

  if (g_set_object (&self->identity, identity))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_IDENTITY]);

  return TRUE;
}

/**
 * post_local_to_socket_address:
 * @self: a local endpoint
 * @family: %G_SOCKET_FAMILY_IPV4 or %G_SOCKET_FAMILY_IPV6, or
 *   %G_SOCKET_FAMILY_INVALID for the family of the set address
 *
 * The address to bind a socket of @family to: the set address and port,
 * or the any-address of @family with the port when no address is set.
 *
 * Returns: (transfer full) (nullable): a socket address, or %NULL if the
 *   set address is of another family (or, for %G_SOCKET_FAMILY_INVALID,
 *   when no address is set)
 */
GSocketAddress *
post_local_to_socket_address (PostLocal     *self,
                              GSocketFamily  family)
{
  g_autoptr(GInetAddress) any = NULL;

  g_return_val_if_fail (POST_IS_LOCAL (self), NULL);
  g_return_val_if_fail (family == G_SOCKET_FAMILY_IPV4 ||
                        family == G_SOCKET_FAMILY_IPV6 ||
                        family == G_SOCKET_FAMILY_INVALID, NULL);

  if (self->address != NULL)
    {
      if (family != G_SOCKET_FAMILY_INVALID &&
          g_inet_address_get_family (self->address) != family)
        return NULL;

      return g_object_new (G_TYPE_INET_SOCKET_ADDRESS,
                           "address", self->address,
                           "port", (guint) self->port,
                           "scope-id", self->scope_id,
                           NULL);
    }

  if (family == G_SOCKET_FAMILY_INVALID)
    return NULL;

  any = g_inet_address_new_any (family);
  return g_inet_socket_address_new (any, self->port);
}

/**
 * post_local_to_string:
 * @self: a local endpoint
 *
 * Returns the canonical form of @self, such as `tcp://127.0.0.1:0`,
 * `*:7000` or `[::]:5000 on eth0`: stack, address (`*` for any), port,
 * interface, and whether an identity is set.
 *
 * Returns: (transfer full): the canonical text
 */
char *
post_local_to_string (PostLocal *self)
{
  GString *string;

  g_return_val_if_fail (POST_IS_LOCAL (self), NULL);

  if (self->canonical != NULL)
    return g_strdup (self->canonical);

  string = g_string_new (NULL);
  if (self->stack != NULL)
    g_string_append_printf (string, "%s://", self->stack);

  if (self->address != NULL)
    {
      g_autofree char *text = _post_inet_address_to_string (self->address);

      if (g_inet_address_get_family (self->address) == G_SOCKET_FAMILY_IPV6)
        {
          g_string_append_printf (string, "[%s", text);
          if (self->scope_id != 0)
            g_string_append_printf (string, "%%%u", self->scope_id);
          g_string_append_c (string, ']');
        }
      else
        g_string_append (string, text);
    }
  else
    g_string_append_c (string, '*');

  g_string_append_printf (string, ":%u", self->port);

  if (self->interface != NULL)
    g_string_append_printf (string, " on %s", self->interface);
  if (self->identity != NULL || self->certificate_pem != NULL)
    g_string_append (string, " with identity");
  if (self->certificate_pem != NULL)
    {
      /* Which identity, without anything secret: a digest of the certificate. */
      g_autofree char *digest = g_compute_checksum_for_bytes (G_CHECKSUM_SHA256, self->certificate_pem);

      g_string_append_printf (string, " %.16s", digest);
    }
  if (self->psks != NULL && g_hash_table_size (self->psks) > 0)
    g_string_append_printf (string, " with %u pre-shared keys", g_hash_table_size (self->psks));

  return g_string_free (string, FALSE);
}

/**
 * post_local_hash:
 * @local: (type PostLocal): a local endpoint
 *
 * Hashes the canonical form, for `GHashTable`. Do not change a local
 * while it is a key.
 *
 * Returns: the hash
 */
guint
post_local_hash (gconstpointer local)
{
  g_autofree char *text = NULL;

  g_return_val_if_fail (POST_IS_LOCAL ((gpointer) local), 0);

  text = post_local_to_string ((PostLocal *) local);
  return g_str_hash (text);
}

/**
 * post_local_equal:
 * @a: (type PostLocal): a local endpoint
 * @b: (type PostLocal): another one
 *
 * Compares stack, address, port, interface and identity.
 *
 * Returns: %TRUE if @a and @b are equal
 */
gboolean
post_local_equal (gconstpointer a,
                  gconstpointer b)
{
  PostLocal *la = (PostLocal *) a;
  PostLocal *lb = (PostLocal *) b;

  g_return_val_if_fail (POST_IS_LOCAL (la), FALSE);
  g_return_val_if_fail (POST_IS_LOCAL (lb), FALSE);

  if (la == lb)
    return TRUE;

  if (g_strcmp0 (la->stack, lb->stack) != 0 ||
      g_strcmp0 (la->interface, lb->interface) != 0 ||
      la->port != lb->port ||
      la->scope_id != lb->scope_id)
    return FALSE;

  if ((la->address == NULL) != (lb->address == NULL) ||
      (la->address != NULL && !g_inet_address_equal (la->address, lb->address)))
    return FALSE;

  if ((la->certificate_pem == NULL) != (lb->certificate_pem == NULL)
      || (la->certificate_pem != NULL && !g_bytes_equal (la->certificate_pem, lb->certificate_pem)))
    return FALSE;

  if (la->identity == lb->identity)
    return TRUE;
  if (la->identity == NULL || lb->identity == NULL)
    return FALSE;

  return g_tls_certificate_is_same (la->identity, lb->identity);
}

static gboolean
looks_like_pem (GBytes     *bytes,
                const char *what)
{
  gsize size;
  const char *data = g_bytes_get_data (bytes, &size);

  return data != NULL && g_strstr_len (data, size, what) != NULL;
}

/**
 * post_local_set_identity_from_pem:
 * @self: a #PostLocal
 * @certificate_pem: (nullable): the certificate chain in PEM, leaf first
 * @key_pem: (nullable): its private key in PEM (PKCS#8, PKCS#1 or SEC1)
 * @error: return location for an error
 *
 * Sets the identity (draft 2.5) that secure stacks present: a listener's
 * server certificate, or a client certificate.  Unlike
 * post_local_set_identity() this needs no GIO TLS backend.  The key is
 * kept in memory and never logged.  Both %NULL removes the identity.
 *
 * Returns: %TRUE on success
 */
gboolean
post_local_set_identity_from_pem (PostLocal  *self,
                                  GBytes     *certificate_pem,
                                  GBytes     *key_pem,
                                  GError    **error)
{
  g_return_val_if_fail (POST_IS_LOCAL (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_mutable (self, error))
    return FALSE;
  if ((certificate_pem == NULL) != (key_pem == NULL))
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                           "an identity needs both a certificate and its private key");
      return FALSE;
    }
  if (certificate_pem != NULL
      && (!looks_like_pem (certificate_pem, "-----BEGIN CERTIFICATE-----")
          || !looks_like_pem (key_pem, "PRIVATE KEY-----")))
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                           "the identity must be a PEM certificate and a PEM private key");
      return FALSE;
    }
  g_clear_pointer (&self->certificate_pem, g_bytes_unref);
  g_clear_pointer (&self->key_pem, g_bytes_unref);
  if (certificate_pem != NULL)
    {
      self->certificate_pem = g_bytes_ref (certificate_pem);
      self->key_pem = g_bytes_ref (key_pem);
    }
  return TRUE;
}

/**
 * post_local_set_identity_from_files:
 * @self: a #PostLocal
 * @certificate_file: a PEM file with the certificate chain, leaf first
 * @key_file: a PEM file with the private key
 * @error: return location for an error
 *
 * Reads both files and calls post_local_set_identity_from_pem().
 *
 * Returns: %TRUE on success
 */
gboolean
post_local_set_identity_from_files (PostLocal   *self,
                                    const char  *certificate_file,
                                    const char  *key_file,
                                    GError     **error)
{
  g_autofree char *cert = NULL;
  g_autofree char *key = NULL;
  gsize cert_len, key_len;
  g_autoptr(GBytes) cert_bytes = NULL;
  g_autoptr(GBytes) key_bytes = NULL;

  g_return_val_if_fail (POST_IS_LOCAL (self), FALSE);
  g_return_val_if_fail (certificate_file != NULL && key_file != NULL, FALSE);

  if (!g_file_get_contents (certificate_file, &cert, &cert_len, error) ||
      !g_file_get_contents (key_file, &key, &key_len, error))
    return FALSE;
  cert_bytes = g_bytes_new_take (g_steal_pointer (&cert), cert_len);
  key_bytes = g_bytes_new_take (g_steal_pointer (&key), key_len);
  return post_local_set_identity_from_pem (self, cert_bytes, key_bytes, error);
}

/**
 * post_local_get_identity_pem:
 * @self: a #PostLocal
 * @certificate_pem: (out) (optional) (transfer none) (nullable): the chain
 * @key_pem: (out) (optional) (transfer none) (nullable): the private key
 *
 * The identity set with post_local_set_identity_from_pem(), or else the
 * PEM of the #GTlsCertificate set with post_local_set_identity() (when its
 * backend exposes its key).
 *
 * Returns: %TRUE if there is an identity
 */
gboolean
post_local_get_identity_pem (PostLocal  *self,
                             GBytes    **certificate_pem,
                             GBytes    **key_pem)
{
  g_return_val_if_fail (POST_IS_LOCAL (self), FALSE);

  if (self->certificate_pem == NULL && self->identity != NULL)
    {
      g_autofree char *cert = NULL;
      g_autofree char *key = NULL;

      if (g_object_class_find_property (G_OBJECT_GET_CLASS (self->identity), "private-key-pem") != NULL)
        g_object_get (self->identity, "certificate-pem", &cert, "private-key-pem", &key, NULL);
      if (cert != NULL && key != NULL)
        {
          self->certificate_pem = g_bytes_new (cert, strlen (cert));
          self->key_pem = g_bytes_new (key, strlen (key));
        }
    }
  if (certificate_pem != NULL)
    *certificate_pem = self->certificate_pem;
  if (key_pem != NULL)
    *key_pem = self->key_pem;
  return self->certificate_pem != NULL;
}

/**
 * post_local_add_pre_shared_key:
 * @self: a #PostLocal
 * @identity: the PSK identity clients present
 * @key: the secret, at least 16 bytes
 * @error: return location for an error
 *
 * Adds a pre-shared key a listener on this local accepts (the server side
 * of post_association_set_pre_shared_key()).  A listener with keys and no
 * certificate authenticates with keys only.
 *
 * Returns: %TRUE on success
 */
gboolean
post_local_add_pre_shared_key (PostLocal   *self,
                               const char  *identity,
                               GBytes      *key,
                               GError     **error)
{
  g_return_val_if_fail (POST_IS_LOCAL (self), FALSE);
  g_return_val_if_fail (identity != NULL && key != NULL, FALSE);

  if (!check_mutable (self, error))
    return FALSE;
  if (*identity == '\0' || strlen (identity) > 255 || g_bytes_get_size (key) < 16)
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                           "a pre-shared key needs an identity (1 to 255 bytes) and a key of at least 16 bytes");
      return FALSE;
    }
  if (self->psks == NULL)
    self->psks = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                        (GDestroyNotify) g_bytes_unref);
  g_hash_table_replace (self->psks, g_strdup (identity), g_bytes_ref (key));
  return TRUE;
}

/**
 * post_local_lookup_pre_shared_key:
 * @self: a #PostLocal
 * @identity: (nullable): a PSK identity, or %NULL to ask whether there is any
 *
 * Looks up a pre-shared key added with
 * [method@Post.Local.add_pre_shared_key], as a secure listener on this
 * local does for the identity a client presents. The bytes belong to
 * @self.
 *
 * Returns: (transfer none) (nullable): the key for @identity (with
 *   @identity %NULL: any key, to tell whether the local has keys at all)
 */
GBytes *
post_local_lookup_pre_shared_key (PostLocal  *self,
                                  const char *identity)
{
  g_return_val_if_fail (POST_IS_LOCAL (self), NULL);

  if (self->psks == NULL)
    return NULL;
  if (identity == NULL)
    {
      GHashTableIter iter;
      gpointer value = NULL;

      g_hash_table_iter_init (&iter, self->psks);
      return g_hash_table_iter_next (&iter, NULL, &value) ? value : NULL;
    }
  return g_hash_table_lookup (self->psks, identity);
}
