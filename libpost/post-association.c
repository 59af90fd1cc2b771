/* post-association.c: PostAssociation, long-lived state between a Local and a Remote
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "post-carrier-private.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>
#include <glib/gstdio.h>

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

/* What makes two associations the same (compared by value): the canonical
 * texts of local ("*" for none), remote and configuration.  The texts are
 * those the objects keep (frozen local and configuration, remote), so a
 * lookup neither formats nor hashes long strings; the configuration's hash
 * is computed once, when it is frozen. */
typedef struct
{
  const char *local;
  const char *remote;
  const char *configuration;
  guint       hash;
} AssociationKey;

struct _PostAssociation
{
  GObject            parent_instance;

  PostLocal         *local;           /* (owned) (nullable) */
  PostRemote        *remote;          /* (owned) */
  PostConfiguration *configuration;   /* (owned) frozen */
  AssociationKey     table_key;       /* its key in the table of live associations */
  char              *key;             /* (owned) (nullable) the key as text, made when needed */
  GPtrArray         *carriers;        /* (owned) (element-type PostCarrier) unowned pointers */
  GPtrArray         *paths;           /* (owned) (element-type PostPath) */
  char              *last_stack;      /* (owned) (nullable) */
  GSocketAddress    *last_address;    /* (owned) (nullable) */
  GSocketAddress    *last_local;      /* (owned) (nullable) gathered local of the last winner */
  char              *psk_identity;    /* (owned) (nullable) */
  GBytes            *psk;             /* (owned) (nullable) secret: never logged */
  char              *ticket_key;      /* (owned) (nullable) ticket_key_locked()'s, under the tickets lock */
  gboolean           ticket_key_disk; /* ...made with the disk cache's secret */
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
static GHashTable *associations;  /* (element-type AssociationKey GWeakRef) keys unowned: each
                                   * points into the association its value refers to */

static void
weak_ref_free (gpointer data)
{
  g_weak_ref_clear (data);
  g_free (data);
}

static guint
association_key_hash (gconstpointer data)
{
  return ((const AssociationKey *) data)->hash;
}

static gboolean
association_key_equal (gconstpointer a,
                       gconstpointer b)
{
  const AssociationKey *ka = a;
  const AssociationKey *kb = b;

  return ka->hash == kb->hash
         && strcmp (ka->remote, kb->remote) == 0
         && strcmp (ka->local, kb->local) == 0
         && (ka->configuration == kb->configuration
             || strcmp (ka->configuration, kb->configuration) == 0);
}

/* Fills @key for @local, @remote and @configuration; texts the objects do
 * not keep (not yet frozen) are made and returned in @owned_local and
 * @owned_configuration, for the caller to free. */
static void
association_key_init (AssociationKey     *key,
                      PostLocal          *local,
                      PostRemote         *remote,
                      PostConfiguration  *configuration,
                      char              **owned_local,
                      char              **owned_configuration)
{
  guint configuration_hash = 0;

  *owned_local = NULL;
  *owned_configuration = NULL;
  if (local == NULL)
    key->local = "*";
  else if ((key->local = _post_local_get_canonical (local)) == NULL)
    key->local = *owned_local = post_local_to_string (local);
  key->remote = _post_remote_get_canonical (remote);
  key->configuration = _post_configuration_get_canonical (configuration, &configuration_hash);
  if (key->configuration == NULL)
    {
      key->configuration = *owned_configuration = post_configuration_to_string (configuration);
      configuration_hash = g_str_hash (key->configuration);
    }
  key->hash = (g_str_hash (key->local) * 31 + g_str_hash (key->remote)) * 31 + configuration_hash;
}

/* The key as one text (session ticket cache, its file names): made the
 * first time it is needed.  Associations may be shared across threads. */
static const char *
association_key_text (PostAssociation *self)
{
  char *text = g_atomic_pointer_get (&self->key);

  if (text == NULL)
    {
      text = g_strdup_printf ("%s\n%s\n%s", self->table_key.local, self->table_key.remote,
                              self->table_key.configuration);
      if (!g_atomic_pointer_compare_and_exchange (&self->key, NULL, text))
        {
          g_free (text);
          text = g_atomic_pointer_get (&self->key);
        }
    }
  return text;
}

static void
post_association_finalize (GObject *object)
{
  PostAssociation *self = POST_ASSOCIATION (object);

  PostAssociation *current = NULL;

  G_LOCK (associations);
  if (associations != NULL)
    {
      GWeakRef *ref = g_hash_table_lookup (associations, &self->table_key);

      current = ref ? g_weak_ref_get (ref) : NULL;
      /* Our weak ref is already cleared; drop the entry if it was ours. */
      if (ref != NULL && current == NULL)
        g_hash_table_remove (associations, &self->table_key);
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
  g_clear_object (&self->last_local);
  g_clear_pointer (&self->psk_identity, g_free);
  g_clear_pointer (&self->ticket_key, g_free);
  g_clear_pointer (&self->psk, g_bytes_unref);

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
                    PostConfiguration *configuration)
{
  PostAssociation *self = g_object_new (POST_TYPE_ASSOCIATION, NULL);
  char *owned_local, *owned_configuration;

  self->local = local ? g_object_ref (local) : NULL;
  self->remote = g_object_ref (remote);
  self->configuration = configuration ? g_object_ref (configuration)
                                      : _post_configuration_dup_default ();
  post_configuration_freeze (self->configuration);
  if (self->local != NULL)
    _post_local_freeze (self->local);
  /* Both frozen: the key's texts are the objects' own. */
  association_key_init (&self->table_key, self->local, self->remote, self->configuration,
                        &owned_local, &owned_configuration);
  g_assert (owned_local == NULL && owned_configuration == NULL);
  return self;
}

static void
register_locked (PostAssociation *self)
{
  GWeakRef *ref;

  if (associations == NULL)
    associations = g_hash_table_new_full (association_key_hash, association_key_equal,
                                          NULL, weak_ref_free);
  ref = g_new0 (GWeakRef, 1);
  g_weak_ref_init (ref, self);
  /* replace, not insert: the key must be the one of the association the
   * value refers to */
  g_hash_table_replace (associations, &self->table_key, ref);
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
  PostAssociation *self;

  g_return_val_if_fail (local == NULL || POST_IS_LOCAL (local), NULL);
  g_return_val_if_fail (POST_IS_REMOTE (remote), NULL);
  g_return_val_if_fail (configuration == NULL || POST_IS_CONFIGURATION (configuration), NULL);

  self = association_create (local, remote, configuration);
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
  g_autofree char *owned_local = NULL;
  g_autofree char *owned_configuration = NULL;
  AssociationKey key;
  PostAssociation *self = NULL;
  GWeakRef *ref;

  g_return_val_if_fail (POST_IS_REMOTE (remote), NULL);

  config = configuration ? g_object_ref (configuration) : _post_configuration_dup_default ();
  association_key_init (&key, local, remote, config, &owned_local, &owned_configuration);
  G_LOCK (associations);
  if (associations != NULL && (ref = g_hash_table_lookup (associations, &key)) != NULL)
    self = g_weak_ref_get (ref);
  if (self == NULL)
    {
      self = association_create (local, remote, config);
      register_locked (self);
    }
  G_UNLOCK (associations);
  return self;
}

/**
 * post_association_get_local:
 * @self: a #PostAssociation
 *
 * Gets the local endpoint of the association, which the association froze
 * when it took it; %NULL means any. It belongs to @self.
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
 * Gets the remote endpoint of the association, the one its carriers are
 * initiated to. It belongs to @self.
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
 * Gets the configuration of the association, which the association froze
 * when it took it; every carrier initiated on the association follows it.
 * It belongs to @self.
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
 * Lists the carriers of the association that are not closed: those
 * initiated on it and their forks. The caller owns the array, which holds
 * a reference to each carrier.
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
 * Lists the paths that the transients of the association used (draft
 * section 3.4), with what their stacks measured. The caller owns the
 * array, which holds a reference to each path.
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
 * Gets the name of the stack with which a carrier of the association was
 * last established, so that the next establishment can try it first (what
 * worked last time, draft section 2.3). The string belongs to @self.
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
                                  GSocketAddress  *remote_address,
                                  GSocketAddress  *local_address)
{
  g_set_object (&self->last_address, remote_address);
  g_set_object (&self->last_local, local_address);
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

GSocketAddress *
_post_association_get_last_local_address (PostAssociation *self)
{
  return self->last_local;
}

/* ---- security state ------------------------------------------------------- */

/*
 * Session tickets are association state (draft 2.3) that must outlive the
 * association object itself: an application that initiates one carrier,
 * closes it and initiates another gets a new PostAssociation for the same
 * local, remote and configuration, and should resume.  So tickets live in
 * a process-wide cache, and, when the configuration's `tls.session-cache`
 * option is "disk", in a file per key under $XDG_CACHE_HOME/libpost/sessions
 * (directory 0700, files 0600, named by a SHA-256 of the key so that no
 * host name shows).  Expired tickets are dropped when read; each ticket is
 * used once (TLS 1.3 tickets should not be reused, RFC 8446 C.4).
 *
 * A ticket carries the authentication of the session it came from, so it
 * may only serve an association with the same security identity: the key
 * of the cache is the association key (local, remote, configuration) and
 * an HMAC-SHA-256 over a canonical encoding of what authenticates the
 * session: the pre-shared key's identity and key, the trust anchors and
 * whether the system's store is used, the pinned keys, the local's client
 * certificate, the server name and the ALPN ids.  The HMAC key is a random
 * secret: the process's own for the memory cache, and for the disk cache
 * one kept in the cache directory (the file "secret", 0600), so that
 * neither the file names nor anything else in the cache lets a weak
 * pre-shared key be guessed offline; the key itself is never stored.  A
 * cache file (or the secret) that is not a regular file owned by the user
 * with no access for others is not used (a debug message says why).
 */
#define TICKETS_PER_KEY 8
#define TICKET_KEYS_MAX 256

typedef struct {
  GBytes *ticket;   /* (owned) */
  gint64  expiry;   /* seconds since the Epoch */
} Ticket;

G_LOCK_DEFINE_STATIC (tickets);
static GHashTable *ticket_cache;  /* (element-type utf8 GPtrArray<Ticket>) */

static void
ticket_free (gpointer data)
{
  Ticket *ticket = data;

  g_bytes_unref (ticket->ticket);
  g_free (ticket);
}

static gboolean
uses_disk_cache (PostAssociation *self)
{
  GVariant *mode = post_configuration_get_option (self->configuration, "tls.session-cache");

  return mode != NULL && g_variant_is_of_type (mode, G_VARIANT_TYPE_STRING)
         && g_strcmp0 (g_variant_get_string (mode, NULL), "disk") == 0;
}

#define SECRET_SIZE 32

static char *
cache_dir (void)
{
  return g_build_filename (g_get_user_cache_dir (), "libpost", "sessions", NULL);
}

/* Whether @st (of @path, for the debug message) is private to the user:
 * owned by the effective user, no access for group or others, and of the
 * type @type (S_IFREG, S_IFDIR). */
static gboolean
is_private (const struct stat *st,
            mode_t             type,
            const char        *path)
{
  if ((st->st_mode & S_IFMT) != type)
    g_debug ("Session cache: %s is not a %s; not using it", path, type == S_IFDIR ? "directory" : "regular file");
  else if (st->st_uid != geteuid ())
    g_debug ("Session cache: %s belongs to user %u, not to us; not using it", path, (guint) st->st_uid);
  else if ((st->st_mode & 077) != 0)
    g_debug ("Session cache: %s is open to others (mode %03o); not using it", path, (guint) (st->st_mode & 0777));
  else
    return TRUE;
  return FALSE;
}

/* Reads @path, a file private to the user (is_private(), not followed if
 * it is a symbolic link), into *@contents; FALSE when it is absent,
 * unreadable or refused. */
static gboolean
read_private_file (const char  *path,
                   char       **contents,
                   gsize       *length)
{
  struct stat st;
  int fd = open (path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);
  GByteArray *bytes;
  gboolean ok = TRUE;

  *contents = NULL;
  *length = 0;
  if (fd < 0)
    {
      if (errno != ENOENT)
        g_debug ("Session cache: cannot open %s: %s", path, g_strerror (errno));
      return FALSE;
    }
  if (fstat (fd, &st) != 0 || !is_private (&st, S_IFREG, path))
    {
      close (fd);
      return FALSE;
    }
  bytes = g_byte_array_sized_new (st.st_size > 0 && st.st_size < 1 << 20 ? st.st_size : 4096);
  for (;;)
    {
      guint8 buffer[4096];
      gssize n = read (fd, buffer, sizeof buffer);

      if (n < 0 && errno == EINTR)
        continue;
      if (n < 0)
        ok = FALSE;
      if (n <= 0)
        break;
      g_byte_array_append (bytes, buffer, n);
    }
  close (fd);
  if (!ok)
    {
      g_debug ("Session cache: cannot read %s", path);
      g_byte_array_unref (bytes);
      return FALSE;
    }
  *length = bytes->len;
  g_byte_array_append (bytes, (const guint8 *) "", 1);  /* NUL-terminated, like g_file_get_contents() */
  *contents = (char *) g_byte_array_free (bytes, FALSE);
  return TRUE;
}

/* The cache directory, made (0700) if @create; NULL (with a debug
 * message) when it is absent or not private to the user. */
static char *
private_cache_dir (gboolean create)
{
  g_autofree char *dir = cache_dir ();
  struct stat st;

  if (create)
    {
      g_autofree char *parent = g_path_get_dirname (dir);

      if (g_mkdir_with_parents (dir, 0700) != 0)
        {
          g_debug ("Cannot create the session cache directory %s: %s", dir, g_strerror (errno));
          return NULL;
        }
      /* Both levels are ours: keep them private even if they existed. */
      g_chmod (parent, 0700);
      g_chmod (dir, 0700);
    }
  if (g_lstat (dir, &st) != 0 || !is_private (&st, S_IFDIR, dir))
    return NULL;
  return g_steal_pointer (&dir);
}

static gboolean
fill_random (guint8 *buffer,
             gsize   size)
{
  gsize done = 0;

  while (done < size)
    {
      gssize n = getrandom (buffer + done, size - done, 0);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        return FALSE;
      done += n;
    }
  return TRUE;
}

/* The HMAC key of the memory cache: random, made once per process; NULL
 * if the system gives no randomness (then nothing is cached). */
static const guint8 *
process_secret (void)
{
  static guint8 secret[SECRET_SIZE];
  static gsize state = 0;   /* 1: made, 2: failed */

  if (g_once_init_enter (&state))
    g_once_init_leave (&state, fill_random (secret, sizeof secret) ? 1 : 2);
  return state == 1 ? secret : NULL;
}

/* The HMAC key of the disk cache (called with the tickets lock held): the
 * file "secret" of the cache directory, made when @create and absent;
 * NULL when there is none or it cannot be trusted. */
static guint8 disk_secret[SECRET_SIZE];
static gboolean disk_secret_loaded;

static const guint8 *
disk_secret_locked (gboolean create)
{
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autofree char *contents = NULL;
  gsize length;

  if (disk_secret_loaded)
    return disk_secret;
  if ((dir = private_cache_dir (create)) == NULL)
    return NULL;
  path = g_build_filename (dir, "secret", NULL);
  if (create && !g_file_test (path, G_FILE_TEST_EXISTS))
    {
      guint8 fresh[SECRET_SIZE];
      int fd;

      if (!fill_random (fresh, sizeof fresh))
        return NULL;
      fd = open (path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (fd >= 0)
        {
          gboolean written = write (fd, fresh, sizeof fresh) == sizeof fresh;

          if (close (fd) != 0 || !written)
            {
              g_debug ("Session cache: cannot write %s", path);
              g_unlink (path);
            }
        }
      /* else another process made it first: read theirs */
      memset (fresh, 0, sizeof fresh);
    }
  if (!read_private_file (path, &contents, &length))
    return NULL;
  if (length != SECRET_SIZE)
    {
      g_debug ("Session cache: %s is not a secret of %u bytes; not using it", path, SECRET_SIZE);
      memset (contents, 0, length);
      return NULL;
    }
  memcpy (disk_secret, contents, SECRET_SIZE);
  memset (contents, 0, length);
  disk_secret_loaded = TRUE;
  return disk_secret;
}

/* How many fields of @tag follow. */
static void
identity_count (GHmac *hmac,
                char   tag,
                gsize  n)
{
  guint64 be = GUINT64_TO_BE ((guint64) n);

  g_hmac_update (hmac, (const guchar *) &tag, 1);
  g_hmac_update (hmac, (const guchar *) &be, sizeof be);
}

/* One field of the security identity: a tag, then a length (64-bit big
 * endian) and the bytes, so that no two sets of inputs encode alike. */
static void
identity_field (GHmac        *hmac,
                char          tag,
                gconstpointer data,
                gsize         length)
{
  identity_count (hmac, tag, length);
  if (length > 0)
    g_hmac_update (hmac, data, length);
}

static void
identity_string (GHmac      *hmac,
                 char        tag,
                 const char *text)
{
  identity_field (hmac, tag, text, text != NULL ? strlen (text) : 0);
}

static void
identity_bytes (GHmac  *hmac,
                char    tag,
                GBytes *bytes)
{
  gsize length = 0;
  gconstpointer data = bytes != NULL ? g_bytes_get_data (bytes, &length) : NULL;

  identity_field (hmac, tag, data, length);
}

static void
identity_strv (GHmac       *hmac,
               char         tag,
               char       **strv)
{
  identity_count (hmac, tag, strv != NULL ? g_strv_length (strv) : 0);
  for (guint i = 0; strv != NULL && strv[i] != NULL; i++)
    identity_string (hmac, tag, strv[i]);
}

/* The client certificate of @local (PEM, or DER from a GTlsCertificate
 * that does not give its key as PEM), or NULL. */
static GBytes *
client_certificate (PostLocal *local)
{
  GBytes *pem = NULL;
  GTlsCertificate *identity;
  g_autoptr(GByteArray) der = NULL;

  if (local == NULL)
    return NULL;
  if (post_local_get_identity_pem (local, &pem, NULL))
    return g_bytes_ref (pem);
  identity = post_local_get_identity (local);
  if (identity == NULL)
    return NULL;
  g_object_get (identity, "certificate", &der, NULL);
  return der != NULL ? g_bytes_new (der->data, der->len) : NULL;
}

/* The key of the association's tickets (called with the tickets lock
 * held): the association key and the HMAC of its security identity, in
 * hex; NULL when no secret is at hand (then nothing is cached).
 * @create_secret: the disk cache's secret may be made.  What goes into it
 * is the association's frozen configuration and local, its remote, and
 * its pre-shared key, whose setter forgets the key: it is made once (an
 * HMAC over the anchors and the rest, three times per resumed carrier). */
static char *
ticket_key_locked (PostAssociation *self,
                   gboolean         disk,
                   gboolean         create_secret)
{
  const guint8 *secret = disk ? disk_secret_locked (create_secret) : process_secret ();
  g_autoptr(GHmac) hmac = NULL;
  g_autoptr(GPtrArray) anchors = NULL;
  g_auto(GStrv) pins = NULL;
  g_auto(GStrv) alpn = NULL;
  g_autoptr(GBytes) certificate = NULL;
  guint8 system_trust;

  if (secret == NULL)
    return NULL;
  if (self->ticket_key != NULL && self->ticket_key_disk == disk)
    return g_strdup (self->ticket_key);
  hmac = g_hmac_new (G_CHECKSUM_SHA256, secret, SECRET_SIZE);
  identity_string (hmac, 'i', self->psk_identity);
  identity_bytes (hmac, 'k', self->psk);
  anchors = post_configuration_get_trust_anchors (self->configuration);
  identity_count (hmac, 'a', anchors->len);
  for (guint i = 0; i < anchors->len; i++)
    identity_bytes (hmac, 'a', anchors->pdata[i]);
  system_trust = post_configuration_get_use_system_trust (self->configuration);
  identity_field (hmac, 's', &system_trust, 1);
  pins = post_configuration_get_pinned_keys (self->configuration);
  identity_strv (hmac, 'p', pins);
  certificate = client_certificate (self->local);
  identity_bytes (hmac, 'c', certificate);
  identity_string (hmac, 'n', post_remote_get_hostname (self->remote));
  alpn = post_configuration_get_alpn (self->configuration);
  identity_strv (hmac, 'l', alpn);
  g_free (self->ticket_key);
  self->ticket_key = g_strdup_printf ("%s\n%s", association_key_text (self), g_hmac_get_string (hmac));
  self->ticket_key_disk = disk;
  return g_strdup (self->ticket_key);
}

static char *
cache_file_path (const char *key,
                 gboolean    create_dir)
{
  g_autofree char *dir = private_cache_dir (create_dir);
  g_autofree char *name = NULL;

  if (dir == NULL)
    return NULL;
  name = g_compute_checksum_for_string (G_CHECKSUM_SHA256, key, -1);
  return g_build_filename (dir, name, NULL);
}

/* Called with the lock held: the tickets under @key, loaded from disk the
 * first time when the disk cache is on. */
static GPtrArray *
tickets_locked (PostAssociation *self,
                const char      *key)
{
  GPtrArray *list;

  if (ticket_cache == NULL)
    ticket_cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                          (GDestroyNotify) g_ptr_array_unref);
  list = g_hash_table_lookup (ticket_cache, key);
  if (list != NULL)
    return list;

  if (g_hash_table_size (ticket_cache) >= TICKET_KEYS_MAX)
    g_hash_table_remove_all (ticket_cache);
  list = g_ptr_array_new_with_free_func (ticket_free);
  g_hash_table_insert (ticket_cache, g_strdup (key), list);

  if (uses_disk_cache (self))
    {
      g_autofree char *path = cache_file_path (key, FALSE);
      g_autofree char *contents = NULL;
      gsize length = 0;

      if (path != NULL && read_private_file (path, &contents, &length))
        {
          g_autoptr(GBytes) bytes = g_bytes_new_take (g_steal_pointer (&contents), length);
          g_autoptr(GVariant) v = g_variant_ref_sink (g_variant_new_from_bytes (G_VARIANT_TYPE ("a(xay)"), bytes, FALSE));
          GVariantIter iter;
          gint64 expiry;
          GVariant *data;

          g_variant_iter_init (&iter, v);
          while (g_variant_iter_next (&iter, "(x@ay)", &expiry, &data))
            {
              Ticket *ticket = g_new0 (Ticket, 1);

              ticket->expiry = expiry;
              ticket->ticket = g_variant_get_data_as_bytes (data);
              g_ptr_array_add (list, ticket);
              g_variant_unref (data);
            }
        }
    }
  return list;
}

static void
save_locked (PostAssociation *self,
             const char      *key,
             GPtrArray       *list)
{
  g_autofree char *path = NULL;
  g_autoptr(GVariant) v = NULL;
  GVariantBuilder builder;
  g_autoptr(GError) error = NULL;

  if (!uses_disk_cache (self))
    return;
  path = cache_file_path (key, TRUE);
  if (path == NULL)
    return;
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("a(xay)"));
  for (guint i = 0; i < list->len; i++)
    {
      Ticket *ticket = list->pdata[i];

      g_variant_builder_add (&builder, "(x@ay)", ticket->expiry,
                             g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING, ticket->ticket, TRUE));
    }
  v = g_variant_ref_sink (g_variant_builder_end (&builder));
  if (!g_file_set_contents_full (path, g_variant_get_data (v), g_variant_get_size (v),
                                 G_FILE_SET_CONTENTS_CONSISTENT, 0600, &error))
    g_debug ("Cannot write the session cache: %s", error->message);
}

static void
drop_expired (GPtrArray *list)
{
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;

  for (guint i = list->len; i > 0; i--)
    if (((Ticket *) list->pdata[i - 1])->expiry <= now)
      g_ptr_array_remove_index (list, i - 1);
}

/**
 * post_association_set_pre_shared_key:
 * @self: a #PostAssociation
 * @identity: (nullable): the PSK identity the peer knows the key by, or
 *   %NULL (with @key %NULL) to remove the key
 * @key: (nullable): the secret, at least 16 bytes
 * @error: return location for an error
 *
 * Sets a pre-shared key agreed out of band (draft 3.1.5).  Secure stacks
 * then authenticate with it, with no certificate needed; a listener finds
 * the keys it accepts with post_local_add_pre_shared_key().  The key is
 * never logged.
 *
 * Returns: %TRUE on success
 */
gboolean
post_association_set_pre_shared_key (PostAssociation  *self,
                                     const char       *identity,
                                     GBytes           *key,
                                     GError          **error)
{
  g_return_val_if_fail (POST_IS_ASSOCIATION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if ((identity == NULL) != (key == NULL)
      || (identity != NULL && (*identity == '\0' || strlen (identity) > 255))
      || (key != NULL && g_bytes_get_size (key) < 16))
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                           "a pre-shared key needs an identity (1 to 255 bytes) and a key of at least 16 bytes");
      return FALSE;
    }
  G_LOCK (tickets);
  g_clear_pointer (&self->ticket_key, g_free);   /* the psk is in it */
  G_UNLOCK (tickets);
  g_clear_pointer (&self->psk_identity, g_free);
  g_clear_pointer (&self->psk, g_bytes_unref);
  if (key != NULL)
    {
      self->psk_identity = g_strdup (identity);
      self->psk = g_bytes_ref (key);
    }
  return TRUE;
}

/**
 * post_association_get_pre_shared_key:
 * @self: a #PostAssociation
 * @identity: (out) (optional) (transfer none): the key's identity
 *
 * Gets the pre-shared key set with
 * [method@Post.Association.set_pre_shared_key], and its identity, which
 * secure stacks authenticate with. Both belong to @self.
 *
 * Returns: (transfer none) (nullable): the pre-shared key, if one is set
 */
GBytes *
post_association_get_pre_shared_key (PostAssociation  *self,
                                     const char      **identity)
{
  g_return_val_if_fail (POST_IS_ASSOCIATION (self), NULL);
  if (identity != NULL)
    *identity = self->psk_identity;
  return self->psk;
}

/**
 * post_association_add_session_ticket:
 * @self: a #PostAssociation
 * @ticket: resumption state a transient exported (opaque to the core)
 * @expiry: when it stops being usable, in seconds since the Epoch
 *
 * Stores a session ticket for the next carriers of the association (and of
 * any later association with the same local, remote and configuration).
 * Secure stacks call this when the peer issues a ticket.
 *
 * A ticket is kept for the association's security identity: its
 * pre-shared key (identity and key), trust anchors and use of the system's
 * store, pinned keys, client certificate, server name and ALPN ids.  Only
 * an association with the same identity gets it back from
 * post_association_take_session_ticket(): changing the pre-shared key
 * with post_association_set_pre_shared_key() leaves the tickets of the old
 * one unused.
 */
void
post_association_add_session_ticket (PostAssociation *self,
                                     GBytes          *ticket,
                                     gint64           expiry)
{
  g_autofree char *key = NULL;
  GPtrArray *list;
  Ticket *entry;

  g_return_if_fail (POST_IS_ASSOCIATION (self));
  g_return_if_fail (ticket != NULL);

  if (expiry <= g_get_real_time () / G_USEC_PER_SEC)
    return;

  G_LOCK (tickets);
  key = ticket_key_locked (self, uses_disk_cache (self), TRUE);
  if (key != NULL)
    {
      entry = g_new0 (Ticket, 1);
      entry->ticket = g_bytes_ref (ticket);
      entry->expiry = expiry;
      list = tickets_locked (self, key);
      drop_expired (list);
      while (list->len >= TICKETS_PER_KEY)
        g_ptr_array_remove_index (list, 0);
      g_ptr_array_add (list, entry);
      save_locked (self, key, list);
    }
  G_UNLOCK (tickets);
}

/**
 * post_association_take_session_ticket:
 * @self: a #PostAssociation
 *
 * Removes and returns the newest ticket that has not expired.
 *
 * Returns: (transfer full) (nullable): a ticket, or %NULL
 */
GBytes *
post_association_take_session_ticket (PostAssociation *self)
{
  g_autofree char *key = NULL;
  GPtrArray *list;
  GBytes *result = NULL;

  g_return_val_if_fail (POST_IS_ASSOCIATION (self), NULL);

  G_LOCK (tickets);
  key = ticket_key_locked (self, uses_disk_cache (self), FALSE);
  list = key != NULL ? tickets_locked (self, key) : NULL;
  if (list != NULL)
    drop_expired (list);
  if (list != NULL && list->len > 0)
    {
      Ticket *ticket = list->pdata[list->len - 1];

      result = g_bytes_ref (ticket->ticket);
      g_ptr_array_remove_index (list, list->len - 1);
      save_locked (self, key, list);
    }
  G_UNLOCK (tickets);
  return result;
}

/**
 * post_association_get_session_ticket_count:
 * @self: a #PostAssociation
 *
 * Counts the session tickets that secure stacks stored in the association
 * and that have not expired: each lets a later carrier resume the session,
 * and send idempotent messages as 0-RTT early data.
 *
 * Returns: how many unexpired session tickets the association holds
 */
guint
post_association_get_session_ticket_count (PostAssociation *self)
{
  g_autofree char *key = NULL;
  GPtrArray *list;
  guint count = 0;

  g_return_val_if_fail (POST_IS_ASSOCIATION (self), 0);

  G_LOCK (tickets);
  key = ticket_key_locked (self, uses_disk_cache (self), FALSE);
  list = key != NULL ? tickets_locked (self, key) : NULL;
  if (list != NULL)
    {
      drop_expired (list);
      count = list->len;
    }
  G_UNLOCK (tickets);
  return count;
}

/**
 * post_association_forget_session_tickets:
 * @self: a #PostAssociation
 *
 * Drops every session ticket of the association, in memory and on disk.
 */
void
post_association_forget_session_tickets (PostAssociation *self)
{
  g_autofree char *key = NULL;

  g_return_if_fail (POST_IS_ASSOCIATION (self));

  G_LOCK (tickets);
  key = ticket_key_locked (self, uses_disk_cache (self), FALSE);
  if (key != NULL)
    g_ptr_array_set_size (tickets_locked (self, key), 0);
  if (key != NULL && uses_disk_cache (self))
    {
      g_autofree char *path = cache_file_path (key, FALSE);

      if (path != NULL)
        g_unlink (path);
    }
  G_UNLOCK (tickets);
}
