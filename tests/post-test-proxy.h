/* post-test-proxy.h: an HTTP CONNECT proxy written with GIO, on loopback,
 * for the proxy tests (test-proxy, the contract's proxy cases)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/* Answers CONNECT with 200 (or 407 without the credentials it asks for),
 * then copies bytes both ways.  Counts what it did. */
typedef struct
{
  GSocketService *service;
  guint16         port;
  char           *credentials;   /* (nullable) "user:password" it requires */
  guint           n_requests;    /* CONNECT requests read */
  guint           n_tunnels;     /* tunnels that stood (the target answered) */
  guint           n_refused;     /* 407 answers */
  GString        *targets;       /* every target asked for, "host:port;" */
  char           *alias;         /* (nullable) a host name only this proxy knows:
                                  * it connects to 127.0.0.1 for it */
  gboolean        stall;         /* read requests, never answer them */
  GPtrArray      *stalled;       /* (owned) the tunnels left waiting */
} PostTestHttpProxy;

/* Listens on a free port (of every address); requires @credentials
 * ("user:password", nullable) in Proxy-Authorization. */
void post_test_http_proxy_start (PostTestHttpProxy *proxy,
                                 const char        *credentials);
/* Stops listening (tunnels still open end with their carriers). */
void post_test_http_proxy_stop  (PostTestHttpProxy *proxy);

G_END_DECLS
