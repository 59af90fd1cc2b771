/* post-test-util.h: helpers the tests share: bounded waits on the main
 * context, certificates made with certtool, configurations and locals that
 * use them, an echo server and a client's state, peer processes (started
 * on a free port and waited for until they listen), nginx serving a
 * directory, and HTTP messages' metadata
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <post.h>

G_BEGIN_DECLS

/* Makes a temporary directory (named after @prefix) holding NAME.key and
 * NAME.pem for: "ca" (a self-signed CA), "server" (localhost and 127.0.0.1,
 * signed by ca), "wrongname" (wrong.example, signed by ca), "expired"
 * (localhost, valid in 2019 only, signed by ca) and "rogue" (localhost,
 * self-signed).  Fails the test if certtool fails. */
char *post_test_certs_make   (const char *prefix);
/* NAME.pem / NAME.key and friends in @dir. */
char *post_test_certs_path   (const char *dir,
                              const char *name);
/* Removes @dir and what it holds. */
void  post_test_certs_remove (const char *dir);
/* Runs @argv, silenced, and fails the test unless it exits 0. */
void  post_test_run          (const char * const *argv);

/* Iterates the thread-default main context until *@counter reaches @n;
 * fails the test (naming @what) after @timeout_s seconds. */
void  post_test_wait_count   (const guint        *counter,
                              guint               n,
                              const char         *what,
                              guint               timeout_s);
/* The same for a gboolean *@flag to become TRUE. */
void  post_test_wait_flag    (const gboolean     *flag,
                              const char         *what,
                              guint               timeout_s);
/* Runs @loop (its callbacks quit it) until *@counter reaches @n; fails the
 * test (naming @what) after @timeout_s seconds. */
void  post_test_loop_until   (GMainLoop          *loop,
                              const guint        *counter,
                              guint               n,
                              const char         *what,
                              guint               timeout_s);
/* A source on the thread-default main context that fails the test (naming
 * @what, a string that outlives it) after @timeout_s seconds; for a wait
 * the functions above do not fit.  Remove it with g_source_remove(). */
guint post_test_watchdog     (guint               timeout_s,
                              const char         *what);
/* Iterates the thread-default main context for @ms milliseconds. */
void  post_test_spin         (guint               ms);
/* Lets pending idle callbacks and teardown sources run (at most 100
 * iterations that dispatch something, never blocking). */
void  post_test_drain        (void);

/* A configuration that trusts only the test CA of @certs (system trust off). */
void               post_test_trust_test_ca (PostConfiguration *config,
                                            const char        *certs);
/* A client's configuration: the test CA only, and a 50 ms attempt delay. */
PostConfiguration *post_test_client_config (const char        *certs);
/* A local for @uri with the identity NAME.pem / NAME.key of @certs. */
PostLocal         *post_test_server_local  (const char        *uri,
                                            const char        *certs,
                                            const char        *name);
/* A carrier to @scheme://127.0.0.1:@port, establishing itself. */
PostCarrier       *post_test_initiate      (const char        *scheme,
                                            guint16            port,
                                            PostConfiguration *config);
/* The port @listener is bound to. */
guint16            post_test_port_of       (PostCarrier       *listener);
/* A loopback port that was free a moment ago, for a peer process. */
guint16            post_test_free_port     (GSocketType        type);
/* Whether the registry has a stack named @name (its plugin was found). */
gboolean           post_test_have_stack    (const char        *name);

/* A peer process (argv[0] looked up in PATH) that dies with the test, even
 * when an assertion aborts it. */
GSubprocess       *post_test_spawn         (const char * const *argv,
                                            GSubprocessFlags    flags);
/* Waits (up to @timeout_s seconds, iterating the main context) until
 * something listens on 127.0.0.1:@port (stream: a connection is accepted;
 * datagram: the port can no longer be bound); fails the test, with the
 * text of @log_path (nullable) if @peer (nullable) exits first or the time
 * runs out. */
void               post_test_wait_listening (GSubprocess      *peer,
                                             GSocketType       type,
                                             guint16           port,
                                             const char       *log_path,
                                             guint             timeout_s);
/* Kills @peer and reaps it. */
void               post_test_kill          (GSubprocess       *peer);

/* What g_subprocess_communicate_utf8_async() gave (user_data of
 * post_test_communicated_cb); out and err (NULL unless piped) are owned,
 * status is the exit status. */
typedef struct {
  guint   done;
  char   *out;
  char   *err;
  gint    status;
  GError *error;
} PostTestCommunicate;

void               post_test_communicated_cb (GObject         *source,
                                              GAsyncResult    *result,
                                              gpointer         user_data);
/* Runs @argv (argv[0] looked up in PATH) with its stdout piped and, unless
 * @flags say otherwise, its stderr too, iterating the main context until it
 * exits (at most @timeout_s seconds); fills @cr (cleared first). */
void               post_test_communicate   (const char * const *argv,
                                            GSubprocessFlags    flags,
                                            PostTestCommunicate *cr,
                                            guint               timeout_s);
/* Frees what @cr holds and zeroes it. */
void               post_test_communicate_clear (PostTestCommunicate *cr);

/* @size bytes of a fixed pseudo-random sequence from @seed. */
GBytes            *post_test_random_bytes  (gsize              size,
                                            guint32            seed);

/* ---- nginx ---------------------------------------------------------------- */

/* An nginx (Debian's nginx-light) in a directory of its own, serving the
 * files a test writes to www: every file as is, and under /chunked/ the
 * same files with a chunked body (no Content-Length). */
typedef struct {
  char        *dir;       /* (owned) nginx.conf, error.log, tmp/, www/ */
  char        *www;       /* (owned) the document root */
  guint16      port;
  GSubprocess *process;   /* (owned) */
  const char  *identity;  /* https: NAME of NAME.pem / NAME.key (NULL: "server") */
} PostTestNginx;

/* Whether nginx can be run (PATH gains /usr/sbin when it is there). */
gboolean           post_test_nginx_available (void);
/* Makes @nginx's directory (named after @prefix) and www/. */
void               post_test_nginx_init    (PostTestNginx     *nginx,
                                            const char        *prefix);
/* Writes @content as www/@name. */
void               post_test_nginx_add_file (PostTestNginx    *nginx,
                                             const char       *name,
                                             GBytes           *content);
/* Starts nginx on a free loopback port and waits until it listens: plain
 * HTTP/1.1 when @certs is NULL, else https (TLS 1.2 and 1.3, ALPN
 * http/1.1) with the identity NAME.pem / NAME.key of @certs
 * (post_test_certs_make()), NAME being nginx->identity or "server". */
void               post_test_nginx_start   (PostTestNginx     *nginx,
                                            const char        *certs);
/* Stops nginx (SIGTERM, then reaps it) if it runs, removes the directory
 * and frees what @nginx holds. */
void               post_test_nginx_clear   (PostTestNginx     *nginx);

/* ---- HTTP messages -------------------------------------------------------- */

/* A configuration for HTTP/1.1 (PostHttpFramer) over @stack ("tcp" or
 * "tls"; tls with ALPN http/1.1); with @certs (a client's), trusting only
 * the test CA of @certs.  (A listener given trust anchors asks its clients
 * for certificates.) */
PostConfiguration *post_test_http_config   (const char        *stack,
                                            const char        *certs);
/* The first header field @name (ASCII case-insensitive) in the http-headers
 * metadata of @message, or NULL; fails the test if it has none. */
char              *post_test_http_header   (PostMessage       *message,
                                            const char        *name);

/* An echo server: every message received on an accepted carrier goes back,
 * and so on the streams the peer forks from it (quic) unless refuse_forks.
 * The tests read the counters. */
typedef struct {
  guint      n_accepted;
  guint      n_messages;
  guint      n_forks_refused;
  gboolean   refuse_forks;
  GPtrArray *children;        /* (owned) the accepted carriers */
} PostTestEcho;

/* Listens on @local with @config (nullable), checks that the listener's
 * stack is @stack and echoes on what it accepts. */
PostCarrier       *post_test_echo_listen   (PostTestEcho      *echo,
                                            PostLocal         *local,
                                            PostConfiguration *config,
                                            const char        *stack);
/* Aborts the accepted carriers. */
void               post_test_echo_clear    (PostTestEcho      *echo);

/* A client's state, filled by the callbacks below (user_data: the client). */
typedef struct {
  guint    done;              /* establishment finished */
  GError  *error;             /* its error */
  GString *received;          /* what arrived, concatenated */
  guint    n_received;        /* how many messages */
  guint    n_closed;
  GError  *close_error;       /* the first error it closed with */
} PostTestClient;

void               post_test_client_init   (PostTestClient    *c);
void               post_test_client_clear  (PostTestClient    *c);
/* For post_carrier_establish_async(). */
void               post_test_established_cb (GObject          *source,
                                             GAsyncResult     *result,
                                             gpointer          user_data);
/* For post_carrier_ready(). */
gboolean           post_test_client_message_cb (PostCarrier   *carrier,
                                                PostMessage   *message,
                                                gpointer       user_data);
/* For the carrier's "closed" signal. */
void               post_test_client_closed_cb (PostCarrier    *carrier,
                                               const GError   *error,
                                               gpointer        user_data);
/* Sends @text on @carrier and waits (up to @timeout_s seconds) until @c
 * received one more message. */
void               post_test_send_and_wait (PostCarrier       *carrier,
                                            PostTestClient    *c,
                                            const char        *text,
                                            guint              timeout_s);

/* What post_carrier_fork_async() gave (user_data of post_test_forked_cb). */
typedef struct {
  guint        done;
  GError      *error;
  PostCarrier *carrier;
} PostTestFork;

void               post_test_forked_cb     (GObject           *source,
                                            GAsyncResult      *result,
                                            gpointer           user_data);

G_END_DECLS
