/* test-policy-tool.c: `post-policy explain`, `check` and `dump` on the
 * fixed policy set in tests/policy/
 *
 * Runs the built tools/post-policy with POST_POLICY_PATH pointing at the
 * fixtures.  Remotes are loopback literals with a tcp:// scheme, so the
 * output does not depend on which other stacks are built.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>

#include <string.h>

static int
run_tool (const char  *policy_dir,
          char       **out,
          const char  *first_arg,
          ...)
{
  g_autofree char *tool = g_test_build_filename (G_TEST_BUILT, "..", "tools", "post-policy", NULL);
  g_autofree char *dir = g_test_build_filename (G_TEST_DIST, "policy", policy_dir, NULL);
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *raw = NULL;
  const char *arg;
  va_list args;

  g_subprocess_launcher_setenv (launcher, "POST_POLICY_PATH", dir, TRUE);
  g_ptr_array_add (argv, tool);
  va_start (args, first_arg);
  for (arg = first_arg; arg != NULL; arg = va_arg (args, const char *))
    g_ptr_array_add (argv, (char *) arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);

  process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, &raw, NULL, &error);
  g_assert_no_error (error);

  /* The fixture directory's path is not fixed: call it DIR */
  {
    g_auto(GStrv) parts = g_strsplit (raw, dir, -1);

    *out = g_strjoinv ("DIR", parts);
  }
  return g_subprocess_get_exit_status (process);
}

static void
test_explain (void)
{
  g_autofree char *out = NULL;

  g_assert_cmpint (run_tool ("explain", &out, "explain", "tcp://127.0.0.1:443", NULL), ==, 0);
  g_assert_cmpstr (out, ==,
    "Policy: 5 rules from 3 files (post-policy dump shows them)\n"
    "Candidates for tcp://127.0.0.1:443 (application post-policy), in the order they are tried:\n"
    "  1. tcp to 127.0.0.1:443 via lo (loopback, mtu 65536)  score 4\n"
    "       +5 score (rule local-bonus) (DIR/10-site.conf:8)\n"
    "       -1 score (rule loopback-path) (DIR/20-loopback.conf:3)\n"
    /* tcp has no secure: the rule applied, without a score */
    "       set secure=prefer by rule web-prefers-secure (DIR/10-site.conf:4): "
    "no effect on this candidate\n");
}

/* A rule that sets options and settings without a score: explain lists
 * each (it said "no rule or preference applies"), and the options of the
 * candidate's effective configuration; an option the application set
 * (-o) wins over the rule's, which is not mandatory, and a note says so */
static void
test_explain_settings (void)
{
  g_autofree char *out = NULL;
  g_autofree char *app = NULL;
  const char *head =
    "Policy: 1 rule from 1 file (post-policy dump shows them)\n"
    "Candidates for tcp://127.0.0.1:80 (application post-policy), in the order they are tried:\n"
    "  1. tcp to 127.0.0.1:80 via lo (loopback, mtu 65536)  score 0\n"
    "       set keep-alive-timeout=20000 by rule loopback-settings (DIR/10-settings.conf:8)\n"
    "       set multistreaming=prefer by rule loopback-settings (DIR/10-settings.conf:9): "
    "no effect on this candidate\n"
    "       set quic.idle-timeout=60000 by rule loopback-settings (DIR/10-settings.conf:7): "
    "not read by this stack\n";
  g_autofree char *expected = NULL;
  g_autofree char *expected_app = NULL;
  const char *idle = post_registry_lookup_stack (post_registry_get_default (), "quic") != NULL
                     ? "quic.idle-timeout=uint64 60000" : "quic.idle-timeout=60000";

  g_assert_cmpint (run_tool ("settings", &out, "explain", "tcp://127.0.0.1:80", NULL), ==, 0);
  expected = g_strdup_printf ("%s"
    "       set tcp.user-timeout=10000 by rule loopback-settings (DIR/10-settings.conf:6)\n"
    "       options: %s, tcp.user-timeout=uint32 10000\n", head, idle);
  g_assert_cmpstr (out, ==, expected);

  g_assert_cmpint (run_tool ("settings", &app, "explain", "tcp://127.0.0.1:80", "-o", "tcp.user-timeout=5", NULL), ==, 0);
  expected_app = g_strdup_printf ("%s"
    "       note: kept the application's tcp.user-timeout over tcp.user-timeout=10000 "
    "(DIR/10-settings.conf:6; not mandatory)\n"
    "       options: %s, tcp.user-timeout=uint32 5\n", head, idle);
  g_assert_cmpstr (app, ==, expected_app);
}

/* explain -o: a bad option fails, naming it */
static void
test_explain_bad_option (void)
{
  g_autofree char *out = NULL;

  g_assert_cmpint (run_tool ("settings", &out, "explain", "tcp://127.0.0.1:80", "-o", "tcp.no-such=1", NULL), ==, 1);
  g_assert_cmpstr (out, ==, "");
  g_clear_pointer (&out, g_free);
  g_assert_cmpint (run_tool ("settings", &out, "explain", "tcp://127.0.0.1:80", "-o", "tcp.user-timeout", NULL), ==, 1);
}

static void
test_version (void)
{
  g_autofree char *out = NULL;
  g_autofree char *expected = g_strdup_printf ("post-policy %s\n", POST_VERSION_S);

  g_assert_cmpint (run_tool ("explain", &out, "--version", NULL), ==, 0);
  g_assert_cmpstr (out, ==, expected);
}

static void
test_explain_removed (void)
{
  g_autofree char *out = NULL;

  g_assert_cmpint (run_tool ("explain", &out, "explain", "tcp://127.0.0.1:23", NULL), ==, 1);
  g_assert_cmpstr (out, ==,
    "Policy: 5 rules from 3 files (post-policy dump shows them)\n"
    "Candidates for tcp://127.0.0.1:23 (application post-policy), in the order they are tried:\n"
    "Removed:\n"
    "  - tcp to 127.0.0.1:23 via lo (loopback, mtu 65536)\n"
    "       removed: is a stack (prohibited by rule ‘no-telnet’ at DIR/10-site.conf:13)\n"
    "       +5 score (rule local-bonus) (DIR/10-site.conf:8)\n"
    "       -1 score (rule loopback-path) (DIR/20-loopback.conf:3)\n"
    "No candidate is left: an initiate to tcp://127.0.0.1:23 fails.\n");
}

static void
test_explain_app (void)
{
  g_autofree char *out = NULL;

  /* the application file pins tcp: any other stack is removed with the reason */
  g_assert_cmpint (run_tool ("explain", &out, "explain", "127.0.0.1:443", "--app", "org.example.Pinned", NULL), ==, 0);
  g_assert_nonnull (strstr (out, "(application org.example.Pinned)"));
  g_assert_nonnull (strstr (out, "  1. tcp to 127.0.0.1:443 via lo"));
  g_assert_null (strstr (out, "  2. "));
  if (post_registry_lookup_stack (post_registry_get_default (), "tls") != NULL)
    g_assert_nonnull (strstr (out, "  - tls\n       removed: is not a required stack "
                                   "(required by rule ‘pin-tcp’ at DIR/apps/org.example.Pinned.conf:3)\n"));
}

static void
test_check (void)
{
  g_autofree char *good = NULL;
  g_autofree char *bad = NULL;

  g_assert_cmpint (run_tool ("explain", &good, "check", NULL), ==, 0);
  g_assert_cmpstr (good, ==, "3 files, 5 rules: no problems\n");

  g_assert_cmpint (run_tool ("broken", &bad, "check", NULL), ==, 1);
  g_assert_cmpstr (bad, ==,
    "DIR/10-mixed.conf:5: [typo] secure: ‘preferr’ is no level (require, prefer, no-preference, "
    "avoid, prohibit); the rule is ignored\n"
    "DIR/10-mixed.conf:8: [unknown] colour: unknown key; the rule is ignored (see docs/policy.md)\n"
    /* checked against the option the tcp stack declares */
    "DIR/10-mixed.conf:11: [timeout] tcp.user-timeout: option tcp.user-timeout must be an integer "
    "from 0 to 4294967295, not 'uint32 -5' (it was read as a string: as GVariant text, "
    "7-9:number out of range for type 'u'); the rule is ignored\n"
    "DIR/20-syntax.conf:3: [ok] ‘this line is wrong’ is no KEY=VALUE, [RULE] or # comment line\n"
    "DIR/20-syntax.conf:1: syntax errors; the file is ignored\n"
    "2 files, 1 rule applied, 5 problems: each broken file or rule is ignored\n");
}

/* The options the loaded stacks declare, which check validates against */
static void
test_options (void)
{
  g_autofree char *out = NULL;

  g_assert_cmpint (run_tool ("explain", &out, "options", NULL), ==, 0);
  /* the configuration's keys, from its table of settings */
  g_assert_true (g_str_has_prefix (out, "configuration:\n  reliability (require|prefer|no-preference|"
                                        "avoid|prohibit; default require)\n"));
  g_assert_nonnull (strstr (out, "\n  keep-alive-timeout (milliseconds, 0..86400000; default 0)\n"));
  g_assert_nonnull (strstr (out, "\n  direction (bidirectional|unidirectional-send|"
                                 "unidirectional-receive; default bidirectional)\n"));
  g_assert_null (strstr (out, "\n  framing ("));
  g_assert_nonnull (strstr (out, "tcp:\n  tcp.user-timeout (u, 0..4294967295; default the system's)\n"));
  g_assert_nonnull (strstr (out, "  quic.retry (s, never|always|when-busy; default when-busy)\n"));
  g_assert_nonnull (strstr (out, "  udp.multicast-ttl (u, 0..255; default 1)\n"));
}

static void
test_dump (void)
{
  g_autofree char *out = NULL;

  g_assert_cmpint (run_tool ("explain", &out, "dump", NULL), ==, 0);
  g_assert_true (g_str_has_prefix (out, "# Effective policy: 5 rules from 3 files, in the order they apply.\n"));
  g_assert_nonnull (strstr (out, "\n# DIR/10-site.conf:10\n[no-telnet]\ndescription=No cleartext telnet\n"
                                 "match-port=23\nstacks=tcp:prohibit\nmandatory=true\n"));
  g_assert_nonnull (strstr (out, "\n# DIR/apps/org.example.Pinned.conf:2, only for application org.example.Pinned\n"
                                 "[pin-tcp]\n"));
}

/* ---- the default directories from the XDG lists -------------------------- */

static char *
write_policy (const char *base,
              const char *name,
              const char *contents)
{
  g_autofree char *dir = g_build_filename (base, "post", "policy.d", NULL);
  char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
  return path;
}

/* Without POST_POLICY_PATH the tool reads XDG_DATA_DIRS and XDG_CONFIG_DIRS
 * (the first entry of each highest) between the vendor, system and user
 * scopes; a file masks the one of the same name in a lower directory. */
static void
test_xdg_dirs (void)
{
  g_autofree char *tool = g_test_build_filename (G_TEST_BUILT, "..", "tools", "post-policy", NULL);
  g_autofree char *root = g_build_filename (g_get_user_data_dir (), "xdg", NULL);
  g_autofree char *data_a = g_build_filename (root, "data-a", NULL);
  g_autofree char *data_b = g_build_filename (root, "data-b", NULL);
  g_autofree char *config_c = g_build_filename (root, "config-c", NULL);
  g_autofree char *config_d = g_build_filename (root, "config-d", NULL);
  g_autofree char *home = g_build_filename (root, "home", NULL);
  g_autofree char *data_dirs = g_strjoin (":", data_a, data_b, NULL);
  g_autofree char *config_dirs = g_strjoin (":", config_c, config_d, data_a, NULL);
  g_autofree char *f1 = write_policy (data_b, "10-b.conf", "[from-data-b]\nscore=1\n");
  g_autofree char *f2 = write_policy (data_b, "20-shared.conf", "[masked]\nscore=2\n");
  g_autofree char *f3 = write_policy (data_a, "30-a.conf", "[from-data-a]\nscore=3\n");
  g_autofree char *f4 = write_policy (config_d, "20-shared.conf", "[from-config-d]\nscore=4\n");
  g_autofree char *f5 = write_policy (config_c, "40-c.conf", "[from-config-c]\nscore=5\n");
  g_autofree char *f6 = write_policy (home, "50-home.conf", "[from-home]\nscore=6\n");
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *expected = NULL;
  g_autofree char *dump = NULL;

  g_subprocess_launcher_unsetenv (launcher, "POST_POLICY_PATH");
  g_subprocess_launcher_setenv (launcher, "XDG_DATA_DIRS", data_dirs, TRUE);
  /* (data-a given as the lowest config directory too: it ranks there, once) */
  g_subprocess_launcher_setenv (launcher, "XDG_CONFIG_DIRS", config_dirs, TRUE);
  g_subprocess_launcher_setenv (launcher, "XDG_CONFIG_HOME", home, TRUE);
  process = g_subprocess_launcher_spawn (launcher, &error, tool, "files", NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, &out, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_subprocess_get_exit_status (process), ==, 0);

  /* the vendor and system directories of the build's prefix are first
   * and third */
  {
    g_auto(GStrv) lines = g_strsplit (out, "\n", -1);
    g_autofree char *d_b = g_build_filename (data_b, "post", "policy.d", NULL);
    g_autofree char *d_a = g_build_filename (data_a, "post", "policy.d", NULL);
    g_autofree char *d_d = g_build_filename (config_d, "post", "policy.d", NULL);
    g_autofree char *d_c = g_build_filename (config_c, "post", "policy.d", NULL);
    g_autofree char *d_h = g_build_filename (home, "post", "policy.d", NULL);

    g_assert_cmpuint (g_strv_length (lines), ==, 1 + 7 + 1 + 5 + 1);
    g_assert_true (g_str_has_prefix (lines[0], "Directories, lowest scope first:"));
    g_assert_nonnull (strstr (lines[1], "/post/policy.d"));  /* vendor */
    g_assert_cmpstr (lines[2] + 2, ==, d_b);
    g_assert_nonnull (strstr (lines[3], "/post/policy.d"));  /* system */
    g_assert_cmpstr (lines[4] + 2, ==, d_a);
    g_assert_cmpstr (lines[5] + 2, ==, d_d);
    g_assert_cmpstr (lines[6] + 2, ==, d_c);
    g_assert_cmpstr (lines[7] + 2, ==, d_h);
    g_assert_cmpstr (lines[8], ==, "Files loaded, in the order they apply:");
    g_assert_cmpstr (lines[9] + 2, ==, f1);
    g_assert_cmpstr (lines[10] + 2, ==, f3);
    g_assert_cmpstr (lines[11] + 2, ==, f4);
    g_assert_cmpstr (lines[12] + 2, ==, f5);
    g_assert_cmpstr (lines[13] + 2, ==, f6);
    g_assert_cmpstr (lines[14], ==, "");
  }

  /* dump: the same files, and the masked one named with what masks it */
  g_clear_object (&process);
  process = g_subprocess_launcher_spawn (launcher, &error, tool, "dump", NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, &dump, NULL, &error);
  g_assert_no_error (error);
  expected = g_strdup_printf ("# Masked: %s (by %s)\n", f2, f4);
  g_assert_nonnull (strstr (dump, expected));
  g_clear_pointer (&expected, g_free);
  expected = g_strdup_printf ("# Loaded: %s\n# Loaded: %s\n# Loaded: %s\n", f1, f3, f4);
  g_assert_nonnull (strstr (dump, expected));
  g_assert_null (strstr (dump, "[masked]"));
  g_assert_nonnull (strstr (dump, "[from-home]"));
}

/* Under ASan: full unwinding on malloc, so that tests/lsan.supp can match
 * GLib 2.74's leak in G_TEST_OPTION_ISOLATE_DIRS (g_set_user_dirs). */
const char *__asan_default_options (void);
const char *
__asan_default_options (void)
{
  return "fast_unwind_on_malloc=0";
}

int
main (int    argc,
      char **argv)
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/policy-tool/explain", test_explain);
  g_test_add_func ("/policy-tool/explain-removed", test_explain_removed);
  g_test_add_func ("/policy-tool/explain-settings", test_explain_settings);
  g_test_add_func ("/policy-tool/explain-bad-option", test_explain_bad_option);
  g_test_add_func ("/policy-tool/version", test_version);
  g_test_add_func ("/policy-tool/explain-app", test_explain_app);
  g_test_add_func ("/policy-tool/check", test_check);
  g_test_add_func ("/policy-tool/dump", test_dump);
  g_test_add_func ("/policy-tool/options", test_options);
  g_test_add_func ("/policy-tool/xdg-dirs", test_xdg_dirs);

  return g_test_run ();
}
