/* post-configuration.c: PostConfiguration, path and protocol preferences
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#define POST_CONFIGURATION_INTERNALS
#include "post-values-private.h"

#include <stdlib.h>
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

G_DEFINE_FINAL_TYPE (PostConfiguration, post_configuration, G_TYPE_OBJECT)

GParamSpec *_post_configuration_properties[N_PROPS];

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
  [PROP_PROXY_LOOPBACK] = { "proxy-loopback", POST_SETTING_BOOLEAN, NULL, 0, 0, FALSE,
    POST_SETTING_KEY_NONE, NULL,
    "Whether the default proxy resolver is asked about loopback addresses too" },
};

#undef PREFERENCE
#undef SELECTION

#define SELECTION_NICK(i) (settings[PROP_SELECTION_FIRST + (i)].name)

const char * const _post_configuration_preference_nicks[POST_PREFERENCE_PROHIBIT + 1] = {
  [POST_PREFERENCE_NO_PREFERENCE] = "no-preference",
  [POST_PREFERENCE_REQUIRE] = "require",
  [POST_PREFERENCE_PREFER] = "prefer",
  [POST_PREFERENCE_AVOID] = "avoid",
  [POST_PREFERENCE_PROHIBIT] = "prohibit",
};

gboolean
_post_configuration_check_mutable (PostConfiguration  *self,
                                   GError            **error)
{
  if (!self->frozen)
    return TRUE;

  g_set_error_literal (error, POST_ERROR, POST_ERROR_IMMUTABLE,
                       "the configuration is frozen; copy it to change it");
  return FALSE;
}

void
_post_configuration_verify_closure_unref (VerifyClosure *closure)
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
  if ((guint) preference >= G_N_ELEMENTS (_post_configuration_preference_nicks))
    return NULL;
  return _post_configuration_preference_nicks[preference];
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

  for (guint i = 0; i < G_N_ELEMENTS (_post_configuration_preference_nicks); i++)
    {
      if (strcmp (nick, _post_configuration_preference_nicks[i]) == 0)
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
  g_clear_pointer (&self->upper_framers, g_array_unref);
  g_clear_pointer (&self->alpn_framing, g_hash_table_unref);
  g_clear_pointer (&self->options, g_hash_table_unref);
  g_clear_pointer (&self->canonical, g_free);
  g_clear_pointer (&self->verify, _post_configuration_verify_closure_unref);
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
      g_value_take_boxed (value, _post_configuration_preference_set_to_strv (self->interface_prefs));
      break;
    case PROP_PVD:
      g_value_take_boxed (value, _post_configuration_preference_set_to_strv (self->pvd_prefs));
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
    case PROP_PROXY_LOOPBACK:
      g_value_set_boolean (value, self->proxy_loopback);
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
          ok = _post_configuration_set_preference_set_from_strv (self, PROP_INTERFACE, g_value_get_boxed (value), &error);
          break;
        case PROP_PVD:
          ok = _post_configuration_set_preference_set_from_strv (self, PROP_PVD, g_value_get_boxed (value), &error);
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
        case PROP_PROXY_LOOPBACK:
          ok = post_configuration_set_proxy_loopback (self, g_value_get_boolean (value), &error);
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
    _post_configuration_properties[i] = _post_setting_param_spec (&settings[i]);

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
   * With a stack of framers (post_configuration_add_framer_type()), the
   * one nearest the transport; setting it leaves that framer alone.
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

  /**
   * PostConfiguration:proxy-loopback: (getter get_proxy_loopback) (setter set_proxy_loopback)
   *
   * Whether establishment asks the default proxy resolver about a remote
   * that is a literal loopback address (`127.0.0.0/8`, `::1`) too.  %FALSE
   * (the default): such a remote is connected to directly, without a
   * lookup, as Chrome's and Firefox's implicit `<-loopback>` bypass rule
   * and GNOME's default `ignore-hosts` do: no proxy elsewhere can reach
   * this host's loopback interface.  %TRUE asks, for a local debugging
   * proxy that should see loopback traffic (Chrome's `<-loopback>`,
   * Firefox's `network.proxy.allow_hijacking_localhost`).  A resolver set
   * with #PostConfiguration:proxy-resolver is always asked: it is the
   * application's own rule (GSimpleProxyResolver has `ignore-hosts`).
   */

  g_object_class_install_properties (object_class, N_PROPS, _post_configuration_properties);
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
  copy->framers_chosen = self->framers_chosen;
  if (self->upper_framers != NULL)
    copy->upper_framers = g_array_copy (self->upper_framers);
  if (self->alpn_framing != NULL)
    {
      g_hash_table_iter_init (&iter, self->alpn_framing);
      while (g_hash_table_iter_next (&iter, &key, &value))
        _post_configuration_set_alpn_framing (copy, key, (GType) GPOINTER_TO_SIZE (value));
    }
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
  copy->proxy_loopback = self->proxy_loopback;
  _post_configuration_copy_preference_set (copy->interface_prefs, self->interface_prefs);
  _post_configuration_copy_preference_set (copy->pvd_prefs, self->pvd_prefs);

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
  g_object_notify_by_pspec (G_OBJECT (self), _post_configuration_properties[PROP_FROZEN]);
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

  if (!_post_configuration_check_mutable (self, error))
    return FALSE;

  if ((guint) property >= POST_SELECTION_LAST)
    {
      g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                   "%d is not a selection property", (int) property);
      return FALSE;
    }
  if ((guint) preference >= G_N_ELEMENTS (_post_configuration_preference_nicks))
    {
      g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                   "%d is not a preference", (int) preference);
      return FALSE;
    }

  self->explicit_preferences |= 1u << property;
  if (self->preferences[property] == preference)
    return TRUE;

  self->preferences[property] = preference;
  g_object_notify_by_pspec (G_OBJECT (self), _post_configuration_properties[PROP_SELECTION_FIRST + property]);

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

/* ---- canonical form ------------------------------------------------------ */

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return strcmp (*(const char * const *) a, *(const char * const *) b);
}

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
                            _post_configuration_preference_nicks[self->preferences[i]]);

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
  /* The framers above it only when there are, so that older texts stay valid */
  for (guint i = 0; self->upper_framers != NULL && i < self->upper_framers->len; i++)
    g_string_append_printf (string, "%s%s%s", i == 0 ? "framer-stack=" : ",",
                            g_type_name (g_array_index (self->upper_framers, GType, i)),
                            i + 1 == self->upper_framers->len ? "\n" : "");
  /* Framing by ALPN only when there is, sorted so that equal ones compare equal */
  if (self->alpn_framing != NULL)
    {
      g_autofree gpointer *ids = g_hash_table_get_keys_as_array (self->alpn_framing, NULL);
      guint n = g_hash_table_size (self->alpn_framing);

      qsort (ids, n, sizeof (gpointer), compare_strings);
      for (guint i = 0; i < n; i++)
        {
          GType type = (GType) GPOINTER_TO_SIZE (g_hash_table_lookup (self->alpn_framing, ids[i]));

          g_string_append_printf (string, "%s%s:%s%s", i == 0 ? "alpn-framing=" : ",", (char *) ids[i],
                                  type == G_TYPE_NONE ? "stream" : g_type_name (type),
                                  i + 1 == n ? "\n" : "");
        }
    }
  g_string_append_printf (string, "attempt-delay=%u\n", self->attempt_delay);
  g_string_append_printf (string, "conn-timeout=%u\n", self->conn_timeout);
  g_string_append_printf (string, "send-queue-limit=%" G_GSIZE_FORMAT "\n", self->send_queue_limit);
  g_string_append_printf (string, "recv-msg-max-len=%" G_GSIZE_FORMAT, self->recv_msg_max_len);

  /* Connection properties only when set, so that older texts stay valid */
  _post_configuration_append_connection_properties (self, string);

  if (self->verify != NULL)
    g_string_append_printf (string, "\ntls.verify-func=%p", (gpointer) self->verify);
  if (!self->enable_proxy)
    g_string_append (string, "\nenable-proxy=false");
  else if (self->proxy_resolver != NULL)
    g_string_append_printf (string, "\nproxy-resolver=%s@%p",
                            G_OBJECT_TYPE_NAME (self->proxy_resolver), (gpointer) self->proxy_resolver);
  if (self->enable_proxy && self->proxy_loopback)
    g_string_append (string, "\nproxy-loopback=true");

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

