/* post-association.c: PostAssociation, long-lived state between a Local and a Remote
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "post-private.h"

/**
 * PostAssociation:
 *
 * The long-term state between a [class@Post.Local] and a
 * [class@Post.Remote] under one [class@Post.Configuration] (draft section
 * 2.3): the carriers that use it, the paths learned by its transients, and
 * what worked last time, which the next establishment tries first.
 *
 * An association is created implicitly by post_carrier_initiate() and
 * reused by every later carrier for the same local, remote and
 * configuration (equal by value) in the process while it is alive; or
 * explicitly, with post_association_new(), and then used to create
 * carriers with post_association_initiate().  It holds its local and
 * configuration frozen.
 */

struct _PostAssociation
{
  GObject            parent_instance;

  PostLocal         *local;           /* (owned) (nullable) */
  PostRemote        *remote;          /* (owned) */
  PostConfiguration *configuration;   /* (owned) frozen */
  char              *key;             /* (owned) */
  GPtrArray         *carriers;        /* (owned) (element-type PostCarrier) unowned pointers */
  GPtrArray         *paths;           /* (owned) (element-type PostPath) */
  char              *last_stack;      /* (owned) (nullable) */
  GSocketAddress    *last_address;    /* (owned) (nullable) */
};

G_DEFINE_FINAL_TYPE (PostAssociation, post_association, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_LOCAL,
  PROP_REMOTE,
  PROP_CONFIGURATION,
  PROP_LAST_STACK,
  N_PROPS
};

enum {
  SIGNAL_CARRIER_ADDED,
  SIGNAL_CARRIER_REMOVED,
  SIGNAL_PATH_ADDED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

/* The process-wide table of live associations, for implicit reuse. */
G_LOCK_DEFINE_STATIC (associations);
static GHashTable *associations;  /* (element-type utf8 GWeakRef) */

static void
weak_ref_free (gpointer data)
{
  g_weak_ref_clear (data);
  g_free (data);
}

static char *
make_key (PostLocal         *local,
          PostRemote        *remote,
          PostConfiguration *configuration)
{
  g_autofree char *l = local ? post_local_to_string (local) : g_strdup ("*");
  g_autofree char *r = post_remote_to_string (remote);
  g_autofree char *c = post_configuration_to_string (configuration);

  return g_strdup_printf ("%s\n%s\n%s", l, r, c);
}

static void
post_association_finalize (GObject *object)
{
  PostAssociation *self = POST_ASSOCIATION (object);

  PostAssociation *current = NULL;

  G_LOCK (associations);
  if (associations != NULL)
    {
      GWeakRef *ref = g_hash_table_lookup (associations, self->key);

      current = ref ? g_weak_ref_get (ref) : NULL;
      /* Our weak ref is already cleared; drop the entry if it was ours. */
      if (ref != NULL && current == NULL)
        g_hash_table_remove (associations, self->key);
    }
  G_UNLOCK (associations);
  g_clear_object (&current);

  g_clear_object (&self->local);
  g_clear_object (&self->remote);
  g_clear_object (&self->configuration);
  g_clear_pointer (&self->key, g_free);
  g_clear_pointer (&self->carriers, g_ptr_array_unref);
  g_clear_pointer (&self->paths, g_ptr_array_unref);
  g_clear_pointer (&self->last_stack, g_free);
  g_clear_object (&self->last_address);

  G_OBJECT_CLASS (post_association_parent_class)->finalize (object);
}

static void
post_association_get_property (GObject    *object,
                               guint       prop_id,
                               GValue     *value,
                               GParamSpec *pspec)
{
  PostAssociation *self = POST_ASSOCIATION (object);

  switch (prop_id)
    {
    case PROP_LOCAL:
      g_value_set_object (value, self->local);
      break;
    case PROP_REMOTE:
      g_value_set_object (value, self->remote);
      break;
    case PROP_CONFIGURATION:
      g_value_set_object (value, self->configuration);
      break;
    case PROP_LAST_STACK:
      g_value_set_string (value, self->last_stack);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
post_association_class_init (PostAssociationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = post_association_finalize;
  object_class->get_property = post_association_get_property;

  /**
   * PostAssociation:local:
   *
   * The local endpoint, or %NULL when the library chooses.
   */
  properties[PROP_LOCAL] =
    g_param_spec_object ("local", NULL, NULL, POST_TYPE_LOCAL,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * PostAssociation:remote:
   *
   * The remote endpoint.
   */
  properties[PROP_REMOTE] =
    g_param_spec_object ("remote", NULL, NULL, POST_TYPE_REMOTE,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * PostAssociation:configuration:
   *
   * The configuration every carrier of the association shares (frozen).
   */
  properties[PROP_CONFIGURATION] =
    g_param_spec_object ("configuration", NULL, NULL, POST_TYPE_CONFIGURATION,
                         G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  /**
   * PostAssociation:last-stack:
   *
   * The stack of the last successful establishment, tried first next time.
   */
  properties[PROP_LAST_STACK] =
    g_param_spec_string ("last-stack", NULL, NULL, NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * PostAssociation::carrier-added:
   * @self: the association
   * @carrier: the carrier
   *
   * A carrier joined the association.
   */
  signals[SIGNAL_CARRIER_ADDED] =
    g_signal_new ("carrier-added", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, POST_TYPE_CARRIER);
  /**
   * PostAssociation::carrier-removed:
   * @self: the association
   * @carrier: the carrier
   *
   * A carrier left the association (it closed).
   */
  signals[SIGNAL_CARRIER_REMOVED] =
    g_signal_new ("carrier-removed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, POST_TYPE_CARRIER);
  /**
   * PostAssociation::path-added:
   * @self: the association
   * @path: the path
   *
   * A transient used a path the association had not seen.
   */
  signals[SIGNAL_PATH_ADDED] =
    g_signal_new ("path-added", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 1, POST_TYPE_PATH);
}

static void
post_association_init (PostAssociation *self)
{
  self->carriers = g_ptr_array_new ();
  self->paths = g_ptr_array_new_with_free_func (g_object_unref);
}

static PostAssociation *
association_create (PostLocal         *local,
                    PostRemote        *remote,
                    PostConfiguration *configuration,
                    const char        *key)
{
  PostAssociation *self = g_object_new (POST_TYPE_ASSOCIATION, NULL);

  self->local = local ? g_object_ref (local) : NULL;
  self->remote = g_object_ref (remote);
  self->configuration = configuration ? g_object_ref (configuration) : post_configuration_new ();
  post_configuration_freeze (self->configuration);
  if (self->local != NULL)
    _post_local_freeze (self->local);
  self->key = g_strdup (key);
  return self;
}

static void
register_locked (PostAssociation *self)
{
  GWeakRef *ref;

  if (associations == NULL)
    associations = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, weak_ref_free);
  ref = g_new0 (GWeakRef, 1);
  g_weak_ref_init (ref, self);
  g_hash_table_replace (associations, g_strdup (self->key), ref);
}

/**
 * post_association_new:
 * @local: (nullable): the local endpoint, or %NULL to let the library choose
 * @remote: the remote endpoint
 * @configuration: (nullable): preferences, or %NULL for the defaults
 *
 * Creates an association without a carrier (draft 3.1.5), for instance to
 * set up state before any data flows.  Later carriers initiated for the
 * same local, remote and configuration join it.
 *
 * Returns: (transfer full): a new association
 */
PostAssociation *
post_association_new (PostLocal         *local,
                      PostRemote        *remote,
                      PostConfiguration *configuration)
{
  g_autoptr(PostConfiguration) config = NULL;
  g_autofree char *key = NULL;
  PostAssociation *self;

  g_return_val_if_fail (local == NULL || POST_IS_LOCAL (local), NULL);
  g_return_val_if_fail (POST_IS_REMOTE (remote), NULL);
  g_return_val_if_fail (configuration == NULL || POST_IS_CONFIGURATION (configuration), NULL);

  config = configuration ? g_object_ref (configuration) : post_configuration_new ();
  key = make_key (local, remote, config);
  self = association_create (local, remote, config, key);
  G_LOCK (associations);
  register_locked (self);
  G_UNLOCK (associations);
  return self;
}

/**
 * post_association_lookup:
 * @local: (nullable): the local endpoint
 * @remote: the remote endpoint
 * @configuration: (nullable): the configuration
 *
 * Finds the live association for @local, @remote and @configuration
 * (compared by value), or creates one.
 *
 * Returns: (transfer full): the association
 */
PostAssociation *
post_association_lookup (PostLocal         *local,
                         PostRemote        *remote,
                         PostConfiguration *configuration)
{
  g_autoptr(PostConfiguration) config = NULL;
  g_autofree char *key = NULL;
  PostAssociation *self = NULL;
  GWeakRef *ref;

  g_return_val_if_fail (POST_IS_REMOTE (remote), NULL);

  config = configuration ? g_object_ref (configuration) : post_configuration_new ();
  key = make_key (local, remote, config);
  G_LOCK (associations);
  if (associations != NULL && (ref = g_hash_table_lookup (associations, key)) != NULL)
    self = g_weak_ref_get (ref);
  if (self == NULL)
    {
      self = association_create (local, remote, config, key);
      register_locked (self);
    }
  G_UNLOCK (associations);
  return self;
}

/**
 * post_association_get_local:
 * @self: a #PostAssociation
 *
 * Returns: (transfer none) (nullable): the local endpoint
 */
PostLocal *
post_association_get_local (PostAssociation *self)
{
  g_return_val_if_fail (POST_IS_ASSOCIATION (self), NULL);
  return self->local;
}

/**
 * post_association_get_remote:
 * @self: a #PostAssociation
 *
 * Returns: (transfer none): the remote endpoint
 */
PostRemote *
post_association_get_remote (PostAssociation *self)
{
  g_return_val_if_fail (POST_IS_ASSOCIATION (self), NULL);
  return self->remote;
}

/**
 * post_association_get_configuration:
 * @self: a #PostAssociation
 *
 * Returns: (transfer none): the configuration (frozen)
 */
PostConfiguration *
post_association_get_configuration (PostAssociation *self)
{
  g_return_val_if_fail (POST_IS_ASSOCIATION (self), NULL);
  return self->configuration;
}

/**
 * post_association_initiate:
 * @self: a #PostAssociation
 *
 * Creates a carrier on the association (draft `.Initiate()`), as
 * post_carrier_initiate() does.
 *
 * Returns: (transfer full): a new carrier, establishing
 */
PostCarrier *
post_association_initiate (PostAssociation *self)
{
  g_return_val_if_fail (POST_IS_ASSOCIATION (self), NULL);
  return _post_carrier_initiate_on_association (self);
}

/**
 * post_association_get_carriers:
 * @self: a #PostAssociation
 *
 * Returns: (transfer container) (element-type PostCarrier): the carriers
 *   on the association that are not closed (draft `.Carriers()`)
 */
GPtrArray *
post_association_get_carriers (PostAssociation *self)
{
  GPtrArray *result;

  g_return_val_if_fail (POST_IS_ASSOCIATION (self), NULL);

  result = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < self->carriers->len; i++)
    g_ptr_array_add (result, g_object_ref (self->carriers->pdata[i]));
  return result;
}

/**
 * post_association_get_paths:
 * @self: a #PostAssociation
 *
 * Returns: (transfer container) (element-type PostPath): every path the
 *   association's transients used (draft `.Paths()`)
 */
GPtrArray *
post_association_get_paths (PostAssociation *self)
{
  GPtrArray *result;

  g_return_val_if_fail (POST_IS_ASSOCIATION (self), NULL);

  result = g_ptr_array_new_with_free_func (g_object_unref);
  for (guint i = 0; i < self->paths->len; i++)
    g_ptr_array_add (result, g_object_ref (self->paths->pdata[i]));
  return result;
}

/**
 * post_association_get_last_stack:
 * @self: a #PostAssociation
 *
 * Returns: (nullable): the stack of the last successful establishment
 */
const char *
post_association_get_last_stack (PostAssociation *self)
{
  g_return_val_if_fail (POST_IS_ASSOCIATION (self), NULL);
  return self->last_stack;
}

void
_post_association_add_carrier (PostAssociation *self,
                               PostCarrier     *carrier)
{
  if (g_ptr_array_find (self->carriers, carrier, NULL))
    return;
  g_ptr_array_add (self->carriers, carrier);
  g_signal_emit (self, signals[SIGNAL_CARRIER_ADDED], 0, carrier);
}

void
_post_association_remove_carrier (PostAssociation *self,
                                  PostCarrier     *carrier)
{
  if (g_ptr_array_remove (self->carriers, carrier))
    g_signal_emit (self, signals[SIGNAL_CARRIER_REMOVED], 0, carrier);
}

static gboolean
address_equal (GSocketAddress *a,
               GSocketAddress *b)
{
  if (a == NULL || b == NULL)
    return a == b;
  if (G_IS_INET_SOCKET_ADDRESS (a) && G_IS_INET_SOCKET_ADDRESS (b))
    return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (a))
             == g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (b))
           && g_inet_address_equal (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (a)),
                                    g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (b)));
  return FALSE;
}

PostPath *
_post_association_ensure_path (PostAssociation *self,
                               PostPsi         *psi)
{
  PostPath *path;

  for (guint i = 0; i < self->paths->len; i++)
    {
      path = self->paths->pdata[i];
      if (address_equal (post_path_get_local_address (path), post_psi_get_local_address (psi))
          && address_equal (post_path_get_remote_address (path), post_psi_get_remote_address (psi))
          && g_strcmp0 (post_path_get_stack_name (path),
                        post_stack_get_name (post_psi_get_stack (psi))) == 0)
        return path;
    }
  path = _post_path_new_for_psi (psi);
  g_ptr_array_add (self->paths, path);
  g_signal_emit (self, signals[SIGNAL_PATH_ADDED], 0, path);
  return path;
}

void
_post_association_record_success (PostAssociation *self,
                                  const char      *stack_name,
                                  GSocketAddress  *remote_address)
{
  g_set_object (&self->last_address, remote_address);
  if (g_strcmp0 (self->last_stack, stack_name) != 0)
    {
      g_free (self->last_stack);
      self->last_stack = g_strdup (stack_name);
      g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_LAST_STACK]);
    }
}

GSocketAddress *
_post_association_get_last_address (PostAssociation *self)
{
  return self->last_address;
}
