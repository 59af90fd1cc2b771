/* post-test-util.h: helpers of the secure stacks' tests (tls, dtls, quic):
 * certificates made with certtool, configurations and locals that use them,
 * an echo server and a client's state, peer processes, free ports, and
 * bounded waits on the main context
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
/* Iterates the thread-default main context for @ms milliseconds. */
void  post_test_spin         (guint               ms);

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
/* Kills @peer and reaps it. */
void               post_test_kill          (GSubprocess       *peer);

/* What g_subprocess_communicate_utf8_async() gave (user_data of
 * post_test_communicated_cb); out is owned. */
typedef struct {
  guint   done;
  char   *out;
  GError *error;
} PostTestCommunicate;

void               post_test_communicated_cb (GObject         *source,
                                              GAsyncResult    *result,
                                              gpointer         user_data);

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
