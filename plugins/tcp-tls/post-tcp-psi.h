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
   POST_STACK_CAP_EVENT_ACKED | POST_STACK_CAP_MSG_IMMEDIATE |              \
   POST_STACK_CAP_REFUSAL)

/* The option that sets TCP_USER_TIMEOUT (a uint32 GVariant, milliseconds). */
#define POST_TCP_OPTION_USER_TIMEOUT "tcp.user-timeout"

/* tcp.max-carriers (uint32; 0: no limit): a listener's accepted
 * instances at most, handshaking ones included (tls). When a connection
 * comes to a full listener, the oldest accepted peer that has not completed
 * a first message (post_psi_has_first_message()) is evicted to make room:
 * its carrier closes with POST_ERROR_CONNECTION_RESET and its connection is
 * reset; if every peer has spoken, the new connection is accepted and reset
 * at once (refused). So a flood of silent peers cannot lock out real ones.
 * Default: three quarters of the process's soft RLIMIT_NOFILE when the
 * listener starts (768 of the usual 1024), leaving descriptors for the rest
 * of the program. tls reads it too. */
#define POST_TCP_OPTION_MAX_CARRIERS "tcp.max-carriers"
/* tcp.first-message-timeout (uint32 ms; 0: no limit), default 60000 as
 * nginx's client_header_timeout: from the moment the listener accepted the
 * connection, the peer has this long to complete its first message
 * (post_psi_set_first_message_deadline()); then its carrier closes with
 * POST_ERROR_TIMED_OUT. tls reads it too: its handshake counts within it. */
#define POST_TCP_OPTION_FIRST_MESSAGE_TIMEOUT "tcp.first-message-timeout"
#define POST_TCP_DEFAULT_FIRST_MESSAGE_TIMEOUT_MS 60000

guint32 post_tcp_get_uint_option (PostConfiguration *configuration,
                                  const char        *key,
                                  guint32            fallback);

/* The accepted instances of one listener, oldest first, bounded by
 * tcp.max-carriers; shared by the tcp and tls listeners (reference counted:
 * a member keeps it while it is admitted).  post-tcp-admission.c */
typedef struct _PostTcpAdmission PostTcpAdmission;

/* Evicts @member: it must leave the admission (post_tcp_admission_remove()),
 * release its transport and make its carrier fail with
 * POST_ERROR_CONNECTION_RESET. */
typedef void (*PostTcpEvictFunc) (PostPsi *member);

PostTcpAdmission *post_tcp_admission_new    (PostPsi           *listener,
                                             PostTcpEvictFunc   evict);
PostTcpAdmission *post_tcp_admission_ref    (PostTcpAdmission  *self);
void              post_tcp_admission_unref  (PostTcpAdmission  *self);
gboolean          post_tcp_admission_admit  (PostTcpAdmission  *self,
                                             GSocketAddress    *remote);
void              post_tcp_admission_add    (PostTcpAdmission  *self,
                                             PostPsi           *member,
                                             GList             *link);
void              post_tcp_admission_remove (PostTcpAdmission  *self,
                                             GList             *link);
guint             post_tcp_admission_get_max (PostTcpAdmission *self);
/* The error of an evicted member's carrier */
GError           *post_tcp_admission_evicted_error (const char     *stack,
                                                    GSocketAddress *remote,
                                                    guint           max);
/* When an instance accepted now must complete its first message: 0 for
 * never (tcp.first-message-timeout of @configuration). */
gint64            post_tcp_first_message_deadline (PostConfiguration *configuration);

char *post_tcp_format_address (GSocketAddress *address);
/* The name of the interface that holds the local @address, or NULL (from
 * getifaddrs(), kept for a second process-wide; post-tcp-interfaces.c) */
char *post_tcp_find_interface (GSocketAddress *address);

/* TCP Fast Open (RFC 7413): on an instance about to connect, the first
 * write rides in the SYN when the kernel has a cookie for the peer
 * (TCP_FASTOPEN_CONNECT); on one about to listen, SYN data is accepted
 * (TCP_FASTOPEN) if net.ipv4.tcp_fastopen allows it. */
void  post_tcp_psi_set_fast_open (PostTcpPsi *self,
                                  gboolean    enable);
gboolean post_tcp_psi_get_fast_open (PostTcpPsi *self);

/* On an instance about to listen: the instances it accepts are counted and
 * bounded above it (by tls, which wraps them), not by this listener. */
void  post_tcp_psi_set_admitted_above (PostTcpPsi *self);

G_END_DECLS
