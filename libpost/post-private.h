/* post-private.h: internal interfaces between libpost's own types
 *
 * Nothing here is installed or exported.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#ifndef POST_COMPILATION
# define POST_COMPILATION
#endif
#define POST_INSIDE
#include "post-version.h"
#include "post-enums.h"
#include "post-enum-types.h"
#include "post-error.h"
#include "post-message.h"
#include "post-path.h"
#include "post-local.h"
#include "post-remote.h"
#include "post-configuration.h"
#include "post-reply.h"
#include "post-carrier.h"
#include "post-association.h"
#include "post-framer.h"
#include "post-length-prefix-framer.h"
#include "post-stack.h"
#include "post-psi.h"
#include "post-transient.h"
#include "post-plugin.h"
#include "post-registry.h"
#include "post-path-monitor.h"
#include "post-policy.h"
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

/* ---- Endpoint URIs (post-remote.c, shared with post-local.c) ----------- */
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

/* ---- PostStack ---------------------------------------------------------- */
/* Set by the registry: the plugin that provided the stack, and the rank
 * after the POST_STACK_RANK override. */
void            _post_stack_set_plugin_name       (PostStack         *self,
                                                   const char        *plugin_name);
void            _post_stack_set_rank              (PostStack         *self,
                                                   guint              rank);

/* ---- Plugin loading helpers (post-plugin.c) ------------------------------ */
/* FALSE in setuid/setgid programs: the environment is then ignored. */
gboolean        _post_plugin_environment_is_trusted (void);
/* @configured (POST_PLUGIN_DIR, POST_DATA_DIR, ...) moved to where libpost
 * is installed, if it was relocated from the prefix it was configured for;
 * else a copy of @configured. */
char           *_post_get_install_dir             (const char        *configured);
/* The directories to scan, in order: POST_PLUGIN_PATH, then
 * POST_PLUGIN_SYSTEM_PATH if set (empty: none) or POST_PLUGIN_DIR (moved
 * with the prefix, _post_get_install_dir()). */
char          **_post_plugin_get_search_path      (void);
/* The POST_STACK_RANK=name:rank,... override for @stack_name, if any. */
gboolean        _post_plugin_get_rank_override    (const char        *stack_name,
                                                   guint             *rank);
/* Checks, by reading (never mapping) it, that @filename is an ELF shared
 * object for this machine whose headers and segments lie within the file,
 * so that dlopen() cannot fault on a truncated file. */
gboolean        _post_plugin_validate_elf         (const char        *filename,
                                                   GError           **error);
/* Opens @filename and returns its ABI-checked descriptor (nothing in the
 * plugin is called); POST_ERROR_PLUGIN naming the file on failure. */
const PostPluginDescriptor *_post_plugin_open     (const char        *filename,
                                                   GModule          **module,
                                                   GError           **error);

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

/* ---- PostPath ----------------------------------------------------------- */
PostPath       *_post_path_new_for_psi            (PostPsi           *psi);

/* ---- Selection (the seam for the policy engine) --------------------------
 * Returns the loaded stacks that satisfy @configuration (and @stack_hint,
 * the scheme of the URI, when not NULL), best first.  With none, fails with
 * POST_ERROR_NO_STACK and a message naming the unmet requirement.
 * LISTENER and RESPONDER need the LISTEN capability: rank a sink that has
 * no remote (it listens) with POST_CARRIER_ROLE_LISTENER. */
GPtrArray      *_post_selection_rank_stacks       (PostRegistry      *registry,
                                                   PostConfiguration *configuration,
                                                   const char        *stack_hint,
                                                   PostCarrierRole    role,
                                                   GError           **error);
/* System and user policy (policy/, the default engine): removes the
 * candidates (PostCandidate*) a requirement or prohibition rules out and
 * orders the rest by score, stably (ties keep their order); sets each
 * candidate's effective configuration when the policy changes it.  A no-op
 * without policy rules. */
void            _post_selection_rank_candidates   (GPtrArray         *candidates,
                                                   PostConfiguration *configuration,
                                                   PostRemote        *remote,
                                                   PostCarrierRole    role);
/* The capabilities a carrier has on @stack with @configuration: the stack's
 * own plus what the core adds (framing, niceness, lifetimes...). */
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

PostStackCapabilities _post_selection_effective_capabilities (PostStack         *stack,
                                                              PostConfiguration *configuration);

/* ---- PostAssociation ---------------------------------------------------- */
void            _post_association_add_carrier     (PostAssociation   *self,
                                                   PostCarrier       *carrier);
void            _post_association_remove_carrier  (PostAssociation   *self,
                                                   PostCarrier       *carrier);
PostPath       *_post_association_ensure_path     (PostAssociation   *self,
                                                   PostPsi           *psi);
void            _post_association_record_success  (PostAssociation   *self,
                                                   const char        *stack_name,
                                                   GSocketAddress    *remote_address,
                                                   GSocketAddress    *local_address);
GSocketAddress *_post_association_get_last_address (PostAssociation  *self);
/* The local address the last winner was bound to by gathering, or NULL */
GSocketAddress *_post_association_get_last_local_address (PostAssociation *self);

/* ---- PostCarrier -------------------------------------------------------- */
/* A carrier around an accepted or forked PSI (passive open). */
PostCarrier    *_post_carrier_new_accepted       (PostCarrier       *parent,
                                                  PostPsi           *psi);

PostCarrier    *_post_carrier_initiate_on_association (PostAssociation *association);
/* Sends @message to @destination (NULL: the carrier's remote) without role
 * checks: how a PostReply answers. */
gboolean        _post_carrier_send_to            (PostCarrier       *self,
                                                  PostMessage       *message,
                                                  GSocketAddress    *destination,
                                                  GTask             *task,
                                                  GError           **error);

/* ---- Proxies (post-proxy.c) --------------------------------------------- */
typedef struct _PostProxyBranch PostProxyBranch;
/* The branches the proxy resolver gives for @remote, in its order
 * (element-type PostProxyBranch), or NULL (no error) for "direct only":
 * proxies disabled, no stack of @stacks can be proxied, or no resolver. */
/* Whether establishment asks about proxies at all (else: direct only, at
 * once) */
gboolean        _post_proxy_wanted               (PostConfiguration  *configuration,
                                                  PostRemote         *remote,
                                                  GPtrArray          *stacks);
void            _post_proxy_gather_async         (PostConfiguration  *configuration,
                                                  PostRemote         *remote,
                                                  GPtrArray          *stacks,
                                                  GCancellable       *cancellable,
                                                  GAsyncReadyCallback callback,
                                                  gpointer            user_data);
GPtrArray      *_post_proxy_gather_finish        (GAsyncResult       *result,
                                                  GError            **error);
/* Whether @branches (nullable: direct only) include direct:// */
gboolean        _post_proxy_branches_have_direct (GPtrArray          *branches);
/* The candidates in branch order: @direct's (taken, ranked already) where
 * direct:// stands, proxied ones (ranked by the policy) for each proxy;
 * why a branch gave none goes into @notes. */
GPtrArray      *_post_proxy_merge_candidates     (GPtrArray          *branches,
                                                  GPtrArray          *direct,
                                                  GPtrArray          *stacks,
                                                  PostRemote         *remote,
                                                  PostLocal          *local,
                                                  PostConfiguration  *configuration,
                                                  PostCarrierRole     role,
                                                  GString            *notes);
char           *_post_proxy_describe             (GProxyAddress      *proxy);

/* ---- PostReply ---------------------------------------------------------- */
PostReply      *_post_reply_new                  (PostCarrier       *target,
                                                  GSocketAddress    *destination);

/* ---- Racing (draft 4.5, RFC 8305) ---------------------------------------- */
typedef struct {
  PostStack      *stack;           /* (owned) */
  GSocketAddress *remote_address;  /* (owned) */
  GSocketAddress *local_address;   /* (owned) (nullable) */
  PostConfiguration *configuration; /* (owned) (nullable): the policy's effective
                                    * configuration for this candidate's PSI */
  char           *interface;       /* (owned) (nullable): the interface to bind
                                    * the attempt to: a gathered local's, or the
                                    * one the application's local names */
  gboolean        gathered;        /* local_address is a gathered local (of
                                    * @interface), not the application's */
  guint           group;           /* equal-rank candidates share a non-zero
                                    * group and are started together */
  GProxyAddress  *proxy;           /* (owned) (nullable): a proxied candidate's
                                    * proxy and destination; remote_address is
                                    * then the proxy's (post-proxy.c) */
} PostCandidate;

PostCandidate  *_post_candidate_new              (PostStack         *stack,
                                                  GSocketAddress    *remote_address,
                                                  GSocketAddress    *local_address);
void            _post_candidate_free             (PostCandidate     *candidate);
char           *_post_candidate_describe         (const PostCandidate *candidate);

/* Races @candidates (in order, PostCandidate*) with @attempt_delay_ms
 * between attempt starts (candidates of one non-zero group start
 * together); the first PSI that connects and is usable wins and every
 * other attempt is cancelled and closed. */
void            _post_racer_run_async            (GPtrArray         *candidates,
                                                  PostConfiguration *configuration,
                                                  guint              attempt_delay_ms,
                                                  GCancellable      *cancellable,
                                                  GAsyncReadyCallback callback,
                                                  gpointer           user_data);
/* The same, telling each attempt's PSI its local and association
 * (post_psi_set_context()) and offering it the 0-RTT early data of
 * @transient (nullable) when it can send some. */
void            _post_racer_run_with_context_async (GPtrArray       *candidates,
                                                  PostConfiguration *configuration,
                                                  PostLocal         *local,
                                                  PostAssociation   *association,
                                                  PostTransient     *transient,
                                                  guint              attempt_delay_ms,
                                                  GCancellable      *cancellable,
                                                  GAsyncReadyCallback callback,
                                                  gpointer           user_data);
PostPsi        *_post_racer_run_finish           (GAsyncResult      *result,
                                                  PostCandidate    **winner,
                                                  GError           **error);

/* ---- Path monitor (post-path-monitor.c) ------------------------------------ */
typedef enum {
  POST_PATH_EVENT_INTERFACE_ADDED,
  POST_PATH_EVENT_INTERFACE_REMOVED,
  POST_PATH_EVENT_INTERFACE_CHANGED,
  POST_PATH_EVENT_ADDRESS_ADDED,
  POST_PATH_EVENT_ADDRESS_REMOVED,
  POST_PATH_EVENT_DEFAULT_ROUTE_CHANGED,
} PostPathEventType;

typedef struct {
  PostPathEventType  type;
  PostInterfaceInfo *interface;   /* interface events */
  PostAddressInfo   *address;     /* address events */
  GSocketFamily      family;      /* default route events */
} PostPathEvent;

typedef void  (*PostPathEventFunc)               (PostPathMonitor   *monitor,
                                                  const PostPathEvent *event,
                                                  gpointer           user_data);
/* Calls @func for every event, from idle sources on the thread-default
 * main context of the caller (never re-entrantly); stop with unwatch,
 * from that context. */
guint           _post_path_monitor_watch         (PostPathMonitor   *self,
                                                  PostPathEventFunc  func,
                                                  gpointer           data);
void            _post_path_monitor_unwatch       (PostPathMonitor   *self,
                                                  guint              id);
char           *_post_path_monitor_interface_of  (PostPathMonitor   *self,
                                                  GSocketAddress    *address);
guint           _post_path_monitor_count_routes  (PostPathMonitor   *self,
                                                  GSocketAddress    *remote_address);
/* Sets @func as @policy's path data source unless one was set already. */
void            _post_policy_install_path_info_func (PostPolicy     *policy,
                                                  PostPathInfoFunc   func,
                                                  gpointer           data);

/* ---- helpers ------------------------------------------------------------- */
char           *_post_socket_address_to_string   (GSocketAddress    *address);

G_END_DECLS

/* ---- The transient engine (post-transient.c) and its carrier -------------- */
G_BEGIN_DECLS

/* What holding one queued or received message costs, beyond its bytes (a
 * SendItem or InboxEntry, its PostMessage handle, the GBytes): counted by
 * the send-queue limit and the receive read-ahead, so that empty messages
 * are bounded too.  (The public POST_MESSAGE_OVERHEAD, post-carrier.h.) */

/* Calls @func (@task, @user_data) from @task's main context once @task's
 * cancellable is cancelled (nothing without one).  @func must find out
 * whether @task is still pending (it may have returned meanwhile) and, if
 * so, return G_IO_ERROR_CANCELLED.  @user_data must live as long as @task
 * (the task's source object does). */
typedef void (*PostTaskCancelFunc) (GTask *task, gpointer user_data);
void            _post_task_watch_cancel          (GTask              *task,
                                                  PostTaskCancelFunc  func,
                                                  gpointer            user_data);

typedef enum {
  POST_DEMAND_NONE,
  POST_DEMAND_COMPLETE,
  POST_DEMAND_PARTIAL,
} PostDemand;

/* The transient asks its carrier what receive demand there is, delivers to
 * it, and reports send events and its end. */
PostDemand      _post_carrier_peek_demand        (PostCarrier       *self,
                                                  gsize             *min_length,
                                                  gsize             *max_length);
gsize           _post_carrier_get_inbox_size     (PostCarrier       *self);
void            _post_carrier_deliver_error      (PostCarrier       *self,
                                                  const GError      *error);
void            _post_carrier_deliver            (PostCarrier       *self,
                                                  PostMessage       *handle,
                                                  GBytes            *data,
                                                  gboolean           end_of_message);
void            _post_carrier_emit_sent          (PostCarrier       *self,
                                                  PostMessage       *message);
gboolean        _post_carrier_wants_acked        (PostCarrier       *self);
void            _post_carrier_emit_soft_error    (PostCarrier       *self,
                                                  const GError      *error);
void            _post_carrier_emit_acked         (PostCarrier       *self,
                                                  PostMessage       *message);
void            _post_carrier_emit_expired       (PostCarrier       *self,
                                                  PostMessage       *message);
void            _post_carrier_emit_send_error    (PostCarrier       *self,
                                                  PostMessage       *message,
                                                  const GError      *error);
/* The transient's PSI ended: @error is NULL for an orderly end (both
 * directions closed), else why it failed.  @peer_closed: the peer ended it. */
gboolean        _post_carrier_should_go_dormant  (PostCarrier       *self,
                                                  PostTransient     *transient,
                                                  const GError      *error);
void            _post_carrier_transient_ended    (PostCarrier       *self,
                                                  PostTransient     *transient,
                                                  const GError      *error,
                                                  gboolean           peer_closed);
PostPath       *_post_carrier_path_for_psi        (PostCarrier   *self,
                                                   PostPsi       *psi);
void            _post_carrier_transient_path_changed (PostCarrier   *self,
                                                      PostTransient *transient);

PostTransient  *_post_transient_new_pending      (PostCarrier       *carrier,
                                                  PostConfiguration *configuration);
void            _post_transient_attach           (PostTransient     *self,
                                                  PostPsi           *psi,
                                                  PostPath          *path);
gboolean        _post_transient_is_attached      (PostTransient     *self);
/* Moves every queued, not yet started send of @from to @self. */
void            _post_transient_take_queue       (PostTransient     *self,
                                                  PostTransient     *from);
gboolean        _post_transient_enqueue          (PostTransient     *self,
                                                  PostMessage       *message,
                                                  GBytes            *content,
                                                  gboolean           end_of_message,
                                                  gboolean           part,
                                                  GTask             *task,
                                                  GSocketAddress    *destination,
                                                  gboolean           check_limit,
                                                  GError           **error);
void            _post_transient_flush            (PostTransient     *self,
                                                  GTask             *task);
gsize           _post_transient_get_queued_bytes (PostTransient     *self);
gboolean        _post_transient_send_queue_full  (PostTransient     *self);
/* inbox + message being assembled + undecoded input */
gsize           _post_transient_get_receive_bytes (PostTransient    *self);
/* A send or flush task whose cancellable was cancelled: returns
 * G_IO_ERROR_CANCELLED if nothing of it was written yet (a send) or it is
 * still waiting (a flush); otherwise it goes on and completes normally. */
void            _post_transient_cancel_send      (PostTransient     *self,
                                                  GTask             *task);
void            _post_transient_cancel_flush     (PostTransient     *self,
                                                  GTask             *task);
void            _post_transient_pump_receive     (PostTransient     *self);
/* Reads once without waiting for the PSI to say it is readable (a freshly
 * accepted transport often has data, or its peer's end, waiting). */
void            _post_transient_try_read         (PostTransient     *self);
/* Graceful: drain the queue, end the sending direction, wait (bounded) for
 * the peer's end, then close. */
void            _post_transient_close            (PostTransient     *self);
void            _post_transient_abort            (PostTransient     *self,
                                                  const GError      *error);
void            _post_transient_fail_queue       (PostTransient     *self,
                                                  const GError      *error);
PostStackCapabilities _post_transient_get_capabilities (PostTransient *self);
/* Control frames of libpost's framing (forks on stacks without streams) */
gboolean        _post_transient_speaks_control   (PostTransient     *self);
gboolean        _post_transient_has_seen_frame   (PostTransient     *self);
gboolean        _post_transient_send_control     (PostTransient     *self,
                                                  guint8             type,
                                                  guint8             flags,
                                                  const guint8      *body,
                                                  gsize              body_length);
void            _post_carrier_control_frame      (PostCarrier       *self,
                                                  PostTransient     *transient,
                                                  guint8             type,
                                                  guint8             flags,
                                                  GBytes            *body,
                                                  gboolean           first);
void            _post_carrier_first_message      (PostCarrier       *self,
                                                  PostTransient     *transient);
/* The core assembled the peer's first complete message (post-psi.c) */
void            _post_psi_set_first_message_received (PostPsi       *self);
/* 0-RTT: the idempotent messages at the head of the queue, framed, up to
 * @limit bytes (NULL if none); they count as sent once a PSI that took them
 * is attached, else _post_transient_return_early_data() requeues them. */
GBytes         *_post_transient_take_early_data  (PostTransient     *self,
                                                  gsize              limit);
void            _post_transient_return_early_data (PostTransient    *self);

/* ---- PostCarrierStream (post-carrier-stream.c) ------------------------------ */
/* The main context a carrier was created in (post-carrier.c) */
GMainContext   *_post_carrier_get_context        (PostCarrier       *self);
/* A synchronous stream call: begin acquires the carrier's context (or
 * fails), the asynchronous call's callback fills the op, end runs the
 * context until it is done and releases it. */
typedef struct
{
  gboolean  done;
  gssize    size;
  GError   *error;
} PostStreamSyncOp;
gboolean        _post_carrier_stream_sync_begin  (PostCarrier       *carrier,
                                                  GError           **error);
gssize          _post_carrier_stream_sync_end    (PostCarrier       *carrier,
                                                  PostStreamSyncOp  *op,
                                                  GError           **error);
/* FALSE, with %POST_ERROR_CONNECTION_RESET, once the carrier lost the
 * transport its stream was on (DORMANT) */
gboolean        _post_carrier_stream_check       (PostCarrier       *carrier,
                                                  GError           **error);

G_END_DECLS
