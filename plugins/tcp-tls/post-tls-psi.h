/* post-tls-psi.h: PostTlsPsi, the Protocol Stack Instance of the `tls` stack
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <post.h>

#include "post-tcp-psi.h"

G_BEGIN_DECLS

#define POST_TYPE_TLS_PSI (post_tls_psi_get_type ())
G_DECLARE_FINAL_TYPE (PostTlsPsi, post_tls_psi, POST, TLS_PSI, PostPsi)

/* TLS over TCP as the selector sees it: TCP's capabilities, secure, and
 * 0-RTT for idempotent messages when resuming. */
#define POST_TLS_STACK_CAPABILITIES                                          \
  (POST_TCP_STACK_CAPABILITIES | POST_STACK_CAP_SECURE |                     \
   POST_STACK_CAP_ZERO_RTT | POST_STACK_CAP_MSG_IDEMPOTENT)

/* The most early data a client offers and a listener accepts. */
#define POST_TLS_MAX_EARLY_DATA (16 * 1024)

/* The `tcp` stack that carries TLS (set once by the plugin's init). */
void post_tls_psi_set_tcp_stack (PostStack *tcp);

G_END_DECLS
