/* test-local.c: PostLocal parsing, freezing, socket addresses, equality
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>

#include <string.h>

typedef struct {
  const char *uri;
  const char *stack;
  const char *address;    /* NULL: any */
  guint16 port;
  const char *text;
} GoodLocal;

static const GoodLocal good_locals[] = {
  { "tcp://127.0.0.1:0", "tcp", "127.0.0.1", 0, "tcp://127.0.0.1:0" },
  { "udp://[::]:5000", "udp", "::", 5000, "udp://[::]:5000" },
  { "tcp://:7000", "tcp", NULL, 7000, "tcp://*:7000" },
  { "tcp://*:7000", "tcp", NULL, 7000, "tcp://*:7000" },
  { "127.0.0.1:0", NULL, "127.0.0.1", 0, "127.0.0.1:0" },
  { "[::1]:80", NULL, "::1", 80, "[::1]:80" },
  { "tls://0.0.0.0", "tls", "0.0.0.0", 0, "tls://0.0.0.0:0" },
};

static void
test_uri_good (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (good_locals); i++)
    {
      const GoodLocal *t = &good_locals[i];
      g_autoptr(GError) error = NULL;
      g_autoptr(PostLocal) local = post_local_new_from_uri (t->uri, &error);
      g_autofree char *text = NULL;

      g_test_message ("parsing %s", t->uri);
      g_assert_no_error (error);
      g_assert_cmpstr (post_local_get_stack (local), ==, t->stack);
      g_assert_cmpuint (post_local_get_port (local), ==, t->port);
      if (t->address == NULL)
        g_assert_null (post_local_get_address (local));
      else
        {
          g_autofree char *address = g_inet_address_to_string (post_local_get_address (local));
          g_assert_cmpstr (address, ==, t->address);
        }
      g_assert_false (post_local_is_frozen (local));
      text = post_local_to_string (local);
      g_assert_cmpstr (text, ==, t->text);
    }
}

static void
test_uri_bad (void)
{
  static const char * const bad[] = {
    "", "foo://1.2.3.4:1", "tcp://example.com:80", "tcp://u@1.2.3.4:1", "tcp://1.2.3.4:1/x",
    "tcp://1.2.3.4:99999", "localhost:80", "[fe80::1%no-such-if0]:1",
  };

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(PostLocal) local = post_local_new_from_uri (bad[i], &error);

      g_test_message ("parsing %s", bad[i]);
      g_assert_null (local);
      g_assert_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT);
      g_test_message ("  → %s", error->message);
      if (*bad[i] != '\0')
        {
          g_autofree char *quoted = g_strdup_printf ("‘%s’", bad[i]);
          g_assert_nonnull (strstr (error->message, quoted));
        }
    }
}

static void
count_notify (GObject    *object,
              GParamSpec *pspec,
              gpointer    user_data)
{
  (*(guint *) user_data)++;
}

static void
test_setters_and_notify (void)
{
  g_autoptr(PostLocal) local = post_local_new ();
  g_autoptr(GInetAddress) address = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GInetAddress) same = g_inet_address_new_from_string ("127.0.0.1");
  g_autoptr(GError) error = NULL;
  guint notified = 0;
  guint port = 0;
  g_autofree char *interface = NULL;

  g_signal_connect (local, "notify", G_CALLBACK (count_notify), &notified);

  g_assert_true (post_local_set_port (local, 7000, &error));
  g_assert_cmpuint (notified, ==, 1);
  g_assert_true (post_local_set_port (local, 7000, &error));
  g_assert_cmpuint (notified, ==, 1);  /* no change, no notify */

  g_assert_true (post_local_set_address (local, address, &error));
  g_assert_cmpuint (notified, ==, 2);
  g_assert_true (post_local_set_address (local, same, &error));
  g_assert_cmpuint (notified, ==, 2);

  g_assert_true (post_local_set_interface (local, "lo", &error));
  g_assert_cmpuint (notified, ==, 3);
  g_assert_true (post_local_set_interface (local, "lo", &error));
  g_assert_cmpuint (notified, ==, 3);
  g_assert_no_error (error);

  g_object_set (local, "port", 7001, NULL);
  g_assert_cmpuint (notified, ==, 4);
  g_object_get (local, "port", &port, "interface", &interface, NULL);
  g_assert_cmpuint (port, ==, 7001);
  g_assert_cmpstr (interface, ==, "lo");
}

static void
test_to_socket_address (void)
{
  g_autoptr(PostLocal) any = post_local_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(PostLocal) v4 = post_local_new_from_uri ("127.0.0.1:4000", &error);
  g_autoptr(GSocketAddress) a = NULL;
  g_autoptr(GSocketAddress) b = NULL;
  g_autoptr(GSocketAddress) c = NULL;
  g_autoptr(GSocketAddress) d = NULL;
  g_autoptr(GSocketAddress) e = NULL;
  g_autofree char *text = NULL;

  g_assert_no_error (error);
  g_assert_true (post_local_set_port (any, 5000, &error));

  a = post_local_to_socket_address (any, G_SOCKET_FAMILY_IPV6);
  g_assert_true (g_inet_address_get_is_any (g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (a))));
  g_assert_cmpint (g_socket_address_get_family (a), ==, G_SOCKET_FAMILY_IPV6);
  g_assert_cmpuint (g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (a)), ==, 5000);

  b = post_local_to_socket_address (any, G_SOCKET_FAMILY_IPV4);
  g_assert_cmpint (g_socket_address_get_family (b), ==, G_SOCKET_FAMILY_IPV4);
  g_assert_null (post_local_to_socket_address (any, G_SOCKET_FAMILY_INVALID));

  c = post_local_to_socket_address (v4, G_SOCKET_FAMILY_IPV4);
  text = g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (c));
  g_assert_cmpstr (text, ==, "127.0.0.1:4000");
  d = post_local_to_socket_address (v4, G_SOCKET_FAMILY_IPV6);
  g_assert_null (d);
  e = post_local_to_socket_address (v4, G_SOCKET_FAMILY_INVALID);
  g_assert_nonnull (e);
}

static void
test_new_for_address (void)
{
  g_autoptr(GInetAddress) inet = g_inet_address_new_from_string ("::1");
  g_autoptr(GSocketAddress) sa = g_inet_socket_address_new (inet, 9000);
  g_autoptr(PostLocal) local = post_local_new_for_address (sa);
  g_autoptr(GError) error = NULL;
  g_autoptr(PostLocal) parsed = post_local_new_from_uri ("[::1]:9000", &error);

  g_assert_no_error (error);
  g_assert_cmpuint (post_local_get_port (local), ==, 9000);
  g_assert_true (g_inet_address_equal (post_local_get_address (local), inet));
  g_assert_true (post_local_equal (local, parsed));
  g_assert_cmpuint (post_local_hash (local), ==, post_local_hash (parsed));
}

/* An association holding a local freezes it */
static void
test_freeze (void)
{
  g_autoptr(PostLocal) local = post_local_new ();
  g_autoptr(PostRemote) remote = post_remote_new ("127.0.0.1", 9);
  g_autoptr(PostConfiguration) configuration = post_configuration_new ();
  g_autoptr(PostAssociation) association = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) address = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV6);
  gboolean frozen = TRUE;
  guint notified = 0;

  g_object_get (local, "frozen", &frozen, NULL);
  g_assert_false (frozen);
  g_signal_connect (local, "notify::frozen", G_CALLBACK (count_notify), &notified);

  association = post_association_new (local, remote, configuration);
  g_assert_true (post_local_is_frozen (local));
  g_object_get (local, "frozen", &frozen, NULL);
  g_assert_true (frozen);
  g_assert_cmpuint (notified, ==, 1);

  g_assert_false (post_local_set_port (local, 1, &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_IMMUTABLE);
  g_clear_error (&error);
  g_assert_false (post_local_set_address (local, address, &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_IMMUTABLE);
  g_clear_error (&error);
  g_assert_false (post_local_set_interface (local, "lo", &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_IMMUTABLE);
  g_clear_error (&error);
  g_assert_false (post_local_set_identity (local, NULL, &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_IMMUTABLE);

  /* Through GObject: a warning, and nothing changes */
  g_test_expect_message ("Post", G_LOG_LEVEL_WARNING, "*PostLocal:port*can no longer change*");
  g_object_set (local, "port", 4242, NULL);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (post_local_get_port (local), ==, 0);
}

static void
test_equal (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostLocal) a = post_local_new_from_uri ("tcp://:7000", &error);
  g_autoptr(PostLocal) b = post_local_new_from_uri ("tcp://*:7000", &error);
  g_autoptr(PostLocal) c = post_local_new_from_uri ("udp://*:7000", &error);
  g_autoptr(PostLocal) d = post_local_new_from_uri ("tcp://*:7001", &error);
  g_autoptr(GHashTable) set = g_hash_table_new (post_local_hash, post_local_equal);

  g_assert_no_error (error);
  g_assert_true (post_local_equal (a, b));
  g_assert_cmpuint (post_local_hash (a), ==, post_local_hash (b));
  g_assert_false (post_local_equal (a, c));
  g_assert_false (post_local_equal (a, d));

  g_hash_table_add (set, a);
  g_hash_table_add (set, b);
  g_hash_table_add (set, c);
  g_hash_table_add (set, d);
  g_assert_cmpuint (g_hash_table_size (set), ==, 3);

  g_assert_true (post_local_set_interface (a, "lo", &error));
  g_assert_false (post_local_equal (a, b));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/local/uri/good", test_uri_good);
  g_test_add_func ("/local/uri/bad", test_uri_bad);
  g_test_add_func ("/local/setters-notify", test_setters_and_notify);
  g_test_add_func ("/local/to-socket-address", test_to_socket_address);
  g_test_add_func ("/local/new-for-address", test_new_for_address);
  g_test_add_func ("/local/freeze", test_freeze);
  g_test_add_func ("/local/equal", test_equal);

  return g_test_run ();
}
