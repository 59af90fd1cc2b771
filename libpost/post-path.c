/* post-path.c: PostPath, what is known of one path through the network
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "post-values-private.h"

#include <math.h>
#include <string.h>

/**
 * PostPath:
 *
 * What libpost knows about one path through the network: the pair of
 * addresses, the interface, the stack that uses it, and what the stack
 * measured (MTU, latency, loss, data rate).
 *
 * Applications only read paths; stacks fill them in from
 * [vfunc@Post.Psi.update_path] with the setters, which notify only when a
 * value changes. Numeric properties that nothing measured are
 * %POST_PATH_UNKNOWN.
 */
struct _PostPath
{
  GObject parent_instance;

  GSocketAddress *local_address;   /* (owned) (nullable) */
  GSocketAddress *remote_address;  /* (owned) (nullable) */
  char *interface;                 /* (owned) (nullable) */
  char *stack_name;                /* (owned) (nullable) */
  guint mtu;
  guint64 latency;                 /* microseconds */
  double loss;                     /* 0..1 */
  guint64 data_rate;               /* bit/s */
  guint64 reserved_rate;           /* bit/s */
  GStrv elements;                  /* (owned) (nullable) */
};

G_DEFINE_FINAL_TYPE (PostPath, post_path, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_LOCAL_ADDRESS,
  PROP_REMOTE_ADDRESS,
  PROP_INTERFACE,
  PROP_STACK_NAME,
  PROP_MTU,
  PROP_LATENCY,
  PROP_LOSS,
  PROP_DATA_RATE,
  PROP_RESERVED_RATE,
  PROP_ELEMENTS,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
post_path_finalize (GObject *object)
{
  PostPath *self = POST_PATH (object);

  g_clear_object (&self->local_address);
  g_clear_object (&self->remote_address);
  g_clear_pointer (&self->interface, g_free);
  g_clear_pointer (&self->stack_name, g_free);
  g_clear_pointer (&self->elements, g_strfreev);

  G_OBJECT_CLASS (post_path_parent_class)->finalize (object);
}

static void
post_path_get_property (GObject    *object,
                        guint       prop_id,
                        GValue     *value,
                        GParamSpec *pspec)
{
  PostPath *self = POST_PATH (object);

  switch (prop_id)
    {
    case PROP_LOCAL_ADDRESS:
      g_value_set_object (value, self->local_address);
      break;
    case PROP_REMOTE_ADDRESS:
      g_value_set_object (value, self->remote_address);
      break;
    case PROP_INTERFACE:
      g_value_set_string (value, self->interface);
      break;
    case PROP_STACK_NAME:
      g_value_set_string (value, self->stack_name);
      break;
    case PROP_MTU:
      g_value_set_uint (value, self->mtu);
      break;
    case PROP_LATENCY:
      g_value_set_uint64 (value, self->latency);
      break;
    case PROP_LOSS:
      g_value_set_double (value, self->loss);
      break;
    case PROP_DATA_RATE:
      g_value_set_uint64 (value, self->data_rate);
      break;
    case PROP_RESERVED_RATE:
      g_value_set_uint64 (value, self->reserved_rate);
      break;
    case PROP_ELEMENTS:
      g_value_set_boxed (value, self->elements);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
post_path_set_property (GObject      *object,
                        guint         prop_id,
                        const GValue *value,
                        GParamSpec   *pspec)
{
  PostPath *self = POST_PATH (object);

  switch (prop_id)
    {
    case PROP_LOCAL_ADDRESS:
      self->local_address = g_value_dup_object (value);
      break;
    case PROP_REMOTE_ADDRESS:
      self->remote_address = g_value_dup_object (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
post_path_class_init (PostPathClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = post_path_finalize;
  object_class->get_property = post_path_get_property;
  object_class->set_property = post_path_set_property;

  /**
   * PostPath:local-address: (getter get_local_address)
   *
   * The local end of the path, if known.
   */
  properties[PROP_LOCAL_ADDRESS] =
    g_param_spec_object ("local-address", NULL, NULL,
                         G_TYPE_SOCKET_ADDRESS,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * PostPath:remote-address: (getter get_remote_address)
   *
   * The remote end of the path, if known.
   */
  properties[PROP_REMOTE_ADDRESS] =
    g_param_spec_object ("remote-address", NULL, NULL,
                         G_TYPE_SOCKET_ADDRESS,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * PostPath:interface: (getter get_interface)
   *
   * The name of the local network interface the path leaves by, if known.
   */
  properties[PROP_INTERFACE] =
    g_param_spec_string ("interface", NULL, NULL,
                         NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * PostPath:stack-name: (getter get_stack_name)
   *
   * The name of the [class@Post.Stack] that uses the path.
   */
  properties[PROP_STACK_NAME] =
    g_param_spec_string ("stack-name", NULL, NULL,
                         NULL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * PostPath:mtu: (getter get_mtu)
   *
   * The path MTU in bytes, or %POST_PATH_UNKNOWN.
   */
  properties[PROP_MTU] =
    g_param_spec_uint ("mtu", NULL, NULL,
                       0, G_MAXUINT, 0,
                       G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * PostPath:latency: (getter get_latency)
   *
   * The smoothed round-trip time in microseconds, or %POST_PATH_UNKNOWN.
   */
  properties[PROP_LATENCY] =
    g_param_spec_uint64 ("latency", NULL, NULL,
                         0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * PostPath:loss: (getter get_loss)
   *
   * The fraction of packets lost, from 0 to 1.
   */
  properties[PROP_LOSS] =
    g_param_spec_double ("loss", NULL, NULL,
                         0.0, 1.0, 0.0,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * PostPath:data-rate: (getter get_data_rate)
   *
   * The estimated data rate in bits per second, or %POST_PATH_UNKNOWN.
   */
  properties[PROP_DATA_RATE] =
    g_param_spec_uint64 ("data-rate", NULL, NULL,
                         0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * PostPath:reserved-rate: (getter get_reserved_rate)
   *
   * The rate reserved for this path in bits per second, or %POST_PATH_UNKNOWN.
   */
  properties[PROP_RESERVED_RATE] =
    g_param_spec_uint64 ("reserved-rate", NULL, NULL,
                         0, G_MAXUINT64, 0,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  /**
   * PostPath:elements: (getter get_elements)
   *
   * The path elements the stack knows of (middleboxes, tunnels), in order.
   */
  properties[PROP_ELEMENTS] =
    g_param_spec_boxed ("elements", NULL, NULL,
                        G_TYPE_STRV,
                        G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
post_path_init (PostPath *self)
{
}

/**
 * post_path_new:
 * @local_address: (nullable): the local end
 * @remote_address: (nullable): the remote end
 *
 * Creates a path between two addresses with nothing measured yet.
 *
 * Returns: (transfer full): a new path
 */
PostPath *
post_path_new (GSocketAddress *local_address,
               GSocketAddress *remote_address)
{
  PostPath *self;

  g_return_val_if_fail (local_address == NULL || G_IS_SOCKET_ADDRESS (local_address), NULL);
  g_return_val_if_fail (remote_address == NULL || G_IS_SOCKET_ADDRESS (remote_address), NULL);

  /* The construct-only properties, set directly: the same as passing them
   * to g_object_new(), without collecting and dispatching GValues. */
  self = g_object_new (POST_TYPE_PATH, NULL);
  self->local_address = local_address ? g_object_ref (local_address) : NULL;
  self->remote_address = remote_address ? g_object_ref (remote_address) : NULL;
  return self;
}

/* A path with these ends, interface and stack name (the PSI layer's
 * _post_path_new_for_psi() fills them in from a PSI). */
PostPath *
_post_path_new_full (GSocketAddress *local_address,
                     GSocketAddress *remote_address,
                     const char     *interface,
                     const char     *stack_name)
{
  PostPath *self = post_path_new (local_address, remote_address);

  self->interface = g_strdup (interface);
  self->stack_name = g_strdup (stack_name);
  return self;
}

char *
_post_socket_address_to_string (GSocketAddress *address)
{
  if (address == NULL)
    return g_strdup ("(none)");
  if (G_IS_INET_SOCKET_ADDRESS (address))
    {
      GInetSocketAddress *inet = G_INET_SOCKET_ADDRESS (address);
      g_autofree char *ip = _post_inet_address_to_string (g_inet_socket_address_get_address (inet));

      if (g_inet_address_get_family (g_inet_socket_address_get_address (inet)) == G_SOCKET_FAMILY_IPV6)
        return g_strdup_printf ("[%s]:%u", ip, g_inet_socket_address_get_port (inet));
      return g_strdup_printf ("%s:%u", ip, g_inet_socket_address_get_port (inet));
    }
  return g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (address));
}

/**
 * post_path_get_local_address:
 * @self: a path
 *
 * Gets the local address of the path; it belongs to @self.
 *
 * Returns: (transfer none) (nullable): the local end of the path
 */
GSocketAddress *
post_path_get_local_address (PostPath *self)
{
  g_return_val_if_fail (POST_IS_PATH (self), NULL);
  return self->local_address;
}

/**
 * post_path_get_remote_address:
 * @self: a path
 *
 * Gets the remote address of the path; it belongs to @self.
 *
 * Returns: (transfer none) (nullable): the remote end of the path
 */
GSocketAddress *
post_path_get_remote_address (PostPath *self)
{
  g_return_val_if_fail (POST_IS_PATH (self), NULL);
  return self->remote_address;
}

/**
 * post_path_get_interface:
 * @self: a path
 *
 * Gets the name of the local interface the path leaves by; the string
 * belongs to @self.
 *
 * Returns: (nullable): the local interface name, if known
 */
const char *
post_path_get_interface (PostPath *self)
{
  g_return_val_if_fail (POST_IS_PATH (self), NULL);
  return self->interface;
}

/**
 * post_path_get_stack_name:
 * @self: a path
 *
 * Gets the name of the stack whose transport uses the path; the string
 * belongs to @self.
 *
 * Returns: (nullable): the name of the stack on the path
 */
const char *
post_path_get_stack_name (PostPath *self)
{
  g_return_val_if_fail (POST_IS_PATH (self), NULL);
  return self->stack_name;
}

/**
 * post_path_get_mtu:
 * @self: a path
 *
 * Gets the largest packet the path carries, as the stack knows it (the
 * interface's MTU, or what path MTU discovery found).
 *
 * Returns: the path MTU in bytes, or %POST_PATH_UNKNOWN
 */
guint
post_path_get_mtu (PostPath *self)
{
  g_return_val_if_fail (POST_IS_PATH (self), 0);
  return self->mtu;
}

/**
 * post_path_get_latency:
 * @self: a path
 *
 * Gets the smoothed round-trip time the stack measured on the path.
 *
 * Returns: the round-trip time in microseconds, or %POST_PATH_UNKNOWN
 */
guint64
post_path_get_latency (PostPath *self)
{
  g_return_val_if_fail (POST_IS_PATH (self), 0);
  return self->latency;
}

/**
 * post_path_get_loss:
 * @self: a path
 *
 * Gets the fraction of packets lost on the path, as the stack measured it;
 * 0 when nothing was measured.
 *
 * Returns: the fraction of packets lost, from 0 to 1
 */
double
post_path_get_loss (PostPath *self)
{
  g_return_val_if_fail (POST_IS_PATH (self), 0.0);
  return self->loss;
}

/**
 * post_path_get_data_rate:
 * @self: a path
 *
 * Gets the data rate the stack estimated for the path (such as a
 * congestion controller's delivery rate).
 *
 * Returns: the estimated data rate in bit/s, or %POST_PATH_UNKNOWN
 */
guint64
post_path_get_data_rate (PostPath *self)
{
  g_return_val_if_fail (POST_IS_PATH (self), 0);
  return self->data_rate;
}

/**
 * post_path_get_reserved_rate:
 * @self: a path
 *
 * Gets the data rate reserved for the path, where the network offers
 * reservations.
 *
 * Returns: the reserved rate in bit/s, or %POST_PATH_UNKNOWN
 */
guint64
post_path_get_reserved_rate (PostPath *self)
{
  g_return_val_if_fail (POST_IS_PATH (self), 0);
  return self->reserved_rate;
}

/**
 * post_path_get_elements:
 * @self: a path
 *
 * Gets the elements along the path that the stack knows of (middleboxes,
 * tunnels), in order, as it set them with [method@Post.Path.set_elements]
 * (draft section 3.4). The array belongs to @self.
 *
 * Returns: (nullable) (transfer none) (array zero-terminated=1): the path
 *   elements known to the stack
 */
const char * const *
post_path_get_elements (PostPath *self)
{
  g_return_val_if_fail (POST_IS_PATH (self), NULL);
  return (const char * const *) self->elements;
}

static gboolean
socket_address_equal (GSocketAddress *a,
                      GSocketAddress *b)
{
  gssize size_a, size_b;
  g_autofree guint8 *native_a = NULL;
  g_autofree guint8 *native_b = NULL;

  if (a == b)
    return TRUE;
  if (a == NULL || b == NULL)
    return FALSE;

  if (G_IS_INET_SOCKET_ADDRESS (a) && G_IS_INET_SOCKET_ADDRESS (b))
    {
      GInetSocketAddress *ia = G_INET_SOCKET_ADDRESS (a);
      GInetSocketAddress *ib = G_INET_SOCKET_ADDRESS (b);

      GInetAddress *addr_a = g_inet_socket_address_get_address (ia);
      GInetAddress *addr_b = g_inet_socket_address_get_address (ib);

      if (g_inet_socket_address_get_port (ia) != g_inet_socket_address_get_port (ib) ||
          !g_inet_address_equal (addr_a, addr_b))
        return FALSE;

      return g_inet_address_get_family (addr_a) != G_SOCKET_FAMILY_IPV6 ||
             g_inet_socket_address_get_scope_id (ia) == g_inet_socket_address_get_scope_id (ib);
    }

  size_a = g_socket_address_get_native_size (a);
  size_b = g_socket_address_get_native_size (b);
  if (size_a <= 0 || size_a != size_b)
    return FALSE;

  native_a = g_malloc0 (size_a);
  native_b = g_malloc0 (size_b);
  if (!g_socket_address_to_native (a, native_a, size_a, NULL) ||
      !g_socket_address_to_native (b, native_b, size_b, NULL))
    return FALSE;

  return memcmp (native_a, native_b, size_a) == 0;
}

/**
 * post_path_equal:
 * @a: a path
 * @b: another path
 *
 * Compares two paths by their pair of addresses: the measurements may
 * differ, the path is the same.
 *
 * Returns: %TRUE if @a and @b join the same local and remote addresses
 */
gboolean
post_path_equal (PostPath *a,
                 PostPath *b)
{
  g_return_val_if_fail (POST_IS_PATH (a), FALSE);
  g_return_val_if_fail (POST_IS_PATH (b), FALSE);

  return socket_address_equal (a->local_address, b->local_address) &&
         socket_address_equal (a->remote_address, b->remote_address);
}

/**
 * post_path_set_interface:
 * @self: a path
 * @interface: (nullable): the local interface name
 *
 * For stacks: records the interface the path leaves by.
 */
void
post_path_set_interface (PostPath   *self,
                         const char *interface)
{
  g_return_if_fail (POST_IS_PATH (self));

  if (g_strcmp0 (self->interface, interface) == 0)
    return;

  g_free (self->interface);
  self->interface = g_strdup (interface);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_INTERFACE]);
}

/**
 * post_path_set_stack_name:
 * @self: a path
 * @stack_name: (nullable): the name of the stack
 *
 * For stacks: records which stack uses the path.
 */
void
post_path_set_stack_name (PostPath   *self,
                          const char *stack_name)
{
  g_return_if_fail (POST_IS_PATH (self));

  if (g_strcmp0 (self->stack_name, stack_name) == 0)
    return;

  g_free (self->stack_name);
  self->stack_name = g_strdup (stack_name);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STACK_NAME]);
}

/**
 * post_path_set_mtu:
 * @self: a path
 * @mtu: the path MTU in bytes
 *
 * For stacks: records the path MTU.
 */
void
post_path_set_mtu (PostPath *self,
                   guint     mtu)
{
  g_return_if_fail (POST_IS_PATH (self));

  if (self->mtu == mtu)
    return;

  self->mtu = mtu;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MTU]);
}

/**
 * post_path_set_latency:
 * @self: a path
 * @latency_us: the round-trip time in microseconds
 *
 * For stacks: records the round-trip time.
 */
void
post_path_set_latency (PostPath *self,
                       guint64   latency_us)
{
  g_return_if_fail (POST_IS_PATH (self));

  if (self->latency == latency_us)
    return;

  self->latency = latency_us;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LATENCY]);
}

/**
 * post_path_set_loss:
 * @self: a path
 * @loss: the fraction of packets lost, clamped to 0..1
 *
 * For stacks: records the loss rate.
 */
void
post_path_set_loss (PostPath *self,
                    double    loss)
{
  g_return_if_fail (POST_IS_PATH (self));
  g_return_if_fail (!isnan (loss));

  loss = CLAMP (loss, 0.0, 1.0);
  if (self->loss == loss)
    return;

  self->loss = loss;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LOSS]);
}

/**
 * post_path_set_data_rate:
 * @self: a path
 * @bits_per_second: the estimated data rate
 *
 * For stacks: records the estimated data rate.
 */
void
post_path_set_data_rate (PostPath *self,
                         guint64   bits_per_second)
{
  g_return_if_fail (POST_IS_PATH (self));

  if (self->data_rate == bits_per_second)
    return;

  self->data_rate = bits_per_second;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DATA_RATE]);
}

/**
 * post_path_set_reserved_rate:
 * @self: a path
 * @bits_per_second: the reserved rate
 *
 * For stacks: records the rate reserved for the path.
 */
void
post_path_set_reserved_rate (PostPath *self,
                             guint64   bits_per_second)
{
  g_return_if_fail (POST_IS_PATH (self));

  if (self->reserved_rate == bits_per_second)
    return;

  self->reserved_rate = bits_per_second;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RESERVED_RATE]);
}

/**
 * post_path_set_elements:
 * @self: a path
 * @elements: (nullable) (array zero-terminated=1): the path elements, in order
 *
 * For stacks: records the known path elements.
 */
void
post_path_set_elements (PostPath           *self,
                        const char * const *elements)
{
  g_return_if_fail (POST_IS_PATH (self));

  if (elements != NULL && elements[0] == NULL)
    elements = NULL;

  if (self->elements == NULL && elements == NULL)
    return;
  if (self->elements != NULL && elements != NULL &&
      g_strv_equal ((const char * const *) self->elements, elements))
    return;

  g_strfreev (self->elements);
  self->elements = g_strdupv ((char **) elements);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ELEMENTS]);
}
