/* post-dtls-psi.h: PostDtlsPsi, the Protocol Stack Instance of the `dtls` stack
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <post.h>

#include "post-udp-psi.h"

G_BEGIN_DECLS

#define POST_TYPE_DTLS_PSI (post_dtls_psi_get_type ())
G_DECLARE_FINAL_TYPE (PostDtlsPsi, post_dtls_psi, POST, DTLS_PSI, PostPsi)

/* DTLS 1.2 over udp as the selector sees it: udp's message boundaries,
 * passive open, the sent event and immediacy, secure, and keep-alives
 * (RFC 6520 heartbeats).  Neither
 * reliable nor ordered (as udp), no multicast (a DTLS session has one
 * peer), no 0-RTT. */
#define POST_DTLS_STACK_CAPABILITIES                                         \
  (POST_STACK_CAP_PRESERVE_MSG_BOUNDARIES | POST_STACK_CAP_LISTEN |          \
   POST_STACK_CAP_EVENT_SENT | POST_STACK_CAP_MSG_IMMEDIATE |                \
   POST_STACK_CAP_SECURE | POST_STACK_CAP_KEEP_ALIVE |                       \
   POST_STACK_CAP_REFUSAL)

/* The largest plaintext of one DTLS record (RFC 6347: 2^14). */
#define POST_DTLS_MAX_RECORD_PLAINTEXT 16384

/* The `udp` stack that carries DTLS (set once by the plugin's init). */
void post_dtls_psi_set_udp_stack (PostStack *udp);

G_END_DECLS
