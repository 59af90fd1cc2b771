/* test-registry.c: PostRegistry plugin loading, stacks and ranks
 *
 * The test plugins (tests/plugins) are built into $G_TEST_BUILDDIR/plugins:
 * a good one, and one for each way a plugin can fail to load.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>

#include <elf.h>
#include <glib/gstdio.h>
#include <link.h>
#include <string.h>

static char *
test_plugin_dir (void)
{
  return g_test_build_filename (G_TEST_BUILT, "plugins", NULL);
}

static void
expect_load_warnings (void)
{
  /* In file name order */
  g_test_expect_message ("Post", G_LOG_LEVEL_WARNING, "*post-test-b-bad-abi.so*ABI version*");
  g_test_expect_message ("Post", G_LOG_LEVEL_WARNING, "*post-test-c-no-symbol.so*post_plugin_descriptor*");
  g_test_expect_message ("Post", G_LOG_LEVEL_WARNING, "*post-test-d-init-fails.so*test device is missing*");
  g_test_expect_message ("Post", G_LOG_LEVEL_WARNING, "*post-test-e-corrupt.so*");
  g_test_expect_message ("Post", G_LOG_LEVEL_WARNING, "*stack ‘test-good’ of plugin ‘test-dup-stack’*‘test-good’ provides it already*");
}

static const GError *
find_error (const GPtrArray *errors,
            const char      *file)
{
  for (guint i = 0; i < errors->len; i++)
    {
      const GError *error = errors->pdata[i];
      if (strstr (error->message, file) != NULL)
        return error;
    }
  return NULL;
}

static void
stack_added_cb (PostRegistry *registry,
                PostStack    *stack,
                gpointer      user_data)
{
  g_ptr_array_add (user_data, g_strdup (post_stack_get_name (stack)));
}

static void
test_scan (void)
{
  g_autoptr(PostRegistry) registry = post_registry_new ();
  g_autofree char *dir = test_plugin_dir ();
  g_autoptr(GPtrArray) added = g_ptr_array_new_with_free_func (g_free);
  g_auto(GStrv) plugins = NULL;
  const GPtrArray *errors;
  static const char * const bad[] = {
    "post-test-b-bad-abi.so", "post-test-c-no-symbol.so",
    "post-test-d-init-fails.so", "post-test-e-corrupt.so",
  };
  PostStack *good;
  guint loaded;

  g_assert_cmpuint (post_registry_get_load_errors (registry)->len, ==, 0);
  g_signal_connect (registry, "stack-added", G_CALLBACK (stack_added_cb), added);

  expect_load_warnings ();
  loaded = post_registry_scan_directory (registry, dir);
  g_test_assert_expected_messages ();

  g_assert_cmpuint (loaded, ==, 2);
  plugins = post_registry_list_plugins (registry);
  g_assert_cmpuint (g_strv_length (plugins), ==, 2);
  g_assert_cmpstr (plugins[0], ==, "test-good");
  g_assert_cmpstr (plugins[1], ==, "test-dup-stack");

  good = post_registry_lookup_stack (registry, "test-good");
  g_assert_nonnull (good);
  g_assert_cmpstr (post_stack_get_plugin_name (good), ==, "test-good");
  g_assert_cmpstr (post_stack_get_description (good), ==, "A stack for registry tests");
  g_assert_cmpuint (post_stack_get_rank (good), ==, POST_RANK_MARGINAL);
  g_assert_cmpuint (post_stack_get_default_port (good), ==, 4242);
  g_assert_true (post_stack_has_capabilities (good, POST_STACK_CAP_RELIABLE | POST_STACK_CAP_ORDERED));
  g_assert_false (post_stack_has_capabilities (good, POST_STACK_CAP_SECURE));
  g_assert_true (g_type_is_a (post_stack_get_psi_type (good), POST_TYPE_PSI));

  /* The duplicate plugin's other stack loaded; the failed init's did not */
  g_assert_nonnull (post_registry_lookup_stack (registry, "test-dup"));
  g_assert_null (post_registry_lookup_stack (registry, "test-rollback"));
  g_assert_cmpuint (added->len, ==, 3);
  g_assert_cmpstr (added->pdata[0], ==, "test-good");
  g_assert_cmpstr (added->pdata[1], ==, "test-rollback");
  g_assert_cmpstr (added->pdata[2], ==, "test-dup");

  errors = post_registry_get_load_errors (registry);
  g_assert_cmpuint (errors->len, ==, G_N_ELEMENTS (bad));
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      const GError *error = find_error (errors, bad[i]);

      g_assert_nonnull (error);
      g_assert_true (g_error_matches (error, POST_ERROR, POST_ERROR_PLUGIN));
      g_test_message ("%s", error->message);
    }
}

static void
test_list_stacks (void)
{
  g_autoptr(PostRegistry) registry = post_registry_new ();
  g_autofree char *dir = test_plugin_dir ();
  g_autoptr(GPtrArray) stacks = NULL;
  g_autoptr(PostStack) extra = post_stack_new ("aaa", NULL, POST_TYPE_PSI, POST_STACK_CAP_NONE,
                                               POST_RANK_MARGINAL);
  g_autoptr(PostStack) clash = post_stack_new ("test-dup", NULL, POST_TYPE_PSI, POST_STACK_CAP_NONE,
                                               POST_RANK_PRIMARY);
  g_autoptr(GError) error = NULL;

  expect_load_warnings ();
  post_registry_scan_directory (registry, dir);
  g_test_assert_expected_messages ();

  g_assert_true (post_registry_add_stack (registry, extra, &error));
  g_assert_no_error (error);
  g_assert_null (post_stack_get_plugin_name (extra));

  /* Outside a plugin, a name clash is an error */
  g_assert_false (post_registry_add_stack (registry, clash, &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT);
  g_assert_true (post_registry_lookup_stack (registry, "test-dup") != clash);

  /* Rank descending, then name */
  stacks = post_registry_list_stacks (registry);
  g_assert_cmpuint (stacks->len, ==, 3);
  g_assert_cmpstr (post_stack_get_name (stacks->pdata[0]), ==, "test-dup");   /* secondary */
  g_assert_cmpstr (post_stack_get_name (stacks->pdata[1]), ==, "aaa");        /* marginal */
  g_assert_cmpstr (post_stack_get_name (stacks->pdata[2]), ==, "test-good");  /* marginal */
}

static void
test_load_plugin (void)
{
  g_autoptr(PostRegistry) registry = post_registry_new ();
  g_autofree char *dir = test_plugin_dir ();
  g_autofree char *good = g_build_filename (dir, "post-test-a-good.so", NULL);
  g_autofree char *corrupt = g_build_filename (dir, "post-test-e-corrupt.so", NULL);
  g_autofree char *missing = g_build_filename (dir, "no-such-plugin.so", NULL);
  g_autoptr(GError) error = NULL;

  g_assert_true (post_registry_load_plugin (registry, good, &error));
  g_assert_no_error (error);

  /* The same plugin twice */
  g_assert_false (post_registry_load_plugin (registry, good, &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_PLUGIN);
  g_assert_nonnull (strstr (error->message, "post-test-a-good.so"));
  g_clear_error (&error);

  g_assert_false (post_registry_load_plugin (registry, corrupt, &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_PLUGIN);
  g_assert_nonnull (strstr (error->message, "post-test-e-corrupt.so"));
  g_clear_error (&error);

  g_assert_false (post_registry_load_plugin (registry, missing, &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_PLUGIN);
  g_clear_error (&error);

  /* Direct loads do not fill the scan's error list */
  g_assert_cmpuint (post_registry_get_load_errors (registry)->len, ==, 0);

  /* A missing directory holds no plugins */
  g_assert_cmpuint (post_registry_scan_directory (registry, "/nonexistent/libpost"), ==, 0);
}

static void
test_create_psi (void)
{
  g_autoptr(PostRegistry) registry = post_registry_new ();
  g_autofree char *dir = test_plugin_dir ();
  g_autofree char *good = g_build_filename (dir, "post-test-a-good.so", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(PostConfiguration) configuration = post_configuration_new ();
  g_autoptr(PostPsi) psi = NULL;
  PostStack *stack;

  g_assert_true (post_registry_load_plugin (registry, good, &error));
  stack = post_registry_lookup_stack (registry, "test-good");
  psi = post_stack_create_psi (stack, configuration);
  g_assert_nonnull (psi);
  g_assert_true (G_TYPE_CHECK_INSTANCE_TYPE (psi, post_stack_get_psi_type (stack)));
  g_assert_true (post_psi_get_stack (psi) == stack);
  g_assert_true (post_psi_get_configuration (psi) == configuration);
}

/* The default registry reads the environment once; run it in a child */
static void
test_default_subprocess (void)
{
  g_autofree char *dir = test_plugin_dir ();
  g_autofree char *path = g_strconcat ("/nonexistent/libpost:", dir, NULL);
  PostRegistry *registry;
  PostStack *good, *dup;

  g_setenv ("POST_PLUGIN_PATH", path, TRUE);
  g_setenv ("POST_PLUGIN_SYSTEM_PATH", "", TRUE);
  g_setenv ("POST_STACK_RANK", "test-good:300, test-dup:primary,bogus,udp:fast", TRUE);

  /* The override is read once, when the first stack is added */
  g_test_expect_message ("Post", G_LOG_LEVEL_WARNING, "*POST_STACK_RANK*‘bogus’*");
  g_test_expect_message ("Post", G_LOG_LEVEL_WARNING, "*POST_STACK_RANK*‘udp:fast’*");
  expect_load_warnings ();
  registry = post_registry_get_default ();
  g_test_assert_expected_messages ();

  g_assert_true (post_registry_get_default () == registry);
  good = post_registry_lookup_stack (registry, "test-good");
  dup = post_registry_lookup_stack (registry, "test-dup");
  g_assert_nonnull (good);
  g_assert_cmpuint (post_stack_get_rank (good), ==, 300);
  g_assert_cmpuint (post_stack_get_rank (dup), ==, POST_RANK_PRIMARY);
  g_assert_cmpuint (post_registry_get_load_errors (registry)->len, ==, 4);
}

static void
test_default (void)
{
  g_test_trap_subprocess ("/registry/default/subprocess", 0, G_TEST_SUBPROCESS_INHERIT_STDERR);
  g_test_trap_assert_passed ();
}

/* The real plugins of this build tree, from POST_PLUGIN_PATH */
static GPtrArray *
real_plugin_files (void)
{
  GPtrArray *files = g_ptr_array_new_with_free_func (g_free);
  g_auto(GStrv) dirs = g_strsplit (g_getenv ("POST_PLUGIN_PATH"), ":", -1);

  for (guint i = 0; dirs[i] != NULL; i++)
    {
      g_autoptr(GDir) dir = g_dir_open (dirs[i], 0, NULL);
      const char *name;

      while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
        if (g_str_has_suffix (name, ".so"))
          g_ptr_array_add (files, g_build_filename (dirs[i], name, NULL));
    }

  return files;
}

/* Where a copy of @contents is cut: nothing, inside the ELF header, at
 * its end, at the end of the program headers, in the middle of the
 * segments, and one byte short of the whole */
static GArray *
truncation_lengths (const char *contents,
                    gsize       size)
{
  GArray *lengths = g_array_new (FALSE, FALSE, sizeof (gsize));
  const ElfW(Ehdr) *header = (const ElfW(Ehdr) *) contents;
  gsize cuts[] = { 0, 16, sizeof (ElfW(Ehdr)),
                   header->e_phoff + (gsize) header->e_phnum * header->e_phentsize,
                   size / 2, size - 1 };

  g_assert_cmpuint (size, >, sizeof (ElfW(Ehdr)));
  for (guint i = 0; i < G_N_ELEMENTS (cuts); i++)
    {
      gboolean seen = FALSE;

      for (guint j = 0; j < lengths->len; j++)
        seen |= g_array_index (lengths, gsize, j) == cuts[i];
      if (!seen)
        g_array_append_val (lengths, cuts[i]);
    }

  return lengths;
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/* Truncated copies of every real plugin: each is skipped with a warning
 * naming it (no SIGBUS in dlopen), and the intact plugins still load */
static void
test_truncated_subprocess (void)
{
  const char *tmp = g_getenv ("POST_TEST_TRUNCATED_DIR");
  g_autoptr(PostRegistry) registry = post_registry_new ();
  g_autoptr(GPtrArray) originals = real_plugin_files ();
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GDir) dir = NULL;
  const GPtrArray *errors;
  const char *name;
  static const char * const stacks[] = { "tcp", "tls", "udp", "dtls", "quic" };

  g_assert_nonnull (tmp);
  dir = g_dir_open (tmp, 0, NULL);
  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    g_ptr_array_add (names, g_strdup (name));
  g_ptr_array_sort (names, compare_strings);
  g_assert_cmpuint (names->len, >=, 3 * 5);

  for (guint i = 0; i < names->len; i++)
    {
      g_autofree char *pattern = g_strdup_printf ("*Skipping plugin*%s*", (char *) names->pdata[i]);
      g_test_expect_message ("Post", G_LOG_LEVEL_WARNING, pattern);
    }
  g_assert_cmpuint (post_registry_scan_directory (registry, tmp), ==, 0);
  g_test_assert_expected_messages ();

  errors = post_registry_get_load_errors (registry);
  g_assert_cmpuint (errors->len, ==, names->len);
  for (guint i = 0; i < names->len; i++)
    {
      const GError *error = find_error (errors, names->pdata[i]);

      g_assert_nonnull (error);
      g_assert_true (g_error_matches (error, POST_ERROR, POST_ERROR_PLUGIN));
      g_test_message ("%s", error->message);
    }

  /* The intact plugins, loaded after the broken copies, all work */
  for (guint i = 0; i < originals->len; i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_true (post_registry_load_plugin (registry, originals->pdata[i], &error));
      g_assert_no_error (error);
    }
  for (guint i = 0; i < G_N_ELEMENTS (stacks); i++)
    g_assert_nonnull (post_registry_lookup_stack (registry, stacks[i]));
}

static void
test_truncated (void)
{
  g_autoptr(GPtrArray) originals = real_plugin_files ();
  g_autoptr(GError) error = NULL;
  g_autofree char *tmp = g_dir_make_tmp ("post-truncated-XXXXXX", &error);
  g_autoptr(GPtrArray) copies = g_ptr_array_new_with_free_func (g_free);

  g_assert_no_error (error);
  g_assert_cmpuint (originals->len, >=, 3);

  for (guint i = 0; i < originals->len; i++)
    {
      g_autofree char *contents = NULL;
      g_autofree char *base = g_path_get_basename (originals->pdata[i]);
      g_autoptr(GArray) lengths = NULL;
      gsize size;

      g_assert_true (g_file_get_contents (originals->pdata[i], &contents, &size, &error));
      lengths = truncation_lengths (contents, size);
      for (guint j = 0; j < lengths->len; j++)
        {
          gsize length = g_array_index (lengths, gsize, j);
          char *copy = g_strdup_printf ("%s/%.*s-cut-%07" G_GSIZE_FORMAT ".so", tmp,
                                        (int) strlen (base) - 3, base, length);

          g_assert_true (g_file_set_contents (copy, contents, length, &error));
          g_ptr_array_add (copies, copy);
        }
    }

  g_setenv ("POST_TEST_TRUNCATED_DIR", tmp, TRUE);
  g_test_trap_subprocess ("/registry/truncated/subprocess", 0, G_TEST_SUBPROCESS_INHERIT_STDERR);

  for (guint i = 0; i < copies->len; i++)
    g_unlink (copies->pdata[i]);
  g_rmdir (tmp);

  g_test_trap_assert_passed ();
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/registry/scan", test_scan);
  g_test_add_func ("/registry/list-stacks", test_list_stacks);
  g_test_add_func ("/registry/load-plugin", test_load_plugin);
  g_test_add_func ("/registry/create-psi", test_create_psi);
  g_test_add_func ("/registry/default", test_default);
  g_test_add_func ("/registry/default/subprocess", test_default_subprocess);
  g_test_add_func ("/registry/truncated", test_truncated);
  g_test_add_func ("/registry/truncated/subprocess", test_truncated_subprocess);

  return g_test_run ();
}
