/* post-configuration.c: PostConfiguration, path and protocol preferences
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "post-values-private.h"
#include "post-certificate-private.h"
/* Upward, the one exception of the values layer (tools/include-graph.py):
 * options are checked against what the loaded stacks declare. */
#include "post-registry.h"

#include <string.h>

/**
 * PostConfiguration:
 *
 * What an application asks of the transport (draft section 2.4): a
 * [enum@Post.Preference] for each RFC 9622 selection property, the stacks
 * allowed, framing, racing and timeout parameters, queue limits, and
 * protocol-specific options under namespaced keys such as
 * `tcp.user-timeout`.
 *
 * The defaults are those of RFC 9622: `reliability`, `preserve-order` and
 * `congestion-control` are required; everything else has no preference.
 *
 * A configuration can be changed until it is frozen with
 * [method@Post.Configuration.freeze] (an association freezes the one it
 * uses); then every setter fails with %POST_ERROR_IMMUTABLE. Use
 * [method@Post.Configuration.copy] to derive a new one.
 */
struct _PostConfiguration
{
  GObject parent_instance;

  PostPreference preferences[POST_SELECTION_LAST];
  guint32 explicit_preferences;  /* bit i: preferences[i] was set, not a default */
  GStrv stacks;                 /* (owned) (nullable): NULL for any */
  PostFramingMode framing;
  GType framer_type;
  guint attempt_delay;          /* ms */
  guint conn_timeout;           /* ms, 0 for none */
  guint keep_alive_timeout;     /* ms, 0: disabled */
  gsize send_queue_limit;       /* bytes */
  gsize recv_msg_max_len;       /* bytes */
  GHashTable *options;          /* (owned) (element-type utf8 GVariant) */
  gboolean frozen;
  char *canonical;              /* (owned) (nullable): to_string(), once frozen */
  guint canonical_hash;         /* g_str_hash (canonical) */
  /* connection properties that are no stack capability */
  PostPreference use_temporary_local_address;
  PostPreference soft_error_notify;
  PostDirection direction;
  GHashTable *interface_prefs;  /* (owned) (element-type utf8 PostPreference) */
  GHashTable *pvd_prefs;        /* (owned) (element-type utf8 PostPreference) */
  struct VerifyClosure *verify; /* (owned) (nullable) refcounted, shared by copies */
  GProxyResolver *proxy_resolver; /* (owned) (nullable): NULL for g_proxy_resolver_get_default() */
  gboolean enable_proxy;
};

G_DEFINE_FINAL_TYPE (PostConfiguration, post_configuration, G_TYPE_OBJECT)

#define DEFAULT_ATTEMPT_DELAY_MS      250
#define DEFAULT_CONN_TIMEOUT_MS       30000
/* The keep-alive time of a configuration that requires or prefers
 * `keep-alive` without setting `keep-alive-timeout` (not TCP's two hours). */
#define DEFAULT_KEEP_ALIVE_TIMEOUT_MS 30000
#define MAX_KEEP_ALIVE_TIMEOUT_MS     (24 * 3600 * 1000)
#define DEFAULT_SEND_QUEUE_LIMIT      (4 * 1024 * 1024)
#define MIN_SEND_QUEUE_LIMIT          (64 * 1024)
#define DEFAULT_RECV_MSG_MAX_LEN      (16 * 1024 * 1024)

/* The selection properties come first, in PostSelectionProperty order */
enum {
  PROP_0,
  PROP_SELECTION_FIRST,
  PROP_STACKS = PROP_SELECTION_FIRST + POST_SELECTION_LAST,
  PROP_FRAMING,
  PROP_FRAMER_TYPE,
  PROP_ATTEMPT_DELAY,
  PROP_CONN_TIMEOUT,
  PROP_KEEP_ALIVE_TIMEOUT,
  PROP_SEND_QUEUE_LIMIT,
  PROP_RECV_MSG_MAX_LEN,
  PROP_FROZEN,
  PROP_INTERFACE,
  PROP_PVD,
  PROP_USE_TEMPORARY_LOCAL_ADDRESS,
  PROP_DIRECTION,
  PROP_SOFT_ERROR_NOTIFY,
  PROP_PROXY_RESOLVER,
  PROP_ENABLE_PROXY,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

#define SELECTION(property) [PROP_SELECTION_FIRST + POST_SELECTION_##property]
#define PREFERENCE(nick, def, doc) \
  { nick, POST_SETTING_PREFERENCE, post_preference_get_type, 0, 0, POST_PREFERENCE_##def, \
    POST_SETTING_KEY_SELECTION, NULL, doc }

/* Every setting of a configuration, declared once: its name (the
 * property's, the policy key's), type, default and documentation.  The
 * GParamSpecs (class_init), the defaults (init), the policy's keys
 * (policy/post-policy-rule.c, _post_configuration_find_setting()) and
 * `post-policy keys` (post_policy_describe_keys()) come from here.  The
 * selection properties come first, in PostSelectionProperty order. */
static const PostSetting settings[N_PROPS] = {
  SELECTION (RELIABILITY) = PREFERENCE ("reliability", REQUIRE,
    "Every message is delivered or the carrier fails"),
  SELECTION (PRESERVE_MSG_BOUNDARIES) = PREFERENCE ("preserve-msg-boundaries", NO_PREFERENCE,
    "The stack keeps message boundaries"),
  SELECTION (PER_MSG_RELIABILITY) = PREFERENCE ("per-msg-reliability", NO_PREFERENCE,
    "Reliability can be chosen per message"),
  SELECTION (PRESERVE_ORDER) = PREFERENCE ("preserve-order", REQUIRE,
    "Messages are delivered in order"),
  SELECTION (ZERO_RTT_MSG) = PREFERENCE ("zero-rtt-msg", NO_PREFERENCE,
    "Idempotent messages can be sent before the handshake completes"),
  SELECTION (MULTISTREAMING) = PREFERENCE ("multistreaming", NO_PREFERENCE,
    "Carriers can share one transport as streams"),
  SELECTION (CONGESTION_CONTROL) = PREFERENCE ("congestion-control", REQUIRE,
    "The stack is congestion controlled"),
  SELECTION (KEEP_ALIVE) = PREFERENCE ("keep-alive", NO_PREFERENCE,
    "The stack can send keep-alives"),
  SELECTION (MULTIPATH) = PREFERENCE ("multipath", NO_PREFERENCE,
    "One transport can use several paths"),
  SELECTION (SECURE) = PREFERENCE ("secure", NO_PREFERENCE,
    "Confidentiality and authentication of the peer"),
  SELECTION (FORK) = PREFERENCE ("fork", NO_PREFERENCE,
    "Carriers can be forked"),
  [PROP_STACKS] = { "stacks", POST_SETTING_STRV, NULL, 0, 0, 0, POST_SETTING_KEY_STACKS, NULL,
    "The stacks allowed, in order of preference (NULL: every loaded stack)" },
  [PROP_FRAMING] = { "framing", POST_SETTING_ENUM, post_framing_mode_get_type, 0, 0,
    POST_FRAMING_AUTO, POST_SETTING_KEY_NONE, NULL,
    "How messages map onto byte-stream stacks" },
  [PROP_FRAMER_TYPE] = { "framer-type", POST_SETTING_GTYPE, post_framer_get_type, 0, 0, 0,
    POST_SETTING_KEY_NONE, NULL,
    "The framer class used on byte streams in auto framing mode" },
  [PROP_ATTEMPT_DELAY] = { "attempt-delay", POST_SETTING_UINT, NULL, 0, G_MAXUINT,
    DEFAULT_ATTEMPT_DELAY_MS, POST_SETTING_KEY_NONE, NULL,
    "Milliseconds between the starts of two establishment attempts" },
  [PROP_CONN_TIMEOUT] = { "conn-timeout", POST_SETTING_UINT, NULL, 0, G_MAXUINT,
    DEFAULT_CONN_TIMEOUT_MS, POST_SETTING_KEY_NONE, NULL,
    "Milliseconds establishment may take (0: no limit)" },
  [PROP_KEEP_ALIVE_TIMEOUT] = { "keep-alive-timeout", POST_SETTING_UINT, NULL, 0,
    MAX_KEEP_ALIVE_TIMEOUT_MS, 0, POST_SETTING_KEY_KEEP_ALIVE_TIMEOUT, "keep-alive timeout",
    "Milliseconds a carrier may stay idle before a keep-alive (0: 30 s if keep-alive is "
    "required or preferred, else none)", FALSE, "milliseconds" },
  [PROP_SEND_QUEUE_LIMIT] = { "send-queue-limit", POST_SETTING_UINT64, NULL, MIN_SEND_QUEUE_LIMIT,
    G_MAXSIZE, DEFAULT_SEND_QUEUE_LIMIT, POST_SETTING_KEY_NONE, NULL,
    "Bytes a carrier queues before sending fails with would-block" },
  [PROP_RECV_MSG_MAX_LEN] = { "recv-msg-max-len", POST_SETTING_UINT64, NULL, 1, G_MAXSIZE,
    DEFAULT_RECV_MSG_MAX_LEN, POST_SETTING_KEY_NONE, NULL,
    "The largest message accepted from the peer, in bytes" },
  [PROP_FROZEN] = { "frozen", POST_SETTING_BOOLEAN, NULL, 0, 0, FALSE, POST_SETTING_KEY_NONE, NULL,
    "Whether the configuration can no longer change", TRUE },
  [PROP_INTERFACE] = { "interface", POST_SETTING_PREFERENCE_SET, NULL, 0, 0, 0,
    POST_SETTING_KEY_INTERFACE, NULL,
    "The interface preference set: NAME:LEVEL entries (names, globs or interface kinds)" },
  [PROP_PVD] = { "pvd", POST_SETTING_PREFERENCE_SET, NULL, 0, 0, 0, POST_SETTING_KEY_PVD, NULL,
    "The provisioning-domain preference set: PVD-ID:LEVEL entries" },
  [PROP_USE_TEMPORARY_LOCAL_ADDRESS] = { "use-temporary-local-address", POST_SETTING_PREFERENCE,
    post_preference_get_type, 0, 0, POST_PREFERENCE_NO_PREFERENCE, POST_SETTING_KEY_TEMPORARY, NULL,
    "Whether temporary (RFC 8981) local addresses are preferred" },
  [PROP_DIRECTION] = { "direction", POST_SETTING_ENUM, post_direction_get_type, 0, 0,
    POST_DIRECTION_BIDIRECTIONAL, POST_SETTING_KEY_DIRECTION, "direction",
    "Whether the carrier sends, receives or both" },
  [PROP_SOFT_ERROR_NOTIFY] = { "soft-error-notify", POST_SETTING_PREFERENCE, post_preference_get_type,
    0, 0, POST_PREFERENCE_NO_PREFERENCE, POST_SETTING_KEY_SOFT_ERROR, NULL,
    "Whether the application hears of soft errors such as ICMP messages" },
  [PROP_PROXY_RESOLVER] = { "proxy-resolver", POST_SETTING_OBJECT, g_proxy_resolver_get_type, 0, 0, 0,
    POST_SETTING_KEY_NONE, NULL,
    "The proxy resolver asked which proxies lead to a remote (NULL: the default)" },
  [PROP_ENABLE_PROXY] = { "enable-proxy", POST_SETTING_BOOLEAN, NULL, 0, 0, TRUE,
    POST_SETTING_KEY_NONE, NULL,
    "Whether establishment asks the proxy resolver about proxies" },
};

#undef PREFERENCE
#undef SELECTION

#define SELECTION_NICK(i) (settings[PROP_SELECTION_FIRST + (i)].name)

static const char * const preference_nicks[] = {
  [POST_PREFERENCE_NO_PREFERENCE] = "no-preference",
  [POST_PREFERENCE_REQUIRE] = "require",
  [POST_PREFERENCE_PREFER] = "prefer",
  [POST_PREFERENCE_AVOID] = "avoid",
  [POST_PREFERENCE_PROHIBIT] = "prohibit",
};


static gboolean
check_mutable (PostConfiguration  *self,
               GError            **error)
{
  if (!self->frozen)
    return TRUE;

  g_set_error_literal (error, POST_ERROR, POST_ERROR_IMMUTABLE,
                       "the configuration is frozen; copy it to change it");
  return FALSE;
}

/* Preference sets (interface, pvd) and the connection properties that are
 * no stack capability: defined with their accessors at the end. */
static char   **preference_set_to_strv          (GHashTable        *set);
static gboolean set_preference_set_from_strv    (PostConfiguration *self,
                                                 guint              prop_id,
                                                 const char * const *entries,
                                                 GError           **error);
static void     copy_preference_set             (GHashTable        *to,
                                                 GHashTable        *from);
static void     append_connection_properties    (PostConfiguration *self,
                                                 GString           *string);

/* The verification callback, shared (refcounted) between copies. */
typedef struct VerifyClosure {
  gint           ref_count;
  PostVerifyFunc func;                /* (nullable) one of func and accept */
  PostAcceptCertificateFunc accept;   /* (nullable) */
  gpointer       user_data;
  GDestroyNotify destroy;
} VerifyClosure;

static void
verify_closure_unref (VerifyClosure *closure)
{
  if (!g_atomic_int_dec_and_test (&closure->ref_count))
    return;
  if (closure->destroy != NULL)
    closure->destroy (closure->user_data);
  g_free (closure);
}

/* ---- the table ------------------------------------------------------------ */

const PostSetting *
_post_configuration_list_settings (guint *n_settings)
{
  *n_settings = N_PROPS - 1;
  return &settings[PROP_0 + 1];
}

const PostSetting *
_post_configuration_find_setting (const char *name)
{
  for (guint i = PROP_0 + 1; i < N_PROPS; i++)
    if (strcmp (settings[i].name, name) == 0)
      return &settings[i];
  return NULL;
}

GParamSpec *
_post_setting_param_spec (const PostSetting *setting)
{
  GParamFlags flags = G_PARAM_STATIC_STRINGS
                      | (setting->read_only ? G_PARAM_READABLE
                                            : G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY);

  switch (setting->type)
    {
    case POST_SETTING_PREFERENCE:
    case POST_SETTING_ENUM:
      return g_param_spec_enum (setting->name, NULL, setting->doc, setting->gtype (),
                                setting->default_value, flags);
    case POST_SETTING_PREFERENCE_SET:
    case POST_SETTING_STRV:
      return g_param_spec_boxed (setting->name, NULL, setting->doc, G_TYPE_STRV, flags);
    case POST_SETTING_UINT:
      return g_param_spec_uint (setting->name, NULL, setting->doc, setting->min, setting->max,
                                setting->default_value, flags);
    case POST_SETTING_UINT64:
      return g_param_spec_uint64 (setting->name, NULL, setting->doc, setting->min, setting->max,
                                  setting->default_value, flags);
    case POST_SETTING_BOOLEAN:
      return g_param_spec_boolean (setting->name, NULL, setting->doc, setting->default_value, flags);
    case POST_SETTING_GTYPE:
      return g_param_spec_gtype (setting->name, NULL, setting->doc, setting->gtype (), flags);
    case POST_SETTING_OBJECT:
      return g_param_spec_object (setting->name, NULL, setting->doc, setting->gtype (), flags);
    }
  g_return_val_if_reached (NULL);
}

/* The nicks of an enum type, joined by @separator */
static char *
enum_nicks (GType        type,
            const char  *separator)
{
  GEnumClass *klass = g_type_class_ref (type);
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < klass->n_values; i++)
    g_string_append_printf (text, "%s%s", i > 0 ? separator : "", klass->values[i].value_nick);
  g_type_class_unref (klass);
  return g_string_free (text, FALSE);
}

char *
_post_setting_describe_type (const PostSetting *setting)
{
  switch (setting->type)
    {
    case POST_SETTING_PREFERENCE:
      return g_strdup ("require|prefer|no-preference|avoid|prohibit");
    case POST_SETTING_PREFERENCE_SET:
      return g_strdup ("NAME:LEVEL;...");
    case POST_SETTING_STRV:
      return g_strdup ("NAME;...");
    case POST_SETTING_ENUM:
      return enum_nicks (setting->gtype (), "|");
    case POST_SETTING_UINT:
    case POST_SETTING_UINT64:
      return g_strdup_printf ("%s%s%" G_GINT64_FORMAT "..%" G_GINT64_FORMAT,
                              setting->unit != NULL ? setting->unit : "",
                              setting->unit != NULL ? ", " : "", setting->min, setting->max);
    case POST_SETTING_BOOLEAN:
      return g_strdup ("true|false");
    case POST_SETTING_GTYPE:
      return g_strdup_printf ("a %s type", g_type_name (setting->gtype ()));
    case POST_SETTING_OBJECT:
      return g_strdup_printf ("a %s", g_type_name (setting->gtype ()));
    }
  g_return_val_if_reached (NULL);
}

char *
_post_setting_describe_default (const PostSetting *setting)
{
  switch (setting->type)
    {
    case POST_SETTING_PREFERENCE:
    case POST_SETTING_ENUM:
      {
        GEnumClass *klass = g_type_class_ref (setting->gtype ());
        GEnumValue *value = g_enum_get_value (klass, setting->default_value);
        char *text = g_strdup (value != NULL ? value->value_nick : "?");

        g_type_class_unref (klass);
        return text;
      }
    case POST_SETTING_UINT:
    case POST_SETTING_UINT64:
      return g_strdup_printf ("%" G_GINT64_FORMAT, setting->default_value);
    case POST_SETTING_BOOLEAN:
      return g_strdup (setting->default_value ? "true" : "false");
    case POST_SETTING_PREFERENCE_SET:
    case POST_SETTING_STRV:
    case POST_SETTING_GTYPE:
    case POST_SETTING_OBJECT:
      return g_strdup ("unset");
    }
  g_return_val_if_reached (NULL);
}

/* ---- nicks --------------------------------------------------------------- */

/**
 * post_selection_property_to_nick:
 * @property: a selection property
 *
 * Gives the RFC 9622 name of a selection property, as policy files write
 * it and as the [class@Post.Configuration] property of the same name is
 * called. The string is static.
 *
 * Returns: (nullable): the RFC 9622 name of @property, such as
 *   `preserve-order`, or %NULL if @property is out of range
 */
const char *
post_selection_property_to_nick (PostSelectionProperty property)
{
  if ((guint) property >= POST_SELECTION_LAST)
    return NULL;
  return SELECTION_NICK (property);
}

/**
 * post_selection_property_from_nick:
 * @nick: an RFC 9622 name such as `preserve-order`
 * @property: (out) (optional): where to store the property
 *
 * Parses the RFC 9622 name of a selection property, as policy files and
 * post_configuration_set_preference_by_name() write it.
 *
 * Returns: %TRUE if @nick names a selection property
 */
gboolean
post_selection_property_from_nick (const char            *nick,
                                   PostSelectionProperty *property)
{
  g_return_val_if_fail (nick != NULL, FALSE);

  for (guint i = 0; i < POST_SELECTION_LAST; i++)
    {
      if (strcmp (nick, SELECTION_NICK (i)) == 0)
        {
          if (property != NULL)
            *property = (PostSelectionProperty) i;
          return TRUE;
        }
    }

  return FALSE;
}

/**
 * post_preference_to_nick:
 * @preference: a preference
 *
 * Gives the name of a preference level as policy files write it. The
 * string is static.
 *
 * Returns: (nullable): `require`, `prefer`, `no-preference`, `avoid` or
 *   `prohibit`; %NULL if @preference is out of range
 */
const char *
post_preference_to_nick (PostPreference preference)
{
  if ((guint) preference >= G_N_ELEMENTS (preference_nicks))
    return NULL;
  return preference_nicks[preference];
}

/**
 * post_preference_from_nick:
 * @nick: `require`, `prefer`, `no-preference`, `avoid` or `prohibit`
 * @preference: (out) (optional): where to store the preference
 *
 * Parses the name of a preference level as policy files and
 * post_configuration_set_preference_by_name() write it.
 *
 * Returns: %TRUE if @nick names a preference
 */
gboolean
post_preference_from_nick (const char     *nick,
                           PostPreference *preference)
{
  g_return_val_if_fail (nick != NULL, FALSE);

  for (guint i = 0; i < G_N_ELEMENTS (preference_nicks); i++)
    {
      if (strcmp (nick, preference_nicks[i]) == 0)
        {
          if (preference != NULL)
            *preference = (PostPreference) i;
          return TRUE;
        }
    }

  return FALSE;
}

/* ---- GObject ------------------------------------------------------------- */

static void
post_configuration_finalize (GObject *object)
{
  PostConfiguration *self = POST_CONFIGURATION (object);

  g_clear_pointer (&self->stacks, g_strfreev);
  g_clear_pointer (&self->options, g_hash_table_unref);
  g_clear_pointer (&self->canonical, g_free);
  g_clear_pointer (&self->verify, verify_closure_unref);
  g_clear_object (&self->proxy_resolver);
  g_clear_pointer (&self->interface_prefs, g_hash_table_unref);
  g_clear_pointer (&self->pvd_prefs, g_hash_table_unref);

  G_OBJECT_CLASS (post_configuration_parent_class)->finalize (object);
}

static void
post_configuration_get_property (GObject    *object,
                                 guint       prop_id,
                                 GValue     *value,
                                 GParamSpec *pspec)
{
  PostConfiguration *self = POST_CONFIGURATION (object);

  if (prop_id >= PROP_SELECTION_FIRST && prop_id < PROP_STACKS)
    {
      g_value_set_enum (value, self->preferences[prop_id - PROP_SELECTION_FIRST]);
      return;
    }

  switch (prop_id)
    {
    case PROP_STACKS:
      g_value_set_boxed (value, self->stacks);
      break;
    case PROP_FRAMING:
      g_value_set_enum (value, self->framing);
      break;
    case PROP_FRAMER_TYPE:
      g_value_set_gtype (value, self->framer_type);
      break;
    case PROP_ATTEMPT_DELAY:
      g_value_set_uint (value, self->attempt_delay);
      break;
    case PROP_CONN_TIMEOUT:
      g_value_set_uint (value, self->conn_timeout);
      break;
    case PROP_KEEP_ALIVE_TIMEOUT:
      g_value_set_uint (value, self->keep_alive_timeout);
      break;
    case PROP_SEND_QUEUE_LIMIT:
      g_value_set_uint64 (value, self->send_queue_limit);
      break;
    case PROP_RECV_MSG_MAX_LEN:
      g_value_set_uint64 (value, self->recv_msg_max_len);
      break;
    case PROP_FROZEN:
      g_value_set_boolean (value, self->frozen);
      break;
    case PROP_INTERFACE:
      g_value_take_boxed (value, preference_set_to_strv (self->interface_prefs));
      break;
    case PROP_PVD:
      g_value_take_boxed (value, preference_set_to_strv (self->pvd_prefs));
      break;
    case PROP_USE_TEMPORARY_LOCAL_ADDRESS:
      g_value_set_enum (value, self->use_temporary_local_address);
      break;
    case PROP_DIRECTION:
      g_value_set_enum (value, self->direction);
      break;
    case PROP_SOFT_ERROR_NOTIFY:
      g_value_set_enum (value, self->soft_error_notify);
      break;
    case PROP_PROXY_RESOLVER:
      g_value_set_object (value, self->proxy_resolver);
      break;
    case PROP_ENABLE_PROXY:
      g_value_set_boolean (value, self->enable_proxy);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
post_configuration_set_property (GObject      *object,
                                 guint         prop_id,
                                 const GValue *value,
                                 GParamSpec   *pspec)
{
  PostConfiguration *self = POST_CONFIGURATION (object);
  g_autoptr(GError) error = NULL;
  gboolean ok;

  if (prop_id >= PROP_SELECTION_FIRST && prop_id < PROP_STACKS)
    {
      ok = post_configuration_set_preference (self, prop_id - PROP_SELECTION_FIRST,
                                              g_value_get_enum (value), &error);
    }
  else
    {
      switch (prop_id)
        {
        case PROP_STACKS:
          ok = post_configuration_set_stacks (self, g_value_get_boxed (value), &error);
          break;
        case PROP_FRAMING:
          ok = post_configuration_set_framing (self, g_value_get_enum (value), &error);
          break;
        case PROP_FRAMER_TYPE:
          ok = post_configuration_set_framer_type (self, g_value_get_gtype (value), &error);
          break;
        case PROP_ATTEMPT_DELAY:
          ok = post_configuration_set_attempt_delay (self, g_value_get_uint (value), &error);
          break;
        case PROP_CONN_TIMEOUT:
          ok = post_configuration_set_conn_timeout (self, g_value_get_uint (value), &error);
          break;
        case PROP_KEEP_ALIVE_TIMEOUT:
          ok = post_configuration_set_keep_alive_timeout (self, g_value_get_uint (value), &error);
          break;
        case PROP_SEND_QUEUE_LIMIT:
          ok = post_configuration_set_send_queue_limit (self, g_value_get_uint64 (value), &error);
          break;
        case PROP_RECV_MSG_MAX_LEN:
          ok = post_configuration_set_recv_msg_max_len (self, g_value_get_uint64 (value), &error);
          break;
        case PROP_INTERFACE:
          ok = set_preference_set_from_strv (self, PROP_INTERFACE, g_value_get_boxed (value), &error);
          break;
        case PROP_PVD:
          ok = set_preference_set_from_strv (self, PROP_PVD, g_value_get_boxed (value), &error);
          break;
        case PROP_USE_TEMPORARY_LOCAL_ADDRESS:
          ok = post_configuration_set_use_temporary_local_address (self, g_value_get_enum (value), &error);
          break;
        case PROP_DIRECTION:
          ok = post_configuration_set_direction (self, g_value_get_enum (value), &error);
          break;
        case PROP_SOFT_ERROR_NOTIFY:
          ok = post_configuration_set_soft_error_notify (self, g_value_get_enum (value), &error);
          break;
        case PROP_PROXY_RESOLVER:
          ok = post_configuration_set_proxy_resolver (self, g_value_get_object (value), &error);
          break;
        case PROP_ENABLE_PROXY:
          ok = post_configuration_set_enable_proxy (self, g_value_get_boolean (value), &error);
          break;
        default:
          G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
          return;
        }
    }

  if (!ok)
    g_warning ("Cannot set PostConfiguration:%s: %s", pspec->name, error->message);
}

static void
post_configuration_class_init (PostConfigurationClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = post_configuration_finalize;
  object_class->get_property = post_configuration_get_property;
  object_class->set_property = post_configuration_set_property;

  /**
   * PostConfiguration:reliability:
   *
   * RFC 9622 `reliability`: every message is delivered, or the carrier
   * fails. Required by default. The [enum@Post.Preference] for
   * %POST_SELECTION_RELIABILITY; the same as
   * post_configuration_get_preference() and
   * post_configuration_set_preference() with it.
   */
  /**
   * PostConfiguration:preserve-msg-boundaries:
   *
   * RFC 9622 `preserveMsgBoundaries`: the stack keeps message boundaries
   * itself (a message stack such as udp or sctp) rather than through a
   * framer on a byte stream. The [enum@Post.Preference] for
   * %POST_SELECTION_PRESERVE_MSG_BOUNDARIES; the same as
   * post_configuration_get_preference() and
   * post_configuration_set_preference() with it.
   */
  /**
   * PostConfiguration:per-msg-reliability:
   *
   * RFC 9622 `perMsgReliability`: reliability can be chosen per message
   * ([method@Post.Message.set_reliable]). The [enum@Post.Preference] for
   * %POST_SELECTION_PER_MSG_RELIABILITY; the same as
   * post_configuration_get_preference() and
   * post_configuration_set_preference() with it.
   */
  /**
   * PostConfiguration:preserve-order:
   *
   * RFC 9622 `preserveOrder`: messages are delivered in the order they
   * were sent. Required by default. The [enum@Post.Preference] for
   * %POST_SELECTION_PRESERVE_ORDER; the same as
   * post_configuration_get_preference() and
   * post_configuration_set_preference() with it.
   */
  /**
   * PostConfiguration:zero-rtt-msg:
   *
   * RFC 9622 `zeroRttMsg`: idempotent messages can be sent before the
   * handshake completes (0-RTT early data of a resumed session). The
   * [enum@Post.Preference] for %POST_SELECTION_ZERO_RTT_MSG; the same as
   * post_configuration_get_preference() and
   * post_configuration_set_preference() with it.
   */
  /**
   * PostConfiguration:multistreaming:
   *
   * RFC 9622 `multistreaming`: carriers of one association can share a
   * transport as its streams (quic, sctp). The [enum@Post.Preference] for
   * %POST_SELECTION_MULTISTREAMING; the same as
   * post_configuration_get_preference() and
   * post_configuration_set_preference() with it.
   */
  /**
   * PostConfiguration:congestion-control:
   *
   * RFC 9622 `congestionControl`: the stack is congestion controlled.
   * Required by default; datagram stacks (udp, dtls) are used only when it
   * is not. The [enum@Post.Preference] for
   * %POST_SELECTION_CONGESTION_CONTROL; the same as
   * post_configuration_get_preference() and
   * post_configuration_set_preference() with it.
   */
  /**
   * PostConfiguration:keep-alive:
   *
   * RFC 9622 `keepAlive`: the stack can send keep-alives, so that a
   * carrier notices a vanished peer; see
   * [property@Post.Configuration:keep-alive-timeout]. The
   * [enum@Post.Preference] for %POST_SELECTION_KEEP_ALIVE; the same as
   * post_configuration_get_preference() and
   * post_configuration_set_preference() with it.
   */
  /**
   * PostConfiguration:multipath:
   *
   * RFC 9622 `multipath`: one transport can use several paths at once. The
   * [enum@Post.Preference] for %POST_SELECTION_MULTIPATH; the same as
   * post_configuration_get_preference() and
   * post_configuration_set_preference() with it.
   */
  /**
   * PostConfiguration:secure:
   *
   * libpost's selection property for confidentiality and authentication of
   * the peer (a secure stack such as tls, dtls or quic). The
   * [enum@Post.Preference] for %POST_SELECTION_SECURE; the same as
   * post_configuration_get_preference() and
   * post_configuration_set_preference() with it.
   */
  /**
   * PostConfiguration:fork:
   *
   * libpost's selection property for carriers that can be forked
   * ([method@Post.Carrier.fork_async]) into more carriers to the same
   * remote. The [enum@Post.Preference] for %POST_SELECTION_FORK; the same
   * as post_configuration_get_preference() and
   * post_configuration_set_preference() with it.
   */
  /* One property per setting of the table; the selection properties
   * (PostConfiguration:reliability, :preserve-msg-boundaries,
   * :per-msg-reliability, :preserve-order, :zero-rtt-msg,
   * :multistreaming, :congestion-control, :keep-alive, :multipath,
   * :secure and :fork) are each a PostPreference. */
  for (guint i = PROP_0 + 1; i < N_PROPS; i++)
    properties[i] = _post_setting_param_spec (&settings[i]);

  /**
   * PostConfiguration:stacks: (getter get_stacks) (setter set_stacks)
   *
   * The names of the stacks allowed, in order of preference; %NULL to
   * allow every loaded stack.
   */

  /**
   * PostConfiguration:framing: (getter get_framing) (setter set_framing)
   *
   * How messages map onto byte-stream stacks.
   */

  /**
   * PostConfiguration:framer-type: (getter get_framer_type) (setter set_framer_type)
   *
   * The [class@Post.Framer] subclass that frames messages on byte streams
   * in %POST_FRAMING_AUTO mode; [class@Post.LengthPrefixFramer] by default.
   */

  /**
   * PostConfiguration:attempt-delay: (getter get_attempt_delay) (setter set_attempt_delay)
   *
   * Milliseconds between the starts of two establishment attempts when
   * racing (RFC 8305 recommends 250).
   */

  /**
   * PostConfiguration:conn-timeout: (getter get_conn_timeout) (setter set_conn_timeout)
   *
   * Milliseconds establishment may take before it fails; 0 for no limit.
   */

  /**
   * PostConfiguration:keep-alive-timeout: (getter get_keep_alive_timeout) (setter set_keep_alive_timeout)
   *
   * RFC 9622 `keepAliveTimeout`: milliseconds a carrier may stay idle
   * before its stack sends a keep-alive; 0 (the default) disables
   * keep-alives unless the `keep-alive` selection property is required or
   * preferred, which then uses 30 s.  A peer that answers none is declared
   * gone after about twice this time: the carrier goes DORMANT (initiated)
   * or CLOSED with %POST_ERROR_TIMED_OUT.  Only stacks with
   * %POST_STACK_CAP_KEEP_ALIVE send keep-alives; require `keep-alive` to
   * rule the others out.  See post_configuration_get_effective_keep_alive_timeout().
   */

  /**
   * PostConfiguration:send-queue-limit: (getter get_send_queue_limit) (setter set_send_queue_limit)
   *
   * Bytes a carrier queues before sending fails with
   * %POST_ERROR_WOULD_BLOCK; at least 64 KiB.
   */

  /**
   * PostConfiguration:recv-msg-max-len: (getter get_recv_msg_max_len) (setter set_recv_msg_max_len)
   *
   * The largest message accepted from the peer, in bytes.
   */

  /**
   * PostConfiguration:frozen: (getter is_frozen)
   *
   * Whether the configuration can no longer change.
   */

  /**
   * PostConfiguration:interface:
   *
   * The RFC 9622 `interface` preference set: entries `NAME:LEVEL`, where
   * NAME is an interface name (`wlan0`, globs such as `wlan*` allowed) or
   * an interface kind ([enum@Post.InterfaceKind] nick: `wifi`,
   * `cellular`, `wired`, `loopback`, `vpn`, `other`), and LEVEL a
   * [enum@Post.Preference] nick.  Kept sorted by name.
   */

  /**
   * PostConfiguration:pvd:
   *
   * The RFC 9622 `pvd` preference set: entries `PVD-ID:LEVEL` naming
   * provisioning domains (RFC 7556) by their identifier (an FQDN).
   */

  /**
   * PostConfiguration:use-temporary-local-address: (getter get_use_temporary_local_address) (setter set_use_temporary_local_address)
   *
   * Whether temporary (RFC 8981 privacy) local addresses are preferred.
   * No preference means the RFC 9622 default: prefer for carriers,
   * avoid for listeners.
   */

  /**
   * PostConfiguration:direction: (getter get_direction) (setter set_direction)
   *
   * Whether the carrier sends, receives or both (RFC 9622 `direction`).
   */

  /**
   * PostConfiguration:soft-error-notify: (getter get_soft_error_notify) (setter set_soft_error_notify)
   *
   * Whether the application wants to hear of soft errors such as ICMP
   * messages (RFC 9622 `soft-error-notify`).
   */

  /**
   * PostConfiguration:proxy-resolver: (getter get_proxy_resolver) (setter set_proxy_resolver)
   *
   * The #GProxyResolver asked which proxies lead to a remote, as
   * #GSocketClient:proxy-resolver; %NULL (the default) for
   * g_proxy_resolver_get_default(): GNOME's proxy settings, the flatpak
   * portal or libproxy, through glib-networking.  Only stacks with
   * #PostStack:proxy-support (tcp, tls) are proxied.
   */

  /**
   * PostConfiguration:enable-proxy: (getter get_enable_proxy) (setter set_enable_proxy)
   *
   * Whether establishment asks #PostConfiguration:proxy-resolver about
   * proxies (%TRUE, the default, as #GSocketClient:enable-proxy); %FALSE
   * always connects directly.
   */

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
post_configuration_init (PostConfiguration *self)
{
  for (guint i = 0; i < POST_SELECTION_LAST; i++)
    self->preferences[i] = settings[PROP_SELECTION_FIRST + i].default_value;
  self->framing = POST_FRAMING_AUTO;
  self->framer_type = POST_TYPE_LENGTH_PREFIX_FRAMER;
  self->attempt_delay = DEFAULT_ATTEMPT_DELAY_MS;
  self->conn_timeout = DEFAULT_CONN_TIMEOUT_MS;
  self->send_queue_limit = DEFAULT_SEND_QUEUE_LIMIT;
  self->recv_msg_max_len = DEFAULT_RECV_MSG_MAX_LEN;
  self->enable_proxy = TRUE;
  self->options = g_hash_table_new_full (g_str_hash, g_str_equal,
                                         g_free, (GDestroyNotify) g_variant_unref);
  self->interface_prefs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->pvd_prefs = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
}

/**
 * post_configuration_new:
 *
 * Creates a configuration with the RFC 9622 defaults.
 *
 * Returns: (transfer full): a new configuration
 */
PostConfiguration *
post_configuration_new (void)
{
  return g_object_new (POST_TYPE_CONFIGURATION, NULL);
}

/**
 * post_configuration_copy:
 * @self: a configuration
 *
 * Copies @self, frozen or not.
 *
 * Returns: (transfer full): a new configuration equal to @self, not frozen
 */
PostConfiguration *
post_configuration_copy (PostConfiguration *self)
{
  PostConfiguration *copy;
  GHashTableIter iter;
  gpointer key, value;

  g_return_val_if_fail (POST_IS_CONFIGURATION (self), NULL);

  copy = post_configuration_new ();
  memcpy (copy->preferences, self->preferences, sizeof copy->preferences);
  copy->explicit_preferences = self->explicit_preferences;
  copy->stacks = g_strdupv (self->stacks);
  copy->framing = self->framing;
  copy->framer_type = self->framer_type;
  copy->attempt_delay = self->attempt_delay;
  copy->conn_timeout = self->conn_timeout;
  copy->keep_alive_timeout = self->keep_alive_timeout;
  copy->send_queue_limit = self->send_queue_limit;
  copy->recv_msg_max_len = self->recv_msg_max_len;
  if (self->verify != NULL)
    {
      g_atomic_int_inc (&self->verify->ref_count);
      copy->verify = self->verify;
    }
  copy->use_temporary_local_address = self->use_temporary_local_address;
  copy->soft_error_notify = self->soft_error_notify;
  copy->direction = self->direction;
  g_set_object (&copy->proxy_resolver, self->proxy_resolver);
  copy->enable_proxy = self->enable_proxy;
  copy_preference_set (copy->interface_prefs, self->interface_prefs);
  copy_preference_set (copy->pvd_prefs, self->pvd_prefs);

  g_hash_table_iter_init (&iter, self->options);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_hash_table_insert (copy->options, g_strdup (key), g_variant_ref (value));

  return copy;
}

/**
 * post_configuration_is_frozen:
 * @self: a configuration
 *
 * Tells whether @self was frozen with [method@Post.Configuration.freeze]
 * (an association freezes the configuration it uses). The setters of a
 * frozen configuration fail with %POST_ERROR_IMMUTABLE; derive a
 * changeable one with [method@Post.Configuration.copy].
 *
 * Returns: %TRUE if @self can no longer change
 */
gboolean
post_configuration_is_frozen (PostConfiguration *self)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  return self->frozen;
}

/**
 * post_configuration_freeze:
 * @self: a configuration
 *
 * Makes @self immutable: from now on every setter fails with
 * %POST_ERROR_IMMUTABLE. Associations freeze the configuration they use.
 */
void
post_configuration_freeze (PostConfiguration *self)
{
  g_return_if_fail (POST_IS_CONFIGURATION (self));

  if (self->frozen)
    return;

  self->frozen = TRUE;
  /* Frozen means final: the canonical text (the association key) can be kept. */
  self->canonical = post_configuration_to_string (self);
  self->canonical_hash = g_str_hash (self->canonical);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FROZEN]);
}

const char *
_post_configuration_get_canonical (PostConfiguration *self,
                                   guint             *hash)
{
  if (hash != NULL)
    *hash = self->canonical_hash;
  return self->canonical;
}

PostConfiguration *
_post_configuration_dup_default (void)
{
  static gsize shared = 0;

  if (g_once_init_enter (&shared))
    {
      PostConfiguration *configuration = post_configuration_new ();

      post_configuration_freeze (configuration);
      g_once_init_leave (&shared, (gsize) configuration);
    }
  return g_object_ref ((PostConfiguration *) shared);
}

/* ---- selection properties ------------------------------------------------ */

/**
 * post_configuration_get_preference:
 * @self: a configuration
 * @property: a selection property
 *
 * Gets the [enum@Post.Preference] set for a selection property; a property
 * never set has its RFC 9622 default (`reliability`, `preserve-order` and
 * `congestion-control` required, the others no preference).
 *
 * Returns: the preference for @property
 */
PostPreference
post_configuration_get_preference (PostConfiguration     *self,
                                   PostSelectionProperty  property)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), POST_PREFERENCE_NO_PREFERENCE);
  g_return_val_if_fail ((guint) property < POST_SELECTION_LAST, POST_PREFERENCE_NO_PREFERENCE);

  return self->preferences[property];
}

/**
 * post_configuration_set_preference:
 * @self: a configuration
 * @property: a selection property
 * @preference: the preference for it
 * @error: return location for an error
 *
 * Sets how much @property matters when stacks are selected.
 *
 * Returns: %TRUE on success; %FALSE with %POST_ERROR_IMMUTABLE if @self
 *   is frozen, or %POST_ERROR_INVALID_ARGUMENT for a value out of range
 */
gboolean
post_configuration_set_preference (PostConfiguration     *self,
                                   PostSelectionProperty  property,
                                   PostPreference         preference,
                                   GError               **error)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_mutable (self, error))
    return FALSE;

  if ((guint) property >= POST_SELECTION_LAST)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                   "%d is not a selection property", (int) property);
      return FALSE;
    }
  if ((guint) preference >= G_N_ELEMENTS (preference_nicks))
    {
      g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                   "%d is not a preference", (int) preference);
      return FALSE;
    }

  self->explicit_preferences |= 1u << property;
  if (self->preferences[property] == preference)
    return TRUE;

  self->preferences[property] = preference;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SELECTION_FIRST + property]);

  return TRUE;
}

/**
 * post_configuration_is_preference_explicit:
 * @self: a configuration
 * @property: a selection property
 *
 * Whether the application (or a policy) set @property, as opposed to it
 * holding its RFC 9622 default.  A stack the application names explicitly
 * (by a URI scheme or post_configuration_set_stacks()) is not ruled out by
 * defaults it did not ask for: `udp://host:port` works although
 * `reliability` defaults to require.
 *
 * Returns: %TRUE if @property was set
 */
gboolean
post_configuration_is_preference_explicit (PostConfiguration     *self,
                                           PostSelectionProperty  property)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  g_return_val_if_fail ((guint) property < POST_SELECTION_LAST, FALSE);

  return (self->explicit_preferences & (1u << property)) != 0;
}

/**
 * post_configuration_set_preference_by_name:
 * @self: a configuration
 * @name: a selection property's name, such as `preserve-order`
 * @level: `require`, `prefer`, `no-preference`, `avoid` or `prohibit`
 * @error: return location for an error
 *
 * Sets a preference by names, as read from a command line or a file.
 *
 * Returns: %TRUE on success; %FALSE with %POST_ERROR_INVALID_ARGUMENT
 *   naming the unknown property or level, or %POST_ERROR_IMMUTABLE
 */
gboolean
post_configuration_set_preference_by_name (PostConfiguration  *self,
                                           const char         *name,
                                           const char         *level,
                                           GError            **error)
{
  const PostSetting *setting;
  PostSelectionProperty property;
  PostPreference preference;

  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  g_return_val_if_fail (name != NULL, FALSE);
  g_return_val_if_fail (level != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  setting = _post_configuration_find_setting (name);
  if (setting != NULL
      && (setting->key == POST_SETTING_KEY_TEMPORARY || setting->key == POST_SETTING_KEY_SOFT_ERROR))
    {
      if (!post_preference_from_nick (level, &preference))
        {
          g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                       "unknown preference level ‘%s’ for ‘%s’ "
                       "(known: require, prefer, no-preference, avoid, prohibit)",
                       level, name);
          return FALSE;
        }
      if (setting->key == POST_SETTING_KEY_TEMPORARY)
        return post_configuration_set_use_temporary_local_address (self, preference, error);
      return post_configuration_set_soft_error_notify (self, preference, error);
    }

  if (!post_selection_property_from_nick (name, &property))
    {
      g_autoptr(GString) known = g_string_new (NULL);

      for (guint i = PROP_0 + 1; i < N_PROPS; i++)
        if (settings[i].type == POST_SETTING_PREFERENCE)
          g_string_append_printf (known, "%s%s", known->len > 0 ? ", " : "", settings[i].name);

      g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                   "unknown selection property ‘%s’ (known: %s)", name, known->str);
      return FALSE;
    }

  if (!post_preference_from_nick (level, &preference))
    {
      g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                   "unknown preference level ‘%s’ for ‘%s’ "
                   "(known: require, prefer, no-preference, avoid, prohibit)",
                   level, name);
      return FALSE;
    }

  return post_configuration_set_preference (self, property, preference, error);
}

/* ---- stacks and framing -------------------------------------------------- */

/**
 * post_configuration_get_stacks:
 * @self: a configuration
 *
 * Gets the stacks a carrier may use, as set with
 * [method@Post.Configuration.set_stacks]. The array belongs to @self and
 * stays valid until the stacks of @self are changed.
 *
 * Returns: (nullable) (transfer none) (array zero-terminated=1): the names
 *   of the stacks allowed, best first; %NULL when any stack may be used
 */
const char * const *
post_configuration_get_stacks (PostConfiguration *self)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), NULL);
  return (const char * const *) self->stacks;
}

/**
 * post_configuration_set_stacks:
 * @self: a configuration
 * @stacks: (nullable) (array zero-terminated=1): stack names, best first;
 *   %NULL (or an empty array) to allow every loaded stack
 * @error: return location for an error
 *
 * Restricts selection to the named stacks, and orders those that
 * satisfy the configuration equally. Names are checked against the
 * loaded stacks when a carrier is established.
 *
 * Returns: %TRUE on success; %FALSE with %POST_ERROR_INVALID_ARGUMENT
 *   for an empty or repeated name, or %POST_ERROR_IMMUTABLE
 */
gboolean
post_configuration_set_stacks (PostConfiguration   *self,
                               const char * const  *stacks,
                               GError             **error)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_mutable (self, error))
    return FALSE;

  if (stacks != NULL && stacks[0] == NULL)
    stacks = NULL;

  for (guint i = 0; stacks != NULL && stacks[i] != NULL; i++)
    {
      if (*stacks[i] == '\0')
        {
          g_set_error_literal (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                               "a stack name in the stacks list is empty");
          return FALSE;
        }
      for (guint j = 0; j < i; j++)
        {
          if (strcmp (stacks[i], stacks[j]) == 0)
            {
              g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                           "the stack ‘%s’ appears twice in the stacks list", stacks[i]);
              return FALSE;
            }
        }
    }

  if (self->stacks == NULL && stacks == NULL)
    return TRUE;
  if (self->stacks != NULL && stacks != NULL &&
      g_strv_equal ((const char * const *) self->stacks, stacks))
    return TRUE;

  g_strfreev (self->stacks);
  self->stacks = g_strdupv ((char **) stacks);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STACKS]);

  return TRUE;
}

/**
 * post_configuration_get_framing:
 * @self: a configuration
 *
 * Gets the framing mode: how messages map onto the byte stream of a stack
 * such as tcp (a framer, the whole stream as one message per direction, or
 * the stack's own messages). See [enum@Post.FramingMode].
 *
 * Returns: how messages map onto byte streams
 */
PostFramingMode
post_configuration_get_framing (PostConfiguration *self)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), POST_FRAMING_AUTO);
  return self->framing;
}

/**
 * post_configuration_set_framing:
 * @self: a configuration
 * @mode: the framing mode
 * @error: return location for an error
 *
 * Chooses between framed messages and stream mode on byte-stream stacks.
 *
 * Returns: %TRUE on success; %FALSE with %POST_ERROR_IMMUTABLE if frozen
 */
gboolean
post_configuration_set_framing (PostConfiguration  *self,
                                PostFramingMode     mode,
                                GError            **error)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_mutable (self, error))
    return FALSE;

  if (mode != POST_FRAMING_AUTO && mode != POST_FRAMING_STREAM)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                   "%d is not a framing mode", (int) mode);
      return FALSE;
    }

  if (self->framing == mode)
    return TRUE;

  self->framing = mode;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FRAMING]);

  return TRUE;
}

/**
 * post_configuration_get_framer_type:
 * @self: a configuration
 *
 * Gets the [class@Post.Framer] subclass that frames messages on byte
 * stream stacks in %POST_FRAMING_AUTO mode; each carrier makes an instance
 * of its own. [class@Post.LengthPrefixFramer] is the default.
 *
 * Returns: the [class@Post.Framer] subclass used on byte streams
 */
GType
post_configuration_get_framer_type (PostConfiguration *self)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), G_TYPE_INVALID);
  return self->framer_type;
}

/**
 * post_configuration_set_framer_type:
 * @self: a configuration
 * @framer_type: an instantiable subtype of [class@Post.Framer]
 * @error: return location for an error
 *
 * Sets the framer each byte-stream carrier instantiates.
 *
 * Returns: %TRUE on success; %FALSE with %POST_ERROR_INVALID_ARGUMENT if
 *   @framer_type is not a concrete framer, or %POST_ERROR_IMMUTABLE
 */
gboolean
post_configuration_set_framer_type (PostConfiguration  *self,
                                    GType               framer_type,
                                    GError            **error)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_mutable (self, error))
    return FALSE;

  if (!g_type_is_a (framer_type, POST_TYPE_FRAMER) || G_TYPE_IS_ABSTRACT (framer_type))
    {
      g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                   "‘%s’ is not a concrete subtype of PostFramer",
                   framer_type != G_TYPE_INVALID ? g_type_name (framer_type) : "(invalid)");
      return FALSE;
    }

  if (self->framer_type == framer_type)
    return TRUE;

  self->framer_type = framer_type;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_FRAMER_TYPE]);

  return TRUE;
}

/* ---- racing, timeouts and limits ----------------------------------------- */

/**
 * post_configuration_get_attempt_delay:
 * @self: a configuration
 *
 * Gets the time between the starts of two establishment attempts when
 * candidates are raced (Happy Eyeballs, RFC 8305): the next candidate
 * starts when this delay passes without the previous one succeeding. See
 * the [property@Post.Configuration:attempt-delay] property.
 *
 * Returns: the delay between establishment attempts, in milliseconds
 */
guint
post_configuration_get_attempt_delay (PostConfiguration *self)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), DEFAULT_ATTEMPT_DELAY_MS);
  return self->attempt_delay;
}

/**
 * post_configuration_set_attempt_delay:
 * @self: a configuration
 * @delay_ms: milliseconds between the starts of two attempts
 * @error: return location for an error
 *
 * Sets the racing delay (RFC 8305 "Connection Attempt Delay").
 *
 * Returns: %TRUE on success; %FALSE with %POST_ERROR_IMMUTABLE if frozen
 */
gboolean
post_configuration_set_attempt_delay (PostConfiguration  *self,
                                      guint               delay_ms,
                                      GError            **error)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_mutable (self, error))
    return FALSE;

  if (self->attempt_delay == delay_ms)
    return TRUE;

  self->attempt_delay = delay_ms;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ATTEMPT_DELAY]);

  return TRUE;
}

/**
 * post_configuration_get_proxy_resolver: (get-property proxy-resolver)
 * @self: a configuration
 *
 * Gets the #GProxyResolver that establishment asks which proxies lead to a
 * remote, as set with [method@Post.Configuration.set_proxy_resolver];
 * %NULL means g_proxy_resolver_get_default() (GNOME's proxy settings, the
 * flatpak portal or libproxy). It belongs to @self.
 *
 * Returns: (transfer none) (nullable): the proxy resolver set, or %NULL
 *   for g_proxy_resolver_get_default()
 */
GProxyResolver *
post_configuration_get_proxy_resolver (PostConfiguration *self)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), NULL);
  return self->proxy_resolver;
}

/**
 * post_configuration_set_proxy_resolver: (set-property proxy-resolver)
 * @self: a configuration
 * @resolver: (nullable): a #GProxyResolver, or %NULL for
 *   g_proxy_resolver_get_default()
 * @error: return location for an error
 *
 * Sets the resolver asked which proxies lead to a remote, such as a
 * #GSimpleProxyResolver.  See #PostConfiguration:proxy-resolver.
 *
 * Returns: %TRUE on success; %FALSE with %POST_ERROR_IMMUTABLE if frozen
 */
gboolean
post_configuration_set_proxy_resolver (PostConfiguration  *self,
                                       GProxyResolver     *resolver,
                                       GError            **error)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  g_return_val_if_fail (resolver == NULL || G_IS_PROXY_RESOLVER (resolver), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_mutable (self, error))
    return FALSE;
  if (g_set_object (&self->proxy_resolver, resolver))
    g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROXY_RESOLVER]);
  return TRUE;
}

/**
 * post_configuration_get_enable_proxy: (get-property enable-proxy)
 * @self: a configuration
 *
 * Gets whether establishment asks the proxy resolver which proxies lead to
 * the remote (%TRUE, the default, as #GSocketClient:enable-proxy); with
 * %FALSE carriers always connect directly. See
 * [property@Post.Configuration:enable-proxy].
 *
 * Returns: whether establishment asks the proxy resolver about proxies
 */
gboolean
post_configuration_get_enable_proxy (PostConfiguration *self)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), TRUE);
  return self->enable_proxy;
}

/**
 * post_configuration_set_enable_proxy: (set-property enable-proxy)
 * @self: a configuration
 * @enable: %FALSE to always connect directly
 * @error: return location for an error
 *
 * Turns proxies on (the default) or off.  See
 * #PostConfiguration:enable-proxy.
 *
 * Returns: %TRUE on success; %FALSE with %POST_ERROR_IMMUTABLE if frozen
 */
gboolean
post_configuration_set_enable_proxy (PostConfiguration  *self,
                                     gboolean            enable,
                                     GError            **error)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_mutable (self, error))
    return FALSE;
  enable = !!enable;
  if (self->enable_proxy == enable)
    return TRUE;
  self->enable_proxy = enable;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ENABLE_PROXY]);
  return TRUE;
}

/**
 * post_configuration_get_conn_timeout:
 * @self: a configuration
 *
 * Gets how long establishment may take: when no candidate has succeeded
 * within this time, establishment fails with %POST_ERROR_TIMED_OUT. See
 * the [property@Post.Configuration:conn-timeout] property.
 *
 * Returns: the establishment timeout in milliseconds, 0 for none
 */
guint
post_configuration_get_conn_timeout (PostConfiguration *self)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), DEFAULT_CONN_TIMEOUT_MS);
  return self->conn_timeout;
}

/**
 * post_configuration_set_conn_timeout:
 * @self: a configuration
 * @timeout_ms: milliseconds establishment may take, 0 for no limit
 * @error: return location for an error
 *
 * Sets the establishment timeout (RFC 9622 `conn-timeout`).
 *
 * Returns: %TRUE on success; %FALSE with %POST_ERROR_IMMUTABLE if frozen
 */
gboolean
post_configuration_set_conn_timeout (PostConfiguration  *self,
                                     guint               timeout_ms,
                                     GError            **error)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_mutable (self, error))
    return FALSE;

  if (self->conn_timeout == timeout_ms)
    return TRUE;

  self->conn_timeout = timeout_ms;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_CONN_TIMEOUT]);

  return TRUE;
}

/**
 * post_configuration_get_keep_alive_timeout:
 * @self: a configuration
 *
 * Gets the RFC 9622 `keepAliveTimeout` as set. The time carriers actually
 * use, which depends on the `keep-alive` selection property too, is
 * post_configuration_get_effective_keep_alive_timeout().
 *
 * Returns: the `keep-alive-timeout` in milliseconds as set, 0 when disabled
 */
guint
post_configuration_get_keep_alive_timeout (PostConfiguration *self)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), 0);
  return self->keep_alive_timeout;
}

/**
 * post_configuration_set_keep_alive_timeout:
 * @self: a configuration
 * @timeout_ms: milliseconds of idleness before a keep-alive, 0 to disable
 * @error: return location for an error
 *
 * Sets RFC 9622 `keepAliveTimeout` (see #PostConfiguration:keep-alive-timeout).
 * Stacks round it to their own granularity (TCP counts whole seconds).
 *
 * Returns: %TRUE on success; %FALSE with %POST_ERROR_IMMUTABLE if frozen,
 *   or %POST_ERROR_INVALID_ARGUMENT above 24 hours
 */
gboolean
post_configuration_set_keep_alive_timeout (PostConfiguration  *self,
                                           guint               timeout_ms,
                                           GError            **error)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_mutable (self, error))
    return FALSE;
  if (timeout_ms > MAX_KEEP_ALIVE_TIMEOUT_MS)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                   "A keep-alive timeout of %u ms is more than 24 hours (%u ms)",
                   timeout_ms, MAX_KEEP_ALIVE_TIMEOUT_MS);
      return FALSE;
    }

  if (self->keep_alive_timeout == timeout_ms)
    return TRUE;

  self->keep_alive_timeout = timeout_ms;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_KEEP_ALIVE_TIMEOUT]);

  return TRUE;
}

/**
 * post_configuration_get_effective_keep_alive_timeout:
 * @self: a configuration
 *
 * What a stack that can send keep-alives does with @self: the
 * `keep-alive-timeout` when set; otherwise 30000 when the `keep-alive`
 * selection property is required or preferred; otherwise 0, no
 * keep-alives.  Stacks read this, not the raw property.
 *
 * Returns: milliseconds of idleness before a keep-alive, 0 for none
 */
guint
post_configuration_get_effective_keep_alive_timeout (PostConfiguration *self)
{
  PostPreference preference;

  g_return_val_if_fail (POST_IS_CONFIGURATION (self), 0);

  if (self->keep_alive_timeout > 0)
    return self->keep_alive_timeout;
  preference = self->preferences[POST_SELECTION_KEEP_ALIVE];
  if (preference == POST_PREFERENCE_REQUIRE || preference == POST_PREFERENCE_PREFER)
    return DEFAULT_KEEP_ALIVE_TIMEOUT_MS;
  return 0;
}

/**
 * post_configuration_get_send_queue_limit:
 * @self: a configuration
 *
 * Gets the bound of a carrier's send queue: once the queued messages take
 * this many bytes, post_carrier_send() fails with %POST_ERROR_WOULD_BLOCK
 * until the queue drains (wait with post_carrier_flush_async()).
 *
 * Returns: the bytes a carrier queues before it pushes back
 */
gsize
post_configuration_get_send_queue_limit (PostConfiguration *self)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), DEFAULT_SEND_QUEUE_LIMIT);
  return self->send_queue_limit;
}

/**
 * post_configuration_set_send_queue_limit:
 * @self: a configuration
 * @bytes: the limit, at least 64 KiB
 * @error: return location for an error
 *
 * Bounds each carrier's send queue: beyond it sending fails with
 * %POST_ERROR_WOULD_BLOCK until post_carrier_flush_async() completes.
 *
 * Returns: %TRUE on success; %FALSE with %POST_ERROR_INVALID_ARGUMENT
 *   below 64 KiB, or %POST_ERROR_IMMUTABLE
 */
gboolean
post_configuration_set_send_queue_limit (PostConfiguration  *self,
                                         gsize               bytes,
                                         GError            **error)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_mutable (self, error))
    return FALSE;

  if (bytes < MIN_SEND_QUEUE_LIMIT)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                   "a send queue limit of %" G_GSIZE_FORMAT " bytes is below the minimum of %d",
                   bytes, MIN_SEND_QUEUE_LIMIT);
      return FALSE;
    }

  if (self->send_queue_limit == bytes)
    return TRUE;

  self->send_queue_limit = bytes;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SEND_QUEUE_LIMIT]);

  return TRUE;
}

/**
 * post_configuration_get_recv_msg_max_len:
 * @self: a configuration
 *
 * Gets the RFC 9622 `recv-msg-max-len`: a received message larger than
 * this is handed to the application in parts rather than held whole in
 * memory. See [method@Post.Configuration.set_recv_msg_max_len].
 *
 * Returns: the most bytes of one message held before it is handed out in parts
 */
gsize
post_configuration_get_recv_msg_max_len (PostConfiguration *self)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), DEFAULT_RECV_MSG_MAX_LEN);
  return self->recv_msg_max_len;
}

/**
 * post_configuration_set_recv_msg_max_len:
 * @self: a configuration
 * @bytes: the largest message to accept, at least 1
 * @error: return location for an error
 *
 * Bounds how much of one received message the carrier holds in memory
 * (RFC 9622 `recv-msg-max-len`): a larger message is handed out in parts,
 * even to post_carrier_receive_async(), whose result then says
 * post_message_is_complete() %FALSE; nothing is lost.
 *
 * Returns: %TRUE on success; %FALSE with %POST_ERROR_INVALID_ARGUMENT for
 *   0, or %POST_ERROR_IMMUTABLE
 */
gboolean
post_configuration_set_recv_msg_max_len (PostConfiguration  *self,
                                         gsize               bytes,
                                         GError            **error)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_mutable (self, error))
    return FALSE;

  if (bytes == 0)
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                           "the maximum received message length must be at least 1 byte");
      return FALSE;
    }

  if (self->recv_msg_max_len == bytes)
    return TRUE;

  self->recv_msg_max_len = bytes;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RECV_MSG_MAX_LEN]);

  return TRUE;
}

/* ---- protocol-specific options ------------------------------------------- */

/* `family.option`: [a-z0-9-]+(\.[a-z0-9-]+)+ */
static gboolean
option_key_is_valid (const char *key)
{
  gsize component = 0;
  guint n_components = 1;

  for (const char *p = key; *p != '\0'; p++)
    {
      if (*p == '.')
        {
          if (component == 0)
            return FALSE;
          component = 0;
          n_components++;
        }
      else if (g_ascii_islower (*p) || g_ascii_isdigit (*p) || *p == '-')
        component++;
      else
        return FALSE;
    }

  return component > 0 && n_components >= 2;
}

/**
 * post_configuration_get_option:
 * @self: a configuration
 * @key: a namespaced key such as `tcp.user-timeout`
 *
 * Looks up a protocol-specific option, set with
 * [method@Post.Configuration.set_option] or by policy. The value belongs
 * to @self; take a reference with g_variant_ref() to keep it beyond the
 * next change of @self.
 *
 * Returns: (transfer none) (nullable): the value of the option, or %NULL
 *   if it is not set
 */
GVariant *
post_configuration_get_option (PostConfiguration *self,
                               const char        *key)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), NULL);
  g_return_val_if_fail (key != NULL, NULL);

  return g_hash_table_lookup (self->options, key);
}

/**
 * post_configuration_set_option:
 * @self: a configuration
 * @key: a namespaced key `family.option`, such as `tcp.user-timeout` or
 *   `tls.ciphers`: lower-case letters, digits and `-`, in two or more
 *   parts joined by `.`
 * @value: (nullable): the value (a floating reference is sunk), or %NULL
 *   to unset the option
 * @error: return location for an error
 *
 * Sets a protocol-specific option. The stacks of the named family read
 * it; others ignore it.
 *
 * The value is checked against the options the loaded stacks declare
 * ([method@Post.Stack.add_options], listed by `post-policy options`): the
 * declared type (an integer of any type within the declared range is
 * stored in the declared integer type), range and choices; a key of a
 * family that a loaded stack knows must be declared. Keys of families no
 * loaded stack knows are stored unchecked.
 *
 * Returns: %TRUE on success; %FALSE with %POST_ERROR_INVALID_ARGUMENT for
 *   a malformed key, an unknown option of a loaded stack's family or an
 *   invalid value (the message names the option and what it expects), or
 *   %POST_ERROR_IMMUTABLE
 */
gboolean
post_configuration_set_option (PostConfiguration  *self,
                               const char         *key,
                               GVariant           *value,
                               GError            **error)
{
  g_autoptr(GVariant) owned = NULL;
  GVariant *old;

  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  g_return_val_if_fail (key != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (value != NULL)
    owned = g_variant_ref_sink (value);

  if (!check_mutable (self, error))
    return FALSE;

  if (!option_key_is_valid (key))
    {
      g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                   "invalid option key ‘%s’: expected ‘family.option’ in "
                   "lower-case letters, digits and ‘-’, such as ‘tcp.user-timeout’", key);
      return FALSE;
    }

  if (owned == NULL)
    {
      g_hash_table_remove (self->options, key);
      return TRUE;
    }

  /* Against what the loaded stacks declare: a wrong type, a value out of
   * range or an unknown option of their family fails here, rather than
   * being ignored with a log line when a carrier is established */
  {
    GVariant *normalized = NULL;

    if (!post_registry_check_option (post_registry_get_default (), key, owned, &normalized, error))
      return FALSE;
    g_variant_unref (owned);
    owned = normalized;
  }

  old = g_hash_table_lookup (self->options, key);
  if (old != NULL && g_variant_equal (old, owned))
    return TRUE;

  g_hash_table_replace (self->options, g_strdup (key), g_steal_pointer (&owned));

  return TRUE;
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

/**
 * post_configuration_list_options:
 * @self: a configuration
 *
 * Lists the keys of the protocol-specific options set on @self, such as
 * `tcp.user-timeout`; look each up with
 * [method@Post.Configuration.get_option]. The caller owns the returned
 * array; free it with g_strfreev().
 *
 * Returns: (transfer full) (array zero-terminated=1): the keys of the
 *   options set, sorted
 */
char **
post_configuration_list_options (PostConfiguration *self)
{
  GHashTableIter iter;
  gpointer key;
  GPtrArray *keys;

  g_return_val_if_fail (POST_IS_CONFIGURATION (self), NULL);

  keys = g_ptr_array_new ();
  g_hash_table_iter_init (&iter, self->options);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (keys, g_strdup (key));
  g_ptr_array_sort (keys, compare_strings);
  g_ptr_array_add (keys, NULL);

  return (char **) g_ptr_array_free (keys, FALSE);
}

/* ---- canonical form ------------------------------------------------------ */

/**
 * post_configuration_to_string:
 * @self: a configuration
 *
 * Describes @self, one `name=value` per line: every selection property,
 * then stacks, framing, framer type, timing and limits, then the options
 * sorted by key with their values in GVariant text format. Equal
 * configurations give the same text.
 *
 * Returns: (transfer full): the canonical text
 */
char *
post_configuration_to_string (PostConfiguration *self)
{
  GString *string;
  g_auto(GStrv) keys = NULL;

  g_return_val_if_fail (POST_IS_CONFIGURATION (self), NULL);

  if (self->canonical != NULL)
    return g_strdup (self->canonical);

  string = g_string_new (NULL);

  for (guint i = 0; i < POST_SELECTION_LAST; i++)
    g_string_append_printf (string, "%s=%s\n", SELECTION_NICK (i),
                            preference_nicks[self->preferences[i]]);

  if (self->stacks != NULL)
    {
      g_autofree char *joined = g_strjoinv (",", self->stacks);
      g_string_append_printf (string, "stacks=%s\n", joined);
    }
  else
    g_string_append (string, "stacks=any\n");

  g_string_append_printf (string, "framing=%s\n",
                          self->framing == POST_FRAMING_STREAM ? "stream" : "auto");
  g_string_append_printf (string, "framer-type=%s\n", g_type_name (self->framer_type));
  g_string_append_printf (string, "attempt-delay=%u\n", self->attempt_delay);
  g_string_append_printf (string, "conn-timeout=%u\n", self->conn_timeout);
  g_string_append_printf (string, "send-queue-limit=%" G_GSIZE_FORMAT "\n", self->send_queue_limit);
  g_string_append_printf (string, "recv-msg-max-len=%" G_GSIZE_FORMAT, self->recv_msg_max_len);

  /* Connection properties only when set, so that older texts stay valid */
  append_connection_properties (self, string);

  if (self->verify != NULL)
    g_string_append_printf (string, "\ntls.verify-func=%p", (gpointer) self->verify);
  if (!self->enable_proxy)
    g_string_append (string, "\nenable-proxy=false");
  else if (self->proxy_resolver != NULL)
    g_string_append_printf (string, "\nproxy-resolver=%s@%p",
                            G_OBJECT_TYPE_NAME (self->proxy_resolver), (gpointer) self->proxy_resolver);

  keys = post_configuration_list_options (self);
  for (guint i = 0; keys[i] != NULL; i++)
    {
      g_autofree char *text = g_variant_print (g_hash_table_lookup (self->options, keys[i]), TRUE);
      g_string_append_printf (string, "\n%s=%s", keys[i], text);
    }

  return g_string_free (string, FALSE);
}

/**
 * post_configuration_hash:
 * @configuration: (type PostConfiguration): a configuration
 *
 * Hashes the canonical text of a configuration.
 *
 * Returns: the hash
 */
guint
post_configuration_hash (gconstpointer configuration)
{
  g_autofree char *text = NULL;

  g_return_val_if_fail (POST_IS_CONFIGURATION ((gpointer) configuration), 0);

  text = post_configuration_to_string ((PostConfiguration *) configuration);
  return g_str_hash (text);
}

/**
 * post_configuration_equal:
 * @a: (type PostConfiguration): a configuration
 * @b: (type PostConfiguration): another one
 *
 * Compares everything but whether the configurations are frozen.
 *
 * Returns: %TRUE if @a and @b are equal
 */
gboolean
post_configuration_equal (gconstpointer a,
                          gconstpointer b)
{
  g_autofree char *text_a = NULL;
  g_autofree char *text_b = NULL;

  g_return_val_if_fail (POST_IS_CONFIGURATION ((gpointer) a), FALSE);
  g_return_val_if_fail (POST_IS_CONFIGURATION ((gpointer) b), FALSE);

  if (a == b)
    return TRUE;

  text_a = post_configuration_to_string ((PostConfiguration *) a);
  text_b = post_configuration_to_string ((PostConfiguration *) b);

  return strcmp (text_a, text_b) == 0;
}

/* ---- connection properties that are no stack capability ----------------- */

static gboolean
check_preference (PostPreference   preference,
                  GError         **error)
{
  if ((guint) preference < G_N_ELEMENTS (preference_nicks))
    return TRUE;
  g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
               "%d is not a preference", (int) preference);
  return FALSE;
}

/**
 * post_configuration_get_use_temporary_local_address: (get-property use-temporary-local-address)
 * @self: a configuration
 *
 * Gets the RFC 9622 `use-temporary-local-address` connection property:
 * whether temporary (RFC 8981 privacy) local addresses are wanted. No
 * preference means the RFC 9622 default: prefer for carriers, avoid for
 * listeners.
 *
 * Returns: whether temporary local addresses are wanted
 */
PostPreference
post_configuration_get_use_temporary_local_address (PostConfiguration *self)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), POST_PREFERENCE_NO_PREFERENCE);
  return self->use_temporary_local_address;
}

/**
 * post_configuration_set_use_temporary_local_address: (set-property use-temporary-local-address)
 * @self: a configuration
 * @preference: the preference
 * @error: return location for an error
 *
 * Sets RFC 9622 `use-temporary-local-address`.
 *
 * Returns: %TRUE on success; %FALSE with %POST_ERROR_IMMUTABLE or
 *   %POST_ERROR_INVALID_ARGUMENT
 */
gboolean
post_configuration_set_use_temporary_local_address (PostConfiguration  *self,
                                                    PostPreference      preference,
                                                    GError            **error)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_mutable (self, error) || !check_preference (preference, error))
    return FALSE;
  if (self->use_temporary_local_address == preference)
    return TRUE;
  self->use_temporary_local_address = preference;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_USE_TEMPORARY_LOCAL_ADDRESS]);
  return TRUE;
}

/**
 * post_configuration_get_soft_error_notify: (get-property soft-error-notify)
 * @self: a configuration
 *
 * Gets the RFC 9622 `soft-error-notify` connection property: whether the
 * application wants to hear of soft errors such as ICMP messages. It is
 * passed to the stacks.
 *
 * Returns: whether soft errors should be reported
 */
PostPreference
post_configuration_get_soft_error_notify (PostConfiguration *self)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), POST_PREFERENCE_NO_PREFERENCE);
  return self->soft_error_notify;
}

/**
 * post_configuration_set_soft_error_notify: (set-property soft-error-notify)
 * @self: a configuration
 * @preference: the preference
 * @error: return location for an error
 *
 * Sets RFC 9622 `soft-error-notify`.
 *
 * Returns: %TRUE on success; %FALSE with %POST_ERROR_IMMUTABLE or
 *   %POST_ERROR_INVALID_ARGUMENT
 */
gboolean
post_configuration_set_soft_error_notify (PostConfiguration  *self,
                                          PostPreference      preference,
                                          GError            **error)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_mutable (self, error) || !check_preference (preference, error))
    return FALSE;
  if (self->soft_error_notify == preference)
    return TRUE;
  self->soft_error_notify = preference;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_SOFT_ERROR_NOTIFY]);
  return TRUE;
}

/**
 * post_configuration_get_direction: (get-property direction)
 * @self: a configuration
 *
 * Gets whether the carriers made with @self send, receive or both (RFC
 * 9622 `direction`); a unidirectional carrier fails the operations of the
 * other direction with %POST_ERROR_WRONG_ROLE.
 *
 * Returns: the direction of the carriers
 */
PostDirection
post_configuration_get_direction (PostConfiguration *self)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), POST_DIRECTION_BIDIRECTIONAL);
  return self->direction;
}

/**
 * post_configuration_set_direction: (set-property direction)
 * @self: a configuration
 * @direction: the direction
 * @error: return location for an error
 *
 * Sets RFC 9622 `direction`.
 *
 * Returns: %TRUE on success; %FALSE with %POST_ERROR_IMMUTABLE or
 *   %POST_ERROR_INVALID_ARGUMENT
 */
gboolean
post_configuration_set_direction (PostConfiguration  *self,
                                  PostDirection       direction,
                                  GError            **error)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (!check_mutable (self, error))
    return FALSE;
  if ((guint) direction > POST_DIRECTION_UNIDIRECTIONAL_RECEIVE)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                   "%d is not a direction", (int) direction);
      return FALSE;
    }
  if (self->direction == direction)
    return TRUE;
  self->direction = direction;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DIRECTION]);
  return TRUE;
}

/* Preference-set names: interface names (globs allowed), kinds or PvD ids */
static gboolean
preference_set_name_is_valid (const char *name)
{
  if (name == NULL || *name == '\0' || strlen (name) > 255)
    return FALSE;
  for (const char *p = name; *p != '\0'; p++)
    if (g_ascii_isspace (*p) || *p == ':' || *p == ';' || *p == ',' || *p == '=')
      return FALSE;
  return TRUE;
}

static gboolean
set_preference_set_entry (PostConfiguration  *self,
                          guint               prop_id,
                          const char         *name,
                          PostPreference      preference,
                          gboolean            notify,
                          GError            **error)
{
  GHashTable *set = prop_id == PROP_INTERFACE ? self->interface_prefs : self->pvd_prefs;
  gpointer old;

  if (!check_mutable (self, error) || !check_preference (preference, error))
    return FALSE;
  if (!preference_set_name_is_valid (name))
    {
      g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                   "invalid %s name ‘%s’", prop_id == PROP_INTERFACE ? "interface" : "PvD",
                   name != NULL ? name : "(null)");
      return FALSE;
    }

  if (g_hash_table_lookup_extended (set, name, NULL, &old) && GPOINTER_TO_INT (old) == (int) preference)
    return TRUE;
  if (preference == POST_PREFERENCE_NO_PREFERENCE)
    {
      if (!g_hash_table_remove (set, name))
        return TRUE;
    }
  else
    g_hash_table_replace (set, g_strdup (name), GINT_TO_POINTER (preference));

  if (notify)
    g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
  return TRUE;
}

static char **
list_preference_set (GHashTable *set)
{
  GHashTableIter iter;
  gpointer key;
  GPtrArray *keys = g_ptr_array_new ();

  g_hash_table_iter_init (&iter, set);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (keys, g_strdup (key));
  g_ptr_array_sort (keys, compare_strings);
  g_ptr_array_add (keys, NULL);
  return (char **) g_ptr_array_free (keys, FALSE);
}

static char **
preference_set_to_strv (GHashTable *set)
{
  g_auto(GStrv) keys = list_preference_set (set);
  GStrvBuilder *builder = g_strv_builder_new ();
  char **result;

  for (guint i = 0; keys[i] != NULL; i++)
    {
      PostPreference preference = GPOINTER_TO_INT (g_hash_table_lookup (set, keys[i]));

      g_autofree char *entry = g_strdup_printf ("%s:%s", keys[i], preference_nicks[preference]);

      g_strv_builder_add (builder, entry);
    }
  result = g_strv_builder_end (builder);
  g_strv_builder_unref (builder);
  return result;
}

static gboolean
set_preference_set_from_strv (PostConfiguration   *self,
                              guint                prop_id,
                              const char * const  *entries,
                              GError             **error)
{
  GHashTable *set = prop_id == PROP_INTERFACE ? self->interface_prefs : self->pvd_prefs;
  g_autoptr(GHashTable) parsed = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  if (!check_mutable (self, error))
    return FALSE;

  for (guint i = 0; entries != NULL && entries[i] != NULL; i++)
    {
      const char *colon = strrchr (entries[i], ':');
      g_autofree char *name = colon ? g_strndup (entries[i], colon - entries[i]) : NULL;
      PostPreference preference;

      if (colon == NULL || !preference_set_name_is_valid (name)
          || !post_preference_from_nick (colon + 1, &preference))
        {
          g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                       "invalid preference set entry ‘%s’: expected NAME:LEVEL", entries[i]);
          return FALSE;
        }
      if (preference != POST_PREFERENCE_NO_PREFERENCE)
        g_hash_table_replace (parsed, g_steal_pointer (&name), GINT_TO_POINTER (preference));
    }

  g_hash_table_remove_all (set);
  copy_preference_set (set, parsed);
  g_object_notify_by_pspec (G_OBJECT (self), properties[prop_id]);
  return TRUE;
}

static void
copy_preference_set (GHashTable *to,
                     GHashTable *from)
{
  GHashTableIter iter;
  gpointer key, value;

  g_hash_table_iter_init (&iter, from);
  while (g_hash_table_iter_next (&iter, &key, &value))
    g_hash_table_replace (to, g_strdup (key), value);
}

static void
append_connection_properties (PostConfiguration *self,
                              GString           *string)
{
  static const char * const direction_nicks[] = {
    "bidirectional", "unidirectional-send", "unidirectional-receive",
  };

  if (self->use_temporary_local_address != POST_PREFERENCE_NO_PREFERENCE)
    g_string_append_printf (string, "\nuse-temporary-local-address=%s",
                            preference_nicks[self->use_temporary_local_address]);
  if (self->soft_error_notify != POST_PREFERENCE_NO_PREFERENCE)
    g_string_append_printf (string, "\nsoft-error-notify=%s",
                            preference_nicks[self->soft_error_notify]);
  if (self->direction != POST_DIRECTION_BIDIRECTIONAL)
    g_string_append_printf (string, "\ndirection=%s", direction_nicks[self->direction]);
  if (self->keep_alive_timeout != 0)
    g_string_append_printf (string, "\nkeep-alive-timeout=%u", self->keep_alive_timeout);
  if (g_hash_table_size (self->interface_prefs) > 0)
    {
      g_auto(GStrv) entries = preference_set_to_strv (self->interface_prefs);
      g_autofree char *joined = g_strjoinv (";", entries);

      g_string_append_printf (string, "\ninterface=%s", joined);
    }
  if (g_hash_table_size (self->pvd_prefs) > 0)
    {
      g_auto(GStrv) entries = preference_set_to_strv (self->pvd_prefs);
      g_autofree char *joined = g_strjoinv (";", entries);

      g_string_append_printf (string, "\npvd=%s", joined);
    }
}

/**
 * post_configuration_get_interface_preference:
 * @self: a configuration
 * @interface: an interface name or kind, as set
 *
 * Looks up one entry of the RFC 9622 `interface` preference set, as set
 * with [method@Post.Configuration.set_interface_preference] or the
 * [property@Post.Configuration:interface] property. @interface is compared
 * as written (an interface name, a glob or an interface kind nick); no
 * glob matching happens here.
 *
 * Returns: the preference of the `interface` set for @interface;
 *   %POST_PREFERENCE_NO_PREFERENCE if it has none
 */
PostPreference
post_configuration_get_interface_preference (PostConfiguration *self,
                                             const char        *interface)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), POST_PREFERENCE_NO_PREFERENCE);
  g_return_val_if_fail (interface != NULL, POST_PREFERENCE_NO_PREFERENCE);
  return GPOINTER_TO_INT (g_hash_table_lookup (self->interface_prefs, interface));
}

/**
 * post_configuration_set_interface_preference:
 * @self: a configuration
 * @interface: an interface name (`wlan0`, or a glob such as `wwan*`) or an
 *   interface kind (`wifi`, `cellular`, `wired`, `loopback`, `vpn`, `other`)
 * @preference: the preference; %POST_PREFERENCE_NO_PREFERENCE removes the entry
 * @error: return location for an error
 *
 * Sets one entry of the RFC 9622 `interface` preference set: paths over a
 * required interface are the only ones used, over a prohibited one never,
 * preferred ones rank higher and avoided ones lower.
 *
 * Returns: %TRUE on success; %FALSE with %POST_ERROR_INVALID_ARGUMENT or
 *   %POST_ERROR_IMMUTABLE
 */
gboolean
post_configuration_set_interface_preference (PostConfiguration  *self,
                                             const char         *interface,
                                             PostPreference      preference,
                                             GError            **error)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  return set_preference_set_entry (self, PROP_INTERFACE, interface, preference, TRUE, error);
}

/**
 * post_configuration_list_interface_preferences:
 * @self: a configuration
 *
 * Lists the interface names and kinds that have an entry in the RFC 9622
 * `interface` preference set; look each up with
 * [method@Post.Configuration.get_interface_preference]. The caller owns
 * the returned array; free it with g_strfreev().
 *
 * Returns: (transfer full) (array zero-terminated=1): the names in the
 *   `interface` preference set, sorted
 */
char **
post_configuration_list_interface_preferences (PostConfiguration *self)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), NULL);
  return list_preference_set (self->interface_prefs);
}

/**
 * post_configuration_get_pvd_preference:
 * @self: a configuration
 * @pvd: a provisioning domain identifier
 *
 * Looks up one entry of the RFC 9622 `pvd` preference set, as set with
 * [method@Post.Configuration.set_pvd_preference] or the
 * [property@Post.Configuration:pvd] property.
 *
 * Returns: the preference of the `pvd` set for @pvd;
 *   %POST_PREFERENCE_NO_PREFERENCE if it has none
 */
PostPreference
post_configuration_get_pvd_preference (PostConfiguration *self,
                                       const char        *pvd)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), POST_PREFERENCE_NO_PREFERENCE);
  g_return_val_if_fail (pvd != NULL, POST_PREFERENCE_NO_PREFERENCE);
  return GPOINTER_TO_INT (g_hash_table_lookup (self->pvd_prefs, pvd));
}

/**
 * post_configuration_set_pvd_preference:
 * @self: a configuration
 * @pvd: a provisioning domain identifier (RFC 7556), such as `pvd.example.com`
 * @preference: the preference; %POST_PREFERENCE_NO_PREFERENCE removes the entry
 * @error: return location for an error
 *
 * Sets one entry of the RFC 9622 `pvd` preference set.  Until a path
 * monitor reports provisioning domains, a path's PvD is unknown: requiring
 * one then rules every path out.
 *
 * Returns: %TRUE on success; %FALSE with %POST_ERROR_INVALID_ARGUMENT or
 *   %POST_ERROR_IMMUTABLE
 */
gboolean
post_configuration_set_pvd_preference (PostConfiguration  *self,
                                       const char         *pvd,
                                       PostPreference      preference,
                                       GError            **error)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);
  return set_preference_set_entry (self, PROP_PVD, pvd, preference, TRUE, error);
}

/**
 * post_configuration_list_pvd_preferences:
 * @self: a configuration
 *
 * Lists the provisioning domains that have an entry in the RFC 9622 `pvd`
 * preference set; look each up with
 * [method@Post.Configuration.get_pvd_preference]. The caller owns the
 * returned array; free it with g_strfreev().
 *
 * Returns: (transfer full) (array zero-terminated=1): the PvD identifiers
 *   in the `pvd` preference set, sorted
 */
char **
post_configuration_list_pvd_preferences (PostConfiguration *self)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), NULL);
  return list_preference_set (self->pvd_prefs);
}

/* ---- security ------------------------------------------------------------- */

static gboolean
get_bool_option (PostConfiguration *self,
                 const char        *key,
                 gboolean           fallback)
{
  GVariant *value = post_configuration_get_option (self, key);

  if (value == NULL || !g_variant_is_of_type (value, G_VARIANT_TYPE_BOOLEAN))
    return fallback;
  return g_variant_get_boolean (value);
}

/**
 * post_configuration_get_use_system_trust:
 * @self: a #PostConfiguration
 *
 * Gets whether the secure stacks verify peers against the system's trust
 * store (GnuTLS's system store) in addition to the anchors added; with
 * %FALSE only the added anchors are trusted.
 *
 * Returns: whether the system's trust store verifies peers (the default)
 */
gboolean
post_configuration_get_use_system_trust (PostConfiguration *self)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), TRUE);
  return get_bool_option (self, "tls.use-system-trust", TRUE);
}

/**
 * post_configuration_set_use_system_trust:
 * @self: a #PostConfiguration
 * @use: whether the system's trust store is used
 * @error: return location for an error
 *
 * With %FALSE only the anchors added with
 * post_configuration_add_trust_anchor() are trusted.
 *
 * Returns: %TRUE on success
 */
gboolean
post_configuration_set_use_system_trust (PostConfiguration  *self,
                                         gboolean            use,
                                         GError            **error)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  return post_configuration_set_option (self, "tls.use-system-trust",
                                        use ? NULL : g_variant_new_boolean (FALSE), error);
}

/**
 * post_configuration_add_trust_anchor:
 * @self: a #PostConfiguration
 * @certificate: one or more certificates, PEM or one DER
 * @error: return location for an error
 *
 * Trusts @certificate as an anchor (draft 3.1.5 `SetTrustedCerts`), in
 * addition to the system's store unless that is turned off.
 *
 * Returns: %TRUE on success
 */
gboolean
post_configuration_add_trust_anchor (PostConfiguration  *self,
                                     GBytes             *certificate,
                                     GError            **error)
{
  GVariant *old;
  GVariantBuilder builder;

  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  g_return_val_if_fail (certificate != NULL, FALSE);

  if (g_bytes_get_size (certificate) == 0)
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                           "an empty trust anchor");
      return FALSE;
    }
  g_variant_builder_init (&builder, G_VARIANT_TYPE ("aay"));
  old = post_configuration_get_option (self, "tls.anchors");
  if (old != NULL && g_variant_is_of_type (old, G_VARIANT_TYPE ("aay")))
    for (gsize i = 0; i < g_variant_n_children (old); i++)
      g_variant_builder_add_value (&builder, g_variant_get_child_value (old, i));
  g_variant_builder_add_value (&builder,
                               g_variant_new_from_bytes (G_VARIANT_TYPE_BYTESTRING, certificate, TRUE));
  return post_configuration_set_option (self, "tls.anchors", g_variant_builder_end (&builder), error);
}

/**
 * post_configuration_add_trust_anchor_file:
 * @self: a #PostConfiguration
 * @path: a file of PEM certificates (or one DER certificate)
 * @error: return location for an error
 *
 * Reads @path and calls post_configuration_add_trust_anchor().
 *
 * Returns: %TRUE on success
 */
gboolean
post_configuration_add_trust_anchor_file (PostConfiguration  *self,
                                          const char         *path,
                                          GError            **error)
{
  g_autofree char *contents = NULL;
  g_autoptr(GBytes) bytes = NULL;
  gsize length;

  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  g_return_val_if_fail (path != NULL, FALSE);

  if (!check_mutable (self, error))
    return FALSE;
  if (!g_file_get_contents (path, &contents, &length, error))
    return FALSE;
  bytes = g_bytes_new_take (g_steal_pointer (&contents), length);
  return post_configuration_add_trust_anchor (self, bytes, error);
}

/**
 * post_configuration_get_trust_anchors:
 * @self: a #PostConfiguration
 *
 * Gets the certificates added as trust anchors with
 * [method@Post.Configuration.add_trust_anchor] and
 * [method@Post.Configuration.add_trust_anchor_file], each as it was given
 * (PEM or DER). The caller owns the returned array.
 *
 * Returns: (transfer container) (element-type GBytes): the anchors added
 */
GPtrArray *
post_configuration_get_trust_anchors (PostConfiguration *self)
{
  GPtrArray *result = g_ptr_array_new_with_free_func ((GDestroyNotify) g_bytes_unref);
  GVariant *value;

  g_return_val_if_fail (POST_IS_CONFIGURATION (self), result);

  value = post_configuration_get_option (self, "tls.anchors");
  if (value != NULL && g_variant_is_of_type (value, G_VARIANT_TYPE ("aay")))
    for (gsize i = 0; i < g_variant_n_children (value); i++)
      {
        g_autoptr(GVariant) child = g_variant_get_child_value (value, i);

        g_ptr_array_add (result, g_variant_get_data_as_bytes (child));
      }
  return result;
}

static char *
normalize_pin (const char *pin)
{
  gsize len = strlen (pin);

  if (g_str_has_prefix (pin, "sha256/"))
    pin += 7, len -= 7;
  if (len == 64)
    {
      for (gsize i = 0; i < 64; i++)
        if (!g_ascii_isxdigit (pin[i]))
          return NULL;
      return g_ascii_strdown (pin, -1);
    }
  if (len == 44)
    {
      g_autofree guchar *raw = NULL;
      gsize raw_len = 0;
      GString *hex;

      raw = g_base64_decode (pin, &raw_len);
      if (raw_len != 32)
        return NULL;
      hex = g_string_new (NULL);
      for (gsize i = 0; i < raw_len; i++)
        g_string_append_printf (hex, "%02x", raw[i]);
      return g_string_free (hex, FALSE);
    }
  return NULL;
}

/**
 * post_configuration_add_pinned_key:
 * @self: a #PostConfiguration
 * @spki_sha256: the SHA-256 of a SubjectPublicKeyInfo, in hex (64 digits)
 *   or base64 (44 characters, optionally after `sha256/`)
 * @error: return location for an error
 *
 * Pins a public key: once any pin is set, a peer is trusted only when its
 * chain contains a key with one of the pinned digests (in addition to the
 * chain and name verification).
 *
 * Returns: %TRUE on success
 */
gboolean
post_configuration_add_pinned_key (PostConfiguration  *self,
                                   const char         *spki_sha256,
                                   GError            **error)
{
  g_autofree char *pin = NULL;
  g_autoptr(GPtrArray) pins = g_ptr_array_new_with_free_func (g_free);
  g_auto(GStrv) old = NULL;

  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  g_return_val_if_fail (spki_sha256 != NULL, FALSE);

  pin = normalize_pin (spki_sha256);
  if (pin == NULL)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                   "‘%s’ is not a SHA-256 digest in hex or base64", spki_sha256);
      return FALSE;
    }
  old = post_configuration_get_pinned_keys (self);
  for (guint i = 0; old[i] != NULL; i++)
    {
      if (strcmp (old[i], pin) == 0)
        return check_mutable (self, error);
      g_ptr_array_add (pins, g_strdup (old[i]));
    }
  g_ptr_array_add (pins, g_steal_pointer (&pin));
  return post_configuration_set_option (self, "tls.pins",
                                        g_variant_new_strv ((const char * const *) pins->pdata, pins->len),
                                        error);
}

static char **
get_strv_option (PostConfiguration *self,
                 const char        *key)
{
  GVariant *value = post_configuration_get_option (self, key);

  if (value == NULL || !g_variant_is_of_type (value, G_VARIANT_TYPE_STRING_ARRAY))
    return g_new0 (char *, 1);
  return g_variant_dup_strv (value, NULL);
}

/**
 * post_configuration_get_pinned_keys:
 * @self: a #PostConfiguration
 *
 * Gets the public keys pinned with
 * [method@Post.Configuration.add_pinned_key]: a secure stack accepts a
 * peer only if the SHA-256 digest of its certificate's
 * SubjectPublicKeyInfo is among them (when any is pinned). The caller owns
 * the returned array; free it with g_strfreev().
 *
 * Returns: (transfer full): the pinned SPKI digests, in lower-case hex
 */
char **
post_configuration_get_pinned_keys (PostConfiguration *self)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), NULL);
  return get_strv_option (self, "tls.pins");
}

/**
 * post_configuration_set_alpn:
 * @self: a #PostConfiguration
 * @protocols: (nullable) (array zero-terminated=1): ALPN protocol ids, most
 *   preferred first, or %NULL for none
 * @error: return location for an error
 *
 * Sets the ALPN protocol identifiers (RFC 7301, such as `h2` or `h3`) that
 * the secure stacks offer as a client, or accept as a listener (in the
 * listener's order of preference). %NULL or an empty array offers none.
 * Each identifier has 1 to 255 bytes.
 *
 * Fails with %POST_ERROR_INVALID_ARGUMENT for an empty or too long
 * identifier, or %POST_ERROR_IMMUTABLE when @self is frozen.
 *
 * Returns: %TRUE on success
 */
gboolean
post_configuration_set_alpn (PostConfiguration   *self,
                             const char * const  *protocols,
                             GError             **error)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);

  if (protocols != NULL)
    for (guint i = 0; protocols[i] != NULL; i++)
      if (*protocols[i] == '\0' || strlen (protocols[i]) > 255)
        {
          g_set_error_literal (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                               "an ALPN protocol id has 1 to 255 bytes");
          return FALSE;
        }
  return post_configuration_set_option (self, "tls.alpn",
                                        protocols && protocols[0] ? g_variant_new_strv (protocols, -1) : NULL,
                                        error);
}

/**
 * post_configuration_get_alpn:
 * @self: a #PostConfiguration
 *
 * Gets the ALPN protocol identifiers that the secure stacks offer (a
 * client) or accept (a listener) during the handshake, most preferred
 * first, as set with [method@Post.Configuration.set_alpn]. The caller owns
 * the returned array; free it with g_strfreev().
 *
 * Returns: (transfer full): the ALPN protocol ids (empty for none)
 */
char **
post_configuration_get_alpn (PostConfiguration *self)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), NULL);
  return get_strv_option (self, "tls.alpn");
}

/**
 * post_configuration_set_tls_versions:
 * @self: a #PostConfiguration
 * @min: the oldest version allowed
 * @max: the newest version allowed
 * @error: return location for an error
 *
 * By default only TLS 1.3 is allowed.
 *
 * Returns: %TRUE on success
 */
gboolean
post_configuration_set_tls_versions (PostConfiguration  *self,
                                     PostTlsVersion      min,
                                     PostTlsVersion      max,
                                     GError            **error)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);

  if ((min != POST_TLS_VERSION_1_2 && min != POST_TLS_VERSION_1_3) ||
      (max != POST_TLS_VERSION_1_2 && max != POST_TLS_VERSION_1_3) || min > max)
    {
      g_set_error_literal (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                           "TLS versions must be 1.2 or 1.3, the minimum not above the maximum");
      return FALSE;
    }
  if (!post_configuration_set_option (self, "tls.min-version",
                                      min == POST_TLS_VERSION_1_3 ? NULL : g_variant_new_byte (min), error))
    return FALSE;
  return post_configuration_set_option (self, "tls.max-version",
                                        max == POST_TLS_VERSION_1_3 ? NULL : g_variant_new_byte (max), error);
}

/**
 * post_configuration_get_tls_versions:
 * @self: a #PostConfiguration
 * @min: (out) (optional): the oldest version allowed
 * @max: (out) (optional): the newest version allowed
 *
 * Gets the range of TLS versions the secure stacks negotiate, as set with
 * [method@Post.Configuration.set_tls_versions]; both are
 * %POST_TLS_VERSION_1_3 unless set.
 */
void
post_configuration_get_tls_versions (PostConfiguration *self,
                                     PostTlsVersion    *min,
                                     PostTlsVersion    *max)
{
  GVariant *value;

  g_return_if_fail (POST_IS_CONFIGURATION (self));

  if (min != NULL)
    {
      value = post_configuration_get_option (self, "tls.min-version");
      *min = value && g_variant_is_of_type (value, G_VARIANT_TYPE_BYTE)
             ? (PostTlsVersion) g_variant_get_byte (value) : POST_TLS_VERSION_1_3;
    }
  if (max != NULL)
    {
      value = post_configuration_get_option (self, "tls.max-version");
      *max = value && g_variant_is_of_type (value, G_VARIANT_TYPE_BYTE)
             ? (PostTlsVersion) g_variant_get_byte (value) : POST_TLS_VERSION_1_3;
    }
}

/**
 * post_configuration_get_allow_cleartext:
 * @self: a #PostConfiguration
 *
 * Gets whether cleartext stacks may be chosen implicitly. By default
 * (%FALSE), when a secure stack is loaded and neither the URI's scheme nor
 * [method@Post.Configuration.set_stacks] names a cleartext stack, only
 * secure stacks are raced, so that a failed handshake never falls back to
 * cleartext; [method@Post.Configuration.set_allow_cleartext] lifts that
 * rule.
 *
 * Returns: whether a carrier may use a stack without security when no
 *   stack is named explicitly (%FALSE by default)
 */
gboolean
post_configuration_get_allow_cleartext (PostConfiguration *self)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  return get_bool_option (self, "tls.allow-cleartext", FALSE);
}

/**
 * post_configuration_set_allow_cleartext:
 * @self: a #PostConfiguration
 * @allow: whether cleartext stacks may be chosen implicitly
 * @error: return location for an error
 *
 * Security is on by default: when a secure stack is loaded and neither
 * the URI's scheme nor post_configuration_set_stacks() names a cleartext
 * stack such as `tcp`, only secure stacks are raced, so a failed
 * handshake never falls back to cleartext.  %TRUE lifts that rule.
 *
 * Returns: %TRUE on success
 */
gboolean
post_configuration_set_allow_cleartext (PostConfiguration  *self,
                                        gboolean            allow,
                                        GError            **error)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  return post_configuration_set_option (self, "tls.allow-cleartext",
                                        allow ? g_variant_new_boolean (TRUE) : NULL, error);
}

/**
 * post_configuration_set_verify_func:
 * @self: a #PostConfiguration
 * @func: (nullable) (scope notified): decides whether a peer is trusted, or
 *   %NULL to remove it
 * @user_data: (closure): data for @func
 * @destroy: (nullable): frees @user_data
 * @error: return location for an error
 *
 * Lets the application decide trust itself: @func gets the peer's chain
 * and what libpost's verification found, and its answer is final.
 *
 * A configuration has one verification callback: this one or the
 * GIO-shaped one of [method@Post.Configuration.set_accept_certificate_func],
 * which gets the chain as a [class@Gio.TlsCertificate] with
 * [flags@Gio.TlsCertificateFlags]; setting either replaces the other.
 * Without a callback a peer is trusted only when the verification found
 * nothing wrong.
 *
 * Returns: %TRUE on success
 */
gboolean
post_configuration_set_verify_func (PostConfiguration  *self,
                                    PostVerifyFunc      func,
                                    gpointer            user_data,
                                    GDestroyNotify      destroy,
                                    GError            **error)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);

  if (!check_mutable (self, error))
    {
      if (destroy != NULL)
        destroy (user_data);
      return FALSE;
    }
  g_clear_pointer (&self->verify, verify_closure_unref);
  if (func != NULL)
    {
      self->verify = g_new0 (VerifyClosure, 1);
      self->verify->ref_count = 1;
      self->verify->func = func;
      self->verify->user_data = user_data;
      self->verify->destroy = destroy;
    }
  return TRUE;
}

/**
 * post_configuration_has_verify_func:
 * @self: a #PostConfiguration
 *
 * Tells whether a verification callback was set with
 * [method@Post.Configuration.set_verify_func] or
 * [method@Post.Configuration.set_accept_certificate_func]; the secure stacks then hand
 * it each peer's certificate chain with what libpost's own verification
 * found, and its answer decides whether the peer is trusted.
 *
 * Returns: whether a verification callback is set
 */
gboolean
post_configuration_has_verify_func (PostConfiguration *self)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  return self->verify != NULL;
}

/**
 * post_configuration_call_verify_func:
 * @self: a #PostConfiguration
 * @chain: (element-type GBytes): the peer's chain in DER, leaf first
 * @server_name: (nullable): the name verified against
 * @errors: what the stack's own verification found
 *
 * For secure stacks: asks the application's callback, if any.
 *
 * Returns: the callback's answer, or whether @errors is %POST_TRUST_OK
 *   when there is no callback
 */
gboolean
post_configuration_call_verify_func (PostConfiguration *self,
                                     GPtrArray         *chain,
                                     const char        *server_name,
                                     PostTrustErrors    errors)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);

  if (self->verify == NULL)
    return errors == POST_TRUST_OK;
  return post_configuration_verify_peer (self, chain, server_name, errors,
                                         _post_trust_errors_to_tls_flags (errors), NULL);
}

/**
 * post_configuration_set_accept_certificate_func:
 * @self: a #PostConfiguration
 * @func: (nullable) (scope notified): decides whether a peer is trusted, or
 *   %NULL to remove it
 * @user_data: (closure): data for @func
 * @destroy: (nullable): frees @user_data
 * @error: return location for an error
 *
 * Lets the application decide trust itself as GIO's
 * [signal@Gio.TlsConnection::accept-certificate] does: @func gets the
 * peer's certificate as a [class@Gio.TlsCertificate] (its issuer chain
 * linked) and what the stack's verification found as
 * [flags@Gio.TlsCertificateFlags], and its answer is final.  Without a
 * callback a peer is trusted only when verification found nothing wrong:
 * verification stays on.
 *
 * This replaces a callback set with
 * [method@Post.Configuration.set_verify_func] (a configuration has one),
 * which gets the same decision with the chain in DER and
 * [flags@Post.TrustErrors].  The certificate is made by GIO's TLS backend
 * (glib-networking); without one the peer is rejected with
 * %POST_ERROR_TLS_REJECTED rather than accepted unseen.
 *
 * Returns: %TRUE on success
 */
gboolean
post_configuration_set_accept_certificate_func (PostConfiguration          *self,
                                                PostAcceptCertificateFunc   func,
                                                gpointer                    user_data,
                                                GDestroyNotify              destroy,
                                                GError                    **error)
{
  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);

  if (!check_mutable (self, error))
    {
      if (destroy != NULL)
        destroy (user_data);
      return FALSE;
    }
  g_clear_pointer (&self->verify, verify_closure_unref);
  if (func != NULL)
    {
      self->verify = g_new0 (VerifyClosure, 1);
      self->verify->ref_count = 1;
      self->verify->accept = func;
      self->verify->user_data = user_data;
      self->verify->destroy = destroy;
    }
  return TRUE;
}

/**
 * post_configuration_verify_peer:
 * @self: a #PostConfiguration
 * @chain: (element-type GBytes): the peer's chain in DER, leaf first
 * @server_name: (nullable): the name verified against
 * @errors: what the stack's own verification found
 * @tls_errors: the same in GIO's terms
 * @error: return location for why the callback could not be asked
 *
 * For secure stacks: asks the application's callback, if any, whichever
 * of [method@Post.Configuration.set_verify_func] and
 * [method@Post.Configuration.set_accept_certificate_func] set it.
 *
 * Returns: the callback's answer, or whether @errors is %POST_TRUST_OK
 *   when there is no callback; %FALSE with @error set when the callback
 *   could not be asked (no GIO TLS backend to make its
 *   [class@Gio.TlsCertificate], an unreadable chain)
 */
gboolean
post_configuration_verify_peer (PostConfiguration     *self,
                                GPtrArray             *chain,
                                const char            *server_name,
                                PostTrustErrors        errors,
                                GTlsCertificateFlags   tls_errors,
                                GError               **error)
{
  g_autoptr(GTlsCertificate) certificate = NULL;

  g_return_val_if_fail (POST_IS_CONFIGURATION (self), FALSE);
  g_return_val_if_fail (chain != NULL, FALSE);

  if (self->verify == NULL)
    return errors == POST_TRUST_OK;
  if (self->verify->func != NULL)
    return self->verify->func (chain, server_name, errors, self->verify->user_data);
  certificate = _post_tls_certificate_new_from_chain (chain, error);
  if (certificate == NULL)
    return FALSE;
  return self->verify->accept (certificate, tls_errors, server_name, self->verify->user_data);
}
