/* test-remote.c: PostRemote parsing, levels, resolution and equality
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>

#include <net/if.h>
#include <string.h>

/* ---- URI parsing ---------------------------------------------------------- */

typedef struct {
  const char *uri;
  const char *stack;      /* NULL: library chooses */
  const char *hostname;
  guint16 port;
  const char *canonical;
} GoodUri;

static const GoodUri good_uris[] = {
  { "tcp://127.0.0.1:7000", "tcp", "127.0.0.1", 7000, "tcp://127.0.0.1:7000" },
  { "tls://example.com:443", "tls", "example.com", 443, "tls://example.com:443" },
  { "TLS://Example.COM:443", "tls", "Example.COM", 443, "tls://example.com:443" },
  { "udp://[::1]:5353", "udp", "::1", 5353, "udp://[::1]:5353" },
  { "quic://h:443", "quic", "h", 443, "quic://h:443" },
  { "sctp://10.0.0.1:9899", "sctp", "10.0.0.1", 9899, "sctp://10.0.0.1:9899" },
  { "dtls://example.org:4433", "dtls", "example.org", 4433, "dtls://example.org:4433" },
  { "tcp://h:1/", "tcp", "h", 1, "tcp://h:1" },
  { "tcp://h:65535", "tcp", "h", 65535, "tcp://h:65535" },
  { "example.com:80", NULL, "example.com", 80, "example.com:80" },
  { "127.0.0.1:9", NULL, "127.0.0.1", 9, "127.0.0.1:9" },
  { "[::1]:7000", NULL, "::1", 7000, "[::1]:7000" },
  { "[fe80::1%lo]:7000", NULL, "fe80::1%lo", 7000, "[fe80::1%lo]:7000" },
  { "tcp://[fe80::1%25lo]:7000", "tcp", "fe80::1%lo", 7000, "tcp://[fe80::1%lo]:7000" },
};

static void
test_uri_good (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (good_uris); i++)
    {
      const GoodUri *t = &good_uris[i];
      g_autoptr(GError) error = NULL;
      g_autoptr(PostRemote) remote = NULL;
      g_autofree char *text = NULL;

      g_test_message ("parsing %s", t->uri);
      remote = post_remote_new_from_uri (t->uri, &error);
      g_assert_no_error (error);
      g_assert_nonnull (remote);

      g_assert_cmpint (post_remote_get_level (remote), ==, POST_REMOTE_LEVEL_URI);
      g_assert_false (post_remote_is_resolved (remote));
      g_assert_cmpstr (post_remote_get_uri (remote), ==, t->uri);
      g_assert_cmpstr (post_remote_get_stack (remote), ==, t->stack);
      g_assert_cmpstr (post_remote_get_hostname (remote), ==, t->hostname);
      g_assert_cmpuint (post_remote_get_port (remote), ==, t->port);
      g_assert_null (post_remote_get_address (remote));
      g_assert_null (post_remote_get_parent (remote));

      text = post_remote_to_string (remote);
      g_assert_cmpstr (text, ==, t->canonical);
    }
}

typedef struct {
  const char *uri;
  const char *fragment;   /* the message must contain this */
} BadUri;

static const BadUri bad_uris[] = {
  { "", "empty" },
  { "foo://h:1", "unknown scheme ‘foo’" },
  /* (http is an application scheme now: tests/test-schemes.c) */
  { "gopher://example.com:70", "unknown scheme ‘gopher’" },
  { "https://user@example.com", "user information" },
  { "tcp://example.com", "port is missing" },
  { "tcp://example.com:", "port is missing" },
  { "tcp://example.com:0", "port 0" },
  { "tcp://example.com:70000", "70000" },
  { "tcp://example.com:abc", "abc" },
  { "tcp://:7000", "host is empty" },
  { "tcp://[]:7000", "‘tcp://[]:7000’" },
  { "tcp://user@h:1", "user information" },
  { "tcp://user:pw@h:1", "user information" },
  { "tcp://h:1/path", "path, query or fragment" },
  { "tcp://h:1?q=1", "path, query or fragment" },
  { "tcp://h:1#frag", "path, query or fragment" },
  { "example.com", "port is missing" },
  { "example.com:0", "port 0" },
  { "example.com:99999", "99999" },
  { "fe80::1:80", "‘fe80::1:80’" },
  { "[fe80::1%no-such-if0]:80", "names no network interface" },
  { "[::1", "‘[::1’" },
  /* Percent-decoded hosts: no control characters, spaces or delimiters */
  { "tcp://evil%0aInjected:80", "the host ‘evil\\nInjected’ holds a character" },
  { "tcp://evil%0d%0aX:80", "holds a character" },
  { "tcp://a%00b:80", "invalid URI" },
  { "tcp://a%20b:80", "holds a character" },
  { "tcp://a%2fb:80", "holds a character" },
  { "tcp://a%3bb:80", "holds a character" },
  { "tcp://a%3ab:80", "holds a character" },
  { "tcp://a%40b:80", "holds a character" },
  { "tcp://a%25b:80", "holds a character" },
  { "tcp://a%7fb:80", "holds a character" },
  { "a%09b:80", "holds a character" },
  { "tcp://%ff%fe:80", "invalid URI" },
  { "tcp://a%3a:80", "holds a character" },
  { "tcp://1%3a2%3a3%3a4%3a5%3a6%3a7%3ag:80", "holds a character" },
  { "tcp://[::1%25a/b]:80", "invalid URI" },
};

static void
test_uri_bad (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (bad_uris); i++)
    {
      const BadUri *t = &bad_uris[i];
      g_autoptr(GError) error = NULL;
      g_autoptr(PostRemote) remote = NULL;
      g_autofree char *quoted = g_strdup_printf ("‘%s’", t->uri);

      g_test_message ("parsing %s", t->uri);
      remote = post_remote_new_from_uri (t->uri, &error);
      g_assert_null (remote);
      g_assert_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT);
      g_test_message ("  → %s", error->message);
      g_assert_nonnull (strstr (error->message, t->fragment));
      /* Every message quotes the URI, except the empty one */
      if (*t->uri != '\0')
        g_assert_nonnull (strstr (error->message, quoted));
    }
}

/* The canonical form of every URI that parses parses back to itself */
static void
test_uri_round_trip (void)
{
  static const char * const more[] = {
    "tcp://ex%61mple.com:80", "tcp://Under_Score.example:80", "tcp://h%C3%A9llo.example:80",
    "tcp://xn--hllo-bpa.example:80", "udp://[2001:DB8::1]:53", "[::ffff:192.0.2.1]:1",
    "tcp://010.1.1.1:80", "quic://a-b.c-d:443",
    /* a host named like an application scheme: only `://` makes a scheme
     * (found by fuzz-remote: "Ws\r:7/" canonicalised to "ws:7", which
     * then parsed as a ws URL) */
    "Ws\r:7/", "ws:7", "http:80",
  };
  g_autoptr(GPtrArray) uris = g_ptr_array_new ();

  for (guint i = 0; i < G_N_ELEMENTS (good_uris); i++)
    g_ptr_array_add (uris, (gpointer) good_uris[i].uri);
  for (guint i = 0; i < G_N_ELEMENTS (more); i++)
    g_ptr_array_add (uris, (gpointer) more[i]);
  for (guint i = 0; i < G_N_ELEMENTS (bad_uris); i++)
    g_ptr_array_add (uris, (gpointer) bad_uris[i].uri);

  for (guint i = 0; i < uris->len; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(PostRemote) remote = post_remote_new_from_uri (uris->pdata[i], &error);
      g_autoptr(PostRemote) again = NULL;
      g_autofree char *canonical = NULL;
      g_autofree char *canonical_again = NULL;

      if (remote == NULL)
        continue;
      canonical = post_remote_to_string (remote);
      g_test_message ("%s → %s", (char *) uris->pdata[i], canonical);
      again = post_remote_new_from_uri (canonical, &error);
      g_assert_no_error (error);
      canonical_again = post_remote_to_string (again);
      g_assert_cmpstr (canonical_again, ==, canonical);
      g_assert_true (post_remote_equal (remote, again));
    }

  /* `http:80` is the host "http" on port 80, not an http URL with its ALPN */
  {
    g_autoptr(PostRemote) bare = post_remote_new_from_uri ("http:80", NULL);

    g_assert_nonnull (bare);
    g_assert_cmpstr (post_remote_get_hostname (bare), ==, "http");
    g_assert_cmpuint (post_remote_get_port (bare), ==, 80);
    g_assert_null (post_remote_get_alpn (bare));
    g_assert_null (post_remote_get_stack (bare));
  }
}

/* ---- levels ---------------------------------------------------------------- */

static void
test_levels (void)
{
  g_autoptr(PostRemote) name = post_remote_new ("example.com", 443);
  g_autoptr(PostRemote) literal4 = post_remote_new ("192.0.2.1", 80);
  g_autoptr(PostRemote) literal6 = post_remote_new ("2001:db8::1", 80);
  g_autoptr(GInetAddress) inet = g_inet_address_new_from_string ("192.0.2.1");
  g_autoptr(GSocketAddress) sa = g_inet_socket_address_new (inet, 80);
  g_autoptr(PostRemote) address = post_remote_new_for_address (sa);
  g_autofree char *text6 = NULL;

  g_assert_cmpint (post_remote_get_level (name), ==, POST_REMOTE_LEVEL_NAME);
  g_assert_false (post_remote_is_resolved (name));
  g_assert_null (post_remote_get_address (name));
  g_assert_null (post_remote_get_uri (name));
  g_assert_null (post_remote_get_stack (name));
  g_assert_cmpstr (post_remote_get_hostname (name), ==, "example.com");
  g_assert_cmpuint (post_remote_get_port (name), ==, 443);

  g_assert_cmpint (post_remote_get_level (literal4), ==, POST_REMOTE_LEVEL_ADDRESS);
  g_assert_true (post_remote_is_resolved (literal4));
  g_assert_true (G_IS_INET_SOCKET_ADDRESS (post_remote_get_address (literal4)));
  g_assert_cmpint (post_remote_get_level (literal6), ==, POST_REMOTE_LEVEL_ADDRESS);
  text6 = post_remote_to_string (literal6);
  g_assert_cmpstr (text6, ==, "[2001:db8::1]:80");

  g_assert_cmpint (post_remote_get_level (address), ==, POST_REMOTE_LEVEL_ADDRESS);
  g_assert_true (post_remote_get_address (address) == sa);
  g_assert_cmpuint (post_remote_get_port (address), ==, 80);
  g_assert_null (post_remote_get_hostname (address));

  /* The same address and port whatever way it was made */
  g_assert_true (post_remote_equal (literal4, address));
  g_assert_cmpuint (post_remote_hash (literal4), ==, post_remote_hash (address));
}

static void
test_scoped_literal (void)
{
  guint index = if_nametoindex ("lo");
  g_autoptr(GError) error = NULL;
  g_autoptr(PostRemote) remote = NULL;
  g_autoptr(PostRemote) numeric = NULL;
  GInetSocketAddress *address;

  if (index == 0)
    {
      g_test_skip ("no loopback interface named lo");
      return;
    }

  remote = post_remote_new ("fe80::1%lo", 7000);
  g_assert_cmpint (post_remote_get_level (remote), ==, POST_REMOTE_LEVEL_ADDRESS);
  address = G_INET_SOCKET_ADDRESS (post_remote_get_address (remote));
  g_assert_cmpuint (g_inet_socket_address_get_scope_id (address), ==, index);
  g_assert_cmpuint (g_inet_socket_address_get_port (address), ==, 7000);

  /* A numeric scope is the same remote */
  {
    g_autofree char *literal = g_strdup_printf ("fe80::1%%%u", index);
    numeric = post_remote_new (literal, 7000);
  }
  g_assert_true (post_remote_equal (remote, numeric));
}

/* ---- properties -------------------------------------------------------- */

static void
test_properties (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostRemote) remote = post_remote_new_from_uri ("tls://example.com:443", &error);
  g_autoptr(PostRemote) built = NULL;
  g_autofree char *uri = NULL, *hostname = NULL, *stack = NULL;
  guint port = 0;
  PostRemoteLevel level;
  GSocketAddress *address = NULL;
  PostRemote *parent = NULL;

  g_assert_no_error (error);
  g_object_get (remote,
                "uri", &uri,
                "hostname", &hostname,
                "port", &port,
                "stack", &stack,
                "level", &level,
                "address", &address,
                "parent", &parent,
                NULL);
  g_assert_cmpstr (uri, ==, "tls://example.com:443");
  g_assert_cmpstr (hostname, ==, "example.com");
  g_assert_cmpstr (stack, ==, "tls");
  g_assert_cmpuint (port, ==, 443);
  g_assert_cmpint (level, ==, POST_REMOTE_LEVEL_URI);
  g_assert_null (address);
  g_assert_null (parent);

  /* Construct-only: the properties are not writable afterwards */
  g_assert_true (g_object_class_find_property (G_OBJECT_GET_CLASS (remote), "uri")->flags &
                 G_PARAM_CONSTRUCT_ONLY);
  g_assert_false (g_object_class_find_property (G_OBJECT_GET_CLASS (remote), "level")->flags &
                  G_PARAM_WRITABLE);

  /* As bindings build it: a URI alone is parsed */
  built = g_object_new (POST_TYPE_REMOTE, "uri", "udp://[::1]:53", NULL);
  g_assert_cmpstr (post_remote_get_stack (built), ==, "udp");
  g_assert_cmpstr (post_remote_get_hostname (built), ==, "::1");
  g_assert_cmpuint (post_remote_get_port (built), ==, 53);
  g_assert_cmpint (post_remote_get_level (built), ==, POST_REMOTE_LEVEL_URI);
}

/* ---- equality ---------------------------------------------------------- */

static void
test_hash_equal (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostRemote) a = post_remote_new_from_uri ("tcp://Example.com:80", &error);
  g_autoptr(PostRemote) b = post_remote_new_from_uri ("tcp://example.COM:80/", &error);
  g_autoptr(PostRemote) c = post_remote_new_from_uri ("tls://example.com:80", &error);
  g_autoptr(PostRemote) d = post_remote_new_from_uri ("tcp://example.com:81", &error);
  g_autoptr(PostRemote) e = post_remote_new ("example.com", 80);
  g_autoptr(PostRemote) f = post_remote_new_from_uri ("example.com:80", &error);
  g_autoptr(PostRemote) v6a = post_remote_new_from_uri ("[::1]:80", &error);
  g_autoptr(PostRemote) v6b = post_remote_new ("0:0::0:1", 80);
  g_autoptr(GHashTable) set = g_hash_table_new (post_remote_hash, post_remote_equal);

  g_assert_no_error (error);

  g_assert_true (post_remote_equal (a, b));
  g_assert_cmpuint (post_remote_hash (a), ==, post_remote_hash (b));
  g_assert_false (post_remote_equal (a, c));  /* another stack */
  g_assert_false (post_remote_equal (a, d));  /* another port */
  g_assert_false (post_remote_equal (a, e));  /* a stack hint against none */
  g_assert_true (post_remote_equal (e, f));   /* NAME and URI of the same endpoint */
  g_assert_true (post_remote_equal (v6a, v6b)); /* literals compare as addresses */

  g_hash_table_add (set, a);
  g_hash_table_add (set, b);
  g_hash_table_add (set, c);
  g_hash_table_add (set, d);
  g_hash_table_add (set, e);
  g_hash_table_add (set, f);
  g_assert_cmpuint (g_hash_table_size (set), ==, 4);
}

/* ---- resolution ---------------------------------------------------------- */

/* Interleaving, checked on a NAME that resolves to several addresses of
 * each family: GResolver is replaced by one that answers from a table. */

#define TEST_TYPE_RESOLVER (test_resolver_get_type ())
G_DECLARE_FINAL_TYPE (TestResolver, test_resolver, TEST, RESOLVER, GResolver)

struct _TestResolver
{
  GResolver parent_instance;
};

G_DEFINE_TYPE (TestResolver, test_resolver, G_TYPE_RESOLVER)

static GList *
make_addresses (const char * const *literals)
{
  GList *list = NULL;

  for (guint i = 0; literals[i] != NULL; i++)
    list = g_list_append (list, g_inet_address_new_from_string (literals[i]));

  return list;
}

static void
test_resolver_lookup_by_name_with_flags_async (GResolver                 *resolver,
                                               const char                *hostname,
                                               GResolverNameLookupFlags   flags,
                                               GCancellable              *cancellable,
                                               GAsyncReadyCallback        callback,
                                               gpointer                   user_data)
{
  static const char * const v4[] = { "192.0.2.1", "192.0.2.2", "192.0.2.3", NULL };
  static const char * const v6[] = { "2001:db8::1", "2001:db8::2", NULL };
  g_autoptr(GTask) task = g_task_new (resolver, cancellable, callback, user_data);

  if (g_str_has_suffix (hostname, ".invalid"))
    g_task_return_new_error (task, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND, "no such host");
  else if (g_str_equal (hostname, "v4only.test") && flags == G_RESOLVER_NAME_LOOKUP_FLAGS_IPV6_ONLY)
    g_task_return_new_error (task, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND, "no AAAA");
  else if (flags == G_RESOLVER_NAME_LOOKUP_FLAGS_IPV6_ONLY)
    g_task_return_pointer (task, make_addresses (v6), (GDestroyNotify) g_resolver_free_addresses);
  else if (flags == G_RESOLVER_NAME_LOOKUP_FLAGS_IPV4_ONLY)
    g_task_return_pointer (task, make_addresses (v4), (GDestroyNotify) g_resolver_free_addresses);
  else
    g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED, "flags");
}

static GList *
test_resolver_lookup_by_name_with_flags_finish (GResolver     *resolver,
                                                GAsyncResult  *result,
                                                GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
test_resolver_class_init (TestResolverClass *klass)
{
  GResolverClass *resolver_class = G_RESOLVER_CLASS (klass);

  resolver_class->lookup_by_name_with_flags_async = test_resolver_lookup_by_name_with_flags_async;
  resolver_class->lookup_by_name_with_flags_finish = test_resolver_lookup_by_name_with_flags_finish;
}

static void
test_resolver_init (TestResolver *self)
{
}

static void
store_result_cb (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  GAsyncResult **out = user_data;
  *out = g_object_ref (result);
  g_main_context_wakeup (NULL);
}

static GAsyncResult *
wait_for_result (GAsyncResult **slot)
{
  while (*slot == NULL)
    g_main_context_iteration (NULL, TRUE);
  return *slot;
}

static GPtrArray *
resolve_sync (PostRemote  *remote,
              gboolean     fully,
              GError     **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  if (fully)
    post_remote_resolve_fully_async (remote, NULL, store_result_cb, &result);
  else
    post_remote_resolve_async (remote, NULL, store_result_cb, &result);
  wait_for_result (&result);

  if (fully)
    return post_remote_resolve_fully_finish (remote, result, error);
  return post_remote_resolve_finish (remote, result, error);
}

static void
test_resolve_uri_to_name (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostRemote) remote = post_remote_new_from_uri ("tls://localhost:8443", &error);
  g_autoptr(GPtrArray) children = NULL;
  PostRemote *child;

  g_assert_no_error (error);
  children = resolve_sync (remote, FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (children->len, ==, 1);

  child = children->pdata[0];
  g_assert_cmpint (post_remote_get_level (child), ==, POST_REMOTE_LEVEL_NAME);
  g_assert_true (post_remote_get_parent (child) == remote);
  g_assert_cmpstr (post_remote_get_hostname (child), ==, "localhost");
  g_assert_cmpstr (post_remote_get_stack (child), ==, "tls");
  g_assert_cmpuint (post_remote_get_port (child), ==, 8443);
  g_assert_null (post_remote_get_uri (child));
}

static void
test_resolve_uri_literal (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostRemote) remote = post_remote_new_from_uri ("udp://[::1]:5353", &error);
  g_autoptr(GPtrArray) children = NULL;
  PostRemote *child;
  GInetSocketAddress *address;
  g_autofree char *text = NULL;

  g_assert_no_error (error);
  children = resolve_sync (remote, FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (children->len, ==, 1);

  /* A literal skips the NAME level and the lookup */
  child = children->pdata[0];
  g_assert_cmpint (post_remote_get_level (child), ==, POST_REMOTE_LEVEL_ADDRESS);
  g_assert_true (post_remote_get_parent (child) == remote);
  g_assert_cmpstr (post_remote_get_stack (child), ==, "udp");
  address = G_INET_SOCKET_ADDRESS (post_remote_get_address (child));
  g_assert_cmpuint (g_inet_socket_address_get_port (address), ==, 5353);
  g_assert_true (g_inet_address_get_is_loopback (g_inet_socket_address_get_address (address)));

  text = post_remote_to_string (child);
  g_assert_cmpstr (text, ==, "udp://[::1]:5353");
  g_assert_true (post_remote_equal (child, remote));
}

static void
test_resolve_name (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostRemote) parent = NULL;
  g_autoptr(PostRemote) remote = NULL;
  g_autoptr(GPtrArray) children = NULL;

  parent = post_remote_new_from_uri ("tcp://localhost:7000", &error);
  g_assert_no_error (error);
  {
    g_autoptr(GPtrArray) level1 = resolve_sync (parent, FALSE, &error);
    g_assert_no_error (error);
    remote = g_object_ref (level1->pdata[0]);
  }

  children = resolve_sync (remote, FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (children->len, >=, 1);

  for (guint i = 0; i < children->len; i++)
    {
      PostRemote *child = children->pdata[i];
      GInetSocketAddress *address = G_INET_SOCKET_ADDRESS (post_remote_get_address (child));
      g_autofree char *text = post_remote_to_string (child);

      g_test_message ("localhost → %s", text);
      g_assert_cmpint (post_remote_get_level (child), ==, POST_REMOTE_LEVEL_ADDRESS);
      g_assert_true (post_remote_get_parent (child) == remote);
      g_assert_true (post_remote_get_parent (post_remote_get_parent (child)) == parent);
      g_assert_cmpstr (post_remote_get_stack (child), ==, "tcp");
      g_assert_cmpstr (post_remote_get_hostname (child), ==, "localhost");
      g_assert_cmpuint (post_remote_get_port (child), ==, 7000);
      g_assert_cmpuint (g_inet_socket_address_get_port (address), ==, 7000);
      g_assert_true (g_inet_address_get_is_loopback (g_inet_socket_address_get_address (address)));

      /* no duplicates */
      for (guint j = 0; j < i; j++)
        g_assert_false (post_remote_equal (children->pdata[j], child));
    }
}

static void
test_resolve_address_is_itself (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostRemote) remote = post_remote_new ("127.0.0.1", 9);
  g_autoptr(GPtrArray) children = resolve_sync (remote, FALSE, &error);
  g_autoptr(GPtrArray) fully = resolve_sync (remote, TRUE, &error);

  g_assert_no_error (error);
  g_assert_cmpuint (children->len, ==, 1);
  g_assert_true (children->pdata[0] == remote);
  g_assert_cmpuint (fully->len, ==, 1);
  g_assert_true (fully->pdata[0] == remote);
}

static void
test_resolve_failure (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GResolver) original = g_resolver_get_default ();
  g_autoptr(GResolver) fake = g_object_new (TEST_TYPE_RESOLVER, NULL);
  g_autoptr(PostRemote) remote = post_remote_new ("does-not-exist.invalid", 80);
  g_autoptr(GPtrArray) children = NULL;
  g_autoptr(GPtrArray) fully = NULL;

  g_resolver_set_default (fake);
  children = resolve_sync (remote, FALSE, &error);

  g_assert_null (children);
  g_assert_error (error, POST_ERROR, POST_ERROR_RESOLVE);
  g_assert_nonnull (strstr (error->message, "does-not-exist.invalid"));
  g_clear_error (&error);

  fully = resolve_sync (remote, TRUE, &error);
  g_assert_null (fully);
  g_assert_error (error, POST_ERROR, POST_ERROR_RESOLVE);
  g_assert_nonnull (strstr (error->message, "does-not-exist.invalid"));

  g_resolver_set_default (original);
}

static void
test_resolve_cancelled (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostRemote) remote = post_remote_new ("localhost", 80);
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GPtrArray) children = NULL;

  g_cancellable_cancel (cancellable);
  post_remote_resolve_async (remote, cancellable, store_result_cb, &result);
  wait_for_result (&result);
  children = post_remote_resolve_finish (remote, result, &error);
  g_assert_null (children);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}

static void
test_resolve_fully (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(PostRemote) remote = post_remote_new_from_uri ("tcp://localhost:7000", &error);
  g_autoptr(GPtrArray) addresses = NULL;
  gboolean has_v6 = FALSE;

  g_assert_no_error (error);
  addresses = resolve_sync (remote, TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (addresses->len, >=, 1);

  for (guint i = 0; i < addresses->len; i++)
    {
      PostRemote *child = addresses->pdata[i];
      PostRemote *name = post_remote_get_parent (child);
      GSocketFamily family = g_socket_address_get_family (post_remote_get_address (child));

      g_assert_cmpint (post_remote_get_level (child), ==, POST_REMOTE_LEVEL_ADDRESS);
      g_assert_nonnull (name);
      g_assert_cmpint (post_remote_get_level (name), ==, POST_REMOTE_LEVEL_NAME);
      g_assert_true (post_remote_get_parent (name) == remote);
      g_assert_cmpstr (post_remote_get_stack (child), ==, "tcp");
      if (family == G_SOCKET_FAMILY_IPV6)
        has_v6 = TRUE;
    }

  /* IPv6 comes first whenever there is one */
  if (has_v6)
    g_assert_cmpint (g_socket_address_get_family (post_remote_get_address (addresses->pdata[0])),
                     ==, G_SOCKET_FAMILY_IPV6);
}

static void
test_resolve_fully_interleaved (void)
{
  g_autoptr(GResolver) original = g_resolver_get_default ();
  g_autoptr(GResolver) fake = g_object_new (TEST_TYPE_RESOLVER, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(PostRemote) remote = post_remote_new_from_uri ("quic://dual.test:443", &error);
  g_autoptr(PostRemote) v4only = post_remote_new ("v4only.test", 80);
  g_autoptr(GPtrArray) addresses = NULL;
  g_autoptr(GPtrArray) v4addresses = NULL;
  static const char * const expected[] = {
    "quic://[2001:db8::1]:443", "quic://192.0.2.1:443",
    "quic://[2001:db8::2]:443", "quic://192.0.2.2:443",
    "quic://192.0.2.3:443",
  };

  g_resolver_set_default (fake);

  g_assert_no_error (error);
  addresses = resolve_sync (remote, TRUE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (addresses->len, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < addresses->len; i++)
    {
      g_autofree char *text = post_remote_to_string (addresses->pdata[i]);
      g_assert_cmpstr (text, ==, expected[i]);
      g_assert_cmpstr (post_remote_get_hostname (addresses->pdata[i]), ==, "dual.test");
    }

  /* One family failing is not a failure */
  v4addresses = resolve_sync (v4only, FALSE, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (v4addresses->len, ==, 3);

  g_resolver_set_default (original);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/remote/uri/good", test_uri_good);
  g_test_add_func ("/remote/uri/bad", test_uri_bad);
  g_test_add_func ("/remote/uri/round-trip", test_uri_round_trip);
  g_test_add_func ("/remote/levels", test_levels);
  g_test_add_func ("/remote/scoped-literal", test_scoped_literal);
  g_test_add_func ("/remote/properties", test_properties);
  g_test_add_func ("/remote/hash-equal", test_hash_equal);
  g_test_add_func ("/remote/resolve/uri-to-name", test_resolve_uri_to_name);
  g_test_add_func ("/remote/resolve/uri-literal", test_resolve_uri_literal);
  g_test_add_func ("/remote/resolve/name", test_resolve_name);
  g_test_add_func ("/remote/resolve/address", test_resolve_address_is_itself);
  g_test_add_func ("/remote/resolve/failure", test_resolve_failure);
  g_test_add_func ("/remote/resolve/cancelled", test_resolve_cancelled);
  g_test_add_func ("/remote/resolve/fully", test_resolve_fully);
  g_test_add_func ("/remote/resolve/fully-interleaved", test_resolve_fully_interleaved);

  return g_test_run ();
}
