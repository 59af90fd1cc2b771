/* post-stack.c: PostStack, a protocol stack a plugin provides
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#include "config.h"

#include "post-stacks-private.h"

#include <string.h>

/**
 * PostStack:
 *
 * A protocol stack a plugin provides, such as `tcp` or `tls`: its name,
 * what it can do ([flags@Post.StackCapabilities]), a [enum@Post.Rank]
 * that breaks ties between stacks that fit a configuration equally, and
 * the [class@Post.Psi] subclass that implements it.
 *
 * Plugins create stacks with [ctor@Post.Stack.new] and register them with
 * [method@Post.Registry.add_stack]. The registry records the plugin's
 * name and applies `POST_STACK_RANK` overrides to the rank.
 */
struct _PostStack
{
  GObject parent_instance;

  char *name;                        /* (owned) */
  char *description;                 /* (owned) (nullable) */
  GType psi_type;
  PostStackCapabilities capabilities;
  guint rank;
  char *plugin_name;                 /* (owned) (nullable) */
  gsize max_message_size;            /* 0 for no limit */
  guint16 default_port;
  gboolean proxy_support;
  GPtrArray *options;                /* (owned) (element-type PostStackOption): borrowed, static */
};

G_DEFINE_FINAL_TYPE (PostStack, post_stack, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_NAME,
  PROP_DESCRIPTION,
  PROP_PSI_TYPE,
  PROP_CAPABILITIES,
  PROP_RANK,
  PROP_PLUGIN_NAME,
  PROP_MAX_MESSAGE_SIZE,
  PROP_DEFAULT_PORT,
  PROP_PROXY_SUPPORT,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void
post_stack_finalize (GObject *object)
{
  PostStack *self = POST_STACK (object);

  g_clear_pointer (&self->name, g_free);
  g_clear_pointer (&self->description, g_free);
  g_clear_pointer (&self->plugin_name, g_free);
  g_clear_pointer (&self->options, g_ptr_array_unref);

  G_OBJECT_CLASS (post_stack_parent_class)->finalize (object);
}

static void
post_stack_get_property (GObject    *object,
                         guint       prop_id,
                         GValue     *value,
                         GParamSpec *pspec)
{
  PostStack *self = POST_STACK (object);

  switch (prop_id)
    {
    case PROP_NAME:
      g_value_set_string (value, self->name);
      break;
    case PROP_DESCRIPTION:
      g_value_set_string (value, self->description);
      break;
    case PROP_PSI_TYPE:
      g_value_set_gtype (value, self->psi_type);
      break;
    case PROP_CAPABILITIES:
      g_value_set_flags (value, self->capabilities);
      break;
    case PROP_RANK:
      g_value_set_uint (value, self->rank);
      break;
    case PROP_PLUGIN_NAME:
      g_value_set_string (value, self->plugin_name);
      break;
    case PROP_MAX_MESSAGE_SIZE:
      g_value_set_uint64 (value, self->max_message_size);
      break;
    case PROP_DEFAULT_PORT:
      g_value_set_uint (value, self->default_port);
      break;
    case PROP_PROXY_SUPPORT:
      g_value_set_boolean (value, self->proxy_support);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
post_stack_set_property (GObject      *object,
                         guint         prop_id,
                         const GValue *value,
                         GParamSpec   *pspec)
{
  PostStack *self = POST_STACK (object);

  switch (prop_id)
    {
    case PROP_NAME:
      self->name = g_value_dup_string (value);
      break;
    case PROP_DESCRIPTION:
      self->description = g_value_dup_string (value);
      break;
    case PROP_PSI_TYPE:
      self->psi_type = g_value_get_gtype (value);
      break;
    case PROP_CAPABILITIES:
      self->capabilities = g_value_get_flags (value);
      break;
    case PROP_RANK:
      self->rank = g_value_get_uint (value);
      break;
    case PROP_MAX_MESSAGE_SIZE:
      post_stack_set_max_message_size (self, g_value_get_uint64 (value));
      break;
    case PROP_DEFAULT_PORT:
      post_stack_set_default_port (self, (guint16) g_value_get_uint (value));
      break;
    case PROP_PROXY_SUPPORT:
      post_stack_set_proxy_support (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
post_stack_class_init (PostStackClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->finalize = post_stack_finalize;
  object_class->get_property = post_stack_get_property;
  object_class->set_property = post_stack_set_property;

  /**
   * PostStack:name: (getter get_name)
   *
   * The stack's name, which is also its URI scheme: `tcp`, `tls`, `udp`…
   */
  properties[PROP_NAME] =
    g_param_spec_string ("name", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * PostStack:description: (getter get_description)
   *
   * One line saying what the stack is.
   */
  properties[PROP_DESCRIPTION] =
    g_param_spec_string ("description", NULL, NULL,
                         NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * PostStack:psi-type: (getter get_psi_type)
   *
   * The [class@Post.Psi] subclass that implements the stack.
   */
  properties[PROP_PSI_TYPE] =
    g_param_spec_gtype ("psi-type", NULL, NULL,
                        POST_TYPE_PSI,
                        G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * PostStack:capabilities: (getter get_capabilities)
   *
   * What the stack itself provides.
   */
  properties[PROP_CAPABILITIES] =
    g_param_spec_flags ("capabilities", NULL, NULL,
                        POST_TYPE_STACK_CAPABILITIES, POST_STACK_CAP_NONE,
                        G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  /**
   * PostStack:rank: (getter get_rank)
   *
   * Breaks ties between stacks that fit a configuration equally; see
   * [enum@Post.Rank]. `POST_STACK_RANK` in the environment overrides it
   * when the stack is registered.
   */
  properties[PROP_RANK] =
    g_param_spec_uint ("rank", NULL, NULL,
                       0, G_MAXUINT, POST_RANK_NONE,
                       G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_EXPLICIT_NOTIFY |
                       G_PARAM_STATIC_STRINGS);

  /**
   * PostStack:plugin-name: (getter get_plugin_name)
   *
   * The name of the plugin that registered the stack, if any.
   */
  properties[PROP_PLUGIN_NAME] =
    g_param_spec_string ("plugin-name", NULL, NULL,
                         NULL,
                         G_PARAM_READABLE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * PostStack:max-message-size: (getter get_max_message_size) (setter set_max_message_size)
   *
   * The largest message the stack carries, in bytes; 0 for no limit.
   */
  properties[PROP_MAX_MESSAGE_SIZE] =
    g_param_spec_uint64 ("max-message-size", NULL, NULL,
                         0, G_MAXSIZE, 0,
                         G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * PostStack:default-port: (getter get_default_port) (setter set_default_port)
   *
   * The port a remote without one uses with this stack; 0 for none.
   */
  properties[PROP_DEFAULT_PORT] =
    g_param_spec_uint ("default-port", NULL, NULL,
                       0, G_MAXUINT16, 0,
                       G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  /**
   * PostStack:proxy-support: (getter get_proxy_support) (setter set_proxy_support)
   *
   * Whether the stack's carriers can go through a proxy (SOCKS, HTTP
   * CONNECT): its instances honour post_psi_set_proxy().  Establishment
   * then asks the configuration's #GProxyResolver about the remote and
   * races a branch per proxy it names (see docs/architecture.md,
   * "Proxies").  A stack without it is never proxied: when the resolver
   * lists no direct connection, its candidates are left out.
   */
  properties[PROP_PROXY_SUPPORT] =
    g_param_spec_boolean ("proxy-support", NULL, NULL,
                          FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
post_stack_init (PostStack *self)
{
}

/**
 * post_stack_new:
 * @name: the stack's name, also its URI scheme, such as `tcp`
 * @description: (nullable): one line saying what it is
 * @psi_type: the [class@Post.Psi] subclass implementing it
 * @capabilities: what the stack provides by itself
 * @rank: a [enum@Post.Rank] or any value between
 *
 * Creates a stack description for a plugin to register.
 *
 * Returns: (transfer full): a new stack
 */
PostStack *
post_stack_new (const char            *name,
                const char            *description,
                GType                  psi_type,
                PostStackCapabilities  capabilities,
                guint                  rank)
{
  g_return_val_if_fail (name != NULL && *name != '\0', NULL);
  g_return_val_if_fail (g_type_is_a (psi_type, POST_TYPE_PSI), NULL);

  return g_object_new (POST_TYPE_STACK,
                       "name", name,
                       "description", description,
                       "psi-type", psi_type,
                       "capabilities", capabilities,
                       "rank", rank,
                       NULL);
}

/**
 * post_stack_get_name:
 * @self: a stack
 *
 * Gets the stack's name, such as `tcp` or `quic`: the name URI schemes,
 * post_configuration_set_stacks(), policy files and `POST_STACK_RANK` use.
 * The string belongs to @self.
 *
 * Returns: the stack's name
 */
const char *
post_stack_get_name (PostStack *self)
{
  g_return_val_if_fail (POST_IS_STACK (self), NULL);
  return self->name;
}

/**
 * post_stack_get_description:
 * @self: a stack
 *
 * Gets the one-line description the plugin gave the stack in
 * [ctor@Post.Stack.new]. The string belongs to @self.
 *
 * Returns: (nullable): one line saying what the stack is
 */
const char *
post_stack_get_description (PostStack *self)
{
  g_return_val_if_fail (POST_IS_STACK (self), NULL);
  return self->description;
}

/**
 * post_stack_get_capabilities:
 * @self: a stack
 *
 * Gets the [flags@Post.StackCapabilities] the stack declares: what it
 * provides itself, such as reliability, message boundaries or security.
 * Selection compares them with the configuration's selection properties,
 * and the contract suite (post-stack-check) holds the stack to each of
 * them.
 *
 * Returns: what the stack provides by itself; a carrier adds what the
 *   core provides on top (see [method@Post.Carrier.get_capabilities])
 */
PostStackCapabilities
post_stack_get_capabilities (PostStack *self)
{
  g_return_val_if_fail (POST_IS_STACK (self), POST_STACK_CAP_NONE);
  return self->capabilities;
}

/**
 * post_stack_has_capabilities:
 * @self: a stack
 * @capabilities: the capabilities to check
 *
 * Tells whether the stack declares all of @capabilities (see
 * [method@Post.Stack.get_capabilities]).
 *
 * Returns: %TRUE if the stack provides every one of @capabilities
 */
gboolean
post_stack_has_capabilities (PostStack             *self,
                             PostStackCapabilities  capabilities)
{
  g_return_val_if_fail (POST_IS_STACK (self), FALSE);
  return (self->capabilities & capabilities) == capabilities;
}

/**
 * post_stack_get_rank:
 * @self: a stack
 *
 * Gets the stack's rank, which breaks ties between stacks that fit a
 * configuration equally (see [enum@Post.Rank]); a `POST_STACK_RANK` entry
 * in the environment replaces the plugin's rank when the stack is
 * registered.
 *
 * Returns: the rank, after any `POST_STACK_RANK` override
 */
guint
post_stack_get_rank (PostStack *self)
{
  g_return_val_if_fail (POST_IS_STACK (self), POST_RANK_NONE);
  return self->rank;
}

void
_post_stack_set_rank (PostStack *self,
                      guint      rank)
{
  g_return_if_fail (POST_IS_STACK (self));

  if (self->rank == rank)
    return;

  self->rank = rank;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_RANK]);
}

/**
 * post_stack_get_psi_type:
 * @self: a stack
 *
 * Gets the [class@Post.Psi] subclass whose instances carry this stack's
 * transports; [method@Post.Stack.create_psi] makes them.
 *
 * Returns: the [class@Post.Psi] subclass implementing the stack
 */
GType
post_stack_get_psi_type (PostStack *self)
{
  g_return_val_if_fail (POST_IS_STACK (self), G_TYPE_INVALID);
  return self->psi_type;
}

/**
 * post_stack_get_plugin_name:
 * @self: a stack
 *
 * Gets the name of the plugin that registered the stack (its
 * [struct@Post.PluginDescriptor]'s name), or %NULL for a stack added by
 * the application. The string belongs to @self.
 *
 * Returns: (nullable): the name of the plugin that registered the stack
 */
const char *
post_stack_get_plugin_name (PostStack *self)
{
  g_return_val_if_fail (POST_IS_STACK (self), NULL);
  return self->plugin_name;
}

void
_post_stack_set_plugin_name (PostStack  *self,
                             const char *plugin_name)
{
  g_return_if_fail (POST_IS_STACK (self));

  if (g_strcmp0 (self->plugin_name, plugin_name) == 0)
    return;

  g_free (self->plugin_name);
  self->plugin_name = g_strdup (plugin_name);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PLUGIN_NAME]);
}

/**
 * post_stack_get_max_message_size:
 * @self: a stack
 *
 * Gets the static limit on the size of one message that the stack carries,
 * such as a datagram stack's largest datagram; an instance may know a
 * tighter one (post_psi_get_max_message_size()).
 *
 * Returns: the largest message the stack carries, 0 for no limit
 */
gsize
post_stack_get_max_message_size (PostStack *self)
{
  g_return_val_if_fail (POST_IS_STACK (self), 0);
  return self->max_message_size;
}

/**
 * post_stack_set_max_message_size:
 * @self: a stack
 * @size: the largest message, 0 for no limit
 *
 * For plugins: sets the largest message the stack carries.
 */
void
post_stack_set_max_message_size (PostStack *self,
                                 gsize      size)
{
  g_return_if_fail (POST_IS_STACK (self));

  if (self->max_message_size == size)
    return;

  self->max_message_size = size;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_MAX_MESSAGE_SIZE]);
}

/**
 * post_stack_get_default_port:
 * @self: a stack
 *
 * Gets the port that a remote without one uses with this stack (such as
 * 443 for tls), as the plugin set it with
 * [method@Post.Stack.set_default_port].
 *
 * Returns: the stack's default port, 0 for none
 */
guint16
post_stack_get_default_port (PostStack *self)
{
  g_return_val_if_fail (POST_IS_STACK (self), 0);
  return self->default_port;
}

/**
 * post_stack_set_default_port:
 * @self: a stack
 * @port: the default port, 0 for none
 *
 * For plugins: sets the stack's default port.
 */
void
post_stack_set_default_port (PostStack *self,
                             guint16    port)
{
  g_return_if_fail (POST_IS_STACK (self));

  if (self->default_port == port)
    return;

  self->default_port = port;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_DEFAULT_PORT]);
}

/**
 * post_stack_get_proxy_support: (get-property proxy-support)
 * @self: a stack
 *
 * Tells whether the stack's carriers can go through a proxy (SOCKS, HTTP
 * CONNECT), as the plugin declared with
 * [method@Post.Stack.set_proxy_support]: establishment then races a branch
 * per proxy the configuration's resolver names. A stack without it is
 * never proxied.
 *
 * Returns: whether the stack's carriers can go through a proxy
 */
gboolean
post_stack_get_proxy_support (PostStack *self)
{
  g_return_val_if_fail (POST_IS_STACK (self), FALSE);
  return self->proxy_support;
}

/**
 * post_stack_set_proxy_support: (set-property proxy-support)
 * @self: a stack
 * @supported: whether the stack's instances honour post_psi_set_proxy()
 *
 * For plugins: declares that the stack's carriers can go through a proxy.
 */
void
post_stack_set_proxy_support (PostStack *self,
                              gboolean   supported)
{
  g_return_if_fail (POST_IS_STACK (self));

  supported = !!supported;
  if (self->proxy_support == supported)
    return;

  self->proxy_support = supported;
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_PROXY_SUPPORT]);
}

/**
 * post_stack_create_psi:
 * @self: a stack
 * @configuration: (nullable): the configuration the instance follows;
 *   %NULL for the defaults
 *
 * Creates an unconnected instance of the stack. It belongs to the main
 * context that is thread-default now.
 *
 * Returns: (transfer full): a new protocol stack instance
 */
PostPsi *
post_stack_create_psi (PostStack         *self,
                       PostConfiguration *configuration)
{
  g_autoptr(PostConfiguration) defaults = NULL;

  g_return_val_if_fail (POST_IS_STACK (self), NULL);
  g_return_val_if_fail (configuration == NULL || POST_IS_CONFIGURATION (configuration), NULL);

  if (configuration == NULL)
    {
      defaults = _post_configuration_dup_default ();
      configuration = defaults;
    }

  return g_object_new (self->psi_type,
                       "stack", self,
                       "configuration", configuration,
                       NULL);
}

/* ---- declared options ----------------------------------------------------- */

/**
 * post_stack_add_options:
 * @self: a stack
 * @options: (array length=n_options): the options the stack reads; the
 *   array and its strings must outlive @self (a static table)
 * @n_options: the number of @options
 *
 * Declares the protocol-specific options the stack reads: their type,
 * range and documentation. Once a stack declaring options of a family
 * (the part of the key before the first `.`) is registered, or a stack
 * is named like the family, [method@Post.Configuration.set_option] and
 * the policy loader reject an option of that family that no stack
 * declares, or a value of the wrong type or out of range, with an error
 * naming the option, instead of the stack ignoring it at connect time.
 * Several stacks may declare the same key (`tls.*` for tls, dtls and
 * quic); their declarations must agree.
 */
void
post_stack_add_options (PostStack             *self,
                        const PostStackOption *options,
                        guint                  n_options)
{
  g_return_if_fail (POST_IS_STACK (self));
  g_return_if_fail (options != NULL || n_options == 0);

  if (self->options == NULL)
    self->options = g_ptr_array_new ();
  for (guint i = 0; i < n_options; i++)
    {
      g_return_if_fail (options[i].key != NULL && strchr (options[i].key, '.') != NULL);
      g_return_if_fail (options[i].type != NULL && options[i].blurb != NULL);
      g_ptr_array_add (self->options, (gpointer) &options[i]);
    }
}

/**
 * post_stack_lookup_option:
 * @self: a stack
 * @key: an option key such as `tcp.user-timeout`
 *
 * Looks up how the stack declares one protocol option: its type, range or
 * choices and default, against which post_registry_check_option() checks
 * the values of configurations and policy files. The option belongs to
 * @self.
 *
 * Returns: (nullable) (transfer none): how @self declares @key, or %NULL
 */
const PostStackOption *
post_stack_lookup_option (PostStack  *self,
                          const char *key)
{
  g_return_val_if_fail (POST_IS_STACK (self), NULL);
  g_return_val_if_fail (key != NULL, NULL);

  for (guint i = 0; self->options != NULL && i < self->options->len; i++)
    {
      const PostStackOption *option = self->options->pdata[i];

      if (strcmp (option->key, key) == 0)
        return option;
    }
  return NULL;
}

/**
 * post_stack_list_options:
 * @self: a stack
 *
 * Lists the protocol options the stack declares with
 * [method@Post.Stack.add_options]: the `FAMILY.OPTION` keys that
 * configurations and policy files may set for it, with their types, ranges
 * and defaults (as `post-policy options` prints them). The caller owns the
 * array; its elements belong to @self.
 *
 * Returns: (transfer container) (element-type PostStackOption): the
 *   options @self declares, in declaration order
 */
GPtrArray *
post_stack_list_options (PostStack *self)
{
  GPtrArray *list = g_ptr_array_new ();

  g_return_val_if_fail (POST_IS_STACK (self), list);

  for (guint i = 0; self->options != NULL && i < self->options->len; i++)
    g_ptr_array_add (list, self->options->pdata[i]);
  return list;
}

static gboolean
is_integer_type (const char *type)
{
  return strlen (type) == 1 && strchr ("ynqiuxt", type[0]) != NULL;
}

/* The value of an integer variant, as a 128-bit-free pair: FALSE for a
 * uint64 beyond G_MAXINT64 (beyond every declared range) */
static gboolean
integer_value (GVariant *value,
               gint64   *out)
{
  switch (g_variant_classify (value))
    {
    case G_VARIANT_CLASS_BYTE: *out = g_variant_get_byte (value); return TRUE;
    case G_VARIANT_CLASS_INT16: *out = g_variant_get_int16 (value); return TRUE;
    case G_VARIANT_CLASS_UINT16: *out = g_variant_get_uint16 (value); return TRUE;
    case G_VARIANT_CLASS_INT32: *out = g_variant_get_int32 (value); return TRUE;
    case G_VARIANT_CLASS_UINT32: *out = g_variant_get_uint32 (value); return TRUE;
    case G_VARIANT_CLASS_INT64: *out = g_variant_get_int64 (value); return TRUE;
    case G_VARIANT_CLASS_UINT64:
      if (g_variant_get_uint64 (value) > (guint64) G_MAXINT64)
        {
          *out = G_MAXINT64;
          return FALSE;
        }
      *out = (gint64) g_variant_get_uint64 (value);
      return TRUE;
    case G_VARIANT_CLASS_BOOLEAN:
    case G_VARIANT_CLASS_HANDLE:
    case G_VARIANT_CLASS_DOUBLE:
    case G_VARIANT_CLASS_STRING:
    case G_VARIANT_CLASS_OBJECT_PATH:
    case G_VARIANT_CLASS_SIGNATURE:
    case G_VARIANT_CLASS_VARIANT:
    case G_VARIANT_CLASS_MAYBE:
    case G_VARIANT_CLASS_ARRAY:
    case G_VARIANT_CLASS_TUPLE:
    case G_VARIANT_CLASS_DICT_ENTRY:
    default:
      return FALSE;
    }
}

static GVariant *
new_integer (char   type,
             gint64 v)
{
  switch (type)
    {
    case 'y': return g_variant_new_byte ((guchar) v);
    case 'n': return g_variant_new_int16 ((gint16) v);
    case 'q': return g_variant_new_uint16 ((guint16) v);
    case 'i': return g_variant_new_int32 ((gint32) v);
    case 'u': return g_variant_new_uint32 ((guint32) v);
    case 'x': return g_variant_new_int64 (v);
    case 't': default: return g_variant_new_uint64 ((guint64) v);
    }
}

static const char *
describe_type (const char *type)
{
  static const struct { const char *type; const char *words; } names[] = {
    { "b", "a boolean (true or false)" }, { "s", "a string" }, { "as", "a string array" },
    { "aay", "an array of byte strings" }, { "s|as", "a string or a string array" },
  };

  if (is_integer_type (type))
    return "an integer";
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (strcmp (names[i].type, type) == 0)
      return names[i].words;
  return type;
}

/**
 * post_stack_option_check:
 * @option: a declared option
 * @value: a value for it (not floating)
 * @normalized: (out) (optional) (transfer full): @value in the declared
 *   type (an integer converted to @option's integer type), or @value itself
 * @error: return location for an error
 *
 * Checks @value against @option's type, range and choices.
 *
 * Returns: %TRUE if @value is valid; %FALSE with
 *   %POST_ERROR_INVALID_ARGUMENT naming the option, what it expects and
 *   what it got
 */
gboolean
post_stack_option_check (const PostStackOption  *option,
                         GVariant               *value,
                         GVariant              **normalized,
                         GError                **error)
{
  g_autofree char *shown = NULL;
  g_auto(GStrv) types = NULL;

  g_return_val_if_fail (option != NULL, FALSE);
  g_return_val_if_fail (value != NULL, FALSE);
  g_return_val_if_fail (error == NULL || *error == NULL, FALSE);

  if (normalized != NULL)
    *normalized = NULL;
  shown = g_variant_print (value, TRUE);

  if (is_integer_type (option->type))
    {
      gint64 v;
      GVariantClass klass = g_variant_classify (value);
      gboolean integer = klass == G_VARIANT_CLASS_BYTE || klass == G_VARIANT_CLASS_INT16
                         || klass == G_VARIANT_CLASS_UINT16 || klass == G_VARIANT_CLASS_INT32
                         || klass == G_VARIANT_CLASS_UINT32 || klass == G_VARIANT_CLASS_INT64
                         || klass == G_VARIANT_CLASS_UINT64;

      if (!integer)
        {
          g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                       "option %s must be an integer from %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT
                       ", not %s", option->key, option->min, option->max, shown);
          return FALSE;
        }
      if (!integer_value (value, &v) || v < option->min || v > option->max)
        {
          g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                       "option %s must be from %" G_GINT64_FORMAT " to %" G_GINT64_FORMAT ", not %s",
                       option->key, option->min, option->max, shown);
          return FALSE;
        }
      if (normalized != NULL)
        *normalized = g_variant_ref_sink (new_integer (option->type[0], v));
      return TRUE;
    }

  types = g_strsplit (option->type, "|", -1);
  for (guint i = 0; types[i] != NULL; i++)
    {
      if (!g_variant_type_string_is_valid (types[i])
          || !g_variant_is_of_type (value, G_VARIANT_TYPE (types[i])))
        continue;
      if (option->choices != NULL && g_variant_is_of_type (value, G_VARIANT_TYPE_STRING)
          && !g_strv_contains (option->choices, g_variant_get_string (value, NULL)))
        {
          g_autofree char *choices = g_strjoinv (", ", (char **) option->choices);

          g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
                       "option %s must be one of %s, not %s", option->key, choices, shown);
          return FALSE;
        }
      if (normalized != NULL)
        *normalized = g_variant_ref (value);
      return TRUE;
    }

  g_set_error (error, POST_ERROR, POST_ERROR_INVALID_ARGUMENT,
               "option %s must be %s (GVariant type %s), not %s of type %s", option->key,
               describe_type (option->type), option->type, shown, g_variant_get_type_string (value));
  return FALSE;
}
