/* post-registry.c: PostRegistry, the loaded stacks
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "post-stacks-private.h"

#include <string.h>

/**
 * PostRegistry:
 *
 * The protocol stacks libpost can use, and the plugins that provide them.
 *
 * [func@Post.Registry.get_default] returns the process-wide registry. On
 * first use it scans, in order, each directory in `POST_PLUGIN_PATH`
 * (separated by colons), then `POST_PLUGIN_SYSTEM_PATH` if it is set (an
 * empty value scans nothing more) or else the installed plugin directory.
 * The environment is ignored in setuid and setgid programs.
 *
 * Scanning loads every `*.so` of a directory in file name order. A plugin
 * exports a [struct@Post.PluginDescriptor] as `post_plugin_descriptor`
 * (see [func@Post.PLUGIN_DEFINE]); its ABI version is checked before
 * anything in it is called, then its init function registers stacks with
 * [method@Post.Registry.add_stack]. Before it is opened, each file is
 * checked against its ELF headers (a shared object for this machine whose
 * segments lie within the file), so that a truncated or partly installed
 * plugin costs only itself rather than a SIGBUS in the dynamic loader.
 * A file that fails that check or cannot be opened, has no
 * descriptor, another ABI version, the name of a plugin already loaded,
 * or whose init fails is skipped with a warning; the others still load,
 * and [method@Post.Registry.get_load_errors] tells what went wrong.
 *
 * When two plugins provide a stack of the same name, the first wins.
 * `POST_STACK_RANK=name:rank,...` overrides ranks as stacks are added.
 */
struct _PostRegistry
{
  GObject parent_instance;

  GPtrArray *stacks;          /* (owned) (element-type PostStack): in order added */
  GHashTable *stacks_by_name; /* (owned) (element-type utf8 PostStack): borrowed values */
  GPtrArray *plugins;         /* (owned) (element-type utf8): plugin names, in load order */
  GPtrArray *load_errors;     /* (owned) (element-type GError) */

  /* While a plugin's init runs: its name and the stacks it added */
  const char *loading_plugin; /* (unowned) (nullable) */
  GPtrArray *loading_stacks;  /* (unowned) (nullable) (element-type PostStack) */
};

G_DEFINE_FINAL_TYPE (PostRegistry, post_registry, G_TYPE_OBJECT)

enum {
  STACK_ADDED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
post_registry_finalize (GObject *object)
{
  PostRegistry *self = POST_REGISTRY (object);

  g_clear_pointer (&self->stacks_by_name, g_hash_table_unref);
  g_clear_pointer (&self->stacks, g_ptr_array_unref);
  g_clear_pointer (&self->plugins, g_ptr_array_unref);
  g_clear_pointer (&self->load_errors, g_ptr_array_unref);

  G_OBJECT_CLASS (post_registry_parent_class)->finalize (object);
}

static void
post_registry_class_init (PostRegistryClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = post_registry_finalize;

  /**
   * PostRegistry::stack-added:
   * @self: the registry
   * @stack: the stack just added
   *
   * Emitted when a stack is added, by a plugin or by
   * [method@Post.Registry.add_stack].
   */
  signals[STACK_ADDED] =
    g_signal_new ("stack-added",
                  G_TYPE_FROM_CLASS (klass),
                  G_SIGNAL_RUN_LAST,
                  0,
                  NULL, NULL,
                  NULL,
                  G_TYPE_NONE, 1, POST_TYPE_STACK);
}

static void
post_registry_init (PostRegistry *self)
{
  self->stacks = g_ptr_array_new_with_free_func (g_object_unref);
  self->stacks_by_name = g_hash_table_new (g_str_hash, g_str_equal);
  self->plugins = g_ptr_array_new_with_free_func (g_free);
  self->load_errors = g_ptr_array_new_with_free_func ((GDestroyNotify) g_error_free);
}

/**
 * post_registry_new:
 *
 * Creates an empty registry that scans nothing by itself, for tests and
 * tools. Applications use [func@Post.Registry.get_default].
 *
 * Returns: (transfer full): a new registry
 */
PostRegistry *
post_registry_new (void)
{
  return g_object_new (POST_TYPE_REGISTRY, NULL);
}

/**
 * post_registry_get_default:
 *
 * Returns the process-wide registry, scanning the plugin directories the
 * first time.
 *
 * Returns: (transfer none): the default registry
 */
PostRegistry *
post_registry_get_default (void)
{
  static gsize initialized = 0;
  static PostRegistry *default_registry = NULL;

  if (g_once_init_enter (&initialized))
    {
      PostRegistry *registry = post_registry_new ();
      g_auto(GStrv) path = _post_plugin_get_search_path ();

      for (guint i = 0; path[i] != NULL; i++)
        post_registry_scan_directory (registry, path[i]);

      default_registry = registry;
      g_once_init_leave (&initialized, 1);
    }

  return default_registry;
}

static int
compare_file_names (gconstpointer a,
                    gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/**
 * post_registry_scan_directory:
 * @self: a registry
 * @directory: (type filename): a directory of plugins
 *
 * Loads every `*.so` in @directory, in file name order. A plugin that
 * fails to load is skipped with a warning naming the file, and its error
 * is added to [method@Post.Registry.get_load_errors]. A directory that
 * does not exist holds no plugins.
 *
 * Returns: the number of plugins loaded
 */
guint
post_registry_scan_directory (PostRegistry *self,
                              const char   *directory)
{
  g_autoptr(GDir) dir = NULL;
  g_autoptr(GPtrArray) names = NULL;
  g_autoptr(GError) error = NULL;
  const char *name;
  guint loaded = 0;

  g_return_val_if_fail (POST_IS_REGISTRY (self), 0);
  g_return_val_if_fail (directory != NULL, 0);

  dir = g_dir_open (directory, 0, &error);
  if (dir == NULL)
    {
      g_debug ("Not scanning plugin directory %s: %s", directory, error->message);
      return 0;
    }

  names = g_ptr_array_new_with_free_func (g_free);
  while ((name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_suffix (name, ".so"))
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_file_names);

  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *filename = g_build_filename (directory, names->pdata[i], NULL);
      GError *load_error = NULL;

      if (post_registry_load_plugin (self, filename, &load_error))
        {
          loaded++;
          continue;
        }

      g_warning ("Skipping plugin: %s", load_error->message);
      g_ptr_array_add (self->load_errors, load_error);
    }

  return loaded;
}

static void
remove_stack (PostRegistry *self,
              PostStack    *stack)
{
  g_hash_table_remove (self->stacks_by_name, post_stack_get_name (stack));
  g_ptr_array_remove (self->stacks, stack);
}

/**
 * post_registry_load_plugin:
 * @self: a registry
 * @filename: (type filename): the path of a plugin
 * @error: return location for an error
 *
 * Loads one plugin: checks its descriptor's ABI version, calls its init
 * function to register its stacks, and keeps it loaded for the life of
 * the process (the types it registers cannot be unloaded).
 *
 * Returns: %TRUE if the plugin loaded; %FALSE with %POST_ERROR_PLUGIN and
 *   a message naming @filename otherwise
 */
gboolean
post_registry_load_plugin (PostRegistry  *self,
                           const char    *filename,
                           GError       **error)
{
  const PostPluginDescriptor *descriptor;
  GModule *module = NULL;
  g_autoptr(GError) init_error = NULL;
  g_autoptr(GPtrArray) added = NULL;
  gboolean ok;

  g_return_val_if_fail (POST_IS_REGISTRY (self), FALSE);
  g_return_val_if_fail (filename != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  g_return_val_if_fail (self->loading_plugin == NULL, FALSE);

  descriptor = _post_plugin_open (filename, &module, error);
  if (descriptor == NULL)
    return FALSE;

  for (guint i = 0; i < self->plugins->len; i++)
    {
      if (strcmp (self->plugins->pdata[i], descriptor->name) == 0)
        {
          g_set_error (error, POST_ERROR, POST_ERROR_PLUGIN,
                       "plugin %s is named ‘%s’, like a plugin already loaded",
                       filename, descriptor->name);
          g_module_close (module);
          return FALSE;
        }
    }

  added = g_ptr_array_new_with_free_func (g_object_unref);
  self->loading_plugin = descriptor->name;
  self->loading_stacks = added;
  ok = descriptor->init (self, &init_error);
  self->loading_plugin = NULL;
  self->loading_stacks = NULL;

  /* Its code ran and may have registered types: it can never be unloaded */
  g_module_make_resident (module);

  if (!ok)
    {
      for (guint i = 0; i < added->len; i++)
        remove_stack (self, added->pdata[i]);

      g_set_error (error, POST_ERROR, POST_ERROR_PLUGIN,
                   "plugin %s (‘%s’) failed to initialize: %s", filename, descriptor->name,
                   init_error != NULL ? init_error->message : "no reason given");
      return FALSE;
    }

  g_ptr_array_add (self->plugins, g_strdup (descriptor->name));
  g_debug ("Loaded plugin ‘%s’ from %s with %u stacks", descriptor->name, filename, added->len);

  return TRUE;
}

/**
 * post_registry_add_stack:
 * @self: a registry
 * @stack: a stack
 * @error: return location for an error
 *
 * Adds @stack, applying any `POST_STACK_RANK` override to its rank, and
 * emits [signal@Post.Registry::stack-added].
 *
 * If a stack of the same name is already registered, the first one wins:
 * from a plugin's init function the newcomer is ignored with a warning
 * and %TRUE is returned, so that the plugin's other stacks still load;
 * called otherwise, this fails with %POST_ERROR_INVALID_ARGUMENT.
 *
 * Returns: %TRUE on success
 */
gboolean
post_registry_add_stack (PostRegistry  *self,
                         PostStack     *stack,
                         GError       **error)
{
  PostStack *existing;
  const char *name;
  guint rank;

  g_return_val_if_fail (POST_IS_REGISTRY (self), FALSE);
  g_return_val_if_fail (POST_IS_STACK (stack), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  name = post_stack_get_name (stack);
  existing = g_hash_table_lookup (self->stacks_by_name, name);
  if (existing != NULL)
    {
      const char *owner = post_stack_get_plugin_name (existing);

      if (self->loading_plugin != NULL)
        {
          g_warning ("Ignoring stack ‘%s’ of plugin ‘%s’: plugin ‘%s’ provides it already",
                     name, self->loading_plugin, owner != NULL ? owner : "(none)");
          return TRUE;
        }

      g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                   "a stack named ‘%s’ is already registered", name);
      return FALSE;
    }

  if (self->loading_plugin != NULL)
    {
      _post_stack_set_plugin_name (stack, self->loading_plugin);
      g_ptr_array_add (self->loading_stacks, g_object_ref (stack));
    }

  if (_post_plugin_get_rank_override (name, &rank))
    _post_stack_set_rank (stack, rank);

  g_ptr_array_add (self->stacks, g_object_ref (stack));
  g_hash_table_insert (self->stacks_by_name, (gpointer) name, stack);

  g_signal_emit (self, signals[STACK_ADDED], 0, stack);

  return TRUE;
}

/**
 * post_registry_lookup_stack:
 * @self: a registry
 * @name: a stack name such as `tcp`
 *
 * Looks up a loaded stack by its name, as URI schemes and
 * post_configuration_set_stacks() name stacks. The stack belongs to @self.
 *
 * Returns: (transfer none) (nullable): the stack named @name, if loaded
 */
PostStack *
post_registry_lookup_stack (PostRegistry *self,
                            const char   *name)
{
  g_return_val_if_fail (POST_IS_REGISTRY (self), NULL);
  g_return_val_if_fail (name != NULL, NULL);

  return g_hash_table_lookup (self->stacks_by_name, name);
}

static int
compare_stacks_by_rank (gconstpointer a,
                        gconstpointer b)
{
  PostStack *sa = *(PostStack * const *) a;
  PostStack *sb = *(PostStack * const *) b;
  guint ra = post_stack_get_rank (sa);
  guint rb = post_stack_get_rank (sb);

  if (ra != rb)
    return ra > rb ? -1 : 1;

  return strcmp (post_stack_get_name (sa), post_stack_get_name (sb));
}

/**
 * post_registry_list_stacks:
 * @self: a registry
 *
 * Lists the stacks the registry holds, loaded from plugins or added with
 * [method@Post.Registry.add_stack], in the order selection prefers them
 * when everything else is equal. The caller owns the array, which holds a
 * reference to each stack.
 *
 * Returns: (transfer full) (element-type PostStack): the loaded stacks,
 *   highest rank first, then by name; free with g_ptr_array_unref()
 */
GPtrArray *
post_registry_list_stacks (PostRegistry *self)
{
  GPtrArray *stacks;

  g_return_val_if_fail (POST_IS_REGISTRY (self), NULL);

  stacks = g_ptr_array_new_full (self->stacks->len, g_object_unref);
  for (guint i = 0; i < self->stacks->len; i++)
    g_ptr_array_add (stacks, g_object_ref (self->stacks->pdata[i]));
  g_ptr_array_sort (stacks, compare_stacks_by_rank);

  return stacks;
}

/**
 * post_registry_list_plugins:
 * @self: a registry
 *
 * Lists the names of the plugins the registry loaded, in the order it
 * loaded them. The caller owns the array; free it with g_strfreev().
 *
 * Returns: (transfer full) (array zero-terminated=1): the names of the
 *   loaded plugins, in load order
 */
char **
post_registry_list_plugins (PostRegistry *self)
{
  GStrvBuilder *builder;
  char **names;

  g_return_val_if_fail (POST_IS_REGISTRY (self), NULL);

  builder = g_strv_builder_new ();
  for (guint i = 0; i < self->plugins->len; i++)
    g_strv_builder_add (builder, self->plugins->pdata[i]);
  names = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);

  return names;
}

/**
 * post_registry_get_load_errors:
 * @self: a registry
 *
 * Gets why each plugin that the registry found while scanning its
 * directories could not be loaded (not a plugin, a wrong ABI version, an
 * init function that failed); the registry skipped them and loaded the
 * rest. The array and the errors belong to @self.
 *
 * Returns: (transfer none) (element-type GError): why each plugin that
 *   was skipped while scanning failed to load, in %POST_ERROR_PLUGIN
 */
const GPtrArray *
post_registry_get_load_errors (PostRegistry *self)
{
  g_return_val_if_fail (POST_IS_REGISTRY (self), NULL);
  return self->load_errors;
}

/* Whether a loaded stack is named @family or declares an option in it */
static gboolean
family_is_known (PostRegistry *self,
                 const char   *family)
{
  g_autofree char *prefix = g_strconcat (family, ".", NULL);

  for (guint i = 0; i < self->stacks->len; i++)
    {
      PostStack *stack = self->stacks->pdata[i];
      g_autoptr(GPtrArray) options = post_stack_list_options (stack);

      if (strcmp (post_stack_get_name (stack), family) == 0)
        return TRUE;
      for (guint j = 0; j < options->len; j++)
        if (g_str_has_prefix (((const PostStackOption *) options->pdata[j])->key, prefix))
          return TRUE;
    }
  return FALSE;
}

/**
 * post_registry_lookup_option:
 * @self: a registry
 * @key: an option key such as `tcp.user-timeout`
 *
 * Looks up how a protocol option is declared, by the first loaded stack of
 * the key's family that declares it; configurations and policy files are
 * checked against it. The declaration belongs to the stack.
 *
 * Returns: (nullable) (transfer none): the declaration of @key by the
 *   first loaded stack that declares it, or %NULL
 */
const PostStackOption *
post_registry_lookup_option (PostRegistry *self,
                             const char   *key)
{
  g_return_val_if_fail (POST_IS_REGISTRY (self), NULL);
  g_return_val_if_fail (key != NULL, NULL);

  for (guint i = 0; i < self->stacks->len; i++)
    {
      const PostStackOption *option = post_stack_lookup_option (self->stacks->pdata[i], key);

      if (option != NULL)
        return option;
    }
  return NULL;
}

/**
 * post_registry_check_option:
 * @self: a registry
 * @key: an option key `family.option`
 * @value: its value (not floating)
 * @normalized: (out) (optional) (transfer full): the value to store:
 *   @value converted to the declared type, or @value itself
 * @error: return location for an error
 *
 * Checks an option against the declarations of the loaded stacks (see
 * [method@Post.Stack.add_options]): a declared option's value must have
 * its type and lie in its range; a key of a family the loaded stacks
 * know (a stack of that name, or one declaring options of that family)
 * must be declared. Keys of other families pass: no loaded stack reads
 * them.
 *
 * Returns: %TRUE if @value may be set; %FALSE with
 *   %POST_ERROR_INVALID_ARGUMENT naming the option otherwise
 */
gboolean
post_registry_check_option (PostRegistry  *self,
                            const char    *key,
                            GVariant      *value,
                            GVariant     **normalized,
                            GError       **error)
{
  const PostStackOption *option;
  g_autofree char *family = NULL;
  g_autofree char *prefix = NULL;
  g_autoptr(GString) known = NULL;
  const char *dot;

  g_return_val_if_fail (POST_IS_REGISTRY (self), FALSE);
  g_return_val_if_fail (key != NULL, FALSE);
  g_return_val_if_fail (value != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (normalized != NULL)
    *normalized = NULL;

  option = post_registry_lookup_option (self, key);
  if (option != NULL)
    return post_stack_option_check (option, value, normalized, error);

  dot = strchr (key, '.');
  family = g_strndup (key, dot != NULL ? (gsize) (dot - key) : strlen (key));
  if (!family_is_known (self, family))
    {
      if (normalized != NULL)
        *normalized = g_variant_ref (value);
      return TRUE;
    }

  prefix = g_strconcat (family, ".", NULL);
  known = g_string_new (NULL);
  for (guint i = 0; i < self->stacks->len; i++)
    {
      g_autoptr(GPtrArray) options = post_stack_list_options (self->stacks->pdata[i]);

      for (guint j = 0; j < options->len; j++)
        {
          const char *other = ((const PostStackOption *) options->pdata[j])->key;
          g_autofree char *quoted = NULL;

          /* (policy files are checked on every reload: no formatting for
           * the options of other families) */
          if (!g_str_has_prefix (other, prefix))
            continue;
          quoted = g_strconcat (other, ", ", NULL);
          if (strstr (known->str, quoted) == NULL)
            g_string_append (known, quoted);
        }
    }
  if (known->len > 0)
    g_string_truncate (known, known->len - 2);

  g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
               "unknown option %s: no loaded stack reads it (the %s options are: %s)",
               key, family, known->len > 0 ? known->str : "none");
  return FALSE;
}

/* The values layer's option check (post_configuration_set_option(),
 * PostOptionCheckFunc): against the default registry, which scans the
 * plugin directories the first time, as before the seam. */
static gboolean
check_option_with_default_registry (const char  *key,
                                    GVariant    *value,
                                    GVariant   **normalized,
                                    GError     **error)
{
  return post_registry_check_option (post_registry_get_default (), key, value, normalized, error);
}

/* Installed when libpost is loaded, before any configuration can exist: a
 * function pointer, nothing else runs. */
__attribute__ ((constructor)) static void
install_option_check (void)
{
  _post_configuration_set_option_check_func (check_option_with_default_registry);
}
