/* test-selection.c: choosing stacks for a configuration
 *
 * A registry of fake stacks, made here, goes through
 * post_registry_select_stacks() (which wraps the internal ranking).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include <post.h>

#include <string.h>

#define TEST_TYPE_PSI (test_psi_get_type ())
G_DECLARE_FINAL_TYPE (TestPsi, test_psi, TEST, PSI, PostPsi)

struct _TestPsi
{
  PostPsi parent_instance;
};

G_DEFINE_FINAL_TYPE (TestPsi, test_psi, POST_TYPE_PSI)

static void
test_psi_class_init (TestPsiClass *klass)
{
}

static void
test_psi_init (TestPsi *self)
{
}

#define STREAM_CAPS (POST_STACK_CAP_RELIABLE | POST_STACK_CAP_ORDERED | \
                     POST_STACK_CAP_CONGESTION_CONTROL | POST_STACK_CAP_BYTE_STREAM | \
                     POST_STACK_CAP_LISTEN | POST_STACK_CAP_KEEP_ALIVE)

static PostRegistry *
make_registry (void)
{
  PostRegistry *registry = post_registry_new ();
  struct {
    const char *name;
    PostStackCapabilities caps;
    guint rank;
  } stacks[] = {
    { "tcp", STREAM_CAPS, POST_RANK_PRIMARY },
    { "tls", STREAM_CAPS | POST_STACK_CAP_SECURE, POST_RANK_SECONDARY },
    { "udp", POST_STACK_CAP_PRESERVE_MSG_BOUNDARIES | POST_STACK_CAP_LISTEN, POST_RANK_SECONDARY },
    { "sctp", POST_STACK_CAP_RELIABLE | POST_STACK_CAP_ORDERED | POST_STACK_CAP_CONGESTION_CONTROL |
              POST_STACK_CAP_PRESERVE_MSG_BOUNDARIES | POST_STACK_CAP_MULTISTREAMING |
              POST_STACK_CAP_PER_MSG_RELIABILITY, POST_RANK_MARGINAL },
    { "hidden", STREAM_CAPS, POST_RANK_NONE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (stacks); i++)
    {
      g_autoptr(PostStack) stack = post_stack_new (stacks[i].name, NULL, TEST_TYPE_PSI,
                                                   stacks[i].caps, stacks[i].rank);
      g_autoptr(GError) error = NULL;

      g_assert_true (post_registry_add_stack (registry, stack, &error));
      g_assert_no_error (error);
    }

  return registry;
}

/* "a,b,c" for the selected stacks, or the error message */
static char *
select_names (PostRegistry      *registry,
              PostConfiguration *configuration,
              const char        *hint,
              PostCarrierRole    role,
              GError           **error)
{
  g_autoptr(GPtrArray) stacks = post_registry_select_stacks (registry, configuration, hint, role, error);
  GString *names;

  if (stacks == NULL)
    return NULL;

  g_assert_cmpuint (stacks->len, >, 0);
  names = g_string_new (NULL);
  for (guint i = 0; i < stacks->len; i++)
    g_string_append_printf (names, "%s%s", i > 0 ? "," : "", post_stack_get_name (stacks->pdata[i]));

  return g_string_free (names, FALSE);
}

#define ASSERT_SELECTS(config, hint, role, expected)                              \
  G_STMT_START {                                                                  \
    g_autoptr(GError) _error = NULL;                                              \
    g_autofree char *_names = select_names (registry, config, hint, role, &_error); \
    g_assert_no_error (_error);                                                   \
    g_assert_cmpstr (_names, ==, expected);                                       \
  } G_STMT_END

#define ASSERT_FAILS(config, hint, role, expected)                               \
  G_STMT_START {                                                                  \
    g_autoptr(GError) _error = NULL;                                              \
    g_autofree char *_names = select_names (registry, config, hint, role, &_error); \
    g_assert_null (_names);                                                       \
    g_assert_error (_error, POST_ERROR, POST_ERROR_NO_STACK);                     \
    g_assert_cmpstr (_error->message, ==, expected);                              \
  } G_STMT_END

/* The ranking tests below look at how stacks are ordered, so they let
 * cleartext stacks race beside secure ones; security by default (only
 * secure stacks when one can serve and none is named) has its own test. */
static PostConfiguration *
ranking_config (void)
{
  PostConfiguration *config = post_configuration_new ();

  g_assert_true (post_configuration_set_allow_cleartext (config, TRUE, NULL));
  return config;
}

static void
test_secure_by_default (void)
{
  g_autoptr(PostRegistry) registry = make_registry ();
  g_autoptr(PostConfiguration) config = post_configuration_new ();
  g_autoptr(PostConfiguration) listed = post_configuration_new ();
  const char * const tcp_tls[] = { "tcp", "tls", NULL };

  /* A secure stack can serve and nothing named a stack: only it races. */
  ASSERT_SELECTS (config, NULL, POST_CARRIER_ROLE_CARRIER, "tls");
  /* The URI's scheme names cleartext: that is the application's choice. */
  ASSERT_SELECTS (config, "tcp", POST_CARRIER_ROLE_CARRIER, "tcp");
  /* So does a stacks list. */
  g_assert_true (post_configuration_set_stacks (listed, tcp_tls, NULL));
  ASSERT_SELECTS (listed, NULL, POST_CARRIER_ROLE_CARRIER, "tcp,tls");
  /* Listeners decide by their local's identity (in the carrier). */
  ASSERT_SELECTS (config, NULL, POST_CARRIER_ROLE_LISTENER, "tcp,tls");
  /* And the reason is named when nothing else is left. */
  {
    g_autoptr(PostConfiguration) strict = post_configuration_new ();

    g_assert_true (post_configuration_set_preference (strict, POST_SELECTION_PER_MSG_RELIABILITY,
                                                      POST_PREFERENCE_REQUIRE, NULL));
    ASSERT_SELECTS (strict, NULL, POST_CARRIER_ROLE_CARRIER, "sctp");
  }
}

static void
test_defaults (void)
{
  g_autoptr(PostRegistry) registry = make_registry ();
  g_autoptr(PostConfiguration) config = ranking_config ();

  /* Reliable, ordered, congestion controlled; rank orders; NONE is left out */
  ASSERT_SELECTS (config, NULL, POST_CARRIER_ROLE_CARRIER, "tcp,tls,sctp");
  ASSERT_SELECTS (config, NULL, POST_CARRIER_ROLE_SOURCE, "tcp,tls,sctp");
}

static void
test_require_prohibit (void)
{
  g_autoptr(PostRegistry) registry = make_registry ();
  g_autoptr(PostConfiguration) config = ranking_config ();
  g_autoptr(GError) error = NULL;

  g_assert_true (post_configuration_set_preference (config, POST_SELECTION_SECURE, POST_PREFERENCE_REQUIRE, &error));
  ASSERT_SELECTS (config, NULL, POST_CARRIER_ROLE_CARRIER, "tls");

  g_assert_true (post_configuration_set_preference (config, POST_SELECTION_SECURE, POST_PREFERENCE_PROHIBIT, &error));
  ASSERT_SELECTS (config, NULL, POST_CARRIER_ROLE_CARRIER, "tcp,sctp");

  /* Framing gives byte streams message boundaries; stream mode does not */
  g_assert_true (post_configuration_set_preference (config, POST_SELECTION_SECURE, POST_PREFERENCE_NO_PREFERENCE, &error));
  g_assert_true (post_configuration_set_preference (config, POST_SELECTION_PRESERVE_MSG_BOUNDARIES, POST_PREFERENCE_REQUIRE, &error));
  ASSERT_SELECTS (config, NULL, POST_CARRIER_ROLE_CARRIER, "tcp,tls,sctp");
  g_assert_true (post_configuration_set_framing (config, POST_FRAMING_STREAM, &error));
  ASSERT_SELECTS (config, NULL, POST_CARRIER_ROLE_CARRIER, "sctp");

  /* Fork comes with LISTEN or MULTISTREAMING */
  g_assert_true (post_configuration_set_framing (config, POST_FRAMING_AUTO, &error));
  g_assert_true (post_configuration_set_preference (config, POST_SELECTION_FORK, POST_PREFERENCE_REQUIRE, &error));
  ASSERT_SELECTS (config, NULL, POST_CARRIER_ROLE_CARRIER, "tcp,tls,sctp");
  g_assert_no_error (error);
}

static void
test_prefer_avoid (void)
{
  g_autoptr(PostRegistry) registry = make_registry ();
  g_autoptr(PostConfiguration) config = ranking_config ();
  g_autoptr(GError) error = NULL;

  g_assert_true (post_configuration_set_preference (config, POST_SELECTION_SECURE, POST_PREFERENCE_PREFER, &error));
  ASSERT_SELECTS (config, NULL, POST_CARRIER_ROLE_CARRIER, "tls,tcp,sctp");

  g_assert_true (post_configuration_set_preference (config, POST_SELECTION_MULTISTREAMING, POST_PREFERENCE_PREFER, &error));
  g_assert_true (post_configuration_set_preference (config, POST_SELECTION_PER_MSG_RELIABILITY, POST_PREFERENCE_PREFER, &error));
  ASSERT_SELECTS (config, NULL, POST_CARRIER_ROLE_CARRIER, "sctp,tls,tcp");

  g_assert_true (post_configuration_set_preference (config, POST_SELECTION_MULTISTREAMING, POST_PREFERENCE_NO_PREFERENCE, &error));
  g_assert_true (post_configuration_set_preference (config, POST_SELECTION_PER_MSG_RELIABILITY, POST_PREFERENCE_NO_PREFERENCE, &error));
  g_assert_true (post_configuration_set_preference (config, POST_SELECTION_SECURE, POST_PREFERENCE_NO_PREFERENCE, &error));
  g_assert_true (post_configuration_set_preference (config, POST_SELECTION_KEEP_ALIVE, POST_PREFERENCE_AVOID, &error));
  ASSERT_SELECTS (config, NULL, POST_CARRIER_ROLE_CARRIER, "sctp,tcp,tls");
  g_assert_no_error (error);
}

static void
test_stacks_list (void)
{
  g_autoptr(PostRegistry) registry = make_registry ();
  g_autoptr(PostConfiguration) config = ranking_config ();
  g_autoptr(GError) error = NULL;
  const char * const ordered[] = { "sctp", "tls", "tcp", NULL };
  const char * const with_hidden[] = { "hidden", "tcp", NULL };
  const char * const unknown[] = { "tcp", "quic", NULL };

  /* The list orders stacks that score the same, before rank */
  g_assert_true (post_configuration_set_stacks (config, ordered, &error));
  ASSERT_SELECTS (config, NULL, POST_CARRIER_ROLE_CARRIER, "sctp,tls,tcp");

  /* ... but the score comes first */
  g_assert_true (post_configuration_set_preference (config, POST_SELECTION_SECURE, POST_PREFERENCE_PREFER, &error));
  ASSERT_SELECTS (config, NULL, POST_CARRIER_ROLE_CARRIER, "tls,sctp,tcp");

  /* Named explicitly, a stack of rank NONE is usable */
  g_assert_true (post_configuration_set_stacks (config, with_hidden, &error));
  ASSERT_SELECTS (config, NULL, POST_CARRIER_ROLE_CARRIER, "hidden,tcp");

  g_assert_true (post_configuration_set_stacks (config, unknown, &error));
  ASSERT_FAILS (config, NULL, POST_CARRIER_ROLE_CARRIER,
                "stack ‘quic’ is not loaded (loaded: tcp, tls, udp, sctp, hidden)");
  g_assert_no_error (error);
}

static void
test_hint (void)
{
  g_autoptr(PostRegistry) registry = make_registry ();
  g_autoptr(PostConfiguration) config = ranking_config ();
  g_autoptr(GError) error = NULL;
  const char * const tcp_only[] = { "tcp", NULL };

  ASSERT_SELECTS (config, "tls", POST_CARRIER_ROLE_CARRIER, "tls");
  ASSERT_SELECTS (config, "hidden", POST_CARRIER_ROLE_CARRIER, "hidden");
  ASSERT_FAILS (config, "quic", POST_CARRIER_ROLE_CARRIER,
                "no plugin provides stack ‘quic’ (loaded: tcp, tls, udp, sctp, hidden)");

  /* The URI names a stack that lacks what the defaults require: the
   * defaults do not veto a stack the application names itself... */
  ASSERT_SELECTS (config, "udp", POST_CARRIER_ROLE_CARRIER, "udp");
  {
    g_autoptr(PostConfiguration) strict = post_configuration_new ();

    /* ...but what the application asked for does. */
    g_assert_false (post_configuration_is_preference_explicit (strict, POST_SELECTION_RELIABILITY));
    g_assert_true (post_configuration_set_preference (strict, POST_SELECTION_RELIABILITY,
                                                      POST_PREFERENCE_REQUIRE, NULL));
    g_assert_true (post_configuration_is_preference_explicit (strict, POST_SELECTION_RELIABILITY));
    ASSERT_FAILS (strict, "udp", POST_CARRIER_ROLE_CARRIER,
                  "no stack satisfies the configuration: udp lacks reliability (required)");
    /* A copy keeps what was explicit. */
    {
      g_autoptr(PostConfiguration) copy = post_configuration_copy (strict);

      g_assert_true (post_configuration_is_preference_explicit (copy, POST_SELECTION_RELIABILITY));
      g_assert_false (post_configuration_is_preference_explicit (copy, POST_SELECTION_PRESERVE_ORDER));
    }
  }
  /* Without a hint, the defaults hold. */
  {
    g_autoptr(PostConfiguration) udp_listed = post_configuration_new ();
    const char * const udp_only[] = { "udp", NULL };

    g_assert_true (post_configuration_set_stacks (udp_listed, udp_only, NULL));
    ASSERT_SELECTS (udp_listed, NULL, POST_CARRIER_ROLE_CARRIER, "udp");
  }

  /* Hint and stacks list intersect */
  g_assert_true (post_configuration_set_stacks (config, tcp_only, &error));
  ASSERT_SELECTS (config, "tcp", POST_CARRIER_ROLE_CARRIER, "tcp");
  ASSERT_FAILS (config, "tls", POST_CARRIER_ROLE_CARRIER,
                "stack ‘tls’ named by the URI is not among the configuration's stacks (tcp)");
  g_assert_no_error (error);
}

static void
test_roles (void)
{
  g_autoptr(PostRegistry) registry = make_registry ();
  g_autoptr(PostConfiguration) config = ranking_config ();

  /* sctp cannot listen */
  ASSERT_SELECTS (config, NULL, POST_CARRIER_ROLE_LISTENER, "tcp,tls");
  ASSERT_SELECTS (config, NULL, POST_CARRIER_ROLE_RESPONDER, "tcp,tls");
  ASSERT_SELECTS (config, NULL, POST_CARRIER_ROLE_SINK, "tcp,tls,sctp");
  ASSERT_FAILS (config, "sctp", POST_CARRIER_ROLE_LISTENER,
                "no stack satisfies the configuration: sctp cannot listen (needed by a listener)");
}

static void
test_error_names_requirements (void)
{
  g_autoptr(PostRegistry) registry = make_registry ();
  g_autoptr(PostConfiguration) config = ranking_config ();
  g_autoptr(GError) error = NULL;

  g_assert_true (post_configuration_set_preference (config, POST_SELECTION_SECURE, POST_PREFERENCE_REQUIRE, &error));
  g_assert_true (post_configuration_set_preference (config, POST_SELECTION_KEEP_ALIVE, POST_PREFERENCE_PROHIBIT, &error));
  g_assert_no_error (error);

  ASSERT_FAILS (config, NULL, POST_CARRIER_ROLE_CARRIER,
                "no stack satisfies the configuration: "
                "tcp has keep-alive (prohibited), lacks secure (required); "
                "tls has keep-alive (prohibited); "
                "udp lacks reliability (required), lacks preserve-order (required), "
                "lacks congestion-control (required), lacks secure (required); "
                "sctp lacks secure (required)");
}

static void
test_empty_registry (void)
{
  g_autoptr(PostRegistry) registry = post_registry_new ();
  g_autoptr(PostConfiguration) config = ranking_config ();

  ASSERT_FAILS (config, NULL, POST_CARRIER_ROLE_CARRIER,
                "no stack satisfies the configuration: no stack is loaded "
                "(check POST_PLUGIN_PATH and the plugin directory)");
  ASSERT_FAILS (config, "tcp", POST_CARRIER_ROLE_CARRIER,
                "no plugin provides stack ‘tcp’ (loaded: none)");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/selection/defaults", test_defaults);
  g_test_add_func ("/selection/secure-by-default", test_secure_by_default);
  g_test_add_func ("/selection/require-prohibit", test_require_prohibit);
  g_test_add_func ("/selection/prefer-avoid", test_prefer_avoid);
  g_test_add_func ("/selection/stacks-list", test_stacks_list);
  g_test_add_func ("/selection/hint", test_hint);
  g_test_add_func ("/selection/roles", test_roles);
  g_test_add_func ("/selection/error-names-requirements", test_error_names_requirements);
  g_test_add_func ("/selection/empty-registry", test_empty_registry);

  return g_test_run ();
}
