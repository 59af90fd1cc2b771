/* test-path.c: PostPath properties, setters and equality
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>

static GSocketAddress *
make_address (const char *literal,
              guint16     port)
{
  g_autoptr(GInetAddress) inet = g_inet_address_new_from_string (literal);
  return g_inet_socket_address_new (inet, port);
}

static void
count_notify (GObject    *object,
              GParamSpec *pspec,
              gpointer    user_data)
{
  (*(guint *) user_data)++;
}

static void
test_new (void)
{
  g_autoptr(GSocketAddress) local = make_address ("127.0.0.1", 4000);
  g_autoptr(GSocketAddress) remote = make_address ("127.0.0.1", 7000);
  g_autoptr(PostPath) path = post_path_new (local, remote);
  g_autoptr(PostPath) empty = post_path_new (NULL, NULL);
  g_autoptr(GSocketAddress) got = NULL;

  g_assert_true (post_path_get_local_address (path) == local);
  g_assert_true (post_path_get_remote_address (path) == remote);
  g_assert_null (post_path_get_interface (path));
  g_assert_null (post_path_get_stack_name (path));
  g_assert_cmpuint (post_path_get_mtu (path), ==, POST_PATH_UNKNOWN);
  g_assert_cmpuint (post_path_get_latency (path), ==, POST_PATH_UNKNOWN);
  g_assert_cmpfloat (post_path_get_loss (path), ==, 0.0);
  g_assert_cmpuint (post_path_get_data_rate (path), ==, POST_PATH_UNKNOWN);
  g_assert_cmpuint (post_path_get_reserved_rate (path), ==, POST_PATH_UNKNOWN);
  g_assert_null (post_path_get_elements (path));
  g_assert_null (post_path_get_local_address (empty));

  g_object_get (path, "remote-address", &got, NULL);
  g_assert_true (got == remote);
}

static void
test_read_only (void)
{
  static const char * const read_only[] = {
    "interface", "stack-name", "mtu", "latency", "loss", "data-rate", "reserved-rate", "elements",
  };
  GObjectClass *klass = g_type_class_ref (POST_TYPE_PATH);

  for (guint i = 0; i < G_N_ELEMENTS (read_only); i++)
    {
      GParamSpec *pspec = g_object_class_find_property (klass, read_only[i]);
      g_assert_nonnull (pspec);
      g_assert_true (pspec->flags & G_PARAM_READABLE);
      g_assert_false (pspec->flags & G_PARAM_WRITABLE);
    }
  g_assert_true (g_object_class_find_property (klass, "local-address")->flags & G_PARAM_CONSTRUCT_ONLY);
  g_type_class_unref (klass);
}

static void
test_setters_notify (void)
{
  g_autoptr(PostPath) path = post_path_new (NULL, NULL);
  const char * const elements[] = { "nat", "vpn", NULL };
  const char * const same[] = { "nat", "vpn", NULL };
  const char * const empty[] = { NULL };
  guint notified = 0;
  guint mtu = 0;
  guint64 latency = 0, rate = 0;
  double loss = 0;
  g_auto(GStrv) got = NULL;
  g_autofree char *stack = NULL;

  g_signal_connect (path, "notify", G_CALLBACK (count_notify), &notified);

  post_path_set_mtu (path, 1500);
  post_path_set_mtu (path, 1500);
  g_assert_cmpuint (notified, ==, 1);
  post_path_set_latency (path, 20000);
  post_path_set_latency (path, 20000);
  g_assert_cmpuint (notified, ==, 2);
  post_path_set_loss (path, 0.25);
  post_path_set_loss (path, 0.25);
  g_assert_cmpuint (notified, ==, 3);
  post_path_set_loss (path, 7.0);     /* clamped */
  g_assert_cmpfloat (post_path_get_loss (path), ==, 1.0);
  g_assert_cmpuint (notified, ==, 4);
  post_path_set_data_rate (path, 1000000);
  post_path_set_data_rate (path, 1000000);
  post_path_set_reserved_rate (path, 5000);
  post_path_set_reserved_rate (path, 5000);
  g_assert_cmpuint (notified, ==, 6);
  post_path_set_interface (path, "lo");
  post_path_set_interface (path, "lo");
  post_path_set_stack_name (path, "tcp");
  post_path_set_stack_name (path, "tcp");
  g_assert_cmpuint (notified, ==, 8);
  post_path_set_elements (path, elements);
  post_path_set_elements (path, same);
  g_assert_cmpuint (notified, ==, 9);

  g_object_get (path, "mtu", &mtu, "latency", &latency, "loss", &loss,
                "data-rate", &rate, "elements", &got, "stack-name", &stack, NULL);
  g_assert_cmpuint (mtu, ==, 1500);
  g_assert_cmpuint (latency, ==, 20000);
  g_assert_cmpfloat (loss, ==, 1.0);
  g_assert_cmpuint (rate, ==, 1000000);
  g_assert_cmpstrv (got, elements);
  g_assert_cmpstr (stack, ==, "tcp");
  g_assert_cmpstr (post_path_get_interface (path), ==, "lo");
  g_assert_cmpuint (post_path_get_reserved_rate (path), ==, 5000);

  post_path_set_elements (path, empty);
  g_assert_null (post_path_get_elements (path));
  post_path_set_elements (path, NULL);
  g_assert_cmpuint (notified, ==, 10);
}

static void
test_equal (void)
{
  g_autoptr(GSocketAddress) l1 = make_address ("::1", 4000);
  g_autoptr(GSocketAddress) l2 = make_address ("::1", 4000);
  g_autoptr(GSocketAddress) r1 = make_address ("::1", 7000);
  g_autoptr(GSocketAddress) r2 = make_address ("::1", 7000);
  g_autoptr(GSocketAddress) other = make_address ("::1", 7001);
  g_autoptr(PostPath) a = post_path_new (l1, r1);
  g_autoptr(PostPath) b = post_path_new (l2, r2);
  g_autoptr(PostPath) c = post_path_new (l1, other);
  g_autoptr(PostPath) d = post_path_new (NULL, r1);

  post_path_set_mtu (b, 9000);   /* measurements do not matter */
  g_assert_true (post_path_equal (a, b));
  g_assert_false (post_path_equal (a, c));
  g_assert_false (post_path_equal (a, d));
  g_assert_true (post_path_equal (d, d));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/path/new", test_new);
  g_test_add_func ("/path/read-only", test_read_only);
  g_test_add_func ("/path/setters-notify", test_setters_notify);
  g_test_add_func ("/path/equal", test_equal);

  return g_test_run ();
}
