/* post-test-netns.h: network namespaces of the path tests (test-paths,
 * test-quic-migration): the process leaves the host's network for a client
 * namespace of its own, and each test case gets a server namespace joined
 * to it by two veth pairs
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>
#include <sys/types.h>

G_BEGIN_DECLS

/* The server namespace of one test case.  A thread creates it and stays in
 * it until teardown, so that `ip link set … netns TID` can move links there.
 *
 *   client namespace            server namespace
 *   c0 10.1.0.1/24 fd01::1/64 — s0 10.1.0.2/24 fd01::2/64
 *   c1 10.2.0.1/24 fd02::1/64 — s1 10.2.0.2/24 fd02::2/64
 *                                lo 10.99.0.1/32 (the service)
 *
 * with routes to the service through c0 (metric 100), then c1 (200). */
typedef struct {
  GThread    *holder;        /* lives in the server namespace until teardown */
  pid_t       holder_tid;
  GMutex      lock;
  GCond       cond;
  gboolean    done;
  int         server_ns;     /* the server namespace */
} PostTestNetns;

/* Moves the whole process into a new network namespace with lo up.  Call it
 * first in main(), before any thread exists; without root, or where that
 * fails, the tests skip (post_test_netns_skip()). */
void     post_test_netns_init          (void);
/* Whether post_test_netns_init() succeeded. */
gboolean post_test_netns_available     (void);
/* Skips the test (with the reason) and returns TRUE unless available. */
gboolean post_test_netns_skip          (void);

/* Runs @command (split like a shell would), silenced; fails with its stderr. */
gboolean post_test_netns_run_argv      (const char     *command,
                                        GError        **error);
/* Runs a command in the calling thread's namespace; fails the test unless it
 * exits 0. */
void     post_test_netns_run           (const char     *format,
                                        ...) G_GNUC_PRINTF (1, 2);
/* The same in @net's server namespace. */
void     post_test_netns_run_in_server (PostTestNetns  *net,
                                        const char     *format,
                                        ...) G_GNUC_PRINTF (2, 3);
/* Moves the calling thread into @net's server namespace, or back. */
void     post_test_netns_enter_server  (PostTestNetns  *net);
void     post_test_netns_enter_client  (void);

/* Makes the server namespace and the links above; @service_v6 is the server
 * side's command for fd99::1 (an address on lo, or a route that makes it
 * unreachable).  Returns once the path monitor sees c0 and c1 running. */
void     post_test_netns_setup         (PostTestNetns  *net,
                                        const char     *service_v6);
/* Deletes the links and the server namespace. */
void     post_test_netns_teardown      (PostTestNetns  *net);

G_END_DECLS
