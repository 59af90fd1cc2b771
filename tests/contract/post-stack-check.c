/* post-stack-check.c: the stack contract, run against one stack
 *
 *   post-stack-check [GTEST-OPTION…] STACK     run the contract on STACK
 *   post-stack-check --list                    the stacks the registry loaded
 *   post-stack-check --capabilities            a Markdown table of what each
 *                                              loaded stack's carriers can do
 *
 * The plugins come from the registry as in any libpost program
 * (POST_PLUGIN_PATH, then the installed plugin directory), so a plugin
 * author runs it on a build tree:
 *
 *   POST_PLUGIN_PATH=$PWD/_build POST_PLUGIN_SYSTEM_PATH= post-stack-check mystack
 *
 * Every case is in a contract-AREA.c file (see post-contract.h).
 *
 * Run as root, the program first moves into a network namespace of its
 * own (only lo, up), where the cases that need two links make and remove
 * their namespaces (contract-local.c); the other cases use loopback
 * either way.  Without root those cases check what loopback can show and
 * say so.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "post-contract.h"
#include "post-test-netns.h"

#include <locale.h>
#include <stdio.h>
#include <string.h>

gboolean _post_contract_init (const char *name, GError **error);
void     _post_contract_shutdown (void);

static int
list_stacks (void)
{
  g_autoptr(GPtrArray) stacks = post_registry_list_stacks (post_registry_get_default ());

  for (guint i = 0; i < stacks->len; i++)
    printf ("%s\n", post_stack_get_name (stacks->pdata[i]));
  return 0;
}

/* Stacks sorted by name, so that the table does not depend on the order in
 * which plugins were found. */
static gint
compare_stacks (gconstpointer a,
                gconstpointer b)
{
  return g_strcmp0 (post_stack_get_name (*(PostStack **) a), post_stack_get_name (*(PostStack **) b));
}

/* One row per capability flag, one column per stack: "yes" when the stack
 * declares it, "core" when libpost provides it on top of the stack
 * (post_stack_get_carrier_capabilities() with a default configuration),
 * "—" when a carrier of that stack does not have it.  The README's table
 * is this output (tests/contract/check-capability-table.sh checks it). */
static int
print_capabilities (void)
{
  g_autoptr(GPtrArray) stacks = post_registry_list_stacks (post_registry_get_default ());
  g_autoptr(PostConfiguration) config = post_configuration_new ();
  g_autoptr(GFlagsClass) flags = g_type_class_ref (POST_TYPE_STACK_CAPABILITIES);
  GString *line = g_string_new ("| capability |");

  g_ptr_array_sort (stacks, compare_stacks);
  for (guint i = 0; i < stacks->len; i++)
    g_string_append_printf (line, " %s |", post_stack_get_name (stacks->pdata[i]));
  printf ("%s\n", line->str);
  g_string_assign (line, "| --- |");
  for (guint i = 0; i < stacks->len; i++)
    g_string_append (line, " --- |");
  printf ("%s\n", line->str);
  for (guint f = 0; f < flags->n_values; f++)
    {
      const GFlagsValue *value = &flags->values[f];

      if (value->value == 0)
        continue;
      g_string_printf (line, "| `%s` |", value->value_nick);
      for (guint i = 0; i < stacks->len; i++)
        {
          PostStack *stack = stacks->pdata[i];
          gboolean declared = (post_stack_get_capabilities (stack) & value->value) != 0;
          gboolean carrier = (post_stack_get_carrier_capabilities (stack, config) & value->value) != 0;

          g_string_append (line, declared ? " yes |" : carrier ? " core |" : " — |");
        }
      printf ("%s\n", line->str);
    }
  g_string_free (line, TRUE);
  return 0;
}

int
main (int argc, char **argv)
{
  g_autoptr(GError) error = NULL;
  const char *name = NULL;
  int rc;

  setlocale (LC_ALL, "");
  for (int i = 1; i < argc; i++)
    if (strcmp (argv[i], "--list") == 0)
      return list_stacks ();
    else if (strcmp (argv[i], "--capabilities") == 0)
      return print_capabilities ();

  /* Before any thread exists: the whole process moves. */
  post_test_netns_init ();
  g_test_init (&argc, &argv, NULL);
  for (int i = 1; i < argc; i++)
    if (argv[i][0] != '-')
      name = argv[i];
  if (name == NULL)
    {
      fprintf (stderr, "usage: post-stack-check [GTEST-OPTION…] STACK\n"
                       "       post-stack-check --list\n"
                       "       post-stack-check --capabilities\n");
      return 2;
    }
  if (!_post_contract_init (name, &error))
    {
      fprintf (stderr, "post-stack-check: %s\n", error->message);
      return 1;
    }

  post_contract_add_lifecycle_cases ();
  post_contract_add_roles_cases ();
  post_contract_add_security_cases ();
  post_contract_add_partial_cases ();
  post_contract_add_message_cases ();
  post_contract_add_local_cases ();
  post_contract_add_dormant_cases ();
  post_contract_add_liveness_cases ();
  post_contract_add_backpressure_cases ();
  post_contract_add_cancel_cases ();
  post_contract_add_fork_cases ();
  post_contract_add_proxy_cases ();
  post_contract_add_refusal_cases ();
  post_contract_add_framing_cases ();

  rc = g_test_run ();
  _post_contract_shutdown ();
  return rc;
}
