/* post-sctp-psi.h: PostSctpPsi, the Protocol Stack Instance of the `sctp`
 * stack: one stream of an SCTP association (usrsctp, AF_CONN), carried in
 * UDP datagrams (RFC 6951) by sockets the plugin owns on the carrier's
 * GMainContext; or, on a listener, the UDP port that accepts associations
 *
 * SPDX-License-Identifier: LGPL-2.1-or-later
 */
#pragma once

#include <post.h>

G_BEGIN_DECLS

#define POST_TYPE_SCTP_PSI (post_sctp_psi_get_type ())
G_DECLARE_FINAL_TYPE (PostSctpPsi, post_sctp_psi, POST, SCTP_PSI, PostPsi)

/* What one stream of an SCTP association provides by itself.  A message is
 * one SCTP user message (no framing: PRESERVE_MSG_BOUNDARIES, not
 * BYTE_STREAM); reliable and ordered unless a message or the configuration
 * says otherwise (PER_MSG_RELIABILITY: PR-SCTP); several carriers share
 * one association as its streams (MULTISTREAMING: fork opens a stream).
 * `acked` is not claimed: a message stack's acked would have to follow
 * send_message at once (docs/plugins.md), and usrsctp tells no per-message
 * acknowledgement.  KEEP_ALIVE: SCTP's HEARTBEATs, tuned by
 * keep-alive-timeout.  PARTIAL_MESSAGES: a message goes to usrsctp in parts
 * as the core gives them (explicit EOR) and arrives in pieces (partial
 * delivery), so a message has no size limit. */
#define POST_SCTP_STACK_CAPABILITIES                                         \
  (POST_STACK_CAP_RELIABLE | POST_STACK_CAP_ORDERED |                        \
   POST_STACK_CAP_PRESERVE_MSG_BOUNDARIES |                                  \
   POST_STACK_CAP_PER_MSG_RELIABILITY |                                      \
   POST_STACK_CAP_CONGESTION_CONTROL | POST_STACK_CAP_MULTISTREAMING |       \
   POST_STACK_CAP_FORK_REQUEST |                                             \
   POST_STACK_CAP_FORK | POST_STACK_CAP_LISTEN | POST_STACK_CAP_EVENT_SENT | \
   POST_STACK_CAP_MSG_IMMEDIATE | POST_STACK_CAP_KEEP_ALIVE |                \
   POST_STACK_CAP_REFUSAL | POST_STACK_CAP_PARTIAL_MESSAGES)

/* The UDP port of RFC 6951 (the default port of `sctp://` remotes). */
#define POST_SCTP_DEFAULT_PORT 9899

/* Options (post_configuration_set_option()):
 * sctp.port       uint32: the SCTP port inside the UDP datagrams: the one a
 *                 client connects to and a listener binds.  Default: the
 *                 UDP port (the remote's, or the listener's bound one).
 * sctp.streams    uint32: outbound streams asked for (and inbound allowed),
 *                 default 64, at most 65535: a fork past the negotiated
 *                 number fails with POST_ERROR_NOT_SUPPORTED.
 */
#define POST_SCTP_OPTION_PORT    "sctp.port"
#define POST_SCTP_OPTION_STREAMS "sctp.streams"

G_END_DECLS
