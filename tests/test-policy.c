/* test-policy.c: the keyfile policy engine — scopes and precedence,
 * mandatory keys, every matcher, malformed files, reload on change, and
 * establishment consulting the default engine
 *
 * Every test writes its policy files into directories of its own (the
 * test runs with G_TEST_OPTION_ISOLATE_DIRS) and ranks against the stacks
 * of this build tree.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>
#include <glib/gstdio.h>

#include <string.h>

/* ---- helpers ---------------------------------------------------------------- */

static char *
make_dir (const char *name)
{
  char *path = g_build_filename (g_get_user_data_dir (), "policy-tests", name, NULL);

  g_assert_no_errno (g_mkdir_with_parents (path, 0700));
  return path;
}

static char *
write_file (const char *dir,
            const char *name,
            const char *contents)
{
  g_autoptr(GError) error = NULL;
  char *path = g_build_filename (dir, name, NULL);
  g_autofree char *parent = g_path_get_dirname (path);

  g_assert_no_errno (g_mkdir_with_parents (parent, 0700));
  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
  return path;
}

/* Fake path data by remote address: 192.0.2.x over wlan0 (Wi-Fi, MTU
 * 1500), 198.51.100.x over wwan0 (cellular, metered, MTU 1280), anything
 * else over eth0 (wired, MTU 9000). */
static PostPathInfo *
fake_path (GSocketAddress *local_address,
           GSocketAddress *remote_address,
           gpointer        user_data)
{
  g_autofree char *text = g_inet_address_to_string (
    g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote_address)));

  if (g_str_has_prefix (text, "192.0.2."))
    return post_path_info_new ("wlan0", POST_INTERFACE_KIND_WIFI, FALSE, 1500);
  if (g_str_has_prefix (text, "198.51.100."))
    return post_path_info_new ("wwan0", POST_INTERFACE_KIND_CELLULAR, TRUE, 1280);
  return post_path_info_new ("eth0", POST_INTERFACE_KIND_WIRED, FALSE, 9000);
}

static PostPolicy *
new_policy (const char * const *dirs)
{
  PostPolicy *policy = post_policy_new (dirs);

  post_policy_set_path_info_func (policy, fake_path, NULL, NULL);
  post_policy_set_application_id (policy, "org.example.Test");
  return policy;
}

/* Ranks an initiate to @uri over @addresses (comma-separated IPs). */
static GPtrArray *
rank (PostPolicy        *policy,
      PostConfiguration *configuration,
      const char        *uri,
      const char        *addresses,
      GError           **error)
{
  g_autoptr(PostRemote) remote = post_remote_new_from_uri (uri, NULL);
  g_autoptr(GPtrArray) list = g_ptr_array_new_with_free_func (g_object_unref);
  g_auto(GStrv) parts = g_strsplit (addresses, ",", -1);

  g_assert_nonnull (remote);
  for (guint i = 0; parts[i] != NULL; i++)
    g_ptr_array_add (list, g_inet_socket_address_new_from_string (parts[i], post_remote_get_port (remote)));
  return post_policy_rank (policy, configuration, remote, list, NULL, POST_CARRIER_ROLE_CARRIER, error);
}

static PostPolicyCandidate *
find (GPtrArray  *ranked,
      const char *stack,
      const char *address)
{
  for (guint i = 0; i < ranked->len; i++)
    {
      PostPolicyCandidate *candidate = ranked->pdata[i];
      g_autofree char *text = g_inet_address_to_string (g_inet_socket_address_get_address (
        G_INET_SOCKET_ADDRESS (post_policy_candidate_get_remote_address (candidate))));

      if (g_str_equal (post_stack_get_name (post_policy_candidate_get_stack (candidate)), stack)
          && g_str_equal (text, address))
        return candidate;
    }
  return NULL;
}

static gboolean
reasons_contain (PostPolicyCandidate *candidate,
                 const char          *needle)
{
  const char * const *reasons = post_policy_candidate_get_reasons (candidate);

  for (guint i = 0; reasons[i] != NULL; i++)
    if (strstr (reasons[i], needle) != NULL)
      return TRUE;
  return FALSE;
}

static gboolean
have_stack (const char *name)
{
  return post_registry_lookup_stack (post_registry_get_default (), name) != NULL;
}

/* ---- scopes and precedence ---------------------------------------------------- */

static void
test_scopes (void)
{
  g_autofree char *vendor = make_dir ("scopes/vendor");
  g_autofree char *system = make_dir ("scopes/system");
  g_autofree char *user = make_dir ("scopes/user");
  const char *dirs[] = { vendor, system, user, NULL };
  g_autoptr(PostPolicy) policy = NULL;
  g_autoptr(GPtrArray) ranked = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) files = NULL;
  g_autofree char *masked = NULL;
  PostConfiguration *effective;
  PostPolicyCandidate *candidate;

  /* Each scope sets keep-alive; the highest scope wins */
  g_free (write_file (vendor, "50-a.conf", "[v]\nkeep-alive=avoid\nmulti" "path=avoid\n"));
  g_free (write_file (vendor, "60-masked.conf", "[masked]\nscore=100\n"));
  g_free (write_file (system, "10-b.conf", "[s]\nkeep-alive=prefer\n"));
  g_free (write_file (user, "60-masked.conf", "[mask]\nscore=1\n"));
  /* Within a scope: file name order, later overrides earlier */
  g_free (write_file (user, "20-c.conf", "[u1]\nzero-rtt-msg=prefer\n"));
  g_free (write_file (user, "30-d.conf", "[u2]\nzero-rtt-msg=avoid\n"));
  /* Application files come last, only for their application */
  g_free (write_file (vendor, "apps/org.example.Test.conf", "[app]\nkeep-alive=no-preference\n"));
  g_free (write_file (user, "apps/org.example.Other.conf", "[other]\nscore=1000\n"));

  policy = new_policy (dirs);
  files = post_policy_list_files (policy);
  g_assert_cmpuint (g_strv_length (files), ==, 7);
  g_assert_true (g_str_has_suffix (files[0], "vendor/50-a.conf"));
  g_assert_true (g_str_has_suffix (files[1], "system/10-b.conf"));
  g_assert_true (g_str_has_suffix (files[2], "user/20-c.conf"));
  g_assert_true (g_str_has_suffix (files[3], "user/30-d.conf"));
  g_assert_true (g_str_has_suffix (files[4], "user/60-masked.conf"));
  g_assert_true (g_str_has_suffix (files[5], "vendor/apps/org.example.Test.conf"));
  g_assert_true (g_str_has_suffix (files[6], "user/apps/org.example.Other.conf"));
  masked = post_policy_dump (policy);
  g_assert_nonnull (strstr (masked, "# Masked: "));
  g_assert_nonnull (strstr (masked, "vendor/60-masked.conf (by "));

  ranked = rank (policy, NULL, "tcp://h.example:80", "203.0.113.1", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ranked->len, ==, 1);
  candidate = ranked->pdata[0];
  effective = post_policy_candidate_get_configuration (candidate);
  /* the application file (last) wins over user, system and vendor */
  g_assert_cmpint (post_configuration_get_preference (effective, POST_SELECTION_KEEP_ALIVE), ==,
                   POST_PREFERENCE_NO_PREFERENCE);
  g_assert_cmpint (post_configuration_get_preference (effective, POST_SELECTION_ZERO_RTT_MSG), ==,
                   POST_PREFERENCE_AVOID);
  g_assert_cmpint (post_configuration_get_preference (effective, POST_SELECTION_MULTIPATH), ==,
                   POST_PREFERENCE_AVOID);
  /* only the unmasked file's score, not the other application's */
  g_assert_cmpint (post_policy_candidate_get_score (candidate), ==, 1);
  g_clear_pointer (&ranked, g_ptr_array_unref);

  /* Without the application file: the user's keep-alive? No: the system's */
  post_policy_set_application_id (policy, "org.example.Nobody");
  ranked = rank (policy, NULL, "tcp://h.example:80", "203.0.113.1", &error);
  g_assert_no_error (error);
  effective = post_policy_candidate_get_configuration (ranked->pdata[0]);
  g_assert_cmpint (post_configuration_get_preference (effective, POST_SELECTION_KEEP_ALIVE), ==,
                   POST_PREFERENCE_PREFER);
  /* tcp has keep-alive: +10 from the system file */
  g_assert_true (reasons_contain (ranked->pdata[0], "+10 keep-alive=prefer ("));
  g_assert_true (reasons_contain (ranked->pdata[0], "system/10-b.conf:2)"));
}

static void
test_default_directories (void)
{
  g_auto(GStrv) dirs = NULL;
  g_autofree char *user = g_build_filename (g_get_user_config_dir (), "post", "policy.d", NULL);

  const char * const *xdg_data = g_get_system_data_dirs ();
  const char * const *xdg_config = g_get_system_config_dirs ();
  guint n_data = g_strv_length ((char **) xdg_data);
  guint n_config = g_strv_length ((char **) xdg_config);

  /* vendor, XDG_DATA_DIRS (the first one highest), system,
   * XDG_CONFIG_DIRS, user: the test's isolated directories */
  g_unsetenv ("POST_POLICY_PATH");
  dirs = post_policy_get_default_directories ();
  g_assert_cmpuint (g_strv_length (dirs), ==, 3 + n_data + n_config);
  g_assert_true (g_str_has_suffix (dirs[0], "post/policy.d"));
  for (guint i = 0; i < n_data; i++)
    {
      g_autofree char *expected = g_build_filename (xdg_data[n_data - 1 - i], "post", "policy.d", NULL);

      g_assert_cmpstr (dirs[1 + i], ==, expected);
    }
  g_assert_true (g_str_has_suffix (dirs[1 + n_data], "post/policy.d"));
  for (guint i = 0; i < n_config; i++)
    {
      g_autofree char *expected = g_build_filename (xdg_config[n_config - 1 - i], "post", "policy.d", NULL);

      g_assert_cmpstr (dirs[2 + n_data + i], ==, expected);
    }
  g_assert_cmpstr (dirs[2 + n_data + n_config], ==, user);
  g_strfreev (dirs);

  g_setenv ("POST_POLICY_PATH", "/a:/b::/c", TRUE);
  dirs = post_policy_get_default_directories ();
  g_assert_cmpuint (g_strv_length (dirs), ==, 3);
  g_assert_cmpstr (dirs[0], ==, "/a");
  g_assert_cmpstr (dirs[2], ==, "/c");
  g_strfreev (dirs);

  g_setenv ("POST_POLICY_PATH", "", TRUE);
  dirs = post_policy_get_default_directories ();
  g_assert_cmpuint (g_strv_length (dirs), ==, 0);
}

/* ---- mandatory keys -------------------------------------------------------------- */

static void
test_mandatory (void)
{
  g_autofree char *system = make_dir ("mandatory/system");
  g_autofree char *user = make_dir ("mandatory/user");
  const char *dirs[] = { system, user, NULL };
  g_autoptr(PostPolicy) policy = NULL;
  g_autoptr(PostConfiguration) app = post_configuration_new ();
  g_autoptr(GPtrArray) ranked = NULL;
  g_autoptr(GError) error = NULL;
  PostConfiguration *effective;

  /* soft policy: overrides the application's wishes, not its needs */
  g_free (write_file (system, "10-soft.conf",
                      "[soft]\nkeep-alive=avoid\nmultipath=prohibit\ntcp.user-timeout=1000\n"));
  /* mandatory: overrides the application and later scopes */
  g_free (write_file (system, "20-hard.conf",
                      "[hard]\nfork=avoid\nexample.keep-idle=uint32 7\nmandatory=fork;example.keep-idle\n"));
  g_free (write_file (user, "10-user.conf", "[user]\nfork=prefer\nexample.keep-idle=uint32 9\n"));
  policy = new_policy (dirs);

  g_assert_true (post_configuration_set_preference (app, POST_SELECTION_KEEP_ALIVE, POST_PREFERENCE_PREFER, NULL));
  g_assert_true (post_configuration_set_preference (app, POST_SELECTION_MULTIPATH, POST_PREFERENCE_REQUIRE, NULL));
  g_assert_true (post_configuration_set_preference (app, POST_SELECTION_FORK, POST_PREFERENCE_REQUIRE, NULL));
  g_assert_true (post_configuration_set_option (app, "tcp.user-timeout", g_variant_new_uint32 (5), NULL));
  /* multipath=require leaves no stack: the app's need is kept, so ranking fails */
  ranked = rank (policy, app, "tcp://h.example:80", "203.0.113.1", &error);
  g_assert_error (error, POST_ERROR, POST_ERROR_NO_STACK);
  g_assert_nonnull (strstr (error->message, "lacks multipath (required)"));
  g_clear_error (&error);
  g_assert_true (post_configuration_set_preference (app, POST_SELECTION_MULTIPATH, POST_PREFERENCE_NO_PREFERENCE, NULL));

  ranked = rank (policy, app, "tcp://h.example:80", "203.0.113.1", &error);
  g_assert_no_error (error);
  effective = post_policy_candidate_get_configuration (ranked->pdata[0]);
  /* a soft key overrides a soft application value */
  g_assert_cmpint (post_configuration_get_preference (effective, POST_SELECTION_KEEP_ALIVE), ==,
                   POST_PREFERENCE_AVOID);
  /* ... and a policy value fills in what the application left open */
  g_assert_cmpint (post_configuration_get_preference (effective, POST_SELECTION_MULTIPATH), ==,
                   POST_PREFERENCE_PROHIBIT);
  /* an option the application set is kept against a soft key */
  g_assert_cmpuint (g_variant_get_uint32 (post_configuration_get_option (effective, "tcp.user-timeout")), ==, 5);
  g_assert_true (reasons_contain (ranked->pdata[0], "kept the application's tcp.user-timeout"));
  /* a mandatory key overrides the application's require and the user's later value */
  g_assert_cmpint (post_configuration_get_preference (effective, POST_SELECTION_FORK), ==,
                   POST_PREFERENCE_AVOID);
  g_assert_cmpuint (g_variant_get_uint32 (post_configuration_get_option (effective, "example.keep-idle")), ==, 7);
  g_assert_true (reasons_contain (ranked->pdata[0], "ignored fork=prefer"));
  g_assert_true (reasons_contain (ranked->pdata[0], "mandatory at "));
  /* the application's configuration itself is untouched */
  g_assert_cmpint (post_configuration_get_preference (app, POST_SELECTION_FORK), ==, POST_PREFERENCE_REQUIRE);
  g_assert_true (post_configuration_is_frozen (effective));
}

/* ---- matchers ------------------------------------------------------------------------ */

static const char matchers_policy[] =
  "[host]\nmatch-host=*.corp.example\nscore=1\n"
  "[port]\nmatch-port=8000-8999;443\nscore=2\n"
  "[service]\nmatch-service=https\nscore=4\n"
  "[scheme]\nmatch-scheme=tcp\nscore=8\n"
  "[app]\nmatch-app=org.example.*\nscore=16\n"
  "[interface]\nmatch-interface=wlan*\nscore=32\n"
  "[kind]\nmatch-interface-kind=cellular\nscore=64\n"
  "[metered]\nmatch-metered=false\nscore=128\n"
  "[mtu]\nmatch-mtu=<1400\nscore=256\n"
  "[mtu-range]\nmatch-mtu=1400-9000\nscore=512\n";

static int
score_of (PostPolicy *policy,
          const char *uri,
          const char *address)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GPtrArray) ranked = rank (policy, NULL, uri, address, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (ranked->len, ==, 1);
  return post_policy_candidate_get_score (ranked->pdata[0]);
}

static void
test_matchers (void)
{
  g_autofree char *dir = make_dir ("matchers");
  const char *dirs[] = { dir, NULL };
  g_autoptr(PostPolicy) policy = NULL;

  g_free (write_file (dir, "10-matchers.conf", matchers_policy));
  policy = new_policy (dirs);
  g_assert_cmpuint (post_policy_get_n_rules (policy), ==, 10);

  /* wired, MTU 9000, not metered; app and scheme match */
  g_assert_cmpint (score_of (policy, "tcp://www.example:80", "203.0.113.1"), ==, 8 + 16 + 128 + 512);
  /* host glob (case-insensitive), port range */
  g_assert_cmpint (score_of (policy, "tcp://DB.Corp.Example:8080", "203.0.113.1"), ==,
                   1 + 2 + 8 + 16 + 128 + 512);
  /* port 443 is also the https service */
  g_assert_cmpint (score_of (policy, "tcp://www.example:443", "203.0.113.1"), ==,
                   2 + 4 + 8 + 16 + 128 + 512);
  /* Wi-Fi wlan0, MTU 1500 */
  g_assert_cmpint (score_of (policy, "tcp://www.example:80", "192.0.2.1"), ==, 8 + 16 + 32 + 128 + 512);
  /* cellular, metered, MTU 1280 */
  g_assert_cmpint (score_of (policy, "tcp://www.example:80", "198.51.100.1"), ==, 8 + 16 + 64 + 256);

  /* another application */
  post_policy_set_application_id (policy, "com.other.App");
  g_assert_cmpint (score_of (policy, "tcp://www.example:80", "203.0.113.1"), ==, 8 + 128 + 512);
}

static void
test_actions (void)
{
  g_autofree char *dir = make_dir ("actions");
  const char *dirs[] = { dir, NULL };
  g_autoptr(PostPolicy) policy = NULL;
  g_autoptr(GPtrArray) ranked = NULL;
  g_autoptr(GError) error = NULL;
  PostPolicyCandidate *candidate;

  g_free (write_file (dir, "10-actions.conf",
                      "[wifi-over-cellular]\ninterface=wifi:prefer;cellular:avoid\n"
                      "[no-wwan1]\ninterface=wwan1:prohibit\n"
                      "[corp]\nmatch-host=*.corp.example\nstacks=tcp:prohibit\nmandatory=true\n"
                      "[options]\nmatch-port=25\ntcp.user-timeout=30000\nexample.ciphers=HIGH\n"
                      "[direction]\nmatch-port=25\ndirection=unidirectional-send\nsoft-error-notify=prefer\n"
                      "[keep-alive]\nmatch-port=25\nkeep-alive-timeout=15000\n"));
  policy = new_policy (dirs);

  ranked = rank (policy, NULL, "tcp://www.example:80", "198.51.100.1,192.0.2.1,203.0.113.1", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ranked->len, ==, 3);
  /* Wi-Fi first, wired next, cellular last, whatever the address order */
  g_assert_cmpint (post_policy_candidate_get_score (ranked->pdata[0]), ==, 10);
  g_assert_true (reasons_contain (ranked->pdata[0], "+10 interface=wifi:prefer ("));
  g_assert_cmpint (post_policy_candidate_get_score (ranked->pdata[1]), ==, 0);
  g_assert_cmpint (post_policy_candidate_get_score (ranked->pdata[2]), ==, -10);
  g_assert_true (reasons_contain (ranked->pdata[2], "-10 interface=cellular:avoid"));
  g_clear_pointer (&ranked, g_ptr_array_unref);

  /* prohibit cleartext to *.corp.example: the tcp candidate is removed */
  ranked = rank (policy, NULL, "tcp://db.corp.example:80", "203.0.113.1", &error);
  g_assert_no_error (error);
  candidate = find (ranked, "tcp", "203.0.113.1");
  g_assert_nonnull (candidate);
  g_assert_true (post_policy_candidate_is_removed (candidate));
  g_assert_true (reasons_contain (candidate, "removed: is a stack (prohibited by rule ‘"));
  g_assert_true (reasons_contain (candidate, "10-actions.conf:7)"));
  g_clear_pointer (&ranked, g_ptr_array_unref);

  /* protocol options and connection properties reach the effective configuration */
  ranked = rank (policy, NULL, "tcp://mail.example:25", "203.0.113.1", &error);
  g_assert_no_error (error);
  {
    PostConfiguration *effective = post_policy_candidate_get_configuration (ranked->pdata[0]);

    /* stored in the type the tcp stack declares */
    g_assert_cmpuint (g_variant_get_uint32 (post_configuration_get_option (effective, "tcp.user-timeout")), ==, 30000);
    g_assert_cmpstr (g_variant_get_string (post_configuration_get_option (effective, "example.ciphers"), NULL), ==, "HIGH");
    g_assert_cmpint (post_configuration_get_direction (effective), ==, POST_DIRECTION_UNIDIRECTIONAL_SEND);
    g_assert_cmpint (post_configuration_get_soft_error_notify (effective), ==, POST_PREFERENCE_PREFER);
    g_assert_cmpuint (post_configuration_get_keep_alive_timeout (effective), ==, 15000);
  }
}

/* The application's own interface preferences use the same ranking */
static void
test_configuration_interface (void)
{
  g_autoptr(PostPolicy) policy = new_policy ((const char *[]) { NULL });
  g_autoptr(PostConfiguration) app = post_configuration_new ();
  g_autoptr(GPtrArray) ranked = NULL;
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) entries = NULL;
  g_autofree char *text = NULL;

  g_assert_true (post_configuration_set_interface_preference (app, "wired", POST_PREFERENCE_REQUIRE, &error));
  g_assert_true (post_configuration_set_pvd_preference (app, "pvd.example.com", POST_PREFERENCE_PREFER, &error));
  g_assert_false (post_configuration_set_interface_preference (app, "bad name", POST_PREFERENCE_PREFER, &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_object_get (app, "interface", &entries, NULL);
  g_assert_cmpstr (entries[0], ==, "wired:require");
  g_assert_null (entries[1]);
  text = post_configuration_to_string (app);
  g_assert_nonnull (strstr (text, "\ninterface=wired:require"));
  g_assert_nonnull (strstr (text, "\npvd=pvd.example.com:prefer"));

  ranked = rank (policy, app, "tcp://www.example:80", "192.0.2.1,203.0.113.1", &error);
  g_assert_no_error (error);
  g_assert_cmpuint (ranked->len, ==, 2);
  g_assert_false (post_policy_candidate_is_removed (ranked->pdata[0]));
  g_assert_true (post_policy_candidate_is_removed (ranked->pdata[1]));
  g_assert_true (reasons_contain (ranked->pdata[1], "removed: goes over no required interface (required)"));
}

/* ---- malformed files ----------------------------------------------------------------- */

static gboolean
problems_contain (char       **problems,
                  const char  *needle)
{
  for (guint i = 0; problems[i] != NULL; i++)
    if (strstr (problems[i], needle) != NULL)
      return TRUE;
  return FALSE;
}

static void
test_malformed (void)
{
  g_autofree char *dir = make_dir ("malformed");
  const char *dirs[] = { dir, NULL };
  g_autoptr(PostPolicy) policy = NULL;
  g_autofree char *bad = NULL;
  g_autofree char *syntax = NULL;
  g_autofree char *orphan = NULL;
  g_autofree char *good = NULL;
  g_auto(GStrv) problems = NULL;
  g_autoptr(GPtrArray) ranked = NULL;
  g_autoptr(GError) error = NULL;

  bad = write_file (dir, "10-bad.conf",
                    "# comments and blank lines are fine\n"
                    "\n"
                    "[level]\n"                                  /* 3 */
                    "secure=preferr\n"                           /* 4 */
                    "[unknown]\n"
                    "colour=blue\n"                              /* 6 */
                    "[port]\n"
                    "match-port=70000\n"                         /* 8 */
                    "score=1\n"
                    "[twice]\n"
                    "score=1\n"                                  /* 11 */
                    "score=2\n"                                  /* 12 */
                    "[conflict]\n"
                    "interface=wifi:prefer;wifi:avoid\n"         /* 14 */
                    "[mandatory]\n"
                    "score=1\n"
                    "mandatory=secure\n"                         /* 17 */
                    "[mtu]\n"
                    "match-mtu=big\n"                            /* 19 */
                    "score=1\n"
                    "[service]\n"
                    "match-service=no-such-service\n"            /* 22 */
                    "score=1\n"
                    "[empty]\n"                                  /* 24 */
                    "match-port=1\n"
                    "[dup]\n"                                    /* 26 */
                    "score=1\n"
                    "[dup]\n"                                    /* 28 */
                    "score=2\n"
                    "[kind]\n"
                    "match-interface-kind=satellite\n"           /* 31 */
                    "score=1\n"
                    "[keep-alive]\n"
                    "keep-alive-timeout=2h\n"                    /* 34 */
                    "[fine]\n"
                    "score=7\n");
  syntax = write_file (dir, "20-syntax.conf", "[a]\nscore=100\nthis is not a key\n[b\n");
  orphan = write_file (dir, "30-orphan.conf", "score=100\n[a]\nscore=100\n");
  good = write_file (dir, "40-good.conf", "[good]\nscore=20\n");

  policy = new_policy (dirs);
  problems = post_policy_list_problems (policy);

#define EXPECT(needle) G_STMT_START {                                   \
    g_autofree char *_n = g_strdup_printf needle;                       \
    if (!problems_contain (problems, _n))                               \
      {                                                                 \
        g_autofree char *_all = g_strjoinv ("\n", problems);            \
        g_error ("no problem contains ‘%s’ in:\n%s", _n, _all);         \
      }                                                                 \
  } G_STMT_END
  EXPECT (("%s:4: [level] secure: ‘preferr’ is no level", bad));
  EXPECT (("%s:6: [unknown] colour: unknown key", bad));
  EXPECT (("%s:8: [port] match-port: ‘70000’ is no port", bad));
  EXPECT (("%s:12: [twice] score: key given twice in the rule (first at line 11)", bad));
  EXPECT (("%s:14: [conflict] interface: ‘wifi’ is both prefer and avoid", bad));
  EXPECT (("%s:17: [mandatory] mandatory: ‘secure’ is not set by this rule", bad));
  EXPECT (("%s:19: [mtu] match-mtu: ‘big’ is no MTU condition", bad));
  EXPECT (("%s:22: [service] match-service: unknown service ‘no-such-service’", bad));
  EXPECT (("%s:24: [empty] the rule matches but sets nothing", bad));
  EXPECT (("%s:28: [dup] rule given twice (first at line 26)", bad));
  EXPECT (("%s:31: [kind] match-interface-kind: ‘satellite’ is no interface kind", bad));
  EXPECT (("%s:34: [keep-alive] keep-alive-timeout: ‘2h’ is no keep-alive timeout", bad));
  EXPECT (("%s:3: [a] ‘this is not a key’ is no KEY=VALUE", syntax));
  EXPECT (("%s:4: malformed group header ‘[b’", syntax));
  EXPECT (("%s:1: syntax errors; the file is ignored", syntax));
  EXPECT (("%s:1: score: key before the first [rule] group", orphan));
#undef EXPECT
  g_assert_cmpuint (g_strv_length (problems), ==, 18);

  /* The rest applies: [fine] and 40-good.conf */
  g_assert_cmpuint (post_policy_get_n_rules (policy), ==, 2);
  ranked = rank (policy, NULL, "tcp://www.example:80", "203.0.113.1", &error);
  g_assert_no_error (error);
  g_assert_cmpint (post_policy_candidate_get_score (ranked->pdata[0]), ==, 27);
}

/* Option values and keys given twice, loaded and reloaded: under
 * AddressSanitizer (with G_SLICE=always-malloc, as the suite runs) and
 * under valgrind, each leaked GVariant or list fails the test at exit. */
static void
test_reload_leaks (void)
{
  g_autofree char *dir = make_dir ("reload-leaks");
  const char *dirs[] = { dir, NULL };
  g_autoptr(PostPolicy) policy = NULL;
  g_auto(GStrv) problems = NULL;

  g_free (write_file (dir, "10-leaks.conf",
                      "[options]\nmatch-port=25\ntcp.user-timeout=30000\ntls.session-cache='none'\n"
                      "[twice]\nmatch-host=a.example\nmatch-host=b.example\n"
                      "match-port=1\nmatch-port=2\nmatch-service=http\nmatch-service=https\n"
                      "match-scheme=tcp\nmatch-scheme=tls\nmatch-app=a\nmatch-app=b\n"
                      "match-interface=a\nmatch-interface=b\ndescription=a\ndescription=b\n"
                      "score=1\n"));
  policy = new_policy (dirs);
  for (guint i = 0; i < 5; i++)
    post_policy_reload (policy);

  /* The options rule applies; the rule with keys given twice is ignored */
  g_assert_cmpuint (post_policy_get_n_rules (policy), ==, 1);
  problems = post_policy_list_problems (policy);
  g_assert_cmpuint (g_strv_length (problems), ==, 7);
  g_assert_nonnull (strstr (problems[0], "key given twice in the rule"));
}

/* ---- reload ---------------------------------------------------------------------------- */

static void
changed_cb (PostPolicy *policy,
            gpointer    user_data)
{
  guint *count = user_data;

  (*count)++;
}

static gboolean
timeout_cb (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

/* Iterates the main context until @count passes @old or 10 s pass */
static void
wait_for_change (guint *count,
                 guint  old)
{
  gboolean timed_out = FALSE;
  guint id = g_timeout_add_seconds (10, timeout_cb, &timed_out);

  while (*count == old && !timed_out)
    g_main_context_iteration (NULL, TRUE);
  if (!timed_out)
    g_source_remove (id);
  g_assert_false (timed_out);
}

static void
test_reload (void)
{
  g_autofree char *dir = make_dir ("reload");
  g_autofree char *apps = make_dir ("reload/apps");
  const char *dirs[] = { dir, NULL };
  g_autoptr(PostPolicy) policy = new_policy (dirs);
  g_autoptr(GPtrArray) before = NULL;
  g_autoptr(GPtrArray) after = NULL;
  guint count = 0;

  g_assert_cmpuint (post_policy_get_n_rules (policy), ==, 0);
  g_signal_connect (policy, "changed", G_CALLBACK (changed_cb), &count);
  post_policy_set_monitored (policy, TRUE);
  g_assert_true (post_policy_get_monitored (policy));

  before = rank (policy, NULL, "tcp://www.example:80", "203.0.113.1", NULL);
  g_free (write_file (dir, "10-new.conf", "[new]\nscore=3\n"));
  wait_for_change (&count, 0);
  g_assert_cmpuint (post_policy_get_n_rules (policy), ==, 1);
  after = rank (policy, NULL, "tcp://www.example:80", "203.0.113.1", NULL);
  /* the change applies to the next ranking, not to the one made before */
  g_assert_cmpint (post_policy_candidate_get_score (before->pdata[0]), ==, 0);
  g_assert_cmpint (post_policy_candidate_get_score (after->pdata[0]), ==, 3);

  /* an application file */
  g_free (write_file (apps, "org.example.Test.conf", "[mine]\nscore=4\n"));
  wait_for_change (&count, 1);
  g_assert_cmpuint (post_policy_get_n_rules (policy), ==, 2);

  /* a broken edit is reported and ignored */
  g_free (write_file (dir, "10-new.conf", "[new]\nscore=three\n"));
  wait_for_change (&count, 2);
  g_assert_cmpuint (post_policy_get_n_rules (policy), ==, 1);

  /* reloading unchanged files reports no change */
  g_assert_false (post_policy_reload (policy));
  post_policy_set_monitored (policy, FALSE);
}

/* ---- establishment consults the default engine ------------------------------------------- */

static gboolean
incoming_cb (PostCarrier *listener,
             PostCarrier *carrier,
             gpointer     user_data)
{
  g_ptr_array_add (user_data, g_object_ref (carrier));
  return TRUE;
}

typedef struct {
  gboolean done;
  gboolean ok;
  GError *error;
} Establish;

static void
established_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  Establish *establish = user_data;

  establish->ok = post_carrier_establish_finish (POST_CARRIER (source), result, &establish->error);
  establish->done = TRUE;
}

/* Initiates to @uri; TRUE if established, else FALSE with the error */
static gboolean
initiate (const char  *uri,
          GError     **error)
{
  g_autoptr(PostRemote) remote = post_remote_new_from_uri (uri, NULL);
  g_autoptr(PostCarrier) carrier = post_carrier_initiate (NULL, remote, NULL);
  Establish establish = { FALSE, FALSE, NULL };

  post_carrier_establish_async (carrier, NULL, established_cb, &establish);
  while (!establish.done)
    g_main_context_iteration (NULL, TRUE);
  if (establish.error != NULL)
    g_propagate_error (error, establish.error);
  post_carrier_abort (carrier);
  return establish.ok;
}

static void
test_establishment (void)
{
  /* before anything creates the default engine */
  g_autofree char *dir = make_dir ("establishment");
  g_autoptr(PostLocal) local = post_local_new_from_uri ("tcp://127.0.0.1:0", NULL);
  g_autoptr(PostCarrier) listener = NULL;
  g_autoptr(GPtrArray) accepted = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GError) error = NULL;
  g_autofree char *uri = NULL;
  g_autofree char *file = NULL;
  g_autofree char *rule = NULL;
  g_autofree char *expected = NULL;
  guint16 port;

  g_setenv ("POST_POLICY_PATH", dir, TRUE);
  listener = post_carrier_listen (local, NULL, &error);
  g_assert_no_error (error);
  g_signal_connect (listener, "incoming", G_CALLBACK (incoming_cb), accepted);
  port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (post_carrier_get_local_address (listener)));
  uri = g_strdup_printf ("tcp://127.0.0.1:%u", port);

  /* no policy file: establishes */
  g_assert_cmpuint (post_policy_get_n_rules (post_policy_get_default ()), ==, 0);
  g_assert_true (initiate (uri, &error));

  /* the policy prohibits tcp to this port: the next initiate has no candidate */
  rule = g_strdup_printf ("[block]\nmatch-port=%u\nstacks=tcp:prohibit\n", port);
  file = write_file (dir, "10-block.conf", rule);
  post_policy_reload (post_policy_get_default ());
  g_assert_cmpuint (post_policy_get_n_rules (post_policy_get_default ()), ==, 1);
  g_assert_false (initiate (uri, &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_NO_CANDIDATES);
  /* the error names the rule and the file:line of the key that blocked it */
  expected = g_strdup_printf ("The policy blocked every candidate for %s:\n"
                              "  tcp to 127.0.0.1:%u: is a stack (prohibited by rule ‘block’ at %s:3)",
                              uri, port, file);
  g_assert_cmpstr (error->message, ==, expected);
  g_clear_error (&error);

  /* a rule without remote matchers blocks when the stacks are chosen */
  g_free (file);
  file = write_file (dir, "10-block.conf", "# no tcp at all\n[no-tcp]\nstacks=tcp:prohibit\n");
  post_policy_reload (post_policy_get_default ());
  g_assert_false (initiate (uri, &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_NO_STACK);
  g_free (expected);
  expected = g_strdup_printf ("tcp is a stack (prohibited by rule ‘no-tcp’ at %s:3)", file);
  g_assert_nonnull (strstr (error->message, expected));
  g_clear_error (&error);

  /* removed again: establishes */
  g_assert_no_errno (g_unlink (file));
  post_policy_reload (post_policy_get_default ());
  g_assert_true (initiate (uri, &error));
  post_carrier_abort (listener);
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

  g_test_add_func ("/policy/default-directories", test_default_directories);
  g_test_add_func ("/policy/scopes", test_scopes);
  g_test_add_func ("/policy/mandatory", test_mandatory);
  g_test_add_func ("/policy/matchers", test_matchers);
  g_test_add_func ("/policy/actions", test_actions);
  g_test_add_func ("/policy/configuration-interface", test_configuration_interface);
  g_test_add_func ("/policy/malformed", test_malformed);
  g_test_add_func ("/policy/reload", test_reload);
  g_test_add_func ("/policy/reload-leaks", test_reload_leaks);
  g_test_add_func ("/policy/establishment", test_establishment);

  (void) have_stack;
  return g_test_run ();
}
