/* post-contract.h: the stack contract harness (post-stack-check)
 *
 * One program, run once per stack (`post-stack-check STACK`), holds every
 * stack to the same rules.  Each case reads what the stack declares
 * (PostStackCapabilities) and either checks the behaviour or checks that
 * the stack reports it unsupported: a case is never skipped silently.
 *
 * The cases live in contract-AREA.c files, one per area; each file has one
 * entry point, post_contract_add_AREA_cases(), listed in
 * post-stack-check.c, that registers its cases with post_contract_add().
 *
 * Everything runs on the thread-default main context of the test thread;
 * waits are bounded (a case that waits too long fails, naming what it
 * waited for).
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <post.h>

G_BEGIN_DECLS

/* The stack under test; one per process. */
typedef struct
{
  const char           *name;          /* the stack's name */
  PostStack            *stack;         /* (owned) */
  PostStackCapabilities declared;      /* what the stack declares */
  PostStackCapabilities caps;          /* what its carriers can do: the
                                          declared ones and what libpost adds
                                          (post_stack_get_carrier_capabilities) */
  char                 *certs;         /* (owned) (nullable) directory of
                                          ca.pem, server.pem/.key, client.pem/.key
                                          (secure stacks) */
} PostContractStack;

/* The stack under test. */
const PostContractStack *post_contract_stack (void);
/* Whether the stack's carriers have every capability of @caps. */
gboolean           post_contract_has     (PostStackCapabilities caps);
/* Whether the stack is connection-oriented: it has a handshake or a
 * transport connection per carrier (reliable stacks and secure ones). */
gboolean           post_contract_is_connected (void);

/* Says that the case checked the "reports unsupported" branch: the stack
 * lacks what the case is about, and the case checked that the API says so
 * (an error, or the documented fallback).  Printed as a TAP comment
 * "unsupported: …" that tools/contract-matrix.sh collects; call it once
 * per case, in that branch. */
void               post_contract_unsupported (const char *format,
                                              ...) G_GNUC_PRINTF (1, 2);

/* Registers @func as the case /contract/STACK/@path.  The case runs with
 * the stack under test; @func reads it with post_contract_stack(). */
void               post_contract_add     (const char            *path,
                                          GTestFunc              func);

/* ---- configurations, locals, carriers ----------------------------------- */

/* A configuration that allows only the stack under test: its selection
 * properties relaxed to what the stack can do (a udp stack needs no
 * reliability, order or congestion control), trust in the test CA for a
 * secure stack (system trust off), a 50 ms attempt delay and a 5 s
 * connection timeout.  Use it for clients and listeners alike. */
PostConfiguration *post_contract_config  (void);
/* The same for a listener, responder or sink: no trust anchors (with
 * anchors, a secure listener asks for client certificates). */
PostConfiguration *post_contract_server_config (void);
/* A local for 127.0.0.1 port 0 (or @uri_host_port, such as
 * "127.0.0.1:0"), with the server identity for a secure stack. */
PostLocal         *post_contract_server_local (const char *host_port);
/* A listener of the stack under test with @config (nullable: a fresh
 * post_contract_server_config()), on 127.0.0.1; fails the case on error. */
PostCarrier       *post_contract_listen  (PostConfiguration *config);
/* The same on @local (nullable: post_contract_server_local (NULL)), for a
 * listener with more than the server identity (pre-shared keys). */
PostCarrier       *post_contract_listen_on (PostLocal         *local,
                                            PostConfiguration *config);
/* The remote STACK://127.0.0.1:PORT of @listener. */
PostRemote        *post_contract_remote_of (PostCarrier     *listener);
/* The remote STACK://@host:@port (@host an IP literal, IPv6 unbracketed). */
PostRemote        *post_contract_remote_at (const char      *host,
                                            guint16          port);
/* A carrier initiated to @listener with @config (nullable: a fresh
 * post_contract_config()); establishing in the background. */
PostCarrier       *post_contract_initiate (PostCarrier      *listener,
                                           PostConfiguration *config);
/* The port a listener, responder or sink is bound to. */
guint16            post_contract_port_of (PostCarrier       *carrier);

/* ---- waiting ------------------------------------------------------------ */

/* Iterates the thread-default main context until *@flag is non-zero; fails
 * the case (naming @what) after @timeout_ms. */
void               post_contract_wait_flag  (const gboolean *flag,
                                             guint           timeout_ms,
                                             const char     *what);
/* Iterates until *@counter >= @n; fails after @timeout_ms. */
void               post_contract_wait_count (const guint    *counter,
                                             guint           n,
                                             guint           timeout_ms,
                                             const char     *what);
/* Iterates until @carrier's state is @state; fails after @timeout_ms. */
void               post_contract_wait_state (PostCarrier    *carrier,
                                             PostCarrierState state,
                                             guint           timeout_ms);
/* Iterates until @carrier's state is no longer @state; fails after @timeout_ms. */
void               post_contract_wait_state_not (PostCarrier    *carrier,
                                                 PostCarrierState state,
                                                 guint           timeout_ms);
/* Iterates the context for @ms milliseconds (to show that nothing
 * happens; never to wait for something that should happen). */
void               post_contract_spin       (guint           ms);

/* An asynchronous call's result, kept for its _finish function:
 *   PostContractAsync a = { 0 };
 *   post_carrier_establish_async (c, NULL, post_contract_async_cb, &a);
 *   post_contract_async_wait (&a, 5000, "establishment");
 *   ok = post_carrier_establish_finish (c, a.result, &error);
 *   post_contract_async_clear (&a);
 */
typedef struct
{
  gboolean      done;
  GAsyncResult *result;   /* (owned) (nullable) */
} PostContractAsync;

void               post_contract_async_cb    (GObject           *source,
                                              GAsyncResult      *result,
                                              gpointer           user_data);
void               post_contract_async_wait  (PostContractAsync *async,
                                              guint              timeout_ms,
                                              const char        *what);
void               post_contract_async_clear (PostContractAsync *async);

/* Establishes @carrier (post_carrier_establish_async) and fails the case
 * unless it becomes ACTIVE within @timeout_ms. */
void               post_contract_establish   (PostCarrier       *carrier,
                                              guint              timeout_ms);

/* A PostRespondFunc for post_carrier_respond() that answers each message
 * with its content through the PostReply (which must know the remote) and
 * counts it in the guint @user_data points to. */
void               post_contract_respond_echo (PostCarrier *responder,
                                               PostMessage *message,
                                               PostReply   *reply,
                                               gpointer     user_data);

/* ---- a peer ------------------------------------------------------------- */

/* A listener and what it accepted and received, filled by its handlers.
 * By default it accepts every carrier (and every fork request of one) and
 * echoes each message back; set @refuse to refuse carriers, @refuse_forks
 * to refuse forks, @echo to FALSE to only collect. */
typedef struct
{
  PostCarrier *listener;          /* (owned) */
  GPtrArray   *carriers;          /* (owned) accepted carriers, forks included */
  GPtrArray   *messages;          /* (owned) every message received, in order */
  GString     *bytes;             /* (owned) their contents, concatenated */
  guint        n_incoming;        /* carriers offered to the listener */
  guint        n_forks;           /* fork requests offered on accepted carriers */
  guint        n_received;        /* messages received */
  guint        n_closed;          /* accepted carriers that emitted closed */
  guint        n_closed_error;    /* ... of which with an error */
  gboolean     refuse;
  gboolean     refuse_forks;
  gboolean     echo;
  gboolean     no_read;           /* accept, but do not receive (a slow consumer) */
} PostContractPeer;

/* Starts @peer listening with @config (nullable). */
void               post_contract_peer_start (PostContractPeer  *peer,
                                             PostConfiguration *config);
/* The same on @local (nullable), as post_contract_listen_on(). */
void               post_contract_peer_start_on (PostContractPeer  *peer,
                                                PostLocal         *local,
                                                PostConfiguration *config);
/* A peer started with @no_read starts receiving on what it accepted. */
void               post_contract_peer_read  (PostContractPeer  *peer);
/* Aborts what it accepted, closes the listener, frees the rest. */
void               post_contract_peer_stop  (PostContractPeer  *peer);

/* A peer that vanishes without a word: no FIN, no reset, no alert, no
 * ICMP, its links still up (so no path event either), as a host that lost
 * power or a path that a middlebox blackholes.  The harness makes two
 * network namespaces joined by a veth pair (needs root and `ip`; without
 * them the case is skipped, saying why): the client's, 10.77.0.1, and the
 * peer's, 10.77.0.2 (in the server certificate too), with permanent
 * neighbour entries so that no ARP ever runs.  The peer listens in its
 * namespace; the test thread then stays in the client's, where it creates
 * its carriers (a socket keeps the namespace it was made in, so one main
 * context serves both).  post_contract_silence() points each side's
 * neighbour entry at a hardware address nobody has: from then on every
 * frame either way is dropped by the other veth end.
 *
 *   PostContractSilent silent;
 *   if (!post_contract_silent_start (&silent, &peer, NULL))
 *     return;                                  (skipped: not root)
 *   client = post_contract_silent_initiate (&silent, &peer, config);
 *   ... establish, exchange ...
 *   post_contract_silence (&silent);
 *   ... wait for the client to notice ...
 *   post_carrier_abort (client);  post_contract_peer_stop (&peer);
 *   post_contract_silent_stop (&silent);       (back home; namespaces gone) */
typedef struct
{
  char     *client_ns;          /* (owned) names under /run/netns */
  char     *peer_ns;            /* (owned) */
  int       home_ns;            /* the test's own namespace, -1 once back */
  gboolean  silenced;
} PostContractSilent;

/* Makes the namespaces and starts @peer (post_contract_peer_start() with
 * @server_config) on 10.77.0.2 in the peer's; the thread is in the
 * client's on return.  FALSE, the case skipped, when that is impossible. */
gboolean           post_contract_silent_start    (PostContractSilent *silent,
                                                  PostContractPeer   *peer,
                                                  PostConfiguration  *server_config);
/* A carrier initiated to @peer's listener from the client's namespace. */
PostCarrier       *post_contract_silent_initiate (PostContractSilent *silent,
                                                  PostContractPeer   *peer,
                                                  PostConfiguration  *config);
/* From now on nothing passes between the two namespaces, either way. */
void               post_contract_silence         (PostContractSilent *silent);
/* Returns the thread to its namespace and deletes both (and the link). */
void               post_contract_silent_stop     (PostContractSilent *silent);
/* A remote that never lets an establishment complete, for cases that need
 * one pending: on 127.0.0.1, a TCP listener whose accept queue is full (the
 * kernel drops further SYNs) and, on the same port, a bound UDP socket
 * that never answers (a handshake over UDP waits).  A stack without a
 * handshake establishes to it at once and sends into the void. */
typedef struct
{
  GSocket   *tcp;       /* (owned) */
  GSocket   *udp;       /* (owned) */
  GPtrArray *fillers;   /* (owned) connections filling the accept queue */
} PostContractBlackhole;

PostRemote        *post_contract_blackhole_start (PostContractBlackhole *blackhole);
void               post_contract_blackhole_stop  (PostContractBlackhole *blackhole);

/* Sends @size-byte messages (post_carrier_send_bytes, pattern seeded by
 * @seed + their index, starting at *@n_sent) until the send queue stays
 * full: WOULD_BLOCK, and a flush that does not complete within @quiet_ms
 * (the peer stopped taking data).  Fails the case if that takes more than
 * @max_messages.  *@n_sent counts the messages queued. */
void               post_contract_fill_until_blocked (PostCarrier *carrier,
                                                     gsize        size,
                                                     guint        seed,
                                                     guint        quiet_ms,
                                                     guint        max_messages,
                                                     guint       *n_sent);

/* A carrier's events, counted by the handlers post_contract_watch() connects. */
typedef struct
{
  GPtrArray *messages;            /* (owned) messages received (via ready) */
  GString   *bytes;               /* (owned) their contents, concatenated */
  guint      n_received;
  guint      n_closed;            /* closed signals */
  GError    *close_error;         /* (owned) (nullable) the first error closed gave */
  guint      n_sent, n_acked, n_expired, n_send_error;   /* carrier-level events */
  guint      n_incoming;          /* fork requests offered (accepted unless refuse_forks) */
  gboolean   refuse_forks;
  GPtrArray *forks;               /* (owned) fork carriers accepted */
} PostContractWatch;

/* Connects @watch to @carrier's closed, sent, acked, expired, send-error
 * and incoming signals, and (unless @ready is FALSE) post_carrier_ready(). */
void               post_contract_watch      (PostContractWatch *watch,
                                             PostCarrier       *carrier,
                                             gboolean           ready);
/* Disconnects what post_contract_watch() connected to @carrier (and stops
 * its ready function if it set one). */
void               post_contract_unwatch    (PostContractWatch *watch,
                                             PostCarrier       *carrier);
void               post_contract_watch_clear (PostContractWatch *watch);

/* A client connected to an echo peer (PostContractPeer, echo TRUE), its
 * events watched (post_contract_watch, with ready). */
typedef struct
{
  PostContractPeer  peer;
  PostContractWatch watch;
  PostCarrier      *client;         /* (owned) */
} PostContractPair;

/* Starts the peer with @server_config and a client with @client_config
 * (both nullable), sends "hello" while the client is ESTABLISHING (queued),
 * establishes it and waits for the echo. */
void               post_contract_pair_open  (PostContractPair  *pair,
                                             PostConfiguration *client_config,
                                             PostConfiguration *server_config);
/* Aborts the client, clears the watch, stops the peer. */
void               post_contract_pair_close (PostContractPair  *pair);

/* post_contract_pair_open() across the namespaces: the peer in its own,
 * the client in the client's.  FALSE, the case skipped, as above.  Close
 * with post_contract_pair_close(), then post_contract_silent_stop(). */
gboolean           post_contract_silent_pair_open (PostContractSilent *silent,
                                                   PostContractPair   *pair,
                                                   PostConfiguration  *client_config,
                                                   PostConfiguration  *server_config);

/* A message of @size bytes of a pattern seeded by @seed. */
GBytes            *post_contract_pattern    (gsize              size,
                                             guint              seed);

/* ---- a UDP relay ------------------------------------------------------------ */

/* A relay between one client and a UDP listener, to observe (count) or cut
 * (blackhole) the datagrams of the stacks that run over UDP (udp, dtls,
 * quic, sctp): it listens on 127.0.0.2 with the listener's port number
 * (the test certificate names 127.0.0.2 too), and the client initiates
 * to post_contract_relay_remote();
 * the first datagram it sends tells the relay where to send the replies.
 * It keeps the size of every datagram it relayed, in order, per direction;
 * with @drop_to_server / @drop_to_client set, datagrams that way are
 * counted in n_dropped_* and not relayed.  Runs on the thread-default main
 * context. */
typedef struct
{
  GSocket        *front;            /* (owned) where the client sends */
  GSocket        *back;             /* (owned) towards the server */
  GSocketAddress *server;           /* (owned) */
  GSocketAddress *client;           /* (owned) (nullable) learnt */
  GSource        *front_source;     /* (owned) */
  GSource        *back_source;      /* (owned) */
  GArray         *to_server;        /* (element-type gsize) sizes relayed client → server */
  GArray         *to_client;        /* (element-type gsize) sizes relayed server → client */
  gboolean        drop_to_server;
  gboolean        drop_to_client;
  guint           n_dropped_to_server;
  guint           n_dropped_to_client;
} PostContractRelay;

/* Whether @listener's port is a UDP port (its stack runs over UDP): a
 * UDP socket cannot bind to it. */
gboolean           post_contract_listener_is_udp (PostCarrier *listener);
/* A relay to the UDP port of @listener. */
PostContractRelay *post_contract_relay_new    (PostCarrier       *listener);
/* The remote STACK://127.0.0.2:PORT of the relay. */
PostRemote        *post_contract_relay_remote (PostContractRelay *relay);
/* Datagrams relayed client → server of at least @min_size bytes, from
 * the @from-th on (0 for all). */
guint              post_contract_relay_count_to_server (PostContractRelay *relay,
                                                        guint              from,
                                                        gsize              min_size);
void               post_contract_relay_free   (PostContractRelay *relay);
G_DEFINE_AUTOPTR_CLEANUP_FUNC (PostContractRelay, post_contract_relay_free)

/* Fails the case unless @error is in POST_ERROR with @code; prints the
 * message on failure.  (g_assert_error says less.) */
#define post_contract_assert_error(error, code) \
  post_contract_assert_error_impl ((error), (code), G_STRLOC, #code)
void               post_contract_assert_error_impl (const GError *error,
                                                    int           code,
                                                    const char   *where,
                                                    const char   *code_name);

/* ---- the areas ------------------------------------------------------------ */

void post_contract_add_lifecycle_cases (void);
void post_contract_add_framing_cases   (void);
void post_contract_add_backpressure_cases (void);
void post_contract_add_cancel_cases    (void);
void post_contract_add_fork_cases      (void);
void post_contract_add_proxy_cases     (void);
void post_contract_add_roles_cases     (void);
void post_contract_add_security_cases  (void);
void post_contract_add_partial_cases   (void);
void post_contract_add_message_cases   (void);
void post_contract_add_local_cases     (void);
void post_contract_add_dormant_cases   (void);
void post_contract_add_liveness_cases  (void);
void post_contract_add_refusal_cases   (void);

G_END_DECLS
