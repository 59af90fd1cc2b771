/* post-policy.c: PostPolicy, the keyfile policy engine
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "post-policy-private.h"

#include <string.h>

/**
 * PostPolicy:
 *
 * System, user and per-application policy for choosing stacks and paths
 * (draft sections 2.6 and 3, the PolicyContext), read from key files in
 * drop-in directories.  See `docs/policy.md` for the file format.
 *
 * The scopes, lowest first: vendor defaults in `$datadir/post/policy.d/`,
 * those of `$XDG_DATA_DIRS` (a flatpak's `/app/share`), system policy in
 * `$sysconfdir/post/policy.d/`, that of `$XDG_CONFIG_DIRS`, the user's in
 * `$XDG_CONFIG_HOME/post/policy.d/` (see
 * [func@Post.Policy.get_default_directories]), then per-application files
 * `apps/APP-ID.conf` in each of them.  `POST_POLICY_PATH` (colon-separated
 * directories, lowest first; empty for none) replaces those scopes
 * unless the program is setuid.  Within a scope files apply in file name
 * order; a file masks the file of the same name in a lower scope.
 *
 * Each file is parsed into an immutable snapshot; a reload (on demand, or
 * when [property@Post.Policy:monitored] and a file changes) builds a new
 * one, emits [signal@Post.Policy::changed] if anything differs, and
 * applies from the next initiate on: established carriers never see it.
 * A broken file or rule is reported ([method@Post.Policy.list_problems];
 * the default engine also logs a warning naming file, line and key) and
 * ignored; the rest applies.
 *
 * Establishment ranks its candidates with the default engine,
 * [func@Post.Policy.get_default]; [method@Post.Policy.rank] and
 * [method@Post.Policy.explain_async] run the same ranking for any engine.
 */
struct _PostPolicy
{
  GObject parent_instance;

  GStrv directories;            /* lowest scope first */
  char *application_id;         /* (nullable) */
  gboolean monitored;
  gboolean log_problems;        /* the default engine warns */

  GMutex lock;                  /* guards snapshot and application_id */
  PolicySnapshot *snapshot;     /* (owned) (nullable): not loaded yet */
  char *fingerprint;            /* of the snapshot: dump and problems */

  GPtrArray *monitors;          /* (element-type GFileMonitor) */
  GMainContext *context;        /* (owned) (nullable): of the monitors */
  GSource *reload_source;       /* (owned) (nullable): debounce */

  PostPathInfoFunc path_func;
  gpointer path_data;
  GDestroyNotify path_destroy;
};

G_DEFINE_FINAL_TYPE (PostPolicy, post_policy, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_DIRECTORIES,
  PROP_APPLICATION_ID,
  PROP_MONITORED,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

enum {
  SIGNAL_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

#define RELOAD_DELAY_MS 50

/* ---- snapshots -------------------------------------------------------------- */

PolicySnapshot *
_post_policy_snapshot_ref (PolicySnapshot *snapshot)
{
  g_atomic_int_inc (&snapshot->ref_count);
  return snapshot;
}

void
_post_policy_snapshot_unref (PolicySnapshot *snapshot)
{
  if (snapshot == NULL || !g_atomic_int_dec_and_test (&snapshot->ref_count))
    return;
  g_ptr_array_unref (snapshot->rules);
  g_ptr_array_unref (snapshot->problems);
  g_ptr_array_unref (snapshot->files);
  g_ptr_array_unref (snapshot->masked);
  g_free (snapshot);
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* The `*.conf` names in @directory, sorted */
static GPtrArray *
list_conf_files (const char *directory)
{
  g_autoptr(GDir) dir = g_dir_open (directory, 0, NULL);
  GPtrArray *names = g_ptr_array_new_with_free_func (g_free);
  const char *name;

  if (dir == NULL)
    return names;
  while ((name = g_dir_read_name (dir)) != NULL)
    if (g_str_has_suffix (name, ".conf") && name[0] != '.')
      g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_strings);
  return names;
}

static void
load_file (PolicySnapshot *snapshot,
           const char     *path,
           const char     *app_file_id)
{
  g_autofree char *contents = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) rules = NULL;
  gsize length;

  g_ptr_array_add (snapshot->files, g_strdup (path));
  if (!g_file_get_contents (path, &contents, &length, &error))
    {
      PolicyProblem *problem = g_new0 (PolicyProblem, 1);

      problem->file = g_strdup (path);
      problem->line = 1;
      problem->message = g_strdup_printf ("cannot read the file: %s", error->message);
      g_ptr_array_add (snapshot->problems, problem);
      return;
    }

  rules = _post_policy_parse_file (path, contents, length, app_file_id, snapshot->problems);
  for (guint i = 0; i < rules->len; i++)
    {
      PolicyRule *rule = rules->pdata[i];

      if (_post_policy_rule_needs_path (rule))
        snapshot->needs_path = TRUE;
      g_ptr_array_add (snapshot->rules, rule);
    }
  g_ptr_array_set_free_func (rules, NULL);
}

/* Loads the files of @subdir ("" or "apps") in every directory: by scope,
 * then name; a name in a higher scope masks the lower ones. */
static void
load_scopes (PolicySnapshot     *snapshot,
             const char * const *directories,
             const char         *subdir,
             gboolean            apps)
{
  guint n = g_strv_length ((char **) directories);
  g_autoptr(GPtrArray) listings = g_ptr_array_new_with_free_func ((GDestroyNotify) g_ptr_array_unref);

  for (guint s = 0; s < n; s++)
    {
      g_autofree char *dir = g_build_filename (directories[s], subdir, NULL);

      g_ptr_array_add (listings, list_conf_files (dir));
    }

  for (guint s = 0; s < n; s++)
    {
      GPtrArray *names = listings->pdata[s];
      g_autofree char *dir = g_build_filename (directories[s], subdir, NULL);

      for (guint i = 0; i < names->len; i++)
        {
          const char *name = names->pdata[i];
          g_autofree char *path = g_build_filename (dir, name, NULL);
          g_autofree char *app_id = NULL;
          gboolean masked = FALSE;

          for (guint t = s + 1; t < n && !masked; t++)
            {
              GPtrArray *higher = listings->pdata[t];

              for (guint j = 0; j < higher->len && !masked; j++)
                if (strcmp (higher->pdata[j], name) == 0)
                  {
                    g_autofree char *by = g_build_filename (directories[t], subdir, name, NULL);

                    g_ptr_array_add (snapshot->masked, g_strdup_printf ("%s (by %s)", path, by));
                    masked = TRUE;
                  }
            }
          if (masked)
            continue;
          if (apps)
            app_id = g_strndup (name, strlen (name) - strlen (".conf"));
          load_file (snapshot, path, app_id);
        }
    }
}

static PolicySnapshot *
load_snapshot (const char * const *directories)
{
  PolicySnapshot *snapshot = g_new0 (PolicySnapshot, 1);

  snapshot->ref_count = 1;
  snapshot->rules = g_ptr_array_new_with_free_func ((GDestroyNotify) _post_policy_rule_free);
  snapshot->problems = g_ptr_array_new_with_free_func ((GDestroyNotify) _post_policy_problem_free);
  snapshot->files = g_ptr_array_new_with_free_func (g_free);
  snapshot->masked = g_ptr_array_new_with_free_func (g_free);

  load_scopes (snapshot, directories, "", FALSE);
  load_scopes (snapshot, directories, "apps", TRUE);
  return snapshot;
}

static char *
snapshot_dump (PolicySnapshot     *snapshot,
               const char * const *directories)
{
  GString *out = g_string_new (NULL);

  g_string_append_printf (out, "# Effective policy: %u rule%s from %u file%s, in the order they apply.\n"
                          "# Later rules override earlier ones for the same key (unless that is\n"
                          "# mandatory); scores add up.\n",
                          snapshot->rules->len, snapshot->rules->len == 1 ? "" : "s",
                          snapshot->files->len, snapshot->files->len == 1 ? "" : "s");
  g_string_append (out, "# Directories, lowest scope first:");
  for (guint i = 0; directories[i] != NULL; i++)
    g_string_append_printf (out, " %s", directories[i]);
  if (directories[0] == NULL)
    g_string_append (out, " none");
  g_string_append (out, "\n");
  for (guint i = 0; i < snapshot->files->len; i++)
    g_string_append_printf (out, "# Loaded: %s\n", (const char *) snapshot->files->pdata[i]);
  for (guint i = 0; i < snapshot->masked->len; i++)
    g_string_append_printf (out, "# Masked: %s\n", (const char *) snapshot->masked->pdata[i]);
  if (snapshot->problems->len > 0)
    g_string_append_printf (out, "# %u problem%s: see post-policy check\n", snapshot->problems->len,
                            snapshot->problems->len == 1 ? "" : "s");

  for (guint i = 0; i < snapshot->rules->len; i++)
    {
      g_string_append (out, "\n");
      _post_policy_rule_dump (snapshot->rules->pdata[i], out);
    }
  return g_string_free (out, FALSE);
}

static char *
snapshot_fingerprint (PolicySnapshot     *snapshot,
                      const char * const *directories)
{
  g_autofree char *dump = snapshot_dump (snapshot, directories);
  GString *text = g_string_new (dump);

  for (guint i = 0; i < snapshot->problems->len; i++)
    {
      g_autofree char *line = _post_policy_problem_to_string (snapshot->problems->pdata[i]);

      g_string_append_printf (text, "\n%s", line);
    }
  return g_string_free (text, FALSE);
}

/* Loads the files and swaps the snapshot in; TRUE if anything changed */
static gboolean
reload (PostPolicy *self)
{
  g_autoptr(PolicySnapshot) snapshot = load_snapshot ((const char * const *) self->directories);
  g_autofree char *fingerprint = snapshot_fingerprint (snapshot, (const char * const *) self->directories);
  gboolean changed;

  g_mutex_lock (&self->lock);
  changed = self->snapshot == NULL || g_strcmp0 (fingerprint, self->fingerprint) != 0;
  if (changed)
    {
      PolicySnapshot *old = self->snapshot;

      self->snapshot = _post_policy_snapshot_ref (snapshot);
      g_free (self->fingerprint);
      self->fingerprint = g_steal_pointer (&fingerprint);
      _post_policy_snapshot_unref (old);
    }
  g_mutex_unlock (&self->lock);

  if (changed && self->log_problems)
    for (guint i = 0; i < snapshot->problems->len; i++)
      {
        g_autofree char *line = _post_policy_problem_to_string (snapshot->problems->pdata[i]);

        g_warning ("policy: %s", line);
      }
  if (changed)
    g_debug ("policy: %u rules from %u files", snapshot->rules->len, snapshot->files->len);
  return changed;
}

PolicySnapshot *
_post_policy_get_snapshot (PostPolicy *self)
{
  PolicySnapshot *snapshot;

  if (self == NULL)
    self = post_policy_get_default ();

  g_mutex_lock (&self->lock);
  snapshot = self->snapshot != NULL ? _post_policy_snapshot_ref (self->snapshot) : NULL;
  g_mutex_unlock (&self->lock);
  if (snapshot != NULL)
    return snapshot;

  reload (self);
  g_mutex_lock (&self->lock);
  snapshot = _post_policy_snapshot_ref (self->snapshot);
  g_mutex_unlock (&self->lock);
  return snapshot;
}

/* ---- monitoring ------------------------------------------------------------- */

static gboolean
reload_cb (gpointer user_data)
{
  PostPolicy *self = user_data;

  g_clear_pointer (&self->reload_source, g_source_unref);
  if (reload (self))
    g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
  return G_SOURCE_REMOVE;
}

static void
monitor_changed_cb (GFileMonitor      *monitor,
                    GFile             *file,
                    GFile             *other_file,
                    GFileMonitorEvent  event,
                    gpointer           user_data)
{
  PostPolicy *self = user_data;

  if (event == G_FILE_MONITOR_EVENT_ATTRIBUTE_CHANGED || self->reload_source != NULL)
    return;
  /* Editors write in several steps: reload once they are done */
  self->reload_source = g_timeout_source_new (RELOAD_DELAY_MS);
  g_source_set_callback (self->reload_source, reload_cb, self, NULL);
  g_source_set_static_name (self->reload_source, "[libpost] policy reload");
  g_source_attach (self->reload_source, self->context);
}

static void
stop_monitoring (PostPolicy *self)
{
  for (guint i = 0; self->monitors != NULL && i < self->monitors->len; i++)
    {
      g_signal_handlers_disconnect_by_data (self->monitors->pdata[i], self);
      g_file_monitor_cancel (self->monitors->pdata[i]);
    }
  g_clear_pointer (&self->monitors, g_ptr_array_unref);
  if (self->reload_source != NULL)
    {
      g_source_destroy (self->reload_source);
      g_clear_pointer (&self->reload_source, g_source_unref);
    }
  g_clear_pointer (&self->context, g_main_context_unref);
}

static void
watch (PostPolicy *self,
       const char *path)
{
  g_autoptr(GFile) file = g_file_new_for_path (path);
  g_autoptr(GError) error = NULL;
  GFileMonitor *monitor = g_file_monitor_directory (file, G_FILE_MONITOR_WATCH_MOVES, NULL, &error);

  if (monitor == NULL)
    {
      g_debug ("policy: cannot watch %s: %s", path, error->message);
      return;
    }
  g_signal_connect (monitor, "changed", G_CALLBACK (monitor_changed_cb), self);
  g_ptr_array_add (self->monitors, monitor);
}

/* The monitors deliver to the thread-default context of the caller, or
 * for the default engine to the global default context. */
static void
start_monitoring (PostPolicy   *self,
                  GMainContext *context)
{
  if (self->monitors != NULL)
    return;
  self->monitors = g_ptr_array_new_with_free_func (g_object_unref);
  self->context = context != NULL ? g_main_context_ref (context) : g_main_context_ref_thread_default ();
  g_main_context_push_thread_default (self->context);
  for (guint i = 0; self->directories[i] != NULL; i++)
    {
      g_autofree char *apps = g_build_filename (self->directories[i], "apps", NULL);

      watch (self, self->directories[i]);
      watch (self, apps);
    }
  g_main_context_pop_thread_default (self->context);
}

/* ---- GObject ------------------------------------------------------------------ */

static void
post_policy_finalize (GObject *object)
{
  PostPolicy *self = POST_POLICY (object);

  stop_monitoring (self);
  if (self->path_destroy != NULL)
    self->path_destroy (self->path_data);
  g_clear_pointer (&self->snapshot, _post_policy_snapshot_unref);
  g_clear_pointer (&self->fingerprint, g_free);
  g_clear_pointer (&self->directories, g_strfreev);
  g_clear_pointer (&self->application_id, g_free);
  g_mutex_clear (&self->lock);

  G_OBJECT_CLASS (post_policy_parent_class)->finalize (object);
}

static void
post_policy_get_property (GObject    *object,
                          guint       prop_id,
                          GValue     *value,
                          GParamSpec *pspec)
{
  PostPolicy *self = POST_POLICY (object);

  switch (prop_id)
    {
    case PROP_DIRECTORIES:
      g_value_set_boxed (value, self->directories);
      break;
    case PROP_APPLICATION_ID:
      g_mutex_lock (&self->lock);
      g_value_set_string (value, self->application_id);
      g_mutex_unlock (&self->lock);
      break;
    case PROP_MONITORED:
      g_value_set_boolean (value, self->monitored);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
post_policy_set_property (GObject      *object,
                          guint         prop_id,
                          const GValue *value,
                          GParamSpec   *pspec)
{
  PostPolicy *self = POST_POLICY (object);

  switch (prop_id)
    {
    case PROP_DIRECTORIES:
      self->directories = g_value_dup_boxed (value);
      break;
    case PROP_APPLICATION_ID:
      post_policy_set_application_id (self, g_value_get_string (value));
      break;
    case PROP_MONITORED:
      post_policy_set_monitored (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
post_policy_constructed (GObject *object)
{
  PostPolicy *self = POST_POLICY (object);

  G_OBJECT_CLASS (post_policy_parent_class)->constructed (object);
  if (self->directories == NULL)
    self->directories = post_policy_get_default_directories ();
}

static void
post_policy_class_init (PostPolicyClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = post_policy_finalize;
  object_class->get_property = post_policy_get_property;
  object_class->set_property = post_policy_set_property;
  object_class->constructed = post_policy_constructed;

  /**
   * PostPolicy:directories: (getter get_directories)
   *
   * The policy directories, lowest scope first; %NULL at construction for
   * [func@Post.Policy.get_default_directories].
   */
  properties[PROP_DIRECTORIES] =
    g_param_spec_boxed ("directories", NULL, NULL, G_TYPE_STRV,
                        G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * PostPolicy:application-id: (getter get_application_id) (setter set_application_id)
   *
   * The application id that selects `apps/ID.conf` files and
   * `match-app` rules; %NULL for the default GApplication's id, else the
   * program name (g_get_prgname()).
   */
  properties[PROP_APPLICATION_ID] =
    g_param_spec_string ("application-id", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * PostPolicy:monitored: (getter get_monitored) (setter set_monitored)
   *
   * Whether the directories are watched: a change is loaded (in the main
   * context that was thread-default when monitoring started) and
   * [signal@Post.Policy::changed] is emitted.
   */
  properties[PROP_MONITORED] =
    g_param_spec_boolean ("monitored", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * PostPolicy::changed:
   * @self: the policy
   *
   * Emitted after a reload that changed the rules or their problems.  The
   * new rules apply from the next initiate on.
   */
  signals[SIGNAL_CHANGED] =
    g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
post_policy_init (PostPolicy *self)
{
  g_mutex_init (&self->lock);
}

/* ---- public API ------------------------------------------------------------------ */

/* Adds @base/post/policy.d for each of @bases, lowest scope first: the
 * XDG lists name the most important directory first. */
static void
add_xdg_dirs (GPtrArray          *dirs,
              const char * const *bases)
{
  for (guint i = g_strv_length ((char **) bases); i > 0; i--)
    if (bases[i - 1][0] != '\0')
      g_ptr_array_add (dirs, g_build_filename (bases[i - 1], "post", "policy.d", NULL));
}

/**
 * post_policy_get_default_directories:
 *
 * The directories the default engine reads, lowest scope first:
 * `POST_POLICY_PATH` if set (colon-separated; empty for none) and the
 * program is not setuid; else, as systemd and fontconfig order their
 * search paths,
 *
 * 1. `$datadir/post/policy.d`, the vendor defaults libpost was installed
 *    with;
 * 2. `post/policy.d` in each of `$XDG_DATA_DIRS` (g_get_system_data_dirs()),
 *    the first one highest, such as a flatpak's `/app/share`;
 * 3. `$sysconfdir/post/policy.d`, the system policy;
 * 4. `post/policy.d` in each of `$XDG_CONFIG_DIRS`
 *    (g_get_system_config_dirs()), the first one highest;
 * 5. `$XDG_CONFIG_HOME/post/policy.d`, the user's.
 *
 * A directory named twice stays only where it ranks highest.  A setuid
 * program ignores `XDG_DATA_DIRS` and `XDG_CONFIG_DIRS`, as it ignores
 * `POST_POLICY_PATH`.
 *
 * Returns: (transfer full) (array zero-terminated=1): the directories,
 *   lowest scope first
 */
char **
post_policy_get_default_directories (void)
{
  const char *path = g_getenv ("POST_POLICY_PATH");
  gboolean trusted = _post_plugin_environment_is_trusted ();
  g_autoptr(GPtrArray) dirs = g_ptr_array_new_with_free_func (g_free);
  GStrvBuilder *builder;
  char **result;

  if (path != NULL && trusted)
    {
      g_auto(GStrv) parts = g_strsplit (path, G_SEARCHPATH_SEPARATOR_S, -1);

      for (guint i = 0; parts[i] != NULL; i++)
        if (*parts[i] != '\0')
          g_ptr_array_add (dirs, g_strdup (parts[i]));
    }
  else
    {
      g_autofree char *data_dir = _post_get_install_dir (POST_DATA_DIR);
      g_autofree char *sysconf_dir = _post_get_install_dir (POST_SYSCONF_DIR);

      g_ptr_array_add (dirs, g_build_filename (data_dir, "policy.d", NULL));
      if (trusted)
        add_xdg_dirs (dirs, g_get_system_data_dirs ());
      g_ptr_array_add (dirs, g_build_filename (sysconf_dir, "policy.d", NULL));
      if (trusted)
        add_xdg_dirs (dirs, g_get_system_config_dirs ());
      g_ptr_array_add (dirs, g_build_filename (g_get_user_config_dir (), "post", "policy.d", NULL));

      /* Keep each directory's highest place only */
      for (guint i = dirs->len; i > 0; i--)
        for (guint j = i; j < dirs->len; j++)
          if (strcmp (dirs->pdata[i - 1], dirs->pdata[j]) == 0)
            {
              g_ptr_array_remove_index (dirs, i - 1);
              break;
            }
    }

  builder = g_strv_builder_new ();
  for (guint i = 0; i < dirs->len; i++)
    g_strv_builder_add (builder, dirs->pdata[i]);
  result = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);
  return result;
}

/**
 * post_policy_new:
 * @directories: (nullable) (array zero-terminated=1): the policy
 *   directories, lowest scope first; %NULL for the default ones
 *
 * Creates an engine reading @directories.  It loads them on first use;
 * it reports problems through [method@Post.Policy.list_problems] without
 * logging them.
 *
 * Returns: (transfer full): a new policy engine
 */
PostPolicy *
post_policy_new (const char * const *directories)
{
  return g_object_new (POST_TYPE_POLICY, "directories", directories, NULL);
}

/**
 * post_policy_get_default:
 *
 * The engine establishment uses: the default directories, loaded on
 * first use, watched from the global default main context, and logging a
 * warning for each problem.
 *
 * Returns: (transfer none): the default engine
 */
PostPolicy *
post_policy_get_default (void)
{
  static PostPolicy *policy;
  static gsize initialized;

  if (g_once_init_enter (&initialized))
    {
      policy = post_policy_new (NULL);
      policy->log_problems = TRUE;
      policy->monitored = TRUE;
      start_monitoring (policy, g_main_context_default ());
      g_once_init_leave (&initialized, 1);
    }
  return policy;
}

/**
 * post_policy_get_directories: (get-property directories)
 * @self: a policy engine
 *
 * Gets the directories the engine reads, lowest scope first: those given
 * to [ctor@Post.Policy.new], or the default ones. The array belongs to
 * @self.
 *
 * Returns: (transfer none) (array zero-terminated=1): its directories,
 *   lowest scope first
 */
const char * const *
post_policy_get_directories (PostPolicy *self)
{
  g_return_val_if_fail (POST_IS_POLICY (self), NULL);
  return (const char * const *) self->directories;
}

/**
 * post_policy_get_application_id: (get-property application-id)
 * @self: a policy engine
 *
 * Gets the application id set with
 * [method@Post.Policy.set_application_id], which selects the
 * `apps/ID.conf` files and the `match-app` rules; with %NULL the default
 * GApplication's id or the program name is used. The string belongs to
 * @self.
 *
 * Returns: (nullable): the application id set, or %NULL
 */
const char *
post_policy_get_application_id (PostPolicy *self)
{
  g_return_val_if_fail (POST_IS_POLICY (self), NULL);
  return self->application_id;
}

/**
 * post_policy_set_application_id: (set-property application-id)
 * @self: a policy engine
 * @application_id: (nullable): the application id, or %NULL for the default
 *
 * Sets the application id rules are matched against.
 */
void
post_policy_set_application_id (PostPolicy *self,
                                const char *application_id)
{
  gboolean changed;

  g_return_if_fail (POST_IS_POLICY (self));

  g_mutex_lock (&self->lock);
  changed = g_strcmp0 (self->application_id, application_id) != 0;
  if (changed)
    {
      g_free (self->application_id);
      self->application_id = g_strdup (application_id);
    }
  g_mutex_unlock (&self->lock);
  if (changed)
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_APPLICATION_ID]);
}

const char *
_post_policy_get_app_id (PostPolicy *self)
{
  GApplication *application;
  const char *id;

  if (self == NULL)
    self = post_policy_get_default ();
  g_mutex_lock (&self->lock);
  id = self->application_id != NULL ? g_intern_string (self->application_id) : NULL;
  g_mutex_unlock (&self->lock);
  if (id != NULL)
    return id;
  application = g_application_get_default ();
  if (application != NULL && g_application_get_application_id (application) != NULL)
    return g_intern_string (g_application_get_application_id (application));
  return g_get_prgname ();
}

/**
 * post_policy_get_monitored: (get-property monitored)
 * @self: a policy engine
 *
 * Tells whether the engine watches its directories, loading a changed file
 * and emitting [signal@Post.Policy::changed]; see
 * [property@Post.Policy:monitored].
 *
 * Returns: whether the directories are watched
 */
gboolean
post_policy_get_monitored (PostPolicy *self)
{
  g_return_val_if_fail (POST_IS_POLICY (self), FALSE);
  return self->monitored;
}

/**
 * post_policy_set_monitored: (set-property monitored)
 * @self: a policy engine
 * @monitored: whether to watch the directories
 *
 * Starts or stops watching the directories with #GFileMonitor, in the
 * thread-default main context of the caller.
 */
void
post_policy_set_monitored (PostPolicy *self,
                           gboolean    monitored)
{
  g_return_if_fail (POST_IS_POLICY (self));

  monitored = !!monitored;
  if (self->monitored == monitored)
    return;
  self->monitored = monitored;
  if (monitored)
    start_monitoring (self, NULL);
  else
    stop_monitoring (self);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MONITORED]);
}

/**
 * post_policy_set_path_info_func:
 * @self: a policy engine
 * @func: (nullable) (scope notified): supplies path data; %NULL for
 *   post_path_info_lookup()
 * @user_data: data for @func
 * @destroy: (nullable): frees @user_data
 *
 * Replaces where the ranking gets the path data of each candidate
 * (interface, kind, metering, MTU): the seam for a path monitor.
 */
void
post_policy_set_path_info_func (PostPolicy       *self,
                                PostPathInfoFunc  func,
                                gpointer          user_data,
                                GDestroyNotify    destroy)
{
  g_return_if_fail (POST_IS_POLICY (self));

  if (self->path_destroy != NULL)
    self->path_destroy (self->path_data);
  self->path_func = func;
  self->path_data = user_data;
  self->path_destroy = destroy;
}

/* A policy without a path data source of its own asks this one (the
 * selection layer installs the path monitor here: the policy never calls
 * the monitor), or else post_path_info_lookup(). */
static PostPathInfoFunc default_path_func;
static gpointer default_path_data;

void
_post_policy_set_default_path_info_func (PostPathInfoFunc func,
                                         gpointer         user_data)
{
  default_path_data = user_data;
  default_path_func = func;
}

PostPathInfo *
_post_policy_lookup_path (PostPolicy     *self,
                          GSocketAddress *local_address,
                          GSocketAddress *remote_address)
{
  if (self == NULL)
    self = post_policy_get_default ();
  if (self->path_func != NULL)
    return self->path_func (local_address, remote_address, self->path_data);
  if (default_path_func != NULL)
    return default_path_func (local_address, remote_address, default_path_data);
  return post_path_info_lookup (local_address, remote_address);
}

/**
 * post_policy_reload:
 * @self: a policy engine
 *
 * Reads the directories again now.  Emits [signal@Post.Policy::changed]
 * if the rules or their problems changed.
 *
 * Returns: %TRUE if they changed
 */
gboolean
post_policy_reload (PostPolicy *self)
{
  gboolean changed;

  g_return_val_if_fail (POST_IS_POLICY (self), FALSE);

  changed = reload (self);
  if (changed)
    g_signal_emit (self, signals[SIGNAL_CHANGED], 0);
  return changed;
}

/**
 * post_policy_list_files:
 * @self: a policy engine
 *
 * Lists the policy files the engine loaded, in the order their rules apply
 * (a file masked by one of the same name in a higher scope is not listed).
 * The caller owns the array; free it with g_strfreev().
 *
 * Returns: (transfer full) (array zero-terminated=1): the files loaded,
 *   in the order they apply
 */
char **
post_policy_list_files (PostPolicy *self)
{
  g_autoptr(PolicySnapshot) snapshot = NULL;
  char **files;

  g_return_val_if_fail (POST_IS_POLICY (self), NULL);

  snapshot = _post_policy_get_snapshot (self);
  files = g_new0 (char *, snapshot->files->len + 1);
  for (guint i = 0; i < snapshot->files->len; i++)
    files[i] = g_strdup (snapshot->files->pdata[i]);
  return files;
}

/**
 * post_policy_list_problems:
 * @self: a policy engine
 *
 * Every problem found in the files, one line each, as
 * `FILE:LINE: [RULE] KEY: what is wrong`; the broken file or rule is
 * ignored.
 *
 * Returns: (transfer full) (array zero-terminated=1): the problems
 */
char **
post_policy_list_problems (PostPolicy *self)
{
  g_autoptr(PolicySnapshot) snapshot = NULL;
  char **problems;

  g_return_val_if_fail (POST_IS_POLICY (self), NULL);

  snapshot = _post_policy_get_snapshot (self);
  problems = g_new0 (char *, snapshot->problems->len + 1);
  for (guint i = 0; i < snapshot->problems->len; i++)
    problems[i] = _post_policy_problem_to_string (snapshot->problems->pdata[i]);
  return problems;
}

/**
 * post_policy_get_n_rules:
 * @self: a policy engine
 *
 * Counts the rules that apply, in every file loaded; broken rules and the
 * rules of broken files are ignored and not counted (see
 * [method@Post.Policy.list_problems]).
 *
 * Returns: how many rules apply (broken ones excluded)
 */
guint
post_policy_get_n_rules (PostPolicy *self)
{
  g_autoptr(PolicySnapshot) snapshot = NULL;

  g_return_val_if_fail (POST_IS_POLICY (self), 0);

  snapshot = _post_policy_get_snapshot (self);
  return snapshot->rules->len;
}

/**
 * post_policy_dump:
 * @self: a policy engine
 *
 * The merged effective policy: every rule that applies, in the order it
 * applies, in policy file syntax, each with a comment naming its file and
 * line; masked files are listed.
 *
 * Returns: (transfer full): the text
 */
char *
post_policy_dump (PostPolicy *self)
{
  g_autoptr(PolicySnapshot) snapshot = NULL;

  g_return_val_if_fail (POST_IS_POLICY (self), NULL);

  snapshot = _post_policy_get_snapshot (self);
  return snapshot_dump (snapshot, (const char * const *) self->directories);
}

/**
 * post_policy_describe_keys:
 *
 * The keys of a rule that set the configuration (docs/policy.md), one
 * per entry: `  NAME (TYPE; default VALUE)` and an indented line saying
 * what it does, made from the configuration's table of settings (the one
 * its properties come from).  `post-policy options` prints it before the
 * options the loaded stacks declare.
 *
 * Returns: (transfer full): the text
 */
char *
post_policy_describe_keys (void)
{
  GString *text = g_string_new (NULL);
  const PostSetting *settings;
  guint n;

  settings = _post_configuration_list_settings (&n);
  for (guint i = 0; i < n; i++)
    {
      const PostSetting *setting = &settings[i];
      g_autofree char *type = NULL;
      g_autofree char *value = NULL;

      if (setting->key == POST_SETTING_KEY_NONE)
        continue;
      /* stacks is a list of names as a property, a preference set as a key */
      type = setting->key == POST_SETTING_KEY_STACKS
             ? g_strdup ("NAME:LEVEL;...") : _post_setting_describe_type (setting);
      value = _post_setting_describe_default (setting);
      g_string_append_printf (text, "  %s (%s; default %s)\n      %s\n",
                              setting->name, type, value, setting->doc);
    }
  return g_string_free (text, FALSE);
}
