/* test-plugin-good.c: a well-formed plugin providing the stack `test-good`
 *
 * Its PSI only refuses to connect: the plugin exists for registry tests.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>

#define TEST_TYPE_GOOD_PSI (test_good_psi_get_type ())
G_DECLARE_FINAL_TYPE (TestGoodPsi, test_good_psi, TEST, GOOD_PSI, PostPsi)

struct _TestGoodPsi
{
  PostPsi parent_instance;
};

G_DEFINE_FINAL_TYPE (TestGoodPsi, test_good_psi, POST_TYPE_PSI)

static void
test_good_psi_connect_async (PostPsi             *psi,
                             GSocketAddress      *remote,
                             GSocketAddress      *local,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_task_report_new_error (psi, callback, user_data, test_good_psi_connect_async,
                           G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                           "the test-good stack cannot connect");
}

static gboolean
test_good_psi_connect_finish (PostPsi       *psi,
                              GAsyncResult  *result,
                              GError       **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
test_good_psi_class_init (TestGoodPsiClass *klass)
{
  PostPsiClass *psi_class = POST_PSI_CLASS (klass);

  psi_class->connect_async = test_good_psi_connect_async;
  psi_class->connect_finish = test_good_psi_connect_finish;
}

static void
test_good_psi_init (TestGoodPsi *self)
{
}

static gboolean
plugin_init (PostRegistry  *registry,
             GError       **error)
{
  g_autoptr(PostStack) stack = post_stack_new ("test-good", "A stack for registry tests",
                                               TEST_TYPE_GOOD_PSI,
                                               POST_STACK_CAP_RELIABLE | POST_STACK_CAP_ORDERED |
                                               POST_STACK_CAP_CONGESTION_CONTROL,
                                               POST_RANK_MARGINAL);

  post_stack_set_default_port (stack, 4242);
  return post_registry_add_stack (registry, stack, error);
}

POST_PLUGIN_DEFINE ("test-good", "Registry test plugin", plugin_init)
