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

/* TCP Fast Open (RFC 7413): on an instance about to connect, the first
 * write rides in the SYN when the kernel has a cookie for the peer
 * (TCP_FASTOPEN_CONNECT); on one about to listen, SYN data is accepted
 * (TCP_FASTOPEN) if net.ipv4.tcp_fastopen allows it. */
void  post_tcp_psi_set_fast_open (PostTcpPsi *self,
                                  gboolean    enable);
gboolean post_tcp_psi_get_fast_open (PostTcpPsi *self);

G_END_DECLS
