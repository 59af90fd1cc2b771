/* test-no-plugins.c: with no plugin installed, libpost fails clearly
 *
 * Run with POST_PLUGIN_PATH pointing at a directory without plugins and
 * POST_PLUGIN_SYSTEM_PATH empty: what a user sees after deleting the
 * plugin .so files.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>
#include <string.h>

static void
established_cb (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  GError **error = user_data;

  g_assert_false (post_carrier_establish_finish (POST_CARRIER (source), result, error));
  g_assert_nonnull (*error);
}

static void
test_no_stacks (void)
{
  g_autoptr(GPtrArray) stacks = post_registry_list_stacks (post_registry_get_default ());

  g_assert_cmpuint (stacks->len, ==, 0);
  g_assert_null (post_registry_lookup_stack (post_registry_get_default (), "tcp"));
}

static void
test_initiate_fails (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostRemote) remote = post_remote_new_from_uri ("tcp://127.0.0.1:9", &error);
  g_autoptr(PostCarrier) carrier = NULL;
  g_autoptr(PostMessage) message = post_message_new_from_string ("lost?");

  g_assert_no_error (error);
  carrier = post_carrier_initiate (NULL, remote, NULL);
  g_assert_true (post_carrier_send (carrier, message, &error));
  post_carrier_establish_async (carrier, NULL, established_cb, &error);
  while (error == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_test_message ("%s", error->message);
  g_assert_error (error, POST_ERROR, POST_ERROR_NO_STACK);
  g_assert_nonnull (strstr (error->message, "tcp"));
  g_assert_cmpint (post_carrier_get_state (carrier), ==, POST_CARRIER_STATE_CLOSED);
  g_assert_false (post_message_is_sent (message));
}

static void
test_any_stack_fails (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostRemote) remote = post_remote_new ("127.0.0.1", 9);
  g_autoptr(PostCarrier) carrier = post_carrier_initiate (NULL, remote, NULL);

  post_carrier_establish_async (carrier, NULL, established_cb, &error);
  while (error == NULL)
    g_main_context_iteration (NULL, TRUE);
  g_test_message ("%s", error->message);
  g_assert_error (error, POST_ERROR, POST_ERROR_NO_STACK);
}

static void
test_listen_fails (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostLocal) local = post_local_new_from_uri ("tcp://127.0.0.1:0", &error);
  g_autoptr(PostCarrier) listener = NULL;

  g_assert_no_error (error);
  listener = post_carrier_listen (local, NULL, &error);
  g_assert_null (listener);
  g_test_message ("%s", error->message);
  g_assert_error (error, POST_ERROR, POST_ERROR_NO_STACK);
  g_assert_nonnull (strstr (error->message, "tcp"));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/no-plugins/registry", test_no_stacks);
  g_test_add_func ("/no-plugins/initiate", test_initiate_fails);
  g_test_add_func ("/no-plugins/any-stack", test_any_stack_fails);
  g_test_add_func ("/no-plugins/listen", test_listen_fails);

  return g_test_run ();
}
