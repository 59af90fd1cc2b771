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
/* post_configuration_to_string() kept since freezing, and its g_str_hash();
 * NULL while the configuration can still change. */
const char     *_post_configuration_get_canonical (PostConfiguration *self,
                                                   guint             *hash);
/* (transfer full) The frozen default configuration shared by everything
 * given none (post_configuration_new() frozen: equal to it by value). */
PostConfiguration *_post_configuration_dup_default (void);

/* ---- Endpoint URIs (post-endpoint.c, for post-remote.c and post-local.c) */
/* Splits `scheme://host:port` or a bare `host:port` / `[v6%scope]:port`.
 * @for_local allows an empty or `*` host (any address, returned as NULL)
 * and a missing port (returned as 0); otherwise both are errors.  The
 * scheme, if any, must name a known stack family; it is returned in
 * @stack (NULL without a scheme).  Errors are POST_ERROR_INVALID_ARGUMENT
 * and quote @uri. */
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
void            _post_message_set_received_part   (PostMessage       *self,
                                                   GBytes            *part,
                                                   gboolean           complete);
/* Called when the message is queued on a carrier: it becomes immutable. */
gboolean        _post_message_mark_queued         (PostMessage       *self,
                                                   guint64            sequence,
                                                   GError           **error);
/* ... and the send failed at once: it was never queued. */
void            _post_message_unmark_queued       (PostMessage       *self);
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

G_END_DECLS
