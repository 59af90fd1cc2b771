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
 * establishment uses (post_policy_rank()).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>
#include <locale.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char *opt_app;
static char **opt_directories;
static char **opt_stacks;
static char **opt_preferences;

static GOptionEntry entries[] = {
  { "app", 'a', 0, G_OPTION_ARG_STRING, &opt_app, "Explain or dump for application ID (default: post-policy)", "ID" },
  { "directory", 'd', 0, G_OPTION_ARG_FILENAME_ARRAY, &opt_directories, "Read DIR instead of the default directories (repeatable, lowest scope first)", "DIR" },
  { "stack", 's', 0, G_OPTION_ARG_STRING_ARRAY, &opt_stacks, "explain: the application allows only these stacks (repeatable)", "NAME" },
  { "set", 0, 0, G_OPTION_ARG_STRING_ARRAY, &opt_preferences, "explain: the application sets PROPERTY=LEVEL, such as secure=require (repeatable)", "PROPERTY=LEVEL" },
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

static int
do_dump (PostPolicy *policy)
{
  g_autofree char *text = post_policy_dump (policy);

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

static void
print_candidate (PostPolicyCandidate *candidate,
                 const char          *label)
{
  g_autofree char *what = post_policy_candidate_to_string (candidate);
  const char * const *reasons = post_policy_candidate_get_reasons (candidate);

  if (post_policy_candidate_is_removed (candidate))
    printf ("  %s %s\n", label, what);
  else
    printf ("  %s %s  score %d\n", label, what, post_policy_candidate_get_score (candidate));
  for (guint i = 0; reasons[i] != NULL; i++)
    printf ("       %s\n", reasons[i]);
  if (reasons[0] == NULL)
    printf ("       (no rule or preference applies)\n");
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

  files = post_policy_list_files (policy);
  printf ("Policy: %u rule%s from %u file%s (post-policy dump shows them)\n",
          post_policy_get_n_rules (policy), post_policy_get_n_rules (policy) == 1 ? "" : "s",
          g_strv_length (files), g_strv_length (files) == 1 ? "" : "s");
  {
    g_auto(GStrv) problems = post_policy_list_problems (policy);

    if (problems[0] != NULL)
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
static int
do_options (void)
{
  g_autoptr(GPtrArray) stacks = post_registry_list_stacks (post_registry_get_default ());
  g_autofree char *keys = post_policy_describe_keys ();

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
  return status;
}
