/* post-test-util.h: helpers of the secure stacks' tests (tls, dtls, quic):
 * certificates made with certtool, and bounded waits on the main context
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <glib.h>

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

G_END_DECLS
