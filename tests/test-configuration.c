/* test-configuration.c: PostConfiguration defaults, nicks, properties,
 * options, freezing, copying and equality
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>

#include <string.h>

static const char * const nicks[POST_SELECTION_LAST] = {
  "reliability", "preserve-msg-boundaries", "per-msg-reliability", "preserve-order",
  "zero-rtt-msg", "multistreaming", "congestion-control", "keep-alive", "multipath",
  "secure", "fork",
};

static void
test_defaults (void)
{
  g_autoptr(PostConfiguration) config = post_configuration_new ();

  for (guint i = 0; i < POST_SELECTION_LAST; i++)
    {
      PostPreference expected = POST_PREFERENCE_NO_PREFERENCE;

      if (i == POST_SELECTION_RELIABILITY || i == POST_SELECTION_PRESERVE_ORDER ||
          i == POST_SELECTION_CONGESTION_CONTROL)
        expected = POST_PREFERENCE_REQUIRE;
      g_assert_cmpint (post_configuration_get_preference (config, i), ==, expected);
    }

  g_assert_null (post_configuration_get_stacks (config));
  g_assert_cmpint (post_configuration_get_framing (config), ==, POST_FRAMING_AUTO);
  g_assert_true (post_configuration_get_framer_type (config) == POST_TYPE_LENGTH_PREFIX_FRAMER);
  g_assert_cmpuint (post_configuration_get_attempt_delay (config), ==, 250);
  g_assert_cmpuint (post_configuration_get_conn_timeout (config), ==, 30000);
  g_assert_cmpuint (post_configuration_get_send_queue_limit (config), ==, 4 * 1024 * 1024);
  g_assert_cmpuint (post_configuration_get_recv_msg_max_len (config), ==, 16 * 1024 * 1024);
  g_assert_false (post_configuration_is_frozen (config));
}

static void
test_nicks (void)
{
  static const char * const levels[] = { "no-preference", "require", "prefer", "avoid", "prohibit" };

  for (guint i = 0; i < POST_SELECTION_LAST; i++)
    {
      PostSelectionProperty property;

      g_assert_cmpstr (post_selection_property_to_nick (i), ==, nicks[i]);
      g_assert_true (post_selection_property_from_nick (nicks[i], &property));
      g_assert_cmpint (property, ==, i);
    }
  g_assert_null (post_selection_property_to_nick (POST_SELECTION_LAST));
  g_assert_false (post_selection_property_from_nick ("reliable", NULL));
  g_assert_false (post_selection_property_from_nick ("", NULL));

  for (guint i = 0; i < G_N_ELEMENTS (levels); i++)
    {
      PostPreference preference;

      g_assert_cmpstr (post_preference_to_nick (i), ==, levels[i]);
      g_assert_true (post_preference_from_nick (levels[i], &preference));
      g_assert_cmpint (preference, ==, i);
    }
  g_assert_null (post_preference_to_nick (42));
  g_assert_false (post_preference_from_nick ("required", NULL));

  /* The enum types agree with the nick tables */
  {
    g_autoptr(GEnumClass) klass = g_type_class_ref (POST_TYPE_PREFERENCE);
    for (guint i = 0; i < G_N_ELEMENTS (levels); i++)
      g_assert_cmpstr (g_enum_get_value (klass, i)->value_nick, ==, levels[i]);
  }
}

static void
test_set_by_name (void)
{
  g_autoptr(PostConfiguration) config = post_configuration_new ();
  g_autoptr(GError) error = NULL;

  g_assert_true (post_configuration_set_preference_by_name (config, "secure", "require", &error));
  g_assert_no_error (error);
  g_assert_cmpint (post_configuration_get_preference (config, POST_SELECTION_SECURE), ==,
                   POST_PREFERENCE_REQUIRE);

  g_assert_false (post_configuration_set_preference_by_name (config, "securee", "require", &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "‘securee’"));
  g_clear_error (&error);

  g_assert_false (post_configuration_set_preference_by_name (config, "secure", "must", &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "‘must’"));
  g_assert_nonnull (strstr (error->message, "secure"));
}

static void
count_notify (GObject    *object,
              GParamSpec *pspec,
              gpointer    user_data)
{
  GPtrArray *names = user_data;
  g_ptr_array_add (names, g_strdup (pspec->name));
}

static void
test_properties_notify (void)
{
  g_autoptr(PostConfiguration) config = post_configuration_new ();
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;
  const char * const stacks[] = { "tls", "tcp", NULL };
  g_auto(GStrv) got_stacks = NULL;
  PostPreference secure;
  guint delay;
  guint64 limit;
  GType framer;

  g_signal_connect (config, "notify", G_CALLBACK (count_notify), names);

  /* Every selection property is a GObject property named by its nick */
  for (guint i = 0; i < POST_SELECTION_LAST; i++)
    {
      GParamSpec *pspec = g_object_class_find_property (G_OBJECT_GET_CLASS (config), nicks[i]);
      g_assert_nonnull (pspec);
      g_assert_true (G_PARAM_SPEC_VALUE_TYPE (pspec) == POST_TYPE_PREFERENCE);
    }

  g_object_set (config, "secure", POST_PREFERENCE_PREFER, NULL);
  g_object_get (config, "secure", &secure, NULL);
  g_assert_cmpint (secure, ==, POST_PREFERENCE_PREFER);
  g_assert_cmpuint (names->len, ==, 1);
  g_assert_cmpstr (names->pdata[0], ==, "secure");

  /* No change, no notify */
  g_object_set (config, "secure", POST_PREFERENCE_PREFER, NULL);
  g_assert_true (post_configuration_set_preference (config, POST_SELECTION_SECURE,
                                                    POST_PREFERENCE_PREFER, &error));
  g_assert_cmpuint (names->len, ==, 1);

  g_object_set (config, "stacks", stacks, "attempt-delay", 100, "send-queue-limit",
                (guint64) 1024 * 1024, NULL);
  g_object_get (config, "stacks", &got_stacks, "attempt-delay", &delay,
                "send-queue-limit", &limit, "framer-type", &framer, NULL);
  g_assert_cmpstrv (got_stacks, stacks);
  g_assert_cmpuint (delay, ==, 100);
  g_assert_cmpuint (limit, ==, 1024 * 1024);
  g_assert_true (framer == POST_TYPE_LENGTH_PREFIX_FRAMER);
  g_assert_cmpuint (names->len, ==, 4);

  g_assert_true (post_configuration_set_stacks (config, stacks, &error));
  g_assert_cmpuint (names->len, ==, 4);
  g_assert_true (post_configuration_set_stacks (config, NULL, &error));
  g_assert_null (post_configuration_get_stacks (config));
  g_assert_cmpuint (names->len, ==, 5);

  g_assert_true (post_configuration_set_framing (config, POST_FRAMING_STREAM, &error));
  g_assert_true (post_configuration_set_conn_timeout (config, 0, &error));
  g_assert_true (post_configuration_set_recv_msg_max_len (config, 1024, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (names->len, ==, 8);
  g_assert_cmpstr (names->pdata[7], ==, "recv-msg-max-len");
}

/* RFC 9622 keepAliveTimeout: disabled by default; the `keep-alive`
 * selection property alone turns on a 30 s default, not TCP's 2 h. */
static void
test_keep_alive_timeout (void)
{
  g_autoptr(PostConfiguration) config = post_configuration_new ();
  g_autoptr(PostConfiguration) copy = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  guint value = 0;

  g_assert_cmpuint (post_configuration_get_keep_alive_timeout (config), ==, 0);
  g_assert_cmpuint (post_configuration_get_effective_keep_alive_timeout (config), ==, 0);
  text = post_configuration_to_string (config);
  g_assert_null (strstr (text, "keep-alive-timeout"));
  g_clear_pointer (&text, g_free);

  g_assert_true (post_configuration_set_preference (config, POST_SELECTION_KEEP_ALIVE,
                                                    POST_PREFERENCE_PREFER, &error));
  g_assert_cmpuint (post_configuration_get_effective_keep_alive_timeout (config), ==, 30000);
  g_assert_true (post_configuration_set_preference (config, POST_SELECTION_KEEP_ALIVE,
                                                    POST_PREFERENCE_AVOID, &error));
  g_assert_cmpuint (post_configuration_get_effective_keep_alive_timeout (config), ==, 0);

  g_assert_true (post_configuration_set_keep_alive_timeout (config, 1500, &error));
  g_assert_no_error (error);
  g_assert_cmpuint (post_configuration_get_keep_alive_timeout (config), ==, 1500);
  g_assert_cmpuint (post_configuration_get_effective_keep_alive_timeout (config), ==, 1500);
  g_object_get (config, "keep-alive-timeout", &value, NULL);
  g_assert_cmpuint (value, ==, 1500);
  text = post_configuration_to_string (config);
  g_assert_nonnull (strstr (text, "\nkeep-alive-timeout=1500"));
  copy = post_configuration_copy (config);
  g_assert_cmpuint (post_configuration_get_keep_alive_timeout (copy), ==, 1500);
  g_assert_true (post_configuration_equal (config, copy));

  /* More than a day is refused, the value unchanged. */
  g_assert_false (post_configuration_set_keep_alive_timeout (config, 24 * 3600 * 1000 + 1, &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT);
  g_assert_cmpuint (post_configuration_get_keep_alive_timeout (config), ==, 1500);
}

static void
test_invalid_values (void)
{
  g_autoptr(PostConfiguration) config = post_configuration_new ();
  g_autoptr(GError) error = NULL;
  const char * const dup[] = { "tcp", "tcp", NULL };
  const char * const empty[] = { "", NULL };

  g_assert_false (post_configuration_set_send_queue_limit (config, 1024, &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_true (post_configuration_set_send_queue_limit (config, 64 * 1024, &error));

  g_assert_false (post_configuration_set_recv_msg_max_len (config, 0, &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);

  g_assert_false (post_configuration_set_framer_type (config, G_TYPE_OBJECT, &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "GObject"));
  g_clear_error (&error);
  g_assert_false (post_configuration_set_framer_type (config, POST_TYPE_FRAMER, &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_true (post_configuration_set_framer_type (config, POST_TYPE_LENGTH_PREFIX_FRAMER, &error));

  g_assert_false (post_configuration_set_stacks (config, dup, &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT);
  g_assert_nonnull (strstr (error->message, "‘tcp’"));
  g_clear_error (&error);
  g_assert_false (post_configuration_set_stacks (config, empty, &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT);
  g_clear_error (&error);
  g_assert_null (post_configuration_get_stacks (config));

  g_assert_false (post_configuration_set_preference (config, POST_SELECTION_LAST,
                                                     POST_PREFERENCE_REQUIRE, &error));
  g_assert_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT);
}

static void
test_options (void)
{
  g_autoptr(PostConfiguration) config = post_configuration_new ();
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) keys = NULL;
  static const char * const bad_keys[] = {
    "tcp", "tcp.", ".tcp", "TCP.user-timeout", "tcp..x", "tcp.user_timeout", "tcp user.x", "",
  };
  GVariant *value;

  /* example.* is a family no loaded stack knows: stored unchecked */
  g_assert_true (post_configuration_set_option (config, "tcp.user-timeout",
                                                g_variant_new_uint32 (5000), &error));
  g_assert_true (post_configuration_set_option (config, "example.ciphers",
                                                g_variant_new_string ("HIGH"), &error));
  g_assert_true (post_configuration_set_option (config, "example.cc.initial-window2",
                                                g_variant_new_int32 (10), &error));
  g_assert_no_error (error);

  value = post_configuration_get_option (config, "tcp.user-timeout");
  g_assert_nonnull (value);
  g_assert_false (g_variant_is_floating (value));
  g_assert_cmpuint (g_variant_get_uint32 (value), ==, 5000);
  g_assert_null (post_configuration_get_option (config, "tcp.nodelay"));

  keys = post_configuration_list_options (config);
  g_assert_cmpuint (g_strv_length (keys), ==, 3);
  g_assert_cmpstr (keys[0], ==, "example.cc.initial-window2");
  g_assert_cmpstr (keys[1], ==, "example.ciphers");
  g_assert_cmpstr (keys[2], ==, "tcp.user-timeout");

  for (guint i = 0; i < G_N_ELEMENTS (bad_keys); i++)
    {
      g_assert_false (post_configuration_set_option (config, bad_keys[i],
                                                     g_variant_new_boolean (TRUE), &error));
      g_assert_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT);
      g_clear_error (&error);
    }

  /* NULL unsets */
  g_assert_true (post_configuration_set_option (config, "example.ciphers", NULL, &error));
  g_assert_null (post_configuration_get_option (config, "example.ciphers"));
}

/* Options of the loaded stacks' families are checked against what the
 * stacks declare (post_stack_add_options()), with an error naming the
 * option, instead of being ignored at connect time */
static void
test_options_declared (void)
{
  g_autoptr(PostConfiguration) config = post_configuration_new ();
  g_autoptr(GError) error = NULL;
  PostRegistry *registry = post_registry_get_default ();
  const PostStackOption *option;
  static const struct {
    const char *key;
    const char *value;      /* GVariant text */
    const char *message;    /* what the error says */
  } bad[] = {
    { "tcp.user-timeout", "int32 -5", "tcp.user-timeout must be from 0 to 4294967295, not -5" },
    { "tcp.user-timeout", "'30000'", "tcp.user-timeout must be an integer from 0 to 4294967295, not '30000'" },
    { "tcp.user-timeout", "uint64 4294967296", "must be from 0 to 4294967295" },
    { "tcp.nodelay", "true", "unknown option tcp.nodelay: no loaded stack reads it (the tcp options are: tcp.user-timeout, tcp.max-carriers, tcp.first-message-timeout)" },
    { "tls.ciphers", "'HIGH'", "unknown option tls.ciphers" },
    { "tls.session-cache", "'sometimes'", "tls.session-cache must be one of memory, disk, none, not 'sometimes'" },
    { "tls.session-cache", "true", "tls.session-cache must be a string (GVariant type s), not true of type b" },
    { "tls.min-version", "byte 11", "tls.min-version must be from 12 to 13" },
    { "udp.multicast-ttl", "uint32 300", "udp.multicast-ttl must be from 0 to 255, not uint32 300" },
    { "udp.multicast-loop", "'yes'", "must be a boolean" },
    { "udp.multicast-source", "int32 1", "must be a string or a string array" },
    { "quic.max-connections", "int32 0", "quic.max-connections must be from 1 to" },
    { "quic.retry", "'sometimes'", "quic.retry must be one of never, always, when-busy" },
  };

  /* The suite runs with the plugins of the build tree */
  g_assert_nonnull (post_registry_lookup_stack (registry, "tcp"));
  g_assert_nonnull (post_registry_lookup_stack (registry, "udp"));
  g_assert_nonnull (post_registry_lookup_stack (registry, "quic"));

  option = post_registry_lookup_option (registry, "tcp.user-timeout");
  g_assert_nonnull (option);
  g_assert_cmpstr (option->type, ==, "u");
  g_assert_nonnull (option->blurb);

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GVariant) value = g_variant_parse (NULL, bad[i].value, NULL, NULL, NULL);

      g_assert_nonnull (value);
      g_assert_false (post_configuration_set_option (config, bad[i].key, value, &error));
      g_assert_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT);
      g_test_message ("%s=%s: %s", bad[i].key, bad[i].value, error->message);
      if (strstr (error->message, bad[i].message) == NULL)
        g_error ("‘%s’ does not contain ‘%s’", error->message, bad[i].message);
      g_clear_error (&error);
      g_assert_null (post_configuration_get_option (config, bad[i].key));
    }

  /* An integer of another type within range is stored in the declared type */
  g_assert_true (post_configuration_set_option (config, "tcp.user-timeout", g_variant_new_int32 (30000), &error));
  g_assert_no_error (error);
  g_assert_true (g_variant_is_of_type (post_configuration_get_option (config, "tcp.user-timeout"),
                                       G_VARIANT_TYPE_UINT32));
  g_assert_cmpuint (g_variant_get_uint32 (post_configuration_get_option (config, "tcp.user-timeout")), ==, 30000);
  g_assert_true (post_configuration_set_option (config, "udp.multicast-source", g_variant_new_string ("192.0.2.1"), &error));
  g_assert_true (post_configuration_set_option (config, "quic.max-data", g_variant_new_uint32 (4096), &error));
  g_assert_true (g_variant_is_of_type (post_configuration_get_option (config, "quic.max-data"),
                                       G_VARIANT_TYPE_UINT64));
  g_assert_no_error (error);
}

static void
test_freeze (void)
{
  g_autoptr(PostConfiguration) config = post_configuration_new ();
  g_autoptr(PostConfiguration) copy = NULL;
  g_autoptr(GError) error = NULL;
  const char * const stacks[] = { "tcp", NULL };
  gboolean frozen = FALSE;

  g_assert_true (post_configuration_set_option (config, "tcp.user-timeout",
                                                g_variant_new_uint32 (1), &error));
  post_configuration_freeze (config);
  post_configuration_freeze (config);
  g_assert_true (post_configuration_is_frozen (config));
  g_object_get (config, "frozen", &frozen, NULL);
  g_assert_true (frozen);

#define ASSERT_IMMUTABLE(call) \
  G_STMT_START { \
    g_assert_false (call); \
    g_assert_error (error, POST_ERROR, POST_ERROR_IMMUTABLE); \
    g_clear_error (&error); \
  } G_STMT_END

  ASSERT_IMMUTABLE (post_configuration_set_preference (config, POST_SELECTION_SECURE, POST_PREFERENCE_REQUIRE, &error));
  ASSERT_IMMUTABLE (post_configuration_set_preference_by_name (config, "secure", "require", &error));
  ASSERT_IMMUTABLE (post_configuration_set_stacks (config, stacks, &error));
  ASSERT_IMMUTABLE (post_configuration_set_framing (config, POST_FRAMING_STREAM, &error));
  ASSERT_IMMUTABLE (post_configuration_set_framer_type (config, POST_TYPE_LENGTH_PREFIX_FRAMER, &error));
  ASSERT_IMMUTABLE (post_configuration_set_attempt_delay (config, 1, &error));
  ASSERT_IMMUTABLE (post_configuration_set_conn_timeout (config, 1, &error));
  ASSERT_IMMUTABLE (post_configuration_set_keep_alive_timeout (config, 1000, &error));
  ASSERT_IMMUTABLE (post_configuration_set_send_queue_limit (config, 128 * 1024, &error));
  ASSERT_IMMUTABLE (post_configuration_set_recv_msg_max_len (config, 1, &error));
  ASSERT_IMMUTABLE (post_configuration_set_option (config, "tcp.user-timeout", g_variant_new_uint32 (2), &error));
  ASSERT_IMMUTABLE (post_configuration_set_option (config, "tcp.user-timeout", NULL, &error));

  /* GObject setters warn and ignore */
  g_test_expect_message ("Post", G_LOG_LEVEL_WARNING, "*PostConfiguration:attempt-delay*frozen*");
  g_object_set (config, "attempt-delay", 5, NULL);
  g_test_assert_expected_messages ();
  g_assert_cmpuint (post_configuration_get_attempt_delay (config), ==, 250);

  /* A copy is equal and not frozen */
  copy = post_configuration_copy (config);
  g_assert_false (post_configuration_is_frozen (copy));
  g_assert_true (post_configuration_equal (config, copy));
  g_assert_true (post_configuration_set_attempt_delay (copy, 5, &error));
  g_assert_true (post_configuration_set_option (copy, "tcp.user-timeout", g_variant_new_uint32 (2), &error));
  g_assert_cmpuint (g_variant_get_uint32 (post_configuration_get_option (config, "tcp.user-timeout")), ==, 1);
  g_assert_false (post_configuration_equal (config, copy));
}

static void
test_to_string_equal (void)
{
  g_autoptr(PostConfiguration) a = post_configuration_new ();
  g_autoptr(PostConfiguration) b = post_configuration_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  g_autofree char *text_a = NULL;
  g_autofree char *text_b = NULL;
  const char * const stacks[] = { "tls", "tcp", NULL };
  g_autoptr(GHashTable) set = g_hash_table_new (post_configuration_hash, post_configuration_equal);

  text = post_configuration_to_string (a);
  g_assert_cmpstr (text, ==,
                   "reliability=require\n"
                   "preserve-msg-boundaries=no-preference\n"
                   "per-msg-reliability=no-preference\n"
                   "preserve-order=require\n"
                   "zero-rtt-msg=no-preference\n"
                   "multistreaming=no-preference\n"
                   "congestion-control=require\n"
                   "keep-alive=no-preference\n"
                   "multipath=no-preference\n"
                   "secure=no-preference\n"
                   "fork=no-preference\n"
                   "stacks=any\n"
                   "framing=auto\n"
                   "framer-type=PostLengthPrefixFramer\n"
                   "attempt-delay=250\n"
                   "conn-timeout=30000\n"
                   "send-queue-limit=4194304\n"
                   "recv-msg-max-len=16777216");

  g_assert_true (post_configuration_equal (a, b));
  g_assert_cmpuint (post_configuration_hash (a), ==, post_configuration_hash (b));

  /* Options in any order give the same text */
  g_assert_true (post_configuration_set_option (a, "example.alpn", g_variant_new_string ("h2"), &error));
  g_assert_true (post_configuration_set_option (a, "example.nodelay", g_variant_new_boolean (TRUE), &error));
  g_assert_true (post_configuration_set_option (b, "example.nodelay", g_variant_new_boolean (TRUE), &error));
  g_assert_true (post_configuration_set_option (b, "example.alpn", g_variant_new_string ("h2"), &error));
  g_assert_true (post_configuration_set_stacks (a, stacks, &error));
  g_assert_true (post_configuration_set_stacks (b, stacks, &error));
  g_assert_no_error (error);
  text_a = post_configuration_to_string (a);
  text_b = post_configuration_to_string (b);
  g_assert_cmpstr (text_a, ==, text_b);
  g_assert_nonnull (strstr (text_a, "stacks=tls,tcp\n"));
  g_assert_nonnull (strstr (text_a, "\nexample.alpn='h2'\nexample.nodelay=true"));
  g_assert_true (post_configuration_equal (a, b));

  g_hash_table_add (set, a);
  g_hash_table_add (set, b);
  g_assert_cmpuint (g_hash_table_size (set), ==, 1);

  g_assert_true (post_configuration_set_preference (b, POST_SELECTION_MULTIPATH, POST_PREFERENCE_AVOID, &error));
  g_assert_false (post_configuration_equal (a, b));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/configuration/defaults", test_defaults);
  g_test_add_func ("/configuration/nicks", test_nicks);
  g_test_add_func ("/configuration/set-by-name", test_set_by_name);
  g_test_add_func ("/configuration/properties-notify", test_properties_notify);
  g_test_add_func ("/configuration/invalid-values", test_invalid_values);
  g_test_add_func ("/configuration/options", test_options);
  g_test_add_func ("/configuration/options/declared", test_options_declared);
  g_test_add_func ("/configuration/keep-alive-timeout", test_keep_alive_timeout);
  g_test_add_func ("/configuration/freeze-copy", test_freeze);
  g_test_add_func ("/configuration/to-string-equal", test_to_string_equal);

  return g_test_run ();
}
