/* post-quic-psi.h: PostQuicPsi, the Protocol Stack Instance of the `quic`
 * stack: one bidirectional stream of a QUIC connection (or, on a listener,
 * the UDP port that accepts connections)
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <post.h>

G_BEGIN_DECLS

#define POST_TYPE_QUIC_PSI (post_quic_psi_get_type ())
G_DECLARE_FINAL_TYPE (PostQuicPsi, post_quic_psi, POST, QUIC_PSI, PostPsi)

/* What one stream of a QUIC connection provides by itself.  Messages are
 * framed by the core on each stream (BYTE_STREAM); several carriers share
 * one connection (MULTISTREAMING: fork opens a stream); idempotent
 * messages go in 0-RTT packets when a session ticket from the association
 * resumes the session (ZERO_RTT); the acked event follows ngtcp2's
 * acknowledged stream offset (EVENT_ACKED) and the sent event the bytes
 * ngtcp2 put in packets (EVENT_SENT, get_sent_offset); idempotent messages
 * go as 0-RTT data (MSG_IDEMPOTENT); a client's connection moves to
 * another local address when its own goes away (MIGRATION); a message
 * that need not arrive and has a lifetime goes as a DATAGRAM frame
 * (PER_MSG_RELIABILITY, plugins/quic/README.md row 5); PING frames after
 * keep-alive-timeout of idleness (KEEP_ALIVE). */
#define POST_QUIC_STACK_CAPABILITIES                                         \
  (POST_STACK_CAP_RELIABLE | POST_STACK_CAP_ORDERED |                        \
   POST_STACK_CAP_CONGESTION_CONTROL | POST_STACK_CAP_SECURE |               \
   POST_STACK_CAP_MULTISTREAMING | POST_STACK_CAP_FORK | POST_STACK_CAP_FORK_REQUEST |                     \
   POST_STACK_CAP_LISTEN | POST_STACK_CAP_HALF_CLOSE |                       \
   POST_STACK_CAP_BYTE_STREAM | POST_STACK_CAP_ZERO_RTT |                   \
   POST_STACK_CAP_EVENT_ACKED | POST_STACK_CAP_MIGRATION |                  \
   POST_STACK_CAP_PER_MSG_RELIABILITY | POST_STACK_CAP_EVENT_SENT |          \
   POST_STACK_CAP_MSG_IDEMPOTENT | POST_STACK_CAP_KEEP_ALIVE |               \
   POST_STACK_CAP_REFUSAL)

/* The ALPN protocol id used when the configuration names none. */
#define POST_QUIC_DEFAULT_ALPN "libpost"

G_END_DECLS
