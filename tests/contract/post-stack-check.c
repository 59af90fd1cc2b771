/* post-stack-check.c: the stack contract, run against one stack
 *
 *   post-stack-check [GTEST-OPTION…] STACK     run the contract on STACK
 *   post-stack-check --list                    the stacks the registry loaded
 *
 * The plugins come from the registry as in any libpost program
 * (POST_PLUGIN_PATH, then the installed plugin directory), so a plugin
 * author runs it on a build tree:
 *
 *   POST_PLUGIN_PATH=$PWD/_build POST_PLUGIN_SYSTEM_PATH= post-stack-check mystack
 *
 * Every case is in a contract-AREA.c file (see post-contract.h).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "post-contract.h"

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

  g_test_init (&argc, &argv, NULL);
  for (int i = 1; i < argc; i++)
    if (argv[i][0] != '-')
      name = argv[i];
  if (name == NULL)
    {
      fprintf (stderr, "usage: post-stack-check [GTEST-OPTION…] STACK\n"
                       "       post-stack-check --list\n");
      return 2;
    }
  if (!_post_contract_init (name, &error))
    {
      fprintf (stderr, "post-stack-check: %s\n", error->message);
      return 1;
    }

  post_contract_add_lifecycle_cases ();
  post_contract_add_roles_cases ();

  rc = g_test_run ();
  _post_contract_shutdown ();
  return rc;
}
