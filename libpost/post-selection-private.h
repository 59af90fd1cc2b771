/* post-selection-private.h: selection and racing: ranking stacks and candidates, the racer
 *
 * Layer "selection and racing" of docs/architecture.md: it may include only the headers of its
 * own layer and the layers below (tools/include-graph.py --check).
 * Nothing here is installed or exported.
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include "post-stacks-private.h"
#include "post-path-monitor-private.h"
#include "post-policy-private.h"

G_BEGIN_DECLS

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
 * without policy rules.  @blocked (optional) receives a line for each
 * removed candidate, "\n  CANDIDATE: why (prohibited by rule ‘R’ at
 * FILE:LINE)", for the error of an establishment the policy blocked. */
void            _post_selection_rank_candidates   (GPtrArray         *candidates,
                                                   PostConfiguration *configuration,
                                                   PostRemote        *remote,
                                                   PostCarrierRole    role,
                                                   GString           *blocked);
/* _post_selection_rank_stacks() with an explicit engine and application id */
GPtrArray      *_post_selection_rank_stacks_with_policy (PostRegistry      *registry,
                                                         PostPolicy        *policy,
                                                         const char        *app_id,
                                                         PostConfiguration *configuration,
                                                         const char        *stack_hint,
                                                         PostCarrierRole    role,
                                                         GPtrArray         *rejected,
                                                         GError           **error);
/* _post_selection_rank_candidates() with an explicit engine and
 * application id; @explained (optional) receives every candidate as a
 * PostPolicyCandidate, ranked ones first, then the removed ones. */
void            _post_selection_rank_candidates_full (PostPolicy        *policy,
                                                      const char        *app_id,
                                                      PostConfiguration *configuration,
                                                      PostRemote        *remote,
                                                      PostCarrierRole    role,
                                                      GPtrArray         *candidates,
                                                      GPtrArray        **explained,
                                                      GString           *blocked);

/* The capabilities a carrier has on @stack with @configuration: the stack's
 * own plus what the core adds (framing, niceness, lifetimes...). */
PostStackCapabilities _post_selection_effective_capabilities (PostStack         *stack,
                                                              PostConfiguration *configuration);

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
  gconstpointer   carrier;         /* (unowned) (nullable): the carrier it is
                                    * for, only as the POST_CARRIER log field */
  char          **alpn;            /* (owned) (nullable): the ALPN ids an
                                    * application scheme implies (https) */
  char           *step;            /* (owned) (nullable): how the scheme led
                                    * here, for the attempt report */
} PostCandidate;

PostCandidate  *_post_candidate_new              (PostStack         *stack,
                                                  GSocketAddress    *remote_address,
                                                  GSocketAddress    *local_address);
void            _post_candidate_free             (PostCandidate     *candidate);
char           *_post_candidate_describe         (const PostCandidate *candidate);

/* ---- Structured logging (post-racer.c) --------------------------------------
 * A debug message through g_log_structured_array() in the "Post" domain,
 * with the fields POST_CARRIER (the carrier's address, "%p"), POST_STACK
 * (the stack's name) and POST_RULE (the policy rule's FILE:LINE) where
 * given (NULL: no field), and CODE_FILE, CODE_LINE and CODE_FUNC.  Nothing
 * is formatted when debug output is off (g_log_writer_default_would_drop()).
 * Messages name addresses, stacks and rules; never keys, tokens, PSKs or
 * proxy credentials. */
#define _post_debug(carrier, stack, rule, ...) \
  _post_log_debug (__FILE__, G_STRINGIFY (__LINE__), G_STRFUNC, (carrier), (stack), (rule), __VA_ARGS__)
void            _post_log_debug                  (const char        *file,
                                                  const char        *line,
                                                  const char        *func,
                                                  gconstpointer      carrier,
                                                  const char        *stack,
                                                  const char        *rule,
                                                  const char        *format,
                                                  ...) G_GNUC_PRINTF (7, 8);

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
/* Takes up to @limit bytes of 0-RTT early data from @source (NULL if
 * none): the carrier passes its transient and _post_transient_take_early_data(),
 * a layer above racing. */
typedef GBytes *(*PostEarlyDataFunc)             (gpointer           source,
                                                  gsize              limit);
/* The same, telling each attempt's PSI its local and association
 * (post_psi_set_context()) and offering it the 0-RTT early data that
 * @take_early_data gives from @early_source (nullable) when it can send some. */
void            _post_racer_run_with_context_async (GPtrArray       *candidates,
                                                  PostConfiguration *configuration,
                                                  PostLocal         *local,
                                                  PostAssociation   *association,
                                                  GObject           *early_source,
                                                  PostEarlyDataFunc  take_early_data,
                                                  guint              attempt_delay_ms,
                                                  GCancellable      *cancellable,
                                                  GAsyncReadyCallback callback,
                                                  gpointer           user_data);
PostPsi        *_post_racer_run_finish           (GAsyncResult      *result,
                                                  PostCandidate    **winner,
                                                  GError           **error);


/* ---- Establishment (post-establishment.c, draft 4.5) ----------------------
 * The one way an initiated carrier gets a transport: resolve the remote
 * (after the proxy resolver), gather locals, rank the candidates (policy,
 * interface preferences, the association's history, equal-rank groups),
 * race them, all under the configuration's conn-timeout.  The carrier and
 * association are above this layer: what establishment needs of them comes
 * in the request (docs/architecture.md, "Establishment"). */
typedef struct _PostEstablishment PostEstablishment;

/* What won last on @association (draft section 3), each (transfer none)
 * (nullable): the carrier passes the association's. */
typedef void    (*PostEstablishmentHistoryFunc)  (PostAssociation   *association,
                                                  const char       **last_stack,
                                                  GSocketAddress   **last_address,
                                                  GSocketAddress   **last_local_address);
/* How it ended, once: @psi (transfer none) won as @winner, or @error
 * (transfer none) says why not (also POST_ERROR_TIMED_OUT after
 * conn-timeout, G_IO_ERROR_CANCELLED after _post_establishment_cancel()). */
typedef void    (*PostEstablishedFunc)           (PostPsi           *psi,
                                                  PostCandidate     *winner,
                                                  const GError      *error,
                                                  gpointer           user_data);
/* The race ended without handing a PSI over: the 0-RTT data it took goes
 * back (the carrier requeues it unless its transient is attached). */
typedef void    (*PostEarlyDataReturnFunc)       (gpointer           user_data);

typedef struct {
  PostCarrierRole               role;
  PostLocal                    *local;           /* (nullable) */
  PostRemote                   *remote;
  PostConfiguration            *configuration;
  PostAssociation              *association;     /* (nullable) told to each attempt's PSI
                                                  * (post_psi_set_context()), and @history's */
  PostEstablishmentHistoryFunc  history;         /* (nullable) */
  gconstpointer                 log_carrier;     /* (unowned) (nullable) the carrier the
                                                  * candidates' log messages name */
  GObject                      *early_source;    /* (nullable) 0-RTT data: @take_early_data's */
  PostEarlyDataFunc             take_early_data;
  GMainContext                 *context;         /* where the conn-timeout runs */
} PostEstablishmentRequest;

/* Starts establishing; fails at once (NULL, @error set) when nothing can be
 * tried: a local naming an interface the host does not have, no stack
 * (POST_ERROR_NO_STACK).  Otherwise @done is called once, unless the
 * establishment is forgotten first: later, or already before this returns
 * (then NULL without @error: a literal address whose every candidate the
 * policy blocked).  @notify frees @user_data when the establishment has
 * ended (which may be after @done, while what was under way is cancelled),
 * and before an immediate failure returns.
 * The result is valid until @done is called or _post_establishment_forget(). */
PostEstablishment *_post_establishment_start     (const PostEstablishmentRequest *request,
                                                  PostEstablishedFunc  done,
                                                  PostEarlyDataReturnFunc return_early_data,
                                                  gpointer             user_data,
                                                  GDestroyNotify       notify,
                                                  GError             **error);
/* Cancels what is under way; @done still comes (cancelled, or with a PSI
 * that won meanwhile) */
void            _post_establishment_cancel       (PostEstablishment *self);
/* Nothing more is reported and there is no timeout; what is under way
 * finishes on its own (a PSI that wins is closed) */
void            _post_establishment_forget       (PostEstablishment *self);
/* Whether @a and @b are internet addresses with the same IP address */
gboolean        _post_inet_address_equal         (GSocketAddress    *a,
                                                  GSocketAddress    *b);

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

G_END_DECLS
