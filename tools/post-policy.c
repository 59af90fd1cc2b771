/* post-policy.c: read, check and explain libpost policy
 *
 *   post-policy explain URI [--app ID]   rank the candidates of an initiate
 *                                        to URI and tell why, rule by rule
 *   post-policy check                    validate every policy file; exit 1
 *                                        if any has a problem
 *   post-policy dump [--app ID]          print the merged effective policy
 *   post-policy files                    the directories read and the files
 *                                        loaded, in the order they apply
 *
 * The directories are those libpost reads (POST_POLICY_PATH, else the
 * vendor, XDG data, system, XDG config and user scopes); --directory replaces them.  `explain`
 * resolves URI as an initiate does and ranks with the very code that
 * establishment uses (post_policy_rank()).  Each candidate lists the
 * rules that scored or removed it, and those that set an option or a
 * setting for it without a score; --option sets a stack option as the
 * application would.
 *
 * --json prints each command's result as one JSON document (the schema is
 * in docs/man/post-policy.1).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>
#include "tool-json.h"
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *opt_app;
static char **opt_directories;
static char **opt_stacks;
static char **opt_preferences;
static char **opt_options;
static gboolean opt_json;
static gboolean opt_version;

static GOptionEntry entries[] = {
  { "app", 'a', 0, G_OPTION_ARG_STRING, &opt_app, "Explain or dump for application ID (default: post-policy)", "ID" },
  { "directory", 'd', 0, G_OPTION_ARG_FILENAME_ARRAY, &opt_directories, "Read DIR instead of the default directories (repeatable, lowest scope first)", "DIR" },
  { "stack", 's', 0, G_OPTION_ARG_STRING_ARRAY, &opt_stacks, "explain: the application allows only these stacks (repeatable)", "NAME" },
  { "set", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_preferences, "explain: the application sets PROPERTY=LEVEL, such as secure=require (repeatable)", "PROPERTY=LEVEL" },
  { "option", 'o', 0, G_OPTION_ARG_STRING_ARRAY, &opt_options, "explain: the application sets the stack option FAMILY.OPTION to VALUE (GVariant text or a bare word; repeatable)", "FAMILY.OPTION=VALUE" },
  { "json", 0, 0, G_OPTION_ARG_NONE, &opt_json, "Print the result as one JSON document (see post-policy(1))", NULL },
  { "version", 0, 0, G_OPTION_ARG_NONE, &opt_version, "Print the version and exit", NULL },
  { NULL }
};

static void
print_problems (PostPolicy *policy,
                FILE       *out)
{
  g_auto(GStrv) problems = post_policy_list_problems (policy);

  for (guint i = 0; problems[i] != NULL; i++)
    fprintf (out, "%s\n", problems[i]);
}

static int
do_check (PostPolicy *policy)
{
  g_auto(GStrv) files = post_policy_list_files (policy);
  g_auto(GStrv) problems = post_policy_list_problems (policy);
  guint n_files = g_strv_length (files);
  guint n_problems = g_strv_length (problems);
  guint n_rules = post_policy_get_n_rules (policy);

  if (opt_json)
    {
      ToolJson *json = tool_json_new ();
      g_autofree char *text = NULL;

      tool_json_begin_object (json, NULL);
      tool_json_strv (json, "files", (const char * const *) files);
      tool_json_int (json, "rules", n_rules);
      tool_json_strv (json, "problems", (const char * const *) problems);
      tool_json_bool (json, "ok", n_problems == 0);
      tool_json_end_object (json);
      text = tool_json_free (json);
      printf ("%s\n", text);
      return n_problems == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
    }
  print_problems (policy, stdout);
  if (n_problems == 0)
    printf ("%u file%s, %u rule%s: no problems\n",
            n_files, n_files == 1 ? "" : "s", n_rules, n_rules == 1 ? "" : "s");
  else
    printf ("%u file%s, %u rule%s applied, %u problem%s: each broken file or rule is ignored\n",
            n_files, n_files == 1 ? "" : "s", n_rules, n_rules == 1 ? "" : "s",
            n_problems, n_problems == 1 ? "" : "s");
  return n_problems == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* --json dump: the rules of post_policy_dump()'s text, which names each
 * rule's file:line (and application) in the comment before its group,
 * then its keys in order */
static void
dump_json (PostPolicy *policy,
           const char *text)
{
  g_auto(GStrv) lines = g_strsplit (text, "\n", -1);
  g_auto(GStrv) files = post_policy_list_files (policy);
  g_auto(GStrv) problems = post_policy_list_problems (policy);
  g_autofree char *origin = NULL;
  g_autofree char *out = NULL;
  ToolJson *json = tool_json_new ();
  gboolean in_rule = FALSE;

  tool_json_begin_object (json, NULL);
  tool_json_string (json, "application", opt_app);
  tool_json_strv (json, "directories", post_policy_get_directories (policy));
  tool_json_strv (json, "files", (const char * const *) files);
  tool_json_int (json, "problems", g_strv_length (problems));
  tool_json_begin_array (json, "rules");
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *line = lines[i];
      gsize length = strlen (line);

      if (g_str_has_prefix (line, "# "))
        {
          g_free (origin);
          origin = g_strdup (line + 2);
        }
      else if (line[0] == '[' && length > 2 && line[length - 1] == ']')
        {
          g_autofree char *name = g_strndup (line + 1, length - 2);
          const char *only = origin != NULL ? strstr (origin, ", only for application ") : NULL;
          g_autofree char *where = origin != NULL ? g_strndup (origin, only ? (gsize) (only - origin) : strlen (origin)) : NULL;

          if (in_rule)
            {
              tool_json_end_array (json);
              tool_json_end_object (json);
            }
          tool_json_begin_object (json, NULL);
          tool_json_string (json, "name", name);
          tool_json_string (json, "origin", where);
          tool_json_string (json, "only_for_application",
                            only != NULL ? only + strlen (", only for application ") : NULL);
          tool_json_begin_array (json, "keys");
          in_rule = TRUE;
          g_clear_pointer (&origin, g_free);
        }
      else if (in_rule && strchr (line, '=') != NULL)
        {
          const char *equals = strchr (line, '=');
          g_autofree char *key = g_strndup (line, equals - line);

          tool_json_begin_object (json, NULL);
          tool_json_string (json, "key", key);
          tool_json_string (json, "value", equals + 1);
          tool_json_end_object (json);
        }
    }
  if (in_rule)
    {
      tool_json_end_array (json);
      tool_json_end_object (json);
    }
  tool_json_end_array (json);
  tool_json_end_object (json);
  out = tool_json_free (json);
  printf ("%s\n", out);
}

static int
do_dump (PostPolicy *policy)
{
  g_autofree char *text = post_policy_dump (policy);

  if (opt_json)
    dump_json (policy, text);
  else
    fputs (text, stdout);
  return EXIT_SUCCESS;
}

/* Where the policy comes from: each directory, lowest scope first, and
 * the files loaded, in the order they apply */
static int
do_files (PostPolicy *policy)
{
  const char * const *directories = post_policy_get_directories (policy);
  g_auto(GStrv) files = post_policy_list_files (policy);

  if (opt_json)
    {
      ToolJson *json = tool_json_new ();
      g_autofree char *text = NULL;

      tool_json_begin_object (json, NULL);
      tool_json_begin_array (json, "directories");
      for (guint i = 0; directories[i] != NULL; i++)
        {
          tool_json_begin_object (json, NULL);
          tool_json_string (json, "path", directories[i]);
          tool_json_bool (json, "present", g_file_test (directories[i], G_FILE_TEST_IS_DIR));
          tool_json_end_object (json);
        }
      tool_json_end_array (json);
      tool_json_strv (json, "files", (const char * const *) files);
      tool_json_end_object (json);
      text = tool_json_free (json);
      printf ("%s\n", text);
      return EXIT_SUCCESS;
    }
  printf ("Directories, lowest scope first:\n");
  for (guint i = 0; directories[i] != NULL; i++)
    printf ("  %s%s\n", directories[i],
            g_file_test (directories[i], G_FILE_TEST_IS_DIR) ? "" : " (absent)");
  if (directories[0] == NULL)
    printf ("  none\n");
  printf ("Files loaded, in the order they apply:\n");
  for (guint i = 0; files[i] != NULL; i++)
    printf ("  %s\n", files[i]);
  if (files[0] == NULL)
    printf ("  none\n");
  return EXIT_SUCCESS;
}

typedef struct {
  GMainLoop *loop;
  GPtrArray *ranked;
  GError *error;
} ExplainState;

static void
explained_cb (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  ExplainState *state = user_data;

  state->ranked = post_policy_explain_finish (POST_POLICY (source), result, &state->error);
  g_main_loop_quit (state->loop);
}

/* The stack options of the candidate's effective configuration (the
 * application's, with what the policy set), "KEY=VALUE" in GVariant text */
static GStrv
candidate_options (PostPolicyCandidate *candidate)
{
  PostConfiguration *configuration = post_policy_candidate_get_configuration (candidate);
  g_auto(GStrv) keys = configuration != NULL ? post_configuration_list_options (configuration) : NULL;
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  for (guint i = 0; keys != NULL && keys[i] != NULL; i++)
    {
      GVariant *value = post_configuration_get_option (configuration, keys[i]);   /* (transfer none) */
      g_autofree char *text = value != NULL ? g_variant_print (value, TRUE) : NULL;

      /* tls.* options hold the security parameters (trust anchors and
       * pins): named, not shown */
      if (g_str_has_prefix (keys[i], "tls."))
        continue;
      if (text != NULL)
        {
          g_autofree char *entry = g_strdup_printf ("%s=%s", keys[i], text);

          g_strv_builder_add (builder, entry);
        }
    }
  return g_strv_builder_end (builder);
}

static void
print_candidate (PostPolicyCandidate *candidate,
                 const char          *label)
{
  g_autofree char *what = post_policy_candidate_to_string (candidate);
  const char * const *reasons = post_policy_candidate_get_reasons (candidate);
  g_auto(GStrv) options = candidate_options (candidate);

  if (post_policy_candidate_is_removed (candidate))
    printf ("  %s %s\n", label, what);
  else
    printf ("  %s %s  score %d\n", label, what, post_policy_candidate_get_score (candidate));
  for (guint i = 0; reasons[i] != NULL; i++)
    printf ("       %s\n", reasons[i]);
  if (reasons[0] == NULL)
    printf ("       (no rule or preference applies)\n");
  if (options[0] != NULL)
    {
      g_autofree char *joined = g_strjoinv (", ", options);

      printf ("       options: %s\n", joined);
    }
}

static char *
address_string (GSocketAddress *address)
{
  return address != NULL ? g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (address)) : NULL;
}

static void
candidate_json (ToolJson            *json,
                PostPolicyCandidate *candidate,
                guint                rank)
{
  PostStack *stack = post_policy_candidate_get_stack (candidate);
  const PostPathInfo *path = post_policy_candidate_get_path_info (candidate);
  g_autofree char *what = post_policy_candidate_to_string (candidate);
  g_autofree char *remote = address_string (post_policy_candidate_get_remote_address (candidate));
  g_autofree char *local = address_string (post_policy_candidate_get_local_address (candidate));
  g_auto(GStrv) options = candidate_options (candidate);
  gboolean removed = post_policy_candidate_is_removed (candidate);

  tool_json_begin_object (json, NULL);
  tool_json_string (json, "candidate", what);
  if (removed)
    tool_json_null (json, "rank");
  else
    tool_json_int (json, "rank", rank);
  tool_json_bool (json, "removed", removed);
  tool_json_string (json, "stack", stack != NULL ? post_stack_get_name (stack) : NULL);
  tool_json_string (json, "remote", remote);
  tool_json_string (json, "local", local);
  if (path != NULL)
    {
      tool_json_begin_object (json, "path");
      tool_json_string (json, "interface", path->interface);
      tool_json_string (json, "kind", post_interface_kind_to_nick (path->kind));
      tool_json_int (json, "mtu", path->mtu);
      tool_json_bool (json, "metered", path->metered);
      tool_json_string (json, "pvd", path->pvd);
      tool_json_bool (json, "temporary", path->temporary);
      tool_json_end_object (json);
    }
  else
    tool_json_null (json, "path");
  tool_json_int (json, "score", post_policy_candidate_get_score (candidate));
  tool_json_strv (json, "reasons", post_policy_candidate_get_reasons (candidate));
  tool_json_strv (json, "options", (const char * const *) options);
  tool_json_end_object (json);
}

static int
do_explain (PostPolicy *policy,
            const char *uri)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostRemote) remote = post_remote_new_from_uri (uri, &error);
  g_autoptr(PostConfiguration) configuration = post_configuration_new ();
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  g_auto(GStrv) files = NULL;
  ExplainState state = { loop, NULL, NULL };
  guint rank = 0, n_removed = 0;

  if (remote == NULL)
    {
      fprintf (stderr, "post-policy: %s\n", error->message);
      return EXIT_FAILURE;
    }
  if (opt_stacks != NULL && !post_configuration_set_stacks (configuration, (const char * const *) opt_stacks, &error))
    {
      fprintf (stderr, "post-policy: %s\n", error->message);
      return EXIT_FAILURE;
    }
  for (guint i = 0; opt_preferences != NULL && opt_preferences[i] != NULL; i++)
    {
      g_auto(GStrv) parts = g_strsplit (opt_preferences[i], "=", 2);

      if (parts[1] == NULL
          || !post_configuration_set_preference_by_name (configuration, parts[0], parts[1], &error))
        {
          fprintf (stderr, "post-policy: --set %s: %s\n", opt_preferences[i],
                   error != NULL ? error->message : "expected PROPERTY=LEVEL");
          return EXIT_FAILURE;
        }
    }

  for (guint i = 0; opt_options != NULL && opt_options[i] != NULL; i++)
    {
      const char *equals = strchr (opt_options[i], '=');
      g_autofree char *key = equals != NULL ? g_strndup (opt_options[i], equals - opt_options[i]) : NULL;
      g_autoptr(GVariant) value = NULL;

      if (equals != NULL)
        {
          value = g_variant_parse (NULL, equals + 1, NULL, NULL, NULL);
          if (value == NULL)
            value = g_variant_ref_sink (g_variant_new_string (equals + 1));
        }
      if (key == NULL || !post_configuration_set_option (configuration, key, value, &error))
        {
          fprintf (stderr, "post-policy: -o %s: %s\n", opt_options[i],
                   error != NULL ? error->message : "expected FAMILY.OPTION=VALUE");
          return EXIT_FAILURE;
        }
    }

  files = post_policy_list_files (policy);
  if (!opt_json)
    printf ("Policy: %u rule%s from %u file%s (post-policy dump shows them)\n",
            post_policy_get_n_rules (policy), post_policy_get_n_rules (policy) == 1 ? "" : "s",
            g_strv_length (files), g_strv_length (files) == 1 ? "" : "s");
  {
    g_auto(GStrv) problems = post_policy_list_problems (policy);

    if (problems[0] != NULL && !opt_json)
      printf ("Warning: %u problem%s in the policy files (post-policy check lists them)\n",
              g_strv_length (problems), g_strv_length (problems) == 1 ? "" : "s");
  }

  post_policy_explain_async (policy, remote, configuration, NULL, NULL, explained_cb, &state);
  g_main_loop_run (loop);
  if (state.ranked == NULL)
    {
      fprintf (stderr, "post-policy: %s\n", state.error->message);
      g_clear_error (&state.error);
      return EXIT_FAILURE;
    }

  if (opt_json)
    {
      ToolJson *json = tool_json_new ();
      g_auto(GStrv) problems = post_policy_list_problems (policy);
      g_autofree char *text = NULL;

      tool_json_begin_object (json, NULL);
      tool_json_string (json, "uri", uri);
      tool_json_string (json, "application", opt_app);
      tool_json_begin_object (json, "policy");
      tool_json_int (json, "rules", post_policy_get_n_rules (policy));
      tool_json_strv (json, "files", (const char * const *) files);
      tool_json_int (json, "problems", g_strv_length (problems));
      tool_json_end_object (json);
      tool_json_begin_array (json, "candidates");
      for (guint i = 0; i < state.ranked->len; i++)
        {
          PostPolicyCandidate *candidate = state.ranked->pdata[i];

          if (!post_policy_candidate_is_removed (candidate))
            rank++;
          candidate_json (json, candidate, rank);
        }
      tool_json_end_array (json);
      tool_json_int (json, "kept", rank);
      tool_json_end_object (json);
      text = tool_json_free (json);
      printf ("%s\n", text);
      g_ptr_array_unref (state.ranked);
      return rank > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
    }

  printf ("Candidates for %s (application %s), in the order they are tried:\n",
          uri, opt_app);
  for (guint i = 0; i < state.ranked->len; i++)
    {
      PostPolicyCandidate *candidate = state.ranked->pdata[i];
      g_autofree char *label = NULL;

      if (post_policy_candidate_is_removed (candidate))
        {
          if (n_removed++ == 0)
            printf ("Removed:\n");
          label = g_strdup ("-");
        }
      else
        label = g_strdup_printf ("%u.", ++rank);
      print_candidate (candidate, label);
    }
  if (rank == 0)
    printf ("No candidate is left: an initiate to %s fails.\n", uri);
  g_ptr_array_unref (state.ranked);

  return rank > 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}

/* The keys that set the configuration, then the options each loaded
 * stack declares, for FAMILY.OPTION keys */
/* --json options: the configuration keys of post_policy_describe_keys()
 * ("  KEY (VALUES; default DEFAULT)" then "      BLURB"), then each stack's
 * PostStackOptions */
static int
options_json (GPtrArray  *stacks,
              const char *keys)
{
  g_auto(GStrv) lines = g_strsplit (keys, "\n", -1);
  g_autofree char *out = NULL;
  ToolJson *json = tool_json_new ();
  gboolean open = FALSE;

  tool_json_begin_object (json, NULL);
  tool_json_begin_array (json, "configuration");
  for (guint i = 0; lines[i] != NULL; i++)
    {
      const char *line = lines[i];

      if (g_str_has_prefix (line, "      ") && open)
        {
          tool_json_string (json, "blurb", line + 6);
          tool_json_end_object (json);
          open = FALSE;
        }
      else if (g_str_has_prefix (line, "  ") && line[2] != ' ')
        {
          const char *paren = strstr (line, " (");
          const char *deflt = g_strrstr (line, "; default ");
          gsize length = strlen (line);
          g_autofree char *key = NULL, *values = NULL, *value = NULL;

          if (open)
            tool_json_end_object (json);
          if (paren == NULL || deflt == NULL || deflt < paren || line[length - 1] != ')')
            {
              open = FALSE;
              continue;
            }
          key = g_strndup (line + 2, paren - line - 2);
          values = g_strndup (paren + 2, deflt - paren - 2);
          value = g_strndup (deflt + 10, line + length - 1 - (deflt + 10));
          tool_json_begin_object (json, NULL);
          tool_json_string (json, "key", key);
          tool_json_string (json, "values", values);
          tool_json_string (json, "default", value);
          open = TRUE;
        }
    }
  if (open)
    tool_json_end_object (json);
  tool_json_end_array (json);
  tool_json_begin_array (json, "stacks");
  for (guint i = 0; i < stacks->len; i++)
    {
      g_autoptr(GPtrArray) options = post_stack_list_options (stacks->pdata[i]);

      tool_json_begin_object (json, NULL);
      tool_json_string (json, "stack", post_stack_get_name (stacks->pdata[i]));
      tool_json_begin_array (json, "options");
      for (guint j = 0; j < options->len; j++)
        {
          const PostStackOption *option = options->pdata[j];
          gboolean integer = strlen (option->type) == 1 && strchr ("ynqiuxt", option->type[0]) != NULL;

          tool_json_begin_object (json, NULL);
          tool_json_string (json, "key", option->key);
          tool_json_string (json, "type", option->type);
          if (integer)
            {
              tool_json_int (json, "min", option->min);
              tool_json_int (json, "max", option->max);
            }
          if (option->choices != NULL)
            tool_json_strv (json, "choices", option->choices);
          tool_json_string (json, "default", option->default_value);
          tool_json_string (json, "blurb", option->blurb);
          tool_json_end_object (json);
        }
      tool_json_end_array (json);
      tool_json_end_object (json);
    }
  tool_json_end_array (json);
  tool_json_end_object (json);
  out = tool_json_free (json);
  printf ("%s\n", out);
  return EXIT_SUCCESS;
}

static int
do_options (void)
{
  g_autoptr(GPtrArray) stacks = post_registry_list_stacks (post_registry_get_default ());
  g_autofree char *keys = post_policy_describe_keys ();

  if (opt_json)
    return options_json (stacks, keys);
  printf ("configuration:\n%s", keys);

  for (guint i = 0; i < stacks->len; i++)
    {
      g_autoptr(GPtrArray) options = post_stack_list_options (stacks->pdata[i]);

      if (options->len == 0)
        continue;
      printf ("%s:\n", post_stack_get_name (stacks->pdata[i]));
      for (guint j = 0; j < options->len; j++)
        {
          const PostStackOption *option = options->pdata[j];
          g_autofree char *range = NULL;

          if (strlen (option->type) == 1 && strchr ("ynqiuxt", option->type[0]) != NULL)
            range = g_strdup_printf (", %" G_GINT64_FORMAT "..%" G_GINT64_FORMAT, option->min, option->max);
          else if (option->choices != NULL)
            {
              g_autofree char *choices = g_strjoinv ("|", (char **) option->choices);
              range = g_strdup_printf (", %s", choices);
            }
          printf ("  %s (%s%s; default %s)\n      %s\n", option->key, option->type,
                  range != NULL ? range : "",
                  option->default_value != NULL ? option->default_value : "unset", option->blurb);
        }
    }
  return EXIT_SUCCESS;
}

int
main (int    argc,
      char **argv)
{
  g_autoptr(GOptionContext) context = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(PostPolicy) policy = NULL;
  const char *command;
  int status;

  setlocale (LC_ALL, "");
  g_set_prgname ("post-policy");

  context = g_option_context_new ("explain URI | check | dump | options");
  g_option_context_set_summary (context,
    "Read, check and explain libpost policy.\n\n"
    "  explain URI   rank the candidates of an initiate to URI, with the rules\n"
    "                (file:line) that raised, lowered or removed each one\n"
    "  check         validate every policy file; exit 1 if any has a problem\n"
    "  dump          print the merged effective policy\n"
    "  files         list the directories read and the files loaded, in the\n"
    "                order they apply\n"
    "  options       list the keys that set the configuration, and the\n"
    "                FAMILY.OPTION keys the loaded stacks declare, with their\n"
    "                type, range and default");
  g_option_context_add_main_entries (context, entries, NULL);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      fprintf (stderr, "post-policy: %s\n", error->message);
      return 2;
    }
  if (opt_version)
    {
      printf ("post-policy %s\n", POST_VERSION_S);
      return EXIT_SUCCESS;
    }
  if (argc < 2)
    {
      fprintf (stderr, "post-policy: a command is needed: explain URI, check, dump, files or options (see --help)\n");
      return 2;
    }
  command = argv[1];
  if (opt_app == NULL)
    opt_app = g_strdup ("post-policy");

  policy = post_policy_new ((const char * const *) opt_directories);
  post_policy_set_application_id (policy, opt_app);

  if (g_str_equal (command, "check") && argc == 2)
    status = do_check (policy);
  else if (g_str_equal (command, "dump") && argc == 2)
    status = do_dump (policy);
  else if (g_str_equal (command, "files") && argc == 2)
    status = do_files (policy);
  else if (g_str_equal (command, "options") && argc == 2)
    status = do_options ();
  else if (g_str_equal (command, "explain") && argc == 3)
    status = do_explain (policy, argv[2]);
  else
    {
      fprintf (stderr, "post-policy: usage: post-policy explain URI [--app ID] | check | dump | files | options\n");
      status = 2;
    }

  g_free (opt_app);
  g_strfreev (opt_directories);
  g_strfreev (opt_stacks);
  g_strfreev (opt_preferences);
  g_strfreev (opt_options);
  return status;
}
