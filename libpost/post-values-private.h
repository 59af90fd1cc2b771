/* post-values-private.h: internals of the value types (local, remote, configuration, message, path, framing)
 *
 * Layer "values" of docs/architecture.md: it may include only the headers of its
 * own layer and the layers below (tools/include-graph.py --check).
 * Nothing here is installed or exported.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "post-base-private.h"
#define POST_INSIDE
#include "post-message.h"
#include "post-path.h"
#include "post-local.h"
#include "post-remote.h"
#include "post-configuration.h"
#include "post-framer.h"
#include "post-length-prefix-framer.h"
#include "post-http-framer.h"
#include "post-path-info.h"
#undef POST_INSIDE

G_BEGIN_DECLS

/* ---- PostLocal ---------------------------------------------------------- */
/* Makes the local immutable: its setters then fail with POST_ERROR_IMMUTABLE. */
void            _post_local_freeze                (PostLocal         *self);
/* The canonical text (post_local_to_string()) kept since freezing; NULL
 * while the local can still change. */
const char     *_post_local_get_canonical         (PostLocal         *self);

/* ---- PostRemote / PostConfiguration: cached canonical texts ------------ */
/* post_remote_to_string() without the copy. */
const char     *_post_remote_get_canonical        (PostRemote        *self);
/* The one address full resolution of @self gives without any lookup (an
 * ADDRESS remote, or a URI whose host is an IP literal), or NULL. */
GSocketAddress *_post_remote_get_literal_address  (PostRemote        *self);
/* The application scheme of a URI-level remote (`https`), or NULL. */
const char     *_post_remote_get_scheme           (PostRemote        *self);
/* Its candidate stacks, in order (NULL without a scheme). */
char          **_post_remote_dup_scheme_stacks    (PostRemote        *self);
/* For the attempt report: how an application scheme led to @leaf
 * ("https://example.com:443 gives quic with ALPN h3"), or NULL. */
char           *_post_remote_describe_scheme_step (PostRemote        *self);
/* The ALPN ids the application scheme of @self (or of the remote it was
 * resolved from) implies for @stack, NULL if none; @step gets the
 * report's step for @stack ("https://example.com:443 gives tls with ALPN
 * h2, http/1.1"), or NULL when no scheme led to @self. */
const char * const *_post_remote_get_scheme_alpn  (PostRemote        *self,
                                                   const char        *stack,
                                                   char             **step);
/* post_configuration_to_string() kept since freezing, and its g_str_hash();
 * NULL while the configuration can still change. */
const char     *_post_configuration_get_canonical (PostConfiguration *self,
                                                   guint             *hash);
/* (transfer full) The frozen default configuration shared by everything
 * given none (post_configuration_new() frozen: equal to it by value). */
PostConfiguration *_post_configuration_dup_default (void);
/* Whether byte streams use libpost's own framing, with its control frames:
 * PostLengthPrefixFramer alone (stream mode aside). */
gboolean        _post_configuration_has_own_framing (PostConfiguration *self);
/* Framing chosen by the negotiated ALPN id (for PostHttpClient): a carrier
 * whose transport negotiated @alpn ("" for none, as on tcp) frames with
 * @framer_type in auto framing, or in stream framing for G_TYPE_NONE,
 * whatever the configuration's own framing.  With any entry, the ALPN ids
 * an application scheme implies for a candidate are narrowed to those with
 * one (https: tls offers http/1.1 alone when h2 has none). */
void            _post_configuration_set_alpn_framing (PostConfiguration *self,
                                                      const char        *alpn,
                                                      GType              framer_type);
/* (transfer full) (nullable) The frozen configuration a transport that
 * negotiated @alpn (nullable: none) frames with, or NULL when @self has no
 * entry for it (its own framing applies). */
PostConfiguration *_post_configuration_for_alpn    (PostConfiguration *self,
                                                      const char        *alpn);
/* (transfer full) (nullable) Those of @ids that have an entry, or NULL
 * when @self has no entries or none of @ids has one. */
char          **_post_configuration_filter_alpn     (PostConfiguration *self,
                                                      const char * const *ids);

/* ---- Endpoint URIs (post-endpoint.c, for post-remote.c and post-local.c) */
/* Splits `scheme://host:port` or a bare `host:port` / `[v6%scope]:port`.
 * @for_local allows an empty or `*` host (any address, returned as NULL)
 * and a missing port (returned as 0); otherwise both are errors.  The
 * scheme, if any, must name a known stack family; it is returned in
 * @stack (NULL without a scheme).  Without @for_local it may also be an
 * application scheme (_post_scheme_lookup()): then @stack is NULL, the
 * port defaults to the scheme's and a path, query or fragment is allowed.
 * Errors are POST_ERROR_INVALID_ARGUMENT and quote @uri. */
gboolean        _post_endpoint_parse_uri          (const char        *uri,
                                                   gboolean           for_local,
                                                   char             **stack,
                                                   char             **host,
                                                   guint16           *port,
                                                   GError           **error);
/* Parses an IP literal, IPv6 with an optional `%scope` (an interface name
 * or number).  Returns NULL if @literal is no IP literal; sets @error only
 * when it is one with an unknown scope. */
GInetAddress   *_post_inet_address_parse          (const char        *literal,
                                                   guint32           *scope_id,
                                                   GError           **error);
/* g_inet_address_to_string(), without inet_ntop()'s printf for IPv4. */
char           *_post_inet_address_to_string      (GInetAddress      *address);
/* `a.b.c.d:port` or `[v6%scope]:port` (the scope by interface name when
 * the host has it); without the port and brackets when @with_port is FALSE. */
char           *_post_inet_socket_address_to_string (GInetSocketAddress *address,
                                                     gboolean            with_port);
/* Whether @scheme (lower case) names a stack family libpost knows: tcp,
 * tls, udp, dtls, sctp, quic. */
gboolean        _post_endpoint_is_known_scheme    (const char        *scheme);
/* ---- Application schemes (post-scheme.c) -------------------------------- */
/* A well-known URI scheme that names an application protocol rather than
 * a stack: a remote at URI level with it (`https://example.com`) resolves
 * first into one remote per candidate, `STACK://host:port` with the ALPN
 * ids the scheme implies for that stack (post_remote_get_alpn()); the port
 * defaults to the scheme's, and a path or query is allowed and kept in the
 * URI (the application's, not the connection's). */
typedef struct {
  const char        *stack;   /* NULL ends a list */
  const char * const *alpn;   /* (nullable) NULL-terminated */
} PostSchemeCandidate;

typedef struct {
  const char                *name;        /* lower case */
  guint16                    port;
  const PostSchemeCandidate *candidates;  /* in the order to race them */
} PostScheme;

/* The scheme called @name (any case), or NULL. */
const PostScheme *_post_scheme_lookup             (const char        *name);
/* "https, http, ..." for messages. */
char           *_post_scheme_list                 (void);

/* NULL if @host is an acceptable host (an IP literal, IPv6 with an
 * optional `%scope`, or a name of letters, digits, `-`, `_`, `.` and UTF-8
 * beyond ASCII), or else (transfer full) why not. */
char           *_post_endpoint_check_host         (const char        *host);

/* ---- PostMessage -------------------------------------------------------- */
/* A message received from the peer.  @content is the message (or, for
 * partial delivery, the latest part); @complete says whether the message
 * has ended. */
PostMessage    *_post_message_new_received        (GBytes            *content,
                                                   gboolean           complete,
                                                   guint64            sequence,
                                                   GSocketAddress    *remote_address);
/* The same, reusing *@spare (nullable) if it holds a message that
 * _post_message_release_received() kept (*@spare is then %NULL). */
PostMessage    *_post_message_new_received_reusing (PostMessage     **spare,
                                                   GBytes            *content,
                                                   gboolean           complete,
                                                   guint64            sequence,
                                                   GSocketAddress    *remote_address);
/* Drops the caller's reference to the received message @self (nullable);
 * when it was the last one and nothing observes the message (no handler,
 * weak reference or data attached), the message is reset and kept in
 * *@spare, if empty, for _post_message_new_received_reusing(). */
void            _post_message_release_received    (PostMessage      **spare,
                                                   PostMessage       *self);
void            _post_message_set_received_part   (PostMessage       *self,
                                                   GBytes            *part,
                                                   gboolean           complete);
/* Called when the message is queued on a carrier: it becomes immutable. */
gboolean        _post_message_mark_queued         (PostMessage       *self,
                                                   guint64            sequence,
                                                   GError           **error);
/* ... and the send failed at once: it was never queued. */
void            _post_message_unmark_queued       (PostMessage       *self);
void            _post_message_set_received_metadata (PostMessage     *self,
                                                     GVariant        *metadata);
gint64          _post_message_get_deadline        (PostMessage       *self);
/* Record the event on the message and emit its signal. */
void            _post_message_emit_sent           (PostMessage       *self);
void            _post_message_set_sent_quietly    (PostMessage       *self);
void            _post_message_emit_acked          (PostMessage       *self);
void            _post_message_emit_expired        (PostMessage       *self);
gboolean        _post_message_emit_send_error     (PostMessage       *self,
                                                   const GError      *error);
/* Whether anyone listens for the acked event (so it is worth tracking). */
gboolean        _post_message_wants_acked         (PostMessage       *self);
gboolean        _post_message_check_antecedents   (PostMessage       *self,
                                                   GError           **error);
gboolean        _post_message_antecedents_sent    (PostMessage       *self,
                                                   gboolean          *failed);

/* ---- PostFramer (post-framer.c, post-framer-stack.c) ------------------- */
gboolean        _post_framer_take_replacement     (PostFramer           *self,
                                                   PostFramerDirection   direction,
                                                   PostFramer          **replacement);
GBytes         *_post_framer_take_raw             (PostFramer           *self);
void            _post_framer_start                (PostFramer           *self,
                                                   gboolean              initiator);
gboolean        _post_framer_transforms_payload   (PostFramer           *self);
void            _post_framer_set_transforms       (PostFramer           *self,
                                                   gboolean              transforms);
void            _post_framer_transform_payload    (PostFramer           *self,
                                                   guint8               *payload,
                                                   gsize                 length);
GVariant       *_post_framer_merge_metadata       (GVariant          *base,
                                                   GVariant          *more);
/* A framer made of @n_types framers, types[0] nearest the transport
 * (transfer full). */
PostFramer     *_post_framer_stack_new            (const GType       *types,
                                                   guint              n_types);

/* Control frames of libpost's length-prefix framing (post-length-prefix-framer.c,
 * docs/framing.md "Control frames") */
#define POST_LENGTH_PREFIX_CONTROL_HEADER   8
#define POST_LENGTH_PREFIX_CONTROL_MAX_BODY 0xffff
gboolean        _post_length_prefix_framer_take_control (PostFramer    *framer,
                                                         guint8        *type,
                                                         guint8        *flags,
                                                         GBytes       **body);
void            _post_length_prefix_encode_control      (GByteArray    *out,
                                                         guint8         type,
                                                         guint8         flags,
                                                         const guint8  *body,
                                                         gsize          body_length);

/* ---- The settings of a configuration (post-configuration.c) ---------------
 * One table declares each setting once; the GParamSpecs, the policy's keys
 * (policy/post-policy-rule.c) and `post-policy keys` are made from it. */
typedef enum {
  POST_SETTING_PREFERENCE,      /* a PostPreference */
  POST_SETTING_PREFERENCE_SET,  /* NAME:LEVEL entries (a GStrv) */
  POST_SETTING_STRV,            /* names, in order (a GStrv) */
  POST_SETTING_ENUM,            /* a value of the enum @gtype */
  POST_SETTING_UINT,
  POST_SETTING_UINT64,
  POST_SETTING_BOOLEAN,
  POST_SETTING_GTYPE,           /* a subtype of @gtype */
  POST_SETTING_OBJECT,          /* an instance of @gtype */
} PostSettingType;

/* What a policy rule's key of the setting's name sets (NONE: no such key) */
typedef enum {
  POST_SETTING_KEY_NONE,
  POST_SETTING_KEY_SELECTION,           /* a PostSelectionProperty */
  POST_SETTING_KEY_TEMPORARY,
  POST_SETTING_KEY_SOFT_ERROR,
  POST_SETTING_KEY_DIRECTION,
  POST_SETTING_KEY_KEEP_ALIVE_TIMEOUT,
  POST_SETTING_KEY_STACKS,
  POST_SETTING_KEY_INTERFACE,
  POST_SETTING_KEY_PVD,
} PostSettingKey;

typedef struct {
  const char     *name;           /* the property's and the policy key's */
  PostSettingType type;
  GType         (*gtype) (void);  /* ENUM, GTYPE, OBJECT, PREFERENCE */
  gint64          min, max;       /* UINT, UINT64 */
  gint64          default_value;  /* PREFERENCE, ENUM, UINT, UINT64, BOOLEAN */
  PostSettingKey  key;
  const char     *what;           /* (nullable) what a bad policy value is not */
  const char     *doc;            /* one line (the GParamSpec's blurb) */
  gboolean        read_only;
  const char     *unit;           /* (nullable) of UINT and UINT64 values */
} PostSetting;

/* The table, in property order (*n_settings entries), and one by name */
const PostSetting *_post_configuration_list_settings (guint      *n_settings);
const PostSetting *_post_configuration_find_setting  (const char *name);
/* The setting's GParamSpec, as PostConfiguration installs it */
GParamSpec        *_post_setting_param_spec          (const PostSetting *setting);
/* Its type and default as `post-policy keys` prints them */
char              *_post_setting_describe_type       (const PostSetting *setting);
char              *_post_setting_describe_default    (const PostSetting *setting);

/* ---- PostPath ----------------------------------------------------------- */
PostPath       *_post_path_new_full               (GSocketAddress    *local_address,
                                                   GSocketAddress    *remote_address,
                                                   const char        *interface,
                                                   const char        *stack_name);
/* "[v6]:port" or "v4:port" ("(none)" for NULL), as error messages and
 * descriptions quote addresses (post-path.c) */
char           *_post_socket_address_to_string   (GSocketAddress    *address);

/* ---- The option check: a seam for the stacks layer -------------------------
 * post_configuration_set_option() checks a value against what the loaded
 * stacks declare (a wrong type, a value out of range, an unknown option of
 * a family they know fail there).  The values layer does not know the
 * stacks: the stacks layer installs the check when libpost is loaded
 * (post-registry.c: post_registry_check_option() on the default registry),
 * with that function's contract; @normalized (transfer full) is the value
 * to store.  Without one, values are stored as given. */
typedef gboolean (*PostOptionCheckFunc)          (const char        *key,
                                                  GVariant          *value,
                                                  GVariant         **normalized,
                                                  GError           **error);
void            _post_configuration_set_option_check_func (PostOptionCheckFunc func);

/* ---- PostConfiguration internals (post-configuration*.c only) -------------
 * A configuration is implemented by post-configuration.c (the table of
 * settings, nicks, the object, the selection properties, the canonical
 * form), post-configuration-transport.c (stacks, framing, racing, timeouts,
 * limits, protocol-specific options, the connection properties that are no
 * stack capability) and post-configuration-security.c (trust, pins, ALPN,
 * TLS versions, cleartext, verification).  Only those files define
 * POST_CONFIGURATION_INTERNALS and see what they share. */
#ifdef POST_CONFIGURATION_INTERNALS
struct _PostConfiguration
{
  GObject parent_instance;

  PostPreference preferences[POST_SELECTION_LAST];
  guint32 explicit_preferences;  /* bit i: preferences[i] was set, not a default */
  GStrv stacks;                 /* (owned) (nullable): NULL for any */
  PostFramingMode framing;
  GType framer_type;            /* the framer nearest the transport */
  GArray *upper_framers;        /* (owned) (nullable) (element-type GType): those above it */
  gboolean framers_chosen;      /* framer_type was set, not the default */
  GHashTable *alpn_framing;     /* (owned) (nullable) (element-type utf8 GType): _post_configuration_set_alpn_framing() */
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
  gboolean proxy_loopback;     /* ask the default resolver about loopback literals too */
};

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
  PROP_PROXY_LOOPBACK,
  N_PROPS
};

/* The verification callback, shared (refcounted) between copies. */
typedef struct VerifyClosure {
  gint           ref_count;
  PostVerifyFunc func;                /* (nullable) one of func and accept */
  PostAcceptCertificateFunc accept;   /* (nullable) */
  gpointer       user_data;
  GDestroyNotify destroy;
} VerifyClosure;

/* ---- what post-configuration.c's files share ---- */
/* post-configuration.c */
gboolean        _post_configuration_check_mutable (PostConfiguration *self,
                                                   GError           **error);
void            _post_configuration_verify_closure_unref (VerifyClosure *closure);
/* post-configuration-transport.c */
void            _post_configuration_append_connection_properties (PostConfiguration *self,
                                                                  GString           *string);
void            _post_configuration_copy_preference_set (GHashTable *to,
                                                         GHashTable *from);
char          **_post_configuration_preference_set_to_strv (GHashTable *set);
gboolean        _post_configuration_set_preference_set_from_strv (PostConfiguration  *self,
                                                                  guint               prop_id,
                                                                  const char * const *entries,
                                                                  GError            **error);
extern GParamSpec *_post_configuration_properties[N_PROPS];
/* indexed by PostPreference */
extern const char * const _post_configuration_preference_nicks[POST_PREFERENCE_PROHIBIT + 1];
#endif /* POST_CONFIGURATION_INTERNALS */

G_END_DECLS
