/* post-tcp-psi.h: PostTcpPsi, the Protocol Stack Instance of the `tcp` stack
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <post.h>

G_BEGIN_DECLS

#define POST_TYPE_TCP_PSI (post_tcp_psi_get_type ())
G_DECLARE_FINAL_TYPE (PostTcpPsi, post_tcp_psi, POST, TCP_PSI, PostPsi)

/* The capabilities of plain TCP as the selector sees them. */
#define POST_TCP_STACK_CAPABILITIES                                          \
  (POST_STACK_CAP_RELIABLE | POST_STACK_CAP_ORDERED |                        \
   POST_STACK_CAP_CONGESTION_CONTROL | POST_STACK_CAP_KEEP_ALIVE |           \
   POST_STACK_CAP_LISTEN | POST_STACK_CAP_HALF_CLOSE |                       \
   POST_STACK_CAP_BYTE_STREAM | POST_STACK_CAP_EVENT_SENT |                  \
   POST_STACK_CAP_EVENT_ACKED | POST_STACK_CAP_MSG_IMMEDIATE)

/* The option that sets TCP_USER_TIMEOUT (a uint32 GVariant, milliseconds). */
#define POST_TCP_OPTION_USER_TIMEOUT "tcp.user-timeout"

char *post_tcp_format_address (GSocketAddress *address);

G_END_DECLS
